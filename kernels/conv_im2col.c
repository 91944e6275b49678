/* kernels/conv_im2col.c — convolution as matrix products: lowering + BLIS sgemm.
 *
 * With col_n[CRS][PQ] the lowered image n (kernels/im2col.h):
 *   forward           y_n[K][PQ]  = w[K][CRS] · col_n[CRS][PQ]
 *   backward_data     col_n       = w^T[CRS][K] · dy_n[K][PQ], then col2im into dx_n
 *   backward_weights  dw[K][CRS]  = Σ_n dy_n[K][PQ] · col_n^T[PQ][CRS]
 *
 * The forward pass takes kernels/im2col_panels.c instead where that applies:
 * the same product, lowered straight into BLIS's micro-panels, same bits.
 *
 * Work is cut into BLOCKS of GEMM columns, about target_cols() of them, whose
 * lowering stays in cache (measured best: ~2048 columns, 4096 when CRS is so
 * small that a GEMM call is too short to amortise its overhead):
 *   - a large image (PQ > target / 2) is one unit of work, processed as bands
 *     of output rows of about target columns;
 *   - small images (7x7, 14x14) are grouped nb at a time into one unit, their
 *     columns side by side, so that each GEMM is wide enough to run at speed.
 *     y and dy are then staged through a K x cols buffer, since nb images of
 *     y[N][K][PQ] are not one strided matrix.
 * A 1x1 stride-1 unpadded layer with nb == 1 needs no lowering: x_n already is
 * col_n, and backward_data's GEMM writes dx_n directly.
 *
 * Threads and determinism.  Threads take whole units (`omp for`), each lowering
 * into its own slot of the workspace and calling single-threaded BLIS, so every
 * output element is computed by one GEMM call whose shape depends only on the
 * convolution shape — never on the thread count.  backward_weights sums over
 * images in IM2COL_GROUPS fixed groups of units: each group accumulates its
 * blocks in order into its own partial dw (GEMM with beta = 1), and the partials
 * are then added in group order.  The grouping depends on the shape alone.
 *
 * Workspace: slots × (CRS·ld + (nb > 1 ? K·ld : 0) + im2col_scratch_floats)
 * floats, ld = block columns rounded up to 16, plus groups × K·CRS floats of
 * partial dw, each slot and partial 64-byte aligned; slots = conv_thread_slots().
 */
#include "kernels/conv.h"
#include "kernels/conv_reference.h"
#include "kernels/im2col.h"
#include "kernels/im2col_panels.h"

#include <blis.h>
#include <omp.h>
#include <string.h>

enum { IM2COL_GROUPS = 16 }; /* most partial sums of dw */

/* GEMM columns per block to aim for (see the top of the file). */
static int target_cols(int crs)
{
    return crs <= 64 ? 4096 : 2048;
}

/* How a shape is cut into units and blocks; a function of the shape only. */
typedef struct im2col_plan {
    int P, Q, pq, crs;
    int nb;      /* images per unit */
    int units;   /* ceil(N / nb) */
    int rows;    /* output rows per block when nb == 1 (P when nb > 1) */
    size_t ld;   /* row stride of the col and staging buffers */
    bool direct; /* x_n is col_n: 1x1, stride 1, pad 0, nb == 1 */
    int groups;  /* partial sums of dw */
    size_t buf;  /* offset in a slot of the K x ld staging buffer (after col) */
    size_t scr;  /* offset in a slot of the lowering's scratch (after buf) */
    size_t slot; /* floats per thread slot */
} im2col_plan;

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static im2col_plan make_plan(const conv_shape *cs)
{
    im2col_plan pl;
    pl.P = conv_out_h(cs);
    pl.Q = conv_out_w(cs);
    pl.pq = pl.P * pl.Q;
    pl.crs = cs->c * cs->r * cs->s;
    const int target = target_cols(pl.crs);
    /* nb: the largest power of two with nb·PQ <= target (powers of two divide
       typical batch sizes, keeping units equal) */
    pl.nb = 1;
    while (2 * pl.nb * pl.pq <= target && 2 * pl.nb <= cs->n)
        pl.nb *= 2;
    pl.units = (cs->n + pl.nb - 1) / pl.nb;
    if (pl.nb == 1) {
        /* bands of equal height, about target columns each */
        const int bands = (pl.pq + target - 1) / target;
        pl.rows = (pl.P + bands - 1) / bands;
    } else {
        pl.rows = pl.P;
    }
    const int cols = pl.nb == 1 ? pl.rows * pl.Q : pl.nb * pl.pq;
    pl.ld = round16((size_t)cols);
    pl.direct = pl.nb == 1 && cs->r == 1 && cs->s == 1 && cs->stride == 1 && cs->pad == 0;
    pl.groups = pl.units < IM2COL_GROUPS ? pl.units : IM2COL_GROUPS;
    pl.buf = (size_t)pl.crs * pl.ld;
    pl.scr = pl.buf + (pl.nb > 1 ? (size_t)cs->k * pl.ld : 0);
    pl.slot = round16(pl.scr + im2col_scratch_floats(cs));
    return pl;
}

