/* tools/report/report_figures.h — the charts of an experiment report.  Each writes its
 * data under `work` (a path prefix such as ROOT/build/report/cnn, report_work_dir) and renders a
 * PNG with a gnuplot script in tools/ (pngcairo, DejaVu Sans, the house colours
 * of tools/report/bars.gp).  0, or -1 with an error printed. */
#ifndef PROBADOR_TOOLS_REPORT_FIGURES_H
#define PROBADOR_TOOLS_REPORT_FIGURES_H

#include <stdint.h>

#include "tools/report/confusion.h"
#include "tools/report/results.h"

/* Training and validation accuracy and loss per epoch, one line per group of
   groups[0..n-1]: the mean over its seeds with a band from the lowest to the
   highest (tools/report/curves.gp).  Figure `part` of `parts` (1-based; the
   title says which when there are several). */
int figure_curves(const exp_results *r, const int *groups, int n, int part, int parts, const char *work,
                  const char *png);
/* At most this many lines in a panel of learning curves: more cannot be told apart. */
enum { CURVES_PER_FIGURE = 6 };
/* The learning-curve figures of r: the groups of figure i are the first group
   (the reference, in every figure) and the next CURVES_PER_FIGURE − 1; returns
   the number of figures and fills groups[i][..] and counts[i]. */
int curves_figures(const exp_results *r, int groups[][CURVES_PER_FIGURE], int *counts);
/* Mean test accuracy per group, ±1 sd error bars, every seed as a point
   (tools/report/ablation.gp). */
int figure_ablation(const exp_results *r, const char *work, const char *png);
/* Mean accuracy of each variant against the mean training images of its runs
   (log scale), one line per series of *s, ±1 sd error bars where a variant
   has several runs (tools/report/series.gp). */
int figure_series(const exp_results *r, const exp_series *s, const char *work, const char *png);
/* Heat map of m[true][predicted] (classes × classes), colour = share of the
   row, counts printed, names[] on both axes (tools/report/confusion.gp). */
int figure_confusion(const int64_t m[METRIC_CLASSES][METRIC_CLASSES], int classes, const char *const *names,
                     const char *title, const char *work, const char *png);

enum { GALLERY_PER_PAIR = 8 };
/* Misclassified test images of `group` for each pair, one row per pair: up to
   GALLERY_PER_PAIR images from its runs' misclassified lists, first seed first,
   each in test-index order, every image once; read from the test split in the
   first run's data.dir (tools/report/gallery.gp, tools/report/report_gallery.c).  shown[p]
   receives how many images row p got. */
int figure_gallery(const exp_results *r, int group, const confusion_pair *pairs, int n_pairs,
                   const char *work, const char *png, int *shown);

#endif
