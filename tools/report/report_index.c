/* tools/report/report_index.c — `probador report index [--results DIR] [--out-dir OUT]`:
 * OUT/README.md, the front page of the reports.  The headline table has one row
 * per (experiment, variant) of DIR/summary.csv among the headline experiments
 * (cnn, resnet20, and transfer's pretrained* and finetune* variants; whichever
 * have runs), with each run's augmentation read from its config.yaml.  Then
 * every Markdown report in OUT with its title and first sentence. */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/atomic_file.h"
#include "tools/report/csv.h"
#include "tools/report/report.h"
#include "tools/report/results.h"
#include "tools/report/stats.h"

static const struct {
    const char *experiment;
    const char *prefixes[3]; /* variants shown: those starting with one of these; none listed = all */
} headline[] = {
    { "cnn", { NULL } },
    { "resnet20", { NULL } },
    { "transfer", { "pretrained", "finetune", NULL } },
};
enum { NUM_HEADLINE = sizeof headline / sizeof headline[0] };

static const char usage_text[] =
    "usage: probador report index [--results DIR] [--out-dir OUT]\n"
    "  writes OUT/README.md: the headline results from DIR/summary.csv and a list of the reports in OUT\n"
    "  (default: reports/results, reports)\n";

enum { COL_EXPERIMENT, COL_VARIANT, COL_SEED, COL_MODEL, COL_KERNEL, COL_ACCURACY, COL_SECONDS, NUM_COLS };

static bool shown_variant(int h, const char *variant)
{
    if (!headline[h].prefixes[0])
        return true;
    for (int i = 0; headline[h].prefixes[i]; i++)
        if (!strncmp(variant, headline[h].prefixes[i], strlen(headline[h].prefixes[i])))
            return true;
    return false;
}

/* "rotation ±10°, shift ±2 px, scale 0.9–1.1, flip 0.5", the active ones only, or "none". */
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
#undef PART
    if (!n)
        snprintf(buf, len, "none");
}

/* One table row: the summary rows rows[0..n-1] of one (experiment, variant). */
static int write_row(FILE *f, const csv_table *t, const int *col, const int *rows, int n, const char *root,
                     const char *out_dir)
{
    const int r0 = rows[0];
    const char *exp = csv_cell(t, r0, col[COL_EXPERIMENT]), *variant = csv_cell(t, r0, col[COL_VARIANT]);
    const char *v = strcmp(variant, "-") ? variant : "";
    double acc[CONFIG_MAX_SEEDS * 4], seconds = 0, mean, sd;
    for (int i = 0; i < n; i++) {
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
    char dir[1300], path[1400], aug[256], ms[64], link[1400];
    results_run_dir(root, exp, v, atoi(csv_cell(t, r0, col[COL_SEED])), dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    exp_config *c = malloc(sizeof *c);
    if (config_load(path, c)) {
        fprintf(stderr,
                "%s: note: listed in %s; rerun it with `build/probador run experiments/%s.yaml%s%s "
                "--seed %s`\n",
                dir, t->path, exp, v[0] ? " --variant " : "", v, csv_cell(t, r0, col[COL_SEED]));
        free(c);
        return -1;
    }
    augmentation_text(c, aug, sizeof aug);
    free(c);
    snprintf(path, sizeof path, "%s/%s.md", out_dir, exp);
    if (access(path, F_OK) == 0)
        snprintf(link, sizeof link, "[%s.md](%s.md)", exp, exp);
    else
        snprintf(link, sizeof link, "not rendered yet");
    fprintf(f, "| %s%s%s%s | %s | %s | %s | %s (%d seed%s) | ", exp, v[0] ? " (" : "", v, v[0] ? ")" : "",
            csv_cell(t, r0, col[COL_MODEL]), csv_cell(t, r0, col[COL_KERNEL]), aug,
            report_mean_sd(mean, sd, ms, sizeof ms), n, n > 1 ? "s" : "");
    if (seconds >= 60)
        fprintf(f, "%.1f min | %s |\n", seconds / 60, link);
    else
        fprintf(f, "%.0f s | %s |\n", seconds, link);
    return 0;
}

static int write_headline(FILE *f, const char *root, const char *out_dir)
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
    csv_table t;
    static const char *const names[NUM_COLS] = { "experiment", "variant",       "seed",         "model",
                                                 "kernel",     "test_accuracy", "train_seconds" };
    int col[NUM_COLS];
    if (csv_load(path, &t))
        return -1;
    for (int i = 0; i < NUM_COLS; i++)
        if ((col[i] = csv_col(&t, names[i])) < 0) {
            csv_free(&t);
            return -1;
        }
    int *rows = malloc(sizeof *rows * (size_t)(t.rows + 1)), *done = calloc((size_t)t.rows + 1, sizeof *done);
    int rc = 0, groups = 0;
    for (int h = 0; h < NUM_HEADLINE && !rc; h++)
        for (int i = 0; i < t.rows && !rc; i++) {
            const char *exp = csv_cell(&t, i, col[COL_EXPERIMENT]), *var = csv_cell(&t, i, col[COL_VARIANT]);
            if (done[i] || strcmp(exp, headline[h].experiment) || !shown_variant(h, var))
                continue;
            int n = 0; /* this (experiment, variant)'s rows, seeds in file order */
            for (int j = i; j < t.rows && n < CONFIG_MAX_SEEDS * 4; j++)
                if (!done[j] && !strcmp(csv_cell(&t, j, col[COL_EXPERIMENT]), exp) &&
                    !strcmp(csv_cell(&t, j, col[COL_VARIANT]), var))
                    rows[n++] = j, done[j] = 1;
            if (groups++ == 0)
                fprintf(f,
                        "| experiment | model | kernel | augmentation | test accuracy %% | training time per "
                        "run | report |\n|---|---|---|---|---:|---:|---|\n");
            rc = write_row(f, &t, col, rows, n, root, out_dir);
        }
    if (!rc && groups == 0)
        fprintf(f, "None of the headline experiments (cnn, resnet20, transfer) has results in `%s` yet.\n",
                path);
    fprintf(f, "\n");
    free(rows), free(done);
    csv_free(&t);
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

int report_index(int argc, char **argv)
{
    const char *root = RESULTS_DEFAULT_ROOT, *out_dir = "reports";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--results"))
            root = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--out-dir"))
            out_dir = argv[++i];
        else {
            fprintf(stderr, "probador report index: error: unexpected '%s'\n%s", argv[i], usage_text);
            return 2;
        }
    }
    char md[1100];
    snprintf(md, sizeof md, "%s/README.md", out_dir);
    if (report_mkdirs(out_dir))
        return 1;
    atomic_file out;
    if (!atomic_open(&out, md))
        return 1;
    fprintf(out.f,
            "# probador: results\n\n*Generated by `build/probador report index` — do not edit; regenerate "
            "with `make report`.*\n\n"
            "probador trains small convolutional networks to recognise clothing in Fashion-MNIST and "
            "reports on them: every number here is read from the results in `%s`, which `make reproduce` "
            "regenerates where its inputs changed.\n\n",
            root);
    if (write_headline(out.f, root, out_dir) || write_list(out.f, out_dir)) {
        atomic_abort(&out);
        return 1;
    }
    if (!atomic_commit(&out))
        return 1;
    fprintf(stderr, "report: wrote %s\n", md);
    return 0;
}
