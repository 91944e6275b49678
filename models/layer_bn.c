/* models/layer_bn.c — batch normalisation over (N, H, W) per channel, alone or
 * fused with the ReLU that follows it (and the residual add between them).
 *
 * Training uses the batch's statistics (biased variance) and updates the
 * running ones with momentum 0.1 and the unbiased variance (PyTorch's
 * convention); evaluation uses the running statistics.  eps = 1e-5.
 * Parameters: gamma[C], beta[C]; state: running mean[C], running var[C];
 * saved: batch mean[C], 1/sqrt(var + eps)[C].
 *
 * The bits.  Every per-channel sum runs in 16 double lanes: element i of an
 * image's plane goes to lane i mod 16, images in order 0..N-1, then the lanes
 * are added in a fixed tree (lane_tree).  Every multiply-add is an explicit
 * fused one.  So the result is fixed by the shape: not by the thread count
 * (threads split channels, never one channel's sum) and not by how the
 * compiler would have vectorised a plain loop.  The lanes run as AVX-512
 * instructions in the AVX-512 build, as AVX2 ones (whole blocks of 16, the
 * plane's tail by the scalar loop) in the default x86-64-v3 build, and as a
 * scalar loop otherwise; all compute the same bits (tests/test_gradients.c
 * compares them).
 */
#include <math.h>
#include <stdio.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "models/layers.h"
#include "models/relu_mask.h"

enum { BN_STATE = 2, LANES = 16 };
static const double bn_eps = 1e-5, bn_momentum = 0.1;

static bool bn_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    *out = in;
    return true;
}
static size_t bn_params(const layer_spec *s, tshape in, tshape out) { return 2 * (size_t)in.c; }
static size_t bn_state(const layer_spec *s, tshape in, tshape out) { return BN_STATE * (size_t)in.c; }
static size_t bn_saved(const layer_spec *s, tshape in, tshape out, int b) { return 2 * (size_t)in.c; }
static double bn_flops(const layer_spec *s, tshape in, tshape out) { return 0; }

/* ---- one image's plane of one channel, in 16 lanes ---------------------------- */

/* The four plane operations.  `mask` (NULL without a fused ReLU) is the ReLU's
   (models/relu_mask.h): the gradient passes where it is set, as in the ReLU's
   own backward; normalise writes it. */
typedef struct bn_lanes {
    /* s[j] += x[i] - pilot, q[j] += (x[i] - pilot)² (one fma), j = i mod 16 */
    void (*moments)(const float *x, int hw, double pilot, double s[LANES], double q[LANES]);
    /* g = dy masked by mask; dskip = g (or += g); s[j] += g, p[j] += g·(x − mean) */
    void (*grad_sums)(const float *x, const float *dy, const uint16_t *mask, float *dskip, bool acc_skip,
                      double mean, int hw, double s[LANES], double p[LANES]);
    /* y = fma(x − mean, scale, beta) (+ skip) (then max(·, 0) and the mask, when mask) */
    void (*normalise)(const float *x, const float *skip, float *y, uint16_t *mask, float mean, float scale,
                      float beta, int hw);
    /* dx = k·((g − mdy) − x̂·mdx) (or dx + that, one fma), x̂ = (x − mean)·invstd */
    void (*input_grad)(const float *x, const float *dy, const uint16_t *mask, float *dx, bool acc,
                       const float coef[5], int hw);
} bn_lanes;
enum { COEF_MEAN, COEF_INVSTD, COEF_K, COEF_MDY, COEF_MDX };

static inline float relu_grad(float dy, const uint16_t *mask, int i)
{
    return mask && !relu_mask_bit(mask, i) ? 0.0f : dy;
}

static void moments_portable(const float *x, int hw, double pilot, double s[LANES], double q[LANES])
{
    for (int i = 0; i < hw; i++) {
        const double d = (double)x[i] - pilot;
        s[i % LANES] += d;
        q[i % LANES] = fma(d, d, q[i % LANES]);
    }
}

static void grad_sums_portable(const float *x, const float *dy, const uint16_t *mask, float *dskip, bool acc_skip,
                               double mean, int hw, double s[LANES], double p[LANES])
{
    for (int i = 0; i < hw; i++) {
        const float g = relu_grad(dy[i], mask, i);
        if (dskip)
            dskip[i] = acc_skip ? dskip[i] + g : g;
        s[i % LANES] += g;
        p[i % LANES] = fma(g, (double)x[i] - mean, p[i % LANES]);
    }
}

