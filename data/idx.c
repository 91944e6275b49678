/* data/idx.c — read one gzip-compressed IDX file (see the header for the contract). */
#include "data/idx.h"

#include <errno.h>
#include <fcntl.h>
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
#define MAX_GZREAD ((size_t)1 << 30)  /* gzread takes an unsigned and returns an int */
#define MAX_TRAILING ((uint64_t)1 << 20)

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

/* After a failed or short gzread: say what zlib found, or 0 if it found nothing. */
static int gz_failed(gzFile gz, const char *path, const char *reading, char *err, size_t errlen)
{
    int code = Z_OK;
    const char *msg = gzerror(gz, &code);
    const char *colon = strstr(msg, ": "); /* zlib prefixes its message with "<fd:N>: " */
    msg = colon ? colon + 2 : msg;
    switch (code) {
    case Z_OK:
        return 0;
    case Z_BUF_ERROR:
        return fail(err, errlen, path,
                    "gzip stream cut short (zlib: %s, found while reading the %s); " FIX_DAMAGED, msg,
                    reading);
    case Z_ERRNO:
        return fail(err, errlen, path, "read error while reading the %s (%s); check the disk and the path",
                    reading, strerror(errno));
    case Z_MEM_ERROR:
        return fail(err, errlen, path, "out of memory while reading the %s; free some memory", reading);
    default:
        return fail(err, errlen, path,
                    "corrupt gzip data (zlib: %s, found while reading the %s); " FIX_DAMAGED, msg, reading);
    }
}

