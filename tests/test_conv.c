/* tests/test_conv.c — every kernel × pass × an awkward shape table, against the
 * float64 reference; plus bitwise equality between 1 and 2 threads, and the
 * registry: its order, its error messages, each kernel's tolerance, and a
 * kernel added at run time through the registry alone.
 *
 * Before each call the output is poisoned with NaN (an unwritten output fails)
 * and the workspace filled with 0xA5 (a kernel that reads workspace it did not
 * write gets garbage).  A failure prints the kernel, pass, shape, seed and the
 * worst output index, so it can be replayed.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernels/conv.h"
#include "kernels/conv_reference.h"
#include "kernels/im2col_panels.h"
#include "tests/testing.h"

/* n, c, h, w, k, r, s, stride, pad */
static const conv_shape shapes[] = {
    { 1, 1, 1, 1, 1, 1, 1, 1, 0 },      /* 1x1 image, 1x1 filter */
    { 1, 1, 1, 1, 1, 3, 3, 1, 1 },      /* 1x1 image, 3x3 filter: all padding but the centre */
    { 3, 2, 5, 5, 3, 3, 3, 1, 1 },      /* batch 3, 5x5 */
    { 1, 3, 5, 5, 1, 3, 3, 1, 0 },      /* K = 1, no padding */
    { 3, 7, 5, 5, 9, 3, 3, 1, 0 },      /* 3x3 output: partial Winograd tile */
    { 1, 2, 4, 4, 3, 3, 3, 1, 0 },      /* 2x2 output: exactly one F(2x2) tile */
    { 1, 2, 4, 4, 3, 3, 3, 1, 1 },      /* 4x4 output: exactly one F(4x4) tile */
    { 3, 1, 13, 13, 4, 3, 3, 1, 1 },    /* C = 1, odd size */
    { 3, 4, 13, 13, 5, 3, 3, 2, 1 },    /* stride 2, odd size */
    { 3, 3, 13, 13, 2, 1, 1, 1, 0 },    /* 1x1 filter */
    { 2, 3, 13, 13, 3, 1, 1, 1, 1 },    /* 1x1 filter with padding: zero border */
    { 1, 1, 28, 28, 16, 3, 3, 1, 1 },   /* resnet stem */
    { 1, 8, 28, 28, 8, 3, 3, 1, 1 },    /* 28x28, many tiles */
    { 2, 4, 28, 28, 8, 1, 1, 2, 0 },    /* 1x1 stride-2 projection */
    { 3, 5, 29, 29, 6, 3, 3, 1, 1 },    /* 29x29: ragged last tiles */
    { 3, 6, 29, 29, 7, 3, 3, 2, 1 },    /* 29x29 stride 2 */
    { 2, 5, 29, 29, 3, 3, 3, 2, 0 },    /* stride 2, no padding */
    { 2, 16, 14, 14, 32, 3, 3, 1, 1 },  /* wider, 14x14 */
    { 3, 32, 7, 7, 33, 3, 3, 1, 1 },    /* 7x7 like resnet stage 3, odd K */
    { 9, 1, 13, 13, 5, 3, 3, 2, 1 },    /* C = 1, stride 2, 9 images: the direct kernel's chunks of 8 and 1 */
};
enum { NUM_SHAPES = sizeof shapes / sizeof shapes[0] };

typedef struct conv_case {
    const conv_kernel *kernel;
    conv_pass pass;
    conv_shape shape;
    uint64_t seed;
    char name[128];
} conv_case;

static void run_poisoned(const conv_case *t, int threads, const float *a, const float *b, float *out,
                         size_t out_count, void *ws, size_t ws_bytes)
{
    test_poison_nan(out, out_count);
    memset(ws, 0xA5, ws_bytes);
    omp_set_num_threads(threads);
    conv_run(t->kernel, &t->shape, t->pass, a, b, out, ws);
}

