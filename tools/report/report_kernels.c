/* tools/report/report_kernels.c — `probador report kernels`: reports/kernels.md from
 * reports/data/kernels.csv, its environment sidecar and the template
 * tools/report/kernels.md.in, with gnuplot charts under reports/figures/.
 *
 * The template is the repository's, found from the program (report_repo_path).
 * The kernels, layers and passes are those of the CSV, in the order of their
 * first row there (the order `probador bench` measures them in).  Rows of the
 * peer measured in the same run (oneDNN, kernels named onednn_*) are kept
 * apart from probador's kernels: they appear only in the comparison with
 * oneDNN, and a CSV without them (written with --peers none, or before the
 * benchmark measured them) says so there.  The speed targets the report checks
 * are the table below; the template words them. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/alloc.h"
#include "data/atomic_file.h"
#include "tools/bench/bench_train.h"
#include "models/train/machine_load.h"
#include "tools/report/csv.h"
#include "tools/report/report.h"

/* ---- the speed targets ------------------------------------------------------ */

/* One target, checked layer by layer on `pass` at the largest thread count:
   `kernel` against `baseline` (NULL: BLIS sgemm on the same GEMM, the figure
   being the kernel's share of its GFLOP/s; otherwise the speed-up, the
   baseline's median time over the kernel's), on the layers with
   filter × filter filters (stride 1 only when `stride1`) and at least min_c
   input and min_k output channels.  The template's "The speed targets" section
   reads target.KEY.min (the worst layer's figure), .layer (that layer),
   .threshold and .verdict ("holds" / "does **not** hold"; threshold 0: the
   figure is shown, not judged).  The table of targets has one column per
   entry, headed `column`, in this order. */
typedef struct speed_target {
    const char *key, *column;
    const char *kernel, *baseline, *pass;
    int filter;
    bool stride1;
    int min_c, min_k;
    double threshold;
} speed_target;

static const speed_target targets[] = {
    { "im2col_sgemm", "im2col / sgemm", "im2col", NULL, "forward", 3, false, 16, 0, 0.8 },
    { "winograd_f2_im2col", "winograd_f2 speed-up over im2col", "winograd_f2", "im2col", "forward", 3, true,
      32, 32, 0 },
    { "winograd_im2col", "winograd speed-up over im2col", "winograd", "im2col", "forward", 3, true, 32, 32,
      1.5 },
};
enum { NUM_TARGETS = sizeof targets / sizeof targets[0] };

/* ---- the benchmark's rows ------------------------------------------------------ */

enum { MAX_KERNELS = 16, MAX_PEERS = 8, MAX_LAYERS = 64, MAX_PASSES = 3, MAX_THREADS = 64 };

typedef struct krow {
    const char *kernel, *pass, *layer, *impl;
    int n, c, h, w, k, r, s, stride, pad, threads, verified;
    double median_ms, gflops, sgemm, peak, err, tol, ws_bytes;
    double min_ms, max_ms; /* NaN in CSVs without them */
    double other; /* other_cores while timed (machine_load.h); NaN in CSVs from before it was recorded */
} krow;

/* " ‡" after a figure timed beside more than LOAD_CONTAMINATED cores of other work. */
static const char *shared_mark(double other)
{
    return other > LOAD_CONTAMINATED ? " ‡" : "";
}

/* The column `name` if the CSV has it, else -1 (no error: older CSVs lack it). */
static int optional_col(const csv_table *t, const char *name)
{
    for (int c = 0; c < t->cols; c++)
        if (!strcmp(t->header[c], name))
            return c;
    return -1;
}

typedef struct kdata {
    krow *rows;
    int count;
    const char *kernels[MAX_KERNELS], *peers[MAX_PEERS], *layers[MAX_LAYERS], *passes[MAX_PASSES];
    int num_kernels, num_peers, num_layers, num_passes, max_threads;
} kdata;

/* The report's inputs and where its pieces go. */
typedef struct kreport {
    const char *csv_path, *tmpl_path, *out_path;
    const char *train_csv_path; /* --train-csv; NULL: train.csv beside the kernels' CSV */
    char fig_dir[1100], work[PATH_MAX], tmpl_buf[PATH_MAX];
    csv_table t;
    kdata d;
    tmpl_vars v;
} kreport;

/* Appends `name` to list[0..*count-1] if absent; -1 when the list is full. */
static int add_unique(const char **list, int *count, int cap, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (strcmp(list[i], name) == 0)
            return 0;
    if (*count == cap)
        return -1;
    list[(*count)++] = name;
    return 0;
}

/* A row of the peer, not of one of probador's kernels: `probador bench` names
   oneDNN's rows onednn_ALGORITHM, and onednn_ALGORITHM+reorder when the
   reorders from and to the plain layouts are timed with the convolution. */
static bool is_peer(const char *kernel)
{
    return strncmp(kernel, "onednn_", 7) == 0;
}

static bool with_reorders(const char *kernel)
{
    return strstr(kernel, "+reorder") != NULL;
}

static void read_row(const csv_table *t, int i, const int *col, krow *r)
{
    r->kernel = csv_cell(t, i, col[0]), r->pass = csv_cell(t, i, col[1]);
    r->layer = csv_cell(t, i, col[2]), r->impl = csv_cell(t, i, col[3]);
    int *ints[] = { &r->n, &r->c, &r->h, &r->w, &r->k, &r->r, &r->s, &r->stride, &r->pad, &r->threads,
                    &r->verified };
    for (int j = 0; j < 11; j++)
        *ints[j] = (int)csv_num(t, i, col[4 + j]);
    double *dbl[] = { &r->median_ms, &r->gflops, &r->sgemm, &r->peak, &r->err, &r->tol, &r->ws_bytes };
    for (int j = 0; j < 7; j++)
        *dbl[j] = csv_num(t, i, col[15 + j]);
}

static int load_rows(const csv_table *t, kdata *d)
{
    const char *names[] = { "kernel", "pass", "layer", "impl", "n", "c", "h", "w", "k", "r", "s", "stride",
                            "pad", "threads", "verified", "median_ms", "gflops", "sgemm_gflops",
                            "peak_gflops", "max_rel_err", "tolerance", "workspace_bytes" };
    enum { NCOL = sizeof names / sizeof names[0] };
    int col[NCOL];
    for (int i = 0; i < NCOL; i++)
        if ((col[i] = csv_col(t, names[i])) < 0)
            return -1;
    if (t->rows == 0) {
        fprintf(stderr, "%s: error: no benchmark rows; rerun `make bench`\n", t->path);
        return -1;
    }
    d->rows = checked_calloc((size_t)t->rows, sizeof *d->rows);
    d->count = t->rows;
    const int other = optional_col(t, "other_cores"), min_ms = optional_col(t, "min_ms"),
              max_ms = optional_col(t, "max_ms");
    for (int i = 0; i < t->rows; i++) {
        krow *r = &d->rows[i];
        read_row(t, i, col, r);
        r->other = other < 0 ? NAN : csv_num(t, i, other);
        r->min_ms = min_ms < 0 ? NAN : csv_num(t, i, min_ms);
        r->max_ms = max_ms < 0 ? NAN : csv_num(t, i, max_ms);
        const bool peer = is_peer(r->kernel);
        if (add_unique(peer ? d->peers : d->kernels, peer ? &d->num_peers : &d->num_kernels,
                       peer ? MAX_PEERS : MAX_KERNELS, r->kernel) ||
            add_unique(d->layers, &d->num_layers, MAX_LAYERS, r->layer) ||
            add_unique(d->passes, &d->num_passes, MAX_PASSES, r->pass)) {
            fprintf(stderr, "%s:%d: error: more than %d kernels, %d peer rows, %d layers or %d passes; the "
                            "report has room for no more: split the benchmark\n",
                    t->path, i + 2, MAX_KERNELS, MAX_PEERS, MAX_LAYERS, MAX_PASSES);
            return -1;
        }
        if (r->threads < 1 || r->threads > MAX_THREADS) {
            fprintf(stderr, "%s:%d: error: threads is %d; expected 1 to %d, as `probador bench` writes\n",
                    t->path, i + 2, r->threads, MAX_THREADS);
            return -1;
        }
        if (r->threads > d->max_threads)
            d->max_threads = r->threads;
    }
    if (d->num_kernels == 0) {
        fprintf(stderr, "%s: error: no rows of probador's kernels, only of its peers; rerun `make bench`\n",
                t->path);
        return -1;
    }
    return 0;
}

