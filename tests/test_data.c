/* tests/test_data.c — the IDX reader and the Fashion-MNIST loader.
 *
 * Generated files (written into test_tmpdir() with zlib and plain stdio): each
 * kind of damage must give ITS error — the test asserts a distinctive part of
 * the message and that the message names the file — and a good file must load
 * exactly the bytes written.  Then the real data set from Debian's
 * dataset-fashion-mnist: sizes, a balanced 6,000 / 1,000 per class, and CRC-32s
 * of the content.  A missing data set FAILS (with a note to run `make deps`),
 * it is not skipped.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "tests/testing.h"

/* ---- writing test files ---------------------------------------------------- */

/* TMPDIR/data/NAME; the result stays valid for the next three calls. */
static const char *tmp_path(const char *name)
{
    static char ring[4][512];
    static int next;
    char *path = ring[next++ % 4];
    snprintf(path, 512, "%s/data", test_tmpdir());
    mkdir(path, 0777);
    snprintf(path, 512, "%s/data/%s", test_tmpdir(), name);
    return path;
}

/* A fresh directory for one generated split; returns its path (static). */
static const char *tmp_split_dir(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp_path(name));
    mkdir(dir, 0777);
    return dir;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An IDX file in memory: header with the given magic and sizes (rows, cols
   only for images), then data_bytes bytes of body (may differ from what the
   header promises).  Returns the total size; *buf is test_alloc'ed. */
static size_t make_idx(uint8_t **buf, uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                       const uint8_t *body, size_t data_bytes)
{
    const size_t hdr = (magic & 0xff) == 3 ? 16 : 8;
    *buf = test_alloc(hdr + data_bytes);
    put_be32(*buf, magic);
    put_be32(*buf + 4, count);
    if (hdr == 16)
        put_be32(*buf + 8, rows), put_be32(*buf + 12, cols);
    if (data_bytes > 0)
        memcpy(*buf + hdr, body, data_bytes);
    return hdr + data_bytes;
}

static void write_gz(const char *path, const uint8_t *bytes, size_t n)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz)
        fail_msg("cannot create %s", path);
    if (n > 0 && gzwrite(gz, bytes, (unsigned)n) != (int)n)
        fail_msg("cannot write %s", path);
    if (gzclose(gz) != Z_OK)
        fail_msg("cannot close %s", path);
}

static void write_plain(const char *path, const uint8_t *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n > 0 && fwrite(bytes, 1, n, f) != n) || fclose(f) != 0)
        fail_msg("cannot write %s", path);
}

/* make_idx, then write it gzipped (gz) or plain. */
static void write_idx(const char *path, int gz, uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                      const uint8_t *body, size_t data_bytes)
{
    uint8_t *file;
    size_t n = make_idx(&file, magic, count, rows, cols, body, data_bytes);
    if (gz)
        write_gz(path, file, n);
    else
        write_plain(path, file, n);
    free(file);
}

/* Whole file into a test_alloc'ed buffer. */
static size_t read_plain(const char *path, uint8_t **buf)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = test_alloc((size_t)n);
    if (fread(*buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    fclose(f);
    return (size_t)n;
}

/* Deterministic bytes, incompressible (so cutting a gzip file cuts its data). */
static void fill_bytes(uint8_t *p, size_t n, uint32_t seed, uint32_t modulo)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)((x >> 24) % modulo);
    }
}

/* Write a gzipped split: DIR/SPLIT-images-idx3-ubyte.gz and the labels file. */
static void write_split(const char *dir, uint32_t images, uint32_t rows, uint32_t cols, const uint8_t *labels,
                        uint32_t nlabels)
{
    char path[600];
    const size_t px = (size_t)images * rows * cols;
    uint8_t *pixels = test_alloc(px), *file;
    fill_bytes(pixels, px, 7, 256);
    size_t n = make_idx(&file, IDX_MAGIC_IMAGES, images, rows, cols, pixels, px);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    write_gz(path, file, n);
    free(file);
    n = make_idx(&file, IDX_MAGIC_LABELS, nlabels, 0, 0, labels, nlabels);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_gz(path, file, n);
    free(file);
    free(pixels);
}

/* ---- checking errors --------------------------------------------------------- */