static int team_size(void)
{
    const int t = omp_get_max_threads(), slots = conv_thread_slots();
    return t < slots ? t : slots;
}

/* C[m][n] (strides rs_c, cs_c) = A[m][k]·B[k][n] + beta·C on the calling thread
   alone (BLIS would otherwise start its own team inside ours). */
static void sgemm1(dim_t m, dim_t n, dim_t k, const float *a, inc_t rs_a, inc_t cs_a, const float *b,
                   inc_t rs_b, inc_t cs_b, float beta, float *c, inc_t rs_c, inc_t cs_c)
{
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &rntm);
    float alpha = 1.0f;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rs_a, cs_a, (float *)b,
                 rs_b, cs_b, &beta, c, rs_c, cs_c, NULL, &rntm);
}

/* Lower images n0..n0+m−1 side by side: col[CRS][i·PQ + pq] (m > 1 units). */
static void lower_images(const conv_shape *cs, const im2col_plan *pl, const float *x, int n0, int m,
                         float *slot)
{
    const size_t x_img = (size_t)cs->c * cs->h * cs->w;
    for (int i = 0; i < m; i++)
        im2col_lower(cs, x + (n0 + i) * x_img, 0, pl->P, slot + (size_t)i * pl->pq, pl->ld, slot + pl->scr);
}

/* Stage dy of images n0..n0+m−1 as buf[K][i·PQ + pq] (m > 1 units). */
static void gather_images(const conv_shape *cs, const im2col_plan *pl, const float *dy, int n0, int m,
                          float *buf)
{
    const size_t pq = (size_t)pl->pq;
    for (int i = 0; i < m; i++)
        for (int k = 0; k < cs->k; k++)
            memcpy(buf + k * pl->ld + i * pq, dy + ((size_t)(n0 + i) * cs->k + k) * pq, pq * sizeof *buf);
}

static bool im2col_supports(const conv_shape *cs, conv_pass pass)
{
    return true;
}

static size_t im2col_workspace_bytes(const conv_shape *cs)
{
    const im2col_plan pl = make_plan(cs);
    const size_t partials = (size_t)pl.groups * round16((size_t)cs->k * pl.crs);
    const size_t sgemm_path = (size_t)conv_thread_slots() * pl.slot + partials;
    const size_t panels_path = im2col_panels_workspace_floats(cs);
    return sizeof(float) * (sgemm_path > panels_path ? sgemm_path : panels_path);
}

