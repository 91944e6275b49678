/* kernels/conv_reference.c — float64 reference convolution (see the header). */
#include "kernels/conv_reference.h"

#include <float.h>
#include <math.h>
#include <string.h>

size_t conv_pass_out_count(const conv_shape *cs, conv_pass pass)
{
    switch (pass) {
    case CONV_FORWARD: return conv_y_count(cs);
    case CONV_BACKWARD_DATA: return conv_x_count(cs);
    default: return conv_w_count(cs);
    }
}

double conv_pass_terms(const conv_shape *cs, conv_pass pass)
{
    const double pq = (double)conv_out_h(cs) * conv_out_w(cs);
    switch (pass) {
    case CONV_FORWARD: return (double)cs->c * cs->r * cs->s;
    case CONV_BACKWARD_DATA: {
        double per = (double)cs->r * cs->s / ((double)cs->stride * cs->stride);
        return cs->k * (per < 1 ? 1 : per);
    }
    default: return cs->n * pq;
    }
}

/* Every (n,k,c,p,q,r,s) with an in-range input position is one term
   x[n][c][h][w]·w[k][c][r][s] of y[n][k][p][q]; the three passes are the
   three ways of summing the same set of terms.  This sums the terms of images
   n0..n1-1 and output channels k0..k1-1. */
static void reference_terms(const conv_shape *cs, conv_pass pass, const float *a, const float *b,
                            double *out, double *mag, int n0, int n1, int k0, int k1)
{
    const int C = cs->c, H = cs->h, W = cs->w, K = cs->k, R = cs->r, S = cs->s;
    const int P = conv_out_h(cs), Q = conv_out_w(cs);
    for (int n = n0; n < n1; n++)
        for (int k = k0; k < k1; k++)
            for (int c = 0; c < C; c++)
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++)
                        for (int r = 0; r < R; r++)
                            for (int s = 0; s < S; s++) {
                                const int h = p * cs->stride - cs->pad + r;
                                const int w = q * cs->stride - cs->pad + s;
                                if (h < 0 || h >= H || w < 0 || w >= W)
                                    continue;
                                const size_t xi = (((size_t)n * C + c) * H + h) * W + w;
                                const size_t wi = (((size_t)k * C + c) * R + r) * S + s;
                                const size_t yi = (((size_t)n * K + k) * P + p) * Q + q;
                                double t;
                                size_t oi;
                                if (pass == CONV_FORWARD) {        /* a = x, b = w */
                                    t = (double)a[xi] * b[wi];
                                    oi = yi;
                                } else if (pass == CONV_BACKWARD_DATA) { /* a = dy, b = w */
                                    t = (double)a[yi] * b[wi];
                                    oi = xi;
                                } else {                           /* a = x, b = dy */
                                    t = (double)a[xi] * b[yi];
                                    oi = wi;
                                }
                                out[oi] += t;
                                mag[oi] += fabs(t);
                            }
}

void conv_reference(const conv_shape *cs, conv_pass pass, const float *a, const float *b,
                    double *out, double *mag)
{
    const size_t count = conv_pass_out_count(cs, pass);
    memset(out, 0, count * sizeof *out);
    memset(mag, 0, count * sizeof *mag);
    /* Threads own disjoint outputs (images for y and dx, output channels for
       dw), so each output is summed in the same order for any thread count. */
    if (pass == CONV_BACKWARD_WEIGHTS) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int k = 0; k < cs->k; k++)
            reference_terms(cs, pass, a, b, out, mag, 0, cs->n, k, k + 1);
    } else {
#pragma omp parallel for schedule(dynamic, 1)
        for (int n = 0; n < cs->n; n++)
            reference_terms(cs, pass, a, b, out, mag, n, n + 1, 0, cs->k);
    }
}

double conv_tolerance(const conv_kernel *ran, const conv_shape *cs, conv_pass pass)
{
    return ran->tolerance(cs, pass);
}

conv_error conv_compare(size_t count, const float *got, const double *ref, const double *mag)
{
    conv_error e = { 0.0, 0, 0 };
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(got[i])) {
            if (e.nonfinite++ == 0) {
                e.worst = i;
                e.max_rel = INFINITY;
            }
            continue;
        }
        const double rel = fabs((double)got[i] - ref[i]) / fmax(mag[i], FLT_MIN);
        if (rel > e.max_rel) {
            e.max_rel = rel;
            e.worst = i;
        }
    }
    return e;
}
