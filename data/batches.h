/* data/batches.h — validation hold-out, epoch order, and batch assembly.
 *
 * Indices are positions in the source data set (uint32_t: 0 .. count-1).
 *
 * The split (batch_split).  A permutation of 0..count-1 is drawn by
 * Fisher–Yates from rng_stream_for(seed, RNG_SPLIT, 0, 0):
 *     perm[i] = i;  for i = count-1 down to 1: swap(perm[i], perm[rng_below(s, i+1)])
 * perm[0 .. n_val) is the validation set; the training set is the next
 * n_train = (train_limit == 0 ? count - n_val : min(train_limit, count - n_val))
 * entries of the permutation, i.e. a training limit takes the images that
 * follow the validation ones, so the validation set never depends on the limit
 * and a smaller limit's images are a subset of a larger one's.  Each list is
 * then sorted ascending, so it depends on (count, n_val, train_limit, seed)
 * alone.  Images beyond the limit are used by neither list.
 *
 * The epoch order (batch_shuffle).  A copy of the (sorted) training list,
 * shuffled by the same Fisher–Yates loop with rng_stream_for(seed, RNG_SHUFFLE,
 * epoch, 0).
 *
 * A batch (batch_fill).  Images order[start .. start+B) (fewer for the last
 * batch), each written as normalised floats — augmented by aug_image, whose
 * operations draw from streams keyed (seed, RNG_AUGMENT, epoch, dataset
 * index), see data/augment.h — so the result does not depend on the thread
 * count, the batch size or the image's position in the batch.
 *
 * Library code never prints or exits: errors are -1 with a message in err
 * ("error: WHAT (expected X, got Y)"; NUL-terminated when errlen > 0).
 */
#ifndef PROBADOR_DATA_BATCHES_H
#define PROBADOR_DATA_BATCHES_H

#include <stddef.h>
#include <stdint.h>

#include "data/augment.h"

/* The two lists of a split; both point into the caller's idx array. */
typedef struct batch_lists {
    const uint32_t *val;   /* [n_val], ascending */
    const uint32_t *train; /* [n_train], ascending */
    size_t n_val, n_train;
} batch_lists;

/* The images a batch is assembled from. */
typedef struct batch_source {
    const uint8_t *images; /* [count][28][28] */
    const uint8_t *labels; /* [count] */
    size_t count;
} batch_source;

/* idx: caller's [count] scratch that receives the permutation; on return
   idx[0 .. n_val) is the validation list and idx[n_val .. n_val+n_train) the
   training list (out->val, out->train), each sorted.  train_limit 0 = all the
   remaining images.  Requires 0 < count <= UINT32_MAX and n_val < count.
   Returns 0, or -1 with err (and *out zeroed). */
int batch_split(uint32_t *idx, size_t count, size_t n_val, size_t train_limit, uint64_t seed, batch_lists *out,
                char *err, size_t errlen);

/* order[n] = train[n] shuffled for this epoch (order and train must not overlap). */
void batch_shuffle(uint32_t *order, const uint32_t *train, size_t n, uint64_t seed, uint64_t epoch);

/* Number of batches of size b (>= 1) covering n images, the last one short. */
static inline size_t batch_count(size_t n, size_t b) { return (n + b - 1) / b; }

/* Assemble the batch order[start .. start + batch_size), clipped to n_order:
     x[B][1][28][28]  normalised images: aug_image when aug != NULL (aug must
                      pass aug_params_check), plain aug_normalise when NULL
     labels[B]        the images' classes
   Every order entry must be < src->count.  Parallel over images with OpenMP,
   identical output for any thread count; no allocation.  Returns the number of
   images written: min(batch_size, n_order - start), 0 when start >= n_order. */
size_t batch_fill(float *x, int *labels, const batch_source *src, const uint32_t *order, size_t n_order,
                  size_t start, size_t batch_size, const aug_params *aug, uint64_t seed, uint64_t epoch);

#endif
