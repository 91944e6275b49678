/* tools/train.h — one training run: an experiment configuration, one seed,
 * one output folder.  `probador run` (tools/run.c) resolves the configuration
 * and calls train_run; the training benchmark calls train_step directly. */
#ifndef PROBADOR_TOOLS_TRAIN_H
#define PROBADOR_TOOLS_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "data/fashion_mnist.h"
#include "models/model.h"
#include "models/train_math.h"
#include "tools/config.h"

typedef struct train_result {
    eval_metrics test;
    double train_seconds, images_per_second;
    int64_t train_images;       /* images seen in training, all epochs */
    char weights_hash[17];      /* FNV-1a 64 of parameters and BN statistics, hex */
    double peak_rss_mib;
} train_result;

typedef struct train_options {
    const char *out_dir;        /* results folder of this run (created) */
    const char *variant;        /* "" for the base experiment */
    const char *overrides;      /* the command-line overrides, one per line */
    bool resume;                /* continue from out_dir/checkpoint.bin if present */
    int stop_after_epochs;      /* > 0: stop (as if interrupted) after this many epochs */
    const char *init_path;      /* init.from resolved to a checkpoint path, or NULL */
    const char *init_note;      /* written to init.txt: the source and its CRC (staleness) */
} train_options;

/* Trains and evaluates; writes epochs.csv, timing.csv, confusion.csv,
   per_class.csv, summary.csv, misclassified.csv, config.yaml, overrides.txt,
   environment.txt, checkpoint.bin and, when fine-tuning, init.txt into
   opt->out_dir, all atomically.  0, or -1 with an error
   printed. */
int train_run(const exp_config *c, const train_options *opt, train_result *res);

/* FNV-1a 64 of the model's parameters and state, as 16 hex digits. */
void train_weights_hash(const model *m, char out[17]);

#endif
