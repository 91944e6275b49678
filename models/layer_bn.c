/* models/layer_bn.c — batch normalisation over (N, H, W) per channel, alone or
 * fused with the ReLU that follows it (and the residual add between them, or
 * the max-pool after it: models/layers.h, "Fusion").
 *
 * Training uses the batch's statistics (biased variance) and updates the
 * running ones with momentum 0.1 and the unbiased variance (PyTorch's
 * convention); evaluation uses the running statistics.  eps = 1e-5.
 * Parameters: gamma[C], beta[C]; state: running mean[C], running var[C];
 * saved: batch mean[C], 1/sqrt(var + eps)[C].
 *
 * The bits.  Every per-channel sum runs in 16 double lanes: element i of an
 * image's plane goes to lane i mod 16, the images of one block of REDUCE_BLOCK in
 * order, then the lanes are added in a fixed tree (lane_tree), and the blocks in
 * block order (models/dist.h: so that several processes, each with some of the
 * blocks, compute the same bits).  Every multiply-add is an explicit
 * fused one.  So the result is fixed by the shape: not by the thread count
 * (threads split channels, never one channel's sum) and not by how the
 * compiler would have vectorised a plain loop.  The lanes (models/bn_lanes.c)
 * run as AVX-512 or AVX2 instructions, whichever this CPU runs, or as a scalar
 * loop; all compute the same bits (tests/test_gradients.c compares them).
 */
#include <math.h>
#include <stdio.h>

#include "models/bn_lanes.h"
#include "models/layers.h"
#include "models/relu_mask.h"

enum { BN_STATE = 2, LANES = BN_LANES };
static const double bn_eps = 1e-5, bn_momentum = 0.1;

static bool bn_out(const layer_spec *s, tshape in, tshape *out, char *err, size_t errlen)
{
    *out = in;
    return true;
}
static size_t bn_params(const layer_spec *s, tshape in, tshape out) { return 2 * (size_t)in.c; }
static size_t bn_state(const layer_spec *s, tshape in, tshape out) { return BN_STATE * (size_t)in.c; }
static size_t bn_saved(const layer_spec *s, tshape in, tshape out, int b) { return 2 * (size_t)in.c; }
static double bn_flops(const layer_spec *s, tshape in, tshape out) { return 0; }

/* The 16 lanes' total: pairs (j, j + 8), then (j, j + 4), ... */
static double lane_tree(double v[LANES])
{
    for (int width = LANES / 2; width >= 1; width /= 2)
        for (int j = 0; j < width; j++)
            v[j] += v[j + width];
    return v[0];
}

/* ---- whole channels --------------------------------------------------------------- */

/* What one BN pass reads and writes.  Unfused: x → y, dy → dx.  Fused with
   its ReLU (and an add): y is the ReLU's output, mask its mask, dy its
   gradient, skip the add's other input and dskip that input's gradient. */
typedef struct bn_io {
    const float *x, *skip; /* skip: NULL without a residual add */
    float *y;
    uint16_t *mask;        /* NULL without a ReLU; planes of relu_mask_words(HW) */
    const float *dy;
    float *dx, *dskip;
    bool acc_dx, acc_dskip; /* add to the gradient rather than overwrite it (layer.acc_src) */
    /* fused with a max-pool after the ReLU: its output, its windows' winners and
       its output's gradient (y and dy are then NULL: the ReLU's output is never
       in memory) */
    float *pooled;
    uint8_t *winner;
    const float *dpooled;
    const maxpool_planes *pool; /* the max-pool's plane functions (models/layers.h) */
} bn_io;

/* A channel's planes lie C·HW floats apart, each too short for the hardware
   prefetcher to pick up (a 7×7 plane is 4 cache lines): each loop over a
   channel's planes asks for the plane `ahead` images on (and, at image 0, for
   the first ones).  Memory traffic only: the arithmetic is untouched. */
static int planes_ahead(int HW)
{
    const int a = 4096 / (HW * (int)sizeof(float));
    return a < 2 ? 2 : a > 16 ? 16 : a;
}

static inline void prefetch_planes(const float *t, int n, int N, int C, int c, int HW, int ahead, bool write)
{
    if (!t)
        return;
    for (int k = n == 0 ? 0 : n + ahead; k <= n + ahead && k < N; k++) {
        const char *p = (const char *)(t + ((size_t)k * C + c) * HW);
        for (size_t b = 0; b < HW * sizeof(float); b += 64)
            write ? __builtin_prefetch(p + b, 1) : __builtin_prefetch(p + b, 0);
    }
}

