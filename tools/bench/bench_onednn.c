/* tools/bench/bench_onednn.c — oneDNN convolutions for the kernel benchmark
 * (see bench_onednn.h).
 *
 * One CPU engine and one in-order stream serve the whole process.  Every
 * operand has two memories: `user`, wrapping the caller's plain buffer, and
 * `inner`, in the format the primitive chose; when the two formats are equal
 * they are one memory and no reorder runs. */
#include <dnnl.h>
#include <dnnl_debug.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "tools/bench/bench_onednn.h"

enum { OPERANDS = 3 }; /* the two inputs, then the output */

typedef struct operand {
    int arg;                  /* DNNL_ARG_SRC, DNNL_ARG_WEIGHTS ... */
    dnnl_memory_t user;       /* the caller's plain buffer */
    dnnl_memory_t inner;      /* in the primitive's format; == user when that is plain */
    dnnl_primitive_t reorder; /* user -> inner for an input, inner -> user for the output; NULL if none */
} operand;

struct onednn_conv {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t conv;
    operand ops[OPERANDS];
    dnnl_memory_t scratch;
    size_t scratch_bytes, reorder_bytes;
};

const char *onednn_alg_name(onednn_alg alg)
{
    return alg == ONEDNN_WINOGRAD ? "winograd" : "direct";
}

const char *onednn_version(void)
{
    static char text[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(text, sizeof text, "%d.%d.%d", v->major, v->minor, v->patch);
    return text;
}

/* A oneDNN call that cannot fail on valid arguments: a failure is a bug here
   or in the library, not something the benchmark can carry on from. */
static void check(dnnl_status_t status, const char *what)
{
    if (status == dnnl_success)
        return;
    fprintf(stderr, "probador bench: error: oneDNN %s failed: %s; rerun with DNNL_VERBOSE=1 for oneDNN's own "
                    "account\n", what, dnnl_status2str(status));
    exit(1);
}

static dnnl_engine_t engine(void)
{
    static dnnl_engine_t e;
    if (!e)
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine creation");
    return e;
}

static dnnl_stream_t stream(void)
{
    static dnnl_stream_t s;
    if (!s)
        check(dnnl_stream_create(&s, engine(), dnnl_stream_default_flags), "stream creation");
    return s;
}

/* ---- the operation descriptor ------------------------------------------------ */

/* The three tensors' descriptors in probador's plain layouts (x, w, y) and as
   format_tag_any (the primitive's choice). */
typedef struct conv_mds {
    dnnl_memory_desc_t x, w, y, x_any, w_any, y_any;
    dnnl_dims_t strides, pad_l, pad_r;
} conv_mds;

static void init_mds(const conv_shape *cs, conv_mds *m)
{
    const dnnl_dims_t xd = { cs->n, cs->c, cs->h, cs->w }, wd = { cs->k, cs->c, cs->r, cs->s },
                      yd = { cs->n, cs->k, conv_out_h(cs), conv_out_w(cs) };
    check(dnnl_memory_desc_init_by_tag(&m->x, 4, xd, dnnl_f32, dnnl_nchw), "memory descriptor");
    check(dnnl_memory_desc_init_by_tag(&m->w, 4, wd, dnnl_f32, dnnl_oihw), "memory descriptor");
    check(dnnl_memory_desc_init_by_tag(&m->y, 4, yd, dnnl_f32, dnnl_nchw), "memory descriptor");
    check(dnnl_memory_desc_init_by_tag(&m->x_any, 4, xd, dnnl_f32, dnnl_format_tag_any), "memory descriptor");
    check(dnnl_memory_desc_init_by_tag(&m->w_any, 4, wd, dnnl_f32, dnnl_format_tag_any), "memory descriptor");
    check(dnnl_memory_desc_init_by_tag(&m->y_any, 4, yd, dnnl_f32, dnnl_format_tag_any), "memory descriptor");
    /* probador's output size rounds down like oneDNN's, so symmetric padding
       describes the same convolution */
    for (int i = 0; i < 2; i++)
        m->strides[i] = cs->stride, m->pad_l[i] = cs->pad, m->pad_r[i] = cs->pad;
}

static dnnl_alg_kind_t alg_kind(onednn_alg alg)
{
    return alg == ONEDNN_WINOGRAD ? dnnl_convolution_winograd : dnnl_convolution_direct;
}

/* The forward primitive descriptor (for a backward pass, its hint). */
static dnnl_status_t forward_pd(onednn_alg alg, const conv_mds *m, dnnl_primitive_attr_t attr,
                                dnnl_primitive_desc_t *pd)
{
    dnnl_convolution_desc_t d;
    check(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, alg_kind(alg), &m->x_any, &m->w_any,
                                             NULL, &m->y_any, m->strides, m->pad_l, m->pad_r),
          "forward convolution descriptor");
    return dnnl_primitive_desc_create(pd, &d, attr, engine(), NULL);
}

