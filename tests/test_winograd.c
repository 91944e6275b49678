/* tests/test_winograd.c — the Winograd kernels, piece by piece.
 *
 *   - each transform of kernels/winograd_transforms.h (input Bᵀ d B, filter G g Gᵀ,
 *     output Aᵀ m A; F(2x2,3x3) and F(4x4,3x3)) against its explicit matrix,
 *     written out again here from Lavin & Gray and applied by plain matrix
 *     multiplication in double, within the rounding the transform's operation count
 *     allows;
 *   - the identities: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d and g, exactly
 *     with the explicit matrices and within the error model with the kernel's own
 *     1-D and 2-D transforms, for random tiles;
 *   - the error model behind the kernels' tolerance() held output by output on
 *     whole convolutions: |error| ≤ γ_{C+11} (F4) or γ_{C+7} (F2) times
 *     E = Σ |g|·|d|·W_i(r,p)·W_j(s,q);
 *   - the tolerance is not loose: a Winograd convolution whose matrices have one
 *     coefficient off by 1 % fails it;
 *   - backward_weights, dg = Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G: the gradient transforms
 *     A y Aᵀ and Gᵀ m G against their matrices, the error model behind its tolerance
 *     weight by weight, and that tolerance catching a coefficient off by 1 %;
 *   - supports(), workspace size independent of the thread count, and a seeded
 *     sweep of random shapes (both kernels, all three passes) against the float64
 *     reference, 1, 2 and 3 threads bitwise.
 * Data are uniform in [-1, 1) from fixed seeds, printed on failure.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernels/conv.h"
#include "kernels/conv_reference.h"
#include "kernels/winograd_transforms.h"
#include "tests/testing.h"

static const double u32 = 0x1p-24; /* float unit roundoff */
static double gamma_n(int n)
{
    return n * u32 / (1 - n * u32);
}

/* ---- the explicit matrices (Lavin & Gray 2016) ------------------------------------ */

typedef struct wino_matrices {
    int m, alpha;
    double bt[6][6]; /* Bᵀ, alpha×alpha */
    double g[6][3];  /* G,  alpha×3 */
    double at[4][6]; /* Aᵀ, m×alpha */
} wino_matrices;

static const wino_matrices f2 = {
    2,
    4,
    {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
    {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
    {{1, 1, 1, 0}, {0, 1, -1, -1}},
};

static const wino_matrices f4 = {
    4,
    6,
    {{4, 0, -5, 0, 1, 0},
     {0, -4, -4, 1, 1, 0},
     {0, 4, -4, -1, 1, 0},
     {0, -2, -1, 2, 1, 0},
     {0, 2, -1, -2, 1, 0},
     {0, 4, 0, -5, 0, 1}},
    {{1.0 / 4, 0, 0},
     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
     {1.0 / 24, 1.0 / 12, 1.0 / 6},
     {1.0 / 24, -1.0 / 12, 1.0 / 6},
     {0, 0, 1}},
    {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}},
};

/* Rounding steps of the float transforms along one input's longest path: the
   input transform (both passes), the output transform (both passes). */
static int input_rounds(const wino_matrices *mx)
{
    return mx->m == 4 ? 4 : 2;
}
static int output_rounds(const wino_matrices *mx)
{
    return mx->m == 4 ? 6 : 4;
}

/* out[i][j] = Σ_{p,q} L[i][p]·x[p][q]·L[j][q] (x is n×n, L is rows×n), and the same
   with absolute values into bound. */
static void sandwich(int rows, int n, const double *L, int ls, const double *x, double *out, double *bound)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < rows; j++) {
            double s = 0, b = 0;
            for (int p = 0; p < n; p++)
                for (int q = 0; q < n; q++) {
                    s += L[i * ls + p] * x[p * n + q] * L[j * ls + q];
                    b += fabs(L[i * ls + p] * x[p * n + q] * L[j * ls + q]);
                }
            out[i * rows + j] = s;
            if (bound)
                bound[i * rows + j] = b;
        }
}

/* ---- the explicit matrices compute correlation ------------------------------------- */

static void check_identity_1d(const wino_matrices *mx)
{
    float buf[9];
    for (int trial = 0; trial < 100; trial++) {
        test_fill_uniform(buf, 9, 500 + trial);
        double d[6], g[3], gg[6], vv[6];
        for (int p = 0; p < mx->alpha; p++)
            d[p] = buf[p];
        for (int r = 0; r < 3; r++)
            g[r] = buf[6 + r];
        for (int a = 0; a < mx->alpha; a++) {
            gg[a] = vv[a] = 0;
            for (int r = 0; r < 3; r++)
                gg[a] += mx->g[a][r] * g[r];
            for (int p = 0; p < mx->alpha; p++)
                vv[a] += mx->bt[a][p] * d[p];
        }
        for (int i = 0; i < mx->m; i++) {
            double y = 0, want = 0;
            for (int a = 0; a < mx->alpha; a++)
                y += mx->at[i][a] * gg[a] * vv[a];
            for (int r = 0; r < 3; r++)
                want += d[i + r] * g[r];
            if (fabs(y - want) > 1e-13)
                fail_msg("F(%d,3) matrices: Aᵀ[(Gg)⊙(Bᵀd)][%d] = %.17g, correlation %.17g (trial %d)", mx->m,
                         i, y, want, trial);
        }
    }
}

static void test_matrices_compute_correlation(void **state)
{
    check_identity_1d(&f2);
    check_identity_1d(&f4);
}

/* ---- each transform against its matrix -------------------------------------------- */

/* 16 random alpha×alpha tiles, one per lane: tile[e][l], e = row·alpha + column. */
static void random_tiles(int elems, float tile[36][WINO_LANES], uint64_t seed)
{
    test_fill_uniform(&tile[0][0], (size_t)elems * WINO_LANES, seed);
}

static void check_input_transform(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha, n2 = al * al;
    float d[36][WINO_LANES], v[36][WINO_LANES];
    random_tiles(n2, d, seed);
    wino_vec dv[36], vv[36];
    for (int e = 0; e < n2; e++)
        dv[e] = wv_load(d[e]);
    if (mx->m == 4)
        wino_f4_input(dv, vv);
    else
        wino_f2_input(dv, vv);
    for (int e = 0; e < n2; e++)
        wv_store(v[e], vv[e]);
    for (int l = 0; l < WINO_LANES; l++) {
        double x[36], want[36], bound[36];
        for (int e = 0; e < n2; e++)
            x[e] = d[e][l];
        sandwich(al, al, &mx->bt[0][0], 6, x, want, bound); /* Bᵀ d B */
        for (int e = 0; e < n2; e++)
            if (fabs(v[e][l] - want[e]) > gamma_n(input_rounds(mx)) * bound[e])
                fail_msg("F(%d) input transform, seed %llu lane %d element %d: got %.9g, Bᵀ d B = %.17g "
                         "(bound %.3g)",
                         mx->m, (unsigned long long)seed, l, e, (double)v[e][l], want[e],
                         gamma_n(input_rounds(mx)) * bound[e]);
    }
}