static void check_case(const conv_case *t)
{
    const conv_shape *cs = &t->shape;
    const conv_kernel *ran = conv_resolve(t->kernel, cs, t->pass);
    /* a = x or dy, b = w or dy, as conv_run takes them */
    const size_t a_count = t->pass == CONV_BACKWARD_DATA ? conv_y_count(cs) : conv_x_count(cs);
    const size_t b_count = t->pass == CONV_BACKWARD_WEIGHTS ? conv_y_count(cs) : conv_w_count(cs);
    const size_t out_count = conv_pass_out_count(cs, t->pass);
    const size_t ws_bytes = conv_workspace_bytes(t->kernel, cs);

    float *a = test_alloc(a_count * sizeof *a), *b = test_alloc(b_count * sizeof *b);
    float *out1 = test_alloc(out_count * sizeof *out1), *out2 = test_alloc(out_count * sizeof *out2);
    double *ref = test_alloc(out_count * sizeof *ref), *mag = test_alloc(out_count * sizeof *mag);
    void *ws = test_alloc(ws_bytes);
    test_fill_uniform(a, a_count, t->seed);
    test_fill_uniform(b, b_count, t->seed + 1);

    conv_reference(cs, t->pass, a, b, ref, mag);
    run_poisoned(t, 1, a, b, out1, out_count, ws, ws_bytes);
    run_poisoned(t, 2, a, b, out2, out_count, ws, ws_bytes);

    const conv_error e = conv_compare(out_count, out1, ref, mag);
    const double tol = conv_tolerance(ran, cs, t->pass);
    char shape[96];
    conv_shape_str(cs, shape, sizeof shape);
    if (e.nonfinite || e.max_rel > tol)
        fail_msg("%s %s (ran %s) shape %s seed %llu: max relative error %.3g > tolerance %.3g "
                 "at output %zu (got %.9g, want %.9g); %zu non-finite outputs",
                 t->kernel->name, conv_pass_name(t->pass), ran->name, shape,
                 (unsigned long long)t->seed, e.max_rel, tol, e.worst, (double)out1[e.worst],
                 ref[e.worst], e.nonfinite);
    for (size_t i = 0; i < out_count; i++)
        if (memcmp(&out1[i], &out2[i], sizeof(float)) != 0)
            fail_msg("%s %s shape %s seed %llu: 1 and 2 threads differ at output %zu (%.9g vs %.9g)",
                     t->kernel->name, conv_pass_name(t->pass), shape, (unsigned long long)t->seed, i,
                     (double)out1[i], (double)out2[i]);
    free(a); free(b); free(out1); free(out2); free(ref); free(mag); free(ws);
}

static void test_kernel_case(void **state)
{
    check_case(*state);
}

/* A kernel that names itself as fallback must serve every shape and pass;
   every fallback chain ends in such a kernel. */
static void test_fallbacks_are_total(void **state)
{
    for (int i = 0; i < conv_kernel_count(); i++)
        for (int s = 0; s < NUM_SHAPES; s++)
            for (int p = 0; p < CONV_NUM_PASSES; p++) {
                const conv_kernel *ran = conv_resolve(conv_kernel_at(i), &shapes[s], (conv_pass)p);
                assert_true(ran->supports(&shapes[s], (conv_pass)p));
            }
}

/* Winograd serves 3x3 stride-1 forward; stride 2 and 1x1 go to its fallback, the
   direct kernel, whose own fallback (backward passes) is im2col. */
static void test_winograd_declares_fallback(void **state)
{
    const conv_shape s2 = { 1, 4, 13, 13, 4, 3, 3, 2, 1 }, f1 = { 1, 4, 13, 13, 4, 1, 1, 1, 0 };
    const conv_shape s1 = { 1, 4, 13, 13, 4, 3, 3, 1, 1 };
    for (int i = 0; i < conv_kernel_count(); i++) {
        const conv_kernel *k = conv_kernel_at(i);
        if (strncmp(k->name, "winograd", 8) != 0)
            continue;
        assert_ptr_equal(conv_resolve(k, &s1, CONV_FORWARD), k);
        assert_ptr_not_equal(conv_resolve(k, &s2, CONV_FORWARD), k);
        assert_ptr_not_equal(conv_resolve(k, &f1, CONV_FORWARD), k);
        assert_ptr_equal(conv_resolve(k, &s2, CONV_FORWARD), &conv_direct);
        assert_ptr_equal(conv_resolve(k, &s2, CONV_BACKWARD_DATA), &conv_im2col);
    }
}

/* im2col's forward through the micro-kernel gives the same bits as lowering +
   sgemm, wherever it applies: the runs committed before it existed reproduce.
   The shape table, resnet20's stride-2 layers at a batch whose 32-row tiles
   span images, and a 64x64 image cut into bands. */
