/* models/layer_pool.c — 2x2 max-pool, stride 2 (odd edges dropped).
 *
 * The forward pass records each window's winner (0..3, row-major) in
 * model.save, a byte per output, and the backward pass sends each gradient to
 * it: it never reads the input again, and a BN → ReLU → max-pool fusion can
 * send the gradient back without the ReLU's output (models/layers.h).
 *
 * The maximum of a window is taken in row-major order, a later value winning
 * only when it is greater (so the first of equal maxima wins, -0 and +0 keep
 * their order, and a NaN never replaces a number); the backward pass sends
 * each output's gradient to that first maximum.  Max and scatter do no
 * rounding, so the vector rows (16 outputs at a time with AVX-512, masked at a
 * row's end; 8 with AVX2, the rest of a row by the portable loop) and the
 * portable ones give the same bits, as tests/test_model.c checks.  The rows and
 * the plane functions are compiled twice, for AVX2 and for AVX-512 (the
 * Makefile's ISA_SRC, kernels/isa.h); the op and the dispatch, once.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/isa.h"
#include "kernels/masked.h"
#include "models/layers.h"

/* tests: the portable rows in every build and in both copies (one flag, defined once) */
extern bool pool_portable_rows;

/* The winner among a window's four values (row-major), by the rule above,
   written as selects rather than branches: no data-dependent branch mispredicts
   (the rows' tails, and the tests' reference). */
static inline float window_max(float a, float b, float c, float d, int *arg)
{
    float m = a;
    int w = 0;
    w = b > m ? 1 : w, m = b > m ? b : m;
    w = c > m ? 2 : w, m = c > m ? c : m;
    w = d > m ? 3 : w, m = d > m ? d : m;
    *arg = w;
    return m;
}

/* Outputs q0..q1-1 of one output row and their windows' winners, portably. */
static void row_fwd_portable(const float *r0, const float *r1, float *y, uint8_t *win, int q0, int q1)
{
    for (int q = q0; q < q1; q++) {
        int arg;
        y[q] = window_max(r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1], &arg);
        win[q] = (uint8_t)arg;
    }
}

/* The gradients of outputs q0..q1-1 into their winners; acc: added to what the
   rows hold (a non-winner keeps its value, -0 included), else the rows'
   2(q1-q0) values are written (0 + g, as an add to a zeroed row would give:
   -0 becomes +0). */
static void row_bwd_portable(const uint8_t *win, const float *dy, float *d0, float *d1, int q0, int q1, bool acc)
{
    for (int q = q0; q < q1; q++) {
        const int arg = win[q];
        const float g = dy[q];
        if (acc) {
            d0[2 * q] = arg == 0 ? d0[2 * q] + g : d0[2 * q];
            d0[2 * q + 1] = arg == 1 ? d0[2 * q + 1] + g : d0[2 * q + 1];
            d1[2 * q] = arg == 2 ? d1[2 * q] + g : d1[2 * q];
            d1[2 * q + 1] = arg == 3 ? d1[2 * q + 1] + g : d1[2 * q + 1];
        } else {
            const float w = 0.0f + g;
            d0[2 * q] = arg == 0 ? w : 0.0f;
            d0[2 * q + 1] = arg == 1 ? w : 0.0f;
            d1[2 * q] = arg == 2 ? w : 0.0f;
            d1[2 * q + 1] = arg == 3 ? w : 0.0f;
        }
    }
}

