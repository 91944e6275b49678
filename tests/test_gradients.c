/* tests/test_gradients.c — every layer's backward against central finite
 * differences of its forward, on tiny networks built from tables and on the
 * two real architectures; plus batch-norm's running statistics in evaluation
 * mode and dropout's mask.
 *
 * Loss: L = Σ_i out_i · R_i over the last layer's output, R a fixed random
 * tensor, so dL/dout = R (passed to model_backward as "dlogits"); L is summed
 * in double from the float outputs.  Every tiny network starts with a
 * convolution reading the images (whose data gradient nobody computes) and
 * puts the layer under test after it: that convolution's weight gradient is
 * computed through the tested layer's input gradient, so checking ∂L/∂θ of
 * every parameter tensor checks every layer's data gradient too.  The
 * "fan-out" networks read one tensor twice (X(A), X(A), add), so every
 * layer's accumulate-into-the-input-gradient branch runs as well.
 *
 * Before the analytic pass the activations (beyond the input batch), their
 * gradients and the parameter gradients are poisoned with NaN, and the model
 * is built for one sample more than it runs: a backward that leaves a
 * gradient unwritten, or a layer that reads past the batch, shows as NaN.
 * BN's gamma and beta are drawn at random (not 1 and 0), so a backward that
 * forgets gamma, or mixes gamma and beta, fails.
 *
 * Method, per parameter tensor (conv W; BN gamma, beta; dense W, b), on at
 * most max_coords coordinates drawn without replacement (fixed seed):
 *   step    h = H_REL · max(RMS(θ of the tensor), 0.1).
 *   kinks   ReLU and max-pool make L piecewise smooth.  Every probe records
 *           the forward's discrete state (the sign of each ReLU input, the
 *           argmax of each max-pool window under pool_bwd's tie rule), so a
 *           perturbation that crossed a kink is seen exactly, not guessed.
 *           On each side of θ_j the step is halved (up to 10 times) until two
 *           consecutive probes s, s/2 ran in θ_j's own state.
 *   central when both sides are clean at (nearly) the same scale:
 *           fd(s) = (L(θ+s) − L(θ−s)) / (float step actually taken); fd(s)
 *           must agree with fd(s/2) to tol/2 + their rounding noise, else the
 *           coordinate is skipped (non-smoothness the state did not show).
 *   one-sided when a kink sits close to θ_j on one side only: Richardson
 *           2·f(s/2) − f(s) of the one-sided slopes on the clean side, which
 *           lies in θ_j's own piece, the one the analytic gradient describes.
 *   skipped when neither works; a test fails if more than 5% of its
 *           coordinates are skipped.  A skip never looks at the analytic
 *           value, so it cannot hide a wrong backward.
 *   pass    |fd − analytic| ≤ RTOL·|analytic| + ATOL_REL·RMS(analytic gradient
 *           of the tensor) + noise, noise = 6 σ of the estimate's rounding
 *           noise: σ_L (the loss's own rounding noise as θ_j moves, measured
 *           per tensor as the scatter of L about a line over 9 tiny steps, the
 *           largest over 3 coordinates) times sqrt(1/2)/s for a central
 *           difference, sqrt(26)/s for the one-sided one.
 *
 * Why these numbers (float32 forward, double loss):
 *   - the step follows the tensor's own scale (He-normal convolution weights
 *     ~0.3, dense weights ~0.05-0.3, BN gamma ~1), floored at 0.1 for tensors
 *     that may sit at zero (BN beta, whose natural scale is the unit variance
 *     of the normalised values).  H_REL = 1e-2: truncation, O(h²) relative, is
 *     ~1e-4; rounding, ~σ_L/h with σ_L = 1e-8..6e-7 measured here, stays below
 *     1e-3 of the RMS gradient on the tiny networks.  Kinks do not limit the
 *     step, since they are detected exactly and stepped around.
 *   - RTOL = 1e-2, ATOL_REL = 1e-3: on the tiny networks the worst error is
 *     ~0.13 of this tolerance (each test prints its worst ratio), while a
 *     wrong term of a backward — a missing x̂ term, a forgotten gamma or mask,
 *     a gradient not accumulated — is an O(1) error and fails (each was
 *     tried).  ATOL follows the tensor's RMS gradient, so coordinates whose
 *     gradient is a sum of cancelling terms are judged against the size of
 *     that layer's gradients, not against themselves.
 *   - the noise term matters only for the whole models: there a perturbation
 *     of an early weight moves tens of thousands of BN-normalised ReLU inputs,
 *     so kinks lie every ~1e-5..1e-4 along it, the clean steps get small and
 *     rounding dominates.  6 σ (σ_L is estimated from few points) keeps false
 *     failures out; each test prints how many coordinates were still resolved
 *     to 10% of their gradient's scale (|an| + RMS) and fails if fewer than
 *     half were, so the check cannot go vacuous.  The resnet resolves all; the
 *     cnn at batch 2 cannot resolve conv1/bn1 (noise allowance ~50-150% of
 *     their gradients) but resolves the layers after them.
 * A failure prints the test, layer, tensor, index, analytic value, the finite
 * difference and its two ingredients, the step, the tolerance and the seed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/rng.h"
#include "kernels/isa.h"
#include "models/layers.h"
#include "models/model.h"
#include "tests/testing.h"

/* Step, tolerances and limits (see the header for the why). */
static const double H_REL = 1e-2, H_FLOOR = 0.1, RTOL = 1e-2, ATOL_REL = 1e-3, NOISE_SIGMAS = 6;
static const double MAX_SKIPPED = 0.05, RESOLVED = 0.1, MIN_RESOLVED = 0.5;
enum { MAX_PRINTED_FAILURES = 10, MAX_HALVINGS = 10, NOISE_PROBES = 3 };

#define ROW(...) ((layer_spec){ __VA_ARGS__ })

/* One gradient test: an explicit table (rows) or a named architecture. */
typedef struct grad_case {
    const char *name;
    const layer_spec *rows;     /* NULL: model_build(desc.name) */
    int num_rows;
    const char *arch;           /* "resnet", "cnn" when rows is NULL */
    tshape input;
    int batch;
    const conv_kernel *kernel;
    uint64_t seed;
    int max_coords;             /* per parameter tensor */
} grad_case;

/* A parameter tensor inside a layer's block. */
typedef struct param_tensor {
    const char *name;
    size_t off, count;          /* into the layer's parameters */
} param_tensor;

static int layer_tensors(const layer *l, param_tensor t[2])
{
    switch (l->spec.op) {
    case OP_CONV:
        t[0] = (param_tensor){ "W", 0, l->param_count };
        return 1;
    case OP_BN:
        t[0] = (param_tensor){ "gamma", 0, (size_t)l->in.c };
        t[1] = (param_tensor){ "beta", (size_t)l->in.c, (size_t)l->in.c };
        return 2;
    case OP_DENSE:
        t[0] = (param_tensor){ "W", 0, l->param_count - (size_t)l->spec.out };
        t[1] = (param_tensor){ "b", l->param_count - (size_t)l->spec.out, (size_t)l->spec.out };
        return 2;
    default:
        assert_int_equal(l->param_count, 0);
        return 0;
    }
}

