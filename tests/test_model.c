/* tests/test_model.c — the model tables match SPEC.md: parameter counts equal
 * PyTorch's for the same definitions, forward costs, output shapes, resnet
 * depth/width parameters, and bad tables are refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/model.h"

static model_desc desc(const char *name, int blocks, int width)
{
    model_desc d = { "", blocks, width, 0.5f, 10, { 1, 28, 28 } };
    snprintf(d.name, sizeof d.name, "%s", name);
    return d;
}

static void build_ok(model *m, model_desc d)
{
    char err[256] = "";
    if (model_build(m, &d, &conv_im2col, 4, err, sizeof err) != 0)
        fail_msg("model_build(%s): %s", d.name, err);
}

/* Counts of torch.nn definitions written from SPEC.md (the issue gives them):
   cnn 870,826; resnet20 272,186.  Forward cost, convolutions and dense layers:
   38.2 and 62.0 MFLOP per image. */
static void test_cnn_matches_spec(void **state)
{
    model m;
    build_ok(&m, desc("cnn", 0, 0));
    assert_int_equal(m.num_params, 870826);
    assert_true(m.flops > 38.15e6 && m.flops < 38.25e6);
    const layer *last = &m.layers[m.num_layers - 1];
    assert_int_equal(last->out.c, 10);
    assert_int_equal(m.layers[m.num_layers - 4].in.c * m.layers[m.num_layers - 4].in.h *
                         m.layers[m.num_layers - 4].in.w, 3136);   /* fc1 reads the flattened 64x7x7 */
    model_print_summary(&m, stdout);
    model_free(&m);
}

/* The two convolution initialisations: he_normal has std sqrt(2/fan_in);
   uniform stays within ±1/sqrt(fan_in) with std 1/sqrt(3·fan_in), as
   PyTorch's nn.Conv2d.  Checked on cnn.conv3 (64x32x3x3: 18,432 weights, so
   the sample std is within 2 % of the true one). */
static void test_conv_init_scales(void **state)
{
    model m;
    build_ok(&m, desc("cnn", 0, 0));
    const layer *conv = NULL;
    for (int i = 0; i < m.num_layers && !conv; i++)
        if (m.layers[i].spec.op == OP_CONV && m.layers[i].in.c == 32 && m.layers[i].out.c == 64)
            conv = &m.layers[i];
    assert_non_null(conv);
    const double fan_in = 32 * 9;
    for (int ci = CONV_INIT_HE_NORMAL; ci <= CONV_INIT_UNIFORM; ci++) {
        model_init_params(&m, 7, (conv_init)ci);
        const float *w = m.params + conv->param_off;
        double sum2 = 0, amax = 0;
        for (size_t j = 0; j < 64 * 32 * 9; j++) {
            sum2 += (double)w[j] * w[j];
            amax = fmax(amax, fabs(w[j]));
        }
        const double std = sqrt(sum2 / (64 * 32 * 9));
        const double want = ci == CONV_INIT_HE_NORMAL ? sqrt(2 / fan_in) : 1 / sqrt(3 * fan_in);
        if (fabs(std / want - 1) > 0.02)
            fail_msg("conv_init %d: std %.5f, expected %.5f", ci, std, want);
        if (ci == CONV_INIT_UNIFORM)
            assert_true(amax <= 1 / sqrt(fan_in));
        else
            assert_true(amax > 3 * want); /* a normal's tail, not a uniform */
    }
    model_free(&m);
}

static void test_resnet20_matches_spec(void **state)
{
    model m;
    build_ok(&m, desc("resnet", 3, 16));
    assert_int_equal(m.num_params, 272186);
    assert_true(m.flops > 61.95e6 && m.flops < 62.05e6);
    int convs = 0, adds = 0;
    for (int i = 0; i < m.num_layers; i++) {
        convs += m.layers[i].spec.op == OP_CONV;
        adds += m.layers[i].spec.op == OP_ADD;
    }
    assert_int_equal(convs, 1 + 18 + 2);   /* stem, 9 blocks x 2, two projections */
    assert_int_equal(adds, 9);
    /* the winograd kernel falls back on the stride-2 and 1x1 layers, and says so */
    model w;
    char err[256];
    model_desc d = desc("resnet", 3, 16);
    assert_int_equal(model_build(&w, &d, &conv_winograd, 2, err, sizeof err), 0);
    for (int i = 0; i < w.num_layers; i++)
        if (w.layers[i].spec.op == OP_CONV) {
            const bool native = w.layers[i].spec.size == 3 && w.layers[i].spec.stride == 1;
            assert_true((w.layers[i].ran[CONV_FORWARD] == &conv_winograd) == native);
        }
    model_print_summary(&w, stdout);
    model_free(&w);
    model_free(&m);
}

/* resnet32 (5 blocks per stage) and a wider resnet come from the parameters:
   each extra block adds two 3x3 convolutions with BN per stage. */
static void test_resnet_depth_and_width(void **state)
{
    model a, b;
    build_ok(&a, desc("resnet", 5, 16));
    const size_t per_block = (16 * 16 * 9 + 32) + (32 * 32 * 9 + 64) + (64 * 64 * 9 + 128);
    assert_int_equal(a.num_params, 272186 + 2 * 2 * per_block);
    build_ok(&b, desc("resnet", 3, 32));
    assert_true(b.num_params > 3 * 272186);
    assert_int_equal(b.layers[b.num_layers - 1].in.c, 128);
    model_free(&a);
    model_free(&b);
}

static void test_bad_tables_are_refused(void **state)
{
    model m;
    char err[256] = "";
    model_desc d = desc("transformer", 3, 16);
    assert_int_equal(model_build(&m, &d, &conv_naive, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown model 'transformer'"));
    d = desc("cnn", 0, 0);
    const layer_spec bad_add[] = { { OP_INPUT, "input", PREV, -1 }, { OP_CONV, "c", PREV, -1, 4, 3, 1, 1 },
                                   { OP_ADD, "add", 0, 1 } };
    assert_int_equal(model_build_table(&m, &d, bad_add, 3, &conv_naive, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "different shapes"));
    const layer_spec bad_pool[] = { { OP_INPUT, "input", PREV, -1 }, { OP_CONV, "c", PREV, -1, 4, 28, 1, 0 },
                                    { OP_MAXPOOL, "pool", PREV, -1 } };
    assert_int_equal(model_build_table(&m, &d, bad_pool, 3, &conv_naive, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "max-pool"));
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_matches_spec),
        cmocka_unit_test(test_conv_init_scales),
        cmocka_unit_test(test_resnet20_matches_spec),
        cmocka_unit_test(test_resnet_depth_and_width),
        cmocka_unit_test(test_bad_tables_are_refused),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
