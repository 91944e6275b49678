/* tests/test_batches.c — the validation split, the epoch order and batch
 * assembly: sizes, coverage, keyed reproducibility, thread-count independence,
 * the short last batch, and agreement with the direct warp.  Synthetic images
 * only; the real data set is not read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/augment.h"
#include "data/batches.h"
#include "data/rng.h"
#include "tests/testing.h"

enum { NIMG = 1000, NPIX = AUG_PIXELS };
static const uint64_t SEED = 1234567;
static const aug_params FULL = { .rotation = 15, .shift = 2, .scale = { 0.9, 1.1 }, .flip = 0.5 };

static uint8_t *images, *labels;

static int setup(void **state)
{
    images = malloc((size_t)NIMG * NPIX);
    labels = malloc(NIMG);
    if (!images || !labels)
        return -1;
    rng_stream s = rng_stream_for(SEED, RNG_INIT, 0, 7);
    for (size_t i = 0; i < (size_t)NIMG * NPIX; i++)
        images[i] = (uint8_t)rng_below(&s, 256);
    for (int i = 0; i < NIMG; i++)
        labels[i] = (uint8_t)rng_below(&s, 10);
    return 0;
}

static int teardown(void **state)
{
    free(images);
    free(labels);
    return 0;
}

static void assert_strictly_ascending(const uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i - 1] >= a[i])
            fail_msg("not strictly ascending at %zu: %u then %u", i, a[i - 1], a[i]);
}

static void test_split_sizes_and_coverage(void **state)
{
    enum { COUNT = 60000, VAL = 5000 };
    uint32_t *idx = test_alloc(COUNT * sizeof *idx);
    uint8_t *seen = calloc(COUNT, 1);
    assert_non_null(seen);
    char err[200];
    batch_lists l;
    assert_int_equal(batch_split(idx, COUNT, VAL, 0, SEED, &l, err, sizeof err), 0);
    assert_int_equal(l.n_val, VAL);
    assert_int_equal(l.n_train, COUNT - VAL);
    assert_ptr_equal(l.val, idx);
    assert_ptr_equal(l.train, idx + VAL);
    assert_strictly_ascending(l.val, l.n_val);
    assert_strictly_ascending(l.train, l.n_train);
    for (size_t i = 0; i < l.n_val; i++)
        seen[l.val[i]]++;
    for (size_t i = 0; i < l.n_train; i++)
        seen[l.train[i]]++;
    for (size_t i = 0; i < COUNT; i++)
        if (seen[i] != 1)
            fail_msg("index %zu appears %d times in train ∪ val (seed %llu)", i, seen[i], (unsigned long long)SEED);
    /* the hold-out is a random sample, not a block: both lists span the range */
    assert_true(l.val[0] < 100 && l.val[VAL - 1] > COUNT - 100);
    free(seen);
    free(idx);
}

static void test_split_is_keyed(void **state)
{
    enum { COUNT = 60000, VAL = 5000 };
    uint32_t *a = test_alloc(COUNT * sizeof *a), *b = test_alloc(COUNT * sizeof *b);
    batch_lists la, lb;
    char err[200];
    assert_int_equal(batch_split(a, COUNT, VAL, 0, SEED, &la, err, sizeof err), 0);
    assert_int_equal(batch_split(b, COUNT, VAL, 0, SEED, &lb, err, sizeof err), 0);
    assert_memory_equal(a, b, COUNT * sizeof *a);
    assert_int_equal(batch_split(b, COUNT, VAL, 0, SEED + 1, &lb, err, sizeof err), 0);
    assert_true(memcmp(la.val, lb.val, VAL * sizeof *a) != 0);
    free(a);
    free(b);
}

/* A training limit takes the images after the validation ones: the validation
   list is unchanged and the limited training list is a subset of the full one. */
