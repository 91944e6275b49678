/* tests/test_checkpoint.c — checkpoints round-trip exactly and every kind of
 * damage or mismatch is refused with its own error. */
#include <math.h>
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

#include "models/checkpoint.h"
#include "tests/testing.h"

static model_desc small_resnet(int width)
{
    model_desc d = { "resnet", 1, width, 0.0f, 10, { 1, 12, 12 } };
    return d;
}

static void build(model *m, model_desc d, uint64_t seed)
{
    char err[256];
    if (model_build(m, &d, &conv_im2col, 2, err, sizeof err))
        fail_msg("%s", err);
    model_init_params(m, seed, CONV_INIT_HE_NORMAL);
    test_fill_uniform(m->adam_m, m->num_params, seed + 1);
    test_fill_uniform(m->adam_v, m->num_params, seed + 2);
    test_fill_uniform(m->state, m->num_state, seed + 3);
}

static const char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
    return p;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void save_reference(const char *path, model *m)
{
    char err[256];
    checkpoint_info info = { 7, 1234, 42, "epoch,loss\n1,0.5\n" };
    if (checkpoint_save(path, m, &info, err, sizeof err))
        fail_msg("%s", err);
}

static void test_round_trip_is_exact(void **state)
{
    model a, b;
    build(&a, small_resnet(4), 1);
    build(&b, small_resnet(4), 99);
    const char *p = path_of("ckpt_ok.bin");
    save_reference(p, &a);
    char err[256];
    checkpoint_info info;
    assert_int_equal(checkpoint_load(p, &b, CKPT_ALL, NULL, &info, err, sizeof err), 0);
    assert_memory_equal(a.params, b.params, a.num_params * sizeof(float));
    assert_memory_equal(a.state, b.state, a.num_state * sizeof(float));
    assert_memory_equal(a.adam_m, b.adam_m, a.num_params * sizeof(float));
    assert_memory_equal(a.adam_v, b.adam_v, a.num_params * sizeof(float));
    assert_int_equal(info.epochs, 7);
    assert_int_equal(info.steps, 1234);
    assert_int_equal(info.seed, 42);
    assert_string_equal(info.history, "epoch,loss\n1,0.5\n");
    free(info.history);
    /* weights only: the optimiser state is left alone */
    model c;
    build(&c, small_resnet(4), 5);
    float m0 = c.adam_m[0];
    assert_int_equal(checkpoint_load(p, &c, CKPT_WEIGHTS, NULL, &info, err, sizeof err), 0);
    free(info.history);
    assert_memory_equal(a.params, c.params, a.num_params * sizeof(float));
    assert_true(c.adam_m[0] == m0);
    model_free(&a), model_free(&b), model_free(&c);
}

/* With a moving average (version 2): it comes back exactly; a version-1 file
   and a run that keeps an average, or the other way round, are refused with
   what to do; the fine-tuning loader takes the average's trunk. */
