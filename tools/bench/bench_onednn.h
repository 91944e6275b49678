/* tools/bench/bench_onednn.h — oneDNN (Debian's libdnnl, C API) as a peer of
 * probador's kernels in `probador bench`.
 *
 * One onednn_conv is one pass of one shape as a oneDNN convolution primitive
 * whose tensors are in the formats oneDNN picks for it (format_tag_any, often
 * blocked such as nChw16c), bound to the caller's operands in probador's
 * plain layouts (kernels/conv.h: x NCHW, w KCRS = OIHW, y NKPQ).  Two ways to
 * run it give the benchmark's two figures:
 *   onednn_conv_run         the convolution alone on operands already in
 *                           oneDNN's formats ("without reorders");
 *   onednn_conv_run_plain   reorders the plain inputs into those formats,
 *                           convolves and reorders the result back into the
 *                           caller's plain output ("with reorders").
 * A primitive is created for the OpenMP thread count in force (oneDNN's
 * OpenMP build reads it then and at every run), so create one per thread count.
 */
#ifndef PROBADOR_TOOLS_BENCH_ONEDNN_H
#define PROBADOR_TOOLS_BENCH_ONEDNN_H

#include <stddef.h>

#include "kernels/conv.h"

typedef enum onednn_alg { ONEDNN_DIRECT, ONEDNN_WINOGRAD, ONEDNN_NUM_ALGS } onednn_alg;

/* "direct" or "winograd". */
const char *onednn_alg_name(onednn_alg alg);
/* The library's version, "2.6.3". */
const char *onednn_version(void);

typedef struct onednn_conv onednn_conv;

/* `pass` of `cs` with algorithm `alg` on the operands as conv_run takes them:
   a (x or dy) and b (w or dy) are read, out (y, dx or dw) is written; all must
   outlive the result.  NULL when oneDNN declines (no implementation of the
   algorithm for this shape and pass, as Winograd for most), with oneDNN's
   status in `why`.  A failure of the library itself ends the program. */
onednn_conv *onednn_conv_create(onednn_alg alg, const conv_shape *cs, conv_pass pass, const float *a,
                                const float *b, float *out, char *why, size_t len);
void onednn_conv_destroy(onednn_conv *c);

/* The convolution alone, on the inputs the last onednn_conv_run_plain reordered. */
void onednn_conv_run(onednn_conv *c);
/* Plain inputs -> oneDNN's formats -> convolution -> the plain output. */
void onednn_conv_run_plain(onednn_conv *c);
/* Fills the output in oneDNN's format with NaNs (when it is not the caller's
   own buffer), so that an output the convolution never writes cannot pass. */
void onednn_conv_poison(onednn_conv *c);

/* oneDNN's name for the implementation it chose, e.g. "brgconv:avx512_core". */
const char *onednn_conv_impl(const onednn_conv *c);
/* The convolution's scratchpad, allocated here once as probador's kernels get
   their workspace. */
size_t onednn_conv_scratch_bytes(const onednn_conv *c);
/* The tensors in oneDNN's formats that the plain operands are reordered
   through (0 when every format is the plain one). */
size_t onednn_conv_reorder_bytes(const onednn_conv *c);
/* "src:nChw16c wei:OIhw16i16o dst:nChw16c"-like: each operand's format as
   oneDNN prints it, for the benchmark's log. */
const char *onednn_conv_formats(const onednn_conv *c, char *buf, size_t len);

#endif
