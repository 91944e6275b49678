/* kernels/im2col.c — lowering (im2col) and its scatter-add inverse (col2im).
 *
 * Both walk the filter taps (c,r,s); each tap is one row of col.  Padding is
 * handled by ranges, never by per-element tests: for tap (r,s) the output rows p
 * and columns q whose input position is in range form intervals [a, b) and
 * [q_lo, q_hi), computed once per call for all channels.
 *
 * Three layouts, chosen by the shape:
 *   - plane: stride 1 and Q == W ("same" width, S = 2·pad + 1).  Output and
 *     input rows then have the same length, so the tap's row of col is the input
 *     plane shifted by (r − pad)·W + (s − pad): one long run, except at the few
 *     positions that wrap around a row end (q outside [q_lo, q_hi)), which must
 *     read as zero.  This turns 7-, 14- or 28-float copies into one long copy.
 *   - phases: stride 2 with a multi-tap filter, when (W + 1)/2 <= Q.  The image
 *     is first split into its four polyphase components X_ab[i][j] =
 *     x[2i + a][2j + b], stored with rows of length Q (in the scratch).  Tap
 *     (r,s) then reads component (a,b) = ((r − pad) mod 2, (s − pad) mod 2)
 *     shifted by (⌊(r − pad)/2⌋, ⌊(s − pad)/2⌋) with stride 1: the plane layout
 *     again.  The split costs one pass over the input; each component serves
 *     about R·S/4 taps.  col2im accumulates into the components and merges them
 *     back (each input position belongs to exactly one component).
 *   - rows: everything else (1x1 stride 2, unpadded), output row by output row.
 *
 * With AVX-512 every 16 outputs are one masked load and one store: the mask
 * keeps exactly the in-range positions, so zeros, wrapped positions and the
 * image border cost nothing extra (masked-off lanes are neither read nor
 * faulted on).  Stride 2 loads a 32-float window and keeps its even lanes.
 * Masks are precomputed per tap.  Masked stores are never issued with an empty
 * mask: on this CPU (Zen 5, in a VM) such a store takes ~160 ns.  Without
 * AVX-512, for strides above 2 or rows wider than 64, portable loops do the
 * same work.
 */
#include "kernels/im2col.h"
#include "kernels/masked.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define IM2COL_AVX512 1
#else
#define IM2COL_AVX512 0
#endif

enum { ROW_CHUNKS = 4 }; /* rows layout: masks kept for rows of up to 4·16 outputs */

typedef enum layout { LAYOUT_ROWS, LAYOUT_PLANE, LAYOUT_PHASES } layout;

/* Where the plane and phases layouts read: per channel one plane (the input
   channel itself) or four (the polyphase components, in the scratch). */
typedef struct planes {
    layout lay;
    int hh;       /* phases: rows of a component, (H + 1) / 2 */
    long size;    /* floats of one plane: H·W, or hh·Q */
    long cstride; /* floats from one channel's planes to the next: H·W, or 4·hh·Q */
} planes;

/* One tap (r,s) of a band of output rows [p0, p1); the same for every channel. */
typedef struct tap {
    int a, b;       /* valid output rows, clipped to the band */
    int q_lo, q_hi; /* valid output columns */
    long off;       /* plane, phases: index in its plane of output (p0, 0), wrapped
                       positions included; rows: input column of output column 0 */
    long plane;     /* phases: offset of the tap's component among its channel's four */
    /* rows layout, AVX-512: per 16-output chunk k of a row, the valid outputs
       (keep) and the lanes of the input window to load (w0, w1: the 32-float
       window of stride 2; for stride 1 w0 == keep) */
    uint16_t keep[ROW_CHUNKS], w0[ROW_CHUNKS], w1[ROW_CHUNKS];
} tap;

/* Outputs o in [0, n_out) whose input index o·st − pad + off lies in [0, n_in):
   the interval [*lo, *hi) (empty as lo == hi). */
static void valid_range(int n_out, int n_in, int st, int pad, int off, int *lo, int *hi)
{
    const int a = pad - off, b = n_in + pad - off; /* need a <= o·st < b */
    int l = a <= 0 ? 0 : (a + st - 1) / st;
    int h = b <= 0 ? 0 : (b + st - 1) / st;
    l = l < n_out ? l : n_out;
    h = h < n_out ? h : n_out;
    *lo = l;
    *hi = h > l ? h : l;
}

