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
 * Vectors run over channels, not tiles: one vector holds 16 channels of one tile.  The
 * channels are interleaved first (16 planes -> rows of 16-channel vectors, a 16x16
 * transpose per 16 pixels; a ring of the last 8 input rows, one row of tiles of dy,
 * both L1-sized), so a tile's window is alpha² plain vector loads.  The GEMMs then
 * reduce over tiles with a broadcast of DY and a vector of V per tile, and no
 * horizontal sums.
 *
 * Work.  Tiles t = (n·TH + ty)·TW + tx are cut into chunks of whole images (V and DY of
 * a chunk, alpha²·(C+K)·BT floats, within ~768 KiB when an image allows, so they stay
 * in L2 between transform and GEMM), and the chunks into `runs` of consecutive chunks
 * (12, 6, 4 or 2, as the partial sums fit in ~3 MiB; fewer, of at least 4 chunks each,
 * when there are few chunks).  A thread does a whole run: for
 * each chunk, transform, then the GEMMs, register blocks of 8 k × 32 c (or 16 × 16)
 * summing the chunk's tiles in order from zero, added to the run's own partial M.
 * Finally dw = Gᵀ (Σ_runs M) G, the runs summed in double in run order.
 * Layouts (floats; position strides rounded to an odd number of 64-byte lines):
 *   V  [pos][BT][CP]   DY [pos][BT][KP]   per thread (CP, KP = C, K rounded up to 16)
 *   X  [8][TW·m + 2][16]   D [m][TW·m][16]   per thread, interleaved input and dy
 *   M  [run][pos][KP][CP]                 shared, one per run
 *
 * Determinism.  BT, the runs and the block shapes depend on the shape alone; each
 * element of M is one FMA chain over the chunk's tiles in order, the chunks of a run
 * are added in order, the runs in order.  Which thread does a run changes nothing, nor
 * which copy of the engine runs (AVX2 or AVX-512, kernels/isa.h): the same chains.
 *
 * Workspace: 4·[ runs·alpha²·KP·CP + slots·(alpha²·(stride(BT·CP) + stride(BT·KP))
 * + 16·(8·(TW·m + 2) + m·TW·m)) ], slots = conv_thread_slots().
 */
#include "kernels/isa.h"
#include "kernels/masked.h"
#include "kernels/winograd_common.h"
#include "kernels/winograd_transforms.h"

#include <omp.h>
#include <string.h>

enum {
    BW_MAX_POS = 36,
    BW_MAX_RUNS = 12,       /* partial sums: balanced for 1, 2, 3, 4 or 6 threads */
    BW_RUN_CHUNKS = 4,      /* chunks a run has at least, where there are enough */
    BW_MIN_CHUNK = 16,      /* tiles */
    BW_MAX_CHUNK = 256,
    BW_RING = 8,            /* rows of interleaved input kept, ≥ alpha, a power of 2 */
};

typedef struct bw_plan {
    int m, alpha, npos;
    int n, c, h, w, k, pad, p, q, th, tw;
    int cp, kp;          /* C and K rounded up to 16 (the lanes past them are zero) */
    int images;          /* images per chunk */
    int bt;              /* tiles per chunk: images·TH·TW */
    long chunks;         /* ⌈N / images⌉ */
    int runs;            /* runs of consecutive chunks, one partial M each */
    size_t vps, dps;     /* floats between positions of V and DY */
    size_t x_floats;     /* X: BW_RING rows of TW·m + 2 vectors */
    size_t d_floats;     /* D: m rows of TW·m vectors */
    size_t run_floats;   /* one partial M: npos·KP·CP */
    size_t slot_floats;  /* V, DY, X and D of one thread */
} bw_plan;

