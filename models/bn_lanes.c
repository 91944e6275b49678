/* models/bn_lanes.c — batch normalisation's plane operations (models/bn_lanes.h),
 * portable, AVX-512 and AVX2; this file is compiled once per instruction set. */
#include "models/bn_lanes.h"

#include <math.h>
#include <stddef.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/isa.h"
#include "models/relu_mask.h"

/* tests: the scalar loop in every build (one flag, defined once) */
extern bool bn_portable_lanes;

static inline float relu_grad(float dy, const uint16_t *mask, int i)
{
    return mask && !relu_mask_bit(mask, i) ? 0.0f : dy;
}

static void moments_portable(const float *x, int hw, double pilot, double s[BN_LANES], double q[BN_LANES])
{
    for (int i = 0; i < hw; i++) {
        const double d = (double)x[i] - pilot;
        s[i % BN_LANES] += d;
        q[i % BN_LANES] = fma(d, d, q[i % BN_LANES]);
    }
}

static void grad_sums_portable(const float *x, const float *dy, const uint16_t *mask, float *dskip, bool acc_skip,
                               double mean, int hw, double s[BN_LANES], double p[BN_LANES])
{
    for (int i = 0; i < hw; i++) {
        const float g = relu_grad(dy[i], mask, i);
        if (dskip)
            dskip[i] = acc_skip ? dskip[i] + g : g;
        s[i % BN_LANES] += g;
        p[i % BN_LANES] = fma(g, (double)x[i] - mean, p[i % BN_LANES]);
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

/* (unused in the AVX-512 copy, whose tails are masked: the default copy serves the tests) */
__attribute__((unused)) static const bn_lanes lanes_portable = { moments_portable, grad_sums_portable, normalise_portable,
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

static void moments_avx512(const float *x, int hw, double pilot, double s[BN_LANES], double q[BN_LANES])
{
    const __m512d k = _mm512_set1_pd(pilot);
    __m512d s0 = _mm512_loadu_pd(s), s1 = _mm512_loadu_pd(s + 8);
    __m512d q0 = _mm512_loadu_pd(q), q1 = _mm512_loadu_pd(q + 8);
    for (int i = 0; i < hw; i += BN_LANES) {
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
                             double mean, int hw, double s[BN_LANES], double p[BN_LANES])
{
    const __m512d mu = _mm512_set1_pd(mean);
    __m512d s0 = _mm512_loadu_pd(s), s1 = _mm512_loadu_pd(s + 8);
    __m512d p0 = _mm512_loadu_pd(p), p1 = _mm512_loadu_pd(p + 8);
    for (int i = 0; i < hw; i += BN_LANES) {
        const int j = i + 8;
        const unsigned pass = mask ? mask[i / BN_LANES] : 0xffff;
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
    for (int i = 0; i < hw; i += BN_LANES) {
        const __mmask16 m = mask16(hw - i);
        __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mu), sc, b);
        if (skip)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, skip + i));
        if (mask) { /* max(v, 0) gives the second operand, 0, for NaN: as v > 0 ? v : 0 */
            v = _mm512_max_ps(v, zero);
            mask[i / BN_LANES] = (uint16_t)(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ) & m);
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
    for (int i = 0; i < hw; i += BN_LANES) {
        const __mmask16 m = mask16(hw - i);
        const __m512 g = _mm512_maskz_loadu_ps(mask ? m & mask[i / BN_LANES] : m, dy + i);
        const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mean), invstd);
        const __m512 t = _mm512_fnmadd_ps(xhat, mdx, _mm512_sub_ps(g, mdy));
        const __m512 out = acc ? _mm512_fmadd_ps(k, t, _mm512_maskz_loadu_ps(m, dx + i)) : _mm512_mul_ps(k, t);
        _mm512_mask_storeu_ps(dx + i, m, out);
    }
}

static const bn_lanes lanes_avx512 = { moments_avx512, grad_sums_avx512, normalise_avx512, input_grad_avx512 };
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