#if defined(__AVX512F__)
/* Columns 2q and 2q+1 of 16 windows: a row's 32 values split into even and odd. */
static inline void split_pairs(const float *row, int n, __m512 *even, __m512 *odd)
{
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int lo = 2 * n < 16 ? 2 * n : 16, hi = 2 * n - lo;
    const __m512 a = load16_masked((__mmask16)((1u << lo) - 1), row);
    const __m512 b = load16_masked((__mmask16)((1u << hi) - 1), row + 16);
    *even = _mm512_permutex2var_ps(a, ev, b);
    *odd = _mm512_permutex2var_ps(a, od, b);
}
/* Even and odd columns back into one row of 2n values (masks: which to write). */
static inline void store_pairs(float *row, int n, __m512 even, __m512 odd, __mmask16 m_even, __mmask16 m_odd,
                               bool acc)
{
    const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 lo = _mm512_permutex2var_ps(even, lo_idx, odd), hi = _mm512_permutex2var_ps(even, hi_idx, odd);
    const int n_lo = 2 * n < 16 ? 2 * n : 16, n_hi = 2 * n - n_lo;
    const __mmask16 keep_lo = (__mmask16)((1u << n_lo) - 1), keep_hi = (__mmask16)((1u << n_hi) - 1);
    /* the winners' positions, interleaved as the values are */
    const __mmask16 w_lo = (__mmask16)(_pdep_u32(m_even & 0xFFu, 0x5555u) | _pdep_u32(m_odd & 0xFFu, 0xAAAAu));
    const __mmask16 w_hi = (__mmask16)(_pdep_u32(m_even >> 8, 0x5555u) | _pdep_u32(m_odd >> 8, 0xAAAAu));
    if (acc) { /* add only where a winner is: a non-winner's -0 stays -0 */
        if (keep_lo & w_lo)
            _mm512_mask_storeu_ps(row, keep_lo & w_lo, _mm512_add_ps(load16_masked(keep_lo, row), lo));
        if (keep_hi & w_hi)
            _mm512_mask_storeu_ps(row + 16, keep_hi & w_hi, _mm512_add_ps(load16_masked(keep_hi, row + 16), hi));
        return;
    }
    const __m512 zero = _mm512_setzero_ps();
    _mm512_mask_storeu_ps(row, keep_lo, _mm512_add_ps(zero, _mm512_maskz_mov_ps(w_lo, lo)));
    if (keep_hi)
        _mm512_mask_storeu_ps(row + 16, keep_hi, _mm512_add_ps(zero, _mm512_maskz_mov_ps(w_hi, hi)));
}
static void row_fwd(const float *r0, const float *r1, float *y, uint8_t *win, int Q)
{
    for (int q = 0; q < Q; q += 16) {
        const int n = Q - q < 16 ? Q - q : 16;
        const __mmask16 keep = (__mmask16)((1u << n) - 1);
        __m512 a, b, c, d;
        split_pairs(r0 + 2 * q, n, &a, &b);
        split_pairs(r1 + 2 * q, n, &c, &d);
        /* x > m ? x : m, window by window: the portable rule, value and winner */
        const __mmask16 gb = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
        __m512 m = _mm512_mask_mov_ps(a, gb, b);
        const __mmask16 gc = _mm512_cmp_ps_mask(c, m, _CMP_GT_OQ);
        m = _mm512_mask_mov_ps(m, gc, c);
        const __mmask16 gd = _mm512_cmp_ps_mask(d, m, _CMP_GT_OQ);
        m = _mm512_mask_mov_ps(m, gd, d);
        _mm512_mask_storeu_ps(y + q, keep, m);
        __m512i w = _mm512_maskz_mov_epi32(gb, _mm512_set1_epi32(1));
        w = _mm512_mask_mov_epi32(w, gc, _mm512_set1_epi32(2));
        w = _mm512_mask_mov_epi32(w, gd, _mm512_set1_epi32(3));
        _mm_mask_storeu_epi8(win + q, keep, _mm512_cvtepi32_epi8(w));
    }
}
static void row_bwd(const uint8_t *win, const float *dy, float *d0, float *d1, int Q, bool acc)
{
    for (int q = 0; q < Q; q += 16) {
        const int n = Q - q < 16 ? Q - q : 16;
        const __mmask16 keep = (__mmask16)((1u << n) - 1);
        const __m512i w = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(keep, win + q));
        const __mmask16 wa = _mm512_cmpeq_epi32_mask(w, _mm512_setzero_si512());
        const __mmask16 wb = _mm512_cmpeq_epi32_mask(w, _mm512_set1_epi32(1));
        const __mmask16 wc = _mm512_cmpeq_epi32_mask(w, _mm512_set1_epi32(2));
        const __mmask16 wd = _mm512_cmpeq_epi32_mask(w, _mm512_set1_epi32(3));
        const __m512 g = load16_masked(keep, dy + q);
        store_pairs(d0 + 2 * q, n, g, g, wa, wb, acc);
        store_pairs(d1 + 2 * q, n, g, g, wc, wd, acc);
    }
}
#elif defined(__AVX2__)
/* Columns 2q and 2q+1 of 8 windows: a row's 16 values split into even and odd,
   each in order. */
static inline void split8(const float *row, __m256 *even, __m256 *odd)
{
    const __m256 a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
    /* per 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit pairs reordered */
    const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}
