/* kernels/conv.h — the convolution kernel interface.
 *
 * Dimension letters, used everywhere in probador:
 *   N batch · C input channels · H,W input height,width
 *   K output channels · R,S filter height,width · P,Q output height,width
 * Layouts: input x[N][C][H][W] · weights w[K][C][R][S] · output y[N][K][P][Q]
 * (NCHW and KCRS, row-major, densely packed).
 *
 *   P = (H + 2·pad − R) / stride + 1,   Q = (W + 2·pad − S) / stride + 1
 *   y[n][k][p][q] = Σ_{c,r,s} x[n][c][p·stride − pad + r][q·stride − pad + s] · w[k][c][r][s]
 * (out-of-range input positions read as zero).
 *
 * Contract of every kernel:
 *   - forward, backward_data and backward_weights OVERWRITE their output
 *     (y, dx, dw); they never accumulate into it and never read it first.
 *   - kernels never allocate: the caller passes a workspace of at least
 *     workspace_bytes(cs) bytes, 64-byte aligned, whose contents are garbage.
 *   - results are bit-identical for any OpenMP thread count: every reduction
 *     runs in an order fixed by the shape alone.
 *   - supports(cs, pass) is true when the kernel's own algorithm serves that
 *     pass for that shape.  When it is false the caller runs `fallback` instead
 *     (resolve it with conv_resolve) and records the name of what ran.  A
 *     kernel's functions may assume supports() held.
 *   - tolerance(cs, pass) bounds the error of the kernel's own algorithm
 *     against the float64 reference (kernels/conv_reference.h); tests/test_conv.c
 *     checks every registered kernel against it on an awkward shape table.
 *   - no member is NULL.
 *
 * Adding a kernel takes two files: kernels/conv_NEW.c, which defines
 *   const conv_kernel conv_NEW = { .name = "NEW", ... };
 * with every member set, and one line in the registry in
 * kernels/conv_registry.c (its extern declaration beside it).  The registry's
 * order is the order every list of kernels is printed in (--help, --list,
 * error messages); the benchmark and the tests take their kernels from it, so
 * tests/test_conv.c checks a new kernel like the others with no change.
 * Tests may add a kernel at run time with conv_kernel_register().
 */
#ifndef PROBADOR_KERNELS_CONV_H
#define PROBADOR_KERNELS_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct conv_shape {
    int n, c, h, w;     /* input  N,C,H,W */
    int k, r, s;        /* filter K,(C),R,S */
    int stride, pad;    /* same in both spatial dimensions */
} conv_shape;

typedef enum conv_pass {
    CONV_FORWARD = 0,
    CONV_BACKWARD_DATA,
    CONV_BACKWARD_WEIGHTS,
    CONV_NUM_PASSES
} conv_pass;

typedef struct conv_kernel conv_kernel;
struct conv_kernel {
    const char *name;         /* "naive", "im2col", "winograd", ... */
    const char *description;  /* one line for --help and reports */
    bool   (*supports)(const conv_shape *cs, conv_pass pass);
    const conv_kernel *fallback; /* runs what supports() refuses; never NULL
                                    (a kernel that serves everything names itself) */
    size_t (*workspace_bytes)(const conv_shape *cs);
    /* x[N][C][H][W], w[K][C][R][S] -> y[N][K][P][Q] */
    void (*forward)(const conv_shape *cs, const float *x, const float *w, float *y, void *ws);
    /* dy[N][K][P][Q], w[K][C][R][S] -> dx[N][C][H][W] */
    void (*backward_data)(const conv_shape *cs, const float *dy, const float *w, float *dx, void *ws);
    /* x[N][C][H][W], dy[N][K][P][Q] -> dw[K][C][R][S] */
    void (*backward_weights)(const conv_shape *cs, const float *x, const float *dy, float *dw, void *ws);
    /* The largest error, relative to Σ|terms| (see kernels/conv_reference.h),
       accepted from this kernel's own algorithm on cs for pass: the tests fail
       above it and the benchmark marks the row unverified.  Only asked of the
       kernel that ran, so it may assume supports(cs, pass) held. */
    double (*tolerance)(const conv_shape *cs, conv_pass pass);
};

/* ---- shape arithmetic ---------------------------------------------------- */
static inline int conv_out_h(const conv_shape *cs) { return (cs->h + 2 * cs->pad - cs->r) / cs->stride + 1; }
static inline int conv_out_w(const conv_shape *cs) { return (cs->w + 2 * cs->pad - cs->s) / cs->stride + 1; }
static inline size_t conv_x_count(const conv_shape *cs) { return (size_t)cs->n * cs->c * cs->h * cs->w; }
static inline size_t conv_w_count(const conv_shape *cs) { return (size_t)cs->k * cs->c * cs->r * cs->s; }
static inline size_t conv_y_count(const conv_shape *cs)
{
    return (size_t)cs->n * cs->k * conv_out_h(cs) * conv_out_w(cs);
}
/* Multiply-adds of the direct convolution, times two: 2·N·K·C·R·S·P·Q.
   The same count for every pass and every kernel (Winograd's is "effective"). */
