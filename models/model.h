/* models/model.h — networks as tables of layers, memory in a few blocks.
 *
 * A model is a table of layer_spec rows, written by a table function
 * (models/tables.c); the registry of model types (model_type, below) maps the
 * configuration's model.name to it.  Each row names an operation and its
 * input(s); behaviour lives in one small table of operations (models/layers.h).
 * model_build sizes everything first, then makes one aligned allocation each
 * for parameters, gradients, Adam's two moments, batch-norm running statistics,
 * activations (and their gradients), per-layer saved values and the
 * convolution workspace; layers hold offsets into them.  Nothing is allocated
 * after model_build (what the llm.c project's malloc_and_point_parameters does,
 * done with a table).
 *
 * Adding a model: its table function and one row of the registry, both in
 * models/tables.c (or the function in a models/NEW.c, declared beside its row).
 *
 * Tensors are NCHW floats; a layer's output is [batch][c][h][w].
 */
#ifndef PROBADOR_MODELS_MODEL_H
#define PROBADOR_MODELS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernels/conv.h"
#include "models/dist.h"
#include "models/reduce.h"

typedef enum layer_op {
    OP_INPUT,      /* the image batch */
    OP_CONV,       /* convolution, no bias: out channels, size, stride, pad */
    OP_BN,         /* batch normalisation (affine) */
    OP_RELU,
    OP_MAXPOOL,    /* 2x2, stride 2 */
    OP_GAP,        /* global average pool -> c x 1 x 1 */
    OP_DENSE,      /* fully connected with bias: out units (input flattened) */
    OP_DROPOUT,    /* p: probability of dropping */
    OP_ADD,        /* src + src2 (residual) */
    OP_COUNT
} layer_op;

enum { PREV = -1 };           /* "the previous row" as a layer_spec source */
enum { LAYER_NAME_MAX = 32 }; /* a row name's bytes with its NUL, as checkpoints store it */

/* One row of a model table.  The name is held by value, so a table may
   generate names ("s2.b1.conv1") into the caller's rows. */
typedef struct layer_spec {
    layer_op op;
    char name[LAYER_NAME_MAX];
    int src, src2;           /* input rows (absolute index, or PREV); src2 for OP_ADD */
    int out;                 /* OP_CONV: output channels; OP_DENSE: units */
    int size, stride, pad;   /* OP_CONV filter size, stride, padding */
    float p;                 /* OP_DROPOUT rate */
} layer_spec;

typedef struct tshape {
    int c, h, w;
} tshape;
static inline size_t tshape_count(tshape s) { return (size_t)s.c * s.h * s.w; }

typedef struct layer {
    layer_spec spec;
    int src, src2;                   /* resolved absolute inputs (-1: none) */
    bool acc_src, acc_src2;          /* backward adds into the input gradient (another
                                        consumer wrote it first) instead of overwriting */
    tshape in, out;
    size_t param_off, param_count;   /* into model.params (and grads, adam_m, adam_v) */
    size_t state_off, state_count;   /* into model.state: BN running mean, var */
    size_t act_off;                  /* into model.acts / model.dacts: [max_batch][out] */
    size_t save_off, save_count;     /* into model.save: BN mean/invstd, dropout mask */
    double flops;                    /* forward multiply-adds x2 per image */
    const conv_kernel *ran[CONV_NUM_PASSES];   /* OP_CONV: what actually runs each pass */
    int fuse_bn, fuse_add;           /* OP_RELU run as one op with this BN (and the residual add
                                        between them): -1 none (models/layers.h, "Fusion") */
    int fuse_pool;                   /* ... and with the max-pool that follows it: -1 none */
    bool fused_away;                 /* a BN, add or max-pool that a ReLU's fused op runs */
} layer;

typedef struct model_desc {
    char name[32];          /* "cnn", "resnet" */
    int blocks, width;      /* resnet: blocks per stage, base width */
    float dropout;          /* cnn: dense dropout */
    int classes;            /* 10 */
    tshape input;           /* 1 x 28 x 28 */
} model_desc;

/* Where a pass's time goes, by kind of layer work (bench --train's step
   breakdown).  A model whose `profile` points at one adds each layer's wall
   time to its kind's total; with `profile` NULL, the default, no clock is read
   and nothing else changes either way. */
