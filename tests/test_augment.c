/* tests/test_augment.c — the affine warp: exact identity, mirror and whole-pixel
 * shifts; rotation and scale geometry; keyed, independent draws within their
 * ranges; the same bits as the float parameters the warp was first written
 * for; pad-and-crop, random erasing and the test-time views; the registry of
 * operations and the pipeline; and the time of one epoch's worth of warps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/augment.h"
#include "data/rng.h"

enum { N = AUG_SIDE, NPIX = AUG_PIXELS, NIMG = 16 };
static const uint64_t SEED = 20240611; /* printed by failures through the messages below */

static const aug_params FULL = { .rotation = 15, .shift = 2, .scale = { 0.9, 1.1 }, .flip = 0.5,
                                 .erasing_area = { 0.02, 0.4 }, .erasing_aspect = { 0.3, 3.3 } };

/* NIMG test images: random intensities with a zero border column/row here and
   there, plus a few saturated pixels, all from a fixed stream. */
static uint8_t images[NIMG][NPIX];

static int setup_images(void **state)
{
    rng_stream s = rng_stream_for(SEED, RNG_INIT, 0, 99);
    for (int i = 0; i < NIMG; i++)
        for (int p = 0; p < NPIX; p++) {
            const uint32_t r = rng_below(&s, 300);
            images[i][p] = (uint8_t)(r >= 256 ? (r & 1 ? 255 : 0) : r);
        }
    return 0;
}

static float normalised(float intensity) { return (intensity / 255.0f - AUG_MEAN) / AUG_STD; }

static void assert_bitwise(const float *got, const float *want, int count, const char *what)
{
    if (memcmp(got, want, (size_t)count * sizeof *got) == 0)
        return;
    for (int p = 0; p < count; p++)
        if (memcmp(&got[p], &want[p], sizeof *got) != 0)
            fail_msg("%s: first difference at pixel %d (row %d, col %d): got %.9g, want %.9g (seed %llu)", what, p,
                     p / N, p % N, (double)got[p], (double)want[p], (unsigned long long)SEED);
}

static void test_normalise_values(void **state)
{
    uint8_t src[NPIX];
    float dst[NPIX];
    for (int p = 0; p < NPIX; p++)
        src[p] = (uint8_t)(p % 256);
    aug_normalise(src, dst);
    for (int p = 0; p < NPIX; p++)
        assert_true(fabs((double)dst[p] - ((p % 256) / 255.0 - 0.2860) / 0.3530) < 1e-6);
}

static void test_identity_is_exact(void **state)
{
    float plain[NPIX], warped[NPIX];
    for (int i = 0; i < NIMG; i++) {
        aug_normalise(images[i], plain);
        aug_warp_with(images[i], warped, 0.0f, 0.0f, 0.0f, 1.0f, false);
        assert_bitwise(warped, plain, NPIX, "explicit identity warp");
        const aug_params none = AUG_PARAMS_NONE;
        for (uint64_t epoch = 0; epoch < 3; epoch++) {
            aug_warp_normalise(images[i], warped, &none, SEED, epoch, (uint64_t)i);
            assert_bitwise(warped, plain, NPIX, "drawn warp with every part off");
        }
    }
}

static void test_flip_mirrors_exactly(void **state)
{
    const aug_params flip = { .scale = { 1, 1 }, .flip = 1 };
    uint8_t mirrored[NPIX];
    float want[NPIX], got[NPIX];
    for (int i = 0; i < NIMG; i++) {
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
                mirrored[y * N + x] = images[i][y * N + (N - 1 - x)];
        aug_normalise(mirrored, want);
        aug_warp_normalise(images[i], got, &flip, SEED, 1, (uint64_t)i);
        assert_bitwise(got, want, NPIX, "flip with probability 1");
    }
}

