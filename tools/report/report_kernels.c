/* tools/report/report_kernels.c — `probador report kernels`: reports/kernels.md from
 * reports/data/kernels.csv, its environment sidecar and the template
 * tools/report/kernels.md.in, with gnuplot charts under reports/figures/. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/atomic_file.h"
#include "tools/report/csv.h"
#include "tools/report/report.h"

typedef struct krow {
    const char *kernel, *pass, *layer, *impl;
    int n, c, h, w, k, r, s, stride, pad, threads, verified;
    double median_ms, gflops, sgemm, peak, err, tol, ws_bytes;
} krow;

typedef struct kdata {
    krow *rows;
    int count;
    const char *kernels[16], *layers[64], *passes[3];
    int num_kernels, num_layers, num_passes, max_threads;
} kdata;

static void add_unique(const char **list, int *count, int cap, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (strcmp(list[i], name) == 0)
            return;
    if (*count < cap)
        list[(*count)++] = name;
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
    d->rows = calloc((size_t)t->rows, sizeof *d->rows);
    d->count = t->rows;
    for (int i = 0; i < t->rows; i++) {
        krow *r = &d->rows[i];
        r->kernel = csv_cell(t, i, col[0]), r->pass = csv_cell(t, i, col[1]);
        r->layer = csv_cell(t, i, col[2]), r->impl = csv_cell(t, i, col[3]);
        int *ints[] = { &r->n, &r->c, &r->h, &r->w, &r->k, &r->r, &r->s, &r->stride, &r->pad, &r->threads,
                        &r->verified };
        for (int j = 0; j < 11; j++)
            *ints[j] = (int)csv_num(t, i, col[4 + j]);
        double *dbl[] = { &r->median_ms, &r->gflops, &r->sgemm, &r->peak, &r->err, &r->tol, &r->ws_bytes };
        for (int j = 0; j < 7; j++)
            *dbl[j] = csv_num(t, i, col[15 + j]);
        add_unique(d->kernels, &d->num_kernels, 16, r->kernel);
        add_unique(d->layers, &d->num_layers, 64, r->layer);
        add_unique(d->passes, &d->num_passes, 3, r->pass);
        if (r->threads > d->max_threads)
            d->max_threads = r->threads;
    }
    if (d->count == 0) {
        fprintf(stderr, "%s: error: no benchmark rows; rerun `make bench`\n", t->path);
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

/* Appends printf output to a growing string. */
static void cat(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char **s, size_t *len, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    *s = realloc(*s, *len + (size_t)n + 1);
    memcpy(*s + *len, buf, (size_t)n + 1);
    *len += (size_t)n;
}

/* GFLOP/s table of one pass at one thread count; writes the chart data too. */
static char *speed_table(const kdata *d, const char *pass, int threads, const char *datafile)
{
    char *s = NULL, shape[64];
    size_t len = 0;
    FILE *dat = datafile ? fopen(datafile, "w") : NULL;
    cat(&s, &len, "| layer | shape |");
    if (dat)
        fprintf(dat, "layer");
    for (int k = 0; k < d->num_kernels; k++) {
        cat(&s, &len, " %s |", d->kernels[k]);
        if (dat)
            fprintf(dat, " %s", d->kernels[k]);
    }
    cat(&s, &len, " BLIS sgemm | FMA peak | best / peak |\n|---|---|");
    if (dat)
        fprintf(dat, " \"BLIS sgemm\" \"FMA peak\"\n");
    for (int k = 0; k < d->num_kernels + 3; k++)
        cat(&s, &len, "---:|");
    cat(&s, &len, "\n");
    for (int l = 0; l < d->num_layers; l++) {
        const krow *any = find(d, d->kernels[0], pass, d->layers[l], threads);
        if (!any)
            continue;
        double best = 0, sgemm = any->sgemm, peak = any->peak;
        cat(&s, &len, "| %s | %s |", d->layers[l], shape_text(any, shape, sizeof shape));
        if (dat)
            fprintf(dat, "\"%s\"", d->layers[l]);
        for (int k = 0; k < d->num_kernels; k++) {
            const krow *r = find(d, d->kernels[k], pass, d->layers[l], threads);
            if (!r) {
                cat(&s, &len, " – |");
                if (dat)
                    fprintf(dat, " NaN");
                continue;
            }
            const char *fb = strstr(r->impl, "(fallback)");
            cat(&s, &len, " %.1f%s%s |", r->gflops, fb ? " ↪" : "", r->verified ? "" : " ✗");
            if (dat)
                fprintf(dat, " %.3f", r->gflops);
            if (r->gflops > best)
                best = r->gflops;
        }
        cat(&s, &len, " %.1f | %.1f | %.0f %% |\n", sgemm, peak, 100 * best / peak);
        if (dat)
            fprintf(dat, " %.3f %.3f\n", sgemm, peak);
    }
    if (dat)
        fclose(dat);
    return s;
}

