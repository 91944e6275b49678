/* data/augment.c — normalisation, the random affine warp, and the registry of
 * augmentation operations with the pipeline that runs them (contract in the header). */
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

const char *aug_sampling_name(int s)
{
    static const char *const names[] = { [AUG_SAMPLING_BILINEAR] = "bilinear",
                                         [AUG_SAMPLING_NEAREST] = "nearest" };
    return s >= 0 && s < (int)(sizeof names / sizeof names[0]) ? names[s] : NULL;
}

int aug_params_check(const aug_params *p, char *err, size_t errlen)
{
    /* the values as given, and as the operations compute with them: a finite
       double beyond float's range becomes infinite, a tiny scale 0 */
    const float rotation = (float)p->rotation, shift = (float)p->shift;
    const float scale_lo = (float)p->scale[0], scale_hi = (float)p->scale[1], flip = (float)p->flip;
    const char *what = NULL;
    double got = 0.0;
    if (!isfinite(rotation) || p->rotation < 0.0)
        what = "rotation (degrees) must be finite and >= 0", got = p->rotation;
    else if (!isfinite(shift) || p->shift < 0.0)
        what = "shift (pixels) must be finite and >= 0", got = p->shift;
    else if (!isfinite(scale_lo) || scale_lo <= 0.0f)
        what = "lower scale must be finite and > 0 (1 = off)", got = p->scale[0];
    else if (!isfinite(scale_hi) || p->scale[1] < p->scale[0] || scale_hi < scale_lo)
        what = "upper scale must be finite and >= the lower scale (1 = off)", got = p->scale[1];
    else if (!(p->flip >= 0.0 && p->flip <= 1.0 && flip <= 1.0f))
        what = "flip probability must be in [0, 1]", got = p->flip;
    else if (!aug_sampling_name(p->sampling))
        what = "sampling must be 0 (bilinear) or 1 (nearest)", got = p->sampling;
    else if (p->crop_padding < 0 || p->crop_padding > AUG_SIDE / 2)
        what = "crop_padding (pixels) must be in [0, 14]", got = p->crop_padding;
    else if (!(p->erasing >= 0.0 && p->erasing <= 1.0))
        what = "erasing probability must be in [0, 1]", got = p->erasing;
    else if (!(p->erasing_area[0] > 0.0 && p->erasing_area[0] <= p->erasing_area[1] && p->erasing_area[1] <= 1.0))
        what = "erasing_area must be [lo, hi] with 0 < lo <= hi <= 1", got = p->erasing_area[0];
    else if (!(p->erasing_aspect[0] > 0.0 && p->erasing_aspect[0] <= p->erasing_aspect[1] &&
               isfinite((float)p->erasing_aspect[1])))
        what = "erasing_aspect must be [lo, hi] with 0 < lo <= hi, finite", got = p->erasing_aspect[0];
    if (!what)
        return 0;
    if (errlen > 0)
        snprintf(err, errlen, "error: augmentation: %s (got %g)", what, got);
    return -1;
}

/* The warp's five draws from its stream s (the header's order and formulas),
   each parameter converted to float once. */
static aug_transform draw_warp(const aug_params *p, rng_stream *s)
{
    const float rotation_deg = (float)p->rotation, shift_px = (float)p->shift;
    const float scale_lo = (float)p->scale[0], scale_hi = (float)p->scale[1], flip_prob = (float)p->flip;
    /* Always five draws, in this order, whatever is switched off. */
    const float u_angle = rng_uniform(s);
    const float u_dx = rng_uniform(s);
    const float u_dy = rng_uniform(s);
    const float u_scale = rng_uniform(s);
    const float u_flip = rng_uniform(s);
    return (aug_transform){
        .angle_deg = rotation_deg * (2.0f * u_angle - 1.0f),
        .dx = shift_px * (2.0f * u_dx - 1.0f),
        .dy = shift_px * (2.0f * u_dy - 1.0f),
        .scale = scale_lo + (scale_hi - scale_lo) * u_scale,
        .flip = u_flip < flip_prob,
    };
}

rng_stream aug_stream(uint64_t seed, uint64_t epoch, uint64_t sample_index, unsigned stream)
{
    rng_stream s = rng_stream_for(seed, RNG_AUGMENT, epoch, sample_index);
    if (stream != 0) /* another operation's: the key remixed with its number */
        s.key = rng_mix64(s.key ^ ((uint64_t)stream * 0xd6e8feb86659fd93ull));
    return s;
}