static void test_input_transforms(void **state)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        check_input_transform(&f2, seed);
        check_input_transform(&f4, seed);
    }
}

static void check_filter_transform(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha;
    float gf[9][WINO_DLANES];
    test_fill_uniform(&gf[0][0], 9 * WINO_DLANES, seed);
    double gd[9][WINO_DLANES], ud[36][WINO_DLANES];
    for (int e = 0; e < 9; e++)
        for (int l = 0; l < WINO_DLANES; l++)
            gd[e][l] = gf[e][l];
    wino_dvec gv[9], uv[36];
    for (int e = 0; e < 9; e++)
        gv[e] = wd_load(gd[e]);
    if (mx->m == 4)
        wino_f4_filter(gv, uv);
    else
        wino_f2_filter(gv, uv);
    for (int e = 0; e < al * al; e++)
        wd_store(ud[e], uv[e]);
    for (int l = 0; l < WINO_DLANES; l++)
        for (int a = 0; a < al; a++)
            for (int b = 0; b < al; b++) {
                double want = 0, bound = 0; /* (G g Gᵀ)[a][b] */
                for (int r = 0; r < 3; r++)
                    for (int s = 0; s < 3; s++) {
                        want += mx->g[a][r] * gd[r * 3 + s][l] * mx->g[b][s];
                        bound += fabs(mx->g[a][r] * gd[r * 3 + s][l] * mx->g[b][s]);
                    }
                /* double arithmetic, a handful of roundings of 2^-53 */
                if (fabs(ud[a * al + b][l] - want) > 16 * 0x1p-53 * bound)
                    fail_msg("F(%d) filter transform, seed %llu lane %d [%d][%d]: got %.17g, G g Gᵀ = %.17g",
                             mx->m, (unsigned long long)seed, l, a, b, ud[a * al + b][l], want);
            }
}

static void test_filter_transforms(void **state)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        check_filter_transform(&f2, seed);
        check_filter_transform(&f4, seed);
    }
}

static void check_output_transform(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha, m = mx->m;
    float mm[36][WINO_LANES], y[16][WINO_LANES];
    random_tiles(al * al, mm, seed);
    wino_vec mv[36], yv[16];
    for (int e = 0; e < al * al; e++)
        mv[e] = wv_load(mm[e]);
    if (m == 4)
        wino_f4_output(mv, yv);
    else
        wino_f2_output(mv, yv);
    for (int e = 0; e < m * m; e++)
        wv_store(y[e], yv[e]);
    for (int l = 0; l < WINO_LANES; l++) {
        double x[36], want[16], bound[16];
        for (int e = 0; e < al * al; e++)
            x[e] = mm[e][l];
        sandwich(m, al, &mx->at[0][0], 6, x, want, bound); /* Aᵀ m A */
        for (int e = 0; e < m * m; e++)
            if (fabs(y[e][l] - want[e]) > gamma_n(output_rounds(mx)) * bound[e])
                fail_msg("F(%d) output transform, seed %llu lane %d element %d: got %.9g, Aᵀ m A = %.17g", m,
                         (unsigned long long)seed, l, e, (double)y[e][l], want[e]);
    }
}

static void test_output_transforms(void **state)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        check_output_transform(&f2, seed);
        check_output_transform(&f4, seed);
    }
}

/* ---- the kernel's transforms compute correlation ------------------------------------ */

/* W_i(r, p) = Σ_a |Aᵀ[i][a]|·|G[a][r]|·|Bᵀ[a][p]|: how strongly filter tap r and tile
   element p enter output i, in absolute value (one dimension). */
static double weight(const wino_matrices *mx, int i, int r, int p)
{
    double w = 0;
    for (int a = 0; a < mx->alpha; a++)
        w += fabs(mx->at[i][a] * mx->g[a][r] * mx->bt[a][p]);
    return w;
}

/* 1-D: y = Aᵀ[(G g) ⊙ (Bᵀ d)] through the kernel's 1-D transforms, 16 lanes. */
static void check_kernel_identity_1d(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha, m = mx->m;
    float d[6][WINO_LANES], gf[3][WINO_LANES];
    test_fill_uniform(&d[0][0], 6 * WINO_LANES, seed);
    test_fill_uniform(&gf[0][0], 3 * WINO_LANES, seed + 1000);
    wino_vec dv[6], vv[6], pv[6], yv[4];
    for (int p = 0; p < al; p++)
        dv[p] = wv_load(d[p]);
    /* the filter transform works in double, 8 lanes at a time */
    float uf[6][WINO_LANES];
    for (int half = 0; half < WINO_LANES; half += WINO_DLANES) {
        double gd[3][WINO_DLANES], ud[6][WINO_DLANES];
        for (int r = 0; r < 3; r++)
            for (int l = 0; l < WINO_DLANES; l++)
                gd[r][l] = gf[r][half + l];
        wino_dvec gv[3], uv[6];
        for (int r = 0; r < 3; r++)
            gv[r] = wd_load(gd[r]);
        if (m == 4)
            wino_f4_filter_1d(gv, 1, uv, 1);
        else
            wino_f2_filter_1d(gv, 1, uv, 1);
        for (int a = 0; a < al; a++) {
            wd_store(ud[a], uv[a]);
            for (int l = 0; l < WINO_DLANES; l++)
                uf[a][half + l] = (float)ud[a][l];
        }
    }
    if (m == 4)
        wino_f4_input_1d(dv, 1, vv);
    else
        wino_f2_input_1d(dv, 1, vv);
    for (int a = 0; a < al; a++) {
        float v[WINO_LANES], prod[WINO_LANES];
        wv_store(v, vv[a]);
        for (int l = 0; l < WINO_LANES; l++)
            prod[l] = uf[a][l] * v[l];
        pv[a] = wv_load(prod);
    }
    if (m == 4)
        wino_f4_output_1d(pv, 1, yv, 1);
    else
        wino_f2_output_1d(pv, 1, yv, 1);
    /* roundings: U (1), one input pass, the product (1), one output pass */
    const int rounds = 1 + input_rounds(mx) / 2 + 1 + output_rounds(mx) / 2;
    for (int i = 0; i < m; i++) {
        float y[WINO_LANES];
        wv_store(y, yv[i]);
        for (int l = 0; l < WINO_LANES; l++) {
            double want = 0, e = 0;
            for (int r = 0; r < 3; r++) {
                want += (double)d[i + r][l] * gf[r][l];
                for (int p = 0; p < al; p++)
                    e += fabs((double)gf[r][l] * d[p][l]) * weight(mx, i, r, p);
            }
            if (fabs(y[l] - want) > gamma_n(rounds) * e)
                fail_msg(
                    "F(%d) 1-D, seed %llu lane %d output %d: Winograd %.9g, correlation %.17g (bound %.3g)",
                    m, (unsigned long long)seed, l, i, (double)y[l], want, gamma_n(rounds) * e);
        }
    }
}

