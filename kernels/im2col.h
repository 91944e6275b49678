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

/* Micro-panels, the layout of the A operand of BLIS's column-preferring
 * sgemm micro-kernel with MR = IM2COL_PANEL: column (output position) c of col,
 * row i, is at col[(c / IM2COL_PANEL)·pstride + i·IM2COL_PANEL + c % IM2COL_PANEL].
 * The forward pass lowers straight into them, so that no copy of col is
 * packed again before the product (kernels/conv_im2col.c). */
enum { IM2COL_PANEL = 32 };

/* Where a band is lowered: rows of col with stride ld (pstride == 0), or
   micro-panels of pstride floats each, the band's first column being column
   c0 of the panels. */
typedef struct im2col_dest {
    float *col;
    size_t ld;
    long c0, pstride;
} im2col_dest;

/* Whether this build and shape can lower into micro-panels (AVX-512, and
   stride 1 with Q == W, or stride 2 with a multi-tap filter). */
bool im2col_panels_supported(const conv_shape *cs);

/* im2col_lower into either destination. */
void im2col_lower_to(const conv_shape *cs, const float *x_n, int p0, int p1, const im2col_dest *dst,
                     float *scratch);

/* col[CRS][(p1 − p0)·Q] -> dx_n[C][H][W], ADDED to what dx_n holds (col2im):
   dx_n[c][h][v] += Σ col[(c,r,s)][(p,q)] over the taps of the band whose input
   position is (h,v).  The order of the additions is fixed by the shape.
   col is scratch too: entries for out-of-range positions may be overwritten. */
void im2col_col2im_add(const conv_shape *cs, float *col, int p0, int p1, size_t ld, float *dx_n,
                       float *scratch);

#endif
