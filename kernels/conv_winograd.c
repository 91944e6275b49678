/* STUB — replaced by the Winograd kernels. */
#include "kernels/conv_winograd.h"
static bool stub_supports(const conv_shape *cs, conv_pass pass) { return false; }
static size_t stub_ws(const conv_shape *cs) { return 0; }
const conv_kernel conv_winograd = { "winograd", "stub", stub_supports, &conv_im2col, stub_ws, NULL, NULL, NULL };
const conv_kernel conv_winograd_f2 = { "winograd_f2", "stub", stub_supports, &conv_im2col, stub_ws, NULL, NULL, NULL };
double conv_winograd_tolerance(const conv_kernel *k, const conv_shape *cs, conv_pass pass) { return 0; }
