/* kernels/conv_direct.c — direct convolution for the layers Winograd does not serve:
 * the forward pass of stride-2 layers and of single-channel inputs (the stem), and
 * the stem's backward_weights.  Not in the registry: it is the Winograd kernels'
 * fallback, and falls back to im2col itself (backward_data, backward_weights of more
 * than one channel, 1x1 filters, strides above 2; see direct_supports).
 *
 * Phases.  With stride st, the zero-padded input splits into st×st phase planes,
 * plane (a, b) holding rows a, a + st, ... and columns b, b + st, ... of it; filter
 * tap (r, s) reads plane (r mod st, s mod st) at (p + r div st, q + s div st) for
 * output (p, q).  Each plane is stored with row length L = Q + (S − 1) div st (a few
 * columns more than the output), so output (p, q) is flat index i = p·L + q and tap
 * (r, s) reads the plane at i + (r div st)·L + s div st: every tap of every output is
 * one contiguous vector load, stride 1 or 2 alike.
 *
 * Forward.  The weights are packed once per call, KB output channels side by side per
 * tap: wp[K/KB][C·R·S][KB], zeros past K.  Then each image, one per thread at a time:
 * its phase planes into the thread's slot, and for each block of KB output channels,
 * register blocks of KB channels × NV vectors of 16 flat outputs, summing over the
 * taps t = (c·R + r)·S + s in increasing order, one FMA per tap, into the slot's
 * output buffer, copied out without the columns q ≥ Q.
 *
 * backward_weights.  dw[k][t] = Σ_n Σ_i dy[n][k][i]·plane_t[n][i] over the flat
 * outputs i, dy laid out flat with zeros in the columns q ≥ Q.  Each weight sums in
 * 16 lanes (output i in lane i mod 16), images in order, then a fixed tree adds the
 * lanes; each thread owns whole blocks of output channels, register blocks of
 * BW_KB channels × BW_TB taps, each visited once per chunk of images (chunk·F ≥ 512
 * floats of outputs where the batch allows).
 *
 * Determinism.  Every forward output is one FMA chain over the taps in the order of
 * the reference convolution, every weight's lane one FMA chain over the images and
 * flat outputs in order; the same code for every lane, whatever the register block,
 * and threads split images (forward) or output channels (backward_weights).  So the
 * bits are fixed by the shape, for any thread count, and the AVX-512 copy computes the
 * AVX2 copy's bits (kernels/isa.h, tests/test_isa.c).
 *
 * Workspace (floats): ⌈K/8⌉·8·C·R·S·16 (the lanes' sums; the packed weights use a
 * sixteenth) + lines(C·R·S) (the taps' offsets) + slots·chunk·[ C·phases·plane + 8·F ],
 * plane = lines((PH + 1)·L + 16), F = P·L rounded up to 16, PH = P + (R − 1) div st,
 * phases = min(st, R)·min(st, S), chunk = min(N, ⌈512/F⌉), lines(n) = n rounded up
 * to 16; slots = conv_thread_slots().
 */
#include "kernels/conv.h"
#include "kernels/conv_reference.h"
#include "kernels/isa.h"
#include "kernels/winograd_transforms.h" /* wino_vec: 16 float lanes */

#include <omp.h>
#include <stdint.h>
#include <string.h>

/* Register blocks: forward KB channels × NV vectors of outputs; backward_weights
   BW_KB channels × BW_TB taps, each a vector of 16 lanes of partial sums. */
#if defined(__AVX512F__)
enum { DIRECT_KB = 8, DIRECT_NV = 3, DIRECT_BW_KB = 8, DIRECT_BW_TB = 3 };
#else
enum { DIRECT_KB = 4, DIRECT_NV = 1, DIRECT_BW_KB = 4, DIRECT_BW_TB = 1 };
#endif
enum { DIRECT_MAX_KB = 8, DIRECT_MAX_STRIDE = 2 };

/* A convolution as the engine sees it (both passes). */
typedef struct direct_plan {
    int n, c, h, w, k, r, s, st, pad, p, q;
    int pa, pb;        /* phases used in each dimension: min(st, R), min(st, S) */
    int l, ph;         /* plane row length and rows */
    int taps;          /* C·R·S */
    int kpad;          /* K rounded up to DIRECT_MAX_KB (the larger copy's block) */
    size_t plane;      /* floats per phase plane */
    size_t flat;       /* P·L rounded up to 16 */
    size_t shared_floats; /* packed weights (forward) or the lanes' sums (backward_weights) */
    int chunk;            /* images per backward_weights chunk: chunk·F ≥ 512 where N allows */
    size_t image_floats;  /* one image's phase planes: C·phases·plane */
    size_t tap_floats, slot_floats;
} direct_plan;

