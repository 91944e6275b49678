/* tools/report/results.c — read an experiment's run folders back (see the header). */
#include "tools/report/results.h"

#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/alloc.h"
#include "data/fashion_mnist.h"
#include "data/pretext.h"
#include "tools/report/report.h"
#include "tools/report/stats.h"
#include "tools/run.h"

void results_run_dir(const char *root, const char *name, const char *variant, int seed, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s%s%s/seed%d", root, name, variant[0] ? "/" : "", variant, seed);
}

void results_run_command(const char *yaml, const char *root, const char *variant, int seed, char *buf,
                         size_t len)
{
    char what[128];
    if (seed >= 0)
        snprintf(what, sizeof what, "%s%s --seed %d", variant[0] ? " --variant " : "", variant, seed);
    else
        snprintf(what, sizeof what, " --all");
    const int default_root = strcmp(root, RESULTS_DEFAULT_ROOT) == 0;
    snprintf(buf, len, "build/probador run %s%s%s%s", yaml, what, default_root ? "" : " --results ",
             default_root ? "" : root);
}

const char *results_variant(const exp_results *r, int group)
{
    return r->config->n_variants > 0 ? r->config->variants[group].name : "";
}

const char *results_label(const exp_results *r, int group)
{
    return r->config->n_variants > 0 ? r->config->variants[group].name : "base";
}

/* Loads DIR/FILE and finds the named columns (NULL-terminated) into col[]. */
static int load_csv(const run_result *run, const char *file, csv_table *t, const char *const *names, int *col)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", run->dir, file);
    if (csv_load(path, t))
        return -1;
    for (int i = 0; names[i]; i++)
        if ((col[i] = csv_col(t, names[i])) < 0) {
            csv_free(t);
            return -1;
        }
    return 0;
}

/* The number in (row, col), or an error naming the file's line. */
static int number(const csv_table *t, int row, int col, double *out)
{
    *out = csv_num(t, row, col);
    if (isfinite(*out))
        return 0;
    fprintf(stderr, "%s:%d: error: column '%s' holds '%s', expected a number; the file is damaged\n", t->path,
            row + 2, t->header[col], csv_cell(t, row, col));
    return -1;
}

