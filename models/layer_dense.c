/* models/layer_dense.c — fully connected layer y = x·Wᵀ + b on the flattened
 * input; W[out][in], b[out].  The GEMMs are BLIS calls, which never split their
 * reduction across threads (deterministic for any thread count). */
#include <blis.h>
#include <omp.h>
#include <stdio.h>

#include "models/layers.h"

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

static void dense_bwd(model *m, layer *l, const model_step *st)
{
    const int N = st->batch, in = (int)tshape_count(l->in), out = l->spec.out;
    const float *x = layer_in(m, l), *W = layer_params(m, l), *dy = layer_dout(m, l);
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
        layer_sgemm(true, false, out, in, nb, dyb, out, x + (size_t)n0 * in, in, 0.0f, dW, in); /* dW = dyᵀ · x */
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int n = 0; n < nb; n++)
                s += dyb[(size_t)n * out + o];
            db[o] = (float)s;
        }
    }
    float *dx = layer_din(m, l);
    layer_sgemm(false, false, N, in, out, dy, out, W, in, l->acc_src ? 1.0f : 0.0f, dx, in);   /* dx = dy · W */
}

const op_def op_dense = { "dense", dense_out, dense_params, none, none_saved, dense_flops, dense_fwd, dense_bwd };