/* Whole-pixel shifts move the content exactly, filling with background. */
static void test_whole_pixel_shift(void **state)
{
    const int shifts[][2] = { { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 }, { 2, -3 } };
    uint8_t moved[NPIX];
    float want[NPIX], got[NPIX];
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
        const int dx = shifts[k][0], dy = shifts[k][1];
        for (int i = 0; i < NIMG; i++) {
            for (int y = 0; y < N; y++)
                for (int x = 0; x < N; x++) {
                    const int sx = x - dx, sy = y - dy;
                    moved[y * N + x] = sx >= 0 && sx < N && sy >= 0 && sy < N ? images[i][sy * N + sx] : 0;
                }
            aug_normalise(moved, want);
            aug_warp_with(images[i], got, 0.0f, (float)dx, (float)dy, 1.0f, false);
            char what[64];
            snprintf(what, sizeof what, "shift by (%d, %d)", dx, dy);
            assert_bitwise(got, want, NPIX, what);
        }
    }
    /* the border that came in is background: the normalised value of 0 */
    aug_warp_with(images[0], got, 0.0f, 1.0f, 0.0f, 1.0f, false);
    for (int y = 0; y < N; y++)
        assert_true(memcmp(&got[y * N], &(float){ normalised(0.0f) }, sizeof(float)) == 0);
}

/* Nearest sampling copies pixels: whole-pixel shifts and the mirror match the
   bilinear warp bit for bit, and under a rotation and scale every output is the
   normalised value of the source pixel nearest to where it is pulled from
   (recomputed here in double), never a blend. */
static void test_nearest_sampling(void **state)
{
    float want[NPIX], got[NPIX];
    aug_warp_with(images[1], want, 0.0f, 2.0f, -1.0f, 1.0f, true);
    aug_warp_nearest_with(images[1], got, 0.0f, 2.0f, -1.0f, 1.0f, true);
    assert_bitwise(got, want, NPIX, "nearest: shift (2, -1) and mirror");

    const float angle = 7.0f, scale = 1.08f, dx = 0.6f, dy = -1.3f;
    const double t = angle * M_PI / 180.0, c = cos(t) / scale, s = sin(t) / scale;
    int blended = 0;
    for (int i = 0; i < NIMG; i++) {
        aug_warp_nearest_with(images[i], got, angle, dx, dy, scale, false);
        aug_warp_with(images[i], want, angle, dx, dy, scale, false);
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                const double u = x - 13.5 - dx, v = y - 13.5 - dy;
                const double sx = c * u + s * v + 13.5, sy = -s * u + c * v + 13.5;
                const long ix = lround(sx), iy = lround(sy);
                /* a position within 1e-3 of a pixel boundary may round either way in float */
                if (fabs(sx - floor(sx) - 0.5) < 1e-3 || fabs(sy - floor(sy) - 0.5) < 1e-3)
                    continue;
                const bool inside = ix >= 0 && ix < N && iy >= 0 && iy < N;
                const float expect = normalised(inside ? images[i][iy * N + ix] : 0.0f);
                if (memcmp(&got[y * N + x], &expect, sizeof expect) != 0)
                    fail_msg("nearest: image %d pixel (%d, %d): got %.9g, want %.9g (source %.3f, %.3f; seed %llu)",
                             i, y, x, (double)got[y * N + x], (double)expect, sx, sy, (unsigned long long)SEED);
                blended += got[y * N + x] != want[y * N + x];
            }
    }
    assert_true(blended > NIMG * NPIX / 4); /* bilinear really does blend these */

    /* the switch in aug_params reaches the sampler */
    aug_params p = FULL;
    p.sampling = AUG_SAMPLING_NEAREST;
    aug_warp_normalise(images[2], got, &p, SEED, 3, 2);
    const aug_transform d = aug_draw(&p, SEED, 3, 2);
    aug_warp_nearest_with(images[2], want, d.angle_deg, d.dx, d.dy, d.scale, d.flip);
    assert_bitwise(got, want, NPIX, "nearest: aug_warp_normalise follows aug_params.sampling");
}

/* +90° turns +x towards +y: out[y][x] = src[27 - x][y]; -90°: src[x][27 - y];
   180°: src[27 - y][27 - x].  cos 90° is not exactly 0 in floating point, hence
   the tolerance. */