static void build_case(model *m, const grad_case *c)
{
    char err[256] = "";
    model_desc d = { "test", 1, 4, 0.5f, 10, c->input };
    int rc;
    if (c->rows)
        rc = model_build_table(m, &d, c->rows, c->num_rows, c->kernel, c->batch + 1, err, sizeof err);
    else {
        snprintf(d.name, sizeof d.name, "%s", c->arch);
        rc = model_build(m, &d, c->kernel, c->batch + 1, err, sizeof err);
    }
    if (rc != 0)
        fail_msg("%s: building the network failed: %s", c->name, err);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return rng_mix64(h);
}

/* The discrete state of the last forward: the sign of every ReLU input and
   the argmax of every max-pool window (first maximum in row-major order, the
   rule pool_bwd uses), hashed.  Within one state the loss is a smooth function
   of the parameters; a perturbation that changes it crossed a kink. */
static uint64_t kink_state(const model *m, int batch)
{
    uint64_t h = 1;
    for (int i = 1; i < m->num_layers; i++) {
        const layer *l = &m->layers[i];
        const float *x = layer_in(m, l);
        if (l->spec.op == OP_RELU) {
            const size_t n = (size_t)batch * tshape_count(l->in);
            uint64_t word = 0;
            for (size_t k = 0; k < n; k++) {
                word = word << 1 | (x[k] > 0.0f);
                if (k % 64 == 63 || k == n - 1)
                    h = mix(h, word), word = 0;
            }
        } else if (l->spec.op == OP_MAXPOOL) {
            const int H = l->in.h, W = l->in.w;
            for (int pl = 0; pl < batch * l->in.c; pl++)
                for (int p = 0; p < l->out.h; p++)
                    for (int q = 0; q < l->out.w; q++) {
                        const float *w0 = x + (size_t)pl * H * W + 2 * p * W + 2 * q;
                        const float v[4] = { w0[0], w0[1], w0[W], w0[W + 1] };
                        int arg = 0;
                        for (int k = 1; k < 4; k++)
                            if (v[k] > v[arg])
                                arg = k;
                        h = mix(h, (uint64_t)arg);
                    }
        }
    }
    return h;
}

/* L = Σ out·R in double, and the kink state, after a forward from layer
   `first` on (the layers before it read nothing that changed). */
typedef struct probe {
    double loss;
    uint64_t state;
} probe;

static probe probe_forward(model *m, const model_step *st, const float *r, int first)
{
    for (int i = first; i < m->num_layers; i++)
        op_defs[m->layers[i].spec.op]->forward(m, &m->layers[i], st);
    const layer *last = &m->layers[m->num_layers - 1];
    const float *y = layer_out(m, last);
    const size_t count = (size_t)st->batch * tshape_count(last->out);
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += (double)y[i] * (double)r[i];
    return (probe){ sum, kink_state(m, st->batch) };
}

static double rms_of(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return n ? sqrt(s / (double)n) : 0;
}

/* Up to k distinct indices of [0, n), fixed by the stream (partial Fisher–Yates). */
static size_t pick_coords(size_t n, size_t k, rng_stream *rs, size_t *out)
{
    if (n <= k) {
        for (size_t i = 0; i < n; i++)
            out[i] = i;
        return n;
    }
    size_t *all = test_alloc(n * sizeof *all);
    for (size_t i = 0; i < n; i++)
        all[i] = i;
    for (size_t i = 0; i < k; i++) {
        const size_t j = i + rng_below(rs, (uint32_t)(n - i));
        const size_t tmp = all[i];
        all[i] = all[j], all[j] = tmp;
        out[i] = all[i];
    }
    free(all);
    return k;
}

typedef enum fd_kind { FD_CENTRAL, FD_ONE_SIDED, FD_SKIPPED } fd_kind;

typedef struct fd_estimate {
    fd_kind kind;
    double value, fd1, fd2, step;   /* fd1, fd2: the two differences compared */
    double noise;                   /* NOISE_SIGMAS standard deviations of value's rounding noise */
} fd_estimate;

/* L at θ_j + off, with the state it ran in; θ_j restored. */
static probe probe_at(model *m, const model_step *st, const float *r, int layer_index, size_t j, double off,
                      double *step)
{
    float *p = m->params + j;
    const float theta = *p;
    *p = (float)(theta + off);
    *step = (double)*p - theta;   /* the step actually taken, in float */
    const probe at = probe_forward(m, st, r, layer_index);
    *p = theta;
    return at;
}

/* One side of θ_j: L at θ_j ± h·2^-k, k = 0, 1, ..., until two consecutive
   steps (the pair s = h·2^(1-k), s/2) ran in θ's own kink state. */
typedef struct side_pair {
    bool clean;
    int k;                    /* the pair is at scales k-1, k */
    double step[2], loss[2];  /* [0]: s, [1]: s/2 */
} side_pair;

static side_pair probe_side(model *m, const model_step *st, const float *r, int layer_index, size_t j,
                            probe base, double h)
{
    side_pair sp = { false, 0, { 0, 0 }, { 0, 0 } };
    bool prev_same = false;
    for (int k = 0; k <= MAX_HALVINGS; k++) {
        double step;
        const probe at = probe_at(m, st, r, layer_index, j, ldexp(h, -k), &step);
        const bool same = at.state == base.state;
        if (same && prev_same) {
            sp.clean = true, sp.k = k, sp.step[1] = step, sp.loss[1] = at.loss;
            return sp;
        }
        sp.step[0] = step, sp.loss[0] = at.loss, prev_same = same;
    }
    return sp;
}

/* The finite-difference estimate of ∂L/∂θ_j (rules in the header): central
   at the common scale when the two sides' clean scales are within two
   halvings (its noise, sqrt(1/2)·σ_L/s, beats the one-sided sqrt(26)·σ_L/s'
   unless s < s'/7), else one-sided on the side that allows the larger step. */
static fd_estimate estimate(model *m, const model_step *st, const float *r, int layer_index, size_t j, probe base,
                            double h, double tol, double sigma)
{
    const side_pair plus = probe_side(m, st, r, layer_index, j, base, h);
    const side_pair minus = probe_side(m, st, r, layer_index, j, base, -h);
    if (plus.clean && minus.clean && abs(plus.k - minus.k) <= 2) {
        /* bring the side with the larger steps down to the common scale */
        const int k = plus.k > minus.k ? plus.k : minus.k;
        side_pair pd = plus, md = minus;
        side_pair *down = plus.k < k ? &pd : minus.k < k ? &md : NULL;
        bool clean = true;
        for (int i = 0; down && i < 2; i++) {
            const double off = (down == &pd ? 1 : -1) * ldexp(h, -(k - 1 + i));
            const probe at = probe_at(m, st, r, layer_index, j, off, &down->step[i]);
            down->loss[i] = at.loss;
            clean &= at.state == base.state;
        }
        if (clean) {
            const double s = pd.step[0];
            const double fd1 = (pd.loss[0] - md.loss[0]) / (pd.step[0] - md.step[0]);
            const double fd2 = (pd.loss[1] - md.loss[1]) / (pd.step[1] - md.step[1]);
            /* no kink crossed: the two central differences agree up to rounding
               (σ(fd1 − fd2) = σ_L·sqrt(2.5)/s) */
            if (fabs(fd1 - fd2) > tol / 2 + NOISE_SIGMAS * sqrt(2.5) * sigma / s)
                return (fd_estimate){ FD_SKIPPED, NAN, fd1, fd2, s, 0 };
            return (fd_estimate){ FD_CENTRAL, fd1, fd1, fd2, s, NOISE_SIGMAS * sigma / (sqrt(2.0) * s) };
        }
    }
    /* a kink near θ on one side: Richardson on a side that ran in θ's piece */
    const side_pair *one = plus.clean && (!minus.clean || plus.k <= minus.k) ? &plus : minus.clean ? &minus : NULL;
    if (!one)
        return (fd_estimate){ FD_SKIPPED, NAN, NAN, NAN, h, 0 };
    const double s1 = (one->loss[0] - base.loss) / one->step[0];
    const double s2 = (one->loss[1] - base.loss) / one->step[1];
    /* 2·s2 − s1 = (4·L(s/2) − L(s) − 3·L0)/s: σ = sqrt(26)·σ_L/s */
    return (fd_estimate){ FD_ONE_SIDED, 2 * s2 - s1, s1, s2, one->step[0],
                          NOISE_SIGMAS * sqrt(26.0) * sigma / fabs(one->step[0]) };
}

