/* models/train_math.h — loss, optimiser, learning-rate schedule and metrics.
 * Each is a pure function of its arguments (no hidden state), so a resumed run
 * recomputes exactly what an uninterrupted one would. */
#ifndef PROBADOR_MODELS_TRAIN_MATH_H
#define PROBADOR_MODELS_TRAIN_MATH_H

#include <stdint.h>

#include "models/model.h"

/* Softmax cross-entropy over logits[n][k] (computed stably in double).
   dlogits = (softmax − onehot)/n when non-NULL.  Returns the summed loss;
   *correct (if non-NULL) counts argmax == label (first maximum wins), and
   predicted[i] (if non-NULL) receives the argmax. */
double softmax_cross_entropy(const float *logits, const int *labels, int n, int k, float *dlogits,
                             int *correct, int *predicted);

typedef struct adam_params {
    float lr, beta1, beta2, eps, weight_decay;   /* weight decay decoupled (AdamW) */
} adam_params;

/* One Adam step (t counts from 1) on every parameter of m, with learning rate
   `lr` (the schedule's value for this step). */
void adam_step(model *m, const adam_params *p, float lr, uint64_t t);
/* The same update for parameters [lo, hi) only (the others, and their moments,
   untouched): fine-tuning freezes the trunk or gives it its own rate. */
void adam_step_range(model *m, const adam_params *p, float lr, uint64_t t, size_t lo, size_t hi);

typedef enum lr_schedule { LR_CONSTANT, LR_COSINE } lr_schedule;
/* Learning rate at step `step` (0-based) of `total` steps: linear warm-up from
   0 over `warmup` steps, then constant or cosine decay to 0 at `total`. */
float lr_at(lr_schedule s, float base, uint64_t step, uint64_t warmup, uint64_t total);

enum { METRIC_CLASSES = 10 };
typedef struct eval_metrics {
    int64_t confusion[METRIC_CLASSES][METRIC_CLASSES];   /* [true][predicted] */
    double loss_sum;
    int64_t count, correct;
    double precision[METRIC_CLASSES], recall[METRIC_CLASSES], f1[METRIC_CLASSES];
} eval_metrics;
/* Fill precision/recall/F1 from the confusion matrix (0 where undefined). */
void metrics_finish(eval_metrics *e);

#endif
