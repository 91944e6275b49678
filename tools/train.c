/* tools/train.c — the training loop of one run (see the header).
 *
 * Determinism: every random choice is keyed by (seed, purpose, epoch, index)
 * (data/rng.h), every kernel and layer is thread-count independent, and the
 * files compared by the determinism test hold no wall-clock figures — those go
 * to timing.csv and summary.csv's timing columns of results/summary.csv only.
 */
#include "tools/train.h"

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
#include "models/checkpoint.h"
#include "tools/atomic_file.h"
#include "tools/env.h"
#include "tools/timing.h"

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
    d->split = malloc((size_t)total * sizeof *d->split);
    d->order = malloc((size_t)total * sizeof *d->order);
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
        d->subset = malloc((size_t)10 * c->data.per_class * sizeof *d->subset);
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
    d->test_idx = malloc((size_t)d->n_test * sizeof *d->test_idx);
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
    *s = realloc(*s, old + strlen(line) + 1);
    strcpy(*s + old, line);
}

static const char epochs_header[] = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate\n";
static const char timing_header[] = "epoch,seconds,images_per_second\n";

/* timing.csv's rows for epochs 1..epochs from an earlier, interrupted run (wall
   clock, so kept out of the checkpoint, whose bytes must be deterministic). */
static char *previous_timing(const char *dir, uint32_t epochs)
{
    char path[1200], line[256];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    char *out = NULL;
    append(&out, "%s", timing_header);
    FILE *f = fopen(path, "r");
    if (!f)
        return out;
    while (fgets(line, sizeof line, f)) {
        const long epoch = strtol(line, NULL, 10);
        if (epoch >= 1 && epoch <= (long)epochs)
            append(&out, "%s", line);
    }
    fclose(f);
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

int train_run(const exp_config *c, const train_options *opt, train_result *res)
{
    memset(res, 0, sizeof *res);
    char err[1024], path[1200];
    if (mkdir(opt->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: error: cannot create the results folder: %s\n", opt->out_dir, strerror(errno));
        return -1;
    }
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

    const aug_params aug = { (float)c->augmentation.rotation, (float)c->augmentation.shift,
                             (float)c->augmentation.scale[0], (float)c->augmentation.scale[1],
                             (float)c->augmentation.flip,
                             c->augmentation.sampling == CONFIG_SAMPLING_NEAREST };
    const adam_params adam = { (float)c->training.learning_rate, (float)c->training.beta1,
                               (float)c->training.beta2, (float)c->training.epsilon,
                               (float)c->training.weight_decay };
    const int steps_per_epoch = (d.n_train + c->training.batch - 1) / c->training.batch;
    const uint64_t total_steps = (uint64_t)steps_per_epoch * c->training.epochs;
    const uint64_t warmup = (uint64_t)llround(c->training.warmup_epochs * steps_per_epoch);
    const lr_schedule sched = c->training.schedule == CONFIG_SCHEDULE_COSINE ? LR_COSINE : LR_CONSTANT;

    char *epochs_csv = NULL, *timing_csv = NULL;
    append(&epochs_csv, "%s", epochs_header);
    append(&timing_csv, "%s", timing_header);
    int first_epoch = 0;
    uint64_t step = 0;
    snprintf(path, sizeof path, "%s/checkpoint.bin", opt->out_dir);
    if (opt->resume && access(path, F_OK) == 0) {
        checkpoint_info info;
        if (checkpoint_load(path, &m, CKPT_ALL, &info, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            goto fail;
        }
        if (info.seed != (uint64_t)c->seed || info.steps != (uint64_t)info.epochs * steps_per_epoch) {
            fprintf(stderr, "%s: error: checkpoint is from another configuration (seed %llu, %llu steps after "
                            "%u epochs); delete it or rerun without --resume\n",
                    path, (unsigned long long)info.seed, (unsigned long long)info.steps, info.epochs);
            free(info.history);
            goto fail;
        }
        free(epochs_csv), free(timing_csv);
        epochs_csv = info.history;
        timing_csv = previous_timing(opt->out_dir, info.epochs);
        first_epoch = (int)info.epochs;
        step = info.steps;
        fprintf(stderr, "%s: resuming after epoch %d\n", c->name, first_epoch);
    }

    static int labels[4096];
    float *dlogits = malloc((size_t)c->training.batch * classes * sizeof(float));
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
            loss_sum += softmax_cross_entropy(logits, labels, n, classes, dlogits, &correct, NULL);
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
        free(epochs_csv), free(timing_csv);
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
    uint8_t *predictions = malloc((size_t)n_final);
    evaluate(&m, final_src, final_idx, n_final, pretext_seed, &res->test, predictions);
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
    char *config_text = NULL;
    size_t config_len = 0;
    FILE *mem = open_memstream(&config_text, &config_len);
    config_write(c, mem);
    fclose(mem);
    char *env_text = NULL;
    size_t env_len = 0;
    mem = open_memstream(&env_text, &env_len);
    char threads[16];
    snprintf(threads, sizeof threads, "%d", c->threads);
    env_write(mem, threads);
    fprintf(mem, "peak_rss_mib: %.1f\n", res->peak_rss_mib);
    fclose(mem);
    int rc = write_confusion(opt->out_dir, c, classes, &res->test) || write_text_file(opt->out_dir, "summary.csv", summary) ||
             write_text_file(opt->out_dir, "config.yaml", config_text) ||
             write_text_file(opt->out_dir, "overrides.txt", opt->overrides ? opt->overrides : "") ||
             write_text_file(opt->out_dir, "environment.txt", env_text) ||
             write_text_file(opt->out_dir, "misclassified.csv", mistakes) ||
             (opt->init_note && write_text_file(opt->out_dir, "init.txt", opt->init_note));
    free(summary), free(config_text), free(env_text), free(mistakes);
    free(epochs_csv), free(timing_csv);
    model_free(&m);
    free_data(&d);
    return rc ? -1 : 0;

fail:
    free(epochs_csv), free(timing_csv);
    model_free(&m);
    free_data(&d);
    return -1;
}
