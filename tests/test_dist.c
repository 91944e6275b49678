/* tests/test_dist.c — one training step over several processes gives one process's
 * bits (models/dist.h), and the exact sum behind it (models/reduce.h).
 *
 * The processes are threads here: an in-process exchange (loop_*) does what MPI's
 * collectives do for tools/mpi/dist_mpi.c, so the property is checked in every
 * `make test`, sanitisers included; `make test-cluster` checks it again under mpirun.
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testing.h"

#include "models/dist.h"
#include "models/layers.h"
#include "models/model.h"
#include "models/reduce.h"
#include "models/train_math.h"

/* ---- an exchange between threads ------------------------------------------------ */

enum { MAX_RANKS = 4 };

typedef struct loop_world {
    int ranks;
    pthread_barrier_t barrier;
    double *gathered;          /* the blocks every rank contributed */
    const void *part[MAX_RANKS]; /* each rank's array in a reduction */
    model_dist dist[MAX_RANKS];
} loop_world;

static void loop_gather(const model_dist *d, double *all, int blocks, size_t per)
{
    loop_world *w = d->impl;
    int first, count;
    dist_share(d, blocks, &first, &count);
    memcpy(w->gathered + (size_t)first * per, all + (size_t)first * per, (size_t)count * per * sizeof *all);
    pthread_barrier_wait(&w->barrier);
    memcpy(all, w->gathered, (size_t)blocks * per * sizeof *all);
    pthread_barrier_wait(&w->barrier);
}

/* v = op over the ranks' v, each rank reading every rank's array before any writes */
#define LOOP_REDUCE(NAME, TYPE, OP)                                                                        \
    static void NAME(const model_dist *d, TYPE *v, size_t n)                                               \
    {                                                                                                      \
        loop_world *w = d->impl;                                                                           \
        TYPE *out = test_alloc(n * sizeof *out + 1);                                                       \
        w->part[d->rank] = v;                                                                              \
        pthread_barrier_wait(&w->barrier);                                                                 \
        for (size_t i = 0; i < n; i++) {                                                                   \
            TYPE a = ((const TYPE *)w->part[0])[i];                                                        \
            for (int r = 1; r < w->ranks; r++)                                                             \
                a = OP(a, ((const TYPE *)w->part[r])[i]);                                                  \
            out[i] = a;                                                                                    \
        }                                                                                                  \
        pthread_barrier_wait(&w->barrier);                                                                 \
        memcpy(v, out, n * sizeof *v);                                                                     \
        free(out);                                                                                         \
    }
#define MAX_OF(a, b) ((a) > (b) ? (a) : (b))
#define SUM_OF(a, b) ((a) + (b))
LOOP_REDUCE(loop_max_i8, int8_t, MAX_OF)
LOOP_REDUCE(loop_sum_whole, double, SUM_OF)

static void loop_start(loop_world *w, int ranks, size_t gathered_doubles)
{
    w->ranks = ranks;
    pthread_barrier_init(&w->barrier, NULL, (unsigned)ranks);
    w->gathered = test_alloc(gathered_doubles * sizeof *w->gathered + 8);
    for (int r = 0; r < ranks; r++)
        w->dist[r] = (model_dist){ .rank = r, .ranks = ranks, .gather = loop_gather, .max_i8 = loop_max_i8,
                                   .sum_whole = loop_sum_whole, .impl = w };
}

static void loop_stop(loop_world *w)
{
    pthread_barrier_destroy(&w->barrier);
    free(w->gathered);
}

static void run_ranks(int ranks, void *(*body)(void *), void *args, size_t arg_size)
{
    pthread_t t[MAX_RANKS];
    for (int r = 0; r < ranks; r++)
        assert_int_equal(pthread_create(&t[r], NULL, body, (char *)args + (size_t)r * arg_size), 0);
    for (int r = 0; r < ranks; r++)
        pthread_join(t[r], NULL);
}

/* ---- the exact sum --------------------------------------------------------------- */

static reduce_scratch scratch_for(size_t n)
{
    return (reduce_scratch){ test_alloc(n + 1), test_alloc(n * sizeof(double) + 8) };
}
static void scratch_free(reduce_scratch s) { free(s.exponent), free(s.sum); }

