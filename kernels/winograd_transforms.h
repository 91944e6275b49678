/* kernels/winograd_transforms.h — the Winograd transforms of F(2x2,3x3) and F(4x4,3x3).
 *
 * Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016):
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 * for a 3x3 filter g, an alpha×alpha input tile d (alpha = m + 2) and the m×m
 * output tile Y of their correlation Y[i][j] = Σ_{r,s} d[i+r][j+s]·g[r][s].
 *
 * F(2x2,3x3), alpha 4, points 0, 1, −1, ∞:
 *   Bᵀ = [ 1  0 −1  0 ]    G = [  1    0    0  ]    Aᵀ = [ 1  1  1  0 ]
 *        [ 0  1  1  0 ]        [ 1/2  1/2  1/2 ]         [ 0  1 −1 −1 ]
 *        [ 0 −1  1  0 ]        [ 1/2 −1/2  1/2 ]
 *        [ 0  1  0 −1 ]        [  0    0    1  ]
 * F(4x4,3x3), alpha 6, points 0, 1, −1, 2, −2, ∞:
 *   Bᵀ = [ 4  0 −5  0  1  0 ]    G = [  1/4     0     0  ]    Aᵀ = [ 1  1  1  1  1  0 ]
 *        [ 0 −4 −4  1  1  0 ]        [ −1/6  −1/6  −1/6  ]         [ 0  1 −1  2 −2  0 ]
 *        [ 0  4 −4 −1  1  0 ]        [ −1/6   1/6  −1/6  ]         [ 0  1  1  4  4  0 ]
 *        [ 0 −2 −1  2  1  0 ]        [ 1/24  1/12   1/6  ]         [ 0  1 −1  8 −8  1 ]
 *        [ 0  2 −1 −2  1  0 ]        [ 1/24 −1/12   1/6  ]
 *        [ 0  4  0 −5  0  1 ]        [   0     0     1   ]
 *
 * Every 2-D transform is two passes of its 1-D transform: first down each
 * column (Bᵀ d, G g, Aᵀ m), then along each row of that result (·B, ·Gᵀ, ·A).
 * The input and output transforms work on `wino_vec`s, 16 float lanes that
 * hold 16 independent tiles (the kernels' tiles, one per lane), so each lane
 * goes through exactly the same operations; the filter transform works on
 * `wino_dvec`s, 8 double lanes (8 output channels), and is rounded once to float.
 *
 * backward_weights uses the same transforms transposed (kernels/winograd_bw.c):
 *   dg = Gᵀ [ (A dy Aᵀ) ⊙ (Bᵀ d B) ] G,
 * the gradient transforms A dy Aᵀ on `wino_vec`s and Gᵀ m G on `wino_dvec`s.
 *
 * Tile element [i][j] of an alpha×alpha tile is array element [i·alpha + j].
 */
#ifndef PROBADOR_KERNELS_WINOGRAD_TRANSFORMS_H
#define PROBADOR_KERNELS_WINOGRAD_TRANSFORMS_H

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

enum { WINO_LANES = 16 };

/* ---- 16-lane vectors ------------------------------------------------------ */
#if defined(__AVX512F__)
typedef __m512 wino_vec;
static inline wino_vec wv_load(const float *p)
{
    return _mm512_loadu_ps(p);
}
static inline void wv_store(float *p, wino_vec a)
{
    _mm512_storeu_ps(p, a);
}
static inline wino_vec wv_zero(void)
{
    return _mm512_setzero_ps();
}
static inline wino_vec wv_add(wino_vec a, wino_vec b)
{
    return _mm512_add_ps(a, b);
}
static inline wino_vec wv_sub(wino_vec a, wino_vec b)
{
    return _mm512_sub_ps(a, b);
}
/* a·s + b and b − a·s, one rounding each */
static inline wino_vec wv_fmadd(wino_vec a, float s, wino_vec b)
{
    return _mm512_fmadd_ps(a, _mm512_set1_ps(s), b);
}
static inline wino_vec wv_fnmadd(wino_vec a, float s, wino_vec b)
{
    return _mm512_fnmadd_ps(a, _mm512_set1_ps(s), b);
}
/* a·m + b lane by lane, one rounding */
static inline wino_vec wv_fmadd_v(wino_vec a, wino_vec m, wino_vec b)
{
    return _mm512_fmadd_ps(a, m, b);
}
#elif defined(__AVX2__) && defined(__FMA__)
/* Two 8-lane halves: every operation is lane-wise, so the bits are the AVX-512
   build's and the portable loop's. */
