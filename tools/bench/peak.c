/* tools/bench/peak.c — measure the FMA peak: many independent chains of vector FMAs,
 * enough to cover the FMA latency on every pipe, never touching memory; in the vector
 * width the kernels run (AVX-512 when the default program dispatches to it). */
#include "tools/bench/peak.h"
#include "data/alloc.h"
#include "kernels/isa.h"
#include "models/train/timing.h"

#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <time.h>

enum { CHAINS = 16, ITERS = 4000000 };

/* One thread's chains; returns flops done.  `sink` keeps results alive. */
static double fma_chains(float seed, float *sink)
{
#if defined(__AVX512F__)
    typedef __m512 vec;
    enum { LANES = 16 };
#define VSET(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VSUM(v) _mm512_reduce_add_ps(v)
#elif defined(__AVX2__) && defined(__FMA__)
    typedef __m256 vec;
    enum { LANES = 8 };
#define VSET(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VSUM(v) (_mm256_cvtss_f32(v))
#else
    typedef float vec;
    enum { LANES = 1 };
#define VSET(x) (x)
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VSUM(v) (v)
#endif
    vec acc[CHAINS];
    const vec a = VSET(0.999999f), b = VSET(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = VSET(seed + (float)i);
    for (long it = 0; it < ITERS; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = VFMA(acc[i], a, b);
    float s = 0;
    for (int i = 0; i < CHAINS; i++)
        s += VSUM(acc[i]);
    *sink += s;
    return 2.0 * LANES * CHAINS * (double)ITERS;
}

#if defined(PROBADOR_ISA_DISPATCH)
/* The same chains in AVX-512, for a default program whose kernels run their
   AVX-512 copy (kernels/isa.h): the peak of the instructions that run. */
__attribute__((target("avx512f"))) static double fma_chains_avx512(float seed, float *sink)
{
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps(seed + (float)i);
    for (long it = 0; it < ITERS; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    float s = 0;
    for (int i = 0; i < CHAINS; i++)
        s += _mm512_reduce_add_ps(acc[i]);
    *sink += s;
    return 2.0 * 16 * CHAINS * (double)ITERS;
}
#endif

double peak_fma_gflops(int threads, int reps)
{
    double (*chains)(float, float *) = fma_chains;
#if defined(PROBADOR_ISA_DISPATCH)
    if (isa_avx512())
        chains = fma_chains_avx512;
#endif
    double *rates = checked_calloc((size_t)reps, sizeof *rates);
    static float sink;
    for (int r = 0; r < reps; r++) {
        double flops = 0;
        double t0 = timing_seconds(CLOCK_MONOTONIC);
#pragma omp parallel num_threads(threads) reduction(+ : flops)
        {
            float local = 0;
            flops += chains((float)omp_get_thread_num(), &local);
#pragma omp atomic
            sink += local;
        }
        rates[r] = flops / (timing_seconds(CLOCK_MONOTONIC) - t0) / 1e9;
    }
    const double median = timing_median(rates, reps);
    free(rates);
    return median;
}
