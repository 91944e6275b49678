/* kernels/im2col_panels.c — im2col's forward pass through BLIS's micro-kernel.
 *
 * sgemm packs its operands before multiplying, so lowering + sgemm copies
 * every column of col twice: once to lower it, once to pack it.  Here the
 * lowering writes the packed form directly (kernels/im2col.h, micro-panels),
 * and the product calls the micro-kernel on it: one copy fewer, and the panels
 * of a unit stay in the L2 cache between the two steps.  On the stride-2
 * layers of resnet20 that copy was a third of the time.
 *
 * The product is transposed, y_n^T[PQ][K] = col^T[PQ][CRS] · w^T[CRS][K]: the
 * output positions are the micro-kernel's MR rows (A panels, lowered) and the
 * filters its NR columns (B panels, w^T packed once per call).  Its C tile is
 * then column-stored in y_n (row stride 1, column stride PQ), the storage this
 * micro-kernel prefers.  A tile whose rows span two images goes through a
 * small buffer.
 *
 * Work is cut into units, as in conv_im2col.c: nb small images side by side,
 * or a band of output rows of one large image, sized so that a unit's panels
 * fill about PANEL_BYTES.  Each C element comes from one micro-kernel call
 * over all of CRS, on data that depends on the shape only: the result is the
 * same for any thread count.
 *
 * The path needs a column-preferring micro-kernel with MR = IM2COL_PANEL
 * (BLIS's skx sgemm, 32 x 12), a shape the panel lowering serves, and
 * CRS <= KC, BLIS's depth block (384 floats here).  sgemm then computes each
 * C element in one micro-kernel call over the same packed values, exactly as
 * this path does, so the two give bit-identical results (tests/test_conv.c
 * checks it) and the runs committed before this path existed still reproduce
 * to the byte.  Deeper products would need BLIS's depth blocking; anything
 * else takes lowering + sgemm.
 */
#include "kernels/im2col_panels.h"

#include <blis.h>
#include <omp.h>
#include <string.h>

/* A unit's A panels: measured on resnet20's stride-2 layers, 256 KiB is as
   fast as any size from 128 KiB to 1 MiB and leaves the L2 room for B. */
enum { PANEL_BYTES = 512 * 1024 };

typedef void (*sgemm_ukr)(dim_t m, dim_t n, dim_t k, float *alpha, float *a, float *b, float *beta, float *c,
                          inc_t rs_c, inc_t cs_c, auxinfo_t *data, cntx_t *cntx);

typedef struct panels_plan {
    sgemm_ukr ukr;
    cntx_t *cntx;
    int nr;
    int P, Q, pq, crs;
    int nb;          /* images per unit (1: bands) */
    int rows, bands; /* nb == 1: output rows per band, bands per image */
    int units;
    size_t apanel;   /* floats per A panel: CRS·MR */
    size_t bpanel;   /* floats per B panel: CRS·NR, rounded to 16 */
    size_t a_floats; /* A panels of a unit */
    size_t scr;      /* offset in a slot of the lowering's scratch */
    size_t tile;     /* offset in a slot of the MR x NR C buffer */
    size_t slot;     /* floats per thread slot */
    size_t b_off;    /* B panels, after the slots */
    size_t floats;   /* everything */
} panels_plan;

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* The plan; false if the path does not apply to this shape or BLIS. */
static bool make_plan(const conv_shape *cs, panels_plan *pl)
{
    if (!im2col_panels_supported(cs))
        return false;
    conv_blis_init(); /* the configuration is chosen before BLIS's first use */
    cntx_t *cntx = bli_gks_query_cntx();
    const int crs = cs->c * cs->r * cs->s;
    if (crs > bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, cntx) ||
        bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, cntx) != IM2COL_PANEL ||
        bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_MR, cntx) != IM2COL_PANEL ||
        !bli_cntx_l3_nat_ukr_prefers_cols_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx))
        return false;
    pl->cntx = cntx;
    pl->ukr = (sgemm_ukr)bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, cntx);
    pl->nr = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, cntx);
    if (bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_NR, cntx) != pl->nr)
        return false;
    pl->P = conv_out_h(cs);
    pl->Q = conv_out_w(cs);
    pl->pq = pl->P * pl->Q;
    pl->crs = crs;
    int target = (int)(PANEL_BYTES / (sizeof(float) * (size_t)pl->crs));
    target = target < IM2COL_PANEL ? IM2COL_PANEL : target;
    pl->nb = 1;
    while (2 * pl->nb * pl->pq <= target && 2 * pl->nb <= cs->n)
        pl->nb *= 2; /* powers of two divide typical batches: equal units */
    if (pl->nb == 1 && pl->pq > target) {
        pl->rows = target / pl->Q > 0 ? target / pl->Q : 1;
        pl->bands = (pl->P + pl->rows - 1) / pl->rows;
    } else {
        pl->rows = pl->P;
        pl->bands = 1;
    }
    pl->units = pl->nb > 1 ? (cs->n + pl->nb - 1) / pl->nb : cs->n * pl->bands;
    const int cols = pl->nb > 1 ? pl->nb * pl->pq : pl->rows * pl->Q;
    pl->apanel = (size_t)pl->crs * IM2COL_PANEL;
    pl->bpanel = round16((size_t)pl->crs * pl->nr);
    pl->a_floats = (size_t)((cols + IM2COL_PANEL - 1) / IM2COL_PANEL) * pl->apanel;
    pl->scr = pl->a_floats;
    pl->tile = round16(pl->scr + im2col_scratch_floats(cs));
    pl->slot = round16(pl->tile + (size_t)IM2COL_PANEL * pl->nr);
    pl->b_off = (size_t)conv_thread_slots() * pl->slot;
    pl->floats = pl->b_off + (size_t)((cs->k + pl->nr - 1) / pl->nr) * pl->bpanel;
    return true;
}

