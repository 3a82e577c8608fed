# bench/plot/scaling-time.gp — wall time of the whole job vs ranks: native, per rank, node supervisor, virtual nodes, one collrun for all,
# log-log, one colour per workload (every scaling-*.dat in dir).
#   gnuplot -e "dir='build/bench/scaling'; out='bench/results/scaling-time.png'; sub='…'" bench/plot/scaling-time.gp
# Columns of scaling-WORKLOAD.dat: N native_ops collrun_ops native_s collrun_s shared_ops shared_s perrank_ops perrank_s vnodes_ops vnodes_s
if (!exists("dir")) dir = 'build/bench/scaling'
if (!exists("out")) out = 'bench/results/scaling-time.png'
if (!exists("sub")) sub = ''
works = system("cd '".dir."' && ls scaling-*.dat 2>/dev/null | sed 's/^scaling-//; s/[.]dat$//' | tr '\\n' ' '")
file(w) = dir.'/scaling-'.w.'.dat'
set terminal pngcairo size 1000,650 font "sans,11" noenhanced
set output out
set title "Wall time of the whole job vs ranks\n".sub
set xlabel "MPI ranks N (processes on one host, mpiexec -n N)"
set ylabel "wall time of the whole command (s)"
set logscale x 2
set logscale y 10
stats file(word(works, 1)) using 1 nooutput
set xrange [STATS_min / 1.25 : STATS_max * 1.25]
ymin = 1e300; ymax = 0          # y range over every file; room at the bottom right for the key
set datafile missing "-"
do for [w in works] { do for [c in "4 5 7 9 11"] {
    stats file(w) using (column(int(c))) nooutput
    ymin = (STATS_min < ymin) ? STATS_min : ymin; ymax = (STATS_max > ymax) ? STATS_max : ymax } }
set yrange [ymin / 12 : ymax * 1.6]
set key bottom right box opaque
set format y "%g"
set xtics (1, 2, 4, 8, 16, 32, 64, 128)
set grid xtics ytics mytics
set mytics 10
plot for [i=1:words(works)] file(word(works, i)) using 1:4 with linespoints lc i lw 2 pt 7 ps 1.3 \
       title word(works, i).": native (mpiexec -n N CMD)", \
     for [i=1:words(works)] file(word(works, i)) using 1:5 with linespoints lc i lw 2 pt 4 ps 1.3 \
       title word(works, i).": node supervisor (mpiexec -n N collrun -- CMD)", \
     for [i=1:words(works)] file(word(works, i)) using 1:9 with linespoints lc i lw 1 dt 3 pt 6 ps 1.0 \
       title word(works, i).": collrun per rank (--no-share)", \
     for [i=1:words(works)] file(word(works, i)) using 1:11 with linespoints lc i lw 1 dt 4 pt 12 ps 1.0 \
       title word(works, i).": 4 virtual nodes (COLLRUN_NODE_ID), no broadcast", \
     for [i=1:words(works)] file(word(works, i)) using 1:7 with linespoints lc i lw 2 dt 2 pt 8 ps 1.3 \
       title word(works, i).": one collrun for all (collrun -- mpiexec -n N CMD): one host only"