static void test_rotations_by_right_angles(void **state)
{
    float got[NPIX];
    for (int i = 0; i < NIMG; i++) {
        const struct {
            float angle;
            int kind;
        } cases[] = { { 90.0f, 0 }, { -90.0f, 1 }, { 180.0f, 2 }, { 270.0f, 1 } };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            aug_warp_with(images[i], got, cases[k].angle, 0.0f, 0.0f, 1.0f, false);
            for (int y = 0; y < N; y++)
                for (int x = 0; x < N; x++) {
                    int sy, sx;
                    switch (cases[k].kind) {
                    case 0: sy = N - 1 - x, sx = y; break;
                    case 1: sy = x, sx = N - 1 - y; break;
                    default: sy = N - 1 - y, sx = N - 1 - x; break;
                    }
                    const float want = normalised((float)images[i][sy * N + sx]);
                    if (fabsf(got[y * N + x] - want) > 1e-5f)
                        fail_msg("rotation %g: pixel (%d, %d) got %.9g want %.9g", (double)cases[k].angle, y, x,
                                 (double)got[y * N + x], (double)want);
                }
        }
    }
}

/* Scale 0.5 shrinks about the centre: output (x, y) samples the source at
   (2x - 13.5, 2y - 13.5), the mean of four pixels (background outside). */
static void test_scale_about_centre(void **state)
{
    float got[NPIX];
    aug_warp_with(images[3], got, 0.0f, 0.0f, 0.0f, 0.5f, false);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            const int x0 = 2 * x - 14, y0 = 2 * y - 14; /* floor(2x - 13.5) */
            double sum = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    const int sx = x0 + dx, sy = y0 + dy;
                    sum += sx >= 0 && sx < N && sy >= 0 && sy < N ? images[3][sy * N + sx] : 0;
                }
            assert_true(fabsf(got[y * N + x] - normalised((float)(sum / 4))) < 1e-5f);
        }
}

static void test_same_key_same_output(void **state)
{
    float a[NPIX], b[NPIX];
    aug_warp_normalise(images[5], a, &FULL, SEED, 4, 4711);
    aug_warp_normalise(images[5], b, &FULL, SEED, 4, 4711);
    assert_bitwise(b, a, NPIX, "same (seed, epoch, index)");
    /* another index, epoch or seed: another warp of the same image */
    const uint64_t other[][3] = { { SEED, 4, 4712 }, { SEED, 5, 4711 }, { SEED + 1, 4, 4711 } };
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        aug_warp_normalise(images[5], b, &FULL, other[k][0], other[k][1], other[k][2]);
        assert_true(memcmp(a, b, sizeof a) != 0);
    }
}

/* Switching one part off leaves every other part's draw, and so the warp made
   from them, unchanged. */
static void test_parts_are_independent(void **state)
{
    for (uint64_t idx = 0; idx < 200; idx++) {
        aug_params off_rot = FULL, off_shift = FULL, off_scale = FULL, off_flip = FULL;
        off_rot.rotation = 0;
        off_shift.shift = 0;
        off_scale.scale[0] = off_scale.scale[1] = 1;
        off_flip.flip = 0;
        const aug_transform t = aug_draw(&FULL, SEED, 2, idx), r = aug_draw(&off_rot, SEED, 2, idx),
                            s = aug_draw(&off_shift, SEED, 2, idx), c = aug_draw(&off_scale, SEED, 2, idx),
                            f = aug_draw(&off_flip, SEED, 2, idx);
        assert_true(r.angle_deg == 0.0f && r.dx == t.dx && r.dy == t.dy && r.scale == t.scale && r.flip == t.flip);
        assert_true(s.angle_deg == t.angle_deg && s.dx == 0.0f && s.dy == 0.0f && s.scale == t.scale &&
                    s.flip == t.flip);
        assert_true(c.angle_deg == t.angle_deg && c.dx == t.dx && c.dy == t.dy && c.scale == 1.0f &&
                    c.flip == t.flip);
        assert_true(f.angle_deg == t.angle_deg && f.dx == t.dx && f.dy == t.dy && f.scale == t.scale && !f.flip);

        /* the drawn warp with rotation off = the explicit warp with the full
           parameters' shift, scale and flip and no rotation */
        float drawn[NPIX], explicit_[NPIX];
        const uint8_t *img = images[idx % NIMG];
        aug_warp_normalise(img, drawn, &off_rot, SEED, 2, idx);
        aug_warp_with(img, explicit_, 0.0f, t.dx, t.dy, t.scale, t.flip);
        assert_bitwise(drawn, explicit_, NPIX, "rotation off vs explicit values");
        aug_warp_normalise(img, drawn, &FULL, SEED, 2, idx);
        aug_warp_with(img, explicit_, t.angle_deg, t.dx, t.dy, t.scale, t.flip);
        assert_bitwise(drawn, explicit_, NPIX, "full draw vs explicit values");
    }
}

