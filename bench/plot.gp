# SPDX-License-Identifier: MIT
# Requests/s of the request loop per allocator, 1 and 2 threads, by wall
# clock and per second of process CPU time (the machine is shared: CPU time
# is less disturbed by other processes).
# gnuplot -e "datafile='requests.dat'; outfile='requests.png'; subtitle='...'" bench/plot.gp
# Besides the allocators: "mi-heap/req" (mimalloc's scoped heap per request),
# "preload floor" (the same program under bench/floor_preload.c, the
# cheapest in-scope malloc any LD_PRELOAD library can have) and "bump
# (limit)" (an inlined bump pointer: the physical limit of the workload).
# requests.dat (written by bench/report.py):
#   allocator  req/s(1 thr)  req/s(2 thr)  req/CPU-s(1 thr)  req/CPU-s(2 thr)
if (!exists("datafile")) datafile = 'bench/out/latest/requests.dat'
if (!exists("outfile")) outfile = 'requests.png'
if (!exists("subtitle")) subtitle = ''
set terminal pngcairo size 1100,600 font ",11" noenhanced
set output outfile
set title "Request loop (200 small + 2 x 64 KiB blocks per request): requests per second, higher is better\n".subtitle
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "thousand requests / s"
set format y "%.0f"
set yrange [0:*]
set grid ytics
set key top left
set xtics nomirror
plot datafile using ($2/1000):xtic(1) title "1 thread, wall clock" lc rgb "#4477aa", \
     '' using ($4/1000) title "1 thread, per CPU-second" lc rgb "#88bbdd", \
     '' using ($3/1000) title "2 threads, wall clock" lc rgb "#ee6677", \
     '' using ($5/1000) title "2 threads, per CPU-second of the process" lc rgb "#f4b6bf"