/* x[N][C][H][W], w[K][C][R][S] -> y[N][K][P][Q] by lowering + sgemm. */
void im2col_sgemm_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws)
{
    const im2col_plan pl = make_plan(cs);
    const int K = cs->k, crs = pl.crs, pq = pl.pq, Q = pl.Q;
    const size_t x_img = (size_t)cs->c * cs->h * cs->w, y_img = (size_t)K * pq;

#pragma omp parallel for schedule(static) num_threads(team_size())
    for (int u = 0; u < pl.units; u++) {
        float *col = (float *)ws + (size_t)omp_get_thread_num() * pl.slot;
        if (pl.nb == 1) {
            const float *x_n = x + u * x_img;
            float *y_n = y + u * y_img;
            for (int p0 = 0; p0 < pl.P; p0 += pl.rows) {
                const int p1 = p0 + pl.rows < pl.P ? p0 + pl.rows : pl.P, cols = (p1 - p0) * Q;
                const float *b = x_n + (size_t)p0 * Q; /* direct: x_n is col_n */
                inc_t ldb = pq;
                if (!pl.direct) {
                    im2col_lower(cs, x_n, p0, p1, col, pl.ld, col + pl.scr);
                    b = col;
                    ldb = (inc_t)pl.ld;
                }
                sgemm1(K, cols, crs, w, crs, 1, b, ldb, 1, 0.0f, y_n + (size_t)p0 * Q, pq, 1);
            }
        } else {
            const int n0 = u * pl.nb, m = cs->n - n0 < pl.nb ? cs->n - n0 : pl.nb;
            float *buf = col + pl.buf; /* y staged as [K][m·PQ] */
            lower_images(cs, &pl, x, n0, m, col);
            sgemm1(K, (dim_t)m * pq, crs, w, crs, 1, col, (inc_t)pl.ld, 1, 0.0f, buf, (inc_t)pl.ld, 1);
            for (int i = 0; i < m; i++)
                for (int k = 0; k < K; k++)
                    memcpy(y + (n0 + i) * y_img + (size_t)k * pq, buf + k * pl.ld + (size_t)i * pq,
                           (size_t)pq * sizeof *y);
        }
    }
}

/* The same, through the micro-kernel where it applies (im2col_panels.c). */
static void im2col_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws)
{
    if (!im2col_panels_forward(cs, x, w, y, ws, team_size()))
        im2col_sgemm_forward(cs, x, w, y, ws);
}

/* dy[N][K][P][Q], w[K][C][R][S] -> dx[N][C][H][W]: col = w^T·dy, then col2im. */
static void im2col_backward_data(const conv_shape *cs, const float *dy, const float *w, float *dx, void *ws)
{
    const im2col_plan pl = make_plan(cs);
    const int K = cs->k, crs = pl.crs, pq = pl.pq, Q = pl.Q;
    const size_t x_img = (size_t)cs->c * cs->h * cs->w, y_img = (size_t)K * pq;

#pragma omp parallel for schedule(static) num_threads(team_size())
    for (int u = 0; u < pl.units; u++) {
        float *col = (float *)ws + (size_t)omp_get_thread_num() * pl.slot;
        if (pl.nb == 1) {
            const float *dy_n = dy + u * y_img;
            float *dx_n = dx + u * x_img;
            if (!pl.direct)
                memset(dx_n, 0, x_img * sizeof *dx_n); /* col2im adds */
            for (int p0 = 0; p0 < pl.P; p0 += pl.rows) {
                const int p1 = p0 + pl.rows < pl.P ? p0 + pl.rows : pl.P, cols = (p1 - p0) * Q;
                if (pl.direct) { /* dx_n[C][HW] = w^T · dy_n, written in place */
                    sgemm1(crs, cols, K, w, 1, crs, dy_n + (size_t)p0 * Q, pq, 1, 0.0f, dx_n + (size_t)p0 * Q,
                           pq, 1);
                } else {
                    sgemm1(crs, cols, K, w, 1, crs, dy_n + (size_t)p0 * Q, pq, 1, 0.0f, col, (inc_t)pl.ld, 1);
                    im2col_col2im_add(cs, col, p0, p1, pl.ld, dx_n, col + pl.scr);
                }
            }
        } else {
            const int n0 = u * pl.nb, m = cs->n - n0 < pl.nb ? cs->n - n0 : pl.nb;
            float *buf = col + pl.buf; /* dy staged as [K][m·PQ] */
            gather_images(cs, &pl, dy, n0, m, buf);
            sgemm1(crs, (dim_t)m * pq, K, w, 1, crs, buf, (inc_t)pl.ld, 1, 0.0f, col, (inc_t)pl.ld, 1);
            for (int i = 0; i < m; i++) {
                float *dx_n = dx + (n0 + i) * x_img;
                memset(dx_n, 0, x_img * sizeof *dx_n);
                im2col_col2im_add(cs, col + (size_t)i * pq, 0, pl.P, pl.ld, dx_n, col + pl.scr);
            }
        }
    }
}