/* 10,000 draws: every value in its range and spread over it; flip rate within
   0.5 ± 0.02 (the standard error at this n is 0.005, so ±4σ). */
static void test_draw_ranges(void **state)
{
    enum { DRAWS = 10000 };
    float amin = INFINITY, amax = -INFINITY, smin = INFINITY, smax = -INFINITY;
    int flips = 0;
    for (uint64_t i = 0; i < DRAWS; i++) {
        const aug_transform t = aug_draw(&FULL, SEED, 7, i);
        assert_true(fabsf(t.angle_deg) <= (float)FULL.rotation);
        assert_true(fabsf(t.dx) <= (float)FULL.shift && fabsf(t.dy) <= (float)FULL.shift);
        assert_true(t.scale >= (float)FULL.scale[0] && t.scale <= (float)FULL.scale[1]);
        amin = fminf(amin, t.angle_deg), amax = fmaxf(amax, t.angle_deg);
        smin = fminf(smin, t.scale), smax = fmaxf(smax, t.scale);
        flips += t.flip;
    }
    assert_true(amin < -0.99 * FULL.rotation && amax > 0.99 * FULL.rotation);
    assert_true(smin < FULL.scale[0] + 0.01 && smax > FULL.scale[1] - 0.01);
    const double rate = (double)flips / DRAWS;
    if (fabs(rate - 0.5) > 0.02)
        fail_msg("flip rate %.4f outside 0.5 ± 0.02 (seed %llu)", rate, (unsigned long long)SEED);
}

/* Outputs stay within the normalised range of 0..255 and are never NaN. */
static void test_output_range(void **state)
{
    const aug_params wild = { .rotation = 180, .shift = 10, .scale = { 0.5, 2 }, .flip = 0.5 };
    const float lo = normalised(0.0f), hi = normalised(255.0f);
    float out[NPIX];
    for (uint64_t idx = 0; idx < 500; idx++) {
        aug_warp_normalise(images[idx % NIMG], out, &wild, SEED, 0, idx);
        for (int p = 0; p < NPIX; p++)
            assert_true(out[p] >= lo - 1e-5f && out[p] <= hi + 1e-5f);
    }
}

static void test_params_check(void **state)
{
    char err[160];
    const aug_params none = AUG_PARAMS_NONE;
    assert_int_equal(aug_params_check(&none, err, sizeof err), 0);
    assert_int_equal(aug_params_check(&FULL, err, sizeof err), 0);
    enum { BAD = 18 };
    aug_params bad[BAD];
    for (int k = 0; k < BAD; k++)
        bad[k] = AUG_PARAMS_NONE;
    bad[12].crop_padding = -1, bad[13].crop_padding = 15, bad[14].erasing = 1.5;
    bad[15].erasing_area[0] = 0, bad[16].erasing_area[1] = 1.2, bad[17].erasing_aspect[0] = -1;
    bad[0].rotation = -1, bad[1].shift = NAN, bad[2].scale[0] = bad[2].scale[1] = 0;
    bad[3].scale[0] = 1.2, bad[3].scale[1] = 1.1, bad[4].flip = 1.5, bad[5].scale[1] = INFINITY;
    bad[6].sampling = 2, bad[7].sampling = -1;
    bad[8].rotation = 1e39; /* finite as a double, infinite as the float the warp computes with */
    bad[9].shift = -1e-300; /* negative, though it rounds to -0 in float */
    bad[10].flip = 1 + 1e-7, bad[11].scale[0] = 1e-50; /* > 0 in double, 0 in float */
    for (int k = 0; k < BAD; k++) {
        err[0] = 0;
        const int rc = aug_params_check(&bad[k], err, sizeof err);
        if (rc != -1 || strncmp(err, "error: augmentation: ", 21) != 0)
            fail_msg("bad parameters %d: accepted, or message '%s'", k, err);
    }
}