static void normalise_portable(const float *x, const float *skip, float *y, uint16_t *mask, float mean,
                               float scale, float beta, int hw)
{
    for (int i = 0; i < hw; i++) {
        float v = fmaf(x[i] - mean, scale, beta);
        if (skip)
            v += skip[i];
        y[i] = mask && !(v > 0.0f) ? 0.0f : v;
    }
    for (int i = 0; mask && i < hw; i += 16)
        mask[i / 16] = relu_mask_word(y + i, hw - i < 16 ? hw - i : 16);
}

static void input_grad_portable(const float *x, const float *dy, const uint16_t *mask, float *dx, bool acc,
                                const float coef[5], int hw)
{
    for (int i = 0; i < hw; i++) {
        const float xhat = (x[i] - coef[COEF_MEAN]) * coef[COEF_INVSTD];
        const float t = fmaf(-xhat, coef[COEF_MDX], relu_grad(dy[i], mask, i) - coef[COEF_MDY]);
        dx[i] = acc ? fmaf(coef[COEF_K], t, dx[i]) : coef[COEF_K] * t;
    }
}

static const bn_lanes lanes_portable = { moments_portable, grad_sums_portable, normalise_portable,
                                         input_grad_portable };

#ifdef __AVX512F__
/* The same operations, 16 floats (two halves of 8 doubles for the sums) at a
   time; a plane's tail is masked, so masked-out lanes are never touched. */
static inline __mmask8 mask8(int left) { return left >= 8 ? 0xff : left <= 0 ? 0 : (__mmask8)((1u << left) - 1); }
static inline __mmask16 mask16(int left)
{
    return left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

static inline void moments8(const float *x, __mmask8 m, __m512d pilot, __m512d *s, __m512d *q)
{
    const __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x)), pilot);
    *s = _mm512_mask_add_pd(*s, m, *s, d);
    *q = _mm512_mask3_fmadd_pd(d, d, *q, m);
}

static void moments_avx512(const float *x, int hw, double pilot, double s[LANES], double q[LANES])
{
    const __m512d k = _mm512_set1_pd(pilot);
    __m512d s0 = _mm512_loadu_pd(s), s1 = _mm512_loadu_pd(s + 8);
    __m512d q0 = _mm512_loadu_pd(q), q1 = _mm512_loadu_pd(q + 8);
    for (int i = 0; i < hw; i += LANES) {
        moments8(x + i, mask8(hw - i), k, &s0, &q0);
        moments8(x + i + 8, mask8(hw - i - 8), k, &s1, &q1);
    }
    _mm512_storeu_pd(s, s0), _mm512_storeu_pd(s + 8, s1);
    _mm512_storeu_pd(q, q0), _mm512_storeu_pd(q + 8, q1);
}

/* m: the plane's tail and, with a ReLU, its mask's bits: dy where both are set, else 0 */
static inline void grad_sums8(const float *x, const float *dy, float *dskip, bool acc_skip, __mmask8 m,
                              __mmask8 pass, __m512d mean, __m512d *s, __m512d *p)
{
    const __m256 g = _mm256_maskz_loadu_ps(m & pass, dy);
    if (dskip)
        _mm256_mask_storeu_ps(dskip, m, acc_skip ? _mm256_add_ps(_mm256_maskz_loadu_ps(m, dskip), g) : g);
    const __m512d gd = _mm512_cvtps_pd(g);
    const __m512d xc = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x)), mean);
    *s = _mm512_mask_add_pd(*s, m, *s, gd);
    *p = _mm512_mask3_fmadd_pd(gd, xc, *p, m);
}