/* The rounding noise σ_L of the loss as θ_j moves: L at θ_j + k·δ, k = −4..4,
   δ = 1e-3·h (so L hardly moves), minus its least-squares line; the residual
   standard deviation.  A kink inside ±4δ only adds to it (conservative). */
static double loss_noise(model *m, const model_step *st, const float *r, int layer_index, size_t j, double h)
{
    float *p = m->params + j;
    const float theta = *p;
    double x[9], y[9], sx = 0, sy = 0;
    for (int k = 0; k < 9; k++) {
        *p = (float)(theta + (k - 4) * 1e-3 * h);
        x[k] = (double)*p - theta;
        y[k] = probe_forward(m, st, r, layer_index).loss;
        sx += x[k], sy += y[k];
    }
    *p = theta;
    double sxx = 0, sxy = 0, ss = 0;
    for (int k = 0; k < 9; k++)
        sxx += (x[k] - sx / 9) * (x[k] - sx / 9), sxy += (x[k] - sx / 9) * (y[k] - sy / 9);
    const double slope = sxx > 0 ? sxy / sxx : 0;
    for (int k = 0; k < 9; k++) {
        const double res = y[k] - sy / 9 - slope * (x[k] - sx / 9);
        ss += res * res;
    }
    return sqrt(ss / 7);
}

/* One case under test: its model, training step and loss weights R, the
   analytic gradient of every parameter and the unperturbed probe. */
typedef struct grad_run {
    const grad_case *c;
    model m;
    model_step st;
    float *r, *analytic;
    probe base;
} grad_run;

/* What the coordinates of one parameter tensor share: the step, the scale of
   its gradient, the absolute tolerance and the loss's rounding noise. */
typedef struct tensor_scale {
    double h, rms_grad, atol, sigma;
} tensor_scale;

/* The counts and the worst ratio over a case's coordinates. */
typedef struct grad_tally {
    int checked, skipped, one_sided, resolved, failed;
    double worst;
    char worst_at[160];
} grad_tally;

/* BN gamma in [0.5, 1.5), beta in [-0.5, 0.5): not the identity 1, 0 */
static void randomise_bn(model *m, uint64_t seed)
{
    for (int i = 0; i < m->num_layers; i++) {
        const layer *l = &m->layers[i];
        if (l->spec.op != OP_BN)
            continue;
        float *p = layer_params(m, l);
        test_fill_uniform(p, l->param_count, seed * 1000 + (uint64_t)i);
        for (int k = 0; k < l->in.c; k++)
            p[k] = 1.0f + 0.5f * p[k], p[l->in.c + k] *= 0.5f;
    }
}

/* Builds c's model with its parameters, a random input batch and random loss
   weights R; every activation (the extra sample's too) poisoned with NaN. */
static void set_up_case(grad_run *g, const grad_case *c)
{
    g->c = c;
    build_case(&g->m, c);
    g->st = (model_step){ c->batch, true, c->seed, 3 };
    const layer *first = &g->m.layers[0], *last = &g->m.layers[g->m.num_layers - 1];
    const size_t in_count = (size_t)c->batch * tshape_count(first->out);
    const size_t out_count = (size_t)c->batch * tshape_count(last->out);

    model_init_params(&g->m, c->seed, CONV_INIT_HE_NORMAL);
    randomise_bn(&g->m, c->seed);
    test_poison_nan(g->m.acts, g->m.num_acts);   /* the extra sample stays NaN */
    test_fill_uniform(model_input(&g->m), in_count, c->seed + 1);
    g->r = test_alloc(out_count * sizeof *g->r);
    test_fill_uniform(g->r, out_count, c->seed + 2);
}

/* The analytic pass: forward, backward into poisoned gradients, every
   parameter gradient copied to g->analytic and required finite; then the
   unperturbed probe. */
static void analytic_pass(grad_run *g)
{
    const grad_case *c = g->c;
    model_forward(&g->m, &g->st);
    test_poison_nan(g->m.dacts, g->m.num_acts);
    test_poison_nan(g->m.grads, g->m.num_params);
    model_backward(&g->m, &g->st, g->r);
    g->analytic = test_alloc(g->m.num_params * sizeof *g->analytic);
    memcpy(g->analytic, g->m.grads, g->m.num_params * sizeof *g->analytic);
    for (size_t i = 0; i < g->m.num_params; i++)
        if (!isfinite(g->analytic[i]))
            fail_msg("%s seed %llu: parameter gradient %zu is %g after backward (never written, or NaN read)",
                     c->name, (unsigned long long)c->seed, i, (double)g->analytic[i]);
    g->base = probe_forward(&g->m, &g->st, g->r, 1);
}

/* Compares coordinate `coord` of tensor t in layer li (its parameters start at
   base_off) with its finite difference, and counts the result. */
static void check_coordinate(grad_run *g, int li, const param_tensor *t, const tensor_scale *ts, size_t base_off,
                             size_t coord, grad_tally *tally)
{
    const grad_case *c = g->c;
    const layer *l = &g->m.layers[li];
    const size_t j = base_off + coord;
    const double an = g->analytic[j], tol = RTOL * fabs(an) + ts->atol;
    const fd_estimate e = estimate(&g->m, &g->st, g->r, li, j, g->base, ts->h, tol, ts->sigma);
    tally->checked++;
    if (e.kind == FD_SKIPPED) {
        tally->skipped++;
        return;
    }
    tally->one_sided += e.kind == FD_ONE_SIDED;
    tally->resolved += e.noise <= RESOLVED * (fabs(an) + ts->rms_grad);
    const double ratio = fabs(e.value - an) / (tol + e.noise);
    if (ratio > tally->worst) {
        tally->worst = ratio;
        snprintf(tally->worst_at, sizeof tally->worst_at, "layer %d '%s' %s[%zu]%s", li, l->spec.name, t->name,
                 coord, e.kind == FD_ONE_SIDED ? " (one-sided)" : "");
    }
    if (!(ratio <= 1.0) && tally->failed++ < MAX_PRINTED_FAILURES)
        print_error("%s seed %llu: layer %d '%s' (%s) %s[%zu]: analytic %.9g, finite difference "
                    "%.9g (%s, step %.3g: %.9g, %.9g), tolerance %.3g\n",
                    c->name, (unsigned long long)c->seed, li, l->spec.name, op_defs[l->spec.op]->name, t->name,
                    coord, an, e.value, e.kind == FD_CENTRAL ? "central at h and h/2" : "one-sided at h and h/2",
                    e.step, e.fd1, e.fd2, tol);
}

