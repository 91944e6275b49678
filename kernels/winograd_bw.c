/* kernels/winograd_bw.c — backward_weights of the Winograd kernels, in the transform domain.
 *
 * The forward tile is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, bilinear in g and d, so the weight
 * gradient of one tile is Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G, and over the batch
 *   M[pos][k][c] = Σ_tiles  DY[pos][t][k] · V[pos][t][c]      (alpha² GEMMs, depth = tiles)
 *   dw[k][c]     = Gᵀ M[·][k][c] G                            (in double, rounded once)
 * with V = Bᵀ d B the forward pass's input transform and DY = A dy Aᵀ the output
 * gradient through the transposed output transform (kernels/winograd_transforms.h).
 * dy reads as zero outside P×Q, where the forward tile wrote nothing.
 *
 * Vectors run over channels, not tiles: one vector holds 16 channels of one tile (the
 * window gathered with masked row loads and a 16x8 transpose, as the forward pass
 * gathers 16 tiles of one channel).  The GEMMs then reduce over tiles with a broadcast
 * of DY and a vector of V per tile, and no horizontal sums.
 *
 * Work.  Tiles t = (n·TH + ty)·TW + tx are cut into chunks of BT (V and DY of a chunk,
 * alpha²·(C+K)·BT floats, within ~768 KiB so they stay in L2 between transform and
 * GEMM), and the chunks into `partials` runs of consecutive chunks.  A thread does a
 * whole run: for each chunk, transform, then the GEMMs, register blocks of 8 k × 32 c
 * (or 16 × 16) summing the chunk's tiles in order from zero, added to the run's own
 * partial M.  Finally dw = Gᵀ (Σ_runs M) G, the runs summed in double in run order.
 * Layouts (floats; position strides rounded to an odd number of 64-byte lines):
 *   V  [pos][BT][CP]   DY [pos][BT][KP]   per thread (CP, KP = C, K rounded up to 16)
 *   M  [run][pos][KP][CP]                 shared, one per run
 *
 * Determinism.  BT, the runs and the block shapes depend on the shape alone; each
 * element of M is one FMA chain over the chunk's tiles in order, the chunks of a run
 * are added in order, the runs in order.  Which thread does a run changes nothing.
 *
 * Workspace: 4·[ runs·alpha²·KP·CP + slots·alpha²·(stride(BT·CP) + stride(BT·KP)) ],
 * slots = conv_thread_slots().
 */
#include "kernels/masked.h"
#include "kernels/winograd_common.h"
#include "kernels/winograd_transforms.h"

#include <omp.h>
#include <string.h>

enum {
    BW_MAX_POS = 36,
    BW_MAX_RUNS = 12,       /* partial sums: balanced for 1, 2, 3, 4 or 6 threads */
    BW_MIN_CHUNK = 16,      /* tiles */
    BW_MAX_CHUNK = 256,
};

typedef struct bw_plan {
    int m, alpha, npos;
    int n, c, h, w, k, pad, p, q, th, tw;
    int cp, kp;          /* C and K rounded up to 16 (the lanes past them are zero) */
    long tiles;          /* N·TH·TW */
    int bt;              /* tiles per chunk */
    long chunks;
    int runs;            /* runs of consecutive chunks, one partial M each */
    size_t vps, dps;     /* floats between positions of V and DY */
    size_t run_floats;   /* one partial M: npos·KP·CP */
    size_t slot_floats;  /* V and DY of one thread */
} bw_plan;

