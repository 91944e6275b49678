/* tools/report/stats.h — the summary statistics the reports print. */
#ifndef PROBADOR_TOOLS_STATS_H
#define PROBADOR_TOOLS_STATS_H

/* Mean and sample standard deviation (n − 1) of x[0..n-1]; *sd is NaN when
   n < 2 (one run has no spread), *mean NaN when n < 1. */
void stats_mean_sd(const double *x, int n, double *mean, double *sd);

#endif
