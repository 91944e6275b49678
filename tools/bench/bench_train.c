/* tools/bench/bench_train.c — `probador bench --train`: the training step
 * (forward, loss, backward, Adam) and inference (the forward pass in
 * evaluation mode) of every model type's benchmark instance (the model
 * registry's: cnn and resnet20) at batch 128, for every kernel and thread
 * count; median images/s to reports/data/train.csv.
 *
 * In the same run, after probador's rows of each model, its PyTorch peer
 * (tools/bench/torch_peer.py: the same networks, batch, threads and optimiser)
 * adds its own rows, kernel `pytorch`, so the ratio of the two is measured
 * under the same conditions.  And for every row of probador's, where a step's
 * time goes by kind of work (each convolution pass, batch norm, element-wise,
 * pooling, dense, loss, optimiser, the augmented batch) goes to
 * reports/data/train_breakdown.csv: timed through the model's profile hook
 * (model.profile, models/model.h) in steps of their own, so the timed rows
 * read no extra clock. */
#include "tools/bench/bench_train.h"

#include <errno.h>
#include <limits.h>
#include <omp.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/alloc.h"
#include "data/atomic_file.h"
#include "data/batches.h"
#include "models/train/env.h"
#include "models/train/machine_load.h"
#include "models/train/timing.h"
#include "models/train_math.h"
#include "tools/cli.h"
#include "tools/config/config.h"
#include "tools/report/report.h"

extern char **environ;

enum { MAX_THREAD_COUNTS = 16, WARMUP_STEPS = 3 };

typedef struct train_options {
    const char *out;
    char models[256], kernels[256], threads_text[64];
    int threads[MAX_THREAD_COUNTS], num_threads;
    int batch, reps;
    bool peers;        /* run the PyTorch peer */
    double quiet_wait; /* seconds to wait for a quiet machine before a row (machine_load.h) */
} train_options;

/* Waiting for a quiet machine, across the rows (load_patience); main sets it. */
static load_patience patience;

/* The registry's benchmark names joined by sep: "cnn,resnet20". */
static void bench_model_names(char *buf, size_t len, const char *sep)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < model_type_count() && used < len; i++)
        if (model_type_at(i)->bench_name)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? sep : "", model_type_at(i)->bench_name);
}

/* The model type whose benchmark instance is called name, or NULL. */
static const model_type *bench_model(const char *name)
{
    for (int i = 0; i < model_type_count(); i++)
        if (model_type_at(i)->bench_name && !strcmp(model_type_at(i)->bench_name, name))
            return model_type_at(i);
    return NULL;
}

static void usage(FILE *f)
{
    char names[256];
    bench_model_names(names, sizeof names, ",");
    fprintf(f,
            "usage: probador bench --train [options]\n"
            "  --models LIST     %s (default: all)\n"
            "  --kernels LIST    default: im2col,winograd_f2,winograd (naive is far too slow to train)\n"
            "  --threads LIST    default: 1,2\n"
            "  --batch N         default: 128\n"
            "  --reps N          timed steps per row (default: 10, after %d warm-up steps)\n"
            "  --peers NAME      pytorch or none (default: pytorch: tools/bench/torch_peer.py, run with\n"
            "                    $PROBADOR_PYTHON, default /usr/bin/python3, which needs python3-torch)\n"
            "  --out PATH        default: reports/data/train.csv (context in PATH.env; the step\n"
            "                    breakdown in PATH with _breakdown before .csv)\n"
            "  --quiet-wait S    before each row, wait up to S seconds for the other processes to leave\n"
            "                    the cores alone; a row timed beside other work is timed again, twice at\n"
            "                    most; other_cores says how busy the machine was (default: 10; 0: never)\n",
            names, WARMUP_STEPS);
}

/* --threads: comma-separated counts from 1 to 64; false (error printed) when bad. */
static bool parse_threads(const char *v, train_options *o)
{
    snprintf(o->threads_text, sizeof o->threads_text, "%s", v);
    o->num_threads = 0;
    for (const char *p = v;; p++) {
        char *end;
        const long n = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || n < 1 || n > 64 || o->num_threads == MAX_THREAD_COUNTS) {
            fprintf(stderr, "probador bench --train: error: --threads expects up to %d comma-separated counts "
                            "from 1 to 64, got '%s'\n", MAX_THREAD_COUNTS, v);
            return false;
        }
        o->threads[o->num_threads++] = (int)n;
        if (!*end)
            return true;
        p = end;
    }
}