static bw_plan bw_make_plan(const conv_shape *cs, int m)
{
    bw_plan b = {.m = m, .alpha = m + 2, .npos = (m + 2) * (m + 2), .n = cs->n, .c = cs->c, .h = cs->h,
                 .w = cs->w, .k = cs->k, .pad = cs->pad, .p = conv_out_h(cs), .q = conv_out_w(cs)};
    b.th = (b.p + m - 1) / m, b.tw = (b.q + m - 1) / m;
    b.tiles = (long)b.n * b.th * b.tw;
    b.cp = (b.c + WINO_LANES - 1) / WINO_LANES * WINO_LANES;
    b.kp = (b.k + WINO_LANES - 1) / WINO_LANES * WINO_LANES;
    long bt = (768L << 10) / ((long)b.npos * (b.cp + b.kp) * (long)sizeof(float));
    bt = bt < BW_MIN_CHUNK ? BW_MIN_CHUNK : bt > BW_MAX_CHUNK ? BW_MAX_CHUNK : bt;
    b.bt = (int)(bt < b.tiles ? bt : b.tiles);
    b.chunks = (b.tiles + b.bt - 1) / b.bt;
    b.runs = (int)(b.chunks < BW_MAX_RUNS ? b.chunks : BW_MAX_RUNS);
    b.vps = wino_pos_stride((size_t)b.bt * b.cp), b.dps = wino_pos_stride((size_t)b.bt * b.kp);
    b.run_floats = (size_t)b.npos * b.kp * b.cp;
    b.slot_floats = (size_t)b.npos * (b.vps + b.dps);
    return b;
}

/* Chunks [first, last) of run r: the chunks shared out as evenly as the count allows. */
static long bw_run_start(const bw_plan *b, int r)
{
    return b->chunks * r / b->runs;
}

size_t wino_bw_workspace(const conv_shape *cs, int m)
{
    const bw_plan b = bw_make_plan(cs, m);
    return ((size_t)b.runs * b.run_floats + (size_t)conv_thread_slots() * b.slot_floats) * sizeof(float);
}

/* ---- gather: 16 channels of one tile ---------------------------------------------- */

/* d[r·cols + s] lane l = element (r, s) of the rows×cols window at `base` in channel
   plane l (planes `plane` floats apart, rows `row` apart), for l < lanes; zero where
   the row's mask (bit s of rmask[r]) is clear and for lanes ≥ `lanes`.  base may point
   outside the array (a window over the top or left border): see wino_at. */
static inline void bw_gather(const float *base, ptrdiff_t plane, ptrdiff_t row, const uint8_t *rmask,
                             int rows, int cols, int lanes, wino_vec *d)
{
#if defined(WINO_AVX512)
    for (int r = 0; r < rows; r++) {
        if (!rmask[r]) {
            for (int s = 0; s < cols; s++)
                d[r * cols + s] = wv_zero();
            continue;
        }
        __m256 rowv[16];
#pragma GCC unroll 16
        for (int l = 0; l < WINO_LANES; l++)
            rowv[l] = load8_masked(l < lanes ? rmask[r] : 0, wino_at(base, l * plane + r * row));
        wino_transpose_16x8(rowv, d + r * cols, cols);
    }
#else
    float buf[BW_MAX_POS][WINO_LANES];
    for (int r = 0; r < rows; r++)
        for (int s = 0; s < cols; s++)
            for (int l = 0; l < WINO_LANES; l++)
                buf[r * cols + s][l] = l < lanes && rmask[r] >> s & 1 ? *wino_at(base, l * plane + r * row + s) : 0;
    for (int i = 0; i < rows * cols; i++)
        d[i] = wv_load(buf[i]);
#endif
}

/* Bits 0..len−1 set where start + bit lies in [0, size). */
static inline uint8_t bw_span(int start, int len, int size)
{
    unsigned bits = 0;
    for (int i = 0; i < len; i++)
        bits |= (unsigned)(start + i >= 0 && start + i < size) << i;
    return (uint8_t)bits;
}