/* The primitive descriptor of the pass; a status other than success means
   oneDNN declined it. */
static dnnl_status_t pass_pd(onednn_alg alg, conv_pass pass, const conv_mds *m, dnnl_primitive_desc_t *pd)
{
    dnnl_primitive_attr_t attr;
    check(dnnl_primitive_attr_create(&attr), "attribute creation");
    check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
    dnnl_primitive_desc_t hint = NULL;
    const bool fwd = pass == CONV_FORWARD;
    dnnl_status_t status = forward_pd(alg, m, fwd ? attr : NULL, fwd ? pd : &hint);
    if (!fwd && status == dnnl_success) {
        dnnl_convolution_desc_t d;
        if (pass == CONV_BACKWARD_DATA)
            check(dnnl_convolution_backward_data_desc_init(&d, alg_kind(alg), &m->x_any, &m->w_any, &m->y_any,
                                                           m->strides, m->pad_l, m->pad_r),
                  "backward-data convolution descriptor");
        else
            check(dnnl_convolution_backward_weights_desc_init(&d, alg_kind(alg), &m->x_any, &m->w_any, NULL,
                                                              &m->y_any, m->strides, m->pad_l, m->pad_r),
                  "backward-weights convolution descriptor");
        status = dnnl_primitive_desc_create(pd, &d, attr, engine(), hint);
        dnnl_primitive_desc_destroy(hint);
    }
    dnnl_primitive_attr_destroy(attr);
    return status;
}

/* ---- the operands --------------------------------------------------------------- */

/* The pass's operands in conv_run's order: which argument each is, and its
   plain descriptor. */
static void pass_args(conv_pass pass, const conv_mds *m, int arg[OPERANDS],
                      const dnnl_memory_desc_t *md[OPERANDS])
{
    static const int args[CONV_NUM_PASSES][OPERANDS] = {
        { DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST },
        { DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC },
        { DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS },
    };
    const dnnl_memory_desc_t *mds[CONV_NUM_PASSES][OPERANDS] = {
        { &m->x, &m->w, &m->y }, { &m->y, &m->w, &m->x }, { &m->x, &m->y, &m->w }
    };
    for (int i = 0; i < OPERANDS; i++)
        arg[i] = args[pass][i], md[i] = mds[pass][i];
}

static dnnl_primitive_t make_reorder(dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_memory_desc_t *src, *dst;
    check(dnnl_memory_get_memory_desc(from, &src), "memory query");
    check(dnnl_memory_get_memory_desc(to, &dst), "memory query");
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t r;
    check(dnnl_reorder_primitive_desc_create(&pd, src, engine(), dst, engine(), NULL), "reorder descriptor");
    check(dnnl_primitive_create(&r, pd), "reorder creation");
    dnnl_primitive_desc_destroy(pd);
    return r;
}

/* Operand i: the caller's buffer, and a memory in the primitive's format with
   the reorder between them when the formats differ. */
static void bind_operand(onednn_conv *c, int i, int arg, const dnnl_memory_desc_t *plain, void *buf)
{
    operand *op = &c->ops[i];
    op->arg = arg;
    check(dnnl_memory_create(&op->user, plain, engine(), buf), "memory creation");
    const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(c->pd, dnnl_query_exec_arg_md, arg);
    if (dnnl_memory_desc_equal(want, plain)) {
        op->inner = op->user;
        return;
    }
    check(dnnl_memory_create(&op->inner, want, engine(), DNNL_MEMORY_ALLOCATE), "memory creation");
    c->reorder_bytes += dnnl_memory_desc_get_size(want);
    op->reorder = i < OPERANDS - 1 ? make_reorder(op->user, op->inner) : make_reorder(op->inner, op->user);
}

/* ---- the public functions ---------------------------------------------------- */

onednn_conv *onednn_conv_create(onednn_alg alg, const conv_shape *cs, conv_pass pass, const float *a,
                                const float *b, float *out, char *why, size_t len)
{
    conv_mds m;
    init_mds(cs, &m);
    dnnl_primitive_desc_t pd;
    const dnnl_status_t status = pass_pd(alg, pass, &m, &pd);
    if (status != dnnl_success) {
        snprintf(why, len, "%s", dnnl_status2str(status));
        return NULL;
    }
    onednn_conv *c = checked_calloc(1, sizeof *c);
    c->pd = pd;
    check(dnnl_primitive_create(&c->conv, pd), "convolution creation");
    int arg[OPERANDS];
    const dnnl_memory_desc_t *plain[OPERANDS];
    pass_args(pass, &m, arg, plain);
    /* oneDNN takes every buffer as writable; the inputs are only read */
    void *bufs[OPERANDS] = { (void *)a, (void *)b, out };
    for (int i = 0; i < OPERANDS; i++)
        bind_operand(c, i, arg[i], plain[i], bufs[i]);
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    c->scratch_bytes = dnnl_memory_desc_get_size(scratch);
    check(dnnl_memory_create(&c->scratch, scratch, engine(), DNNL_MEMORY_ALLOCATE), "scratchpad creation");
    return c;
}