static inline long clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline int floor_half(int u)
{
    return (u - (u & 1)) / 2;
}

/* Bits i of a 16-lane mask with lo <= base + i < hi. */
static inline uint16_t range_mask(long base, long lo, long hi)
{
    const long l = clamp(lo - base, 0, 16), h = clamp(hi - base, 0, 16);
    return (uint16_t)(((1u << h) - 1) & ~((1u << l) - 1));
}

/* p + i where i may point outside p's array: only positions that a mask or a
   range keeps in bounds are ever accessed through the result.  (Forming such a
   pointer by ordinary arithmetic is undefined in C, hence uintptr_t.) */
static inline float *shift(const float *p, long i)
{
    return (float *)((uintptr_t)p + (uintptr_t)i * sizeof *p);
}

static planes make_planes(const conv_shape *cs)
{
    const int Q = conv_out_w(cs);
    planes pl = {LAYOUT_ROWS, 0, (long)cs->h * cs->w, (long)cs->h * cs->w};
    if (cs->stride == 1 && Q == cs->w) {
        pl.lay = LAYOUT_PLANE;
    } else if (cs->stride == 2 && cs->r * cs->s > 1 && (cs->w + 1) / 2 <= Q) {
        pl.lay = LAYOUT_PHASES;
        pl.hh = (cs->h + 1) / 2;
        pl.size = (long)pl.hh * Q;
        pl.cstride = 4 * pl.size;
    }
    return pl;
}

size_t im2col_scratch_floats(const conv_shape *cs)
{
    const planes pl = make_planes(cs);
    return pl.lay == LAYOUT_PHASES ? (size_t)cs->c * pl.cstride : 0;
}

/* taps[r·S + s] for band [p0, p1): their divisions, done per channel, would
   cost more than a short tap's copy. */
static void make_taps(const conv_shape *cs, const planes *pl, int p0, int p1, tap taps[])
{
    const int P = conv_out_h(cs), Q = conv_out_w(cs), st = cs->stride, pad = cs->pad;
    for (int r = 0; r < cs->r; r++) {
        int p_lo, p_hi;
        valid_range(P, cs->h, st, pad, r, &p_lo, &p_hi);
        for (int s = 0; s < cs->s; s++) {
            tap *t = &taps[r * cs->s + s];
            t->a = (int)clamp(p_lo, p0, p1);
            t->b = (int)clamp(p_hi, t->a, p1);
            valid_range(Q, cs->w, st, pad, s, &t->q_lo, &t->q_hi);
            t->plane = 0;
            if (pl->lay == LAYOUT_PLANE) {
                t->off = (long)(p0 - pad + r) * cs->w + (s - pad);
            } else if (pl->lay == LAYOUT_PHASES) {
                const int u = r - pad, v = s - pad; /* = 2·di + a, 2·dj + b */
                t->off = (long)(p0 + floor_half(u)) * Q + floor_half(v);
                t->plane = ((u & 1) * 2 + (v & 1)) * pl->size;
            } else {
                t->off = s - pad;
            }
            for (int k = 0; k < ROW_CHUNKS; k++) {
                const int q0 = 16 * k;
                t->keep[k] = range_mask(q0, t->q_lo, t->q_hi);
                /* window lanes 2i for kept i, and the odd lanes between them
                   (in range too, lying between two in-range positions) */
                const long l = 2L * (t->q_lo - q0), h = t->keep[k] ? 2L * (t->q_hi - q0) - 1 : 0;
                t->w0[k] = st == 1 ? t->keep[k] : range_mask(0, l, h);
                t->w1[k] = st == 1 ? 0 : range_mask(16, l, h);
            }
        }
    }
}

/* masks[r·S + s][k]: the in-range outputs among band columns 16k .. 16k + 15
   of each tap, for the plane layouts (output row in [a, b), output column
   in [q_lo, q_hi)).  Precomputed so that each chunk costs one masked load. */
