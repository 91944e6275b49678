/* models/train_math.h — loss, optimiser, learning-rate schedule and metrics.
 * Each is a pure function of its arguments (no hidden state), so a resumed run
 * recomputes exactly what an uninterrupted one would. */
#ifndef PROBADOR_MODELS_TRAIN_MATH_H
#define PROBADOR_MODELS_TRAIN_MATH_H

#include <stdint.h>

#include "models/model.h"

/* Softmax cross-entropy over logits[n][k] (computed stably in double), against
   targets smoothed by `smoothing` (ε in [0, 1)): q = (1 − ε)·onehot + ε/k, the
   loss of an image −Σ_j q_j·log p_j = (1 − ε)·(lse − z_label) + ε·(lse − mean z),
   lse = log Σ exp z.  dlogits = (softmax − q)/n when non-NULL.  With ε = 0 this
   is the plain cross-entropy, bit for bit.  Returns the summed loss; *correct
   (if non-NULL) counts argmax == label (first maximum wins), and predicted[i]
   (if non-NULL) receives the argmax. */
double softmax_cross_entropy(const float *logits, const int *labels, int n, int k, double smoothing,
                             float *dlogits, int *correct, int *predicted);
/* The same for n images of a batch of `batch` (a block of it): dlogits = (softmax − q)/batch. */
double softmax_cross_entropy_of(const float *logits, const int *labels, int n, int k, double smoothing, int batch,
                                float *dlogits, int *correct, int *predicted);

/* Adds the softmax of logits[n][k] (in double) to probs[n][k]: test-time
   augmentation sums the views' probabilities with it. */
void softmax_accumulate(const float *logits, int n, int k, double *probs);

/* The mean of `views` summed softmaxes probs[n][k] as the prediction: returns
   the summed loss −log(mean probability of the label); correct and predicted as
   softmax_cross_entropy's. */
double mean_probs_loss(const double *probs, int views, const int *labels, int n, int k, int *correct,
                       int *predicted);

/* An optimiser step's settings.  weight_decay: decoupled (AdamW's w ← w − lr·wd·w)
   for Adam, L2 (wd·w added to the gradient) for SGD; decay_mask, when not NULL,
   has one entry per parameter of the model, 1 where weight decay applies and 0
   where it does not (batch norm's scale and shift, the dense layers' biases:
   model_decay_mask); NULL: everywhere. */
typedef struct optim_params {
    float lr, beta1, beta2, eps, weight_decay; /* Adam's; weight_decay both's */
    float momentum;                            /* SGD */
    bool nesterov;                             /* SGD: Nesterov's momentum */
    const float *decay_mask;
} optim_params;

/* One Adam step (t counts from 1) on every parameter of m, with learning rate
   `lr` (the schedule's value for this step). */
void adam_step(model *m, const optim_params *p, float lr, uint64_t t);
/* The same update for parameters [lo, hi) only (the others, and their moments,
   untouched): fine-tuning freezes the trunk or gives it its own rate. */
void adam_step_range(model *m, const optim_params *p, float lr, uint64_t t, size_t lo, size_t hi);
/* SGD with momentum μ, PyTorch's convention: g = ∇ + wd·w, b ← μ·b + g (b in
   the model's adam_m; it starts at 0), then w ← w − lr·(g + μ·b) with
   Nesterov's momentum, w ← w − lr·b without.  Parameters [lo, hi) only. */
void sgd_step_range(model *m, const optim_params *p, float lr, uint64_t t, size_t lo, size_t hi);

/* The optimisers, one table (the configuration's training.optimizer is an index
   into it, in this order: adam, sgd): step_range updates parameters [lo, hi) of
   m, their moments with them, at step t (counting from 1) with learning rate lr.
   Adding one is its step function plus a row in train_math.c. */
typedef struct optimizer {
    const char *name;
    void (*step_range)(model *m, const optim_params *p, float lr, uint64_t t, size_t lo, size_t hi);
} optimizer;
int optimizer_count(void);
const optimizer *optimizer_at(int i); /* NULL out of range */
const char *optimizer_name(int i);    /* optimizer_at(i)->name, or NULL */

/* The moving average of the weights: its decay after step t (t ≥ 1),
   min(decay, (1 + t)/(10 + t)), so that the first steps do not leave the
   average near the initial weights; and the update avg ← d·avg + (1 − d)·x,
   element by element (so any thread count gives the same bits). */
float ema_decay_at(double decay, uint64_t t);
void ema_update(float *avg, const float *x, size_t n, float d);

/* The learning-rate schedules after the warm-up, one table (the configuration's
   training.schedule is an index into it, in this order: constant, cosine,
   linear, step).  decay(base, progress) is the rate at progress in [0, 1] of
   the steps after the warm-up, computed in double: cosine falls as
   (1 + cos π·progress)/2, linear as 1 − progress, both to 0; step divides by 10
   at half and at three quarters of the way (ResNet's 150 and 225 of 300 epochs).
   A warm-up followed by linear or cosine is the one-cycle schedule (linear up,
   then down).  Adding one is its function plus a row. */
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
