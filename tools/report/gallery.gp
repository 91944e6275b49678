# tools/report/gallery.gp — misclassified test images, one row per pair of classes,
# dark clothing on white, each image captioned "true → predicted".
# Called by `probador report experiment` as:
#   gnuplot -e "datafile='D'; labelfile='L'; outfile='O'; width=W; height=H; scale=S" tools/report/gallery.gp
# D: the canvas, H lines of W grey values 0..255 (0 = background), laid out by
# tools/report/report_gallery.c.  L: x, y, "text", size (1 = a row's title, 0 = a
# caption) in canvas pixels.  S screen pixels per canvas pixel.
set terminal pngcairo size width*scale,height*scale font "DejaVu Sans,8" noenhanced
set encoding utf8
set output outfile
set margins 0,0,0,0
unset border
unset tics
unset key
unset colorbox
set xrange [-0.5:width-0.5]
set yrange [height-0.5:-0.5]
set palette gray negative
set cbrange [0:255]
plot datafile matrix with image, \
     labelfile using 1:2:($4 == 1 ? stringcolumn(3) : "") with labels left font ",11", \
     labelfile using 1:2:($4 == 0 ? stringcolumn(3) : "") with labels center