/* A whole number in [lo, hi]. */
static int whole(const csv_table *t, int row, int col, double lo, double hi, int64_t *out)
{
    double v;
    if (number(t, row, col, &v))
        return -1;
    if (v != floor(v) || v < lo || v > hi) {
        fprintf(stderr,
                "%s:%d: error: column '%s' holds %s, expected a whole number from %.0f to %.0f; the file "
                "is damaged\n",
                t->path, row + 2, t->header[col], csv_cell(t, row, col), lo, hi);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

static int rows_expected(const csv_table *t, int want, const char *what)
{
    if (t->rows == want)
        return 0;
    fprintf(stderr,
            "%s: error: %d rows, expected %d (%s); the run did not finish or the file is from another "
            "run\n",
            t->path, t->rows, want, what);
    return -1;
}

static int load_summary(run_result *run)
{
    static const char *const names[] = { "seed",          "epochs",    "train_images", "test_images",
                                         "test_accuracy", "test_loss", "weights_hash", NULL };
    int col[7];
    csv_table t;
    if (load_csv(run, "summary.csv", &t, names, col))
        return -1;
    int64_t seed, epochs;
    int rc = rows_expected(&t, 1, "one per run") || whole(&t, 0, col[0], 0, 2147483647, &seed) ||
             whole(&t, 0, col[1], 1, 1e6, &epochs) || whole(&t, 0, col[2], 1, 1e9, &run->train_images) ||
             whole(&t, 0, col[3], 1, 1e9, &run->test_images) || number(&t, 0, col[4], &run->accuracy) ||
             number(&t, 0, col[5], &run->loss);
    if (!rc && seed != run->seed) {
        fprintf(stderr, "%s:2: error: the run is of seed %lld, but its folder says seed %d; move it aside\n",
                t.path, (long long)seed, run->seed);
        rc = -1;
    }
    if (!rc) {
        run->epochs = (int)epochs;
        snprintf(run->weights_hash, sizeof run->weights_hash, "%s", csv_cell(&t, 0, col[6]));
    }
    csv_free(&t);
    return rc ? -1 : 0;
}

/* The most other work beside any epoch of timing.csv table t: its other_cores
   column (machine_load.h), NaN when the table predates it. */
static double max_other_cores(const csv_table *t)
{
    int other = -1;
    for (int c = 0; c < t->cols; c++)
        other = strcmp(t->header[c], "other_cores") == 0 ? c : other;
    double most = NAN;
    for (int i = 0; other >= 0 && i < t->rows; i++) {
        const double o = csv_num(t, i, other);
        most = isnan(most) || o > most ? o : most;
    }
    return most;
}

double results_dir_other_cores(const char *dir)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    csv_table t;
    if (access(path, F_OK) != 0 || csv_load(path, &t))
        return NAN;
    const double most = max_other_cores(&t);
    csv_free(&t);
    return most;
}

static int load_timing(run_result *run)
{
    static const char *const names[] = { "seconds", NULL };
    int col[1];
    csv_table t;
    if (load_csv(run, "timing.csv", &t, names, col))
        return -1;
    int rc = rows_expected(&t, run->epochs, "one per epoch");
    run->seconds = 0;
    run->other_cores = max_other_cores(&t); /* older runs lack the column: NaN */
    for (int i = 0; i < t.rows && !rc; i++) {
        double s;
        rc = number(&t, i, col[0], &s);
        run->seconds += s;
    }
    if (!rc && !(run->seconds > 0)) {
        fprintf(stderr, "%s: error: the epochs add up to %g s of training; the file is damaged\n", t.path,
                run->seconds);
        rc = -1;
    }
    run->images_per_second = (double)run->train_images * run->epochs / run->seconds;
    csv_free(&t);
    return rc;
}

static int load_curve(run_result *run)
{
    static const char *const names[] = { "val_accuracy", "train_loss", "train_accuracy", "val_loss", NULL };
    int col[4];
    if (load_csv(run, "epochs.csv", &run->curve, names, col))
        return -1;
    run->curve_val_accuracy = col[0], run->curve_train_loss = col[1];
    run->curve_train_accuracy = col[2], run->curve_val_loss = col[3];
    int rc = rows_expected(&run->curve, run->epochs, "one per epoch");
    double v;
    for (int i = 0; i < run->curve.rows && !rc; i++)
        for (int c = 0; c < 4 && !rc; c++)
            rc = number(&run->curve, i, col[c], &v);
    return rc ? -1 : 0;
}

/* confusion.csv: header true,pred_0..pred_{n-1}, row i of true class i. */
static int load_confusion(run_result *run)
{
    static const char *const names[] = { "true", NULL };
    int col[1], pred[METRIC_CLASSES];
    csv_table t;
    if (load_csv(run, "confusion.csv", &t, names, col))
        return -1;
    run->classes = t.cols - 1;
    int rc = 0;
    if (run->classes < 2 || run->classes > METRIC_CLASSES) {
        fprintf(stderr, "%s:1: error: %d columns of predictions, expected 2 to %d; the file is damaged\n",
                t.path, run->classes, METRIC_CLASSES);
        rc = -1;
    }
    for (int j = 0; j < run->classes && !rc; j++) {
        char name[32];
        snprintf(name, sizeof name, "pred_%d", j);
        rc = (pred[j] = csv_col(&t, name)) < 0;
    }
    rc = rc || rows_expected(&t, run->classes, "one per true class");
    int64_t sum = 0, truth;
    for (int i = 0; i < run->classes && !rc; i++) {
        rc = whole(&t, i, col[0], i, i, &truth);
        for (int j = 0; j < run->classes && !rc; j++) {
            rc = whole(&t, i, pred[j], 0, 1e9, &run->confusion[i][j]);
            sum += run->confusion[i][j];
        }
    }
    if (!rc && sum != run->test_images) {
        fprintf(stderr,
                "%s: error: the matrix counts %lld images, summary.csv %lld; the files are from "
                "different runs\n",
                t.path, (long long)sum, (long long)run->test_images);
        rc = -1;
    }
    csv_free(&t);
    return rc ? -1 : 0;
}

static int by_test_index(const void *a, const void *b)
{
    const run_mistake *x = a, *y = b;
    return (x->test_index > y->test_index) - (x->test_index < y->test_index);
}

static int load_mistakes(run_result *run)
{
    static const char *const names[] = { "test_index", "true", "predicted", NULL };
    int col[3];
    csv_table t;
    if (load_csv(run, "misclassified.csv", &t, names, col))
        return -1;
    if (t.rows > run->test_images) {
        fprintf(stderr, "%s: error: %d misclassified images, more than the run's %lld; the files are from "
                        "different runs\n", t.path, t.rows, (long long)run->test_images);
        csv_free(&t);
        return -1;
    }
    run->mistakes = checked_calloc((size_t)t.rows + 1, sizeof *run->mistakes);
    run->n_mistakes = t.rows;
    int64_t count[METRIC_CLASSES][METRIC_CLASSES] = { { 0 } }, v[3];
    int rc = 0;
    for (int i = 0; i < t.rows && !rc; i++) {
        rc = whole(&t, i, col[0], 0, 1e9, &v[0]) || whole(&t, i, col[1], 0, METRIC_CLASSES - 1, &v[1]) ||
             whole(&t, i, col[2], 0, METRIC_CLASSES - 1, &v[2]);
        if (!rc)
            count[v[1]][v[2]]++;
        run->mistakes[i] = (run_mistake){ (int)v[0], (int)v[1], (int)v[2] };
    }
    for (int i = 0; i < METRIC_CLASSES && !rc && run->task == RUN_TASK_CLASSIFY; i++)
        for (int j = 0; j < METRIC_CLASSES && !rc; j++)
            if (count[i][j] != (i == j ? 0 : run->confusion[i][j])) {
                fprintf(stderr,
                        "%s: error: %lld images of class %d predicted as %d, confusion.csv counts %lld; "
                        "the files are from different runs\n",
                        t.path, (long long)count[i][j], i, j, (long long)(i == j ? 0 : run->confusion[i][j]));
                rc = -1;
            }
    qsort(run->mistakes, (size_t)run->n_mistakes, sizeof *run->mistakes, by_test_index);
    csv_free(&t);
    return rc;
}

static int load_config(run_result *run)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/config.yaml", run->dir);
    exp_config *c = checked_malloc(sizeof *c);
    const int rc = config_load(path, c);
    if (rc == 0) {
        snprintf(run->data_dir, sizeof run->data_dir, "%s", c->run.data.dir);
        run->task = c->run.task;
        run->validation_images = c->run.data.validation_images;
    }
    free(c);
    return rc;
}

