/* tools/report/stats.c — mean and sample standard deviation (see the header). */
#include "tools/report/stats.h"

#include <math.h>

void stats_mean_sd(const double *x, int n, double *mean, double *sd)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += x[i];
    const double m = n > 0 ? sum / n : NAN;
    double ss = 0; /* two passes: no cancellation for values far from zero */
    for (int i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (n - 1)) : NAN;
}