/* Where float addition in any order loses a term, the exact sum keeps it. */
static void test_reduce_is_exact(void **state)
{
    const float v[4] = { 0x1p24f, 1.0f, -0x1p24f, 1.0f }; /* one value per block */
    float seq = 0, out;
    for (int b = 0; b < 4; b++)
        seq += v[b];
    assert_true(seq == 1.0f); /* 2^24 + 1 rounds back to 2^24 */
    reduce_scratch s = scratch_for(1);
    reduce_exact(v, 1, 4, 4, 1, &out, NULL, s);
    assert_true(out == 2.0f);
    const float zeros[3] = { 0, -0.0f, 0 }, inf[2] = { 1.0f, INFINITY };
    reduce_exact(zeros, 1, 3, 3, 1, &out, NULL, s);
    assert_true(out == 0.0f);
    reduce_exact(inf, 1, 2, 2, 1, &out, NULL, s);
    assert_true(isnan(out));
    scratch_free(s);
}

/* Random values over 40 binades, 8 blocks: the blocks in any order give the same bits,
   within a float's rounding of the sum in long double (and the grid's, far smaller). */
static void test_reduce_ignores_block_order(void **state)
{
    enum { N = 4099, B = 8 };
    float *v = test_alloc(sizeof(float) * N * B), *perm = test_alloc(sizeof(float) * N * B);
    float *a = test_alloc(sizeof(float) * N), *b = test_alloc(sizeof(float) * N);
    test_fill_uniform(v, (size_t)N * B, 7);
    for (size_t i = 0; i < (size_t)N * B; i++)
        v[i] = ldexpf(v[i], (int)(i * 2654435761u % 40) - 20);
    static const int order[B] = { 5, 2, 7, 0, 3, 6, 1, 4 };
    for (int j = 0; j < B; j++)
        memcpy(perm + (size_t)j * N, v + (size_t)order[j] * N, sizeof(float) * N);
    reduce_scratch s = scratch_for(N);
    reduce_exact(v, N, B, B, N, a, NULL, s);
    reduce_exact(perm, N, B, B, N, b, NULL, s);
    assert_memory_equal(a, b, sizeof(float) * N);
    for (size_t i = 0; i < N; i++) { /* a float's rounding, and 8 roundings to the grid (2^-47 of the largest) */
        long double ref = 0, largest = 0;
        for (int j = 0; j < B; j++)
            ref += v[(size_t)j * N + i], largest = fmaxl(largest, fabsl(v[(size_t)j * N + i]));
        assert_true(fabsl((long double)a[i] - ref) <= fabsl(ref) * 0x1p-24L + largest * 0x1p-45L);
    }
    scratch_free(s);
    free(v), free(perm), free(a), free(b);
}

typedef struct reduce_rank {
    const model_dist *d;
    const float *v;
    int n, blocks;
    float *out;
} reduce_rank;

static void *reduce_body(void *p)
{
    reduce_rank *r = p;
    int first, count;
    dist_share(r->d, r->blocks, &first, &count);
    reduce_scratch s = scratch_for((size_t)r->n);
    reduce_exact(r->v + (size_t)first * r->n, (size_t)r->n, count, r->blocks, (size_t)r->n, r->out, r->d, s);
    scratch_free(s);
    return NULL;
}

/* Split over 2, 3 and 4 ranks (one of them with no block at all), the same bits. */
static void test_reduce_over_ranks(void **state)
{
    enum { N = 1000, B = 3 };
    float *v = test_alloc(sizeof(float) * N * B), *one = test_alloc(sizeof(float) * N);
    test_fill_uniform(v, (size_t)N * B, 11);
    reduce_scratch s = scratch_for(N);
    reduce_exact(v, N, B, B, N, one, NULL, s);
    scratch_free(s);
    for (int ranks = 2; ranks <= MAX_RANKS; ranks++) {
        loop_world w;
        loop_start(&w, ranks, 1);
        reduce_rank args[MAX_RANKS];
        for (int r = 0; r < ranks; r++)
            args[r] = (reduce_rank){ &w.dist[r], v, N, B, test_alloc(sizeof(float) * N) };
        run_ranks(ranks, reduce_body, args, sizeof args[0]);
        for (int r = 0; r < ranks; r++) {
            assert_memory_equal(args[r].out, one, sizeof(float) * N);
            free(args[r].out);
        }
        loop_stop(&w);
    }
    free(v), free(one);
}

/* ---- a training step ------------------------------------------------------------- */

enum { STEP_BATCH = 40 }; /* blocks of 16, 16 and 8 */

