/* tools/report/report_experiment.c — `probador report experiment EXPERIMENT.yaml
 * [--results DIR] [--out-dir OUT]`: OUT/NAME.md and its charts
 * OUT/figures/NAME-*.png from the experiment's runs (read by tools/report/results.c):
 * description, findings, how to reproduce, configuration, results, accuracy
 * against training-set size (when the variants form series), learning curves,
 * confusion matrices and provenance.  Every number comes from the runs' files;
 * the report is written whole or not at all.
 *
 * What the report shows beyond the runs' tables is declared in the experiment
 * file's report: section (config_load checks its names against the variants):
 * Series: report.series lists variant-name prefixes, each gathering the
 * variants named PREFIX_SUFFIX (results_series); when there is any, a section
 * plots each series' accuracy against the mean training images of its
 * variants' runs and tabulates it per suffix.
 * Confusion matrices: one section for each variant report.confusion lists
 * (figures NAME-confusion-VARIANT.png, NAME-gallery-VARIANT.png), in its order;
 * when it lists none, one for the first variant (or the base) as
 * NAME-confusion.png and NAME-gallery.png.
 *
 * Findings: when EXPERIMENT.md exists beside EXPERIMENT.yaml it is a template
 * (tools/report/template.h; an unknown {{placeholder}} is an error) rendered with
 *   V.accuracy_mean           test accuracy of variant V, %, mean over its seeds (2 decimals);
 *                             V is each variant's name, or `base` when there are no variants
 *   V.accuracy_sd             its sample standard deviation (n − 1), 2 decimals; "—" for one run
 *   V.accuracy_min, V.accuracy_max   its lowest and highest seed, % (2 decimals)
 *   V.loss_mean               test loss (cross-entropy), mean (4 decimals)
 *   V.seconds_mean            training time per run, s (1 decimal)
 *   V.images_per_second       training images per second: every image its runs trained on over
 *                             their training time, all runs together (0 decimals)
 *   V.val_accuracy            the final epoch's validation accuracy, %, mean ± sd over its seeds
 *   V.train_accuracy          the final epoch's accuracy on the training batches as trained on
 *                             (augmented, dropout on), %, mean over its seeds
 *   V.gap                     V.train_accuracy minus the validation accuracy, points, signed
 *   V.minus.W                 for every other variant W: V's mean test accuracy minus W's, points,
 *                             ± the standard error of that difference (as step_test); and
 *                             V.minus.W.clear: "yes" when the difference exceeds twice it
 *   V.val_minus.W             the same of the final epoch's validation accuracy (and .clear)
 *   V.step_test, V.step_val   what V adds to the variant before it in the file (a cumulative
 *                             experiment's step), test and validation accuracy, points ± the
 *                             standard error of the difference; V.step_clear: "yes" when the
 *                             validation difference exceeds twice it
 *   V.runs                    its number of runs (seeds)
 *   V.epochs                  the epochs of its first run
 *   V.train_images            training images per epoch, mean over its runs (0 decimals)
 *   experiment                the experiment's name
 *   runs                      the number of runs, all variants
 *   total_minutes             all runs' training time / 60 (1 decimal)
 *   train_images, epochs, test_images   of the first run (training images per epoch)
 *   validation_images         the first run's images held out for validation
 *   best_variant, worst_variant         by mean test accuracy (the first listed on a tie)
 *   best_minus_worst          their difference in points (2 decimals)
 *   commit                    the runs' commit (several: comma-separated, in run order)
 *   env.KEY                   each "KEY: value" of the first run's environment.txt
 *   versus.*                  when the file names report.versus: tools/report/report_versus.c
 * and, when the experiment declares series (above), for the first two series S1, S2
 * in the order of report.series and each suffix X both have:
 *   X.difference              S2's mean accuracy minus S1's, points, with its sign (+1.23, -0.40)
 *   X.seconds_ratio           S2's mean training time per run / S1's (2 decimals)
 * (for transfer.yaml: 600.difference is finetune_600 minus scratch_600).
 * (For the rotation pretext task, "test" accuracy and loss are the pretext task's on the
 * validation images, and test_images counts those.)
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "data/atomic_file.h"
#include "models/train/machine_load.h"
#include "tools/report/confusion.h"
#include "tools/report/csv.h"
#include "tools/report/report.h"
#include "tools/report/report_figures.h"
#include "tools/report/report_versus.h"
#include "tools/report/results.h"

/* The report's second line starts with this; a file without it is not ours to replace. */
#define GENERATED_MARK "*Generated by `build/probador report experiment"
enum { TOP_PAIRS = 3 };

/* One confusion-matrix section: a variant (or the base), summed over its seeds. */
typedef struct confusion_view {
    int group;
    int classes;                       /* of the matrix */
    const char *names[METRIC_CLASSES]; /* of its classes */
    eval_metrics m;
    confusion_pair pairs[TOP_PAIRS];
    int n_pairs, shown[TOP_PAIRS];
    char heat[400], gallery[400]; /* the figures, relative to the report */
} confusion_view;

typedef struct report_ctx {
    const exp_results *r;
    const char *out_dir, *template_path; /* template_path NULL: no findings */
    char name[CONFIG_NAME_MAX];
    bool pretext;     /* the rotation pretext task, evaluated on validation images */
    const char *eval; /* what the final model is evaluated on: "test" or "validation" */
    bool has_series;  /* the experiment declares series (results_series) */
    exp_series series;
    bool declared_views; /* the confusion views are those of report.confusion */
    char work[1200];     /* the charts' data files: WORK_DIR/NAME */
    int n_views;
    confusion_view *views; /* report.confusion's, or the first group's */
    int n_curves;          /* learning-curve figures (report_figures.h, curves_figures) */
    char curves[CONFIG_MAX_VARIANTS][300]; /* their paths, relative to the report */
} report_ctx;

static const char usage_text[] =
    "usage: probador report experiment experiments/NAME.yaml [--results DIR] [--out-dir OUT]\n"
    "  writes OUT/NAME.md and OUT/figures/NAME-*.png from the runs in DIR/NAME/ (default: reports/results,\n"
    "  reports); experiments/NAME.md, if present, is the template of its findings.  Exit status 3 (and no\n"
    "  report written) when the experiment is still under way: some of its runs have no results yet\n";

/* Text as a Markdown table cell: '|' escaped, line breaks as spaces. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s == '\n' ? ' ' : *s, f);
}

/* Prose from YAML: a folded scalar (">") keeps a paragraph break as a single
   newline, which Markdown would join; make each a blank line. */
static void write_prose(FILE *f, const char *text)
{
    const bool blank_lines = strstr(text, "\n\n") != NULL;
    for (const char *p = text; *p; p++) {
        fputc(*p, f);
        if (*p == '\n' && !blank_lines && p[1])
            fputc('\n', f);
    }
    if (!*text || text[strlen(text) - 1] != '\n')
        fputc('\n', f);
}

/* The distinct values of env.KEY over all runs, in run order, joined by "; ";
   with counts ("x (4 runs); y (2 runs)") when `counts` and there are several. */