/* The inverse: 8 even and 8 odd columns into one row of 16, lo and hi halves. */
static inline void join8(__m256 even, __m256 odd, __m256 *lo, __m256 *hi)
{
    const __m256 l = _mm256_unpacklo_ps(even, odd), h = _mm256_unpackhi_ps(even, odd);
    *lo = _mm256_permute2f128_ps(l, h, 0x20);
    *hi = _mm256_permute2f128_ps(l, h, 0x31);
}
/* One half-row of 8 values given its winner mask and the interleaved gradient:
   written as 0 + g or 0 (acc: g added only where a winner is, so a non-winner's
   -0 stays -0), as the portable rows do. */
static inline void grad8(float *row, __m256 win, __m256 g, bool acc)
{
    const __m256 old = acc ? _mm256_loadu_ps(row) : _mm256_setzero_ps();
    _mm256_storeu_ps(row, acc ? _mm256_blendv_ps(old, _mm256_add_ps(old, g), win)
                              : _mm256_and_ps(win, _mm256_add_ps(old, g)));
}
/* 8 outputs at a time, the last Q mod 8 by the portable loop (max and the
   scatter round nothing, so both give the same bits). */
static void row_fwd(const float *r0, const float *r1, float *y, uint8_t *win, int Q)
{
    int q = 0;
    for (; q + 8 <= Q; q += 8) {
        __m256 a, b, c, d;
        split8(r0 + 2 * q, &a, &b);
        split8(r1 + 2 * q, &c, &d);
        /* x > m ? x : m, window by window: the portable rule, value and winner */
        const __m256 gb = _mm256_cmp_ps(b, a, _CMP_GT_OQ);
        __m256 m = _mm256_blendv_ps(a, b, gb);
        const __m256 gc = _mm256_cmp_ps(c, m, _CMP_GT_OQ);
        m = _mm256_blendv_ps(m, c, gc);
        const __m256 gd = _mm256_cmp_ps(d, m, _CMP_GT_OQ);
        _mm256_storeu_ps(y + q, _mm256_blendv_ps(m, d, gd));
        __m256i w = _mm256_and_si256(_mm256_castps_si256(gb), _mm256_set1_epi32(1));
        w = _mm256_blendv_epi8(w, _mm256_set1_epi32(2), _mm256_castps_si256(gc));
        w = _mm256_blendv_epi8(w, _mm256_set1_epi32(3), _mm256_castps_si256(gd));
        const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        _mm_storel_epi64((__m128i *)(win + q), _mm_packus_epi16(w16, w16));
    }
    row_fwd_portable(r0, r1, y, win, q, Q);
}
static void row_bwd(const uint8_t *win, const float *dy, float *d0, float *d1, int Q, bool acc)
{
    int q = 0;
    for (; q + 8 <= Q; q += 8) {
        const __m256i w = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(win + q)));
        const __m256 wa = _mm256_castsi256_ps(_mm256_cmpeq_epi32(w, _mm256_setzero_si256()));
        const __m256 wb = _mm256_castsi256_ps(_mm256_cmpeq_epi32(w, _mm256_set1_epi32(1)));
        const __m256 wc = _mm256_castsi256_ps(_mm256_cmpeq_epi32(w, _mm256_set1_epi32(2)));
        const __m256 wd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(w, _mm256_set1_epi32(3)));
        const __m256 g = _mm256_loadu_ps(dy + q);
        __m256 g_lo, g_hi, w_lo, w_hi;
        join8(g, g, &g_lo, &g_hi);
        join8(wa, wb, &w_lo, &w_hi);
        grad8(d0 + 2 * q, w_lo, g_lo, acc);
        grad8(d0 + 2 * q + 8, w_hi, g_hi, acc);
        join8(wc, wd, &w_lo, &w_hi);
        grad8(d1 + 2 * q, w_lo, g_lo, acc);
        grad8(d1 + 2 * q + 8, w_hi, g_hi, acc);
    }
    row_bwd_portable(win, dy, d0, d1, q, Q, acc);
}
#else
static void row_fwd(const float *r0, const float *r1, float *y, uint8_t *win, int Q)
{
    row_fwd_portable(r0, r1, y, win, 0, Q);
}
static void row_bwd(const uint8_t *win, const float *dy, float *d0, float *d1, int Q, bool acc)
{
    row_bwd_portable(win, dy, d0, d1, 0, Q, acc);
}
#endif

