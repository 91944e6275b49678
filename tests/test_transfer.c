/* tests/test_transfer.c — what pretraining and fine-tuning rest on: the
 * rotation pretext (exact quarter turns, keyed labels), class-balanced label
 * budgets, loading a checkpoint's trunk into a model with a new head (and the
 * incompatible-checkpoint errors), the linear probe's fixed trunk, and freezing
 * (an Adam step on a range leaves everything outside it untouched). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/augment.h"
#include "data/pretext.h"
#include "models/checkpoint.h"
#include "models/train_math.h"
#include "tests/testing.h"

enum { N = AUG_SIDE };

/* ---- rotation pretext ------------------------------------------------------------ */

static void test_quarter_turns_are_exact(void **state)
{
    enum { B = 64 };
    float *x = test_alloc(B * AUG_PIXELS * sizeof(float)), *orig = test_alloc(B * AUG_PIXELS * sizeof(float));
    test_fill_uniform(orig, B * AUG_PIXELS, 11);
    memcpy(x, orig, B * AUG_PIXELS * sizeof(float));
    uint32_t idx[B];
    for (int i = 0; i < B; i++)
        idx[i] = 1000 + 7 * i;
    int labels[B], seen[PRETEXT_CLASSES] = { 0 };
    pretext_rotate(x, labels, idx, B, 5, 2);
    for (int i = 0; i < B; i++) {
        const int k = labels[i];
        assert_in_range(k, 0, PRETEXT_CLASSES - 1);
        seen[k]++;
        const float *a = orig + (size_t)i * AUG_PIXELS, *b = x + (size_t)i * AUG_PIXELS;
        for (int y = 0; y < N; y++)
            for (int xx = 0; xx < N; xx++) {
                /* k counter-clockwise quarter turns, as displayed: where (y, x) reads from */
                int sy = y, sx = xx;
                for (int t = 0; t < k; t++) {
                    const int ny = sx, nx = N - 1 - sy;
                    sy = ny, sx = nx;
                }
                if (b[y * N + xx] != a[sy * N + sx])
                    fail_msg("image %d turned %d×90°: pixel (%d, %d) is %g, want source (%d, %d) = %g", i, k, y, xx,
                             (double)b[y * N + xx], sy, sx, (double)a[sy * N + sx]);
            }
    }
    for (int k = 0; k < PRETEXT_CLASSES; k++) /* 64 draws: every turn appears */
        assert_true(seen[k] > 0);

    /* keyed by (seed, epoch, sample): the same image gets the same turn whatever
       the batch around it; another epoch draws anew */
    int again[1], other[B];
    memcpy(x, orig + 5 * AUG_PIXELS, AUG_PIXELS * sizeof(float));
    pretext_rotate(x, again, &idx[5], 1, 5, 2);
    assert_int_equal(again[0], labels[5]);
    memcpy(x, orig, B * AUG_PIXELS * sizeof(float));
    pretext_rotate(x, other, idx, B, 5, 3);
    int differ = 0;
    for (int i = 0; i < B; i++)
        differ += other[i] != labels[i];
    assert_true(differ > B / 4);
    assert_string_equal(pretext_class_name(3), "270°");
    free(x), free(orig);
}

/* ---- label budgets ---------------------------------------------------------------- */

