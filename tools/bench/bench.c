/* tools/bench/bench.c — `probador bench`: the convolution kernel microbenchmark.
 *
 * For every layer × pass × thread count it measures BLIS sgemm on the
 * equivalent GEMM, before and after the kernels (keeping the faster), and for
 * every kernel: verifies one run against the
 * float64 reference, warms up, times repeated runs (wall clock, CLOCK_MONOTONIC)
 * and writes one CSV row.  Beside the kernels it times oneDNN, a peer, on the
 * same operands (bench_onednn.h; --peers none skips it): each algorithm oneDNN
 * offers for the case, its convolution alone and with the reorders from and to
 * the plain layouts, verified like a kernel but timed only when it verifies.
 * GFLOP/s always use the direct count 2·N·K·C·R·S·P·Q,
 * so Winograd's figure is an *effective* rate.  The machine's FMA peak is
 * measured in the same run, so ratios hold on a noisy, shared machine.
 */
#include <blis.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/alloc.h"
#include "kernels/conv.h"
#include "kernels/conv_reference.h"
#include "data/atomic_file.h"
#include "tools/bench/bench_layers.h"
#include "tools/bench/bench_onednn.h"
#include "tools/bench/blis_configs.h"
#include "tools/cli.h"
#include "models/train/env.h"
#include "models/train/machine_load.h"
#include "tools/bench/peak.h"
#include "models/train/timing.h"

enum { MAX_LIST = 16 };


typedef struct bench_options {
    const conv_kernel *kernels[MAX_LIST];
    int num_kernels;
    conv_pass passes[CONV_NUM_PASSES];
    int num_passes;
    int threads[MAX_LIST];
    int num_threads;
    int layers[BENCH_LAYERS_MAX];
    int num_layers;
    int batch, reps, warmup;
    double max_seconds;   /* stop repeating a row after this long (≥ 3 runs) */
    bool peers;           /* time oneDNN beside the kernels */
    const char *out;
    double quiet_wait;    /* seconds to wait for a quiet machine before a row (machine_load.h) */
} bench_options;

/* Waiting for a quiet machine, across the rows (load_patience); main sets it. */
static load_patience patience;

/* The --kernels line between these two is printed from the registry. */
static const char usage_head[] = "usage: probador bench [options]\n";
static const char usage_tail[] =
    "  --passes LIST       forward,backward_data,backward_weights (default: all)\n"
    "  --threads LIST      thread counts, e.g. 1,2 (default: 1,2)\n"
    "  --layers LIST       layer names (default: all; --list shows them)\n"
    "  --batch N           batch size (default: 128)\n"
    "  --reps N            timed repetitions per row (default: 10)\n"
    "  --warmup N          untimed runs before timing (default: 2)\n"
    "  --max-seconds S     stop repeating a row after S seconds, once 3 runs are timed (default: 2)\n"
    "  --peers onednn|none time oneDNN beside the kernels, or not (default: onednn)\n"
    "  --quiet-wait S      before each row, wait up to S seconds for the other processes to leave the\n"
    "                      cores alone; a row timed beside other work is timed again, twice at most,\n"
    "                      and its other_cores column says how busy the machine was (default: 10; 0:\n"
    "                      never wait)\n"
    "  --out PATH          CSV to write (default: reports/data/kernels.csv); context goes to PATH.env\n"
    "  --list              print the layers, kernels and peers, then exit\n"
    "  --train             time full training steps instead (probador bench --train --help)\n";

static void print_usage(void)
{
    fputs(usage_head, stdout);
    printf("  --kernels LIST      comma-separated kernels (default: all: ");
    for (int i = 0; i < conv_kernel_count(); i++)
        printf("%s%s", i ? "," : "", conv_kernel_at(i)->name);
    printf(")\n");
    fputs(usage_tail, stdout);
}

static int usage_error(const char *fmt, const char *arg, const char *known)
{
    fprintf(stderr, "probador bench: error: ");
    fprintf(stderr, fmt, arg);
    if (known)
        fprintf(stderr, " (known: %s)", known);
    fprintf(stderr, "\nprobador bench: note: `probador bench --help` lists the options\n");
    return 2;
}

