/* models/train/run_config.h — one run's resolved configuration: what the
 * training engine needs, and nothing of the experiment file around it (its
 * description, variants, seeds or report options).
 *
 * tools/config/ parses and validates an experiment's YAML into an exp_config
 * whose `run` member is this struct, applies a variant, a seed and overrides,
 * and hands the result to train_run by value.  Every field is checked there
 * (ranges, cross-key rules), so the engine only reports what it cannot know in
 * advance (a missing data file, a model that does not fit its input).
 *
 * Choices are indices into their registries: model.type into the model types
 * (models/model.h), kernel into the convolution kernels (kernels/conv.h),
 * training.schedule into the schedules of models/train_math.h,
 * augmentation.sampling into data/augment.h's names. */
#ifndef PROBADOR_MODELS_TRAIN_RUN_CONFIG_H
#define PROBADOR_MODELS_TRAIN_RUN_CONFIG_H

#include "data/augment.h"

/* The version of the arithmetic a run's results come from, recorded in each
   run's environment.txt as `numerics:`.  Bump it with any change that changes
   results' bits (make verify then fails until the quick results are
   regenerated): `probador run --if-stale`, and so `make reproduce`, reruns
   every run recorded under another version.  A run folder without the line
   dates from version 1.
     1  until the fused, explicitly ordered batch norm and Winograd's own
        backward-weights (issue 12)
     2  until the default build target became x86-64-v3 (AVX2; BLIS `haswell`)
     3  until the Winograd kernels' forward pass of stride-2 and single-channel
        layers became the direct kernel's (kernels/conv_direct.c)
     4  until the backward_weights of single-channel layers became the direct
        kernel's too
     5  until every sum over the batch became blocks of 16 images combined in
        block order (statistics, loss) or exactly (gradients): models/dist.h
     6  since */
#define RUN_NUMERICS 6

#define RUN_NAME_MAX 64   /* identifiers [a-z0-9_-], 1..63 characters + NUL */
#define RUN_PATH_MAX 1024

/* What the network is trained to predict. */
typedef enum run_task {
    RUN_TASK_CLASSIFY, /* the ten clothing classes */
    RUN_TASK_ROTATION, /* the self-supervised pretext task: which quarter turn was applied */
    RUN_TASK_COUNT
} run_task;
const char *run_task_name(int task); /* "classify", "rotation"; NULL out of range */

/* Test-time augmentation: the views whose softmaxes are averaged when the model
   is evaluated (validation and test alike). */
typedef enum run_tta {
    RUN_TTA_NONE,       /* the image alone */
    RUN_TTA_FLIP,       /* the image and its mirror image */
    RUN_TTA_FLIP_SHIFT, /* those two, and the image moved one pixel up, down, left and right */
    RUN_TTA_COUNT
} run_tta;
const char *run_tta_name(int tta); /* "none", "flip", "flip_shift"; NULL out of range */
int run_tta_views(int tta);        /* 1, 2, 6 */

typedef struct run_config {
    char name[RUN_NAME_MAX]; /* the experiment's name: messages, summary rows */
    struct {
        int type;       /* model_type_at(type) */
        int blocks;     /* resnet: basic blocks per stage */
        int width;      /* resnet: channels of the first stage */
        double dropout; /* cnn: before the last dense layer */
        int conv_init;  /* conv_init (models/model.h) */
    } model;
    int kernel; /* conv_kernel_at(kernel) */
    int task;   /* run_task */
    struct {
        char dir[RUN_PATH_MAX];
        int train_images;      /* 0 = all not held out */
        int validation_images; /* held out of the training set */
        int test_images;       /* 0 = all */
        int per_class;         /* > 0: a class-balanced subset of this many per class */
    } data;
    aug_params augmentation;
    struct {
        int epochs, batch;
        int optimizer; /* optimizer_at(optimizer) */
        double learning_rate, beta1, beta2, epsilon;
        double momentum;          /* SGD */
        int nesterov;             /* SGD: Nesterov's momentum (0/1) */
        double weight_decay;      /* Adam: decoupled; SGD: L2 */
        int decay_norm_and_bias;  /* 0: no decay on batch norm's parameters and biases */
        double label_smoothing;
        int schedule;             /* lr_schedule_at(schedule) */
        double warmup_epochs;
        double ema_decay;         /* the evaluated model: the weights' moving average; 0 = off */
    } training;
    struct {
        int tta; /* run_tta */
    } evaluation;
    struct {
        char from[RUN_PATH_MAX]; /* "" = random init; an experiment name or a checkpoint path */
        int from_seed;           /* an experiment name's run of this seed */
        int from_seeds;          /* > 0: from_seed = the run's seed mod this (tools/run.c resolves it) */
        int freeze_epochs;       /* trunk not updated for this many epochs */
        double trunk_lr_scale;   /* trunk learning rate = this × the head's */
        int probe;               /* linear probe (0/1): the trunk fixed, in evaluation mode, every epoch */
    } init;
    int seed, threads;
} run_config;

#endif