static void grad_sums_avx512(const float *x, const float *dy, const uint16_t *mask, float *dskip, bool acc_skip,
                             double mean, int hw, double s[LANES], double p[LANES])
{
    const __m512d mu = _mm512_set1_pd(mean);
    __m512d s0 = _mm512_loadu_pd(s), s1 = _mm512_loadu_pd(s + 8);
    __m512d p0 = _mm512_loadu_pd(p), p1 = _mm512_loadu_pd(p + 8);
    for (int i = 0; i < hw; i += LANES) {
        const int j = i + 8;
        const unsigned pass = mask ? mask[i / LANES] : 0xffff;
        grad_sums8(x + i, dy + i, dskip ? dskip + i : NULL, acc_skip, mask8(hw - i), (__mmask8)pass, mu, &s0, &p0);
        grad_sums8(x + j, dy + j, dskip ? dskip + j : NULL, acc_skip, mask8(hw - j), (__mmask8)(pass >> 8), mu, &s1,
                   &p1);
    }
    _mm512_storeu_pd(s, s0), _mm512_storeu_pd(s + 8, s1);
    _mm512_storeu_pd(p, p0), _mm512_storeu_pd(p + 8, p1);
}

static void normalise_avx512(const float *x, const float *skip, float *y, uint16_t *mask, float mean,
                             float scale, float beta, int hw)
{
    const __m512 mu = _mm512_set1_ps(mean), sc = _mm512_set1_ps(scale), b = _mm512_set1_ps(beta);
    const __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < hw; i += LANES) {
        const __mmask16 m = mask16(hw - i);
        __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mu), sc, b);
        if (skip)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, skip + i));
        if (mask) { /* max(v, 0) gives the second operand, 0, for NaN: as v > 0 ? v : 0 */
            v = _mm512_max_ps(v, zero);
            mask[i / LANES] = (uint16_t)(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ) & m);
        }
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void input_grad_avx512(const float *x, const float *dy, const uint16_t *mask, float *dx, bool acc,
                              const float coef[5], int hw)
{
    const __m512 mean = _mm512_set1_ps(coef[COEF_MEAN]), invstd = _mm512_set1_ps(coef[COEF_INVSTD]);
    const __m512 k = _mm512_set1_ps(coef[COEF_K]), mdy = _mm512_set1_ps(coef[COEF_MDY]);
    const __m512 mdx = _mm512_set1_ps(coef[COEF_MDX]);
    for (int i = 0; i < hw; i += LANES) {
        const __mmask16 m = mask16(hw - i);
        const __m512 g = _mm512_maskz_loadu_ps(mask ? m & mask[i / LANES] : m, dy + i);
        const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mean), invstd);
        const __m512 t = _mm512_fnmadd_ps(xhat, mdx, _mm512_sub_ps(g, mdy));
        const __m512 out = acc ? _mm512_fmadd_ps(k, t, _mm512_maskz_loadu_ps(m, dx + i)) : _mm512_mul_ps(k, t);
        _mm512_mask_storeu_ps(dx + i, m, out);
    }
}

static const bn_lanes lanes_avx512 = { moments_avx512, grad_sums_avx512, normalise_avx512, input_grad_avx512 };
static const bn_lanes *lanes = &lanes_avx512;
#elif defined(__AVX2__) && defined(__FMA__)
/* The same operations on whole blocks of 16 elements (4 vectors of 4 double
   lanes for the sums, 2 of 8 floats otherwise, a mask word per block); a
   plane's last hw mod 16 elements go through the scalar loop, which puts them
   in the same lanes and mask bits because every block starts at a multiple of 16. */
static inline __m256 mask_bits8(unsigned bits) /* bit k of bits → lane k all ones */
{
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), sel), sel));
}

static inline __m256 relu_grad8(const float *dy, const uint16_t *mask, int h)
{
    const __m256 g = _mm256_loadu_ps(dy);
    return mask ? _mm256_and_ps(mask_bits8((*mask >> (8 * h)) & 0xffu), g) : g;
}

static void moments_avx2(const float *x, int hw, double pilot, double s[LANES], double q[LANES])
{
    const int whole = hw - hw % LANES;
    const __m256d k = _mm256_set1_pd(pilot);
    __m256d sv[4], qv[4];
    for (int j = 0; j < 4; j++)
        sv[j] = _mm256_loadu_pd(s + 4 * j), qv[j] = _mm256_loadu_pd(q + 4 * j);
    for (int i = 0; i < whole; i += LANES)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            const __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * j)), k);
            sv[j] = _mm256_add_pd(sv[j], d);
            qv[j] = _mm256_fmadd_pd(d, d, qv[j]);
        }
    for (int j = 0; j < 4; j++)
        _mm256_storeu_pd(s + 4 * j, sv[j]), _mm256_storeu_pd(q + 4 * j, qv[j]);
    moments_portable(x + whole, hw - whole, pilot, s, q);
}

