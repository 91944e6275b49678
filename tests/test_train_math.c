/* tests/test_train_math.c — the training methods of models/train_math.c against
 * cases worked by hand: label smoothing (its loss, and its gradient against
 * finite differences), the test-time augmentation mean, SGD with and without
 * Nesterov's momentum and L2 decay, the weight-decay mask for Adam and SGD, the
 * learning-rate schedules and the moving average of the weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/train_math.h"
#include "tests/testing.h"

#define NEAR(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* logits (ln 2, 0, 0): softmax (1/2, 1/4, 1/4).  Label 0, ε = 0.3: the target
   is (0.8, 0.1, 0.1), the loss −(0.8·ln ½ + 0.2·ln ¼) = 1.2·ln 2, the gradient
   p − q = (−0.3, 0.15, 0.15). */
static void test_label_smoothing_by_hand(void **state)
{
    const float z[3] = { (float)M_LN2, 0.0f, 0.0f };
    const int label = 0;
    float d[3];
    int correct, predicted;
    const double loss = softmax_cross_entropy(z, &label, 1, 3, 0.3, d, &correct, &predicted);
    NEAR(loss, 1.2 * M_LN2, 1e-7);
    NEAR(d[0], -0.3, 1e-7), NEAR(d[1], 0.15, 1e-7), NEAR(d[2], 0.15, 1e-7);
    assert_int_equal(correct, 1);
    assert_int_equal(predicted, 0);
    /* ε = 0: the plain cross-entropy, −ln ½, gradient (−½, ¼, ¼) */
    NEAR(softmax_cross_entropy(z, &label, 1, 3, 0.0, d, NULL, NULL), M_LN2, 1e-7);
    NEAR(d[0], -0.5, 1e-7), NEAR(d[1], 0.25, 1e-7), NEAR(d[2], 0.25, 1e-7);
}

/* dlogits is the derivative of the mean loss: checked against central
   differences of the loss on random logits, for several ε. */
static void test_label_smoothing_gradient(void **state)
{
    enum { N = 4, K = 10 };
    float z[N * K], d[N * K];
    const int labels[N] = { 3, 0, 9, 5 };
    test_fill_uniform(z, N * K, 17);
    for (int i = 0; i < N * K; i++)
        z[i] *= 3.0f;
    const double eps[] = { 0.0, 0.1, 0.5 };
    for (size_t e = 0; e < sizeof eps / sizeof eps[0]; e++) {
        softmax_cross_entropy(z, labels, N, K, eps[e], d, NULL, NULL);
        for (int i = 0; i < N * K; i++) {
            const float h = 1.0f / 256, keep = z[i]; /* exact steps in float */
            z[i] = keep + h;
            const double up = softmax_cross_entropy(z, labels, N, K, eps[e], NULL, NULL, NULL);
            z[i] = keep - h;
            const double down = softmax_cross_entropy(z, labels, N, K, eps[e], NULL, NULL, NULL);
            z[i] = keep;
            const double fd = (up - down) / (2.0 * h) / N;
            if (fabs(fd - d[i]) > 1e-5)
                fail_msg("ε %g, logit %d: dlogits %.8f, finite difference %.8f", eps[e], i, d[i], fd);
        }
    }
}

/* Two views: softmaxes (½, ¼, ¼) and (¼, ¼, ½); their mean (⅜, ¼, ⅜) predicts
   class 0 (the first maximum), and label 1's loss is −ln ¼. */
static void test_tta_mean_of_softmaxes(void **state)
{
    const float a[3] = { (float)M_LN2, 0.0f, 0.0f }, b[3] = { 0.0f, 0.0f, (float)M_LN2 };
    double probs[3] = { 0, 0, 0 };
    softmax_accumulate(a, 1, 3, probs);
    softmax_accumulate(b, 1, 3, probs);
    NEAR(probs[0], 0.75, 1e-7), NEAR(probs[1], 0.5, 1e-7), NEAR(probs[2], 0.75, 1e-7);
    const int label = 1;
    int correct, predicted;
    NEAR(mean_probs_loss(probs, 2, &label, 1, 3, &correct, &predicted), log(4.0), 1e-7);
    assert_int_equal(correct, 0);
    assert_int_equal(predicted, 0);
}

