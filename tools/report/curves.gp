# tools/report/curves.gp — learning curves: validation accuracy and training loss per
# epoch, side by side, one line per variant (the mean over its seeds).
# Called by `probador report experiment` as:
#   gnuplot -e "datafile='D'; outfile='O'; charttitle='T'; names='a b c'; xstep=1; maxepoch=15" tools/report/curves.gp
# D: one data block per variant, in the order of `names` (blocks separated by
# two blank lines), columns: epoch, validation accuracy (%), training loss.
set terminal pngcairo size 1100,480 font "DejaVu Sans,10" noenhanced
set encoding utf8
set output outfile
n = words(names)
set linetype 1 lc rgb "#4c72b0" lw 2
set linetype 2 lc rgb "#dd8452" lw 2
set linetype 3 lc rgb "#55a868" lw 2
set linetype 4 lc rgb "#c44e52" lw 2
set linetype 5 lc rgb "#8172b3" lw 2
set linetype 6 lc rgb "#937860" lw 2
set linetype 7 lc rgb "#da8bc3" lw 2
set linetype 8 lc rgb "#222222" lw 2
set linetype 9 lc rgb "#ccb974" lw 2
set linetype 10 lc rgb "#64b5cd" lw 2
set grid lc rgb "#dddddd"
set xlabel "epoch"
set xtics xstep
set xrange [0.5:maxepoch+0.5]
set multiplot layout 1,2 title charttitle
set ylabel "validation accuracy (%)"
unset key
plot for [i=1:n] datafile index (i-1) using 1:2 with linespoints pt 7 ps 0.6 \
     lt ((i-1)%10+1) dt 1+(i-1)/10 title word(names, i)
set ylabel "training loss"
set key outside right top vertical noreverse
plot for [i=1:n] datafile index (i-1) using 1:3 with linespoints pt 7 ps 0.6 \
     lt ((i-1)%10+1) dt 1+(i-1)/10 title word(names, i)
unset multiplot