/* V and DY of tile t, written at column `col` of the chunk. */
static inline __attribute__((always_inline)) void bw_transform_tile(const bw_plan *b, const int m,
                                                                    const float *x, const float *dy, long t,
                                                                    int col, float *V, float *DY)
{
    const int alpha = m + 2, npos = alpha * alpha, per_image = b->th * b->tw;
    const int n = (int)(t / per_image), rem = (int)(t % per_image);
    const int oy = rem / b->tw * m, ox = rem % b->tw * m, iy = oy - b->pad, ix = ox - b->pad;
    uint8_t in_rows[6], out_rows[4];
    const uint8_t in_cols = bw_span(ix, alpha, b->w), out_cols = bw_span(ox, m, b->q);
    for (int r = 0; r < alpha; r++)
        in_rows[r] = iy + r >= 0 && iy + r < b->h ? in_cols : 0;
    for (int i = 0; i < m; i++)
        out_rows[i] = oy + i < b->p ? out_cols : 0;
    const ptrdiff_t in_plane = (ptrdiff_t)b->h * b->w, out_plane = (ptrdiff_t)b->p * b->q;
    wino_vec d[BW_MAX_POS], v[BW_MAX_POS];
    for (int cg = 0; cg < b->cp; cg += WINO_LANES) {
        const float *base = wino_at(x, ((ptrdiff_t)n * b->c + cg) * in_plane + (ptrdiff_t)iy * b->w + ix);
        bw_gather(base, in_plane, b->w, in_rows, alpha, alpha, b->c - cg, d);
        if (m == 4)
            wino_f4_input(d, v);
        else
            wino_f2_input(d, v);
        for (int pos = 0; pos < npos; pos++)
            wv_store(V + pos * b->vps + (size_t)col * b->cp + cg, v[pos]);
    }
    for (int kg = 0; kg < b->kp; kg += WINO_LANES) {
        const float *base = dy + ((ptrdiff_t)n * b->k + kg) * out_plane + (ptrdiff_t)oy * b->q + ox;
        bw_gather(base, out_plane, b->q, out_rows, m, m, b->k - kg, d);
        if (m == 4)
            wino_f4_grad(d, v);
        else
            wino_f2_grad(d, v);
        for (int pos = 0; pos < npos; pos++)
            wv_store(DY + pos * b->dps + (size_t)col * b->kp + kg, v[pos]);
    }
}

/* ---- the GEMM micro-kernel ---------------------------------------------------------- */

/* mo[i][16j .. 16j+15] (+)= Σ_{t < count} dyk[t·ds + i] · v[t·vs + 16j ..] for i < KR,
   j < CV, the tiles in order from zero; added to mo unless `first`, which stores. */
static inline __attribute__((always_inline)) void bw_gemm_block(const int kr, const int cv, int count,
                                                                const float *dyk, size_t ds, const float *v,
                                                                size_t vs, float *mo, size_t ms, bool first)
{
    wino_vec acc[16][2];
#pragma GCC unroll 16
    for (int i = 0; i < kr; i++)
        for (int j = 0; j < cv; j++)
            acc[i][j] = wv_zero();
    for (int t = 0; t < count; t++) {
        const wino_vec v0 = wv_load(v), v1 = cv > 1 ? wv_load(v + WINO_LANES) : wv_zero();
#pragma GCC unroll 16
        for (int i = 0; i < kr; i++) {
            acc[i][0] = wv_fmadd(v0, dyk[i], acc[i][0]);
            if (cv > 1)
                acc[i][1] = wv_fmadd(v1, dyk[i], acc[i][1]);
        }
        dyk += ds, v += vs;
    }
#pragma GCC unroll 16
    for (int i = 0; i < kr; i++)
        for (int j = 0; j < cv; j++) {
            float *dst = mo + i * ms + j * WINO_LANES;
            wv_store(dst, first ? acc[i][j] : wv_add(wv_load(dst), acc[i][j]));
        }
}

