/* tests/test_isa.c — the AVX-512 copies of the dispatched kernels compute the AVX2
 * copies' bits (kernels/isa.h).
 *
 * Every Winograd kernel and pass and the direct kernel's forward on an awkward shape table, the benchmark's layer
 * shapes at a small batch and random shapes, run once with each copy (1 and 2
 * threads), compared bit for bit; a counter shows that the AVX-512 copy really
 * ran.  On a CPU without AVX-512, or in the ARCH=x86-64-v4 build (one copy only),
 * there is nothing to compare and the comparison is reported as skipped.  Also:
 * PROBADOR_ISA is checked like any other input.
 */
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
#include "kernels/isa.h"
#include "tests/testing.h"

/* n, c, h, w, k, r, s, stride, pad: ragged tiles, odd channel counts (lanes past C
   and K), paddings 0..2, and the benchmark's layers at batch 4 */
static const conv_shape shapes[] = {
    {3, 2, 5, 5, 3, 3, 3, 1, 1},    {3, 7, 5, 5, 9, 3, 3, 1, 0},    {1, 2, 4, 4, 3, 3, 3, 1, 1},
    {3, 5, 29, 29, 6, 3, 3, 1, 1},  {2, 16, 14, 14, 32, 3, 3, 1, 1}, {3, 32, 7, 7, 33, 3, 3, 1, 1},
    {2, 17, 11, 13, 19, 3, 3, 1, 2}, {9, 40, 17, 19, 11, 3, 3, 1, 1}, {41, 64, 7, 7, 60, 3, 3, 1, 1},
    {4, 1, 28, 28, 32, 3, 3, 1, 1},  {4, 32, 28, 28, 32, 3, 3, 1, 1}, {4, 32, 14, 14, 64, 3, 3, 1, 1},
    {4, 64, 14, 14, 64, 3, 3, 1, 1}, {4, 16, 28, 28, 16, 3, 3, 1, 1}, {4, 64, 7, 7, 64, 3, 3, 1, 1},
    {4, 1, 28, 28, 16, 3, 3, 1, 1},  {4, 16, 28, 28, 32, 3, 3, 2, 1}, {4, 16, 28, 28, 32, 1, 1, 2, 0},
    {4, 32, 14, 14, 64, 3, 3, 2, 1}, {4, 32, 14, 14, 64, 1, 1, 2, 0}, {3, 6, 29, 29, 7, 3, 3, 2, 1},
};
enum { NUM_SHAPES = sizeof shapes / sizeof shapes[0], RANDOM_SHAPES = 40 };

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* One pass with the chosen copy and thread count into out (poisoned first). */
static void run_copy(bool avx512, int threads, const conv_kernel *k, const conv_shape *cs, conv_pass pass,
                     const float *a, const float *b, float *out, size_t out_count, void *ws)
{
    assert_true(isa_force_avx512(avx512));
    test_poison_nan(out, out_count);
    omp_set_num_threads(threads);
    const unsigned long before = isa_avx512_runs();
    conv_run(k, cs, pass, a, b, out, ws);
    if (avx512 && isa_avx512_runs() == before)
        fail_msg("%s %s: the AVX-512 copy was asked for but did not run", k->name, conv_pass_name(pass));
    if (!avx512 && isa_avx512_runs() != before)
        fail_msg("%s %s: the AVX2 copy was asked for but the AVX-512 one ran", k->name, conv_pass_name(pass));
}

/* Both copies on one kernel, shape and pass; returns the outputs compared. */
static size_t compare_copies(const conv_kernel *k, const conv_shape *cs, conv_pass pass, uint64_t seed)
{
    if (!k->supports(cs, pass))
        return 0;
    const size_t a_count = pass == CONV_BACKWARD_DATA ? conv_y_count(cs) : conv_x_count(cs);
    const size_t b_count = pass == CONV_BACKWARD_WEIGHTS ? conv_y_count(cs) : conv_w_count(cs);
    const size_t out_count = conv_pass_out_count(cs, pass), ws_bytes = conv_workspace_bytes(k, cs);
    float *a = test_alloc(a_count * sizeof *a), *b = test_alloc(b_count * sizeof *b);
    float *ref = test_alloc(out_count * sizeof *ref), *got = test_alloc(out_count * sizeof *got);
    void *ws = test_alloc(ws_bytes);
    test_fill_uniform(a, a_count, seed);
    test_fill_uniform(b, b_count, seed + 1);
    char shape[96];
    conv_shape_str(cs, shape, sizeof shape);

    run_copy(false, 2, k, cs, pass, a, b, ref, out_count, ws);
    for (int threads = 1; threads <= 2; threads++) {
        run_copy(true, threads, k, cs, pass, a, b, got, out_count, ws);
        for (size_t i = 0; i < out_count; i++)
            if (memcmp(&ref[i], &got[i], sizeof(float)) != 0)
                fail_msg("%s %s shape %s seed %llu, %d thread(s): the AVX-512 copy gives %.9g at output "
                         "%zu, the AVX2 copy %.9g",
                         k->name, conv_pass_name(pass), shape, (unsigned long long)seed, threads,
                         (double)got[i], i, (double)ref[i]);
    }
    free(a), free(b), free(ref), free(got), free(ws);
    return out_count;
}