typedef struct wino_vec {
    __m256 lo, hi;
} wino_vec;
static inline wino_vec wv_load(const float *p)
{
    return (wino_vec){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
static inline void wv_store(float *p, wino_vec a)
{
    _mm256_storeu_ps(p, a.lo);
    _mm256_storeu_ps(p + 8, a.hi);
}
static inline wino_vec wv_zero(void)
{
    return (wino_vec){_mm256_setzero_ps(), _mm256_setzero_ps()};
}
static inline wino_vec wv_add(wino_vec a, wino_vec b)
{
    return (wino_vec){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
}
static inline wino_vec wv_sub(wino_vec a, wino_vec b)
{
    return (wino_vec){_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)};
}
static inline wino_vec wv_fmadd(wino_vec a, float s, wino_vec b)
{
    const __m256 v = _mm256_set1_ps(s);
    return (wino_vec){_mm256_fmadd_ps(a.lo, v, b.lo), _mm256_fmadd_ps(a.hi, v, b.hi)};
}
static inline wino_vec wv_fnmadd(wino_vec a, float s, wino_vec b)
{
    const __m256 v = _mm256_set1_ps(s);
    return (wino_vec){_mm256_fnmadd_ps(a.lo, v, b.lo), _mm256_fnmadd_ps(a.hi, v, b.hi)};
}
static inline wino_vec wv_fmadd_v(wino_vec a, wino_vec m, wino_vec b)
{
    return (wino_vec){_mm256_fmadd_ps(a.lo, m.lo, b.lo), _mm256_fmadd_ps(a.hi, m.hi, b.hi)};
}
#else
typedef struct wino_vec {
    float f[WINO_LANES];
} wino_vec;
static inline wino_vec wv_load(const float *p)
{
    wino_vec a;
    for (int l = 0; l < WINO_LANES; l++)
        a.f[l] = p[l];
    return a;
}
static inline void wv_store(float *p, wino_vec a)
{
    for (int l = 0; l < WINO_LANES; l++)
        p[l] = a.f[l];
}
static inline wino_vec wv_zero(void)
{
    return (wino_vec){{0}};
}
static inline wino_vec wv_add(wino_vec a, wino_vec b)
{
    for (int l = 0; l < WINO_LANES; l++)
        a.f[l] += b.f[l];
    return a;
}
static inline wino_vec wv_sub(wino_vec a, wino_vec b)
{
    for (int l = 0; l < WINO_LANES; l++)
        a.f[l] -= b.f[l];
    return a;
}
static inline wino_vec wv_fmadd(wino_vec a, float s, wino_vec b)
{
    for (int l = 0; l < WINO_LANES; l++)
        b.f[l] = __builtin_fmaf(a.f[l], s, b.f[l]);
    return b;
}
static inline wino_vec wv_fnmadd(wino_vec a, float s, wino_vec b)
{
    for (int l = 0; l < WINO_LANES; l++)
        b.f[l] = __builtin_fmaf(-a.f[l], s, b.f[l]);
    return b;
}
static inline wino_vec wv_fmadd_v(wino_vec a, wino_vec m, wino_vec b)
{
    for (int l = 0; l < WINO_LANES; l++)
        b.f[l] = __builtin_fmaf(a.f[l], m.f[l], b.f[l]);
    return b;
}
#endif

/* ---- 8-lane double vectors, for the filter transform ---------------------- */
enum { WINO_DLANES = 8 };
#if defined(__AVX512F__)
typedef __m512d wino_dvec;
static inline wino_dvec wd_load(const double *p)
{
    return _mm512_loadu_pd(p);
}
static inline void wd_store(double *p, wino_dvec a)
{
    _mm512_storeu_pd(p, a);
}
static inline wino_dvec wd_add(wino_dvec a, wino_dvec b)
{
    return _mm512_add_pd(a, b);
}
static inline wino_dvec wd_sub(wino_dvec a, wino_dvec b)
{
    return _mm512_sub_pd(a, b);
}
static inline wino_dvec wd_mul(wino_dvec a, double s)
{
    return _mm512_mul_pd(a, _mm512_set1_pd(s));
}
/* the 8 lanes rounded to float, stored at p[0..7] */
static inline void wd_store_float(float *p, wino_dvec a)
{
    _mm256_storeu_ps(p, _mm512_cvtpd_ps(a));
}
/* p[0..7] widened to double (exact) */
static inline wino_dvec wd_load_float(const float *p)
{
    return _mm512_cvtps_pd(_mm256_loadu_ps(p));
}
#elif defined(__AVX2__) && defined(__FMA__)
typedef struct wino_dvec {
    __m256d lo, hi;
} wino_dvec;
static inline wino_dvec wd_load(const double *p)
{
    return (wino_dvec){_mm256_loadu_pd(p), _mm256_loadu_pd(p + 4)};
}
static inline void wd_store(double *p, wino_dvec a)
{
    _mm256_storeu_pd(p, a.lo);
    _mm256_storeu_pd(p + 4, a.hi);
}
static inline wino_dvec wd_add(wino_dvec a, wino_dvec b)
{
    return (wino_dvec){_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)};
}
static inline wino_dvec wd_sub(wino_dvec a, wino_dvec b)
{
    return (wino_dvec){_mm256_sub_pd(a.lo, b.lo), _mm256_sub_pd(a.hi, b.hi)};
}
static inline wino_dvec wd_mul(wino_dvec a, double s)
{
    const __m256d v = _mm256_set1_pd(s);
    return (wino_dvec){_mm256_mul_pd(a.lo, v), _mm256_mul_pd(a.hi, v)};
}
static inline void wd_store_float(float *p, wino_dvec a)
{
    _mm_storeu_ps(p, _mm256_cvtpd_ps(a.lo));
    _mm_storeu_ps(p + 4, _mm256_cvtpd_ps(a.hi));
}
static inline wino_dvec wd_load_float(const float *p)
{
    return (wino_dvec){_mm256_cvtps_pd(_mm_loadu_ps(p)), _mm256_cvtps_pd(_mm_loadu_ps(p + 4))};
}
#else
typedef struct wino_dvec {
    double f[WINO_DLANES];
} wino_dvec;
static inline wino_dvec wd_load(const double *p)
{
    wino_dvec a;
    for (int l = 0; l < WINO_DLANES; l++)
        a.f[l] = p[l];
    return a;
}
static inline void wd_store(double *p, wino_dvec a)
{
    for (int l = 0; l < WINO_DLANES; l++)
        p[l] = a.f[l];
}
static inline wino_dvec wd_add(wino_dvec a, wino_dvec b)
{
    for (int l = 0; l < WINO_DLANES; l++)
        a.f[l] += b.f[l];
    return a;
}
static inline wino_dvec wd_sub(wino_dvec a, wino_dvec b)
{
    for (int l = 0; l < WINO_DLANES; l++)
        a.f[l] -= b.f[l];
    return a;
}
static inline wino_dvec wd_mul(wino_dvec a, double s)
{
    for (int l = 0; l < WINO_DLANES; l++)
        a.f[l] *= s;
    return a;
}
static inline void wd_store_float(float *p, wino_dvec a)
{
    for (int l = 0; l < WINO_DLANES; l++)
        p[l] = (float)a.f[l];
}
static inline wino_dvec wd_load_float(const float *p)
{
    wino_dvec a;
    for (int l = 0; l < WINO_DLANES; l++)
        a.f[l] = p[l];
    return a;
}
#endif

/* ==== F(2x2,3x3) =========================================================== */

/* Input, 1-D: w = Bᵀ d for d[0..3] read at stride `st` (w likewise). */
static inline void wino_f2_input_1d(const wino_vec *d, int st, wino_vec *w)
{
    const wino_vec d0 = d[0], d1 = d[st], d2 = d[2 * st], d3 = d[3 * st];
    w[0] = wv_sub(d0, d2);      /* w0 = d0 − d2 */
    w[st] = wv_add(d1, d2);     /* w1 = d1 + d2 */
    w[2 * st] = wv_sub(d2, d1); /* w2 = d2 − d1 */
    w[3 * st] = wv_sub(d1, d3); /* w3 = d1 − d3 */
}

/* Input, 2-D: v = Bᵀ d B for a 4x4 tile d[16] -> v[16]. */
static inline void wino_f2_input(const wino_vec d[16], wino_vec v[16])
{
    wino_vec t[16];
    for (int j = 0; j < 4; j++) /* columns: t = Bᵀ d */
        wino_f2_input_1d(d + j, 4, t + j);
    for (int i = 0; i < 4; i++) /* rows:    v = t B = (Bᵀ tᵀ)ᵀ */
        wino_f2_input_1d(t + 4 * i, 1, v + 4 * i);
}

/* Filter, 1-D: u = G g for g[0..2] at stride gs, u[0..3] at stride us. */
static inline void wino_f2_filter_1d(const wino_dvec *g, int gs, wino_dvec *u, int us)
{
    const wino_dvec g0 = g[0], g1 = g[gs], g2 = g[2 * gs];
    const wino_dvec s02 = wd_add(g0, g2);     /* g0 + g2 */
    u[0] = g0;                                /* u0 = g0 */
    u[us] = wd_mul(wd_add(s02, g1), 0.5);     /* u1 = (g0 + g1 + g2) / 2 */
    u[2 * us] = wd_mul(wd_sub(s02, g1), 0.5); /* u2 = (g0 − g1 + g2) / 2 */
    u[3 * us] = g2;                           /* u3 = g2 */
}

/* Filter, 2-D: u = G g Gᵀ for g[3][3] -> u[16], in double, 8 filters per vector. */
static inline void wino_f2_filter(const wino_dvec g[9], wino_dvec u[16])
{
    wino_dvec t[4 * 3];
    for (int s = 0; s < 3; s++) /* columns: t = G g, 4x3 */
        wino_f2_filter_1d(g + s, 3, t + s, 3);
    for (int i = 0; i < 4; i++) /* rows:    u = t Gᵀ */
        wino_f2_filter_1d(t + 3 * i, 1, u + 4 * i, 1);
}

/* Output, 1-D: y = Aᵀ m for m[0..3] at stride ms, y[0..1] at stride ys. */
static inline void wino_f2_output_1d(const wino_vec *m, int ms, wino_vec *y, int ys)
{
    const wino_vec m0 = m[0], m1 = m[ms], m2 = m[2 * ms], m3 = m[3 * ms];
    y[0] = wv_add(wv_add(m0, m1), m2);  /* y0 = m0 + m1 + m2 */
    y[ys] = wv_sub(wv_sub(m1, m2), m3); /* y1 = m1 − m2 − m3 */
}

/* Output, 2-D: y = Aᵀ m A for m[16] -> y[2x2 = 4]. */
static inline void wino_f2_output(const wino_vec m[16], wino_vec y[4])
{
    wino_vec t[2 * 4];
    for (int j = 0; j < 4; j++) /* columns: t = Aᵀ m, 2x4 */
        wino_f2_output_1d(m + j, 4, t + j, 4);
    for (int i = 0; i < 2; i++) /* rows:    y = t A */
        wino_f2_output_1d(t + 4 * i, 1, y + 2 * i, 1);
}

/* ---- F(2x2,3x3) weight gradient (kernels/winograd_bw.c) ----
   Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is bilinear in g and d, so for one tile
     dL/dg = Gᵀ [ (A dy Aᵀ) ⊙ (Bᵀ d B) ] G:
   the output gradient goes through A·Aᵀ (the output transform transposed) and the
   transform-domain sum through Gᵀ·G (the filter transform transposed, in double). */

/* Gradient, 1-D: w = A y for y[0..1] at stride ys, w[0..3] at stride ws. */
static inline void wino_f2_grad_1d(const wino_vec *y, int ys, wino_vec *w, int ws)
{
    const wino_vec y0 = y[0], y1 = y[ys];
    w[0] = y0;                      /* w0 = y0 */
    w[ws] = wv_add(y0, y1);         /* w1 = y0 + y1 */
    w[2 * ws] = wv_sub(y0, y1);     /* w2 = y0 − y1 */
    w[3 * ws] = wv_sub(wv_zero(), y1); /* w3 = −y1 */
}

/* Gradient, 2-D: w = A y Aᵀ for a 2x2 tile y[4] -> w[16]. */
static inline void wino_f2_grad(const wino_vec y[4], wino_vec w[16])
{
    wino_vec t[4 * 2];
    for (int j = 0; j < 2; j++) /* columns: t = A y, 4x2 */
        wino_f2_grad_1d(y + j, 2, t + j, 2);
    for (int a = 0; a < 4; a++) /* rows:    w = t Aᵀ */
        wino_f2_grad_1d(t + 2 * a, 1, w + 4 * a, 1);
}

/* Filter gradient, 1-D: g = Gᵀ m for m[0..3] at stride ms, g[0..2] at stride gs. */
static inline void wino_f2_filter_grad_1d(const wino_dvec *m, int ms, wino_dvec *g, int gs)
{
    const wino_dvec m0 = m[0], m1 = m[ms], m2 = m[2 * ms], m3 = m[3 * ms];
    const wino_dvec h12 = wd_mul(wd_add(m1, m2), 0.5); /* (m1 + m2)/2 */
    g[0] = wd_add(m0, h12);                            /* g0 = m0 + (m1 + m2)/2 */
    g[gs] = wd_mul(wd_sub(m1, m2), 0.5);               /* g1 = (m1 − m2)/2 */
    g[2 * gs] = wd_add(h12, m3);                       /* g2 = (m1 + m2)/2 + m3 */
}

/* Filter gradient, 2-D: g = Gᵀ m G for m[16] -> g[3x3 = 9], in double. */
static inline void wino_f2_filter_grad(const wino_dvec m[16], wino_dvec g[9])
{
    wino_dvec t[3 * 4];
    for (int b = 0; b < 4; b++) /* columns: t = Gᵀ m, 3x4 */
        wino_f2_filter_grad_1d(m + b, 4, t + b, 4);
    for (int r = 0; r < 3; r++) /* rows:    g = t G */
        wino_f2_filter_grad_1d(t + 4 * r, 1, g + 3 * r, 1);
}

/* ==== F(4x4,3x3) =========================================================== */

/* Input, 1-D: w = Bᵀ d for d[0..5] at stride st (w likewise). */
static inline void wino_f4_input_1d(const wino_vec *d, int st, wino_vec *w)
{
    const wino_vec d0 = d[0], d1 = d[st], d2 = d[2 * st], d3 = d[3 * st], d4 = d[4 * st], d5 = d[5 * st];
    const wino_vec s12 = wv_add(d1, d2);                     /* d1 + d2 */
    const wino_vec s34 = wv_add(d3, d4);                     /* d3 + d4 */
    const wino_vec a12 = wv_sub(d1, d2);                     /* d1 − d2 */
    const wino_vec a43 = wv_sub(d4, d3);                     /* d4 − d3 */
    const wino_vec a42 = wv_sub(d4, d2);                     /* d4 − d2 */
    const wino_vec a31 = wv_sub(d3, d1);                     /* d3 − d1 */
    w[0] = wv_fmadd(d0, 4.0f, wv_fnmadd(d2, 5.0f, d4));      /* w0 = 4d0 − 5d2 + d4 */
    w[st] = wv_fnmadd(s12, 4.0f, s34);                       /* w1 = (d3 + d4) − 4(d1 + d2) */
    w[2 * st] = wv_fmadd(a12, 4.0f, a43);                    /* w2 = (d4 − d3) + 4(d1 − d2) */
    w[3 * st] = wv_fmadd(a31, 2.0f, a42);                    /* w3 = (d4 − d2) + 2(d3 − d1) */
    w[4 * st] = wv_fnmadd(a31, 2.0f, a42);                   /* w4 = (d4 − d2) − 2(d3 − d1) */
    w[5 * st] = wv_fmadd(d1, 4.0f, wv_fnmadd(d3, 5.0f, d5)); /* w5 = 4d1 − 5d3 + d5 */
}

/* Input, 2-D: v = Bᵀ d B for a 6x6 tile d[36] -> v[36]. */
static inline void wino_f4_input(const wino_vec d[36], wino_vec v[36])
{
    wino_vec t[36];
    for (int j = 0; j < 6; j++) /* columns: t = Bᵀ d */
        wino_f4_input_1d(d + j, 6, t + j);
    for (int i = 0; i < 6; i++) /* rows:    v = t B */
        wino_f4_input_1d(t + 6 * i, 1, v + 6 * i);
}

/* Filter, 1-D: u = G g for g[0..2] at stride gs, u[0..5] at stride us. */
static inline void wino_f4_filter_1d(const wino_dvec *g, int gs, wino_dvec *u, int us)
{
    const wino_dvec g0 = g[0], g1 = g[gs], g2 = g[2 * gs];
    const wino_dvec s02 = wd_add(g0, g2);               /* g0 + g2 */
    const wino_dvec q02 = wd_add(wd_mul(g0, 0.25), g2); /* g0/4 + g2 */
    const wino_dvec h1 = wd_mul(g1, 0.5);               /* g1/2 */
    u[0] = wd_mul(g0, 0.25);                            /* u0 = g0/4 */
    u[us] = wd_mul(wd_add(s02, g1), -1.0 / 6);          /* u1 = −(g0 + g1 + g2)/6 */
    u[2 * us] = wd_mul(wd_sub(s02, g1), -1.0 / 6);      /* u2 = −(g0 − g1 + g2)/6 */
    u[3 * us] = wd_mul(wd_add(q02, h1), 1.0 / 6);       /* u3 = (g0/4 + g1/2 + g2)/6 */
    u[4 * us] = wd_mul(wd_sub(q02, h1), 1.0 / 6);       /* u4 = (g0/4 − g1/2 + g2)/6 */
    u[5 * us] = g2;                                     /* u5 = g2 */
}

/* Filter, 2-D: u = G g Gᵀ for g[3][3] -> u[36], in double, 8 filters per vector. */
static inline void wino_f4_filter(const wino_dvec g[9], wino_dvec u[36])
{
    wino_dvec t[6 * 3];
    for (int s = 0; s < 3; s++) /* columns: t = G g, 6x3 */
        wino_f4_filter_1d(g + s, 3, t + s, 3);
    for (int i = 0; i < 6; i++) /* rows:    u = t Gᵀ */
        wino_f4_filter_1d(t + 3 * i, 1, u + 6 * i, 1);
}

/* Output, 1-D: y = Aᵀ m for m[0..5] at stride ms, y[0..3] at stride ys. */
static inline void wino_f4_output_1d(const wino_vec *m, int ms, wino_vec *y, int ys)
{
    const wino_vec m0 = m[0], m1 = m[ms], m2 = m[2 * ms], m3 = m[3 * ms], m4 = m[4 * ms], m5 = m[5 * ms];
    const wino_vec s12 = wv_add(m1, m2);              /* m1 + m2 */
    const wino_vec a12 = wv_sub(m1, m2);              /* m1 − m2 */
    const wino_vec s34 = wv_add(m3, m4);              /* m3 + m4 */
    const wino_vec a34 = wv_sub(m3, m4);              /* m3 − m4 */
    y[0] = wv_add(wv_add(m0, s12), s34);              /* y0 = m0 + (m1 + m2) + (m3 + m4) */
    y[ys] = wv_fmadd(a34, 2.0f, a12);                 /* y1 = (m1 − m2) + 2(m3 − m4) */
    y[2 * ys] = wv_fmadd(s34, 4.0f, s12);             /* y2 = (m1 + m2) + 4(m3 + m4) */
    y[3 * ys] = wv_fmadd(a34, 8.0f, wv_add(a12, m5)); /* y3 = (m1 − m2) + 8(m3 − m4) + m5 */
}

/* Output, 2-D: y = Aᵀ m A for m[36] -> y[4x4 = 16]. */
static inline void wino_f4_output(const wino_vec m[36], wino_vec y[16])
{
    wino_vec t[4 * 6];
    for (int j = 0; j < 6; j++) /* columns: t = Aᵀ m, 4x6 */
        wino_f4_output_1d(m + j, 6, t + j, 6);
    for (int i = 0; i < 4; i++) /* rows:    y = t A */
        wino_f4_output_1d(t + 6 * i, 1, y + 4 * i, 1);
}

/* ---- F(4x4,3x3) weight gradient (see the F(2x2,3x3) one) ---- */

/* Gradient, 1-D: w = A y for y[0..3] at stride ys, w[0..5] at stride ws.  Each output
   goes through at most 2 roundings (4·y2 + y0 and 4·y3 + y1 are FMAs, doubling is exact). */
static inline void wino_f4_grad_1d(const wino_vec *y, int ys, wino_vec *w, int ws)
{
    const wino_vec y0 = y[0], y1 = y[ys], y2 = y[2 * ys], y3 = y[3 * ys];
    const wino_vec e = wv_add(y0, y2), o = wv_add(y1, y3); /* y0 + y2, y1 + y3 */
    const wino_vec e4 = wv_fmadd(y2, 4.0f, y0);           /* y0 + 4y2 */
    const wino_vec o4 = wv_fmadd(y3, 4.0f, y1);           /* y1 + 4y3 */
    const wino_vec o8 = wv_add(o4, o4);                   /* 2y1 + 8y3 */
    w[0] = y0;                                            /* w0 = y0 */
    w[ws] = wv_add(e, o);                                 /* w1 = y0 + y1 + y2 + y3 */
    w[2 * ws] = wv_sub(e, o);                             /* w2 = y0 − y1 + y2 − y3 */
    w[3 * ws] = wv_add(e4, o8);                           /* w3 = y0 + 2y1 + 4y2 + 8y3 */
    w[4 * ws] = wv_sub(e4, o8);                           /* w4 = y0 − 2y1 + 4y2 − 8y3 */
    w[5 * ws] = y3;                                       /* w5 = y3 */
}

/* Gradient, 2-D: w = A y Aᵀ for a 4x4 tile y[16] -> w[36]. */
static inline void wino_f4_grad(const wino_vec y[16], wino_vec w[36])
{
    wino_vec t[6 * 4];
    for (int j = 0; j < 4; j++) /* columns: t = A y, 6x4 */
        wino_f4_grad_1d(y + j, 4, t + j, 4);
    for (int a = 0; a < 6; a++) /* rows:    w = t Aᵀ */
        wino_f4_grad_1d(t + 4 * a, 1, w + 6 * a, 1);
}

/* Filter gradient, 1-D: g = Gᵀ m for m[0..5] at stride ms, g[0..2] at stride gs. */
static inline void wino_f4_filter_grad_1d(const wino_dvec *m, int ms, wino_dvec *g, int gs)
{
    const wino_dvec m0 = m[0], m1 = m[ms], m2 = m[2 * ms], m3 = m[3 * ms], m4 = m[4 * ms], m5 = m[5 * ms];
    const wino_dvec s12 = wd_add(m1, m2), a21 = wd_sub(m2, m1); /* m1 + m2, m2 − m1 */
    const wino_dvec s34 = wd_add(m3, m4), a34 = wd_sub(m3, m4); /* m3 + m4, m3 − m4 */
    /* g0 = m0/4 − (m1 + m2)/6 + (m3 + m4)/24 */
    g[0] = wd_add(wd_mul(m0, 0.25), wd_add(wd_mul(s12, -1.0 / 6), wd_mul(s34, 1.0 / 24)));
    /* g1 = (m2 − m1)/6 + (m3 − m4)/12 */
    g[gs] = wd_add(wd_mul(a21, 1.0 / 6), wd_mul(a34, 1.0 / 12));
    /* g2 = (m3 + m4 − m1 − m2)/6 + m5 */
    g[2 * gs] = wd_add(wd_mul(wd_sub(s34, s12), 1.0 / 6), m5);
}

/* Filter gradient, 2-D: g = Gᵀ m G for m[36] -> g[3x3 = 9], in double. */
static inline void wino_f4_filter_grad(const wino_dvec m[36], wino_dvec g[9])
{
    wino_dvec t[3 * 6];
    for (int b = 0; b < 6; b++) /* columns: t = Gᵀ m, 3x6 */
        wino_f4_filter_grad_1d(m + b, 6, t + b, 6);
    for (int r = 0; r < 3; r++) /* rows:    g = t G */
        wino_f4_filter_grad_1d(t + 6 * r, 1, g + 3 * r, 1);
}

#endif
