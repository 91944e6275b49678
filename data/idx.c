/* data/idx.c — read one gzip-compressed IDX file (see the header for the contract). */
#include "data/idx.h"
#include "data/regular_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define FIX_DAMAGED                                                                                          \
    "the file is damaged or incomplete: reinstall dataset-fashion-mnist or regenerate the file"
#define FIX_MISSING "install Debian's dataset-fashion-mnist (make deps) or set the data directory"
#define FIRST_CHUNK ((size_t)1 << 20) /* the data buffer starts here and doubles as data arrives */
#define MAX_INFLATE ((size_t)1 << 30) /* inflate's avail_out is an unsigned int */
#define MAX_TRAILING ((uint64_t)1 << 20)
#define IN_BYTES ((size_t)1 << 17) /* compressed input read at a time */

/* An IDX file being read.  The gzip stream is decompressed with inflate rather
   than gzread because gzread silently ignores whatever follows the last gzip
   member; here the reader knows where each member ends and what comes next. */
struct idx_file {
    const char *path;
    int fd;
    z_stream zs;          /* next_in, avail_in: the unread part of in */
    int member_ended;     /* inflate reached the end of a gzip member */
    uint64_t file_pos;    /* bytes read from fd so far */
    idx_data hdr;         /* the sizes, as checked by idx_open */
    uint8_t in[IN_BYTES]; /* compressed input */
};

/* "PATH: error: " followed by the formatted rest; returns -1. */
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return -1;
    int n = snprintf(err, errlen, "%s: error: ", path);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *kind_noun(idx_kind kind)
{
    return kind == IDX_IMAGES ? "images" : "labels";
}

uint32_t idx_magic(idx_kind kind)
{
    return kind == IDX_IMAGES ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
}

void idx_free(idx_data *d)
{
    free(d->data);
    memset(d, 0, sizeof *d);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Make at least n (<= IN_BYTES) bytes of input available, fewer only at the
   end of the file; returns -1 with err set on a read error. */
static int fill_input(idx_file *f, size_t n, const char *reading, char *err, size_t errlen)
{
    z_stream *zs = &f->zs;
    if (zs->avail_in >= n)
        return 0;
    if (zs->avail_in > 0)
        memmove(f->in, zs->next_in, zs->avail_in);
    zs->next_in = f->in;
    while (zs->avail_in < n) {
        ssize_t r = read(f->fd, f->in + zs->avail_in, IN_BYTES - zs->avail_in);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(err, errlen, f->path,
                        "read error while reading the %s (%s); check the disk and the path", reading,
                        strerror(errno));
        if (r == 0)
            break;
        zs->avail_in += (uInt)r;
        f->file_pos += (uint64_t)r;
    }
    return 0;
}

/* The file offset of the next input byte inflate would read. */
static uint64_t input_offset(const idx_file *f)
{
    return f->file_pos - f->zs.avail_in;
}

/* Where a gzip member has ended: the end of the file, or another member.
   Concatenated members are one gzip file (RFC 1952 2.2; `cat a.gz b.gz` and
   gzip -d read them as one stream), so they are accepted and their data
   continues the IDX payload, which is then checked as a whole (an extra member
   holding more data is trailing IDX data).  Anything else after a member is
   an error, zero padding included.  Returns 1 at the end of the file, 0 when
   another member starts, -1 with err set. */
static int after_member(idx_file *f, const char *reading, char *err, size_t errlen)
{
    z_stream *zs = &f->zs;
    if (fill_input(f, 2, reading, err, errlen))
        return -1;
    if (zs->avail_in == 0)
        return 1;
    if (zs->avail_in < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b) {
        const uint64_t at = input_offset(f);
        struct stat st;
        uint64_t size = at + zs->avail_in; /* at least; fstat knows the rest */
        if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size > size)
            size = (uint64_t)st.st_size;
        return fail(err, errlen, f->path,
                    "%llu trailing bytes after the gzip stream, at offset %llu (expected the file to end"
                    " there); data was appended or the file is damaged: regenerate the file",
                    (unsigned long long)(size - at), (unsigned long long)at);
    }
    f->member_ended = 0;
    return inflateReset(zs) == Z_OK ? 0 : fail(err, errlen, f->path, "cannot restart zlib; fix the reader");
}