/* Checks up to max_coords coordinates of tensor t (number ti) of layer li,
   drawn into coords, at the tensor's own step and tolerance. */
static void check_tensor(grad_run *g, int li, int ti, const param_tensor *t, size_t *coords, grad_tally *tally)
{
    const size_t base_off = g->m.layers[li].param_off + t->off;
    tensor_scale ts;
    ts.h = H_REL * fmax(rms_of(g->m.params + base_off, t->count), H_FLOOR);
    ts.rms_grad = rms_of(g->analytic + base_off, t->count);
    ts.atol = ATOL_REL * ts.rms_grad + 1e-30;
    rng_stream rs = rng_stream_for(g->c->seed, RNG_SUBSET, (uint64_t)li, (uint64_t)ti);
    const size_t k = pick_coords(t->count, (size_t)g->c->max_coords, &rs, coords);
    /* σ_L: the largest over up to NOISE_PROBES coordinates of the sample */
    ts.sigma = 0;
    for (size_t q = 0; q < k && q < NOISE_PROBES; q++)
        ts.sigma = fmax(ts.sigma, loss_noise(&g->m, &g->st, g->r, li, base_off + coords[q], ts.h));
    for (size_t q = 0; q < k; q++)
        check_coordinate(g, li, t, &ts, base_off, coords[q], tally);
    /* the activations after layer li are those of the last probe: restore them */
    probe_forward(&g->m, &g->st, g->r, li);
}

/* The case's summary line. */
static void report_case(const grad_case *c, const grad_tally *tally, double secs)
{
    printf("%-20s seed %-3llu %-6s %4d coordinates: %3d one-sided at a kink, %2d skipped, %4d resolved to %.0f%%; "
           "worst |fd-an|/tol %.3f at %s (%.2f s)\n",
           c->name, (unsigned long long)c->seed, c->kernel->name, tally->checked, tally->one_sided, tally->skipped,
           tally->resolved, 100 * RESOLVED, tally->worst, tally->worst_at, secs);
}

/* Fails the case on a disagreeing coordinate, too many skipped ones, or too
   few resolved ones. */
static void judge_case(const grad_case *c, const grad_tally *tally)
{
    const int checked = tally->checked;
    if (tally->failed)
        fail_msg("%s seed %llu: %d of %d coordinates disagree with the finite differences", c->name,
                 (unsigned long long)c->seed, tally->failed, checked);
    assert_true(checked > 0);
    if (tally->skipped > MAX_SKIPPED * checked)
        fail_msg("%s seed %llu: %d of %d coordinates skipped (more than %.0f%%): kinks on both sides at every "
                 "step, or central differences at h and h/2 that disagree beyond rounding",
                 c->name, (unsigned long long)c->seed, tally->skipped, checked, 100 * MAX_SKIPPED);
    if (tally->resolved < MIN_RESOLVED * checked)
        fail_msg("%s seed %llu: only %d of %d coordinates resolved to %.0f%% of their gradient's scale: the check "
                 "has become too weak to mean anything (kinks force steps where rounding dominates)",
                 c->name, (unsigned long long)c->seed, tally->resolved, checked, 100 * RESOLVED);
}

