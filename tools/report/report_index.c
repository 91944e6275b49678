/* tools/report/report_index.c — `probador report index [--experiments DIR]
 * [--results ROOT] [--out-dir OUT]`: OUT/README.md, the front page of the
 * reports.
 *
 * The headline table lists the experiments whose file (DIR/NAME.yaml, read with
 * config_load) sets report.index, in the order of their names (strcmp: cnn,
 * resnet20, transfer): with `base`, the base configuration's row; with `all`,
 * a row per variant in the file's order, so that the arms of a comparison
 * (scratch_600, finetune_600, ...) stand side by side.  Each row sums the
 * rows of ROOT/summary.csv of that (experiment, variant), in its file order; a
 * variant without any is left out.  Each row's augmentation is read from its
 * first run's config.yaml.  Then every Markdown report in OUT with its title
 * and first sentence. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/alloc.h"
#include "data/atomic_file.h"
#include "models/train/machine_load.h"
#include "tools/report/csv.h"
#include "tools/report/report.h"
#include "tools/report/results.h"
#include "tools/report/stats.h"

#define DEFAULT_EXPERIMENTS_DIR "experiments"
enum { MAX_ROWS = CONFIG_MAX_SEEDS * 4 }; /* summary.csv rows summed into one table row */

static const char usage_text[] =
    "usage: probador report index [--experiments DIR] [--results DIR] [--out-dir OUT]\n"
    "  writes OUT/README.md: the headline results from DIR/summary.csv of the experiments in\n"
    "  --experiments (default experiments) whose report.index is base or all, and a list of the\n"
    "  reports in OUT (default: reports/results, reports)\n";

enum { COL_EXPERIMENT, COL_VARIANT, COL_SEED, COL_MODEL, COL_KERNEL, COL_ACCURACY, COL_SECONDS, NUM_COLS };

/* ROOT/summary.csv and its columns. */
typedef struct summary {
    csv_table t;
    int col[NUM_COLS];
    const char *root, *out_dir;
    int shared, unknown; /* rows marked: a run beside other work (‡), a run without the record (†) */
    int stale;           /* rows marked: a run that would train again (§, results_run_stale) */
} summary;

/* "rotation ±10°, shift ±2 px, scale 0.9–1.1, flip 0.5, crop ±4 px, erasing 0.5", the active ones
   only, or "none". */
static void augmentation_text(const exp_config *c, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
#define PART(...)                                                                                            \
    (n += (size_t)snprintf(buf + n, len - n, "%s", n ? ", " : ""),                                           \
     n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__))
    if (c->run.augmentation.rotation > 0)
        PART("rotation ±%g°", c->run.augmentation.rotation);
    if (c->run.augmentation.shift > 0)
        PART("shift ±%g px", c->run.augmentation.shift);
    if (c->run.augmentation.scale[0] != 1 || c->run.augmentation.scale[1] != 1)
        PART("scale %g–%g", c->run.augmentation.scale[0], c->run.augmentation.scale[1]);
    if (c->run.augmentation.flip > 0)
        PART("flip %g", c->run.augmentation.flip);
    if (c->run.augmentation.crop_padding > 0)
        PART("crop ±%d px", c->run.augmentation.crop_padding);
    if (c->run.augmentation.erasing > 0)
        PART("erasing %g", c->run.augmentation.erasing);
#undef PART
    if (!n)
        snprintf(buf, len, "none");
}