/* One chunk of `count` tiles into the run's partial M, every position. */
static void bw_gemm_chunk(const bw_plan *b, int count, const float *V, const float *DY, float *M, bool first)
{
    const size_t kp = (size_t)b->kp, cp = (size_t)b->cp;
    for (int pos = 0; pos < b->npos; pos++) {
        const float *vp = V + pos * b->vps, *dp = DY + pos * b->dps;
        float *mp = M + pos * kp * cp;
        size_t cb = 0;
        for (; cb + 2 * WINO_LANES <= cp; cb += 2 * WINO_LANES)
            for (size_t kb = 0; kb < kp; kb += 8)
                bw_gemm_block(8, 2, count, dp + kb, kp, vp + cb, cp, mp + kb * cp + cb, cp, first);
        if (cb < cp)
            for (size_t kb = 0; kb < kp; kb += 16)
                bw_gemm_block(16, 1, count, dp + kb, kp, vp + cb, cp, mp + kb * cp + cb, cp, first);
    }
}

/* ---- the driver --------------------------------------------------------------------- */

static inline __attribute__((always_inline)) void bw_run_chunks(const bw_plan *b, const int m, const float *x,
                                                                const float *dy, int run, float *V, float *DY,
                                                                float *M)
{
    for (long ch = bw_run_start(b, run); ch < bw_run_start(b, run + 1); ch++) {
        const long t0 = ch * b->bt;
        const int count = b->tiles - t0 < b->bt ? (int)(b->tiles - t0) : b->bt;
        for (int i = 0; i < count; i++)
            bw_transform_tile(b, m, x, dy, t0 + i, i, V, DY);
        bw_gemm_chunk(b, count, V, DY, M, ch == bw_run_start(b, run));
    }
}

/* dw[k][c0 .. c0+7][3][3] = Gᵀ (Σ_runs M[run][·][k][c0 ..]) G, in double, rounded once. */
static void bw_finish(const bw_plan *b, const float *runs, int k, int c0, float *dw)
{
    wino_dvec mv[BW_MAX_POS], g[9];
    const size_t at = (size_t)k * b->cp + c0;
    for (int pos = 0; pos < b->npos; pos++) {
        const float *src = runs + (size_t)pos * b->kp * b->cp + at;
        wino_dvec sum = wd_load_float(src);
        for (int r = 1; r < b->runs; r++)
            sum = wd_add(sum, wd_load_float(src + r * b->run_floats));
        mv[pos] = sum;
    }
    if (b->m == 4)
        wino_f4_filter_grad(mv, g);
    else
        wino_f2_filter_grad(mv, g);
    double out[9][WINO_DLANES];
    for (int e = 0; e < 9; e++)
        wd_store(out[e], g[e]);
    for (int l = 0; l < WINO_DLANES && c0 + l < b->c; l++)
        for (int e = 0; e < 9; e++)
            dw[((size_t)k * b->c + c0 + l) * 9 + e] = (float)out[e][l];
}

void wino_bw_run(const conv_shape *cs, int m, const float *x, const float *dy, float *dw, void *ws)
{
    const bw_plan b = bw_make_plan(cs, m);
    float *runs = ws, *slots = runs + (size_t)b.runs * b.run_floats;
    const int threads =
        omp_get_max_threads() < conv_thread_slots() ? omp_get_max_threads() : conv_thread_slots();
    const int c8 = (b.c + WINO_DLANES - 1) / WINO_DLANES;
#pragma omp parallel num_threads(threads)
    {
        float *V = slots + (size_t)omp_get_thread_num() * b.slot_floats, *DY = V + (size_t)b.npos * b.vps;
#pragma omp for schedule(dynamic, 1)
        for (int r = 0; r < b.runs; r++) {
            float *M = runs + (size_t)r * b.run_floats;
            if (m == 4)
                bw_run_chunks(&b, 4, x, dy, r, V, DY, M);
            else
                bw_run_chunks(&b, 2, x, dy, r, V, DY, M);
        }
#pragma omp for schedule(static)
        for (int kc = 0; kc < b.k * c8; kc++)
            bw_finish(&b, runs, kc / c8, kc % c8 * WINO_DLANES, dw);
    }
}

/* ---- supports, tolerance --------------------------------------------------------------- */

/* In one dimension (input `in`, padding `pad`, output `out`): how many outputs o see
   input o − pad + r for the filter tap r that sees the fewest. */
