/* kernels/conv_common.c — shape helpers and fallback resolution (the registry is
 * kernels/conv_registry.c). */
#include "kernels/conv.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

bool conv_shape_valid(const conv_shape *cs)
{
    if (cs->n < 1 || cs->c < 1 || cs->h < 1 || cs->w < 1 || cs->k < 1 || cs->r < 1 || cs->s < 1 ||
        cs->stride < 1 || cs->pad < 0)
        return false;
    return cs->h + 2 * cs->pad >= cs->r && cs->w + 2 * cs->pad >= cs->s;
}

const char *conv_shape_str(const conv_shape *cs, char *buf, size_t len)
{
    snprintf(buf, len, "n%d c%d %dx%d k%d %dx%d s%d p%d", cs->n, cs->c, cs->h, cs->w, cs->k, cs->r,
             cs->s, cs->stride, cs->pad);
    return buf;
}

static const char *const pass_names[CONV_NUM_PASSES] = { "forward", "backward_data",
                                                         "backward_weights" };

const char *conv_pass_name(conv_pass pass)
{
    return (unsigned)pass < CONV_NUM_PASSES ? pass_names[pass] : "?";
}

bool conv_pass_parse(const char *name, conv_pass *out)
{
    for (int p = 0; p < CONV_NUM_PASSES; p++)
        if (strcmp(name, pass_names[p]) == 0) {
            *out = (conv_pass)p;
            return true;
        }
    return false;
}

const conv_kernel *conv_resolve(const conv_kernel *k, const conv_shape *cs, conv_pass pass)
{
    /* Fallback chains are short (winograd -> im2col); a kernel naming itself
       as fallback must support everything, which the tests check. */
    while (!k->supports(cs, pass) && k->fallback != k)
        k = k->fallback;
    return k;
}

void conv_run(const conv_kernel *k, const conv_shape *cs, conv_pass pass, const float *a,
              const float *b, float *out, void *ws)
{
    const conv_kernel *run = conv_resolve(k, cs, pass);
    switch (pass) {
    case CONV_FORWARD: run->forward(cs, a, b, out, ws); break;
    case CONV_BACKWARD_DATA: run->backward_data(cs, a, b, out, ws); break;
    default: run->backward_weights(cs, a, b, out, ws); break;
    }
}

size_t conv_workspace_bytes(const conv_kernel *k, const conv_shape *cs)
{
    size_t most = 0;
    for (int p = 0; p < CONV_NUM_PASSES; p++) {
        size_t b = conv_resolve(k, cs, (conv_pass)p)->workspace_bytes(cs);
        if (b > most)
            most = b;
    }
    return most;
}

int conv_thread_slots(void)
{
    int procs = omp_get_num_procs();
    return procs < 1 ? 1 : procs > 64 ? 64 : procs;
}
