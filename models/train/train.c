/* models/train/train.c — the training loop of one run (see the header).
 *
 * Determinism: every random choice is keyed by (seed, purpose, epoch, index)
 * (data/rng.h), every kernel and layer is thread-count independent, and the
 * files compared by the determinism test hold no wall-clock figures — those go
 * to timing.csv and summary.csv's timing columns of results/summary.csv only.
 */
#include "models/train/train.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/augment.h"
#include "data/batches.h"
#include "data/pretext.h"
#include "data/regular_file.h"
#include "models/checkpoint.h"
#include "data/atomic_file.h"
#include "models/train/env.h"
#include "models/train/timing.h"

void train_weights_hash(const model *m, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *blocks[2] = { (const unsigned char *)m->params, (const unsigned char *)m->state };
    const size_t sizes[2] = { m->num_params * sizeof(float), m->num_state * sizeof(float) };
    for (int b = 0; b < 2; b++)
        for (size_t i = 0; i < sizes[b]; i++)
            h = (h ^ blocks[b][i]) * 0x100000001b3ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The configuration less the keys that cannot change results (train.h). */
static void strip_to_run_keys(exp_config *c)
{
    memset(c->description, 0, sizeof c->description);
    c->threads = 0;
    c->n_seeds = 0;
    memset(c->seeds, 0, sizeof c->seeds);
    c->n_variants = 0;
    memset(c->variants, 0, sizeof c->variants);
}

/* Out of memory: the error, and the process ends (llm.c's mallocCheck). */
static void *checked(void *p, size_t bytes, const char *what)
{
    if (!p) {
        fprintf(stderr, "probador: error: out of memory allocating %zu bytes for %s\n", bytes, what);
        exit(1);
    }
    return p;
}

/* Splits one line of config_write's output into its indent, key and value (the
   comment cut off); false for a line that is not "key: value" or "key:". */
static bool config_line(const char *line, int *indent, char *key, size_t key_len, char *value, size_t value_len)
{
    const char *p = line + strspn(line, " ");
    const char *colon = strchr(p, ':');
    if (*p == '#' || !colon || colon > p + strcspn(p, "\n"))
        return false;
    *indent = (int)(p - line) / 2;
    snprintf(key, key_len, "%.*s", (int)(colon - p), p);
    const char *v = colon + 1 + strspn(colon + 1, " "), *comment = strstr(v, "  # ");
    size_t n = strcspn(v, "\n");
    if (comment && (size_t)(comment - v) < n)
        n = (size_t)(comment - v);
    while (n && v[n - 1] == ' ')
        n--;
    snprintf(value, value_len, "%.*s", (int)n, v);
    return true;
}

/* The configuration as config_write prints it (free it). */
static char *config_text(const exp_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem || config_write(c, mem) != 0)
        checked(NULL, sizeof *c, "the configuration's text");
    fclose(mem);
    return text;
}

int train_config_differences(const exp_config *before, const exp_config *now, char *out, size_t len)
{
    exp_config *a = checked(malloc(sizeof *a), sizeof *a, "a configuration");
    exp_config *b = checked(malloc(sizeof *b), sizeof *b, "a configuration");
    memcpy(a, before, sizeof *a), memcpy(b, now, sizeof *b);
    strip_to_run_keys(a), strip_to_run_keys(b);
    int differ = memcmp(a, b, sizeof *a) != 0;
    if (out && len)
        out[0] = '\0';
    if (differ && out) { /* name them: both written out, compared line by line (the same keys in order) */
        char *ta = config_text(a), *tb = config_text(b);
        char section[8][CONFIG_NAME_MAX] = { { 0 } }, key[CONFIG_NAME_MAX], va[CONFIG_PATH_MAX + 8],
                                               vb[CONFIG_PATH_MAX + 8];
        differ = 0;
        for (const char *la = ta, *lb = tb; *la && *lb;) {
            int indent, indent_b;
            char key_b[CONFIG_NAME_MAX];
            if (config_line(la, &indent, key, sizeof key, va, sizeof va) &&
                config_line(lb, &indent_b, key_b, sizeof key_b, vb, sizeof vb) && indent < 8) {
                snprintf(section[indent], sizeof section[0], "%s", key);
                if (strcmp(va, vb) != 0) {
                    char path[8 * CONFIG_NAME_MAX] = "";
                    for (int i = 0; i <= indent; i++)
                        snprintf(path + strlen(path), sizeof path - strlen(path), "%s%s", i ? "." : "", section[i]);
                    const size_t at = strlen(out);
                    snprintf(out + at, len - at, "%s%s: %s then, %s now", differ++ ? "; " : "", path, va, vb);
                }
            }
            la += strcspn(la, "\n"), la += *la == '\n';
            lb += strcspn(lb, "\n"), lb += *lb == '\n';
        }
        if (!differ) /* values that print alike */
            differ = snprintf(out, len, "a value that config.yaml prints alike") > 0;
        free(ta), free(tb);
    }
    free(a), free(b);
    return differ;
}