/* One option with its value; false (error printed) when it is bad. */
static bool parse_option(const char *a, const char *v, train_options *o)
{
    if (!strcmp(a, "--models"))
        snprintf(o->models, sizeof o->models, "%s", v);
    else if (!strcmp(a, "--kernels"))
        snprintf(o->kernels, sizeof o->kernels, "%s", v);
    else if (!strcmp(a, "--threads"))
        return parse_threads(v, o);
    else if (!strcmp(a, "--out"))
        o->out = v;
    else if (!strcmp(a, "--peers")) {
        if (strcmp(v, "pytorch") && strcmp(v, "none")) {
            fprintf(stderr, "probador bench --train: error: --peers expects pytorch or none, got '%s'\n", v);
            return false;
        }
        o->peers = !strcmp(v, "pytorch");
    } else if (!strcmp(a, "--quiet-wait")) {
        char *end;
        o->quiet_wait = strtod(v, &end);
        if (!*v || *end || !(o->quiet_wait >= 0 && o->quiet_wait <= 3600)) {
            fprintf(stderr, "probador bench --train: error: --quiet-wait expects 0 to 3600 seconds, got '%s'\n", v);
            return false;
        }
    } else if (!strcmp(a, "--batch") || !strcmp(a, "--reps")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 4096) {
            fprintf(stderr, "probador bench --train: error: %s expects a whole number from 1 to 4096, got '%s'\n",
                    a, v);
            return false;
        }
        *(!strcmp(a, "--batch") ? &o->batch : &o->reps) = (int)n;
    } else {
        fprintf(stderr, "probador bench --train: error: unknown option '%s'\n", a);
        return usage(stderr), false;
    }
    return true;
}

/* The options; 0 to go on, or the exit status (0 after --help, 2 on an error). */
static int parse_options(int argc, char **argv, train_options *o, int *status)
{
    *o = (train_options){ .out = "reports/data/train.csv", .kernels = "im2col,winograd_f2,winograd",
                          .batch = 128, .reps = 10, .peers = true, .quiet_wait = 10.0 };
    parse_threads("1,2", o);
    bench_model_names(o->models, sizeof o->models, ",");
    *status = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--train"))
            continue;
        if (!strcmp(a, "--help"))
            return usage(stdout), *status = 0, -1;
        if (i + 1 >= argc) {
            fprintf(stderr, "probador bench --train: error: option '%s' needs a value, or is unknown\n", a);
            return usage(stderr), -1;
        }
        if (!parse_option(a, argv[++i], o))
            return -1;
    }
    return 0;
}

void bench_train_breakdown_path(const char *csv, char *buf, size_t len)
{
    const size_t n = strlen(csv);
    const bool ext = n >= 4 && !strcmp(csv + n - 4, ".csv");
    snprintf(buf, len, "%.*s_breakdown%s", (int)(ext ? n - 4 : n), csv, ext ? ".csv" : "");
}

/* ---- what a step reads ---------------------------------------------------- */

/* Set up once per model: fixed images and labels for the timed steps; for the
   breakdown's, a source of `batch` made-up images that batch_fill augments as
   the experiment training this model does. */
typedef struct step_inputs {
    int batch;
    int *labels;
    float *dlogits;
    uint8_t *images, *image_labels;
    uint32_t *order;
    batch_source src;
    aug_params aug;
} step_inputs;

/* The augmentation of experiments/NAME.yaml, the experiment that trains the
   benchmark model NAME (the configuration's default when there is none);
   0, or -1 with the error printed. */
static int experiment_augmentation(const char *mname, aug_params *aug)
{
    char relative[300], path[PATH_MAX];
    snprintf(relative, sizeof relative, "experiments/%s.yaml", mname);
    if (report_repo_path(relative, path, sizeof path))
        return -1;
    exp_config *c = checked_malloc(sizeof *c);
    int rc = 0;
    if (access(path, F_OK) == 0)
        rc = config_load(path, c);
    else
        config_defaults(c);
    *aug = c->run.augmentation;
    free(c);
    return rc;
}