static size_t lines16(size_t n)
{
    return (n + 15) / 16 * 16;
}

/* Sized with the larger register block of the two copies, so that the workspace
   does not depend on which copy runs. */
static direct_plan direct_make_plan(const conv_shape *cs)
{
    direct_plan d = {.n = cs->n, .c = cs->c, .h = cs->h, .w = cs->w, .k = cs->k, .r = cs->r, .s = cs->s,
                     .st = cs->stride, .pad = cs->pad, .p = conv_out_h(cs), .q = conv_out_w(cs)};
    d.pa = d.st < d.r ? d.st : d.r, d.pb = d.st < d.s ? d.st : d.s;
    d.l = d.q + (d.s - 1) / d.st;
    d.ph = d.p + (d.r - 1) / d.st;
    d.taps = d.c * d.r * d.s;
    d.kpad = (d.k + DIRECT_MAX_KB - 1) / DIRECT_MAX_KB * DIRECT_MAX_KB;
    d.plane = lines16((size_t)(d.ph + 1) * d.l + WINO_LANES);
    d.flat = lines16((size_t)d.p * d.l);
    d.shared_floats = (size_t)d.kpad * d.taps * WINO_LANES; /* ≥ the packed weights, kpad·taps */
    d.tap_floats = lines16((size_t)d.taps);
    /* backward_weights sums a chunk of images per visit of a register block, so that
       small planes (resnet20's 7x7 outputs: F = 64) do not spend their time loading
       and storing the block's sums */
    d.chunk = (int)((512 + d.flat - 1) / d.flat);
    d.chunk = d.chunk > d.n ? d.n : d.chunk;
    d.image_floats = (size_t)d.c * d.pa * d.pb * d.plane;
    d.slot_floats = (size_t)d.chunk * (d.image_floats + (size_t)DIRECT_MAX_KB * d.flat);
    return d;
}

/* ---- the engine, compiled once per instruction set ---------------------------- */

/* Image x[C][H][W] into its phase planes: ph[c][a][b][PH + 1][L] (+ slack), zeros
   outside the image.  Each plane row copies the columns b − pad, b − pad + st, ...
   that fall inside the image: a range computed once, so the copy has no branch. */
static void direct_phases(const direct_plan *d, const float *x, float *ph)
{
    int jlo[DIRECT_MAX_STRIDE], jhi[DIRECT_MAX_STRIDE]; /* columns j with 0 ≤ j·st + b − pad < W */
    for (int b = 0; b < d->pb; b++) {
        jlo[b] = d->pad - b > 0 ? (d->pad - b + d->st - 1) / d->st : 0;
        jhi[b] = (d->w - 1 + d->pad - b) / d->st + 1;
        jhi[b] = jhi[b] > d->l ? d->l : jhi[b];
    }
    memset(ph, 0, d->image_floats * sizeof *ph);
    for (int c = 0; c < d->c; c++)
        for (int a = 0; a < d->pa; a++)
            for (int i = 0; i <= d->ph; i++) {
                const int hh = i * d->st + a - d->pad;
                if (hh < 0 || hh >= d->h)
                    continue;
                const float *row = x + ((size_t)c * d->h + hh) * d->w;
                for (int b = 0; b < d->pb; b++) {
                    float *dst = ph + ((size_t)(c * d->pa + a) * d->pb + b) * d->plane + (size_t)i * d->l;
                    const int shift = b - d->pad; /* column j reads row[j·st + shift] */
                    if (d->st == 1)
                        for (int j = jlo[b]; j < jhi[b]; j++)
                            dst[j] = row[j + shift];
                    else
                        for (int j = jlo[b]; j < jhi[b]; j++)
                            dst[j] = row[2 * j + shift];
                }
            }
}

/* Where tap t = (c·R + r)·S + s reads, relative to flat output 0: its phase plane
   plus (r div st)·L + s div st. */
static void direct_tap_offsets(const direct_plan *d, int *off)
{
    for (int t = 0; t < d->taps; t++) {
        const int c = t / (d->r * d->s), r = t / d->s % d->r, s = t % d->s;
        const size_t plane = ((size_t)(c * d->pa + r % d->st) * d->pb + s % d->st) * d->plane;
        off[t] = (int)(plane + (size_t)(r / d->st) * d->l + s / d->st);
    }
}

