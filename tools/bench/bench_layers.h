/* tools/bench/bench_layers.h — every distinct convolution layer of cnn and resnet20
   (SPEC.md), the shapes the kernel benchmark times. */
#ifndef PROBADOR_TOOLS_BENCH_LAYERS_H
#define PROBADOR_TOOLS_BENCH_LAYERS_H

#include "kernels/conv.h"

typedef struct bench_layer {
    const char *name;      /* "cnn.conv2", "resnet20.stage3" ... */
    const char *where;     /* which layers of which model share this shape */
    conv_shape shape;      /* n is the batch, filled in at run time */
} bench_layer;

extern const bench_layer bench_layers[];
extern const int bench_layer_count;

#endif
