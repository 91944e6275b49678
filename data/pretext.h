/* data/pretext.h — the self-supervised rotation task and class-balanced label
 * budgets: what the pretrain → fine-tune experiments need from the data.
 *
 * Rotation pretext.  Each image of a batch is turned by k·90° (k = 0..3,
 * counter-clockwise as displayed) and its label replaced by k: the network
 * learns to tell which way up clothing is, from images alone, no class label
 * used.  k comes from rng_stream_for(seed, RNG_PRETEXT, epoch, sample_index), so
 * it does not depend on batch order or threads; evaluation uses
 * PRETEXT_EVAL_EPOCH, so the held-out images keep the same k every epoch.  A
 * quarter turn of a 28×28 grid moves pixels exactly (no resampling).
 *
 * Balanced subsets.  balanced_subset picks `per_class` images of each class
 * from a list of training images: the list in an order shuffled with
 * rng_stream_for(seed, RNG_SUBSET, 0, ·), taking each class's first `per_class`,
 * then sorted ascending.  For one seed, a smaller budget's images are a subset
 * of a larger one's. */
#ifndef PROBADOR_DATA_PRETEXT_H
#define PROBADOR_DATA_PRETEXT_H

#include <stddef.h>
#include <stdint.h>

enum { PRETEXT_CLASSES = 4 };
#define PRETEXT_EVAL_EPOCH UINT64_MAX

/* x[n][28][28] turned in place, labels[n] = quarter turns; idx[n] = each image's
   index in its data set. */
void pretext_rotate(float *x, int *labels, const uint32_t *idx, int n, uint64_t seed, uint64_t epoch);

/* Name of pretext class k: "0°", "90°", "180°", "270°". */
const char *pretext_class_name(int k);

/* out[] = per_class images of each of the classes 0..9 from list[n] (labels by
   dataset index); returns how many (10·per_class), or -1 if some class has
   fewer than per_class images in the list (its class in *short_class). */
long balanced_subset(const uint32_t *list, size_t n, const uint8_t *labels, int per_class, uint64_t seed,
                     uint32_t *out, int *short_class);

#endif
