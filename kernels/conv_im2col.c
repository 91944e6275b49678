/* STUB — replaced by the im2col + BLIS kernel. */
#include "kernels/conv.h"
static bool stub_supports(const conv_shape *cs, conv_pass pass) { return false; }
static size_t stub_ws(const conv_shape *cs) { return 0; }
const conv_kernel conv_im2col = { "im2col", "stub", stub_supports, &conv_naive, stub_ws, NULL, NULL, NULL };
