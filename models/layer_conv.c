/* models/layer_conv.c — convolution through the model's chosen kernel. */
#include <omp.h>
#include <stdio.h>

#include "models/layers.h"

static conv_shape conv_shape_of(const layer *l, int batch)
{
    return (conv_shape){ batch, l->in.c, l->in.h, l->in.w, l->spec.out, l->spec.size, l->spec.size,
                         l->spec.stride, l->spec.pad };
}

static bool conv_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    conv_shape cs = { 1, in.c, in.h, in.w, s->out, s->size, s->size, s->stride, s->pad };
    if (s->out < 1 || s->size < 1 || s->stride < 1 || s->pad < 0 || !conv_shape_valid(&cs)) {
        snprintf(err, errlen, "layer '%s': invalid convolution %d->%d %dx%d stride %d pad %d on %dx%d", s->name,
                 in.c, s->out, s->size, s->size, s->stride, s->pad, in.h, in.w);
        return false;
    }
    *out = (tshape){ s->out, conv_out_h(&cs), conv_out_w(&cs) };
    return true;
}

static size_t conv_params(const layer_spec *s, tshape in, tshape out)
{
    return (size_t)s->out * in.c * s->size * s->size;
}
static size_t none(const layer_spec *s, tshape in, tshape out) { return 0; }
static size_t none_saved(const layer_spec *s, tshape in, tshape out, int b) { return 0; }

static double conv_flops_per_image(const layer_spec *s, tshape in, tshape out)
{
    return 2.0 * out.c * out.h * out.w * in.c * s->size * s->size;
}

static void conv_fwd(model *m, layer *l, const model_step *st)
{
    const conv_shape cs = conv_shape_of(l, st->batch);
    conv_run(m->kernel, &cs, CONV_FORWARD, layer_in(m, l), layer_params(m, l), layer_out(m, l), m->ws);
}

static void conv_bwd(model *m, layer *l, const model_step *st)
{
    const conv_shape cs = conv_shape_of(l, st->batch);
    double t = model_profile_start(m); /* the two passes are timed apart (bench --train's breakdown) */
    /* the weights' gradient one block of images at a time (models/dist.h); with a block
       for each thread, each block on one thread, in a workspace of its own (a kernel's
       bits do not depend on its thread count) */
    const int blocks = dist_blocks(st->batch), slots = conv_thread_slots();
    const int threads = omp_get_max_threads() < slots ? omp_get_max_threads() : slots;
    const bool apart = blocks >= threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (apart)
    for (int b = 0; b < blocks; b++) {
        if (apart)
            omp_set_num_threads(1); /* for the kernel's regions inside this thread's block */
        const conv_shape block = conv_shape_of(l, block_images(st->batch, b));
        const size_t first = (size_t)b * REDUCE_BLOCK;
        void *ws = apart ? (char *)m->block_ws + (size_t)omp_get_thread_num() * m->block_ws_bytes : m->ws;
        conv_run(m->kernel, &block, CONV_BACKWARD_WEIGHTS, layer_in(m, l) + first * tshape_count(l->in),
                 layer_dout(m, l) + first * tshape_count(l->out), layer_block_grads(m, l, b), ws);
    }
    model_profile_add(m, LAYER_KIND_CONV_BACKWARD_WEIGHTS, &t);
    if (m->layers[l->src].spec.op == OP_INPUT)
        return;   /* nobody needs the gradient of the images */
    /* kernels overwrite their output: accumulate through scratch when needed */
    float *dx = l->acc_src ? m->scratch : layer_din(m, l);
    conv_run(m->kernel, &cs, CONV_BACKWARD_DATA, layer_dout(m, l), layer_params(m, l), dx, m->ws);
    if (l->acc_src)
        layer_store_grad(layer_din(m, l), dx, conv_x_count(&cs), true);
    model_profile_add(m, LAYER_KIND_CONV_BACKWARD_DATA, &t);
}

const op_def op_conv = { "conv", conv_out, conv_params, none, none_saved, conv_flops_per_image, conv_fwd, conv_bwd };