static int parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "probador bench: error: %s expects a whole number from %d to %d, got '%s'\n", opt,
                lo, hi, s);
        return 2;
    }
    *out = (int)v;
    return 0;
}

static void layer_names(char *buf, size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < bench_layer_count() && used < len; i++)
        used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "", bench_layer_at(i)->name);
}

/* Splits a comma list and parses each item; returns 0 or 2. */
static int parse_list(const char *arg, const char *opt, bench_options *o)
{
    char known[1024], list[1024], *save = NULL;
    if (strlen(arg) >= sizeof list)
        return usage_error("the list given to %s is too long", opt, NULL);
    strcpy(list, arg);
    int *count = !strcmp(opt, "--kernels") ? &o->num_kernels
               : !strcmp(opt, "--passes")  ? &o->num_passes
               : !strcmp(opt, "--threads") ? &o->num_threads
                                           : &o->num_layers;
    *count = 0;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (*count >= MAX_LIST && strcmp(opt, "--layers") != 0)
            return usage_error("too many items in %s", opt, NULL);
        if (!strcmp(opt, "--kernels")) {
            if (!(o->kernels[*count] = conv_kernel_find(item, known, sizeof known)))
                return usage_error("%s", known, NULL);
        } else if (!strcmp(opt, "--passes")) {
            if (!conv_pass_parse(item, &o->passes[*count]))
                return usage_error("unknown pass '%s'", item,
                                   "forward, backward_data, backward_weights");
        } else if (!strcmp(opt, "--threads")) {
            if (parse_int("--threads", item, 1, 64, &o->threads[*count]))
                return 2;
        } else {
            const int found = bench_layer_find(item);
            if (*count >= BENCH_LAYERS_MAX)
                return usage_error("too many items in %s", opt, NULL);
            if (found < 0)
                return layer_names(known, sizeof known), usage_error("unknown layer '%s'", item, known);
            o->layers[*count] = found;
        }
        (*count)++;
    }
    if (*count == 0)
        return usage_error("%s needs at least one item", opt, NULL);
    return 0;
}

/* The rows a peer writes, per oneDNN algorithm: the convolution alone, then
   with the reorders from and to the plain layouts. */
static const char *const peer_names[ONEDNN_NUM_ALGS][2] = {
    { "onednn_direct", "onednn_direct+reorder" },
    { "onednn_winograd", "onednn_winograd+reorder" },
};

/* --list: the layers at the chosen batch, the kernels and the peers. */
static void print_list(const bench_options *o)
{
    for (int l = 0; l < bench_layer_count(); l++) {
        char s[96];
        conv_shape cs = bench_layer_at(l)->shape;
        cs.n = o->batch;
        printf("layer  %-23s %-34s %s\n", bench_layer_at(l)->name, conv_shape_str(&cs, s, sizeof s),
               bench_layer_at(l)->where);
    }
    for (int k = 0; k < conv_kernel_count(); k++)
        printf("kernel %-23s %s\n", conv_kernel_at(k)->name, conv_kernel_at(k)->description);
    for (int a = 0; a < ONEDNN_NUM_ALGS; a++)
        for (int r = 0; r < 2; r++)
            printf("peer   %-23s oneDNN %s %s convolution (C API), %s (--peers none skips it)\n",
                   peer_names[a][r], onednn_version(), onednn_alg_name(a),
                   r ? "with reorders from and to NCHW/OIHW" : "alone, in the formats it picks");
}