/* The augmentation of the run of summary row r0, from its config.yaml. */
static int run_augmentation(const summary *s, int r0, const char *exp, const char *v, char *buf, size_t len)
{
    const csv_table *t = &s->t;
    char dir[1300], path[1400];
    results_run_dir(s->root, exp, v, atoi(csv_cell(t, r0, s->col[COL_SEED])), dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    exp_config *c = checked_malloc(sizeof *c);
    const int rc = config_load(path, c);
    if (rc)
        fprintf(stderr,
                "%s: note: listed in %s; rerun it with `build/probador run experiments/%s.yaml%s%s "
                "--seed %s`\n",
                dir, t->path, exp, v[0] ? " --variant " : "", v, csv_cell(t, r0, s->col[COL_SEED]));
    else
        augmentation_text(c, buf, len);
    free(c);
    return rc;
}

/* One table row: the summary rows rows[0..n-1] of one (experiment, variant);
   yaml: the experiment's file, NULL when unknown (then no staleness mark). */
static int write_row(FILE *f, summary *s, const char *yaml, const int *rows, int n)
{
    const csv_table *t = &s->t;
    const int *col = s->col, r0 = rows[0];
    const char *exp = csv_cell(t, r0, col[COL_EXPERIMENT]), *variant = csv_cell(t, r0, col[COL_VARIANT]);
    const char *v = strcmp(variant, "-") ? variant : "";
    double acc[MAX_ROWS], seconds = 0, mean, sd;
    bool shared = false, unknown = false, stale = false;
    for (int i = 0; i < n; i++) {
        char dir[1300];
        const int seed = atoi(csv_cell(t, rows[i], col[COL_SEED]));
        results_run_dir(s->root, exp, v, seed, dir, sizeof dir);
        stale |= yaml && results_run_stale(yaml, s->root, v, seed);
        const double other = results_dir_other_cores(dir);
        shared |= other > LOAD_CONTAMINATED, unknown |= isnan(other);
        acc[i] = 100 * csv_num(t, rows[i], col[COL_ACCURACY]);
        seconds += csv_num(t, rows[i], col[COL_SECONDS]) / n;
        if (isnan(acc[i]) || isnan(seconds)) {
            fprintf(stderr,
                    "%s:%d: error: test_accuracy or train_seconds is not a number; the file is damaged\n",
                    t->path, rows[i] + 2);
            return -1;
        }
    }
    stats_mean_sd(acc, n, &mean, &sd);
    char path[1400], aug[256], ms[64], link[1400];
    if (run_augmentation(s, r0, exp, v, aug, sizeof aug))
        return -1;
    snprintf(path, sizeof path, "%s/%s.md", s->out_dir, exp);
    if (access(path, F_OK) == 0)
        snprintf(link, sizeof link, "[%s.md](%s.md)", exp, exp);
    else
        snprintf(link, sizeof link, "not rendered yet");
    fprintf(f, "| %s%s%s%s | %s | %s | %s | %s (%d seed%s)%s | ", exp, v[0] ? " (" : "", v, v[0] ? ")" : "",
            csv_cell(t, r0, col[COL_MODEL]), csv_cell(t, r0, col[COL_KERNEL]), aug,
            report_mean_sd(mean, sd, ms, sizeof ms), n, n > 1 ? "s" : "", stale ? " §" : "");
    s->stale += stale;
    const char *mark = shared ? " ‡" : unknown ? " †" : "";
    s->shared += shared, s->unknown += !shared && unknown;
    if (seconds >= 60)
        fprintf(f, "%.1f min%s | %s |\n", seconds / 60, mark, link);
    else
        fprintf(f, "%.0f s%s | %s |\n", seconds, mark, link);
    return 0;
}

/* The summary rows of (experiment, variant), "-" the base, in file order. */
static int rows_of(const summary *s, const char *exp, const char *variant, int *rows)
{
    int n = 0;
    for (int i = 0; i < s->t.rows && n < MAX_ROWS; i++)
        if (!strcmp(csv_cell(&s->t, i, s->col[COL_EXPERIMENT]), exp) &&
            !strcmp(csv_cell(&s->t, i, s->col[COL_VARIANT]), variant))
            rows[n++] = i;
    return n;
}

/* The rows report.index asks of one experiment (its file yaml, or NULL); *written
   counts the table's rows. */
static int write_experiment(FILE *f, summary *s, const exp_config *c, const char *yaml, int *written)
{
    const bool base = c->report.index == CONFIG_INDEX_BASE || c->n_variants == 0;
    const int n_arms = base ? 1 : c->n_variants;
    for (int a = 0; a < n_arms; a++) {
        int rows[MAX_ROWS];
        const int n = rows_of(s, c->run.name, base ? "-" : c->variants[a].name, rows);
        if (n == 0)
            continue;
        if ((*written)++ == 0)
            fprintf(f, "| experiment | model | kernel | augmentation | test accuracy %% | training time per "
                       "run | report |\n|---|---|---|---|---:|---:|---|\n");
        if (write_row(f, s, yaml, rows, n))
            return -1;
    }
    return 0;
}

static int load_summary(const char *path, summary *s)
{
    static const char *const names[NUM_COLS] = { "experiment", "variant",       "seed",         "model",
                                                 "kernel",     "test_accuracy", "train_seconds" };
    if (csv_load(path, &s->t))
        return -1;
    for (int i = 0; i < NUM_COLS; i++)
        if ((s->col[i] = csv_col(&s->t, names[i])) < 0) {
            csv_free(&s->t);
            return -1;
        }
    return 0;
}

/* When the table has no row: which experiments it would list, or that none asks. */
static void write_no_rows(FILE *f, const exp_config *const *experiments, int n, const char *path)
{
    int listed = 0;
    for (int e = 0; e < n; e++)
        if (experiments[e]->report.index != CONFIG_INDEX_NONE)
            fprintf(f, "%s%s", listed++ ? ", " : "None of the headline experiments (", experiments[e]->run.name);
    if (listed)
        fprintf(f, ") has results in `%s` yet.\n", path);
    else
        fprintf(f, "No experiment file sets `report.index` (base or all), so none is a headline "
                   "experiment.\n");
}

static int write_headline(FILE *f, const exp_config *const *experiments, const char *const *paths, int n,
                          const char *root, const char *out_dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/summary.csv", root);
    fprintf(
        f,
        "## Headline results\n\nOne row per experiment and variant: the test accuracy of the final model, "
        "mean ± sample standard deviation over seeds, and the training time of one run (`%s`).\n\n",
        path);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "%s: note: no results yet; the index lists the reports only\n", path);
        fprintf(f, "No results yet: run `make reproduce`.\n\n");
        return 0;
    }
    summary s = { .root = root, .out_dir = out_dir };
    if (load_summary(path, &s))
        return -1;
    int rc = 0, written = 0;
    for (int e = 0; e < n && !rc; e++)
        if (experiments[e]->report.index != CONFIG_INDEX_NONE)
            rc = write_experiment(f, &s, experiments[e], paths ? paths[e] : NULL, &written);
    if (!rc && written == 0)
        write_no_rows(f, experiments, n, path);
    if (s.stale)
        fprintf(f, "\n§ Stale: at least one run of the row no longer matches its experiment file or this build's "
                   "arithmetic (the numerics version), so the figure is that run's and not yet the experiment's as "
                   "its file now reads; `make reproduce` reruns it (`make plan` lists what it would run).\n");
    if (s.shared)
        fprintf(f, "\n‡ At least one run of the row trained while other work held the cores (more than %.2f of a "
                   "core beside some epoch: `timing.csv`'s `other_cores`); its training time says little about "
                   "probador's speed, which `reports/kernels.md` measures on a quiet machine.\n",
                LOAD_CONTAMINATED);
    if (s.unknown)
        fprintf(f, "\n† At least one run of the row predates the record of the machine's load, so whether other "
                   "work shared the cores while it trained is unknown.\n");
    fprintf(f, "\n");
    csv_free(&s.t);
    return rc;
}