/* The mean and the sum of squared deviations of channel c over block b's images, in
   one pass.  Precision: the sums are of d = x − pilot, pilot being the block's first
   element of the channel; d is exact in double and d² rounds once (in the fma), so the
   errors are the additions', each lane's relative error below (16·HW/16)·2⁻⁵³.  The
   squares' sum Q − M·d̄² cancels by a factor 1 + ((mean − pilot)/std)²: with the pilot
   a sample of the block that stays far below the 1e4 that would cost float precision.
   The test against the float64 reference uses mean 1e4 with std 1e-2. */
static void block_moments(const bn_lanes *lanes, const float *x, int N, int C, int HW, int c, int b,
                          double out[2])
{
    const int n0 = b * REDUCE_BLOCK, images = block_images(N, b);
    const double pilot = x[((size_t)n0 * C + c) * HW];
    double s[LANES] = { 0 }, q[LANES] = { 0 };
    const int ahead = planes_ahead(HW);
    for (int n = n0; n < n0 + images; n++) {
        prefetch_planes(x, n, N, C, c, HW, ahead, false);
        lanes->moments(x + ((size_t)n * C + c) * HW, HW, pilot, s, q);
    }
    const double M = (double)images * HW, d = lane_tree(s) / M;
    out[0] = pilot + d;
    out[1] = fmax(fma(-M * d, d, lane_tree(q)), 0.0);
}

/* Channel c's batch mean and biased variance from every block's (mean, squared
   deviations) in stats[block][C][2], the blocks added in order (Chan, Golub and
   LeVeque's pairwise update). */
static void combine_moments(const double *stats, int blocks, int total, int C, int HW, int c, double *mean,
                            double *var)
{
    double n = 0, mu = 0, m2 = 0;
    for (int b = 0; b < blocks; b++) {
        const double *st = stats + ((size_t)b * C + c) * 2;
        const double nb = (double)block_images(total, b) * HW, t = n + nb, delta = st[0] - mu;
        mu += delta * (nb / t);
        m2 += st[1] + delta * delta * (n * nb / t);
        n = t;
    }
    *mean = mu;
    *var = m2 / n;
}

static void bn_forward_run(model *m, const layer *bn, const bn_io *io, const model_step *st)
{
    const int N = st->batch, C = bn->in.c, HW = bn->in.h * bn->in.w;
    const float *gamma = layer_params(m, bn), *beta = gamma + C;
    float *run_mean = m->state + bn->state_off, *run_var = run_mean + C;
    float *save_mean = m->save + bn->save_off, *save_invstd = save_mean + C;
    const int total = step_total(st), blocks = dist_blocks(total), b0 = step_first_block(st);
    const double count = (double)total * HW;
    double *stats = m->block_stats;

    const size_t words = relu_mask_words(HW);
    const int ahead = planes_ahead(HW);
    const bn_lanes *lanes = bn_lanes_in_use();
    /* over several processes every block's moments first, then the exchange; alone, a
       channel at a time, its planes still in cache when they are normalised */
    const bool exchange = st->train && dist_ranks(m->dist) > 1;
    if (exchange) {
#pragma omp parallel for schedule(static)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < dist_blocks(N); j++)
                block_moments(lanes, io->x, N, C, HW, c, j, stats + ((size_t)(b0 + j) * C + c) * 2);
        dist_gather(m->dist, stats, blocks, 2 * (size_t)C);
    }
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double mean = run_mean[c], var = run_var[c];
        if (st->train) {
            for (int j = 0; !exchange && j < dist_blocks(N); j++)
                block_moments(lanes, io->x, N, C, HW, c, j, stats + ((size_t)(b0 + j) * C + c) * 2);
            combine_moments(stats, blocks, total, C, HW, c, &mean, &var);
            run_mean[c] = (float)((1 - bn_momentum) * run_mean[c] + bn_momentum * mean);
            run_var[c] = (float)((1 - bn_momentum) * run_var[c] +
                                 bn_momentum * (count > 1 ? var * count / (count - 1) : var));
        }
        const float invstd = (float)(1.0 / sqrt(var + bn_eps));
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
        /* (x − mean)·scale + beta rather than x·scale + shift: with a large
           mean, x·scale and shift are large and each rounding costs that size */
        const float scale = gamma[c] * invstd;
        float pool_in[BN_POOL_PLANE_MAX]; /* fused with a max-pool: one plane of the ReLU's output */
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            prefetch_planes(io->skip, n, N, C, c, HW, ahead, false);
            prefetch_planes(io->y, n, N, C, c, HW, ahead, true);
            lanes->normalise(io->x + o, io->skip ? io->skip + o : NULL, io->pooled ? pool_in : io->y + o,
                             io->mask ? io->mask + ((size_t)n * C + c) * words : NULL, (float)mean, scale, beta[c], HW);
            if (io->pooled) {
                const size_t po = ((size_t)n * C + c) * (bn->in.h / 2) * (bn->in.w / 2);
                io->pool->forward(pool_in, bn->in.h, bn->in.w, io->pooled + po, io->winner + po);
            }
        }
    }
}

