/* models/train/train_epoch.c — one epoch: shuffled batches, augmented, forward,
 * loss, backward, an optimiser step each; then the validation, and the
 * checkpoint with the CSVs so far.
 *
 * Determinism: every random choice is keyed by (seed, purpose, epoch, index)
 * (data/rng.h) and every kernel and layer is thread-count independent; the
 * files compared by the determinism test hold no wall-clock figures (those go
 * to timing.csv and the summary's timing columns only). */
#include "models/train/train_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "data/pretext.h"
#include "models/checkpoint.h"
#include "models/train/machine_load.h"
#include "models/train/timing.h"

bool run_loss_is_finite(const run_state *s, double loss, const char *where, ...)
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
            s->c->name, at, loss);
    return false;
}

static void progress(const run_state *s, int epoch, int step, int steps, double loss, double acc, double ips,
                     double eta, bool final)
{
    const run_config *c = s->c;
    const bool tty = isatty(STDERR_FILENO);
    if (!s->writes || (!tty && !final))
        return;
    fprintf(stderr, "%s%s epoch %d/%d step %d/%d loss %.4f acc %.4f %.0f img/s ETA %.0fs%s", tty ? "\r" : "",
            c->name, epoch + 1, c->training.epochs, step, steps, loss, acc, ips, eta, tty ? "\033[K" : "");
    if (final || !tty)
        fputc('\n', stderr);
}

/* The optimiser step after one batch: the head alone while the trunk is
   frozen (a linear probe: always), the trunk at its own rate when scaled. */
static void optimise(run_state *s, int epoch, float lr)
{
    const run_config *c = s->c;
    const optim_params *p = &s->optim;
    model *m = &s->m;
    const uint64_t t = s->step + 1;
    if (epoch < c->init.freeze_epochs || c->init.probe) {
        s->opt_fn->step_range(m, p, lr, t, s->head_off, m->num_params);
    } else if (c->init.trunk_lr_scale != 1.0) {
        s->opt_fn->step_range(m, p, lr * (float)c->init.trunk_lr_scale, t, 0, s->head_off);
        s->opt_fn->step_range(m, p, lr, t, s->head_off, m->num_params);
    } else {
        s->opt_fn->step_range(m, p, lr, t, 0, m->num_params);
    }
}

/* The running totals of one epoch. */
typedef struct epoch_totals {
    double loss_sum;
    int64_t correct, seen;
    float lr; /* the last step's */
} epoch_totals;

/* The loss and the right answers of this process's blocks of a batch of `total`
   images, their dlogits scaled for the whole batch; every block's two figures
   gathered and added in block order, so that they do not depend on the processes. */
static double batch_loss(run_state *s, const float *logits, const model_step *st, int *correct)
{
    const int k = s->classes, blocks = dist_blocks(st->total), b0 = step_first_block(st);
    double *per = s->block_loss; /* [block][2]: summed loss, right answers */
    for (int j = 0; j < dist_blocks(st->batch); j++) {
        const size_t o = (size_t)j * REDUCE_BLOCK;
        int right;
        per[(b0 + j) * 2] = softmax_cross_entropy_of(logits + o * k, s->labels + o, block_images(st->batch, j), k,
                                                     s->c->training.label_smoothing, st->total, s->dlogits + o * k,
                                                     &right, NULL);
        per[(b0 + j) * 2 + 1] = right;
    }
    dist_gather(s->m.dist, per, blocks, 2);
    double loss = 0, right = 0;
    for (int b = 0; b < blocks; b++)
        loss += per[b * 2], right += per[b * 2 + 1];
    *correct = (int)right;
    return loss;
}

/* One batch: step s of the epoch; this process's share of its images
   (models/dist.h).  0, or -1 when the loss is not finite. */
static int train_batch(run_state *s, int epoch, int b, epoch_totals *t)
{
    const run_config *c = s->c;
    const run_data *d = &s->d;
    const size_t start = (size_t)b * c->training.batch;
    const int total = (int)((size_t)d->n_train - start < (size_t)c->training.batch ? (size_t)d->n_train - start
                                                                                    : (size_t)c->training.batch);
    int first, n;
    dist_images(s->m.dist, total, &first, &n);
    batch_fill(model_input(&s->m), s->labels, &d->train_src, d->order, (size_t)d->n_train, start + (size_t)first,
               (size_t)n, &c->augmentation, (uint64_t)c->seed, (uint64_t)epoch);
    if (s->pretext)
        pretext_rotate(model_input(&s->m), s->labels, d->order + start + first, n, (uint64_t)c->seed, (uint64_t)epoch);
    const model_step st = { n, true, (uint64_t)c->seed, s->step, s->frozen_below, .first = first, .total = total };
    int correct;
    const double loss = batch_loss(s, model_forward(&s->m, &st), &st, &correct);
    if (!run_loss_is_finite(s, loss, "epoch %d, step %d of %d", epoch + 1, b + 1, s->steps_per_epoch))
        return -1;
    t->loss_sum += loss;
    t->correct += correct;
    t->seen += total;
    model_backward(&s->m, &st, s->dlogits);
    t->lr = lr_at(s->schedule, (float)c->training.learning_rate, s->step, s->warmup, s->total_steps);
    optimise(s, epoch, t->lr);
    s->step++;
    if (s->ema) {
        const float decay = ema_decay_at(c->training.ema_decay, s->step);
        ema_update(s->ema, s->m.params, s->m.num_params, decay);
        ema_update(s->ema + s->m.num_params, s->m.state, s->m.num_state, decay);
    }
    return 0;
}