static void plane_masks(const conv_shape *cs, const tap taps[], int p0, int cols, int nvec,
                        uint16_t masks[][nvec])
{
    const int Q = conv_out_w(cs);
    for (int s = 0; s < cs->s; s++) {
        const tap *t0 = &taps[s]; /* the columns are the same for every r */
        uint16_t colbits[nvec];
        for (int k = 0, q = 0; k < nvec; k++) {
            unsigned m = 0;
            for (int i = 0; i < 16; i++, q = q + 1 == Q ? 0 : q + 1)
                m |= (unsigned)(q >= t0->q_lo && q < t0->q_hi) << i;
            colbits[k] = (uint16_t)(m & range_mask(16L * k, 0, cols));
        }
        for (int r = 0; r < cs->r; r++) {
            const tap *t = &taps[r * cs->s + s];
            const long lo = (long)(t->a - p0) * Q, hi = (long)(t->b - p0) * Q;
            for (int k = 0; k < nvec; k++)
                masks[r * cs->s + s][k] = colbits[k] & range_mask(16L * k, lo, hi);
        }
    }
}

/* Component rows [*i0, *i1) that the taps of band [p0, p1) read. */
static void phase_rows(const conv_shape *cs, const planes *pl, int p0, int p1, int *i0, int *i1)
{
    *i0 = (int)clamp(p0 + floor_half(-cs->pad), 0, pl->hh);
    *i1 = (int)clamp(p1 + floor_half(cs->r - 1 - cs->pad), *i0, pl->hh);
}

/* Masks of chunk j (component columns 16j .. 16j + 15) for splitting a row
   into its components and merging them back; the same for every row. */
typedef struct phase_masks {
    uint16_t lo, hi;    /* the row's 32-float window: columns < W */
    uint16_t out;       /* component columns < Q */
    uint16_t even, odd; /* component columns that exist: 2j + b < W */
} phase_masks;

static void make_phase_masks(int W, int Q, phase_masks pm[])
{
    for (int k = 0; 16 * k < Q; k++) {
        const long j = 16L * k;
        pm[k] = (phase_masks){range_mask(2 * j, 0, W), range_mask(2 * j + 16, 0, W), range_mask(j, 0, Q),
                              range_mask(j, 0, (W + 1) / 2), range_mask(j, 0, W / 2)};
    }
}

/* ---- portable loops ------------------------------------------------------ */

#if !IM2COL_AVX512 /* (with AVX-512 the plane layouts are always vectorised) */
/* Zero columns [0, q_lo) and [q_hi, Q) of `rows` consecutive rows of length Q. */
static void zero_edges(float *d, int rows, int Q, int q_lo, int q_hi)
{
    if (q_lo == 0 && q_hi == Q)
        return;
    for (int i = 0; i < rows; i++, d += Q) {
        for (int q = 0; q < q_lo; q++)
            d[q] = 0.0f;
        for (int q = q_hi; q < Q; q++)
            d[q] = 0.0f;
    }
}

/* Plane layouts, the whole band.  The run is clipped to the plane [0, size):
   what is clipped only ever lands on wrapped positions, zeroed after. */
static void lower_plane_portable(const tap *t, int p0, int p1, int Q, long size, const float *xc, float *d)
{
    memset(d, 0, sizeof *d * (size_t)(t->a - p0) * Q);
    memset(d + (size_t)(t->b - p0) * Q, 0, sizeof *d * (size_t)(p1 - t->b) * Q);
    float *dv = d + (size_t)(t->a - p0) * Q;
    const long i0 = t->off + (long)(t->a - p0) * Q, n = (long)(t->b - t->a) * Q;
    const long j0 = clamp(-i0, 0, n), j1 = clamp(size - i0, j0, n);
    for (long j = j0; j < j1; j++)
        dv[j] = xc[i0 + j];
    zero_edges(dv, t->b - t->a, Q, t->q_lo, t->q_hi);
}

/* Plane layouts, col2im: wrapped entries are zeroed in col (they belong to no
   input position), then the whole run is added: adding 0 changes no value. */
static void col2im_plane_portable(const tap *t, int p0, int Q, long size, float *d, float *xc)
{
    float *dv = d + (size_t)(t->a - p0) * Q;
    zero_edges(dv, t->b - t->a, Q, t->q_lo, t->q_hi);
    const long i0 = t->off + (long)(t->a - p0) * Q, n = (long)(t->b - t->a) * Q;
    const long j0 = clamp(-i0, 0, n), j1 = clamp(size - i0, j0, n);
    for (long j = j0; j < j1; j++)
        xc[i0 + j] += dv[j];
}

