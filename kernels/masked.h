/* kernels/masked.h — masked vector loads that never take an empty mask.
 *
 * On one of our machines (AMD EPYC, Zen 5, in a VM; the ARCH=x86-64-v4 build) a masked load or store whose
 * mask is all zero costs about 150 ns (measured: 0.7 ns with any other mask),
 * presumably a microcode assist.  Padding rows, unused lanes and short rows
 * produce empty masks often, so every masked load in the kernels goes through
 * these, and masked stores test their mask first.
 */
#ifndef PROBADOR_KERNELS_MASKED_H
#define PROBADOR_KERNELS_MASKED_H

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __m512 load16_masked(__mmask16 m, const float *p)
{
    return m ? _mm512_maskz_loadu_ps(m, p) : _mm512_setzero_ps();
}

#if defined(__AVX512VL__)
static inline __m256 load8_masked(__mmask8 m, const float *p)
{
    return m ? _mm256_maskz_loadu_ps(m, p) : _mm256_setzero_ps();
}
#endif
#endif

#endif