/* The report's title (its first "# " line) and the first sentence of its first
   paragraph of prose: paragraphs that open with a heading, an emphasised note,
   an image, a table, HTML, code, a list or a quote are passed over. */
static void describe(const char *text, char *title, size_t tlen, char *sentence, size_t slen)
{
    snprintf(title, tlen, "untitled");
    sentence[0] = '\0';
    bool titled = false, skipping = false, in_prose = false;
    size_t n = 0;
    for (const char *line = text; *line;) {
        const size_t len = strcspn(line, "\n");
        const char *next = line + len + (line[len] == '\n');
        const bool blank = len == 0, opens = !in_prose && !skipping && !blank;
        if (!titled && !strncmp(line, "# ", 2)) {
            snprintf(title, tlen, "%.*s", (int)(len - 2), line + 2);
            titled = true;
        }
        if (blank && in_prose)
            break;
        if (blank)
            skipping = false;
        else if (opens && strchr("#*!|<`->", line[0]))
            skipping = true;
        else if (!skipping) {
            in_prose = true;
            n += (size_t)snprintf(sentence + n, n < slen ? slen - n : 0, "%s%.*s", n ? " " : "", (int)len,
                                  line);
            if (n >= slen)
                break;
        }
        line = next;
    }
    /* the first sentence: up to a '.', '?' or '!' followed by the end or a space and a capital */
    for (char *p = sentence; *p; p++)
        if (strchr(".?!", *p) && (!p[1] || (p[1] == ' ' && p[2] >= 'A' && p[2] <= 'Z'))) {
            p[1] = '\0';
            break;
        }
}

static int is_report(const struct dirent *e)
{
    const size_t n = strlen(e->d_name);
    return n > 3 && !strcmp(e->d_name + n - 3, ".md") && strcmp(e->d_name, "README.md") != 0;
}

static int write_list(FILE *f, const char *out_dir)
{
    struct dirent **list;
    const int n = scandir(out_dir, &list, is_report, alphasort);
    fprintf(f, "## Reports\n\n");
    if (n <= 0)
        fprintf(f, "None yet: run `make reproduce`.\n");
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[1300], title[512], sentence[2048];
        snprintf(path, sizeof path, "%s/%s", out_dir, list[i]->d_name);
        char *text = rc ? NULL : report_read_text(path);
        if (text) {
            describe(text, title, sizeof title, sentence, sizeof sentence);
            fprintf(f, "- [%s](%s)%s%s\n", title, list[i]->d_name, sentence[0] ? ": " : "", sentence);
        } else
            rc = -1;
        free(text);
        free(list[i]);
    }
    if (n >= 0)
        free(list);
    return rc;
}