static void test_split_train_limit(void **state)
{
    enum { COUNT = 60000, VAL = 5000, LIMIT = 1000 };
    uint32_t *full = test_alloc(COUNT * sizeof *full), *lim = test_alloc(COUNT * sizeof *lim);
    batch_lists lf, ll;
    char err[200];
    assert_int_equal(batch_split(full, COUNT, VAL, 0, SEED, &lf, err, sizeof err), 0);
    assert_int_equal(batch_split(lim, COUNT, VAL, LIMIT, SEED, &ll, err, sizeof err), 0);
    assert_int_equal(ll.n_val, VAL);
    assert_int_equal(ll.n_train, LIMIT);
    assert_memory_equal(ll.val, lf.val, VAL * sizeof *full);
    assert_strictly_ascending(ll.train, ll.n_train);
    size_t j = 0;
    for (size_t i = 0; i < ll.n_train; i++) {
        while (j < lf.n_train && lf.train[j] < ll.train[i])
            j++;
        assert_true(j < lf.n_train && lf.train[j] == ll.train[i]);
    }
    /* a limit beyond what is left means all of it */
    assert_int_equal(batch_split(lim, COUNT, VAL, COUNT, SEED, &ll, err, sizeof err), 0);
    assert_int_equal(ll.n_train, COUNT - VAL);
    /* no validation at all is allowed */
    assert_int_equal(batch_split(lim, COUNT, 0, 0, SEED, &ll, err, sizeof err), 0);
    assert_int_equal(ll.n_val, 0);
    assert_int_equal(ll.n_train, COUNT);
    free(full);
    free(lim);
}

static void test_split_errors(void **state)
{
    uint32_t idx[10];
    batch_lists l;
    char err[200];
    err[0] = 0;
    assert_int_equal(batch_split(idx, 10, 10, 0, SEED, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "error: split:"));
    assert_null(l.val);
    assert_int_equal(l.n_train, 0);
    err[0] = 0;
    assert_int_equal(batch_split(idx, 0, 0, 0, SEED, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "error: split:"));
}

static int cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void test_shuffle(void **state)
{
    enum { COUNT = 60000, VAL = 5000, NT = COUNT - VAL };
    uint32_t *idx = test_alloc(COUNT * sizeof *idx), *o0 = test_alloc(NT * sizeof *o0),
             *o1 = test_alloc(NT * sizeof *o1), *again = test_alloc(NT * sizeof *again);
    batch_lists l;
    char err[200];
    assert_int_equal(batch_split(idx, COUNT, VAL, 0, SEED, &l, err, sizeof err), 0);
    batch_shuffle(o0, l.train, l.n_train, SEED, 0);
    batch_shuffle(o1, l.train, l.n_train, SEED, 1);
    batch_shuffle(again, l.train, l.n_train, SEED, 0);
    assert_memory_equal(o0, again, NT * sizeof *o0);
    assert_true(memcmp(o0, o1, NT * sizeof *o0) != 0);
    assert_true(memcmp(o0, l.train, NT * sizeof *o0) != 0);
    /* fixed points of a random permutation: about 1 expected, never thousands */
    size_t same = 0;
    for (size_t i = 0; i < NT; i++)
        same += o0[i] == o1[i];
    assert_true(same < 20);
    /* a permutation of the training list */
    qsort(o0, NT, sizeof *o0, cmp_u32);
    qsort(o1, NT, sizeof *o1, cmp_u32);
    assert_memory_equal(o0, l.train, NT * sizeof *o0);
    assert_memory_equal(o1, l.train, NT * sizeof *o1);
    free(idx);
    free(o0);
    free(o1);
    free(again);
}

/* The epoch order of the synthetic set (split of NIMG, 100 held out). */
static size_t synthetic_order(uint32_t *idx, uint32_t *order, uint64_t epoch)
{
    batch_lists l;
    char err[200];
    if (batch_split(idx, NIMG, 100, 0, SEED, &l, err, sizeof err) != 0)
        fail_msg("%s", err);
    batch_shuffle(order, l.train, l.n_train, SEED, epoch);
    return l.n_train;
}

