/* kernels/blis_setup.c — choose BLIS's configuration before its first use. */
#include "kernels/conv.h"

#include <blis.h>
#include <stdio.h>
#include <stdlib.h>

const char *conv_blis_init(void)
{
    if (!getenv("BLIS_ARCH_TYPE")) {
        /* The configuration follows the build target, never the host: BLIS's
           `skx` and `haswell` kernels round differently, so one x86-64-v3
           program would otherwise compute other bits on an AVX-512 machine
           than on an AVX2 one.  (Left to itself, Debian's BLIS 0.9 would also
           detect CPUs it predates, AMD Zen 5 among them, as `generic`, ~3x
           slower.)  BLIS reads BLIS_ARCH_TYPE, a numeric arch_t, once. */
        char id[16] = "";
#if defined(__AVX512F__)
        snprintf(id, sizeof id, "%d", (int)BLIS_ARCH_SKX);
#elif defined(__AVX2__) && defined(__FMA__)
        snprintf(id, sizeof id, "%d", (int)BLIS_ARCH_HASWELL);
#endif
        if (id[0])
            setenv("BLIS_ARCH_TYPE", id, 0);
    }
    bli_init();
    return conv_blis_arch();
}

int conv_cpu_check(char *err, size_t errlen)
{
    __builtin_cpu_init();
    const char *missing = NULL;
#if defined(__AVX512F__)
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        missing = "AVX-512 (F, BW, DQ, VL)";
#elif defined(__AVX2__) && defined(__FMA__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        missing = "AVX2 and FMA";
#endif
    if (missing)
        snprintf(err, errlen, "probador: error: this build needs %s, which this CPU lacks; %s", missing,
#if defined(__AVX512F__)
                 "build the default target instead (`make clean all`, ARCH=x86-64-v3; see docs/DETERMINISM.md)"
#else
                 "probador needs at least AVX2 and FMA (x86-64-v3): use another machine"
#endif
        );
    return missing ? -1 : 0;
}

const char *conv_blis_version(void) { return bli_info_get_version_str(); }

const char *conv_blis_arch(void)
{
    bli_init();   /* idempotent; the arch query needs an initialised BLIS */
    return bli_arch_string(bli_arch_query_id());
}
