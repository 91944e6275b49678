# tools/report/confusion.gp — confusion matrix as a heat map: rows the true class,
# columns the predicted one, colour the share of the row, the count and that share
# (in %) printed in every cell.
# Called by `probador report experiment` as:
#   gnuplot -e "datafile='D'; outfile='O'; charttitle='T'; nclasses=10; n0='T-shirt/top'; ...; n9='Ankle boot'" tools/report/confusion.gp
# D: one row per cell: predicted, true, share of the true class, count.
set terminal pngcairo size 900,820 font "DejaVu Sans,10" noenhanced
set encoding utf8
set output outfile
set title charttitle
set xrange [-0.5:nclasses-0.5]
set yrange [nclasses-0.5:-0.5]
set size ratio -1
set xlabel "predicted class"
set ylabel "true class"
set xtics () rotate by -35 scale 0
set ytics () scale 0
do for [i=0:nclasses-1] {
    set xtics add (value(sprintf("n%d", i)) i)
    set ytics add (value(sprintf("n%d", i)) i)
}
set palette defined (0 "#ffffff", 1 "#08306b")
set cbrange [0:1]
set cblabel "share of the true class's images"
unset key
plot datafile using 1:2:3 with image, \
     datafile using 1:2:(sprintf("%d\n%.1f%%", $4, 100 * $3)):($3 > 0.5 ? 0xffffff : 0x222222) \
         with labels font ",9" tc rgb variable
