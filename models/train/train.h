/* models/train/train.h — one training run: an experiment configuration, one seed,
 * one output folder.  `probador run` (tools/run.c) resolves the configuration
 * and calls train_run; the training benchmark calls train_step directly. */
#ifndef PROBADOR_TOOLS_TRAIN_H
#define PROBADOR_TOOLS_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "data/fashion_mnist.h"
#include "models/model.h"
#include "models/train_math.h"
#include "tools/config/config.h"

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
    bool resume;                /* continue from out_dir/checkpoint.bin; if there is none, a note on
                                   stderr and a fresh start (as `--resume --all` wants for the runs
                                   that were never interrupted) */
    int stop_after_epochs;      /* > 0: stop (as if interrupted) after this many epochs */
    const char *init_path;      /* init.from resolved to a checkpoint path, or NULL */
    const char *init_note;      /* written to init.txt: the source and its CRC (staleness) */
} train_options;

/* Trains and evaluates; writes epochs.csv, timing.csv, confusion.csv,
   per_class.csv, summary.csv, misclassified.csv, config.yaml, overrides.txt,
   environment.txt, checkpoint.bin and, when fine-tuning, init.txt into
   opt->out_dir, all atomically.  0, or -1 with an error printed.
   - opt->out_dir is created once the data and the model are ready, and
     config.yaml (and init.txt) written into it before the first epoch.
   - A resume is refused when that configuration differs from c on a key
     that decides results (train_config_differences), when the run started
     from another init.txt, or when the checkpoint's counters do not fit c.
   - A loss that is not finite (a training step, the validation or the final
     evaluation) ends the run with an error naming the epoch and step.
   - res counts every epoch of the run, those before a resume included:
     train_images from the data, train_seconds from timing.csv. */
int train_run(const exp_config *c, const train_options *opt, train_result *res);

/* Non-zero when two configurations differ in a key that decides results:
   every key but the prose, the lists of variants and seeds (the run's own are
   already applied) and the thread count (results do not depend on it).  When
   out is not NULL, names each differing key with both values,
   "training.learning_rate: 0.001 then, 0.002 now; ...".  Both as
   config_defaults/config_load leave them (every unused byte zero). */
int train_config_differences(const exp_config *before, const exp_config *now, char *out, size_t len);

/* FNV-1a 64 of the model's parameters and state, as 16 hex digits. */
void train_weights_hash(const model *m, char out[17]);

#endif
