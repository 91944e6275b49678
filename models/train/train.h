/* models/train/train.h — the training engine: one run of one resolved
 * configuration (models/train/run_config.h) into one output folder.
 * `probador run` (tools/run.c) resolves the configuration and calls train_run;
 * the training benchmark times model steps directly.
 *
 * The engine is split by step: train_data.c (the data of a run), train_eval.c
 * (evaluation), train_epoch.c (one epoch of optimiser steps), train_resume.c
 * (continuing from a checkpoint), train_outputs.c (the result files) and
 * train_run.c (set-up, the epochs, finish). */
#ifndef PROBADOR_MODELS_TRAIN_TRAIN_H
#define PROBADOR_MODELS_TRAIN_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "models/model.h"
#include "models/train/run_config.h"
#include "models/train_math.h"

typedef struct train_result {
    eval_metrics test;
    double train_seconds, images_per_second;
    int64_t train_images;  /* images seen in training, all epochs */
    char weights_hash[17]; /* FNV-1a 64 of parameters and BN statistics, hex */
    double peak_rss_mib;
} train_result;

typedef struct train_options {
    const char *out_dir;     /* results folder of this run (created) */
    const char *variant;     /* "" for the base experiment */
    const char *overrides;   /* the command-line overrides, one per line */
    const char *config_yaml; /* the run's configuration as text, saved as config.yaml */
    bool resume;             /* continue from out_dir/checkpoint.bin; if there is none, a note on
                                stderr and a fresh start (as `--resume --all` wants for the runs
                                that were never interrupted) */
    int stop_after_epochs;   /* > 0: stop (as if interrupted) after this many epochs */
    const char *init_path;   /* init.from resolved to a checkpoint path, or NULL */
    const char *init_note;   /* written to init.txt: the source and its CRC (staleness) */
    /* Called on a resume before the checkpoint is read, with the folder's
       config.yaml path: 0 to go on, -1 (after an error) when that file is not
       this run's configuration.  NULL: no check. */
    int (*resume_check)(const char *config_path, const char *checkpoint, void *ctx);
    void *resume_ctx;
    /* Several processes training the run together (models/dist.h), NULL for one: each
       trains its blocks of every batch; rank 0 alone writes into out_dir and prints,
       the others read what a resume needs from it (a folder all of them see). */
    const model_dist *dist;
} train_options;

/* Trains and evaluates; writes epochs.csv, timing.csv, confusion.csv,
   per_class.csv, summary.csv, misclassified.csv, config.yaml, overrides.txt,
   environment.txt, checkpoint.bin and, when fine-tuning, init.txt into
   opt->out_dir, all atomically.  0, or -1 with an error printed.
   - opt->out_dir is created once the data and the model are ready, and
     config.yaml (and init.txt) written into it before the first epoch.
   - A resume is refused when opt->resume_check refuses, when the run started
     from another init.txt, or when the checkpoint's counters do not fit c.
   - A loss that is not finite (a training step, the validation or the final
     evaluation) ends the run with an error naming the epoch and step.
   - res counts every epoch of the run, those before a resume included:
     train_images from the data, train_seconds from timing.csv. */
int train_run(run_config c, const train_options *opt, train_result *res);

/* FNV-1a 64 of the model's parameters and state, as 16 hex digits. */
void train_weights_hash(const model *m, char out[17]);

#endif