/* How many different values `key` takes over the runs ("unknown" for a run without it). */
static int count_distinct(const exp_results *r, const char *key)
{
    int k = 0;
    for (int i = 0; i < r->n_runs; i++) {
        const char *v = tmpl_get(&r->runs[i].env, key);
        bool seen = false;
        for (int j = 0; j < i && !seen; j++) {
            const char *w = tmpl_get(&r->runs[j].env, key);
            seen = (v && w && !strcmp(v, w)) || (!v && !w);
        }
        k += !seen;
    }
    return k;
}

static const char *distinct(const exp_results *r, const char *key, bool counts, const char *sep, char *buf,
                            size_t len)
{
    const int n = r->n_runs;
    const char *values[n];
    int count[n], k = 0;
    for (int i = 0; i < n; i++) {
        const char *v = tmpl_get(&r->runs[i].env, key);
        v = v ? v : "unknown";
        int j = 0;
        while (j < k && strcmp(values[j], v) != 0)
            j++;
        if (j == k)
            values[k] = v, count[k++] = 0;
        count[j]++;
    }
    buf[0] = '\0';
    for (int j = 0; j < k; j++) {
        size_t used = strlen(buf);
        if (counts && k > 1)
            snprintf(buf + used, len - used, "%s%s (%d run%s)", j ? sep : "", values[j], count[j],
                     count[j] > 1 ? "s" : "");
        else
            snprintf(buf + used, len - used, "%s%s", j ? sep : "", values[j]);
    }
    return buf;
}

static double total_seconds(const exp_results *r)
{
    double s = 0;
    for (int i = 0; i < r->n_runs; i++)
        s += r->runs[i].seconds;
    return s;
}

/* ---- findings ------------------------------------------------------------- */

/* "+1.23" / "-0.40": a difference in points with its sign; "+0.00" rather than "-0.00". */
static const char *signed_points(double d, char *buf, size_t len)
{
    snprintf(buf, len, "%+.2f", fabs(d) < 0.005 ? 0.0 : d);
    return buf;
}

static void set_series_vars(const exp_results *r, const exp_series *s, tmpl_vars *v)
{
    char key[CONFIG_NAME_MAX + 64], buf[32];
    for (int x = 0; x < s->n_suffixes && s->n_series >= 2; x++) {
        const int g1 = s->group[0][x], g2 = s->group[1][x];
        if (g1 < 0 || g2 < 0)
            continue;
        group_summary a, b;
        results_summarise(r, g1, &a);
        results_summarise(r, g2, &b);
        snprintf(key, sizeof key, "%s.difference", s->suffixes[x]);
        tmpl_set(v, key, "%s", signed_points(b.accuracy_mean - a.accuracy_mean, buf, sizeof buf));
        snprintf(key, sizeof key, "%s.seconds_ratio", s->suffixes[x]);
        tmpl_set(v, key, "%.2f", b.seconds_mean / a.seconds_mean);
    }
}

/* NAME.step_test and NAME.step_val: what the variant adds to the one before
   it in the file (test and final validation accuracy, points), ± the
   standard error of that difference, sqrt(sd_a²/n_a + sd_b²/n_b), and
   NAME.step_clear: "yes" when the validation difference exceeds twice it. */
static void set_step_vars(tmpl_vars *v, const char *name, const group_summary *a, const group_summary *b)
{
    char key[CONFIG_NAME_MAX + 64], buf[64];
    const char *clear;
    snprintf(key, sizeof key, "%s.step_test", name);
    tmpl_set(v, key, "%s", report_difference(b->accuracy_mean, b->accuracy_sd, b->runs, a->accuracy_mean,
                                             a->accuracy_sd, a->runs, buf, sizeof buf, NULL));
    snprintf(key, sizeof key, "%s.step_val", name);
    tmpl_set(v, key, "%s", report_difference(b->val_accuracy_mean, b->val_accuracy_sd, b->runs, a->val_accuracy_mean,
                                             a->val_accuracy_sd, a->runs, buf, sizeof buf, &clear));
    snprintf(key, sizeof key, "%s.step_clear", name);
    tmpl_set(v, key, "%s", clear);
}

/* KEY (NAME.minus.OTHER, say) = a's mean minus b's ± its standard error, and KEY.clear. */
static void set_difference(tmpl_vars *v, char *key, size_t keylen, double a_mean, double a_sd, int a_runs,
                           double b_mean, double b_sd, int b_runs)
{
    char buf[64];
    const char *clear;
    tmpl_set(v, key, "%s", report_difference(a_mean, a_sd, a_runs, b_mean, b_sd, b_runs, buf, sizeof buf, &clear));
    strncat(key, ".clear", keylen - strlen(key) - 1);
    tmpl_set(v, key, "%s", clear);
}

/* V.minus.W and V.val_minus.W for every ordered pair of groups (see the header). */
static void set_pair_vars(const exp_results *r, const group_summary *s, tmpl_vars *v)
{
    char key[2 * CONFIG_NAME_MAX + 64];
    for (int g = 0; g < r->n_groups; g++)
        for (int h = 0; h < r->n_groups; h++) {
            if (g == h)
                continue;
            snprintf(key, sizeof key, "%s.minus.%s", results_label(r, g), results_label(r, h));
            set_difference(v, key, sizeof key, s[g].accuracy_mean, s[g].accuracy_sd, s[g].runs, s[h].accuracy_mean,
                           s[h].accuracy_sd, s[h].runs);
            snprintf(key, sizeof key, "%s.val_minus.%s", results_label(r, g), results_label(r, h));
            set_difference(v, key, sizeof key, s[g].val_accuracy_mean, s[g].val_accuracy_sd, s[g].runs,
                           s[h].val_accuracy_mean, s[h].val_accuracy_sd, s[h].runs);
        }
}