/* 2-D, one channel: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A through the kernel's transforms. */
static void check_kernel_identity_2d(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha, m = mx->m, n2 = al * al;
    float d[36][WINO_LANES], gf[9][WINO_LANES], uf[36][WINO_LANES];
    random_tiles(n2, d, seed);
    test_fill_uniform(&gf[0][0], 9 * WINO_LANES, seed + 1000);
    for (int half = 0; half < WINO_LANES; half += WINO_DLANES) {
        double gd[9][WINO_DLANES], ud[36][WINO_DLANES];
        wino_dvec gv[9], uv[36];
        for (int e = 0; e < 9; e++) {
            for (int l = 0; l < WINO_DLANES; l++)
                gd[e][l] = gf[e][half + l];
            gv[e] = wd_load(gd[e]);
        }
        if (m == 4)
            wino_f4_filter(gv, uv);
        else
            wino_f2_filter(gv, uv);
        for (int e = 0; e < n2; e++) {
            wd_store(ud[e], uv[e]);
            for (int l = 0; l < WINO_DLANES; l++)
                uf[e][half + l] = (float)ud[e][l];
        }
    }
    wino_vec dv[36], vv[36], pv[36], yv[16];
    for (int e = 0; e < n2; e++)
        dv[e] = wv_load(d[e]);
    if (m == 4)
        wino_f4_input(dv, vv);
    else
        wino_f2_input(dv, vv);
    for (int e = 0; e < n2; e++) {
        float v[WINO_LANES], prod[WINO_LANES];
        wv_store(v, vv[e]);
        for (int l = 0; l < WINO_LANES; l++)
            prod[l] = uf[e][l] * v[l];
        pv[e] = wv_load(prod);
    }
    if (m == 4)
        wino_f4_output(pv, yv);
    else
        wino_f2_output(pv, yv);
    /* the kernel's error model with C = 1: γ_{1 + 11} (F4), γ_{1 + 7} (F2) */
    const int rounds = 1 + 1 + input_rounds(mx) + output_rounds(mx);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            float y[WINO_LANES];
            wv_store(y, yv[i * m + j]);
            for (int l = 0; l < WINO_LANES; l++) {
                double want = 0, e = 0;
                for (int r = 0; r < 3; r++)
                    for (int s = 0; s < 3; s++) {
                        want += (double)d[(i + r) * al + j + s][l] * gf[r * 3 + s][l];
                        for (int p = 0; p < al; p++)
                            for (int q = 0; q < al; q++)
                                e += fabs((double)gf[r * 3 + s][l] * d[p * al + q][l]) * weight(mx, i, r, p) *
                                     weight(mx, j, s, q);
                    }
                if (fabs(y[l] - want) > gamma_n(rounds) * e)
                    fail_msg("F(%d) 2-D, seed %llu lane %d output (%d,%d): Winograd %.9g, correlation %.17g",
                             m, (unsigned long long)seed, l, i, j, (double)y[l], want);
            }
        }
}

static void test_kernel_transforms_compute_correlation(void **state)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        check_kernel_identity_1d(&f2, seed);
        check_kernel_identity_1d(&f4, seed);
        check_kernel_identity_2d(&f2, seed);
        check_kernel_identity_2d(&f4, seed);
    }
}

/* ---- whole convolutions: the error model, output by output ------------------------- */

/* A stride-1 3x3 convolution in forward form: in[N][CI][H][W], g[KO][CI][3][3],
   padding pad, out[N][KO][P][Q]. */
typedef struct fwd_conv {
    int n, ci, h, w, ko, pad;
    const float *in, *g;
} fwd_conv;

/* backward_data of cs as a forward convolution of dy with w flipped and transposed;
   g receives that filter [C][K][3][3]. */
static fwd_conv as_forward(const conv_shape *cs, conv_pass pass, const float *a, const float *w, float *g)
{
    if (pass == CONV_FORWARD)
        return (fwd_conv){cs->n, cs->c, cs->h, cs->w, cs->k, cs->pad, a, w};
    for (int k = 0; k < cs->k; k++)
        for (int c = 0; c < cs->c; c++)
            for (int r = 0; r < 3; r++)
                for (int s = 0; s < 3; s++)
                    g[((c * cs->k + k) * 3 + r) * 3 + s] = w[((k * cs->c + c) * 3 + 2 - r) * 3 + 2 - s];
    return (fwd_conv){cs->n, cs->k, conv_out_h(cs), conv_out_w(cs), cs->c, 2 - cs->pad, a, g};
}

/* E of every output: Σ_c Σ_{r,s,p,q} |g|·|d|·W_i(r,p)·W_j(s,q) over the output's tile window. */
static void error_scale(const wino_matrices *mx, const fwd_conv *f, double *e)
{
    const int m = mx->m, al = mx->alpha, P = f->h + 2 * f->pad - 2, Q = f->w + 2 * f->pad - 2;
    double wt[4][3][6];
    for (int i = 0; i < m; i++)
        for (int r = 0; r < 3; r++)
            for (int p = 0; p < al; p++)
                wt[i][r][p] = weight(mx, i, r, p);
    for (int n = 0; n < f->n; n++)
        for (int k = 0; k < f->ko; k++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    const int i = p % m, j = q % m, y0 = p - i - f->pad, x0 = q - j - f->pad;
                    double sum = 0;
                    for (int c = 0; c < f->ci; c++)
                        for (int r = 0; r < 3; r++)
                            for (int s = 0; s < 3; s++) {
                                const double g = fabs(f->g[((k * f->ci + c) * 3 + r) * 3 + s]);
                                for (int a = 0; a < al; a++)
                                    for (int b = 0; b < al; b++) {
                                        const int y = y0 + a, x = x0 + b;
                                        if (y >= 0 && y < f->h && x >= 0 && x < f->w)
                                            sum += g * fabs(f->in[((n * f->ci + c) * f->h + y) * f->w + x]) *
                                                   wt[i][r][a] * wt[j][s][b];
                                    }
                            }
                    e[((n * f->ko + k) * P + p) * Q + q] = sum;
                }
}

