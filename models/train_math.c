/* models/train_math.c — loss, Adam, schedule, metrics (see the header). */
#include "models/train_math.h"

#include <math.h>
#include <omp.h>

double softmax_cross_entropy(const float *logits, const int *labels, int n, int k, float *dlogits,
                             int *correct, int *predicted)
{
    double total = 0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int arg = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > z[arg])
                arg = j;
        double sum = 0;
        for (int j = 0; j < k; j++)
            sum += exp((double)z[j] - z[arg]);
        const double log_sum = log(sum) + z[arg];
        total += log_sum - z[labels[i]];
        right += arg == labels[i];
        if (predicted)
            predicted[i] = arg;
        if (dlogits)
            for (int j = 0; j < k; j++)
                dlogits[(size_t)i * k + j] = (float)((exp((double)z[j] - log_sum) - (j == labels[i])) / n);
    }
    if (correct)
        *correct = right;
    return total;
}

void adam_step(model *m, const adam_params *p, float lr, uint64_t t)
{
    adam_step_range(m, p, lr, t, 0, m->num_params);
}

void adam_step_range(model *m, const adam_params *p, float lr, uint64_t t, size_t lo, size_t hi)
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
        w[i] = w[i] * decay - lr * mhat / (sqrtf(vhat) + eps);
    }
}

static const optimizer optimizers[] = {
    { "adam", adam_step_range },
};

int optimizer_count(void)
{
    return (int)(sizeof optimizers / sizeof optimizers[0]);
}

const optimizer *optimizer_at(int i)
{
    return i >= 0 && i < optimizer_count() ? &optimizers[i] : NULL;
}

static double decay_constant(float base, double progress)
{
    return base;
}

static double decay_cosine(float base, double progress)
{
    return 0.5 * base * (1.0 + cos(M_PI * progress));
}

static const lr_schedule schedules[] = {
    { "constant", decay_constant },
    { "cosine", decay_cosine },
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