static void test_moving_average_round_trip(void **state)
{
    model a, b;
    build(&a, small_resnet(4), 1);
    build(&b, small_resnet(4), 99);
    const size_t n = a.num_params + a.num_state;
    float *ema = test_alloc(n * sizeof *ema), *back = test_alloc(n * sizeof *back);
    test_fill_uniform(ema, n, 7);
    char p[512], v1[512]; /* path_of's buffer is shared */
    snprintf(p, sizeof p, "%s", path_of("ckpt_ema.bin"));
    snprintf(v1, sizeof v1, "%s", path_of("ckpt_no_ema.bin"));
    char err[256];
    checkpoint_info info = { 7, 1234, 42, "epoch,loss\n1,0.5\n", ema };
    assert_int_equal(checkpoint_save(p, &a, &info, err, sizeof err), 0);
    save_reference(v1, &a);
    assert_int_equal(file_size(p), file_size(v1) + (long)(n * sizeof(float)));
    assert_int_equal(checkpoint_load(p, &b, CKPT_ALL, back, &info, err, sizeof err), 0);
    assert_memory_equal(back, ema, n * sizeof *ema);
    assert_memory_equal(a.params, b.params, a.num_params * sizeof(float));
    assert_string_equal(info.history, "epoch,loss\n1,0.5\n");
    free(info.history);

    assert_int_equal(checkpoint_load(p, &b, CKPT_ALL, NULL, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds a moving average of the weights, which this run does not keep"));
    assert_int_equal(checkpoint_load(v1, &b, CKPT_ALL, back, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "holds no moving average of the weights, which this run keeps"));

    /* the trunk of the average: every layer but the head holds ema's values */
    model c;
    build(&c, small_resnet(4), 5);
    uint32_t crc;
    assert_int_equal(checkpoint_load_trunk(p, &c, &crc, err, sizeof err), 0);
    const size_t head = c.layers[checkpoint_head_layer(&c)].param_off;
    assert_memory_equal(c.params, ema, head * sizeof(float));
    assert_memory_equal(c.state, ema + a.num_params, a.num_state * sizeof(float));
    free(ema), free(back);
    model_free(&a), model_free(&b), model_free(&c);
}

/* Copies the reference checkpoint with bytes changed, then expects `needle` in the error. */
static void expect_refused(const char *src, long offset, const void *bytes, size_t n, long truncate_to,
                           const char *needle)
{
    FILE *f = fopen(src, "rb");
    long size = file_size(src);
    unsigned char *data = test_alloc((size_t)size);
    assert_int_equal(fread(data, 1, (size_t)size, f), size);
    fclose(f);
    if (bytes)
        memcpy(data + offset, bytes, n);
    const char *dst = path_of("ckpt_bad.bin");
    f = fopen(dst, "wb");
    fwrite(data, 1, (size_t)(truncate_to >= 0 ? truncate_to : size), f);
    fclose(f);
    free(data);
    model m;
    build(&m, small_resnet(4), 3);
    char err[512] = "";
    checkpoint_info info;
    assert_int_equal(checkpoint_load(dst, &m, CKPT_ALL, NULL, &info, err, sizeof err), -1);
    if (!strstr(err, needle) || !strstr(err, dst))
        fail_msg("expected '%s' and the path in: %s", needle, err);
    model_free(&m);
}

static void test_damage_is_refused(void **state)
{
    model a;
    build(&a, small_resnet(4), 1);
    char p[512];
    snprintf(p, sizeof p, "%s", path_of("ckpt_ref.bin"));
    save_reference(p, &a);
    model_free(&a);
    const long size = file_size(p);
    expect_refused(p, 0, "NOTACKPT", 8, -1, "bad magic");
    const uint32_t newer = CHECKPOINT_VERSION + 1;
    expect_refused(p, 8, &newer, 4, -1, "newer");
    const unsigned char flip = 0x5a;
    expect_refused(p, size / 2, &flip, 1, -1, "checksum");
    expect_refused(p, 0, NULL, 0, size - 100, "checksum");
    expect_refused(p, 0, NULL, 0, 10, "truncated");
    expect_refused(p, 0, NULL, 0, 0, "bad magic");
    model m;
    build(&m, small_resnet(4), 1);
    char err[256];
    checkpoint_info info;
    assert_int_equal(checkpoint_load(path_of("no-such.bin"), &m, CKPT_ALL, NULL, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read"));
    model_free(&m);
}

static void test_other_model_is_refused(void **state)
{
    model a, wide, cnn;
    build(&a, small_resnet(4), 1);
    const char *p = path_of("ckpt_w4.bin");
    save_reference(p, &a);
    build(&wide, small_resnet(8), 1);
    char err[512];
    checkpoint_info info;
    assert_int_equal(checkpoint_load(p, &wide, CKPT_ALL, NULL, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "width 4"));
    assert_non_null(strstr(err, "width 8"));
    model_desc d = { "cnn", 0, 0, 0.5f, 10, { 1, 28, 28 } };
    assert_int_equal(model_build(&cnn, &d, &conv_im2col, 2, err, sizeof err), 0);
    assert_int_equal(checkpoint_load(p, &cnn, CKPT_ALL, NULL, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "'resnet'"));
    model_free(&a), model_free(&wide), model_free(&cnn);
}

/* ---- files written to attack: a valid CRC, lying contents ----------------------------- */

/* The reference checkpoint with `n` bytes at `offset` replaced and the CRC made
   valid again, written to ckpt_crafted.bin. */
static const char *crafted(const char *src, long offset, const void *bytes, size_t n)
{
    long len;
    char *data = test_read_bytes(src, &len);
    assert_non_null(data);
    memcpy(data + offset, bytes, n);
    const uint32_t crc = (uint32_t)crc32(0L, (const unsigned char *)data, (uInt)(len - 4));
    memcpy(data + len - 4, &crc, 4);
    const char *dst = path_of("ckpt_crafted.bin");
    FILE *f = fopen(dst, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    free(data);
    return dst;
}

/* Offsets in a version-1 file: the header, its history size (the last of its
   fields), the tensor table, one table entry. */
enum { HEADER_AT = 16, HISTORY_BYTES_AT = HEADER_AT + 80, TABLE_AT = HEADER_AT + 84, ENTRY_BYTES = 48 };

static void expect_load_error(const char *path, bool trunk, const char *needle)
{
    model m;
    build(&m, small_resnet(4), 3);
    char err[512] = "";
    checkpoint_info info;
    uint32_t crc;
    const int rc = trunk ? checkpoint_load_trunk(path, &m, &crc, err, sizeof err)
                         : checkpoint_load(path, &m, CKPT_ALL, NULL, &info, err, sizeof err);
    assert_int_equal(rc, -1);
    if (!strstr(err, needle) || !strstr(err, path))
        fail_msg("expected '%s' and the path in: %s", needle, err);
    model_free(&m);
}

static void on_alarm(int sig)
{
    (void)sig;
    fail_msg("the load blocked: a FIFO was opened as if it were a file");
}

static void test_not_a_regular_file_is_refused(void **state)
{
    const char *dir = path_of("ckpt_dir.bin");
    mkdir(dir, 0777);
    expect_load_error(dir, false, "not a regular file");
    expect_load_error(dir, true, "not a regular file");
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s", path_of("ckpt_fifo.bin"));
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    signal(SIGALRM, on_alarm);
    alarm(5);
    expect_load_error(fifo, false, "not a regular file");
    expect_load_error(fifo, true, "not a regular file");
    alarm(0);
    unlink(fifo);
}

static void test_oversized_file_is_refused(void **state)
{
    char sparse[512];
    snprintf(sparse, sizeof sparse, "%s", path_of("ckpt_sparse.bin"));
    FILE *f = fopen(sparse, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)64 << 30), 0); /* 64 GiB, no blocks */
    fclose(f);
    expect_load_error(sparse, false, "larger than");
    expect_load_error(sparse, true, "larger than");
    unlink(sparse);
}

/* Saves the reference model (kept in *a: free it) to a path of its own;
   *entries = the length of its tensor table. */
static const char *reference_with_table(const char *name, model *a, uint32_t *entries)
{
    static char p[4][512];
    static int next;
    char *path = p[next++ % 4];
    snprintf(path, 512, "%s", path_of(name));
    build(a, small_resnet(4), 1);
    save_reference(path, a);
    *entries = 0;
    for (int i = 0; i < a->num_layers; i++)
        *entries += a->layers[i].param_count || a->layers[i].state_count;
    return path;
}

static void test_header_size_is_checked(void **state)
{
    model a;
    uint32_t count;
    const char *p = reference_with_table("ckpt_ref3.bin", &a, &count);
    model_free(&a);
    const uint32_t zero = 0;
    expect_load_error(crafted(p, 12, &zero, 4), false, "header of 0 bytes");
    expect_load_error(crafted(p, 12, &zero, 4), true, "header of 0 bytes");
}

/* A tensor table whose sizes wrap a 64-bit sum back to the real total: the
   head's entry (skipped by the trunk loader) gains 2^18 parameters and
   2^62 - 2^18 statistics, so the statistics would be read 1 MiB past the data. */
static void test_overflowing_tensor_table_is_refused(void **state)
{
    model a;
    uint32_t count;
    const char *p = reference_with_table("ckpt_ref4.bin", &a, &count);
    const layer *head = &a.layers[checkpoint_head_layer(&a)];
    const uint64_t sizes[2] = { head->param_count + (1ull << 18), head->state_count + (1ull << 62) - (1ull << 18) };
    model_free(&a);
    const long at = TABLE_AT + 4 + (long)(count - 1) * ENTRY_BYTES + 32;
    expect_load_error(crafted(p, at, sizes, sizeof sizes), true, "tensor table");
    expect_load_error(crafted(p, at, sizes, sizeof sizes), false, "tensor table");
}

/* Sizes the file gives are checked before anything is allocated for them:
   a history longer than any run writes, or one the file does not hold, and
   a tensor count beyond the file or the model are errors, not allocations. */
static void test_sizes_from_the_file_are_checked(void **state)
{
    model a;
    uint32_t count;
    const char *p = reference_with_table("ckpt_ref6.bin", &a, &count);
    const uint32_t too_many = (uint32_t)a.num_layers + 1;
    model_free(&a);
    const uint32_t huge = UINT32_MAX, history_max = 1u << 20;
    for (int trunk = 0; trunk < 2; trunk++) {
        expect_load_error(crafted(p, HISTORY_BYTES_AT, &huge, 4), trunk, "history of 4294967295 bytes");
        expect_load_error(crafted(p, HISTORY_BYTES_AT, &history_max, 4), trunk, "data size");
    }
    expect_load_error(crafted(p, TABLE_AT, &huge, 4), true, "truncated tensor table");
    expect_load_error(crafted(p, TABLE_AT, &huge, 4), false, "tensor table differs");
    expect_load_error(crafted(p, TABLE_AT, &too_many, 4), true, "entries, but the model has");
}

static void test_non_finite_values_are_refused(void **state)
{
    model a;
    uint32_t count;
    const char *p = reference_with_table("ckpt_ref5.bin", &a, &count);
    model_free(&a);
    const float nan = NAN;
    const long data_at = TABLE_AT + 4 + (long)count * ENTRY_BYTES;
    expect_load_error(crafted(p, data_at, &nan, 4), false, "not finite");
    expect_load_error(crafted(p, data_at, &nan, 4), true, "not finite");
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_is_exact),
        cmocka_unit_test(test_moving_average_round_trip),
        cmocka_unit_test(test_damage_is_refused),
        cmocka_unit_test(test_other_model_is_refused),
        cmocka_unit_test(test_not_a_regular_file_is_refused),
        cmocka_unit_test(test_oversized_file_is_refused),
        cmocka_unit_test(test_header_size_is_checked),
        cmocka_unit_test(test_overflowing_tensor_table_is_refused),
        cmocka_unit_test(test_sizes_from_the_file_are_checked),
        cmocka_unit_test(test_non_finite_values_are_refused),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
