# bench/plot/micro.gp — µs per call of bench/micro, natively, under collrun, collrun
# --passthrough and strace --seccomp-bpf (medians that bench/run-all.sh took from run-micro.sh).
#   gnuplot -e "dat='build/bench/all/micro.dat'; out='bench/results/micro.png'; sub='…'" bench/plot/micro.gp
# micro.dat: one row per call: "label" native collrun passthrough strace ("-": not measured);
# the last row is openat+close with job and supervisor pinned to one CPU (native, collrun only)
if (!exists("dat")) dat = 'build/bench/all/micro.dat'
if (!exists("out")) out = 'bench/results/micro.png'
if (!exists("sub")) sub = ''
set terminal pngcairo size 1000,650 font "sans,11" noenhanced
set output out
set title "Cost of one file look-up (bench/micro, a file under /usr/lib), by how the process runs\n".sub
set ylabel "time per call (µs), median of processes"
set datafile missing "-"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
stats dat using 2 nooutput
set xrange [-0.55 : STATS_records - 0.45]
set grid ytics
set key below box
set offsets 0, 0, graph 0.08, 0
plot dat using 2:xtic(1) title "native", '' using 3 title "collrun (served from cache)", \
     '' using 4 title "collrun --passthrough (trap, serve none)", '' using 5 title "strace -f --seccomp-bpf", \
     for [c=2:5] '' using ($0 - 0.3 + 0.2 * (c - 2)):c:(sprintf("%.1f", column(c))) with labels offset 0,0.7 notitle
