# bench/plot/scaling-ops.gp — slowfs operations of the whole job vs ranks: native, per rank, node supervisor, virtual nodes, one collrun for all,
# log-log, one colour per workload (every scaling-*.dat that bench/run-scaling.sh wrote in dir).
#   gnuplot -e "dir='build/bench/scaling'; out='bench/results/scaling-ops.png'; sub='…'" bench/plot/scaling-ops.gp
# Columns of scaling-WORKLOAD.dat: N native_ops collrun_ops native_s collrun_s shared_ops shared_s perrank_ops perrank_s vnodes_ops vnodes_s
if (!exists("dir")) dir = 'build/bench/scaling'
if (!exists("out")) out = 'bench/results/scaling-ops.png'
if (!exists("sub")) sub = ''
works = system("cd '".dir."' && ls scaling-*.dat 2>/dev/null | sed 's/^scaling-//; s/[.]dat$//' | tr '\\n' ' '")
file(w) = dir.'/scaling-'.w.'.dat'
set terminal pngcairo size 1000,650 font "sans,11" noenhanced
set output out
set title "slowfs operations for the whole job vs ranks\n".sub
set xlabel "MPI ranks N (processes on one host, mpiexec -n N)"
set ylabel "slowfs operations, whole job (count)"
set logscale x 2
set logscale y 10
stats file(word(works, 1)) using 1 nooutput
set xrange [STATS_min / 1.25 : STATS_max * 1.25]
ymin = 1e300; ymax = 0          # y range over every file; room at the bottom right for the key
set datafile missing "-"
do for [w in works] { do for [c in "2 3 6 8 10"] {
    stats file(w) using (column(int(c))) nooutput
    ymin = (STATS_min < ymin) ? STATS_min : ymin; ymax = (STATS_max > ymax) ? STATS_max : ymax } }
set yrange [ymin / 12 : ymax * 1.6]
set key bottom right box opaque
set format y "%.0f"
set xtics (1, 2, 4, 8, 16, 32, 64, 128)
set grid xtics ytics mytics
set mytics 10
plot for [i=1:words(works)] file(word(works, i)) using 1:2 with linespoints lc i lw 2 pt 7 ps 1.3 \
       title word(works, i).": native (mpiexec -n N CMD)", \
     for [i=1:words(works)] file(word(works, i)) using 1:3 with linespoints lc i lw 2 pt 4 ps 1.3 \
       title word(works, i).": node supervisor (mpiexec -n N collrun -- CMD)", \
     for [i=1:words(works)] file(word(works, i)) using 1:8 with linespoints lc i lw 1 dt 3 pt 6 ps 1.0 \
       title word(works, i).": collrun per rank (--no-share)", \
     for [i=1:words(works)] file(word(works, i)) using 1:10 with linespoints lc i lw 1 dt 4 pt 12 ps 1.0 \
       title word(works, i).": 4 virtual nodes (COLLRUN_NODE_ID), no broadcast", \
     for [i=1:words(works)] file(word(works, i)) using 1:6 with linespoints lc i lw 2 dt 2 pt 8 ps 1.3 \
       title word(works, i).": one collrun for all (collrun -- mpiexec -n N CMD): one host only"