static void set_vars(const report_ctx *x, tmpl_vars *v)
{
    const exp_results *r = x->r;
    const run_result *first = results_run(r, 0, 0);
    for (int i = 0; i < first->env.count; i++)
        tmpl_set(v, first->env.keys[i], "%s", first->env.values[i]);
    int best = 0, worst = 0;
    group_summary s[CONFIG_MAX_VARIANTS];
    for (int g = 0; g < r->n_groups; g++) {
        results_summarise(r, g, &s[g]);
        const char *name = results_label(r, g);
        char key[CONFIG_NAME_MAX + 64];
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < s[g].runs; k++) {
            lo = fmin(lo, 100 * results_run(r, g, k)->accuracy);
            hi = fmax(hi, 100 * results_run(r, g, k)->accuracy);
        }
#define SET(field, ...) (snprintf(key, sizeof key, "%s." field, name), tmpl_set(v, key, __VA_ARGS__))
        SET("accuracy_mean", "%.2f", s[g].accuracy_mean);
        if (isnan(s[g].accuracy_sd))
            SET("accuracy_sd", "—");
        else
            SET("accuracy_sd", "%.2f", s[g].accuracy_sd);
        if (isnan(s[g].val_accuracy_sd))
            SET("val_accuracy", "%.2f", s[g].val_accuracy_mean);
        else
            SET("val_accuracy", "%.2f ± %.2f", s[g].val_accuracy_mean, s[g].val_accuracy_sd);
        SET("train_accuracy", "%.2f", s[g].train_accuracy_mean);
        char gap[32];
        SET("gap", "%s", signed_points(s[g].train_accuracy_mean - s[g].val_accuracy_mean, gap, sizeof gap));
        if (g > 0) /* a cumulative experiment's step: this variant against the one before it in the file */
            set_step_vars(v, name, &s[g - 1], &s[g]);
        SET("accuracy_min", "%.2f", lo);
        SET("accuracy_max", "%.2f", hi);
        SET("loss_mean", "%.4f", s[g].loss_mean);
        SET("seconds_mean", "%.1f", s[g].seconds_mean);
        SET("images_per_second", "%.0f", s[g].images_per_second);
        SET("runs", "%d", s[g].runs);
        SET("epochs", "%d", results_run(r, g, 0)->epochs);
        SET("train_images", "%.0f", s[g].train_images_mean);
#undef SET
        best = s[g].accuracy_mean > s[best].accuracy_mean ? g : best;
        worst = s[g].accuracy_mean < s[worst].accuracy_mean ? g : worst;
    }
    set_pair_vars(r, s, v);
    char buf[4096];
    tmpl_set(v, "experiment", "%s", r->config->run.name);
    tmpl_set(v, "runs", "%d", r->n_runs);
    tmpl_set(v, "total_minutes", "%.1f", total_seconds(r) / 60);
    tmpl_set(v, "train_images", "%lld", (long long)first->train_images);
    tmpl_set(v, "test_images", "%lld", (long long)first->test_images);
    tmpl_set(v, "validation_images", "%d", first->validation_images);
    tmpl_set(v, "epochs", "%d", first->epochs);
    tmpl_set(v, "best_variant", "%s", results_label(r, best));
    tmpl_set(v, "worst_variant", "%s", results_label(r, worst));
    tmpl_set(v, "best_minus_worst", "%.2f", s[best].accuracy_mean - s[worst].accuracy_mean);
    tmpl_set(v, "commit", "%s", distinct(r, "env.commit", false, ", ", buf, sizeof buf));
    if (x->has_series)
        set_series_vars(r, &x->series, v);
}

static int write_findings(FILE *f, const report_ctx *x)
{
    if (!x->template_path)
        return 0;
    tmpl_vars v = { 0 };
    set_vars(x, &v);
    if (report_versus_vars(x->r, &v)) {
        tmpl_free(&v);
        return -1;
    }
    fprintf(f, "## Findings\n\n");
    const int rc = tmpl_render(x->template_path, &v, f);
    fprintf(f, "\n");
    tmpl_free(&v);
    return rc;
}

/* ---- the sections ---------------------------------------------------------- */

/* A warning when runs no longer match the experiment file or this build's
   arithmetic (results_run_stale), naming them: the figures below are those
   runs', not what the file now asks for. */
static void write_stale(FILE *f, const exp_results *r)
{
    char list[4096] = "";
    int stale = 0;
    for (int g = 0; g < r->n_groups; g++)
        for (int k = 0; k < r->groups[g].n_seeds; k++) {
            const run_result *run = results_run(r, g, k);
            if (!results_run_stale(r->yaml, r->root, run->variant, run->seed))
                continue;
            const size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s`%s%sseed%d`", stale++ ? ", " : "", run->variant,
                     run->variant[0] ? "/" : "", run->seed);
        }
    if (!stale)
        return;
    char count[64];
    if (stale == r->n_runs)
        snprintf(count, sizeof count, "all %d runs", stale);
    else
        snprintf(count, sizeof count, "%d of the %d runs", stale, r->n_runs);
    fprintf(f,
            "**Stale: %s** no longer match what `%s` and this build would train (a key of the file, or the "
            "arithmetic: the numerics version under Provenance, changed since they ran), so the figures below are "
            "those runs' and not yet the experiment's as the file now reads; `make reproduce` reruns them, "
            "`build/probador plan %s --all-stale` lists them%s%s.\n\n",
            count, r->yaml, r->yaml, stale < r->n_runs ? ": " : "", stale < r->n_runs ? list : "");
}

static void write_header(FILE *f, const report_ctx *x)
{
    const exp_results *r = x->r;
    fprintf(f, "# Experiment `%s`\n\n", x->name);
    const int n = r->n_runs;
    fprintf(f,
            GENERATED_MARK " %s` from the %d run%s in `%s/%s/` — do not edit: the description comes from "
                           "`%s`%s%s%s.*\n\n",
            r->yaml, n, n > 1 ? "s" : "", r->root, x->name, r->yaml,
            x->template_path ? ", the findings from `" : "", x->template_path ? x->template_path : "",
            x->template_path ? "`" : "");
    write_stale(f, r);
    write_prose(f, r->config->description);
    fprintf(f, "\n");
}

static void write_reproduce(FILE *f, const report_ctx *x)
{
    const exp_results *r = x->r;
    char all[1400], one[1400];
    results_run_command(r->yaml, r->root, "", -1, all, sizeof all);
    results_run_command(r->yaml, r->root, results_variant(r, 0), r->groups[0].seeds[0], one, sizeof one);
    const bool default_out = strcmp(x->out_dir, "reports") == 0,
               default_root = !strcmp(r->root, RESULTS_DEFAULT_ROOT);
    fprintf(f, "## Reproduce\n\n```sh\n");
    fprintf(f, "make reproduce   # every benchmark, run and report whose inputs changed\n");
    fprintf(f, "%s   # every run of this experiment: ", all);
    if (r->config->n_variants > 0 && r->uniform_seeds)
        fprintf(f, "%d variant%s × ", r->n_groups, r->n_groups > 1 ? "s" : "");
    if (r->uniform_seeds)
        fprintf(f, "%d seed%s\n", r->uniform_seeds, r->uniform_seeds > 1 ? "s" : "");
    else
        fprintf(f, "%d runs, each variant with its seeds\n", r->n_runs);
    fprintf(f, "%s   # one run\n", one);
    fprintf(f, "build/probador report experiment %s%s%s%s%s   # this report, from the results\n```\n\n",
            r->yaml, default_root ? "" : " --results ", default_root ? "" : r->root,
            default_out ? "" : " --out-dir ", default_out ? "" : x->out_dir);
}

static void write_seeds(FILE *f, const run_group *g)
{
    for (int k = 0; k < g->n_seeds; k++)
        fprintf(f, "%s%d", k ? ", " : "", g->seeds[k]);
}

/* The yaml text without its top-level `description:` entry (the key's line
   and the indented lines under it), in place.  A run's saved description is
   the one of the day it ran; the report opens with the experiment file's
   current one, and the two must not disagree on the page (prose decides
   nothing: the staleness check and make verify ignore it too). */
static void drop_description(char *yaml)
{
    char *start = strncmp(yaml, "description:", 12) == 0 ? yaml : strstr(yaml, "\ndescription:");
    if (!start)
        return;
    if (start != yaml)
        start++;
    char *end = strchr(start, '\n');
    while (end && (end[1] == ' ' || end[1] == '\t'))
        end = strchr(end + 1, '\n');
    memmove(start, end ? end + 1 : start + strlen(start), strlen(end ? end + 1 : start + strlen(start)) + 1);
}