/* Outputs [i0, i0 + 16·nv) of KB channels: acc = Σ_t wk[t][kb] · ph[off[t] + i]. */
static inline __attribute__((always_inline)) void direct_block(const direct_plan *d, const float *ph,
                                                               const int *off, const float *wk, size_t i0,
                                                               const int nv, float *ob)
{
    wino_vec acc[DIRECT_KB][DIRECT_NV];
#pragma GCC unroll 8
    for (int kb = 0; kb < DIRECT_KB; kb++)
        for (int j = 0; j < nv; j++)
            acc[kb][j] = wv_zero();
    for (int t = 0; t < d->taps; t++) {
        const float *src = ph + off[t] + i0, *w = wk + (size_t)t * DIRECT_KB;
        wino_vec xv[DIRECT_NV];
        for (int j = 0; j < nv; j++)
            xv[j] = wv_load(src + j * WINO_LANES);
#pragma GCC unroll 8
        for (int kb = 0; kb < DIRECT_KB; kb++)
            for (int j = 0; j < nv; j++)
                acc[kb][j] = wv_fmadd(xv[j], w[kb], acc[kb][j]);
    }
#pragma GCC unroll 8
    for (int kb = 0; kb < DIRECT_KB; kb++)
        for (int j = 0; j < nv; j++)
            wv_store(ob + kb * d->flat + i0 + (size_t)j * WINO_LANES, acc[kb][j]);
}

void ISA_NAME(direct_compute)(const conv_shape *cs, const float *x, const float *w, float *y, void *ws)
{
    const direct_plan d = direct_make_plan(cs);
    float *wp = ws, *slots = wp + d.shared_floats + d.tap_floats;
    int *off = (int *)(wp + d.shared_floats);
    const int kblocks = (d.k + DIRECT_KB - 1) / DIRECT_KB;
    const int threads =
        omp_get_max_threads() < conv_thread_slots() ? omp_get_max_threads() : conv_thread_slots();
    const size_t vectors = d.flat / WINO_LANES;
#pragma omp parallel num_threads(threads)
    {
        /* packed weights and the taps' offsets, shared */
#pragma omp for schedule(static)
        for (int kb = 0; kb < kblocks; kb++)
            for (int t = 0; t < d.taps; t++)
                for (int j = 0; j < DIRECT_KB; j++) {
                    const int k = kb * DIRECT_KB + j;
                    wp[((size_t)kb * d.taps + t) * DIRECT_KB + j] = k < d.k ? w[(size_t)k * d.taps + t] : 0.0f;
                }
#pragma omp single
        direct_tap_offsets(&d, off);
        /* (the implicit barriers of both: every thread sees wp and off) */
        float *ph = slots + (size_t)omp_get_thread_num() * d.slot_floats;
        float *ob = ph + d.image_floats;
#pragma omp for schedule(dynamic, 1)
        for (int n = 0; n < d.n; n++) {
            direct_phases(&d, x + (size_t)n * d.c * d.h * d.w, ph);
            for (int kb = 0; kb < kblocks; kb++) {
                const float *wk = wp + (size_t)kb * d.taps * DIRECT_KB;
                size_t v = 0;
                for (; v + DIRECT_NV <= vectors; v += DIRECT_NV)
                    direct_block(&d, ph, off, wk, v * WINO_LANES, DIRECT_NV, ob);
                for (; v < vectors; v++)
                    direct_block(&d, ph, off, wk, v * WINO_LANES, 1, ob);
                const int kn = d.k - kb * DIRECT_KB < DIRECT_KB ? d.k - kb * DIRECT_KB : DIRECT_KB;
                for (int j = 0; j < kn; j++) {
                    float *yk = y + ((size_t)n * d.k + kb * DIRECT_KB + j) * d.p * d.q;
                    for (int p = 0; p < d.p; p++) {
                        const float *src = ob + j * d.flat + (size_t)p * d.l;
                        float *dst = yk + (size_t)p * d.q;
                        for (int q = 0; q < d.q; q++) /* rows of a few floats: no call per row */
                            dst[q] = src[q];
                    }
                }
            }
        }
    }
}

/* ---- backward_weights ------------------------------------------------------------ */

