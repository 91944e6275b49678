/* models/relu_mask.h — where a ReLU's output was positive, one bit per value.
 *
 * The ReLU's backward (alone or fused with its batch norm) needs only y > 0.
 * Reading that from y costs a float per value, a whole stream of the memory
 * traffic that bounds batch norm's backward; the mask costs 1/32 of it.  The
 * forward writes it in model.save: per image and channel a plane of
 * ceil(HW/16) 16-bit words, bit i mod 16 of word i/16 for value i, the bits
 * past HW zero.  Every writer (scalar, AVX2, AVX-512) stores whole words, so
 * the mask is the same bytes whichever wrote it.
 */
#ifndef PROBADOR_MODELS_RELU_MASK_H
#define PROBADOR_MODELS_RELU_MASK_H

#include <stddef.h>
#include <stdint.h>

/* Words in one plane of hw values. */
static inline size_t relu_mask_words(int hw) { return ((size_t)hw + 15) / 16; }

/* Floats of model.save that the masks of `planes` planes of hw values take. */
static inline size_t relu_mask_floats(size_t planes, int hw)
{
    return (planes * relu_mask_words(hw) * sizeof(uint16_t) + sizeof(float) - 1) / sizeof(float);
}

static inline int relu_mask_bit(const uint16_t *mask, int i) { return (mask[i / 16] >> (i % 16)) & 1; }

/* The word of values y[16w .. 16w + 15] (n of them valid, n ≤ 16): bit k set
   when y[k] > 0. */
static inline uint16_t relu_mask_word(const float *y, int n)
{
    unsigned bits = 0;
    for (int k = 0; k < n; k++)
        bits |= (unsigned)(y[k] > 0.0f) << k;
    return (uint16_t)bits;
}

#endif