static void check_gradients(const grad_case *c)
{
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    grad_run g;
    set_up_case(&g, c);
    analytic_pass(&g);
    size_t *coords = test_alloc((size_t)c->max_coords * sizeof *coords);
    grad_tally tally = { 0, 0, 0, 0, 0, 0, "-" };
    for (int li = 0; li < g.m.num_layers; li++) {
        param_tensor tensors[2];
        const int nt = layer_tensors(&g.m.layers[li], tensors);
        for (int ti = 0; ti < nt; ti++)
            check_tensor(&g, li, ti, &tensors[ti], coords, &tally);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    const double secs = (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec);
    report_case(c, &tally, secs);
    free(coords);
    free(g.analytic);
    free(g.r);
    model_free(&g.m);
    judge_case(c, &tally);
}

static void test_gradient_case(void **state) { check_gradients(*state); }

/* ---- the networks ---------------------------------------------------------- */
/* (op, name, src, src2, out, size, stride, pad) */
#define INPUT ROW(OP_INPUT, "input", PREV, -1)
#define CONV0 ROW(OP_CONV, "conv0", PREV, -1, 3, 3, 1, 1)

static const layer_spec conv_s1p1[] = { INPUT, CONV0, ROW(OP_CONV, "conv3x3s1p1", PREV, -1, 4, 3, 1, 1) };
static const layer_spec conv_s2p1[] = { INPUT, CONV0, ROW(OP_CONV, "conv3x3s2p1", PREV, -1, 4, 3, 2, 1) };
static const layer_spec conv_1x1s2[] = { INPUT, CONV0, ROW(OP_CONV, "conv1x1s2p0", PREV, -1, 4, 1, 2, 0) };
static const layer_spec conv_s1p0[] = { INPUT, CONV0, ROW(OP_CONV, "conv3x3s1p0", PREV, -1, 4, 3, 1, 0) };
static const layer_spec conv_s2p0[] = { INPUT, CONV0, ROW(OP_CONV, "conv3x3s2p0", PREV, -1, 2, 3, 2, 0) };
static const layer_spec conv_bn[] = { INPUT, CONV0, ROW(OP_BN, "bn", PREV, -1) };
static const layer_spec conv_relu[] = { INPUT, CONV0, ROW(OP_RELU, "relu", PREV, -1) };
static const layer_spec conv_pool[] = { INPUT, CONV0, ROW(OP_MAXPOOL, "pool", PREV, -1) };
static const layer_spec conv_gap[] = { INPUT, CONV0, ROW(OP_GAP, "gap", PREV, -1) };
static const layer_spec conv_dense[] = { INPUT, CONV0, ROW(OP_DENSE, "dense", PREV, -1, 5) };
static const layer_spec conv_dropout[] = { INPUT, CONV0, ROW(OP_DROPOUT, "dropout", PREV, -1, .p = 0.5f) };
/* conv A has two readers (conv B and the add): its gradient is the sum */
static const layer_spec residual[] = {
    INPUT, CONV0, ROW(OP_CONV, "A", PREV, -1, 4, 3, 1, 1), ROW(OP_CONV, "B", PREV, -1, 4, 3, 1, 1),
    ROW(OP_ADD, "add", 3, 2),
};
/* the resnet's downsampling block: main path conv s2 + BN, shortcut 1x1 s2 + BN */
#define PROJECTION_ROWS                                                                                      \
    INPUT, CONV0, ROW(OP_CONV, "main", 1, -1, 4, 3, 2, 1), ROW(OP_BN, "main_bn", PREV, -1),                  \
        ROW(OP_CONV, "proj", 1, -1, 4, 1, 2, 0), ROW(OP_BN, "proj_bn", PREV, -1), ROW(OP_ADD, "add", 3, 5)
static const layer_spec projection[] = { PROJECTION_ROWS };
/* fan-out: two layers of the same kind read A; the earlier one accumulates */
#define FANOUT(X1, X2)                                                                                       \
    { INPUT, CONV0, ROW(OP_CONV, "A", PREV, -1, 4, 3, 1, 1), X1, X2, ROW(OP_ADD, "add", 3, 4) }
static const layer_spec fan_conv[] = FANOUT(ROW(OP_CONV, "conv_a", 2, -1, 3, 3, 1, 1),
                                            ROW(OP_CONV, "conv_b", 2, -1, 3, 3, 1, 1));
static const layer_spec fan_bn[] = FANOUT(ROW(OP_BN, "bn_a", 2, -1), ROW(OP_BN, "bn_b", 2, -1));
static const layer_spec fan_relu[] = FANOUT(ROW(OP_RELU, "relu_a", 2, -1), ROW(OP_BN, "bn_b", 2, -1));
static const layer_spec fan_pool[] = FANOUT(ROW(OP_MAXPOOL, "pool_a", 2, -1), ROW(OP_MAXPOOL, "pool_b", 2, -1));
static const layer_spec fan_gap[] = FANOUT(ROW(OP_GAP, "gap_a", 2, -1), ROW(OP_GAP, "gap_b", 2, -1));
static const layer_spec fan_dense[] = FANOUT(ROW(OP_DENSE, "dense_a", 2, -1, 5), ROW(OP_DENSE, "dense_b", 2, -1, 5));
static const layer_spec fan_dropout[] = FANOUT(ROW(OP_DROPOUT, "drop_a", 2, -1, .p = 0.5f),
                                               ROW(OP_BN, "bn_b", 2, -1));
/* fused at build time (models/layers.h): BN → ReLU; BN → add → ReLU with the
   add's other input a convolution (its gradient written by the fused op), and
   the resnet's downsampling block closed by a ReLU, where the projection's BN
   (the add's other input) is not fused and runs after the fused op */
static const layer_spec fused_bn_relu[] = { INPUT, CONV0, ROW(OP_BN, "bn", PREV, -1), ROW(OP_RELU, "relu", PREV, -1) };
static const layer_spec fused_bn_add_relu[] = {
    INPUT, CONV0, ROW(OP_CONV, "A", PREV, -1, 3, 3, 1, 1), ROW(OP_BN, "bn", PREV, -1),
    ROW(OP_ADD, "add", 2, 3), ROW(OP_RELU, "relu", PREV, -1),
};
static const layer_spec fused_projection[] = { PROJECTION_ROWS, ROW(OP_RELU, "relu", PREV, -1) };
/* BN → ReLU → max-pool fused (the cnn's), on an odd plane: the pool drops an edge */
static const layer_spec fused_bn_relu_pool[] = { INPUT, CONV0, ROW(OP_BN, "bn", PREV, -1),
                                                 ROW(OP_RELU, "relu", PREV, -1), ROW(OP_MAXPOOL, "pool", PREV, -1) };
/* one tensor read twice by the same add */
static const layer_spec add_self[] = { INPUT, CONV0, ROW(OP_CONV, "A", PREV, -1, 4, 3, 1, 1), ROW(OP_ADD, "add", 2, 2) };

#define ROWS_OF(t) (int)(sizeof t / sizeof t[0])
#define TINY(name, rows, c, h, w, batch, seed) { name, rows, ROWS_OF(rows), NULL, { c, h, w }, batch, &conv_naive, seed, 300 }
static const grad_case cases[] = {
    TINY("conv3x3_s1_p1", conv_s1p1, 2, 6, 6, 2, 11),
    TINY("conv3x3_s2_p1_odd", conv_s2p1, 2, 7, 7, 2, 12),
    TINY("conv1x1_s2_p0_odd", conv_1x1s2, 3, 7, 7, 3, 13),
    TINY("conv3x3_s1_p0", conv_s1p0, 3, 5, 5, 2, 14),
    TINY("conv3x3_s2_p0_odd", conv_s2p0, 2, 7, 7, 2, 15),
    TINY("bn_train", conv_bn, 2, 6, 6, 3, 21),
    TINY("relu", conv_relu, 2, 6, 6, 2, 22),
    TINY("maxpool", conv_pool, 2, 6, 6, 2, 23),
    TINY("maxpool_odd", conv_pool, 2, 7, 7, 3, 24),
    TINY("gap", conv_gap, 3, 5, 5, 3, 25),
    TINY("dense", conv_dense, 2, 6, 6, 2, 26),
    TINY("dropout", conv_dropout, 2, 6, 6, 3, 27),
    TINY("residual_add", residual, 2, 6, 6, 2, 31),
    TINY("residual_projection", projection, 2, 7, 7, 3, 32),
    TINY("add_same_tensor", add_self, 2, 5, 5, 2, 33),
    TINY("fused_bn_relu", fused_bn_relu, 2, 6, 6, 3, 34),
    TINY("fused_bn_add_relu", fused_bn_add_relu, 2, 5, 5, 3, 35),
    TINY("fused_projection", fused_projection, 2, 7, 7, 3, 36),
    TINY("fused_bn_relu_pool", fused_bn_relu_pool, 2, 7, 7, 3, 37),
    TINY("fanout_conv", fan_conv, 2, 5, 5, 2, 41),
    TINY("fanout_bn", fan_bn, 2, 5, 5, 2, 42),
    TINY("fanout_relu", fan_relu, 2, 5, 5, 2, 43),
    TINY("fanout_maxpool", fan_pool, 2, 7, 7, 2, 44),
    TINY("fanout_gap", fan_gap, 2, 5, 5, 2, 45),
    TINY("fanout_dense", fan_dense, 2, 5, 5, 2, 46),
    TINY("fanout_dropout", fan_dropout, 2, 5, 5, 2, 47),
    /* whole architectures: resnet with 1 block per stage, width 4, on 1x12x12,
       every tensor (≤ 300 coordinates each, 2010 in all); the cnn cannot be
       shrunk (fc1 reads 3136), so 20 random coordinates from each of its 16
       parameter tensors (310 in all, rather than a uniform subset, which would
       nearly all land in fc1's 803k weights), through im2col */
    { "resnet_tiny", NULL, 0, "resnet", { 1, 12, 12 }, 2, &conv_naive, 51, 300 },
    { "cnn_subset_im2col", NULL, 0, "cnn", { 1, 28, 28 }, 2, &conv_im2col, 52, 20 },
};

/* ---- batch-norm evaluation mode ------------------------------------------- */
/* One training forward moves the running statistics from (0, 1) to
   0.9·old + 0.1·batch (unbiased variance); evaluation then normalises with
   them, whatever the batch, and leaves them alone. */
static void test_bn_eval_uses_running_stats(void **state)
{
    const uint64_t seed = 61;
    const layer_spec rows[] = { INPUT, ROW(OP_BN, "bn", PREV, -1) };
    model m;
    char err[256];
    model_desc d = { "test", 1, 4, 0.5f, 10, { 3, 5, 4 } };
    assert_int_equal(model_build_table(&m, &d, rows, 2, &conv_naive, 3, err, sizeof err), 0);
    model_init_params(&m, seed, CONV_INIT_HE_NORMAL);
    const layer *bn = &m.layers[1];
    const int N = 3, C = 3, HW = 20;
    float *x = model_input(&m), *gamma = layer_params(&m, bn), *beta = gamma + C;
    float *run_mean = m.state + bn->state_off, *run_var = run_mean + C;
    for (int c = 0; c < C; c++)
        assert_true(run_mean[c] == 0.0f && run_var[c] == 1.0f);
    test_fill_uniform(x, (size_t)N * C * HW, seed);
    for (size_t i = 0; i < (size_t)N * C * HW; i++)
        x[i] = 2.0f * x[i] + 0.5f;   /* mean 0.5, variance 4/3: both differ from the initial 0, 1 */
    test_fill_uniform(gamma, 2 * (size_t)C, seed + 1);

    model_forward(&m, &(model_step){ N, true, seed, 0 });
    double want_mean[3], want_var[3];
    for (int c = 0; c < C; c++) {
        double s = 0, sq = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++)
                s += x[((size_t)n * C + c) * HW + i];
        const double mean = s / (N * HW);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++)
                sq += pow(x[((size_t)n * C + c) * HW + i] - mean, 2);
        want_mean[c] = 0.9 * 0.0 + 0.1 * mean;
        want_var[c] = 0.9 * 1.0 + 0.1 * sq / (N * HW - 1);
        /* float storage: a few ulps */
        if (fabs(run_mean[c] - want_mean[c]) > 1e-6 * fmax(1, fabs(want_mean[c])) ||
            fabs(run_var[c] - want_var[c]) > 1e-6 * want_var[c])
            fail_msg("bn seed %llu channel %d: running mean %.9g var %.9g, want %.9g %.9g "
                     "(0.9·old + 0.1·batch, unbiased variance)",
                     (unsigned long long)seed, c, (double)run_mean[c], (double)run_var[c], want_mean[c],
                     want_var[c]);
    }

    /* evaluation: y = gamma·(x − running mean)/sqrt(running var + 1e-5) + beta,
       on a batch of 2 other images; running statistics unchanged */
    test_fill_uniform(x, (size_t)2 * C * HW, seed + 2);
    const float *y = model_forward(&m, &(model_step){ 2, false, seed, 1 });
    double worst = 0;
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++) {
                const size_t o = ((size_t)n * C + c) * HW + i;
                const double want = gamma[c] * (x[o] - want_mean[c]) / sqrt(want_var[c] + 1e-5) + beta[c];
                /* float forward: ~1e-6 of the terms' size */
                const double e = fabs(y[o] - want) / (fabs(gamma[c]) * (fabs(x[o]) + 1) + fabs(beta[c]));
                if (e > worst)
                    worst = e;
                if (!(e <= 1e-5))
                    fail_msg("bn eval seed %llu: output %zu is %.9g, want %.9g (running statistics)",
                             (unsigned long long)seed, o, (double)y[o], want);
            }
    for (int c = 0; c < C; c++)
        assert_true(fabs(run_mean[c] - want_mean[c]) <= 1e-6 * fmax(1, fabs(want_mean[c])) &&
                    fabs(run_var[c] - want_var[c]) <= 1e-6 * want_var[c]);
    printf("bn eval seed %llu: running stats as 0.9·old + 0.1·batch, eval output worst relative error %.2g\n",
           (unsigned long long)seed, worst);
    model_free(&m);
}