/* dx = gamma·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  dgamma = Σ dy·x̂,  dbeta = Σ dy,
   with Σ dy·x̂ = invstd · Σ dy·(x − mean): one pass for both sums (which also
   writes the residual's gradient when fused), one for dx.  The sums are per block
   (the blocks' dgamma and dbeta are the parameters' block gradients), then added in
   block order. */
/* Plane p of the gradient of the ReLU's output in the fused BN → ReLU → max-pool:
   what the pool's backward writes there (the lanes then mask it by the ReLU's). */
static void pooled_grad(const bn_io *io, const layer *bn, size_t p, float *g)
{
    const size_t pooled = (size_t)(bn->in.h / 2) * (bn->in.w / 2);
    io->pool->backward(io->winner + p * pooled, io->dpooled + p * pooled, bn->in.h, bn->in.w, g, false);
}

/* Block j's (Σ g, Σ g·(x − mean)) of channel c into sums[2], its dgamma and dbeta into
   the block's gradient; writes the residual's gradient of its images when fused. */
static void block_grad_sums(model *m, const layer *bn, const bn_io *io, const bn_lanes *lanes, int N, int c, int j,
                            double sums[2])
{
    const int C = bn->in.c, HW = bn->in.h * bn->in.w, n0 = j * REDUCE_BLOCK;
    const float mean = m->save[bn->save_off + c], invstd = m->save[bn->save_off + C + c];
    const size_t words = relu_mask_words(HW);
    const int ahead = planes_ahead(HW);
    double s[LANES] = { 0 }, p[LANES] = { 0 };
    float pool_grad[BN_POOL_PLANE_MAX]; /* fused with a max-pool: the ReLU's output gradient, one plane */
    for (int n = n0; n < n0 + block_images(N, j); n++) {
        const size_t o = ((size_t)n * C + c) * HW;
        const uint16_t *mask = io->mask ? io->mask + ((size_t)n * C + c) * words : NULL;
        prefetch_planes(io->x, n, N, C, c, HW, ahead, false);
        prefetch_planes(io->dy, n, N, C, c, HW, ahead, false);
        prefetch_planes(io->dskip, n, N, C, c, HW, ahead, true);
        if (io->dpooled) /* the pool's gradient, its winners' only: the ReLU's mask applies below */
            pooled_grad(io, bn, (size_t)n * C + c, pool_grad);
        lanes->grad_sums(io->x + o, io->dpooled ? pool_grad : io->dy + o, mask, io->dskip ? io->dskip + o : NULL,
                         io->acc_dskip, mean, HW, s, p);
    }
    sums[0] = lane_tree(s), sums[1] = lane_tree(p);
    float *dgamma = layer_block_grads(m, bn, j), *dbeta = dgamma + C;
    dgamma[c] = (float)(sums[1] * invstd);
    dbeta[c] = (float)sums[0];
}