/* gzread until len bytes or the end; returns the count, or -1 on a zlib error. */
static long long gz_read_full(gzFile gz, uint8_t *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        size_t want = len - have < MAX_GZREAD ? len - have : MAX_GZREAD;
        int r = gzread(gz, buf + have, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        have += (size_t)r;
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

/* Header sizes: within the limits, and the byte count fits in memory. */
static int check_sizes(const idx_data *d, const char *path, char *err, size_t errlen)
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
    const uint64_t bytes = (uint64_t)d->count * d->rows * d->cols; /* < 2^24 · 2^12 · 2^12: no overflow */
    if (bytes > IDX_MAX_BYTES || bytes > SIZE_MAX)
        return fail(err, errlen, path,
                    "the header promises %llu data bytes (expected at most %llu); " FIX_DAMAGED,
                    (unsigned long long)bytes, (unsigned long long)IDX_MAX_BYTES);
    return 0;
}

/* Read exactly d->bytes data bytes into a buffer grown as they arrive. */
static int read_data(gzFile gz, idx_data *d, const char *path, char *err, size_t errlen)
{
    size_t cap = d->bytes < FIRST_CHUNK ? d->bytes : FIRST_CHUNK, have = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return fail(err, errlen, path, "out of memory for %zu bytes; free some memory", cap);
    while (have < d->bytes) {
        if (have == cap) {
            size_t grown = cap > d->bytes / 2 ? d->bytes : cap * 2;
            uint8_t *more = realloc(buf, grown);
            if (!more) {
                free(buf);
                return fail(err, errlen, path, "out of memory for %zu bytes; free some memory", grown);
            }
            buf = more, cap = grown;
        }
        long long r = gz_read_full(gz, buf + have, cap - have);
        if (r < 0 || (size_t)r < cap - have) {
            have += r > 0 ? (size_t)r : 0;
            break;
        }
        have += (size_t)r;
    }
    if (have < d->bytes) {
        free(buf);
        if (gz_failed(gz, path, "data", err, errlen))
            return -1;
        if (d->kind == IDX_IMAGES)
            return fail(
                err, errlen, path,
                "truncated file: the header promises %u images of %ux%u (expected %zu data bytes, got %zu,"
                " %zu whole images); " FIX_DAMAGED,
                d->count, d->rows, d->cols, d->bytes, have, have / ((size_t)d->rows * d->cols));
        return fail(
            err, errlen, path,
            "truncated file: the header promises %u labels (expected %zu data bytes, got %zu); " FIX_DAMAGED,
            d->count, d->bytes, have);
    }
    d->data = buf;
    return 0;
}

/* After the data: nothing may follow, and the stream must end cleanly (CRC checked). */
static int check_end(gzFile gz, const idx_data *d, const char *path, char *err, size_t errlen)
{
    uint8_t tail[4096];
    uint64_t extra = 0;
    int r;
    while ((r = gzread(gz, tail, sizeof tail)) > 0 && (extra += (uint64_t)r) < MAX_TRAILING)
        ;
    if (r <= 0 && gz_failed(gz, path, "end of the stream", err, errlen))
        return -1;
    if (extra > 0)
        return fail(
            err, errlen, path,
            "trailing data after the %u %s the header promises (expected %zu data bytes, got %s%llu more);"
            " the header count is wrong or data was appended: regenerate the file",
            d->count, kind_noun(d->kind), d->bytes, extra >= MAX_TRAILING ? "at least " : "",
            (unsigned long long)extra);
    return 0;
}

static int read_stream(gzFile gz, idx_kind kind, idx_data *out, const char *path, char *err, size_t errlen)
{
    /* the magic number first, so that a label file given as images is named as such */
    uint8_t hdr[16];
    const size_t hdr_bytes = 4 * (1 + (size_t)kind);
    long long got = gz_read_full(gz, hdr, 4);
    if (got == 4 && check_magic(be32(hdr), kind, path, err, errlen))
        return -1;
    if (got == 4) {
        long long rest = gz_read_full(gz, hdr + 4, hdr_bytes - 4);
        got = rest < 0 ? rest : got + rest;
    }
    if (got < (long long)hdr_bytes) {
        if (gz_failed(gz, path, "header", err, errlen))
            return -1;
        return fail(err, errlen, path,
                    "truncated IDX header (expected %zu bytes for %s, got %lld); " FIX_DAMAGED, hdr_bytes,
                    kind_noun(kind), got);
    }
    idx_data d = {.kind = kind, .count = be32(hdr + 4), .rows = 1, .cols = 1};
    if (kind == IDX_IMAGES)
        d.rows = be32(hdr + 8), d.cols = be32(hdr + 12);
    if (check_sizes(&d, path, err, errlen))
        return -1;
    d.bytes = (size_t)d.count * d.rows * d.cols;
    if (read_data(gz, &d, path, err, errlen))
        return -1;
    if (check_end(gz, &d, path, err, errlen)) {
        idx_free(&d);
        return -1;
    }
    *out = d;
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

static const char *file_type(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO (named pipe)"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

/* Open path for reading if it is a regular file; returns the descriptor, or -1
   with err set.  O_NONBLOCK makes open return at once on a FIFO without a
   writer (it would block forever otherwise); fstat on the descriptor then
   looks at the very file opened, with no race between a check and the open. */
static int open_regular(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return open_failed(path, errno, err, errlen);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, path, "cannot stat the open file (%s); check the path", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, path,
                    "is %s, not a regular file (expected a gzip-compressed IDX file); check"
                    " the path",
                    file_type(st.st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, path, "cannot set the file to blocking reads (%s); check the path",
                    strerror(e));
    }
    return fd;
}

int idx_read(const char *path, idx_kind kind, idx_data *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (kind != IDX_LABELS && kind != IDX_IMAGES)
        return fail(err, errlen, path,
                    "unknown IDX kind %d (expected IDX_LABELS or IDX_IMAGES); fix the caller", (int)kind);
    int fd = open_regular(path, err, errlen);
    if (fd < 0)
        return -1;
    uint8_t magic[2];
    size_t got = 0;
    while (got < 2) {
        ssize_t n = read(fd, magic + got, 2 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return fail(err, errlen, path, "read error (%s); check the disk and the path", strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got == 0) {
        close(fd);
        return fail(err, errlen, path,
                    "empty file (expected a gzip-compressed IDX %s file, got 0 bytes); " FIX_DAMAGED,
                    kind == IDX_IMAGES ? "image" : "label");
    }
    if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        char seen[32];
        if (got < 2)
            snprintf(seen, sizeof seen, "%02x, a 1-byte file", (unsigned)magic[0]);
        else
            snprintf(seen, sizeof seen, "%02x %02x", magic[0], magic[1]);
        close(fd);
        return fail(
            err, errlen, path,
            "not a gzip file (expected first bytes 1f 8b, got %s); compress it with gzip, or check the path",
            seen);
    }
    gzFile gz = lseek(fd, 0, SEEK_SET) == 0 ? gzdopen(fd, "rb") : NULL;
    if (!gz) {
        int e = errno;
        close(fd);
        return fail(err, errlen, path, "cannot start reading the gzip stream (%s); check the path",
                    strerror(e));
    }
    gzbuffer(gz, 1u << 17);
    int rc = read_stream(gz, kind, out, path, err, errlen);
    gzclose_r(gz); /* closes fd; read_stream has already checked every error it could report */
    return rc;
}