/* ---- batch normalisation: the bits, and the float64 reference ---------------- */
/* BN alone, BN → ReLU, BN → add → ReLU (the add's other input a ReLU of the
   images, so that gradient is written by the fused op and added to). */
static const layer_spec bn_alone[] = { INPUT, ROW(OP_BN, "bn", PREV, -1) };
static const layer_spec bn_relu[] = { INPUT, ROW(OP_BN, "bn", PREV, -1), ROW(OP_RELU, "relu", PREV, -1) };
static const layer_spec bn_add_relu[] = {
    INPUT, ROW(OP_RELU, "r0", PREV, -1), ROW(OP_BN, "bn", 0, -1), ROW(OP_ADD, "add", 2, 1),
    ROW(OP_RELU, "relu", PREV, -1),
};
static const layer_spec bn_relu_pool[] = { INPUT, ROW(OP_BN, "bn", PREV, -1), ROW(OP_RELU, "relu", PREV, -1),
                                           ROW(OP_MAXPOOL, "pool", PREV, -1) };

/* How one run is made. */
typedef struct bn_how {
    int threads;
    bool portable, unfused; /* the lanes as a scalar loop; every row alone */
} bn_how;

static float *append(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof *dst);
    return dst + n;
}

/* One training step's forward and backward of a net on N images of shape in,
   then an evaluation forward: its outputs, parameter gradients, the images'
   gradient, running statistics, saved values and the evaluation output, in one
   buffer of *len floats. */
static float *bn_snapshot(const layer_spec *rows, int n, tshape in, int N, uint64_t seed, bn_how how, size_t *len)
{
    model m;
    char err[256];
    model_desc d = { "test", 1, 4, 0.5f, 10, in };
    assert_int_equal(model_build_table(&m, &d, rows, n, &conv_naive, N, err, sizeof err), 0);
    model_init_params(&m, seed, CONV_INIT_HE_NORMAL);
    randomise_bn(&m, seed);
    if (how.unfused)
        model_unfuse(&m);
    omp_set_num_threads(how.threads);
    bn_use_portable_lanes(how.portable);
    const size_t in_count = (size_t)N * tshape_count(in);
    const size_t out_count = (size_t)N * tshape_count(m.layers[m.num_layers - 1].out);
    test_fill_uniform(model_input(&m), in_count, seed + 1);
    float *r = test_alloc(out_count * sizeof *r);
    test_fill_uniform(r, out_count, seed + 2);
    const model_step st = { N, true, seed, 0 };
    *len = 2 * out_count + m.num_params + in_count + m.num_state + m.num_save;
    float *snap = test_alloc(*len * sizeof *snap);
    float *p = append(snap, model_forward(&m, &st), out_count);
    model_backward(&m, &st, r);
    p = append(p, m.grads, m.num_params);
    p = append(p, m.dacts + m.layers[0].act_off, in_count);
    p = append(p, m.state, m.num_state);
    p = append(p, m.save, m.num_save);
    append(p, model_forward(&m, &(model_step){ N, false, seed, 1 }), out_count);
    bn_use_portable_lanes(false);
    free(r);
    model_free(&m);
    return snap;
}

/* Every BN result is the same bits for 1, 2 and 3 threads, with the lanes as
   vector instructions (each copy, AVX2 and AVX-512, this CPU runs) or as the scalar loop, fused or run row by row
   (alone, with a ReLU, with an add and a ReLU, with a ReLU and a max-pool); on planes of 49 (a tail
   of 1 after 3 vectors), 289 and 20 floats. */