static void moments_avx2(const float *x, int hw, double pilot, double s[BN_LANES], double q[BN_LANES])
{
    const int whole = hw - hw % BN_LANES;
    const __m256d k = _mm256_set1_pd(pilot);
    __m256d sv[4], qv[4];
    for (int j = 0; j < 4; j++)
        sv[j] = _mm256_loadu_pd(s + 4 * j), qv[j] = _mm256_loadu_pd(q + 4 * j);
    for (int i = 0; i < whole; i += BN_LANES)
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
                           double mean, int hw, double s[BN_LANES], double p[BN_LANES])
{
    const int whole = hw - hw % BN_LANES;
    const __m256d mu = _mm256_set1_pd(mean);
    __m256d sv[4], pv[4];
    for (int j = 0; j < 4; j++)
        sv[j] = _mm256_loadu_pd(s + 4 * j), pv[j] = _mm256_loadu_pd(p + 4 * j);
    for (int i = 0; i < whole; i += BN_LANES)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const int o = i + 8 * h;
            const __m256 g = relu_grad8(dy + o, mask ? mask + i / BN_LANES : NULL, h);
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
    grad_sums_portable(x + whole, dy + whole, mask ? mask + whole / BN_LANES : NULL, dskip ? dskip + whole : NULL,
                       acc_skip, mean, hw - whole, s, p);
}

static void normalise_avx2(const float *x, const float *skip, float *y, uint16_t *mask, float mean, float scale,
                           float beta, int hw)
{
    const int whole = hw - hw % BN_LANES;
    const __m256 mu = _mm256_set1_ps(mean), sc = _mm256_set1_ps(scale), b = _mm256_set1_ps(beta);
    const __m256 zero = _mm256_setzero_ps();
    for (int i = 0; i < whole; i += BN_LANES) {
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
            mask[i / BN_LANES] = (uint16_t)bits;
    }
    normalise_portable(x + whole, skip ? skip + whole : NULL, y + whole, mask ? mask + whole / BN_LANES : NULL, mean,
                       scale, beta, hw - whole);
}

static void input_grad_avx2(const float *x, const float *dy, const uint16_t *mask, float *dx, bool acc,
                            const float coef[5], int hw)
{
    const int whole = hw - hw % BN_LANES;
    const __m256 mean = _mm256_set1_ps(coef[COEF_MEAN]), invstd = _mm256_set1_ps(coef[COEF_INVSTD]);
    const __m256 k = _mm256_set1_ps(coef[COEF_K]), mdy = _mm256_set1_ps(coef[COEF_MDY]);
    const __m256 mdx = _mm256_set1_ps(coef[COEF_MDX]);
    for (int i = 0; i < whole; i += BN_LANES)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const int o = i + 8 * h;
            const __m256 g = relu_grad8(dy + o, mask ? mask + i / BN_LANES : NULL, h);
            const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + o), mean), invstd);
            const __m256 t = _mm256_fnmadd_ps(xhat, mdx, _mm256_sub_ps(g, mdy));
            _mm256_storeu_ps(dx + o, acc ? _mm256_fmadd_ps(k, t, _mm256_loadu_ps(dx + o)) : _mm256_mul_ps(k, t));
        }
    input_grad_portable(x + whole, dy + whole, mask ? mask + whole / BN_LANES : NULL, dx + whole, acc, coef,
                        hw - whole);
}

static const bn_lanes lanes_avx2 = { moments_avx2, grad_sums_avx2, normalise_avx2, input_grad_avx2 };
#endif

#if defined(__AVX512F__)
const bn_lanes *ISA_NAME(bn_lanes_of_isa)(void) { return &lanes_avx512; }
#elif defined(__AVX2__) && defined(__FMA__)
const bn_lanes *ISA_NAME(bn_lanes_of_isa)(void) { return &lanes_avx2; }
#else
const bn_lanes *ISA_NAME(bn_lanes_of_isa)(void) { return &lanes_portable; }
#endif

/* ---- once, in the default copy: the choice ---------------------------------------- */
#if !defined(PROBADOR_ISA_AVX512)
bool bn_portable_lanes;
void bn_use_portable_lanes(bool portable) { bn_portable_lanes = portable; }

#if defined(PROBADOR_ISA_DISPATCH)
const bn_lanes *bn_lanes_of_isa_avx512(void);
#endif
const bn_lanes *bn_lanes_in_use(void)
{
    return bn_portable_lanes ? &lanes_portable : ISA_RUN(bn_lanes_of_isa);
}
#endif /* !PROBADOR_ISA_AVX512 */