/* The data of one run: decoded splits and the index lists. */
typedef struct run_data {
    fmnist_split train, test;
    batch_source train_src, test_src;
    uint32_t *split, *test_idx, *order;   /* split holds the validation then the training list */
    uint32_t *subset;                     /* data.per_class: the balanced training list */
    const uint32_t *train_idx, *val_idx;
    int n_train, n_val, n_test;
} run_data;

static void free_data(run_data *d)
{
    fmnist_free(&d->train);
    fmnist_free(&d->test);
    free(d->split), free(d->test_idx), free(d->order), free(d->subset);
}

static int load_data(const exp_config *c, run_data *d)
{
    char err[1024];
    memset(d, 0, sizeof *d);
    if (fmnist_load(c->data.dir, "train", &d->train, err, sizeof err) ||
        fmnist_load(c->data.dir, "t10k", &d->test, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        free_data(d);
        return -1;
    }
    const int total = (int)d->train.count;
    if (c->data.validation_images >= total) {
        fprintf(stderr, "%s: error: data.validation_images = %d leaves no training images (the set has %d)\n",
                c->name, c->data.validation_images, total);
        free_data(d);
        return -1;
    }
    d->split = checked(malloc((size_t)total * sizeof *d->split), (size_t)total * sizeof *d->split, "the split");
    d->order = checked(malloc((size_t)total * sizeof *d->order), (size_t)total * sizeof *d->order, "the order");
    batch_lists lists;
    if (batch_split(d->split, (size_t)total, (size_t)c->data.validation_images, (size_t)c->data.train_images,
                    (uint64_t)c->seed, &lists, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", c->name, err);
        free_data(d);
        return -1;
    }
    d->train_idx = lists.train, d->val_idx = lists.val;
    d->n_train = (int)lists.n_train, d->n_val = (int)lists.n_val;
    if (c->data.per_class > 0) {
        const size_t bytes = (size_t)10 * c->data.per_class * sizeof *d->subset;
        d->subset = checked(malloc(bytes), bytes, "the balanced subset");
        int short_class;
        const long n = balanced_subset(lists.train, lists.n_train, d->train.labels, c->data.per_class,
                                       (uint64_t)c->seed, d->subset, &short_class);
        if (n < 0) {
            fprintf(stderr, "%s: error: data.per_class = %d: class %d (%s) has fewer training images once %d are "
                            "held out for validation; lower data.per_class\n",
                    c->name, c->data.per_class, short_class, fmnist_class_name(short_class),
                    c->data.validation_images);
            free_data(d);
            return -1;
        }
        d->train_idx = d->subset, d->n_train = (int)n;
    }
    d->train_src = (batch_source){ d->train.images, d->train.labels, d->train.count };
    d->test_src = (batch_source){ d->test.images, d->test.labels, d->test.count };
    d->n_test = c->data.test_images > 0 ? c->data.test_images : (int)d->test.count;
    d->test_idx = checked(malloc((size_t)d->n_test * sizeof *d->test_idx), (size_t)d->n_test * sizeof *d->test_idx,
                          "the test list");
    for (int i = 0; i < d->n_test; i++)   /* the first n: the test set is never sampled */
        d->test_idx[i] = i;
    return 0;
}

/* Evaluation mode over a list of images: loss, accuracy, confusion; and, if
   `predictions` is not NULL, the predicted class of each image in list order.
   `pretext_seed` >= 0: the rotation task, its fixed evaluation rotations. */
static void evaluate(model *m, const batch_source *s, const uint32_t *idx, int count, int64_t pretext_seed,
                     eval_metrics *e, uint8_t *predictions)
{
    memset(e, 0, sizeof *e);
    static int labels[4096], predicted[4096];
    for (int start = 0; start < count; start += m->max_batch) {
        const int n = (int)batch_fill(model_input(m), labels, s, idx, (size_t)count, (size_t)start,
                                      (size_t)m->max_batch, NULL, 0, 0);
        if (pretext_seed >= 0)
            pretext_rotate(model_input(m), labels, idx + start, n, (uint64_t)pretext_seed, PRETEXT_EVAL_EPOCH);
        const model_step st = { n, false, 0, 0 };
        const float *logits = model_forward(m, &st);
        int correct;
        e->loss_sum += softmax_cross_entropy(logits, labels, n, m->desc.classes, NULL, &correct, predicted);
        e->correct += correct;
        e->count += n;
        for (int i = 0; i < n; i++) {
            e->confusion[labels[i]][predicted[i]]++;
            if (predictions)
                predictions[start + i] = (uint8_t)predicted[i];
        }
    }
    metrics_finish(e);
}

/* ---- output files ------------------------------------------------------ */
static int write_text_file(const char *dir, const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    atomic_file af;
    if (!atomic_open(&af, path))
        return -1;
    fputs(text, af.f);
    return atomic_commit(&af) ? 0 : -1;
}

static const char *class_name(const exp_config *c, int k)
{
    return c->task == CONFIG_TASK_ROTATION ? pretext_class_name(k) : fmnist_class_name(k);
}

static int write_confusion(const char *dir, const exp_config *c, int classes, const eval_metrics *e)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/confusion.csv", dir);
    atomic_file af;
    if (!atomic_open(&af, path))
        return -1;
    fprintf(af.f, "true");
    for (int j = 0; j < classes; j++)
        fprintf(af.f, ",pred_%d", j);
    fprintf(af.f, "\n");
    for (int i = 0; i < classes; i++) {
        fprintf(af.f, "%d", i);
        for (int j = 0; j < classes; j++)
            fprintf(af.f, ",%lld", (long long)e->confusion[i][j]);
        fprintf(af.f, "\n");
    }
    if (!atomic_commit(&af))
        return -1;
    snprintf(path, sizeof path, "%s/per_class.csv", dir);
    if (!atomic_open(&af, path))
        return -1;
    fprintf(af.f, "class,name,support,precision,recall,f1\n");
    for (int k = 0; k < classes; k++) {
        int64_t support = 0;
        for (int j = 0; j < classes; j++)
            support += e->confusion[k][j];
        fprintf(af.f, "%d,%s,%lld,%.6f,%.6f,%.6f\n", k, class_name(c, k), (long long)support, e->precision[k],
                e->recall[k], e->f1[k]);
    }
    return atomic_commit(&af) ? 0 : -1;
}

/* Appends printf output to a growing string. */
static void append(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = *s ? strlen(*s) : 0;
    *s = checked(realloc(*s, old + strlen(line) + 1), old + strlen(line) + 1, "a result file's text");
    strcpy(*s + old, line);
}

/* The most a run folder's timing.csv or init.txt can hold that is read back. */
enum { SMALL_FILE_MAX = 1 << 20 };

static const char epochs_header[] = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate\n";
static const char timing_header[] = "epoch,seconds,images_per_second\n";

/* timing.csv's rows for epochs 1..epochs from an earlier, interrupted run (wall
   clock, so kept out of the checkpoint, whose bytes must be deterministic);
   *seconds = their training time. */
static char *previous_timing(const char *dir, uint32_t epochs, double *seconds)
{
    char path[1200], why[160];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    char *out = NULL;
    append(&out, "%s", timing_header);
    size_t len;
    char *text = regular_read(path, SMALL_FILE_MAX, &len, why, sizeof why);
    for (char *line = text, *next; line && *line; line = next) {
        next = line + strcspn(line, "\n");
        next += *next == '\n';
        char *end;
        const long epoch = strtol(line, &end, 10);
        if (epoch >= 1 && epoch <= (long)epochs && *end == ',') {
            append(&out, "%.*s", (int)(next - line), line);
            *seconds += strtod(end + 1, NULL);
        }
    }
    free(text);
    return out;
}

static void progress(const exp_config *c, int epoch, int step, int steps, double loss, double acc,
                     double ips, double eta, bool final)
{
    const bool tty = isatty(STDERR_FILENO);
    if (!tty && !final)
        return;
    fprintf(stderr, "%s%s epoch %d/%d step %d/%d loss %.4f acc %.4f %.0f img/s ETA %.0fs%s", tty ? "\r" : "",
            c->name, epoch + 1, c->training.epochs, step, steps, loss, acc, ips, eta, tty ? "\033[K" : "");
    if (final || !tty)
        fputc('\n', stderr);
}

/* A loss that is not finite ends the run (nothing is published); `where`
   (printf) says at which step.  True when finite. */
static bool loss_is_finite(const exp_config *c, double loss, const char *where, ...)
    __attribute__((format(printf, 3, 4)));
static bool loss_is_finite(const exp_config *c, double loss, const char *where, ...)
{
    if (isfinite(loss))
        return true;
    char at[128];
    va_list ap;
    va_start(ap, where);
    vsnprintf(at, sizeof at, where, ap);
    va_end(ap);
    fprintf(stderr,
            "%s: error: %s: the loss is %g, not finite: training diverged (lower training.learning_rate) or "
            "started from weights that overflow; nothing was published\n",
            c->name, at, loss);
    return false;
}

/* On --resume: the folder's config.yaml (and init.txt) must be the
   configuration being resumed, compared on the keys that decide results
   (train_config_differences), so that the published config.yaml is the one
   every epoch trained under.  0, or -1 after an error. */
static int check_resumed_config(const exp_config *c, const train_options *opt, const char *ckpt)
{
    char path[1200], diff[2048];
    snprintf(path, sizeof path, "%s/config.yaml", opt->out_dir);
    exp_config *saved = checked(malloc(sizeof *saved), sizeof *saved, "a configuration");
    int rc = -1;
    if (access(path, F_OK) != 0)
        fprintf(stderr, "%s: error: cannot resume: no config.yaml beside it (%s), so nothing says which "
                        "configuration its epochs trained under; rerun without --resume to start afresh\n",
                ckpt, path);
    else if (config_load(path, saved) != 0)
        fprintf(stderr, "%s: error: cannot resume: the interrupted run's configuration (%s) does not load (see "
                        "above); rerun without --resume to start afresh\n",
                ckpt, path);
    else if (train_config_differences(saved, c, diff, sizeof diff))
        fprintf(stderr, "%s: error: cannot resume under another configuration: %s (as in %s); resume with the "
                        "same configuration, or rerun without --resume to start afresh\n",
                ckpt, diff, path);
    else
        rc = 0;
    free(saved);
    if (rc)
        return -1;
    snprintf(path, sizeof path, "%s/init.txt", opt->out_dir); /* written by the same code: byte for byte */
    char why[160];
    size_t len;
    char *have = regular_read(path, SMALL_FILE_MAX, &len, why, sizeof why);
    const bool same = !strcmp(have ? have : "", opt->init_note ? opt->init_note : "");
    const bool had = have && have[0];
    free(have);
    if (!same) {
        fprintf(stderr, "%s: error: cannot resume: its epochs started from another initialisation than init.from "
                        "gives now (%s: %s); rerun without --resume to start afresh\n",
                ckpt, path, had ? "another checkpoint" : "none, a random initialisation");
        return -1;
    }
    return 0;
}

int train_run(const exp_config *c, const train_options *opt, train_result *res)
{
    memset(res, 0, sizeof *res);
    char err[1024], path[1200];
    omp_set_num_threads(c->threads);
    run_data d;
    if (load_data(c, &d))
        return -1;
    const conv_kernel *kernel = conv_kernel_find(config_kernel_name(c->kernel));
    const bool pretext = c->task == CONFIG_TASK_ROTATION;
    const int classes = pretext ? PRETEXT_CLASSES : METRIC_CLASSES;
    const int64_t pretext_seed = pretext ? c->seed : -1;
    model_desc desc = { "", c->model.blocks, c->model.width, (float)c->model.dropout, classes, { 1, 28, 28 } };
    snprintf(desc.name, sizeof desc.name, "%s", config_model_name(c->model.name));
    if (c->model.name == CONFIG_MODEL_CNN)
        desc.blocks = desc.width = 0;   /* not parameters of the cnn */
    else
        desc.dropout = 0;
    model m;
    if (model_build(&m, &desc, kernel, c->training.batch, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", c->name, err);
        free_data(&d);
        return -1;
    }
    model_print_summary(&m, stderr);
    _Static_assert((int)CONFIG_CONV_INIT_UNIFORM == (int)CONV_INIT_UNIFORM, "one order for both enums");
    model_init_params(&m, (uint64_t)c->seed, (conv_init)c->model.conv_init);
    if (opt->init_path) {
        uint32_t crc;
        if (checkpoint_load_trunk(opt->init_path, &m, &crc, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            model_free(&m);
            free_data(&d);
            return -1;
        }
        fprintf(stderr, "%s: trunk initialised from %s (CRC %08x); the head starts fresh\n", c->name,
                opt->init_path, crc);
    }
    /* parameters [0, head_off) are the trunk, the rest the classifier head */
    const size_t head_off = m.layers[checkpoint_head_layer(&m)].param_off;

    const aug_params aug = { .rotation = c->augmentation.rotation, .shift = c->augmentation.shift,
                             .scale = { c->augmentation.scale[0], c->augmentation.scale[1] },
                             .flip = c->augmentation.flip,
                             .sampling = c->augmentation.sampling == CONFIG_SAMPLING_NEAREST
                                             ? AUG_SAMPLING_NEAREST
                                             : AUG_SAMPLING_BILINEAR };
    const adam_params adam = { (float)c->training.learning_rate, (float)c->training.beta1,
                               (float)c->training.beta2, (float)c->training.epsilon,
                               (float)c->training.weight_decay };
    const int steps_per_epoch = (d.n_train + c->training.batch - 1) / c->training.batch;
    const uint64_t total_steps = (uint64_t)steps_per_epoch * c->training.epochs;
    const uint64_t warmup = (uint64_t)llround(c->training.warmup_epochs * steps_per_epoch);
    const lr_schedule sched = c->training.schedule == CONFIG_SCHEDULE_COSINE ? LR_COSINE : LR_CONSTANT;

    char *epochs_csv = NULL, *timing_csv = NULL, *config_yaml = config_text(c);
    append(&epochs_csv, "%s", epochs_header);
    append(&timing_csv, "%s", timing_header);
    int first_epoch = 0;
    uint64_t step = 0;
    /* the folder only now: a run whose data or model cannot be had leaves none */
    if (mkdir(opt->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: error: cannot create the results folder: %s\n", opt->out_dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/checkpoint.bin", opt->out_dir);
    const bool resuming = opt->resume && !(access(path, F_OK) != 0 && errno == ENOENT);
    if (opt->resume && !resuming)
        fprintf(stderr, "%s: note: --resume: no checkpoint at %s, so the run starts from epoch 1\n", c->name, path);
    if (resuming) {
        /* the configuration first: a changed model key is named as such,
           rather than met as a checkpoint of another model */
        if (check_resumed_config(c, opt, path))
            goto fail;
        checkpoint_info info;
        if (checkpoint_load(path, &m, CKPT_ALL, &info, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            goto fail;
        }
        /* the counters, checked against this configuration: the CRC does not vouch for them */
        int rows = 0;
        for (const char *p = info.history; *p; p++)
            rows += *p == '\n';
        const bool history_ok = strncmp(info.history, epochs_header, strlen(epochs_header)) == 0 &&
                                rows == (int64_t)info.epochs + 1;
        if (info.seed != (uint64_t)c->seed || info.epochs < 1 || info.epochs > (uint32_t)c->training.epochs ||
            info.steps != (uint64_t)info.epochs * steps_per_epoch || !history_ok) {
            fprintf(stderr, "%s: error: the checkpoint's counters do not fit this run: %u epochs completed "
                            "(expected 1 to %d), %llu optimiser steps (expected %d an epoch), seed %llu (expected "
                            "%d), %d lines of history (expected a header and a row an epoch); the file is damaged "
                            "or from another run: delete it, or rerun without --resume\n",
                    path, info.epochs, c->training.epochs, (unsigned long long)info.steps, steps_per_epoch,
                    (unsigned long long)info.seed, c->seed, rows);
            free(info.history);
            goto fail;
        }
        free(epochs_csv), free(timing_csv);
        epochs_csv = info.history;
        timing_csv = previous_timing(opt->out_dir, info.epochs, &res->train_seconds);
        first_epoch = (int)info.epochs;
        step = info.steps;
        res->train_images = (int64_t)first_epoch * d.n_train; /* every epoch sees them all */
        fprintf(stderr, "%s: resuming after epoch %d\n", c->name, first_epoch);
    } else { /* what --resume will compare with */
        char init_txt[1200];
        snprintf(init_txt, sizeof init_txt, "%s/init.txt", opt->out_dir);
        remove(init_txt);
        if (write_text_file(opt->out_dir, "config.yaml", config_yaml) ||
            (opt->init_note && write_text_file(opt->out_dir, "init.txt", opt->init_note)))
            goto fail;
    }

    static int labels[4096];
    const size_t dlogits_bytes = (size_t)c->training.batch * classes * sizeof(float);
    float *dlogits = checked(malloc(dlogits_bytes), dlogits_bytes, "the loss gradient");
    const double run_start = timing_seconds(CLOCK_MONOTONIC);
    for (int epoch = first_epoch; epoch < c->training.epochs; epoch++) {
        if (opt->stop_after_epochs > 0 && epoch >= opt->stop_after_epochs)
            break;
        const double t0 = timing_seconds(CLOCK_MONOTONIC);
        batch_shuffle(d.order, d.train_idx, (size_t)d.n_train, (uint64_t)c->seed, (uint64_t)epoch);
        double loss_sum = 0;
        int64_t correct_sum = 0, seen = 0;
        float lr = 0;
        for (int s = 0; s < steps_per_epoch; s++, step++) {
            const int n = (int)batch_fill(model_input(&m), labels, &d.train_src, d.order, (size_t)d.n_train,
                                          (size_t)s * c->training.batch, (size_t)c->training.batch, &aug,
                                          (uint64_t)c->seed, (uint64_t)epoch);
            if (pretext)
                pretext_rotate(model_input(&m), labels, d.order + (size_t)s * c->training.batch, n,
                               (uint64_t)c->seed, (uint64_t)epoch);
            const model_step st = { n, true, (uint64_t)c->seed, step };
            const float *logits = model_forward(&m, &st);
            int correct;
            const double batch_loss = softmax_cross_entropy(logits, labels, n, classes, dlogits, &correct, NULL);
            if (!loss_is_finite(c, batch_loss, "epoch %d, step %d of %d", epoch + 1, s + 1, steps_per_epoch)) {
                free(dlogits);
                goto fail;
            }
            loss_sum += batch_loss;
            correct_sum += correct;
            seen += n;
            model_backward(&m, &st, dlogits);
            lr = lr_at(sched, adam.lr, step, warmup, total_steps);
            if (epoch < c->init.freeze_epochs) { /* the head alone */
                adam_step_range(&m, &adam, lr, step + 1, head_off, m.num_params);
            } else if (c->init.trunk_lr_scale != 1.0) {
                adam_step_range(&m, &adam, lr * (float)c->init.trunk_lr_scale, step + 1, 0, head_off);
                adam_step_range(&m, &adam, lr, step + 1, head_off, m.num_params);
            } else {
                adam_step(&m, &adam, lr, step + 1);
            }
            if ((s & 15) == 15 || s == steps_per_epoch - 1) {
                const double el = timing_seconds(CLOCK_MONOTONIC) - t0, ips = seen / el;
                const double eta = ((double)(c->training.epochs - epoch) * d.n_train - seen) / ips;
                progress(c, epoch, s + 1, steps_per_epoch, loss_sum / seen, (double)correct_sum / seen, ips, eta,
                         false);
            }
        }
        const double seconds = timing_seconds(CLOCK_MONOTONIC) - t0;
        eval_metrics val;
        evaluate(&m, &d.train_src, d.val_idx, d.n_val, pretext_seed, &val, NULL);
        const double val_loss = val.count ? val.loss_sum / val.count : NAN;
        const double val_acc = val.count ? (double)val.correct / val.count : NAN;
        if (val.count && !loss_is_finite(c, val_loss, "epoch %d, on the validation images", epoch + 1)) {
            free(dlogits);
            goto fail;
        }
        append(&epochs_csv, "%d,%.6f,%.6f,%.6f,%.6f,%.8g\n", epoch + 1, loss_sum / seen, (double)correct_sum / seen,
               val_loss, val_acc, lr);
        append(&timing_csv, "%d,%.3f,%.1f\n", epoch + 1, seconds, seen / seconds);
        res->train_seconds += seconds;
        res->train_images += seen;
        progress(c, epoch, steps_per_epoch, steps_per_epoch, loss_sum / seen, (double)correct_sum / seen,
                 seen / seconds, 0, true);
        fprintf(stderr, "%s: epoch %d: val loss %.4f acc %.4f, %.1f s\n", c->name, epoch + 1, val_loss, val_acc,
                seconds);

        /* checkpoint and the CSVs so far, each atomically */
        checkpoint_info info = { (uint32_t)(epoch + 1), step, (uint64_t)c->seed, epochs_csv };
        const int rc = checkpoint_save(path, &m, &info, err, sizeof err);
        if (rc || write_text_file(opt->out_dir, "epochs.csv", epochs_csv) ||
            write_text_file(opt->out_dir, "timing.csv", timing_csv)) {
            if (rc)
                fprintf(stderr, "%s\n", err);
            free(dlogits);
            goto fail;
        }
    }
    free(dlogits);
    (void)run_start;
    res->images_per_second = res->train_seconds > 0 ? res->train_images / res->train_seconds : 0;
    if (opt->stop_after_epochs > 0 && opt->stop_after_epochs < c->training.epochs) {
        free(epochs_csv), free(timing_csv), free(config_yaml);
        model_free(&m);
        free_data(&d);
        return 0;
    }

    /* final model on the test set: never a best epoch */
    /* (the rotation task never touches the test set: its final figures are on
       the held-out validation images) */
    const batch_source *final_src = pretext ? &d.train_src : &d.test_src;
    const uint32_t *final_idx = pretext ? d.val_idx : d.test_idx;
    const int n_final = pretext ? d.n_val : d.n_test;
    uint8_t *predictions = checked(malloc((size_t)n_final + 1), (size_t)n_final + 1, "the predictions");
    evaluate(&m, final_src, final_idx, n_final, pretext_seed, &res->test, predictions);
    if (res->test.count && !loss_is_finite(c, res->test.loss_sum / res->test.count, "the final model on the %s images",
                                           pretext ? "validation" : "test")) {
        free(predictions);
        goto fail;
    }
    char *mistakes = NULL; /* the misclassified test images, for the report's gallery */
    append(&mistakes, "test_index,true,predicted\n");
    for (int i = 0; i < n_final && !pretext; i++)
        if (predictions[i] != d.test.labels[d.test_idx[i]])
            append(&mistakes, "%u,%d,%d\n", d.test_idx[i], d.test.labels[d.test_idx[i]], predictions[i]);
    free(predictions);
    train_weights_hash(&m, res->weights_hash);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->peak_rss_mib = ru.ru_maxrss / 1024.0;

    char *summary = NULL;
    append(&summary, "experiment,variant,seed,model,kernel,epochs,train_images,validation_images,test_images,"
                     "test_accuracy,test_loss,weights_hash\n");
    append(&summary, "%s,%s,%d,%s,%s,%d,%d,%d,%d,%.6f,%.6f,%s\n", c->name, opt->variant[0] ? opt->variant : "-",
           c->seed, config_model_name(c->model.name), kernel->name, c->training.epochs, d.n_train, d.n_val,
           n_final, (double)res->test.correct / res->test.count, res->test.loss_sum / res->test.count,
           res->weights_hash);
    char *env_text = NULL;
    size_t env_len = 0;
    FILE *mem = checked(open_memstream(&env_text, &env_len), 1, "the environment's text");
    char threads[16];
    snprintf(threads, sizeof threads, "%d", c->threads);
    env_write(mem, threads);
    fprintf(mem, "peak_rss_mib: %.1f\n", res->peak_rss_mib);
    fclose(mem);
    int rc = write_confusion(opt->out_dir, c, classes, &res->test) || write_text_file(opt->out_dir, "summary.csv", summary) ||
             write_text_file(opt->out_dir, "config.yaml", config_yaml) ||
             write_text_file(opt->out_dir, "overrides.txt", opt->overrides ? opt->overrides : "") ||
             write_text_file(opt->out_dir, "environment.txt", env_text) ||
             write_text_file(opt->out_dir, "misclassified.csv", mistakes) ||
             (opt->init_note && write_text_file(opt->out_dir, "init.txt", opt->init_note));
    free(summary), free(config_yaml), free(env_text), free(mistakes);
    free(epochs_csv), free(timing_csv);
    model_free(&m);
    free_data(&d);
    return rc ? -1 : 0;

fail:
    free(epochs_csv), free(timing_csv), free(config_yaml);
    model_free(&m);
    free_data(&d);
    return -1;
}