static void check_error_model(const conv_kernel *kernel, const wino_matrices *mx, const conv_shape *cs,
                              conv_pass pass, uint64_t seed)
{
    char name[96];
    conv_shape_str(cs, name, sizeof name);
    assert_ptr_equal(conv_resolve(kernel, cs, pass), kernel);
    const size_t a_count = pass == CONV_FORWARD ? conv_x_count(cs) : conv_y_count(cs);
    const size_t out_count = conv_pass_out_count(cs, pass), ws_bytes = conv_workspace_bytes(kernel, cs);
    float *a = test_alloc(a_count * sizeof *a), *w = test_alloc(conv_w_count(cs) * sizeof *w);
    float *g = test_alloc(conv_w_count(cs) * sizeof *g), *out = test_alloc(out_count * sizeof *out);
    double *ref = test_alloc(out_count * sizeof *ref), *mag = test_alloc(out_count * sizeof *mag);
    double *e = test_alloc(out_count * sizeof *e);
    void *ws = test_alloc(ws_bytes);
    test_fill_uniform(a, a_count, seed);
    test_fill_uniform(w, conv_w_count(cs), seed + 1);
    conv_reference(cs, pass, a, w, ref, mag);
    test_poison_nan(out, out_count);
    memset(ws, 0xA5, ws_bytes);
    conv_run(kernel, cs, pass, a, w, out, ws);
    const fwd_conv f = as_forward(cs, pass, a, w, g);
    error_scale(mx, &f, e);
    const int rounds = f.ci + 1 + input_rounds(mx) + output_rounds(mx);
    for (size_t i = 0; i < out_count; i++)
        if (!(fabs(out[i] - ref[i]) <= gamma_n(rounds) * e[i]))
            fail_msg("%s %s %s seed %llu output %zu: error %.3g > γ_%d·E = %.3g (got %.9g, want %.17g)",
                     kernel->name, conv_pass_name(pass), name, (unsigned long long)seed, i,
                     fabs(out[i] - ref[i]), rounds, gamma_n(rounds) * e[i], (double)out[i], ref[i]);
    free(a);
    free(w);
    free(g);
    free(out);
    free(ref);
    free(mag);
    free(e);
    free(ws);
}

static void test_error_model_holds(void **state)
{
    static const conv_shape shapes[] = {
        {2, 5, 11, 9, 3, 3, 3, 1, 1}, /* ragged tiles both ways */
        {1, 7, 6, 13, 4, 3, 3, 1, 0},
        {2, 3, 9, 10, 5, 3, 3, 1, 2}, /* padding 2: outputs with 1 tap per dimension */
        {1, 33, 8, 8, 9, 3, 3, 1, 1}, /* deeper GEMM, K not a multiple of 8 */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int p = 0; p < 2; p++) {
            check_error_model(&conv_winograd_f2, &f2, &shapes[s], (conv_pass)p, 40 + s);
            check_error_model(&conv_winograd, &f4, &shapes[s], (conv_pass)p, 40 + s);
        }
}

/* ---- the tolerance is tight enough to catch a wrong coefficient ------------------- */

/* Winograd forward convolution in double with the given matrices (tile by tile). */
static void explicit_winograd(const wino_matrices *mx, const conv_shape *cs, const float *x, const float *w,
                              double *y)
{
    const int m = mx->m, al = mx->alpha, P = conv_out_h(cs), Q = conv_out_w(cs);
    for (int n = 0; n < cs->n; n++)
        for (int k = 0; k < cs->k; k++)
            for (int ty = 0; ty < P; ty += m)
                for (int tx = 0; tx < Q; tx += m) {
                    double acc[36] = {0};
                    for (int c = 0; c < cs->c; c++) {
                        double d[36], g[9], ggt[36], v[36];
                        for (int a = 0; a < al; a++)
                            for (int b = 0; b < al; b++) {
                                const int yy = ty - cs->pad + a, xx = tx - cs->pad + b;
                                d[a * al + b] = yy >= 0 && yy < cs->h && xx >= 0 && xx < cs->w
                                                    ? x[((n * cs->c + c) * cs->h + yy) * cs->w + xx]
                                                    : 0;
                            }
                        for (int e = 0; e < 9; e++)
                            g[e] = w[(k * cs->c + c) * 9 + e];
                        for (int a = 0; a < al; a++) /* G g Gᵀ */
                            for (int b = 0; b < al; b++) {
                                double s = 0;
                                for (int r = 0; r < 3; r++)
                                    for (int t = 0; t < 3; t++)
                                        s += mx->g[a][r] * g[r * 3 + t] * mx->g[b][t];
                                ggt[a * al + b] = s;
                            }
                        sandwich(al, al, &mx->bt[0][0], 6, d, v, NULL); /* Bᵀ d B */
                        for (int e = 0; e < al * al; e++)
                            acc[e] += ggt[e] * v[e];
                    }
                    double out[16];
                    sandwich(m, al, &mx->at[0][0], 6, acc, out, NULL); /* Aᵀ M A */
                    for (int i = 0; i < m && ty + i < P; i++)
                        for (int j = 0; j < m && tx + j < Q; j++)
                            y[((n * cs->k + k) * P + ty + i) * Q + tx + j] = out[i * m + j];
                }
}

static double explicit_error(const wino_matrices *mx, const conv_shape *cs, const float *x, const float *w,
                             const double *ref, const double *mag, double *y)
{
    explicit_winograd(mx, cs, x, w, y);
    double worst = 0;
    for (size_t i = 0; i < conv_y_count(cs); i++)
        worst = fmax(worst, fabs(y[i] - ref[i]) / fmax(mag[i], 1e-300));
    return worst;
}

