/* tests/test_train.c — training end to end on a small slice of the real data:
 * determinism (the same configuration and seed give byte-identical result
 * files and weights with 1 or 2 threads, for every fast kernel), resuming after
 * a kill (byte-identical to an uninterrupted run), and that training learns. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/testing.h"
#include "tools/config/config.h"
#include "kernels/conv.h"
#include "tools/run.h"

/* Files that must be byte-identical between runs (timing.csv and
   environment.txt hold wall-clock times and dates by design). */
static const char *const deterministic_files[] = { "epochs.csv",  "confusion.csv", "per_class.csv", "summary.csv",
                                                   "config.yaml", "checkpoint.bin" };

static void small_config(exp_config *c, const char *yaml, const char *kernel, int threads)
{
    if (config_load(yaml, c))
        fail_msg("cannot load %s", yaml);
    char kv[128];
    const char *o[] = { "data.train_images=384", "data.validation_images=128", "data.test_images=256",
                        "training.epochs=2", "training.batch=64", "model.blocks=1" };
    for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
        if (strncmp(o[i], "model.blocks", 12) != 0 || !strcmp(config_model_name(&c->run), "resnet"))
            assert_int_equal(config_override(c, o[i]), 0);
    snprintf(kv, sizeof kv, "kernel=%s", kernel);
    assert_int_equal(config_override(c, kv), 0);
    snprintf(kv, sizeof kv, "threads=%d", threads);
    assert_int_equal(config_override(c, kv), 0);
    assert_int_equal(config_validate(c, yaml), 0);
}

static char *read_file(const char *dir, const char *name, long *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = test_read_bytes(path, len);
    if (!s)
        fail_msg("missing result file %s", path);
    return s;
}

static void assert_same_results(const char *a, const char *b)
{
    for (size_t i = 0; i < sizeof deterministic_files / sizeof deterministic_files[0]; i++) {
        long la, lb;
        char *x = read_file(a, deterministic_files[i], &la), *y = read_file(b, deterministic_files[i], &lb);
        if (la != lb || memcmp(x, y, (size_t)la) != 0)
            fail_msg("%s differs between %s and %s", deterministic_files[i], a, b);
        free(x), free(y);
    }
}

static void run_into(const exp_config *c, const char *dir, bool resume, int stop_after, train_result *res)
{
    const train_options opt = { .out_dir = dir, .variant = "", .overrides = "", .resume = resume,
                                .stop_after_epochs = stop_after };
    if (run_train(c, opt, res))
        fail_msg("train_run into %s failed", dir);
}

static const char *dir_for(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/train_%s", test_tmpdir(), name);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", p);
    assert_int_equal(system(cmd), 0);
    return p;
}

/* The training methods a recipe adds, all at once: SGD with Nesterov's
   momentum, L2 decay off for batch norm and biases, label smoothing, warm-up
   then a linear decay, pad-and-crop, random erasing, the moving average of
   the weights and the six-view test-time augmentation. */
static const char *const recipe_methods[] = {
    "training.optimizer=sgd",       "training.learning_rate=0.05", "training.nesterov=true",
    "training.weight_decay=5e-4",   "training.decay_norm_and_bias=false", "training.label_smoothing=0.1",
    "training.warmup_epochs=0.5",   "training.schedule=linear",    "augmentation.crop_padding=2",
    "augmentation.erasing=0.5",     "evaluation.tta=flip_shift",   "training.ema_decay=0.99", NULL
};

static void apply_overrides(exp_config *c, const char *const *overrides, const char *yaml)
{
    for (int i = 0; overrides && overrides[i]; i++)
        if (config_override(c, overrides[i]))
            fail_msg("override %s refused", overrides[i]);
    assert_int_equal(config_validate(c, yaml), 0);
}

/* 1 and 2 threads, each fast kernel, both models: identical bytes. */
static void check_threads_with(const char *yaml, const char *kernel, const char *const *overrides)
{
    exp_config *c1 = malloc(sizeof *c1), *c2 = malloc(sizeof *c2);
    small_config(c1, yaml, kernel, 1);
    small_config(c2, yaml, kernel, 2);
    apply_overrides(c1, overrides, yaml);
    apply_overrides(c2, overrides, yaml);
    train_result r1, r2;
    const char *d1 = dir_for("t1"), *d2 = dir_for("t2");
    run_into(c1, d1, false, 0, &r1);
    run_into(c2, d2, false, 0, &r2);
    /* config.yaml differs only in `threads`: compare the rest through a rewrite */
    c2->run.threads = 1;
    FILE *f = fopen("build/test-tmp/train_t2/config.yaml", "w");
    config_write_run(c2, f);
    fclose(f);
    assert_string_equal(r1.weights_hash, r2.weights_hash);
    assert_same_results(d1, d2);
    free(c1), free(c2);
}

static void check_threads(const char *yaml, const char *kernel) { check_threads_with(yaml, kernel, NULL); }

static void test_cnn_deterministic_im2col(void **s) { check_threads("experiments/cnn.yaml", "im2col"); }
static void test_recipe_methods_deterministic(void **s)
{
    check_threads_with("experiments/resnet20.yaml", "winograd", recipe_methods);
}
static void test_cnn_deterministic_winograd(void **s) { check_threads("experiments/cnn.yaml", "winograd"); }
static void test_cnn_deterministic_winograd_f2(void **s) { check_threads("experiments/cnn.yaml", "winograd_f2"); }
static void test_resnet_deterministic_winograd(void **s) { check_threads("experiments/resnet20.yaml", "winograd"); }
static void test_resnet_deterministic_im2col(void **s) { check_threads("experiments/resnet20.yaml", "im2col"); }

