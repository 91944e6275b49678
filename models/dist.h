/* models/dist.h — one training step over several processes, with one process's bits.
 *
 * The batch is cut into blocks of REDUCE_BLOCK consecutive images (the last one
 * shorter when the batch is not a multiple).  Every sum over the batch is made of
 * per-block partial sums, each computed by one process in an order fixed by the
 * block's images alone, and the blocks are combined in a way that does not depend
 * on who computed them:
 *   - batch-norm statistics, its backward sums and the loss: every process gathers
 *     every block's partials (a few doubles per channel) and adds them in block order;
 *   - parameter gradients: each block's float partial is rounded to a grid chosen from
 *     the largest of all blocks' values of that parameter, and the whole numbers are
 *     added, which no order can change (models/reduce.h).
 * So R processes, each holding whole consecutive blocks of the batch, compute the
 * bits of one process, for any R and any thread count per process; past the number
 * of blocks in a batch (8 for a batch of 128) the extra processes hold no image and
 * only take part in the exchanges.
 *
 * A dist is the exchange between processes.  NULL (or ranks = 1) is one process:
 * every block is local and nothing is exchanged.  tools/run_mpi.c makes the MPI one;
 * tests make an in-process one over threads (tests/test_dist.c).
 */
#ifndef PROBADOR_MODELS_DIST_H
#define PROBADOR_MODELS_DIST_H

#include <stddef.h>
#include <stdint.h>

enum { REDUCE_BLOCK = 16 }; /* images per block: part of the numerics (RUN_NUMERICS) */

typedef struct model_dist model_dist;
struct model_dist {
    int rank, ranks;
    /* all[blocks][per]: every process's own blocks ([first, first + count) of `blocks`,
       dist_share), already in place, copied to every other process, so that all
       processes hold every block.  Called by every process at the same point. */
    void (*gather)(const model_dist *d, double *all, int blocks, size_t per);
    /* v[i] = the largest v[i] of every process, in place */
    void (*max_i8)(const model_dist *d, int8_t *v, size_t n);
    /* v[i] = the sum of every process's v[i], in place: whole numbers whose sum stays
       below 2^53, so that the sum is exact in any order */
    void (*sum_whole)(const model_dist *d, double *v, size_t n);
    void *impl;
};

/* Blocks in a batch of n images: ⌈n / REDUCE_BLOCK⌉. */
static inline int dist_blocks(int n) { return (n + REDUCE_BLOCK - 1) / REDUCE_BLOCK; }

/* This process's blocks of a batch of `blocks`: [*first, *first + *count), consecutive,
   the blocks spread as evenly as they go (rank r from ⌊blocks·r/R⌋). */
static inline void dist_share(const model_dist *d, int blocks, int *first, int *count)
{
    const int r = d ? d->rank : 0, R = d ? d->ranks : 1;
    *first = (int)((long)blocks * r / R);
    *count = (int)((long)blocks * (r + 1) / R) - *first;
}

/* This process's images of a batch of n: [*first, *first + *count). */
static inline void dist_images(const model_dist *d, int n, int *first, int *count)
{
    int b0, nb;
    dist_share(d, dist_blocks(n), &b0, &nb);
    *first = b0 * REDUCE_BLOCK;
    const int end = (b0 + nb) * REDUCE_BLOCK < n ? (b0 + nb) * REDUCE_BLOCK : n;
    *count = end > *first ? end - *first : 0;
}

static inline int dist_ranks(const model_dist *d) { return d ? d->ranks : 1; }

/* d->gather when there are several processes; nothing when one. */
void dist_gather(const model_dist *d, double *all, int blocks, size_t per);

#endif
