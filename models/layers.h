/* models/layers.h — the per-operation table behind model.c.
 *
 * Each operation states its output shape, parameter and state counts, saved
 * values, cost, and its forward and backward.  Forward reads the source
 * activations and writes the layer's own; backward reads the layer's output
 * gradient and writes (or, when l->acc_src is set, adds to) the gradient of
 * its sources, and writes its parameter gradients.  Every loop that threads
 * split owns disjoint outputs, and every reduction has a fixed order, so
 * results do not depend on the thread count.
 */
#ifndef PROBADOR_MODELS_LAYERS_H
#define PROBADOR_MODELS_LAYERS_H

#include <stdint.h>

#include "models/model.h"

typedef struct op_def {
    const char *name;
    /* Output shape from the input shape; false (with err) if the row is invalid. */
    bool (*out_shape)(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen);
    size_t (*params)(const layer_spec *s, tshape in, tshape out);
    size_t (*state)(const layer_spec *s, tshape in, tshape out);
    size_t (*saved)(const layer_spec *s, tshape in, tshape out, int max_batch);
    double (*flops)(const layer_spec *s, tshape in, tshape out);
    void (*forward)(model *m, layer *l, const model_step *st);
    void (*backward)(model *m, layer *l, const model_step *st);
} op_def;

extern const op_def *const op_defs[OP_COUNT];

/* Views into the model's blocks. */
static inline float *layer_out(const model *m, const layer *l) { return m->acts + l->act_off; }
static inline float *layer_dout(const model *m, const layer *l) { return m->dacts + l->act_off; }
static inline float *layer_in(const model *m, const layer *l) { return m->acts + m->layers[l->src].act_off; }
static inline float *layer_din(const model *m, const layer *l) { return m->dacts + m->layers[l->src].act_off; }
static inline float *layer_params(const model *m, const layer *l) { return m->params + l->param_off; }
static inline float *layer_grads(const model *m, const layer *l) { return m->grads + l->param_off; }
/* Where backward writes the gradient of this process's block b (models/dist.h). */
static inline float *layer_block_grads(const model *m, const layer *l, int b)
{
    return m->block_grads + (size_t)b * m->num_params + l->param_off;
}

/* Whether backward sums layer l's gradient over the blocks itself, straight into
   grads (model_backward sums the others'): the dense layer's, in one process. */
static inline bool layer_sums_own_grads(const model *m, const layer *l)
{
    return l->spec.op == OP_DENSE && dist_ranks(m->dist) == 1;
}
/* Columns of the dense layer's weights summed at once (layer_sums_own_grads), and the
   bytes of a thread's workspace for them, blocks blocks of partials. */
enum { DENSE_TILE = 64 };
size_t dense_tile_bytes(const layer *l, int blocks);

/* dst = src, or dst += src when acc; n floats, threaded. */
void layer_store_grad(float *dst, const float *src, size_t n, bool acc);
/* C[m][n] = A · B (+ C when beta = 1), row-major with leading dimensions,
   A transposed when ta, B when tb; BLIS on the threads in force. */
void layer_sgemm(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);

extern const op_def op_input, op_conv, op_bn, op_relu, op_maxpool, op_gap, op_dense, op_dropout, op_add;

/* Fusion.  The model's table keeps its rows (names, parameters, checkpoints
 * unchanged); model_build decides, once, which of them run together:
 *
 *   BN → ReLU          when the ReLU is the only reader of the BN's output;
 *   BN → add → ReLU    when the add is the only reader of the BN's output (and
 *                      reads it once), the ReLU the only reader of the add's.
 *
 * The group runs as one op at the ReLU's row, forward and backward: forward
 * reads the BN's input (and the add's other input) and writes the ReLU's
 * output only (the BN's and the add's activations are left unwritten);
 * backward masks the ReLU's gradient by its mask (y > 0, models/relu_mask.h),
 * feeds that to BN and writes it to the add's other input's gradient in the
 * same pass.  The
 * BN and add rows are marked fused_away and skipped, the ReLU row carries
 * fuse_bn (and fuse_add).  Running at the ReLU's row moves the BN's and the
 * add's backward earlier, so model_build fuses only when no row between them
 * and the ReLU reads the BN's input (or the add's other input): the order in
 * which a shared tensor's gradient is written and added to stays the same.
 * The fused op computes the same bits as the rows run one by one (the same
 * lanes, and max(v, 0), v + skip are exact copies of the ReLU and add).
 *
 *   BN → ReLU → max-pool   (no add) when the pool is the only reader of the
 *                          ReLU's output and a plane holds at most
 *                          BN_POOL_PLANE_MAX values: forward writes the pool's
 *                          output, its winners and the ReLU's mask only, each
 *                          plane of the ReLU's output living in a stack buffer;
 *                          backward builds a plane's gradient from the pool's
 *                          (0 + dy at the winner where the ReLU passed, else 0,
 *                          as the pool's and the ReLU's backward give) and goes
 *                          on as BN → ReLU.  The full-size ReLU output and its
 *                          gradient never reach memory: four of the heaviest
 *                          streams of the cnn.  The pool row is marked
 *                          fused_away; the ReLU carries fuse_pool. */
void bn_fused_forward(model *m, layer *relu, const model_step *st);
void bn_fused_backward(model *m, layer *relu, const model_step *st);
/* Layer i's forward or backward as model_forward and model_backward run it:
   nothing for a fused_away row, the fused op at its ReLU. */
void model_run_layer(model *m, int i, const model_step *st, bool backward);
/* Undoes model_build's fusion: every row runs alone (tests compare the two). */
void model_unfuse(model *m);
/* Tests: batch norm's lanes as the scalar loop (true) or as the vector copy this
   CPU runs (false, the default; models/bn_lanes.h).  Same bits either way. */
void bn_use_portable_lanes(bool portable);
/* Tests: the max-pool runs its portable rows in every build (same bits as the AVX-512 ones). */
void pool_use_portable_rows(bool on);
/* One plane's 2x2 max-pool: x[H][W] -> y[H/2][W/2], each window's winner
   (0..3, row-major) -> winner[H/2][W/2]; and its gradient, dy sent to the
   winners, into dx[H][W] (added when acc; else written, the dropped odd edges
   zero).  Compiled for AVX2 and AVX-512 (kernels/isa.h; same bits, as max and
   scatter round nothing): maxpool_planes_in_use() gives the pair that runs here,
   to fetch once per pass. */
typedef struct maxpool_planes {
    void (*forward)(const float *x, int H, int W, float *y, uint8_t *winner);
    void (*backward)(const uint8_t *winner, const float *dy, int H, int W, float *dx, bool acc);
} maxpool_planes;
const maxpool_planes *maxpool_planes_in_use(void);
/* The largest plane (H·W) a BN → ReLU → max-pool fusion takes: the fused op
   keeps a plane of the ReLU's output on the stack instead of in memory. */
enum { BN_POOL_PLANE_MAX = 4096 };

#endif