/* x[N][C][H][W], dy[N][K][P][Q] -> dw[K][C][R][S]: Σ over fixed groups of images. */
static void im2col_backward_weights(const conv_shape *cs, const float *x, const float *dy, float *dw,
                                    void *ws)
{
    const im2col_plan pl = make_plan(cs);
    const int K = cs->k, crs = pl.crs, pq = pl.pq, Q = pl.Q, G = pl.groups;
    const size_t x_img = (size_t)cs->c * cs->h * cs->w, y_img = (size_t)K * pq;
    const size_t dw_count = (size_t)K * crs, part_stride = round16(dw_count);
    float *partials = (float *)ws + (size_t)conv_thread_slots() * pl.slot;

#pragma omp parallel for schedule(static) num_threads(team_size())
    for (int g = 0; g < G; g++) {
        float *col = (float *)ws + (size_t)omp_get_thread_num() * pl.slot;
        float *part = partials + g * part_stride; /* dw of group g: [K][CRS] */
        float beta = 0.0f;                        /* the group's first block overwrites */
        const int u0 = (int)((long)g * pl.units / G), u1 = (int)((long)(g + 1) * pl.units / G);
        for (int u = u0; u < u1; u++) {
            if (pl.nb == 1) {
                const float *x_n = x + u * x_img, *dy_n = dy + u * y_img;
                for (int p0 = 0; p0 < pl.P; p0 += pl.rows, beta = 1.0f) {
                    const int p1 = p0 + pl.rows < pl.P ? p0 + pl.rows : pl.P, cols = (p1 - p0) * Q;
                    const float *b = x_n + (size_t)p0 * Q; /* col_n^T: [cols][CRS] */
                    inc_t ldb = pq;
                    if (!pl.direct) {
                        im2col_lower(cs, x_n, p0, p1, col, pl.ld, col + pl.scr);
                        b = col;
                        ldb = (inc_t)pl.ld;
                    }
                    sgemm1(K, crs, cols, dy_n + (size_t)p0 * Q, pq, 1, b, 1, ldb, beta, part, crs, 1);
                }
            } else {
                const int n0 = u * pl.nb, m = cs->n - n0 < pl.nb ? cs->n - n0 : pl.nb;
                float *buf = col + pl.buf;
                gather_images(cs, &pl, dy, n0, m, buf);
                lower_images(cs, &pl, x, n0, m, col);
                sgemm1(K, crs, (dim_t)m * pq, buf, (inc_t)pl.ld, 1, col, 1, (inc_t)pl.ld, beta, part, crs, 1);
                beta = 1.0f;
            }
        }
    }

    /* dw = Σ_g partial_g, in group order for every element */
#pragma omp parallel for schedule(static) num_threads(team_size())
    for (size_t i = 0; i < dw_count; i++) {
        float sum = partials[i];
        for (int g = 1; g < G; g++)
            sum += partials[g * part_stride + i];
        dw[i] = sum;
    }
}

/* A float32 GEMM: with u = 2^-24 and `terms` products summed into each output,
   the classical dot-product bound is γ_terms ≈ terms·u, and the lowering is an
   exact copy; allow (terms + 2)·u. */
static double im2col_tolerance(const conv_shape *cs, conv_pass pass)
{
    const double u = 0x1p-24, terms = conv_pass_terms(cs, pass);
    return (terms + 2) * u;
}

const conv_kernel conv_im2col = {
    .name = "im2col",
    .description = "im2col lowering + BLIS sgemm, images in parallel, single-threaded GEMMs",
    .supports = im2col_supports,
    .fallback = &conv_im2col,
    .workspace_bytes = im2col_workspace_bytes,
    .forward = im2col_forward,
    .backward_data = im2col_backward_data,
    .backward_weights = im2col_backward_weights,
    .tolerance = im2col_tolerance,
};