static void bn_backward_run(model *m, const layer *bn, const bn_io *io, const model_step *st)
{
    const int N = st->batch, C = bn->in.c, HW = bn->in.h * bn->in.w;
    const float *gamma = layer_params(m, bn), *save_mean = m->save + bn->save_off, *save_invstd = save_mean + C;
    const size_t words = relu_mask_words(HW);
    const int ahead = planes_ahead(HW);
    const int total = step_total(st), blocks = dist_blocks(total), b0 = step_first_block(st);
    const double count = (double)total * HW;
    const bn_lanes *lanes = bn_lanes_in_use();
    double *sums = m->block_stats;
    const bool exchange = dist_ranks(m->dist) > 1;
    if (exchange) {
#pragma omp parallel for schedule(static)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < dist_blocks(N); j++)
                block_grad_sums(m, bn, io, lanes, N, c, j, sums + ((size_t)(b0 + j) * C + c) * 2);
        dist_gather(m->dist, sums, blocks, 2 * (size_t)C);
    }

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float mean = save_mean[c], invstd = save_invstd[c];
        for (int j = 0; !exchange && j < dist_blocks(N); j++)
            block_grad_sums(m, bn, io, lanes, N, c, j, sums + ((size_t)(b0 + j) * C + c) * 2);
        double sum_dy = 0, sum_dy_xc = 0;
        for (int b = 0; b < blocks; b++)
            sum_dy += sums[((size_t)b * C + c) * 2], sum_dy_xc += sums[((size_t)b * C + c) * 2 + 1];
        const double sum_dy_xhat = sum_dy_xc * invstd;
        const float coef[5] = { [COEF_MEAN] = mean, [COEF_INVSTD] = invstd, [COEF_K] = gamma[c] * invstd,
                                [COEF_MDY] = (float)(sum_dy / count), [COEF_MDX] = (float)(sum_dy_xhat / count) };
        /* a residual gradient written (not added to) by the first pass is the
           masked gradient itself: one stream to read instead of two */
        const bool g_in_dskip = io->dskip && !io->acc_dskip;
        const float *g = g_in_dskip ? io->dskip : io->dy;
        float pool_grad[BN_POOL_PLANE_MAX];
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            const uint16_t *mask = io->mask && !g_in_dskip ? io->mask + ((size_t)n * C + c) * words : NULL;
            prefetch_planes(io->dx, n, N, C, c, HW, ahead, true);
            if (io->dpooled)
                pooled_grad(io, bn, (size_t)n * C + c, pool_grad);
            lanes->input_grad(io->x + o, io->dpooled ? pool_grad : g + o, mask, io->dx + o, io->acc_dx, coef, HW);
        }
    }
}

static void bn_fwd(model *m, layer *l, const model_step *st)
{
    const bn_io io = { .x = layer_in(m, l), .y = layer_out(m, l) };
    bn_forward_run(m, l, &io, st);
}

static void bn_bwd(model *m, layer *l, const model_step *st)
{
    const bn_io io = { .x = layer_in(m, l), .dy = layer_dout(m, l), .dx = layer_din(m, l), .acc_dx = l->acc_src };
    bn_backward_run(m, l, &io, st);
}

const op_def op_bn = { "bn", bn_out, bn_params, bn_state, bn_saved, bn_flops, bn_fwd, bn_bwd };

/* ---- fused: BN → ReLU, BN → add → ReLU (models/layers.h) -------------------------- */

static bn_io fused_io(model *m, const layer *relu, const layer **bn)
{
    *bn = &m->layers[relu->fuse_bn];
    if (relu->fuse_pool >= 0) { /* the ReLU's output and its gradient stay out of memory */
        const layer *pool = &m->layers[relu->fuse_pool];
        return (bn_io){ .x = layer_in(m, *bn), .mask = (uint16_t *)(m->save + relu->save_off),
                        .dx = layer_din(m, *bn), .acc_dx = (*bn)->acc_src, .pooled = layer_out(m, pool),
                        .winner = (uint8_t *)(m->save + pool->save_off), .dpooled = layer_dout(m, pool),
                        .pool = maxpool_planes_in_use() };
    }
    bn_io io = { .x = layer_in(m, *bn), .y = layer_out(m, relu),
                 .mask = (uint16_t *)(m->save + relu->save_off), .dy = layer_dout(m, relu),
                 .dx = layer_din(m, *bn), .acc_dx = (*bn)->acc_src };
    if (relu->fuse_add >= 0) {
        const layer *add = &m->layers[relu->fuse_add];
        const bool bn_first = add->src == relu->fuse_bn;
        const int skip = bn_first ? add->src2 : add->src;
        io.skip = m->acts + m->layers[skip].act_off;
        io.dskip = m->dacts + m->layers[skip].act_off;
        io.acc_dskip = bn_first ? add->acc_src2 : add->acc_src;
    }
    return io;
}

void bn_fused_forward(model *m, layer *relu, const model_step *st)
{
    const layer *bn;
    const bn_io io = fused_io(m, relu, &bn);
    bn_forward_run(m, bn, &io, st);
}

void bn_fused_backward(model *m, layer *relu, const model_step *st)
{
    const layer *bn;
    const bn_io io = fused_io(m, relu, &bn);
    bn_backward_run(m, bn, &io, st);
}
