/* models/train/train_eval.c — the model in evaluation mode over a list of images. */
#include "models/train/train_internal.h"

#include <string.h>

#include "data/pretext.h"

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
        const float *logits = model_forward(m, &st);
        int correct;
        e->loss_sum += softmax_cross_entropy(logits, s->labels, n, m->desc.classes, NULL, &correct, s->predicted);
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