static void inputs_alloc(step_inputs *in, int batch, int classes)
{
    in->batch = batch;
    in->labels = checked_malloc((size_t)batch * sizeof *in->labels);
    in->dlogits = checked_malloc((size_t)batch * classes * sizeof *in->dlogits);
    in->images = checked_malloc((size_t)batch * AUG_PIXELS);
    in->image_labels = checked_malloc((size_t)batch);
    in->order = checked_malloc((size_t)batch * sizeof *in->order);
    for (int i = 0; i < batch; i++) {
        in->labels[i] = i % classes;
        in->image_labels[i] = (uint8_t)(i % classes);
        in->order[i] = (uint32_t)i;
    }
    for (size_t i = 0; i < (size_t)batch * AUG_PIXELS; i++)
        in->images[i] = (uint8_t)((i * 7919) % 256);
    in->src = (batch_source){ in->images, in->image_labels, (size_t)batch };
}

static void inputs_free(step_inputs *in)
{
    free(in->labels), free(in->dlogits), free(in->images), free(in->image_labels), free(in->order);
}

/* The fixed images of the timed steps into the model's input. */
static void fill_fixed_images(model *m, int batch)
{
    float *x = model_input(m);
    for (int i = 0; i < batch * (int)tshape_count(m->desc.input); i++)
        x[i] = (float)((i * 7919) % 255) / 255.0f - 0.3f;
}

/* ---- timing ---------------------------------------------------------------- */

typedef enum phase { PHASE_TRAIN, PHASE_INFER } phase;
static const char *const phase_names[] = { "train", "infer" };

/* Adam as the experiments train with it; PyTorch's peer uses the same. */
static const optim_params bench_adam = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f };

/* Training step number `step` (from 0) on the model's input: forward, loss,
   backward, Adam. */
static void train_step(model *m, const step_inputs *in, uint64_t step)
{
    const model_step st = { in->batch, true, 1, step };
    const float *logits = model_forward(m, &st);
    softmax_cross_entropy(logits, in->labels, in->batch, m->desc.classes, 0.0, in->dlogits, NULL, NULL);
    model_backward(m, &st, in->dlogits);
    adam_step(m, &bench_adam, bench_adam.lr, step + 1);
}

/* The times of one row: milliseconds per step, and the rest of the machine's
   load meanwhile. */
typedef struct row_times {
    double median, min, max, cpu, other_cores;
} row_times;

/* reps timed steps of the phase after the warm-up ones. */
static row_times time_phase_once(model *m, const step_inputs *in, phase ph, int reps)
{
    double *ms = checked_malloc((size_t)reps * sizeof *ms), cpu = 0;
    const load_mark load = load_now();
    for (int r = -WARMUP_STEPS; r < reps; r++) {
        const double c0 = timing_seconds(CLOCK_PROCESS_CPUTIME_ID), t0 = timing_seconds(CLOCK_MONOTONIC);
        if (ph == PHASE_TRAIN)
            train_step(m, in, (uint64_t)(r + WARMUP_STEPS));
        else
            model_forward(m, &(model_step){ in->batch, false, 1, 0 });
        const double dt = timing_seconds(CLOCK_MONOTONIC) - t0, dc = timing_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (r >= 0)
            ms[r] = dt * 1e3, cpu += dc * 1e3;
    }
    const double other = load_other_since(&load);
    const double median = timing_median(ms, reps); /* sorts ms */
    const row_times t = { median, ms[0], ms[reps - 1], cpu / reps, other };
    free(ms);
    return t;
}

/* The row on a machine as quiet as it gets: after a wait for a quiet window,
   and again (twice at most) while other work shared the cores; the least
   contaminated attempt is kept. */
static row_times time_phase(model *m, const step_inputs *in, phase ph, int reps)
{
    row_times best = { 0 };
    for (int attempt = 0; attempt < 3; attempt++) {
        load_settle(&patience);
        const row_times t = time_phase_once(m, in, ph, reps);
        if (attempt == 0 || t.other_cores < best.other_cores)
            best = t;
        if (!(best.other_cores > LOAD_CONTAMINATED) || !(patience.seconds > 0))
            break;
    }
    return best;
}

/* One row of the CSV; a training step counts three forward passes of arithmetic. */
static void write_row(FILE *csv, const char *mname, const model *m, phase ph, int threads, int batch, int reps,
                      const row_times *t)
{
    const double ips = batch / (t->median * 1e-3), passes = ph == PHASE_TRAIN ? 3 : 1;
    fprintf(csv, "%s/%s/%s/threads:%d,%d,%.3f,%.3f,ms,%s,%s,%s,%d,%d,%.3f,%.3f,%.3f,%.1f,%.2f,%.1f,%.2f\n", mname,
            m->kernel->name, phase_names[ph], threads, reps, t->median, t->cpu, mname, m->kernel->name,
            phase_names[ph], threads, batch, t->median, t->min, t->max, ips, m->flops / 1e6,
            passes * m->flops * batch / (t->median * 1e6), t->other_cores);
    fprintf(stderr, "bench --train: %-9s %-12s %s threads %d: %8.2f ms/step  %7.1f images/s\n", mname,
            m->kernel->name, phase_names[ph], threads, t->median, ips);
}