static void test_copies_compute_the_same_bits(void **state)
{
    (void)state;
    if (!isa_force_avx512(false) || !isa_force_avx512(true)) {
        printf("isa: %s; one copy only, nothing to compare\n", isa_describe());
        skip();
    }
    const bool was = isa_avx512();
    const int threads = omp_get_max_threads();
    const conv_kernel *kernels[] = {&conv_winograd, &conv_winograd_f2, &conv_direct};
    size_t outputs = 0, cases = 0;
    for (int ki = 0; ki < 3; ki++)
        for (int p = 0; p < CONV_NUM_PASSES; p++) {
            for (int i = 0; i < NUM_SHAPES; i++) {
                const size_t n = compare_copies(kernels[ki], &shapes[i], (conv_pass)p, 100 + i);
                outputs += n, cases += n > 0;
            }
            uint64_t s = 0x2545F4914F6CDD1Dull + (uint64_t)p;
            for (int i = 0; i < RANDOM_SHAPES; i++) {
                /* 3x3 stride 1 for Winograd; for the direct kernel also 1x1, 5x5, stride 2 */
                const int f = ki < 2 ? 3 : 1 + 2 * (int)(next_random(&s) % 3);
                const int st = ki < 2 ? 1 : 1 + (int)(next_random(&s) % 2);
                const conv_shape cs = {1 + (int)(next_random(&s) % 4), 1 + (int)(next_random(&s) % 40),
                                       1 + (int)(next_random(&s) % 24), 1 + (int)(next_random(&s) % 24),
                                       1 + (int)(next_random(&s) % 40), f, f, st,
                                       (int)(next_random(&s) % (f / 2 + 2))};
                if (!conv_shape_valid(&cs))
                    continue;
                const size_t n = compare_copies(kernels[ki], &cs, (conv_pass)p, 500 + i);
                outputs += n, cases += n > 0;
            }
        }
    isa_force_avx512(was);
    omp_set_num_threads(threads);
    assert_true(cases > 200);
    printf("isa: AVX-512 and AVX2 copies bit-identical on %zu kernel x pass x shape cases, %zu outputs\n",
           cases, outputs);
}

/* PROBADOR_ISA: avx2 always accepted, avx512 only where it runs, anything else an
   error naming the choices. */
static void test_env_checked(void **state)
{
    (void)state;
    char err[256];
    const char *saved = getenv("PROBADOR_ISA");
    char *keep = saved ? strdup(saved) : NULL;

    setenv("PROBADOR_ISA", "avx2", 1);
    assert_int_equal(isa_check_env(err, sizeof err), 0);
    setenv("PROBADOR_ISA", "sse", 1);
    assert_int_equal(isa_check_env(err, sizeof err), -1);
    assert_non_null(strstr(err, "PROBADOR_ISA='sse'"));
    assert_non_null(strstr(err, "expected avx2 or avx512"));
    setenv("PROBADOR_ISA", "avx512", 1);
    const bool can = isa_force_avx512(true);
    assert_int_equal(isa_check_env(err, sizeof err), can ? 0 : -1);
    if (!can)
        assert_non_null(strstr(err, "no AVX-512"));
    unsetenv("PROBADOR_ISA");
    assert_int_equal(isa_check_env(err, sizeof err), 0);
    if (keep)
        setenv("PROBADOR_ISA", keep, 1);
    free(keep);
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_compute_the_same_bits),
        cmocka_unit_test(test_env_checked),
    };
    return cmocka_run_group_tests_name("isa", tests, NULL, NULL) ? 1 : 0;
}