/* A model of three parameters, enough for the optimisers (they read params,
   grads and the moment buffers only). */
typedef struct tiny {
    model m;
    float w[3], g[3], b[3], v[3];
} tiny;

static void tiny_init(tiny *t, float w, float g)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < 3; i++)
        t->w[i] = w, t->g[i] = g;
    t->m.params = t->w, t->m.grads = t->g, t->m.adam_m = t->b, t->m.adam_v = t->v;
    t->m.num_params = 3;
}

/* w = 1, ∇ = 0.5, wd = 0.1, μ = 0.9, lr = 0.1.
   Step 1: g = 0.6, b = 0.6; plain w = 1 − 0.06 = 0.94; Nesterov
   w = 1 − 0.1·(0.6 + 0.54) = 0.886.  Step 2 (plain): g = 0.5 + 0.094 = 0.594,
   b = 0.54 + 0.594 = 1.134, w = 0.94 − 0.1134 = 0.8266.  Parameter 2, masked
   out of the decay: g = 0.5 = b, w = 0.95. */
static void test_sgd_by_hand(void **state)
{
    const float mask[3] = { 1, 1, 0 };
    optim_params p = { .weight_decay = 0.1f, .momentum = 0.9f };
    tiny t;
    tiny_init(&t, 1.0f, 0.5f);
    sgd_step_range(&t.m, &p, 0.1f, 1, 0, 3);
    NEAR(t.w[0], 0.94, 1e-6);
    NEAR(t.b[0], 0.6, 1e-6);
    sgd_step_range(&t.m, &p, 0.1f, 2, 0, 3);
    NEAR(t.w[0], 0.8266, 1e-6);
    NEAR(t.b[0], 1.134, 1e-6);

    p.nesterov = true;
    tiny_init(&t, 1.0f, 0.5f);
    sgd_step_range(&t.m, &p, 0.1f, 1, 0, 3);
    NEAR(t.w[0], 0.886, 1e-6);

    p.nesterov = false, p.decay_mask = mask;
    tiny_init(&t, 1.0f, 0.5f);
    sgd_step_range(&t.m, &p, 0.1f, 1, 0, 3);
    NEAR(t.w[0], 0.94, 1e-6);
    NEAR(t.w[2], 0.95, 1e-6);
    /* a range leaves the rest alone */
    tiny_init(&t, 1.0f, 0.5f);
    sgd_step_range(&t.m, &p, 0.1f, 1, 1, 2);
    assert_true(t.w[0] == 1.0f && t.w[2] == 1.0f && t.w[1] != 1.0f);
}

/* Adam's first step moves every weight by lr (m̂ = ∇, v̂ = ∇²) after the
   decoupled decay w·(1 − lr·wd): 1·(1 − 0.01) − 0.1 = 0.89 where decayed,
   1 − 0.1 = 0.9 where the mask says not; without a mask, all decayed. */
static void test_adam_decay_mask(void **state)
{
    const float mask[3] = { 1, 0, 1 };
    optim_params p = { .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f, .decay_mask = mask };
    tiny t;
    tiny_init(&t, 1.0f, 0.5f);
    adam_step_range(&t.m, &p, 0.1f, 1, 0, 3);
    NEAR(t.w[0], 0.89, 1e-6), NEAR(t.w[1], 0.9, 1e-6), NEAR(t.w[2], 0.89, 1e-6);
    p.decay_mask = NULL;
    tiny_init(&t, 1.0f, 0.5f);
    adam_step_range(&t.m, &p, 0.1f, 1, 0, 3);
    NEAR(t.w[1], 0.89, 1e-6);
}

/* The mask of a real model: 1 on every convolution filter and dense weight
   matrix, 0 on batch norm's parameters and the dense biases. */