/* even[j] = row[2j], odd[j] = row[2j + 1] for j < Q, zero past the row. */
static void split_row(const float *row, int W, int Q, const phase_masks *pm, float *even, float *odd)
{
    for (int j = 0; j < Q; j++) {
        even[j] = 2 * j < W ? row[2 * j] : 0.0f;
        odd[j] = 2 * j + 1 < W ? row[2 * j + 1] : 0.0f;
    }
}

/* row[2j] += even[j], row[2j + 1] += odd[j] within the row. */
static void merge_row(const float *even, const float *odd, int W, const phase_masks *pm, float *row)
{
    for (int j = 0; 2 * j < W; j++) {
        row[2 * j] += even[j];
        if (2 * j + 1 < W)
            row[2 * j + 1] += odd[j];
    }
}
#endif

/* Rows layout, one valid row: dp[q] = xr[q·st + off] in range, else 0. */
static void lower_row_portable(const tap *t, int Q, int st, const float *xr, float *dp)
{
    for (int q = 0; q < t->q_lo; q++)
        dp[q] = 0.0f;
    for (int q = t->q_lo; q < t->q_hi; q++)
        dp[q] = xr[q * st + t->off];
    for (int q = t->q_hi; q < Q; q++)
        dp[q] = 0.0f;
}

static void col2im_row_portable(const tap *t, int st, const float *dp, float *xr)
{
    for (int q = t->q_lo; q < t->q_hi; q++)
        xr[q * st + t->off] += dp[q];
}

/* ---- AVX-512 ------------------------------------------------------------- */
#if IM2COL_AVX512

/* Bit i of m (i < 8) moved to bit 2i: the even lanes of a stride-2 window. */
static inline __mmask16 spread_even(unsigned m)
{
    m = (m | m << 4) & 0x0F0F;
    m = (m | m << 2) & 0x3333;
    m = (m | m << 1) & 0x5555;
    return (__mmask16)m;
}

/* Lanes `keep` of v as columns j .. j + 15 of row `row` of the destination.
   In micro-panels the 16 columns may straddle two panels: the lanes past the
   first panel's row go to the same row of the next panel, pstride further on
   (less the 32 columns already passed). */
static inline void store_chunk(const im2col_dest *dst, size_t row, long j, __mmask16 keep, __m512 v)
{
    if (!dst->pstride) {
        float *d = dst->col + row * dst->ld + j;
        if (keep == 0xFFFF)
            _mm512_storeu_ps(d, v);
        else
            _mm512_mask_storeu_ps(d, keep, v);
        return;
    }
    const long c = dst->c0 + j;
    float *d = dst->col + (c / IM2COL_PANEL) * dst->pstride + (long)row * IM2COL_PANEL + c % IM2COL_PANEL;
    const long room = IM2COL_PANEL - c % IM2COL_PANEL; /* columns left in this panel */
    const __mmask16 here = room >= 16 ? keep : keep & (__mmask16)((1u << room) - 1);
    if (here == 0xFFFF)
        _mm512_storeu_ps(d, v);
    else if (here)
        _mm512_mask_storeu_ps(d, here, v);
    if (keep & ~here)
        _mm512_mask_storeu_ps(shift(d, dst->pstride - IM2COL_PANEL), keep & ~here, v);
}

/* Plane layouts, the whole band: chunk k is src[16k ..] under its mask. */
static void lower_plane_avx512(const tap *t, int cols, const uint16_t *mask, const float *xc,
                               const im2col_dest *dst, size_t row)
{
    const float *src = shift(xc, t->off);
    const int last = (cols - 1) / 16;
    for (int k = 0; k < last; k++)
        store_chunk(dst, row, 16L * k, 0xFFFF, load16_masked(mask[k], src + 16 * k));
    store_chunk(dst, row, 16L * last, range_mask(16L * last, 0, cols),
                load16_masked(mask[last], src + 16 * last));
}

static void col2im_plane_avx512(const tap *t, int p0, int Q, const uint16_t *mask, const float *d, float *xc)
{
    float *dst = shift(xc, t->off);
    const long lo = (long)(t->a - p0) * Q, hi = (long)(t->b - p0) * Q;
    for (long j = lo - lo % 16; j < hi; j += 16) {
        const __mmask16 keep = mask[j / 16];
        if (!keep)
            continue;
        const __m512 v =
            _mm512_add_ps(load16_masked(keep, dst + j), load16_masked(keep, d + j));
        _mm512_mask_storeu_ps(dst + j, keep, v);
    }
}

