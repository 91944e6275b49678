/* tests/test_model.c — the model tables: parameter counts equal PyTorch's for
 * the same definitions, forward costs, output shapes, resnet depth/width
 * parameters, and bad tables are refused; the registry of model types: its
 * order, its errors, a throw-away model added through it alone and trained a
 * step, and the canonical descriptions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernels/isa.h"
#include "models/layers.h"
#include "models/model.h"
#include "tools/bench/bench_layers.h"
#include "tools/report/csv.h"
#include "tests/testing.h"

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

/* Counts of the same networks written as torch.nn definitions: cnn 870,826;
   resnet20 272,186.  Forward cost, convolutions and dense layers:
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
    /* the winograd kernel falls back on the stride-2 layers (to the direct kernel
       forward, im2col backward_weights), the single-channel stem (to the direct
       kernel) and the 1x1 ones (to im2col), and says so */
    model w;
    char err[256];
    model_desc d = desc("resnet", 3, 16);
    assert_int_equal(model_build(&w, &d, &conv_winograd, 2, err, sizeof err), 0);
    for (int i = 0; i < w.num_layers; i++)
        if (w.layers[i].spec.op == OP_CONV) {
            const layer *l = &w.layers[i];
            const bool native = l->spec.size == 3 && l->spec.stride == 1 && l->in.c > 1;
            const conv_kernel *fallback = l->spec.size == 1 ? &conv_im2col : &conv_direct;
            const conv_kernel *bw_fallback = l->in.c == 1 ? &conv_direct : &conv_im2col;
            assert_ptr_equal(l->ran[CONV_FORWARD], native ? &conv_winograd : fallback);
            assert_ptr_equal(l->ran[CONV_BACKWARD_WEIGHTS], native ? &conv_winograd : bw_fallback);
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
    if (!strstr(err, "error: unknown model 'transformer'; expected one of cnn, resnet"))
        fail_msg("unexpected message: %s", err);
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

/* Row names are generated into the caller's rows: a second table does not
   rename the first model's layers. */
static void test_resnet_row_names(void **state)
{
    model a, b;
    build_ok(&a, desc("resnet", 3, 16));
    build_ok(&b, desc("resnet", 5, 8));
    const char *want[] = { "input", "stem.conv", "stem.bn", "stem.relu", "s1.b1.conv1", "s1.b1.bn1" };
    for (int i = 0; i < 6; i++)
        assert_string_equal(a.layers[i].spec.name, want[i]);
    int proj = -1;
    for (int i = 0; i < a.num_layers; i++)
        if (!strcmp(a.layers[i].spec.name, "s3.b1.proj"))
            proj = i;
    assert_true(proj > 0);
    assert_int_equal(a.layers[proj].spec.size, 1);
    assert_string_equal(a.layers[proj + 1].spec.name, "s3.b1.proj_bn");
    assert_string_equal(a.layers[a.num_layers - 2].spec.name, "pool");
    assert_string_equal(a.layers[a.num_layers - 3].spec.name, "s3.b3.relu2");
    assert_string_equal(b.layers[b.num_layers - 3].spec.name, "s3.b5.relu2");
    model_free(&a);
    model_free(&b);
}

static void test_registry_order_and_errors(void **state)
{
    assert_true(model_type_count() >= 2);
    assert_string_equal(model_type_at(0)->name, "cnn");
    assert_string_equal(model_type_at(1)->name, "resnet");
    assert_string_equal(model_type_at(0)->bench_name, "cnn");
    assert_string_equal(model_type_at(1)->bench_name, "resnet20");
    assert_null(model_type_at(-1));
    assert_null(model_type_at(model_type_count()));
    char err[200] = "";
    assert_ptr_equal(model_type_find("resnet", err, sizeof err), model_type_at(1));
    assert_null(model_type_find("resnet20", err, sizeof err));
    if (strncmp(err, "unknown model 'resnet20'; expected one of cnn, resnet", 53) != 0)
        fail_msg("unexpected message: %s", err);
    /* each type's benchmark instance builds, and is what the benchmarks time */
    for (int i = 0; i < model_type_count(); i++) {
        model m;
        build_ok(&m, model_type_at(i)->bench);
        assert_string_equal(m.desc.name, model_type_at(i)->name);
        model_free(&m);
    }
}

/* input 1x8x8 · conv3x3 (1→3) · global average pool · dense 3→classes */
static int tiny_table(const model_desc *d, layer_spec *rows, int cap)
{
    const layer_spec table[] = {
        { .op = OP_INPUT, .name = "input", .src = PREV, .src2 = -1 },
        { .op = OP_CONV, .name = "conv", .src = PREV, .src2 = -1, .out = 3, .size = 3, .stride = 1, .pad = 1 },
        { .op = OP_GAP, .name = "gap", .src = PREV, .src2 = -1 },
        { .op = OP_DENSE, .name = "head", .src = PREV, .src2 = -1, .out = d->classes },
    };
    const int n = (int)(sizeof table / sizeof table[0]);
    if (n > cap)
        return -1;
    memcpy(rows, table, sizeof table);
    return n;
}

/* A model added through the registry alone: found, built by name, and run
   forward and backward. */
static void test_registered_model_trains(void **state)
{
    const model_type tiny = { .name = "tiny", .description = "a throw-away test model", .table = tiny_table };
    char err[256] = "";
    if (model_type_register(&tiny, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_non_null(model_type_find("tiny", err, sizeof err));
    assert_null(model_type_find("huge", err, sizeof err));
    assert_non_null(strstr(err, "expected one of cnn, resnet, tiny"));

    model m;
    const model_desc d = { .name = "tiny", .classes = 4, .input = { 1, 8, 8 } };
    build_ok(&m, d);
    assert_int_equal(m.num_layers, 4);
    assert_int_equal(m.num_params, 3 * 9 + 3 * 4 + 4);
    model_init_params(&m, 5, CONV_INIT_HE_NORMAL);
    float *x = model_input(&m);
    for (int i = 0; i < 4 * 64; i++)
        x[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    const model_step st = { .batch = 4, .train = true, .seed = 1, .step = 0 };
    const float *logits = model_forward(&m, &st);
    float dlogits[4 * 4];
    for (int i = 0; i < 16; i++) {
        assert_true(isfinite(logits[i]));
        dlogits[i] = i % 5 == 0 ? -1.0f : 0.25f;
    }
    model_backward(&m, &st, dlogits);
    double conv_grad = 0;
    for (size_t j = 0; j < m.layers[1].param_count; j++)
        conv_grad += fabs(m.grads[m.layers[1].param_off + j]);
    assert_true(isfinite(conv_grad) && conv_grad > 0);
    model_free(&m);
}

static void test_register_refusals(void **state)
{
    char err[256];
    const model_type dup = { .name = "cnn", .table = tiny_table }, no_table = { .name = "x" },
                     empty = { .name = "", .table = tiny_table },
                     long_name = { .name = "a_model_name_of_thirty_two_chars", .table = tiny_table };
    const model_type *bad[] = { NULL, &dup, &no_table, &empty, &long_name };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(model_type_register(bad[i], err, sizeof err), -1);
        assert_true(strncmp(err, "error: cannot register model", 28) == 0);
    }
    /* fill the registry: the first name that does not fit is refused */
    static char names[100][16]; /* a registered type's name must outlive the process */
    int added = 0;
    for (; added < 100; added++) {
        snprintf(names[added], sizeof names[added], "fill%d", added);
        const model_type t = { .name = names[added], .table = tiny_table };
        if (model_type_register(&t, err, sizeof err) != 0)
            break;
    }
    assert_true(added > 0 && added < 100);
    assert_non_null(strstr(err, "full"));
}

/* Only the fields a type uses survive: what makes equal models' checkpoints equal. */
static void test_desc_canonical(void **state)
{
    model_desc cnn = { .name = "cnn", .blocks = 3, .width = 16, .dropout = 0.5f },
               resnet = { .name = "resnet", .blocks = 3, .width = 16, .dropout = 0.5f },
               other = { .name = "transformer", .blocks = 3, .width = 16, .dropout = 0.5f };
    model_desc_canonical(&cnn);
    model_desc_canonical(&resnet);
    model_desc_canonical(&other);
    assert_true(cnn.blocks == 0 && cnn.width == 0 && cnn.dropout == 0.5f);
    assert_true(resnet.blocks == 3 && resnet.width == 16 && resnet.dropout == 0.0f);
    assert_true(other.blocks == 3 && other.width == 16 && other.dropout == 0.5f);
}

/* The shapes without a build: what model_build_table computes. */
static void test_table_shapes(void **state)
{
    const model_type *t = model_type_find("resnet", NULL, 0);
    layer_spec rows[128];
    const int n = t->table(&t->bench, rows, 128);
    assert_true(n > 2);
    assert_int_equal(t->table(&t->bench, rows, 10), -1);
    layer_shape shapes[128];
    char err[256];
    assert_int_equal(model_table_shapes(&t->bench, rows, n, shapes, err, sizeof err), 0);
    model m;
    build_ok(&m, t->bench);
    assert_int_equal(m.num_layers, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(shapes[i].src, m.layers[i].src);
        assert_int_equal(shapes[i].src2, m.layers[i].src2);
        assert_memory_equal(&shapes[i].in, &m.layers[i].in, sizeof(tshape));
        assert_memory_equal(&shapes[i].out, &m.layers[i].out, sizeof(tshape));
    }
    model_free(&m);
    assert_int_equal(model_table_shapes(&t->bench, rows, 1, shapes, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not start with input"));
}

/* The kernel benchmark's layers come from the bench instances' tables, with
   the names, shapes and order of the committed benchmark CSV (its layers in
   order of first appearance), which its report renders. */
static void test_bench_layers_from_tables(void **state)
{
    csv_table t;
    assert_int_equal(csv_load("reports/data/kernels.csv", &t), 0);
    const char *cols[] = { "layer", "c", "h", "w", "k", "r", "s", "stride", "pad" };
    int col[9], n = 0;
    for (int j = 0; j < 9; j++)
        assert_true((col[j] = csv_col(&t, cols[j])) >= 0);
    for (int row = 0; row < t.rows; row++) {
        const char *name = csv_cell(&t, row, col[0]);
        const int i = bench_layer_find(name);
        if (i < 0)
            fail_msg("%s, a layer of reports/data/kernels.csv, is not a benchmark layer", name);
        if (i < n)
            continue;
        assert_int_equal(i, n++); /* the same order */
        const conv_shape *s = &bench_layer_at(i)->shape;
        const int got[8] = { s->c, s->h, s->w, s->k, s->r, s->s, s->stride, s->pad };
        for (int j = 0; j < 8; j++)
            assert_int_equal(got[j], atoi(csv_cell(&t, row, col[j + 1])));
    }
    csv_free(&t);
    assert_int_equal(bench_layer_count(), n);
    assert_null(bench_layer_at(n));
    assert_int_equal(bench_layer_find("cnn.conv9"), -1);
    /* each says which convolutions share its shape */
    assert_string_equal(bench_layer_at(0)->where, "cnn conv1");
    assert_string_equal(bench_layer_at(bench_layer_find("resnet20.stage2"))->where,
                        "resnet20 s2.b1.conv2 .. s2.b3.conv2, 5 convs");
}

/* model_build's fusions (models/layers.h): in cnn each BN runs with its ReLU,
   and the two whose ReLU feeds a max-pool with that pool too;
   in resnet each block's bn1 with relu1 and bn2 with the add and relu2, the
   stem's BN with its ReLU, never the projection's BN (the add's other
   input); refused when the BN has two readers or a row between it and the
   ReLU reads the BN's input.  The parameter layout is the table's. */
static void test_fusion_decided_at_build(void **state)
{
    model m;
    build_ok(&m, desc("cnn", 0, 0));
    int fused = 0, pools = 0;
    for (int i = 0; i < m.num_layers; i++) {
        const layer *l = &m.layers[i];
        if (l->fuse_bn >= 0) {
            assert_int_equal(l->spec.op, OP_RELU);
            assert_int_equal(l->fuse_bn, i - 1);
            assert_int_equal(l->fuse_add, -1);
            fused++;
        }
        if (l->fuse_pool >= 0) {
            assert_int_equal(l->fuse_pool, i + 1);
            assert_int_equal(m.layers[l->fuse_pool].spec.op, OP_MAXPOOL);
            pools++;
        }
        assert_true(l->fused_away == (l->spec.op == OP_BN || l->spec.op == OP_MAXPOOL));
    }
    assert_int_equal(fused, 4);
    assert_int_equal(pools, 2);
    model_free(&m);

    build_ok(&m, desc("resnet", 3, 16));
    int with_add = 0, bns = 0;
    for (int i = 0; i < m.num_layers; i++) {
        const layer *l = &m.layers[i];
        const bool proj_bn = strstr(l->spec.name, "proj_bn") != NULL;
        bns += l->spec.op == OP_BN && !proj_bn;
        assert_true(l->fused_away == ((l->spec.op == OP_BN && !proj_bn) || l->spec.op == OP_ADD));
        assert_int_equal(l->fuse_pool, -1); /* no max-pool in a resnet */
        if (l->fuse_add >= 0) {
            assert_string_equal(m.layers[l->fuse_add].spec.name + strlen(l->spec.name) - strlen("relu2"), "add");
            assert_int_equal(m.layers[l->fuse_add].src, l->fuse_bn);
            with_add++;
        }
    }
    assert_int_equal(with_add, 9);
    assert_int_equal(bns, 19);
    model_free(&m);

    /* not fused: BN read twice; a row between BN and ReLU reading the BN's input */
    const layer_spec twice[] = { { OP_INPUT, "input", PREV, -1 }, { OP_BN, "bn", PREV, -1 },
                                 { OP_RELU, "a", 1, -1 }, { OP_RELU, "b", 1, -1 } };
    const layer_spec between[] = { { OP_INPUT, "input", PREV, -1 }, { OP_BN, "bn", PREV, -1 },
                                   { OP_RELU, "x", 0, -1 }, { OP_RELU, "relu", 1, -1 } };
    const layer_spec *tables[] = { twice, between };
    for (int t = 0; t < 2; t++) {
        char err[256];
        model_desc d = desc("cnn", 0, 0);
        assert_int_equal(model_build_table(&m, &d, tables[t], 4, &conv_naive, 2, err, sizeof err), 0);
        for (int i = 0; i < m.num_layers; i++)
            assert_true(m.layers[i].fuse_bn < 0 && !m.layers[i].fused_away);
        model_free(&m);
    }
}

/* A whole resnet and cnn compute the same bits fused and row by row: the
   logits, every parameter gradient and the running statistics. */
static void test_fusion_keeps_the_bits(void **state)
{
    const model_desc descs[] = { desc("resnet", 1, 4), desc("cnn", 0, 0) };
    for (int di = 0; di < 2; di++) {
        model a, b;
        build_ok(&a, descs[di]);
        build_ok(&b, descs[di]);
        model_unfuse(&b);
        model *both[2] = { &a, &b };
        const float *logits[2];
        for (int k = 0; k < 2; k++) {
            model_init_params(both[k], 5, CONV_INIT_HE_NORMAL);
            test_fill_uniform(model_input(both[k]), 4 * 28 * 28, 6);
            const model_step st = { 4, true, 7, 0 };
            logits[k] = model_forward(both[k], &st);
            float dlogits[40];
            test_fill_uniform(dlogits, 40, 8);
            model_backward(both[k], &st, dlogits);
        }
        assert_memory_equal(logits[0], logits[1], 40 * sizeof(float));
        assert_memory_equal(a.grads, b.grads, a.num_params * sizeof(float));
        assert_memory_equal(a.state, b.state, a.num_state * sizeof(float));
        model_free(&a);
        model_free(&b);
    }
}

/* ---- the max-pool: vector rows (AVX-512 or AVX2, as built) against the portable ones */

/* One max-pool layer over an input of N x 2 x H x W with many ties (values from
   {-1, -0, +0, 1, 2}) and output gradients with -0 among them; forward, then
   backward (into dx already holding `seed_dx` when acc).  Outputs y and dx. */
static void run_pool(int H, int W, bool acc, bool portable, float *y, float *dx)
{
    enum { N = 3, C = 2 };
    const size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * (H / 2) * (W / 2);
    float *acts = calloc(nx + ny, sizeof *acts), *dacts = calloc(nx + ny, sizeof *dacts);
    const float pick[5] = { -1.0f, -0.0f, 0.0f, 1.0f, 2.0f };
    for (size_t i = 0; i < nx; i++) /* a hash of i: every pair and order of values occurs */
        acts[i] = pick[((uint32_t)i * 2654435761u >> 13) % 5];
    for (size_t i = 0; i < ny; i++)
        dacts[nx + i] = i % 4 == 0 ? -0.0f : (float)(i % 9) - 4.0f;
    for (size_t i = 0; i < nx && acc; i++)
        dacts[i] = i % 3 == 0 ? -0.0f : 0.5f * (float)(i % 5);
    layer ls[2];
    memset(ls, 0, sizeof ls);
    ls[0].out = (tshape){ C, H, W };
    ls[1].src = 0, ls[1].in = ls[0].out, ls[1].out = (tshape){ C, H / 2, W / 2 };
    ls[1].act_off = nx, ls[1].acc_src = acc;
    model m;
    memset(&m, 0, sizeof m);
    float *save = calloc(ny / sizeof(float) + 1, sizeof(float)); /* the windows' winners, a byte each */
    m.layers = ls, m.num_layers = 2, m.acts = acts, m.dacts = dacts, m.save = save;
    const model_step st = { N, true, 0, 0 };
    pool_use_portable_rows(portable);
    op_maxpool.forward(&m, &ls[1], &st);
    op_maxpool.backward(&m, &ls[1], &st);
    pool_use_portable_rows(false);
    memcpy(y, acts + nx, ny * sizeof *y);
    memcpy(dx, dacts, nx * sizeof *dx);
    free(acts), free(dacts), free(save);
}

/* Max and scatter round nothing: every size (odd edges, rows of more than 16
   outputs, a 2x2 input), written or accumulated, gives the portable rows' bits,
   in the AVX2 copy and, where this CPU runs it, the AVX-512 one (kernels/isa.h). */
static void test_maxpool_vector_rows_match(void **state)
{
    const int sizes[] = { 2, 3, 4, 7, 14, 15, 28, 31, 34, 35, 67 };
    float *y[2], *dx[2];
    for (int k = 0; k < 2; k++)
        y[k] = malloc(3 * 2 * 67 * 67 * sizeof(float)), dx[k] = malloc(3 * 2 * 67 * 67 * sizeof(float));
    const bool was = isa_avx512();
    int copies = 0;
    for (int avx512 = 0; avx512 < 2; avx512++) {
        if (!isa_force_avx512(avx512))
            continue; /* no AVX-512 here, or no copy of it in this build */
        copies++;
        for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
            for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++)
                for (int acc = 0; acc < 2; acc++) {
                    const int H = sizes[a], W = sizes[b];
                    for (int k = 0; k < 2; k++)
                        run_pool(H, W, acc, k == 1, y[k], dx[k]);
                    const size_t ny = (size_t)3 * 2 * (H / 2) * (W / 2), nx = (size_t)3 * 2 * H * W;
                    if (memcmp(y[0], y[1], ny * sizeof(float)) || memcmp(dx[0], dx[1], nx * sizeof(float)))
                        fail_msg("max-pool %dx%d%s, %s copy: the vector rows differ from the portable ones", H, W,
                                 acc ? ", accumulating" : "", avx512 ? "AVX-512" : "AVX2");
                }
    }
    isa_force_avx512(was);
    print_message("max-pool: the vector rows of %d instruction set(s) match the portable ones\n", copies);
    assert_true(copies >= 1);
    for (int k = 0; k < 2; k++)
        free(y[k]), free(dx[k]);
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
        cmocka_unit_test(test_resnet_row_names),
        cmocka_unit_test(test_registry_order_and_errors),
        cmocka_unit_test(test_registered_model_trains),
        cmocka_unit_test(test_register_refusals),
        cmocka_unit_test(test_desc_canonical),
        cmocka_unit_test(test_table_shapes),
        cmocka_unit_test(test_bench_layers_from_tables),
        cmocka_unit_test(test_fusion_decided_at_build),
        cmocka_unit_test(test_fusion_keeps_the_bits),
        cmocka_unit_test(test_maxpool_vector_rows_match),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
