/* kernels/blis_setup.c — choose BLIS's configuration before its first use. */
#include "kernels/conv.h"

#include <blis.h>
#include <stdio.h>
#include <stdlib.h>

const char *conv_blis_init(void)
{
    if (!getenv("BLIS_ARCH_TYPE")) {
        /* Debian's BLIS 0.9 autodetects AMD Zen 5 (and other CPUs it predates)
           as `generic`, ~3x slower than its AVX-512 `skx` kernels on this CPU.
           BLIS reads BLIS_ARCH_TYPE (a numeric arch_t) once, at its first call. */
        char id[16];
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
            snprintf(id, sizeof id, "%d", (int)BLIS_ARCH_SKX);
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            snprintf(id, sizeof id, "%d", (int)BLIS_ARCH_HASWELL);
        else
            id[0] = '\0';
        if (id[0])
            setenv("BLIS_ARCH_TYPE", id, 0);
    }
    bli_init();
    return conv_blis_arch();
}

const char *conv_blis_version(void) { return bli_info_get_version_str(); }

const char *conv_blis_arch(void)
{
    bli_init();   /* idempotent; the arch query needs an initialised BLIS */
    return bli_arch_string(bli_arch_query_id());
}
