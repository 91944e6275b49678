/* kernels/im2col.h — the lowering behind the im2col kernel, and its inverse.
 *
 * For one image x_n[C][H][W] and a band of output rows p0 <= p < p1, the
 * column matrix holds one row per filter tap (c,r,s) and one column per output
 * position (p,q) of the band:
 *
 *   col[(c·R + r)·S + s][(p − p0)·Q + q] = x_n[c][p·stride − pad + r][q·stride − pad + s]
 *
 * (zero where the input position is out of range); row i starts at col + i·ld.
 * Then y_n[K][band] = w[K][CRS] · col[CRS][band], and the two backward passes
 * are the other two products of the same three matrices.
 *
 * Both functions take per-thread scratch of im2col_scratch_floats(cs) floats
 * (zero for most shapes; stride 2 splits the image into its four polyphase
 * components there, see im2col.c).  Its contents on entry do not matter.
 */
#ifndef PROBADOR_KERNELS_IM2COL_H
#define PROBADOR_KERNELS_IM2COL_H

#include "kernels/conv.h"

/* Floats of scratch the two functions below need for this shape. */
size_t im2col_scratch_floats(const conv_shape *cs);

/* x_n[C][H][W] -> col[CRS][(p1 − p0)·Q] (row stride ld >= (p1 − p0)·Q).
   Writes every entry of the band, zeros included. */
void im2col_lower(const conv_shape *cs, const float *x_n, int p0, int p1, float *col, size_t ld,
                  float *scratch);

/* col[CRS][(p1 − p0)·Q] -> dx_n[C][H][W], ADDED to what dx_n holds (col2im):
   dx_n[c][h][v] += Σ col[(c,r,s)][(p,q)] over the taps of the band whose input
   position is (h,v).  The order of the additions is fixed by the shape.
   col is scratch too: entries for out-of-range positions may be overwritten. */
void im2col_col2im_add(const conv_shape *cs, float *col, int p0, int p1, size_t ld, float *dx_n,
                       float *scratch);

#endif