static void grad_sums_avx2(const float *x, const float *dy, const uint16_t *mask, float *dskip, bool acc_skip,
                           double mean, int hw, double s[LANES], double p[LANES])
{
    const int whole = hw - hw % LANES;
    const __m256d mu = _mm256_set1_pd(mean);
    __m256d sv[4], pv[4];
    for (int j = 0; j < 4; j++)
        sv[j] = _mm256_loadu_pd(s + 4 * j), pv[j] = _mm256_loadu_pd(p + 4 * j);
    for (int i = 0; i < whole; i += LANES)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const int o = i + 8 * h;
            const __m256 g = relu_grad8(dy + o, mask ? mask + i / LANES : NULL, h);
            if (dskip)
                _mm256_storeu_ps(dskip + o, acc_skip ? _mm256_add_ps(_mm256_loadu_ps(dskip + o), g) : g);
            const __m256 xv = _mm256_loadu_ps(x + o);
            const __m256d g0 = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
            const __m256d g1 = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
            const __m256d x0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xv)), mu);
            const __m256d x1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1)), mu);
            sv[2 * h] = _mm256_add_pd(sv[2 * h], g0), sv[2 * h + 1] = _mm256_add_pd(sv[2 * h + 1], g1);
            pv[2 * h] = _mm256_fmadd_pd(g0, x0, pv[2 * h]), pv[2 * h + 1] = _mm256_fmadd_pd(g1, x1, pv[2 * h + 1]);
        }
    for (int j = 0; j < 4; j++)
        _mm256_storeu_pd(s + 4 * j, sv[j]), _mm256_storeu_pd(p + 4 * j, pv[j]);
    grad_sums_portable(x + whole, dy + whole, mask ? mask + whole / LANES : NULL, dskip ? dskip + whole : NULL,
                       acc_skip, mean, hw - whole, s, p);
}

static void normalise_avx2(const float *x, const float *skip, float *y, uint16_t *mask, float mean, float scale,
                           float beta, int hw)
{
    const int whole = hw - hw % LANES;
    const __m256 mu = _mm256_set1_ps(mean), sc = _mm256_set1_ps(scale), b = _mm256_set1_ps(beta);
    const __m256 zero = _mm256_setzero_ps();
    for (int i = 0; i < whole; i += LANES) {
        unsigned bits = 0;
        for (int h = 0; h < 2; h++) {
            const int o = i + 8 * h;
            __m256 v = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + o), mu), sc, b);
            if (skip)
                v = _mm256_add_ps(v, _mm256_loadu_ps(skip + o));
            if (mask) { /* max(v, 0) gives the second operand, 0, for NaN and -0: as v > 0 ? v : 0 */
                v = _mm256_max_ps(v, zero);
                bits |= (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ)) << (8 * h);
            }
            _mm256_storeu_ps(y + o, v);
        }
        if (mask)
            mask[i / LANES] = (uint16_t)bits;
    }
    normalise_portable(x + whole, skip ? skip + whole : NULL, y + whole, mask ? mask + whole / LANES : NULL, mean,
                       scale, beta, hw - whole);
}

static void input_grad_avx2(const float *x, const float *dy, const uint16_t *mask, float *dx, bool acc,
                            const float coef[5], int hw)
{
    const int whole = hw - hw % LANES;
    const __m256 mean = _mm256_set1_ps(coef[COEF_MEAN]), invstd = _mm256_set1_ps(coef[COEF_INVSTD]);
    const __m256 k = _mm256_set1_ps(coef[COEF_K]), mdy = _mm256_set1_ps(coef[COEF_MDY]);
    const __m256 mdx = _mm256_set1_ps(coef[COEF_MDX]);
    for (int i = 0; i < whole; i += LANES)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const int o = i + 8 * h;
            const __m256 g = relu_grad8(dy + o, mask ? mask + i / LANES : NULL, h);
            const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + o), mean), invstd);
            const __m256 t = _mm256_fnmadd_ps(xhat, mdx, _mm256_sub_ps(g, mdy));
            _mm256_storeu_ps(dx + o, acc ? _mm256_fmadd_ps(k, t, _mm256_loadu_ps(dx + o)) : _mm256_mul_ps(k, t));
        }
    input_grad_portable(x + whole, dy + whole, mask ? mask + whole / LANES : NULL, dx + whole, acc, coef,
                        hw - whole);
}

