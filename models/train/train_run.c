/* models/train/train_run.c — train_run: set-up, the epochs, the final
 * evaluation and the result files (see train.h). */
#include "models/train/train_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/alloc.h"
#include "data/pretext.h"
#include "models/checkpoint.h"

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

/* The network of the run: built, initialised, its trunk loaded when
   fine-tuning.  0, or -1 after an error. */
static int build_model(run_state *s)
{
    const run_config *c = s->c;
    char err[1024];
    const model_type *type = model_type_at(c->model.type);
    model_desc desc = { "", c->model.blocks, c->model.width, (float)c->model.dropout, s->classes, { 1, 28, 28 } };
    snprintf(desc.name, sizeof desc.name, "%s", type->name);
    model_desc_canonical(&desc); /* the fields its type does not read are zero */
    if (model_build(&s->m, &desc, s->kernel, c->training.batch, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", c->name, err);
        return -1;
    }
    s->m.dist = s->opt->dist;
    if (s->writes)
        model_print_summary(&s->m, stderr);
    model_init_params(&s->m, (uint64_t)c->seed, (conv_init)c->model.conv_init);
    if (s->opt->init_path) {
        uint32_t crc;
        if (checkpoint_load_trunk(s->opt->init_path, &s->m, &crc, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
        if (s->writes)
            fprintf(stderr, "%s: trunk initialised from %s (CRC %08x); the head starts fresh\n", c->name,
                    s->opt->init_path, crc);
    }
    const int head = checkpoint_head_layer(&s->m);
    s->head_off = s->m.layers[head].param_off;
    s->frozen_below = c->init.probe ? head : 0;
    if (c->training.ema_decay > 0) { /* the average starts at the initial weights */
        const model *m = &s->m;
        s->ema = checked_malloc((m->num_params + m->num_state) * sizeof *s->ema);
        memcpy(s->ema, m->params, m->num_params * sizeof *s->ema);
        memcpy(s->ema + m->num_params, m->state, m->num_state * sizeof *s->ema);
    }
    return 0;
}

/* Everything before the first epoch; the data and the model first, so that a
   run that cannot have them leaves no folder.  0, or -1 after an error. */
static int set_up(run_state *s, train_result *res)
{
    const run_config *c = s->c;
    if (run_data_load(c, &s->d))
        return -1;
    s->pretext = c->task == RUN_TASK_ROTATION;
    s->classes = s->pretext ? PRETEXT_CLASSES : METRIC_CLASSES;
    s->pretext_seed = s->pretext ? c->seed : -1;
    s->kernel = conv_kernel_at(c->kernel);
    s->schedule = lr_schedule_at(c->training.schedule);
    s->opt_fn = optimizer_at(c->training.optimizer);
    if (build_model(s))
        return -1;
    if (!c->training.decay_norm_and_bias) {
        s->decay_mask = checked_malloc(s->m.num_params * sizeof *s->decay_mask);
        model_decay_mask(&s->m, s->decay_mask);
    }
    s->optim = (optim_params){ .lr = (float)c->training.learning_rate, .beta1 = (float)c->training.beta1,
                               .beta2 = (float)c->training.beta2, .eps = (float)c->training.epsilon,
                               .weight_decay = (float)c->training.weight_decay,
                               .momentum = (float)c->training.momentum, .nesterov = c->training.nesterov != 0,
                               .decay_mask = s->decay_mask };
    s->steps_per_epoch = (s->d.n_train + c->training.batch - 1) / c->training.batch;
    s->total_steps = (uint64_t)s->steps_per_epoch * c->training.epochs;
    s->warmup = (uint64_t)llround(c->training.warmup_epochs * s->steps_per_epoch);
    s->labels = checked_malloc((size_t)s->m.max_batch * sizeof *s->labels);
    s->predicted = checked_malloc((size_t)s->m.max_batch * sizeof *s->predicted);
    s->dlogits = checked_malloc((size_t)s->m.max_batch * s->classes * sizeof *s->dlogits);
    s->block_loss = checked_malloc((size_t)s->m.max_blocks * 2 * sizeof *s->block_loss);
    if (c->evaluation.tta != RUN_TTA_NONE) {
        s->tta_images = checked_malloc((size_t)s->m.max_batch * AUG_PIXELS * sizeof *s->tta_images);
        s->tta_probs = checked_malloc((size_t)s->m.max_batch * s->classes * sizeof *s->tta_probs);
    }
    run_append(&s->epochs_csv, "%s", run_epochs_header);
    run_append(&s->timing_csv, "%s", run_timing_header);
    const train_options *opt = s->opt;
    if (s->writes && mkdir(opt->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: error: cannot create the results folder: %s\n", opt->out_dir, strerror(errno));
        return -1;
    }
    snprintf(s->checkpoint, sizeof s->checkpoint, "%s/checkpoint.bin", opt->out_dir);
    const bool resuming = opt->resume && !(access(s->checkpoint, F_OK) != 0 && errno == ENOENT);
    if (opt->resume && !resuming && s->writes)
        fprintf(stderr, "%s: note: --resume: no checkpoint at %s, so the run starts from epoch 1\n", c->name,
                s->checkpoint);
    if (resuming)
        return run_resume(s, res);
    if (!s->writes)
        return 0;
    char init_txt[1200]; /* what --resume will compare with */
    snprintf(init_txt, sizeof init_txt, "%s/init.txt", opt->out_dir);
    remove(init_txt);
    return run_write_text(opt->out_dir, "config.yaml", opt->config_yaml) ||
                   (opt->init_note && run_write_text(opt->out_dir, "init.txt", opt->init_note))
               ? -1
               : 0;
}

/* The final model on the test set (never a best epoch); the rotation task
   never touches the test set: its final figures are on the held-out
   validation images.  Then every result file.  0, or -1 after an error. */
static int finish(run_state *s, train_result *res)
{
    const run_data *d = &s->d;
    const batch_source *src = s->pretext ? &d->train_src : &d->test_src;
    const uint32_t *idx = s->pretext ? d->val_idx : d->test_idx;
    const int n_final = s->pretext ? d->n_val : d->n_test;
    uint8_t *predictions = checked_malloc((size_t)n_final + 1);
    if (s->ema) /* from here on the model is the average: its test figures, its hash */
        run_swap_ema(s);
    run_evaluate(s, src, idx, n_final, &res->test, predictions);
    if (res->test.count && !run_loss_is_finite(s, res->test.loss_sum / res->test.count,
                                               "the final model on the %s images", s->pretext ? "validation" : "test")) {
        free(predictions);
        return -1;
    }
    train_weights_hash(&s->m, res->weights_hash);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->peak_rss_mib = ru.ru_maxrss / 1024.0;
    const int rc = s->writes ? run_write_results(s, res, predictions, n_final) : 0;
    free(predictions);
    return rc;
}

static void free_state(run_state *s)
{
    free(s->epochs_csv), free(s->timing_csv);
    free(s->labels), free(s->predicted), free(s->dlogits), free(s->block_loss);
    free(s->decay_mask), free(s->ema), free(s->tta_images), free(s->tta_probs);
    model_free(&s->m);
    run_data_free(&s->d);
}

int train_run(run_config c, const train_options *opt, train_result *res)
{
    memset(res, 0, sizeof *res);
    run_state s;
    memset(&s, 0, sizeof s);
    governor_start(&s.threads, c.threads);
    s.c = &c, s.opt = opt;
    s.writes = !opt->dist || opt->dist->rank == 0;
    int rc = set_up(&s, res);
    const int last = opt->stop_after_epochs > 0 && opt->stop_after_epochs < c.training.epochs
                         ? opt->stop_after_epochs
                         : c.training.epochs;
    for (int epoch = s.first_epoch; !rc && epoch < last; epoch++)
        rc = run_epoch(&s, epoch, res);
    res->images_per_second = res->train_seconds > 0 ? res->train_images / res->train_seconds : 0;
    if (!rc && last == c.training.epochs)
        rc = finish(&s, res);
    free_state(&s);
    return rc ? -1 : 0;
}