static bw_plan bw_make_plan(const conv_shape *cs, int m)
{
    bw_plan b = {.m = m, .alpha = m + 2, .npos = (m + 2) * (m + 2), .n = cs->n, .c = cs->c, .h = cs->h,
                 .w = cs->w, .k = cs->k, .pad = cs->pad, .p = conv_out_h(cs), .q = conv_out_w(cs)};
    b.th = (b.p + m - 1) / m, b.tw = (b.q + m - 1) / m;
    b.cp = (b.c + WINO_LANES - 1) / WINO_LANES * WINO_LANES;
    b.kp = (b.k + WINO_LANES - 1) / WINO_LANES * WINO_LANES;
    /* whole images per chunk, V and DY of a chunk within ~768 KiB when an image allows */
    const long per_image = (long)b.th * b.tw;
    long bt = (768L << 10) / ((long)b.npos * (b.cp + b.kp) * (long)sizeof(float));
    bt = bt < BW_MIN_CHUNK ? BW_MIN_CHUNK : bt > BW_MAX_CHUNK ? BW_MAX_CHUNK : bt;
    b.images = (int)(bt / per_image < 1 ? 1 : bt / per_image > b.n ? b.n : bt / per_image);
    b.bt = (int)(b.images * per_image);
    b.chunks = (b.n + b.images - 1) / b.images;
    /* partial sums: 12, 6, 4 or 2 of them, as many as fit in ~3 MiB */
    b.run_floats = (size_t)b.npos * b.kp * b.cp;
    b.runs = 2;
    for (int r = BW_MAX_RUNS; r > 2; r = r == 12 ? 6 : r - 2)
        if ((size_t)r * b.run_floats * sizeof(float) <= (3u << 20)) {
            b.runs = r;
            break;
        }
    /* ... and at least BW_RUN_CHUNKS chunks each: a run's partial M costs a pass of the
       finish, worth it only over enough tiles (a block of 16 images, models/dist.h, is
       often 16 chunks) */
    const long most = (b.chunks + BW_RUN_CHUNKS - 1) / BW_RUN_CHUNKS;
    b.runs = b.runs < most ? b.runs : (int)most;
    b.vps = wino_pos_stride((size_t)b.bt * b.cp), b.dps = wino_pos_stride((size_t)b.bt * b.kp);
    b.x_floats = (size_t)BW_RING * (b.tw * m + 2) * WINO_LANES;
    b.d_floats = (size_t)m * b.tw * m * WINO_LANES;
    b.slot_floats = (size_t)b.npos * (b.vps + b.dps) + b.x_floats + b.d_floats;
    return b;
}

/* Chunks [first, last) of run r: the chunks shared out as evenly as the count allows. */
static long bw_run_start(const bw_plan *b, int r)
{
    return b->chunks * r / b->runs;
}

/* ---- channel lanes: 16 channel planes interleaved ------------------------------------- */

#if defined(WINO_AVX512)
/* r[0..15] rows of 16 floats -> r[j] lane l = old r[l] lane j. */
static inline void bw_transpose_16x16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4)
        for (int j = 0; j < 2; j++) {
            const __m512d a = _mm512_castps_pd(t[i + j]), b = _mm512_castps_pd(t[i + j + 2]);
            r[i + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
            r[i + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
    }
}
#endif

/* dst[(y·row + x)·16 + l] = src[l·plane + y·w + x] for y < h, x < w, l < lanes (0 for
   l ≥ lanes): `lanes` channel planes of h×w floats, interleaved 16 to a vector, into
   rows of `row` vectors.  Elements of dst outside h×w are left alone. */
static void bw_interleave(const float *src, ptrdiff_t plane, int lanes, int h, int w, float *dst, int row)
{
#if defined(WINO_AVX512)
    for (int y = 0; y < h; y++)
        for (int x0 = 0; x0 < w; x0 += WINO_LANES) {
            const int n = w - x0 < WINO_LANES ? w - x0 : WINO_LANES;
            const __mmask16 mask = (__mmask16)((1u << n) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int l = 0; l < WINO_LANES; l++)
                r[l] = l < lanes ? load16_masked(mask, src + l * plane + (ptrdiff_t)y * w + x0)
                                 : _mm512_setzero_ps();
            bw_transpose_16x16(r);
            float *out = dst + ((size_t)y * row + x0) * WINO_LANES;
#pragma GCC unroll 16
            for (int j = 0; j < WINO_LANES; j++) /* unrolled, so that r stays in registers */
                if (j < n)
                    _mm512_store_ps(out + j * WINO_LANES, r[j]);
        }
#elif defined(WINO_AVX2)
    for (int y = 0; y < h; y++)
        for (int x0 = 0; x0 < w; x0 += 8) {
            const int n = w - x0 < 8 ? w - x0 : 8;
            const unsigned bits = (1u << n) - 1;
            __m256 lo[8], hi[8];
#pragma GCC unroll 8
            for (int l = 0; l < 8; l++) {
                const float *at = src + (ptrdiff_t)y * w + x0;
                lo[l] = l < lanes ? wino_load8_bits(bits, at + l * plane) : _mm256_setzero_ps();
                hi[l] = l + 8 < lanes ? wino_load8_bits(bits, at + (l + 8) * plane) : _mm256_setzero_ps();
            }
            wino_transpose_8x8(lo);
            wino_transpose_8x8(hi);
            float *out = dst + ((size_t)y * row + x0) * WINO_LANES;
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) /* unrolled, so that lo and hi stay in registers */
                if (j < n) {
                    _mm256_storeu_ps(out + j * WINO_LANES, lo[j]);
                    _mm256_storeu_ps(out + j * WINO_LANES + 8, hi[j]);
                }
        }
#else
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int l = 0; l < WINO_LANES; l++)
                dst[((size_t)y * row + x) * WINO_LANES + l] = l < lanes ? src[l * plane + (ptrdiff_t)y * w + x] : 0;