static int write_configuration(FILE *f, const report_ctx *x)
{
    const exp_results *r = x->r;
    const exp_config *c = r->config;
    char path[1300];
    snprintf(path, sizeof path, "%s/config.yaml", results_run(r, 0, 0)->dir);
    char *yaml = report_read_text(path);
    if (!yaml)
        return -1;
    drop_description(yaml);
    fprintf(
        f,
        "## Configuration\n\nThe fully resolved configuration of the first run (`%s`; its description, prose "
        "that decides nothing, left out: the experiment file's current one opens this report); each run keeps "
        "its own beside its results.\n\n```yaml\n%s%s```\n\n",
        path, yaml, yaml[0] && yaml[strlen(yaml) - 1] != '\n' ? "\n" : "");
    free(yaml);
    if (c->n_variants == 0) {
        fprintf(f, "Seeds: ");
        write_seeds(f, &r->groups[0]);
        fprintf(f, ". The experiment has no variants.\n");
    } else {
        fprintf(
            f,
            "Each variant overrides the base configuration (the experiment file's, without the variant) "
            "as follows, and runs with each of its seeds:\n\n| variant | description | overrides | seeds |\n"
            "|---|---|---|---|\n");
        for (int v = 0; v < c->n_variants; v++) {
            fprintf(f, "| %s | ", c->variants[v].name);
            md_cell(f, c->variants[v].description[0] ? c->variants[v].description : "—");
            fprintf(f, " | ");
            for (int i = 0; i < c->variants[v].n_set; i++) {
                fprintf(f, "%s`", i ? ", " : "");
                md_cell(f, c->variants[v].set[i]);
                fprintf(f, "`");
            }
            fprintf(f, "%s | ", c->variants[v].n_set ? "" : "none: the base");
            write_seeds(f, &r->groups[v]);
            fprintf(f, " |\n");
        }
    }
    bool any = false;
    for (int i = 0; i < r->n_runs; i++) {
        const char *o = r->runs[i].overrides;
        if (!o[0])
            continue;
        if (!any)
            fprintf(f, "\nCommand-line overrides (each run's `overrides.txt`):\n\n");
        any = true;
        fprintf(f, "- `%s`:", r->runs[i].dir);
        for (const char *p = o; *p;) {
            const size_t n = strcspn(p, "\n");
            if (n)
                fprintf(f, " `%.*s`", (int)n, p);
            p += n + (p[n] == '\n');
        }
        fprintf(f, "\n");
    }
    if (!any)
        fprintf(f, "\nNo run had command-line overrides.\n");
    fprintf(f, "\n");
    return 0;
}

/* How many images each run was evaluated on: "10000", or "10000 (2000 for
   naive_slice, im2col_slice)" when some variants used fewer. */
static void evaluated_images(const exp_results *r, char *buf, size_t len)
{
    const long long most = results_run(r, 0, 0)->test_images;
    snprintf(buf, len, "%lld", most);
    for (int g = 0; g < r->n_groups; g++) { /* the first count of each other size, with its variants */
        const long long n = results_run(r, g, 0)->test_images;
        bool first = n != most;
        for (int h = 0; h < g && first; h++)
            first = results_run(r, h, 0)->test_images != n;
        if (!first)
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, " (%lld for ", n);
        const char *sep = "";
        for (int h = g; h < r->n_groups; h++)
            if (results_run(r, h, 0)->test_images == n) {
                used = strlen(buf);
                snprintf(buf + used, len - used, "%s%s", sep, results_label(r, h));
                sep = ", ";
            }
        used = strlen(buf);
        snprintf(buf + used, len - used, ")");
    }
}

static int write_results(FILE *f, const report_ctx *x, const char *ablation_png)
{
    const exp_results *r = x->r;
    char buf[64];
    const char *what = x->pretext ? "pretext" : "test";
    char counts[1024];
    evaluated_images(r, counts, sizeof counts);
    if (x->pretext)
        fprintf(f,
                "## Results\n\nAccuracy and loss are those of the pretext task (which quarter turn was applied) "
                "for each run's final model on its %s held-out validation images: the pretext task never uses "
                "the test set.",
                counts);
    else
        fprintf(f, "## Results\n\nTest accuracy and loss are those of each run's final model on its %s test images.",
                counts);
    fprintf(
        f, " Mean ± sample standard deviation over seeds. Training time is the sum of the epochs' wall times "
           "(`timing.csv`), images/s the training images it went through divided by that; *machine* says "
           "whether other work shared the cores while a run trained (the most, in cores, beside any of its "
           "epochs: `timing.csv`'s `other_cores`), in which case its time says little about probador's speed "
           "(‡ marks the variants with such a run).\n\n");
    fprintf(f,
            "| variant | runs | %s accuracy %% | %s loss | training time s | images/s |\n"
            "|---|---:|---:|---:|---:|---:|\n",
            what, what);
    for (int g = 0; g < r->n_groups; g++) {
        group_summary s;
        results_summarise(r, g, &s);
        bool shared = false;
        for (int k = 0; k < s.runs; k++)
            shared |= results_run(r, g, k)->other_cores > LOAD_CONTAMINATED;
        fprintf(f, "| %s | %d | %s | %.4f | %.1f%s | %.0f |\n", results_label(r, g), s.runs,
                report_mean_sd(s.accuracy_mean, s.accuracy_sd, buf, sizeof buf), s.loss_mean, s.seconds_mean,
                shared ? " ‡" : "", s.images_per_second);
    }
    if (ablation_png)
        fprintf(f, "\n![mean %s accuracy per variant, ±1 sd, each seed a point](%s)\n", what, ablation_png);
    fprintf(f,
            "\nEvery run:\n\n| variant | seed | %s accuracy %% | %s loss | training time s | images/s | "
            "machine | weights hash |\n|---|---:|---:|---:|---:|---:|---|---|\n",
            what, what);
    for (int g = 0; g < r->n_groups; g++)
        for (int k = 0; k < r->groups[g].n_seeds; k++) {
            const run_result *run = results_run(r, g, k);
            char machine[48];
            if (isnan(run->other_cores))
                snprintf(machine, sizeof machine, "not recorded");
            else if (run->other_cores > LOAD_CONTAMINATED)
                snprintf(machine, sizeof machine, "shared (%.2f cores)", run->other_cores);
            else
                snprintf(machine, sizeof machine, "to itself");
            fprintf(f, "| %s | %d | %.2f | %.4f | %.1f | %.0f | %s | `%s` |\n", results_label(r, g), run->seed,
                    100 * run->accuracy, run->loss, run->seconds, run->images_per_second, machine,
                    run->weights_hash);
        }
    fprintf(f, "\n");
    return 0;
}

/* The same recipe in PyTorch (tools/bench/torch_accuracy.py, `make peers`):
   the runs of the model report.pytorch_peer names, ROOT/peers/pytorch/MODEL/seedN/result.csv,
   beside the base configuration's runs.  Nothing when the experiment names no
   peer or there are no such runs (a quick results root never has them).  0, or -1 after an error
   in a peer file (printed). */