size_t im2col_panels_workspace_floats(const conv_shape *cs)
{
    panels_plan pl;
    return make_plan(cs, &pl) ? pl.floats : 0;
}

/* B panels: b[j][i][jj] = w[j·NR + jj][i], zero past K. */
static void pack_filters(const conv_shape *cs, const panels_plan *pl, const float *w, float *b)
{
    const int K = cs->k, nr = pl->nr, crs = pl->crs;
    for (int j0 = 0; j0 < K; j0 += nr) {
        float *bp = b + (size_t)(j0 / nr) * pl->bpanel;
        for (int i = 0; i < crs; i++)
            for (int jj = 0; jj < nr; jj++)
                bp[(size_t)i * nr + jj] = j0 + jj < K ? w[(size_t)(j0 + jj) * crs + i] : 0.0f;
    }
}

/* Rows [0, m) of a column-stored tile (columns [0, n), stride ld) into the
   unit's output: tile row i is unit column c0 + i, which is position
   (c0 + i) mod span of image n0 + (c0 + i) / span, starting at `first`. */
static void scatter_tile(const float *t, int ld, int m, int n, int c0, int span, float *y_n0, size_t y_img,
                         int pq, int first)
{
    for (int i = 0; i < m;) {
        const int c = c0 + i, img = c / span, pos = c % span;
        const int run = span - pos < m - i ? span - pos : m - i;
        float *dst = y_n0 + (size_t)img * y_img + first + pos;
        for (int j = 0; j < n; j++)
            memcpy(dst + (size_t)j * pq, t + (size_t)j * ld + i, (size_t)run * sizeof *t);
        i += run;
    }
}

bool im2col_panels_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws, int threads)
{
    panels_plan pl;
    if (!make_plan(cs, &pl))
        return false;
    const int K = cs->k, nr = pl.nr, pq = pl.pq, Q = pl.Q;
    const size_t x_img = (size_t)cs->c * cs->h * cs->w, y_img = (size_t)K * pq;
    float *b = (float *)ws + pl.b_off;
    pack_filters(cs, &pl, w, b);

#pragma omp parallel for schedule(static) num_threads(threads)
    for (int u = 0; u < pl.units; u++) {
        float *a = (float *)ws + (size_t)omp_get_thread_num() * pl.slot;
        float *tile = a + pl.tile;
        /* images n0 .. n0 + m − 1, output rows [p0, p1) of each */
        const int n0 = pl.nb > 1 ? u * pl.nb : u / pl.bands;
        const int m = pl.nb > 1 && cs->n - n0 < pl.nb ? cs->n - n0 : pl.nb;
        const int p0 = pl.nb > 1 ? 0 : (u % pl.bands) * pl.rows;
        const int p1 = p0 + pl.rows < pl.P ? p0 + pl.rows : pl.P;
        const int span = (p1 - p0) * Q, cols = m * span;
        for (int i = 0; i < m; i++) {
            const im2col_dest dst = {a, 0, (long)i * span, (long)pl.apanel};
            im2col_lower_to(cs, x + (size_t)(n0 + i) * x_img, p0, p1, &dst, a + pl.scr);
        }

        float one = 1.0f, zero = 0.0f;
        auxinfo_t aux;
        memset(&aux, 0, sizeof aux);
        float *y_n0 = y + (size_t)n0 * y_img;
        for (int j0 = 0; j0 < K; j0 += nr) {
            float *bp = b + (size_t)(j0 / nr) * pl.bpanel;
            const int n = K - j0 < nr ? K - j0 : nr;
            for (int c0 = 0; c0 < cols; c0 += IM2COL_PANEL) {
                float *ap = a + (size_t)(c0 / IM2COL_PANEL) * pl.apanel;
                const int mr = cols - c0 < IM2COL_PANEL ? cols - c0 : IM2COL_PANEL;
                /* the next panels the micro-kernel may prefetch */
                const bool last_a = c0 + IM2COL_PANEL >= cols;
                bli_auxinfo_set_next_a(last_a ? a : ap + pl.apanel, &aux);
                bli_auxinfo_set_next_b(last_a && j0 + nr < K ? bp + pl.bpanel : bp, &aux);
                if (c0 / span == (c0 + mr - 1) / span) { /* one image: straight into y */
                    float *c = y_n0 + (size_t)(c0 / span) * y_img + (size_t)j0 * pq + (size_t)p0 * Q + c0 % span;
                    pl.ukr(mr, n, pl.crs, &one, ap, bp, &zero, c, 1, pq, &aux, pl.cntx);
                } else {
                    pl.ukr(mr, n, pl.crs, &one, ap, bp, &zero, tile, 1, IM2COL_PANEL, &aux, pl.cntx);
                    scatter_tile(tile, IM2COL_PANEL, mr, n, c0, span, y_n0 + (size_t)j0 * pq, y_img, pq,
                                 p0 * Q);
                }
            }
        }
    }
    return true;
}