static void test_bn_bits_threads_lanes_fusion(void **state)
{
    const struct { const char *name; const layer_spec *rows; int n; } nets[] = {
        { "bn", bn_alone, ROWS_OF(bn_alone) },
        { "bn_relu", bn_relu, ROWS_OF(bn_relu) },
        { "bn_add_relu", bn_add_relu, ROWS_OF(bn_add_relu) },
        { "bn_relu_pool", bn_relu_pool, ROWS_OF(bn_relu_pool) },
    };
    const struct { tshape in; int batch; } shapes[] = { { { 4, 7, 7 }, 3 }, { { 3, 17, 17 }, 2 }, { { 2, 4, 5 }, 5 } };
    const bn_how hows[] = { { 2, false, false }, { 3, false, false }, { 1, true, false },
                            { 3, true, false },  { 1, false, true },  { 2, true, true } };
    const int saved_threads = omp_get_max_threads();
    const bool was_avx512 = isa_avx512();
    int copies = 0;
    for (int avx512 = 0; avx512 < 2; avx512++) {
        if (!isa_force_avx512(avx512))
            continue; /* the vector lanes of each copy this build holds and this CPU runs */
        copies++;
        for (size_t ni = 0; ni < sizeof nets / sizeof nets[0]; ni++)
            for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
                const uint64_t seed = 80 + 10 * ni + si;
                size_t len, other_len;
                float *base = bn_snapshot(nets[ni].rows, nets[ni].n, shapes[si].in, shapes[si].batch, seed,
                                          (bn_how){ 1, false, false }, &len);
                for (size_t hi = 0; hi < sizeof hows / sizeof hows[0]; hi++) {
                    float *other = bn_snapshot(nets[ni].rows, nets[ni].n, shapes[si].in, shapes[si].batch, seed,
                                               hows[hi], &other_len);
                    assert_int_equal(len, other_len);
                    for (size_t i = 0; i < len; i++)
                        if (memcmp(&base[i], &other[i], sizeof *base) != 0)
                            fail_msg("%s %dx%dx%d seed %llu: %d threads%s%s differs from 1 thread at value %zu "
                                     "of %zu (%.9g vs %.9g)",
                                     nets[ni].name, shapes[si].in.c, shapes[si].in.h, shapes[si].in.w,
                                     (unsigned long long)seed, hows[hi].threads, hows[hi].portable ? ", portable" : "",
                                     hows[hi].unfused ? ", unfused" : "", i, len, (double)base[i], (double)other[i]);
                    free(other);
                }
                free(base);
            }
    }
    isa_force_avx512(was_avx512);
    omp_set_num_threads(saved_threads);
    printf("bn: bits equal for 1/2/3 threads, vector (%d instruction set(s))/scalar lanes, fused/unfused (%zu nets x "
           "%zu shapes)\n", copies, sizeof nets / sizeof nets[0], sizeof shapes / sizeof shapes[0]);
}

/* A channel's statistics and gradient sums in float64, two passes. */
typedef struct bn_ref {
    double mean, var, invstd, sum_g, sum_g_xhat;
} bn_ref;

static bn_ref bn_reference(const float *x, const float *g, int N, int C, int HW, int c)
{
    bn_ref r = { 0 };
    const double M = (double)N * HW;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++)
            r.mean += x[((size_t)n * C + c) * HW + i] / M;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++)
            r.var += pow(x[((size_t)n * C + c) * HW + i] - r.mean, 2) / M;
    r.invstd = 1 / sqrt(r.var + 1e-5);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++) {
            const size_t o = ((size_t)n * C + c) * HW + i;
            r.sum_g += g[o];
            r.sum_g_xhat += g[o] * (x[o] - r.mean) * r.invstd;
        }
    return r;
}

static void expect_close(const char *what, int c, size_t i, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("bn reference: %s of channel %d (element %zu) is %.9g, want %.9g ± %.3g", what, c, i, got, want,
                 tol);
}

/* The saved statistics, the running ones and the parameter gradients of
   channel c.  u = 2⁻²⁴, a float rounding.  The double sums' errors,
   below (M/16 + 4)·2⁻⁵³ relative to the sums of magnitudes (1e-15 here), are
   covered by the 1e-12 terms.  mean: one rounding.  invstd and the running
   variance: one rounding each of the double value, doubled.  dbeta: one
   rounding.  dgamma: Σ g·(x − mean_f)·invstd_f misses the true Σ g·x̂ by
   |mean − mean_f|·invstd·|Σg| ≤ u·|mean|·invstd·|Σg| and by invstd_f's and its
   own rounding, u·|dgamma| each. */
static void check_bn_channel(const model *m, const layer *bn, const bn_ref *r, int c, double M, double sum_abs_g)
{
    const int C = bn->in.c;
    const double u = ldexp(1, -24), slack = 1e-12;
    const float *save = m->save + bn->save_off, *run = m->state + bn->state_off, *grads = layer_grads(m, bn);
    expect_close("mean", c, 0, save[c], r->mean, u * fabs(r->mean) + slack * (fabs(r->mean) + sqrt(r->var)));
    expect_close("invstd", c, 0, save[C + c], r->invstd, 2 * u * r->invstd + slack * r->invstd);
    const double run_var = 0.9 + 0.1 * r->var * M / (M - 1);
    expect_close("running variance", c, 0, run[C + c], run_var, 2 * u * run_var + slack);
    expect_close("dbeta", c, 0, grads[C + c], r->sum_g, u * fabs(r->sum_g) + slack * sum_abs_g);
    expect_close("dgamma", c, 0, grads[c], r->sum_g_xhat,
                 2 * u * fabs(r->sum_g_xhat) + u * fabs(r->mean) * r->invstd * fabs(r->sum_g) +
                     slack * r->invstd * sum_abs_g * (fabs(r->mean) + 1));
}

/* Output and input gradient of every element of channel c.
   y = fma(x − mean_f, gamma·invstd_f, beta): first-order error below
   u·(|mean|·s + 3·|x − mean|·s + |beta| + |y|), s = |gamma|·invstd; doubled.
   dx = k·((g − mdy) − x̂_f·mdx), k = gamma·invstd: x̂_f carries u·|mean|·invstd
   from mean_f and 2u·|x̂|; the other roundings are at most 7u on each of |g|,
   |mdy|, |x̂·mdx|: tolerance 8u·|k|·(|g| + |mdy| + (|x̂| + |mean|·invstd)·|mdx|). */
static void check_bn_elements(const float *x, const float *g, const float *y, const float *dx, const bn_ref *r,
                              float gamma, float beta, int N, int C, int HW, int c)
{
    const double u = ldexp(1, -24), M = (double)N * HW, s = fabs(gamma) * r->invstd, k = gamma * r->invstd;
    const double mdy = r->sum_g / M, mdx = r->sum_g_xhat / M;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++) {
            const size_t o = ((size_t)n * C + c) * HW + i;
            const double xhat = (x[o] - r->mean) * r->invstd, want_y = gamma * xhat + beta;
            expect_close("output", c, o, y[o], want_y,
                         2 * u * (fabs(r->mean) * s + 3 * fabs(x[o] - r->mean) * s + fabs(beta) + fabs(want_y)));
            const double want_dx = k * (g[o] - mdy - xhat * mdx);
            expect_close("input gradient", c, o, dx[o], want_dx,
                         8 * u * fabs(k) * (fabs(g[o]) + fabs(mdy) + (fabs(xhat) + fabs(r->mean) * r->invstd) * fabs(mdx)));
        }
}