/* The warp as it was first written, taking its parameters as floats: the
   five draws in float from (float) parameters, then the explicit warp.  The
   parameters in double must give these bits exactly (committed results rely
   on it), including values a float cannot hold. */
static void float_parameter_warp(const uint8_t *src, float *dst, const float par[5], bool nearest, uint64_t seed,
                                 uint64_t epoch, uint64_t index, aug_transform *t)
{
    rng_stream s = rng_stream_for(seed, RNG_AUGMENT, epoch, index);
    const float u1 = rng_uniform(&s), u2 = rng_uniform(&s), u3 = rng_uniform(&s), u4 = rng_uniform(&s),
                u5 = rng_uniform(&s);
    *t = (aug_transform){ .angle_deg = par[0] * (2.0f * u1 - 1.0f),
                          .dx = par[1] * (2.0f * u2 - 1.0f),
                          .dy = par[1] * (2.0f * u3 - 1.0f),
                          .scale = par[2] + (par[3] - par[2]) * u4,
                          .flip = u5 < par[4] };
    if (nearest)
        aug_warp_nearest_with(src, dst, t->angle_deg, t->dx, t->dy, t->scale, t->flip);
    else
        aug_warp_with(src, dst, t->angle_deg, t->dx, t->dy, t->scale, t->flip);
}

static void test_same_bits_as_float_parameters(void **state)
{
    const double sets[][5] = { { 15, 2, 0.9, 1.1, 0.5 },      { 10, 2, 0.9, 1.1, 0.5 },
                               { 7.3, 1.7, 0.83, 1.21, 0.37 }, { 0.1, 0.3, 0.7, 1.3, 0.9 },
                               { 180, 10, 0.5, 2, 0.5 },       { 0, 2, 1, 1, 0 } };
    float got[NPIX], want[NPIX];
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
        for (int sampling = AUG_SAMPLING_BILINEAR; sampling <= AUG_SAMPLING_NEAREST; sampling++) {
            const aug_params p = { .rotation = sets[k][0], .shift = sets[k][1],
                                   .scale = { sets[k][2], sets[k][3] }, .flip = sets[k][4],
                                   .sampling = sampling };
            const float par[5] = { (float)sets[k][0], (float)sets[k][1], (float)sets[k][2], (float)sets[k][3],
                                   (float)sets[k][4] };
            for (uint64_t idx = 0; idx < 40; idx++) {
                aug_transform t;
                float_parameter_warp(images[idx % NIMG], want, par, sampling == AUG_SAMPLING_NEAREST, SEED, 3,
                                     idx, &t);
                const aug_transform d = aug_draw(&p, SEED, 3, idx);
                assert_true(memcmp(&d.angle_deg, &t.angle_deg, sizeof(float)) == 0 &&
                            memcmp(&d.dx, &t.dx, sizeof(float)) == 0 && memcmp(&d.dy, &t.dy, sizeof(float)) == 0 &&
                            memcmp(&d.scale, &t.scale, sizeof(float)) == 0 && d.flip == t.flip);
                aug_image(images[idx % NIMG], got, &p, SEED, 3, idx);
                char what[96];
                snprintf(what, sizeof what, "parameter set %zu, %s, image %llu", k, aug_sampling_name(sampling),
                         (unsigned long long)idx);
                assert_bitwise(got, want, NPIX, what);
            }
        }
}

/* The registry and the pipeline: the warp is its first operation, on stream 0;
   stream numbers are distinct; with everything off the pipeline is
   aug_normalise, and while the warp is the only operation it is the warp. */
