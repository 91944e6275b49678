/* models/tables.c — the model types: each architecture's layer table, and the
 * registry's rows naming them (at the end). */
#include <stdio.h>

#include "models/model_types.h"

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

/* A row of block `block` of stage `stage`, named "sSTAGE.bBLOCK.WHAT". */
static layer_spec block_row(layer_spec row, int stage, int block, const char *what)
{
    snprintf(row.name, sizeof row.name, "s%d.b%d.%s", stage, block, what);
    return row;
}

/* resnet (He et al. 2016, §4.2, on 28x28): conv3x3(1→w) BN ReLU · 3 stages of
   `blocks` basic blocks with w, 2w, 4w channels; the first block of stages 2
   and 3 has stride 2 and a projection shortcut (1x1 conv stride 2 + BN) ·
   global average pool · dense 4w→classes.
   Basic block: conv3x3 BN ReLU conv3x3 BN, + shortcut, ReLU. */
int model_table_resnet(const model_desc *d, layer_spec *rows, int cap)
{
    int n = 0;
#define PUSH(row)                                                                                            \
    do {                                                                                                     \
        if (n >= cap)                                                                                        \
            return -1;                                                                                       \
        rows[n++] = (row);                                                                                   \
    } while (0)
    PUSH(ROW(OP_INPUT, "input", PREV, -1));
    PUSH(ROW(OP_CONV, "stem.conv", PREV, -1, d->width, 3, 1, 1));
    PUSH(ROW(OP_BN, "stem.bn", PREV, -1));
    PUSH(ROW(OP_RELU, "stem.relu", PREV, -1));
    for (int stage = 1; stage <= 3; stage++) {
        const int width = d->width << (stage - 1);
        for (int b = 1; b <= d->blocks; b++) {
            const int block_in = n - 1, down = stage > 1 && b == 1, stride = down ? 2 : 1;
            PUSH(block_row(ROW(OP_CONV, "", PREV, -1, width, 3, stride, 1), stage, b, "conv1"));
            PUSH(block_row(ROW(OP_BN, "", PREV, -1), stage, b, "bn1"));
            PUSH(block_row(ROW(OP_RELU, "", PREV, -1), stage, b, "relu1"));
            PUSH(block_row(ROW(OP_CONV, "", PREV, -1, width, 3, 1, 1), stage, b, "conv2"));
            PUSH(block_row(ROW(OP_BN, "", PREV, -1), stage, b, "bn2"));
            int shortcut = block_in;
            const int main_path = n - 1;
            if (down) {
                PUSH(block_row(ROW(OP_CONV, "", block_in, -1, width, 1, 2, 0), stage, b, "proj"));
                PUSH(block_row(ROW(OP_BN, "", PREV, -1), stage, b, "proj_bn"));
                shortcut = n - 1;
            }
            PUSH(block_row(ROW(OP_ADD, "", main_path, shortcut), stage, b, "add"));
            PUSH(block_row(ROW(OP_RELU, "", PREV, -1), stage, b, "relu2"));
        }
    }
    PUSH(ROW(OP_GAP, "pool", PREV, -1));
    PUSH(ROW(OP_DENSE, "fc", PREV, -1, d->classes));
#undef PUSH
    return n;
}

/* The registry's compiled-in rows, in the order errors and the configuration
   list the names.  A new model: its table function above and one row here. */
const model_type model_types_builtin[] = {
    {
        .name = "cnn",
        .description = "four 3x3 convolutions with batch norm in two max-pooled pairs, dense 256 with "
                       "dropout, dense 10",
        .table = model_table_cnn,
        .uses = MODEL_USES_DROPOUT,
        .bench = { .name = "cnn", .dropout = 0.5f, .classes = 10, .input = { 1, 28, 28 } },
        .bench_name = "cnn",
    },
    {
        .name = "resnet",
        .description = "He et al.'s CIFAR ResNet: a 3x3 stem, three stages of `blocks` basic blocks of "
                       "`width`, 2x and 4x channels, global pool, dense",
        .table = model_table_resnet,
        .uses = MODEL_USES_BLOCKS | MODEL_USES_WIDTH,
        .bench = { .name = "resnet", .blocks = 3, .width = 16, .classes = 10, .input = { 1, 28, 28 } },
        .bench_name = "resnet20",
    },
};
const int model_types_builtin_count = (int)(sizeof model_types_builtin / sizeof model_types_builtin[0]);