static void test_im2col_panels_match_sgemm(void **state)
{
    conv_shape extra[] = {
        { 5, 16, 28, 28, 32, 3, 3, 2, 1 }, { 7, 32, 14, 14, 64, 3, 3, 2, 1 }, { 2, 16, 64, 64, 20, 3, 3, 1, 1 },
    };
    int served = 0;
    for (int i = 0; i < NUM_SHAPES + 3; i++) {
        const conv_shape *cs = i < NUM_SHAPES ? &shapes[i] : &extra[i - NUM_SHAPES];
        if (!im2col_panels_workspace_floats(cs))
            continue;
        served++;
        const size_t nx = (size_t)cs->n * cs->c * cs->h * cs->w, nw = (size_t)cs->k * cs->c * cs->r * cs->s;
        const size_t ny = (size_t)cs->n * cs->k * conv_out_h(cs) * conv_out_w(cs);
        const size_t ws_bytes = conv_im2col.workspace_bytes(cs);
        float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w);
        float *y1 = malloc(ny * sizeof *y1), *y2 = malloc(ny * sizeof *y2);
        void *ws = aligned_alloc(64, (ws_bytes + 63) & ~(size_t)63);
        test_fill_uniform(x, nx, 77 + (uint64_t)i);
        test_fill_uniform(w, nw, 78 + (uint64_t)i);
        test_poison_nan(y1, ny);
        test_poison_nan(y2, ny);
        memset(ws, 0xA5, ws_bytes);
        conv_im2col.forward(cs, x, w, y1, ws);
        memset(ws, 0xA5, ws_bytes);
        im2col_sgemm_forward(cs, x, w, y2, ws);
        char shape[96];
        conv_shape_str(cs, shape, sizeof shape);
        for (size_t j = 0; j < ny; j++)
            if (memcmp(&y1[j], &y2[j], sizeof *y1) != 0)
                fail_msg("%s: micro-kernel path %.9g, sgemm %.9g at %zu", shape, (double)y1[j], (double)y2[j], j);
        free(x); free(w); free(y1); free(y2); free(ws);
    }
    if (!served)
        skip(); /* no AVX-512 or another BLIS configuration: the path never runs */
}

/* ---- the registry ------------------------------------------------------------ */

/* The order every list of kernels is printed in (--help, the benchmark, the
   configuration's comments): the built-in four first, in this order; a new
   kernel is appended. */
