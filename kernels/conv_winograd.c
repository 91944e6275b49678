/* kernels/conv_winograd.c — Winograd F(2x2,3x3) and F(4x4,3x3) convolution kernels.
 *
 * One driver serves both tile sizes (m = 2 or 4, alpha = m + 2, alpha² "positions")
 * and both the forward pass and backward_data, which for stride 1 is a forward
 * convolution of dy with the filter rotated 180° and transposed ([C][K][3][3]),
 * padding 2 − pad; the rotation is folded into the filter transform.  In the
 * driver's own letters: input in[N][CI][H][W], filter g[KO][CI][3][3], output
 * out[N][KO][P][Q].  The transforms themselves are in kernels/winograd_transforms.h.
 *
 * Tiles.  The output is cut into m×m tiles, numbered t = (n·TH + ty)·TW + tx over the
 * whole batch; tile t reads the alpha×alpha input window at (ty·m − pad, tx·m − pad),
 * zeros outside the image, and writes only the part of its m×m block inside P×Q.
 *
 * Work.  U = G g Gᵀ for every (ko, ci) is computed once per call, in double, 8 ko per
 * vector, into the shared part of the workspace.  The tiles are then cut into
 * blocks of BT tiles (BT = 48, 96, 144 or 192, fixed by the shape so that V stays
 * within ~384 KiB of L2); one thread does a whole block in its own slot:
 *   1. input transform   V[pos][ci][t] = (Bᵀ d B)[pos]: 16 tiles per vector, their
 *                         windows gathered with masked row loads and a 16x8
 *                         transpose; channel-outer, prefetching the next plane
 *   2. for each block kb of 8 output channels:
 *        alpha² GEMMs     M[pos][0..7][t] = Σ_ci U[pos][kb][ci][0..7] · V[pos][ci][t]
 *        output transform out = Aᵀ M A for those 8 channels, 16 tiles per vector,
 *                         written with masked 4-float row stores
 * Layouts in the workspace (floats; each position stride rounded up to an odd
 * number of 64-byte lines, see wino_pos_stride):
 *   U  [pos][KO/8][CI][8]   shared; the 8 output channels of one ci side by side, as
 *                           the micro-kernel broadcasts them; KO padded with zeros
 *   V  [pos][CI][BT]        per thread
 *   M  [pos][8][BT]         per thread
 * Micro-kernel: an 8×48 block of M (8 output channels × 3 vectors of 16 tiles) in 24
 * AVX-512 accumulators; for ci = 0, 1, ..., CI−1 in turn, three vector loads of V,
 * 8 broadcasts of U, 24 FMAs.  It runs at the FMA peak when its operands are in
 * L1/L2; the transforms take roughly half of the time.
 *
 * Determinism.  Every output element is a function of its own tile alone: its V
 * column, its M column (a sum over ci in increasing order, one FMA per ci, the same
 * code for every lane and every block position) and its output transform (the
 * same vector code for every lane; lanes past the last tile are zeros, never a
 * scalar tail).  U is computed elementwise.  Which thread does a block changes
 * nothing, so any thread count and any schedule give identical bits.  The engine
 * (everything up to wino_compute) is compiled twice in the default build, for AVX2 and
 * for AVX-512, and picked at run time (kernels/isa.h): the AVX2 copy runs the same
 * lane-wise operations on two 8-float halves and the same FMA chains in 4×24 blocks,
 * so both give the same bits (tests/test_isa.c).
 *
 * Workspace (bytes), with lines(n) = n floats rounded up to an odd multiple of 16:
 *   4·alpha²·[ lines(⌈KO/8⌉·8·CI)  +  slots·( lines(CI·BT) + lines(8·BT) ) ]
 * maximised over the forward and backward_data configurations (CI,KO = C,K and
 * K,C), slots = conv_thread_slots(), never the thread count in force; the
 * parallel region runs at most `slots` threads.  backward_weights has its own
 * layout (kernels/winograd_bw.c); workspace_bytes is the largest of the passes
 * the shape supports.
 *
 * Passes.  forward and backward_data for 3x3 stride-1 layers with padding 0..2;
 * backward_weights for the same layers with C ≥ 2, in the transform domain
 * (kernels/winograd_bw.c, its own driver: a weight gradient sums over every tile of
 * the batch, so it is organised around that reduction).  The forward and
 * backward_weights passes of a single-channel input (the stem) go to the fallback, the
 * direct kernel, which is faster there (one input channel: nothing to amortise the
 * input transform over, 1 of 16 lanes filled), as does the forward pass of stride-2
 * layers; the rest of what Winograd refuses goes on to im2col (see wino_supports and
 * kernels/conv_direct.c).
 */
#include "kernels/conv.h"
#include "kernels/masked.h"
#include "kernels/conv_reference.h"
#include "kernels/isa.h"
#include "kernels/winograd_common.h"
#include "kernels/winograd_transforms.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>


enum {
    WINO_KR = 8,                     /* output channels per micro-kernel */
    WINO_NRV = 3,                    /* vectors of tiles per micro-kernel */
    WINO_NR = WINO_NRV * WINO_LANES, /* 48 tiles per micro-kernel */
    WINO_MAX_POS = 36,
    WINO_MAX_PANELS = 4,                          /* per block */
    WINO_MAX_GROUPS = WINO_MAX_PANELS * WINO_NRV, /* 16-tile groups per block */
};
_Static_assert((int)WINO_KR == (int)WINO_DLANES,
               "the filter transform fills one 8-channel row of U per vector");

