/* data/augment.h — normalisation and the augmentations of training images.
 *
 * Input: one 28×28 grey image src[28][28] (uint8, 0 = background .. 255).
 * Output: dst[28][28] floats, normalised as the models expect:
 *     (intensity / 255 − AUG_MEAN) / AUG_STD          (AUG_MEAN 0.2860, AUG_STD 0.3530)
 *
 * The pipeline (aug_image, what batch_fill runs for each training image): the
 * image as float intensities (0 .. 255); every operation of the registry
 * (aug_op_at) that aug_params switches on, in registry order, in place; then
 * the normalisation.  Operations working on the normalised image (space
 * AUG_NORMALISED) run after it.  The registry holds, in this order: the affine
 * warp and pad-and-crop (intensities), random erasing (normalised).
 *
 * The parameters (aug_params) are the configuration's own storage: the
 * augmentation.* keys are its fields, in double.  Each operation converts the
 * fields it reads to float once, where it uses them, and computes in float
 * from there.
 *
 * Adding an operation: its function and one row of the registry (data/augment.c),
 * its field(s) in aug_params (below), one row of the configuration schema.
 * Its random draws come from its own stream, keyed by the row's `stream`
 * number (see aug_op): adding, removing or reordering operations never changes
 * another's draws, the warp's five below included.
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
 * (or, with sampling AUG_SAMPLING_NEAREST, that of the nearest one: see aug_warp_nearest_with);
 * neighbours outside the image read as intensity 0, so the background is the
 * normalised value of 0.  Per output pixel, all in float, in this order:
 *     u  = (x − 13.5) − dx,  v = (y − 13.5) − dy
 *     sx = (A00·u + A01·v) + 13.5,  sy = (A10·u + A11·v) + 13.5
 *     x0 = floor(sx), fx = sx − x0  (same for y)
 *     I  = ((1−fx)(1−fy)·I00 + fx(1−fy)·I01) + ((1−fx)fy·I10 + fx·fy·I11)
 *     out = (I / 255 − AUG_MEAN) / AUG_STD
 * so the identity warp, whole-pixel shifts and the mirror reproduce
 * aug_normalise of the moved image bit for bit.  (In the pipeline the warp
 * writes the intensity I, and the normalisation follows: the same bits.)
 *
 * The random draw (aug_draw).  One stream per image and epoch,
 * rng_stream_for(seed, RNG_AUGMENT, epoch, sample_index), sample_index being
 * the image's index in its data set (the warp's row has stream 0: this stream
 * itself).  With rotation_deg = (float)rotation, shift_px = (float)shift,
 * scale_lo, scale_hi = (float)scale[0], (float)scale[1] and flip_prob =
 * (float)flip, five uniforms u1..u5 in [0, 1) are drawn
 * in this fixed order, ALWAYS, whether or not that part is switched on — so
 * switching one part off leaves the other parts' values unchanged (the
 * ablation study relies on it):
 *     angle = rotation_deg · (2·u1 − 1)          in [−rotation_deg, rotation_deg)
 *     dx    = shift_px · (2·u2 − 1)              in [−shift_px, shift_px)
 *     dy    = shift_px · (2·u3 − 1)
 *     scale = scale_lo + (scale_hi − scale_lo)·u4   in [scale_lo, scale_hi)
 *     flip  = u5 < flip_prob
 * A part is off when rotation = 0, shift = 0, scale = [1, 1], flip = 0
 * (AUG_PARAMS_NONE switches everything off, and the pipeline then skips the
 * warp: the identity warp would give the same bits).
 *
 * Pad-and-crop (crop_padding = P > 0; stream 1).  The image padded with P
 * pixels of background on every side, then the 28×28 window at a random
 * offset: the content moves by whole pixels (ox, oy), each in [−P, P], with
 * two draws u1, u2: ox = min(floor(u1·(2P + 1)), 2P) − P, oy likewise from u2;
 * out[y][x] = in[y − oy][x − ox], background where that falls outside.
 *
 * Random erasing (erasing = p > 0; stream 2; Zhong et al., "Random Erasing Data
 * Augmentation", whose parameters are the defaults).  With probability p a
 * rectangle of the normalised image is set to 0, the data set's mean.  Draws,
 * always 1 + 4·AUG_ERASING_TRIES of them: u0 (erase when u0 < p), then per try
 * t = 0, 1, ...: area a = 784·(area_lo + (area_hi − area_lo)·u), aspect
 * r = aspect_lo + (aspect_hi − aspect_lo)·u, height h = round(sqrt(a·r)), width
 * w = round(sqrt(a/r)), top y0 = floor(u·(29 − h)), left x0 = floor(u·(29 − w));
 * the first try with 1 ≤ h, w < 28 is erased (rows y0 .. y0 + h − 1, columns
 * x0 .. x0 + w − 1); if none fits, nothing is.
 *
 * Thread safety: every function is pure (no shared state); call them from any
 * number of threads.
 */
#ifndef PROBADOR_DATA_AUGMENT_H
#define PROBADOR_DATA_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/rng.h"

