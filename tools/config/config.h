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

#include "models/train/run_config.h"

#define CONFIG_NAME_MAX RUN_NAME_MAX /* identifiers [a-z0-9_-], 1..63 characters + NUL */
#define CONFIG_TEXT_MAX 16384        /* description: up to 16 KiB of prose */
#define CONFIG_PATH_MAX RUN_PATH_MAX
#define CONFIG_MAX_SEEDS 16
#define CONFIG_MAX_VARIANTS 32
#define CONFIG_MAX_SETS 16 /* overrides per variant */
#define CONFIG_SET_MAX 256 /* one "key=value" override, + NUL */
#define CONFIG_VARIANT_TEXT_MAX 2048

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
    int series_axis_epochs; /* series_axis: 0 = training images per epoch (log), 1 = epochs */
    int pytorch_peer;       /* pytorch_peer: 0 = none, else config_peer_name's model */
    char versus[CONFIG_NAME_MAX]; /* versus: the experiment whose base the findings compare with; "" = none */
} config_report;

/* An experiment file, fully resolved, defaults filled: its prose, the base
   run (`run`: every key the training engine reads, models/train/run_config.h),
   the seeds and variants to run and what its report shows.  See the schema (or
   config_write's output) for each key's meaning, range and default.  One run
   is config_resolve_run's: the base with a variant, a seed and overrides. */
typedef struct exp_config {
    char description[CONFIG_TEXT_MAX + 1];
    run_config run;
    int n_seeds; /* 0 = just run.seed; see config_seeds */
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
/* Writes a run's config.yaml: the keys of the file that ran (name, prose,
   every run key, its seeds) with `variants: []` (the variant is applied and
   named by the run's folder) and no report: section (it decides no result).
   0, or -1 on a write error. */
int config_write_run(const exp_config *c, FILE *f);

/* Non-zero when two configurations' runs differ in a key that decides results:
   every run key but the thread count (results do not depend on it); the
   prose, seeds, variants and report options are not the run's.  When out is
   not NULL, names each differing key with both values,
   "training.learning_rate: 0.001 then, 0.002 now; ...".  Both as
   config_defaults/config_load leave them (every unused byte zero). */
int config_run_differences(const exp_config *before, const exp_config *now, char *out, size_t len);
/* The same, each value followed by its side's label: labels " then" and " now"
   give config_run_differences's "training.learning_rate: 0.001 then, 0.002 now". */
int config_run_differences_as(const exp_config *before, const char *before_as, const exp_config *now,
                              const char *now_as, char *out, size_t len);

/* The names of a run's choices, from their registries: "cnn", "winograd_f2", ... */
const char *config_model_name(const run_config *r);
/* Whether init.from names a checkpoint file (a '/' in it, or a name ending
   .bin) rather than an experiment. */
bool config_init_is_path(const char *from);
/* report.pytorch_peer's names: "none", "cnn", "resnet20"; NULL past the last. */
const char *config_peer_name(int i);
const char *config_kernel_name(const run_config *r);

#endif