aug_transform aug_draw(const aug_params *p, uint64_t seed, uint64_t epoch, uint64_t sample_index)
{
    rng_stream s = aug_stream(seed, epoch, sample_index, 0);
    return draw_warp(p, &s);
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

/* The bilinear warp of intensities: src[28][28] -> out[28][28] (distinct
   arrays), background 0. */
static void warp_bilinear(const float *src, float *out, float angle_deg, float dx, float dy, float scale,
                          bool flip)
{
    const warp_matrix m = warp_matrix_for(angle_deg, scale, flip);

    /* The source with a one-pixel border of zeros: pad[y+1][x+1] = src[y][x],
       so every neighbour of a position with -1 <= sx, sy < 28 is readable
       without a bounds check. */
    float pad[P][P];
    for (int x = 0; x < P; x++)
        pad[0][x] = pad[P - 1][x] = 0.0f;
    for (int y = 0; y < N; y++) {
        pad[y + 1][0] = pad[y + 1][P - 1] = 0.0f;
        for (int x = 0; x < N; x++)
            pad[y + 1][x + 1] = src[y * N + x];
    }

    float u[N];
    for (int x = 0; x < N; x++)
        u[x] = ((float)x - centre) - dx;

    for (int y = 0; y < N; y++) {
        const float v = ((float)y - centre) - dy;
        const float a01v = m.a01 * v, a11v = m.a11 * v;
        float *row = out + y * N;
        for (int x = 0; x < N; x++) {
            const float sx = (m.a00 * u[x] + a01v) + centre;
            const float sy = (m.a10 * u[x] + a11v) + centre;
            /* outside [-1, 28) all four neighbours are background (and a NaN
               from a degenerate matrix lands here too) */
            if (!(sx >= -1.0f && sx < (float)N && sy >= -1.0f && sy < (float)N)) {
                row[x] = 0.0f;
                continue;
            }
            const float x0 = floorf(sx), y0 = floorf(sy);
            const float fx = sx - x0, fy = sy - y0;
            const float gx = 1.0f - fx, gy = 1.0f - fy;
            const float *p0 = &pad[(int)y0 + 1][(int)x0 + 1], *p1 = p0 + P;
            row[x] = (gx * gy * p0[0] + fx * gy * p0[1]) + (gx * fy * p1[0] + fx * fy * p1[1]);
        }
    }
}

/* The nearest-pixel warp of intensities: src[28][28] -> out[28][28] (distinct
   arrays), background 0. */
static void warp_nearest(const float *src, float *out, float angle_deg, float dx, float dy, float scale,
                         bool flip)
{
    const warp_matrix m = warp_matrix_for(angle_deg, scale, flip);
    for (int y = 0; y < N; y++) {
        const float v = ((float)y - centre) - dy;
        const float a01v = m.a01 * v, a11v = m.a11 * v;
        for (int x = 0; x < N; x++) {
            const float u = ((float)x - centre) - dx;
            const float sx = floorf((m.a00 * u + a01v) + centre + 0.5f);
            const float sy = floorf((m.a10 * u + a11v) + centre + 0.5f);
            const bool inside = sx >= 0.0f && sx < (float)N && sy >= 0.0f && sy < (float)N; /* false for NaN */
            out[y * N + x] = inside ? src[(int)sy * N + (int)sx] : 0.0f;
        }
    }
}

static void to_intensities(const uint8_t *src, float *img)
{
    for (int i = 0; i < AUG_PIXELS; i++)
        img[i] = (float)src[i];
}

static void normalise_in_place(float *img)
{
    for (int i = 0; i < AUG_PIXELS; i++)
        img[i] = normalise(img[i]);
}

void aug_warp_with(const uint8_t *src, float *dst, float angle_deg, float dx, float dy, float scale, bool flip)
{
    float img[AUG_PIXELS];
    to_intensities(src, img);
    warp_bilinear(img, dst, angle_deg, dx, dy, scale, flip);
    normalise_in_place(dst);
}

void aug_warp_nearest_with(const uint8_t *src, float *dst, float angle_deg, float dx, float dy, float scale,
                           bool flip)
{
    float img[AUG_PIXELS];
    to_intensities(src, img);
    warp_nearest(img, dst, angle_deg, dx, dy, scale, flip);
    normalise_in_place(dst);
}

void aug_view(const float *src, float *dst, bool flip, int dx, int dy)
{
    const float background = normalise(0.0f);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            const int sy = y - dy, sx0 = x - dx, sx = flip ? N - 1 - sx0 : sx0;
            dst[y * N + x] = sy >= 0 && sy < N && sx0 >= 0 && sx0 < N ? src[sy * N + sx] : background;
        }
}

/* ---- the registry's operations ------------------------------------------ */

static bool warp_enabled(const aug_params *p)
{
    return p->rotation != 0.0 || p->shift != 0.0 || p->scale[0] != 1.0 || p->scale[1] != 1.0 ||
           p->flip != 0.0;
}

/* The affine warp (the header's contract), in place on intensities. */
static void warp_apply(const aug_params *p, float *img, rng_stream *r)
{
    const aug_transform t = draw_warp(p, r);
    float src[AUG_PIXELS];
    for (int i = 0; i < AUG_PIXELS; i++)
        src[i] = img[i];
    if (p->sampling == AUG_SAMPLING_NEAREST)
        warp_nearest(src, img, t.angle_deg, t.dx, t.dy, t.scale, t.flip);
    else
        warp_bilinear(src, img, t.angle_deg, t.dx, t.dy, t.scale, t.flip);
}

