/* models/train/timing.h — wall-clock helpers for the benchmarks and the trainer. */
#ifndef PROBADOR_TOOLS_TIMING_H
#define PROBADOR_TOOLS_TIMING_H

#include <stdlib.h>
#include <time.h>

/* Seconds on `clock` (CLOCK_MONOTONIC for wall time, never clock()). */
static inline double timing_seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static inline int timing_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) and returns its median (n ≥ 1). */
static inline double timing_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, timing_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