static int parse_options(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){ .batch = 128, .reps = 10, .warmup = 2, .max_seconds = 2.0, .peers = true,
                          .out = "reports/data/kernels.csv", .quiet_wait = 10.0 };
    for (int i = 0; i < conv_kernel_count() && i < MAX_LIST; i++)
        o->kernels[o->num_kernels++] = conv_kernel_at(i);
    for (int p = 0; p < CONV_NUM_PASSES; p++)
        o->passes[o->num_passes++] = (conv_pass)p;
    o->threads[0] = 1, o->threads[1] = 2, o->num_threads = 2;
    for (int i = 0; i < bench_layer_count(); i++)
        o->layers[o->num_layers++] = i;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            print_usage();
            exit(0);
        }
        if (!strcmp(opt, "--list")) {
            print_list(o);
            exit(0);
        }
        if (i + 1 >= argc)
            return usage_error("option '%s' needs a value, or is unknown", opt, NULL);
        char *val = argv[++i];
        int rc = 0;
        if (!strcmp(opt, "--kernels") || !strcmp(opt, "--passes") || !strcmp(opt, "--threads") ||
            !strcmp(opt, "--layers"))
            rc = parse_list(val, opt, o);
        else if (!strcmp(opt, "--batch"))
            rc = parse_int(opt, val, 1, 4096, &o->batch);
        else if (!strcmp(opt, "--reps"))
            rc = parse_int(opt, val, 1, 100000, &o->reps);
        else if (!strcmp(opt, "--warmup"))
            rc = parse_int(opt, val, 0, 1000, &o->warmup);
        else if (!strcmp(opt, "--max-seconds")) {
            char *end;
            o->max_seconds = strtod(val, &end);
            if (!*val || *end || !(o->max_seconds > 0))
                return usage_error("--max-seconds expects a positive number of seconds, got '%s'", val, NULL);
        } else if (!strcmp(opt, "--quiet-wait")) {
            char *end;
            o->quiet_wait = strtod(val, &end);
            if (!*val || *end || !(o->quiet_wait >= 0 && o->quiet_wait <= 3600))
                return usage_error("--quiet-wait expects 0 to 3600 seconds, got '%s'", val, NULL);
        } else if (!strcmp(opt, "--peers")) {
            if (strcmp(val, "onednn") != 0 && strcmp(val, "none") != 0)
                return usage_error("unknown peer '%s'", val, "onednn, none");
            o->peers = !strcmp(val, "onednn");
        } else if (!strcmp(opt, "--out"))
            o->out = val;
        else
            return usage_error("unknown option '%s'", opt, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- timing ---------------------------------------------------------------- */
typedef struct timing {
    int iterations;
    double median_ms, min_ms, max_ms, cpu_ms;
    double other_cores; /* the rest of the machine's load while timed (machine_load.h) */
} timing;

/* One kernel's (or peer's) measurements for one layer × pass × thread count. */
typedef struct kernel_row {
    const char *name;  /* the CSV's kernel */
    char impl[96];     /* what ran */
    size_t ws_bytes;
    conv_error e;
    double tol;
    int verified;
    timing t;
} kernel_row;

typedef void (*bench_fn)(void *ctx);

static timing time_runs_once(bench_fn fn, void *ctx, const bench_options *o)
{
    for (int i = 0; i < o->warmup; i++)
        fn(ctx);
    double *ms = checked_malloc((size_t)o->reps * sizeof *ms);
    double cpu = 0, spent = 0;
    int n = 0;
    const load_mark load = load_now();
    while (n < o->reps && (n < 3 || spent < o->max_seconds)) {
        double c0 = timing_seconds(CLOCK_PROCESS_CPUTIME_ID), t0 = timing_seconds(CLOCK_MONOTONIC);
        fn(ctx);
        double dt = timing_seconds(CLOCK_MONOTONIC) - t0;
        cpu += timing_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        ms[n++] = dt * 1e3;
        spent += dt;
    }
    const double other = load_other_since(&load);
    const double median = timing_median(ms, n);
    timing t = { n, median, ms[0], ms[n - 1], cpu * 1e3 / n, other };
    free(ms);
    return t;
}

/* A row's timing on a machine as quiet as it gets: after a wait for a quiet
   window, and again (twice at most) while other work shared the cores; the
   least contaminated attempt is kept. */
static timing time_runs(bench_fn fn, void *ctx, const bench_options *o)
{
    timing best = { 0 };
    for (int attempt = 0; attempt < 3; attempt++) {
        load_settle(&patience);
        const timing t = time_runs_once(fn, ctx, o);
        if (attempt == 0 || t.other_cores < best.other_cores)
            best = t;
        if (!(best.other_cores > LOAD_CONTAMINATED) || !(o->quiet_wait > 0))
            break;
    }
    return best;
}

typedef struct sgemm_ctx {
    int m, n, k;
    const float *a, *b;
    float *c;
} sgemm_ctx;

/* C[m][n] = A[m][k] · B[k][n], row-major, one BLIS call on the threads in force. */
static void run_sgemm(void *p)
{
    sgemm_ctx *g = p;
    float one = 1.0f, zero = 0.0f;
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, g->m, g->n, g->k, &one, (float *)g->a, g->k, 1,
              (float *)g->b, g->n, 1, &zero, g->c, g->n, 1);
}

