/* kernels/conv_direct.c — a direct forward convolution for the layers Winograd does not
 * serve: stride 2 and single-channel inputs (the stem).  Not in the registry: it is
 * the Winograd kernels' fallback, and falls back to im2col itself (backward passes,
 * 1x1 filters, strides above 2).
 *
 * Phases.  With stride st, the zero-padded input splits into st×st phase planes,
 * plane (a, b) holding rows a, a + st, ... and columns b, b + st, ... of it; filter
 * tap (r, s) reads plane (r mod st, s mod st) at (p + r div st, q + s div st) for
 * output (p, q).  Each plane is stored with row length L = Q + (S − 1) div st (a few
 * columns more than the output), so output (p, q) is flat index i = p·L + q and tap
 * (r, s) reads the plane at i + (r div st)·L + s div st: every tap of every output is
 * one contiguous vector load, stride 1 or 2 alike.  The columns q ≥ Q of the flat
 * outputs are computed and dropped.
 *
 * Work.  The weights are packed once per call, KB output channels side by side per
 * tap: wp[K/KB][C·R·S][KB], zeros past K.  Then each image, one per thread at a time:
 * its phase planes into the thread's slot, and for each block of KB output channels,
 * register blocks of KB channels × NV vectors of 16 flat outputs, summing over the
 * taps t = (c·R + r)·S + s in increasing order, one FMA per tap, into the slot's
 * output buffer, copied out without the extra columns.
 *
 * Determinism.  Every output is one FMA chain over the taps in the order of the
 * reference convolution, the same code for every lane, whatever the register block;
 * threads split images.  So the bits are fixed by the shape, for any thread count,
 * and the AVX-512 copy (8 channels × 3 vectors per block) computes the AVX2 copy's
 * bits (4 × 1, each vector two 8-float halves; kernels/isa.h, tests/test_isa.c).
 *
 * Workspace (floats): lines(⌈K/KB⌉·KB·C·R·S) + lines(C·R·S) (the taps' offsets) +
 * slots·[ C·phases·plane + KB·F ], plane = lines((PH + 1)·L + 16), F = P·L rounded up
 * to 16, PH = P + (R − 1) div st, phases = min(st, R)·min(st, S), lines(n) = n
 * rounded up to 16; slots = conv_thread_slots().
 */
#include "kernels/conv.h"
#include "kernels/conv_reference.h"
#include "kernels/isa.h"
#include "kernels/winograd_transforms.h" /* wino_vec: 16 float lanes */

#include <omp.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
enum { DIRECT_KB = 8, DIRECT_NV = 3 };
#else
enum { DIRECT_KB = 4, DIRECT_NV = 1 };
#endif
enum { DIRECT_MAX_KB = 8, DIRECT_MAX_STRIDE = 2 };

