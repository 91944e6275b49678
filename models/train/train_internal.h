/* models/train/train_internal.h — shared by the models/train/train_*.c files
 * only: the state of one run as it moves through the engine's steps. */
#ifndef PROBADOR_MODELS_TRAIN_TRAIN_INTERNAL_H
#define PROBADOR_MODELS_TRAIN_TRAIN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "data/augment.h"
#include "data/batches.h"
#include "models/model.h"
#include "models/train_math.h"
#include "data/fashion_mnist.h"
#include "models/train/thread_governor.h"
#include "models/train/train.h"

/* The data of one run: decoded splits and the index lists. */
typedef struct run_data {
    fmnist_split train, test;
    batch_source train_src, test_src;
    uint32_t *split, *test_idx, *order; /* split holds the validation then the training list */
    uint32_t *subset;                   /* data.per_class: the balanced training list */
    const uint32_t *train_idx, *val_idx;
    int n_train, n_val, n_test;
} run_data;

/* Loads the splits and draws the lists; 0, or -1 after an error. */
int run_data_load(const run_config *c, run_data *d);
void run_data_free(run_data *d);

/* One run in progress. */
typedef struct run_state {
    const run_config *c;
    const train_options *opt;
    run_data d;
    model m;
    bool pretext;         /* the rotation task */
    int classes;
    int64_t pretext_seed; /* the rotation task's evaluation seed, or -1 */
    size_t head_off;      /* parameters [0, head_off) are the trunk, the rest the head */
    int frozen_below;     /* init.probe: the head's layer index (model_step.frozen_below), else 0 */
    const conv_kernel *kernel;
    const lr_schedule *schedule;
    const optimizer *opt_fn;
    optim_params optim;   /* the configuration's; lr set per step */
    float *decay_mask;    /* [num_params] when training.decay_norm_and_bias is false, else NULL */
    int steps_per_epoch;
    uint64_t total_steps, warmup;
    int first_epoch; /* epochs done before this process (a resume) */
    uint64_t step;   /* optimiser steps done */
    char *epochs_csv, *timing_csv;
    int *labels;     /* [max_batch] */
    int *predicted;  /* [max_batch] */
    float *dlogits;  /* [max_batch][classes] */
    float *ema;          /* training.ema_decay: the moving average, [num_params + num_state], else NULL */
    float *tta_images;   /* test-time augmentation: the batch as loaded, [max_batch][28·28] */
    double *tta_probs;   /* ... the views' summed softmaxes, [max_batch][classes] */
    char checkpoint[1200];
    thread_governor threads; /* the thread count, adapted to the machine's load */
    double *block_loss;      /* [block][2] of a batch: summed loss, right answers (models/dist.h) */
    bool writes;             /* this process writes the results and says how it goes (one process of
                                several: rank 0's) */
} run_state;

/* Evaluation mode over a list of images: loss, accuracy, confusion; and, if
   `predictions` is not NULL, the predicted class of each image in list order.
   The rotation task (s->pretext) evaluates its fixed evaluation rotations. */
void run_evaluate(run_state *s, const batch_source *src, const uint32_t *idx, int count, eval_metrics *e,
                  uint8_t *predictions);

/* Exchanges the model's parameters and batch-norm statistics with the moving
   average s->ema (which must exist): once to evaluate the average, again to
   train on. */
void run_swap_ema(run_state *s);

/* One epoch of optimiser steps, then the validation; appends its rows to
   epochs_csv and timing_csv and adds to res.  0, or -1 after an error. */
int run_epoch(run_state *s, int epoch, train_result *res);

/* Continues from s->checkpoint: the configuration check, the checkpoint, its
   counters, the history so far.  0, or -1 after an error. */
int run_resume(run_state *s, train_result *res);

/* A loss that is not finite ends the run (nothing is published); `where`
   (printf) says at which step.  True when finite. */
bool run_loss_is_finite(const run_state *s, double loss, const char *where, ...) __attribute__((format(printf, 3, 4)));

/* ---- result files (train_outputs.c) ---- */
extern const char run_epochs_header[], run_timing_header[];
/* Appends printf output to a growing string. */
void run_append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dir/name holds text, written atomically; 0 or -1. */
int run_write_text(const char *dir, const char *name, const char *text);
/* The final files: confusion, per-class, summary, config, overrides,
   environment, misclassified, init note.  0 or -1. */
int run_write_results(run_state *s, const train_result *res, const uint8_t *predictions, int n_final);
/* The most a run folder's timing.csv or init.txt can hold that is read back. */
enum { RUN_SMALL_FILE_MAX = 1 << 20 };

#endif