static void test_balanced_subsets(void **state)
{
    enum { COUNT = 3000 };
    uint8_t labels[COUNT];
    uint32_t list[COUNT / 2];
    for (int i = 0; i < COUNT; i++)
        labels[i] = (uint8_t)((i * 7 + i / 13) % 10);
    for (int i = 0; i < COUNT / 2; i++) /* the odd images form the training list */
        list[i] = (uint32_t)(2 * i + 1);
    uint32_t small[10 * 20], large[10 * 100];
    int short_class = -1;
    assert_int_equal(balanced_subset(list, COUNT / 2, labels, 20, 9, small, &short_class), 200);
    assert_int_equal(balanced_subset(list, COUNT / 2, labels, 100, 9, large, &short_class), 1000);
    int per[10] = { 0 };
    for (int i = 0; i < 200; i++) {
        per[labels[small[i]]]++;
        assert_true(small[i] % 2 == 1);         /* only from the list */
        if (i > 0)
            assert_true(small[i] > small[i - 1]); /* sorted, no repeats */
        bool in_large = false;                    /* nested in the larger budget */
        for (int j = 0; j < 1000 && !in_large; j++)
            in_large = large[j] == small[i];
        assert_true(in_large);
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(per[c], 20);
    /* another seed, another subset */
    uint32_t other[200];
    balanced_subset(list, COUNT / 2, labels, 20, 10, other, &short_class);
    assert_true(memcmp(other, small, sizeof other) != 0);
    /* a budget the list cannot fill names the short class */
    uint32_t *too = malloc(10 * 200 * sizeof *too);
    assert_int_equal(balanced_subset(list, COUNT / 2, labels, 200, 9, too, &short_class), -1);
    assert_in_range(short_class, 0, 9);
    free(too);
}

/* ---- a pretrained trunk under a new head -------------------------------------------- */

static model_desc resnet(int width, int classes)
{
    return (model_desc){ "resnet", 1, width, 0.0f, classes, { 1, 12, 12 } };
}

static void build(model *m, model_desc d, uint64_t seed)
{
    char err[256];
    if (model_build(m, &d, &conv_im2col, 2, err, sizeof err))
        fail_msg("%s", err);
    model_init_params(m, seed, CONV_INIT_HE_NORMAL);
    test_fill_uniform(m->state, m->num_state, seed + 3);
}

static const char *saved_source(model *src)
{
    const char *path = test_tmp_path("pretext.ckpt");
    char err[256];
    checkpoint_info info = { 3, 30, 1, NULL };
    if (checkpoint_save(path, src, &info, err, sizeof err))
        fail_msg("%s", err);
    return path;
}

static void test_trunk_loads_under_a_new_head(void **state)
{
    model src, dst;
    build(&src, resnet(4, PRETEXT_CLASSES), 1);
    build(&dst, resnet(4, 10), 2);
    const char *path = saved_source(&src);
    const int head = checkpoint_head_layer(&dst);
    assert_int_equal(dst.layers[head].spec.op, OP_DENSE);
    const layer *h = &dst.layers[head];
    float *fresh_head = malloc(h->param_count * sizeof(float));
    memcpy(fresh_head, dst.params + h->param_off, h->param_count * sizeof(float));

    char err[512];
    uint32_t crc = 0;
    if (checkpoint_load_trunk(path, &dst, &crc, err, sizeof err))
        fail_msg("%s", err);
    assert_int_not_equal(crc, 0);
    /* every trunk tensor and BN statistic is the source's, the head untouched */
    assert_int_equal(h->param_off, src.layers[checkpoint_head_layer(&src)].param_off);
    assert_memory_equal(dst.params, src.params, h->param_off * sizeof(float));
    assert_memory_equal(dst.state, src.state, dst.num_state * sizeof(float));
    assert_memory_equal(dst.params + h->param_off, fresh_head, h->param_count * sizeof(float));
    free(fresh_head);
    model_free(&src), model_free(&dst);
}

/* A linear probe's step (model_step.frozen_below = the head): the trunk runs as
   in evaluation, so the logits are the evaluation pass's bit for bit and the
   batch-norm running statistics do not move (a training pass moves them), and
   no backward pass reaches the trunk (its gradients keep their poison) while
   the head's gradient is written. */
static void test_probe_keeps_the_trunk_fixed(void **state)
{
    model m;
    build(&m, resnet(4, 10), 4);
    const int head = checkpoint_head_layer(&m);
    const layer *h = &m.layers[head];
    const int n = 2, k = 10;
    float *x = model_input(&m), logits_eval[20], dlogits[20];
    test_fill_uniform(x, (size_t)n * 144, 21);
    test_fill_uniform(dlogits, (size_t)n * k, 22);
    float *in = malloc((size_t)n * 144 * sizeof *in), *stats = malloc(m.num_state * sizeof *stats);
    memcpy(in, x, (size_t)n * 144 * sizeof *in);
    memcpy(stats, m.state, m.num_state * sizeof *stats);
    memcpy(logits_eval, model_forward(&m, &(model_step){ n, false, 1, 0, 0 }), sizeof logits_eval);

    test_poison_nan(m.grads, m.num_params);
    const model_step probe = { n, true, 1, 0, head };
    memcpy(x, in, (size_t)n * 144 * sizeof *in);
    assert_memory_equal(model_forward(&m, &probe), logits_eval, sizeof logits_eval);
    assert_memory_equal(m.state, stats, m.num_state * sizeof *stats);
    model_backward(&m, &probe, dlogits);
    for (size_t i = 0; i < h->param_off; i++)
        assert_true(m.grads[i] != m.grads[i]); /* NaN: never written */
    for (size_t i = h->param_off; i < m.num_params; i++)
        assert_true(m.grads[i] == m.grads[i]);

    /* the same step without the probe moves the running statistics */
    memcpy(x, in, (size_t)n * 144 * sizeof *in);
    model_forward(&m, &(model_step){ n, true, 1, 0, 0 });
    assert_true(memcmp(m.state, stats, m.num_state * sizeof *stats) != 0);
    free(in), free(stats);
    model_free(&m);
}

static void test_incompatible_checkpoints_are_refused(void **state)
{
    model src, wide, cnn;
    build(&src, resnet(4, PRETEXT_CLASSES), 1);
    const char *path = saved_source(&src);
    char err[512];
    uint32_t crc;

    build(&wide, resnet(8, 10), 2);
    assert_int_equal(checkpoint_load_trunk(path, &wide, &crc, err, sizeof err), -1);
    assert_non_null(strstr(err, "width 4"));  /* both shapes named */
    assert_non_null(strstr(err, "width 8"));
    assert_non_null(strstr(err, path));

    build(&cnn, (model_desc){ "cnn", 0, 0, 0.5f, 10, { 1, 28, 28 } }, 3);
    assert_int_equal(checkpoint_load_trunk(path, &cnn, &crc, err, sizeof err), -1);
    assert_non_null(strstr(err, "'resnet'"));
    assert_non_null(strstr(err, "'cnn'"));

    assert_int_equal(checkpoint_load_trunk(test_tmp_path("no-such.ckpt"), &wide, &crc, err, sizeof err), -1);
    assert_non_null(strstr(err, "run the experiment that produces it first"));
    model_free(&src), model_free(&wide), model_free(&cnn);
}

/* ---- freezing ------------------------------------------------------------------------- */

static void test_adam_on_a_range_leaves_the_rest(void **state)
{
    model a, b;
    build(&a, resnet(4, 10), 4);
    build(&b, resnet(4, 10), 4);
    test_fill_uniform(a.grads, a.num_params, 8);
    memcpy(b.grads, a.grads, a.num_params * sizeof(float));
    const size_t head = a.layers[checkpoint_head_layer(&a)].param_off;
    const optim_params p = { 1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f };
    float *before = malloc(a.num_params * sizeof(float));
    memcpy(before, a.params, a.num_params * sizeof(float));

    adam_step_range(&a, &p, 1e-2f, 1, head, a.num_params); /* trunk frozen */
    assert_memory_equal(a.params, before, head * sizeof(float));
    for (size_t i = 0; i < head; i++)
        assert_true(a.adam_m[i] == 0.0f && a.adam_v[i] == 0.0f);
    assert_memory_not_equal(a.params + head, before + head, (a.num_params - head) * sizeof(float));

    /* both halves stepped separately equal one whole step */
    adam_step_range(&b, &p, 1e-2f, 1, 0, head);
    adam_step_range(&b, &p, 1e-2f, 1, head, b.num_params);
    memcpy(a.params, before, a.num_params * sizeof(float));
    memset(a.adam_m, 0, a.num_params * sizeof(float));
    memset(a.adam_v, 0, a.num_params * sizeof(float));
    adam_step(&a, &p, 1e-2f, 1);
    assert_memory_equal(a.params, b.params, a.num_params * sizeof(float));
    free(before);
    model_free(&a), model_free(&b);
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quarter_turns_are_exact),
        cmocka_unit_test(test_balanced_subsets),
        cmocka_unit_test(test_trunk_loads_under_a_new_head),
        cmocka_unit_test(test_probe_keeps_the_trunk_fixed),
        cmocka_unit_test(test_incompatible_checkpoints_are_refused),
        cmocka_unit_test(test_adam_on_a_range_leaves_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