static void test_registry_order(void **state)
{
    const char *names[] = { "naive", "im2col", "winograd", "winograd_f2" };
    assert_true(conv_kernel_count() >= 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(conv_kernel_at(i)->name, names[i]);
    assert_null(conv_kernel_at(-1));
    assert_null(conv_kernel_at(conv_kernel_count()));
    char err[256] = "";
    assert_ptr_equal(conv_kernel_find("im2col", err, sizeof err), &conv_im2col);
    assert_string_equal(err, "");
}

/* Every registered kernel keeps the contract's static part: no NULL member, a
   fallback that is itself registered, or the direct kernel (a fallback only, not
   registered: kernels/conv.h), which keeps the same contract. */
static void test_registry_members_set(void **state)
{
    for (int i = 0; i <= conv_kernel_count(); i++) {
        const conv_kernel *k = i < conv_kernel_count() ? conv_kernel_at(i) : &conv_direct;
        assert_true(k->name && k->description && k->supports && k->fallback && k->workspace_bytes &&
                    k->forward && k->backward_data && k->backward_weights && k->tolerance);
        if (k->fallback != &conv_direct)
            assert_ptr_equal(conv_kernel_find(k->fallback->name, NULL, 0), k->fallback);
    }
    assert_null(conv_kernel_find("direct", NULL, 0));
}

static void test_unknown_kernel_lists_valid_ones(void **state)
{
    char err[256];
    assert_null(conv_kernel_find("winogard", err, sizeof err));
    assert_string_equal(err, "unknown convolution kernel 'winogard'; expected one of naive, im2col, winograd, "
                             "winograd_f2");
    assert_null(conv_kernel_find("im2col ", err, sizeof err));
    assert_null(conv_kernel_find("", NULL, 0));   /* no message asked for */
    char tiny[8];
    assert_null(conv_kernel_find("x", tiny, sizeof tiny));
    assert_string_equal(tiny, "unknown");   /* cut short, still terminated */
}

/* Each kernel's tolerance member gives exactly what the if-chain it replaced
   gave: naive 2u, im2col (terms + 2)·u, Winograd its error model (values
   recorded from that chain, as hexadecimal floats). */
static void test_tolerances_unchanged(void **state)
{
    const double u = 0x1p-24;
    for (int s = 0; s < NUM_SHAPES; s++)
        for (int p = 0; p < CONV_NUM_PASSES; p++) {
            assert_true(conv_naive.tolerance(&shapes[s], (conv_pass)p) == 2 * u);
            assert_true(conv_im2col.tolerance(&shapes[s], (conv_pass)p) ==
                        (conv_pass_terms(&shapes[s], (conv_pass)p) + 2) * u);
        }
    static const struct {
        const conv_kernel *k;
        conv_shape cs;
        double forward, backward_data;
    } wino[] = {
        { &conv_winograd, { 3, 7, 5, 5, 9, 3, 3, 1, 0 }, 0x1.2p-14, 0x1.1308e38e38e38p-12 },
        { &conv_winograd, { 2, 16, 14, 14, 32, 3, 3, 1, 1 }, 0x1.bp-12, 0x1.58p-11 },
        { &conv_winograd, { 2, 8, 12, 12, 4, 3, 3, 1, 2 }, 0x1.3p-12, 0x1.ep-13 },
        { &conv_winograd_f2, { 3, 7, 5, 5, 9, 3, 3, 1, 0 }, 0x1.8e38e38e38e38p-16, 0x1p-14 },
        { &conv_winograd_f2, { 1, 8, 28, 28, 8, 3, 3, 1, 1 }, 0x1.6f8p-15, 0x1.6f8p-15 },
        { &conv_winograd_f2, { 2, 8, 12, 12, 4, 3, 3, 1, 2 }, 0x1.ep-15, 0x1.38e38e38e38e3p-16 },
    };
    for (size_t i = 0; i < sizeof wino / sizeof wino[0]; i++) {
        assert_true(wino[i].k->tolerance(&wino[i].cs, CONV_FORWARD) == wino[i].forward);
        assert_true(wino[i].k->tolerance(&wino[i].cs, CONV_BACKWARD_DATA) == wino[i].backward_data);
        assert_true(conv_tolerance(wino[i].k, &wino[i].cs, CONV_FORWARD) == wino[i].forward);
    }
}

/* test_direct: the naive kernel's functions under another name, serving stride 1
   only (the rest falls back to naive), with a tolerance of its own. */
static int direct_tolerance_calls;
static bool direct_supports(const conv_shape *cs, conv_pass pass) { return cs->stride == 1; }
static double direct_tolerance(const conv_shape *cs, conv_pass pass)
{
    direct_tolerance_calls++;
    return 4 * 0x1p-24;
}

static conv_kernel direct_kernel(void)
{
    conv_kernel k = conv_naive;
    k.name = "test_direct";
    k.description = "test only: the naive kernel's loops, stride 1";
    k.supports = direct_supports;
    k.fallback = &conv_naive;
    k.tolerance = direct_tolerance;
    return k;
}

static void test_registered_kernel_runs(void **state)
{
    static conv_kernel direct;
    direct = direct_kernel();
    char err[256] = "";
    const int before = conv_kernel_count();
    assert_int_equal(conv_kernel_register(&direct, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(conv_kernel_count(), before + 1);
    assert_ptr_equal(conv_kernel_at(before), &direct);
    const conv_kernel *k = conv_kernel_find("test_direct", err, sizeof err);
    assert_ptr_equal(k, &direct);
    for (int s = 0; s < NUM_SHAPES; s++)
        for (int p = 0; p < CONV_NUM_PASSES; p++) {
            conv_case c = { k, (conv_pass)p, shapes[s], 2000 + (uint64_t)s, "" };
            assert_ptr_equal(conv_resolve(k, &shapes[s], (conv_pass)p),
                             shapes[s].stride == 1 ? k : &conv_naive);
            check_case(&c);
        }
    assert_true(direct_tolerance_calls > 0);   /* the check asked the kernel that ran */
    /* and it is now listed last */
    assert_null(conv_kernel_find("nope", err, sizeof err));
    assert_string_equal(err, "unknown convolution kernel 'nope'; expected one of naive, im2col, winograd, "
                             "winograd_f2, test_direct");
}

/* Refused registrations leave the registry as it was. */
static void test_register_refusals(void **state)
{
    const int before = conv_kernel_count();
    char err[512];
    static conv_kernel dup, no_tol, unnamed, orphan, stray;
    dup = direct_kernel();
    dup.name = "im2col";
    assert_int_equal(conv_kernel_register(&dup, err, sizeof err), -1);
    assert_non_null(strstr(err, "'im2col': that name is already registered"));
    assert_int_equal(conv_kernel_register(&conv_naive, err, sizeof err), -1);

    no_tol = direct_kernel();
    no_tol.name = "no_tolerance";
    no_tol.tolerance = NULL;
    assert_int_equal(conv_kernel_register(&no_tol, err, sizeof err), -1);
    assert_non_null(strstr(err, "'no_tolerance': its tolerance is NULL"));
    assert_int_equal(conv_kernel_register(NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "its kernel is NULL"));

    unnamed = direct_kernel();
    unnamed.name = "";
    assert_int_equal(conv_kernel_register(&unnamed, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty name"));

    stray = direct_kernel();
    stray.name = "stray";            /* never registered */
    orphan = direct_kernel();
    orphan.name = "orphan";
    orphan.fallback = &stray;
    assert_int_equal(conv_kernel_register(&orphan, err, sizeof err), -1);
    assert_non_null(strstr(err, "'orphan': its fallback 'stray' is not registered"));
    assert_int_equal(conv_kernel_count(), before);
    assert_null(conv_kernel_find("orphan", NULL, 0));
}

/* Fills the registry, so it runs last. */
static void test_register_full(void **state)
{
    static conv_kernel filler[CONV_KERNEL_CAPACITY];
    static char names[CONV_KERNEL_CAPACITY][16];
    char err[512];
    int added = 0;
    while (conv_kernel_count() < CONV_KERNEL_CAPACITY) {
        snprintf(names[added], sizeof names[added], "filler_%d", added);
        filler[added] = direct_kernel();
        filler[added].name = names[added];
        assert_int_equal(conv_kernel_register(&filler[added], err, sizeof err), 0);
        added++;
    }
    static conv_kernel one_more;
    one_more = direct_kernel();
    one_more.name = "one_more";
    assert_int_equal(conv_kernel_register(&one_more, err, sizeof err), -1);
    assert_non_null(strstr(err, "'one_more': the registry is full"));
    assert_int_equal(conv_kernel_count(), CONV_KERNEL_CAPACITY);
    assert_null(conv_kernel_at(CONV_KERNEL_CAPACITY));
}

int main(void)
{
    conv_blis_init();
    /* the registry's kernels, then the direct kernel, which is only a fallback
       (run here on every shape, not only on those Winograd hands it) */
    const int kernels = conv_kernel_count() + 1;
    /* the registry's tests run after the kernel cases, in this order: the
       registering ones change what the registry holds */
    const struct CMUnitTest after[] = {
        cmocka_unit_test(test_fallbacks_are_total),
        cmocka_unit_test(test_winograd_declares_fallback),
        cmocka_unit_test(test_im2col_panels_match_sgemm),
        cmocka_unit_test(test_registry_order),
        cmocka_unit_test(test_registry_members_set),
        cmocka_unit_test(test_unknown_kernel_lists_valid_ones),
        cmocka_unit_test(test_tolerances_unchanged),
        cmocka_unit_test(test_registered_kernel_runs),
        cmocka_unit_test(test_register_refusals),
        cmocka_unit_test(test_register_full),
    };
    const size_t num_after = sizeof after / sizeof after[0];
    const size_t count = (size_t)kernels * CONV_NUM_PASSES * NUM_SHAPES + num_after;
    struct CMUnitTest *tests = calloc(count, sizeof *tests);
    conv_case *cases = calloc(count, sizeof *cases);
    size_t t = 0;
    for (int i = 0; i < kernels; i++)
        for (int p = 0; p < CONV_NUM_PASSES; p++)
            for (int s = 0; s < NUM_SHAPES; s++, t++) {
                conv_case *c = &cases[t];
                char shape[96];
                const conv_kernel *k = i < conv_kernel_count() ? conv_kernel_at(i) : &conv_direct;
                *c = (conv_case){ k, (conv_pass)p, shapes[s], 1000 + (uint64_t)s, "" };
                snprintf(c->name, sizeof c->name, "%s/%s/%s", c->kernel->name, conv_pass_name(c->pass),
                         conv_shape_str(&c->shape, shape, sizeof shape));
                tests[t] = (struct CMUnitTest){ c->name, test_kernel_case, NULL, NULL, c };
            }
    for (size_t i = 0; i < num_after; i++)
        tests[t++] = after[i];
    int failed = _cmocka_run_group_tests("conv_kernels", tests, t, NULL, NULL);
    free(tests);
    free(cases);
    return failed ? 1 : 0;
}