enum { PEER_MAX_SEEDS = 16 };
static int group_named(const exp_results *r, const char *name);
static int write_peer(FILE *f, const report_ctx *x)
{
    const exp_results *r = x->r;
    const int base = r->config->report.pytorch_peer ? group_named(r, "base") : -1;
    const char *peer = config_peer_name(r->config->report.pytorch_peer);
    double acc[PEER_MAX_SEEDS], sum = 0;
    int n = 0, epochs = 0, images = 0;
    char version[64] = "";
    for (int seed = 0; seed < PEER_MAX_SEEDS && base >= 0; seed++) {
        char dir[1400], path[1500];
        snprintf(dir, sizeof dir, "%s/peers/pytorch/%s/seed%d", r->root, peer, seed);
        snprintf(path, sizeof path, "%s/result.csv", dir);
        FILE *probe = fopen(path, "r");
        if (!probe)
            continue;
        fclose(probe);
        csv_table t;
        if (csv_load(path, &t))
            return -1;
        const int ca = csv_col(&t, "test_accuracy"), ce = csv_col(&t, "epochs"), ci = csv_col(&t, "test_images");
        const bool ok = ca >= 0 && ce >= 0 && ci >= 0 && t.rows == 1 && !isnan(csv_num(&t, 0, ca));
        if (ok)
            acc[n] = csv_num(&t, 0, ca), sum += acc[n++], epochs = (int)csv_num(&t, 0, ce),
            images = (int)csv_num(&t, 0, ci);
        else
            fprintf(stderr, "%s: error: expected one row with test_accuracy, epochs and test_images, as "
                            "tools/bench/torch_accuracy.py writes; rerun `make peers`\n", path);
        csv_free(&t);
        if (!ok)
            return -1;
        snprintf(path, sizeof path, "%s/environment.txt", dir);
        FILE *env = fopen(path, "r");
        char line[256];
        while (env && fgets(line, sizeof line, env))
            if (sscanf(line, "pytorch: %63s", version) == 1)
                break;
        if (env)
            fclose(env);
    }
    if (n == 0)
        return 0;
    const double mean = 100 * sum / n; /* percent, as group_summary */
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (100 * acc[i] - mean) * (100 * acc[i] - mean);
    group_summary b;
    results_summarise(r, base, &b);
    char ours[64], theirs[64], diff[32];
    snprintf(diff, sizeof diff, "%.2f", fabs(b.accuracy_mean - mean));
    report_mean_sd(b.accuracy_mean, b.accuracy_sd, ours, sizeof ours);
    if (n > 1)
        report_mean_sd(mean, sqrt(ss / (n - 1)), theirs, sizeof theirs);
    else
        snprintf(theirs, sizeof theirs, "%.2f", mean);
    const int our_epochs = r->config->run.training.epochs;
    const int64_t our_images = results_run(r, base, 0)->test_images;
    fprintf(f,
            "## PyTorch on the same recipe\n\n`tools/bench/torch_accuracy.py` trains the same network in PyTorch %s "
            "(Debian's `python3-torch`) with this recipe: the same layers, initialisation, augmentation (its own "
            "code for the same warp), optimiser, schedule, batch and %d epochs. Its random numbers are PyTorch's, "
            "so its validation split, batches and augmentations differ, and so does its arithmetic: the two agree "
            "in distribution, not in bits. Test accuracy on %d test images (`%s/peers/pytorch/%s/`, `make peers`):"
            "\n\n| | runs | test accuracy %% |\n|---|---:|---:|\n| probador, %s | %d | %s |\n"
            "| PyTorch | %d | %s |\n\n",
            version[0] ? version : "(version not recorded)", epochs, images, r->root, peer, results_label(r, base),
            b.runs, ours, n, theirs);
    if (epochs != our_epochs || images != our_images) {
        fprintf(f, "**Not the same budget**: PyTorch's runs trained %d epochs and were tested on %d images, "
                   "probador's %d and %lld; rerun `make peers`.\n\n",
                epochs, images, our_epochs, (long long)our_images);
        return 0;
    }
    fprintf(f, "probador %s PyTorch by %s points", b.accuracy_mean >= mean ? "leads" : "trails", diff);
    if (b.runs > 1 && !isnan(b.accuracy_sd)) {
        /* the standard error of a difference of means, PyTorch's runs taken to spread as probador's do */
        const double se = b.accuracy_sd * sqrt(1.0 / b.runs + 1.0 / n);
        fprintf(f, ". probador's seeds spread by %.2f points (sample sd); if PyTorch's spread as much, the "
                   "difference of the means has a standard error of %.2f points, so %s.\n\n",
                b.accuracy_sd, se,
                fabs(b.accuracy_mean - mean) <= 2 * se
                    ? "the difference is within two standard errors: no difference this data can show"
                    : "the difference is more than two standard errors");
    } else
        fprintf(f, ".\n\n");
    return 0;
}

/* Each variant's training images (or epochs), "600", or "600 / 620" when the series differ. */
static void series_images(const exp_results *r, const exp_series *s, int x, char *buf, size_t len)
{
    long long seen[CONFIG_MAX_VARIANTS];
    int n = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n_series; i++) {
        if (s->group[i][x] < 0)
            continue;
        group_summary gs;
        results_summarise(r, s->group[i][x], &gs);
        const long long images = s->by_epochs ? results_run(r, s->group[i][x], 0)->epochs
                                              : llround(gs.train_images_mean);
        int j = 0;
        while (j < n && seen[j] != images)
            j++;
        if (j < n)
            continue;
        seen[n++] = images;
        const size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%lld", used ? " / " : "", images);
    }
}

static void write_series_intro(FILE *f, const report_ctx *x, const char *png)
{
    const exp_series *s = &x->series;
    const char *what = x->pretext ? "pretext" : "test";
    const char *axis = s->by_epochs ? "epochs" : "training-set size";
    fprintf(f,
            "## Accuracy against %s\n\nThe experiment file's `report.series` declares %d "
            "series (",
            axis, s->n_series);
    for (int i = 0; i < s->n_series; i++)
        fprintf(f, "%s`%s`", i ? ", " : "", s->series[i]);
    fprintf(f, "), each gathering the variants named SERIES_SUFFIX, over %d suffixes (", s->n_suffixes);
    for (int k = 0; k < s->n_suffixes; k++)
        fprintf(f, "%s`%s`", k ? ", " : "", s->suffixes[k]);
    fprintf(f,
            "). Each point is one variant: its mean %s accuracy over its seeds, ±1 sample standard "
            "deviation where it has more than one run, against %s.\n\n![%s accuracy against %s](%s)\n\n",
            what,
            s->by_epochs ? "the epochs it trained for (log scale)"
                         : "the mean number of training images of its runs (`train_images` of `summary.csv`; log "
                           "scale)",
            what, axis, png);
}

