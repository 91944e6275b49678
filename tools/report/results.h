/* tools/report/results.h — an experiment's runs, read back from their folders for the
 * reports.
 *
 * Layout (written by `probador run`): ROOT/NAME/seedS/ when the experiment has
 * no variants, ROOT/NAME/VARIANT/seedS/ when it has, each holding summary.csv,
 * epochs.csv, timing.csv, confusion.csv, misclassified.csv, config.yaml,
 * overrides.txt and environment.txt.  Which runs there must be is decided by
 * the experiment file alone, as `probador run --all` does: each variant in
 * order (or the base) × the seeds of config_seeds with the variant applied (a
 * variant may list its own).
 *
 * Contract
 * - results_load reads every file of every run and checks it: the CSV shapes
 *   (csv.h), numbers where numbers belong, a run's seed, epochs and test-image
 *   count against its confusion matrix and misclassified list.  A missing run
 *   or file, a ragged or inconsistent CSV is a compiler-style error naming the
 *   path, followed by the command that makes the run again; it returns -1 with
 *   nothing left allocated.
 * - Accuracy is kept as the fraction the CSVs hold; the reports print percent. */
#ifndef PROBADOR_TOOLS_RESULTS_H
#define PROBADOR_TOOLS_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/train_math.h"
#include "tools/config/config.h"
#include "tools/report/csv.h"
#include "tools/report/template.h"

#define RESULTS_DEFAULT_ROOT "reports/results"

typedef struct run_mistake {
    int test_index; /* in the Fashion-MNIST test split (t10k) */
    int truth, predicted;
} run_mistake;

typedef struct run_result {
    const char *variant; /* "" for the base experiment */
    int seed;
    char dir[1200];   /* ROOT/NAME/[VARIANT/]seedS */
    int task; /* run_task */ /* of its config.yaml: classify, or the rotation pretext */
    int classes;      /* of its confusion matrix: 10, or 4 quarter turns */
    int epochs;
    int64_t train_images;     /* per epoch */
    int64_t test_images;      /* evaluated: the test images (the pretext task: validation images) */
    int validation_images;    /* held out of the training set (its config.yaml) */
    double accuracy, loss;    /* of the final model on those */
    double seconds;           /* training wall time: the sum of timing.csv */
    double other_cores;       /* the most other work beside any epoch (timing.csv), NaN when not recorded */
    double images_per_second; /* train_images · epochs / seconds */
    char weights_hash[40];
    int64_t confusion[METRIC_CLASSES][METRIC_CLASSES]; /* [true][predicted], classes × classes used */
    csv_table curve;                                   /* epochs.csv: epoch,train_loss,...,val_accuracy,... */
    int curve_val_accuracy, curve_train_loss;          /* its columns */
    int curve_train_accuracy, curve_val_loss;
    run_mistake *mistakes;                             /* misclassified.csv, sorted by test_index */
    int n_mistakes;
    char data_dir[CONFIG_PATH_MAX]; /* data.dir of its config.yaml */
    char *overrides;                /* overrides.txt, "" if none */
    tmpl_vars env;                  /* environment.txt as env.KEY */
} run_result;

/* A variant (or the base) and its runs: runs[first .. first + n_seeds - 1]. */
typedef struct run_group {
    int first, n_seeds;
    int seeds[CONFIG_MAX_SEEDS];
} run_group;

typedef struct exp_results {
    const char *yaml, *root; /* as given to results_load */
    exp_config *config;      /* the experiment file */
    int n_groups;            /* its variants, or 1: the base */
    run_group groups[CONFIG_MAX_VARIANTS];
    int n_runs;
    run_result *runs;  /* group by group, each's seeds in order */
    int uniform_seeds; /* every group has the same seeds: how many; else 0 */
} exp_results;