static int bw_fewest_taps(int in, int pad, int out)
{
    int fewest = out;
    for (int r = 0; r < 3; r++) {
        int n = 0;
        for (int o = 0; o < out; o++)
            n += o - pad + r >= 0 && o - pad + r < in;
        fewest = n < fewest ? n : fewest;
    }
    return fewest;
}

/* 3x3, stride 1, padding 0..2; C ≥ 2 (one input channel would fill 1 of 16 lanes; im2col
   does that better); every weight sums ≥ 3 products x·dy (as for forward, see
   wino_supports in kernels/conv_winograd.c: fewer leave no relative error bound). */
bool wino_bw_supports(const conv_shape *cs)
{
    return conv_shape_valid(cs) && cs->r == 3 && cs->s == 3 && cs->stride == 1 && cs->pad <= 2 && cs->c >= 2 &&
           (long)cs->n * bw_fewest_taps(cs->h, cs->pad, conv_out_h(cs)) *
                   bw_fewest_taps(cs->w, cs->pad, conv_out_w(cs)) >=
               3;
}

/* In one dimension, the largest over the taps r of
     Σ_tiles Σ_{outputs i of the tile inside P} Σ_{window p inside the image} W_i(r, p)
     / Σ_tiles (outputs i of the tile inside P whose input i − pad + r is inside)
   (W_i of wino_abs_weight): E / mag below, for data of equal magnitude. */
static double bw_ratio(int m, int in, int pad, int out)
{
    double worst = 0;
    for (int r = 0; r < 3; r++) {
        double e = 0, taps = 0;
        for (int start = 0; start < out; start += m)
            for (int i = 0; i < m && start + i < out; i++) {
                taps += start + i - pad + r >= 0 && start + i - pad + r < in;
                for (int p = 0; p < m + 2; p++)
                    if (start - pad + p >= 0 && start - pad + p < in)
                        e += wino_abs_weight(m, i, r, p);
            }
        if (taps > 0 && e / taps > worst)
            worst = e / taps;
    }
    return worst;
}

/* The roundings of one tile's term, as coded: V = Bᵀ d B at most 4 (F4) or 2 (F2),
   DY = A dy Aᵀ at most 4 (2), the product 1 (inside the FMA). */
static int bw_term_rounds(int m)
{
    return m == 4 ? 9 : 5;
}

/* Error model (u = 2^-24, γ_n ≈ n·u):
 *   each tile's term V·DY carries γ_{term rounds} relative to |Bᵀ||d||B|·|A||dy||Aᵀ|;
 *   the chunk's sum, one FMA chain of at most BT terms from zero: γ_BT;
 *   the chunks of a run added in turn: γ_{chunks per run}; runs summed in double;
 *   Gᵀ M G in double, rounded once: u.
 * So |Δdw[k][c][r][s]| ≤ γ_L · E with L = rounds + BT + ⌈chunks/runs⌉ + 1 and
 *   E = Σ_tiles Σ_{i,j,p,q} |dy_ij|·|d_pq|·W_i(r,p)·W_j(s,q)
 * (tests/test_winograd.c checks this weight by weight).  Measured against
 * mag = Σ |x·dy| of the weight's own products, E/mag for data of equal magnitude is
 * the product of the two bw_ratio()s (the tiles of an image are the product of their
 * rows and columns), hence  tolerance = ρ_h·ρ_w·L·u.  Every weight sums at least
 * N·(P−2)·(Q−2) products, so mag is close to its mean and no safety factor is taken. */
double wino_bw_tolerance(const conv_shape *cs, int m)
{
    const bw_plan b = bw_make_plan(cs, m);
    const long per_run = (b.chunks + b.runs - 1) / b.runs;
    const double rho = bw_ratio(m, cs->h, cs->pad, b.p) * bw_ratio(m, cs->w, cs->pad, b.q);
    return rho * (double)(bw_term_rounds(m) + b.bt + per_run + 1) * 0x1p-24;
}
