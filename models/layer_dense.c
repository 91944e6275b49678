/* models/layer_dense.c — fully connected layer y = x·Wᵀ + b on the flattened
 * input; W[out][in], b[out].  The GEMMs are BLIS calls, which never split their
 * reduction across threads (deterministic for any thread count). */
#include <blis.h>
#include <omp.h>
#include <stdio.h>

#include "kernels/conv.h"
#include "models/layers.h"
#include "models/reduce.h"

void layer_sgemm(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc)
{
    float one = 1.0f;
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(omp_get_max_threads(), &rntm);
    /* row-major: element (i, j) of an untransposed A sits at a[i*lda + j] */
    const inc_t rsa = ta ? 1 : lda, csa = ta ? lda : 1, rsb = tb ? 1 : ldb, csb = tb ? ldb : 1;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, (float *)a, rsa, csa, (float *)b, rsb,
                 csb, &beta, c, ldc, 1, NULL, &rntm);
}

void layer_store_grad(float *dst, const float *src, size_t n, bool acc)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        dst[i] = acc ? dst[i] + src[i] : src[i];
}

static bool dense_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    if (s->out < 1) {
        snprintf(err, errlen, "layer '%s': dense layer needs at least 1 unit, got %d", s->name, s->out);
        return false;
    }
    *out = (tshape){ s->out, 1, 1 };
    return true;
}
static size_t dense_params(const layer_spec *s, tshape in, tshape out)
{
    return (size_t)s->out * tshape_count(in) + (size_t)s->out;
}
static size_t none(const layer_spec *s, tshape in, tshape out) { return 0; }
static size_t none_saved(const layer_spec *s, tshape in, tshape out, int b) { return 0; }
static double dense_flops(const layer_spec *s, tshape in, tshape out) { return 2.0 * s->out * tshape_count(in); }

static void dense_fwd(model *m, layer *l, const model_step *st)
{
    const int N = st->batch, in = (int)tshape_count(l->in), out = l->spec.out;
    const float *x = layer_in(m, l), *W = layer_params(m, l), *b = W + (size_t)out * in;
    float *y = layer_out(m, l);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < out; o++)
            y[(size_t)n * out + o] = b[o];
    layer_sgemm(false, true, N, out, in, x, in, W, in, 1.0f, y, out);   /* y += x · Wᵀ */
}

/* One process: the weights' gradient a tile of DENSE_TILE input columns at a
   time, each tile's per-block partials in the thread's workspace and summed
   (reduce_exact_local) while they are in cache, rather than every block's whole
   gradient written out and read back (3.2 MB a block for the cnn's dense layer).
   Element by element the same arithmetic: BLIS sums each dot product over a
   block's images in order whatever the part of C it computes. */
static void dense_bwd_weights_tiled(model *m, layer *l, int N)
{
    const int in = (int)tshape_count(l->in), out = l->spec.out, blocks = dist_blocks(N);
    const float *x = layer_in(m, l), *dy = layer_dout(m, l);
    float *dW = layer_grads(m, l);
    const int tiles = (in + DENSE_TILE - 1) / DENSE_TILE;
    const size_t per_block = (size_t)out * DENSE_TILE;
#pragma omp parallel for schedule(static) num_threads(conv_thread_slots() < omp_get_max_threads() ? conv_thread_slots() : omp_get_max_threads())
    for (int t = 0; t < tiles; t++) {
        omp_set_num_threads(1);
        float *part = (float *)((char *)m->block_ws + (size_t)omp_get_thread_num() * m->block_ws_bytes);
        const int c0 = t * DENSE_TILE, cols = in - c0 < DENSE_TILE ? in - c0 : DENSE_TILE;
        for (int b = 0; b < blocks; b++) {
            const int n0 = b * REDUCE_BLOCK;
            layer_sgemm(true, false, out, cols, block_images(N, b), dy + (size_t)n0 * out, out,
                        x + (size_t)n0 * in + c0, in, 0.0f, part + b * per_block, DENSE_TILE);
        }
        for (int o = 0; o < out; o++)
            reduce_exact_local(part + (size_t)o * DENSE_TILE, per_block, blocks, (size_t)cols,
                               dW + (size_t)o * in + c0);
    }
}

size_t dense_tile_bytes(const layer *l, int blocks)
{
    return (size_t)blocks * l->spec.out * DENSE_TILE * sizeof(float);
}

static void dense_bwd(model *m, layer *l, const model_step *st)
{
    const int N = st->batch, in = (int)tshape_count(l->in), out = l->spec.out;
    const float *x = layer_in(m, l), *W = layer_params(m, l), *dy = layer_dout(m, l);
    const bool own = layer_sums_own_grads(m, l);
    /* one block of images at a time (models/dist.h); with a block for each thread, each
       block's GEMM on one thread (BLIS's bits do not depend on its thread count) */
    const int blocks = dist_blocks(N);
    const bool apart = blocks >= omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) if (apart)
    for (int b = 0; b < blocks; b++) {
        if (apart)
            omp_set_num_threads(1);
        const int n0 = b * REDUCE_BLOCK, nb = block_images(N, b);
        float *dW = layer_block_grads(m, l, b), *db = dW + (size_t)out * in;
        const float *dyb = dy + (size_t)n0 * out;
        if (!own)
            layer_sgemm(true, false, out, in, nb, dyb, out, x + (size_t)n0 * in, in, 0.0f, dW, in); /* dW = dyᵀ · x */
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int n = 0; n < nb; n++)
                s += dyb[(size_t)n * out + o];
            db[o] = (float)s;
        }
    }
    if (own) {
        dense_bwd_weights_tiled(m, l, N);
        reduce_exact_local(layer_block_grads(m, l, 0) + (size_t)out * in, m->num_params, blocks, (size_t)out,
                           layer_grads(m, l) + (size_t)out * in);
    }
    float *dx = layer_din(m, l);
    layer_sgemm(false, false, N, in, out, dy, out, W, in, l->acc_src ? 1.0f : 0.0f, dx, in);   /* dx = dy · W */
}

const op_def op_dense = { "dense", dense_out, dense_params, none, none_saved, dense_flops, dense_fwd, dense_bwd };
