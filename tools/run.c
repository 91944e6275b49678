/* tools/run.c — `probador run EXPERIMENT.yaml [options] [key=value ...]`:
 * resolve the configuration (file, variant, seed, overrides), train, write the
 * run's folder and its row of results/summary.csv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/atomic_file.h"
#include "tools/cli.h"
#include "tools/csv.h"
#include "tools/env.h"
#include "tools/report.h"
#include "tools/train.h"

static const char usage_text[] =
    "usage: probador run EXPERIMENT.yaml [options] [key=value ...]\n"
    "  --variant NAME    run one variant of the experiment's `variants:` (default: the base)\n"
    "  --seed N          run one seed (default: the experiment's `seed`)\n"
    "  --results DIR     results root (default: results); the run goes to DIR/NAME/[VARIANT/]seedN\n"
    "  --resume          continue from the run folder's checkpoint.bin, if any\n"
    "  --stop-after N    stop after N epochs, as if interrupted (for --resume tests)\n"
    "  --if-stale        do nothing if the run folder already holds finished results of exactly\n"
    "                    this resolved configuration (what `make reproduce` uses)\n"
    "  key=value         override any key, e.g. training.epochs=2 data.train_images=1000\n";

static const char summary_header[] =
    "experiment,variant,seed,model,kernel,epochs,train_images,test_accuracy,test_loss,train_seconds,"
    "train_images_per_second,weights_hash,commit\n";

/* Replaces (or adds) this run's row in ROOT/summary.csv, keyed by
   (experiment, variant, seed); other rows are kept in order. */
static int update_summary(const char *root, const char *row, const char *experiment, const char *variant, int seed)
{
    char path[1100], key[300];
    snprintf(path, sizeof path, "%s/summary.csv", root);
    snprintf(key, sizeof key, "%s,%s,%d,", experiment, variant, seed);
    atomic_file af;
    if (!atomic_open(&af, path))
        return -1;
    fputs(summary_header, af.f);
    FILE *old = fopen(path, "r");
    bool replaced = false;
    if (old) {
        char line[4096];
        bool header = true;
        while (fgets(line, sizeof line, old)) {
            if (header) {
                header = false;
                if (strcmp(line, summary_header) != 0) {
                    fprintf(stderr, "%s:1: error: unexpected header (an older format?); move the file aside\n", path);
                    fclose(old);
                    atomic_abort(&af);
                    return -1;
                }
                continue;
            }
            if (strncmp(line, key, strlen(key)) == 0) {
                if (!replaced)
                    fputs(row, af.f);
                replaced = true;
            } else
                fputs(line, af.f);
        }
        fclose(old);
    }
    if (!replaced)
        fputs(row, af.f);
    return atomic_commit(&af) ? 0 : -1;
}

/* A run is current when its summary exists and its saved config.yaml is
   byte-identical to the configuration about to run (file contents, not
   modification times, so a fresh clone is not stale). */
static bool run_is_current(const char *dir, const exp_config *c)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    fclose(f);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    f = fopen(path, "r");
    if (!f)
        return false;
    char *want = NULL, *have = NULL;
    size_t want_len = 0, have_len = 0;
    FILE *mem = open_memstream(&want, &want_len);
    config_write(c, mem);
    fclose(mem);
    mem = open_memstream(&have, &have_len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(mem);
    fclose(f);
    const bool same = want_len == have_len && memcmp(want, have, want_len) == 0;
    free(want), free(have);
    return same;
}

int run_main(int argc, char **argv)
{
    const char *file = NULL, *variant = "", *root = "results";
    int seed = -1, stop_after = 0;
    bool resume = false, if_stale = false;
    char *overrides = calloc(1, 1);
    exp_config *c = malloc(sizeof *c);
    const char *assignments[256];
    int num_assign = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "--resume"))
            resume = true;
        else if (!strcmp(a, "--if-stale"))
            if_stale = true;
        else if (i + 1 < argc && !strcmp(a, "--variant"))
            variant = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--results"))
            root = argv[++i];
        else if (i + 1 < argc && (!strcmp(a, "--seed") || !strcmp(a, "--stop-after"))) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || v < 0 || v > 2147483647) {
                fprintf(stderr, "probador run: error: %s expects a whole number ≥ 0, got '%s'\n", a, argv[i]);
                return 2;
            }
            *(!strcmp(a, "--seed") ? &seed : &stop_after) = (int)v;
        } else if (a[0] == '-') {
            fprintf(stderr, "probador run: error: unknown option '%s'\n%s", a, usage_text);
            return 2;
        } else if (strchr(a, '=')) {
            if (num_assign < 256)
                assignments[num_assign++] = a;
        } else if (!file)
            file = a;
        else {
            fprintf(stderr, "probador run: error: a second experiment file '%s' (one run at a time)\n", a);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "probador run: error: no experiment file given\n%s", usage_text);
        return 2;
    }
    if (config_load(file, c))
        return 1;
    if (variant[0] && config_apply_variant(c, variant))
        return 1;
    if (seed >= 0) {
        char s[32];
        snprintf(s, sizeof s, "seed=%d", seed);
        if (config_override(c, s))
            return 1;
    }
    for (int i = 0; i < num_assign; i++) {
        if (config_override(c, assignments[i]))
            return 1;
        size_t len = strlen(overrides);
        overrides = realloc(overrides, len + strlen(assignments[i]) + 2);
        sprintf(overrides + len, "%s\n", assignments[i]);
    }
    if (config_validate(c, file))
        return 1;
    conv_blis_init();

    char dir[1100];
    if (report_mkdirs(root))
        return 1;
    snprintf(dir, sizeof dir, "%s/%s%s%s", root, c->name, variant[0] ? "/" : "", variant);
    if (report_mkdirs(dir))
        return 1;
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/seed%d", c->seed);
    if (if_stale && run_is_current(dir, c)) {
        fprintf(stderr, "run: %s is up to date (same resolved configuration, results present)\n", dir);
        return 0;
    }
    train_options opt = { dir, variant, overrides, resume, stop_after };
    train_result res;
    if (train_run(c, &opt, &res))
        return 1;
    if (stop_after > 0 && stop_after < c->training.epochs) {
        fprintf(stderr, "run: stopped after %d epochs as asked; continue with --resume\n", stop_after);
        return 0;
    }
    char row[2048];
    snprintf(row, sizeof row, "%s,%s,%d,%s,%s,%d,%lld,%.6f,%.6f,%.1f,%.1f,%s,%s\n", c->name, variant[0] ? variant : "-",
             c->seed, config_model_name(c->model.name), config_kernel_name(c->kernel), c->training.epochs,
             (long long)(res.train_images / c->training.epochs), (double)res.test.correct / res.test.count,
             res.test.loss_sum / res.test.count, res.train_seconds, res.images_per_second, res.weights_hash,
             env_commit());
    if (update_summary(root, row, c->name, variant[0] ? variant : "-", c->seed))
        return 1;
    fprintf(stderr, "run: %s: test accuracy %.4f, loss %.4f, %.0f s, %.0f images/s, peak RSS %.0f MiB -> %s\n",
            c->name, (double)res.test.correct / res.test.count, res.test.loss_sum / res.test.count,
            res.train_seconds, res.images_per_second, res.peak_rss_mib, dir);
    free(overrides);
    free(c);
    return 0;
}
