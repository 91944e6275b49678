/* models/train/train_outputs.c — a run's result files, each written atomically. */
#include "models/train/train_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/alloc.h"
#include "data/atomic_file.h"
#include "data/pretext.h"
#include "models/train/env.h"

const char run_epochs_header[] = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate\n";
const char run_timing_header[] = "epoch,seconds,images_per_second,other_cores\n";

void run_append(char **s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const size_t old = *s ? strlen(*s) : 0;
    *s = checked_realloc(*s, old + strlen(line) + 1);
    strcpy(*s + old, line);
}

int run_write_text(const char *dir, const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    atomic_file af;
    if (!atomic_open(&af, path))
        return -1;
    fputs(text, af.f);
    return atomic_commit(&af) ? 0 : -1;
}

static const char *class_name(const run_state *s, int k)
{
    return s->pretext ? pretext_class_name(k) : fmnist_class_name(k);
}

static int write_confusion(const run_state *s, const eval_metrics *e)
{
    char *text = NULL;
    run_append(&text, "true");
    for (int j = 0; j < s->classes; j++)
        run_append(&text, ",pred_%d", j);
    run_append(&text, "\n");
    for (int i = 0; i < s->classes; i++) {
        run_append(&text, "%d", i);
        for (int j = 0; j < s->classes; j++)
            run_append(&text, ",%lld", (long long)e->confusion[i][j]);
        run_append(&text, "\n");
    }
    int rc = run_write_text(s->opt->out_dir, "confusion.csv", text);
    free(text), text = NULL;
    run_append(&text, "class,name,support,precision,recall,f1\n");
    for (int k = 0; k < s->classes; k++) {
        int64_t support = 0;
        for (int j = 0; j < s->classes; j++)
            support += e->confusion[k][j];
        run_append(&text, "%d,%s,%lld,%.6f,%.6f,%.6f\n", k, class_name(s, k), (long long)support, e->precision[k],
                   e->recall[k], e->f1[k]);
    }
    rc = rc || run_write_text(s->opt->out_dir, "per_class.csv", text);
    free(text);
    return rc ? -1 : 0;
}

/* The misclassified test images, for the report's gallery (none for the
   rotation task, which never sees the test set). */
static char *mistakes_text(const run_state *s, const uint8_t *predictions, int n_final)
{
    char *text = NULL;
    run_append(&text, "test_index,true,predicted\n");
    for (int i = 0; i < n_final && !s->pretext; i++) {
        const int truth = s->d.test.labels[s->d.test_idx[i]];
        if (predictions[i] != truth)
            run_append(&text, "%u,%d,%d\n", s->d.test_idx[i], truth, predictions[i]);
    }
    return text;
}

static char *summary_text(const run_state *s, const train_result *res, int n_final)
{
    const run_config *c = s->c;
    char *text = NULL;
    run_append(&text, "experiment,variant,seed,model,kernel,epochs,train_images,validation_images,test_images,"
                      "test_accuracy,test_loss,weights_hash\n");
    run_append(&text, "%s,%s,%d,%s,%s,%d,%d,%d,%d,%.6f,%.6f,%s\n", c->name,
               s->opt->variant[0] ? s->opt->variant : "-", c->seed, s->m.desc.name, s->kernel->name,
               c->training.epochs, s->d.n_train, s->d.n_val, n_final, (double)res->test.correct / res->test.count,
               res->test.loss_sum / res->test.count, res->weights_hash);
    return text;
}

static char *environment_text(const run_state *s, const train_result *res)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        fprintf(stderr, "%s: error: cannot describe the environment: out of memory\n", s->c->name);
        exit(1);
    }
    char threads[16];
    snprintf(threads, sizeof threads, "%d", s->c->threads);
    env_write(mem, threads);
    /* how many trained it together (models/dist.h): the bits are the same for any number */
    fprintf(mem, "processes: %d (blocks of %d images)\n", dist_ranks(s->m.dist), REDUCE_BLOCK);
    /* the data as decoded, whatever its files' compression: the same numbers mean the same images */
    const fmnist_split *tr = &s->d.train, *te = &s->d.test;
    fprintf(mem, "dataset: %s: train %zu images crc32 %08lx labels crc32 %08lx; t10k %zu images crc32 %08lx "
                 "labels crc32 %08lx\n",
            s->c->data.dir, tr->count, crc32(0L, tr->images, (uInt)(tr->count * FMNIST_ROWS * FMNIST_COLS)),
            crc32(0L, tr->labels, (uInt)tr->count), te->count,
            crc32(0L, te->images, (uInt)(te->count * FMNIST_ROWS * FMNIST_COLS)), crc32(0L, te->labels, (uInt)te->count));
    fprintf(mem, "parameters: %zu\nforward_mflop: %.1f\n", s->m.num_params, s->m.flops / 1e6); /* per image */
    int channels = 0; /* batch norm's, all layers: what its statistics exchange scales with */
    for (int i = 0; i < s->m.num_layers; i++)
        channels += s->m.layers[i].spec.op == OP_BN ? s->m.layers[i].in.c : 0;
    fprintf(mem, "batch_norm_channels: %d\n", channels);
    fprintf(mem, "peak_rss_mib: %.1f\n", res->peak_rss_mib);
    fclose(mem);
    return text;
}

int run_write_results(run_state *s, const train_result *res, const uint8_t *predictions, int n_final)
{
    const train_options *opt = s->opt;
    char *summary = summary_text(s, res, n_final), *env = environment_text(s, res);
    char *mistakes = mistakes_text(s, predictions, n_final);
    const int rc = write_confusion(s, &res->test) || run_write_text(opt->out_dir, "summary.csv", summary) ||
                   run_write_text(opt->out_dir, "config.yaml", opt->config_yaml) ||
                   run_write_text(opt->out_dir, "overrides.txt", opt->overrides ? opt->overrides : "") ||
                   run_write_text(opt->out_dir, "environment.txt", env) ||
                   run_write_text(opt->out_dir, "misclassified.csv", mistakes) ||
                   (opt->init_note && run_write_text(opt->out_dir, "init.txt", opt->init_note));
    free(summary), free(env), free(mistakes);
    return rc ? -1 : 0;
}
