# tools/report/bars.gp — clustered bar chart, optionally with reference lines.
# Called by `probador report` as:
#   gnuplot -e "datafile='D'; outfile='O'; charttitle='T'; ylabel='Y'; nbars=N; ncols=M; logy=0|1[; markfile='F']" tools/report/bars.gp
# D: whitespace-separated, a header row, first column the x label (quoted),
# then N bar series, then columns N+2..M drawn as points over the bars
# (e.g. the sgemm and FMA-peak references).  Optional markfile='F': lines
# "x y", an open circle at each (on top of a bar whose kernel's fallback ran;
# bar k, 0-based, of cluster i sits at x = i + (k − (N − 1)/2)/(N + 1)).
set terminal pngcairo size 1100,520 font "DejaVu Sans,10" noenhanced
set output outfile
set title charttitle
set ylabel ylabel
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical noreverse
set grid ytics lc rgb "#dddddd"
set xtics rotate by -30 scale 0
set yrange [0:*]
if (logy) { set logscale y; set yrange [*:*]; set format y "%g" }
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
set linetype 4 lc rgb "#c44e52"
set linetype 5 lc rgb "#8172b3"
set linetype 6 lc rgb "#222222"
set linetype 7 lc rgb "#888888"
set key autotitle columnheader  # the header row is never a data point, whatever the title
marks = exists("markfile") ? sprintf(", '%s' using 1:2 with points pt 6 ps 1.3 lc rgb '#000000' title 'fallback ran'", markfile) : ""
plot for [i=2:nbars+1] datafile using i:xtic(1) title columnheader(i) lt (i-1), \
     for [j=nbars+2:ncols] datafile using 0:j with points pt (j == ncols ? 9 : 7) ps 1.6 lt (j-1) title columnheader(j) @marks