static int load_sidecars(run_result *run)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/environment.txt", run->dir);
    if (report_read_env(path, &run->env))
        return -1;
    snprintf(path, sizeof path, "%s/overrides.txt", run->dir);
    run->overrides = report_read_text(path);
    return run->overrides ? 0 : -1;
}

/* 0; -1 after an error; RESULTS_MISSING when the run has no folder yet. */
static int load_run(const exp_results *r, run_result *run)
{
    char cmd[1400], all[1400];
    results_run_command(r->yaml, r->root, run->variant, run->seed, cmd, sizeof cmd);
    struct stat st;
    const bool found = stat(run->dir, &st) == 0;
    if (!found || !S_ISDIR(st.st_mode)) {
        const char *why = found ? "not a folder" : strerror(errno);
        results_run_command(r->yaml, r->root, "", -1, all, sizeof all);
        fprintf(stderr,
                "%s: error: no results of experiment %s%s%s, seed %d (%s); run `%s`, or `%s` for "
                "every run\n",
                run->dir, r->config->run.name, run->variant[0] ? ", variant " : "", run->variant, run->seed, why,
                cmd, all);
        char partial[1300];
        snprintf(partial, sizeof partial, "%s.partial", run->dir);
        if (stat(partial, &st) == 0)
            fprintf(stderr, "%s: note: an interrupted run is here; continue it with `%s --resume`\n", partial,
                    cmd);
        return found ? -1 : RESULTS_MISSING;
    }
    if (load_summary(run) || load_config(run) || load_timing(run) || load_curve(run) || load_confusion(run) ||
        load_mistakes(run) || load_sidecars(run)) {
        fprintf(stderr, "%s: note: to make this run again: `%s`\n", run->dir, cmd);
        return -1;
    }
    return 0;
}