/* A convolution as the driver sees it. */
typedef struct wino_conv {
    int m, alpha, npos;   /* tile m×m, window alpha×alpha, alpha² positions */
    int n, ci, h, w;      /* input  in[N][CI][H][W] */
    int ko, pad;          /* output channels, padding */
    int p, q, th, tw;     /* output out[N][KO][P][Q], TH×TW tiles per image */
    bool flip;            /* filter is w[CI][KO][3][3] read rotated 180° (backward_data) */
    long tiles;           /* N·TH·TW */
    int kblocks;          /* ⌈KO/8⌉ */
    int bt;               /* tiles per block, a multiple of WINO_NR */
    size_t ups, vps, mps; /* floats between positions of U, V and M (see wino_pos_stride) */
    size_t u_bytes, v_floats, slot_bytes;
} wino_conv;

/* ---- filter transform: U[pos][KO/8][CI][8] = G g Gᵀ ---------------------------- */

/* U[pos][kb][ci][0..7] for one block kb of 8 output channels and one ci, the 8
   channels side by side in double lanes; channels past KO are zero. */
static void wino_filter_block(const wino_conv *c, const float *wgt, int kb, int ci, float *u)
{
    double gbuf[9][WINO_DLANES];
    for (int l = 0; l < WINO_DLANES; l++) {
        const int ko = kb * WINO_KR + l;
        for (int r = 0; r < 3; r++)
            for (int s = 0; s < 3; s++) {
                if (ko >= c->ko)
                    gbuf[r * 3 + s][l] = 0;
                else if (c->flip) /* w[CI][KO][3][3] rotated: g[r][s] = w[ci][ko][2−r][2−s] */
                    gbuf[r * 3 + s][l] = wgt[(((size_t)ci * c->ko + ko) * 3 + 2 - r) * 3 + 2 - s];
                else /* w[KO][CI][3][3] */
                    gbuf[r * 3 + s][l] = wgt[(((size_t)ko * c->ci + ci) * 3 + r) * 3 + s];
            }
    }
    wino_dvec g[9], t[WINO_MAX_POS];
    for (int i = 0; i < 9; i++)
        g[i] = wd_load(gbuf[i]);
    if (c->m == 4)
        wino_f4_filter(g, t);
    else
        wino_f2_filter(g, t);
    float *dst = u + ((size_t)kb * c->ci + ci) * WINO_KR;
    for (int pos = 0; pos < c->npos; pos++)
        wd_store_float(dst + pos * c->ups, t[pos]);
}

/* ---- tile geometry ------------------------------------------------------------ */

/* Where the 16 tiles of one vector group read and write, as per-lane masks and
   offsets, so that gathering and scattering never branch on a lane.  Offsets are
   relative to the channel's plane and may point outside it (a window hanging over
   the top or left border): the masks then keep every access inside, and the
   address is formed with integer arithmetic (wino_at), never dereferenced there. */
typedef struct wino_group {
    int valid;                       /* lanes holding real tiles */
    ptrdiff_t in_off[WINO_LANES];    /* window element (0,0) in the input plane */
    ptrdiff_t out_off[WINO_LANES];   /* block element (0,0) in the output plane */
    uint8_t in_mask[WINO_LANES][8];  /* window row r: columns inside the image */
    uint8_t out_mask[WINO_LANES][4]; /* block row i: columns inside P×Q */
} wino_group;

static void wino_group_geometry(const wino_conv *c, long t0, wino_group *g)
{
    memset(g, 0, sizeof *g);
    const long per_image = (long)c->th * c->tw;
    for (int l = 0; l < WINO_LANES; l++) {
        const long t = t0 + l;
        if (t >= c->tiles)
            continue; /* a lane past the end: all masks zero, reads zeros, writes nothing */
        g->valid = l + 1;
        const int n = (int)(t / per_image), rem = (int)(t % per_image);
        const int oy = rem / c->tw * c->m, ox = rem % c->tw * c->m;
        const int iy = oy - c->pad, ix = ox - c->pad;
        unsigned cols = 0;
        for (int s = 0; s < c->alpha; s++)
            cols |= (unsigned)(ix + s >= 0 && ix + s < c->w) << s;
        for (int r = 0; r < c->alpha; r++)
            g->in_mask[l][r] = (uint8_t)(iy + r >= 0 && iy + r < c->h ? cols : 0);
        unsigned ocols = 0;
        for (int j = 0; j < c->m; j++)
            ocols |= (unsigned)(ox + j < c->q) << j;
        for (int i = 0; i < c->m; i++)
            g->out_mask[l][i] = (uint8_t)(oy + i < c->p ? ocols : 0);
        g->in_off[l] = (ptrdiff_t)n * c->ci * c->h * c->w + (ptrdiff_t)iy * c->w + ix;
        g->out_off[l] = (ptrdiff_t)n * c->ko * c->p * c->q + (ptrdiff_t)oy * c->q + ox;
    }
}

