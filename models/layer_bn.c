/* models/layer_bn.c — batch normalisation over (N, H, W) per channel.
 *
 * Training uses the batch's statistics (biased variance) and updates the
 * running ones with momentum 0.1 and the unbiased variance (PyTorch's
 * convention); evaluation uses the running statistics.  eps = 1e-5.
 * Parameters: gamma[C], beta[C]; state: running mean[C], running var[C];
 * saved: batch mean[C], 1/sqrt(var + eps)[C].  Sums run in double, per channel,
 * in a fixed order; threads split channels.
 */
#include <math.h>
#include <stdio.h>

#include "models/layers.h"

enum { BN_STATE = 2 };
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

/* Σ a[i] and Σ a[i]·b[i] (b may be NULL: Σ a[i]², after subtracting `shift`
 * from a) over one plane of `count` floats, in a fixed order: 16 float partial
 * sums, one per lane (they vectorise without reassociation), added in double.
 * Planes are then added in double, image by image, so the result depends on the
 * shape only. */
enum { LANES = 16 };
static void plane_sums(const float *a, const float *b, float shift, int count, double *sum, double *dot)
{
    float s[LANES] = { 0 }, d[LANES] = { 0 };
    int i = 0;
    if (b)
        for (; i + LANES <= count; i += LANES)
            for (int j = 0; j < LANES; j++) {
                s[j] += a[i + j] - shift;
                d[j] += (a[i + j] - shift) * b[i + j];
            }
    else
        for (; i + LANES <= count; i += LANES)
            for (int j = 0; j < LANES; j++) {
                s[j] += a[i + j] - shift;
                d[j] += (a[i + j] - shift) * (a[i + j] - shift);
            }
    double ts = 0, td = 0;
    for (; i < count; i++) {
        const float v = a[i] - shift, w = b ? b[i] : v;
        ts += v;
        td += (double)v * w;
    }
    for (int j = 0; j < LANES; j++)
        ts += s[j], td += d[j];
    *sum += ts;
    *dot += td;
}

static void bn_fwd(model *m, layer *l, const model_step *st)
{
    const int N = st->batch, C = l->in.c, HW = l->in.h * l->in.w;
    const float *x = layer_in(m, l), *gamma = layer_params(m, l), *beta = gamma + C;
    float *y = layer_out(m, l), *run_mean = m->state + l->state_off, *run_var = run_mean + C;
    float *save_mean = m->save + l->save_off, *save_invstd = save_mean + C;
    const double count = (double)N * HW;

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (st->train) {
            double sum = 0, unused = 0, centred = 0, sq = 0;
            for (int n = 0; n < N; n++)
                plane_sums(x + ((size_t)n * C + c) * HW, NULL, 0.0f, HW, &sum, &unused);
            mean = sum / count;
            /* second pass about the mean: no cancellation in the variance */
            for (int n = 0; n < N; n++)
                plane_sums(x + ((size_t)n * C + c) * HW, NULL, (float)mean, HW, &centred, &sq);
            var = sq / count - (centred / count) * (centred / count);
            if (var < 0)
                var = 0;
            run_mean[c] = (float)((1 - bn_momentum) * run_mean[c] + bn_momentum * mean);
            run_var[c] = (float)((1 - bn_momentum) * run_var[c] +
                                 bn_momentum * (count > 1 ? var * count / (count - 1) : var));
        } else {
            mean = run_mean[c];
            var = run_var[c];
        }
        const float invstd = (float)(1.0 / sqrt(var + bn_eps));
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
        const float scale = gamma[c] * invstd, shift = beta[c] - (float)mean * scale;
        for (int n = 0; n < N; n++) {
            const float *xc = x + ((size_t)n * C + c) * HW;
            float *yc = y + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                yc[i] = xc[i] * scale + shift;
        }
    }
}

/* dx = gamma·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  dgamma = Σ dy·x̂,  dbeta = Σ dy,
   with Σ dy·x̂ = invstd · Σ dy·(x − mean). */
static void bn_bwd(model *m, layer *l, const model_step *st)
{
    const int N = st->batch, C = l->in.c, HW = l->in.h * l->in.w;
    const float *x = layer_in(m, l), *dy = layer_dout(m, l), *gamma = layer_params(m, l);
    const float *save_mean = m->save + l->save_off, *save_invstd = save_mean + C;
    float *dgamma = layer_grads(m, l), *dbeta = dgamma + C, *dx = layer_din(m, l);
    const bool acc = l->acc_src;
    const double count = (double)N * HW;

#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float mean = save_mean[c], invstd = save_invstd[c];
        double sum_dy = 0, sum_dy_xc = 0, unused = 0;
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            plane_sums(dy + o, NULL, 0.0f, HW, &sum_dy, &unused);
            plane_sums(x + o, dy + o, mean, HW, &unused, &sum_dy_xc);
        }
        const double sum_dy_xhat = sum_dy_xc * invstd;
        dgamma[c] = (float)sum_dy_xhat;
        dbeta[c] = (float)sum_dy;
        const float k = gamma[c] * invstd, mdy = (float)(sum_dy / count), mdx = (float)(sum_dy_xhat / count);
        for (int n = 0; n < N; n++) {
            const size_t o = ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                const float xhat = (x[o + i] - mean) * invstd;
                const float g = k * (dy[o + i] - mdy - xhat * mdx);
                dx[o + i] = acc ? dx[o + i] + g : g;
            }
        }
    }
}

const op_def op_bn = { "bn", bn_out, bn_params, bn_state, bn_saved, bn_flops, bn_fwd, bn_bwd };