int results_load(const char *yaml, const char *root, exp_results *r)
{
    memset(r, 0, sizeof *r);
    r->yaml = yaml, r->root = root;
    r->config = checked_malloc(sizeof *r->config);
    if (config_load(yaml, r->config) || results_check_report(r->config, yaml)) {
        results_free(r);
        return -1;
    }
    exp_config *v = checked_malloc(sizeof *v);
    int status = 0, missing = 0;
    r->n_groups = r->config->n_variants > 0 ? r->config->n_variants : 1;
    for (int g = 0; g < r->n_groups && !status; g++) { /* each group's seeds, its variant applied */
        memcpy(v, r->config, sizeof *v);
        status = r->config->n_variants > 0 && config_apply_variant(v, r->config->variants[g].name);
        r->groups[g].first = r->n_runs;
        r->groups[g].n_seeds = config_seeds(v, r->groups[g].seeds);
        r->n_runs += r->groups[g].n_seeds;
        r->uniform_seeds = g == 0 || r->groups[g].n_seeds == r->uniform_seeds ? r->groups[g].n_seeds : 0;
        for (int k = 0; k < r->groups[g].n_seeds && r->uniform_seeds; k++)
            r->uniform_seeds = r->groups[g].seeds[k] == r->groups[0].seeds[k] ? r->uniform_seeds : 0;
    }
    free(v);
    r->runs = status ? NULL : checked_calloc((size_t)r->n_runs, sizeof *r->runs);
    for (int g = 0; g < r->n_groups && r->runs; g++)
        for (int k = 0; k < r->groups[g].n_seeds; k++) {
            run_result *run = results_run(r, g, k);
            run->variant = results_variant(r, g);
            run->seed = r->groups[g].seeds[k];
            results_run_dir(root, r->config->run.name, run->variant, run->seed, run->dir, sizeof run->dir);
            const int rc = load_run(r, run); /* go on: report every missing run at once */
            missing += rc == RESULTS_MISSING;
            status = rc == -1 || (rc && status == 0) ? rc : status;
        }
    if (status == RESULTS_MISSING)
        fprintf(stderr, "%s: note: %d of the %d runs of experiment %s have no results yet\n", yaml, missing,
                r->n_runs, r->config->run.name);
    if (status)
        results_free(r);
    return status;
}

void results_free(exp_results *r)
{
    for (int i = 0; r->runs && i < r->n_runs; i++) {
        csv_free(&r->runs[i].curve);
        free(r->runs[i].mistakes);
        free(r->runs[i].overrides);
        tmpl_free(&r->runs[i].env);
    }
    free(r->runs);
    free(r->config);
    memset(r, 0, sizeof *r);
}

void results_summarise(const exp_results *r, int group, group_summary *s)
{
    const int n = r->groups[group].n_seeds;
    double acc[CONFIG_MAX_SEEDS], val[CONFIG_MAX_SEEDS], train = 0, loss = 0, seconds = 0, images = 0, seen = 0;
    for (int k = 0; k < n; k++) {
        const run_result *run = results_run(r, group, k);
        acc[k] = 100 * run->accuracy;
        val[k] = 100 * csv_num(&run->curve, run->epochs - 1, run->curve_val_accuracy);
        train += 100 * csv_num(&run->curve, run->epochs - 1, run->curve_train_accuracy);
        loss += run->loss, seconds += run->seconds;
        images += (double)run->train_images, seen += (double)run->train_images * run->epochs;
    }
    *s = (group_summary){ .runs = n };
    stats_mean_sd(acc, n, &s->accuracy_mean, &s->accuracy_sd);
    stats_mean_sd(val, n, &s->val_accuracy_mean, &s->val_accuracy_sd);
    s->train_accuracy_mean = train / n;
    s->loss_mean = loss / n;
    s->seconds_mean = seconds / n;
    s->images_per_second = seen / seconds; /* every image the runs trained on over all their time */
    s->train_images_mean = images / n;
}

