/* tests/test_resume.c — the run and resume life cycle on a tiny slice (two
 * steps an epoch, seconds in all): a resume under another configuration is
 * refused naming the keys, crafted checkpoint counters are refused, a loss
 * that stops being finite fails the run, results and the shared summary row
 * count every epoch after a resume, and the CLI's notes and refusals (no
 * checkpoint to resume, a FIFO, a missing init.from, data that does not load). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/checkpoint.h"
#include "tests/testing.h"
#include "tools/config/config.h"
#include "tools/run.h"

enum { STEPS_PER_EPOCH = 2 };

static exp_config *tiny_config(void)
{
    exp_config *c = malloc(sizeof *c);
    if (config_load("experiments/cnn.yaml", c))
        fail_msg("cannot load experiments/cnn.yaml");
    const char *o[] = { "data.train_images=128", "data.validation_images=64", "data.test_images=64",
                        "training.epochs=2",     "training.batch=64",         "threads=1" };
    for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
        assert_int_equal(config_override(c, o[i]), 0);
    assert_int_equal(config_validate(c, "tiny"), 0);
    return c;
}

/* train_run with its stderr captured into *log (free it). */
static int train_logged(const exp_config *c, const char *dir, bool resume, int stop_after, const char *init,
                        train_result *res, char **log)
{
    test_stderr_begin();
    const train_options opt = { .out_dir = dir, .variant = "", .overrides = "", .resume = resume,
                                .stop_after_epochs = stop_after, .init_path = init };
    const int rc = run_train(c, opt, res);
    *log = test_stderr_end();
    return rc;
}

static void expect_in(const char *log, const char *needle)
{
    if (!strstr(log, needle))
        fail_msg("expected '%s' in:\n%s", needle, log);
}

/* ---- bug 1: the configuration of a resumed run ------------------------------------ */

static void test_resume_refuses_another_configuration(void **state)
{
    exp_config *c = tiny_config();
    const char *dir = test_fresh_path("resume_config");
    train_result res;
    char *log;
    assert_int_equal(train_logged(c, dir, false, 1, NULL, &res, &log), 0);
    free(log);

    const char *changes[] = { "training.learning_rate=0.002", "training.epochs=3", "kernel=im2col",
                              "augmentation.rotation=5", "training.schedule=constant" };
    const char *keys[] = { "training.learning_rate", "training.epochs", "kernel", "augmentation.rotation",
                           "training.schedule" };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        exp_config *d = tiny_config();
        assert_int_equal(config_override(d, changes[i]), 0);
        assert_int_equal(train_logged(d, dir, true, 0, NULL, &res, &log), -1);
        expect_in(log, keys[i]);
        expect_in(log, "--resume");
        if (i == 0) /* both values */
            expect_in(log, "training.learning_rate: 0.1 then, 0.002 now"); /* cnn.yaml's rate */
        free(log);
        free(d);
    }
    /* the thread count decides nothing: that resume goes on and finishes */
    assert_int_equal(config_override(c, "threads=2"), 0);
    assert_int_equal(train_logged(c, dir, true, 0, NULL, &res, &log), 0);
    expect_in(log, "resuming after epoch 1");
    free(log);
    free(c);
}

/* ---- bug 2: totals over every epoch ------------------------------------------------- */

static double timing_total(const char *dir)
{
    char path[600], line[256];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    double total = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f))
        total += strtod(strchr(line, ',') + 1, NULL);
    fclose(f);
    return total;
}

static void test_resumed_result_counts_every_epoch(void **state)
{
    exp_config *c = tiny_config();
    const char *full = test_fresh_path("resume_full"), *parts = test_fresh_path("resume_parts");
    train_result a, b;
    char *log;
    assert_int_equal(train_logged(c, full, false, 0, NULL, &a, &log), 0);
    free(log);
    assert_int_equal(train_logged(c, parts, false, 1, NULL, &b, &log), 0);
    free(log);
    assert_int_equal(train_logged(c, parts, true, 0, NULL, &b, &log), 0);
    free(log);
    assert_string_equal(a.weights_hash, b.weights_hash);
    assert_int_equal(b.train_images, a.train_images);
    assert_int_equal(b.train_images, 2 * 128);
    const double total = timing_total(parts);
    if (b.train_seconds < total - 0.01 || b.train_seconds > total + 0.01)
        fail_msg("train_seconds %.3f, but timing.csv adds up to %.3f", b.train_seconds, total);
    free(c);
}

