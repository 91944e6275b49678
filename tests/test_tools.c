/* tests/test_tools.c — the CLI's building blocks and a miniature end-to-end
 * benchmark + report: CSV strictness, template placeholders, atomic writes,
 * option errors, and that `bench` writes a rectangular, verified CSV, with
 * oneDNN's rows beside the kernels' unless --peers none, that `report kernels`
 * renders with no placeholder left; `bench --train` with its PyTorch peer and
 * its step breakdown. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kernels/conv.h"
#include "tests/testing.h"
#include "data/atomic_file.h"
#include "tools/cli.h"
#include "tools/report/csv.h"
#include "tools/report/template.h"




static void test_csv_reads_rectangular_file(void **state)
{
    const char *p = test_tmp_path("good.csv");
    test_write_file(p, "a,b,c\n1,2,x\n4,5.5,y\n");
    csv_table t;
    assert_int_equal(csv_load(p, &t), 0);
    assert_int_equal(t.rows, 2);
    assert_int_equal(t.cols, 3);
    assert_int_equal(csv_col(&t, "c"), 2);
    assert_string_equal(csv_cell(&t, 1, 2), "y");
    assert_true(csv_num(&t, 1, 1) == 5.5);
    assert_true(csv_num(&t, 0, 2) != csv_num(&t, 0, 2));   /* "x" is NaN */
    assert_int_equal(csv_col(&t, "missing"), -1);
    csv_free(&t);
}

static void test_csv_rejects_ragged_and_missing(void **state)
{
    const char *p = test_tmp_path("ragged.csv");
    test_write_file(p, "a,b\n1,2\n3\n");
    csv_table t;
    assert_int_equal(csv_load(p, &t), -1);
    test_write_file(p, "");
    assert_int_equal(csv_load(p, &t), -1);
    assert_int_equal(csv_load(test_tmp_path("does-not-exist.csv"), &t), -1);
}

static void test_template_fills_and_rejects_unknown(void **state)
{
    tmpl_vars v = { 0 };
    tmpl_set(&v, "speed", "%.1f", 12.25);
    tmpl_set(&v, "name", "%s", "im2col");
    tmpl_set(&v, "name", "%s", "winograd");   /* replaces */
    const char *in = test_tmp_path("t.md.in"), *out = test_tmp_path("t.md");
    test_write_file(in, "{{name}} runs at {{speed}} GFLOP/s, {{name}}.\n");
    FILE *f = fopen(out, "w");
    assert_int_equal(tmpl_render(in, &v, f), 0);
    fclose(f);
    char *s = test_read_file(out);
    assert_string_equal(s, "winograd runs at 12.2 GFLOP/s, winograd.\n");
    free(s);
    test_write_file(in, "line one\nat {{sped}} here\n");
    f = fopen(out, "w");
    assert_int_equal(tmpl_render(in, &v, f), -1);   /* prints t.md.in:2:4: ... did you mean 'speed' */
    fclose(f);
    test_write_file(in, "open {{speed\n");
    f = fopen(out, "w");
    assert_int_equal(tmpl_render(in, &v, f), -1);
    fclose(f);
    tmpl_free(&v);
}

static void test_atomic_file_replaces_whole_or_not_at_all(void **state)
{
    const char *p = test_tmp_path("atomic.txt");
    test_write_file(p, "old\n");
    atomic_file af;
    assert_true(atomic_open(&af, p));
    fputs("half-written", af.f);
    atomic_abort(&af);
    char *s = test_read_file(p);
    assert_string_equal(s, "old\n");   /* an abandoned write leaves the old file */
    free(s);
    assert_null(test_read_file(af.tmp));   /* and no temporary behind */
    assert_true(atomic_open(&af, p));
    fputs("new\n", af.f);
    assert_true(atomic_commit(&af));
    s = test_read_file(p);
    assert_string_equal(s, "new\n");
    free(s);
    assert_false(atomic_open(&af, test_tmp_path("no-such-dir/x.txt")));
}

/* bench (or bench --train) with these arguments, never waiting for a quiet
   machine: the tests check what is measured and written, not how fast. */
static int bench_args(int n, const char **args)
{
    char *argv[36];
    argv[0] = "bench", argv[1] = "--quiet-wait", argv[2] = "0";
    for (int i = 0; i < n; i++)
        argv[i + 3] = (char *)args[i];
    return bench_main(n + 3, argv);
}

