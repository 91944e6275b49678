# tools/report/series.gp — accuracy against training-set size or epochs: one line
# per series (e.g. from scratch, fine-tuned), a point per variant at the mean
# number of training images (or epochs) of its runs (log scale), ±1 sample
# standard deviation over its seeds as error bars (none for a single run).
# Called by `probador report experiment` as:
#   gnuplot -e "datafile='D'; outfile='O'; charttitle='T'; names='a b'; ylabel='Y'; xlabel='X'; xticks='600 6000 59000'; xlo=300; xhi=120000; ylo=70; yhi=95" tools/report/series.gp
# D: one data block per series, in the order of `names` (blocks separated by
# two blank lines), one row per variant, lowest first: training images (or
# epochs), mean accuracy (%), sd (0 for one run), runs.  xticks: where the x
# axis is labelled (the variants' places on it).
set terminal pngcairo size 1100,520 font "DejaVu Sans,10" noenhanced
set encoding utf8
set output outfile
set title charttitle
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
set logscale x
set xtics ()
do for [w in xticks] {
    set xtics add (w w+0)
}
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set xlabel xlabel
set ylabel ylabel
set key outside right top vertical noreverse
set bars 1.5
pts = "7 9 5 13 11 15"
# the error bars first, so that the points sit on top; none for a single run (1/0: undefined)
plot for [i=1:n] datafile index (i-1) using 1:($4 > 1 ? $2 : 1/0):3 with yerrorbars pt 7 ps 0 \
         lt ((i-1)%10+1) notitle, \
     for [i=1:n] datafile index (i-1) using 1:2 with linespoints pt int(word(pts, (i-1)%6+1)) ps 1.2 \
         lt ((i-1)%10+1) dt 1+(i-1)/10 title word(names, i)