typedef enum layer_kind {
    LAYER_KIND_CONV_FORWARD,
    LAYER_KIND_CONV_BACKWARD_DATA,
    LAYER_KIND_CONV_BACKWARD_WEIGHTS,
    LAYER_KIND_BATCH_NORM,
    LAYER_KIND_ELEMENTWISE, /* ReLU, residual add, dropout */
    LAYER_KIND_POOLING,     /* max pool, global average pool */
    LAYER_KIND_DENSE,
    LAYER_KIND_GRADIENT_SUM, /* the blocks' gradients added (model_backward, models/reduce.h) */
    LAYER_KIND_COUNT
} layer_kind;

typedef struct model_profile {
    double seconds[LAYER_KIND_COUNT]; /* accumulated over every pass since it was zeroed */
} model_profile;

typedef struct model {
    model_desc desc;
    layer *layers;
    int num_layers, max_batch;
    const conv_kernel *kernel;
    size_t num_params, num_state, num_acts, num_save, ws_bytes, scratch_count;
    float *params, *grads, *adam_m, *adam_v, *state;
    float *acts, *dacts, *save, *scratch;
    void *ws;
    /* Sums over the batch, by blocks of REDUCE_BLOCK images (models/dist.h): each
       layer writes its parameters' gradient of block b at block_grads[b][num_params],
       model_backward adds them exactly into grads; batch norm keeps a channel's
       per-block partials in block_stats[block][channel][2]. */
    int max_blocks;          /* dist_blocks(max_batch) */
    float *block_grads;
    double *block_stats;
    void *block_ws;          /* conv_thread_slots() workspaces of block_ws_bytes: one block's
                                convolution backward_weights on each thread */
    size_t block_ws_bytes;
    reduce_scratch reduce;
    const model_dist *dist;  /* NULL (model_build's): one process */
    double flops;           /* forward, per image */
    model_profile *profile; /* NULL (model_build's): no timing */
} model;

/* The context of one forward/backward pass. */
typedef struct model_step {
    int batch;              /* this process's images, ≤ max_batch */
    bool train;             /* batch statistics and dropout on */
    uint64_t seed, step;    /* dropout masks: rng (seed, RNG_DROPOUT, step, sample) */
    int frozen_below;       /* layers [0, frozen_below) run as in evaluation (running statistics, no
                               dropout) and have no backward pass: a linear probe's fixed trunk; 0 = none */
    int first, total;       /* over several processes (models/dist.h): the batch's index of this process's
                               first image (a multiple of REDUCE_BLOCK) and the whole batch's images;
                               total 0: one process, the batch is all */
} model_step;

/* The whole batch's images, and its first block held here. */
static inline int step_total(const model_step *st) { return st->total > 0 ? st->total : st->batch; }
static inline int step_first_block(const model_step *st) { return st->first / REDUCE_BLOCK; }
/* Images of block b (of this process's) of a pass over `batch` images. */
static inline int block_images(int batch, int b)
{
    const int left = batch - b * REDUCE_BLOCK;
    return left < REDUCE_BLOCK ? left : REDUCE_BLOCK;
}

/* Tables: the number of rows written to `rows` (capacity `cap`), or -1.
   model_build offers MODEL_ROWS_MAX rows. */
enum { MODEL_ROWS_MAX = 1024 };
int model_table_cnn(const model_desc *d, layer_spec *rows, int cap);
int model_table_resnet(const model_desc *d, layer_spec *rows, int cap);

/* The model_desc fields a model type reads (model_type.uses). */
enum { MODEL_USES_BLOCKS = 1u << 0, MODEL_USES_WIDTH = 1u << 1, MODEL_USES_DROPOUT = 1u << 2 };

/* One model type of the registry. */
typedef struct model_type {
    const char *name;        /* "cnn", "resnet": the configuration's model.name */
    const char *description; /* one line */
    int (*table)(const model_desc *d, layer_spec *rows, int cap); /* rows written, or -1 */
    unsigned uses;           /* MODEL_USES_BLOCKS | MODEL_USES_WIDTH | MODEL_USES_DROPOUT: the model_desc
                                fields it reads */
    model_desc bench;        /* the instance the benchmarks time ("cnn"; resnet with blocks 3, width 16 =
                                "resnet20") */
    const char *bench_name;  /* "cnn", "resnet20"; NULL: the benchmarks leave this type out */
} model_type;

