/* data/pretext.c — rotation pretext labels and class-balanced subsets (see the header). */
#include "data/pretext.h"

#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "data/augment.h"
#include "data/rng.h"

/* One quarter-turn counter-clockwise as displayed: out[y][x] = in[x][N−1−y]. */
static void quarter_turn(const float *in, float *out)
{
    enum { N = AUG_SIDE };
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            out[y * N + x] = in[x * N + (N - 1 - y)];
}

void pretext_rotate(float *x, int *labels, const uint32_t *idx, int n, uint64_t seed, uint64_t epoch)
{
    float tmp[AUG_PIXELS];
    for (int i = 0; i < n; i++) {
        rng_stream s = rng_stream_for(seed, RNG_PRETEXT, epoch, idx[i]);
        const int k = (int)rng_below(&s, PRETEXT_CLASSES);
        float *img = x + (size_t)i * AUG_PIXELS;
        for (int t = 0; t < k; t++) {
            quarter_turn(img, tmp);
            memcpy(img, tmp, sizeof tmp);
        }
        labels[i] = k;
    }
}

const char *pretext_class_name(int k)
{
    static const char *const names[PRETEXT_CLASSES] = { "0°", "90°", "180°", "270°" };
    return k >= 0 && k < PRETEXT_CLASSES ? names[k] : "?";
}

static int ascending(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

long balanced_subset(const uint32_t *list, size_t n, const uint8_t *labels, int per_class, uint64_t seed,
                     uint32_t *out, int *short_class)
{
    uint32_t *order = checked_malloc((n ? n : 1) * sizeof *order);
    memcpy(order, list, n * sizeof *order);
    for (size_t i = n; i > 1; i--) { /* Fisher–Yates, as batch_shuffle */
        rng_stream s = rng_stream_for(seed, RNG_SUBSET, 0, i - 1);
        const size_t j = rng_below(&s, (uint32_t)i);
        const uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    int taken[10] = { 0 };
    long count = 0;
    for (size_t i = 0; i < n; i++) {
        const int c = labels[order[i]];
        if (c < 10 && taken[c] < per_class) {
            taken[c]++;
            out[count++] = order[i];
        }
    }
    free(order);
    for (int c = 0; c < 10; c++)
        if (taken[c] < per_class) {
            *short_class = c;
            return -1;
        }
    qsort(out, (size_t)count, sizeof *out, ascending);
    return count;
}
