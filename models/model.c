/* models/model.c — build a model from its table, size and allocate its
 * memory once, initialise it, run it forward and backward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/alloc.h"
#include "data/rng.h"
#include "models/layers.h"

const op_def *const op_defs[OP_COUNT] = {
    [OP_INPUT] = &op_input,     [OP_CONV] = &op_conv, [OP_BN] = &op_bn,       [OP_RELU] = &op_relu,
    [OP_MAXPOOL] = &op_maxpool, [OP_GAP] = &op_gap,   [OP_DENSE] = &op_dense, [OP_DROPOUT] = &op_dropout,
    [OP_ADD] = &op_add,
};

static void *alloc_bytes(size_t bytes)
{
    void *p = NULL;
    bytes = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

static float *alloc_block(size_t count) { return alloc_bytes(count * sizeof(float)); }

int model_build(model *m, const model_desc *d, const conv_kernel *k, int max_batch, char *err, size_t errlen)
{
    char why[512];
    const model_type *t = model_type_find(d->name, why, sizeof why);
    if (!t) {
        memset(m, 0, sizeof *m);
        snprintf(err, errlen, "error: %s", why);
        return -1;
    }
    layer_spec *rows = checked_malloc(MODEL_ROWS_MAX * sizeof *rows);
    const int n = t->table(d, rows, MODEL_ROWS_MAX);
    const int rc = model_build_table(m, d, rows, n, k, max_batch, err, errlen);
    free(rows);
    return rc;
}

/* Row i's inputs and shapes, given those of the rows before it. */
static int row_shape(const model_desc *d, const layer_spec *rows, int i, layer_shape *shapes, char *err,
                     size_t errlen)
{
    layer_shape *l = &shapes[i];
    l->src = rows[i].op == OP_INPUT ? -1 : rows[i].src == PREV ? i - 1 : rows[i].src;
    l->src2 = rows[i].op == OP_ADD ? (rows[i].src2 == PREV ? i - 1 : rows[i].src2) : -1;
    if (l->src >= i || l->src2 >= i) {
        snprintf(err, errlen, "error: layer %d '%s' reads a later layer", i, rows[i].name);
        return -1;
    }
    l->in = rows[i].op == OP_INPUT ? d->input : shapes[l->src].out;
    if (l->src2 >= 0 && memcmp(&shapes[l->src2].out, &l->in, sizeof l->in) != 0) {
        snprintf(err, errlen, "error: layer '%s' adds tensors of different shapes", rows[i].name);
        return -1;
    }
    return op_defs[rows[i].op]->out_shape(&rows[i], l->in, &l->out, err, errlen) ? 0 : -1;
}