/* ---- gather 16 input windows of one channel as alpha² lane vectors -------------- */

#if defined(WINO_AVX512)
/* 128-bit block b of v. */
static inline __m128 wino_block128(__m512 v, int b)
{
    switch (b) {
    case 0:
        return _mm512_castps512_ps128(v);
    case 1:
        return _mm512_extractf32x4_ps(v, 1);
    case 2:
        return _mm512_extractf32x4_ps(v, 2);
    default:
        return _mm512_extractf32x4_ps(v, 3);
    }
}
#endif

/* d[r·alpha + s] lane l = window element (r, s) of tile l in channel `ch` (0 outside). */
static inline void wino_gather(const wino_conv *c, const wino_group *g, const float *in, int ch, int alpha,
                               wino_vec *d)
{
    const float *src = in + (ptrdiff_t)ch * c->h * c->w;
#if defined(WINO_AVX512)
    for (int r = 0; r < alpha; r++) {
        __m256 rows[16];
#pragma GCC unroll 16
        for (int l = 0; l < WINO_LANES; l++)
            rows[l] =
                load8_masked(g->in_mask[l][r], wino_at(src, g->in_off[l] + (ptrdiff_t)r * c->w));
        wino_transpose_16x8(rows, d + r * alpha, alpha);
    }
#elif defined(WINO_AVX2)
    for (int r = 0; r < alpha; r++) {
        __m256 lo[8], hi[8];
#pragma GCC unroll 8
        for (int l = 0; l < 8; l++) {
            lo[l] = wino_load8_bits(g->in_mask[l][r], wino_at(src, g->in_off[l] + (ptrdiff_t)r * c->w));
            hi[l] = wino_load8_bits(g->in_mask[l + 8][r], wino_at(src, g->in_off[l + 8] + (ptrdiff_t)r * c->w));
        }
        wino_transpose_8x8(lo);
        wino_transpose_8x8(hi);
        for (int s = 0; s < alpha; s++)
            d[r * alpha + s] = (wino_vec){ lo[s], hi[s] };
    }
#else
    float buf[WINO_MAX_POS][WINO_LANES];
    for (int l = 0; l < WINO_LANES; l++)
        for (int r = 0; r < alpha; r++)
            for (int s = 0; s < alpha; s++)
                buf[r * alpha + s][l] =
                    g->in_mask[l][r] >> s & 1 ? src[g->in_off[l] + (ptrdiff_t)r * c->w + s] : 0.0f;
    for (int i = 0; i < alpha * alpha; i++)
        d[i] = wv_load(buf[i]);
#endif
}

/* ---- scatter 16 output tiles of one channel ------------------------------------ */

/* y[i·m + j] lane l = output (i, j) of tile l; writes the part of each block inside P×Q. */
static inline void wino_scatter(const wino_conv *c, const wino_group *g, float *out, int k, int m,
                                const wino_vec *y)
{
    float *dst = out + (ptrdiff_t)k * c->p * c->q;
#if defined(WINO_AVX512)
    for (int i = 0; i < m; i++) {
        /* 4x4 transposes inside each 128-bit block: o[j] block b = row i of tile 4b + j */
        const __m512 a0 = y[i * m], a1 = y[i * m + 1];
        const __m512 a2 = m == 4 ? y[i * m + 2] : _mm512_setzero_ps();
        const __m512 a3 = m == 4 ? y[i * m + 3] : _mm512_setzero_ps();
        const __m512 t0 = _mm512_unpacklo_ps(a0, a1), t1 = _mm512_unpackhi_ps(a0, a1);
        const __m512 t2 = _mm512_unpacklo_ps(a2, a3), t3 = _mm512_unpackhi_ps(a2, a3);
        const __m512 o[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                             _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE)};
#pragma GCC unroll 16
        for (int l = 0; l < WINO_LANES; l++)
            if (g->out_mask[l][i]) /* never an empty mask: kernels/masked.h */
                _mm_mask_storeu_ps((float *)wino_at(dst, g->out_off[l] + (ptrdiff_t)i * c->q), g->out_mask[l][i],
                                   wino_block128(o[l & 3], l >> 2));
    }
#elif defined(WINO_AVX2)
    const unsigned full = (1u << m) - 1;
    for (int i = 0; i < m; i++)
        for (int h = 0; h < 2; h++) {
            /* 4x4 transposes inside each 128-bit half: o[j] half b = row i of tile 8h + 4b + j */
            const __m256 a0 = h ? y[i * m].hi : y[i * m].lo, a1 = h ? y[i * m + 1].hi : y[i * m + 1].lo;
            const __m256 a2 = m == 4 ? (h ? y[i * m + 2].hi : y[i * m + 2].lo) : _mm256_setzero_ps();
            const __m256 a3 = m == 4 ? (h ? y[i * m + 3].hi : y[i * m + 3].lo) : _mm256_setzero_ps();
            const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
            const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
            const __m256 o[4] = { _mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE),
                                  _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE) };