int report_kernels(int argc, char **argv)
{
    const char *csv_path = "reports/data/kernels.csv", *tmpl_path = "tools/report/kernels.md.in";
    const char *out_path = "reports/kernels.md", *ext_path = "reports/data/external_reference.csv";
    const char *work = "build/report";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--csv"))
            csv_path = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--template"))
            tmpl_path = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--out"))
            out_path = argv[++i];
        else {
            fprintf(stderr, "probador report kernels: error: unknown option '%s' (known: --csv PATH, "
                            "--template PATH, --out PATH)\n", argv[i]);
            return 2;
        }
    }
    /* charts go to figures/ beside the report, which links them relatively */
    char fig_dir[1100];
    const char *slash = strrchr(out_path, '/');
    snprintf(fig_dir, sizeof fig_dir, "%.*sfigures", slash ? (int)(slash - out_path + 1) : 0, out_path);
    csv_table t, ext;
    kdata d = { 0 };
    tmpl_vars v = { 0 };
    char env_path[1100];
    snprintf(env_path, sizeof env_path, "%s.env", csv_path);
    if (csv_load(csv_path, &t) || load_rows(&t, &d) || report_read_env(env_path, &v) ||
        csv_load(ext_path, &ext) || report_mkdirs(fig_dir) || report_mkdirs(work))
        return 1;
    bool has_t1 = false;
    for (int i = 0; i < d.count; i++)
        has_t1 |= d.rows[i].threads == 1;
    if (d.num_passes < 3 || !has_t1 || d.max_threads < 2) {
        fprintf(stderr, "%s: error: the kernel report needs all three passes at 1 and 2 threads; this CSV has "
                        "%d pass(es), threads %s up to %d; rerun `probador bench` without --passes and --threads "
                        "(a restricted CSV is for reading, not for the report)\n",
                csv_path, d.num_passes, has_t1 ? "1" : "from above 1", d.max_threads);
        return 1;
    }
    const int tmax = d.max_threads;
    tmpl_set(&v, "source.csv", "%s", csv_path);
    tmpl_set(&v, "batch", "%d", d.rows[0].n);
    tmpl_set(&v, "threads.max", "%d", tmax);
    tmpl_set(&v, "rows", "%d", d.count);
    int unverified = 0;
    for (int i = 0; i < d.count; i++)
        unverified += !d.rows[i].verified;
    tmpl_set(&v, "rows.unverified", "%d", unverified);
    for (int th = 1; th <= tmax; th++) {
        for (int i = 0; i < d.count; i++)
            if (d.rows[i].threads == th) {
                char key[32];
                snprintf(key, sizeof key, "peak.t%d", th);
                tmpl_set(&v, key, "%.0f", d.rows[i].peak);
                break;
            }
    }

    /* tables and charts: one per pass at the largest thread count */
    for (int p = 0; p < d.num_passes; p++) {
        char key[64], dat[2048], png[2048], params[8192];
        snprintf(dat, sizeof dat, "%s/kernels_%s.dat", work, d.passes[p]);
        snprintf(key, sizeof key, "table.%s", d.passes[p]);
        char *tab = speed_table(&d, d.passes[p], tmax, dat);
        tmpl_set(&v, key, "%s", tab);
        free(tab);
        snprintf(key, sizeof key, "table.%s.t1", d.passes[p]);
        tab = speed_table(&d, d.passes[p], 1, NULL);
        tmpl_set(&v, key, "%s", tab);
        free(tab);
        snprintf(png, sizeof png, "%s/kernels_%s.png", fig_dir, d.passes[p]);
        snprintf(params, sizeof params,
                 "datafile='%s'; outfile='%s'; charttitle='%s, batch %d, %d threads (GFLOP/s from the direct "
                 "count)'; ylabel='GFLOP/s'; nbars=%d; ncols=%d; logy=0",
                 dat, png, d.passes[p], d.rows[0].n, tmax, d.num_kernels, d.num_kernels + 3);
        if (report_gnuplot("tools/report/bars.gp", params))
            return 1;
        snprintf(key, sizeof key, "figure.%s", d.passes[p]);
        tmpl_set(&v, key, "figures/kernels_%s.png", d.passes[p]);
    }

    /* error and workspace: tables and charts */
    char *s = NULL;
    size_t len = 0;
    char dat[2048], png[2048], params[8192];
    snprintf(dat, sizeof dat, "%s/kernels_error.dat", work);
    FILE *f = fopen(dat, "w");
    fprintf(f, "kernel");
    cat(&s, &len, "| kernel |");
    for (int p = 0; p < d.num_passes; p++) {
        fprintf(f, " %s", d.passes[p]);
        cat(&s, &len, " %s: max error (ran) | tolerance |", d.passes[p]);
    }
    fprintf(f, "\n");
    cat(&s, &len, "\n|---|");
    for (int p = 0; p < d.num_passes; p++)
        cat(&s, &len, "---:|---:|");
    cat(&s, &len, "\n");
    for (int k = 0; k < d.num_kernels; k++) {
        fprintf(f, "%s", d.kernels[k]);
        cat(&s, &len, "| %s |", d.kernels[k]);
        for (int p = 0; p < d.num_passes; p++) {
            double worst = 0, tol = 0;
            const char *impl = "";
            for (int i = 0; i < d.count; i++) {
                const krow *r = &d.rows[i];
                if (!strcmp(r->kernel, d.kernels[k]) && !strcmp(r->pass, d.passes[p]) && r->err >= worst)
                    worst = r->err, tol = r->tol, impl = r->impl;
            }
            fprintf(f, " %.4g", worst);
            cat(&s, &len, " %.2e (%s) | %.1e |", worst, impl, tol);
            char key[128];
            snprintf(key, sizeof key, "err.%s.%s", d.kernels[k], d.passes[p]);
            tmpl_set(&v, key, "%.1e", worst);
        }
        fprintf(f, "\n");
        cat(&s, &len, "\n");
    }
    fclose(f);
    tmpl_set(&v, "table.errors", "%s", s);
    free(s), s = NULL, len = 0;
    snprintf(png, sizeof png, "%s/kernels_error.png", fig_dir);
    snprintf(params, sizeof params,
             "datafile='%s'; outfile='%s'; charttitle='largest error over all layers, relative to the sum "
             "of absolute terms'; ylabel='max relative error'; nbars=%d; ncols=%d; logy=1",
             dat, png, d.num_passes, d.num_passes + 1);
    if (report_gnuplot("tools/report/bars.gp", params))
        return 1;
    tmpl_set(&v, "figure.error", "figures/kernels_error.png");

    snprintf(dat, sizeof dat, "%s/kernels_workspace.dat", work);
    f = fopen(dat, "w");
    fprintf(f, "layer");
    cat(&s, &len, "| layer |");
    for (int k = 0; k < d.num_kernels; k++) {
        fprintf(f, " %s", d.kernels[k]);
        cat(&s, &len, " %s |", d.kernels[k]);
    }
    fprintf(f, "\n");
    cat(&s, &len, "\n|---|");
    for (int k = 0; k < d.num_kernels; k++)
        cat(&s, &len, "---:|");
    cat(&s, &len, "\n");
    for (int l = 0; l < d.num_layers; l++) {
        fprintf(f, "\"%s\"", d.layers[l]);
        cat(&s, &len, "| %s |", d.layers[l]);
        for (int k = 0; k < d.num_kernels; k++) {
            const krow *r = NULL;
            for (int i = 0; i < d.count && !r; i++)
                if (!strcmp(d.rows[i].kernel, d.kernels[k]) && !strcmp(d.rows[i].layer, d.layers[l]))
                    r = &d.rows[i];
            double mib = r ? r->ws_bytes / 1048576.0 : NAN;
            fprintf(f, " %.4f", mib);
            cat(&s, &len, " %.2f |", mib);
        }
        fprintf(f, "\n");
        cat(&s, &len, "\n");
    }
    fclose(f);
    tmpl_set(&v, "table.workspace", "%s", s);
    free(s), s = NULL, len = 0;
    snprintf(png, sizeof png, "%s/kernels_workspace.png", fig_dir);
    snprintf(params, sizeof params,
             "datafile='%s'; outfile='%s'; charttitle='workspace per layer, batch %d (MiB)'; ylabel='MiB'; "
             "nbars=%d; ncols=%d; logy=0",
             dat, png, d.rows[0].n, d.num_kernels, d.num_kernels + 1);
    if (report_gnuplot("tools/report/bars.gp", params))
        return 1;
    tmpl_set(&v, "figure.workspace", "figures/kernels_workspace.png");

    /* the speed targets, layer by layer */
    double ratio_min = INFINITY, wino_min = INFINITY, wino2_min = INFINITY;
    const char *ratio_layer = "none", *wino_layer = "none", *wino2_layer = "none";
    cat(&s, &len, "| layer | shape | im2col / sgemm | winograd_f2 speed-up over im2col | winograd speed-up "
                  "over im2col |\n|---|---|---:|---:|---:|\n");
    for (int l = 0; l < d.num_layers; l++) {
        const krow *im = find(&d, "im2col", "forward", d.layers[l], tmax);
        const krow *w4 = find(&d, "winograd", "forward", d.layers[l], tmax);
        const krow *w2 = find(&d, "winograd_f2", "forward", d.layers[l], tmax);
        const krow *any = layer_row(&d, d.layers[l]);
        if (!im || any->r != 3)
            continue;
        char shape[64], c1[32] = "–", c2[32] = "–", c3[32] = "–";
        if (any->c >= 16) {
            double ratio = im->gflops / im->sgemm;
            snprintf(c1, sizeof c1, "%.0f %%", 100 * ratio);
            if (ratio < ratio_min)
                ratio_min = ratio, ratio_layer = d.layers[l];
        }
        if (any->stride == 1 && any->c >= 32 && any->k >= 32) {
            if (w2) {
                double sp = im->median_ms / w2->median_ms;
                snprintf(c2, sizeof c2, "%.2f×", sp);
                if (sp < wino2_min)
                    wino2_min = sp, wino2_layer = d.layers[l];
            }
            if (w4) {
                double sp = im->median_ms / w4->median_ms;
                snprintf(c3, sizeof c3, "%.2f×", sp);
                if (sp < wino_min)
                    wino_min = sp, wino_layer = d.layers[l];
            }
        }
        cat(&s, &len, "| %s | %s | %s | %s | %s |\n", d.layers[l], shape_text(any, shape, sizeof shape), c1,
            c2, c3);
    }
    tmpl_set(&v, "table.targets", "%s", s);
    free(s), s = NULL, len = 0;
    tmpl_set(&v, "target.im2col_sgemm.min", "%.0f %%", 100 * ratio_min);
    tmpl_set(&v, "target.im2col_sgemm.layer", "%s", ratio_layer);
    tmpl_set(&v, "target.im2col_sgemm.verdict", "%s", ratio_min >= 0.8 ? "holds" : "does **not** hold");
    tmpl_set(&v, "target.winograd_im2col.min", "%.2f×", wino_min);
    tmpl_set(&v, "target.winograd_im2col.layer", "%s", wino_layer);
    tmpl_set(&v, "target.winograd_im2col.verdict", "%s", wino_min >= 1.5 ? "holds" : "does **not** hold");
    tmpl_set(&v, "target.winograd_f2_im2col.min", "%.2f×", wino2_min);
    tmpl_set(&v, "target.winograd_f2_im2col.layer", "%s", wino2_layer);

    /* against the external reference figures (quoted, see their source column) */
    int cn = csv_col(&ext, "name"), cl = csv_col(&ext, "layer"), cp = csv_col(&ext, "pass"),
        ct = csv_col(&ext, "threads"), cg = csv_col(&ext, "gflops"), cs = csv_col(&ext, "source");
    if (cn < 0 || cl < 0 || cp < 0 || ct < 0 || cg < 0 || cs < 0)
        return 1;
    for (int i = 0; i < ext.rows; i++) {
        const char *name = csv_cell(&ext, i, cn);
        const double theirs = csv_num(&ext, i, cg);
        const int th = (int)csv_num(&ext, i, ct);
        const krow *best = NULL;
        for (int k = 0; k < d.num_kernels; k++) {
            const krow *r = find(&d, d.kernels[k], csv_cell(&ext, i, cp), csv_cell(&ext, i, cl), th);
            if (r && (!best || r->gflops > best->gflops))
                best = r;
        }
        char key[128];
        snprintf(key, sizeof key, "ext.%s.gflops", name);
        tmpl_set(&v, key, "%.0f", theirs);
        snprintf(key, sizeof key, "ext.%s.source", name);
        tmpl_set(&v, key, "%s", csv_cell(&ext, i, cs));
        snprintf(key, sizeof key, "ext.%s.ours", name);
        tmpl_set(&v, key, "%.0f GFLOP/s (%s)", best ? best->gflops : NAN, best ? best->kernel : "none");
        snprintf(key, sizeof key, "ext.%s.ratio", name);
        tmpl_set(&v, key, "%.2f×", best ? best->gflops / theirs : NAN);
    }

    atomic_file out;
    if (!atomic_open(&out, out_path))
        return 1;
    if (tmpl_render(tmpl_path, &v, out.f)) {
        atomic_abort(&out);
        return 1;
    }
    if (!atomic_commit(&out))
        return 1;
    fprintf(stderr, "report: wrote %s\n", out_path);
    tmpl_free(&v);
    csv_free(&t);
    csv_free(&ext);
    free(d.rows);
    return 0;
}