static void test_bench_rejects_bad_options(void **state)
{
    const char *bad[][2] = { { "--kernels", "winogard" }, { "--passes", "sideways" },
                             { "--threads", "0" },        { "--threads", "1,x" },
                             { "--batch", "-3" },         { "--layers", "cnn.conv9" },
                             { "--max-seconds", "0" },    { "--frobnicate", "1" },
                             { "--peers", "mkl" },        { "--quiet-wait", "-1" } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bench_args(2, bad[i]), 2);
    const char *dangling[] = { "--reps" };
    assert_int_equal(bench_args(1, dangling), 2);
}

/* oneDNN's rows of a benchmark CSV: every one verified and named for what
   ran; per layer, pass and thread count the direct convolution alone and with
   reorders, and Winograd's two rows where oneDNN offers it (never on a 1×1
   filter).  Their number. */
static int check_peer_rows(const csv_table *t)
{
    const int k = csv_col(t, "kernel"), impl = csv_col(t, "impl"), r = csv_col(t, "r");
    int direct = 0, wino = 0, wino_reorder = 0;
    for (int i = 0; i < t->rows; i++) {
        const char *name = csv_cell(t, i, k);
        if (strncmp(name, "onednn_", 7) != 0)
            continue;
        assert_int_equal(strncmp(csv_cell(t, i, impl), "onednn ", 7), 0);
        direct += !strncmp(name, "onednn_direct", 13);
        wino += !strcmp(name, "onednn_winograd");
        wino_reorder += !strcmp(name, "onednn_winograd+reorder");
        if (!strncmp(name, "onednn_winograd", 15))
            assert_string_equal(csv_cell(t, i, r), "3");
    }
    /* layers × passes × threads × (alone, with reorders) */
    assert_int_equal(direct, 2 * CONV_NUM_PASSES * 2 * 2);
    assert_int_equal(wino, wino_reorder);
    return direct + wino + wino_reorder;
}

/* A real, small run: every kernel and pass on one layer at batch 2, then the
   report from it. */
static void test_bench_and_report_end_to_end(void **state)
{
    const char *csv = test_tmp_path("e2e/kernels.csv"), *md = test_tmp_path("e2e/kernels.md");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/e2e", test_tmpdir());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    assert_int_equal(system(cmd), 0);
    const char *args[] = { "--batch", "2", "--layers", "resnet20.stage3,resnet20.stage3_proj", "--reps", "2",
                           "--warmup", "0", "--out", csv };
    assert_int_equal(bench_args(10, args), 0);

    csv_table t;
    assert_int_equal(csv_load(csv, &t), 0);
    const int kernels = conv_kernel_count(), peers = check_peer_rows(&t);
    /* layers × kernels × passes × threads, and oneDNN's */
    assert_int_equal(t.rows, 2 * kernels * CONV_NUM_PASSES * 2 + peers);
    const int verified = csv_col(&t, "verified"), impl = csv_col(&t, "impl"), k = csv_col(&t, "kernel");
    const int r = csv_col(&t, "r");
    assert_true(verified >= 0 && impl >= 0 && k >= 0 && r >= 0);
    for (int i = 0; i < t.rows; i++) {
        assert_string_equal(csv_cell(&t, i, verified), "1");
        /* Winograd cannot serve the 1x1 projection: the row must say what ran */
        if (!strncmp(csv_cell(&t, i, k), "winograd", 8) && !strcmp(csv_cell(&t, i, r), "1"))
            assert_non_null(strstr(csv_cell(&t, i, impl), "(fallback)"));
    }
    csv_free(&t);
    char env[600];
    snprintf(env, sizeof env, "%s.env", csv);
    char *e = test_read_file(env);
    assert_non_null(e);
    assert_non_null(strstr(e, "blis_arch: "));
    assert_non_null(strstr(e, "commit: "));
    assert_non_null(strstr(e, "blis_sgemm_1thread: ")); /* every configuration, side by side */
    assert_non_null(strstr(e, "generic "));
    assert_non_null(strstr(e, "onednn_version: "));
    free(e);

    char *rargv[] = { "report", "kernels", "--csv", (char *)csv, "--out", (char *)md };
    assert_int_equal(report_main(6, rargv), 0);
    char *s = test_read_file(md);
    assert_non_null(s);
    assert_null(strstr(s, "{{"));
    assert_non_null(strstr(s, "resnet20.stage3"));
    assert_non_null(strstr(s, "| oneDNN / probador |"));
    assert_non_null(strstr(s, "| resnet20.stage3_proj | 32→64 14×14 1×1 s2 | 2 |"));
    free(s);
    snprintf(cmd, sizeof cmd, "test -s %s/figures/kernels_forward.png", dir);
    assert_int_equal(system(cmd), 0);
}