#pragma GCC unroll 8
            for (int l = 0; l < 8; l++) {
                const unsigned bits = g->out_mask[8 * h + l][i];
                if (!bits)
                    continue;
                float *at = (float *)wino_at(dst, g->out_off[8 * h + l] + (ptrdiff_t)i * c->q);
                const __m128 v = l < 4 ? _mm256_castps256_ps128(o[l & 3]) : _mm256_extractf128_ps(o[l & 3], 1);
                if (bits == full && m == 4)
                    _mm_storeu_ps(at, v);
                else if (bits == full)
                    _mm_storel_pi((__m64 *)at, v);
                else { /* a block over the edge: its columns one by one */
                    float f[4];
                    _mm_storeu_ps(f, v);
                    for (int j = 0; j < m; j++)
                        if (bits >> j & 1)
                            at[j] = f[j];
                }
            }
        }
#else
    float buf[16][WINO_LANES];
    for (int i = 0; i < m * m; i++)
        wv_store(buf[i], y[i]);
    for (int l = 0; l < g->valid; l++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                if (g->out_mask[l][i] >> j & 1)
                    dst[g->out_off[l] + (ptrdiff_t)i * c->q + j] = buf[i * m + j][l];
#endif
}

/* ---- the GEMM micro-kernel ------------------------------------------------------ */

/* mo[r][0..47] = Σ_ci u[ci][r] · v[ci][0..47] for r < rows, ci in increasing order.
   u: [CI][8] (U of one position and one block of 8 output channels)
   v: [CI][vs] (48 tiles starting at v), mo: [rows][ms] */
static inline __attribute__((always_inline)) void
wino_gemm_rows(int rows, int cin, const float *u, const float *v, size_t vs, float *mo, size_t ms)
{
#if defined(__AVX512F__)
    __m512 acc[WINO_KR][WINO_NRV];
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < WINO_NRV; j++)
            acc[r][j] = _mm512_setzero_ps();
    for (int ci = 0; ci < cin; ci++) {
        const __m512 v0 = _mm512_load_ps(v), v1 = _mm512_load_ps(v + 16), v2 = _mm512_load_ps(v + 32);
#pragma GCC unroll 8
        for (int r = 0; r < rows; r++) {
            const __m512 b = _mm512_set1_ps(u[r]);
            acc[r][0] = _mm512_fmadd_ps(b, v0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(b, v1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(b, v2, acc[r][2]);
        }
        u += WINO_KR, v += vs;
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 3
        for (int j = 0; j < WINO_NRV; j++)
            _mm512_store_ps(mo + r * ms + j * 16, acc[r][j]);
#elif defined(__AVX2__) && defined(__FMA__)
    /* AVX2 has 16 vector registers, too few for 8x48 accumulators: blocks of up
       to 4 rows x 24 tiles (12 accumulators), each element summed over ci in
       the same order as above, so both builds give the same bits. */
    enum { RB = 4, CB = 24, CBV = CB / 8 };
    for (int r0 = 0; r0 < rows; r0 += RB) {
        const int rb = rows - r0 < RB ? rows - r0 : RB;
        for (int c0 = 0; c0 < WINO_NR; c0 += CB) {
            __m256 acc[RB][CBV];
#pragma GCC unroll 4
            for (int r = 0; r < rb; r++)
                for (int j = 0; j < CBV; j++)
                    acc[r][j] = _mm256_setzero_ps();
            const float *ur = u + r0, *vc = v + c0;
            for (int ci = 0; ci < cin; ci++) {
                const __m256 v0 = _mm256_load_ps(vc), v1 = _mm256_load_ps(vc + 8), v2 = _mm256_load_ps(vc + 16);
#pragma GCC unroll 4
                for (int r = 0; r < rb; r++) {
                    const __m256 b = _mm256_broadcast_ss(ur + r);
                    acc[r][0] = _mm256_fmadd_ps(b, v0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(b, v1, acc[r][1]);
                    acc[r][2] = _mm256_fmadd_ps(b, v2, acc[r][2]);
                }
                ur += WINO_KR, vc += vs;
            }
#pragma GCC unroll 4
            for (int r = 0; r < rb; r++)
                for (int j = 0; j < CBV; j++)
                    _mm256_store_ps(mo + (r0 + r) * ms + c0 + j * 8, acc[r][j]);
        }
    }
#else
    float acc[WINO_KR][WINO_NR];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < WINO_NR; j++)
            acc[r][j] = 0;
    for (int ci = 0; ci < cin; ci++) {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < WINO_NR; j++)
                acc[r][j] = __builtin_fmaf(u[r], v[j], acc[r][j]);
        u += WINO_KR, v += vs;
    }
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < WINO_NR; j++)
            mo[r * ms + j] = acc[r][j];
#endif
}

static void wino_gemm_panel(int rows, int cin, const float *u, const float *v, size_t vs, float *mo,
                            size_t ms)
{
    switch (rows) { /* a constant row count keeps the accumulators in registers */
    case 8:
        wino_gemm_rows(8, cin, u, v, vs, mo, ms);
        break;
    case 7:
        wino_gemm_rows(7, cin, u, v, vs, mo, ms);
        break;
    case 6:
        wino_gemm_rows(6, cin, u, v, vs, mo, ms);
        break;
    case 5:
        wino_gemm_rows(5, cin, u, v, vs, mo, ms);
        break;
    case 4:
        wino_gemm_rows(4, cin, u, v, vs, mo, ms);
        break;
    case 3:
        wino_gemm_rows(3, cin, u, v, vs, mo, ms);
        break;
    case 2:
        wino_gemm_rows(2, cin, u, v, vs, mo, ms);
        break;
    default:
        wino_gemm_rows(1, cin, u, v, vs, mo, ms);
        break;
    }
}

