/* kernels/conv_reference.h — the float64 reference every kernel is checked against.
 *
 * It enumerates each term x[n][c][h][w]·w[k][c][r][s] of the convolution sum
 * once and scatters it to whichever output the pass asks for, accumulating in
 * double.  This "sum of terms" formulation is deliberately unlike the kernels'
 * gather loops, so a shared indexing mistake cannot hide in both.
 *
 * Besides the value it returns, for every output, the sum of the absolute
 * values of its terms (`mag`).  Error is measured against that: a float32 sum of
 * n terms is off by at most about n·2^-24·Σ|terms|, whatever the cancellation,
 * which makes tolerances meaningful for outputs that happen to be near zero.
 */
#ifndef PROBADOR_KERNELS_CONV_REFERENCE_H
#define PROBADOR_KERNELS_CONV_REFERENCE_H

#include "kernels/conv.h"

/* Inputs as for conv_run (a = x or dy, b = w or dy); out and mag have the
   pass's output count (y, dx or dw). */
void conv_reference(const conv_shape *cs, conv_pass pass, const float *a, const float *b,
                    double *out, double *mag);

/* Number of outputs of `pass`: y, dx or dw elements. */
size_t conv_pass_out_count(const conv_shape *cs, conv_pass pass);
/* Number of terms summed into each output of `pass` (C·R·S, K·R·S/stride², N·P·Q). */
double conv_pass_terms(const conv_shape *cs, conv_pass pass);

/* The largest error, relative to Σ|terms|, accepted from the kernel that ran
   (`ran`, after fallback resolution) on this shape and pass: the tests fail
   above it and the benchmark marks the row unverified.  Each kernel sets its
   own (conv_kernel.tolerance); this asks the one that ran. */
double conv_tolerance(const conv_kernel *ran, const conv_shape *cs, conv_pass pass);

typedef struct conv_error {
    double max_rel;      /* max_i |got_i − ref_i| / max(mag_i, FLT_MIN) */
    size_t worst;        /* index of that output */
    size_t nonfinite;    /* outputs that are NaN or Inf (e.g. never written) */
} conv_error;
conv_error conv_compare(size_t count, const float *got, const double *ref, const double *mag);

#endif