/* What inflate's error code means for the user. */
static int inflate_failed(const idx_file *f, int code, const char *reading, char *err, size_t errlen)
{
    if (code == Z_MEM_ERROR)
        return fail(err, errlen, f->path, "out of memory while reading the %s; free some memory", reading);
    return fail(err, errlen, f->path,
                "corrupt gzip data (zlib: %s, found while reading the %s); " FIX_DAMAGED,
                f->zs.msg ? f->zs.msg : zError(code), reading);
}

/* Decompress up to len bytes into buf, across gzip members; returns how many
   (fewer than len only at the end of the file), or -1 with err set. */
static long long gz_read(idx_file *f, uint8_t *buf, size_t len, const char *reading, char *err, size_t errlen)
{
    z_stream *zs = &f->zs;
    size_t have = 0;
    while (have < len) {
        if (f->member_ended) {
            int end = after_member(f, reading, err, errlen);
            if (end < 0)
                return -1;
            if (end)
                break;
        }
        if (fill_input(f, 1, reading, err, errlen))
            return -1;
        if (zs->avail_in == 0)
            return fail(err, errlen, f->path,
                        "gzip stream cut short (the file ends at byte %llu inside a gzip member, found while"
                        " reading the %s); " FIX_DAMAGED,
                        (unsigned long long)f->file_pos, reading);
        const size_t want = len - have < MAX_INFLATE ? len - have : MAX_INFLATE;
        zs->next_out = buf + have;
        zs->avail_out = (uInt)want;
        int rc = inflate(zs, Z_NO_FLUSH);
        have += want - zs->avail_out;
        if (rc == Z_STREAM_END)
            f->member_ended = 1;
        else if (rc != Z_OK)
            return inflate_failed(f, rc, reading, err, errlen);
    }
    return (long long)have;
}

static int check_magic(uint32_t magic, idx_kind kind, const char *path, char *err, size_t errlen)
{
    const uint32_t want = idx_magic(kind);
    if (magic == want)
        return 0;
    const char *expected = kind == IDX_IMAGES ? "an IDX image file" : "an IDX label file";
    const char *fix = "not an IDX file of unsigned bytes: check the path";
    if (kind == IDX_LABELS && magic == IDX_MAGIC_IMAGES)
        fix = "is this an image file given as labels?";
    else if (kind == IDX_IMAGES && magic == IDX_MAGIC_LABELS)
        fix = "is this a label file given as images?";
    else if (magic == __builtin_bswap32(want))
        fix = "the header was written little-endian; IDX sizes are big-endian";
    return fail(err, errlen, path, "wrong magic number 0x%08x (expected 0x%08x, %s); %s", magic, want,
                expected, fix);
}

/* Header sizes: within the limits, and the byte count fits in memory; sets
   d->bytes.  Each size is checked before the product is formed, in 64 bits:
   count < 2^24, rows and cols <= 2^12, so the product is < 2^48. */
static int check_sizes(idx_data *d, const char *path, char *err, size_t errlen)
{
    const char *noun = kind_noun(d->kind);
    if (d->count == 0)
        return fail(err, errlen, path,
                    "the header says the file holds 0 %s (expected at least 1); " FIX_DAMAGED, noun);
    if (d->count > IDX_MAX_COUNT)
        return fail(err, errlen, path,
                    "absurd count of %u %s in the header (expected at most %u); " FIX_DAMAGED, d->count, noun,
                    IDX_MAX_COUNT);
    if (d->rows == 0 || d->cols == 0 || d->rows > IDX_MAX_DIM || d->cols > IDX_MAX_DIM)
        return fail(err, errlen, path,
                    "absurd image size %ux%u in the header (expected 1..%u each); " FIX_DAMAGED, d->rows,
                    d->cols, IDX_MAX_DIM);
    const uint64_t bytes = (uint64_t)d->count * d->rows * d->cols;
    if (bytes > IDX_MAX_BYTES || bytes > SIZE_MAX)
        return fail(err, errlen, path,
                    "the header promises %llu data bytes (expected at most %llu); " FIX_DAMAGED,
                    (unsigned long long)bytes, (unsigned long long)IDX_MAX_BYTES);
    d->bytes = (size_t)bytes;
    return 0;
}

