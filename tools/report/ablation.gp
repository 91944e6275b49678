# tools/report/ablation.gp — an ablation at a glance: mean test accuracy per variant
# as bars, ±1 sample standard deviation as error bars, every seed as a point.
# Called by `probador report experiment` as:
#   gnuplot -e "datafile='D'; seedsfile='S'; outfile='O'; charttitle='T'; ylo=80; yhi=95; ngroups=N" tools/report/ablation.gp
# D: one row per variant: position, "name", mean, sd.  S: position (offset
# per seed), accuracy of one seed.  The y axis starts at ylo (the differences
# are small; the title says where it starts).
set terminal pngcairo size 1100,520 font "DejaVu Sans,10" noenhanced
set encoding utf8
set output outfile
set title charttitle
set ylabel "test accuracy (%)"
set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics lc rgb "#dddddd"
set xtics rotate by -30 left scale 0
set bmargin 6
set xrange [-0.6:ngroups-0.4]
set yrange [ylo:yhi]
set key outside right top vertical noreverse
plot datafile using 1:3:xtic(2) with boxes lc rgb "#4c72b0" title "mean over seeds", \
     datafile using 1:($3-$4):(0):(2*$4) with vectors heads size screen 0.008,90 lw 1.5 lc rgb "#222222" title "± 1 sd", \
     seedsfile using 1:2 with points pt 7 ps 1.1 lc rgb "#dd8452" title "one seed"