/* ---- the step breakdown ------------------------------------------------------ */

/* The breakdown's kinds beyond the model's layer kinds, timed here. */
enum { KIND_LOSS = LAYER_KIND_COUNT, KIND_OPTIMISER, KIND_DATA, NUM_KINDS };

static const char *kind_name(int kind)
{
    static const char *const step_kinds[] = { "loss", "optimiser", "data" };
    return kind < LAYER_KIND_COUNT ? layer_kind_name(kind) : step_kinds[kind - LAYER_KIND_COUNT];
}

/* reps training steps, each on a freshly augmented batch, the model's profile
   on; seconds per kind over them all into sec[], the whole steps' into *total. */
static void profile_steps(model *m, const step_inputs *in, int reps, double sec[NUM_KINDS], double *total)
{
    model_profile prof = { { 0 } };
    m->profile = &prof;
    for (int r = 0; r < reps; r++) {
        const model_step st = { in->batch, true, 1, (uint64_t)r };
        const double t0 = timing_seconds(CLOCK_MONOTONIC);
        batch_fill(model_input(m), in->labels, &in->src, in->order, (size_t)in->batch, 0, (size_t)in->batch,
                   &in->aug, 0, (uint64_t)r);
        const double t1 = timing_seconds(CLOCK_MONOTONIC);
        const float *logits = model_forward(m, &st);
        const double t2 = timing_seconds(CLOCK_MONOTONIC);
        softmax_cross_entropy(logits, in->labels, in->batch, m->desc.classes, 0.0, in->dlogits, NULL, NULL);
        const double t3 = timing_seconds(CLOCK_MONOTONIC);
        model_backward(m, &st, in->dlogits);
        const double t4 = timing_seconds(CLOCK_MONOTONIC);
        adam_step(m, &bench_adam, bench_adam.lr, (uint64_t)r + 1);
        const double t5 = timing_seconds(CLOCK_MONOTONIC);
        sec[KIND_DATA] += t1 - t0, sec[KIND_LOSS] += t3 - t2, sec[KIND_OPTIMISER] += t5 - t4;
        *total += t5 - t0;
    }
    m->profile = NULL;
    for (int k = 0; k < LAYER_KIND_COUNT; k++)
        sec[k] = prof.seconds[k];
}

/* The breakdown's rows of one (model, kernel, threads): ms per step and share
   of the step for each kind, then `other` (what no kind covers) and `step`. */
static void write_breakdown(FILE *f, const char *mname, model *m, const step_inputs *in, int threads, int reps)
{
    double sec[NUM_KINDS + 2] = { 0 }, total = 0;
    load_settle(&patience);
    const load_mark load = load_now();
    profile_steps(m, in, reps, sec, &total);
    const double other = load_other_since(&load);
    sec[NUM_KINDS] = total, sec[NUM_KINDS + 1] = total;
    for (int k = 0; k < NUM_KINDS; k++)
        sec[NUM_KINDS] -= sec[k];
    for (int k = 0; k < NUM_KINDS + 2; k++)
        fprintf(f, "%s,%s,%d,%d,%d,%s,%.4f,%.4f,%.2f\n", mname, m->kernel->name, threads, in->batch, reps,
                k < NUM_KINDS ? kind_name(k) : k == NUM_KINDS ? "other" : "step", sec[k] * 1e3 / reps,
                sec[k] / total, other);
}

/* ---- probador's rows -------------------------------------------------------------- */

/* The two output files. */
typedef struct bench_files {
    FILE *csv, *breakdown;
} bench_files;

/* At every thread count: the training-step row, the inference row, the breakdown. */
static void time_model(const bench_files *out, const train_options *o, const char *mname, model *m,
                       const step_inputs *in)
{
    for (int t = 0; t < o->num_threads; t++) {
        const int threads = o->threads[t];
        omp_set_num_threads(threads);
        fill_fixed_images(m, o->batch);
        const row_times train = time_phase(m, in, PHASE_TRAIN, o->reps);
        write_row(out->csv, mname, m, PHASE_TRAIN, threads, o->batch, o->reps, &train);
        const row_times infer = time_phase(m, in, PHASE_INFER, o->reps);
        write_row(out->csv, mname, m, PHASE_INFER, threads, o->batch, o->reps, &infer);
        write_breakdown(out->breakdown, mname, m, in, threads, o->reps);
    }
}

