/* kernels/conv_winograd.h — Winograd F(2x2,3x3) and F(4x4,3x3): transforms and tolerances. */
#ifndef PROBADOR_KERNELS_CONV_WINOGRAD_H
#define PROBADOR_KERNELS_CONV_WINOGRAD_H

#include "kernels/conv.h"

/* Error tolerance (relative to Σ|terms|, see conv_reference.h) that the tests
   and the benchmark accept for a Winograd kernel on this shape and pass. */
double conv_winograd_tolerance(const conv_kernel *k, const conv_shape *cs, conv_pass pass);

#endif
