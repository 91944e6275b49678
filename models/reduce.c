/* models/reduce.c — the order-free sum of per-block partials (models/reduce.h). */
#include "models/reduce.h"

#include <math.h>
#include <string.h>

enum { EXP_ZERO = -128, EXP_HUGE = 127, CHUNK = 1024 };

/* ⌈log₂ blocks⌉: the headroom that keeps the sum of `blocks` terms within 2^51 */
static int headroom(int blocks)
{
    int k = 0;
    while ((1 << k) < blocks)
        k++;
    return k;
}

/* e[i] for i in [lo, hi): the exponent of the largest |v_b[i]| of the local blocks,
   from the floats' bits (as integers, the order of |v|; NaN above infinity) */
static void exponents(const float *v, size_t stride, int local, size_t lo, size_t hi, int8_t *e)
{
    uint32_t m[CHUNK] = { 0 };
    for (int b = 0; b < local; b++) {
        const float *vb = v + (size_t)b * stride;
        for (size_t i = lo; i < hi; i++) {
            uint32_t a;
            memcpy(&a, vb + i, sizeof a);
            a &= 0x7fffffffu;
            m[i - lo] = a > m[i - lo] ? a : m[i - lo];
        }
    }
    for (size_t i = lo; i < hi; i++) {
        const int biased = (int)(m[i - lo] >> 23);
        e[i] = (int8_t)(m[i - lo] == 0 ? EXP_ZERO : biased == 0 ? -126 : biased >= 127 + 126 ? EXP_HUGE : biased - 127);
    }
}

/* 2^s as a double, s within a double's normal range */
static inline double pow2(int s)
{
    const uint64_t u = (uint64_t)(s + 1023) << 52;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* The grid of element i: S_i = 50 − e_i − k, so |v·2^S| < 2^(51 − k) */
static inline double grid_scale(int e, int k) { return e == EXP_ZERO || e == EXP_HUGE ? 0.0 : pow2(50 - e - k); }

/* a[i] = Σ_b round(v_b[i]·2^S_i) over the local blocks, i in [lo, hi), in doubles that
   hold whole numbers below 2^51: every addition is exact.  v·2^S is exact (a float's 24
   bits scaled by a power of two); adding and subtracting 1.5·2^52 rounds it to the
   nearest whole number (ties to even), exactly, as |v·2^S| < 2^51. */
static void accumulate(const float *v, size_t stride, int local, int k, const int8_t *e, size_t lo, size_t hi,
                       double *a)
{
    const double round = 0x1.8p52;
    double scale[CHUNK];
    for (size_t i = lo; i < hi; i++)
        scale[i - lo] = grid_scale(e[i], k), a[i] = 0;
    for (int b = 0; b < local; b++) {
        const float *vb = v + (size_t)b * stride;
        for (size_t i = lo; i < hi; i++) {
            const double x = (double)vb[i] * scale[i - lo]; /* exact, so an fma with `round` rounds alike */
            a[i] += (x + round) - round;
        }
    }
}

static void finish(int k, const int8_t *e, const double *a, size_t lo, size_t hi, float *out)
{
    for (size_t i = lo; i < hi; i++)
        out[i] = e[i] == EXP_ZERO ? 0.0f : e[i] == EXP_HUGE ? NAN : (float)(a[i] * pow2(e[i] + k - 50));
}

void reduce_exact_local(const float *v, size_t stride, int blocks, size_t n, float *out)
{
    const int k = headroom(blocks);
    int8_t e[CHUNK];
    double a[CHUNK];
    for (size_t lo = 0; lo < n; lo += CHUNK) { /* indices of e and a are offset by lo */
        const size_t hi = lo + CHUNK < n ? lo + CHUNK : n;
        exponents(v + lo, stride, blocks, 0, hi - lo, e);
        accumulate(v + lo, stride, blocks, k, e, 0, hi - lo, a);
        finish(k, e, a, 0, hi - lo, out + lo);
    }
}

void reduce_exact(const float *v, size_t stride, int local, int blocks, size_t n, float *out,
                  const model_dist *d, reduce_scratch scratch)
{
    const int k = headroom(blocks);
    int8_t *e = scratch.exponent;
    double *a = scratch.sum;
    if (dist_ranks(d) == 1) { /* everything local: one pass, a chunk at a time while it is in cache */
#pragma omp parallel for schedule(static)
        for (size_t lo = 0; lo < n; lo += CHUNK)
            reduce_exact_local(v + lo, stride, blocks, lo + CHUNK < n ? CHUNK : n - lo, out + lo);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t lo = 0; lo < n; lo += CHUNK)
        exponents(v, stride, local, lo, lo + CHUNK < n ? lo + CHUNK : n, e);
    d->max_i8(d, e, n);
#pragma omp parallel for schedule(static)
    for (size_t lo = 0; lo < n; lo += CHUNK)
        accumulate(v, stride, local, k, e, lo, lo + CHUNK < n ? lo + CHUNK : n, a);
    d->sum_whole(d, a, n);
#pragma omp parallel for schedule(static)
    for (size_t lo = 0; lo < n; lo += CHUNK)
        finish(k, e, a, lo, lo + CHUNK < n ? lo + CHUNK : n, out);
}

void dist_gather(const model_dist *d, double *all, int blocks, size_t per)
{
    if (dist_ranks(d) > 1)
        d->gather(d, all, blocks, per);
}