/* Read exactly d->bytes data bytes into a buffer grown as they arrive. */
static int read_data(idx_file *f, idx_data *d, char *err, size_t errlen)
{
    size_t cap = d->bytes < FIRST_CHUNK ? d->bytes : FIRST_CHUNK, have = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return fail(err, errlen, f->path, "out of memory for %zu bytes; free some memory", cap);
    while (have < d->bytes) {
        if (have == cap) {
            size_t grown = cap > d->bytes / 2 ? d->bytes : cap * 2;
            uint8_t *more = realloc(buf, grown);
            if (!more) {
                free(buf);
                return fail(err, errlen, f->path, "out of memory for %zu bytes; free some memory", grown);
            }
            buf = more, cap = grown;
        }
        long long r = gz_read(f, buf + have, cap - have, "data", err, errlen);
        if (r < 0) {
            free(buf);
            return -1;
        }
        have += (size_t)r;
        if (r == 0)
            break;
    }
    if (have < d->bytes) {
        free(buf);
        if (d->kind == IDX_IMAGES)
            return fail(
                err, errlen, f->path,
                "truncated file: the header promises %u images of %ux%u (expected %zu data bytes, got %zu,"
                " %zu whole images); " FIX_DAMAGED,
                d->count, d->rows, d->cols, d->bytes, have, have / ((size_t)d->rows * d->cols));
        return fail(
            err, errlen, f->path,
            "truncated file: the header promises %u labels (expected %zu data bytes, got %zu); " FIX_DAMAGED,
            d->count, d->bytes, have);
    }
    d->data = buf;
    return 0;
}

/* After the data: nothing may follow, neither inside the gzip stream nor
   after it, and the stream must end cleanly (CRC checked). */
static int check_end(idx_file *f, const idx_data *d, char *err, size_t errlen)
{
    uint8_t tail[4096];
    uint64_t extra = 0;
    long long r;
    while ((r = gz_read(f, tail, sizeof tail, "end of the stream", err, errlen)) > 0 &&
           (extra += (uint64_t)r) < MAX_TRAILING)
        ;
    if (r < 0)
        return -1;
    if (extra > 0)
        return fail(
            err, errlen, f->path,
            "trailing data after the %u %s the header promises (expected %zu data bytes, got %s%llu more);"
            " the header count is wrong or data was appended: regenerate the file",
            d->count, kind_noun(d->kind), d->bytes, extra >= MAX_TRAILING ? "at least " : "",
            (unsigned long long)extra);
    return 0;
}

