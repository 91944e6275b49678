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

/* The optimisers, one table (the configuration will choose by name):
   step_range updates parameters [lo, hi) of m, their moments with them, at
   step t (counting from 1) with learning rate lr.  Adding one is its step
   function plus a row in train_math.c. */
typedef struct optimizer {
    const char *name; /* "adam" */
    void (*step_range)(model *m, const adam_params *p, float lr, uint64_t t, size_t lo, size_t hi);
} optimizer;
int optimizer_count(void);
const optimizer *optimizer_at(int i); /* NULL out of range */

/* The learning-rate schedules after the warm-up, one table (the configuration's
   training.schedule is an index into it, in this order: constant, cosine).
   decay(base, progress) is the rate at progress in [0, 1] of the steps after
   the warm-up, computed in double.  Adding one is its function plus a row. */
typedef struct lr_schedule {
    const char *name;
    double (*decay)(float base, double progress);
} lr_schedule;
int lr_schedule_count(void);
const lr_schedule *lr_schedule_at(int i); /* NULL out of range */
const char *lr_schedule_name(int i);      /* lr_schedule_at(i)->name, or NULL */

/* Learning rate at step `step` (0-based) of `total` steps: linear warm-up from
   0 over `warmup` steps, then the schedule's decay over the rest. */
float lr_at(const lr_schedule *s, float base, uint64_t step, uint64_t warmup, uint64_t total);

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