typedef struct step_rank {
    const model_dist *d;
    int threads;          /* > 0: this many OpenMP threads, more than the kernels' slots */
    const char *model_name;
    const float *images;
    const int *labels;
    float *grads, *state; /* the step's parameter gradients and batch-norm statistics */
    size_t num_params, num_state;
} step_rank;

static model_desc small_desc(const char *name)
{
    model_desc d = { "", 1, 4, 0.5f, 10, { 1, 28, 28 } };
    snprintf(d.name, sizeof d.name, "%s", name);
    model_desc_canonical(&d);
    return d;
}

/* One training step of this rank's images: forward, loss over the whole batch, backward. */
static void *step_body(void *p)
{
    step_rank *r = p;
    model m;
    char err[256];
    if (r->threads > 0)
        omp_set_num_threads(r->threads);
    const model_desc desc = small_desc(r->model_name);
    if (model_build(&m, &desc, &conv_winograd, STEP_BATCH, err, sizeof err))
        fail_msg("%s", err);
    m.dist = r->d;
    model_init_params(&m, 3, CONV_INIT_HE_NORMAL);
    int first, n;
    dist_images(r->d, STEP_BATCH, &first, &n);
    memcpy(model_input(&m), r->images + (size_t)first * 784, (size_t)n * 784 * sizeof(float));
    const model_step st = { n, true, 9, 4, 0, .first = first, .total = STEP_BATCH };
    const float *logits = model_forward(&m, &st);
    float *dlogits = test_alloc((size_t)STEP_BATCH * 10 * sizeof(float));
    for (int j = 0; j < dist_blocks(n); j++)
        softmax_cross_entropy_of(logits + (size_t)j * REDUCE_BLOCK * 10, r->labels + first + j * REDUCE_BLOCK,
                                 block_images(n, j), 10, 0.1, STEP_BATCH, dlogits + (size_t)j * REDUCE_BLOCK * 10,
                                 NULL, NULL);
    model_backward(&m, &st, dlogits);
    r->num_params = m.num_params, r->num_state = m.num_state;
    r->grads = test_alloc(m.num_params * sizeof(float));
    r->state = test_alloc(m.num_state * sizeof(float));
    memcpy(r->grads, m.grads, m.num_params * sizeof(float));
    memcpy(r->state, m.state, m.num_state * sizeof(float));
    free(dlogits);
    model_free(&m);
    return NULL;
}

/* cnn (dropout, dense layers) and resnet (batch norm, residual adds, a projection):
   2 and 3 processes give one process's gradients and statistics, bit for bit; and so
   does one process asking for more threads than the machine has cores. */
static void test_step_over_ranks(void **state)
{
    float *images = test_alloc((size_t)STEP_BATCH * 784 * sizeof(float));
    int labels[STEP_BATCH];
    test_fill_uniform(images, (size_t)STEP_BATCH * 784, 5);
    for (int i = 0; i < STEP_BATCH; i++)
        labels[i] = (i * 7) % 10;
    static const char *const models[] = { "cnn", "resnet" };
    for (int k = 0; k < 2; k++) {
        /* one process, with more threads than the kernels keep workspace for (they
           run on as many as they have) */
        step_rank one = { NULL, conv_thread_slots() + 1, models[k], images, labels };
        step_body(&one);
        assert_true(one.num_params > 0);
        for (int ranks = 2; ranks <= 3; ranks++) {
            loop_world w;
            loop_start(&w, ranks, (size_t)dist_blocks(STEP_BATCH) * 2 * 1024);
            step_rank args[MAX_RANKS];
            for (int r = 0; r < ranks; r++)
                args[r] = (step_rank){ &w.dist[r], 0, models[k], images, labels };
            run_ranks(ranks, step_body, args, sizeof args[0]);
            for (int r = 0; r < ranks; r++) {
                assert_int_equal(args[r].num_params, one.num_params);
                assert_memory_equal(args[r].grads, one.grads, one.num_params * sizeof(float));
                assert_memory_equal(args[r].state, one.state, one.num_state * sizeof(float));
                free(args[r].grads), free(args[r].state);
            }
            loop_stop(&w);
        }
        free(one.grads), free(one.state);
    }
    free(images);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_is_exact),
        cmocka_unit_test(test_reduce_ignores_block_order),
        cmocka_unit_test(test_reduce_over_ranks),
        cmocka_unit_test(test_step_over_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