/* The registry: the compiled-in types (cnn, resnet, in that order), then
   those added by model_type_register.  Not thread-safe while registering. */
int model_type_count(void);
const model_type *model_type_at(int i); /* NULL out of range */
/* NULL, with "unknown model 'x'; expected one of cnn, resnet" in err, when no
   type has that name. */
const model_type *model_type_find(const char *name, char *err, size_t errlen);
/* Adds a type at run time (tests): refused (-1 with err) when t, its name or
   table is NULL, the name is empty, too long for model_desc.name or taken, or
   the registry is full.  *t is copied; its strings and function must outlive
   the process.  0 on success. */
int model_type_register(const model_type *t, char *err, size_t errlen);
/* Zeroes the fields d's type does not use (cnn: blocks, width; resnet:
   dropout), so equal models have equal descriptions (and checkpoints).  An
   unknown name leaves d unchanged. */
void model_desc_canonical(model_desc *d);

/* Where a table's row reads from and what it makes. */
typedef struct layer_shape {
    int src, src2; /* absolute input rows (-1: none) */
    tshape in, out;
} layer_shape;

/* The shapes of a table's n rows without building the model (benchmarks
   list convolution shapes with it): 0, or -1 with "error: ..." in err, the
   same checks and messages as model_build_table. */
int model_table_shapes(const model_desc *d, const layer_spec *rows, int n, layer_shape *shapes, char *err,
                       size_t errlen);

/* Builds the model d->name names (found in the registry): shapes, parameter
   layout, one allocation per block.  0, or -1 with "error: ..." in err. */
int model_build(model *m, const model_desc *d, const conv_kernel *k, int max_batch, char *err, size_t errlen);
/* The same from an explicit table (rows[0] must be OP_INPUT); tests build
   one-layer networks with it. */
int model_build_table(model *m, const model_desc *d, const layer_spec *rows, int n, const conv_kernel *k,
                      int max_batch, char *err, size_t errlen);
void model_free(model *m);
/* One line per layer: shape in -> out, parameters, MFLOPs, kernel that runs. */
void model_print_summary(const model *m, FILE *f);
/* He-normal convolutions, PyTorch-default dense layers, BN gamma 1 beta 0;
   randomness keyed (seed, RNG_INIT, 0, layer index). Zeroes Adam state. */
/* How convolution weights start.  HE_NORMAL: normal, std sqrt(2 / fan_in).
   UNIFORM: uniform in ±1/sqrt(fan_in), PyTorch's default for nn.Conv2d
   (kaiming_uniform with a = sqrt(5)); about 2.45x smaller.  Behind batch
   normalisation the scale does not change the forward pass but does change the
   effective step of Adam, whose updates have a fixed size: smaller weights
   learn faster. */
typedef enum conv_init { CONV_INIT_HE_NORMAL, CONV_INIT_UNIFORM, CONV_INIT_COUNT } conv_init;
const char *conv_init_name(int ci); /* "he_normal", "uniform"; NULL out of range */

void model_init_params(model *m, uint64_t seed, conv_init ci);

/* mask[num_params]: 1 for the parameters weight decay is meant for (convolution
   filters, dense weight matrices), 0 for batch norm's scale and shift and the
   dense layers' biases, which the usual recipes leave undecayed. */
void model_decay_mask(const model *m, float *mask);

/* The input batch [batch][1][28][28] lives here; fill it, then forward. */
float *model_input(model *m);
/* Forward; returns the logits [batch][classes]. */
const float *model_forward(model *m, const model_step *st);
/* Backward from dlogits [batch][classes]; fills m->grads (overwritten) with the
   gradient summed over the whole batch (every process's blocks: models/dist.h). */
void model_backward(model *m, const model_step *st, const float *dlogits);

/* "conv_forward", "conv_backward_data", "conv_backward_weights", "batch_norm",
   "elementwise", "pooling", "dense", "gradient_sum"; NULL out of range. */
const char *layer_kind_name(int kind);
/* For a layer that times parts of its own pass (the convolution's two
   backward passes): model_profile_start is the time now, 0 without a profile;
   model_profile_add adds the seconds since *since to `kind` and sets *since to
   now.  Without a profile neither reads the clock. */
double model_profile_start(const model *m);
void model_profile_add(const model *m, layer_kind kind, double *since);

#endif