static void test_decay_mask_of_cnn(void **state)
{
    model m;
    char err[256];
    const model_desc d = { "cnn", 0, 0, 0.5f, 10, { 1, 28, 28 } };
    assert_int_equal(model_build(&m, &d, &conv_im2col, 2, err, sizeof err), 0);
    float *mask = test_alloc(m.num_params * sizeof *mask);
    model_decay_mask(&m, mask);
    size_t decayed = 0, expected = 0;
    for (size_t i = 0; i < m.num_params; i++)
        decayed += mask[i] == 1.0f;
    for (int i = 0; i < m.num_layers; i++) {
        const layer *l = &m.layers[i];
        if (l->spec.op == OP_CONV)
            expected += l->param_count;
        else if (l->spec.op == OP_DENSE)
            expected += l->param_count - (size_t)l->out.c;
        for (size_t j = 0; l->spec.op == OP_BN && j < l->param_count; j++)
            assert_true(mask[l->param_off + j] == 0.0f);
    }
    assert_int_equal(decayed, expected);
    /* cnn: 9·32 + 9·32·32 + 9·32·64 + 9·64·64 filters, 3136·256 + 256·10 weights */
    assert_int_equal(expected, 9 * 32 + 9 * 32 * 32 + 9 * 32 * 64 + 9 * 64 * 64 + 3136 * 256 + 256 * 10);
    free(mask);
    model_free(&m);
}

static const lr_schedule *schedule(const char *name)
{
    for (int i = 0; i < lr_schedule_count(); i++)
        if (!strcmp(lr_schedule_at(i)->name, name))
            return lr_schedule_at(i);
    fail_msg("no schedule %s", name);
    return NULL;
}

/* 10 warm-up steps of 110: step 4 is at 5/10 of the base; then progress
   (step − 10)/100. */
static void test_schedules_by_hand(void **state)
{
    const float base = 0.2f;
    const lr_schedule *lin = schedule("linear"), *step = schedule("step"), *cosine = schedule("cosine");
    NEAR(lr_at(lin, base, 4, 10, 110), 0.1, 1e-7);
    NEAR(lr_at(lin, base, 10, 10, 110), 0.2, 1e-7);
    NEAR(lr_at(lin, base, 35, 10, 110), 0.15, 1e-7);
    NEAR(lr_at(lin, base, 109, 10, 110), 0.002, 1e-7);
    NEAR(lr_at(cosine, base, 60, 10, 110), 0.1, 1e-7);
    NEAR(lr_at(step, base, 59, 10, 110), 0.2, 1e-7);
    NEAR(lr_at(step, base, 60, 10, 110), 0.02, 1e-7);
    NEAR(lr_at(step, base, 84, 10, 110), 0.02, 1e-7);
    NEAR(lr_at(step, base, 85, 10, 110), 0.002, 1e-7);
}

/* decay 0.9: after step 1 the warm-up gives 2/11; after step 100, 101/110 >
   0.9, so 0.9.  avg 1, x 3, d 0.75: 0.75 + 0.75 = 1.5. */
static void test_ema_by_hand(void **state)
{
    NEAR(ema_decay_at(0.9, 1), 2.0 / 11.0, 1e-7);
    NEAR(ema_decay_at(0.9, 100), 0.9, 1e-7);
    NEAR(ema_decay_at(0.999, 100), 101.0 / 110.0, 1e-7);
    float avg[5] = { 1, 1, 1, 1, 1 }, x[5] = { 3, 3, 3, 3, 3 };
    ema_update(avg, x, 4, 0.75f);
    for (int i = 0; i < 4; i++)
        NEAR(avg[i], 1.5, 1e-7);
    assert_true(avg[4] == 1.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_smoothing_by_hand), cmocka_unit_test(test_label_smoothing_gradient),
        cmocka_unit_test(test_tta_mean_of_softmaxes),   cmocka_unit_test(test_sgd_by_hand),
        cmocka_unit_test(test_adam_decay_mask),         cmocka_unit_test(test_decay_mask_of_cnn),
        cmocka_unit_test(test_schedules_by_hand),       cmocka_unit_test(test_ema_by_hand),
    };
    return cmocka_run_group_tests_name("train_math", tests, NULL, NULL);
}
