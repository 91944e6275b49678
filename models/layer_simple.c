/* models/layer_simple.c — the parameter-free layers: input, ReLU, global average
 * pool, dropout, residual add (2x2 max-pool: models/layer_pool.c). */
#include <stdio.h>
#include <string.h>

#include "data/rng.h"
#include "models/layers.h"
#include "models/relu_mask.h"

static size_t none(const layer_spec *s, tshape in, tshape out) { return 0; }
static size_t none_saved(const layer_spec *s, tshape in, tshape out, int b) { return 0; }
static double no_flops(const layer_spec *s, tshape in, tshape out) { return 0; }
static bool same_shape(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    *out = in;
    return true;
}

/* ---- input: the batch is written straight into this layer's activation ---- */
static void input_fwd(model *m, layer *l, const model_step *st) {}
static void input_bwd(model *m, layer *l, const model_step *st) {}
const op_def op_input = { "input", same_shape, none, none, none_saved, no_flops, input_fwd, input_bwd };

/* ---- ReLU: backward uses the output's mask (y > 0 exactly where x > 0) ---- */
static size_t relu_saved(const layer_spec *s, tshape in, tshape out, int b)
{
    return relu_mask_floats((size_t)b * out.c, out.h * out.w);
}

static void relu_fwd(model *m, layer *l, const model_step *st)
{
    const int planes = st->batch * l->out.c, hw = l->out.h * l->out.w;
    const size_t words = relu_mask_words(hw);
    const float *x = layer_in(m, l);
    float *y = layer_out(m, l);
    uint16_t *mask = (uint16_t *)(m->save + l->save_off);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const size_t o = (size_t)p * hw;
        for (int i = 0; i < hw; i++)
            y[o + i] = x[o + i] > 0.0f ? x[o + i] : 0.0f;
        for (int i = 0; i < hw; i += 16)
            mask[p * words + (size_t)i / 16] = relu_mask_word(y + o + i, hw - i < 16 ? hw - i : 16);
    }
}

static void relu_bwd(model *m, layer *l, const model_step *st)
{
    const int planes = st->batch * l->out.c, hw = l->out.h * l->out.w;
    const size_t words = relu_mask_words(hw);
    const float *dy = layer_dout(m, l);
    const uint16_t *mask = (const uint16_t *)(m->save + l->save_off);
    float *dx = layer_din(m, l);
    const bool acc = l->acc_src;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++)
        for (int i = 0; i < hw; i++) {
            const size_t o = (size_t)p * hw + i;
            const float g = relu_mask_bit(mask + p * words, i) ? dy[o] : 0.0f;
            dx[o] = acc ? dx[o] + g : g;
        }
}
const op_def op_relu = { "relu", same_shape, none, none, relu_saved, no_flops, relu_fwd, relu_bwd };

/* ---- global average pool ---- */
static bool gap_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    *out = (tshape){ in.c, 1, 1 };
    return true;
}

static void gap_fwd(model *m, layer *l, const model_step *st)
{
    const int planes = st->batch * l->in.c, HW = l->in.h * l->in.w;
    const float *x = layer_in(m, l);
    float *y = layer_out(m, l);
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        double sum = 0;
        for (int i = 0; i < HW; i++)
            sum += x[(size_t)pl * HW + i];
        y[pl] = (float)(sum / HW);
    }
}

static void gap_bwd(model *m, layer *l, const model_step *st)
{
    const int planes = st->batch * l->in.c, HW = l->in.h * l->in.w;
    const float *dy = layer_dout(m, l);
    float *dx = layer_din(m, l);
    const bool acc = l->acc_src;
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float g = dy[pl] / (float)HW;
        for (int i = 0; i < HW; i++)
            dx[(size_t)pl * HW + i] = acc ? dx[(size_t)pl * HW + i] + g : g;
    }
}
const op_def op_gap = { "gap", gap_out, none, none, none_saved, no_flops, gap_fwd, gap_bwd };

/* ---- dropout (inverted): keep with probability 1-p, scale by 1/(1-p); the
        mask of sample n at step t comes from rng (seed, RNG_DROPOUT, t, layer·2³² + n), n the
        image's index in the whole batch (model_step.first + its index here) ---- */
static bool dropout_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    if (!(s->p >= 0.0f && s->p < 1.0f)) {
        snprintf(err, errlen, "layer '%s': dropout rate must be in [0, 1), got %g", s->name, s->p);
        return false;
    }
    *out = in;
    return true;
}
static size_t dropout_saved(const layer_spec *s, tshape in, tshape out, int b)
{
    return (size_t)b * tshape_count(in);
}

static void dropout_fwd(model *m, layer *l, const model_step *st)
{
    const size_t per = tshape_count(l->in);
    const float *x = layer_in(m, l);
    float *y = layer_out(m, l), *mask = m->save + l->save_off;
    const float p = l->spec.p, keep_scale = 1.0f / (1.0f - p);
    const bool on = st->train && p > 0.0f;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < st->batch; n++) {
        /* keyed by layer too, so two dropout layers never share a mask */
        const uint64_t layer_index = (uint64_t)(l - m->layers);
        rng_stream r =
            rng_stream_for(st->seed, RNG_DROPOUT, st->step, layer_index << 32 | (uint64_t)(st->first + n));
        for (size_t i = 0; i < per; i++) {
            const size_t o = (size_t)n * per + i;
            mask[o] = !on ? 1.0f : rng_uniform(&r) < p ? 0.0f : keep_scale;
            y[o] = x[o] * mask[o];
        }
    }
}

static void dropout_bwd(model *m, layer *l, const model_step *st)
{
    const size_t count = (size_t)st->batch * tshape_count(l->in);
    const float *dy = layer_dout(m, l), *mask = m->save + l->save_off;
    float *dx = layer_din(m, l);
    const bool acc = l->acc_src;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        dx[i] = acc ? dx[i] + dy[i] * mask[i] : dy[i] * mask[i];
}
const op_def op_dropout = { "dropout", dropout_out, none, none, dropout_saved, no_flops, dropout_fwd, dropout_bwd };

/* ---- residual add: y = a + b (shapes must agree) ---- */
static void add_fwd(model *m, layer *l, const model_step *st)
{
    const size_t count = (size_t)st->batch * tshape_count(l->out);
    const float *a = layer_in(m, l), *b = m->acts + m->layers[l->src2].act_off;
    float *y = layer_out(m, l);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

static void add_bwd(model *m, layer *l, const model_step *st)
{
    const size_t count = (size_t)st->batch * tshape_count(l->out);
    const float *dy = layer_dout(m, l);
    layer_store_grad(layer_din(m, l), dy, count, l->acc_src);
    layer_store_grad(m->dacts + m->layers[l->src2].act_off, dy, count, l->acc_src2);
}
const op_def op_add = { "add", same_shape, none, none, none_saved, no_flops, add_fwd, add_bwd };