/* ---- one block of tiles, start to finish ------------------------------------------ */

static inline __attribute__((always_inline)) void wino_block(const wino_conv *c, const int m, const float *in,
                                                             const float *u, float *out, long t0, float *V,
                                                             float *M)
{
    const int alpha = m + 2, npos = alpha * alpha;
    const long left = c->tiles - t0;
    const int count = left < c->bt ? (int)left : c->bt;
    const int panels = (count + WINO_NR - 1) / WINO_NR;
    const int groups = panels * WINO_NRV;
    const size_t bt = (size_t)c->bt;

    /* 1. input transform, 16 tiles × one channel at a time.  Channel-outer, so each
       input plane is read front to back; the rows of the next channel are
       prefetched one plane ahead. */
    wino_group geo[WINO_MAX_GROUPS];
    for (int gi = 0; gi < groups; gi++)
        wino_group_geometry(c, t0 + (long)gi * WINO_LANES, &geo[gi]);
    const ptrdiff_t plane = (ptrdiff_t)c->h * c->w;
    for (int ch = 0; ch < c->ci; ch++) {
        for (int gi = 0; gi < groups; gi++) {
            const wino_group *g = &geo[gi];
            const float *next = in + (ptrdiff_t)(ch + 1) * plane;
            for (int l = 0; l < WINO_LANES; l += 2)
                for (int r = 0; r < alpha; r += 2)
                    __builtin_prefetch(wino_at(next, g->in_off[l] + (ptrdiff_t)r * c->w));
            wino_vec d[WINO_MAX_POS], v[WINO_MAX_POS];
            wino_gather(c, g, in, ch, alpha, d);
            if (m == 4)
                wino_f4_input(d, v);
            else
                wino_f2_input(d, v);
            float *dst = V + (size_t)ch * bt + (size_t)gi * WINO_LANES;
            for (int pos = 0; pos < npos; pos++)
                wv_store(dst + pos * c->vps, v[pos]);
        }
    }

    /* 2+3, for each block of 8 output channels: the alpha² GEMMs
         M[pos][0..7][t] = Σ_ci U[pos][kb][ci][0..7] · V[pos][ci][t]
       then the output transform of those 8 channels, 16 tiles at a time (channel-
       outer, so each output plane is written front to back).  M stays small and
       in L1/L2 between the two; V is reused from L2 by every block of channels. */
    const int out_groups = (count + WINO_LANES - 1) / WINO_LANES;
    for (int kb = 0; kb < c->kblocks; kb++) {
        const int rows = c->ko - kb * WINO_KR < WINO_KR ? c->ko - kb * WINO_KR : WINO_KR;
        for (int pos = 0; pos < npos; pos++) {
            const float *upos = u + (size_t)pos * c->ups + (size_t)kb * c->ci * WINO_KR;
            for (int pn = 0; pn < panels; pn++)
                wino_gemm_panel(rows, c->ci, upos, V + (size_t)pos * c->vps + (size_t)pn * WINO_NR, bt,
                                M + (size_t)pos * c->mps + (size_t)pn * WINO_NR, bt);
        }
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < out_groups; gi++) {
                /* the same blocks of the next output plane, ahead of their writes */
                const wino_group *g = &geo[gi];
                const float *next = out + (ptrdiff_t)(kb * WINO_KR + r + 1) * c->p * c->q;
                for (int l = 0; l < WINO_LANES; l += 4)
                    for (int i = 0; i < m; i++)
                        __builtin_prefetch(wino_at(next, g->out_off[l] + (ptrdiff_t)i * c->q), 1);
                wino_vec mv[WINO_MAX_POS], y[16];
                const float *src = M + (size_t)r * bt + (size_t)gi * WINO_LANES;
                for (int pos = 0; pos < npos; pos++)
                    mv[pos] = wv_load(src + pos * c->mps);
                if (m == 4)
                    wino_f4_output(mv, y);
                else
                    wino_f2_output(mv, y);
                wino_scatter(c, &geo[gi], out, kb * WINO_KR + r, m, y);
            }
        }
    }
}

static void wino_block_f4(const wino_conv *c, const float *in, const float *u, float *out, long t0, float *V,
                          float *M)
{
    wino_block(c, 4, in, u, out, t0, V, M);
}

static void wino_block_f2(const wino_conv *c, const float *in, const float *u, float *out, long t0, float *V,
                          float *M)
{
    wino_block(c, 2, in, u, out, t0, V, M);
}

/* ---- the driver ------------------------------------------------------------------ */