/* The GEMM an im2col lowering of this pass performs, as one whole-batch call. */
static void equivalent_gemm(const conv_shape *cs, conv_pass pass, int *m, int *n, int *k)
{
    const int npq = cs->n * conv_out_h(cs) * conv_out_w(cs), crs = cs->c * cs->r * cs->s;
    if (pass == CONV_FORWARD)
        *m = cs->k, *n = npq, *k = crs;
    else if (pass == CONV_BACKWARD_DATA)
        *m = crs, *n = npq, *k = cs->k;
    else
        *m = cs->k, *n = crs, *k = npq;
}

typedef struct kernel_ctx {
    const conv_kernel *kernel;
    const conv_shape *cs;
    conv_pass pass;
    const float *a, *b;
    float *out;
    void *ws;
} kernel_ctx;

static void run_kernel(void *p)
{
    kernel_ctx *k = p;
    conv_run(k->kernel, k->cs, k->pass, k->a, k->b, k->out, k->ws);
}

static void fill_uniform(float *buf, size_t count, unsigned seed)
{
    /* a fixed LCG is enough for benchmark inputs in [-1, 1) */
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < count; i++) {
        s = s * 1664525u + 1013904223u;
        buf[i] = (float)(s >> 8) * 0x1p-23f - 1.0f;
    }
}

static void *xalloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? (bytes + 63) / 64 * 64 : 64) != 0) {
        fprintf(stderr, "probador bench: error: out of memory allocating %zu bytes\n", bytes);
        exit(1);
    }
    return p;
}

/* ---- the benchmark ------------------------------------------------------- */
/* One layer and pass: the reference, the operands, the output buffer. */
typedef struct pass_case {
    const bench_layer *layer;
    conv_shape cs;
    conv_pass pass;
    const float *a, *b;
    float *out;
    const double *ref, *mag;
    size_t nout;
} pass_case;

/* Compares the output with the reference into kr (e, tol, verified); a
   failure is counted and reported. */
static void verify_row(const pass_case *pc, double tol, kernel_row *kr, int *unverified)
{
    kr->e = conv_compare(pc->nout, pc->out, pc->ref, pc->mag);
    kr->tol = tol;
    kr->verified = kr->e.nonfinite == 0 && kr->e.max_rel <= kr->tol;
    if (!kr->verified) {
        (*unverified)++;
        fprintf(stderr, "probador bench: error: %s %s on %s: max relative error %.3g exceeds tolerance %.3g at "
                        "output %zu\n",
                kr->name, conv_pass_name(pc->pass), pc->layer->name, kr->e.max_rel, kr->tol, kr->e.worst);
    }
}

static void poison(float *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = NAN;
}

/* One kernel on one case: verified first (poisoned output and workspace, run,
   compared with the reference), then timed.  Counts a failed verification. */
static void measure_kernel(const pass_case *pc, const bench_options *o, const conv_kernel *kernel,
                           kernel_row *kr, int *unverified)
{
    const conv_kernel *ran = conv_resolve(kernel, &pc->cs, pc->pass);
    kr->name = kernel->name;
    snprintf(kr->impl, sizeof kr->impl, "%s%s", ran->name, ran == kernel ? "" : " (fallback)");
    kr->ws_bytes = conv_workspace_bytes(kernel, &pc->cs);
    void *ws = xalloc(kr->ws_bytes);
    kernel_ctx kc = { kernel, &pc->cs, pc->pass, pc->a, pc->b, pc->out, ws };
    poison(pc->out, pc->nout);
    memset(ws, 0xA5, kr->ws_bytes);
    run_kernel(&kc);
    verify_row(pc, conv_tolerance(ran, &pc->cs, pc->pass), kr, unverified);
    kr->t = time_runs(run_kernel, &kc, o);
    free(ws);
}