#define AUG_SIDE 28            /* images are AUG_SIDE × AUG_SIDE */
#define AUG_PIXELS (28 * 28)
#define AUG_MEAN 0.2860f       /* Fashion-MNIST training-set mean of intensity/255 */
#define AUG_STD 0.3530f        /* ... and its standard deviation */

typedef enum aug_sampling { AUG_SAMPLING_BILINEAR, AUG_SAMPLING_NEAREST } aug_sampling;

/* The augmentation.* keys of the configuration. */
typedef struct aug_params {
    double rotation; /* ± degrees, 0 = off */
    double shift;    /* ± pixels, 0 = off */
    double scale[2]; /* [lo, hi], [1, 1] = off */
    double flip;     /* probability of a horizontal flip */
    int sampling;    /* aug_sampling */
    int crop_padding;          /* pad-and-crop: pixels of padding, 0 = off */
    double erasing;            /* random erasing: probability, 0 = off */
    double erasing_area[2];    /* ... the rectangle's area over the image's, [lo, hi] */
    double erasing_aspect[2];  /* ... its height over its width, [lo, hi] */
} aug_params;

enum { AUG_ERASING_TRIES = 10 };

/* Everything off: aug_image reproduces aug_normalise exactly. */
#define AUG_PARAMS_NONE                                                                                      \
    ((aug_params){ .rotation = 0, .shift = 0, .scale = { 1, 1 }, .flip = 0, .sampling = AUG_SAMPLING_BILINEAR, \
                   .crop_padding = 0, .erasing = 0, .erasing_area = { 0.02, 0.4 }, .erasing_aspect = { 0.3, 3.3 } })

/* "bilinear", "nearest"; NULL out of range. */
const char *aug_sampling_name(int s);

/* One drawn warp (see the header comment for the meaning of each field). */
typedef struct aug_transform {
    float angle_deg, dx, dy, scale;
    bool flip;
} aug_transform;

/* Check p, as the operations will use it (each value converted to float):
   every value finite, rotation ≥ 0, shift ≥ 0, 0 < scale[0] ≤ scale[1],
   0 ≤ flip ≤ 1, sampling an aug_sampling, 0 ≤ crop_padding ≤ 14,
   0 ≤ erasing ≤ 1, 0 < erasing_area[0] ≤ erasing_area[1] ≤ 1,
   0 < erasing_aspect[0] ≤ erasing_aspect[1].  Returns 0, or -1 with a message in
   err ("error: augmentation: WHAT (got Y)"; NUL-terminated when errlen > 0). */
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

/* src[28][28] -> dst[28][28]: aug_warp_with(aug_draw(p, seed, epoch, sample_index)),
   or aug_warp_nearest_with when p->sampling is AUG_SAMPLING_NEAREST: the warp
   alone, whether or not p switches it on.  p must pass aug_params_check. */
void aug_warp_normalise(const uint8_t *src, float *dst, const aug_params *p, uint64_t seed, uint64_t epoch,
                        uint64_t sample_index);

/* One view of a normalised image for test-time augmentation: src[28][28] ->
   dst[28][28] (distinct), mirrored horizontally when `flip`, then its content
   moved by (dx, dy) whole pixels (positive: right, down), the background
   (normalised intensity 0) where it moved away from. */
void aug_view(const float *src, float *dst, bool flip, int dx, int dy);

/* Where in the pipeline an operation works. */
typedef enum aug_space {
    AUG_INTENSITY,  /* before the normalisation: intensities 0 .. 255, background 0 (geometric operations) */
    AUG_NORMALISED, /* after it: the values the model sees */
} aug_space;

/* One operation of the registry.
 *
 * Its random stream.  `stream` names it, a number of its own: 0 is the warp's
 * stream, rng_stream_for(seed, RNG_AUGMENT, epoch, sample_index); any other
 * number k gives aug_stream(seed, epoch, sample_index, k), independent of it.
 * A new operation takes the next number never used, and keeps it: numbers are
 * not reused or renumbered, so every operation's draws, and the warp's five,
 * stay what they were whatever is added.  An operation draws the same number
 * of values whatever its parameters (as the warp does), so that switching one
 * of its parts off leaves the others' draws unchanged. */
typedef struct aug_op {
    const char *name;        /* "warp" */
    const char *description; /* one line */
    aug_space space;
    unsigned stream;
    /* false: p switches it off, and the pipeline skips it (no draws are made) */
    bool (*enabled)(const aug_params *p);
    /* img[28][28] in `space`, transformed in place; r: its stream, at the start */
    void (*apply)(const aug_params *p, float *img, rng_stream *r);
} aug_op;

int aug_op_count(void);
const aug_op *aug_op_at(int i); /* NULL out of range */

/* The stream of operation number `stream` for one image and epoch (see aug_op). */
rng_stream aug_stream(uint64_t seed, uint64_t epoch, uint64_t sample_index, unsigned stream);

/* src[28][28] -> dst[28][28]: the pipeline (see the top of this file).  p must
   pass aug_params_check. */
void aug_image(const uint8_t *src, float *dst, const aug_params *p, uint64_t seed, uint64_t epoch,
               uint64_t sample_index);

#endif