static inline void wino_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* The engine, compiled once per instruction set (kernels/isa.h). */
void ISA_NAME(wino_compute)(const wino_conv *c, const float *in, const float *wgt, float *out, void *ws)
{
    float *u = ws;
    char *slots = (char *)ws + c->u_bytes;
    const int threads =
        omp_get_max_threads() < conv_thread_slots() ? omp_get_max_threads() : conv_thread_slots();
    const long blocks = (c->tiles + c->bt - 1) / c->bt;
    const int filters = c->kblocks * c->ci;

    /* The filter transform is shared out dynamically and followed by a wait on a
       counter rather than a barrier: on a busy machine a thread that starts late
       finds U done and joins the blocks, instead of holding the others at a barrier. */
    atomic_int filters_done = 0;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 4) nowait
        for (int f = 0; f < filters; f++) {
            wino_filter_block(c, wgt, f / c->ci, f % c->ci, u);
            atomic_fetch_add_explicit(&filters_done, 1, memory_order_release);
        }
        while (atomic_load_explicit(&filters_done, memory_order_acquire) < filters)
            wino_pause();

        float *V = (float *)(slots + (size_t)omp_get_thread_num() * c->slot_bytes);
        float *M = V + c->v_floats;
#pragma omp for schedule(dynamic, 1)
        for (long b = 0; b < blocks; b++) {
            if (c->m == 4)
                wino_block_f4(c, in, u, out, b * c->bt, V, M);
            else
                wino_block_f2(c, in, u, out, b * c->bt, V, M);
        }
    }
}

/* ---- the kernels ---------------------------------------------------------------- */
/* What follows is compiled once, in the build's own instruction set: the plan, the
   glue of the kernel table and the choice of the engine's copy. */
#if !defined(PROBADOR_ISA_AVX512)

static wino_conv wino_plan(const conv_shape *cs, int m, conv_pass pass)
{
    wino_conv c = {.m = m, .alpha = m + 2, .npos = (m + 2) * (m + 2), .n = cs->n};
    if (pass == CONV_BACKWARD_DATA) { /* dy[N][K][P][Q] -> dx[N][C][H][W] */
        c.ci = cs->k, c.h = conv_out_h(cs), c.w = conv_out_w(cs);
        c.ko = cs->c, c.pad = 2 - cs->pad, c.p = cs->h, c.q = cs->w, c.flip = true;
    } else { /* x[N][C][H][W] -> y[N][K][P][Q] */
        c.ci = cs->c, c.h = cs->h, c.w = cs->w;
        c.ko = cs->k, c.pad = cs->pad, c.p = conv_out_h(cs), c.q = conv_out_w(cs), c.flip = false;
    }
    c.th = (c.p + m - 1) / m, c.tw = (c.q + m - 1) / m;
    c.tiles = (long)c.n * c.th * c.tw;
    c.kblocks = (c.ko + WINO_KR - 1) / WINO_KR;
    /* Blocks: V of one block (npos·CI·BT floats) within ~384 KiB of the 1 MiB L2
       when the channels allow, at least one micro-kernel panel, at most
       WINO_MAX_PANELS, and no more panels than the batch has tiles. */
    const size_t panel_bytes = (size_t)c.npos * WINO_NR * (c.ci + WINO_KR) * sizeof(float);
    long panels = (long)((384u << 10) / panel_bytes);
    const long need = (c.tiles + WINO_NR - 1) / WINO_NR;
    panels = panels < 1 ? 1 : panels > WINO_MAX_PANELS ? WINO_MAX_PANELS : panels;
    panels = panels > need ? need : panels;
    c.bt = (int)panels * WINO_NR;
    c.ups = wino_pos_stride((size_t)c.kblocks * WINO_KR * c.ci);
    c.vps = wino_pos_stride((size_t)c.ci * c.bt), c.mps = wino_pos_stride((size_t)WINO_KR * c.bt);
    c.u_bytes = (size_t)c.npos * c.ups * sizeof(float);
    c.v_floats = (size_t)c.npos * c.vps;
    c.slot_bytes = (c.v_floats + (size_t)c.npos * c.mps) * sizeof(float);
    return c;
}

static size_t wino_plan_bytes(const wino_conv *c)
{
    return c->u_bytes + (size_t)conv_thread_slots() * c->slot_bytes;
}

void wino_compute_avx512(const wino_conv *c, const float *in, const float *wgt, float *out, void *ws);

static void wino_run(const wino_conv *c, const float *in, const float *wgt, float *out, void *ws)
{
    ISA_RUN(wino_compute, c, in, wgt, out, ws);
}


/* The fewest products x·w summed into one output of `pass` (stride 1, 3x3): an
   output near a padded border, or of a tiny image, sees fewer than 3×3 window
   positions per input channel. */
static int wino_min_terms(const conv_shape *cs, conv_pass pass)
{
    const bool bwd = pass == CONV_BACKWARD_DATA; /* as a forward convolution of dy */
    const int ci = bwd ? cs->k : cs->c, pad = bwd ? 2 - cs->pad : cs->pad;
    const int dims[2] = {bwd ? conv_out_h(cs) : cs->h, bwd ? conv_out_w(cs) : cs->w};
    int terms = ci;
    for (int d = 0; d < 2; d++) {
        const int in = dims[d], out = in + 2 * pad - 2;
        int fewest = 3;
        for (int p = 0; p < out; p++) {
            int n = 0;
            for (int r = 0; r < 3; r++)
                n += p - pad + r >= 0 && p - pad + r < in;
            fewest = n < fewest ? n : fewest;
        }
        terms *= fewest;
    }
    return terms;
}

