/* data/rng.c — the non-inline parts of the keyed generator (see the header). */
#include "data/rng.h"

#include <math.h>

uint32_t rng_below(rng_stream *s, uint32_t n)
{
    uint64_t m = (uint64_t)(uint32_t)rng_u64(s) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        const uint32_t threshold = -n % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)rng_u64(s) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float rng_normal(rng_stream *s)
{
    /* u1 in (0, 1] so the log is finite */
    const double u1 = ((double)(rng_u64(s) >> 11) + 1.0) * 0x1p-53;
    const double u2 = (double)(rng_u64(s) >> 11) * 0x1p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}