static bool crop_enabled(const aug_params *p)
{
    return p->crop_padding > 0;
}

/* Pad-and-crop (the header's contract): the content moves by whole pixels. */
static void crop_apply(const aug_params *p, float *img, rng_stream *r)
{
    const int pad = p->crop_padding, span = 2 * pad + 1;
    const float u1 = rng_uniform(r), u2 = rng_uniform(r);
    int ox = (int)(u1 * (float)span), oy = (int)(u2 * (float)span);
    ox = (ox < span ? ox : span - 1) - pad, oy = (oy < span ? oy : span - 1) - pad;
    float src[AUG_PIXELS];
    for (int i = 0; i < AUG_PIXELS; i++)
        src[i] = img[i];
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            const int sy = y - oy, sx = x - ox;
            img[y * N + x] = sy >= 0 && sy < N && sx >= 0 && sx < N ? src[sy * N + sx] : 0.0f;
        }
}

static bool erasing_enabled(const aug_params *p)
{
    return p->erasing > 0.0;
}

/* Random erasing (the header's contract), on the normalised image: 0 is the
   data set's mean. */
static void erasing_apply(const aug_params *p, float *img, rng_stream *r)
{
    const float prob = (float)p->erasing;
    const float area_lo = (float)p->erasing_area[0], area_hi = (float)p->erasing_area[1];
    const float aspect_lo = (float)p->erasing_aspect[0], aspect_hi = (float)p->erasing_aspect[1];
    const bool erase = rng_uniform(r) < prob;
    bool done = !erase;
    for (int t = 0; t < AUG_ERASING_TRIES; t++) { /* every try draws, whatever happens */
        const float area = (float)AUG_PIXELS * (area_lo + (area_hi - area_lo) * rng_uniform(r));
        const float aspect = aspect_lo + (aspect_hi - aspect_lo) * rng_uniform(r);
        const float u_top = rng_uniform(r), u_left = rng_uniform(r);
        const int h = (int)lroundf(sqrtf(area * aspect)), w = (int)lroundf(sqrtf(area / aspect));
        if (done || h < 1 || w < 1 || h >= N || w >= N)
            continue;
        const int y0 = (int)(u_top * (float)(N + 1 - h)), x0 = (int)(u_left * (float)(N + 1 - w));
        for (int y = y0; y < y0 + h && y < N; y++)
            for (int x = x0; x < x0 + w && x < N; x++)
                img[y * N + x] = 0.0f;
        done = true;
    }
}

/* The operations, in the order the pipeline applies them (within each space).
   A new one: its row here, with the next unused stream number (see aug_op). */
static const aug_op aug_ops[] = {
    {
        .name = "warp",
        .description = "random rotation, shift, scale and horizontal flip (one affine warp)",
        .space = AUG_INTENSITY,
        .stream = 0,
        .enabled = warp_enabled,
        .apply = warp_apply,
    },
    {
        .name = "crop",
        .description = "pad-and-crop: zero padding, then a random 28x28 window (whole-pixel shifts)",
        .space = AUG_INTENSITY,
        .stream = 1,
        .enabled = crop_enabled,
        .apply = crop_apply,
    },
    {
        .name = "erasing",
        .description = "random erasing: a random rectangle set to the data set's mean",
        .space = AUG_NORMALISED,
        .stream = 2,
        .enabled = erasing_enabled,
        .apply = erasing_apply,
    },
};

int aug_op_count(void) { return (int)(sizeof aug_ops / sizeof aug_ops[0]); }

const aug_op *aug_op_at(int i) { return i >= 0 && i < aug_op_count() ? &aug_ops[i] : NULL; }

/* Every operation of `space` that p switches on, in registry order. */
static void apply_ops(aug_space space, const aug_params *p, float *img, uint64_t seed, uint64_t epoch,
                      uint64_t sample_index)
{
    for (int i = 0; i < aug_op_count(); i++) {
        const aug_op *op = &aug_ops[i];
        if (op->space != space || !op->enabled(p))
            continue;
        rng_stream r = aug_stream(seed, epoch, sample_index, op->stream);
        op->apply(p, img, &r);
    }
}

void aug_image(const uint8_t *src, float *dst, const aug_params *p, uint64_t seed, uint64_t epoch,
               uint64_t sample_index)
{
    to_intensities(src, dst);
    apply_ops(AUG_INTENSITY, p, dst, seed, epoch, sample_index);
    normalise_in_place(dst);
    apply_ops(AUG_NORMALISED, p, dst, seed, epoch, sample_index);
}

void aug_warp_normalise(const uint8_t *src, float *dst, const aug_params *p, uint64_t seed, uint64_t epoch,
                        uint64_t sample_index)
{
    to_intensities(src, dst);
    rng_stream r = aug_stream(seed, epoch, sample_index, 0);
    warp_apply(p, dst, &r);
    normalise_in_place(dst);
}