/* 3x3, stride 1, padding 0..2 (backward_data runs with padding 2 − pad), forward and
   backward_data.  Also refused: shapes where some output sums fewer than 3 products
   (C·rows·columns < 3: C ≤ 2 with padding 2, or 1–2 pixel images).  Winograd's
   rounding error scales with the whole input tile, so relative to such an
   output's own Σ|terms| (one or two products, which can be arbitrarily small) it
   has no bound at all; see wino_tolerance.  These shapes gain nothing from
   Winograd anyway.  Nor does the forward pass of a single input channel, which the
   direct kernel does faster. */
bool conv_winograd_bounded(const conv_shape *cs, conv_pass pass)
{
    return pass != CONV_BACKWARD_WEIGHTS && conv_shape_valid(cs) && cs->r == 3 && cs->s == 3 &&
           cs->stride == 1 && cs->pad <= 2 && wino_min_terms(cs, pass) >= 3;
}

static bool wino_supports(const conv_shape *cs, conv_pass pass)
{
    if (pass == CONV_BACKWARD_WEIGHTS)
        return wino_bw_supports(cs);
    return conv_winograd_bounded(cs, pass) && !(pass == CONV_FORWARD && cs->c == 1);
}

static size_t wino_workspace(const conv_shape *cs, int m)
{
    const wino_conv f = wino_plan(cs, m, CONV_FORWARD), b = wino_plan(cs, m, CONV_BACKWARD_DATA);
    const size_t fb = wino_plan_bytes(&f), bb = wino_plan_bytes(&b);
    return fb > bb ? fb : bb;
}

/* Sized for every pass this shape supports (the largest). */
static size_t wino_workspace_if(const conv_shape *cs, int m)
{
    const size_t fb = wino_supports(cs, CONV_FORWARD) || wino_supports(cs, CONV_BACKWARD_DATA) ? wino_workspace(cs, m) : 0;
    const size_t bw = wino_supports(cs, CONV_BACKWARD_WEIGHTS) ? wino_bw_workspace(cs, m) : 0;
    return fb > bw ? fb : bw;
}
static size_t wino_f4_workspace(const conv_shape *cs)
{
    return wino_workspace_if(cs, 4);
}
static size_t wino_f2_workspace(const conv_shape *cs)
{
    return wino_workspace_if(cs, 2);
}

/* x[N][C][H][W], w[K][C][3][3] -> y[N][K][P][Q] */
static void conv_winograd_f4x3_forward(const conv_shape *cs, const float *x, const float *w, float *y,
                                       void *ws)
{
    const wino_conv c = wino_plan(cs, 4, CONV_FORWARD);
    wino_run(&c, x, w, y, ws);
}

/* dy[N][K][P][Q], w[K][C][3][3] -> dx[N][C][H][W] */
static void conv_winograd_f4x3_backward_data(const conv_shape *cs, const float *dy, const float *w, float *dx,
                                             void *ws)
{
    const wino_conv c = wino_plan(cs, 4, CONV_BACKWARD_DATA);
    wino_run(&c, dy, w, dx, ws);
}

/* x[N][C][H][W], w[K][C][3][3] -> y[N][K][P][Q] */
static void conv_winograd_f2x3_forward(const conv_shape *cs, const float *x, const float *w, float *y,
                                       void *ws)
{
    const wino_conv c = wino_plan(cs, 2, CONV_FORWARD);
    wino_run(&c, x, w, y, ws);
}

/* dy[N][K][P][Q], w[K][C][3][3] -> dx[N][C][H][W] */
static void conv_winograd_f2x3_backward_data(const conv_shape *cs, const float *dy, const float *w, float *dx,
                                             void *ws)
{
    const wino_conv c = wino_plan(cs, 2, CONV_BACKWARD_DATA);
    wino_run(&c, dy, w, dx, ws);
}

/* ---- tolerance ------------------------------------------------------------------- */

/* In one dimension (input size `in`, padding `pad`), the largest ratio over the
   outputs of  Σ_{r, p inside the image} W_i(r, p)  to the number of taps r of that
   output that fall inside the image. */
static double wino_border_ratio(int m, int in, int pad)
{
    const int out = in + 2 * pad - 2;
    double worst = 0;
    for (int o = 0; o < out; o++) {
        const int i = o % m, start = o - i - pad; /* output i of the tile whose window starts at `start` */
        double e = 0;
        int taps = 0;
        for (int r = 0; r < 3; r++) {
            taps += start + i + r >= 0 && start + i + r < in;
            for (int p = 0; p < m + 2; p++)
                if (start + p >= 0 && start + p < in)
                    e += wino_abs_weight(m, i, r, p);
        }
        if (taps && e / taps > worst)
            worst = e / taps;
    }
    return worst;
}