/* The gzip magic, then the IDX header into f->hdr, checked. */
static int read_header(idx_file *f, idx_kind kind, char *err, size_t errlen)
{
    if (fill_input(f, 2, "gzip header", err, errlen))
        return -1;
    const z_stream *zs = &f->zs;
    if (zs->avail_in == 0)
        return fail(err, errlen, f->path,
                    "empty file (expected a gzip-compressed IDX %s file, got 0 bytes); " FIX_DAMAGED,
                    kind == IDX_IMAGES ? "image" : "label");
    if (zs->avail_in < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b) {
        char seen[32];
        if (zs->avail_in < 2)
            snprintf(seen, sizeof seen, "%02x, a 1-byte file", (unsigned)zs->next_in[0]);
        else
            snprintf(seen, sizeof seen, "%02x %02x", zs->next_in[0], zs->next_in[1]);
        return fail(
            err, errlen, f->path,
            "not a gzip file (expected first bytes 1f 8b, got %s); compress it with gzip, or check the path",
            seen);
    }
    /* the magic number first, so that a label file given as images is named as such */
    uint8_t hdr[16];
    const size_t hdr_bytes = 4 * (1 + (size_t)kind);
    long long got = gz_read(f, hdr, 4, "header", err, errlen);
    if (got == 4 && check_magic(be32(hdr), kind, f->path, err, errlen))
        return -1;
    if (got == 4) {
        long long rest = gz_read(f, hdr + 4, hdr_bytes - 4, "header", err, errlen);
        got = rest < 0 ? rest : got + rest;
    }
    if (got < 0)
        return -1;
    if (got < (long long)hdr_bytes)
        return fail(err, errlen, f->path,
                    "truncated IDX header (expected %zu bytes for %s, got %lld); " FIX_DAMAGED, hdr_bytes,
                    kind_noun(kind), got);
    idx_data d = {.kind = kind, .count = be32(hdr + 4), .rows = 1, .cols = 1};
    if (kind == IDX_IMAGES)
        d.rows = be32(hdr + 8), d.cols = be32(hdr + 12);
    if (check_sizes(&d, f->path, err, errlen))
        return -1;
    f->hdr = d;
    return 0;
}

static int open_failed(const char *path, int errnum, char *err, size_t errlen)
{
    const char *fix = errnum == ENOENT   ? FIX_MISSING
                      : errnum == EACCES ? "make the file readable"
                                         : "check the path";
    return fail(err, errlen, path, "cannot open file (expected a readable IDX file, got: %s); %s",
                strerror(errnum), fix);
}

int idx_open(const char *path, idx_kind kind, idx_file **out, idx_data *hdr, char *err, size_t errlen)
{
    *out = NULL;
    memset(hdr, 0, sizeof *hdr);
    if (kind != IDX_LABELS && kind != IDX_IMAGES)
        return fail(err, errlen, path,
                    "unknown IDX kind %d (expected IDX_LABELS or IDX_IMAGES); fix the caller", (int)kind);
    size_t size;
    char why[160];
    int fd = regular_open(path, &size, why, sizeof why);
    if (fd < 0)
        return errno ? open_failed(path, errno, err, errlen)
                     : fail(err, errlen, path, "%s (expected a gzip-compressed IDX file); check the path", why);
    idx_file *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return fail(err, errlen, path, "out of memory for %zu bytes; free some memory", sizeof *f);
    }
    f->path = path;
    f->fd = fd;
    int rc = inflateInit2(&f->zs, 16 + MAX_WBITS); /* gzip wrapper only, as gzread */
    if (rc != Z_OK) {
        inflate_failed(f, rc, "gzip header", err, errlen);
        idx_close(f);
        return -1;
    }
    if (read_header(f, kind, err, errlen)) {
        idx_close(f);
        return -1;
    }
    *out = f;
    *hdr = f->hdr;
    return 0;
}

int idx_read_data(idx_file *f, idx_data *out, char *err, size_t errlen)
{
    idx_data d = f->hdr;
    memset(out, 0, sizeof *out);
    if (read_data(f, &d, err, errlen))
        return -1;
    if (check_end(f, &d, err, errlen)) {
        idx_free(&d);
        return -1;
    }
    *out = d;
    return 0;
}

void idx_close(idx_file *f)
{
    if (!f)
        return;
    inflateEnd(&f->zs);
    close(f->fd);
    free(f);
}

int idx_read(const char *path, idx_kind kind, idx_data *out, char *err, size_t errlen)
{
    idx_file *f;
    int rc = idx_open(path, kind, &f, out, err, errlen);
    if (rc == 0)
        rc = idx_read_data(f, out, err, errlen);
    idx_close(f);
    return rc;
}