/* Rows layout, one valid row (Q <= 16·ROW_CHUNKS; stride 1 or 2). */
static void lower_row_avx512(const tap *t, int Q, int st, const float *xr, float *dp)
{
    const float *src = shift(xr, t->off);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int k = 0; 16 * k < Q; k++) {
        __m512 v;
        if (st == 1) {
            v = load16_masked(t->w0[k], src + 16 * k);
        } else {
            const __m512 lo = load16_masked(t->w0[k], src + 32 * k);
            const __m512 hi = load16_masked(t->w1[k], src + 32 * k + 16);
            v = _mm512_permutex2var_ps(lo, even, hi);
        }
        _mm512_mask_storeu_ps(dp + 16 * k, range_mask(16 * k, 0, Q), v);
    }
}

/* Rows layout, col2im of one valid row: stride 2 spreads each chunk over the
   even lanes of a 32-float window. */
static void col2im_row_avx512(const tap *t, int Q, int st, const float *dp, float *xr)
{
    float *dst = shift(xr, t->off);
    const __m512i lo_idx = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i hi_idx = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    for (int k = 0; 16 * k < Q; k++) {
        const __mmask16 keep = t->keep[k];
        if (!keep)
            continue;
        const __m512 v = load16_masked(keep, dp + 16 * k);
        if (st == 1) {
            float *w = dst + 16 * k;
            _mm512_mask_storeu_ps(w, keep, _mm512_add_ps(load16_masked(keep, w), v));
            continue;
        }
        float *w = dst + 32 * k;
        const __mmask16 e0 = spread_even(keep & 0xFF), e1 = spread_even(keep >> 8);
        if (e0)
            _mm512_mask_storeu_ps(
                w, e0, _mm512_add_ps(load16_masked(e0, w), _mm512_permutexvar_ps(lo_idx, v)));
        if (e1)
            _mm512_mask_storeu_ps(
                w + 16, e1,
                _mm512_add_ps(load16_masked(e1, w + 16), _mm512_permutexvar_ps(hi_idx, v)));
    }
}

/* even[j] = row[2j], odd[j] = row[2j + 1] for j < Q, zero past the row: each
   32-float window of the row yields 16 of each. */
static void split_row(const float *row, int W, int Q, const phase_masks *pm, float *even, float *odd)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int j = 0; j < Q; j += 16, pm++) {
        const __m512 lo = load16_masked(pm->lo, shift(row, 2L * j));
        const __m512 hi = load16_masked(pm->hi, shift(row, 2L * j + 16));
        _mm512_mask_storeu_ps(even + j, pm->out, _mm512_permutex2var_ps(lo, ev, hi));
        _mm512_mask_storeu_ps(odd + j, pm->out, _mm512_permutex2var_ps(lo, od, hi));
    }
}

/* row[2j] += even[j], row[2j + 1] += odd[j] within the row: 16 of each
   interleave into a 32-float window. */
static void merge_row(const float *even, const float *odd, int W, const phase_masks *pm, float *row)
{
    const __m512i il0 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i il1 = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int j = 0; 2 * j < W; j += 16, pm++) {
        const __m512 e = load16_masked(pm->even, even + j);
        const __m512 o = load16_masked(pm->odd, odd + j);
        const __mmask16 m0 = pm->lo, m1 = pm->hi;
        float *w = row + 2 * j;
        _mm512_mask_storeu_ps(w, m0,
                              _mm512_add_ps(load16_masked(m0, w), _mm512_permutex2var_ps(e, il0, o)));
        if (m1)
            _mm512_mask_storeu_ps(
                w + 16, m1,
                _mm512_add_ps(load16_masked(m1, w + 16), _mm512_permutex2var_ps(e, il1, o)));
    }
}
#endif /* IM2COL_AVX512 */

/* ---- dispatch: AVX-512 where this build and the shape allow ---------------- */

static void lower_plane(const tap *t, int p0, int p1, int Q, long size, const uint16_t *mask, const float *xc,
                        const im2col_dest *dst, size_t row)
{
#if IM2COL_AVX512
    lower_plane_avx512(t, (p1 - p0) * Q, mask, xc, dst, row);
#else
    lower_plane_portable(t, p0, p1, Q, size, xc, dst->col + row * dst->ld);
#endif
}