/* Error model (u = 2^-24, γ_n = n·u to first order), for the algorithm as coded:
 *   U = G g Gᵀ    in double, rounded once:                 |ΔU| ≤ u·|G||g||Gᵀ|
 *   V = Bᵀ d B    two passes of the 1-D transform; an input goes through at most
 *                 2 roundings per pass in F4 (1 in F2):      |ΔV| ≤ γ_4 (γ_2)·|Bᵀ||d||B|
 *   M = Σ_c U·V   one FMA per channel, in order:            |ΔM| ≤ γ_C·Σ_c |U||V|
 *   Y = Aᵀ M A    at most 3 roundings per pass in F4 (2 in F2): γ_6 (γ_4)
 * so, with C the GEMM depth (C forward, K backward_data; = terms/9),
 *   |ΔY[i][j]| ≤ γ_{C+11} (F4) or γ_{C+7} (F2) · E,
 *   E = Σ_c Σ_{r,s,p,q} |g_c[r][s]|·|d_c[p][q]|·W_i(r,p)·W_j(s,q)
 * (tests/test_winograd.c checks this output by output on whole convolutions).
 * The tests measure error against mag = Σ_c Σ_{r,s} |g_c[r][s]|·|d_c[i+r][j+s]|, the
 * output's own products.  For data of equal magnitude E/mag is a constant of the
 * tile geometry, ρ = the product of the two 1-D ratios of wino_border_ratio():
 * 16² = 256 for an interior F4 output (κ/3 with κ = max_i Σ_a |Aᵀ_ia|·‖G_a‖₁·‖Bᵀ_a‖₁
 * = 48), (8/3)² ≈ 7.1 for F2, and more at padded borders (up to 41.3² for F4, 4²
 * for F2), where the tile still mixes all 9 taps while mag counts only those
 * inside the image.  Hence
 *   tolerance = S · ρ · (terms/9 + 11 or 7) · u,
 * a factor·(terms + const)·u bound.  S covers mag falling below its mean on random
 * data, which matters for outputs of few products (supports() refuses shapes with
 * fewer than 3, where mag can be a single arbitrarily small product): F4 needs no
 * extra factor, its border ρ (41.3² against 16² inside) already overstates E/mag
 * where the few-product outputs are, while F2's border ρ adds little (4² against
 * 2.7²) and takes S = 4.  Measured over 30,000 random shapes (padding 0–2, C and K
 * from 1, ragged tiles) the largest error is 0.24 of this tolerance for F4 and 0.34
 * for F2, and on the shapes of tests/test_conv.c at most 0.04; yet a transform with
 * one coefficient off by 1 % exceeds it (test_winograd checks F4 by ≥ 2.9x, F2 by
 * ≥ 20x, and test_conv fails for 0.1 %). */
static double wino_tolerance(int m, const conv_shape *cs, conv_pass pass)
{
    const double u = 0x1p-24, terms = conv_pass_terms(cs, pass);
    const bool bwd = pass == CONV_BACKWARD_DATA;
    const int pad = bwd ? 2 - cs->pad : cs->pad;
    const double rho = wino_border_ratio(m, bwd ? conv_out_h(cs) : cs->h, pad) *
                       wino_border_ratio(m, bwd ? conv_out_w(cs) : cs->w, pad);
    const double safety = m == 4 ? 1 : 4, rounds = m == 4 ? 11 : 7;
    return safety * rho * (terms / 9 + rounds) * u;
}

static double wino_f4_tolerance(const conv_shape *cs, conv_pass pass)
{
    return pass == CONV_BACKWARD_WEIGHTS ? wino_bw_tolerance(cs, 4) : wino_tolerance(4, cs, pass);
}
static double wino_f2_tolerance(const conv_shape *cs, conv_pass pass)
{
    return pass == CONV_BACKWARD_WEIGHTS ? wino_bw_tolerance(cs, 2) : wino_tolerance(2, cs, pass);
}

/* ---- the two kernels -------------------------------------------------------------- */

/* x[N][C][H][W], dy[N][K][P][Q] -> dw[K][C][3][3], in the transform domain
   (kernels/winograd_bw.c). */
static void conv_winograd_f4x3_backward_weights(const conv_shape *cs, const float *x, const float *dy, float *dw,
                                                void *ws)
{
    wino_bw_run(cs, 4, x, dy, dw, ws);
}

static void conv_winograd_f2x3_backward_weights(const conv_shape *cs, const float *x, const float *dy, float *dw,
                                                void *ws)
{
    wino_bw_run(cs, 2, x, dy, dw, ws);
}

const conv_kernel conv_winograd = {
    .name = "winograd",
    .description = "Winograd F(4x4,3x3) with its own batched GEMM: 3x3 stride-1, all three passes",
    .supports = wino_supports,
    .fallback = &conv_direct,
    .workspace_bytes = wino_f4_workspace,
    .forward = conv_winograd_f4x3_forward,
    .backward_data = conv_winograd_f4x3_backward_data,
    .backward_weights = conv_winograd_f4x3_backward_weights,
    .tolerance = wino_f4_tolerance,
};

const conv_kernel conv_winograd_f2 = {
    .name = "winograd_f2",
    .description = "Winograd F(2x2,3x3) with its own batched GEMM: 3x3 stride-1, all three passes",
    .supports = wino_supports,
    .fallback = &conv_direct,
    .workspace_bytes = wino_f2_workspace,
    .forward = conv_winograd_f2x3_forward,
    .backward_data = conv_winograd_f2x3_backward_data,
    .backward_weights = conv_winograd_f2x3_backward_weights,
    .tolerance = wino_f2_tolerance,
};

#endif /* !PROBADOR_ISA_AVX512 */