/* After the epoch: the validation, the CSV rows, the checkpoint.  other_cores:
   the rest of the machine's load while the epoch trained (machine_load.h).
   0 or -1. */
static int finish_epoch(run_state *s, int epoch, const epoch_totals *t, double seconds, double other_cores,
                        train_result *res)
{
    const run_config *c = s->c;
    eval_metrics val;
    if (s->ema)
        run_swap_ema(s);
    run_evaluate(s, &s->d.train_src, s->d.val_idx, s->d.n_val, &val, NULL);
    if (s->ema)
        run_swap_ema(s);
    const double val_loss = val.count ? val.loss_sum / val.count : NAN;
    const double val_acc = val.count ? (double)val.correct / val.count : NAN;
    if (val.count && !run_loss_is_finite(s, val_loss, "epoch %d, on the validation images", epoch + 1))
        return -1;
    const double loss = t->loss_sum / t->seen, acc = (double)t->correct / t->seen;
    run_append(&s->epochs_csv, "%d,%.6f,%.6f,%.6f,%.6f,%.8g\n", epoch + 1, loss, acc, val_loss, val_acc, t->lr);
    run_append(&s->timing_csv, "%d,%.3f,%.1f,%.2f\n", epoch + 1, seconds, t->seen / seconds, other_cores);
    res->train_seconds += seconds;
    res->train_images += t->seen;
    progress(s, epoch, s->steps_per_epoch, s->steps_per_epoch, loss, acc, t->seen / seconds, 0, true);
    if (!s->writes)
        return 0;
    fprintf(stderr, "%s: epoch %d: val loss %.4f acc %.4f, %.1f s\n", c->name, epoch + 1, val_loss, val_acc, seconds);

    /* checkpoint and the CSVs so far, each atomically */
    char err[1024];
    checkpoint_info info = { (uint32_t)(epoch + 1), s->step, (uint64_t)c->seed, s->epochs_csv, s->ema };
    if (checkpoint_save(s->checkpoint, &s->m, &info, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return run_write_text(s->opt->out_dir, "epochs.csv", s->epochs_csv) ||
                   run_write_text(s->opt->out_dir, "timing.csv", s->timing_csv)
               ? -1
               : 0;
}

int run_epoch(run_state *s, int epoch, train_result *res)
{
    const run_config *c = s->c;
    const double t0 = timing_seconds(CLOCK_MONOTONIC);
    const load_mark load = load_now();
    batch_shuffle(s->d.order, s->d.train_idx, (size_t)s->d.n_train, (uint64_t)c->seed, (uint64_t)epoch);
    epoch_totals t = { 0, 0, 0, 0 };
    for (int b = 0; b < s->steps_per_epoch; b++) {
        if (train_batch(s, epoch, b, &t))
            return -1;
        if (governor_tick(&s->threads) && s->writes) {
            const thread_governor *g = &s->threads;
            fprintf(stderr, g->now < g->asked ? "%s%s: %d of %d threads while other work holds the cores (results "
                                                "do not change)\n"
                                              : "%s%s: %d of %d threads again: the cores are free\n",
                    isatty(STDERR_FILENO) ? "\n" : "", c->name, g->now, g->asked);
        }
        if ((b & 15) == 15 || b == s->steps_per_epoch - 1) {
            const double el = timing_seconds(CLOCK_MONOTONIC) - t0, ips = t.seen / el;
            const double eta = ((double)(c->training.epochs - epoch) * s->d.n_train - t.seen) / ips;
            progress(s, epoch, b + 1, s->steps_per_epoch, t.loss_sum / t.seen, (double)t.correct / t.seen, ips, eta,
                     false);
        }
    }
    const double seconds = timing_seconds(CLOCK_MONOTONIC) - t0;
    return finish_epoch(s, epoch, &t, seconds, load_other_since(&load), res);
}