static const krow *find(const kdata *d, const char *kernel, const char *pass, const char *layer, int threads)
{
    for (int i = 0; i < d->count; i++) {
        const krow *r = &d->rows[i];
        if (!strcmp(r->kernel, kernel) && !strcmp(r->pass, pass) && !strcmp(r->layer, layer) &&
            r->threads == threads)
            return r;
    }
    return NULL;
}

/* Any row of this layer (for its shape). */
static const krow *layer_row(const kdata *d, const char *layer)
{
    for (int i = 0; i < d->count; i++)
        if (!strcmp(d->rows[i].layer, layer))
            return &d->rows[i];
    return NULL;
}

static const char *shape_text(const krow *r, char *buf, size_t len)
{
    snprintf(buf, len, "%d→%d %d×%d %d×%d s%d", r->c, r->k, r->h, r->w, r->r, r->s, r->stride);
    return buf;
}

/* ---- output helpers ------------------------------------------------------------ */

/* A growing Markdown text. */
typedef struct text {
    char *s;
    size_t len;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    t->s = checked_realloc(t->s, t->len + (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Sets template variable `key` to the text and empties it. */
static void set_text(tmpl_vars *v, const char *key, text *t)
{
    tmpl_set(v, key, "%s", t->s ? t->s : "");
    free(t->s);
    *t = (text){ 0 };
}

/* WORK/NAME.dat, a chart's data, opened for writing; its path in dat. */
static FILE *chart_data(const kreport *k, const char *name, char *dat, size_t len)
{
    snprintf(dat, len, "%s/%s.dat", k->work, name);
    return report_open_data(dat);
}

/* The header of a chart's data file and of its table: `label`, then each name,
   its table heading the name and `heading`, its column rules `rule`. */
static void table_head(FILE *f, text *s, const char *label, const char *const *names, int n, const char *heading,
                       const char *rule)
{
    fprintf(f, "%s", label);
    add(s, "| %s |", label);
    for (int i = 0; i < n; i++) {
        fprintf(f, " %s", names[i]);
        add(s, " %s%s", names[i], heading);
    }
    fprintf(f, "\n");
    add(s, "\n|---|");
    for (int i = 0; i < n; i++)
        add(s, "%s", rule);
    add(s, "\n");
}

/* A bar chart of WORK/NAME.dat (a label and `ncols` columns, the first `nbars`
   of them bars) into FIGURES/NAME.png (tools/report/bars.gp), and template
   variable `key` naming it for the report. */
static int bar_chart(kreport *k, const char *name, const char *key, const char *title, const char *ylabel,
                     int nbars, int ncols, int logy, const char *markfile)
{
    char params[8192];
    int n = snprintf(params, sizeof params,
                     "datafile='%s/%s.dat'; outfile='%s/%s.png'; charttitle='%s'; ylabel='%s'; nbars=%d; ncols=%d; "
                     "logy=%d",
                     k->work, name, k->fig_dir, name, title, ylabel, nbars, ncols, logy);
    if (markfile)
        snprintf(params + n, sizeof params - (size_t)n, "; markfile='%s'", markfile);
    tmpl_set(&k->v, key, "figures/%s.png", name);
    return report_gnuplot("bars.gp", params);
}

/* ---- the sections ---------------------------------------------------------------- */

/* The multiplications a row's kernel really did over the direct count's: below 1
   for Winograd F(m×m, 3×3), whose element-wise products number α² = (m + 2)² per
   m×m tile of the output (of the input gradient for backward_data, whose size is
   the output's for these stride-1 layers), against 9 per output directly.  The
   transforms' additions are not counted, so the real rate is a lower bound. */
static double real_flop_share(const krow *r)
{
    const int m = !strcmp(r->impl, "winograd") ? 4 : !strcmp(r->impl, "winograd_f2") ? 2 : 0;
    if (!m)
        return 1.0;
    const int p = (r->h + 2 * r->pad - r->r) / r->stride + 1, q = (r->w + 2 * r->pad - r->s) / r->stride + 1;
    const double tiles = (double)((p + m - 1) / m) * ((q + m - 1) / m);
    return (m + 2) * (m + 2) * tiles / ((double)r->r * r->s * p * q);
}

/* GFLOP/s of one pass at one thread count, a row per layer, with the layer's
   own GEMM in BLIS, a square sgemm (`square`, NaN when not measured), the FMA
   peak, the fastest kernel's time with its spread and its real rate over the
   peak; writes the chart's data to `dat` too unless it is NULL, and, unless
   `marks` is NULL, the bars of fallbacks to marks_file, counting them in *marks. */
static void speed_table(const kdata *d, const char *pass, int threads, double square, FILE *dat, FILE *marks_file,
                        int *marks, text *s)
{
    int shown = 0; /* layers in the chart so far: its x position */
    char shape[64];
    add(s, "| layer | shape |");
    if (dat)
        fprintf(dat, "layer");
    for (int k = 0; k < d->num_kernels; k++) {
        add(s, " %s |", d->kernels[k]);
        if (dat)
            fprintf(dat, " %s", d->kernels[k]);
    }
    add(s, " BLIS sgemm, this GEMM | BLIS sgemm 1024³ | FMA peak | fastest: ms (min–max) | fastest, real / peak |"
           "\n|---|---|");
    if (dat)
        fprintf(dat, " \"BLIS sgemm\" \"FMA peak\"\n");
    for (int k = 0; k < d->num_kernels + 5; k++)
        add(s, "---:|");
    add(s, "\n");
    for (int l = 0; l < d->num_layers; l++) {
        const krow *any = find(d, d->kernels[0], pass, d->layers[l], threads);
        if (!any)
            continue;
        const krow *best = NULL;
        add(s, "| %s | %s |", d->layers[l], shape_text(any, shape, sizeof shape));
        if (dat)
            fprintf(dat, "\"%s\"", d->layers[l]);
        for (int k = 0; k < d->num_kernels; k++) {
            const krow *r = find(d, d->kernels[k], pass, d->layers[l], threads);
            if (r) {
                add(s, " %.1f%s%s%s |", r->gflops, strstr(r->impl, "(fallback)") ? " ↪" : "",
                    r->verified ? "" : " ✗", shared_mark(r->other));
                if (r->verified && (!best || r->median_ms < best->median_ms))
                    best = r;
            } else
                add(s, " – |");
            if (dat && r)
                fprintf(dat, " %.3f", r->gflops);
            else if (dat)
                fprintf(dat, " NaN");
        }
        add(s, " %.1f |", any->sgemm);
        add(s, isnan(square) ? " – |" : " %.1f |", square);
        add(s, " %.1f |", any->peak);
        if (best && !isnan(best->min_ms))
            add(s, " %.3f (%.3f–%.3f) | %.0f %% |\n", best->median_ms, best->min_ms, best->max_ms,
                100 * best->gflops * real_flop_share(best) / best->peak);
        else if (best)
            add(s, " %.3f | %.0f %% |\n", best->median_ms, 100 * best->gflops * real_flop_share(best) / best->peak);
        else
            add(s, " – | – |\n");
        if (dat)
            fprintf(dat, " %.3f %.3f\n", any->sgemm, any->peak);
        for (int k = 0; marks && k < d->num_kernels; k++) { /* bars.gp's markfile: where a fallback ran */
            const krow *r = find(d, d->kernels[k], pass, d->layers[l], threads);
            if (r && strstr(r->impl, "(fallback)"))
                *marks += fprintf(marks_file, "%.4f %.3f\n",
                                  shown + (k - (d->num_kernels - 1) / 2.0) / (d->num_kernels + 1), r->gflops) > 0;
        }
        shown++;
    }
}

/* The benchmark's 1024³ sgemm on `threads` threads (its sidecar's
   sgemm_square_tN), NaN in sidecars from before it was measured. */
static double square_sgemm(kreport *k, int threads)
{
    char key[32];
    snprintf(key, sizeof key, "env.sgemm_square_t%d", threads);
    const char *v = tmpl_get(&k->v, key);
    return v && *v ? atof(v) : NAN;
}

/* Per pass: table.PASS and its chart at the largest thread count, table.PASS.t1. */
static int pass_sections(kreport *k)
{
    const kdata *d = &k->d;
    for (int p = 0; p < d->num_passes; p++) {
        char key[64], name[64], marks_name[96], dat[PATH_MAX + 128], marks_path[PATH_MAX + 128], title[512];
        text s = { 0 };
        snprintf(name, sizeof name, "kernels_%s", d->passes[p]);
        FILE *f = chart_data(k, name, dat, sizeof dat);
        snprintf(marks_name, sizeof marks_name, "%s_fallbacks", name);
        FILE *mf = f ? chart_data(k, marks_name, marks_path, sizeof marks_path) : NULL;
        if (!f || !mf) {
            if (f)
                report_close_data(f, dat);
            return -1;
        }
        int marks = 0;
        speed_table(d, d->passes[p], d->max_threads, square_sgemm(k, d->max_threads), f, mf, &marks, &s);
        snprintf(key, sizeof key, "table.%s", d->passes[p]);
        set_text(&k->v, key, &s);
        speed_table(d, d->passes[p], 1, square_sgemm(k, 1), NULL, NULL, NULL, &s);
        snprintf(key, sizeof key, "table.%s.t1", d->passes[p]);
        set_text(&k->v, key, &s);
        snprintf(key, sizeof key, "figure.%s", d->passes[p]);
        snprintf(title, sizeof title, "%s, batch %d, %d threads (GFLOP/s from the direct count)", d->passes[p],
                 d->rows[0].n, d->max_threads);
        /* the kernels' bars, then BLIS sgemm and the FMA peak; circles on fallbacks */
        const int closed = report_close_data(f, dat) | report_close_data(mf, marks_path);
        if (closed || bar_chart(k, name, key, title, "GFLOP/s (log scale)", d->num_kernels, d->num_kernels + 3, 1,
                                marks ? marks_path : NULL))
            return -1;
    }
    return 0;
}

/* The row of a kernel's largest error on a pass over all layers (the last of
   equals), or NULL when no row has an error of 0 or more. */
static const krow *worst_error(const kdata *d, const char *kernel, const char *pass)
{
    const krow *worst = NULL;
    double largest = 0;
    for (int i = 0; i < d->count; i++) {
        const krow *r = &d->rows[i];
        if (!strcmp(r->kernel, kernel) && !strcmp(r->pass, pass) && r->err >= largest)
            worst = r, largest = r->err;
    }
    return worst;
}

/* A table and its chart's data side by side: a row per rows[], a column per
   cols[]; `cell` writes one cell to both. */
typedef struct grid {
    const char *name, *label, *table_key; /* WORK/NAME.dat; the first column's heading; the template's key */
    const char *const *rows, *const *cols;
    int n_rows, n_cols;
    bool quote_rows;             /* row names quoted in the data (gnuplot's labels may hold dots) */
    const char *heading, *rule;  /* after each column's name in the table's header; its rule */
    void (*cell)(kreport *k, int row, int col, FILE *f, text *s);
} grid;

static int write_grid(kreport *k, const grid *g)
{
    char dat[PATH_MAX + 128];
    FILE *f = chart_data(k, g->name, dat, sizeof dat);
    if (!f)
        return -1;
    text s = { 0 };
    table_head(f, &s, g->label, g->cols, g->n_cols, g->heading, g->rule);
    for (int r = 0; r < g->n_rows; r++) {
        fprintf(f, g->quote_rows ? "\"%s\"" : "%s", g->rows[r]);
        add(&s, "| %s |", g->rows[r]);
        for (int c = 0; c < g->n_cols; c++)
            g->cell(k, r, c, f, &s);
        fprintf(f, "\n");
        add(&s, "\n");
    }
    set_text(&k->v, g->table_key, &s);
    return report_close_data(f, dat);
}

/* Kernel `row`'s largest error on pass `col`, and err.KERNEL.PASS. */
static void error_cell(kreport *k, int row, int col, FILE *f, text *s)
{
    const kdata *d = &k->d;
    const krow *w = worst_error(d, d->kernels[row], d->passes[col]);
    const double worst = w ? w->err : 0;
    fprintf(f, " %.4g", worst);
    add(s, " %.2e (%s) | %.1e |", worst, w ? w->impl : "", w ? w->tol : 0.0);
    char key[128];
    snprintf(key, sizeof key, "err.%s.%s", d->kernels[row], d->passes[col]);
    tmpl_set(&k->v, key, "%.1e", worst);
}

/* table.errors: each kernel's largest error per pass, its chart, err.KERNEL.PASS. */
static int error_section(kreport *k)
{
    const kdata *d = &k->d;
    const grid g = { "kernels_error", "kernel", "table.errors", d->kernels, d->passes, d->num_kernels,
                     d->num_passes, false, ": max error (ran) | tolerance |", "---:|---:|", error_cell };
    return write_grid(k, &g) ||
                   bar_chart(k, "kernels_error", "figure.error",
                             "largest error over all layers, relative to the sum of absolute terms",
                             "max relative error", d->num_passes, d->num_passes + 1, 1, NULL)
               ? -1
               : 0;
}

/* The workspace of kernel `col` on layer `row`, MiB (its first row there); NaN if none. */
static void workspace_cell(kreport *k, int row, int col, FILE *f, text *s)
{
    const kdata *d = &k->d;
    const krow *r = NULL;
    for (int i = 0; i < d->count && !r; i++)
        if (!strcmp(d->rows[i].kernel, d->kernels[col]) && !strcmp(d->rows[i].layer, d->layers[row]))
            r = &d->rows[i];
    const double mib = r ? r->ws_bytes / 1048576.0 : NAN;
    fprintf(f, " %.4f", mib);
    add(s, " %.2f |", mib);
}

/* table.workspace: each kernel's workspace per layer, and its chart. */
static int workspace_section(kreport *k)
{
    const kdata *d = &k->d;
    const grid g = { "kernels_workspace", "layer", "table.workspace", d->layers, d->kernels, d->num_layers,
                     d->num_kernels, true, " |", "---:|", workspace_cell };
    char title[128];
    snprintf(title, sizeof title, "workspace per layer, batch %d (MiB)", d->rows[0].n);
    return write_grid(k, &g) ||
                   bar_chart(k, "kernels_workspace", "figure.workspace", title, "MiB", d->num_kernels,
                             d->num_kernels + 1, 0, NULL)
               ? -1
               : 0;
}

/* A target's figure as the report prints it: a share "83 %" or a speed-up "1.52×". */
static void target_text(const speed_target *g, double value, char *buf, size_t len)
{
    if (g->baseline)
        snprintf(buf, len, "%.2f×", value);
    else
        snprintf(buf, len, "%.0f %%", 100 * value);
}

/* The target's figure on one layer into *value; false when it does not apply
   there or a row it needs was not measured. */
static bool target_value(const kdata *d, const speed_target *g, const krow *shape, const char *layer,
                         double *value)
{
    if (shape->r != g->filter || (g->stride1 && shape->stride != 1) || shape->c < g->min_c ||
        shape->k < g->min_k)
        return false;
    const krow *kr = find(d, g->kernel, g->pass, layer, d->max_threads);
    const krow *base = g->baseline ? find(d, g->baseline, g->pass, layer, d->max_threads) : NULL;
    if (!kr || (g->baseline && !base))
        return false;
    *value = base ? base->median_ms / kr->median_ms : kr->gflops / kr->sgemm;
    return true;
}

/* Whether the table of targets lists the layer: its filter is some target's and
   that target's kernel was measured on it. */
static bool target_layer(const kdata *d, const krow *shape, const char *layer)
{
    for (int g = 0; g < NUM_TARGETS; g++)
        if (shape->r == targets[g].filter && find(d, targets[g].kernel, targets[g].pass, layer, d->max_threads))
            return true;
    return false;
}

/* table.targets, a column per target, and each target's worst layer. */
static void target_section(kreport *k)
{
    const kdata *d = &k->d;
    double worst[NUM_TARGETS];
    const char *worst_layer[NUM_TARGETS];
    text s = { 0 };
    char buf[64], key[128];
    add(&s, "| layer | shape |");
    for (int g = 0; g < NUM_TARGETS; g++)
        add(&s, " %s |", targets[g].column), worst[g] = INFINITY, worst_layer[g] = "none";
    add(&s, "\n|---|---|");
    for (int g = 0; g < NUM_TARGETS; g++)
        add(&s, "---:|");
    add(&s, "\n");
    for (int l = 0; l < d->num_layers; l++) {
        const krow *shape = layer_row(d, d->layers[l]);
        if (!target_layer(d, shape, d->layers[l]))
            continue;
        add(&s, "| %s | %s |", d->layers[l], shape_text(shape, buf, sizeof buf));
        for (int g = 0; g < NUM_TARGETS; g++) {
            double value;
            const bool applies = target_value(d, &targets[g], shape, d->layers[l], &value);
            if (applies)
                target_text(&targets[g], value, buf, sizeof buf);
            add(&s, " %s |", applies ? buf : "–");
            if (applies && value < worst[g])
                worst[g] = value, worst_layer[g] = d->layers[l];
        }
        add(&s, "\n");
    }
    set_text(&k->v, "table.targets", &s);
    for (int g = 0; g < NUM_TARGETS; g++) {
        const speed_target *t = &targets[g];
        target_text(t, worst[g], buf, sizeof buf);
        snprintf(key, sizeof key, "target.%s.min", t->key);
        tmpl_set(&k->v, key, "%s", buf);
        snprintf(key, sizeof key, "target.%s.layer", t->key);
        tmpl_set(&k->v, key, "%s", worst_layer[g]);
        if (t->threshold <= 0)
            continue;
        snprintf(key, sizeof key, "target.%s.threshold", t->key);
        if (t->baseline)
            tmpl_set(&k->v, key, "%g×", t->threshold);
        else
            tmpl_set(&k->v, key, "%g %%", 100 * t->threshold);
        snprintf(key, sizeof key, "target.%s.verdict", t->key);
        tmpl_set(&k->v, key, "%s", worst[g] >= t->threshold ? "holds" : "does **not** hold");
    }
}

/* ---- against oneDNN ------------------------------------------------------------- */

/* The fastest verified row of one case among probador's kernels (peer false)
   or among the peer's rows without or with reorders; NULL when there is none. */
static const krow *fastest(const kdata *d, bool peer, bool reorders, const char *pass, const char *layer,
                           int threads)
{
    const krow *best = NULL;
    for (int i = 0; i < d->count; i++) {
        const krow *r = &d->rows[i];
        if (is_peer(r->kernel) != peer || (peer && with_reorders(r->kernel) != reorders) || !r->verified ||
            r->threads != threads || strcmp(r->pass, pass) != 0 || strcmp(r->layer, layer) != 0)
            continue;
        if (!best || r->median_ms < best->median_ms)
            best = r;
    }
    return best;
}

/* The ratios of one pass, oneDNN's time over probador's: their logarithms'
   sum per thread count (for the geometric mean) and the worst. */
typedef struct ratio_stats {
    double log_sum[MAX_THREADS + 1], worst;
    int count[MAX_THREADS + 1], below; /* below: cells where oneDNN is faster */
    const krow *worst_row;
} ratio_stats;

/* "1.23×", in bold below 1 (oneDNN faster); "–" without a figure. */
static void ratio_text(double ratio, char *buf, size_t len)
{
    if (isnan(ratio))
        snprintf(buf, len, "–");
    else
        snprintf(buf, len, ratio < 1 ? "**%.2f×**" : "%.2f×", ratio);
}

/* A probador row's kernel, "winograd ↪" when its fallback ran. */
static const char *kernel_text(const krow *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", r->kernel, strstr(r->impl, "(fallback)") ? " ↪" : "");
    return buf;
}

/* A peer row's algorithm and what oneDNN ran: "direct (jit:avx512_core)". */
static const char *peer_text(const krow *r, char *buf, size_t len)
{
    const char *impl = strncmp(r->impl, "onednn ", 7) == 0 ? r->impl + 7 : r->impl;
    snprintf(buf, len, "%.*s (%s)", (int)strcspn(r->kernel + 7, "+"), r->kernel + 7, impl);
    return buf;
}

/* One layer at one thread count: the table's row and the ratio's statistics.
   Nothing when either side has no verified row there. */
static void peer_row(const kdata *d, const char *pass, const char *layer, int threads, text *s,
                     ratio_stats *st)
{
    const krow *ours = fastest(d, false, false, pass, layer, threads);
    const krow *alone = fastest(d, true, false, pass, layer, threads);
    const krow *reordered = fastest(d, true, true, pass, layer, threads);
    if (!ours || !alone)
        return;
    const double ratio = alone->median_ms / ours->median_ms;
    const double with = reordered ? reordered->median_ms / ours->median_ms : NAN;
    char shape[64], kernel[64], peer[128], r1[32], r2[32];
    ratio_text(ratio, r1, sizeof r1);
    ratio_text(with, r2, sizeof r2);
    add(s, "| %s | %s | %d | %s | %.3f%s | %s | %.3f%s | %s | %s |\n", layer,
        shape_text(ours, shape, sizeof shape), threads, kernel_text(ours, kernel, sizeof kernel),
        ours->median_ms, shared_mark(ours->other), peer_text(alone, peer, sizeof peer), alone->median_ms,
        shared_mark(alone->other), r1, r2);
    st->log_sum[threads] += log(ratio);
    st->count[threads]++;
    st->below += ratio < 1;
    if (!st->worst_row || ratio < st->worst)
        st->worst = ratio, st->worst_row = ours;
}

/* The geometric means and the worst layer of one pass, after its table. */
static void peer_summary(const kdata *d, const ratio_stats *st, text *s)
{
    add(s, "\nGeometric mean of oneDNN / probador:");
    const char *sep = "";
    for (int th = 1; th <= d->max_threads; th++)
        if (st->count[th]) {
            add(s, "%s %.2f× at %d thread%s", sep, exp(st->log_sum[th] / st->count[th]), th,
                th > 1 ? "s" : "");
            sep = ",";
        }
    const krow *w = st->worst_row;
    const char *plural = w->threads > 1 ? "s" : "";
    if (st->worst >= 1)
        add(s, ". probador is at least as fast on every layer; the closest is %s at %d thread%s, %.2f×.\n\n",
            w->layer, w->threads, plural, st->worst);
    else
        add(s, ". The worst layer is %s at %d thread%s, %.2f×: oneDNN is faster there.\n\n", w->layer,
            w->threads, plural, st->worst);
}

/* One pass: its heading, a row per layer and thread count, its summary.
   False when no layer had both sides measured. */
static bool peer_pass(const kdata *d, const char *pass, text *s, ratio_stats *st)
{
    *st = (ratio_stats){ .worst = INFINITY };
    text rows = { 0 };
    for (int l = 0; l < d->num_layers; l++)
        for (int th = 1; th <= d->max_threads; th++)
            peer_row(d, pass, d->layers[l], th, &rows, st);
    if (!st->worst_row) {
        free(rows.s);
        return false;
    }
    add(s, "### %s\n\n| layer | shape | threads | probador's fastest | ms | oneDNN's fastest, alone | ms | "
           "oneDNN / probador | with reorders |\n|---|---|---:|---|---:|---|---:|---:|---:|\n%s",
        pass, rows.s);
    free(rows.s);
    peer_summary(d, st, s);
    return true;
}

/* The template's `peers`: a table per pass with its summary, then the verdict
   on every layer and pass; or why there is none. */
static void peer_section(kreport *k)
{
    const kdata *d = &k->d;
    text s = { 0 };
    int passes = 0, below = 0;
    const krow *worst = NULL;
    double worst_ratio = INFINITY;
    for (int p = 0; p < d->num_passes; p++) {
        ratio_stats st;
        if (!peer_pass(d, d->passes[p], &s, &st))
            continue;
        passes++, below += st.below;
        if (st.worst < worst_ratio)
            worst_ratio = st.worst, worst = st.worst_row;
    }
    const char *version = tmpl_get(&k->v, "env.onednn_version");
    if (!passes)
        add(&s, "No oneDNN rows were measured in `%s`: the benchmark ran without its peer (`--peers none`) "
                "or before it had one, or none of oneDNN's rows verified. `make bench` measures them.\n",
            k->csv_path);
    else if (below == 0)
        add(&s, "On every layer and pass measured, probador's fastest kernel is at least as fast as "
                "oneDNN%s%s without reorders (the closest: %s %s, %.2f×).\n",
            version ? " " : "", version ? version : "", worst->pass, worst->layer, worst_ratio);
    else
        add(&s, "oneDNN%s%s without reorders is faster than probador's fastest kernel in %d of the cells "
                "above; the worst is %s %s at %d thread%s, %.2f×.\n",
            version ? " " : "", version ? version : "", below, worst->pass, worst->layer, worst->threads,
            worst->threads > 1 ? "s" : "", worst_ratio);
    set_text(&k->v, "peers", &s);
}

/* source.csv, batch, threads.max, rows, rows.unverified and peak.tN. */
/* load.note: whether other work shared the cores while the rows were timed. */
static void load_note(kreport *k)
{
    const kdata *d = &k->d;
    int shared = 0, recorded = 0;
    const krow *worst = NULL;
    for (int i = 0; i < d->count; i++) {
        const krow *r = &d->rows[i];
        recorded += !isnan(r->other);
        shared += r->other > LOAD_CONTAMINATED;
        if (!isnan(r->other) && (!worst || r->other > worst->other))
            worst = r;
    }
    text t = { 0 };
    if (!recorded)
        add(&t, "These rows predate the record of the machine's load: whether other work shared the cores "
                "while they were timed is unknown.");
    else if (!shared)
        add(&t, "Every row was timed with the machine to itself: beside at most %.2f cores of other work "
                "(the `other_cores` column: the other processes' CPU time over the row's wall time).",
            worst->other);
    else
        add(&t, "%d of %d rows were timed beside more than %.2f cores of other work, even after waiting "
                "for a quiet machine and timing them again; they are marked ‡ and say little about speed "
                "(the most: %.2f cores, %s %s %s at %d threads).",
            shared, d->count, LOAD_CONTAMINATED, worst->other, worst->kernel, worst->pass, worst->layer,
            worst->threads);
    set_text(&k->v, "load.note", &t);
}

static void overview_vars(kreport *k)
{
    const kdata *d = &k->d;
    tmpl_set(&k->v, "source.csv", "%s", k->csv_path);
    tmpl_set(&k->v, "batch", "%d", d->rows[0].n);
    tmpl_set(&k->v, "threads.max", "%d", d->max_threads);
    tmpl_set(&k->v, "rows", "%d", d->count);
    int unverified = 0;
    for (int i = 0; i < d->count; i++)
        unverified += !d->rows[i].verified;
    tmpl_set(&k->v, "rows.unverified", "%d", unverified);
    load_note(k);
    const double sq1 = square_sgemm(k, 1), sq2 = square_sgemm(k, d->max_threads);
    if (isnan(sq1) || isnan(sq2))
        tmpl_set(&k->v, "sgemm.square", "not measured by the benchmark run behind this report, which predates it");
    else
        tmpl_set(&k->v, "sgemm.square", "%.0f GFLOP/s on one thread, %.0f on %d", sq1, sq2, d->max_threads);
    for (int th = 1; th <= d->max_threads; th++)
        for (int i = 0; i < d->count; i++)
            if (d->rows[i].threads == th) {
                char key[32];
                snprintf(key, sizeof key, "peak.t%d", th);
                tmpl_set(&k->v, key, "%.0f", d->rows[i].peak);
                break;
            }
}

/* ---- the training step (bench --train's CSVs) ---------------------------------------
 *
 * probador's training step and inference against PyTorch's, measured in the same
 * run (reports/data/train.csv: kernel `pytorch` for the peer's rows; a CSV
 * without a phase column holds training steps only), and where a step's time
 * goes (train_breakdown.csv).  A missing file, or a CSV without PyTorch's rows,
 * is reported as not measured yet rather than an error.  The targets, at
 * TRAIN_TARGET_THREADS threads: the fastest kernel's training step at least
 * train_target_ratio × PyTorch's for every model, and convolution (its three
 * passes) at least train_target_conv_share of the step. */

enum { TRAIN_TARGET_THREADS = 2, TRAIN_MAX_MODELS = 8, TRAIN_MAX_THREADS = 16 };
static const double train_target_ratio = 2.0, train_target_conv_share = 0.70;
static const char train_peer[] = "pytorch";

typedef struct trow {
    const char *model, *kernel, *phase;
    int threads;
    double ips;
    double other; /* other_cores while timed; NaN when not recorded */
} trow;

typedef struct tdata {
    csv_table t;
    trow *rows;
    int count, batch, reps;
    const char *models[TRAIN_MAX_MODELS], *kernels[MAX_KERNELS]; /* kernels: probador's, not the peer */
    int num_models, num_kernels, threads[TRAIN_MAX_THREADS], num_threads;
    bool has_peer;
    int target_threads; /* TRAIN_TARGET_THREADS when measured, else the largest */
} tdata;

/* Adds a thread count to the table's list (in the CSV's order) if new. */
static void train_add_threads(tdata *d, int threads)
{
    for (int i = 0; i < d->num_threads; i++)
        if (d->threads[i] == threads)
            return;
    if (d->num_threads < TRAIN_MAX_THREADS)
        d->threads[d->num_threads++] = threads;
}

/* The verdict on a target over every model: "holds", "does **not** hold", or,
   when some model was not measured, that it cannot be judged yet. */
static const char *train_verdict(bool measured, bool holds)
{
    return !measured ? "cannot be judged until every model is measured"
                     : holds ? "holds" : "does **not** hold";
}

/* Reads train.csv's rows; 0, or -1 with the error printed. */
static int train_load(const char *path, tdata *d)
{
    if (csv_load(path, &d->t))
        return -1;
    const csv_table *t = &d->t;
    const int cm = csv_col(t, "model"), ck = csv_col(t, "kernel"), ct = csv_col(t, "threads"),
              ci = csv_col(t, "images_per_second"), cb = csv_col(t, "batch"), cr = csv_col(t, "iterations");
    if (cm < 0 || ck < 0 || ct < 0 || ci < 0 || cb < 0 || cr < 0)
        return -1;
    /* optional: the CSVs before inference was timed lack phase, before the load was recorded other_cores */
    const int cp = optional_col(t, "phase"), co = optional_col(t, "other_cores");
    d->rows = checked_calloc((size_t)t->rows + 1, sizeof *d->rows);
    for (int i = 0; i < t->rows; i++) {
        trow *r = &d->rows[d->count++];
        *r = (trow){ csv_cell(t, i, cm), csv_cell(t, i, ck), cp < 0 ? "train" : csv_cell(t, i, cp),
                     (int)csv_num(t, i, ct), csv_num(t, i, ci), co < 0 ? NAN : csv_num(t, i, co) };
        d->batch = (int)csv_num(t, i, cb), d->reps = (int)csv_num(t, i, cr);
        d->has_peer |= !strcmp(r->kernel, train_peer);
        if (add_unique(d->models, &d->num_models, TRAIN_MAX_MODELS, r->model) ||
            (strcmp(r->kernel, train_peer) && add_unique(d->kernels, &d->num_kernels, MAX_KERNELS, r->kernel))) {
            fprintf(stderr, "%s:%d: error: more than %d models or %d kernels; the report has room for no more\n",
                    path, i + 2, TRAIN_MAX_MODELS, MAX_KERNELS);
            return -1;
        }
        train_add_threads(d, r->threads);
        if (r->threads == TRAIN_TARGET_THREADS || (d->target_threads != TRAIN_TARGET_THREADS &&
                                                   r->threads > d->target_threads))
            d->target_threads = r->threads;
    }
    return 0;
}

static const trow *train_find(const tdata *d, const char *model, const char *kernel, const char *phase,
                              int threads)
{
    for (int i = 0; i < d->count; i++) {
        const trow *r = &d->rows[i];
        if (!strcmp(r->model, model) && !strcmp(r->kernel, kernel) && !strcmp(r->phase, phase) &&
            r->threads == threads)
            return r;
    }
    return NULL;
}

/* probador's fastest kernel there, or NULL when none was measured. */
static const trow *train_best(const tdata *d, const char *model, const char *phase, int threads)
{
    const trow *best = NULL;
    for (int k = 0; k < d->num_kernels; k++) {
        const trow *r = train_find(d, model, d->kernels[k], phase, threads);
        if (r && (!best || r->ips > best->ips))
            best = r;
    }
    return best;
}

/* table.train or table.infer: images/s per model and thread count, a column per
   kernel, PyTorch's and the fastest kernel's over PyTorch's. */
static void train_table(const tdata *d, const char *phase, text *s)
{
    bool any = false;
    for (int i = 0; i < d->count; i++)
        any |= !strcmp(d->rows[i].phase, phase);
    if (!any) {
        add(s, "Not measured yet (the CSV has no `%s` rows): rerun `make bench`.\n", phase);
        return;
    }
    add(s, "| model | threads |");
    for (int k = 0; k < d->num_kernels; k++)
        add(s, " %s |", d->kernels[k]);
    add(s, " PyTorch | best / PyTorch |\n|---|---:|");
    for (int k = 0; k < d->num_kernels + 2; k++)
        add(s, "---:|");
    add(s, "\n");
    for (int m = 0; m < d->num_models; m++)
        for (int t = 0; t < d->num_threads; t++) {
            const int threads = d->threads[t];
            const trow *best = train_best(d, d->models[m], phase, threads);
            const trow *peer = train_find(d, d->models[m], train_peer, phase, threads);
            if (!best && !peer)
                continue;
            add(s, "| %s | %d |", d->models[m], threads);
            for (int k = 0; k < d->num_kernels; k++) {
                const trow *r = train_find(d, d->models[m], d->kernels[k], phase, threads);
                if (r)
                    add(s, " %.0f%s |", r->ips, shared_mark(r->other));
                else
                    add(s, " – |");
            }
            if (peer)
                add(s, " %.0f%s |", peer->ips, shared_mark(peer->other));
            else
                add(s, " – |");
            add(s, best && peer ? " %.2f× |\n" : " – |\n", best && peer ? best->ips / peer->ips : 0);
        }
}

/* train.peer: how the ratio reads, and the target on it; or that PyTorch was
   not measured. */
static void train_peer_verdict(const tdata *d, text *s)
{
    if (!d->has_peer) {
        add(s, "PyTorch was not measured yet (the CSV has no `pytorch` rows): rerun `make bench`, which "
               "installs `python3-torch` through `make deps` and runs the peer in the same run.");
        return;
    }
    add(s, "*best / PyTorch* is the fastest kernel's images per second over PyTorch's, at the same batch and "
           "threads: above 1 probador is the faster. The target, a training step at least %.1f× PyTorch's for "
           "every model at %d threads:", train_target_ratio, TRAIN_TARGET_THREADS);
    bool measured = true, holds = true;
    for (int m = 0; m < d->num_models; m++) {
        const trow *best = train_best(d, d->models[m], "train", TRAIN_TARGET_THREADS);
        const trow *peer = train_find(d, d->models[m], train_peer, "train", TRAIN_TARGET_THREADS);
        const double ratio = best && peer ? best->ips / peer->ips : NAN;
        add(s, isnan(ratio) ? "%s %s not measured" : "%s %s **%.2f×**", m ? "," : "", d->models[m], ratio);
        measured &= !isnan(ratio);
        holds &= ratio >= train_target_ratio;
    }
    add(s, "; the target %s.", train_verdict(measured, holds));
}

/* The breakdown's ms per step of one (model, kernel, threads, kind), NaN if absent. */
static double breakdown_ms(const csv_table *b, const int *col, const trow *best, const char *kind)
{
    for (int i = 0; i < b->rows; i++)
        if (!strcmp(csv_cell(b, i, col[0]), best->model) && !strcmp(csv_cell(b, i, col[1]), best->kernel) &&
            (int)csv_num(b, i, col[2]) == best->threads && !strcmp(csv_cell(b, i, col[3]), kind))
            return csv_num(b, i, col[4]);
    return NAN;
}

/* One row of the breakdown table: the kind's ms and share of the step per model. */
static void breakdown_row(const csv_table *b, const int *col, const trow *const *best, int n, const char *label,
                          const char *const *kinds, int n_kinds, text *s)
{
    add(s, "| %s |", label);
    for (int m = 0; m < n; m++) {
        double ms = 0;
        for (int k = 0; k < n_kinds; k++)
            ms += best[m] ? breakdown_ms(b, col, best[m], kinds[k]) : NAN;
        const double step = best[m] ? breakdown_ms(b, col, best[m], "step") : NAN;
        add(s, isnan(ms) ? " – | – |" : " %.2f | %.0f %% |", ms, 100 * ms / step);
    }
    add(s, "\n");
}

/* table.breakdown: ms and share of the step per kind (the breakdown's own
   order), for each model's fastest kernel; then the convolution's share. */
static void breakdown_table(const tdata *d, const csv_table *b, const int *col, text *s, double *conv_share)
{
    const trow *best[TRAIN_MAX_MODELS];
    add(s, "| kind |");
    for (int m = 0; m < d->num_models; m++) {
        best[m] = train_best(d, d->models[m], "train", d->target_threads);
        add(s, " %s (%s): ms | share |", d->models[m], best[m] ? best[m]->kernel : "–");
    }
    add(s, "\n|---|");
    for (int m = 0; m < d->num_models; m++)
        add(s, "---:|---:|");
    add(s, "\n");
    const char *kinds[64], *conv[3] = { "conv_forward", "conv_backward_data", "conv_backward_weights" };
    int n_kinds = 0;
    for (int i = 0; i < b->rows; i++)
        if (strcmp(csv_cell(b, i, col[3]), "step")) /* the total goes last */
            add_unique(kinds, &n_kinds, 64, csv_cell(b, i, col[3]));
    for (int k = 0; k < n_kinds; k++)
        breakdown_row(b, col, best, d->num_models, kinds[k], &kinds[k], 1, s);
    breakdown_row(b, col, best, d->num_models, "**convolution, three passes**", conv, 3, s);
    breakdown_row(b, col, best, d->num_models, "step", (const char *const[]){ "step" }, 1, s);
    add(s, "\n");
    for (int m = 0; m < d->num_models; m++) {
        conv_share[m] = 0;
        for (int c = 0; c < 3; c++)
            conv_share[m] += best[m] ? breakdown_ms(b, col, best[m], conv[c]) : NAN;
        conv_share[m] /= best[m] ? breakdown_ms(b, col, best[m], "step") : NAN;
    }
}

/* train.breakdown.*: the breakdown's table, its introduction and the target on
   the convolution's share; or that it was not measured.  0 or -1. */
/* Convolution's three passes of one step of `r`'s model, kernel and threads. */
static double breakdown_conv_ms(const csv_table *b, const int *col, const trow *r)
{
    return breakdown_ms(b, col, r, "conv_forward") + breakdown_ms(b, col, r, "conv_backward_data") +
           breakdown_ms(b, col, r, "conv_backward_weights");
}

/* Why a kernel's speed-up per layer shrinks per step (Amdahl): for each model,
   the fastest kernel's convolution time against im2col's, and the rest of the
   step, which no convolution kernel changes. */
static void breakdown_amdahl(const tdata *d, const csv_table *b, const int *col, text *s)
{
    for (int m = 0; m < d->num_models; m++) {
        const trow *best = train_best(d, d->models[m], "train", d->target_threads);
        const trow *base = train_find(d, d->models[m], "im2col", "train", d->target_threads);
        if (!best || !base || best == base)
            continue;
        const double conv_best = breakdown_conv_ms(b, col, best), conv_base = breakdown_conv_ms(b, col, base);
        const double step_best = breakdown_ms(b, col, best, "step"), step_base = breakdown_ms(b, col, base, "step");
        if (isnan(conv_best) || isnan(conv_base) || isnan(step_best) || isnan(step_base))
            continue;
        add(s, "%s %s's convolutions take %.1f ms a step with %s against %.1f with im2col (%.2f× faster), but the "
               "rest of the step, %.1f ms, %s, so the whole step is only %.2f× faster (%.1f against %.1f ms).",
            m ? "Likewise," : "What limits the step is everything that is not a convolution:", d->models[m], conv_best,
            best->kernel, conv_base, conv_base / conv_best, step_best - conv_best,
            m ? "is the same for every kernel"
              : "is work no convolution kernel touches (batch norm, pooling, the dense layers, the optimiser)",
            step_base / step_best, step_best, step_base);
        add(s, m + 1 < d->num_models ? " " : "");
    }
}

static int breakdown_section(kreport *k, const tdata *d, const char *train_path)
{
    char path[PATH_MAX];
    bench_train_breakdown_path(train_path, path, sizeof path);
    text intro = { 0 }, table = { 0 }, verdict = { 0 };
    csv_table b = { 0 };
    int rc = 0;
    if (d->num_models == 0 || access(path, F_OK) != 0)
        add(&intro, "The breakdown was not measured yet: rerun `make bench`, which writes `%s`.", path);
    else if ((rc = csv_load(path, &b)) == 0) {
        const int col[] = { csv_col(&b, "model"), csv_col(&b, "kernel"), csv_col(&b, "threads"),
                            csv_col(&b, "kind"), csv_col(&b, "ms_per_step") };
        rc = col[0] < 0 || col[1] < 0 || col[2] < 0 || col[3] < 0 || col[4] < 0 ? -1 : 0;
        double share[TRAIN_MAX_MODELS];
        if (!rc) {
            add(&intro, "From `%s`: each model's fastest kernel at %d threads, milliseconds per training step "
                        "and share of the step.", path, d->target_threads);
            breakdown_table(d, &b, col, &table, share);
            add(&verdict, "Convolution, its three passes together, takes");
            bool measured = d->target_threads == TRAIN_TARGET_THREADS, holds = true;
            for (int m = 0; m < d->num_models; m++) {
                add(&verdict, isnan(share[m]) ? "%s %s: not measured" : "%s %s **%.0f %%**", m ? "," : "",
                    d->models[m], 100 * share[m]);
                measured &= !isnan(share[m]);
                holds &= share[m] >= train_target_conv_share;
            }
            add(&verdict, " of the step; the target, at least %.0f %%, %s.\n\n", 100 * train_target_conv_share,
                train_verdict(measured, holds));
            breakdown_amdahl(d, &b, col, &verdict);
        }
    }
    csv_free(&b);
    set_text(&k->v, "train.breakdown.intro", &intro);
    set_text(&k->v, "train.table.breakdown", &table);
    set_text(&k->v, "train.breakdown.verdict", &verdict);
    return rc;
}

/* train.measured: where the figures come from (batch, steps, PyTorch's version). */
static void train_source(kreport *k, const tdata *d, const char *path)
{
    char env_path[PATH_MAX + 8];
    tmpl_vars env = { 0 };
    snprintf(env_path, sizeof env_path, "%s.env", path);
    const char *version = access(env_path, F_OK) == 0 && report_read_env(env_path, &env) == 0
                              ? tmpl_get(&env, "env.pytorch")
                              : NULL;
    int shared = 0, recorded = 0;
    for (int i = 0; i < d->count; i++)
        recorded += !isnan(d->rows[i].other), shared += d->rows[i].other > LOAD_CONTAMINATED;
    char load[256];
    if (!recorded)
        snprintf(load, sizeof load, " These rows predate the record of the machine's load.");
    else if (shared)
        snprintf(load, sizeof load, " %d of %d rows were timed beside more than %.2f cores of other work (‡).",
                 shared, d->count, LOAD_CONTAMINATED);
    else
        snprintf(load, sizeof load, " Every row was timed with the machine to itself.");
    tmpl_set(&k->v, "train.measured",
             "From `%s`: batch %d, the median of %d timed steps after warm-up ones%s%s.%s", path, d->batch, d->reps,
             version ? "; PyTorch " : "", version ? version : "", load);
    tmpl_free(&env);
}

/* Every train.* variable of the template; 0, or -1 on a malformed CSV. */
static int training_section(kreport *k)
{
    char path[PATH_MAX];
    const char *slash = strrchr(k->csv_path, '/');
    if (k->train_csv_path)
        snprintf(path, sizeof path, "%s", k->train_csv_path);
    else
        snprintf(path, sizeof path, "%.*strain.csv", slash ? (int)(slash - k->csv_path + 1) : 0, k->csv_path);
    tdata *d = checked_calloc(1, sizeof *d);
    text train = { 0 }, infer = { 0 }, peer = { 0 };
    int rc = 0;
    if (access(path, F_OK) != 0) {
        tmpl_set(&k->v, "train.measured", "Not measured yet: `%s` does not exist; run `make bench`.", path);
        add(&peer, "PyTorch was not measured yet either.");
        rc = breakdown_section(k, d, path);
    } else if ((rc = train_load(path, d)) == 0) {
        train_source(k, d, path);
        train_table(d, "train", &train);
        train_table(d, "infer", &infer);
        train_peer_verdict(d, &peer);
        rc = breakdown_section(k, d, path);
    }
    set_text(&k->v, "train.table.train", &train);
    set_text(&k->v, "train.table.infer", &infer);
    set_text(&k->v, "train.peer", &peer);
    csv_free(&d->t);
    free(d->rows);
    free(d);
    return rc;
}

/* ---- the command ------------------------------------------------------------------ */

/* The report compares passes and thread counts: a CSV restricted to fewer is refused. */
static int check_complete(const kreport *k)
{
    const kdata *d = &k->d;
    bool has_t1 = false;
    for (int i = 0; i < d->count; i++)
        has_t1 |= d->rows[i].threads == 1;
    if (d->num_passes == MAX_PASSES && has_t1 && d->max_threads >= 2)
        return 0;
    fprintf(stderr,
            "%s: error: the kernel report needs all three passes at 1 and 2 threads; this CSV has %d pass(es), "
            "threads %s up to %d; rerun `probador bench` without --passes and --threads (a restricted CSV is "
            "for reading, not for the report)\n",
            k->csv_path, d->num_passes, has_t1 ? "1" : "from above 1", d->max_threads);
    return -1;
}

/* Reads the CSVs and the sidecar; makes the folders the charts go to. */
static int load_inputs(kreport *k)
{
    /* charts go to figures/ beside the report, which links them relatively */
    const char *slash = strrchr(k->out_path, '/');
    snprintf(k->fig_dir, sizeof k->fig_dir, "%.*sfigures", slash ? (int)(slash - k->out_path + 1) : 0,
             k->out_path);
    char env_path[1100];
    snprintf(env_path, sizeof env_path, "%s.env", k->csv_path);
    if (csv_load(k->csv_path, &k->t) || load_rows(&k->t, &k->d) || check_complete(k) ||
        report_read_env(env_path, &k->v))
        return -1;
    return report_mkdirs(k->fig_dir) || report_work_dir(k->work, sizeof k->work) ? -1 : 0;
}

static int render(kreport *k)
{
    if (load_inputs(k))
        return -1;
    overview_vars(k);
    if (pass_sections(k) || error_section(k) || workspace_section(k))
        return -1;
    target_section(k);
    peer_section(k);
    if (training_section(k))
        return -1;
    atomic_file out;
    if (!atomic_open(&out, k->out_path))
        return -1;
    if (tmpl_render(k->tmpl_path, &k->v, out.f)) {
        atomic_abort(&out);
        return -1;
    }
    if (!atomic_commit(&out))
        return -1;
    fprintf(stderr, "report: wrote %s\n", k->out_path);
    return 0;
}

static const char usage_text[] =
    "usage: probador report kernels [--csv PATH] [--train-csv PATH] [--template PATH] [--out PATH]\n"
    "  writes OUT (default reports/kernels.md) and its charts in figures/ beside it from the benchmark\n"
    "  CSV (default reports/data/kernels.csv) and its PATH.env; the template defaults to\n"
    "  tools/report/kernels.md.in of the program's repository.  The training step's section reads\n"
    "  bench --train's CSV (default: train.csv beside the kernels' CSV), its .env and its step\n"
    "  breakdown (TRAIN_breakdown.csv); one that is missing is reported as not measured yet\n";

/* -1 when the report should be made, else the exit code. */
static int parse_args(int argc, char **argv, kreport *k)
{
    k->csv_path = "reports/data/kernels.csv", k->out_path = "reports/kernels.md";
    const report_option options[] = {
        { "--csv", &k->csv_path },   { "--template", &k->tmpl_path },
        { "--out", &k->out_path },   { "--train-csv", &k->train_csv_path },
        { NULL, NULL }
    };
    const int exit_code = report_args(argc, argv, usage_text, options, NULL);
    if (exit_code >= 0)
        return exit_code;
    /* the template beside the charts' scripts, wherever we run from */
    if (!k->tmpl_path && report_repo_path("tools/report/kernels.md.in", k->tmpl_buf, sizeof k->tmpl_buf))
        return 1;
    k->tmpl_path = k->tmpl_path ? k->tmpl_path : k->tmpl_buf;
    return -1;
}

int report_kernels(int argc, char **argv)
{
    kreport *k = checked_calloc(1, sizeof *k);
    int rc = parse_args(argc, argv, k);
    if (rc < 0)
        rc = render(k) ? 1 : 0;
    tmpl_free(&k->v);
    csv_free(&k->t);
    free(k->d.rows);
    free(k);
    return rc;
}