/* --peers none: the kernels' rows alone. */
static void test_bench_without_peers(void **state)
{
    const char *csv = test_tmp_path("no-peers.csv");
    const char *args[] = { "--batch", "2",      "--layers", "resnet20.stage3_proj", "--passes", "forward",
                           "--threads", "1",    "--reps",   "1",     "--warmup",  "0",
                           "--peers", "none",   "--out",    csv };
    assert_int_equal(bench_args(16, args), 0);
    csv_table t;
    assert_int_equal(csv_load(csv, &t), 0);
    assert_int_equal(t.rows, conv_kernel_count());
    const int k = csv_col(&t, "kernel");
    for (int i = 0; i < t.rows; i++)
        assert_null(strstr(csv_cell(&t, i, k), "onednn"));
    csv_free(&t);
}

/* bench --train at tiny settings: probador's rows and the PyTorch peer's, train
   and inference, in one CSV; a breakdown whose kinds add up to the step. */
static void test_bench_train_peer_and_breakdown(void **state)
{
    char csv[512], breakdown[600], env[600];
    snprintf(csv, sizeof csv, "%s", test_fresh_path("train.csv"));
    snprintf(breakdown, sizeof breakdown, "%s", test_fresh_path("train_breakdown.csv"));
    const char *args[] = { "--train", "--models", "cnn", "--kernels", "im2col", "--threads", "1",
                           "--batch", "8",       "--reps",   "2",   "--out",    csv };
    assert_int_equal(bench_args(13, args), 0);

    csv_table t;
    assert_int_equal(csv_load(csv, &t), 0);
    const int ck = csv_col(&t, "kernel"), cp = csv_col(&t, "phase"), ci = csv_col(&t, "images_per_second");
    assert_true(ck >= 0 && cp >= 0 && ci >= 0);
    static const char *const want[][2] = { { "im2col", "train" }, { "im2col", "infer" },
                                           { "pytorch", "train" }, { "pytorch", "infer" } };
    assert_int_equal(t.rows, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(csv_cell(&t, i, ck), want[i][0]);
        assert_string_equal(csv_cell(&t, i, cp), want[i][1]);
        assert_true(csv_num(&t, i, ci) > 0);
    }
    csv_free(&t);

    assert_int_equal(csv_load(breakdown, &t), 0);
    const int kind = csv_col(&t, "kind"), ms = csv_col(&t, "ms_per_step");
    assert_true(kind >= 0 && ms >= 0);
    double kinds = 0, step = 0;
    int named = 0;
    for (int i = 0; i < t.rows; i++) {
        const char *k = csv_cell(&t, i, kind);
        if (!strcmp(k, "step"))
            step = csv_num(&t, i, ms);
        else if (strcmp(k, "other"))
            kinds += csv_num(&t, i, ms), named++;
    }
    csv_free(&t);
    assert_int_equal(named, 11); /* three convolution passes, BN, element-wise, pooling, dense, the gradients'
                                    sum, loss, optimiser, data */
    if (!(step > 0 && fabs(kinds - step) <= 0.2 * step))
        fail_msg("the kinds add up to %.3f ms, the step is %.3f ms", kinds, step);
    snprintf(env, sizeof env, "%s.env", csv);
    char *e = test_read_file(env);
    assert_non_null(e);
    assert_non_null(strstr(e, "pytorch: "));
    free(e);
}

/* The peer's interpreter missing is an error naming `make deps`, and nothing
   is written; bad --train options are usage errors. */
