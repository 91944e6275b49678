/* tests/test_conv.c — every kernel × pass × an awkward shape table, against the
 * float64 reference; plus bitwise equality between 1 and 2 threads.
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

static void test_kernel_case(void **state)
{
    const conv_case *t = *state;
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

/* A kernel that names itself as fallback must serve every shape and pass;
   every fallback chain ends in such a kernel. */
static void test_fallbacks_are_total(void **state)
{
    for (int i = 0; conv_kernels[i]; i++)
        for (int s = 0; s < NUM_SHAPES; s++)
            for (int p = 0; p < CONV_NUM_PASSES; p++) {
                const conv_kernel *ran = conv_resolve(conv_kernels[i], &shapes[s], (conv_pass)p);
                assert_true(ran->supports(&shapes[s], (conv_pass)p));
            }
    assert_ptr_equal(conv_kernel_find("im2col"), &conv_im2col);
    assert_null(conv_kernel_find("im2col "));
}

/* Winograd serves 3x3 stride-1 forward; stride 2 and 1x1 go to its fallback. */
static void test_winograd_declares_fallback(void **state)
{
    const conv_shape s2 = { 1, 4, 13, 13, 4, 3, 3, 2, 1 }, f1 = { 1, 4, 13, 13, 4, 1, 1, 1, 0 };
    const conv_shape s1 = { 1, 4, 13, 13, 4, 3, 3, 1, 1 };
    for (int i = 0; conv_kernels[i]; i++) {
        const conv_kernel *k = conv_kernels[i];
        if (strncmp(k->name, "winograd", 8) != 0)
            continue;
        assert_ptr_equal(conv_resolve(k, &s1, CONV_FORWARD), k);
        assert_ptr_not_equal(conv_resolve(k, &s2, CONV_FORWARD), k);
        assert_ptr_not_equal(conv_resolve(k, &f1, CONV_FORWARD), k);
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

int main(void)
{
    conv_blis_init();
    int kernels = 0;
    while (conv_kernels[kernels])
        kernels++;
    const size_t count = (size_t)kernels * CONV_NUM_PASSES * NUM_SHAPES + 3;
    struct CMUnitTest *tests = calloc(count, sizeof *tests);
    conv_case *cases = calloc(count, sizeof *cases);
    size_t t = 0;
    for (int i = 0; i < kernels; i++)
        for (int p = 0; p < CONV_NUM_PASSES; p++)
            for (int s = 0; s < NUM_SHAPES; s++, t++) {
                conv_case *c = &cases[t];
                char shape[96];
                *c = (conv_case){ conv_kernels[i], (conv_pass)p, shapes[s], 1000 + (uint64_t)s, "" };
                snprintf(c->name, sizeof c->name, "%s/%s/%s", c->kernel->name, conv_pass_name(c->pass),
                         conv_shape_str(&c->shape, shape, sizeof shape));
                tests[t] = (struct CMUnitTest){ c->name, test_kernel_case, NULL, NULL, c };
            }
    tests[t++] = (struct CMUnitTest){ "fallbacks_are_total", test_fallbacks_are_total, NULL, NULL, NULL };
    tests[t++] = (struct CMUnitTest){ "winograd_declares_fallback", test_winograd_declares_fallback,
                                      NULL, NULL, NULL };
    tests[t++] = (struct CMUnitTest){ "im2col_panels_match_sgemm", test_im2col_panels_match_sgemm, NULL, NULL,
                                      NULL };
    int failed = _cmocka_run_group_tests("conv_kernels", tests, t, NULL, NULL);
    free(tests);
    free(cases);
    return failed ? 1 : 0;
}