int model_table_shapes(const model_desc *d, const layer_spec *rows, int n, layer_shape *shapes, char *err,
                       size_t errlen)
{
    if (n < 2 || rows[0].op != OP_INPUT) {
        snprintf(err, errlen, "error: model '%s' table is empty, too large, or does not start with input",
                 d->name);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (row_shape(d, rows, i, shapes, err, errlen))
            return -1;
    return 0;
}

/* Layer i's share of each block (its offsets), its cost, and what its
   convolution runs; grows the model's totals. */
static void size_layer(model *m, int i, size_t *max_conv_in)
{
    layer *l = &m->layers[i];
    const layer_spec *row = &l->spec;
    const op_def *op = op_defs[row->op];
    l->param_off = m->num_params;
    l->param_count = op->params(row, l->in, l->out);
    m->num_params += l->param_count;
    l->state_off = m->num_state;
    l->state_count = op->state(row, l->in, l->out);
    m->num_state += l->state_count;
    l->save_off = m->num_save;
    l->save_count = op->saved(row, l->in, l->out, m->max_batch);
    m->num_save += l->save_count;
    l->act_off = m->num_acts;
    m->num_acts += (size_t)m->max_batch * tshape_count(l->out);
    l->flops = op->flops(row, l->in, l->out);
    m->flops += l->flops;
    if (row->op == OP_CONV) {
        const conv_shape cs = { m->max_batch, l->in.c,    l->in.h,     l->in.w,  row->out,
                                row->size,    row->size,  row->stride, row->pad };
        for (int p = 0; p < CONV_NUM_PASSES; p++)
            l->ran[p] = conv_resolve(m->kernel, &cs, (conv_pass)p);
        size_t ws = conv_workspace_bytes(m->kernel, &cs);
        if (ws > m->ws_bytes)
            m->ws_bytes = ws;
        /* one block's backward_weights, a thread's own (models/layer_conv.c) */
        conv_shape block = cs;
        block.n = cs.n < REDUCE_BLOCK ? cs.n : REDUCE_BLOCK;
        ws = (conv_workspace_bytes(m->kernel, &block) + 63) / 64 * 64;
        if (ws > m->block_ws_bytes)
            m->block_ws_bytes = ws;
        if (conv_x_count(&cs) > *max_conv_in)
            *max_conv_in = conv_x_count(&cs);
    }
    if (row->op == OP_DENSE) { /* a thread's tile of per-block weight gradients (models/layer_dense.c) */
        const size_t ws = (dense_tile_bytes(l, dist_blocks(m->max_batch)) + 63) / 64 * 64;
        if (ws > m->block_ws_bytes)
            m->block_ws_bytes = ws;
    }
}

/* A tensor read by several layers: in backward (reverse order) the last
   reader writes its gradient, earlier readers add to it. */
static void mark_accumulating(model *m)
{
    const int n = m->num_layers;
    for (int i = 0; i < n; i++) {
        layer *l = &m->layers[i];
        for (int j = i + 1; j < n; j++) {
            if (m->layers[j].src == l->src || m->layers[j].src2 == l->src)
                l->acc_src = true;
            if (l->src2 >= 0 && (m->layers[j].src == l->src2 || m->layers[j].src2 == l->src2))
                l->acc_src2 = true;
        }
        if (l->src2 >= 0 && l->src2 == l->src)
            l->acc_src2 = true;
    }
}

static bool reads(const layer *l, int t) { return l->src == t || l->src2 == t; }

/* The only layer reading layer t's output, or -1 (none, several, or one
   reading it twice). */
static int sole_reader(const model *m, int t)
{
    int reader = -1;
    for (int j = t + 1; j < m->num_layers; j++) {
        const layer *l = &m->layers[j];
        if (!reads(l, t))
            continue;
        if (reader >= 0 || (l->src == t && l->src2 == t))
            return -1;
        reader = j;
    }
    return reader;
}

/* No layer strictly between lo and hi reads layer t's output. */
static bool unread_between(const model *m, int t, int lo, int hi)
{
    for (int j = lo + 1; j < hi; j++)
        if (reads(&m->layers[j], t))
            return false;
    return true;
}

/* The fusions of models/layers.h ("Fusion"), decided from the table alone. */
static void fuse_layers(model *m)
{
    for (int b = 0; b < m->num_layers; b++) {
        const layer *bn = &m->layers[b];
        int r = bn->spec.op == OP_BN ? sole_reader(m, b) : -1, a = -1;
        if (r >= 0 && m->layers[r].spec.op == OP_ADD && !m->layers[r].fused_away) {
            const layer *add = &m->layers[r];
            const int skip = add->src == b ? add->src2 : add->src;
            a = r;
            r = skip != bn->src && unread_between(m, skip, a, sole_reader(m, a)) ? sole_reader(m, a) : -1;
        }
        if (r < 0 || m->layers[r].spec.op != OP_RELU || m->layers[r].fuse_bn >= 0 ||
            !unread_between(m, bn->src, b, r))
            continue;
        m->layers[r].fuse_bn = b, m->layers[r].fuse_add = a;
        m->layers[b].fused_away = true;
        if (a >= 0)
            m->layers[a].fused_away = true;
        const int p = a < 0 ? sole_reader(m, r) : -1;
        if (p >= 0 && m->layers[p].spec.op == OP_MAXPOOL && !m->layers[p].fused_away &&
            bn->in.h * bn->in.w <= BN_POOL_PLANE_MAX && unread_between(m, bn->src, r, p)) {
            m->layers[r].fuse_pool = p;
            m->layers[p].fused_away = true;
        }
    }
}

void model_unfuse(model *m)
{
    for (int i = 0; i < m->num_layers; i++)
        m->layers[i].fuse_bn = m->layers[i].fuse_add = m->layers[i].fuse_pool = -1, m->layers[i].fused_away = false;
}

/* One aligned, zeroed allocation per block; false when one fails. */
static bool alloc_blocks(model *m)
{
    m->params = alloc_block(m->num_params);
    m->grads = alloc_block(m->num_params);
    m->adam_m = alloc_block(m->num_params);
    m->adam_v = alloc_block(m->num_params);
    m->state = alloc_block(m->num_state);
    m->acts = alloc_block(m->num_acts);
    m->dacts = alloc_block(m->num_acts);
    m->save = alloc_block(m->num_save);
    m->scratch = alloc_block(m->scratch_count);
    m->ws = alloc_block((m->ws_bytes + sizeof(float) - 1) / sizeof(float));
    m->block_ws = alloc_bytes(m->block_ws_bytes * (size_t)conv_thread_slots());
    int channels = 0; /* the most any batch norm has */
    for (int i = 0; i < m->num_layers; i++)
        if (m->layers[i].spec.op == OP_BN && m->layers[i].in.c > channels)
            channels = m->layers[i].in.c;
    m->max_blocks = dist_blocks(m->max_batch);
    m->block_grads = alloc_block((size_t)m->max_blocks * m->num_params);
    m->block_stats = alloc_bytes((size_t)m->max_blocks * channels * 2 * sizeof(double));
    m->reduce.exponent = alloc_bytes(m->num_params);
    m->reduce.sum = alloc_bytes(m->num_params * sizeof(double));
    return m->params && m->grads && m->adam_m && m->adam_v && m->state && m->acts && m->dacts && m->save &&
           m->scratch && m->ws && m->block_ws && m->block_grads && m->block_stats && m->reduce.exponent && m->reduce.sum;
}

int model_build_table(model *m, const model_desc *d, const layer_spec *rows, int n, const conv_kernel *k,
                      int max_batch, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->desc = *d;
    m->kernel = k;
    m->max_batch = max_batch;
    layer_shape *shapes = n > 0 ? checked_calloc((size_t)n, sizeof *shapes) : NULL;
    if (model_table_shapes(d, rows, n, shapes, err, errlen)) {
        free(shapes);
        model_free(m);
        return -1;
    }
    m->layers = checked_calloc((size_t)n, sizeof *m->layers);
    m->num_layers = n;
    size_t max_conv_in = 0;
    for (int i = 0; i < n; i++) {
        layer *l = &m->layers[i];
        l->spec = rows[i];
        l->src = shapes[i].src, l->src2 = shapes[i].src2;
        l->in = shapes[i].in, l->out = shapes[i].out;
        size_layer(m, i, &max_conv_in);
    }
    free(shapes);
    mark_accumulating(m);
    model_unfuse(m);
    fuse_layers(m);
    m->scratch_count = max_conv_in;
    if (!alloc_blocks(m)) {
        snprintf(err, errlen, "error: out of memory building model '%s' for batch %d", d->name, max_batch);
        model_free(m);
        return -1;
    }
    return 0;
}

void model_free(model *m)
{
    free(m->layers);
    free(m->params), free(m->grads), free(m->adam_m), free(m->adam_v), free(m->state);
    free(m->acts), free(m->dacts), free(m->save), free(m->scratch), free(m->ws), free(m->block_ws);
    free(m->block_grads), free(m->block_stats), free(m->reduce.exponent), free(m->reduce.sum);
    memset(m, 0, sizeof *m);
}

void model_print_summary(const model *m, FILE *f)
{
    fprintf(f, "model %s (kernel %s): %zu parameters, %.1f MFLOP forward per image\n", m->desc.name,
            m->kernel->name, m->num_params, m->flops / 1e6);
    for (int i = 0; i < m->num_layers; i++) {
        const layer *l = &m->layers[i];
        char in[32], out[32], ran[64] = "";
        snprintf(in, sizeof in, "%dx%dx%d", l->in.c, l->in.h, l->in.w);
        snprintf(out, sizeof out, "%dx%dx%d", l->out.c, l->out.h, l->out.w);
        if (l->spec.op == OP_CONV)
            snprintf(ran, sizeof ran, "%s/%s/%s", l->ran[0]->name, l->ran[1]->name, l->ran[2]->name);
        fprintf(f, "  %3d %-16s %-8s %11s -> %-11s %9zu params %8.2f MFLOP  %s\n", i, l->spec.name,
                op_defs[l->spec.op]->name, in, out, l->param_count, l->flops / 1e6, ran);
    }
}

const char *conv_init_name(int ci)
{
    static const char *const names[CONV_INIT_COUNT] = { "he_normal", "uniform" };
    return ci >= 0 && ci < CONV_INIT_COUNT ? names[ci] : NULL;
}

void model_init_params(model *m, uint64_t seed, conv_init ci)
{
    for (int i = 0; i < m->num_layers; i++) {
        const layer *l = &m->layers[i];
        float *p = m->params + l->param_off;
        rng_stream r = rng_stream_for(seed, RNG_INIT, 0, (uint64_t)i);
        if (l->spec.op == OP_CONV) {
            const double fan_in = (double)l->in.c * l->spec.size * l->spec.size;
            const double std = sqrt(2.0 / fan_in);
            const float bound = (float)(1.0 / sqrt(fan_in));
            for (size_t j = 0; j < l->param_count; j++)
                p[j] = ci == CONV_INIT_HE_NORMAL ? (float)(std * rng_normal(&r)) : rng_range(&r, -bound, bound);
        } else if (l->spec.op == OP_DENSE) {
            /* PyTorch's default: W and b uniform in ±1/sqrt(fan_in) */
            const float bound = (float)(1.0 / sqrt((double)tshape_count(l->in)));
            for (size_t j = 0; j < l->param_count; j++)
                p[j] = rng_range(&r, -bound, bound);
        } else if (l->spec.op == OP_BN) {
            const int C = l->in.c;
            float *rs = m->state + l->state_off;
            for (int c = 0; c < C; c++) {
                p[c] = 1.0f, p[C + c] = 0.0f;      /* gamma, beta */
                rs[c] = 0.0f, rs[C + c] = 1.0f;    /* running mean, var */
            }
        }
    }
    memset(m->adam_m, 0, m->num_params * sizeof(float));
    memset(m->adam_v, 0, m->num_params * sizeof(float));
}

void model_decay_mask(const model *m, float *mask)
{
    for (int i = 0; i < m->num_layers; i++) {
        const layer *l = &m->layers[i];
        /* a dense layer holds W[out][in] then b[out] */
        const size_t weights = l->spec.op == OP_CONV    ? l->param_count
                               : l->spec.op == OP_DENSE ? l->param_count - (size_t)tshape_count(l->out)
                                                        : 0;
        for (size_t j = 0; j < l->param_count; j++)
            mask[l->param_off + j] = j < weights ? 1.0f : 0.0f;
    }
}

float *model_input(model *m) { return m->acts + m->layers[0].act_off; }

/* ---- the passes, and their optional timing ---------------------------------- */

const char *layer_kind_name(int kind)
{
    static const char *const names[LAYER_KIND_COUNT] = {
        [LAYER_KIND_CONV_FORWARD] = "conv_forward",
        [LAYER_KIND_CONV_BACKWARD_DATA] = "conv_backward_data",
        [LAYER_KIND_CONV_BACKWARD_WEIGHTS] = "conv_backward_weights",
        [LAYER_KIND_BATCH_NORM] = "batch_norm",
        [LAYER_KIND_ELEMENTWISE] = "elementwise",
        [LAYER_KIND_POOLING] = "pooling",
        [LAYER_KIND_DENSE] = "dense",
        [LAYER_KIND_GRADIENT_SUM] = "gradient_sum",
    };
    return kind >= 0 && kind < LAYER_KIND_COUNT ? names[kind] : NULL;
}

static double profile_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

double model_profile_start(const model *m) { return m->profile ? profile_clock() : 0; }

void model_profile_add(const model *m, layer_kind kind, double *since)
{
    if (!m->profile)
        return;
    const double now = profile_clock();
    m->profile->seconds[kind] += now - *since;
    *since = now;
}

/* Each operation's kind in the forward and the backward pass; -1: not timed
   here (the input does nothing; the convolution times its two backward passes
   itself, models/layer_conv.c). */
static const int forward_kind[OP_COUNT] = {
    [OP_INPUT] = -1,
    [OP_CONV] = LAYER_KIND_CONV_FORWARD,
    [OP_BN] = LAYER_KIND_BATCH_NORM,
    [OP_RELU] = LAYER_KIND_ELEMENTWISE,
    [OP_MAXPOOL] = LAYER_KIND_POOLING,
    [OP_GAP] = LAYER_KIND_POOLING,
    [OP_DENSE] = LAYER_KIND_DENSE,
    [OP_DROPOUT] = LAYER_KIND_ELEMENTWISE,
    [OP_ADD] = LAYER_KIND_ELEMENTWISE,
};

/* Layer i's forward or backward pass (fused ones as models/layers.h says),
   its time added to its kind when the model has a profile. */
void model_run_layer(model *m, int i, const model_step *st, bool backward)
{
    layer *l = &m->layers[i];
    if (l->fused_away)
        return;
    const op_def *op = op_defs[l->spec.op];
    void (*pass)(model *, layer *, const model_step *) = backward ? op->backward : op->forward;
    int kind = backward && l->spec.op == OP_CONV ? -1 : forward_kind[l->spec.op];
    if (l->fuse_bn >= 0) {
        pass = backward ? bn_fused_backward : bn_fused_forward;
        kind = LAYER_KIND_BATCH_NORM;
    }
    if (!m->profile || kind < 0) {
        pass(m, l, st);
        return;
    }
    double t = profile_clock();
    pass(m, l, st);
    model_profile_add(m, (layer_kind)kind, &t);
}

const float *model_forward(model *m, const model_step *st)
{
    model_step fixed = *st;
    fixed.train = false;
    for (int i = 0; i < m->num_layers; i++)
        model_run_layer(m, i, i < st->frozen_below ? &fixed : st, false);
    return layer_out(m, &m->layers[m->num_layers - 1]);
}

void model_backward(model *m, const model_step *st, const float *dlogits)
{
    layer *last = &m->layers[m->num_layers - 1];
    memcpy(layer_dout(m, last), dlogits, (size_t)st->batch * tshape_count(last->out) * sizeof(float));
    const int lowest = st->frozen_below > 1 ? st->frozen_below : 1;
    for (int i = m->num_layers - 1; i >= lowest; i--)
        model_run_layer(m, i, st, true);
    /* the blocks' gradients into one, of the layers that ran and did not sum their
       own (parameters are laid out in row order: each run of such layers is one range) */
    double t = model_profile_start(m);
    size_t lo = m->layers[lowest].param_off;
    for (int i = lowest; i <= m->num_layers; i++) {
        const bool own = i < m->num_layers && layer_sums_own_grads(m, &m->layers[i]);
        if (i < m->num_layers && !own)
            continue;
        const size_t hi = i < m->num_layers ? m->layers[i].param_off : m->num_params;
        if (hi > lo)
            reduce_exact(m->block_grads + lo, m->num_params, dist_blocks(st->batch), dist_blocks(step_total(st)),
                         hi - lo, m->grads + lo, m->dist,
                         (reduce_scratch){ m->reduce.exponent + lo, m->reduce.sum + lo });
        if (own)
            lo = hi + m->layers[i].param_count;
    }
    model_profile_add(m, LAYER_KIND_GRADIENT_SUM, &t);
}
