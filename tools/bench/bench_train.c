/* tools/bench/bench_train.c — `probador bench --train`: full training steps
 * (forward, loss, backward, Adam) of every model type's benchmark instance
 * (the model registry's: cnn and resnet20) at batch 128 for every kernel and
 * thread count; median images/s to reports/data/train.csv. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/alloc.h"
#include "data/atomic_file.h"
#include "models/train/env.h"
#include "models/train/timing.h"
#include "models/train_math.h"
#include "tools/cli.h"

typedef struct train_options {
    const char *out;
    char models[256], kernels[256], threads[64];
    int batch, reps;
} train_options;

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
            "  --reps N          timed steps per row (default: 10, after 3 warm-up steps)\n"
            "  --out PATH        default: reports/data/train.csv (context in PATH.env)\n",
            names);
}

/* The options; 0 to go on, or the exit status (0 after --help, 2 on an error). */
static int parse_options(int argc, char **argv, train_options *o, int *status)
{
    *o = (train_options){ .out = "reports/data/train.csv", .kernels = "im2col,winograd_f2,winograd",
                          .threads = "1,2", .batch = 128, .reps = 10 };
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
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--models"))
            snprintf(o->models, sizeof o->models, "%s", v);
        else if (!strcmp(a, "--kernels"))
            snprintf(o->kernels, sizeof o->kernels, "%s", v);
        else if (!strcmp(a, "--threads"))
            snprintf(o->threads, sizeof o->threads, "%s", v);
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--batch") || !strcmp(a, "--reps")) {
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 4096) {
                fprintf(stderr, "probador bench --train: error: %s expects a whole number from 1 to 4096, got '%s'\n",
                        a, v);
                return -1;
            }
            *(!strcmp(a, "--batch") ? &o->batch : &o->reps) = (int)n;
        } else {
            fprintf(stderr, "probador bench --train: error: unknown option '%s'\n", a);
            return usage(stderr), -1;
        }
    }
    return 0;
}

/* One row per thread count: median step time of m (inputs and labels in place). */
static int time_model(FILE *csv, const train_options *o, const char *mname, model *m, float *dlogits,
                      const int *labels)
{
    char tl[64], *tsave;
    const adam_params adam = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f };
    const int batch = o->batch, reps = o->reps;
    snprintf(tl, sizeof tl, "%s", o->threads);
    for (char *ts = strtok_r(tl, ",", &tsave); ts; ts = strtok_r(NULL, ",", &tsave)) {
        const int threads = atoi(ts);
        if (threads < 1 || threads > 64) {
            fprintf(stderr, "probador bench --train: error: bad thread count '%s'\n", ts);
            return 2;
        }
        omp_set_num_threads(threads);
        double *ms = checked_malloc((size_t)reps * sizeof *ms), cpu = 0;
        for (int r = -3; r < reps; r++) {
            struct timespec c0, c1;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
            const double t0 = timing_seconds(CLOCK_MONOTONIC);
            const model_step st = { batch, true, 1, (uint64_t)(r + 3) };
            const float *logits = model_forward(m, &st);
            softmax_cross_entropy(logits, labels, batch, m->desc.classes, dlogits, NULL, NULL);
            model_backward(m, &st, dlogits);
            adam_step(m, &adam, 1e-3f, (uint64_t)(r + 4));
            const double dt = timing_seconds(CLOCK_MONOTONIC) - t0;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
            if (r >= 0) {
                ms[r] = dt * 1e3;
                cpu += (c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) * 1e-6;
            }
        }
        const double med = timing_median(ms, reps);
        const double ips = batch / (med * 1e-3);
        /* a training step costs about 3x the forward pass */
        fprintf(csv, "%s/%s/threads:%d,%d,%.3f,%.3f,ms,%s,%s,%d,%d,%.3f,%.3f,%.3f,%.1f,%.2f,%.1f\n", mname,
                m->kernel->name, threads, reps, med, cpu / reps, mname, m->kernel->name, threads, batch, med, ms[0],
                ms[reps - 1], ips, m->flops / 1e6, 3 * m->flops * batch / (med * 1e6));
        fprintf(stderr, "bench --train: %-9s %-12s threads %d: %8.2f ms/step  %7.1f images/s\n", mname,
                m->kernel->name, threads, med, ips);
        free(ms);
    }
    return 0;
}

/* Every kernel of the list on one model; 0 or the exit status. */
static int bench_model_kernels(FILE *csv, const train_options *o, const char *mname, const model_desc *d)
{
    char klist[256], *ksave;
    snprintf(klist, sizeof klist, "%s", o->kernels);
    for (char *kname = strtok_r(klist, ",", &ksave); kname; kname = strtok_r(NULL, ",", &ksave)) {
        char kerr[512];
        const conv_kernel *k = conv_kernel_find(kname, kerr, sizeof kerr);
        if (!k) {
            fprintf(stderr, "probador bench --train: error: %s\n", kerr);
            return 2;
        }
        model m;
        char err[256];
        if (model_build(&m, d, k, o->batch, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        model_init_params(&m, 1, CONV_INIT_HE_NORMAL);
        float *x = model_input(&m), *dlogits = checked_malloc((size_t)o->batch * d->classes * sizeof(float));
        int *labels = checked_malloc((size_t)o->batch * sizeof(int));
        for (int i = 0; i < o->batch * (int)tshape_count(d->input); i++)
            x[i] = (float)((i * 7919) % 255) / 255.0f - 0.3f;
        for (int i = 0; i < o->batch; i++)
            labels[i] = i % d->classes;
        const int rc = time_model(csv, o, mname, &m, dlogits, labels);
        free(dlogits), free(labels);
        model_free(&m);
        if (rc)
            return rc;
    }
    return 0;
}

int bench_train_main(int argc, char **argv)
{
    train_options o;
    int status;
    if (parse_options(argc, argv, &o, &status))
        return status;
    conv_blis_init();
    atomic_file af;
    if (!atomic_open(&af, o.out))
        return 1;
    fprintf(af.f, "name,iterations,real_time,cpu_time,time_unit,model,kernel,threads,batch,median_ms,min_ms,max_ms,"
                  "images_per_second,mflop_per_image,gflops\n");
    char *msave;
    for (char *mname = strtok_r(o.models, ",", &msave); mname; mname = strtok_r(NULL, ",", &msave)) {
        const model_type *t = bench_model(mname);
        int rc = 2;
        if (!t) {
            char known[256];
            bench_model_names(known, sizeof known, ", ");
            fprintf(stderr, "probador bench --train: error: unknown model '%s' (known: %s)\n", mname, known);
        } else
            rc = bench_model_kernels(af.f, &o, mname, &t->bench);
        if (rc) {
            atomic_abort(&af);
            return rc;
        }
    }
    if (!atomic_commit(&af))
        return 1;
    char env_path[1100];
    snprintf(env_path, sizeof env_path, "%s.env", o.out);
    atomic_file env;
    if (!atomic_open(&env, env_path))
        return 1;
    env_write(env.f, o.threads);
    fprintf(env.f, "batch: %d\nreps: %d\nwarmup: 3\n", o.batch, o.reps);
    return atomic_commit(&env) ? 0 : 1;
}