static void test_tolerance_catches_wrong_coefficient(void **state)
{
    static const conv_shape shapes[] = {{2, 8, 12, 12, 4, 3, 3, 1, 1}, {1, 32, 9, 9, 3, 3, 3, 1, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const conv_shape *cs = &shapes[s];
        float *x = test_alloc(conv_x_count(cs) * sizeof *x), *w = test_alloc(conv_w_count(cs) * sizeof *w);
        double *ref = test_alloc(conv_y_count(cs) * sizeof *ref),
               *mag = test_alloc(conv_y_count(cs) * sizeof *mag);
        double *y = test_alloc(conv_y_count(cs) * sizeof *y);
        test_fill_uniform(x, conv_x_count(cs), 70 + s);
        test_fill_uniform(w, conv_w_count(cs), 71 + s);
        conv_reference(cs, CONV_FORWARD, x, w, ref, mag);
        for (int which = 0; which < 2; which++) {
            const wino_matrices *good = which ? &f4 : &f2;
            const conv_kernel *k = which ? &conv_winograd : &conv_winograd_f2;
            const double tol = k->tolerance(cs, CONV_FORWARD);
            const double exact = explicit_error(good, cs, x, w, ref, mag, y);
            if (exact > 1e-12)
                fail_msg("explicit F(%d) Winograd in double is off by %.3g", good->m, exact);
            /* one coefficient of one matrix off by 1 %, for each matrix in turn */
            for (int mat = 0; mat < 3; mat++) {
                wino_matrices bad = *good;
                double *coef = mat == 0 ? &bad.bt[1][2] : mat == 1 ? &bad.g[1][1] : &bad.at[1][2];
                *coef *= 1.01;
                const double err = explicit_error(&bad, cs, x, w, ref, mag, y);
                if (!(err > tol))
                    fail_msg(
                        "F(%d) with %s coefficient off by 1%%: error %.3g within tolerance %.3g — too loose",
                        good->m,
                        mat == 0   ? "a Bᵀ"
                        : mat == 1 ? "a G"
                                   : "an Aᵀ",
                        err, tol);
            }
        }
        free(x);
        free(w);
        free(ref);
        free(mag);
        free(y);
    }
}

/* ---- backward_weights: dg = Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G ---------------------------------- */

/* Rounding steps of the gradient transform A dy Aᵀ (both passes), and of one tile's
   term (Bᵀ d B)·(A dy Aᵀ) of the weight gradient, the product included. */
static int grad_rounds(const wino_matrices *mx)
{
    return mx->m == 4 ? 4 : 2;
}
static int bw_term_rounds(const wino_matrices *mx)
{
    return input_rounds(mx) + grad_rounds(mx) + 1;
}

static void check_grad_transform(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha, m = mx->m;
    float y[36][WINO_LANES], w[36][WINO_LANES];
    random_tiles(m * m, y, seed);
    wino_vec yv[16], wv[36];
    for (int e = 0; e < m * m; e++)
        yv[e] = wv_load(y[e]);
    if (m == 4)
        wino_f4_grad(yv, wv);
    else
        wino_f2_grad(yv, wv);
    for (int e = 0; e < al * al; e++)
        wv_store(w[e], wv[e]);
    for (int l = 0; l < WINO_LANES; l++)
        for (int a = 0; a < al; a++)
            for (int b = 0; b < al; b++) {
                double want = 0, bound = 0; /* (A y Aᵀ)[a][b], A = (Aᵀ)ᵀ */
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < m; j++) {
                        want += mx->at[i][a] * y[i * m + j][l] * mx->at[j][b];
                        bound += fabs(mx->at[i][a] * y[i * m + j][l] * mx->at[j][b]);
                    }
                if (fabs(w[a * al + b][l] - want) > gamma_n(grad_rounds(mx)) * bound)
                    fail_msg("F(%d) gradient transform, seed %llu lane %d [%d][%d]: got %.9g, A y Aᵀ = %.17g", m,
                             (unsigned long long)seed, l, a, b, (double)w[a * al + b][l], want);
            }
}

static void check_filter_grad_transform(const wino_matrices *mx, uint64_t seed)
{
    const int al = mx->alpha;
    float mf[36][WINO_DLANES];
    test_fill_uniform(&mf[0][0], 36 * WINO_DLANES, seed);
    double md[36][WINO_DLANES], gd[9][WINO_DLANES];
    for (int e = 0; e < 36; e++)
        for (int l = 0; l < WINO_DLANES; l++)
            md[e][l] = mf[e][l];
    wino_dvec mv[36], gv[9];
    for (int e = 0; e < al * al; e++)
        mv[e] = wd_load(md[e]);
    if (mx->m == 4)
        wino_f4_filter_grad(mv, gv);
    else
        wino_f2_filter_grad(mv, gv);
    for (int e = 0; e < 9; e++)
        wd_store(gd[e], gv[e]);
    for (int l = 0; l < WINO_DLANES; l++)
        for (int r = 0; r < 3; r++)
            for (int t = 0; t < 3; t++) {
                double want = 0, bound = 0; /* (Gᵀ m G)[r][t] */
                for (int a = 0; a < al; a++)
                    for (int b = 0; b < al; b++) {
                        want += mx->g[a][r] * md[a * al + b][l] * mx->g[b][t];
                        bound += fabs(mx->g[a][r] * md[a * al + b][l] * mx->g[b][t]);
                    }
                if (fabs(gd[r * 3 + t][l] - want) > 16 * 0x1p-53 * bound)
                    fail_msg("F(%d) filter gradient transform, seed %llu lane %d [%d][%d]: got %.17g, Gᵀ m G = %.17g",
                             mx->m, (unsigned long long)seed, l, r, t, gd[r * 3 + t][l], want);
            }
}

static void test_grad_transforms(void **state)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        check_grad_transform(&f2, seed);
        check_grad_transform(&f4, seed);
        check_filter_grad_transform(&f2, 100 + seed);
        check_filter_grad_transform(&f4, 100 + seed);
    }
}

/* x element (row y0 + p, column x0 + q) of channel plane `plane` (h×w), 0 outside. */
static double plane_at(const float *plane, int h, int w, int y, int x)
{
    return y >= 0 && y < h && x >= 0 && x < w ? plane[y * w + x] : 0;
}

/* E of every weight: Σ_n Σ_tiles Σ_{i,j,p,q} |dy_ij|·|d_pq|·W_i(r,p)·W_j(s,q), dy read as
   zero past P×Q and d outside the image. */
static void bw_error_scale(const wino_matrices *mx, const conv_shape *cs, const float *x, const float *dy,
                           double *e)
{
    const int m = mx->m, al = mx->alpha, P = conv_out_h(cs), Q = conv_out_w(cs);
    double wt[4][3][6];
    for (int i = 0; i < m; i++)
        for (int r = 0; r < 3; r++)
            for (int p = 0; p < al; p++)
                wt[i][r][p] = weight(mx, i, r, p);
    memset(e, 0, conv_w_count(cs) * sizeof *e);
    for (int n = 0; n < cs->n; n++)
        for (int ty = 0; ty < P; ty += m)
            for (int tx = 0; tx < Q; tx += m)
                for (int k = 0; k < cs->k; k++)
                    for (int c = 0; c < cs->c; c++) {
                        const float *dyp = dy + (size_t)(n * cs->k + k) * P * Q;
                        const float *xp = x + (size_t)(n * cs->c + c) * cs->h * cs->w;
                        double ab[4][4][6][6]; /* |dy_ij|·|d_pq| */
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < m; j++)
                                for (int p = 0; p < al; p++)
                                    for (int q = 0; q < al; q++)
                                        ab[i][j][p][q] = fabs(plane_at(dyp, P, Q, ty + i, tx + j)) *
                                                         fabs(plane_at(xp, cs->h, cs->w, ty - cs->pad + p,
                                                                       tx - cs->pad + q));
                        for (int r = 0; r < 3; r++)
                            for (int t = 0; t < 3; t++) {
                                double sum = 0;
                                for (int i = 0; i < m; i++)
                                    for (int j = 0; j < m; j++)
                                        for (int p = 0; p < al; p++)
                                            for (int q = 0; q < al; q++)
                                                sum += ab[i][j][p][q] * wt[i][r][p] * wt[j][t][q];
                                e[(k * cs->c + c) * 9 + r * 3 + t] += sum;
                            }
                    }
}

