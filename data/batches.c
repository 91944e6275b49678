/* data/batches.c — validation hold-out, epoch order, batch assembly (contract in the header). */
#include "data/batches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/rng.h"

/* Fisher–Yates from the top down: the loop the header documents. */
static void fisher_yates(uint32_t *a, size_t n, rng_stream *s)
{
    for (size_t i = n; i-- > 1;) {
        const uint32_t j = rng_below(s, (uint32_t)(i + 1));
        const uint32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int batch_split(uint32_t *idx, size_t count, size_t n_val, size_t train_limit, uint64_t seed, batch_lists *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (count == 0 || count > UINT32_MAX) {
        if (errlen > 0)
            snprintf(err, errlen, "error: split: image count out of range (expected 1 .. %u, got %zu)",
                     (unsigned)UINT32_MAX, count);
        return -1;
    }
    if (n_val >= count) {
        if (errlen > 0)
            snprintf(err, errlen,
                     "error: split: validation count leaves no training images (expected < %zu, got %zu); "
                     "hold out fewer images",
                     count, n_val);
        return -1;
    }
    const size_t rest = count - n_val;
    const size_t n_train = train_limit == 0 || train_limit > rest ? rest : train_limit;

    for (size_t i = 0; i < count; i++)
        idx[i] = (uint32_t)i;
    rng_stream s = rng_stream_for(seed, RNG_SPLIT, 0, 0);
    fisher_yates(idx, count, &s);
    qsort(idx, n_val, sizeof *idx, cmp_u32);
    qsort(idx + n_val, n_train, sizeof *idx, cmp_u32);

    *out = (batch_lists){ .val = idx, .train = idx + n_val, .n_val = n_val, .n_train = n_train };
    return 0;
}

void batch_shuffle(uint32_t *order, const uint32_t *train, size_t n, uint64_t seed, uint64_t epoch)
{
    if (n > 0)
        memcpy(order, train, n * sizeof *order);
    rng_stream s = rng_stream_for(seed, RNG_SHUFFLE, epoch, 0);
    fisher_yates(order, n, &s);
}

size_t batch_fill(float *x, int *labels, const batch_source *src, const uint32_t *order, size_t n_order,
                  size_t start, size_t batch_size, const aug_params *aug, uint64_t seed, uint64_t epoch)
{
    if (start >= n_order)
        return 0;
    const size_t nb = n_order - start < batch_size ? n_order - start : batch_size;
    const uint32_t *ids = order + start;

    /* Each image depends on its own stream only: any schedule gives the same bytes. */
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        const uint32_t i = ids[b];
        const uint8_t *img = src->images + (size_t)i * AUG_PIXELS;
        float *out = x + b * AUG_PIXELS;
        if (aug)
            aug_image(img, out, aug, seed, epoch, i);
        else
            aug_normalise(img, out);
        labels[b] = src->labels[i];
    }
    return nb;
}