/* dy[K][P][Q] of one image, channels k0.. k0 + BW_KB − 1, as flat rows of the output
   layout: dyf[j][p·L + q], zeros in the columns q ≥ Q, past P·L and past K. */
static void direct_flat_dy(const direct_plan *d, const float *dy, int k0, float *dyf)
{
    memset(dyf, 0, (size_t)DIRECT_BW_KB * d->flat * sizeof *dyf);
    for (int j = 0; j < DIRECT_BW_KB && k0 + j < d->k; j++)
        for (int p = 0; p < d->p; p++) {
            const float *src = dy + ((size_t)(k0 + j) * d->p + p) * d->q;
            float *dst = dyf + j * d->flat + (size_t)p * d->l;
            for (int q = 0; q < d->q; q++)
                dst[q] = src[q];
        }
}

/* Taps t0.. t0 + tb − 1 of BW_KB channels, over the chunk's `images`: sums[k][t][lane]
   += Σ_i dyf[k][i]·ph[off[t] + i], images in order, the flat outputs i in order, output
   i in lane i mod 16. */
static inline __attribute__((always_inline)) void direct_bw_block(const direct_plan *d, const float *ph,
                                                                  const int *off, const float *dyf, int t0,
                                                                  const int tb, int images, float *sums)
{
    wino_vec a[DIRECT_BW_KB][DIRECT_BW_TB];
#pragma GCC unroll 8
    for (int kb = 0; kb < DIRECT_BW_KB; kb++)
        for (int j = 0; j < tb; j++)
            a[kb][j] = wv_load(sums + ((size_t)kb * d->taps + t0 + j) * WINO_LANES);
    for (int n = 0; n < images; n++) {
        const float *phn = ph + n * d->image_floats, *dyn = dyf + (size_t)n * DIRECT_BW_KB * d->flat;
        for (size_t i = 0; i < d->flat; i += WINO_LANES) {
            wino_vec xv[DIRECT_BW_TB];
            for (int j = 0; j < tb; j++)
                xv[j] = wv_load(phn + off[t0 + j] + i);
#pragma GCC unroll 8
            for (int kb = 0; kb < DIRECT_BW_KB; kb++) {
                const wino_vec g = wv_load(dyn + kb * d->flat + i);
                for (int j = 0; j < tb; j++)
                    a[kb][j] = wv_fmadd_v(xv[j], g, a[kb][j]);
            }
        }
    }
#pragma GCC unroll 8
    for (int kb = 0; kb < DIRECT_BW_KB; kb++)
        for (int j = 0; j < tb; j++)
            wv_store(sums + ((size_t)kb * d->taps + t0 + j) * WINO_LANES, a[kb][j]);
}

/* The 16 lanes' total: pairs (j, j + 8), then (j, j + 4), ... */
static float direct_lane_tree(const float *lanes)
{
    float v[WINO_LANES];
    memcpy(v, lanes, sizeof v);
    for (int width = WINO_LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++)
            v[j] += v[j + width];
    return v[0];
}

/* x[N][C][H][W], dy[N][K][P][Q] -> dw[K][C][R][S].  Each thread owns whole blocks of
   BW_KB channels (a static share), so each weight's 16 lanes are summed by one
   thread, images in order, flat outputs in order within an image; then a fixed tree
   adds the lanes.  Which thread owns a block, and the register block, change
   nothing. */
