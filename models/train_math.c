/* models/train_math.c — loss, Adam, schedule, metrics (see the header). */
#include "models/train_math.h"

#include <math.h>
#include <omp.h>

double softmax_cross_entropy(const float *logits, const int *labels, int n, int k, double smoothing,
                             float *dlogits, int *correct, int *predicted)
{
    return softmax_cross_entropy_of(logits, labels, n, k, smoothing, n, dlogits, correct, predicted);
}

double softmax_cross_entropy_of(const float *logits, const int *labels, int n, int k, double smoothing, int batch,
                                float *dlogits, int *correct, int *predicted)
{
    double total = 0;
    int right = 0;
    const double on = 1.0 - smoothing, off = smoothing / k; /* target: on·onehot + off */
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int arg = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > z[arg])
                arg = j;
        double sum = 0, zsum = 0;
        for (int j = 0; j < k; j++) {
            sum += exp((double)z[j] - z[arg]);
            zsum += z[j];
        }
        const double log_sum = log(sum) + z[arg];
        /* ε = 0: 1·(lse − z_label) + 0 exactly, the plain loss's bits */
        total += on * (log_sum - z[labels[i]]) + smoothing * (log_sum - zsum / k);
        right += arg == labels[i];
        if (predicted)
            predicted[i] = arg;
        if (dlogits)
            for (int j = 0; j < k; j++)
                dlogits[(size_t)i * k + j] =
                    (float)((exp((double)z[j] - log_sum) - (on * (j == labels[i]) + off)) / batch);
    }
    if (correct)
        *correct = right;
    return total;
}

void softmax_accumulate(const float *logits, int n, int k, double *probs)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        float top = z[0];
        for (int j = 1; j < k; j++)
            top = z[j] > top ? z[j] : top;
        double sum = 0;
        for (int j = 0; j < k; j++)
            sum += exp((double)z[j] - top);
        for (int j = 0; j < k; j++)
            probs[(size_t)i * k + j] += exp((double)z[j] - top) / sum;
    }
}

double mean_probs_loss(const double *probs, int views, const int *labels, int n, int k, int *correct,
                       int *predicted)
{
    double total = 0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        const double *p = probs + (size_t)i * k;
        int arg = 0;
        for (int j = 1; j < k; j++)
            if (p[j] > p[arg])
                arg = j;
        total -= log(p[labels[i]] / views);
        right += arg == labels[i];
        if (predicted)
            predicted[i] = arg;
    }
    if (correct)
        *correct = right;
    return total;
}

void adam_step(model *m, const optim_params *p, float lr, uint64_t t)
{
    adam_step_range(m, p, lr, t, 0, m->num_params);
}

/* 1 − lr·wd where the mask (if any) has decay, 1 elsewhere */
static inline float decay_factor(const optim_params *p, float decay, long i)
{
    return p->decay_mask && p->decay_mask[i] == 0.0f ? 1.0f : decay;
}

void adam_step_range(model *m, const optim_params *p, float lr, uint64_t t, size_t lo, size_t hi)
{
    const float b1 = p->beta1, b2 = p->beta2, eps = p->eps;
    const float c1 = (float)(1.0 / (1.0 - pow(b1, (double)t))), c2 = (float)(1.0 / (1.0 - pow(b2, (double)t)));
    const float decay = 1.0f - lr * p->weight_decay;
    float *w = m->params, *g = m->grads, *mm = m->adam_m, *vv = m->adam_v;
#pragma omp parallel for schedule(static)
    for (long i = (long)lo; i < (long)hi; i++) {
        mm[i] = b1 * mm[i] + (1.0f - b1) * g[i];
        vv[i] = b2 * vv[i] + (1.0f - b2) * g[i] * g[i];
        const float mhat = mm[i] * c1, vhat = vv[i] * c2;
        w[i] = w[i] * decay_factor(p, decay, i) - lr * mhat / (sqrtf(vhat) + eps);
    }
}

void sgd_step_range(model *m, const optim_params *p, float lr, uint64_t t, size_t lo, size_t hi)
{
    const float mu = p->momentum;
    float *w = m->params, *g = m->grads, *b = m->adam_m;
#pragma omp parallel for schedule(static)
    for (long i = (long)lo; i < (long)hi; i++) {
        const float wd = p->decay_mask ? p->weight_decay * p->decay_mask[i] : p->weight_decay;
        const float grad = g[i] + wd * w[i];
        b[i] = mu * b[i] + grad;
        w[i] -= lr * (p->nesterov ? grad + mu * b[i] : b[i]);
    }
}

static const optimizer optimizers[] = {
    { "adam", adam_step_range },
    { "sgd", sgd_step_range },
};

int optimizer_count(void)
{
    return (int)(sizeof optimizers / sizeof optimizers[0]);
}

const optimizer *optimizer_at(int i)
{
    return i >= 0 && i < optimizer_count() ? &optimizers[i] : NULL;
}

const char *optimizer_name(int i)
{
    const optimizer *o = optimizer_at(i);
    return o ? o->name : NULL;
}

float ema_decay_at(double decay, uint64_t t)
{
    const double warm = (1.0 + (double)t) / (10.0 + (double)t);
    return (float)(warm < decay ? warm : decay);
}

void ema_update(float *avg, const float *x, size_t n, float d)
{
    const float keep = d, take = 1.0f - d;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)n; i++)
        avg[i] = keep * avg[i] + take * x[i];
}

static double decay_constant(float base, double progress)
{
    return base;
}

static double decay_cosine(float base, double progress)
{
    return 0.5 * base * (1.0 + cos(M_PI * progress));
}

static double decay_linear(float base, double progress)
{
    return base * (1.0 - progress);
}

static double decay_step(float base, double progress)
{
    return progress < 0.5 ? base : progress < 0.75 ? base * 0.1 : base * 0.01;
}

static const lr_schedule schedules[] = {
    { "constant", decay_constant },
    { "cosine", decay_cosine },
    { "linear", decay_linear },
    { "step", decay_step },
};

int lr_schedule_count(void)
{
    return (int)(sizeof schedules / sizeof schedules[0]);
}

const lr_schedule *lr_schedule_at(int i)
{
    return i >= 0 && i < lr_schedule_count() ? &schedules[i] : NULL;
}

const char *lr_schedule_name(int i)
{
    const lr_schedule *s = lr_schedule_at(i);
    return s ? s->name : NULL;
}

float lr_at(const lr_schedule *s, float base, uint64_t step, uint64_t warmup, uint64_t total)
{
    if (step < warmup)
        return base * (float)(step + 1) / (float)warmup;
    if (total <= warmup)
        return base;
    const double progress = (double)(step - warmup) / (double)(total - warmup);
    return (float)s->decay(base, progress);
}

void metrics_finish(eval_metrics *e)
{
    for (int c = 0; c < METRIC_CLASSES; c++) {
        int64_t tp = e->confusion[c][c], predicted = 0, actual = 0;
        for (int j = 0; j < METRIC_CLASSES; j++) {
            predicted += e->confusion[j][c];
            actual += e->confusion[c][j];
        }
        e->precision[c] = predicted ? (double)tp / predicted : 0;
        e->recall[c] = actual ? (double)tp / actual : 0;
        const double pr = e->precision[c] + e->recall[c];
        e->f1[c] = pr > 0 ? 2 * e->precision[c] * e->recall[c] / pr : 0;
    }
}
