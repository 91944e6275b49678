/* tools/config/config.h — an experiment's configuration: read from YAML, overridden
 * Hydra-style with "a.b=value", validated, written back fully resolved.
 *
 * Contract
 * - One static schema table (tools/config/config_schema.c) drives parsing, overriding,
 *   writing and validation: every key's dotted path, type, range or choices,
 *   default and one-line doc.  There is no per-key code.
 * - Unknown keys are errors with a "did you mean" suggestion; so are duplicate keys,
 *   wrong types, out-of-range numbers, bad choices and missing required keys.
 *   Errors print on stderr compiler-style, "FILE:LINE:COL: error: ..." (1-based),
 *   or "override 'KEY=VALUE': error: ..." for an override; every error found is
 *   reported, not just the first.  Functions return 0, or -1 after printing.
 * - On failure the destination struct is left exactly as it was.
 * - Numbers: decimal ints ("15", "-3") and floats ("1e-3", "0.001"); trailing junk,
 *   hex, NaN and infinities are rejected.
 * - An override value, and a variant's "set:" value, is YAML flow text: 0.1,
 *   winograd, [0.9, 1.1], "text with: colons".
 * - config_write's output re-loads to a byte-identical struct (given structs that
 *   came from config_defaults/config_load, which zero every unused byte).
 * - Single-key checks happen as values are set; cross-key checks (scale lo <= hi,
 *   warm-up within the epochs, ...) in config_validate, which config_load runs on
 *   the base and on the base with each variant applied.  After overrides, call
 *   config_validate yourself. */
#ifndef PROBADOR_TOOLS_CONFIG_H
#define PROBADOR_TOOLS_CONFIG_H

#include <stdio.h>

#define CONFIG_NAME_MAX 64    /* identifiers [a-z0-9_-], 1..63 characters + NUL */
#define CONFIG_TEXT_MAX 16384 /* description: up to 16 KiB of prose */
#define CONFIG_PATH_MAX 1024
#define CONFIG_MAX_SEEDS 16
#define CONFIG_MAX_VARIANTS 32
#define CONFIG_MAX_SETS 16 /* overrides per variant */
#define CONFIG_SET_MAX 256 /* one "key=value" override, + NUL */
#define CONFIG_VARIANT_TEXT_MAX 2048

typedef enum config_model { CONFIG_MODEL_CNN, CONFIG_MODEL_RESNET } config_model;
typedef enum config_kernel {
    CONFIG_KERNEL_NAIVE,
    CONFIG_KERNEL_IM2COL,
    CONFIG_KERNEL_WINOGRAD,    /* F(4x4,3x3) where it applies */
    CONFIG_KERNEL_WINOGRAD_F2, /* F(2x2,3x3) */
} config_kernel;
typedef enum config_schedule { CONFIG_SCHEDULE_CONSTANT, CONFIG_SCHEDULE_COSINE } config_schedule;
typedef enum config_sampling { CONFIG_SAMPLING_BILINEAR, CONFIG_SAMPLING_NEAREST } config_sampling;
typedef enum config_conv_init { CONFIG_CONV_INIT_HE_NORMAL, CONFIG_CONV_INIT_UNIFORM } config_conv_init;
typedef enum config_task { CONFIG_TASK_CLASSIFY, CONFIG_TASK_ROTATION } config_task;

/* An ablation variant: a name and overrides of the base, each "dotted.key=value". */
typedef struct config_variant {
    char name[CONFIG_NAME_MAX];
    char description[CONFIG_VARIANT_TEXT_MAX]; /* optional; "" if none */
    int n_set;
    char set[CONFIG_MAX_SETS][CONFIG_SET_MAX];
} config_variant;

/* The report: section: what the experiment's report and the index show,
   declared rather than inferred from variant names. */
#define CONFIG_REPORT_MAX 8
typedef enum config_index_rows {
    CONFIG_INDEX_NONE, /* not in the index's headline table */
    CONFIG_INDEX_BASE, /* the base configuration's row */
    CONFIG_INDEX_ALL,  /* every variant's row, in file order (arms side by side) */
} config_index_rows;
typedef struct config_report {
    config_index_rows index;
    int n_series; /* series: variant-name prefixes; "scratch" gathers scratch_600, scratch_all, ... */
    char series[CONFIG_REPORT_MAX][CONFIG_NAME_MAX];
    int n_confusion; /* confusion: the variants whose confusion matrix is drawn; none = the first */
    char confusion[CONFIG_REPORT_MAX][CONFIG_NAME_MAX];
} config_report;

/* Fully resolved, defaults filled; see the schema (or config_write's output) for
   each key's meaning, range and default. */
typedef struct exp_config {
    char name[CONFIG_NAME_MAX];
    char description[CONFIG_TEXT_MAX + 1];
    struct {
        config_model name;
        int blocks;     /* resnet: basic blocks per stage */
        int width;      /* resnet: channels of the first stage */
        double dropout; /* cnn: before the last dense layer */
        config_conv_init conv_init;
    } model;
    config_kernel kernel;
    config_task task;
    struct {
        char dir[CONFIG_PATH_MAX];
        int train_images;      /* 0 = all not held out */
        int validation_images; /* held out of the training set */
        int test_images;       /* 0 = all */
        int per_class;         /* > 0: a class-balanced subset of this many per class */
    } data;
    struct {
        double rotation; /* ± degrees, 0 = off */
        double shift;    /* ± pixels, 0 = off */
        double scale[2]; /* [lo, hi], [1, 1] = off */
        double flip;     /* probability of a horizontal flip */
        config_sampling sampling;
    } augmentation;
    struct {
        int epochs, batch;
        double learning_rate, beta1, beta2, epsilon;
        double weight_decay; /* decoupled */
        config_schedule schedule;
        double warmup_epochs;
    } training;
    struct {
        char from[CONFIG_PATH_MAX]; /* "" = random init; an experiment name or a checkpoint path */
        int freeze_epochs;          /* trunk not updated for this many epochs */
        double trunk_lr_scale;      /* trunk learning rate = this × the head's */
    } init;
    int seed, threads;
    int n_seeds; /* 0 = just `seed`; see config_seeds */
    int seeds[CONFIG_MAX_SEEDS];
    int n_variants;
    config_variant variants[CONFIG_MAX_VARIANTS];
    config_report report;
} exp_config;

/* Zeroes the whole struct, then sets every default (name and description,
   which are required, stay empty). */
void config_defaults(exp_config *c);
/* Parses and validates a YAML experiment file into *c. */
int config_load(const char *path, exp_config *c);
/* Applies one "dotted.key=value" override (single-key checks only). */
int config_override(exp_config *c, const char *assignment);
/* Applies a variant's overrides; an unknown name is an error listing the known ones. */
int config_apply_variant(exp_config *c, const char *variant_name);
/* Writes every key in schema order, with its doc as a comment; 0, or -1 on a write error. */
int config_write(const exp_config *c, FILE *f);
/* Checks every key's range and the cross-key constraints; errors are prefixed
   with `path` (or the experiment's name when path is NULL). */
int config_validate(const exp_config *c, const char *path);

/* The seeds to run: c->seeds, or just c->seed when none are listed; returns the count. */
int config_seeds(const exp_config *c, int out[CONFIG_MAX_SEEDS]);
/* "cnn", "winograd_f2", "cosine", ...; "?" if out of range. */
const char *config_model_name(config_model m);
const char *config_kernel_name(config_kernel k);
const char *config_schedule_name(config_schedule s);
const char *config_task_name(config_task t);

#endif
