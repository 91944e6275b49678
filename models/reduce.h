/* models/reduce.h — a sum of per-block float partials that no order can change.
 *
 * out[i] = Σ_b v_b[i] over every block b of the batch, where this process holds the
 * blocks [0, local) of its share and the others hold the rest (models/dist.h):
 *
 *   e_i = the exponent of max_b |v_b[i]| over all blocks (max across processes);
 *   S_i = 50 − e_i − ⌈log₂ blocks⌉, so each |v_b[i]|·2^S_i < 2^(51 − ⌈log₂ blocks⌉);
 *   a_i = Σ_b round(v_b[i]·2^S_i), whole numbers below 2^51 held in doubles (sum across
 *         processes), so that every addition is exact;
 *   out[i] = (float)(a_i·2^−S_i), rounded once.
 *
 * Each block's rounding depends on its value and e_i alone, and the sum of whole
 * numbers below 2^53 is exact in any order, so the result is the same whichever process
 * holds which block and in whatever order the values meet.  The grid is
 * 2^(e_i + 1 + ⌈log₂ blocks⌉ − 51): for 8 blocks 2^−47 of the largest term, far below a
 * float's rounding of the sum (2^−24).  A value that is not finite, or of magnitude
 * 2^126 or more, makes out[i] NaN.
 */
#ifndef PROBADOR_MODELS_REDUCE_H
#define PROBADOR_MODELS_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "models/dist.h"

/* The int8 exponents and whole-number sums of n values (reduce_exact's scratch). */
typedef struct reduce_scratch {
    int8_t *exponent;
    double *sum;
} reduce_scratch;

/* out[i] = Σ over the batch's `blocks` blocks of v_b[i], i < n, this process's
   `local` blocks at v + b·stride (b < local).  Every process calls it with the same
   n and blocks.  Threaded, the same bits for any thread count. */
void reduce_exact(const float *v, size_t stride, int local, int blocks, size_t n, float *out,
                  const model_dist *d, reduce_scratch scratch);

/* The same sum when this process holds every block (one process): out[i] = Σ_b of
   v[b·stride + i], i < n, on the caller's thread, with no scratch but its stack; a
   layer calls it on a tile of its gradient while the tile's partials are in cache. */
void reduce_exact_local(const float *v, size_t stride, int blocks, size_t n, float *out);

#endif
