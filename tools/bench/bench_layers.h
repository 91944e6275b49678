/* tools/bench/bench_layers.h — the convolution shapes the kernel benchmark
 * times, derived from the model registry (models/model.h).
 *
 * For each model type with a bench_name, in registry order: its bench
 * instance's layer table, laid out by model_table_shapes; its convolutions in
 * data-flow order (by the row whose output they read, table order among
 * convolutions reading the same row, so a projection shortcut follows the
 * strided convolution beside it); one entry per distinct shape, at its first
 * convolution.  An entry is named BENCH_NAME.LABEL, the label read from that
 * first convolution's row name:
 *     a name without a dot is the label             cnn: conv1 -> cnn.conv1
 *     otherwise its first part ("stem"; "sN" reads "stageN"), with "_down"
 *     for a strided 3×3 convolution and "_proj" for a strided 1×1 one
 *                                                   s2.b1.proj -> resnet20.stage2_proj
 * and "_2", "_3" ... when that label is taken within the model.
 */
#ifndef PROBADOR_TOOLS_BENCH_LAYERS_H
#define PROBADOR_TOOLS_BENCH_LAYERS_H

#include "kernels/conv.h"

enum { BENCH_LAYERS_MAX = 64 };

typedef struct bench_layer {
    char name[64];     /* "cnn.conv2", "resnet20.stage3" ... */
    char where[128];   /* the model's convolutions of this shape: "resnet20 s2.b1.conv2 .. s2.b3.conv2, 5 convs" */
    conv_shape shape;  /* n is the batch, filled in at run time */
} bench_layer;

/* The list is derived on first use; a registered model whose bench instance
   cannot be laid out ends the program with its error (status 1). */
int bench_layer_count(void);
const bench_layer *bench_layer_at(int i); /* NULL out of range */
int bench_layer_find(const char *name);   /* its index, or -1 */

#endif
