/* data/augment.c — normalisation and the random affine warp (contract in the header). */
#include "data/augment.h"

#include <math.h>
#include <stdio.h>

#include "data/rng.h"

/* One intensity (0..255, fractional after interpolation) to the model's input
   scale.  Divisions, not multiplications by reciprocals: nothing here can be
   contracted into an FMA, so every caller rounds the same way. */
static inline float normalise(float intensity)
{
    return (intensity / 255.0f - AUG_MEAN) / AUG_STD;
}

int aug_params_check(const aug_params *p, char *err, size_t errlen)
{
    const char *what = NULL;
    float got = 0.0f;
    if (!isfinite(p->rotation_deg) || p->rotation_deg < 0.0f)
        what = "rotation (degrees) must be finite and >= 0", got = p->rotation_deg;
    else if (!isfinite(p->shift_px) || p->shift_px < 0.0f)
        what = "shift (pixels) must be finite and >= 0", got = p->shift_px;
    else if (!isfinite(p->scale_lo) || p->scale_lo <= 0.0f)
        what = "lower scale must be finite and > 0 (1 = off)", got = p->scale_lo;
    else if (!isfinite(p->scale_hi) || p->scale_hi < p->scale_lo)
        what = "upper scale must be finite and >= the lower scale (1 = off)", got = p->scale_hi;
    else if (!(p->flip_prob >= 0.0f && p->flip_prob <= 1.0f))
        what = "flip probability must be in [0, 1]", got = p->flip_prob;
    if (!what)
        return 0;
    if (errlen > 0)
        snprintf(err, errlen, "error: augmentation: %s (got %g)", what, (double)got);
    return -1;
}

aug_transform aug_draw(const aug_params *p, uint64_t seed, uint64_t epoch, uint64_t sample_index)
{
    rng_stream s = rng_stream_for(seed, RNG_AUGMENT, epoch, sample_index);
    /* Always five draws, in this order, whatever is switched off. */
    const float u_angle = rng_uniform(&s);
    const float u_dx = rng_uniform(&s);
    const float u_dy = rng_uniform(&s);
    const float u_scale = rng_uniform(&s);
    const float u_flip = rng_uniform(&s);
    return (aug_transform){
        .angle_deg = p->rotation_deg * (2.0f * u_angle - 1.0f),
        .dx = p->shift_px * (2.0f * u_dx - 1.0f),
        .dy = p->shift_px * (2.0f * u_dy - 1.0f),
        .scale = p->scale_lo + (p->scale_hi - p->scale_lo) * u_scale,
        .flip = u_flip < p->flip_prob,
    };
}

void aug_normalise(const uint8_t *src, float *dst)
{
    for (int i = 0; i < AUG_PIXELS; i++)
        dst[i] = normalise((float)src[i]);
}

/* A = R(-angle) · (1/scale) · F, in double then rounded once to float. */
typedef struct warp_matrix {
    float a00, a01, a10, a11;
} warp_matrix;

static warp_matrix warp_matrix_for(float angle_deg, float scale, bool flip)
{
    const double theta = (double)angle_deg * (M_PI / 180.0);
    const double c = cos(theta), s = sin(theta), inv = 1.0 / (double)scale, f = flip ? -1.0 : 1.0;
    return (warp_matrix){ (float)(inv * c * f), (float)(inv * s), (float)(-inv * s * f), (float)(inv * c) };
}

enum { N = AUG_SIDE, P = AUG_SIDE + 2 };
static const float centre = 0.5f * (N - 1); /* 13.5 */

void aug_warp_with(const uint8_t *src, float *dst, float angle_deg, float dx, float dy, float scale, bool flip)
{
    const warp_matrix m = warp_matrix_for(angle_deg, scale, flip);

    /* The source as floats with a one-pixel border of zeros: pad[y+1][x+1] =
       src[y][x], so every neighbour of a position with -1 <= sx, sy < 28 is
       readable without a bounds check. */
    float pad[P][P];
    for (int x = 0; x < P; x++)
        pad[0][x] = pad[P - 1][x] = 0.0f;
    for (int y = 0; y < N; y++) {
        pad[y + 1][0] = pad[y + 1][P - 1] = 0.0f;
        for (int x = 0; x < N; x++)
            pad[y + 1][x + 1] = (float)src[y * N + x];
    }

    float u[N];
    for (int x = 0; x < N; x++)
        u[x] = ((float)x - centre) - dx;

    const float background = normalise(0.0f);
    for (int y = 0; y < N; y++) {
        const float v = ((float)y - centre) - dy;
        const float a01v = m.a01 * v, a11v = m.a11 * v;
        float *row = dst + y * N;
        for (int x = 0; x < N; x++) {
            const float sx = (m.a00 * u[x] + a01v) + centre;
            const float sy = (m.a10 * u[x] + a11v) + centre;
            /* outside [-1, 28) all four neighbours are background (and a NaN
               from a degenerate matrix lands here too) */
            if (!(sx >= -1.0f && sx < (float)N && sy >= -1.0f && sy < (float)N)) {
                row[x] = background;
                continue;
            }
            const float x0 = floorf(sx), y0 = floorf(sy);
            const float fx = sx - x0, fy = sy - y0;
            const float gx = 1.0f - fx, gy = 1.0f - fy;
            const float *p0 = &pad[(int)y0 + 1][(int)x0 + 1], *p1 = p0 + P;
            const float intensity = (gx * gy * p0[0] + fx * gy * p0[1]) + (gx * fy * p1[0] + fx * fy * p1[1]);
            row[x] = normalise(intensity);
        }
    }
}

void aug_warp_nearest_with(const uint8_t *src, float *dst, float angle_deg, float dx, float dy, float scale,
                           bool flip)
{
    const warp_matrix m = warp_matrix_for(angle_deg, scale, flip);
    const float background = normalise(0.0f);
    for (int y = 0; y < N; y++) {
        const float v = ((float)y - centre) - dy;
        const float a01v = m.a01 * v, a11v = m.a11 * v;
        for (int x = 0; x < N; x++) {
            const float u = ((float)x - centre) - dx;
            const float sx = floorf((m.a00 * u + a01v) + centre + 0.5f);
            const float sy = floorf((m.a10 * u + a11v) + centre + 0.5f);
            const bool inside = sx >= 0.0f && sx < (float)N && sy >= 0.0f && sy < (float)N; /* false for NaN */
            dst[y * N + x] = inside ? normalise((float)src[(int)sy * N + (int)sx]) : background;
        }
    }
}

void aug_warp_normalise(const uint8_t *src, float *dst, const aug_params *p, uint64_t seed, uint64_t epoch,
                        uint64_t sample_index)
{
    const aug_transform t = aug_draw(p, seed, epoch, sample_index);
    if (p->nearest)
        aug_warp_nearest_with(src, dst, t.angle_deg, t.dx, t.dy, t.scale, t.flip);
    else
        aug_warp_with(src, dst, t.angle_deg, t.dx, t.dy, t.scale, t.flip);
}
