/* tests/fuzz/fuzz_idx.c — the gzip IDX reader (data/idx.c), images and labels.
 *
 * Input: one control byte, then the file.  Bit 0 of the control byte picks the
 * kind asked for (0 labels, 1 images).  Bit 1 set: the rest of the input is the
 * IDX content, which the harness gzips, so that mutations reach the header and
 * size checks instead of breaking the gzip stream; clear: the rest is the file
 * as idx_read opens it (gzip framing, CRC and all).  Checked: an error leaves a message and a zeroed result; a
 * success has bytes = count·rows·cols within the header limits, and every data
 * byte is readable (ASan sees an overrun). */
#include "data/idx.h"
#include "tests/fuzz/fuzz_common.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static volatile unsigned idx_sink; /* every data byte is read into it */

/* The in-memory file holding content gzipped (deflate's own gzip framing, level 1: fast). */
static const char *gzipped_file(const uint8_t *content, size_t size)
{
    z_stream z = { 0 };
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    const uLong cap = deflateBound(&z, (uLong)size);
    unsigned char *gz = malloc(cap);
    if (!gz)
        abort();
    z.next_in = (Bytef *)content, z.avail_in = (uInt)size;
    z.next_out = gz, z.avail_out = (uInt)cap;
    fuzz_check(deflate(&z, Z_FINISH) == Z_STREAM_END, "idx", "deflate did not finish");
    const char *path = fuzz_file(0, gz, z.total_out);
    deflateEnd(&z);
    free(gz);
    return path;
}

int fuzz_idx_one(const uint8_t *data, size_t size)
{
    if (size < 1)
        return -1;
    const idx_kind kind = data[0] & 1 ? IDX_IMAGES : IDX_LABELS;
    const char *path = data[0] & 2 ? gzipped_file(data + 1, size - 1) : fuzz_file(0, data + 1, size - 1);
    idx_data d;
    char err[512] = "";
    const int rc = idx_read(path, kind, &d, err, sizeof err);
    if (rc != 0) {
        static const idx_data zero;
        fuzz_check(rc == -1, "idx", "idx_read returned neither 0 nor -1");
        fuzz_check(err[0] != '\0', "idx", "an error without a message");
        fuzz_check(memcmp(&d, &zero, sizeof d) == 0, "idx", "an error left *out non-zero");
        return -1;
    }
    fuzz_check(d.kind == kind && d.data != NULL, "idx", "a success without data of the kind asked for");
    fuzz_check(d.count >= 1 && d.count <= IDX_MAX_COUNT && d.rows >= 1 && d.rows <= IDX_MAX_DIM &&
                   d.cols >= 1 && d.cols <= IDX_MAX_DIM,
               "idx", "sizes outside the header limits");
    fuzz_check(kind == IDX_IMAGES || (d.rows == 1 && d.cols == 1), "idx", "labels with rows or cols != 1");
    fuzz_check(d.bytes == (size_t)d.count * d.rows * d.cols, "idx", "bytes != count·rows·cols");
    for (size_t i = 0; i < d.bytes; i++)
        idx_sink += d.data[i];
    idx_free(&d);
    return 0;
}

FUZZ_ENTRY(fuzz_idx_one)