static inline double conv_flops(const conv_shape *cs)
{
    return 2.0 * cs->n * cs->k * cs->c * cs->r * cs->s * conv_out_h(cs) * conv_out_w(cs);
}
/* A shape is valid when every size is positive and the output is not empty. */
bool conv_shape_valid(const conv_shape *cs);
/* "n3 c32 28x28 k64 3x3 s1 p1" into buf; returns buf. */
const char *conv_shape_str(const conv_shape *cs, char *buf, size_t len);
const char *conv_pass_name(conv_pass pass);   /* "forward", "backward_data", "backward_weights" */
bool conv_pass_parse(const char *name, conv_pass *out);

/* ---- kernels ------------------------------------------------------------- */
/* The built-in kernels the models and tests name directly.  A kernel added
   later needs no declaration here (see "Adding a kernel" above). */
extern const conv_kernel conv_naive;
extern const conv_kernel conv_im2col;
extern const conv_kernel conv_winograd;     /* F(4x4,3x3) */
extern const conv_kernel conv_winograd_f2;  /* F(2x2,3x3) */
/* Whether the Winograd kernels' error model covers this forward or backward_data
   shape, so that their tolerance() applies, even where they leave it to their
   fallback for speed (a single input channel); the benchmark checks oneDNN's
   Winograd against it. */
bool conv_winograd_bounded(const conv_shape *cs, conv_pass pass);
/* Not in the registry: the Winograd kernels' fallback for the forward pass of the
   layers they do not serve (stride 2, one input channel) and the backward_weights
   of one input channel, itself falling back to im2col (kernels/conv_direct.c). */
extern const conv_kernel conv_direct;

/* ---- the registry ---------------------------------------------------------- */
/* Every kernel, built-in ones first (naive, im2col, winograd, winograd_f2),
   then those added by conv_kernel_register(), in the order added.  Iterate
   with `for (int i = 0; i < conv_kernel_count(); i++) conv_kernel_at(i)`. */
enum { CONV_KERNEL_CAPACITY = 16 };   /* kernels the registry holds at most */

int conv_kernel_count(void);
/* The i-th kernel; NULL when i is outside 0..conv_kernel_count()-1. */
const conv_kernel *conv_kernel_at(int i);
/* The kernel called `name`; NULL if there is none, with a message in err
   naming the valid ones ("unknown convolution kernel 'x'; expected one of
   naive, im2col, winograd, winograd_f2"). */
const conv_kernel *conv_kernel_find(const char *name, char *err, size_t errlen);
/* Appends k (which must outlive its use) to the registry.  Returns 0, or -1
   with a message in err when k or one of its members is NULL, its name is
   empty or already taken, its fallback is neither k itself nor registered,
   or the registry already holds CONV_KERNEL_CAPACITY kernels.  Not
   thread-safe: register before any thread looks kernels up. */
int conv_kernel_register(const conv_kernel *k, char *err, size_t errlen);

/* The kernel that actually runs `pass` on `cs` when `k` is asked for:
   k itself if it supports the shape, else its fallback chain. */
const conv_kernel *conv_resolve(const conv_kernel *k, const conv_shape *cs, conv_pass pass);
/* Run one pass through the resolved kernel (x/dy and w/dy as the pass needs). */
void conv_run(const conv_kernel *k, const conv_shape *cs, conv_pass pass,
              const float *a, const float *b, float *out, void *ws);
/* Workspace for every pass of k on cs, fallbacks included. */
size_t conv_workspace_bytes(const conv_kernel *k, const conv_shape *cs);

/* ---- threads ------------------------------------------------------------ */
/* Kernels that keep per-thread scratch in the workspace size it for
   conv_thread_slots() threads, and never run more threads than that
   (omp_get_num_procs(), clamped to 1..64; fixed for the process).  The
   workspace size therefore never depends on the thread count in force. */
int conv_thread_slots(void);

/* ---- BLIS set-up --------------------------------------------------------- */
/* Call once before any BLIS use.  Unless the user set BLIS_ARCH_TYPE, the
   configuration follows the build target, not the host (its kernels decide
   bits): `skx` in an AVX-512 build (ARCH=x86-64-v4), `haswell` in an AVX2 one.
   Returns the name of the configuration in use. */
const char *conv_blis_init(void);
/* 0 if this CPU runs the instruction set the program was built for; else -1
   with a message in err saying how to rebuild. */
int conv_cpu_check(char *err, size_t errlen);
/* BLIS version and the configuration it picked, for environment sidecars. */
const char *conv_blis_version(void);
const char *conv_blis_arch(void);

#endif