/* What the peer needs of the model to check and count like probador. */
typedef struct model_facts {
    size_t params;
    double mflop_per_image;
} model_facts;

/* Every kernel of the list on one model; 0 or the exit status. */
static int bench_model_kernels(const bench_files *out, const train_options *o, const char *mname,
                               const model_desc *d, model_facts *facts)
{
    step_inputs in;
    inputs_alloc(&in, o->batch, d->classes);
    int rc = experiment_augmentation(mname, &in.aug) ? 1 : 0;
    char klist[256], *ksave;
    snprintf(klist, sizeof klist, "%s", o->kernels);
    for (char *kname = strtok_r(klist, ",", &ksave); kname && !rc; kname = strtok_r(NULL, ",", &ksave)) {
        char kerr[512], err[256];
        const conv_kernel *k = conv_kernel_find(kname, kerr, sizeof kerr);
        model m;
        if (!k)
            fprintf(stderr, "probador bench --train: error: %s\n", kerr), rc = 2;
        else if (model_build(&m, d, k, o->batch, err, sizeof err))
            fprintf(stderr, "%s\n", err), rc = 1;
        else {
            model_init_params(&m, 1, CONV_INIT_HE_NORMAL);
            time_model(out, o, mname, &m, &in);
            *facts = (model_facts){ m.num_params, m.flops / 1e6 };
            model_free(&m);
        }
    }
    inputs_free(&in);
    return rc;
}

/* ---- the PyTorch peer ------------------------------------------------------------ */

/* The interpreter that runs the peer: Debian's, which python3-torch installs
   into (a python3 earlier on PATH, a virtual environment's, may lack torch). */