/* BN (training) against the float64 reference on awkward channels: mean 0.5
   spread 1; mean 1e3 spread 0.1 and mean −1e4 spread 0.01 (a float
   E[x²] − E[x]² would lose every bit of these variances); a constant channel
   (variance exactly 0, invstd 1/sqrt(eps)).  Tolerances as derived above. */
static void test_bn_matches_float64_reference(void **state)
{
    const double offset[4] = { 0.5, 1e3, -1e4, 3 }, spread[4] = { 1, 0.1, 0.01, 0 };
    const struct { tshape in; int batch; } shapes[] = { { { 4, 7, 7 }, 3 }, { { 4, 17, 17 }, 2 } };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int N = shapes[si].batch, C = 4, HW = shapes[si].in.h * shapes[si].in.w;
        const uint64_t seed = 90 + si;
        model m;
        char err[256];
        model_desc d = { "test", 1, 4, 0.5f, 10, shapes[si].in };
        assert_int_equal(model_build_table(&m, &d, bn_alone, 2, &conv_naive, N, err, sizeof err), 0);
        model_init_params(&m, seed, CONV_INIT_HE_NORMAL);
        randomise_bn(&m, seed);
        const layer *bn = &m.layers[1];
        const size_t count = (size_t)N * C * HW;
        float *x = model_input(&m), *g = test_alloc(count * sizeof *g);
        test_fill_uniform(x, count, seed);
        for (size_t o = 0; o < count; o++) {
            const int c = (int)(o / HW % C);
            x[o] = (float)(offset[c] + spread[c] * x[o]);
        }
        test_fill_uniform(g, count, seed + 1);
        const model_step st = { N, true, seed, 0 };
        const float *y = model_forward(&m, &st);
        model_backward(&m, &st, g);
        const float *gamma = layer_params(&m, bn), *dx = layer_din(&m, bn);
        for (int c = 0; c < C; c++) {
            const bn_ref r = bn_reference(x, g, N, C, HW, c);
            double sum_abs_g = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < HW; i++)
                    sum_abs_g += fabs(g[((size_t)n * C + c) * HW + i]);
            check_bn_channel(&m, bn, &r, c, (double)N * HW, sum_abs_g);
            check_bn_elements(x, g, y, dx, &r, gamma[c], gamma[C + c], N, C, HW, c);
        }
        assert_true(m.save[bn->save_off + C + 3] == (float)(1 / sqrt(1e-5)));
        free(g);
        model_free(&m);
    }
    printf("bn: statistics, outputs and gradients within the derived float64 tolerances (2 shapes, 4 channels)\n");
}

/* ---- dropout ----------------------------------------------------------------- */
/* Evaluation: the identity, bit for bit.  Training with rate p: about p of the
   units are zero (within 5 binomial standard deviations), the rest are x/(1−p);
   the mask repeats for the same (seed, step) and changes with the step and
   between the samples of a batch. */
static void test_dropout_identity_and_rate(void **state)
{
    const uint64_t seed = 71;
    const float rates[] = { 0.5f, 0.25f };
    for (int ri = 0; ri < 2; ri++) {
        const float p = rates[ri];
        const layer_spec rows[] = { INPUT, ROW(OP_DROPOUT, "dropout", PREV, -1, .p = p) };
        model m;
        char err[256];
        model_desc d = { "test", 1, 4, 0.5f, 10, { 4, 16, 16 } };
        assert_int_equal(model_build_table(&m, &d, rows, 2, &conv_naive, 4, err, sizeof err), 0);
        const int N = 4;
        const size_t per = 4 * 16 * 16, count = N * per;
        float *x = model_input(&m);
        test_fill_uniform(x, count, seed);
        for (size_t i = 0; i < count; i++)
            if (x[i] == 0.0f)
                x[i] = 0.5f;   /* a zero input would look dropped */

        const float *y = model_forward(&m, &(model_step){ N, false, seed, 5 });
        assert_memory_equal(y, x, count * sizeof *x);

        float *first = test_alloc(count * sizeof *first);
        y = model_forward(&m, &(model_step){ N, true, seed, 5 });
        memcpy(first, y, count * sizeof *first);
        const float scale = 1.0f / (1.0f - p);
        size_t zeros = 0, same_as_sample0 = 0;
        for (size_t i = 0; i < count; i++) {
            if (y[i] == 0.0f)
                zeros++;
            else if (fabsf(y[i] - x[i] * scale) > 1e-6f * fabsf(x[i] * scale))
                fail_msg("dropout p %g seed %llu: kept unit %zu is %.9g, want x/(1-p) = %.9g", (double)p,
                         (unsigned long long)seed, i, (double)y[i], (double)(x[i] * scale));
            if (i >= per && (y[i] == 0.0f) == (y[i % per] == 0.0f))
                same_as_sample0++;
        }
        const double frac = (double)zeros / (double)count, sd = sqrt(p * (1 - p) / (double)count);
        printf("dropout p %.2f seed %llu: %.4f of %zu units dropped (5 sd = %.4f)\n", (double)p,
               (unsigned long long)seed, frac, count, 5 * sd);
        if (fabs(frac - p) > 5 * sd)
            fail_msg("dropout p %g seed %llu: %.4f of the units dropped, want %g ± %.4f", (double)p,
                     (unsigned long long)seed, frac, (double)p, 5 * sd);
        /* samples have their own masks: agreement with sample 0 at chance level, not 1 */
        assert_true((double)same_as_sample0 < 0.9 * (double)(count - per));

        y = model_forward(&m, &(model_step){ N, true, seed, 5 });
        assert_memory_equal(y, first, count * sizeof *first);
        y = model_forward(&m, &(model_step){ N, true, seed, 6 });
        assert_memory_not_equal(y, first, count * sizeof *first);
        free(first);
        model_free(&m);
    }
}

int main(void)
{
    conv_blis_init();
    enum { NUM_CASES = sizeof cases / sizeof cases[0] };
    struct CMUnitTest tests[NUM_CASES + 4];
    for (int i = 0; i < NUM_CASES; i++)
        tests[i] = (struct CMUnitTest){ cases[i].name, test_gradient_case, NULL, NULL, (void *)&cases[i] };
    tests[NUM_CASES] = (struct CMUnitTest){ "bn_eval_uses_running_stats", test_bn_eval_uses_running_stats,
                                            NULL, NULL, NULL };
    tests[NUM_CASES + 1] = (struct CMUnitTest){ "dropout_identity_and_rate", test_dropout_identity_and_rate,
                                                NULL, NULL, NULL };
    tests[NUM_CASES + 2] = (struct CMUnitTest){ "bn_bits_threads_lanes_fusion", test_bn_bits_threads_lanes_fusion,
                                                NULL, NULL, NULL };
    tests[NUM_CASES + 3] = (struct CMUnitTest){ "bn_matches_float64_reference", test_bn_matches_float64_reference,
                                                NULL, NULL, NULL };
    return _cmocka_run_group_tests("gradients", tests, NUM_CASES + 4, NULL, NULL) ? 1 : 0;
}
