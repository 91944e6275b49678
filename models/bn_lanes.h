/* models/bn_lanes.h — batch normalisation's four operations on one image's plane
 * of one channel, in 16 double lanes (models/layer_bn.c says why lanes).
 *
 * Compiled for AVX2 and for AVX-512 (the Makefile's ISA_SRC, kernels/isa.h) and
 * as a scalar loop: the AVX-512 lanes mask a plane's tail, the AVX2 ones leave
 * the last HW mod 16 values to the scalar loop, which puts them in the same
 * lanes.  All compute the same bits (tests/test_gradients.c compares them).
 */
#ifndef PROBADOR_MODELS_BN_LANES_H
#define PROBADOR_MODELS_BN_LANES_H

#include <stdbool.h>
#include <stdint.h>

enum { BN_LANES = 16 };

/* The four plane operations.  `mask` (NULL without a fused ReLU) is the ReLU's
   (models/relu_mask.h): the gradient passes where it is set, as in the ReLU's
   own backward; normalise writes it. */
typedef struct bn_lanes {
    /* s[j] += x[i] - pilot, q[j] += (x[i] - pilot)² (one fma), j = i mod 16 */
    void (*moments)(const float *x, int hw, double pilot, double s[BN_LANES], double q[BN_LANES]);
    /* g = dy masked by mask; dskip = g (or += g); s[j] += g, p[j] += g·(x − mean) */
    void (*grad_sums)(const float *x, const float *dy, const uint16_t *mask, float *dskip, bool acc_skip,
                      double mean, int hw, double s[BN_LANES], double p[BN_LANES]);
    /* y = fma(x − mean, scale, beta) (+ skip) (then max(·, 0) and the mask, when mask) */
    void (*normalise)(const float *x, const float *skip, float *y, uint16_t *mask, float mean, float scale,
                      float beta, int hw);
    /* dx = k·((g − mdy) − x̂·mdx) (or dx + that, one fma), x̂ = (x − mean)·invstd */
    void (*input_grad)(const float *x, const float *dy, const uint16_t *mask, float *dx, bool acc,
                       const float coef[5], int hw);
} bn_lanes;
enum { COEF_MEAN, COEF_INVSTD, COEF_K, COEF_MDY, COEF_MDX };

/* The operations that run here: the scalar loop when a test asked
   (bn_use_portable_lanes, models/layers.h), else the instruction set's copy.
   Fetch once per pass. */
const bn_lanes *bn_lanes_in_use(void);

#endif
