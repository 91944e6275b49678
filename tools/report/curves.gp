# tools/report/curves.gp — learning curves: training and validation accuracy, training
# and validation loss per epoch, one panel each, one line per variant (the mean over its
# seeds) over a band from its lowest to its highest seed.
# Called by `probador report experiment` as:
#   gnuplot -e "datafile='D'; outfile='O'; charttitle='T'; names='a b c'; xstep=1; maxepoch=15" tools/report/curves.gp
# D: one data block per variant, in the order of `names` (blocks separated by two blank
# lines), columns: epoch, then mean, lowest and highest seed of training accuracy (%),
# validation accuracy (%), training loss and validation loss (13 columns).
set terminal pngcairo size 1100,860 font "DejaVu Sans,10" noenhanced
set encoding utf8
set output outfile
n = words(names)
# Okabe and Ito's palette, which colour-blind readers tell apart; past eight variants
# the colours repeat with dashes
set linetype 1 lc rgb "#0072B2" lw 2
set linetype 2 lc rgb "#E69F00" lw 2
set linetype 3 lc rgb "#009E73" lw 2
set linetype 4 lc rgb "#D55E00" lw 2
set linetype 5 lc rgb "#CC79A7" lw 2
set linetype 6 lc rgb "#56B4E9" lw 2
set linetype 7 lc rgb "#000000" lw 2
set linetype 8 lc rgb "#B8A000" lw 2
set linetype cycle 8
set grid lc rgb "#dddddd"
set xlabel "epoch"
set xtics xstep
set xrange [0.5:maxepoch+0.5]
set style fill transparent solid 0.15 noborder
set multiplot layout 2,2 title charttitle
unset key
# each panel: the band (lowest, highest seed) under the mean
set ylabel "training accuracy (%)"
plot for [i=1:n] datafile index (i-1) using 1:3:4 with filledcurves lt i notitle, \
     for [i=1:n] datafile index (i-1) using 1:2 with linespoints pt 7 ps 0.5 lt i dt 1+(i-1)/8 title word(names, i)
set ylabel "validation accuracy (%)"
set key bottom right
plot for [i=1:n] datafile index (i-1) using 1:6:7 with filledcurves lt i notitle, \
     for [i=1:n] datafile index (i-1) using 1:5 with linespoints pt 7 ps 0.5 lt i dt 1+(i-1)/8 title word(names, i)
unset key
set ylabel "training loss"
plot for [i=1:n] datafile index (i-1) using 1:9:10 with filledcurves lt i notitle, \
     for [i=1:n] datafile index (i-1) using 1:8 with linespoints pt 7 ps 0.5 lt i dt 1+(i-1)/8 title word(names, i)
set ylabel "validation loss"
plot for [i=1:n] datafile index (i-1) using 1:12:13 with filledcurves lt i notitle, \
     for [i=1:n] datafile index (i-1) using 1:11 with linespoints pt 7 ps 0.5 lt i dt 1+(i-1)/8 title word(names, i)
unset multiplot
