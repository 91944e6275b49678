/* tools/report/report_figures.c — learning curves, ablation bars and the confusion
 * heat map of an experiment report (see the header; the gallery is in
 * tools/report/report_gallery.c). */
#include "tools/report/report_figures.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tools/report/report.h"

/* "3 seeds", or "the seeds of each variant" when they differ. */
static void seeds_text(const exp_results *r, char *buf, size_t len)
{
    if (r->uniform_seeds)
        snprintf(buf, len, "%d seed%s", r->uniform_seeds, r->uniform_seeds > 1 ? "s" : "");
    else
        snprintf(buf, len, "the seeds of each variant"); /* no ' : gnuplot quotes with it */
}

/* The four curves, in the data file's column order after the epoch. */
static int curve_column(const run_result *run, int metric)
{
    const int cols[4] = { run->curve_train_accuracy, run->curve_val_accuracy, run->curve_train_loss,
                          run->curve_val_loss };
    return cols[metric];
}

int curves_figures(const exp_results *r, int groups[][CURVES_PER_FIGURE], int *counts)
{
    if (r->n_groups <= CURVES_PER_FIGURE) {
        for (int g = 0; g < r->n_groups; g++)
            groups[0][g] = g;
        counts[0] = r->n_groups;
        return 1;
    }
    int figures = 0;
    for (int first = 1; first < r->n_groups; first += CURVES_PER_FIGURE - 1, figures++) {
        groups[figures][0] = 0, counts[figures] = 1;
        for (int g = first; g < r->n_groups && g < first + CURVES_PER_FIGURE - 1; g++)
            groups[figures][counts[figures]++] = g;
    }
    return figures;
}

int figure_curves(const exp_results *r, const int *groups, int n, int part, int parts, const char *work,
                  const char *png)
{
    char dat[1200], names[CONFIG_MAX_VARIANTS * CONFIG_NAME_MAX] = "", params[8192], title_part[32] = "";
    snprintf(dat, sizeof dat, "%s-curves-%d.dat", work, part);
    if (parts > 1)
        snprintf(title_part, sizeof title_part, ", part %d of %d", part, parts);
    FILE *f = report_open_data(dat);
    if (!f)
        return -1;
    int max_epochs = 1;
    for (int i = 0; i < n; i++) {
        const int g = groups[i];
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "",
                 results_label(r, g));
        int epochs = 0;
        for (int k = 0; k < r->groups[g].n_seeds; k++)
            if (results_run(r, g, k)->epochs > epochs)
                epochs = results_run(r, g, k)->epochs;
        max_epochs = epochs > max_epochs ? epochs : max_epochs;
        fprintf(f, "# %s: epoch, then for training accuracy (%%), validation accuracy (%%), training loss and "
                   "validation loss: the mean over its seeds, the lowest and the highest seed\n",
                results_label(r, g));
        for (int e = 0; e < epochs; e++) {
            fprintf(f, "%d", e + 1);
            for (int metric = 0; metric < 4; metric++) {
                const double scale = metric < 2 ? 100 : 1;
                double sum = 0, lo = INFINITY, hi = -INFINITY;
                int seeds = 0;
                for (int k = 0; k < r->groups[g].n_seeds; k++) {
                    const run_result *run = results_run(r, g, k);
                    if (e < run->epochs) {
                        const double v = scale * csv_num(&run->curve, e, curve_column(run, metric));
                        sum += v, lo = fmin(lo, v), hi = fmax(hi, v), seeds++;
                    }
                }
                fprintf(f, " %.6f %.6f %.6f", sum / seeds, lo, hi);
            }
            fprintf(f, "\n");
        }
        fprintf(f, "\n\n"); /* the next gnuplot data block (index) */
    }
    if (report_close_data(f, dat))
        return -1;
    char over[64];
    seeds_text(r, over, sizeof over);
    snprintf(
        params, sizeof params,
        "datafile='%s'; outfile='%s'; charttitle='%s: learning curves%s, mean over %s (band: lowest to highest "
        "seed)'; names='%s'; xstep=%d; maxepoch=%d",
        dat, png, r->config->run.name, title_part, over, names,
        max_epochs > 20 ? (max_epochs + 19) / 20 : 1, max_epochs);
    return report_gnuplot("curves.gp", params);
}

