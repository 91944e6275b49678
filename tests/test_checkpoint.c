/* tests/test_checkpoint.c — checkpoints round-trip exactly and every kind of
 * damage or mismatch is refused with its own error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    assert_int_equal(checkpoint_load(p, &b, CKPT_ALL, &info, err, sizeof err), 0);
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
    assert_int_equal(checkpoint_load(p, &c, CKPT_WEIGHTS, &info, err, sizeof err), 0);
    free(info.history);
    assert_memory_equal(a.params, c.params, a.num_params * sizeof(float));
    assert_true(c.adam_m[0] == m0);
    model_free(&a), model_free(&b), model_free(&c);
}

/* Copies the reference checkpoint with bytes changed, then expects `needle` in the error. */
static void expect_refused(const char *src, long offset, const void *bytes, size_t n, long truncate_to,
                           const char *needle)
{
    FILE *f = fopen(src, "rb");
    long size = file_size(src);
    unsigned char *data = malloc((size_t)size);
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
    assert_int_equal(checkpoint_load(dst, &m, CKPT_ALL, &info, err, sizeof err), -1);
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
    assert_int_equal(checkpoint_load(path_of("no-such.bin"), &m, CKPT_ALL, &info, err, sizeof err), -1);
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
    assert_int_equal(checkpoint_load(p, &wide, CKPT_ALL, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "width 4"));
    assert_non_null(strstr(err, "width 8"));
    model_desc d = { "cnn", 0, 0, 0.5f, 10, { 1, 28, 28 } };
    assert_int_equal(model_build(&cnn, &d, &conv_im2col, 2, err, sizeof err), 0);
    assert_int_equal(checkpoint_load(p, &cnn, CKPT_ALL, &info, err, sizeof err), -1);
    assert_non_null(strstr(err, "'resnet'"));
    model_free(&a), model_free(&wide), model_free(&cnn);
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_is_exact),
        cmocka_unit_test(test_damage_is_refused),
        cmocka_unit_test(test_other_model_is_refused),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