/* The call failed, and its message names `names` and contains `what`. */
static void expect_error(int rc, const char *err, const char *names, const char *what)
{
    if (rc != -1)
        fail_msg("expected an error containing '%s', but the call returned %d", what, rc);
    if (!strstr(err, names) || !strstr(err, ": error: ") || !strstr(err, what))
        fail_msg("expected an error naming %s and containing '%s', got:\n  %s", names, what, err);
}

static void expect_idx_error(const char *path, idx_kind kind, const char *what)
{
    char err[1024] = "";
    idx_data d;
    memset(&d, 0x5a, sizeof d);
    expect_error(idx_read(path, kind, &d, err, sizeof err), err, path, what);
    assert_null(d.data);
    assert_int_equal(d.count, 0);
}

static void expect_fmnist_error(const char *dir, const char *split, const char *names, const char *what)
{
    char err[2048] = "";
    fmnist_split s;
    memset(&s, 0x5a, sizeof s);
    expect_error(fmnist_load(dir, split, &s, err, sizeof err), err, names, what);
    assert_null(s.images);
    assert_null(s.labels);
    assert_int_equal(s.count, 0);
}

/* ---- the IDX reader: good files ----------------------------------------------- */

static void test_idx_good_images_roundtrip(void **state)
{
    const char *path = tmp_path("good-images.gz");
    uint8_t body[3 * 5 * 7], *file;
    fill_bytes(body, sizeof body, 1, 256);
    size_t n = make_idx(&file, IDX_MAGIC_IMAGES, 3, 5, 7, body, sizeof body);
    write_gz(path, file, n);
    free(file);

    char err[512] = "";
    idx_data d;
    if (idx_read(path, IDX_IMAGES, &d, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(d.kind, IDX_IMAGES);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.rows, 5);
    assert_int_equal(d.cols, 7);
    assert_int_equal(d.bytes, sizeof body);
    assert_memory_equal(d.data, body, sizeof body);
    idx_free(&d);
    assert_null(d.data);
    idx_free(&d); /* twice is harmless */
}

/* Larger than the reader's first buffer (1 MiB), so the buffer has to grow. */
static void test_idx_good_labels_roundtrip(void **state)
{
    const char *path = tmp_path("good-labels.gz");
    const uint32_t count = 3u << 20;
    uint8_t *body = test_alloc(count), *file;
    fill_bytes(body, count, 2, 10);
    size_t n = make_idx(&file, IDX_MAGIC_LABELS, count, 0, 0, body, count);
    write_gz(path, file, n);
    free(file);

    char err[512] = "";
    idx_data d;
    if (idx_read(path, IDX_LABELS, &d, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(d.count, count);
    assert_int_equal(d.rows, 1);
    assert_int_equal(d.cols, 1);
    assert_int_equal(d.bytes, count);
    assert_memory_equal(d.data, body, count);
    idx_free(&d);
    free(body);
}

/* ---- the IDX reader: each damage, its own error ----------------------------------- */

static void test_idx_truncated_images(void **state)
{
    const char *path = tmp_path("truncated-images.gz");
    uint8_t body[4 * 784 + 392]; /* 4.5 of the 5 images the header promises */
    fill_bytes(body, sizeof body, 3, 256);
    write_idx(path, 1, IDX_MAGIC_IMAGES, 5, 28, 28, body, sizeof body);
    expect_idx_error(
        path, IDX_IMAGES,
        "truncated file: the header promises 5 images of 28x28 (expected 3920 data bytes, got 3528,"
        " 4 whole images)");
}

static void test_idx_truncated_labels(void **state)
{
    const char *path = tmp_path("truncated-labels.gz");
    const uint8_t body[7] = {1, 2, 3, 4, 5, 6, 7};
    write_idx(path, 1, IDX_MAGIC_LABELS, 10, 0, 0, body, sizeof body);
    expect_idx_error(path, IDX_LABELS,
                     "truncated file: the header promises 10 labels (expected 10 data bytes, got 7)");
}

static void test_idx_truncated_header(void **state)
{
    const char *path = tmp_path("truncated-header.gz");
    uint8_t *file;
    make_idx(&file, IDX_MAGIC_IMAGES, 5, 28, 28, NULL, 0);
    write_gz(path, file, 10);
    free(file);
    expect_idx_error(path, IDX_IMAGES, "truncated IDX header (expected 16 bytes for images, got 10)");
}

static void test_idx_trailing_data(void **state)
{
    const char *path = tmp_path("trailing.gz");
    const uint8_t body[5] = {1, 2, 3, 4, 5};
    write_idx(path, 1, IDX_MAGIC_LABELS, 3, 0, 0, body, sizeof body);
    expect_idx_error(
        path, IDX_LABELS,
        "trailing data after the 3 labels the header promises (expected 3 data bytes, got 2 more)");
}

static void test_idx_wrong_magic(void **state)
{
    uint8_t body[2 * 4] = {0};
    const char *images = tmp_path("magic-images.gz");
    write_idx(images, 1, IDX_MAGIC_IMAGES, 2, 2, 2, body, sizeof body);
    expect_idx_error(
        images, IDX_LABELS,
        "wrong magic number 0x00000803 (expected 0x00000801, an IDX label file); is this an image file"
        " given as labels?");

    const char *labels = tmp_path("magic-labels.gz");
    write_idx(labels, 1, IDX_MAGIC_LABELS, 2, 0, 0, body, 2);
    expect_idx_error(labels, IDX_IMAGES,
                     "wrong magic number 0x00000801 (expected 0x00000803, an IDX image file); is"
                     " this a label file given as images?");

    const char *other = tmp_path("magic-other.gz");
    write_idx(other, 1, 0x00000d03, 2, 2, 2, body, sizeof body); /* doubles, not bytes */
    expect_idx_error(other, IDX_IMAGES,
                     "wrong magic number 0x00000d03 (expected 0x00000803, an IDX image file); not"
                     " an IDX file of unsigned bytes");
}

static void test_idx_absurd_header(void **state)
{
    const char *count = tmp_path("absurd-count.gz");
    write_idx(count, 1, IDX_MAGIC_LABELS, 0xffffffffu, 0, 0, NULL, 0);
    expect_idx_error(count, IDX_LABELS,
                     "absurd count of 4294967295 labels in the header (expected at most 10000000)");

    const char *dims = tmp_path("absurd-dims.gz");
    write_idx(dims, 1, IDX_MAGIC_IMAGES, 1, 65536, 28, NULL, 0);
    expect_idx_error(dims, IDX_IMAGES, "absurd image size 65536x28 in the header (expected 1..4096 each)");

    const char *big = tmp_path("absurd-bytes.gz"); /* each size within its limit, the product not */
    write_idx(big, 1, IDX_MAGIC_IMAGES, 10000000, 4096, 4096, NULL, 0);
    expect_idx_error(big, IDX_IMAGES,
                     "the header promises 167772160000000 data bytes (expected at most 4294967296)");

    const char *zero = tmp_path("zero-count.gz");
    write_idx(zero, 1, IDX_MAGIC_LABELS, 0, 0, 0, NULL, 0);
    expect_idx_error(zero, IDX_LABELS, "the header says the file holds 0 labels (expected at least 1)");
}

static void test_idx_not_gzip(void **state)
{
    const char *path = tmp_path("plain-idx");
    const uint8_t body[3] = {1, 2, 3};
    write_idx(path, 0, IDX_MAGIC_LABELS, 3, 0, 0, body, sizeof body);
    expect_idx_error(path, IDX_LABELS, "not a gzip file (expected first bytes 1f 8b, got 00 00)");

    const char *one = tmp_path("one-byte");
    write_plain(one, (const uint8_t[]){0x1f}, 1);
    expect_idx_error(one, IDX_LABELS, "not a gzip file (expected first bytes 1f 8b, got 1f, a 1-byte file)");
}

static void test_idx_empty_file(void **state)
{
    const char *path = tmp_path("empty.gz");
    write_plain(path, NULL, 0);
    expect_idx_error(path, IDX_IMAGES, "empty file (expected a gzip-compressed IDX image file, got 0 bytes)");

    /* a valid gzip stream of nothing: empty after decompression */
    const char *nothing = tmp_path("empty-stream.gz");
    write_gz(nothing, NULL, 0);
    expect_idx_error(nothing, IDX_LABELS, "truncated IDX header (expected 8 bytes for labels, got 0)");
}

static void test_idx_missing_file(void **state)
{
    const char *path = tmp_path("no-such-file.gz");
    remove(path);
    expect_idx_error(path, IDX_IMAGES,
                     "cannot open file (expected a readable IDX file, got: No such file or directory);"
                     " install Debian's dataset-fashion-mnist (make deps)");
    expect_idx_error(test_tmpdir(), IDX_IMAGES, "is a directory");
}

/* A reader blocked on a FIFO would hang the whole suite: end it loudly instead. */
static void blocked_too_long(int sig)
{
    (void)sig;
    static const char msg[] = "test_data: error: idx_read blocked for 10 s on a FIFO (expected an"
                              " immediate 'not a regular file' error)\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(1);
}

/* A FIFO has no writer, so opening it for reading blocks: it must be refused
   as not a regular file, at once.  A character device likewise. */
static void test_idx_not_regular_file(void **state)
{
    const char *fifo = tmp_path("fifo.gz");
    remove(fifo);
    if (mkfifo(fifo, 0600) != 0)
        fail_msg("cannot create the FIFO %s", fifo);
    signal(SIGALRM, blocked_too_long);
    alarm(10);
    expect_idx_error(fifo, IDX_IMAGES, "is a FIFO (named pipe), not a regular file");
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    remove(fifo);

    expect_idx_error("/dev/null", IDX_LABELS, "is a character device, not a regular file");
}

/* A valid 10-byte gzip header, then a body that is not deflate data: 0xff
   starts a final block of the reserved type 3. */
static void test_idx_corrupt_gzip(void **state)
{
    const char *path = tmp_path("corrupt.gz");
    uint8_t file[10 + 64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memset(file + 10, 0xff, 64);
    write_plain(path, file, sizeof file);
    expect_idx_error(path, IDX_IMAGES, "corrupt gzip data (zlib: invalid block type");
}

/* A good file with its gzip trailer's CRC-32 altered: all data decompresses,
   the check at the end must catch it. */
static void test_idx_bad_crc(void **state)
{
    const char *path = tmp_path("bad-crc.gz");
    uint8_t body[100], *file;
    fill_bytes(body, sizeof body, 4, 10);
    write_idx(path, 1, IDX_MAGIC_LABELS, 100, 0, 0, body, sizeof body);
    size_t n = read_plain(path, &file);
    file[n - 8] ^= 1; /* trailer: CRC-32, then the length, little-endian */
    write_plain(path, file, n);
    free(file);
    expect_idx_error(path, IDX_LABELS, "corrupt gzip data (zlib: incorrect data check");
}

/* A good gzip file cut in half (as by an interrupted copy). */
static void test_idx_cut_gzip_stream(void **state)
{
    const char *path = tmp_path("cut.gz");
    uint8_t body[20000], *file;
    fill_bytes(body, sizeof body, 5, 256);
    write_idx(path, 1, IDX_MAGIC_LABELS, sizeof body, 0, 0, body, sizeof body);
    size_t n = read_plain(path, &file);
    write_plain(path, file, n / 2);
    free(file);
    char what[100];
    snprintf(what, sizeof what, "gzip stream cut short (the file ends at byte %zu inside a gzip member",
             n / 2);
    expect_idx_error(path, IDX_LABELS, what);
}

/* A good gzip file with `extra` bytes appended after its last member; returns
   the good file's size, which is where the extra bytes start. */
static size_t write_gz_then(const char *path, const uint8_t *extra, size_t n_extra)
{
    const uint8_t body[3] = {1, 2, 3};
    write_idx(path, 1, IDX_MAGIC_LABELS, 3, 0, 0, body, sizeof body);
    uint8_t *file;
    size_t n = read_plain(path, &file);
    uint8_t *all = test_alloc(n + n_extra);
    memcpy(all, file, n);
    memcpy(all + n, extra, n_extra);
    write_plain(path, all, n + n_extra);
    free(all);
    free(file);
    return n;
}

/* Bytes after the gzip stream: zlib's gzread ignores them silently; the reader
   must not.  Junk text, zero padding, and a lone first byte of a gzip magic. */
static void test_idx_junk_after_gzip(void **state)
{
    const struct {
        const char *name;
        const uint8_t *bytes;
        size_t n;
    } junk[] = {
        {"junk-text.gz", (const uint8_t *)"appended junk\n", 14},
        {"junk-zeros.gz", (const uint8_t[512]){0}, 512},
        {"junk-1f.gz", (const uint8_t[]){0x1f}, 1},
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        const char *path = tmp_path(junk[i].name);
        size_t at = write_gz_then(path, junk[i].bytes, junk[i].n);
        char what[200];
        snprintf(what, sizeof what, "%zu trailing bytes after the gzip stream, at offset %zu", junk[i].n, at);
        expect_idx_error(path, IDX_LABELS, what);
    }
}

/* Concatenated gzip members are one gzip file (RFC 1952, `cat a.gz b.gz`) and
   are read as one stream: split anywhere, even inside the IDX header, and with
   an empty member, the same data comes out; data in an extra member past what
   the header promises is trailing IDX data, as in a single member. */
static void test_idx_concatenated_members(void **state)
{
    uint8_t body[1000], *idx;
    fill_bytes(body, sizeof body, 6, 10);
    size_t n = make_idx(&idx, IDX_MAGIC_LABELS, sizeof body, 0, 0, body, sizeof body);
    const char *parts[3] = {tmp_path("member-1.gz"), tmp_path("member-2.gz"), tmp_path("member-3.gz")};
    write_gz(parts[0], idx, 5);
    write_gz(parts[1], NULL, 0);
    write_gz(parts[2], idx + 5, n - 5);
    uint8_t *whole = test_alloc(3 * n + 1000), *member;
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        size_t m = read_plain(parts[i], &member);
        memcpy(whole + len, member, m);
        len += m;
        free(member);
    }
    const char *path = tmp_path("members.gz");
    write_plain(path, whole, len);

    char err[512] = "";
    idx_data d;
    if (idx_read(path, IDX_LABELS, &d, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(d.count, sizeof body);
    assert_memory_equal(d.data, body, sizeof body);
    idx_free(&d);

    /* a fourth member holding two more bytes */
    const uint8_t more[2] = {7, 7};
    write_gz(parts[0], more, sizeof more);
    size_t m = read_plain(parts[0], &member);
    memcpy(whole + len, member, m);
    free(member);
    write_plain(path, whole, len + m);
    expect_idx_error(path, IDX_LABELS,
                     "trailing data after the 1000 labels the header promises (expected 1000 data bytes,"
                     " got 2 more)");
    free(whole);
    free(idx);
}

/* A short error buffer gets a truncated, terminated message; none at all is allowed. */
static void test_idx_small_error_buffer(void **state)
{
    idx_data d;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(idx_read(tmp_path("no-such-file.gz"), IDX_LABELS, &d, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(idx_read(tmp_path("no-such-file.gz"), IDX_LABELS, &d, NULL, 0), -1);
    assert_null(d.data);
}

/* ---- the Fashion-MNIST loader on generated splits ------------------------------------ */

static void test_fmnist_good_split(void **state)
{
    const char *dir = tmp_split_dir("split-good");
    const uint8_t labels[4] = {0, 9, 3, 9};
    write_split(dir, 4, 28, 28, labels, 4);

    char err[1024] = "";
    fmnist_split s;
    if (fmnist_load(dir, "train", &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(s.count, 4);
    assert_int_equal(s.rows, 28);
    assert_int_equal(s.cols, 28);
    assert_memory_equal(s.labels, labels, 4);
    uint8_t pixels[4 * 784];
    fill_bytes(pixels, sizeof pixels, 7, 256);
    assert_memory_equal(s.images, pixels, sizeof pixels);
    fmnist_free(&s);
    assert_null(s.images);
    fmnist_free(&s);
}

static void test_fmnist_count_mismatch(void **state)
{
    const char *dir = tmp_split_dir("split-mismatch");
    const uint8_t labels[4] = {1, 2, 3, 4};
    write_split(dir, 5, 28, 28, labels, 4);
    char images[600], labels_path[600];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(labels_path, sizeof labels_path, "%s/train-labels-idx1-ubyte.gz", dir);
    expect_fmnist_error(dir, "train", images, "5 images but ");
    expect_fmnist_error(dir, "train", labels_path, " holds 4 labels (expected the same count)");
}

static void test_fmnist_label_out_of_range(void **state)
{
    const char *dir = tmp_split_dir("split-label10");
    const uint8_t labels[5] = {0, 9, 5, 10, 1};
    write_split(dir, 5, 28, 28, labels, 5);
    char labels_path[600];
    snprintf(labels_path, sizeof labels_path, "%s/train-labels-idx1-ubyte.gz", dir);
    expect_fmnist_error(dir, "train", labels_path, "label 10 at index 3 (expected 0..9)");
}

static void test_fmnist_wrong_image_size(void **state)
{
    const char *dir = tmp_split_dir("split-32x32");
    const uint8_t labels[2] = {0, 1};
    write_split(dir, 2, 32, 32, labels, 2);
    char images[600];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", dir);
    expect_fmnist_error(dir, "train", images, "images are 32x32 (expected 28x28, Fashion-MNIST)");
}

/* Write DIR/SPLIT-KIND-idxN-ubyte.gz whose header promises `count` items but
   which holds only `have` of them (so the data, if read, is truncated). */
static void write_promise(const char *dir, const char *split, idx_kind kind, uint32_t count, uint32_t rows,
                          uint32_t cols, uint32_t have, char *path, size_t pathlen)
{
    const size_t per = kind == IDX_IMAGES ? (size_t)rows * cols : 1;
    uint8_t *body = test_alloc(have * per);
    memset(body, 0, have * per);
    snprintf(path, pathlen, "%s/%s-%s", dir, split,
             kind == IDX_IMAGES ? "images-idx3-ubyte.gz" : "labels-idx1-ubyte.gz");
    write_idx(path, 1, idx_magic(kind), count, rows, cols, body, have * per);
    free(body);
}

/* The headers are checked against the split's known size and against each
   other BEFORE any data is read (a lying header must not make the loader
   decompress and allocate gigabytes): each file below promises more than it
   holds, so an error about truncation would mean the data was read first. */
static void test_fmnist_header_limits(void **state)
{
    const char *dir = tmp_split_dir("split-promises");
    char images[600], labels[600];
    write_promise(dir, "train", IDX_LABELS, 4, 0, 0, 4, labels, sizeof labels);
    write_promise(dir, "train", IDX_IMAGES, 5000000, 28, 28, 2, images, sizeof images);
    expect_fmnist_error(dir, "train", images,
                        "the header promises 5000000 images (expected at most 60000 for split train, its "
                        "size in Fashion-MNIST)");

    write_promise(dir, "t10k", IDX_LABELS, 10001, 0, 0, 10001, labels, sizeof labels);
    write_promise(dir, "t10k", IDX_IMAGES, 10001, 28, 28, 2, images, sizeof images);
    expect_fmnist_error(dir, "t10k", images,
                        "the header promises 10001 images (expected at most 10000 for split t10k, its size "
                        "in Fashion-MNIST)");

    write_promise(dir, "train", IDX_IMAGES, 4, 28, 28, 2, images, sizeof images);
    write_promise(dir, "train", IDX_LABELS, 5000000, 0, 0, 4, labels, sizeof labels);
    expect_fmnist_error(dir, "train", labels, " holds 5000000 labels (expected the same count)");

    write_promise(dir, "train", IDX_IMAGES, 4, 4096, 4096, 1, images, sizeof images);
    expect_fmnist_error(dir, "train", images, "images are 4096x4096 (expected 28x28, Fashion-MNIST)");
}

/* File-level errors come through with the file's path: a split with its
   label file missing, and one whose label file is truncated. */
static void test_fmnist_file_errors(void **state)
{
    const char *dir = tmp_split_dir("split-nolabels");
    const uint8_t labels[2] = {0, 1};
    write_split(dir, 2, 28, 28, labels, 2);
    char path[600];
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    remove(path);
    expect_fmnist_error(dir, "train", path,
                        "No such file or directory); install Debian's dataset-fashion-mnist");

    write_idx(path, 1, IDX_MAGIC_LABELS, 2, 0, 0, labels, 1);
    expect_fmnist_error(dir, "train", path, "truncated file: the header promises 2 labels");
    expect_fmnist_error(tmp_path("no-such-dir"), "t10k", "no-such-dir/t10k-images-idx3-ubyte.gz",
                        "(make deps)");
}

static void test_fmnist_unknown_split(void **state)
{
    expect_fmnist_error(NULL, "test", FMNIST_DEFAULT_DIR, "unknown split 'test' (expected train or t10k)");
    expect_fmnist_error("/x", NULL, "/x", "unknown split '(null)'");
}

static void test_fmnist_class_names(void **state)
{
    static const char *const want[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    for (int c = 0; c < FMNIST_CLASSES; c++)
        assert_string_equal(fmnist_class_name(c), want[c]);
    assert_null(fmnist_class_name(-1));
    assert_null(fmnist_class_name(10));
}

/* ---- the real data set ----------------------------------------------------------------- */

typedef struct real_split {
    const char *name;
    size_t count;
    uint32_t crc_images, crc_labels; /* zlib CRC-32 of all image bytes / all label bytes */
    unsigned first_image_sum;        /* sum of the 784 bytes of image 0 */
    uint8_t first_labels[10];
} real_split;

/* The expected numbers were derived once with a Python script, independent of
   this reader, from the files of dataset-fashion-mnist:
     im = gzip.open(DIR + '/train-images-idx3-ubyte.gz').read()[16:]
     lb = gzip.open(DIR + '/train-labels-idx1-ubyte.gz').read()[8:]
     zlib.crc32(im), zlib.crc32(lb), sum(im[:784]), list(lb[:10])
   (and the same for t10k).  The first labels agree with Zalando's README
   (train image 0 is an ankle boot). */
static const real_split real_train = {"train",     60000, 0xae65dccdu,
                                      0x2ed6e46au, 76247, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}};
static const real_split real_t10k = {"t10k",      10000, 0x12728439u,
                                     0x242bc73fu, 33456, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}};

static void check_real_split(const real_split *want)
{
    char err[1024] = "";
    fmnist_split s;
    if (fmnist_load(FMNIST_DEFAULT_DIR, want->name, &s, err, sizeof err) != 0)
        fail_msg(
            "%s\nnote: the real Fashion-MNIST is missing or damaged: run `make deps` (it installs Debian's "
            "dataset-fashion-mnist into " FMNIST_DEFAULT_DIR ")",
            err);
    assert_int_equal(s.count, want->count);
    assert_int_equal(s.rows, 28);
    assert_int_equal(s.cols, 28);

    size_t per_class[FMNIST_CLASSES] = {0};
    for (size_t i = 0; i < s.count; i++)
        per_class[s.labels[i]]++;
    for (int c = 0; c < FMNIST_CLASSES; c++)
        if (per_class[c] != want->count / FMNIST_CLASSES)
            fail_msg("%s: class %d (%s) has %zu images (expected %zu)", want->name, c, fmnist_class_name(c),
                     per_class[c], want->count / FMNIST_CLASSES);

    unsigned sum = 0;
    for (int i = 0; i < 28 * 28; i++)
        sum += s.images[i];
    assert_int_equal(sum, want->first_image_sum);
    assert_memory_equal(s.labels, want->first_labels, sizeof want->first_labels);
    assert_int_equal(crc32(0, s.labels, (uInt)s.count), want->crc_labels);
    assert_int_equal(crc32(0, s.images, (uInt)(s.count * 28 * 28)), want->crc_images);
    fmnist_free(&s);
}

static void test_fmnist_real_train(void **state)
{
    check_real_split(&real_train);
}
static void test_fmnist_real_t10k(void **state)
{
    check_real_split(&real_t10k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_good_images_roundtrip),
        cmocka_unit_test(test_idx_good_labels_roundtrip),
        cmocka_unit_test(test_idx_truncated_images),
        cmocka_unit_test(test_idx_truncated_labels),
        cmocka_unit_test(test_idx_truncated_header),
        cmocka_unit_test(test_idx_trailing_data),
        cmocka_unit_test(test_idx_wrong_magic),
        cmocka_unit_test(test_idx_absurd_header),
        cmocka_unit_test(test_idx_not_gzip),
        cmocka_unit_test(test_idx_empty_file),
        cmocka_unit_test(test_idx_missing_file),
        cmocka_unit_test(test_idx_not_regular_file),
        cmocka_unit_test(test_idx_corrupt_gzip),
        cmocka_unit_test(test_idx_bad_crc),
        cmocka_unit_test(test_idx_cut_gzip_stream),
        cmocka_unit_test(test_idx_junk_after_gzip),
        cmocka_unit_test(test_idx_concatenated_members),
        cmocka_unit_test(test_idx_small_error_buffer),
        cmocka_unit_test(test_fmnist_good_split),
        cmocka_unit_test(test_fmnist_count_mismatch),
        cmocka_unit_test(test_fmnist_label_out_of_range),
        cmocka_unit_test(test_fmnist_wrong_image_size),
        cmocka_unit_test(test_fmnist_header_limits),
        cmocka_unit_test(test_fmnist_file_errors),
        cmocka_unit_test(test_fmnist_unknown_split),
        cmocka_unit_test(test_fmnist_class_names),
        cmocka_unit_test(test_fmnist_real_train),
        cmocka_unit_test(test_fmnist_real_t10k),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
