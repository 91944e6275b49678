/* models/tables.c — the two architectures of SPEC.md as layer tables. */
#include <stdio.h>

#include "models/model.h"

#define ROW(...) ((layer_spec){ __VA_ARGS__ })

/* cnn: conv3x3(1→32) BN ReLU · conv3x3(32→32) BN ReLU · maxpool2 ·
        conv3x3(32→64) BN ReLU · conv3x3(64→64) BN ReLU · maxpool2 ·
        flatten 3136 · dense 256 ReLU dropout · dense 10 */
int model_table_cnn(const model_desc *d, layer_spec *rows, int cap)
{
    const layer_spec table[] = {
        ROW(OP_INPUT, "input", PREV, -1),
        ROW(OP_CONV, "conv1", PREV, -1, 32, 3, 1, 1), ROW(OP_BN, "bn1", PREV, -1), ROW(OP_RELU, "relu1", PREV, -1),
        ROW(OP_CONV, "conv2", PREV, -1, 32, 3, 1, 1), ROW(OP_BN, "bn2", PREV, -1), ROW(OP_RELU, "relu2", PREV, -1),
        ROW(OP_MAXPOOL, "pool1", PREV, -1),
        ROW(OP_CONV, "conv3", PREV, -1, 64, 3, 1, 1), ROW(OP_BN, "bn3", PREV, -1), ROW(OP_RELU, "relu3", PREV, -1),
        ROW(OP_CONV, "conv4", PREV, -1, 64, 3, 1, 1), ROW(OP_BN, "bn4", PREV, -1), ROW(OP_RELU, "relu4", PREV, -1),
        ROW(OP_MAXPOOL, "pool2", PREV, -1),
        ROW(OP_DENSE, "fc1", PREV, -1, 256), ROW(OP_RELU, "relu5", PREV, -1),
        ROW(OP_DROPOUT, "dropout", PREV, -1, .p = d->dropout),
        ROW(OP_DENSE, "fc2", PREV, -1, d->classes),
    };
    const int n = (int)(sizeof table / sizeof table[0]);
    if (n > cap)
        return -1;
    for (int i = 0; i < n; i++)
        rows[i] = table[i];
    return n;
}

/* resnet (He et al. 2016, §4.2, on 28x28): conv3x3(1→w) BN ReLU · 3 stages of
   `blocks` basic blocks with w, 2w, 4w channels; the first block of stages 2
   and 3 has stride 2 and a projection shortcut (1x1 conv stride 2 + BN) ·
   global average pool · dense 4w→classes.
   Basic block: conv3x3 BN ReLU conv3x3 BN, + shortcut, ReLU. */
int model_table_resnet(const model_desc *d, layer_spec *rows, int cap)
{
    static char names[1024][24];   /* row names outlive the call: one table at a time per process */
    int n = 0;
#define PUSH(...)                                                                                            \
    do {                                                                                                     \
        if (n >= cap || n >= 1024)                                                                           \
            return -1;                                                                                       \
        rows[n] = ROW(__VA_ARGS__);                                                                          \
        n++;                                                                                                 \
    } while (0)
#define NAME(...) (snprintf(names[n], sizeof names[n], __VA_ARGS__), names[n])
    PUSH(OP_INPUT, "input", PREV, -1);
    PUSH(OP_CONV, "stem.conv", PREV, -1, d->width, 3, 1, 1);
    PUSH(OP_BN, "stem.bn", PREV, -1);
    PUSH(OP_RELU, "stem.relu", PREV, -1);
    for (int stage = 0; stage < 3; stage++) {
        const int width = d->width << stage;
        for (int b = 0; b < d->blocks; b++) {
            const int block_in = n - 1, down = stage > 0 && b == 0, stride = down ? 2 : 1;
            PUSH(OP_CONV, NAME("s%d.b%d.conv1", stage + 1, b + 1), PREV, -1, width, 3, stride, 1);
            PUSH(OP_BN, NAME("s%d.b%d.bn1", stage + 1, b + 1), PREV, -1);
            PUSH(OP_RELU, NAME("s%d.b%d.relu1", stage + 1, b + 1), PREV, -1);
            PUSH(OP_CONV, NAME("s%d.b%d.conv2", stage + 1, b + 1), PREV, -1, width, 3, 1, 1);
            PUSH(OP_BN, NAME("s%d.b%d.bn2", stage + 1, b + 1), PREV, -1);
            int shortcut = block_in;
            const int main_path = n - 1;
            if (down) {
                PUSH(OP_CONV, NAME("s%d.b%d.proj", stage + 1, b + 1), block_in, -1, width, 1, 2, 0);
                PUSH(OP_BN, NAME("s%d.b%d.proj_bn", stage + 1, b + 1), PREV, -1);
                shortcut = n - 1;
            }
            PUSH(OP_ADD, NAME("s%d.b%d.add", stage + 1, b + 1), main_path, shortcut);
            PUSH(OP_RELU, NAME("s%d.b%d.relu2", stage + 1, b + 1), PREV, -1);
        }
    }
    PUSH(OP_GAP, "pool", PREV, -1);
    PUSH(OP_DENSE, "fc", PREV, -1, d->classes);
#undef PUSH
#undef NAME
    return n;
}