/* The table's header; with exactly two series, their difference and time ratio too. */
static void write_series_header(FILE *f, const report_ctx *x)
{
    const exp_series *s = &x->series;
    const bool pair = s->n_series == 2;
    fprintf(f,
            "Accuracy %% as mean ± sample standard deviation (runs), rows by %s%s; training "
            "time is the mean per run.\n\n| suffix | %s |",
            s->by_epochs ? "epochs" : "training images", pair ? "; difference = the second series minus the first, in points; time ratio = the second "
                   "series' training time over the first's"
                 : "",
            s->by_epochs ? "epochs" : "training images");
    for (int i = 0; i < s->n_series; i++)
        fprintf(f, " %s %s accuracy %% |", s->series[i], x->pretext ? "pretext" : "test");
    if (pair)
        fprintf(f, " difference %s − %s |", s->series[1], s->series[0]);
    for (int i = 0; i < s->n_series; i++)
        fprintf(f, " %s s/run |", s->series[i]);
    if (pair)
        fprintf(f, " time ratio |");
    fprintf(f, "\n|---|---:|");
    for (int i = 0; i < 2 * s->n_series + 2 * pair; i++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
}

/* One suffix's row: each series' accuracy, then (two series) the difference,
   the times, (two series) their ratio; "—" where a series lacks the suffix. */
static void write_series_row(FILE *f, const report_ctx *x, int k)
{
    const exp_results *r = x->r;
    const exp_series *s = &x->series;
    const bool pair = s->n_series == 2;
    char images[256], buf[64];
    series_images(r, s, k, images, sizeof images);
    fprintf(f, "| %s | %s |", s->suffixes[k], images);
    group_summary gs[CONFIG_REPORT_MAX];
    for (int i = 0; i < s->n_series; i++) {
        if (s->group[i][k] < 0) {
            fprintf(f, " — |");
            continue;
        }
        results_summarise(r, s->group[i][k], &gs[i]);
        fprintf(f, " %s (%d) |", report_mean_sd(gs[i].accuracy_mean, gs[i].accuracy_sd, buf, sizeof buf),
                gs[i].runs);
    }
    const bool both = pair && s->group[0][k] >= 0 && s->group[1][k] >= 0;
    if (pair)
        fprintf(f, " %s |", both ? signed_points(gs[1].accuracy_mean - gs[0].accuracy_mean, buf, sizeof buf) : "—");
    for (int i = 0; i < s->n_series; i++)
        if (s->group[i][k] < 0)
            fprintf(f, " — |");
        else
            fprintf(f, " %.1f |", gs[i].seconds_mean);
    if (both)
        fprintf(f, " %.2f |", gs[1].seconds_mean / gs[0].seconds_mean);
    else if (pair)
        fprintf(f, " — |");
    fprintf(f, "\n");
}

static void write_series(FILE *f, const report_ctx *x, const char *png)
{
    write_series_intro(f, x, png);
    write_series_header(f, x);
    for (int k = 0; k < x->series.n_suffixes; k++)
        write_series_row(f, x, k);
    fprintf(f, "\n");
}

static void write_curves(FILE *f, const report_ctx *x)
{
    const exp_results *r = x->r;
    fprintf(f,
            "## Learning curves\n\nTraining and validation accuracy and loss after each epoch, the mean over "
            "each variant's seeds with a band from its lowest to its highest seed (`epochs.csv`; the training "
            "figures are those of the epoch's batches as trained, augmented, while the weights moved).");
    if (x->n_curves > 1)
        fprintf(f, " At most %d variants share a figure, so that their lines can be told apart; the first, %s, is "
                   "in every figure as the reference.",
                CURVES_PER_FIGURE, results_label(r, 0));
    fprintf(f, "\n\n");
    for (int i = 0; i < x->n_curves; i++)
        if (x->n_curves > 1)
            fprintf(f, "![learning curves, part %d of %d](%s)\n\n", i + 1, x->n_curves, x->curves[i]);
        else
            fprintf(f, "![learning curves](%s)\n\n", x->curves[i]);
    fprintf(f,
            "At the last epoch (means over the seeds; *gap*: training accuracy less validation accuracy):\n\n"
            "| variant | epochs | training accuracy %% | validation accuracy %% | gap | training loss | "
            "validation loss |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (int g = 0; g < r->n_groups; g++) {
        double tacc = 0, vacc = 0, tloss = 0, vloss = 0;
        int epochs = 0;
        const int n = r->groups[g].n_seeds;
        for (int k = 0; k < n; k++) {
            const run_result *run = results_run(r, g, k);
            const int last = run->epochs - 1;
            tacc += 100 * csv_num(&run->curve, last, run->curve_train_accuracy);
            vacc += 100 * csv_num(&run->curve, last, run->curve_val_accuracy);
            tloss += csv_num(&run->curve, last, run->curve_train_loss);
            vloss += csv_num(&run->curve, last, run->curve_val_loss);
            epochs = run->epochs;
        }
        fprintf(f, "| %s | %d | %.2f | %.2f | %+.2f | %.4f | %.4f |\n", results_label(r, g), epochs, tacc / n,
                vacc / n, (tacc - vacc) / n, tloss / n, vloss / n);
    }
    fprintf(f, "\n");
}

/* The images the view's matrix counts as misclassified. */
static int64_t view_errors(const confusion_view *cv)
{
    int64_t errors = 0;
    for (int i = 0; i < cv->classes; i++)
        for (int j = 0; j < cv->classes; j++)
            errors += i != j ? cv->m.confusion[i][j] : 0;
    return errors;
}

/* The section's heading and first paragraph, with the heat map. */
static void write_confusion_intro(FILE *f, const report_ctx *x, const confusion_view *cv)
{
    const exp_results *r = x->r;
    const eval_metrics *m = &cv->m;
    if (x->declared_views) {
        fprintf(f,
                "## Confusion matrix: %s\n\nFor variant `%s` (each variant the experiment file's "
                "`report.confusion` names has a confusion matrix of its own: ",
                results_label(r, cv->group), results_label(r, cv->group));
        for (int v = 0; v < x->n_views; v++)
            fprintf(f, "%s`%s`", v ? ", " : "", results_label(r, x->views[v].group));
        fprintf(f, "), summed over its ");
    } else if (r->config->n_variants > 0)
        fprintf(f,
                "## Confusion matrix\n\nFor variant `%s` (the first listed, as the experiment file's "
                "`report.confusion` names none), summed over its ",
                results_label(r, cv->group));
    else
        fprintf(f, "## Confusion matrix\n\nSummed over the experiment's ");
    const int seeds = r->groups[cv->group].n_seeds;
    fprintf(f,
            "%d seed%s: %lld %s images, %lld misclassified. Rows are the true class%s, columns the predicted "
            "one; each cell gives its count and its share of the row, which the colour shows too.\n\n![confusion matrix of %s](%s)\n\n",
            seeds, seeds > 1 ? "s" : "", (long long)m->count, x->eval, (long long)view_errors(cv),
            x->pretext ? " (the quarter turn applied)" : "", results_label(r, cv->group), cv->heat);
}

/* The summed matrix as a table, then precision, recall and F1 per class. */
static void write_confusion_tables(FILE *f, const report_ctx *x, const confusion_view *cv)
{
    const eval_metrics *m = &cv->m;
    const char *const *names = cv->names;
    const int classes = cv->classes;
    fprintf(f, "| true ↓ predicted → |");
    for (int j = 0; j < classes; j++)
        fprintf(f, " %s |", names[j]);
    fprintf(f, "\n|---|");
    for (int j = 0; j < classes; j++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    for (int i = 0; i < classes; i++) {
        fprintf(f, "| %s |", names[i]);
        for (int j = 0; j < classes; j++)
            fprintf(f, " %lld |", (long long)m->confusion[i][j]);
        fprintf(f, "\n");
    }
    fprintf(f,
            "\nPer class, from the summed matrix:\n\n| class | %s images | precision | recall | F1 |\n"
            "|---|---:|---:|---:|---:|\n",
            x->eval);
    for (int i = 0; i < classes; i++) {
        int64_t support = 0;
        for (int j = 0; j < classes; j++)
            support += m->confusion[i][j];
        fprintf(f, "| %s | %lld | %.3f | %.3f | %.3f |\n", names[i], (long long)support, m->precision[i],
                m->recall[i], m->f1[i]);
    }
}

/* The most-confused pairs and, on the classification task, their gallery. */
static void write_confusion_pairs(FILE *f, const report_ctx *x, const confusion_view *cv)
{
    const int64_t errors = view_errors(cv);
    if (cv->n_pairs == 0) {
        fprintf(f, "\nNo %s image was misclassified.\n\n", x->eval);
        return;
    }
    fprintf(f,
            "\nThe %d pairs of classes confused most often, in both directions:\n\n"
            "| pair | one way | the other | together | share of all errors |\n|---|---:|---:|---:|---:|\n",
            cv->n_pairs);
    for (int p = 0; p < cv->n_pairs; p++) {
        const confusion_pair *c = &cv->pairs[p];
        const char *a = cv->names[c->a], *b = cv->names[c->b];
        fprintf(f, "| %s ↔ %s | %s → %s: %lld | %s → %s: %lld | %lld | %.1f %% |\n", a, b, a, b,
                (long long)c->a_as_b, b, a, (long long)c->b_as_a, (long long)(c->a_as_b + c->b_as_a),
                100.0 * (double)(c->a_as_b + c->b_as_a) / (double)errors);
    }
    if (x->pretext)
        fprintf(f, "\n");
    else
        fprintf(f,
                "\nSome of those images (up to %d per pair, the first seed's first, in test-set order; each "
                "captioned true → predicted):\n\n![misclassified test images of %s](%s)\n\n",
                GALLERY_PER_PAIR, results_label(x->r, cv->group), cv->gallery);
}

static void write_confusion(FILE *f, const report_ctx *x, const confusion_view *cv)
{
    write_confusion_intro(f, x, cv);
    write_confusion_tables(f, x, cv);
    write_confusion_pairs(f, x, cv);
}

static void write_provenance(FILE *f, const report_ctx *x)
{
    const exp_results *r = x->r;
    const int n = r->n_runs;
    char buf[16384];
    const char *first = NULL, *last = NULL;
    double rss_lo = INFINITY, rss_hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        const char *d = tmpl_get(&r->runs[i].env, "env.date"),
                   *rss = tmpl_get(&r->runs[i].env, "env.peak_rss_mib");
        if (d && (!first || strcmp(d, first) < 0))
            first = d;
        if (d && (!last || strcmp(d, last) > 0))
            last = d;
        if (rss)
            rss_lo = fmin(rss_lo, atof(rss)), rss_hi = fmax(rss_hi, atof(rss));
    }
    fprintf(f, "## Provenance\n\nFrom each run's `environment.txt`:\n\n");
    fprintf(f, "- Commit: %s\n", distinct(r, "env.commit", true, "; ", buf, sizeof buf));
    if (count_distinct(r, "env.commit") > 1)
        fprintf(f, "- **Warning**: the runs of this experiment come from different commits; compare them only "
                   "where `numerics` (below) agrees, which says the arithmetic did not change between them\n");
    fprintf(f, "- Numerics version: %s\n", distinct(r, "env.numerics", true, "; ", buf, sizeof buf));
    if (first && strcmp(first, last) != 0)
        fprintf(f, "- Trained: %s – %s\n", first, last);
    else
        fprintf(f, "- Trained: %s\n", first ? first : "unknown");
    fprintf(f, "- CPU: %s", distinct(r, "env.cpu", true, "; ", buf, sizeof buf));
    fprintf(f, " (%s cores)\n", distinct(r, "env.cores", false, ", ", buf, sizeof buf));
    fprintf(f, "- Virtualised: %s\n", distinct(r, "env.virtualised", true, "; ", buf, sizeof buf));
    fprintf(f, "- Threads: %s\n", distinct(r, "env.threads", true, "; ", buf, sizeof buf));
    fprintf(f, "- OpenMP: %s\n", distinct(r, "env.openmp", true, "; ", buf, sizeof buf));
    fprintf(f, "- Compiler: %s", distinct(r, "env.compiler", true, "; ", buf, sizeof buf));
    fprintf(f, ", flags `%s`\n", distinct(r, "env.cflags", false, "`; `", buf, sizeof buf));
    fprintf(f, "- BLIS: %s", distinct(r, "env.blis_version", false, "; ", buf, sizeof buf));
    fprintf(f, ", configuration %s", distinct(r, "env.blis_arch", true, "; ", buf, sizeof buf));
    fprintf(f, "; %s\n", distinct(r, "env.blis_build", false, "; ", buf, sizeof buf));
    fprintf(f, "- Data: %s\n", distinct(r, "env.dataset", true, "; ", buf, sizeof buf));
    if (rss_hi >= 0 && n > 1)
        fprintf(f, "- Peak memory (RSS): %.0f MiB at most, %.0f MiB at least\n", rss_hi, rss_lo);
    else if (rss_hi >= 0)
        fprintf(f, "- Peak memory (RSS): %.0f MiB\n", rss_hi);
    else
        fprintf(f, "- Peak memory (RSS): unknown\n");
    int shared = 0, unknown = 0;
    for (int i = 0; i < n; i++)
        shared += r->runs[i].other_cores > LOAD_CONTAMINATED, unknown += isnan(r->runs[i].other_cores);
    fprintf(f, "- Training time: %.1f minutes in all, %d run%s", total_seconds(r) / 60, n, n > 1 ? "s" : "");
    if (shared)
        fprintf(f, "; %d shared the machine with other work, so the time is an upper bound", shared);
    if (unknown)
        fprintf(f, "; %d from before the machine's load was recorded", unknown);
    fprintf(f, "\n");
}

/* ---- the command ----------------------------------------------------------- */

/* The findings template beside the experiment file: X.yaml -> X.md, if it exists. */
static const char *find_template(const char *yaml, char *buf, size_t len)
{
    const size_t n = strlen(yaml);
    if (n < 5 || strcmp(yaml + n - 5, ".yaml") != 0)
        return NULL;
    snprintf(buf, len, "%.*s.md", (int)(n - 5), yaml);
    FILE *f = fopen(buf, "r");
    if (!f)
        return NULL;
    fclose(f);
    return buf;
}

/* OUT/NAME.md may be replaced only if this command wrote it. */
static int check_ours(const char *path)
{
    char *old = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    old = report_read_text(path);
    const bool ours = old && strstr(old, GENERATED_MARK);
    free(old);
    if (ours)
        return 0;
    fprintf(stderr,
            "%s: error: the file exists and was not written by `probador report experiment` (another "
            "report of the same name?); rename the experiment or move the file aside\n",
            path);
    return -1;
}

/* The view's matrix, summed over its group's seeds, and its most-confused pairs. */
static int sum_view(report_ctx *x, confusion_view *cv)
{
    const exp_results *r = x->r;
    const run_result *first = results_run(r, cv->group, 0);
    cv->classes = first->classes;
    for (int c = 0; c < cv->classes; c++)
        cv->names[c] = results_class_name(first, c);
    for (int k = 0; k < r->groups[cv->group].n_seeds; k++) {
        const run_result *run = results_run(r, cv->group, k);
        if (run->classes != first->classes || run->task != first->task) {
            fprintf(stderr,
                    "%s: error: %d classes (task %s), but %s has %d (task %s); the runs of one variant "
                    "must be of one task\n",
                    run->dir, run->classes, run_task_name(run->task), first->dir, first->classes,
                    run_task_name(first->task));
            return -1;
        }
        for (int i = 0; i < METRIC_CLASSES; i++)
            for (int j = 0; j < METRIC_CLASSES; j++)
                cv->m.confusion[i][j] += run->confusion[i][j];
        cv->m.count += run->test_images;
    }
    metrics_finish(&cv->m);
    cv->n_pairs = confusion_top_pairs(cv->m.confusion, TOP_PAIRS, cv->pairs);
    return 0;
}

/* A confusion section's matrix and pairs, and its figures:
   OUT/figures/NAME-confusion[-VARIANT].png and the gallery beside it. */
static int make_view(report_ctx *x, confusion_view *cv)
{
    const exp_results *r = x->r;
    const char *variant = results_label(r, cv->group);
    const char *dash = x->declared_views ? "-" : "", *suffix = x->declared_views ? variant : "";
    char work[1400], heat[1600], gallery[1600], title[512];
    snprintf(work, sizeof work, "%s%s%s", x->work, dash, suffix);
    snprintf(cv->heat, sizeof cv->heat, "figures/%s-confusion%s%s.png", x->name, dash, suffix);
    snprintf(cv->gallery, sizeof cv->gallery, "figures/%s-gallery%s%s.png", x->name, dash, suffix);
    snprintf(heat, sizeof heat, "%s/%s", x->out_dir, cv->heat);
    snprintf(gallery, sizeof gallery, "%s/%s", x->out_dir, cv->gallery);
    if (sum_view(x, cv))
        return -1;
    const int seeds = r->groups[cv->group].n_seeds;
    snprintf(title, sizeof title, "%s%s%s: confusion matrix on the %s images, summed over %d seed%s", x->name,
             r->config->n_variants ? ", variant " : "", r->config->n_variants ? variant : "", x->eval, seeds,
             seeds > 1 ? "s" : "");
    if (figure_confusion(cv->m.confusion, cv->classes, cv->names, title, work, heat) ||
        (cv->n_pairs > 0 && !x->pretext &&
         figure_gallery(r, cv->group, cv->pairs, cv->n_pairs, work, gallery, cv->shown)))
        return -1;
    return 0;
}

/* The group of variant `name` (config_load made sure there is one). */
static int group_named(const exp_results *r, const char *name)
{
    for (int g = 0; g < r->config->n_variants; g++)
        if (strcmp(results_variant(r, g), name) == 0)
            return g;
    return 0;
}

/* What the report shows: the series and the confusion views its report: section
   declares (or the first group's view), the task. */
static void plan(report_ctx *x)
{
    const exp_results *r = x->r;
    const config_report *rep = &r->config->report;
    x->pretext = results_run(r, 0, 0)->task == RUN_TASK_ROTATION;
    x->eval = x->pretext ? "validation" : "test";
    results_series(r, &x->series);
    x->has_series = x->series.n_series > 0;
    x->declared_views = rep->n_confusion > 0;
    x->n_views = x->declared_views ? rep->n_confusion : 1;
    x->views = checked_calloc((size_t)x->n_views, sizeof *x->views);
    for (int v = 0; v < rep->n_confusion; v++)
        x->views[v].group = group_named(r, rep->confusion[v]);
}

/* The report's text, written whole or not at all. */
static int write_report(const report_ctx *x, const char *md, char rel[][300])
{
    atomic_file out;
    if (!atomic_open(&out, md))
        return -1;
    write_header(out.f, x);
    int rc = write_findings(out.f, x);
    write_reproduce(out.f, x);
    rc = rc || write_configuration(out.f, x) || write_results(out.f, x, x->r->n_groups > 1 ? rel[1] : NULL) ||
         write_peer(out.f, x);
    if (rc) {
        atomic_abort(&out);
        return -1;
    }
    if (x->has_series)
        write_series(out.f, x, rel[2]);
    write_curves(out.f, x);
    for (int v = 0; v < x->n_views; v++)
        write_confusion(out.f, x, &x->views[v]);
    write_provenance(out.f, x);
    return atomic_commit(&out) ? 0 : -1;
}

static int render(report_ctx *x)
{
    const exp_results *r = x->r;
    char fig_dir[1200], md[1300], rel[3][300], png[3][1600], tmpl[1300], work_dir[1024];
    snprintf(x->name, sizeof x->name, "%s", r->config->run.name);
    x->template_path = find_template(r->yaml, tmpl, sizeof tmpl);
    snprintf(fig_dir, sizeof fig_dir, "%s/figures", x->out_dir);
    snprintf(md, sizeof md, "%s/%s.md", x->out_dir, x->name);
    static const char *const kind[3] = { "curves", "ablation", "series" };
    for (int i = 0; i < 3; i++) {
        snprintf(rel[i], sizeof rel[i], "figures/%s-%s.png", x->name, kind[i]);
        snprintf(png[i], sizeof png[i], "%s/%s", x->out_dir, rel[i]);
    }
    if (check_ours(md) || report_mkdirs(fig_dir) || report_work_dir(work_dir, sizeof work_dir))
        return -1;
    snprintf(x->work, sizeof x->work, "%s/%s", work_dir, x->name);
    plan(x);
    int groups[CONFIG_MAX_VARIANTS][CURVES_PER_FIGURE], counts[CONFIG_MAX_VARIANTS];
    x->n_curves = curves_figures(r, groups, counts);
    for (int i = 0; i < x->n_curves; i++) {
        char path[1600];
        if (x->n_curves > 1)
            snprintf(x->curves[i], sizeof x->curves[i], "figures/%s-curves-%d.png", x->name, i + 1);
        else
            snprintf(x->curves[i], sizeof x->curves[i], "figures/%s-curves.png", x->name);
        snprintf(path, sizeof path, "%s/%s", x->out_dir, x->curves[i]);
        if (figure_curves(r, groups[i], counts[i], i + 1, x->n_curves, x->work, path))
            return -1;
    }
    if ((r->n_groups > 1 && figure_ablation(r, x->work, png[1])) ||
        (x->has_series && figure_series(r, &x->series, x->work, png[2])))
        return -1;
    for (int v = 0; v < x->n_views; v++)
        if (make_view(x, &x->views[v]))
            return -1;
    if (write_report(x, md, rel))
        return -1;
    fprintf(stderr, "report: wrote %s\n", md);
    return 0;
}

int report_experiment_write(const exp_results *r, const char *out_dir)
{
    report_ctx x = { .r = r, .out_dir = out_dir };
    const int rc = render(&x);
    free(x.views);
    return rc;
}

int report_experiment(int argc, char **argv)
{
    const char *yaml = NULL, *root = RESULTS_DEFAULT_ROOT, *out_dir = "reports";
    const report_option options[] = { { "--results", &root }, { "--out-dir", &out_dir }, { NULL, NULL } };
    const int exit_code = report_args(argc, argv, usage_text, options, &yaml);
    if (exit_code >= 0)
        return exit_code;
    if (!yaml) {
        fprintf(stderr, "probador report experiment: error: no experiment file given\n%s", usage_text);
        return 2;
    }
    exp_results r;
    const int loaded = results_load(yaml, root, &r);
    if (loaded)
        return loaded == RESULTS_MISSING ? 3 : 1; /* the usage's "still under way" */
    const int rc = report_experiment_write(&r, out_dir);
    results_free(&r);
    return rc ? 1 : 0;
}