void ISA_NAME(direct_bw_compute)(const conv_shape *cs, const float *x, const float *dy, float *dw, void *ws)
{
    const direct_plan d = direct_make_plan(cs);
    float *sums = ws, *slots = sums + d.shared_floats + d.tap_floats;
    int *off = (int *)(sums + d.shared_floats);
    const int kblocks = (d.k + DIRECT_BW_KB - 1) / DIRECT_BW_KB;
    const int threads =
        omp_get_max_threads() < conv_thread_slots() ? omp_get_max_threads() : conv_thread_slots();
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        direct_tap_offsets(&d, off);
        const int nt = omp_get_num_threads(), me = omp_get_thread_num();
        const int kb0 = kblocks * me / nt, kb1 = kblocks * (me + 1) / nt;
        float *ph = slots + (size_t)me * d.slot_floats;
        float *dyf = ph + (size_t)d.chunk * d.image_floats;
        float *mine = sums + (size_t)kb0 * DIRECT_BW_KB * d.taps * WINO_LANES;
        memset(mine, 0, (size_t)(kb1 - kb0) * DIRECT_BW_KB * d.taps * WINO_LANES * sizeof *mine);
        for (int n0 = 0; n0 < d.n && kb0 < kb1; n0 += d.chunk) {
            const int images = d.n - n0 < d.chunk ? d.n - n0 : d.chunk;
            for (int j = 0; j < images; j++)
                direct_phases(&d, x + (size_t)(n0 + j) * d.c * d.h * d.w, ph + j * d.image_floats);
            for (int kb = kb0; kb < kb1; kb++) {
                for (int j = 0; j < images; j++)
                    direct_flat_dy(&d, dy + (size_t)(n0 + j) * d.k * d.p * d.q, kb * DIRECT_BW_KB,
                                   dyf + (size_t)j * DIRECT_BW_KB * d.flat);
                float *sk = sums + (size_t)kb * DIRECT_BW_KB * d.taps * WINO_LANES;
                int t = 0;
                for (; t + DIRECT_BW_TB <= d.taps; t += DIRECT_BW_TB)
                    direct_bw_block(&d, ph, off, dyf, t, DIRECT_BW_TB, images, sk);
                for (; t < d.taps; t++)
                    direct_bw_block(&d, ph, off, dyf, t, 1, images, sk);
            }
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int k = 0; k < d.k; k++)
            for (int t = 0; t < d.taps; t++)
                dw[(size_t)k * d.taps + t] = direct_lane_tree(sums + ((size_t)k * d.taps + t) * WINO_LANES);
    }
}

/* ---- the kernel: compiled once, in the build's own instruction set --------------- */
#if !defined(PROBADOR_ISA_AVX512)

void direct_compute_avx512(const conv_shape *cs, const float *x, const float *w, float *y, void *ws);
void direct_bw_compute_avx512(const conv_shape *cs, const float *x, const float *dy, float *dw, void *ws);

/* forward, stride 1 or 2, filters larger than 1x1; backward_weights of a single input
   channel.  Measured on the AMD EPYC Zen 5 against im2col + BLIS: a 1x1 filter is a
   plain GEMM over the subsampled input, which BLIS did as fast (resnet20's
   projections); backward_weights was twice as fast on resnet20's stem but no faster on
   its stride-2 layers, where every thread lays out every image again. */
static bool direct_supports(const conv_shape *cs, conv_pass pass)
{
    return conv_shape_valid(cs) && cs->stride <= DIRECT_MAX_STRIDE && cs->r * cs->s > 1 &&
           (pass == CONV_FORWARD || (pass == CONV_BACKWARD_WEIGHTS && cs->c == 1));
}

static size_t direct_workspace(const conv_shape *cs)
{
    const direct_plan d = direct_make_plan(cs);
    return (d.shared_floats + d.tap_floats + (size_t)conv_thread_slots() * d.slot_floats) * sizeof(float);
}

static void direct_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws)
{
    ISA_RUN(direct_compute, cs, x, w, y, ws);
}

/* supports() refuses this pass, so callers resolve it to the fallback, im2col, and
   size the workspace for it (conv_workspace_bytes); called directly, it does the
   same.  (backward_weights of several channels, refused too, would run correctly.) */
static void direct_backward_data(const conv_shape *cs, const float *dy, const float *w, float *dx, void *ws)
{
    conv_im2col.backward_data(cs, dy, w, dx, ws);
}
static void direct_backward_weights(const conv_shape *cs, const float *x, const float *dy, float *dw, void *ws)
{
    ISA_RUN(direct_bw_compute, cs, x, dy, dw, ws);
}

/* forward: one FMA chain of C·R·S terms per output; backward_weights: 16 chains of
   at most ⌈N·P·Q/16⌉ terms and a 4-level tree, within the bound of one chain of
   N·P·Q terms.  Both as im2col's GEMM. */
static double direct_tolerance(const conv_shape *cs, conv_pass pass)
{
    return (conv_pass_terms(cs, pass) + 2) * 0x1p-24;
}

const conv_kernel conv_direct = {
    .name = "direct",
    .description = "direct convolution on phase planes: forward of stride-2 and single-channel layers, backward-weights of single-channel ones",
    .supports = direct_supports,
    .fallback = &conv_im2col,
    .workspace_bytes = direct_workspace,
    .forward = direct_forward,
    .backward_data = direct_backward_data,
    .backward_weights = direct_backward_weights,
    .tolerance = direct_tolerance,
};

#endif /* !PROBADOR_ISA_AVX512 */