static void test_registry_and_pipeline(void **state)
{
    assert_true(aug_op_count() >= 1);
    assert_null(aug_op_at(-1));
    assert_null(aug_op_at(aug_op_count()));
    const aug_op *warp = aug_op_at(0);
    assert_string_equal(warp->name, "warp");
    assert_int_equal(warp->stream, 0);
    assert_int_equal(warp->space, AUG_INTENSITY);
    for (int i = 0; i < aug_op_count(); i++)
        for (int j = i + 1; j < aug_op_count(); j++)
            assert_true(aug_op_at(i)->stream != aug_op_at(j)->stream);
    const aug_params none = AUG_PARAMS_NONE;
    assert_false(warp->enabled(&none));
    assert_true(warp->enabled(&FULL));

    /* stream 0 is the warp's documented stream; another number is another stream */
    const rng_stream r0 = aug_stream(SEED, 2, 77, 0), want = rng_stream_for(SEED, RNG_AUGMENT, 2, 77);
    assert_true(r0.key == want.key && r0.counter == want.counter);
    assert_true(aug_stream(SEED, 2, 77, 1).key != r0.key && aug_stream(SEED, 2, 77, 2).key != r0.key);

    float got[NPIX], ref[NPIX];
    for (int i = 0; i < NIMG; i++) {
        aug_image(images[i], got, &none, SEED, 1, (uint64_t)i);
        aug_normalise(images[i], ref);
        assert_bitwise(got, ref, NPIX, "pipeline with every part off");
        aug_image(images[i], got, &FULL, SEED, 1, (uint64_t)i);
        aug_warp_normalise(images[i], ref, &FULL, SEED, 1, (uint64_t)i);
        assert_bitwise(got, ref, NPIX, "pipeline = warp while the other operations are off");
        /* the other operations switched on leave the warp's draws as they were:
           erasing changes one rectangle of the warped image, nothing else */
        aug_params more = FULL;
        more.erasing = 1.0;
        aug_image(images[i], got, &more, SEED, 1, (uint64_t)i);
        int changed = 0;
        for (int p = 0; p < NPIX; p++)
            if (got[p] != ref[p]) {
                changed++;
                assert_true(got[p] == 0.0f);
            }
        assert_true(changed > 0);
    }
    assert_string_equal(aug_sampling_name(AUG_SAMPLING_BILINEAR), "bilinear");
    assert_string_equal(aug_sampling_name(AUG_SAMPLING_NEAREST), "nearest");
    assert_null(aug_sampling_name(2));
    assert_null(aug_sampling_name(-1));
}

/* Pad-and-crop moves the content by whole pixels, (ox, oy) in [−P, P]: the
   output is the warp's exact whole-pixel shift for one such offset, and over
   many images every offset from −P to P turns up. */
static void test_crop_is_whole_pixel_shift(void **state)
{
    enum { P = 3, SPAN = 2 * P + 1 };
    aug_params p = AUG_PARAMS_NONE;
    p.crop_padding = P;
    bool seen_x[SPAN] = { false }, seen_y[SPAN] = { false };
    float got[NPIX], shifted[NPIX];
    for (uint64_t idx = 0; idx < 300; idx++) {
        const uint8_t *img = images[idx % NIMG];
        aug_image(img, got, &p, SEED, 3, idx);
        int found = 0;
        for (int oy = -P; oy <= P; oy++)
            for (int ox = -P; ox <= P; ox++) {
                aug_warp_with(img, shifted, 0.0f, (float)ox, (float)oy, 1.0f, false);
                if (memcmp(got, shifted, sizeof got) == 0 && !found++)
                    seen_x[ox + P] = seen_y[oy + P] = true;
            }
        if (!found)
            fail_msg("image %llu: the crop is no whole-pixel shift within ±%d", (unsigned long long)idx, P);
    }
    for (int k = 0; k < SPAN; k++)
        if (!seen_x[k] || !seen_y[k])
            fail_msg("offset %d never drawn in 300 images", k - P);
}

/* Random erasing sets one rectangle of the normalised image to 0 (no pixel
   of an image normalises to exactly 0: 255·0.2860 is not a whole number), of
   about the drawn area and aspect; with probability ½ about half the images. */