/* ---- bug 4: crafted counters and non-finite losses ------------------------------------ */

/* Rewrites a checkpoint's epochs and steps (header offsets 76 and 80) and its CRC. */
static void patch_counters(const char *path, uint32_t epochs, uint64_t steps)
{
    long len;
    char *data = test_read_bytes(path, &len);
    assert_non_null(data);
    memcpy(data + 76, &epochs, 4);
    memcpy(data + 80, &steps, 8);
    const uint32_t crc = (uint32_t)crc32(0L, (const unsigned char *)data, (uInt)(len - 4));
    memcpy(data + len - 4, &crc, 4);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    free(data);
}

static void test_crafted_counters_are_refused(void **state)
{
    exp_config *c = tiny_config();
    const char *dir = test_fresh_path("resume_counters");
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir);
    const uint32_t epochs[] = { 0xFFFFFFFFu, 5, 0 };
    for (size_t i = 0; i < sizeof epochs / sizeof epochs[0]; i++) {
        train_result res;
        char *log;
        assert_int_equal(train_logged(c, dir, false, 1, NULL, &res, &log), 0);
        free(log);
        patch_counters(ckpt, epochs[i], (uint64_t)epochs[i] * STEPS_PER_EPOCH);
        assert_int_equal(train_logged(c, dir, true, 0, NULL, &res, &log), -1);
        expect_in(log, "epochs");
        expect_in(log, ckpt);
        if (strstr(log, "resuming after"))
            fail_msg("a crafted counter was believed:\n%s", log);
        free(log);
    }
    free(c);
}

/* A trunk whose weights are finite but overflow float on the first forward pass. */
static void test_non_finite_loss_stops_the_run(void **state)
{
    exp_config *c = tiny_config();
    model m;
    char err[512];
    const model_desc d = { "cnn", 0, 0, 0.5f, 10, { 1, 28, 28 } };
    if (model_build(&m, &d, &conv_im2col, 2, err, sizeof err))
        fail_msg("%s", err);
    for (size_t i = 0; i < m.num_params; i++)
        m.params[i] = 3e38f;
    const char *src = test_tmp_path("resume_huge.ckpt");
    checkpoint_info info = { 1, 2, 0, NULL };
    if (checkpoint_save(src, &m, &info, err, sizeof err))
        fail_msg("%s", err);
    model_free(&m);
    const char *dir = test_fresh_path("resume_nan");
    train_result res;
    char *log;
    assert_int_equal(train_logged(c, dir, false, 0, src, &res, &log), -1);
    expect_in(log, "not finite");
    expect_in(log, "epoch 1, step 1");
    free(log);
    char path[600];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing published */
    free(c);
}

/* ---- bug 7: a failed data load leaves no folder behind -------------------------------- */

static void test_failed_data_load_leaves_no_folder(void **state)
{
    exp_config *c = tiny_config();
    const char *empty = test_fresh_path("resume_empty_data"), *dir = test_fresh_path("resume_nodata");
    assert_int_equal(mkdir(empty, 0777), 0);
    char kv[700];
    snprintf(kv, sizeof kv, "data.dir=%s", empty);
    assert_int_equal(config_override(c, kv), 0);
    train_result res;
    char *log;
    assert_int_equal(train_logged(c, dir, false, 0, NULL, &res, &log), -1);
    free(log);
    if (access(dir, F_OK) == 0)
        fail_msg("%s was left behind by a run whose data did not load", dir);
    free(c);
}

/* ---- the CLI ----------------------------------------------------------------------- */

/* Runs the probador program (test_probador) with `run` and args (NULL-terminated), stderr into *log; its exit
   status, or -1 if it had not finished after `seconds` (then it is killed). */
static int probador(const char *const *args, int seconds, char **log)
{
    const char *log_path = test_tmp_path("resume_cli_stderr.txt");
    const char *argv[40] = { test_probador(), "run", "experiments/cnn.yaml", "data.train_images=128",
                             "data.validation_images=64", "data.test_images=64", "training.epochs=2",
                             "training.batch=64", "threads=1" };
    int n = 9;
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        freopen(log_path, "w", stderr);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    int status = 0;
    for (int i = 0; i < seconds * 20; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            *log = test_read_file(log_path);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        }
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    *log = test_read_file(log_path);
    return -1;
}