/* ---- the peer ---------------------------------------------------------------- */
static void run_peer(void *conv)
{
    onednn_conv_run(conv);
}

static void run_peer_plain(void *conv)
{
    onednn_conv_run_plain(conv);
}

/* The error allowed to oneDNN, reported in its rows: for its direct
   convolution, that of a float32 GEMM (im2col's bound, (terms + 2)·u, which
   holds for any order of summation); for Winograd, whose transforms amplify
   rounding, probador's F(4×4, 3×3) bound where that kernel serves the shape
   and pass or its error model covers it (the single-channel forward pass, which
   probador leaves to the direct kernel), else (backward-weights) 16 times the GEMM's -- an allowance, not a
   derived bound, that oneDNN's errors stay far inside.  Generous on purpose:
   the check is there to catch a peer computing something else (a wrong
   layout or padding), which is off by the size of the outputs themselves. */
static double peer_tolerance(onednn_alg alg, const conv_shape *cs, conv_pass pass)
{
    const double gemm = conv_tolerance(&conv_im2col, cs, pass);
    if (alg != ONEDNN_WINOGRAD)
        return gemm;
    if (conv_winograd_bounded(cs, pass) || conv_resolve(&conv_winograd, cs, pass) == &conv_winograd)
        return fmax(gemm, conv_tolerance(&conv_winograd, cs, pass));
    return 16 * gemm;
}

/* A peer that computes something else must not be timed: a row that fails
   verification keeps NaN times. */
static const timing untimed = { 0, NAN, NAN, NAN, NAN, NAN };

/* One oneDNN algorithm on one case, into rows[0] (alone) and rows[1] (with
   reorders): verified once through the reorders (which runs the convolution
   alone as well), then each timed.  False when oneDNN declines the case. */
static bool measure_peer(const pass_case *pc, const bench_options *o, onednn_alg alg, kernel_row *rows,
                         int *unverified)
{
    char why[128], formats[192];
    onednn_conv *conv = onednn_conv_create(alg, &pc->cs, pc->pass, pc->a, pc->b, pc->out, why, sizeof why);
    if (!conv) {
        /* Winograd serves few shapes; the direct convolution declining one is a fault */
        fprintf(stderr, "%s: oneDNN declines %s %s on %s (%s)%s\n",
                alg == ONEDNN_WINOGRAD ? "bench: note" : "probador bench: error", onednn_alg_name(alg),
                conv_pass_name(pc->pass), pc->layer->name, why, alg == ONEDNN_WINOGRAD ? "; no row" : "");
        *unverified += alg != ONEDNN_WINOGRAD;
        return false;
    }
    fprintf(stderr, "bench: oneDNN %s %s on %s: %s, formats %s\n", onednn_alg_name(alg),
            conv_pass_name(pc->pass), pc->layer->name, onednn_conv_impl(conv),
            onednn_conv_formats(conv, formats, sizeof formats));
    rows[0].name = peer_names[alg][0];
    snprintf(rows[0].impl, sizeof rows[0].impl, "onednn %s", onednn_conv_impl(conv));
    rows[0].ws_bytes = onednn_conv_scratch_bytes(conv);
    poison(pc->out, pc->nout);
    onednn_conv_poison(conv);
    onednn_conv_run_plain(conv);
    verify_row(pc, peer_tolerance(alg, &pc->cs, pc->pass), &rows[0], unverified);
    rows[1] = rows[0];
    rows[1].name = peer_names[alg][1];
    rows[1].ws_bytes += onednn_conv_reorder_bytes(conv);
    *unverified += !rows[1].verified;
    rows[0].t = rows[0].verified ? time_runs(run_peer, conv, o) : untimed;
    rows[1].t = rows[1].verified ? time_runs(run_peer_plain, conv, o) : untimed;
    onednn_conv_destroy(conv);
    return true;
}