static void test_bench_train_peer_errors(void **state)
{
    char csv[512];
    snprintf(csv, sizeof csv, "%s", test_fresh_path("train-nopeer.csv"));
    const char *args[] = { "--train", "--models", "cnn",  "--kernels", "im2col", "--threads", "1",
                           "--batch", "4",        "--reps", "1",       "--out",  csv };
    setenv("PROBADOR_PYTHON", "/nonexistent/python3", 1);
    test_stderr_begin();
    const int rc = bench_args(13, args);
    char *err = test_stderr_end();
    unsetenv("PROBADOR_PYTHON");
    assert_int_equal(rc, 1);
    if (!strstr(err, "make deps") || !strstr(err, "--peers none"))
        fail_msg("the error should name `make deps` and --peers none:\n%s", err);
    free(err);
    assert_int_equal(access(csv, F_OK), -1);
    const char *bad[][3] = { { "--train", "--peers", "tensorflow" }, { "--train", "--threads", "1,x" },
                             { "--train", "--threads", "0" } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bench_args(3, bad[i]), 2);
}

/* run_main("run", args...) with stderr captured into *err (free it); its exit code. */
static int run_args(int n, const char **args, char **err)
{
    char *argv[16] = { "run" };
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    test_stderr_begin();
    const int rc = run_main(n + 1, argv);
    *err = test_stderr_end();
    return rc;
}

/* Command lines that ran something other than what was meant (or trained for
   nothing) are usage errors, exit code 2, before any loading or training.  The
   experiment cannot train (no data there), so a regression fails fast. */
static void test_run_rejects_bad_command_lines(void **state)
{
    char exp[512]; /* test_tmp_path's buffers rotate */
    snprintf(exp, sizeof exp, "%s", test_tmp_path("run-cli.yaml"));
    test_write_file(exp, "name: t\ndescription: d\ndata: {dir: /nonexistent-probador-data}\ntraining: {epochs: 1}\n");
    char root[1024], long_root[900];
    snprintf(root, sizeof root, "%s/run-cli-results", test_tmpdir());
    snprintf(long_root, sizeof long_root, "%s/%0*d", test_tmpdir(), (int)(sizeof long_root - 2 - strlen(test_tmpdir())), 0);
    struct { int n; const char *args[8]; const char *what; } cases[] = {
        { 4, { exp, "--results", root, "training.epochs" }, "error: expected key=value, got 'training.epochs'\n" },
        { 4, { "training.epochs", exp, "--results", root }, "error: expected key=value, got 'training.epochs'\n" },
        { 5, { exp, "--variant", "--results", root, "x=1" }, "error: --variant needs a value\n" },
        { 4, { exp, "--results", root, "--variant" }, "error: --variant needs a value\n" },
        { 5, { exp, "--results", root, "--stop-after", "0" }, "error: --stop-after expects a whole number ≥ 1, got '0'\n" },
        { 5, { exp, "--results", root, "training.epochs=2", "training.epochs=3" },
          "error: 'training.epochs=2' and 'training.epochs=3' both set training.epochs; give it once\n" },
        { 7, { exp, "--results", root, "--seed", "1", "--seed", "2" },
          "error: --seed given twice, '1' and '2'; give it once\n" },
        { 6, { exp, "--results", root, "--seed", "1", "seed=2" },
          "error: '--seed 1' and 'seed=2' both set seed; give it once\n" },
        { 3, { exp, "--results", long_root }, "error: --results: the results root is 899 bytes long; at most 854, as a "
                                              "run writes ROOT/NAME/VARIANT/seedN.partial/misclassified.csv, which "
                                              "must fit in 1023 bytes\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        const int rc = run_args(cases[i].n, cases[i].args, &err);
        if (rc != 2 || !err || !strstr(err, cases[i].what))
            fail_msg("case %zu: wanted exit code 2 and\n  %s\ngot %d:\n%s", i, cases[i].what, rc, err);
        free(err);
    }
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_reads_rectangular_file),
        cmocka_unit_test(test_csv_rejects_ragged_and_missing),
        cmocka_unit_test(test_template_fills_and_rejects_unknown),
        cmocka_unit_test(test_atomic_file_replaces_whole_or_not_at_all),
        cmocka_unit_test(test_bench_rejects_bad_options),
        cmocka_unit_test(test_run_rejects_bad_command_lines),
        cmocka_unit_test(test_bench_without_peers),
        cmocka_unit_test(test_bench_and_report_end_to_end),
        cmocka_unit_test(test_bench_train_peer_and_breakdown),
        cmocka_unit_test(test_bench_train_peer_errors),
    };
    return cmocka_run_group_tests_name("tools", tests, NULL, NULL);
}