#endif
}

/* Row xr of the padded input (image row xr − pad, zero outside the image) of 16
   channels from `src` (the group's first plane) into its ring slot of X.  Columns
   outside the image are zero from the start and never written. */
static void bw_input_row(const bw_plan *b, const float *src, int lanes, int xr, float *X, size_t xw)
{
    float *row = X + (size_t)(xr & (BW_RING - 1)) * xw * WINO_LANES;
    const int y = xr - b->pad;
    if (y >= 0 && y < b->h)
        bw_interleave(src + (ptrdiff_t)y * b->w, (ptrdiff_t)b->h * b->w, lanes, 1, b->w,
                      row + (size_t)b->pad * WINO_LANES, (int)xw);
    else
        memset(row, 0, xw * WINO_LANES * sizeof(float));
}

/* The npos vectors of one tile's transform, npos·stride floats apart. */
static inline __attribute__((always_inline)) void bw_store_tile(float *dst, size_t stride, const wino_vec *v,
                                                                const int npos)
{
#pragma GCC unroll 36
    for (int pos = 0; pos < npos; pos++)
        wv_store(dst + pos * stride, v[pos]);
}

/* V of the tiles of image n (columns col0 .. col0 + TH·TW − 1 of the chunk), 16 input
   channels at a time: the window of tile (ty, tx) is rows ty·m .. + alpha − 1, columns
   tx·m .. of the padded input, read from X, a ring of its last BW_RING rows with the
   channels interleaved (small enough for L1).  The plan's fields are read into locals
   once: the stores through float pointers would otherwise make the compiler reload them. */
static inline __attribute__((always_inline)) void bw_input_image(const bw_plan *b, const int m, const float *x,
                                                                 int n, int col0, float *X, float *V)
{
    const int alpha = m + 2, npos = alpha * alpha, th = b->th, tw = b->tw, cp = b->cp;
    const size_t xw = (size_t)tw * m + 2, vps = b->vps;
    for (int cg = 0; cg < cp; cg += WINO_LANES) {
        const float *src = x + ((ptrdiff_t)n * b->c + cg) * b->h * b->w;
        int filled = 0; /* padded rows placed in X so far */
        for (int ty = 0; ty < th; ty++) {
            for (; filled < ty * m + alpha; filled++)
                bw_input_row(b, src, b->c - cg, filled, X, xw);
            for (int tx = 0; tx < tw; tx++) {
                wino_vec d[BW_MAX_POS], v[BW_MAX_POS];
#pragma GCC unroll 6
                for (int r = 0; r < alpha; r++) {
                    const float *row = X + ((size_t)((ty * m + r) & (BW_RING - 1)) * xw + (size_t)tx * m) * WINO_LANES;
#pragma GCC unroll 6
                    for (int c = 0; c < alpha; c++)
                        d[r * alpha + c] = wv_load(row + c * WINO_LANES);
                }
                if (m == 4)
                    wino_f4_input(d, v);
                else
                    wino_f2_input(d, v);
                bw_store_tile(V + (size_t)(col0 + ty * tw + tx) * cp + cg, vps, v, npos);
            }
        }
    }
}