/* The row of the shared summary.csv: train_images (column 7) and train_seconds (10). */
static void summary_row(const char *root, long *images, double *seconds)
{
    char path[600], line[1024];
    snprintf(path, sizeof path, "%s/summary.csv", root);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    const char *p = line;
    for (int col = 1; col < 7; col++)
        p = strchr(p, ',') + 1;
    *images = strtol(p, NULL, 10);
    for (int col = 7; col < 10; col++)
        p = strchr(p, ',') + 1;
    *seconds = strtod(p, NULL);
}

static void test_cli_summary_row_after_resume(void **state)
{
    const char *root = test_fresh_path("resume_cli");
    char *log;
    const char *stop[] = { "--results", root, "--stop-after", "1", NULL };
    assert_int_equal(probador(stop, 60, &log), 0);
    free(log);
    const char *resume[] = { "--results", root, "--resume", NULL };
    assert_int_equal(probador(resume, 60, &log), 0);
    free(log);
    long images;
    double seconds;
    summary_row(root, &images, &seconds);
    assert_int_equal(images, 128);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/cnn/seed0", root);
    const double total = timing_total(dir);
    if (seconds < total - 0.051 || seconds > total + 0.051)
        fail_msg("summary.csv says %.1f s of training, timing.csv adds up to %.3f s", seconds, total);
}

static void test_cli_resume_without_checkpoint_says_so(void **state)
{
    const char *root = test_fresh_path("resume_cli_none");
    char *log;
    const char *resume[] = { "--results", root, "--resume", "--stop-after", "1", NULL };
    assert_int_equal(probador(resume, 60, &log), 0);
    expect_in(log, "no checkpoint at");
    expect_in(log, "seed0.partial/checkpoint.bin");
    expect_in(log, "epoch 1");
    free(log);
}

static void test_cli_fifo_is_refused(void **state)
{
    const char *root = test_fresh_path("resume_cli_fifo");
    assert_int_equal(mkdir(root, 0777), 0);
    char fifo[700], partial[600], kv[800];
    /* as init.from */
    snprintf(fifo, sizeof fifo, "%s/pipe.bin", root);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    snprintf(kv, sizeof kv, "init.from=%s", fifo);
    char *log;
    const char *init[] = { "--results", root, kv, NULL };
    assert_int_not_equal(probador(init, 20, &log), -1); /* -1: hung, killed */
    expect_in(log, "not a regular file");
    free(log);
    /* as the checkpoint to resume: an interrupted run's, replaced by a FIFO */
    const char *stop[] = { "--results", root, "--stop-after", "1", NULL };
    assert_int_equal(probador(stop, 60, &log), 0);
    free(log);
    snprintf(partial, sizeof partial, "%s/cnn/seed0.partial", root);
    snprintf(fifo, sizeof fifo, "%s/checkpoint.bin", partial);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    const char *resume[] = { "--results", root, "--resume", NULL };
    const int rc = probador(resume, 20, &log);
    assert_int_not_equal(rc, -1);
    assert_int_not_equal(rc, 0);
    expect_in(log, "not a regular file");
    free(log);
}

static void test_cli_missing_init_names_what_to_do(void **state)
{
    const char *root = test_fresh_path("resume_cli_init");
    char *log;
    /* a path: the path looked for, no made-up experiment file */
    const char *path[] = { "--results", root, "init.from=build/test-tmp/no-such.bin", NULL };
    assert_int_equal(probador(path, 20, &log), 1);
    expect_in(log, "build/test-tmp/no-such.bin");
    if (strstr(log, "experiments/build"))
        fail_msg("suggests an experiment made of a path:\n%s", log);
    free(log);
    /* an experiment: the command that makes its seed-0 run under the same root */
    const char *name[] = { "--results", root, "init.from=pretrain", NULL };
    assert_int_equal(probador(name, 20, &log), 1);
    expect_in(log, "build/probador run experiments/pretrain.yaml --seed 0 --results ");
    free(log);
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_refuses_another_configuration),
        cmocka_unit_test(test_resumed_result_counts_every_epoch),
        cmocka_unit_test(test_crafted_counters_are_refused),
        cmocka_unit_test(test_non_finite_loss_stops_the_run),
        cmocka_unit_test(test_failed_data_load_leaves_no_folder),
        cmocka_unit_test(test_cli_summary_row_after_resume),
        cmocka_unit_test(test_cli_resume_without_checkpoint_says_so),
        cmocka_unit_test(test_cli_fifo_is_refused),
        cmocka_unit_test(test_cli_missing_init_names_what_to_do),
    };
    return cmocka_run_group_tests_name("resume", tests, NULL, NULL);
}