static const bn_lanes lanes_avx2 = { moments_avx2, grad_sums_avx2, normalise_avx2, input_grad_avx2 };
static const bn_lanes *lanes = &lanes_avx2;
#else
static const bn_lanes *lanes = &lanes_portable;
#endif

void bn_use_portable_lanes(bool portable)
{
#ifdef __AVX512F__
    lanes = portable ? &lanes_portable : &lanes_avx512;
#elif defined(__AVX2__) && defined(__FMA__)
    lanes = portable ? &lanes_portable : &lanes_avx2;
#else
    (void)portable;
#endif
}

/* The 16 lanes' total: pairs (j, j + 8), then (j, j + 4), ... */
static double lane_tree(double v[LANES])
{
    for (int width = LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++)
            v[j] += v[j + width];
    return v[0];
}

/* ---- whole channels --------------------------------------------------------------- */

/* What one BN pass reads and writes.  Unfused: x → y, dy → dx.  Fused with
   its ReLU (and an add): y is the ReLU's output, mask its mask, dy its
   gradient, skip the add's other input and dskip that input's gradient. */
typedef struct bn_io {
    const float *x, *skip; /* skip: NULL without a residual add */
    float *y;
    uint16_t *mask;        /* NULL without a ReLU; planes of relu_mask_words(HW) */
    const float *dy;
    float *dx, *dskip;
    bool acc_dx, acc_dskip; /* add to the gradient rather than overwrite it (layer.acc_src) */
    /* fused with a max-pool after the ReLU: its output, its windows' winners and
       its output's gradient (y and dy are then NULL: the ReLU's output is never
       in memory) */
    float *pooled;
    uint8_t *winner;
    const float *dpooled;
    const maxpool_planes *pool; /* the max-pool's plane functions (models/layers.h) */
} bn_io;

/* A channel's planes lie C·HW floats apart, each too short for the hardware
   prefetcher to pick up (a 7×7 plane is 4 cache lines): each loop over a
   channel's planes asks for the plane `ahead` images on (and, at image 0, for
   the first ones).  Memory traffic only: the arithmetic is untouched. */
static int planes_ahead(int HW)
{
    const int a = 4096 / (HW * (int)sizeof(float));
    return a < 2 ? 2 : a > 16 ? 16 : a;
}

static inline void prefetch_planes(const float *t, int n, int N, int C, int c, int HW, int ahead, bool write)
{
    if (!t)
        return;
    for (int k = n == 0 ? 0 : n + ahead; k <= n + ahead && k < N; k++) {
        const char *p = (const char *)(t + ((size_t)k * C + c) * HW);
        for (size_t b = 0; b < HW * sizeof(float); b += 64)
            write ? __builtin_prefetch(p + b, 1) : __builtin_prefetch(p + b, 0);
    }
}

/* The batch mean and biased variance of channel c, in one pass.  Precision:
   the sums are of d = x − pilot, pilot being the channel's first element;
   d is exact in double and d² rounds once (in the fma), so the errors are the
   additions', each lane's relative error below (N·HW/16)·2⁻⁵³ ≈ 7e-13 for
   resnet20's largest channel (128·784 values).  The variance Q/M − d̄² cancels by a factor
   Q/M / var = 1 + ((mean − pilot)/std)²: with the pilot a sample of the
   channel that stays far below the 1e4 that would cost float precision (an
   outlier pilot 100 standard deviations out costs a factor 1e4: 1e-8).  The
   test against the float64 reference uses mean 1e4 with std 1e-2. */
static void channel_moments(const float *x, int N, int C, int HW, int c, double *mean, double *var)
{
    const double pilot = x[(size_t)c * HW];
    double s[LANES] = { 0 }, q[LANES] = { 0 };
    const int ahead = planes_ahead(HW);
    for (int n = 0; n < N; n++) {
        prefetch_planes(x, n, N, C, c, HW, ahead, false);
        lanes->moments(x + ((size_t)n * C + c) * HW, HW, pilot, s, q);
    }
    const double M = (double)N * HW, d = lane_tree(s) / M;
    *mean = pilot + d;
    *var = fmax(fma(-d, d, lane_tree(q) / M), 0.0);
}