/* A forward convolution as the engine sees it. */
typedef struct direct_plan {
    int n, c, h, w, k, r, s, st, pad, p, q;
    int pa, pb;        /* phases used in each dimension: min(st, R), min(st, S) */
    int l, ph;         /* plane row length and rows */
    int taps;          /* C·R·S */
    int kblocks;       /* ⌈K/KB⌉ (KB of the copy that plans: both copies agree on the bytes) */
    size_t plane;      /* floats per phase plane */
    size_t flat;       /* P·L rounded up to 16 */
    size_t wp_floats, tap_floats, slot_floats;
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
    d.kblocks = (d.k + DIRECT_MAX_KB - 1) / DIRECT_MAX_KB * (DIRECT_MAX_KB / DIRECT_KB);
    d.plane = lines16((size_t)(d.ph + 1) * d.l + WINO_LANES);
    d.flat = lines16((size_t)d.p * d.l);
    d.wp_floats = lines16((size_t)d.kblocks * DIRECT_KB * d.taps);
    d.tap_floats = lines16((size_t)d.taps);
    d.slot_floats = (size_t)d.c * d.pa * d.pb * d.plane + (size_t)DIRECT_MAX_KB * d.flat;
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
    memset(ph, 0, (size_t)d->c * d->pa * d->pb * d->plane * sizeof *ph);
    for (int c = 0; c < d->c; c++)
        for (int a = 0; a < d->pa; a++)
            for (int i = 0; i <= d->ph; i++) {
                const int hh = i * d->st + a - d->pad;
                if (hh < 0 || hh >= d->h)
                    continue;
                const float *row = x + ((size_t)c * d->h + hh) * d->w;
                for (int b = 0; b < d->pb; b++) {
                    float *dst = ph + ((size_t)(c * d->pa + a) * d->pb + b) * d->plane + (size_t)i * d->l;
                    const float *src = row + b - d->pad;
                    if (d->st == 1)
                        for (int j = jlo[b]; j < jhi[b]; j++)
                            dst[j] = src[j];
                    else
                        for (int j = jlo[b]; j < jhi[b]; j++)
                            dst[j] = src[2 * j];
                }
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
    float *wp = ws, *slots = wp + d.wp_floats + d.tap_floats;
    int *off = (int *)(wp + d.wp_floats);
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
        for (int t = 0; t < d.taps; t++) {
            const int c = t / (d.r * d.s), r = t / d.s % d.r, s = t % d.s;
            const size_t plane = ((size_t)(c * d.pa + r % d.st) * d.pb + s % d.st) * d.plane;
            off[t] = (int)(plane + (size_t)(r / d.st) * d.l + s / d.st);
        }
        /* (the implicit barriers of both: every thread sees wp and off) */
        float *ph = slots + (size_t)omp_get_thread_num() * d.slot_floats;
        float *ob = ph + (size_t)d.c * d.pa * d.pb * d.plane;
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
                    for (int p = 0; p < d.p; p++)
                        memcpy(yk + (size_t)p * d.q, ob + j * d.flat + (size_t)p * d.l, (size_t)d.q * sizeof *yk);
                }
            }
        }
    }
}

/* ---- the kernel: compiled once, in the build's own instruction set --------------- */
#if !defined(PROBADOR_ISA_AVX512)

void direct_compute_avx512(const conv_shape *cs, const float *x, const float *w, float *y, void *ws);

/* Forward only, stride 1 or 2, filters larger than 1x1: a 1x1 filter is a plain
   GEMM over the subsampled input, which im2col's BLIS call did as fast (measured on
   resnet20's projections), so it stays there. */
static bool direct_supports(const conv_shape *cs, conv_pass pass)
{
    return pass == CONV_FORWARD && conv_shape_valid(cs) && cs->stride <= DIRECT_MAX_STRIDE &&
           cs->r * cs->s > 1;
}

static size_t direct_workspace(const conv_shape *cs)
{
    const direct_plan d = direct_make_plan(cs);
    return (d.wp_floats + d.tap_floats + (size_t)conv_thread_slots() * d.slot_floats) * sizeof(float);
}

static void direct_forward(const conv_shape *cs, const float *x, const float *w, float *y, void *ws)
{
#if defined(PROBADOR_ISA_DISPATCH)
    if (isa_avx512()) {
        isa_count_avx512_run();
        direct_compute_avx512(cs, x, w, y, ws);
        return;
    }
#endif
    direct_compute(cs, x, w, y, ws);
}

/* supports() refuses these passes, so callers resolve them to the fallback, im2col,
   and size the workspace for it (conv_workspace_bytes); called directly, they do
   the same. */
static void direct_backward_data(const conv_shape *cs, const float *dy, const float *w, float *dx, void *ws)
{
    conv_im2col.backward_data(cs, dy, w, dx, ws);
}
static void direct_backward_weights(const conv_shape *cs, const float *x, const float *dy, float *dw, void *ws)
{
    conv_im2col.backward_weights(cs, x, dy, dw, ws);
}

/* One FMA chain of C·R·S terms per output, as im2col's GEMM. */
static double direct_tolerance(const conv_shape *cs, conv_pass pass)
{
    return (conv_pass_terms(cs, pass) + 2) * 0x1p-24;
}

const conv_kernel conv_direct = {
    .name = "direct",
    .description = "direct convolution on phase planes: forward of stride-2 and single-channel layers",
    .supports = direct_supports,
    .fallback = &conv_im2col,
    .workspace_bytes = direct_workspace,
    .forward = direct_forward,
    .backward_data = direct_backward_data,
    .backward_weights = direct_backward_weights,
    .tolerance = direct_tolerance,
};

#endif /* !PROBADOR_ISA_AVX512 */