static void col2im_plane(const tap *t, int p0, int Q, long size, const uint16_t *mask, float *d, float *xc)
{
#if IM2COL_AVX512
    col2im_plane_avx512(t, p0, Q, mask, d, xc);
#else
    col2im_plane_portable(t, p0, Q, size, d, xc);
#endif
}

static void lower_row(const tap *t, int Q, int st, const float *xr, float *dp)
{
#if IM2COL_AVX512
    if (st <= 2 && Q <= 16 * ROW_CHUNKS) {
        lower_row_avx512(t, Q, st, xr, dp);
        return;
    }
#endif
    lower_row_portable(t, Q, st, xr, dp);
}

static void col2im_row(const tap *t, int Q, int st, const float *dp, float *xr)
{
#if IM2COL_AVX512
    if (st <= 2 && Q <= 16 * ROW_CHUNKS) {
        col2im_row_avx512(t, Q, st, dp, xr);
        return;
    }
#endif
    col2im_row_portable(t, st, dp, xr);
}

/* ---- polyphase components ------------------------------------------------ */

/* Component rows [i0, i1) of every channel: X_ab[i][j] = x_n[c][2i + a][2j + b]
   (zero for 2j + b >= W). */
static void split_phases(const conv_shape *cs, const planes *pl, const float *x_n, int i0, int i1, float *ph)
{
    const int Q = conv_out_w(cs);
    phase_masks pm[(Q + 15) / 16];
    make_phase_masks(cs->w, Q, pm);
    for (int c = 0; c < cs->c; c++)
        for (int a = 0; a < 2; a++)
            for (int i = i0; i < i1 && 2 * i + a < cs->h; i++) {
                float *even = ph + c * pl->cstride + (2 * a) * pl->size + (long)i * Q;
                split_row(x_n + ((size_t)c * cs->h + 2 * i + a) * cs->w, cs->w, Q, pm, even, even + pl->size);
            }
}

/* dx_n[c][2i + a][2j + b] += X_ab[i][j] for component rows [i0, i1). */
static void merge_phases(const conv_shape *cs, const planes *pl, const float *ph, int i0, int i1, float *dx_n)
{
    const int Q = conv_out_w(cs);
    phase_masks pm[(Q + 15) / 16];
    make_phase_masks(cs->w, Q, pm);
    for (int c = 0; c < cs->c; c++)
        for (int a = 0; a < 2; a++)
            for (int i = i0; i < i1 && 2 * i + a < cs->h; i++) {
                const float *even = ph + c * pl->cstride + (2 * a) * pl->size + (long)i * Q;
                merge_row(even, even + pl->size, cs->w, pm, dx_n + ((size_t)c * cs->h + 2 * i + a) * cs->w);
            }
}

/* ---- the two walks over the taps ----------------------------------------- */

bool im2col_panels_supported(const conv_shape *cs)
{
    return IM2COL_AVX512 && make_planes(cs).lay != LAYOUT_ROWS;
}

/* Micro-panels asked of a shape im2col_panels_supported() refuses: a bug in the
   caller (kernels/im2col_panels.c checks first), never bad input, so there is
   nothing to recover.  Kept in release builds, unlike an assert. */
static _Noreturn void panels_unsupported(const conv_shape *cs, const char *file, int line)
{
    char shape[96];
    fprintf(stderr, "%s:%d: internal error: micro-panels requested for shape %s, which cannot be lowered "
                    "into them; call im2col_panels_supported() first\n",
            file, line, conv_shape_str(cs, shape, sizeof shape));
    abort();
}

