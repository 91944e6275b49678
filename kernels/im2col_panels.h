/* kernels/im2col_panels.h — im2col's forward pass lowered straight into the
 * panels of BLIS's sgemm micro-kernel (see im2col_panels.c). */
#ifndef PROBADOR_KERNELS_IM2COL_PANELS_H
#define PROBADOR_KERNELS_IM2COL_PANELS_H

#include "kernels/conv.h"
#include "kernels/im2col.h"

/* Floats of workspace the path needs for this shape; 0 if it does not apply. */
size_t im2col_panels_workspace_floats(const conv_shape *cs);

/* y = conv(x, w) on at most `threads` threads; false (nothing done) if the
   path does not apply to this shape or to BLIS's configuration. */
bool im2col_panels_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws,
                           int threads);

/* The forward pass by lowering + sgemm alone (conv_im2col.c), with the
   im2col kernel's workspace: what runs where the path above does not. */
void im2col_sgemm_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws);

#endif
