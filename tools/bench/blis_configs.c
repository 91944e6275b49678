/* tools/bench/blis_configs.c — what each BLIS configuration reaches on this CPU.
 *
 * BLIS chooses one configuration per process (BLIS_ARCH_TYPE, or its CPU
 * detection), but it registers every configuration it was built with, and
 * bli_sgemm_ex takes a context: so one run can time sgemm in each, side by
 * side, which is how the kernel report shows why probador selects skx.
 */
#include "tools/bench/blis_configs.h"
#include "data/alloc.h"

#include <blis.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/conv.h"
#include "models/train/timing.h"

typedef struct config {
    arch_t id;
    const char *needs; /* CPU feature for __builtin_cpu_supports, or NULL */
} config;

static bool runs_here(const config *c)
{
    __builtin_cpu_init();
    if (!c->needs)
        return true;
    if (!strcmp(c->needs, "avx512f"))
        return __builtin_cpu_supports("avx512f");
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* GFLOP/s of a side³ sgemm in configuration ctx on `threads` threads, the median of reps runs after one
   warm-up. */
static double time_sgemm(int side, cntx_t *ctx, int threads, int reps)
{
    const size_t n = (size_t)side * side;
    float *a = checked_malloc(n * sizeof *a), *b = checked_malloc(n * sizeof *b), *c = checked_malloc(n * sizeof *c);
    double *ms = checked_malloc((size_t)reps * sizeof *ms);
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i % 17) / 17.0f - 0.5f, b[i] = (float)(i % 13) / 13.0f - 0.5f;
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(threads, &rntm);
    float one = 1.0f, zero = 0.0f;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
        const double t0 = timing_seconds(CLOCK_MONOTONIC);
        bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, side, side, side, &one, a, side, 1, b, side, 1, &zero, c,
                     side, 1, ctx, &rntm);
        if (r >= 0)
            ms[r] = (timing_seconds(CLOCK_MONOTONIC) - t0) * 1e3;
    }
    const double gflops = 2.0 * side * side * side / (timing_median(ms, reps) * 1e6);
    free(a), free(b), free(c), free(ms);
    return gflops;
}

void blis_configs_write(FILE *env, int side, int reps)
{
    static const config configs[] = {
        {BLIS_ARCH_SKX, "avx512f"}, {BLIS_ARCH_HASWELL, "avx2"}, {BLIS_ARCH_ZEN3, "avx2"}, {BLIS_ARCH_GENERIC, NULL},
    };
    conv_blis_init();
    fprintf(env, "blis_sgemm_1thread: ");
    int shown = 0;
    for (size_t k = 0; k < sizeof configs / sizeof configs[0]; k++) {
        cntx_t **ctx = runs_here(&configs[k]) ? bli_gks_lookup_id(configs[k].id) : NULL;
        if (!ctx || !ctx[BLIS_NAT])
            continue; /* not built into this BLIS, or not for this CPU */
        fprintf(env, "%s%s %.1f", shown++ ? ", " : "", bli_arch_string(configs[k].id),
                time_sgemm(side, ctx[BLIS_NAT], 1, reps));
    }
    fprintf(env, " (GFLOP/s, %dx%dx%d, median of %d)\n", side, side, side, reps);
}

double blis_square_sgemm_gflops(int side, int threads, int reps)
{
    conv_blis_init();
    return time_sgemm(side, (cntx_t *)bli_gks_query_cntx(), threads, reps);
}
