/* tools/bench/bench_layers.c — the convolution layers of cnn and resnet20 (SPEC.md). */
#include "tools/bench/bench_layers.h"

/*                                         n  c   h   w   k  r  s  st pad */
const bench_layer bench_layers[] = {
    { "cnn.conv1", "cnn conv 1", { 0, 1, 28, 28, 32, 3, 3, 1, 1 } },
    { "cnn.conv2", "cnn conv 2", { 0, 32, 28, 28, 32, 3, 3, 1, 1 } },
    { "cnn.conv3", "cnn conv 3", { 0, 32, 14, 14, 64, 3, 3, 1, 1 } },
    { "cnn.conv4", "cnn conv 4", { 0, 64, 14, 14, 64, 3, 3, 1, 1 } },
    { "resnet20.stem", "resnet20 first conv", { 0, 1, 28, 28, 16, 3, 3, 1, 1 } },
    { "resnet20.stage1", "resnet20 stage 1, 6 convs", { 0, 16, 28, 28, 16, 3, 3, 1, 1 } },
    { "resnet20.stage2_down", "resnet20 stage 2 block 1 conv 1", { 0, 16, 28, 28, 32, 3, 3, 2, 1 } },
    { "resnet20.stage2_proj", "resnet20 stage 2 shortcut", { 0, 16, 28, 28, 32, 1, 1, 2, 0 } },
    { "resnet20.stage2", "resnet20 stage 2, 5 convs", { 0, 32, 14, 14, 32, 3, 3, 1, 1 } },
    { "resnet20.stage3_down", "resnet20 stage 3 block 1 conv 1", { 0, 32, 14, 14, 64, 3, 3, 2, 1 } },
    { "resnet20.stage3_proj", "resnet20 stage 3 shortcut", { 0, 32, 14, 14, 64, 1, 1, 2, 0 } },
    { "resnet20.stage3", "resnet20 stage 3, 5 convs", { 0, 64, 7, 7, 64, 3, 3, 1, 1 } },
};
const int bench_layer_count = sizeof bench_layers / sizeof bench_layers[0];
