/* data/augment.h — normalisation and the random affine warp of training images.
 *
 * Input: one 28×28 grey image src[28][28] (uint8, 0 = background .. 255).
 * Output: dst[28][28] floats, normalised as the models expect:
 *     (intensity / 255 − AUG_MEAN) / AUG_STD          (AUG_MEAN 0.2860, AUG_STD 0.3530)
 *
 * The warp.  Coordinates are pixel centres: column x and row y run 0..27, the
 * y axis points down, and the image centre is c = (13.5, 13.5).  The forward
 * transform of the content is
 *     p_out − c = F · S · R · (p_src − c) + t
 * i.e. rotate by `angle` degrees (positive turns +x towards +y: clockwise as
 * displayed), then scale by `scale`, then mirror horizontally (F: x → −x) if
 * `flip`, then shift by t = (dx, dy) pixels (positive dx moves the content
 * right, positive dy moves it down).  Each output pixel is pulled from
 *     p_src = A · (p_out − c − t) + c,      A = R(−angle) · (1/scale) · F,
 * the 2×2 matrix A computed once per image (in double, then rounded to float).
 * The intensity there is bilinear in the four neighbouring source pixels
 * (or, with aug_params.nearest, that of the nearest one: see aug_warp_nearest_with);
 * neighbours outside the image read as intensity 0, so the background is the
 * normalised value of 0.  Per output pixel, all in float, in this order:
 *     u  = (x − 13.5) − dx,  v = (y − 13.5) − dy
 *     sx = (A00·u + A01·v) + 13.5,  sy = (A10·u + A11·v) + 13.5
 *     x0 = floor(sx), fx = sx − x0  (same for y)
 *     I  = ((1−fx)(1−fy)·I00 + fx(1−fy)·I01) + ((1−fx)fy·I10 + fx·fy·I11)
 *     out = (I / 255 − AUG_MEAN) / AUG_STD
 * so the identity warp, whole-pixel shifts and the mirror reproduce
 * aug_normalise of the moved image bit for bit.
 *
 * The random draw (aug_draw).  One stream per image and epoch,
 * rng_stream_for(seed, RNG_AUGMENT, epoch, sample_index), sample_index being
 * the image's index in its data set.  Five uniforms u1..u5 in [0, 1) are drawn
 * in this fixed order, ALWAYS, whether or not that part is switched on — so
 * switching one part off leaves the other parts' values unchanged (the
 * ablation study relies on it):
 *     angle = rotation_deg · (2·u1 − 1)          in [−rotation_deg, rotation_deg)
 *     dx    = shift_px · (2·u2 − 1)              in [−shift_px, shift_px)
 *     dy    = shift_px · (2·u3 − 1)
 *     scale = scale_lo + (scale_hi − scale_lo)·u4   in [scale_lo, scale_hi)
 *     flip  = u5 < flip_prob
 * A part is off when rotation_deg = 0, shift_px = 0, scale_lo = scale_hi = 1,
 * flip_prob = 0 (AUG_PARAMS_NONE switches everything off).
 *
 * Thread safety: every function is pure (no shared state); call them from any
 * number of threads.
 */
#ifndef PROBADOR_DATA_AUGMENT_H
#define PROBADOR_DATA_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUG_SIDE 28            /* images are AUG_SIDE × AUG_SIDE */
#define AUG_PIXELS (28 * 28)
#define AUG_MEAN 0.2860f       /* Fashion-MNIST training-set mean of intensity/255 */
#define AUG_STD 0.3530f        /* ... and its standard deviation */

typedef struct aug_params {
    float rotation_deg;        /* angle uniform in ±rotation_deg; 0 = off */
    float shift_px;            /* dx, dy each uniform in ±shift_px; 0 = off */
    float scale_lo, scale_hi;  /* scale uniform in [lo, hi]; 1, 1 = off; 0 < lo ≤ hi */
    float flip_prob;           /* probability of a horizontal mirror; 0 = off */
    bool nearest;              /* sample the nearest source pixel instead of bilinear */
} aug_params;

/* Everything off: the warp reproduces aug_normalise exactly. */
#define AUG_PARAMS_NONE ((aug_params){ 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, false })

/* One drawn warp (see the header comment for the meaning of each field). */
typedef struct aug_transform {
    float angle_deg, dx, dy, scale;
    bool flip;
} aug_transform;

/* Check p: every value finite, rotation_deg ≥ 0, shift_px ≥ 0,
   0 < scale_lo ≤ scale_hi, 0 ≤ flip_prob ≤ 1.  Returns 0, or -1 with a message
   in err ("error: WHAT (expected X, got Y)"; NUL-terminated when errlen > 0). */
int aug_params_check(const aug_params *p, char *err, size_t errlen);

/* The five draws for one image, in the documented order. */
aug_transform aug_draw(const aug_params *p, uint64_t seed, uint64_t epoch, uint64_t sample_index);

/* src[28][28] -> dst[28][28]: no augmentation (evaluation). */
void aug_normalise(const uint8_t *src, float *dst);

/* src[28][28] -> dst[28][28]: the warp with explicit values; scale > 0. */
void aug_warp_with(const uint8_t *src, float *dst, float angle_deg, float dx, float dy, float scale, bool flip);

/* The same warp sampling the nearest source pixel, (floor(sx + 0.5), floor(sy + 0.5)),
   instead of interpolating: no blur, as torchvision's RandomAffine does by default.
   Positions rounding outside the image read as background. */
void aug_warp_nearest_with(const uint8_t *src, float *dst, float angle_deg, float dx, float dy, float scale,
                           bool flip);

/* src[28][28] -> dst[28][28]: aug_warp_with(aug_draw(p, seed, epoch, sample_index)).
   p must pass aug_params_check. */
void aug_warp_normalise(const uint8_t *src, float *dst, const aug_params *p, uint64_t seed, uint64_t epoch,
                        uint64_t sample_index);

#endif