static void bn_forward_run(model *m, const layer *bn, const bn_io *io, const model_step *st)
{
    const int N = st->batch, C = bn->in.c, HW = bn->in.h * bn->in.w;
    const float *gamma = layer_params(m, bn), *beta = gamma + C;
    float *run_mean = m->state + bn->state_off, *run_var = run_mean + C;
    float *save_mean = m->save + bn->save_off, *save_invstd = save_mean + C;
    const double count = (double)N * HW;

    const size_t words = relu_mask_words(HW);
    const int ahead = planes_ahead(HW);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double mean = run_mean[c], var = run_var[c];
        if (st->train) {
            channel_moments(io->x, N, C, HW, c, &mean, &var);
            run_mean[c] = (float)((1 - bn_momentum) * run_mean[c] + bn_momentum * mean);
            run_var[c] = (float)((1 - bn_momentum) * run_var[c] +
                                 bn_momentum * (count > 1 ? var * count / (count - 1) : var));
        }
        const float invstd = (float)(1.0 / sqrt(var + bn_eps));
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
        /* (x − mean)·scale + beta rather than x·scale + shift: with a large
           mean, x·scale and shift are large and each rounding costs that size */
        const float scale = gamma[c] * invstd;
        float pool_in[BN_POOL_PLANE_MAX]; /* fused with a max-pool: one plane of the ReLU's output */
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            prefetch_planes(io->skip, n, N, C, c, HW, ahead, false);
            prefetch_planes(io->y, n, N, C, c, HW, ahead, true);
            lanes->normalise(io->x + o, io->skip ? io->skip + o : NULL, io->pooled ? pool_in : io->y + o,
                             io->mask ? io->mask + ((size_t)n * C + c) * words : NULL, (float)mean, scale, beta[c], HW);
            if (io->pooled) {
                const size_t po = ((size_t)n * C + c) * (bn->in.h / 2) * (bn->in.w / 2);
                io->pool->forward(pool_in, bn->in.h, bn->in.w, io->pooled + po, io->winner + po);
            }
        }
    }
}

/* dx = gamma·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  dgamma = Σ dy·x̂,  dbeta = Σ dy,
   with Σ dy·x̂ = invstd · Σ dy·(x − mean): one pass for both sums (which also
   writes the residual's gradient when fused), one for dx. */
/* Plane p of the gradient of the ReLU's output in the fused BN → ReLU → max-pool:
   what the pool's backward writes there (the lanes then mask it by the ReLU's). */
static void pooled_grad(const bn_io *io, const layer *bn, size_t p, float *g)
{
    const size_t pooled = (size_t)(bn->in.h / 2) * (bn->in.w / 2);
    io->pool->backward(io->winner + p * pooled, io->dpooled + p * pooled, bn->in.h, bn->in.w, g, false);
}