/* |error| ≤ γ_L·E weight by weight, L = term rounds + tiles + 2: the kernel's chain is
   BT + ⌈chunks/runs⌉ + 1 ≤ tiles + 2 long (kernels/winograd_bw.c), so this bounds it
   whatever the plan. */
static void check_bw_error_model(const conv_kernel *kernel, const wino_matrices *mx, const conv_shape *cs,
                                 uint64_t seed)
{
    char name[96];
    conv_shape_str(cs, name, sizeof name);
    assert_ptr_equal(conv_resolve(kernel, cs, CONV_BACKWARD_WEIGHTS), kernel);
    const size_t xc = conv_x_count(cs), yc = conv_y_count(cs), wc = conv_w_count(cs);
    float *x = test_alloc(xc * sizeof *x), *dy = test_alloc(yc * sizeof *dy), *dw = test_alloc(wc * sizeof *dw);
    double *ref = test_alloc(wc * sizeof *ref), *mag = test_alloc(wc * sizeof *mag), *e = test_alloc(wc * sizeof *e);
    void *ws = test_alloc(conv_workspace_bytes(kernel, cs));
    test_fill_uniform(x, xc, seed);
    test_fill_uniform(dy, yc, seed + 1);
    conv_reference(cs, CONV_BACKWARD_WEIGHTS, x, dy, ref, mag);
    test_poison_nan(dw, wc);
    memset(ws, 0xA5, conv_workspace_bytes(kernel, cs));
    conv_run(kernel, cs, CONV_BACKWARD_WEIGHTS, x, dy, dw, ws);
    bw_error_scale(mx, cs, x, dy, e);
    const int tiles = cs->n * ((conv_out_h(cs) + mx->m - 1) / mx->m) * ((conv_out_w(cs) + mx->m - 1) / mx->m);
    const int rounds = bw_term_rounds(mx) + tiles + 2;
    for (size_t i = 0; i < wc; i++)
        if (!(fabs(dw[i] - ref[i]) <= gamma_n(rounds) * e[i]))
            fail_msg("%s backward_weights %s seed %llu weight %zu: error %.3g > γ_%d·E = %.3g (got %.9g, want %.17g)",
                     kernel->name, name, (unsigned long long)seed, i, fabs(dw[i] - ref[i]), rounds,
                     gamma_n(rounds) * e[i], (double)dw[i], ref[i]);
    free(x);
    free(dy);
    free(dw);
    free(ref);
    free(mag);
    free(e);
    free(ws);
}

static void test_bw_error_model_holds(void **state)
{
    static const conv_shape shapes[] = {
        {2, 5, 11, 9, 3, 3, 3, 1, 1},  /* ragged tiles both ways, lanes past C and K */
        {3, 7, 6, 13, 4, 3, 3, 1, 0},
        {2, 3, 9, 10, 5, 3, 3, 1, 2},  /* padding 2 */
        {1, 33, 8, 8, 17, 3, 3, 1, 1}, /* three groups of 16 input channels, two of output */
        {5, 2, 3, 2, 2, 3, 3, 1, 1},   /* tiny images: one ragged tile each */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        check_bw_error_model(&conv_winograd_f2, &f2, &shapes[s], 60 + s);
        check_bw_error_model(&conv_winograd, &f4, &shapes[s], 60 + s);
    }
}

/* The weight gradient in double, tile by tile, with the given matrices:
   dw[k][c] = Σ_n Σ_tiles Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G. */
static void explicit_winograd_bw(const wino_matrices *mx, const conv_shape *cs, const float *x, const float *dy,
                                 double *dw)
{
    const int m = mx->m, al = mx->alpha, P = conv_out_h(cs), Q = conv_out_w(cs);
    double at_t[6][6] = {{0}}; /* A as an alpha×alpha "L" for sandwich: rows a, columns i < m */
    for (int a = 0; a < al; a++)
        for (int i = 0; i < m; i++)
            at_t[a][i] = mx->at[i][a];
    memset(dw, 0, conv_w_count(cs) * sizeof *dw);
    for (int n = 0; n < cs->n; n++)
        for (int ty = 0; ty < P; ty += m)
            for (int tx = 0; tx < Q; tx += m)
                for (int k = 0; k < cs->k; k++) {
                    double yt[36] = {0}, gy[36];
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < m; j++)
                            yt[i * al + j] = plane_at(dy + (size_t)(n * cs->k + k) * P * Q, P, Q, ty + i, tx + j);
                    sandwich(al, al, &at_t[0][0], 6, yt, gy, NULL); /* A dy Aᵀ (dy zero-padded to alpha) */
                    for (int c = 0; c < cs->c; c++) {
                        double d[36], v[36];
                        for (int p = 0; p < al; p++)
                            for (int q = 0; q < al; q++)
                                d[p * al + q] = plane_at(x + (size_t)(n * cs->c + c) * cs->h * cs->w, cs->h, cs->w,
                                                         ty - cs->pad + p, tx - cs->pad + q);
                        sandwich(al, al, &mx->bt[0][0], 6, d, v, NULL); /* Bᵀ d B */
                        for (int r = 0; r < 3; r++)
                            for (int t = 0; t < 3; t++) {
                                double sum = 0;
                                for (int a = 0; a < al; a++)
                                    for (int b = 0; b < al; b++)
                                        sum += mx->g[a][r] * gy[a * al + b] * v[a * al + b] * mx->g[b][t];
                                dw[(k * cs->c + c) * 9 + r * 3 + t] += sum;
                            }
                    }
                }
}

static double explicit_bw_error(const wino_matrices *mx, const conv_shape *cs, const float *x, const float *dy,
                                const double *ref, const double *mag, double *dw)
{
    explicit_winograd_bw(mx, cs, x, dy, dw);
    double worst = 0;
    for (size_t i = 0; i < conv_w_count(cs); i++)
        worst = fmax(worst, fabs(dw[i] - ref[i]) / fmax(mag[i], 1e-300));
    return worst;
}

/* One coefficient of Bᵀ, G or Aᵀ off by 1 % gives a weight gradient outside the
   kernels' backward_weights tolerance. */
