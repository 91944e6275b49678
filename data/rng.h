/* data/rng.h — counter-based random numbers, keyed by what they are for.
 *
 * Every random draw in probador (initialisation, validation split, shuffle,
 * augmentation, dropout) comes from a stream named by (seed, purpose, epoch,
 * index) — e.g. the augmentation of training image 4711 in epoch 3 — never from
 * a shared sequential state.  A stream's values depend on its name alone, so
 * they do not change with the thread count, the batch order, or what else was
 * drawn before: the property the determinism tests rely on, and what makes a
 * resumed run identical to an uninterrupted one.
 *
 * The generator is splitmix64's finaliser applied to a counter in a keyed
 * sequence (a "counter-based" generator in the sense of Salmon et al. 2011):
 * value i of a stream is mix(key + (i+1)·φ), with key a hash of the name.
 */
#ifndef PROBADOR_DATA_RNG_H
#define PROBADOR_DATA_RNG_H

#include <stdint.h>

typedef enum rng_purpose {
    RNG_INIT = 1,      /* parameter initialisation: index = parameter tensor */
    RNG_SPLIT,         /* train/validation split */
    RNG_SHUFFLE,       /* per-epoch order */
    RNG_AUGMENT,       /* per-image warp: index = sample */
    RNG_DROPOUT,       /* per-step mask: index = step */
    RNG_SUBSET,        /* class-balanced label budgets */
    RNG_PRETEXT,       /* self-supervised pretext labels */
} rng_purpose;

typedef struct rng_stream {
    uint64_t key, counter;
} rng_stream;

static inline uint64_t rng_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline rng_stream rng_stream_for(uint64_t seed, rng_purpose purpose, uint64_t epoch, uint64_t index)
{
    uint64_t k = rng_mix64(seed + 0x9e3779b97f4a7c15ull);
    k = rng_mix64(k ^ ((uint64_t)purpose * 0xd1b54a32d192ed03ull));
    k = rng_mix64(k ^ (epoch * 0xaef17502108ef2d9ull + 0x632be59bd9b4e019ull));
    k = rng_mix64(k ^ (index * 0x9e3779b97f4a7c15ull + 0x8cb92ba72f3d8dd7ull));
    return (rng_stream){ k, 0 };
}

static inline uint64_t rng_u64(rng_stream *s)
{
    return rng_mix64(s->key + (++s->counter) * 0x9e3779b97f4a7c15ull);
}

/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
static inline float rng_uniform(rng_stream *s) { return (float)(rng_u64(s) >> 40) * 0x1p-24f; }
/* Uniform in [lo, hi). */
static inline float rng_range(rng_stream *s, float lo, float hi) { return lo + (hi - lo) * rng_uniform(s); }
/* Uniform integer in [0, n), n ≥ 1, without modulo bias (Lemire's method). */
uint32_t rng_below(rng_stream *s, uint32_t n);
/* Standard normal (Box–Muller on two draws, computed in double). */
float rng_normal(rng_stream *s);

#endif