/* DY of the tiles of image n, 16 output channels at a time, one row of tiles at a time
   from its m rows of dy interleaved into D (zero past P×Q). */
static inline __attribute__((always_inline)) void bw_grad_image(const bw_plan *b, const int m, const float *dy,
                                                                int n, int col0, float *D, float *DY)
{
    const int alpha = m + 2, npos = alpha * alpha, th = b->th, tw = b->tw, kp = b->kp;
    const size_t dw = (size_t)tw * m, dps = b->dps;
    const ptrdiff_t plane = (ptrdiff_t)b->p * b->q;
    for (int kg = 0; kg < kp; kg += WINO_LANES) {
        const float *src = dy + ((ptrdiff_t)n * b->k + kg) * plane;
        for (int ty = 0; ty < th; ty++) {
            const int rows = b->p - ty * m < m ? b->p - ty * m : m;
            bw_interleave(src + (ptrdiff_t)ty * m * b->q, plane, b->k - kg, rows, b->q, D, (int)dw);
            if (rows < m)
                memset(D + rows * dw * WINO_LANES, 0, (m - rows) * dw * WINO_LANES * sizeof(float));
            for (int tx = 0; tx < tw; tx++) {
                const float *blk = D + (size_t)tx * m * WINO_LANES;
                wino_vec d[16], v[BW_MAX_POS];
#pragma GCC unroll 4
                for (int i = 0; i < m; i++)
#pragma GCC unroll 4
                    for (int j = 0; j < m; j++)
                        d[i * m + j] = wv_load(blk + (i * dw + j) * WINO_LANES);
                if (m == 4)
                    wino_f4_grad(d, v);
                else
                    wino_f2_grad(d, v);
                bw_store_tile(DY + (size_t)(col0 + ty * tw + tx) * kp + kg, dps, v, npos);
            }
        }
    }
}

/* ---- the GEMM micro-kernel ---------------------------------------------------------- */

/* mo[i][16j .. 16j+15] (+)= Σ_{t < count} dyk[t·ds + i] · v[t·vs + 16j ..] for i < KR,
   j < CV, the tiles in order from zero; added to mo unless `first`, which stores. */