int figure_ablation(const exp_results *r, const char *work, const char *png)
{
    char dat[1200], seeds[1200], params[8192];
    snprintf(dat, sizeof dat, "%s-ablation.dat", work);
    snprintf(seeds, sizeof seeds, "%s-ablation-seeds.dat", work);
    FILE *f = report_open_data(dat), *s = f ? report_open_data(seeds) : NULL;
    if (!s) {
        if (f)
            fclose(f);
        return -1;
    }
    double lo = INFINITY, hi = -INFINITY;
    fprintf(f, "# group, variant, mean test accuracy (%%), sample sd (0 for one run)\n");
    fprintf(s, "# group (offset per seed), test accuracy (%%) of one seed\n");
    for (int g = 0; g < r->n_groups; g++) {
        group_summary gs;
        results_summarise(r, g, &gs);
        const double sd = isnan(gs.accuracy_sd) ? 0 : gs.accuracy_sd;
        fprintf(f, "%d \"%s\" %.6f %.6f\n", g, results_label(r, g), gs.accuracy_mean, sd);
        lo = fmin(lo, gs.accuracy_mean - sd), hi = fmax(hi, gs.accuracy_mean + sd);
        for (int k = 0; k < r->groups[g].n_seeds; k++) {
            const double acc = 100 * results_run(r, g, k)->accuracy;
            fprintf(s, "%.4f %.6f\n", g + 0.1 * (k - (r->groups[g].n_seeds - 1) / 2.0), acc);
            lo = fmin(lo, acc), hi = fmax(hi, acc);
        }
    }
    const int rc = report_close_data(s, seeds) | report_close_data(f, dat);
    if (rc)
        return -1;
    /* the interesting differences are small: zoom in on them, and say so */
    const double span = fmax(hi - lo, 1);
    const double ylo = fmax(0, floor(lo - 0.4 * span)), yhi = fmin(100, ceil(hi + 0.2 * span));
    char over[64];
    seeds_text(r, over, sizeof over);
    snprintf(
        params, sizeof params,
        "datafile='%s'; seedsfile='%s'; outfile='%s'; charttitle='%s: %s accuracy per variant, mean ± 1 sd "
        "over %s (the axis starts at %.0f %%)'; ylo=%.0f; yhi=%.0f; ngroups=%d",
        dat, seeds, png, r->config->run.name, r->runs[0].task == RUN_TASK_ROTATION ? "pretext" : "test", over,
        ylo, ylo, yhi, r->n_groups);
    return report_gnuplot("ablation.gp", params);
}

int figure_series(const exp_results *r, const exp_series *s, const char *work, const char *png)
{
    char dat[1200], names[CONFIG_MAX_VARIANTS * CONFIG_NAME_MAX] = "", params[8192];
    snprintf(dat, sizeof dat, "%s-series.dat", work);
    FILE *f = report_open_data(dat);
    if (!f)
        return -1;
    double xlo = INFINITY, xhi = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < s->n_series; i++) {
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "", s->series[i]);
        fprintf(f, "# %s: %s, mean accuracy (%%), sample sd (0 for one run), runs\n", s->series[i],
                s->by_epochs ? "epochs" : "training images");
        for (int x = 0; x < s->n_suffixes; x++) {
            const int g = s->group[i][x];
            if (g < 0)
                continue;
            group_summary gs;
            results_summarise(r, g, &gs);
            const double sd = isnan(gs.accuracy_sd) ? 0 : gs.accuracy_sd;
            const double at = s->axis[x];
            fprintf(f, "%.1f %.6f %.6f %d\n", at, gs.accuracy_mean, sd, gs.runs);
            xlo = fmin(xlo, at), xhi = fmax(xhi, at);
            lo = fmin(lo, gs.accuracy_mean - sd), hi = fmax(hi, gs.accuracy_mean + sd);
        }
        fprintf(f, "\n\n"); /* the next gnuplot data block (index) */
    }
    if (report_close_data(f, dat))
        return -1;
    char ticks[CONFIG_MAX_VARIANTS * 24] = ""; /* the suffixes' places label the axis */
    for (int x = 0; x < s->n_suffixes; x++)
        snprintf(ticks + strlen(ticks), sizeof ticks - strlen(ticks), "%s%.0f", x ? " " : "", s->axis[x]);
    const char *axis = s->by_epochs ? "epochs" : "training images";
    const double span = fmax(hi - lo, 1);
    const bool pretext = r->runs[0].task == RUN_TASK_ROTATION;
    snprintf(
        params, sizeof params,
        "datafile='%s'; outfile='%s'; charttitle='%s: %s accuracy against %s, mean ± 1 sd "
        "over the seeds of each variant (no bar: a single run)'; names='%s'; ylabel='%s accuracy (%%)'; "
        "xlabel='%s (log scale)'; xticks='%s'; xlo=%.1f; xhi=%.1f; ylo=%.0f; yhi=%.0f",
        dat, png, r->config->run.name, pretext ? "pretext" : "test", s->by_epochs ? "epochs" : "training-set size",
        names, pretext ? "pretext" : "test", axis, ticks,
        xlo / 1.6, xhi * 1.6, fmax(0, floor(lo - 0.15 * span)), fmin(100, ceil(hi + 0.15 * span)));
    return report_gnuplot("series.gp", params);
}

int figure_confusion(const int64_t m[METRIC_CLASSES][METRIC_CLASSES], int classes, const char *const *names,
                     const char *title, const char *work, const char *png)
{
    char dat[1200], params[8192];
    snprintf(dat, sizeof dat, "%s-confusion.dat", work);
    FILE *f = report_open_data(dat);
    if (!f)
        return -1;
    fprintf(f, "# predicted, true, share of the true class, count\n");
    for (int i = 0; i < classes; i++) {
        int64_t row = 0;
        for (int j = 0; j < classes; j++)
            row += m[i][j];
        for (int j = 0; j < classes; j++)
            fprintf(f, "%d %d %.6f %lld\n", j, i, row ? (double)m[i][j] / row : 0.0, (long long)m[i][j]);
        fprintf(f, "\n");
    }
    if (report_close_data(f, dat))
        return -1;
    int len = snprintf(params, sizeof params, "datafile='%s'; outfile='%s'; charttitle='%s'; nclasses=%d",
                       dat, png, title, classes);
    for (int c = 0; c < classes; c++)
        len += snprintf(params + len, sizeof params - (size_t)len, "; n%d='%s'", c, names[c]);
    return report_gnuplot("confusion.gp", params);
}
