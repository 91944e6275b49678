/* models/train/train_eval.c — the model in evaluation mode over a list of images. */
#include "models/train/train_internal.h"

#include <string.h>

#include "data/pretext.h"

/* Test-time augmentation: view v of the batch in the model's input (v = 0: the
   image, 1: its mirror image, 2..5: the image one pixel up, down, left, right),
   each view's softmax summed, the mean taken as the prediction.  The summed
   loss of the batch. */
static double tta_loss(run_state *s, const model_step *st, int *correct)
{
    static const int shift[6][3] = { { 0, 0, 0 }, { 1, 0, 0 }, { 0, 0, -1 }, { 0, 0, 1 }, { 0, -1, 0 }, { 0, 1, 0 } };
    model *m = &s->m;
    const int n = st->batch, k = m->desc.classes, views = run_tta_views(s->c->evaluation.tta);
    float *x = model_input(m);
    memcpy(s->tta_images, x, (size_t)n * AUG_PIXELS * sizeof *x);
    memset(s->tta_probs, 0, (size_t)n * k * sizeof *s->tta_probs);
    for (int v = 0; v < views; v++) {
        for (int i = 0; v > 0 && i < n; i++) /* flip, dx, dy */
            aug_view(s->tta_images + (size_t)i * AUG_PIXELS, x + (size_t)i * AUG_PIXELS, shift[v][0], shift[v][1],
                     shift[v][2]);
        softmax_accumulate(model_forward(m, st), n, k, s->tta_probs);
    }
    return mean_probs_loss(s->tta_probs, views, s->labels, n, k, correct, s->predicted);
}

void run_evaluate(run_state *s, const batch_source *src, const uint32_t *idx, int count, eval_metrics *e,
                  uint8_t *predictions)
{
    model *m = &s->m;
    memset(e, 0, sizeof *e);
    for (int start = 0; start < count; start += m->max_batch) {
        const int n = (int)batch_fill(model_input(m), s->labels, src, idx, (size_t)count, (size_t)start,
                                      (size_t)m->max_batch, NULL, 0, 0);
        if (s->pretext)
            pretext_rotate(model_input(m), s->labels, idx + start, n, (uint64_t)s->pretext_seed,
                           PRETEXT_EVAL_EPOCH);
        const model_step st = { n, false, 0, 0 };
        int correct;
        if (s->c->evaluation.tta == RUN_TTA_NONE)
            e->loss_sum += softmax_cross_entropy(model_forward(m, &st), s->labels, n, m->desc.classes, 0.0, NULL,
                                                 &correct, s->predicted);
        else
            e->loss_sum += tta_loss(s, &st, &correct);
        e->correct += correct;
        e->count += n;
        for (int i = 0; i < n; i++) {
            e->confusion[s->labels[i]][s->predicted[i]]++;
            if (predictions)
                predictions[start + i] = (uint8_t)s->predicted[i];
        }
    }
    metrics_finish(e);
}

static void swap_floats(float *a, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float t = a[i];
        a[i] = b[i], b[i] = t;
    }
}

void run_swap_ema(run_state *s)
{
    model *m = &s->m;
    swap_floats(m->params, s->ema, m->num_params);
    swap_floats(m->state, s->ema + m->num_params, m->num_state);
}
