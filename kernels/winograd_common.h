/* kernels/winograd_common.h — what the two Winograd files share: address and layout
 * helpers, the 16x8 transpose of the gathers, the |weights| of the error models, and
 * the entry points of backward_weights (kernels/winograd_bw.c), which
 * kernels/conv_winograd.c wires into its two kernels.  Internal to kernels/.
 */
#ifndef PROBADOR_KERNELS_WINOGRAD_COMMON_H
#define PROBADOR_KERNELS_WINOGRAD_COMMON_H

#include "kernels/conv.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#define WINO_AVX512 1
#include <immintrin.h>
#elif defined(__AVX2__) && defined(__FMA__)
#define WINO_AVX2 1
#include <immintrin.h>
#endif

/* Distance between the alpha² positions of one tile in V or M: `floats` rounded up to
   an odd number of 64-byte lines, so that the 36 (or 16) values of a tile fall in
   different L1 sets (CI·BT floats is a multiple of 3·16, often of 2048 bytes, which
   would put them all in 2 sets). */
static inline size_t wino_pos_stride(size_t floats)
{
    size_t lines = (floats + 15) / 16;
    return (lines | 1) * 16;
}

/* base + off floats, as an address only (off may leave the array: the masked accesses
   that use it keep every access inside, and it is never dereferenced here). */
static inline const float *wino_at(const float *base, ptrdiff_t off)
{
    return (const float *)((uintptr_t)base + (uintptr_t)(off * (ptrdiff_t)sizeof(float)));
}

#if defined(WINO_AVX512)
/* Transpose 16 rows of 8 floats (row l in rows[l]) into 8 columns of 16 lanes;
   only the first `cols` columns are produced. */
static inline void wino_transpose_16x8(const __m256 rows[16], __m512 *col, int cols)
{
    __m512 z[8], t[8], s[8];
    for (int i = 0; i < 8; i++) /* lanes 0..7 hold tile i, lanes 8..15 tile i+8 */
        z[i] = _mm512_insertf32x8(_mm512_castps256_ps512(rows[i]), rows[i + 8], 1);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_ps(z[i], z[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(z[i], z[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        s[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        s[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    /* column j < 4 takes 128-bit block 0 (and 2) of s[j] and s[j+4]; j ≥ 4 blocks 1 and 3 */
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    const __m512i hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int j = 0; j < cols; j++)
        col[j] = _mm512_permutex2var_ps(s[j & 3], j < 4 ? lo : hi, s[(j & 3) + 4]);
}
#endif

#if defined(WINO_AVX2)
/* The 8 floats at p whose bit is set in `bits` (0 elsewhere); no access at all
   for an empty mask, and none outside the set bits. */
static inline __m256 wino_load8_bits(unsigned bits, const float *p)
{
    if (!bits)
        return _mm256_setzero_ps();
    if (bits == 0xFF)
        return _mm256_loadu_ps(p);
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i m = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), sel), sel);
    return _mm256_maskload_ps(p, m);
}

/* r[i] lane j becomes r[j] lane i (an 8x8 transpose). */
static inline void wino_transpose_8x8(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(s[j], s[j + 4], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(s[j], s[j + 4], 0x31);
    }
}
#endif

/* |weight| with which filter tap r and window element p enter output i of a tile,
   in one dimension: W_i(r, p) = Σ_a |Aᵀ[i][a]|·|G[a][r]|·|Bᵀ[a][p]|, from the matrices
   of kernels/winograd_transforms.h in absolute value, as the error bounds need them. */
static inline double wino_abs_weight(int m, int i, int r, int p)
{
    static const double bt4[6][6] = {{4, 0, 5, 0, 1, 0}, {0, 4, 4, 1, 1, 0}, {0, 4, 4, 1, 1, 0},
                                     {0, 2, 1, 2, 1, 0}, {0, 2, 1, 2, 1, 0}, {0, 4, 0, 5, 0, 1}};
    static const double g4[6][3] = {{1.0 / 4, 0, 0},
                                    {1.0 / 6, 1.0 / 6, 1.0 / 6},
                                    {1.0 / 6, 1.0 / 6, 1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    static const double at4[4][6] = {
        {1, 1, 1, 1, 1, 0}, {0, 1, 1, 2, 2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, 1, 8, 8, 1}};
    static const double bt2[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};
    static const double g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {0, 0, 1}};
    static const double at2[2][4] = {{1, 1, 1, 0}, {0, 1, 1, 1}};
    double w = 0;
    for (int a = 0; a < m + 2; a++)
        w += m == 4 ? at4[i][a] * g4[a][r] * bt4[a][p] : at2[i][a] * g2[a][r] * bt2[a][p];
    return w;
}

/* ---- backward_weights (kernels/winograd_bw.c), m = 4 (F4) or 2 (F2) ---------------- */
/* 3x3, stride 1, padding 0..2, C ≥ 2 and every weight summing ≥ 3 products. */
bool wino_bw_supports(const conv_shape *cs);
size_t wino_bw_workspace(const conv_shape *cs, int m);
/* x[N][C][H][W], dy[N][K][P][Q] -> dw[K][C][3][3] */
void wino_bw_run(const conv_shape *cs, int m, const float *x, const float *dy, float *dw, void *ws);
/* its engine, one copy per instruction set (kernels/isa.h); wino_bw_run picks one */
void wino_bw_compute(const conv_shape *cs, int m, const float *x, const float *dy, float *dw, void *ws);
void wino_bw_compute_avx512(const conv_shape *cs, int m, const float *x, const float *dy, float *dw, void *ws);
double wino_bw_tolerance(const conv_shape *cs, int m);

#endif
