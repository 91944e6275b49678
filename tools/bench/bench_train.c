/* tools/bench/bench_train.c — `probador bench --train`: full training steps
 * (forward, loss, backward, Adam) of cnn and resnet20 at batch 128 for every
 * kernel and thread count; median images/s to reports/data/train.csv. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/train_math.h"
#include "data/atomic_file.h"
#include "tools/cli.h"
#include "models/train/env.h"
#include "models/train/timing.h"

static const char usage_text[] =
    "usage: probador bench --train [options]\n"
    "  --models LIST     cnn,resnet20 (default: both)\n"
    "  --kernels LIST    default: im2col,winograd_f2,winograd (naive is far too slow to train)\n"
    "  --threads LIST    default: 1,2\n"
    "  --batch N         default: 128\n"
    "  --reps N          timed steps per row (default: 10, after 3 warm-up steps)\n"
    "  --out PATH        default: reports/data/train.csv (context in PATH.env)\n";

int bench_train_main(int argc, char **argv)
{
    const char *out = "reports/data/train.csv";
    char models[256] = "cnn,resnet20", kernels[256] = "im2col,winograd_f2,winograd", threads_list[64] = "1,2";
    int batch = 128, reps = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--train"))
            continue;
        if (!strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "probador bench --train: error: option '%s' needs a value, or is unknown\n%s", a, usage_text);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--models"))
            snprintf(models, sizeof models, "%s", v);
        else if (!strcmp(a, "--kernels"))
            snprintf(kernels, sizeof kernels, "%s", v);
        else if (!strcmp(a, "--threads"))
            snprintf(threads_list, sizeof threads_list, "%s", v);
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--batch") || !strcmp(a, "--reps")) {
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 4096) {
                fprintf(stderr, "probador bench --train: error: %s expects a whole number from 1 to 4096, got '%s'\n", a, v);
                return 2;
            }
            *(!strcmp(a, "--batch") ? &batch : &reps) = (int)n;
        } else {
            fprintf(stderr, "probador bench --train: error: unknown option '%s'\n%s", a, usage_text);
            return 2;
        }
    }
    conv_blis_init();
    atomic_file af;
    if (!atomic_open(&af, out))
        return 1;
    fprintf(af.f, "name,iterations,real_time,cpu_time,time_unit,model,kernel,threads,batch,median_ms,min_ms,max_ms,"
                  "images_per_second,mflop_per_image,gflops\n");
    char *msave, *ksave, *tsave;
    for (char *mname = strtok_r(models, ",", &msave); mname; mname = strtok_r(NULL, ",", &msave)) {
        model_desc d = { "cnn", 0, 0, 0.5f, 10, { 1, 28, 28 } };
        if (!strcmp(mname, "resnet20"))
            d = (model_desc){ "resnet", 3, 16, 0.0f, 10, { 1, 28, 28 } };
        else if (strcmp(mname, "cnn") != 0) {
            fprintf(stderr, "probador bench --train: error: unknown model '%s' (known: cnn, resnet20)\n", mname);
            atomic_abort(&af);
            return 2;
        }
        char klist[256];
        snprintf(klist, sizeof klist, "%s", kernels);
        for (char *kname = strtok_r(klist, ",", &ksave); kname; kname = strtok_r(NULL, ",", &ksave)) {
            char kerr[512];
            const conv_kernel *k = conv_kernel_find(kname, kerr, sizeof kerr);
            if (!k) {
                fprintf(stderr, "probador bench --train: error: %s\n", kerr);
                atomic_abort(&af);
                return 2;
            }
            model m;
            char err[256];
            if (model_build(&m, &d, k, batch, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                atomic_abort(&af);
                return 1;
            }
            model_init_params(&m, 1, CONV_INIT_HE_NORMAL);
            float *x = model_input(&m), *dlogits = malloc((size_t)batch * 10 * sizeof(float));
            int *labels = malloc((size_t)batch * sizeof(int));
            for (int i = 0; i < batch * 28 * 28; i++)
                x[i] = (float)((i * 7919) % 255) / 255.0f - 0.3f;
            for (int i = 0; i < batch; i++)
                labels[i] = i % 10;
            const adam_params adam = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f };
            char tl[64];
            snprintf(tl, sizeof tl, "%s", threads_list);
            for (char *ts = strtok_r(tl, ",", &tsave); ts; ts = strtok_r(NULL, ",", &tsave)) {
                const int threads = atoi(ts);
                if (threads < 1 || threads > 64) {
                    fprintf(stderr, "probador bench --train: error: bad thread count '%s'\n", ts);
                    atomic_abort(&af);
                    return 2;
                }
                omp_set_num_threads(threads);
                double *ms = malloc((size_t)reps * sizeof *ms), cpu = 0;
                for (int r = -3; r < reps; r++) {
                    struct timespec c0, c1;
                    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
                    const double t0 = timing_seconds(CLOCK_MONOTONIC);
                    const model_step st = { batch, true, 1, (uint64_t)(r + 3) };
                    const float *logits = model_forward(&m, &st);
                    softmax_cross_entropy(logits, labels, batch, 10, dlogits, NULL, NULL);
                    model_backward(&m, &st, dlogits);
                    adam_step(&m, &adam, 1e-3f, (uint64_t)(r + 4));
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
                fprintf(af.f, "%s/%s/threads:%d,%d,%.3f,%.3f,ms,%s,%s,%d,%d,%.3f,%.3f,%.3f,%.1f,%.2f,%.1f\n", mname,
                        k->name, threads, reps, med, cpu / reps, mname, k->name, threads, batch, med, ms[0],
                        ms[reps - 1], ips, m.flops / 1e6, 3 * m.flops * batch / (med * 1e6));
                fprintf(stderr, "bench --train: %-9s %-12s threads %d: %8.2f ms/step  %7.1f images/s\n", mname,
                        k->name, threads, med, ips);
                free(ms);
            }
            free(dlogits), free(labels);
            model_free(&m);
        }
    }
    if (!atomic_commit(&af))
        return 1;
    char env_path[1100];
    snprintf(env_path, sizeof env_path, "%s.env", out);
    atomic_file env;
    if (!atomic_open(&env, env_path))
        return 1;
    env_write(env.f, threads_list);
    fprintf(env.f, "batch: %d\nreps: %d\nwarmup: 3\n", batch, reps);
    return atomic_commit(&env) ? 0 : 1;
}