static void ISA_NAME(plane_forward)(const float *xp, int H, int W, float *yp, uint8_t *winner)
{
    const int P = H / 2, Q = W / 2;
    for (int p = 0; p < P; p++) {
        const float *r0 = xp + (size_t)2 * p * W;
        float *y = yp + (size_t)p * Q;
        uint8_t *win = winner + (size_t)p * Q;
        if (pool_portable_rows)
            row_fwd_portable(r0, r0 + W, y, win, 0, Q);
        else
            row_fwd(r0, r0 + W, y, win, Q);
    }
}

/* What an odd last row or column holds after the backward pass: untouched
   when accumulating, else zero (no window covers it). */
static void zero_dropped_edges(float *dxp, int H, int W)
{
    if (W % 2)
        for (int r = 0; r < H; r++)
            dxp[(size_t)r * W + W - 1] = 0.0f;
    if (H % 2)
        memset(dxp + (size_t)(H - 1) * W, 0, (size_t)W * sizeof *dxp);
}

static void ISA_NAME(plane_backward)(const uint8_t *winner, const float *dyp, int H, int W, float *dxp, bool acc)
{
    const int P = H / 2, Q = W / 2;
    for (int p = 0; p < P; p++) {
        const size_t r = (size_t)2 * p * W;
        const uint8_t *win = winner + (size_t)p * Q;
        if (pool_portable_rows)
            row_bwd_portable(win, dyp + (size_t)p * Q, dxp + r, dxp + r + W, 0, Q, acc);
        else
            row_bwd(win, dyp + (size_t)p * Q, dxp + r, dxp + r + W, Q, acc);
    }
    if (!acc)
        zero_dropped_edges(dxp, H, W);
}

static const maxpool_planes ISA_NAME(plane_pair) = { ISA_NAME(plane_forward), ISA_NAME(plane_backward) };
const maxpool_planes *ISA_NAME(maxpool_planes_of_isa)(void) { return &ISA_NAME(plane_pair); }

/* ---- once, in the default copy: the dispatch and the op --------------------------- */
#if !defined(PROBADOR_ISA_AVX512)
bool pool_portable_rows;
void pool_use_portable_rows(bool on) { pool_portable_rows = on; }

#if defined(PROBADOR_ISA_DISPATCH)
const maxpool_planes *maxpool_planes_of_isa_avx512(void);
#endif
const maxpool_planes *maxpool_planes_in_use(void) { return ISA_RUN(maxpool_planes_of_isa); }

static size_t none(const layer_spec *s, tshape in, tshape out) { return 0; }
static size_t pool_saved(const layer_spec *s, tshape in, tshape out, int b)
{
    return ((size_t)b * out.c * out.h * out.w + sizeof(float) - 1) / sizeof(float); /* a byte per output */
}
static double no_flops(const layer_spec *s, tshape in, tshape out) { return 0; }

static bool pool_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    if (in.h < 2 || in.w < 2) {
        snprintf(err, errlen, "layer '%s': 2x2 max-pool needs at least 2x2 input, got %dx%d", s->name, in.h, in.w);
        return false;
    }
    *out = (tshape){ in.c, in.h / 2, in.w / 2 };
    return true;
}

static void pool_fwd(model *m, layer *l, const model_step *st)
{
    const int planes = st->batch * l->in.c, H = l->in.h, W = l->in.w, P = l->out.h, Q = l->out.w;
    const float *x = layer_in(m, l);
    float *y = layer_out(m, l);
    uint8_t *winner = (uint8_t *)(m->save + l->save_off);
    const maxpool_planes *mp = maxpool_planes_in_use();
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++)
        mp->forward(x + (size_t)pl * H * W, H, W, y + (size_t)pl * P * Q, winner + (size_t)pl * P * Q);
}

static void pool_bwd(model *m, layer *l, const model_step *st)
{
    const int planes = st->batch * l->in.c, H = l->in.h, W = l->in.w, P = l->out.h, Q = l->out.w;
    const float *dy = layer_dout(m, l);
    const uint8_t *winner = (const uint8_t *)(m->save + l->save_off);
    float *dx = layer_din(m, l);
    const bool acc = l->acc_src;
    const maxpool_planes *mp = maxpool_planes_in_use();
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++)
        mp->backward(winner + (size_t)pl * P * Q, dy + (size_t)pl * P * Q, H, W, dx + (size_t)pl * H * W,
                               acc);
}

const op_def op_maxpool = { "maxpool", pool_out, none, none, pool_saved, no_flops, pool_fwd, pool_bwd };
#endif /* !PROBADOR_ISA_AVX512 */