static const char *peer_python(void)
{
    const char *p = getenv("PROBADOR_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

/* One line of the peer's output: a CSV row in our columns goes to the CSV, a
   "# key: value" line to the sidecar's text; false on anything else. */
static bool take_peer_line(char *line, FILE *csv, char *env, size_t env_len)
{
    line[strcspn(line, "\n")] = '\0';
    if (!strncmp(line, "# ", 2)) {
        const size_t used = strlen(env);
        if (!strstr(env, line + 2)) /* once, though the peer runs for each model */
            snprintf(env + used, env_len - used, "%s\n", line + 2);
        return true;
    }
    int commas = 0;
    for (const char *c = line; *c; c++)
        commas += *c == ',';
    if (commas != 16 || !strstr(line, ",pytorch,"))
        return false;
    fprintf(csv, "%s\n", line);
    return true;
}

/* The peer's argument list for one model at every thread count (in bufs). */
static void peer_argv(const train_options *o, const char *mname, const model_facts *f, const char *script,
                      char bufs[6][32], char *argv[20])
{
    snprintf(bufs[0], 32, "%d", o->batch);
    snprintf(bufs[1], 32, "%d", o->reps);
    snprintf(bufs[2], 32, "%d", WARMUP_STEPS);
    snprintf(bufs[3], 32, "%.2f", f->mflop_per_image);
    snprintf(bufs[4], 32, "%zu", f->params);
    snprintf(bufs[5], 32, "%g", o->quiet_wait);
    const char *args[] = { peer_python(),       script,  "--model",  mname,   "--threads",    o->threads_text,
                           "--batch",           bufs[0], "--reps",   bufs[1], "--warmup",     bufs[2],
                           "--mflop-per-image", bufs[3], "--params", bufs[4], "--quiet-wait", bufs[5],
                           NULL };
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        argv[i] = (char *)args[i];
}

/* Starts the peer with its standard output on a pipe; its pid, and the pipe in
   *out, or -1 with the error printed. */
static pid_t peer_start(char *const argv[], FILE **out)
{
    int fds[2];
    if (pipe(fds)) {
        fprintf(stderr, "probador bench --train: error: cannot make a pipe for the PyTorch peer: %s\n",
                strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    const int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        fprintf(stderr, "%s: error: cannot run the PyTorch peer (%s): %s; install Debian's python3 and "
                        "python3-torch with `make deps` (or set PROBADOR_PYTHON, or pass --peers none)\n",
                argv[0], argv[1], strerror(rc));
        return -1;
    }
    *out = fdopen(fds[0], "r");
    return pid;
}

/* Runs tools/bench/torch_peer.py on one model and appends its rows to the CSV;
   its "# key: value" lines go to env.  0, or 1 with the error printed. */
static int run_peer(FILE *csv, const train_options *o, const char *mname, const model_facts *facts, char *env,
                    size_t env_len)
{
    char script[PATH_MAX], bufs[6][32], *argv[20];
    if (report_repo_path("tools/bench/torch_peer.py", script, sizeof script))
        return 1;
    peer_argv(o, mname, facts, script, bufs, argv);
    FILE *from_peer;
    const pid_t pid = peer_start(argv, &from_peer);
    if (pid < 0)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    bool bad = false;
    while (getline(&line, &cap, from_peer) > 0)
        if (!bad && !take_peer_line(line, csv, env, env_len)) {
            fprintf(stderr, "%s: error: unexpected output from the PyTorch peer, expected a CSV row of bench "
                            "--train's 17 columns with kernel pytorch: '%s'\n", script, line);
            bad = true;
        }
    free(line);
    fclose(from_peer);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!bad && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "%s: error: the PyTorch peer failed (%s %d) on model %s; it needs Debian's python3-torch: "
                    "run `make deps` (or pass --peers none to leave PyTorch out)\n", script,
            WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
            mname);
    return 1;
}

/* ---- the command ------------------------------------------------------------------ */

/* Each model of the list: probador's rows, then the peer's. 0 or the exit status. */
static int bench_models(const bench_files *out, train_options *o, char *peer_env, size_t env_len)
{
    char *msave;
    for (char *mname = strtok_r(o->models, ",", &msave); mname; mname = strtok_r(NULL, ",", &msave)) {
        const model_type *t = bench_model(mname);
        if (!t) {
            char known[256];
            bench_model_names(known, sizeof known, ", ");
            fprintf(stderr, "probador bench --train: error: unknown model '%s' (known: %s)\n", mname, known);
            return 2;
        }
        model_facts facts = { 0, 0 };
        int rc = bench_model_kernels(out, o, mname, &t->bench, &facts);
        if (!rc && o->peers)
            rc = run_peer(out->csv, o, mname, &facts, peer_env, env_len);
        if (rc)
            return rc;
    }
    return 0;
}

/* PATH.env: the machine, the settings, the peer's version. */
static int write_env(const train_options *o, const char *breakdown, const char *peer_env)
{
    char env_path[1100];
    snprintf(env_path, sizeof env_path, "%s.env", o->out);
    atomic_file env;
    if (!atomic_open(&env, env_path))
        return 1;
    env_write(env.f, o->threads_text);
    fprintf(env.f, "batch: %d\nreps: %d\nwarmup: %d\nquiet_wait: %g\npeers: %s\nbreakdown: %s\n%s", o->batch,
            o->reps, WARMUP_STEPS, o->quiet_wait, o->peers ? "pytorch" : "none", breakdown, peer_env);
    return atomic_commit(&env) ? 0 : 1;
}

int bench_train_main(int argc, char **argv)
{
    train_options o;
    int status;
    if (parse_options(argc, argv, &o, &status))
        return status;
    conv_blis_init();
    char breakdown[1100];
    bench_train_breakdown_path(o.out, breakdown, sizeof breakdown);
    atomic_file csv, bd;
    if (!atomic_open(&csv, o.out))
        return 1;
    if (!atomic_open(&bd, breakdown))
        return atomic_abort(&csv), 1;
    fprintf(csv.f, "name,iterations,real_time,cpu_time,time_unit,model,kernel,phase,threads,batch,median_ms,"
                   "min_ms,max_ms,images_per_second,mflop_per_image,gflops,other_cores\n");
    fprintf(bd.f, "model,kernel,threads,batch,steps,kind,ms_per_step,share,other_cores\n");
    patience = (load_patience){ o.quiet_wait, false };
    static char peer_env[4096];
    peer_env[0] = '\0';
    const bench_files out = { csv.f, bd.f };
    const int rc = bench_models(&out, &o, peer_env, sizeof peer_env);
    if (rc) {
        atomic_abort(&csv), atomic_abort(&bd);
        return rc;
    }
    if (!atomic_commit(&csv) || !atomic_commit(&bd))
        return 1;
    return write_env(&o, breakdown, peer_env);
}