static void test_erasing_rectangle(void **state)
{
    aug_params p = AUG_PARAMS_NONE;
    p.erasing = 1.0;
    float got[NPIX], ref[NPIX];
    for (uint64_t idx = 0; idx < 200; idx++) {
        const uint8_t *img = images[idx % NIMG];
        aug_image(img, got, &p, SEED, 5, idx);
        aug_normalise(img, ref);
        int y0 = N, y1 = -1, x0 = N, x1 = -1, changed = 0;
        for (int q = 0; q < NPIX; q++)
            if (got[q] != ref[q]) {
                const int y = q / N, x = q % N;
                changed++;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1, x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
            }
        const int h = y1 - y0 + 1, w = x1 - x0 + 1;
        if (changed == 0 || changed != h * w)
            fail_msg("image %llu: %d pixels changed, not a %dx%d rectangle", (unsigned long long)idx, changed, h, w);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
                assert_true(got[y * N + x] == 0.0f);
        /* h·w ≈ the area 784·[0.02, 0.4] and h/w ≈ the aspect [0.3, 3.3], up to rounding */
        assert_true(h < N && w < N);
        assert_true(h * w >= 0.5 * 0.02 * NPIX && h * w <= 1.3 * 0.4 * NPIX);
        assert_true((double)h / w >= 0.3 / 1.6 && (double)h / w <= 3.3 * 1.6);
    }
    p.erasing = 0.5;
    int erased = 0;
    for (uint64_t idx = 0; idx < 400; idx++) {
        aug_image(images[idx % NIMG], got, &p, SEED, 6, idx);
        aug_normalise(images[idx % NIMG], ref);
        erased += memcmp(got, ref, sizeof got) != 0;
    }
    if (erased < 140 || erased > 260) /* 400·½ ± 6 standard deviations */
        fail_msg("erasing 0.5 erased %d of 400 images", erased);
}

/* The test-time views: the mirror of the mirror is the image; a view's shift
   is the warp's whole-pixel shift of the same image, bit for bit. */
static void test_tta_views(void **state)
{
    float plain[NPIX], view[NPIX], back[NPIX], warped[NPIX];
    for (int i = 0; i < NIMG; i++) {
        aug_normalise(images[i], plain);
        aug_view(plain, view, true, 0, 0);
        aug_view(view, back, true, 0, 0);
        assert_bitwise(back, plain, NPIX, "mirror of the mirror");
        aug_warp_with(images[i], warped, 0.0f, 0.0f, 0.0f, 1.0f, true);
        assert_bitwise(view, warped, NPIX, "mirror view");
        const int moves[4][2] = { { 0, -1 }, { 0, 1 }, { -1, 0 }, { 1, 0 } };
        for (int k = 0; k < 4; k++) {
            aug_view(plain, view, false, moves[k][0], moves[k][1]);
            aug_warp_with(images[i], warped, 0.0f, (float)moves[k][0], (float)moves[k][1], 1.0f, false);
            assert_bitwise(view, warped, NPIX, "one-pixel shift view");
        }
    }
}

/* One epoch's worth of warps (60,000) on this thread; printed, and bounded
   loosely (the budget is well under a second) except under the sanitizers. */
static void test_epoch_time(void **state)
{
    enum { COUNT = 60000 };
    float *out = malloc(sizeof(float) * NPIX);
    assert_non_null(out);
    double best = INFINITY, checksum = 0;
    for (int rep = 0; rep < 3; rep++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint64_t i = 0; i < COUNT; i++) {
            aug_warp_normalise(images[i % NIMG], out, &FULL, SEED, (uint64_t)rep, i);
            checksum += out[(i * 37) % NPIX];
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        best = fmin(best, s);
    }
    free(out);
    printf("[ info     ] augment: %d warps on 1 thread in %.3f s (best of 3; checksum %.3f)\n", COUNT, best,
           checksum);
#if !defined(__SANITIZE_ADDRESS__)
    assert_true(best < 2.0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_values),
        cmocka_unit_test(test_identity_is_exact),
        cmocka_unit_test(test_flip_mirrors_exactly),
        cmocka_unit_test(test_whole_pixel_shift),
        cmocka_unit_test(test_nearest_sampling),
        cmocka_unit_test(test_rotations_by_right_angles),
        cmocka_unit_test(test_scale_about_centre),
        cmocka_unit_test(test_same_key_same_output),
        cmocka_unit_test(test_parts_are_independent),
        cmocka_unit_test(test_draw_ranges),
        cmocka_unit_test(test_output_range),
        cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_same_bits_as_float_parameters),
        cmocka_unit_test(test_registry_and_pipeline),
        cmocka_unit_test(test_crop_is_whole_pixel_shift),
        cmocka_unit_test(test_erasing_rectangle),
        cmocka_unit_test(test_tta_views),
        cmocka_unit_test(test_epoch_time),
    };
    return cmocka_run_group_tests_name("augment", tests, setup_images, NULL);
}
