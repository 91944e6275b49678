/* kernels/conv_winograd.h — Winograd F(2x2,3x3) and F(4x4,3x3): the kernels'
 * accuracy contract.
 *
 * The kernels are conv_winograd (F4) and conv_winograd_f2 (F2), declared in
 * kernels/conv.h.  They serve forward and backward_data of 3x3 stride-1 layers
 * with padding 0..2 whose every output sums at least 3 products; all else
 * (backward_weights included) goes to their fallback, im2col.  Their transforms
 * are in kernels/winograd_transforms.h, the design in kernels/conv_winograd.c.
 */
#ifndef PROBADOR_KERNELS_CONV_WINOGRAD_H
#define PROBADOR_KERNELS_CONV_WINOGRAD_H

#include "kernels/conv.h"

/* Error tolerance (relative to Σ|terms|, see conv_reference.h) that the tests
   and the benchmark accept from Winograd kernel `k` on this shape and pass:
     S · ρ · (terms/9 + 11 (F4) or 7 (F2)) · 2^-24,
   the first-order rounding bound of the algorithm as coded (terms/9 = the GEMM
   depth, C or K) times ρ, the ratio of Winograd's error scale to Σ|terms| for
   data of equal magnitude (256 inside an F4 image, 7.1 for F2, more at padded
   borders), and a safety factor S (1 for F4, 4 for F2).  Derivation and
   measurements at its definition in kernels/conv_winograd.c. */
double conv_winograd_tolerance(const conv_kernel *k, const conv_shape *cs, conv_pass pass);

#endif
