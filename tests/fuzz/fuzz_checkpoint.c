/* tests/fuzz/fuzz_checkpoint.c — the checkpoint reader (models/checkpoint.c),
 * both ways a run reads one: resuming (checkpoint_load, everything) and
 * fine-tuning (checkpoint_load_trunk, init.from).
 *
 * Input: one control byte, then the file.  Bit 0 picks the path (0 resume,
 * 1 trunk); bit 1 set leaves the file's CRC-32 as it is, clear (the default)
 * rewrites the last four bytes with the CRC of the rest, so that mutations get
 * past the checksum and into the header and tensor table.
 *
 * The model is fuzz_checkpoint_model(): a tiny network built by model_build_table
 * (conv, BN, dense: 35 floats), so a whole valid checkpoint is about 700 bytes.
 * tests/fuzz/gen_seeds.c saves the seed checkpoints from the same model. */
#include "models/checkpoint.h"
#include "tests/fuzz/fuzz_common.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { CKPT_TRUNK = 1, CKPT_RAW_CRC = 2 };

/* input 1x4x4 · conv3x3 (1→2) · BN · ReLU · global average pool · dense 2→3 */
static const layer_spec tiny_rows[] = {
    { OP_INPUT, "input", PREV, -1 },
    { OP_CONV, "conv", PREV, -1, 2, 3, 1, 1 },
    { OP_BN, "bn", PREV, -1 },
    { OP_RELU, "relu", PREV, -1 },
    { OP_GAP, "gap", PREV, -1 },
    { OP_DENSE, "head", PREV, -1, 3 },
};

/* Built on first use and kept for the process (reachable, not a leak). */
model *fuzz_checkpoint_model(void)
{
    static model m;
    static int built;
    if (!built) {
        const model_desc d = { "fuzz-tiny", 0, 0, 0.0f, 3, { 1, 4, 4 } };
        char err[256];
        if (model_build_table(&m, &d, tiny_rows, (int)(sizeof tiny_rows / sizeof tiny_rows[0]), &conv_naive, 1,
                              err, sizeof err)) {
            fuzz_check(0, "checkpoint", err);
        }
        model_init_params(&m, 1, CONV_INIT_HE_NORMAL);
        built = 1;
    }
    return &m;
}

int fuzz_checkpoint_one(const uint8_t *data, size_t size)
{
    if (size < 1)
        return -1;
    const int mode = data[0];
    const size_t len = size - 1;
    unsigned char *file = malloc(len ? len : 1);
    if (!file)
        abort();
    memcpy(file, data + 1, len);
    if (!(mode & CKPT_RAW_CRC) && len >= 4) {
        const uint32_t crc = (uint32_t)crc32(0L, file, (uInt)(len - 4));
        memcpy(file + len - 4, &crc, 4); /* little-endian, as checkpoint_save writes it */
    }
    const char *path = fuzz_file(0, file, len);
    free(file);

    model *m = fuzz_checkpoint_model();
    char err[1024] = "";
    int rc;
    if (mode & CKPT_TRUNK) {
        uint32_t crc = 0;
        rc = checkpoint_load_trunk(path, m, &crc, err, sizeof err);
    } else {
        checkpoint_info info;
        rc = checkpoint_load(path, m, CKPT_ALL, NULL, &info, err, sizeof err);
        if (rc == 0) {
            fuzz_check(info.history != NULL, "checkpoint", "a resumed checkpoint without its history");
            free(info.history);
        }
    }
    fuzz_check(rc == 0 || rc == -1, "checkpoint", "the loader returned neither 0 nor -1");
    fuzz_check(rc == 0 || err[0] != '\0', "checkpoint", "an error without a message");
    return rc;
}

FUZZ_ENTRY(fuzz_checkpoint_one)
