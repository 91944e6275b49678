/* kernels/conv_naive.c — direct convolution: the readable reference kernel.
 *
 * Each output is gathered by the loops of its defining sum, accumulated in
 * double and rounded once, so its error is a single float rounding (2^-24
 * relative).  C99 VLA casts make the indexing read like the maths.  Threads
 * split disjoint outputs (images, or output channels for dw), so results do not
 * depend on the thread count.
 */
#include "kernels/conv.h"

static bool naive_supports(const conv_shape *cs, conv_pass pass) { return true; }
static size_t naive_workspace_bytes(const conv_shape *cs) { return 0; }

/* x[N][C][H][W], w[K][C][R][S] -> y[N][K][P][Q] */
static void naive_forward(const conv_shape *cs, const float *xp, const float *wp, float *yp, void *ws)
{
    const int N = cs->n, C = cs->c, H = cs->h, W = cs->w, K = cs->k, R = cs->r, S = cs->s;
    const int P = conv_out_h(cs), Q = conv_out_w(cs), st = cs->stride, pad = cs->pad;
    const float (*x)[C][H][W] = (const float (*)[C][H][W])xp;
    const float (*w)[C][R][S] = (const float (*)[C][R][S])wp;
    float (*y)[K][P][Q] = (float (*)[K][P][Q])yp;

#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    double acc = 0.0;
                    for (int c = 0; c < C; c++)
                        for (int r = 0; r < R; r++)
                            for (int s = 0; s < S; s++) {
                                const int h = p * st - pad + r, v = q * st - pad + s;
                                if (h >= 0 && h < H && v >= 0 && v < W)
                                    acc += (double)x[n][c][h][v] * w[k][c][r][s];
                            }
                    y[n][k][p][q] = (float)acc;
                }
}

/* dy[N][K][P][Q], w[K][C][R][S] -> dx[N][C][H][W]:
   dx[n][c][h][v] = Σ over (k,r,s) with h = p·st − pad + r, v = q·st − pad + s. */
static void naive_backward_data(const conv_shape *cs, const float *dyp, const float *wp, float *dxp,
                                void *ws)
{
    const int N = cs->n, C = cs->c, H = cs->h, W = cs->w, K = cs->k, R = cs->r, S = cs->s;
    const int P = conv_out_h(cs), Q = conv_out_w(cs), st = cs->stride, pad = cs->pad;
    const float (*dy)[K][P][Q] = (const float (*)[K][P][Q])dyp;
    const float (*w)[C][R][S] = (const float (*)[C][R][S])wp;
    float (*dx)[C][H][W] = (float (*)[C][H][W])dxp;

#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    double acc = 0.0;
                    for (int k = 0; k < K; k++)
                        for (int r = 0; r < R; r++)
                            for (int s = 0; s < S; s++) {
                                const int ph = h + pad - r, qv = v + pad - s;
                                if (ph < 0 || qv < 0 || ph % st || qv % st)
                                    continue;
                                const int p = ph / st, q = qv / st;
                                if (p < P && q < Q)
                                    acc += (double)dy[n][k][p][q] * w[k][c][r][s];
                            }
                    dx[n][c][h][v] = (float)acc;
                }
}

/* x[N][C][H][W], dy[N][K][P][Q] -> dw[K][C][R][S] */
static void naive_backward_weights(const conv_shape *cs, const float *xp, const float *dyp, float *dwp,
                                   void *ws)
{
    const int N = cs->n, C = cs->c, H = cs->h, W = cs->w, K = cs->k, R = cs->r, S = cs->s;
    const int P = conv_out_h(cs), Q = conv_out_w(cs), st = cs->stride, pad = cs->pad;
    const float (*x)[C][H][W] = (const float (*)[C][H][W])xp;
    const float (*dy)[K][P][Q] = (const float (*)[K][P][Q])dyp;
    float (*dw)[C][R][S] = (float (*)[C][R][S])dwp;

#pragma omp parallel for collapse(2) schedule(static)
    for (int k = 0; k < K; k++)
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++)
                for (int s = 0; s < S; s++) {
                    double acc = 0.0;
                    for (int n = 0; n < N; n++)
                        for (int p = 0; p < P; p++)
                            for (int q = 0; q < Q; q++) {
                                const int h = p * st - pad + r, v = q * st - pad + s;
                                if (h >= 0 && h < H && v >= 0 && v < W)
                                    acc += (double)x[n][c][h][v] * dy[n][k][p][q];
                            }
                    dw[k][c][r][s] = (float)acc;
                }
}

/* Accumulated in double and rounded once: the error is at most u = 2^-24
   relative; allow 2u. */
static double naive_tolerance(const conv_shape *cs, conv_pass pass) { return 2 * 0x1p-24; }

const conv_kernel conv_naive = {
    .name = "naive",
    .description = "direct loops, float64 accumulation: the readable reference",
    .supports = naive_supports,
    .fallback = &conv_naive,
    .workspace_bytes = naive_workspace_bytes,
    .forward = naive_forward,
    .backward_data = naive_backward_data,
    .backward_weights = naive_backward_weights,
    .tolerance = naive_tolerance,
};