static void bn_backward_run(model *m, const layer *bn, const bn_io *io, const model_step *st)
{
    const int N = st->batch, C = bn->in.c, HW = bn->in.h * bn->in.w;
    const float *gamma = layer_params(m, bn), *save_mean = m->save + bn->save_off, *save_invstd = save_mean + C;
    float *dgamma = layer_grads(m, bn), *dbeta = dgamma + C;
    const size_t words = relu_mask_words(HW);
    const int ahead = planes_ahead(HW);
    const double count = (double)N * HW;

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float mean = save_mean[c], invstd = save_invstd[c];
        double s[LANES] = { 0 }, p[LANES] = { 0 };
        float pool_grad[BN_POOL_PLANE_MAX]; /* fused with a max-pool: the ReLU's output gradient, one plane */
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            const uint16_t *mask = io->mask ? io->mask + ((size_t)n * C + c) * words : NULL;
            prefetch_planes(io->x, n, N, C, c, HW, ahead, false);
            prefetch_planes(io->dy, n, N, C, c, HW, ahead, false);
            prefetch_planes(io->dskip, n, N, C, c, HW, ahead, true);
            if (io->dpooled) /* the pool's gradient, its winners' only: the ReLU's mask applies below */
                pooled_grad(io, bn, (size_t)n * C + c, pool_grad);
            lanes->grad_sums(io->x + o, io->dpooled ? pool_grad : io->dy + o, mask,
                             io->dskip ? io->dskip + o : NULL, io->acc_dskip, mean, HW, s, p);
        }
        const double sum_dy = lane_tree(s), sum_dy_xhat = lane_tree(p) * invstd;
        dgamma[c] = (float)sum_dy_xhat;
        dbeta[c] = (float)sum_dy;
        const float coef[5] = { [COEF_MEAN] = mean, [COEF_INVSTD] = invstd, [COEF_K] = gamma[c] * invstd,
                                [COEF_MDY] = (float)(sum_dy / count), [COEF_MDX] = (float)(sum_dy_xhat / count) };
        /* a residual gradient written (not added to) by the first pass is the
           masked gradient itself: one stream to read instead of two */
        const bool g_in_dskip = io->dskip && !io->acc_dskip;
        const float *g = g_in_dskip ? io->dskip : io->dy;
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            const uint16_t *mask = io->mask && !g_in_dskip ? io->mask + ((size_t)n * C + c) * words : NULL;
            prefetch_planes(io->dx, n, N, C, c, HW, ahead, true);
            if (io->dpooled)
                pooled_grad(io, bn, (size_t)n * C + c, pool_grad);
            lanes->input_grad(io->x + o, io->dpooled ? pool_grad : g + o, mask, io->dx + o, io->acc_dx, coef, HW);
        }
    }
}

static void bn_fwd(model *m, layer *l, const model_step *st)
{
    const bn_io io = { .x = layer_in(m, l), .y = layer_out(m, l) };
    bn_forward_run(m, l, &io, st);
}

static void bn_bwd(model *m, layer *l, const model_step *st)
{
    const bn_io io = { .x = layer_in(m, l), .dy = layer_dout(m, l), .dx = layer_din(m, l), .acc_dx = l->acc_src };
    bn_backward_run(m, l, &io, st);
}

const op_def op_bn = { "bn", bn_out, bn_params, bn_state, bn_saved, bn_flops, bn_fwd, bn_bwd };

/* ---- fused: BN → ReLU, BN → add → ReLU (models/layers.h) -------------------------- */

static bn_io fused_io(model *m, const layer *relu, const layer **bn)
{
    *bn = &m->layers[relu->fuse_bn];
    if (relu->fuse_pool >= 0) { /* the ReLU's output and its gradient stay out of memory */
        const layer *pool = &m->layers[relu->fuse_pool];
        return (bn_io){ .x = layer_in(m, *bn), .mask = (uint16_t *)(m->save + relu->save_off),
                        .dx = layer_din(m, *bn), .acc_dx = (*bn)->acc_src, .pooled = layer_out(m, pool),
                        .winner = (uint8_t *)(m->save + pool->save_off), .dpooled = layer_dout(m, pool),
                        .pool = maxpool_planes_in_use() };
    }
    bn_io io = { .x = layer_in(m, *bn), .y = layer_out(m, relu),
                 .mask = (uint16_t *)(m->save + relu->save_off), .dy = layer_dout(m, relu),
                 .dx = layer_din(m, *bn), .acc_dx = (*bn)->acc_src };
    if (relu->fuse_add >= 0) {
        const layer *add = &m->layers[relu->fuse_add];
        const bool bn_first = add->src == relu->fuse_bn;
        const int skip = bn_first ? add->src2 : add->src;
        io.skip = m->acts + m->layers[skip].act_off;
        io.dskip = m->dacts + m->layers[skip].act_off;
        io.acc_dskip = bn_first ? add->acc_src2 : add->acc_src;
    }
    return io;
}

void bn_fused_forward(model *m, layer *relu, const model_step *st)
{
    const layer *bn;
    const bn_io io = fused_io(m, relu, &bn);
    bn_forward_run(m, bn, &io, st);
}

void bn_fused_backward(model *m, layer *relu, const model_step *st)
{
    const layer *bn;
    const bn_io io = fused_io(m, relu, &bn);
    bn_backward_run(m, bn, &io, st);
}