/* Summary over the seeds of one group, accuracies in percent. */
typedef struct group_summary {
    int runs;
    double accuracy_mean, accuracy_sd; /* sd NaN for one run */
    double val_accuracy_mean, val_accuracy_sd; /* the final epoch's validation accuracy (epochs.csv) */
    double train_accuracy_mean; /* the final epoch's running accuracy on the (augmented) training batches */
    double loss_mean, seconds_mean;
    double images_per_second; /* the images the runs trained on over their training time, all runs together */
    double train_images_mean; /* training images per epoch */
} group_summary;

/* The series the experiment file declares (report.series): series i gathers,
   in file order, the variants named SERIES_SUFFIX where SERIES is
   report.series[i] (series "scratch": scratch_600, scratch_6000, scratch_all;
   suffixes 600, 6000, all).  Series in the order report.series lists them;
   suffixes by their position on the axis report.series_axis names (the mean
   training images per epoch of their variants' runs, or their mean epochs),
   lowest first (the first appearance in the file on a tie). */
typedef struct exp_series {
    int n_series, n_suffixes;
    char series[CONFIG_REPORT_MAX][CONFIG_NAME_MAX];
    char suffixes[CONFIG_MAX_VARIANTS][CONFIG_NAME_MAX];
    int group[CONFIG_REPORT_MAX][CONFIG_MAX_VARIANTS]; /* [series][suffix]: the variant, or -1 */
    double axis[CONFIG_MAX_VARIANTS];                  /* [suffix]: mean over its variants' runs */
    bool by_epochs;                                    /* the axis: epochs, or else training images */
} exp_series;

/* Reads the experiment file and every run of it (see the contract above); the
   file's report: section is checked with results_check_report.  0; -1 after an
   error; RESULTS_MISSING when the only trouble is runs with no results yet (an
   experiment still under way), each named on stderr. */
enum { RESULTS_MISSING = 3 };
int results_load(const char *yaml, const char *root, exp_results *r);
void results_free(exp_results *r);

static inline run_result *results_run(const exp_results *r, int group, int seed_index)
{
    return &r->runs[r->groups[group].first + seed_index];
}
/* The group's variant name, or "" for the base. */
const char *results_variant(const exp_results *r, int group);
/* The group's name in reports and template keys: the variant, or "base". */
const char *results_label(const exp_results *r, int group);
void results_summarise(const exp_results *r, int group, group_summary *s);
/* The declared series (above); s->n_series is 0 when report.series is empty.
   Assumes results_check_report passed. */
void results_series(const exp_results *r, exp_series *s);
/* What config_load leaves to the report in the report: section: no variant is
   gathered by two series ("a" and "a_b" both gather a_b_1).  0, or -1 after an
   error per such variant, "PATH: error: ...".  (config_load checks that each
   entry names variants, once.) */
int results_check_report(const exp_config *c, const char *path);
/* Name of class k of the run's task: "T-shirt/top", ... or "0°", "90°", ... */
const char *results_class_name(const run_result *run, int k);

/* Whether `probador run YAML --variant VARIANT --seed SEED --results ROOT
   --if-stale` would train the run again, under the full profile's
   configuration and under the quick one's (--quick) alike: the run no longer
   matches the experiment file, or this build's arithmetic (RUN_NUMERICS).  A
   report says so rather than present such a run as the experiment's. */
bool results_run_stale(const char *yaml, const char *root, const char *variant, int seed);
/* The most cores of other work beside any epoch of the run in folder dir
   (its timing.csv's other_cores), NaN when not recorded or unreadable. */
double results_dir_other_cores(const char *dir);
/* The folder of one run: ROOT/NAME/[VARIANT/]seedS. */
void results_run_dir(const char *root, const char *name, const char *variant, int seed, char *buf,
                     size_t len);
/* The command that makes one run (variant "" = base), or with seed < 0 every run:
   "build/probador run YAML [--variant V] --seed S [--results ROOT]" / "... --all ...". */
void results_run_command(const char *yaml, const char *root, const char *variant, int seed, char *buf,
                         size_t len);

#endif