int report_index_write(const exp_config *const *experiments, const char *const *paths, int n, const char *root,
                       const char *out_dir)
{
    char md[1100];
    snprintf(md, sizeof md, "%s/README.md", out_dir);
    if (report_mkdirs(out_dir))
        return -1;
    atomic_file out;
    if (!atomic_open(&out, md))
        return -1;
    fprintf(out.f,
            "# probador: results\n\n*Generated by `build/probador report index` — do not edit; regenerate "
            "with `make report`.*\n\n"
            "probador trains small convolutional networks to recognise clothing in Fashion-MNIST and "
            "reports on them: every number here is read from the results in `%s`, which `make reproduce` "
            "regenerates where its inputs changed.",
            root);
    const char *base = strrchr(root, '/') ? strrchr(root, '/') + 1 : root;
    if (strcmp(base, "results-quick") == 0)
        fprintf(out.f, " These are the **quick profile**'s reports (`make reproduce PROFILE=quick`): every "
                       "experiment run on a small slice of the data for a few epochs, in minutes. They exist so "
                       "that `make verify` can rerun them from scratch and compare every result file byte for "
                       "byte; their accuracies say nothing about the models.");
    else
        fprintf(out.f, " `reports/quick/` holds the same reports from the quick profile (`make reproduce "
                       "PROFILE=quick`: a small slice, a few epochs), the reference `make verify` reruns and "
                       "compares byte for byte; its accuracies say nothing about the models.");
    fprintf(out.f, "\n\n");
    if (write_headline(out.f, experiments, paths, n, root, out_dir) || write_list(out.f, out_dir)) {
        atomic_abort(&out);
        return -1;
    }
    if (!atomic_commit(&out))
        return -1;
    fprintf(stderr, "report: wrote %s\n", md);
    return 0;
}

static int is_yaml(const struct dirent *e)
{
    const size_t n = strlen(e->d_name);
    return n > 5 && !strcmp(e->d_name + n - 5, ".yaml");
}

/* An experiment file, loaded. */
typedef struct experiment_file {
    exp_config *c;
    char path[1300];
} experiment_file;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const experiment_file *)a)->c->run.name, ((const experiment_file *)b)->c->run.name);
}

/* Every DIR/NAME.yaml, loaded and sorted by experiment name into *out (free each
   one's config and the array); their count, or -1 with the errors printed. */
static int load_experiments(const char *dir, experiment_file **out)
{
    struct dirent **list;
    const int n = scandir(dir, &list, is_yaml, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s: error: cannot list the experiment files: %s; give the folder of the YAML "
                        "files with --experiments DIR\n", dir, strerror(errno));
        return -1;
    }
    experiment_file *e = checked_calloc((size_t)n + 1, sizeof *e);
    int status = 0;
    for (int i = 0; i < n; i++) {
        snprintf(e[i].path, sizeof e[i].path, "%s/%s", dir, list[i]->d_name);
        e[i].c = checked_malloc(sizeof *e[i].c);
        if (config_load(e[i].path, e[i].c))
            status = -1; /* go on: every broken file at once */
        else if (e[i].c->report.index == CONFIG_INDEX_BASE && e[i].c->n_variants > 0) {
            fprintf(stderr, "%s: error: report.index is base, but the experiment has variants, so no run "
                            "of the base alone; use report.index: all\n", e[i].path);
            status = -1;
        }
        free(list[i]);
    }
    free(list);
    if (status == 0)
        qsort(e, (size_t)n, sizeof *e, by_name);
    *out = e;
    return status ? -1 : n;
}

int report_index(int argc, char **argv)
{
    const char *root = RESULTS_DEFAULT_ROOT, *out_dir = "reports", *dir = DEFAULT_EXPERIMENTS_DIR;
    const report_option options[] = {
        { "--results", &root }, { "--out-dir", &out_dir }, { "--experiments", &dir }, { NULL, NULL }
    };
    const int exit_code = report_args(argc, argv, usage_text, options, NULL);
    if (exit_code >= 0)
        return exit_code;
    experiment_file *files = NULL;
    const int n = load_experiments(dir, &files);
    int rc = -1;
    if (n >= 0) {
        const exp_config **configs = checked_calloc((size_t)n + 1, sizeof *configs);
        const char **paths = checked_calloc((size_t)n + 1, sizeof *paths);
        for (int i = 0; i < n; i++)
            configs[i] = files[i].c, paths[i] = files[i].path;
        rc = report_index_write(configs, paths, n, root, out_dir);
        free(configs), free(paths);
    }
    for (int i = 0; files && files[i].c; i++)
        free(files[i].c);
    free(files);
    return rc ? 1 : 0;
}