/* x_n[C][H][W] -> the band's columns of col (see im2col.h). */
void im2col_lower_to(const conv_shape *cs, const float *x_n, int p0, int p1, const im2col_dest *dst,
                     float *scratch)
{
    const int C = cs->c, W = cs->w, R = cs->r, S = cs->s, st = cs->stride, pad = cs->pad;
    const int Q = conv_out_w(cs);
    const planes pl = make_planes(cs);
    const int nvec = pl.lay != LAYOUT_ROWS ? ((p1 - p0) * Q + 15) / 16 : 1;
    tap taps[R * S];
    uint16_t masks[pl.lay != LAYOUT_ROWS ? R * S : 1][nvec]; /* R·S·cols/8 bytes: a few KB */
    if (dst->pstride && !im2col_panels_supported(cs))
        panels_unsupported(cs, __FILE__, __LINE__);
    make_taps(cs, &pl, p0, p1, taps);
    if (pl.lay != LAYOUT_ROWS)
        plane_masks(cs, taps, p0, (p1 - p0) * Q, nvec, masks);
    const float *src = x_n; /* the planes the plane layouts read */
    if (pl.lay == LAYOUT_PHASES) {
        int i0, i1;
        phase_rows(cs, &pl, p0, p1, &i0, &i1);
        split_phases(cs, &pl, x_n, i0, i1, scratch);
        src = scratch;
    }

    for (int c = 0; c < C; c++)
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++) {
                const tap *t = &taps[r * S + s];
                const size_t row = (size_t)((c * R + r) * S + s);
                if (pl.lay != LAYOUT_ROWS) {
                    lower_plane(t, p0, p1, Q, pl.size, masks[r * S + s], src + c * pl.cstride + t->plane, dst,
                                row);
                    continue;
                }
                float *d = dst->col + row * dst->ld; /* (panels never come here) */
                /* rows of the band above and below the image read as zero */
                memset(d, 0, sizeof *d * (size_t)(t->a - p0) * Q);
                memset(d + (size_t)(t->b - p0) * Q, 0, sizeof *d * (size_t)(p1 - t->b) * Q);
                const float *xc = x_n + c * pl.cstride;
                for (int p = t->a; p < t->b; p++)
                    lower_row(t, Q, st, xc + (size_t)(p * st - pad + r) * W, d + (size_t)(p - p0) * Q);
            }
}

void im2col_lower(const conv_shape *cs, const float *x_n, int p0, int p1, float *col, size_t ld,
                  float *scratch)
{
    const im2col_dest dst = {col, ld, 0, 0};
    im2col_lower_to(cs, x_n, p0, p1, &dst, scratch);
}

/* col[CRS][band] added into dx_n[C][H][W] (see im2col.h). */
void im2col_col2im_add(const conv_shape *cs, float *col, int p0, int p1, size_t ld, float *dx_n,
                       float *scratch)
{
    const int C = cs->c, W = cs->w, R = cs->r, S = cs->s, st = cs->stride, pad = cs->pad;
    const int Q = conv_out_w(cs);
    const planes pl = make_planes(cs);
    const int nvec = pl.lay != LAYOUT_ROWS ? ((p1 - p0) * Q + 15) / 16 : 1;
    tap taps[R * S];
    uint16_t masks[pl.lay != LAYOUT_ROWS ? R * S : 1][nvec];
    make_taps(cs, &pl, p0, p1, taps);
    if (pl.lay != LAYOUT_ROWS)
        plane_masks(cs, taps, p0, (p1 - p0) * Q, nvec, masks);
    float *dst = dx_n; /* the planes the plane layouts add into */
    int i0 = 0, i1 = 0;
    if (pl.lay == LAYOUT_PHASES) { /* accumulate in the components, from zero */
        phase_rows(cs, &pl, p0, p1, &i0, &i1);
        for (int c = 0; c < C; c++)
            for (int ab = 0; ab < 4; ab++)
                memset(scratch + c * pl.cstride + ab * pl.size + (long)i0 * Q, 0,
                       sizeof *scratch * (size_t)(i1 - i0) * Q);
        dst = scratch;
    }

    for (int c = 0; c < C; c++)
        for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++) {
                const tap *t = &taps[r * S + s];
                float *d = col + (size_t)((c * R + r) * S + s) * ld;
                if (t->a == t->b)
                    continue;
                if (pl.lay != LAYOUT_ROWS) {
                    col2im_plane(t, p0, Q, pl.size, masks[r * S + s], d, dst + c * pl.cstride + t->plane);
                    continue;
                }
                float *xc = dx_n + c * pl.cstride;
                for (int p = t->a; p < t->b; p++)
                    col2im_row(t, Q, st, d + (size_t)(p - p0) * Q, xc + (size_t)(p * st - pad + r) * W);
            }

    if (pl.lay == LAYOUT_PHASES)
        merge_phases(cs, &pl, scratch, i0, i1, dx_n);
}