/* Every batch of an epoch, for two thread counts: the same bytes. */
static void test_fill_thread_count_independent(void **state)
{
    enum { B = 64 };
    uint32_t idx[NIMG], order[NIMG];
    const size_t n = synthetic_order(idx, order, 3);
    float *x1 = test_alloc(sizeof(float) * B * NPIX), *x2 = test_alloc(sizeof(float) * B * NPIX);
    int l1[B], l2[B];
    const batch_source src = { images, labels, NIMG };
    const int saved = omp_get_max_threads();
    for (int pass = 0; pass < 2; pass++) {
        const aug_params *aug = pass ? &FULL : NULL;
        for (size_t start = 0; start < n; start += B) {
            test_poison_nan(x1, (size_t)B * NPIX);
            test_poison_nan(x2, (size_t)B * NPIX);
            omp_set_num_threads(1);
            const size_t c1 = batch_fill(x1, l1, &src, order, n, start, B, aug, SEED, 3);
            omp_set_num_threads(2);
            const size_t c2 = batch_fill(x2, l2, &src, order, n, start, B, aug, SEED, 3);
            assert_int_equal(c1, c2);
            assert_memory_equal(x1, x2, c1 * NPIX * sizeof(float));
            assert_memory_equal(l1, l2, c1 * sizeof(int));
        }
    }
    omp_set_num_threads(saved);
    free(x1);
    free(x2);
}

/* 900 training images in batches of 64: 14 full batches and one of 4; the
   rest of the buffer is left alone; past the end nothing is written. */
static void test_fill_short_last_batch(void **state)
{
    enum { B = 64 };
    uint32_t idx[NIMG], order[NIMG];
    const size_t n = synthetic_order(idx, order, 0);
    assert_int_equal(n, 900);
    assert_int_equal(batch_count(n, B), 15);
    float *x = test_alloc(sizeof(float) * B * NPIX);
    int lab[B];
    const batch_source src = { images, labels, NIMG };
    test_poison_nan(x, (size_t)B * NPIX);
    for (int b = 0; b < B; b++)
        lab[b] = -1;
    assert_int_equal(batch_fill(x, lab, &src, order, n, 14 * B, B, &FULL, SEED, 0), 4);
    for (size_t p = 0; p < (size_t)B * NPIX; p++)
        assert_true(p < 4 * NPIX ? !isnan(x[p]) : isnan(x[p]));
    for (int b = 0; b < B; b++)
        assert_true(b < 4 ? lab[b] == labels[order[14 * B + b]] : lab[b] == -1);
    assert_int_equal(batch_fill(x, lab, &src, order, n, n, B, &FULL, SEED, 0), 0);
    assert_int_equal(batch_fill(x, lab, &src, order, n, n + 5, B, &FULL, SEED, 0), 0);
    free(x);
}

/* Image b of a batch is the direct warp of its data-set image, keyed by the
   data-set index (not the position in the batch), with its label. */
static void test_fill_matches_direct_warp(void **state)
{
    enum { B = 50 };
    uint32_t idx[NIMG], order[NIMG];
    const size_t n = synthetic_order(idx, order, 5);
    float *x = test_alloc(sizeof(float) * B * NPIX), want[NPIX];
    int lab[B];
    const batch_source src = { images, labels, NIMG };
    for (size_t start = 0; start < n; start += 7 * B) {
        const size_t c = batch_fill(x, lab, &src, order, n, start, B, &FULL, SEED, 5);
        for (size_t b = 0; b < c; b++) {
            const uint32_t i = order[start + b];
            aug_warp_normalise(images + (size_t)i * NPIX, want, &FULL, SEED, 5, i);
            assert_memory_equal(x + b * NPIX, want, sizeof want);
            assert_int_equal(lab[b], labels[i]);
        }
        batch_fill(x, lab, &src, order, n, start, B, NULL, SEED, 5);
        for (size_t b = 0; b < c; b++) {
            aug_normalise(images + (size_t)order[start + b] * NPIX, want);
            assert_memory_equal(x + b * NPIX, want, sizeof want);
        }
    }
    /* the same image at another position of another batch: the same warp */
    const uint32_t one[1] = { order[17] };
    batch_fill(x, lab, &src, one, 1, 0, B, &FULL, SEED, 5);
    aug_warp_normalise(images + (size_t)order[17] * NPIX, want, &FULL, SEED, 5, order[17]);
    assert_memory_equal(x, want, sizeof want);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_sizes_and_coverage),
        cmocka_unit_test(test_split_is_keyed),
        cmocka_unit_test(test_split_train_limit),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_shuffle),
        cmocka_unit_test(test_fill_thread_count_independent),
        cmocka_unit_test(test_fill_short_last_batch),
        cmocka_unit_test(test_fill_matches_direct_warp),
    };
    return cmocka_run_group_tests_name("batches", tests, setup, teardown);
}