static void test_bw_tolerance_catches_wrong_coefficient(void **state)
{
    static const conv_shape shapes[] = {{2, 8, 12, 12, 4, 3, 3, 1, 1}, {3, 16, 9, 9, 5, 3, 3, 1, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const conv_shape *cs = &shapes[s];
        const size_t xc = conv_x_count(cs), yc = conv_y_count(cs), wc = conv_w_count(cs);
        float *x = test_alloc(xc * sizeof *x), *dy = test_alloc(yc * sizeof *dy);
        double *ref = test_alloc(wc * sizeof *ref), *mag = test_alloc(wc * sizeof *mag), *dw = test_alloc(wc * sizeof *dw);
        test_fill_uniform(x, xc, 80 + s);
        test_fill_uniform(dy, yc, 81 + s);
        conv_reference(cs, CONV_BACKWARD_WEIGHTS, x, dy, ref, mag);
        for (int which = 0; which < 2; which++) {
            const wino_matrices *good = which ? &f4 : &f2;
            const conv_kernel *k = which ? &conv_winograd : &conv_winograd_f2;
            const double tol = k->tolerance(cs, CONV_BACKWARD_WEIGHTS);
            const double exact = explicit_bw_error(good, cs, x, dy, ref, mag, dw);
            if (exact > 1e-12)
                fail_msg("explicit F(%d) Winograd weight gradient in double is off by %.3g", good->m, exact);
            for (int mat = 0; mat < 3; mat++) {
                wino_matrices bad = *good;
                double *coef = mat == 0 ? &bad.bt[1][2] : mat == 1 ? &bad.g[1][1] : &bad.at[1][2];
                *coef *= 1.01;
                const double err = explicit_bw_error(&bad, cs, x, dy, ref, mag, dw);
                if (!(err > tol))
                    fail_msg("F(%d) backward_weights with %s coefficient off by 1%%: error %.3g within tolerance "
                             "%.3g — too loose",
                             good->m,
                             mat == 0   ? "a Bᵀ"
                             : mat == 1 ? "a G"
                                        : "an Aᵀ",
                             err, tol);
                print_message("F(%d) backward_weights, shape %zu, matrix %d off by 1%%: error/tolerance %.1f\n",
                              good->m, s, mat, err / tol);
            }
        }
        free(x);
        free(dy);
        free(ref);
        free(mag);
        free(dw);
    }
}

/* ---- supports(), workspace ----------------------------------------------------------- */

static void test_supports(void **state)
{
    const conv_kernel *ks[] = {&conv_winograd_f2, &conv_winograd};
    for (int i = 0; i < 2; i++) {
        const conv_kernel *k = ks[i];
        for (int pad = 0; pad <= 2; pad++) {
            const conv_shape ok = {2, 4, 9, 7, 5, 3, 3, 1, pad};
            assert_true(k->supports(&ok, CONV_FORWARD));
            assert_true(k->supports(&ok, CONV_BACKWARD_DATA));
            assert_true(k->supports(&ok, CONV_BACKWARD_WEIGHTS));
            assert_ptr_equal(conv_resolve(k, &ok, CONV_BACKWARD_WEIGHTS), k);
        }
        const conv_shape pad3 = {1, 4, 9, 9, 4, 3, 3, 1, 3}, stride2 = {1, 4, 9, 9, 4, 3, 3, 2, 1};
        const conv_shape one = {1, 4, 9, 9, 4, 1, 1, 1, 0}, five = {1, 4, 9, 9, 4, 5, 5, 1, 2};
        const conv_shape rect = {1, 4, 9, 9, 4, 3, 1, 1, 1};
        assert_false(k->supports(&pad3, CONV_FORWARD));
        assert_false(k->supports(&stride2, CONV_FORWARD));
        assert_false(k->supports(&one, CONV_FORWARD));
        assert_false(k->supports(&five, CONV_FORWARD));
        assert_false(k->supports(&rect, CONV_FORWARD));
        for (int p = 0; p < CONV_NUM_PASSES; p++) {
            assert_false(k->supports(&pad3, (conv_pass)p));
            assert_false(k->supports(&stride2, (conv_pass)p));
            assert_false(k->supports(&one, (conv_pass)p));
        }
        /* backward_weights: one input channel would fill 1 of 16 lanes (the direct kernel runs it);
           a weight needs ≥ 3 products (1-row images with padding 1 give taps none) */
        const conv_shape bw_c1 = {8, 1, 28, 28, 32, 3, 3, 1, 1}, bw_c2 = {1, 2, 9, 9, 3, 3, 3, 1, 1};
        const conv_shape bw_row = {4, 8, 1, 9, 8, 3, 3, 1, 1}, bw_two = {1, 8, 2, 2, 8, 3, 3, 1, 1};
        const conv_shape bw_two3 = {3, 8, 2, 2, 8, 3, 3, 1, 1};
        assert_false(k->supports(&bw_c1, CONV_BACKWARD_WEIGHTS));
        assert_ptr_equal(conv_resolve(k, &bw_c1, CONV_BACKWARD_WEIGHTS), &conv_direct);
        assert_true(k->supports(&bw_c2, CONV_BACKWARD_WEIGHTS));
        assert_false(k->supports(&bw_row, CONV_BACKWARD_WEIGHTS));
        assert_false(k->supports(&bw_two, CONV_BACKWARD_WEIGHTS)); /* 1 product per weight at the corners */
        assert_true(k->supports(&bw_two3, CONV_BACKWARD_WEIGHTS));
        /* fewer than 3 products in some output: no meaningful relative error bound */
        const conv_shape c1p2 = {1, 1, 9, 9, 4, 3, 3, 1, 2}, c2p2 = {1, 2, 9, 9, 4, 3, 3, 1, 2};
        const conv_shape c3p2 = {1, 3, 9, 9, 4, 3, 3, 1, 2}, c1p1 = {1, 1, 28, 28, 16, 3, 3, 1, 1};
        const conv_shape dot = {1, 1, 1, 1, 1, 3, 3, 1, 1}, dot3 = {1, 3, 1, 1, 3, 3, 3, 1, 1};
        const conv_shape k1p0 = {1, 8, 9, 9, 1, 3, 3, 1, 0};
        assert_false(k->supports(&c1p2, CONV_FORWARD));
        assert_false(k->supports(&c2p2, CONV_FORWARD));
        assert_true(k->supports(&c3p2, CONV_FORWARD));
        /* the stem: one input channel goes to the direct kernel forward; backward_data
           (16 channels in, 4 products at the corners) stays */
        assert_false(k->supports(&c1p1, CONV_FORWARD));
        assert_true(conv_winograd_bounded(&c1p1, CONV_FORWARD)); /* left to the fallback for speed only */
        assert_false(conv_winograd_bounded(&c1p2, CONV_FORWARD));
        assert_false(conv_winograd_bounded(&stride2, CONV_FORWARD));
        assert_ptr_equal(conv_resolve(k, &c1p1, CONV_FORWARD), &conv_direct);
        assert_true(k->supports(&c1p1, CONV_BACKWARD_DATA));
        assert_false(k->supports(&dot, CONV_FORWARD));
        assert_true(k->supports(&dot3, CONV_FORWARD));
        assert_true(k->supports(&k1p0, CONV_FORWARD));
        assert_false(k->supports(&k1p0, CONV_BACKWARD_DATA)); /* dy padded by 2, K = 1 */
        assert_ptr_equal(k->fallback, &conv_direct);
        assert_ptr_equal(conv_resolve(k, &stride2, CONV_FORWARD), &conv_direct);
        assert_ptr_equal(conv_resolve(k, &one, CONV_FORWARD), &conv_im2col);
        assert_ptr_equal(conv_resolve(k, &stride2, CONV_BACKWARD_DATA), &conv_im2col);
        assert_ptr_equal(conv_resolve(k, &stride2, CONV_BACKWARD_WEIGHTS), &conv_im2col);
        assert_ptr_equal(conv_resolve(k, &one, CONV_BACKWARD_WEIGHTS), &conv_im2col);
    }
}

static void test_workspace_independent_of_threads(void **state)
{
    const conv_shape cs = {128, 32, 28, 28, 32, 3, 3, 1, 1};
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    const size_t one = conv_workspace_bytes(&conv_winograd, &cs),
                 one2 = conv_workspace_bytes(&conv_winograd_f2, &cs);
    omp_set_num_threads(2);
    assert_int_equal(conv_workspace_bytes(&conv_winograd, &cs), one);
    assert_int_equal(conv_workspace_bytes(&conv_winograd_f2, &cs), one2);
    omp_set_num_threads(saved);
}

/* ---- random shapes --------------------------------------------------------------------- */

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Inputs of `pass` for conv_run: a = x (dy for backward_data), b = w (dy for backward_weights). */
static size_t input_a_count(const conv_shape *cs, conv_pass pass)
{
    return pass == CONV_BACKWARD_DATA ? conv_y_count(cs) : conv_x_count(cs);
}
static size_t input_b_count(const conv_shape *cs, conv_pass pass)
{
    return pass == CONV_BACKWARD_WEIGHTS ? conv_y_count(cs) : conv_w_count(cs);
}

/* Against the reference within the tolerance of the kernel that ran, and bitwise the
   same with 1, 2 and 3 threads. */
static void check_case(const conv_kernel *k, const conv_shape *cs, conv_pass pass, uint64_t seed)
{
    char name[96];
    conv_shape_str(cs, name, sizeof name);
    const conv_kernel *ran = conv_resolve(k, cs, pass);
    const size_t a_count = input_a_count(cs, pass), b_count = input_b_count(cs, pass);
    const size_t out_count = conv_pass_out_count(cs, pass), ws_bytes = conv_workspace_bytes(k, cs);
    float *a = test_alloc(a_count * sizeof *a), *b = test_alloc(b_count * sizeof *b);
    float *o1 = test_alloc(out_count * sizeof *o1), *o2 = test_alloc(out_count * sizeof *o2);
    double *ref = test_alloc(out_count * sizeof *ref), *mag = test_alloc(out_count * sizeof *mag);
    void *ws = test_alloc(ws_bytes);
    test_fill_uniform(a, a_count, seed);
    test_fill_uniform(b, b_count, seed + 1);
    conv_reference(cs, pass, a, b, ref, mag);
    const int saved = omp_get_max_threads();
    for (int t = 1; t <= 3; t++) {
        float *o = t == 1 ? o1 : o2;
        test_poison_nan(o, out_count);
        memset(ws, 0xA5, ws_bytes);
        omp_set_num_threads(t);
        conv_run(k, cs, pass, a, b, o, ws);
        if (t > 1 && memcmp(o1, o2, out_count * sizeof *o1) != 0)
            fail_msg("%s %s %s seed %llu: 1 and %d threads differ", k->name, conv_pass_name(pass), name,
                     (unsigned long long)seed, t);
    }
    omp_set_num_threads(saved);
    const conv_error e = conv_compare(out_count, o1, ref, mag);
    const double tol = conv_tolerance(ran, cs, pass);
    if (e.nonfinite || e.max_rel > tol)
        fail_msg("%s %s (ran %s) %s seed %llu: error %.3g > tolerance %.3g at %zu; %zu non-finite", k->name,
                 conv_pass_name(pass), ran->name, name, (unsigned long long)seed, e.max_rel, tol, e.worst,
                 e.nonfinite);
    free(a);
    free(b);
    free(o1);
    free(o2);
    free(ref);
    free(mag);
    free(ws);
}

static void test_random_shapes(void **state)
{
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 60; i++) {
        conv_shape cs = {1 + (int)(next_random(&s) % 4),
                         1 + (int)(next_random(&s) % 24),
                         1 + (int)(next_random(&s) % 20),
                         1 + (int)(next_random(&s) % 20),
                         1 + (int)(next_random(&s) % 20),
                         3,
                         3,
                         1,
                         (int)(next_random(&s) % 3)};
        if (!conv_shape_valid(&cs))
            continue;
        for (int p = 0; p < CONV_NUM_PASSES; p++) {
            check_case(&conv_winograd_f2, &cs, (conv_pass)p, 3000 + i);
            check_case(&conv_winograd, &cs, (conv_pass)p, 3000 + i);
        }
    }
}