/* Every oneDNN row of one case (none without --peers); their number. */
static int measure_peers(const pass_case *pc, const bench_options *o, kernel_row *rows, int *unverified)
{
    int n = 0;
    for (int a = 0; o->peers && a < ONEDNN_NUM_ALGS; a++)
        if (measure_peer(pc, o, (onednn_alg)a, rows + n, unverified))
            n += 2;
    return n;
}

/* The CSV row (and the line on stderr) of one kernel at one thread count. */
static void write_row(FILE *csv, const pass_case *pc, const kernel_row *kr, int threads, double sgemm_gflops,
                      double peak)
{
    const conv_shape *cs = &pc->cs;
    const timing t = kr->t;
    const double gflops = conv_flops(cs) / (t.median_ms * 1e6);
    const char *name = kr->name, *pass = conv_pass_name(pc->pass), *layer = pc->layer->name, *impl = kr->impl;
    fprintf(csv,
            "%s/%s/%s/threads:%d,%d,%.6f,%.6f,ms,%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,"
            "%.6f,%.6f,%.6f,%.3f,%.3f,%.3f,%.3e,%.3e,%d,%zu,%s,%.2f\n",
            name, pass, layer, threads, t.iterations, t.median_ms, t.cpu_ms, name, pass, layer, cs->n, cs->c, cs->h,
            cs->w, cs->k, cs->r, cs->s, cs->stride, cs->pad, threads, t.median_ms, t.min_ms, t.max_ms, gflops,
            sgemm_gflops, peak, kr->e.max_rel, kr->tol, kr->verified, kr->ws_bytes, impl, t.other_cores);
    fprintf(stderr, "bench: %-23s %-16s %-22s threads %d: %9.3f ms %7.1f GFLOP/s (sgemm %6.1f, peak %6.1f) "
                    "err %.2e %s\n",
            name, pass, layer, threads, t.median_ms, gflops, sgemm_gflops, peak, kr->e.max_rel, impl);
}

/* Every kernel (and peer) and thread count on one case, each beside the equivalent
   GEMM.  sgemm is timed before and after the kernels and the faster median
   kept: a transient slowdown of the machine can then only lower the kernels'
   ratios to it, never raise them. */
static void bench_case(const pass_case *pc, const bench_options *o, const double *peak, FILE *csv, int *unverified)
{
    int gm, gn, gk;
    equivalent_gemm(&pc->cs, pc->pass, &gm, &gn, &gk);
    float *ga = xalloc((size_t)gm * gk * 4), *gb = xalloc((size_t)gk * gn * 4), *gc = xalloc((size_t)gm * gn * 4);
    fill_uniform(ga, (size_t)gm * gk, 4), fill_uniform(gb, (size_t)gk * gn, 5);
    for (int ti = 0; ti < o->num_threads; ti++) {
        const int threads = o->threads[ti];
        omp_set_num_threads(threads);
        bli_thread_set_num_threads(threads);
        sgemm_ctx g = { gm, gn, gk, ga, gb, gc };
        const timing before = time_runs(run_sgemm, &g, o);
        kernel_row rows[MAX_LIST + 2 * ONEDNN_NUM_ALGS];
        for (int ki = 0; ki < o->num_kernels; ki++)
            measure_kernel(pc, o, o->kernels[ki], &rows[ki], unverified);
        const int num_rows = o->num_kernels + measure_peers(pc, o, rows + o->num_kernels, unverified);
        const timing after = time_runs(run_sgemm, &g, o);
        const double sgemm_ms = before.median_ms < after.median_ms ? before.median_ms : after.median_ms;
        for (int ri = 0; ri < num_rows; ri++)
            write_row(csv, pc, &rows[ri], threads, conv_flops(&pc->cs) / (sgemm_ms * 1e6), peak[ti]);
    }
    free(ga), free(gb), free(gc);
}

