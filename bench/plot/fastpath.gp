# bench/plot/fastpath.gp — µs per call by kind of answer (bench/run-fastpath.sh, issue 12).
#   gnuplot -e "dat='build/bench/fastpath/kinds.dat'; out='bench/results/fastpath.png'; sub='…'" bench/plot/fastpath.gp
# kinds.dat: one row per kind of answer: "label" µs (median of processes)
if (!exists("dat")) dat = 'build/bench/fastpath/kinds.dat'
if (!exists("out")) out = 'bench/results/fastpath.png'
if (!exists("sub")) sub = ''
set terminal pngcairo size 1100,600 font "sans,11" noenhanced
set output out
set title "Time per call by how collrun answers it (bench/micro, medians of processes)\n".sub
set ylabel "time per call (µs)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set yrange [0:*]
set grid ytics
set xtics rotate by -20 left
set offsets 0, 0, graph 0.1, 0
set bmargin 9
plot dat using 2:xtic(1) notitle lc rgb "#4472c4", '' using ($0):2:(sprintf("%.1f", $2)) with labels offset 0,0.8 notitle