/* The index of `name` in list[0..*n-1], appended when absent. */
static int find_or_add(char list[][CONFIG_NAME_MAX], int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(list[i], name) == 0)
            return i;
    snprintf(list[*n], CONFIG_NAME_MAX, "%s", name);
    return (*n)++;
}

/* The first series of report.series from `from` on that gathers the variant
   named `name`: it is SERIES_SUFFIX, as config_validate reads it; or -1. */
static int series_gathering(const config_report *rep, const char *name, int from)
{
    for (int i = from; i < rep->n_series; i++) {
        const size_t n = strlen(rep->series[i]);
        if (strncmp(name, rep->series[i], n) == 0 && name[n] == '_')
            return i;
    }
    return -1;
}

/* Orders the suffixes by their place on the axis, lowest first, stable (an
   insertion sort on an index); group[][] and axis follow. */
static void sort_suffixes(exp_series *s, const double *images)
{
    int order[CONFIG_MAX_VARIANTS];
    for (int x = 0; x < s->n_suffixes; x++) {
        int j = x;
        for (; j > 0 && images[order[j - 1]] > images[x]; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    const exp_series unsorted = *s;
    for (int x = 0; x < s->n_suffixes; x++) {
        snprintf(s->suffixes[x], CONFIG_NAME_MAX, "%s", unsorted.suffixes[order[x]]);
        s->axis[x] = images[order[x]];
        for (int i = 0; i < s->n_series; i++)
            s->group[i][x] = unsorted.group[i][order[x]];
    }
}

void results_series(const exp_results *r, exp_series *s)
{
    memset(s, 0, sizeof *s);
    const config_report *rep = &r->config->report;
    s->n_series = rep->n_series;
    for (int i = 0; i < s->n_series; i++) {
        snprintf(s->series[i], CONFIG_NAME_MAX, "%s", rep->series[i]);
        for (int x = 0; x < CONFIG_MAX_VARIANTS; x++)
            s->group[i][x] = -1;
    }
    s->by_epochs = rep->series_axis_epochs != 0;
    /* each gathered variant's suffix, and the mean of each suffix on the axis */
    double images[CONFIG_MAX_VARIANTS] = { 0 };
    int runs[CONFIG_MAX_VARIANTS] = { 0 };
    for (int v = 0; v < r->config->n_variants; v++) {
        const char *name = r->config->variants[v].name;
        const int i = series_gathering(rep, name, 0);
        if (i < 0)
            continue;
        const int x = find_or_add(s->suffixes, &s->n_suffixes, name + strlen(rep->series[i]) + 1);
        s->group[i][x] = v;
        for (int k = 0; k < r->groups[v].n_seeds; k++)
            images[x] += s->by_epochs ? results_run(r, v, k)->epochs : (double)results_run(r, v, k)->train_images,
            runs[x]++;
    }
    for (int x = 0; x < s->n_suffixes; x++)
        images[x] /= runs[x] ? runs[x] : 1;
    sort_suffixes(s, images);
}

int results_check_report(const exp_config *c, const char *path)
{
    const config_report *rep = &c->report;
    int status = 0;
    for (int v = 0; v < c->n_variants; v++) {
        const int first = series_gathering(rep, c->variants[v].name, 0),
                  second = first < 0 ? -1 : series_gathering(rep, c->variants[v].name, first + 1);
        if (second >= 0) {
            fprintf(stderr,
                    "%s: error: variant '%s' is in two series of report.series, '%s' and '%s'; rename the "
                    "variant or one series\n",
                    path, c->variants[v].name, rep->series[first], rep->series[second]);
            status = -1;
        }
    }
    return status;
}

const char *results_class_name(const run_result *run, int k)
{
    return run->task == RUN_TASK_ROTATION ? pretext_class_name(k) : fmnist_class_name(k);
}

bool results_run_stale(const char *yaml, const char *root, const char *variant, int seed)
{
    /* an experiment already within the quick limits resolves alike under both */
    return run_would_train(yaml, root, false, variant, seed, false) &&
           run_would_train(yaml, root, true, variant, seed, false);
}