/* Every pass of one layer at the benchmark's batch. */
static void bench_one_layer(const bench_layer *layer, const bench_options *o, const double *peak, FILE *csv,
                        int *unverified)
{
    conv_shape cs = layer->shape;
    cs.n = o->batch;
    const size_t nx = conv_x_count(&cs), nw = conv_w_count(&cs), ny = conv_y_count(&cs);
    const size_t nmax = nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw);
    float *x = xalloc(nx * 4), *w = xalloc(nw * 4), *dy = xalloc(ny * 4), *out = xalloc(nmax * 4);
    double *ref = xalloc(nmax * 8), *mag = xalloc(nmax * 8);
    fill_uniform(x, nx, 1), fill_uniform(w, nw, 2), fill_uniform(dy, ny, 3);
    for (int pi = 0; pi < o->num_passes; pi++) {
        const conv_pass pass = o->passes[pi];
        const pass_case pc = { layer, cs, pass, pass == CONV_BACKWARD_DATA ? dy : x,
                               pass == CONV_BACKWARD_WEIGHTS ? dy : w, out, ref, mag,
                               conv_pass_out_count(&cs, pass) };
        omp_set_num_threads(o->threads[o->num_threads - 1]);
        conv_reference(&cs, pass, pc.a, pc.b, ref, mag);
        bench_case(&pc, o, peak, csv, unverified);
    }
    free(x), free(w), free(dy), free(out), free(ref), free(mag);
}

/* The context sidecar PATH.env.  0, or -1 after an error. */
static int write_env(const bench_options *o, const double *square, char *env_path, size_t len)
{
    char threads[128] = "";
    snprintf(env_path, len, "%s.env", o->out);
    for (int t = 0, used = 0; t < o->num_threads; t++)
        used += snprintf(threads + used, sizeof threads - used, "%s%d", t ? "," : "", o->threads[t]);
    atomic_file env;
    if (!atomic_open(&env, env_path))
        return -1;
    env_write(env.f, threads);
    blis_configs_write(env.f, 1024, 5);
    for (int t = 0; t < o->num_threads; t++) /* the practical GEMM ceiling, in the configuration in use */
        fprintf(env.f, "sgemm_square_t%d: %.1f\n", o->threads[t], square[t]);
    fprintf(env.f, "batch: %d\nreps: %d\nwarmup: %d\nmax_seconds: %g\nquiet_wait: %g\n", o->batch, o->reps,
            o->warmup, o->max_seconds, o->quiet_wait);
    fprintf(env.f, "peers: %s\nonednn_version: %s\n", o->peers ? "onednn" : "none", onednn_version());
    return atomic_commit(&env) ? 0 : -1;
}

int bench_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--train"))
            return bench_train_main(argc, argv);
    bench_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    const char *arch = conv_blis_init();
    atomic_file csv;
    if (!atomic_open(&csv, o.out))
        return 1;
    fprintf(csv.f, "name,iterations,real_time,cpu_time,time_unit,kernel,pass,layer,n,c,h,w,k,r,s,stride,pad,"
                   "threads,median_ms,min_ms,max_ms,gflops,sgemm_gflops,peak_gflops,max_rel_err,tolerance,"
                   "verified,workspace_bytes,impl,other_cores\n");
    patience = (load_patience){ o.quiet_wait, false };
    double peak[MAX_LIST], square[MAX_LIST];
    for (int t = 0; t < o.num_threads; t++) {
        load_settle(&patience);
        peak[t] = peak_fma_gflops(o.threads[t], 5);
        square[t] = blis_square_sgemm_gflops(1024, o.threads[t], 5);
        fprintf(stderr, "bench: FMA peak on %d thread(s): %.1f GFLOP/s; BLIS sgemm 1024x1024x1024: %.1f GFLOP/s "
                "(BLIS %s, %s)\n", o.threads[t], peak[t], square[t], conv_blis_version(), arch);
    }
    int unverified = 0;
    for (int li = 0; li < o.num_layers; li++)
        bench_one_layer(bench_layer_at(o.layers[li]), &o, peak, csv.f, &unverified);
    char env_path[1100];
    if (!atomic_commit(&csv) || write_env(&o, square, env_path, sizeof env_path))
        return 1;
    if (unverified) {
        fprintf(stderr, "probador bench: error: %d row(s) failed verification or could not be measured; see "
                        "'verified' in %s and the errors above\n",
                unverified, o.out);
        return 1;
    }
    fprintf(stderr, "bench: wrote %s and %s\n", o.out, env_path);
    return 0;
}