/* A kernel registered at run time is a configuration choice at once: a copy
   of im2col under another name trains, through the configuration, to exactly
   im2col's results (the only differences are the kernel's name in
   config.yaml and summary.csv). */
static void test_registered_kernel_trains(void **state)
{
    static conv_kernel copy;
    copy = conv_im2col;
    copy.name = "test_im2col_copy";
    copy.description = "im2col's functions under another name (tests/test_train.c)";
    char err[256];
    if (!conv_kernel_find(copy.name, NULL, 0) && conv_kernel_register(&copy, err, sizeof err))
        fail_msg("%s", err);
    exp_config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    small_config(a, "experiments/cnn.yaml", "im2col", 2);
    small_config(b, "experiments/cnn.yaml", "test_im2col_copy", 2);
    train_result ra, rb;
    const char *da = dir_for("registered_a"), *db = dir_for("registered_b");
    run_into(a, da, false, 0, &ra);
    run_into(b, db, false, 0, &rb);
    assert_string_equal(ra.weights_hash, rb.weights_hash);
    const char *same[] = { "epochs.csv", "confusion.csv", "per_class.csv", "checkpoint.bin" };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        long la, lb;
        char *x = read_file(da, same[i], &la), *y = read_file(db, same[i], &lb);
        if (la != lb || memcmp(x, y, (size_t)la) != 0)
            fail_msg("%s differs between im2col and its registered copy", same[i]);
        free(x), free(y);
    }
    char *summary = read_file(db, "summary.csv", &(long){ 0 });
    assert_non_null(strstr(summary, ",test_im2col_copy,"));
    free(summary), free(a), free(b);
}

/* Stopping after epoch 1 and resuming ends exactly where an uninterrupted run
   does (with the recipe's methods on: SGD's momentum is in the checkpoint). */
static void test_resume_in_process(void **state)
{
    exp_config *c = malloc(sizeof *c);
    small_config(c, "experiments/resnet20.yaml", "winograd", 2);
    apply_overrides(c, recipe_methods, "experiments/resnet20.yaml");
    train_result a, b;
    const char *full = dir_for("full"), *parts = dir_for("parts");
    run_into(c, full, false, 0, &a);
    run_into(c, parts, false, 1, &b);
    run_into(c, parts, true, 0, &b);
    assert_string_equal(a.weights_hash, b.weights_hash);
    assert_same_results(full, parts);
    free(c);
}

/* The real thing: the CLI killed with SIGKILL mid-run, then --resume. */
static void test_resume_after_kill(void **state)
{
    const char *root = dir_for("kill"), *ref = dir_for("kill_ref");
    const char *args[] = { test_probador(), "run", "experiments/cnn.yaml", "--results", NULL,
                           "data.train_images=768", "data.validation_images=128", "data.test_images=256",
                           "training.epochs=3", "training.batch=64", "kernel=winograd", NULL, NULL };
    args[4] = ref;
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execv(args[0], (char **)args);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    args[4] = root;
    pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execv(args[0], (char **)args);
        _exit(127);
    }
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/cnn/seed0.partial/checkpoint.bin", root); /* published at the end */
    for (int i = 0; i < 6000 && access(ckpt, F_OK) != 0; i++)   /* up to 60 s for epoch 1 */
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    assert_int_equal(access(ckpt, F_OK), 0);
    args[11] = "--resume";
    pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execv(args[0], (char **)args);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/cnn/seed0", ref);
    snprintf(b, sizeof b, "%s/cnn/seed0", root);
    assert_same_results(a, b);
}

/* 48 steps of the Adam recipe on 2,000 images: well above chance (10 %). */
static void test_training_learns(void **state)
{
    exp_config *c = malloc(sizeof *c);
    small_config(c, "experiments/cnn_adam.yaml", "winograd", 2);
    assert_int_equal(config_override(c, "data.train_images=2000"), 0);
    assert_int_equal(config_override(c, "training.epochs=3"), 0);
    train_result r;
    run_into(c, dir_for("learns"), false, 0, &r);
    const double acc = (double)r.test.correct / r.test.count;
    printf("test accuracy after 3 epochs on 2,000 images: %.3f\n", acc);
    assert_true(acc > 0.6);
    free(c);
}

int main(void)
{
    conv_blis_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_deterministic_im2col),     cmocka_unit_test(test_resnet_deterministic_winograd),
        cmocka_unit_test(test_resume_in_process),            cmocka_unit_test(test_resume_after_kill),
        cmocka_unit_test(test_cnn_deterministic_winograd),   cmocka_unit_test(test_cnn_deterministic_winograd_f2),
        cmocka_unit_test(test_resnet_deterministic_im2col),  cmocka_unit_test(test_training_learns),
        cmocka_unit_test(test_registered_kernel_trains),     cmocka_unit_test(test_recipe_methods_deterministic),
    };
    /* Under ASan/UBSan (tools/scripts/run_tests.sh sets PROBADOR_SANITIZED) training is
       ~10x slower: run the first four, which cover every layer, both models,
       two kernels, resume and the kill; the optimised build runs them all. */
    const size_t count = getenv("PROBADOR_SANITIZED") ? 4 : sizeof tests / sizeof tests[0];
    return _cmocka_run_group_tests("train", tests, count, NULL, NULL);
}
