/* kernels/isa.c — which copy of the dispatched kernels runs (kernels/isa.h). */
#include "kernels/isa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/* Whether this program holds AVX-512 code at all, and whether it may run it here. */
static bool avx512_available(void)
{
#if defined(__AVX512F__) || defined(PROBADOR_ISA_DISPATCH)
    return cpu_has_avx512();
#else
    return false;
#endif
}

#if !defined(__AVX512F__) /* the x86-64-v4 build has one copy: nothing to choose */
/* −1 until first asked; then 0 (AVX2 copies) or 1 (AVX-512).  Every caller computes
   the same value, so a race between two first callers is harmless. */
static int chosen = -1;

static int choose(void)
{
    const char *want = getenv("PROBADOR_ISA");
    if (want && strcmp(want, "avx2") == 0)
        return 0;
    return avx512_available();
}
#endif

bool isa_avx512(void)
{
#if defined(__AVX512F__)
    return true;
#else
    int c = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (c < 0) {
        c = choose();
        __atomic_store_n(&chosen, c, __ATOMIC_RELAXED);
    }
    return c == 1;
#endif
}

bool isa_force_avx512(bool on)
{
#if defined(__AVX512F__)
    return on;
#else
    if (on && !avx512_available())
        return false;
    __atomic_store_n(&chosen, on ? 1 : 0, __ATOMIC_RELAXED);
    return true;
#endif
}

static unsigned long avx512_runs;

void isa_count_avx512_run(void)
{
    __atomic_fetch_add(&avx512_runs, 1, __ATOMIC_RELAXED);
}

unsigned long isa_avx512_runs(void)
{
    return __atomic_load_n(&avx512_runs, __ATOMIC_RELAXED);
}

const char *isa_describe(void)
{
#if defined(__AVX512F__)
    return "avx512 (the whole build is x86-64-v4)";
#elif defined(PROBADOR_ISA_DISPATCH)
    if (isa_avx512())
        return "avx512 (runtime dispatch; the same bits as avx2)";
    return avx512_available() ? "avx2 (PROBADOR_ISA=avx2)" : "avx2 (this CPU has no AVX-512)";
#else
    return "avx2 (built without the AVX-512 copies)";
#endif
}

int isa_check_env(char *err, size_t errlen)
{
    const char *want = getenv("PROBADOR_ISA");
    if (!want || strcmp(want, "avx2") == 0)
        return 0;
    if (strcmp(want, "avx512") != 0) {
        snprintf(err, errlen,
                 "probador: error: PROBADOR_ISA='%s': expected avx2 or avx512 (or unset: the best this CPU runs)",
                 want);
        return -1;
    }
    if (!avx512_available()) {
        snprintf(err, errlen,
                 "probador: error: PROBADOR_ISA=avx512, but %s; unset it (results are the same bits either way)",
                 cpu_has_avx512() ? "this build has no AVX-512 copies" : "this CPU has no AVX-512");
        return -1;
    }
    return 0;
}