void onednn_conv_destroy(onednn_conv *c)
{
    if (!c)
        return;
    for (int i = 0; i < OPERANDS; i++) {
        operand *op = &c->ops[i];
        if (op->inner != op->user)
            dnnl_memory_destroy(op->inner), dnnl_primitive_destroy(op->reorder);
        dnnl_memory_destroy(op->user);
    }
    dnnl_memory_destroy(c->scratch);
    dnnl_primitive_destroy(c->conv);
    dnnl_primitive_desc_destroy(c->pd);
    free(c);
}

void onednn_conv_run(onednn_conv *c)
{
    dnnl_exec_arg_t args[OPERANDS + 1];
    for (int i = 0; i < OPERANDS; i++)
        args[i] = (dnnl_exec_arg_t){ c->ops[i].arg, c->ops[i].inner };
    args[OPERANDS] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, c->scratch };
    check(dnnl_primitive_execute(c->conv, stream(), OPERANDS + 1, args), "convolution");
    check(dnnl_stream_wait(stream()), "stream wait");
}

static void run_reorder(const operand *op, bool input)
{
    if (!op->reorder)
        return;
    const dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, input ? op->user : op->inner },
                                      { DNNL_ARG_TO, input ? op->inner : op->user } };
    check(dnnl_primitive_execute(op->reorder, stream(), 2, args), "reorder");
}

void onednn_conv_run_plain(onednn_conv *c)
{
    for (int i = 0; i < OPERANDS - 1; i++)
        run_reorder(&c->ops[i], true);
    onednn_conv_run(c);
    run_reorder(&c->ops[OPERANDS - 1], false);
    check(dnnl_stream_wait(stream()), "stream wait");
}

void onednn_conv_poison(onednn_conv *c)
{
    const operand *out = &c->ops[OPERANDS - 1];
    if (out->inner == out->user)
        return;
    const dnnl_memory_desc_t *md;
    void *p;
    check(dnnl_memory_get_memory_desc(out->inner, &md), "memory query");
    check(dnnl_memory_get_data_handle(out->inner, &p), "memory query");
    memset(p, 0xFF, dnnl_memory_desc_get_size(md)); /* all ones: a NaN in every float */
}

const char *onednn_conv_impl(const onednn_conv *c)
{
    const char *impl = NULL;
    check(dnnl_primitive_desc_query(c->pd, dnnl_query_impl_info_str, 0, &impl), "implementation query");
    return impl;
}

size_t onednn_conv_scratch_bytes(const onednn_conv *c)
{
    return c->scratch_bytes;
}

size_t onednn_conv_reorder_bytes(const onednn_conv *c)
{
    return c->reorder_bytes;
}

/* A format in oneDNN's letter notation: dimensions a, b, c, d outermost
   first, upper case when blocked, then the inner blocks ("aBcd16b" is
   nChw16c). */
static void format_text(const dnnl_memory_desc_t *md, char *buf, size_t len)
{
    if (md->format_kind != dnnl_blocked) { /* Winograd's weights have a kind of their own */
        snprintf(buf, len, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS];
    for (int i = 0; i < md->ndims; i++)
        order[i] = i;
    for (int i = 1; i < md->ndims; i++) /* by stride, largest first; a stable insertion sort */
        for (int j = i; j > 0 && bd->strides[order[j]] > bd->strides[order[j - 1]]; j--) {
            const int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    size_t used = 0;
    for (int i = 0; i < md->ndims && used < len; i++) {
        bool blocked = false;
        for (int b = 0; b < bd->inner_nblks; b++)
            blocked |= bd->inner_idxs[b] == order[i];
        used += snprintf(buf + used, len - used, "%c", (blocked ? 'A' : 'a') + order[i]);
    }
    for (int b = 0; b < bd->inner_nblks && used < len; b++)
        used += snprintf(buf + used, len - used, "%lld%c", (long long)bd->inner_blks[b],
                         'a' + (int)bd->inner_idxs[b]);
}

const char *onednn_conv_formats(const onednn_conv *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < OPERANDS && used < len; i++) {
        const dnnl_memory_desc_t *md;
        char f[64];
        check(dnnl_memory_get_memory_desc(c->ops[i].inner, &md), "memory query");
        format_text(md, f, sizeof f);
        used += snprintf(buf + used, len - used, "%s%s", i ? " " : "", f);
    }
    return buf;
}