static inline __attribute__((always_inline)) void bw_gemm_block(const int kr, const int cv, int count,
                                                                const float *dyk, size_t ds, const float *v,
                                                                size_t vs, float *mo, size_t ms, bool first)
{
#if defined(WINO_AVX2)
    /* 16 registers hold no 8x32 or 16x16 accumulators: blocks of 4 rows x 16
       lanes, each element summed over the tiles in the same order as below. */
    for (int i0 = 0; i0 < kr; i0 += 4)
        for (int j0 = 0; j0 < cv * WINO_LANES; j0 += WINO_LANES) {
            __m256 acc[4][2];
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                acc[i][0] = acc[i][1] = _mm256_setzero_ps();
            const float *dk = dyk + i0, *vv = v + j0;
            for (int t = 0; t < count; t++) {
                const __m256 v0 = _mm256_loadu_ps(vv), v1 = _mm256_loadu_ps(vv + 8);
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) {
                    const __m256 d = _mm256_broadcast_ss(dk + i);
                    acc[i][0] = _mm256_fmadd_ps(v0, d, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(v1, d, acc[i][1]);
                }
                dk += ds, vv += vs;
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                for (int h = 0; h < 2; h++) {
                    float *dst = mo + (i0 + i) * ms + j0 + 8 * h;
                    _mm256_storeu_ps(dst, first ? acc[i][h] : _mm256_add_ps(_mm256_loadu_ps(dst), acc[i][h]));
                }
        }
#else
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
#endif
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

/* Run `run`: its chunks in order into its partial M.  X and D are zeroed once, then only
   their interiors are written, so their borders stay zero. */
static inline __attribute__((always_inline)) void bw_run_chunks(const bw_plan *b, const int m, const float *x,
                                                                const float *dy, int run, float *slot, float *M)
{
    float *V = slot, *DY = V + (size_t)b->npos * b->vps, *X = DY + (size_t)b->npos * b->dps, *D = X + b->x_floats;
    memset(X, 0, (b->x_floats + b->d_floats) * sizeof(float));
    const int per_image = b->th * b->tw;
    for (long ch = bw_run_start(b, run); ch < bw_run_start(b, run + 1); ch++) {
        const int n0 = (int)(ch * b->images), images = b->n - n0 < b->images ? b->n - n0 : b->images;
        for (int i = 0; i < images; i++) {
            bw_input_image(b, m, x, n0 + i, i * per_image, X, V);
            bw_grad_image(b, m, dy, n0 + i, i * per_image, D, DY);
        }
        bw_gemm_chunk(b, images * per_image, V, DY, M, ch == bw_run_start(b, run));
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

/* The engine, compiled once per instruction set (kernels/isa.h). */
void ISA_NAME(wino_bw_compute)(const conv_shape *cs, int m, const float *x, const float *dy, float *dw, void *ws)
{
    const bw_plan b = bw_make_plan(cs, m);
    float *runs = ws, *slots = runs + (size_t)b.runs * b.run_floats;
    const int threads =
        omp_get_max_threads() < conv_thread_slots() ? omp_get_max_threads() : conv_thread_slots();
    const int c8 = (b.c + WINO_DLANES - 1) / WINO_DLANES;
#pragma omp parallel num_threads(threads)
    {
        float *slot = slots + (size_t)omp_get_thread_num() * b.slot_floats;
#pragma omp for schedule(dynamic, 1)
        for (int r = 0; r < b.runs; r++) {
            float *M = runs + (size_t)r * b.run_floats;
            if (m == 4)
                bw_run_chunks(&b, 4, x, dy, r, slot, M);
            else
                bw_run_chunks(&b, 2, x, dy, r, slot, M);
        }
#pragma omp for schedule(static)
        for (int kc = 0; kc < b.k * c8; kc++)
            bw_finish(&b, runs, kc / c8, kc % c8 * WINO_DLANES, dw);
    }
}

/* What follows is compiled once, in the build's own instruction set. */
#if !defined(PROBADOR_ISA_AVX512)

size_t wino_bw_workspace(const conv_shape *cs, int m)
{
    const bw_plan b = bw_make_plan(cs, m);
    return ((size_t)b.runs * b.run_floats + (size_t)conv_thread_slots() * b.slot_floats) * sizeof(float);
}

void wino_bw_run(const conv_shape *cs, int m, const float *x, const float *dy, float *dw, void *ws)
{
    ISA_RUN(wino_bw_compute, cs, m, x, dy, dw, ws);
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
 * rows and columns), hence  tolerance = ρ_h·ρ_w·L·u,  a factor·(BT + const)·u bound.
 * No safety factor: a weight sums N·(rows)·(columns) products, at least 3 (supports()),
 * usually hundreds, so mag stays near its mean.  Measured over 10,000 random shapes
 * (N 1–4, C and K 1–40, images 1–20 pixels, padding 0–2) the largest error is 0.28 of
 * this tolerance for F2 and 0.22 for F4; yet a transform with one coefficient off by
 * 1 % exceeds it (tests/test_winograd.c: by ≥ 3.7x for F4, ≥ 40x for F2). */
double wino_bw_tolerance(const conv_shape *cs, int m)
{
    const bw_plan b = bw_make_plan(cs, m);
    const long per_run = (b.chunks + b.runs - 1) / b.runs;
    const double rho = bw_ratio(m, cs->h, cs->pad, b.p) * bw_ratio(m, cs->w, cs->pad, b.q);
    return rho * (double)(bw_term_rounds(m) + b.bt + per_run + 1) * 0x1p-24;
}

#endif /* !PROBADOR_ISA_AVX512 */