/* Enough tiles for several blocks per thread: block boundaries inside images; for
   backward_weights, several chunks per run and several runs (the last shape: 64
   channels, chunks of 10 7x7 images, 4 runs). */
static void test_many_blocks(void **state)
{
    static const conv_shape shapes[] = {
        {9, 40, 17, 19, 11, 3, 3, 1, 1}, {20, 24, 7, 7, 17, 3, 3, 1, 1}, {41, 64, 7, 7, 60, 3, 3, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int p = 0; p < CONV_NUM_PASSES; p++) {
            check_case(&conv_winograd_f2, &shapes[i], (conv_pass)p, 4000 + i);
            check_case(&conv_winograd, &shapes[i], (conv_pass)p, 4000 + i);
        }
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrices_compute_correlation),
        cmocka_unit_test(test_input_transforms),
        cmocka_unit_test(test_filter_transforms),
        cmocka_unit_test(test_output_transforms),
        cmocka_unit_test(test_kernel_transforms_compute_correlation),
        cmocka_unit_test(test_error_model_holds),
        cmocka_unit_test(test_tolerance_catches_wrong_coefficient),
        cmocka_unit_test(test_grad_transforms),
        cmocka_unit_test(test_bw_error_model_holds),
        cmocka_unit_test(test_bw_tolerance_catches_wrong_coefficient),
        cmocka_unit_test(test_supports),
        cmocka_unit_test(test_workspace_independent_of_threads),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_many_blocks),
    };
    return cmocka_run_group_tests_name("winograd", tests, NULL, NULL) ? 1 : 0;
}
