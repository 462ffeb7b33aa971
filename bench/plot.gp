# SPDX-License-Identifier: MIT
# Requests/s of the request loop per allocator, 1 and 2 threads.
# gnuplot -e "datafile='requests.dat'; outfile='requests.png'; subtitle='...'" bench/plot.gp
# requests.dat (written by bench/report.py): allocator req/s(1 thread) req/s(2 threads)
if (!exists("datafile")) datafile = 'bench/out/latest/requests.dat'
if (!exists("outfile")) outfile = 'requests.png'
if (!exists("subtitle")) subtitle = ''
set terminal pngcairo size 960,560 font ",11"
set output outfile
set title "Request loop (200 small + 2 x 64 KiB blocks per request): requests/s\n{/*0.8 ".subtitle."}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "requests / s (higher is better)"
set format y "%.0s%c"
set yrange [0:*]
set grid ytics
set key top left
set xtics nomirror
plot datafile using 2:xtic(1) title "1 thread" lc rgb "#4477aa", \
     '' using 3 title "2 threads" lc rgb "#ee6677"
