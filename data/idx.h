/* data/idx.h — read one gzip-compressed IDX file of unsigned bytes.
 *
 * IDX (LeCun's MNIST format): a big-endian 32-bit magic number 0x000008DD
 * (0x08 = unsigned bytes, DD = number of dimensions), then DD big-endian 32-bit
 * sizes, then the bytes in row-major order.  Two kinds are read:
 *   labels  0x00000801  count                -> count bytes
 *   images  0x00000803  count, rows, cols    -> count·rows·cols bytes, [count][rows][cols]
 *
 * Contract:
 * - The file must be gzip (first two bytes 1f 8b); a plain file is an error, not
 *   silently read through (zlib's gzread would).
 * - Everything is checked: a regular file (a FIFO, device or directory is
 *   refused before any read, so a FIFO cannot block the reader), readable,
 *   not empty, gzip magic, gzip stream intact
 *   (corrupt data, stream cut short, CRC), IDX magic, sizes within the limits
 *   below, and exactly as many data bytes as the header promises (fewer: a
 *   truncated file; more: trailing data).
 * - Nothing may follow the gzip stream: trailing bytes (junk, zero padding)
 *   are an error naming their offset (zlib's gzread would ignore them).
 *   Concatenated gzip members (`cat a.gz b.gz`) are one gzip file and are
 *   read as one stream; their data together is the IDX file.
 * - The reader reports the sizes it found; the caller checks what it expects
 *   (28×28 for Fashion-MNIST), best between idx_open and idx_read_data.
 * - Sizes are checked before anything is allocated, and the buffer grows with
 *   the data actually decompressed, so a lying header cannot make the reader
 *   allocate gigabytes for a small file that does not hold them.  A file that
 *   does (a gzip bomb: zeros compress about 1000:1) is bounded only by the
 *   limits below, which are loose on purpose: a caller that knows its sizes
 *   checks them after idx_open, before idx_read_data reads any data.
 * - Library code never prints or exits.  Functions return 0 on success and -1 on
 *   error, with a compiler-style message in err (always NUL-terminated when
 *   errlen > 0; err may be NULL when errlen is 0):
 *       PATH: error: WHAT (expected X, got Y); FIX
 *   On error *out is left zeroed and nothing is allocated.
 */
#ifndef PROBADOR_DATA_IDX_H
#define PROBADOR_DATA_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAX_COUNT 10000000u           /* items in one file */
#define IDX_MAX_DIM 4096u                 /* rows or cols */
#define IDX_MAX_BYTES ((uint64_t)1 << 32) /* data bytes in one file (4 GiB) */

typedef enum idx_kind {
    IDX_LABELS = 1, /* one dimension: count */
    IDX_IMAGES = 3, /* three dimensions: count, rows, cols */
} idx_kind;

typedef struct idx_data {
    idx_kind kind;
    uint32_t count;      /* items (labels or images) */
    uint32_t rows, cols; /* image size; 1, 1 for labels */
    size_t bytes;        /* count·rows·cols */
    uint8_t *data;       /* [count][rows][cols], owned: release with idx_free */
} idx_data;

/* Read the IDX file at path, which must be of the given kind:
   idx_open + idx_read_data + idx_close. */
int idx_read(const char *path, idx_kind kind, idx_data *out, char *err, size_t errlen);

/* The same in steps, so that a caller can check the headers of several files
   (against each other, against what it expects) before any data is read or
   allocated.  An idx_file is an open IDX file whose header has been read and
   checked; path must stay valid until idx_close. */
typedef struct idx_file idx_file;
/* Open path, read and check its header: *f is the open file, *hdr its sizes
   (hdr->data NULL).  On error *f is NULL and *hdr zeroed. */
int idx_open(const char *path, idx_kind kind, idx_file **f, idx_data *hdr, char *err, size_t errlen);
/* Read the data the header promises into *out (sizes and data) and check that
   the file ends there.  Once per file; on error *out is zeroed. */
int idx_read_data(idx_file *f, idx_data *out, char *err, size_t errlen);
/* Close f; safe on NULL. */
void idx_close(idx_file *f);
/* Release what idx_read allocated and zero *d; safe on a zeroed idx_data. */
void idx_free(idx_data *d);
/* The magic number of a kind: IDX_MAGIC_LABELS or IDX_MAGIC_IMAGES. */
uint32_t idx_magic(idx_kind kind);

#endif
