/* tests/test_reproduce.c — what `make reproduce` relies on, through the real
 * command line (build/probador run): `--all` expands variants × seeds into one
 * folder each and one summary row each; `--if-stale` reruns exactly the runs
 * whose deciding configuration changed (not for reworded prose); and a run
 * killed mid-way leaves the previous results of its folder byte for byte intact,
 * the next `--all --if-stale` completing the work. */
#include <signal.h>
#include <stdbool.h>
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
#include "models/train/run_config.h"

/* A tiny experiment: 2 variants × 2 seeds, one short epoch each.  %s is the
   description, %s the extra keys of variant b. */
static const char yaml_fmt[] = "name: repro\n"
                               "description: %s\n"
                               "model: {name: cnn}\n"
                               "kernel: winograd\n"
                               "data: {train_images: 256, validation_images: 64, test_images: 128}\n"
                               "augmentation: {rotation: 5, flip: 0.5}\n"
                               "training: {epochs: 1, batch: 64}\n"
                               "seeds: [3, 4]\n"
                               "variants:\n"
                               "  - name: a\n"
                               "  - name: b\n"
                               "    set: {augmentation.flip: 0%s}\n";

static const char *write_yaml(const char *description, const char *b_extra)
{
    static char text[2048];
    snprintf(text, sizeof text, yaml_fmt, description, b_extra);
    const char *path = test_tmp_path("repro.yaml");
    test_write_file(path, text);
    return path;
}

/* Runs the probador program (test_probador) with args (NULL-terminated), stderr to err_path; does not
   wait when pid_out is given.  Returns the exit status. */
static int run_cli(const char *const args[], const char *err_path, pid_t *pid_out)
{
    const char *argv[32] = { test_probador() };
    int n = 1;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(err_path, "w", stderr))
            _exit(126);
        execv(argv[0], (char **)argv);
        _exit(127);
    }
    if (pid_out) {
        *pid_out = pid;
        return 0;
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_substr(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static const char *run_path(const char *root, const char *variant, int seed, const char *file)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 1024, "%s/repro/%s/seed%d%s%s", root, variant, seed, file ? "/" : "", file ? file : "");
    return p;
}

static long long mtime_ns(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("missing %s", path);
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* The whole file (binary safe); fails the test if it cannot be read. */
static char *read_bytes(const char *path, long *len)
{
    char *buf = test_read_bytes(path, len);
    if (!buf)
        fail_msg("cannot read %s", path);
    return buf;
}

static void run_all(const char *yaml, const char *root, bool if_stale)
{
    const char *args[] = { "run", yaml, "--all", "--results", root, if_stale ? "--if-stale" : NULL, NULL };
    const char *err = test_tmp_path("repro.err");
    if (run_cli(args, err, NULL) != 0) {
        char *text = test_read_file(err);
        fail_msg("probador run --all failed:\n%s", text ? text : "(no output)");
    }
}

static void test_all_expands_variants_and_seeds(void **state)
{
    const char *yaml = write_yaml("Expansion.", ""), *root = test_fresh_path("repro_expand");
    run_all(yaml, root, false);
    const char *variants[] = { "a", "b" };
    for (int v = 0; v < 2; v++)
        for (int seed = 3; seed <= 4; seed++) {
            char *cfg = test_read_file(run_path(root, variants[v], seed, "config.yaml"));
            if (!cfg)
                fail_msg("no run folder %s", run_path(root, variants[v], seed, NULL));
            char want[64];
            snprintf(want, sizeof want, "\nseed: %d ", seed);
            assert_non_null(strstr(cfg, want));
            assert_non_null(strstr(cfg, v == 0 ? "\n  flip: 0.5 " : "\n  flip: 0 "));
            free(cfg);
            char *sum = test_read_file(run_path(root, variants[v], seed, "summary.csv"));
            assert_non_null(sum);
            snprintf(want, sizeof want, "\nrepro,%s,%d,cnn,winograd,1,", variants[v], seed);
            assert_non_null(strstr(sum, want));
            free(sum);
            assert_int_not_equal(access(run_path(root, variants[v], seed, NULL), F_OK), -1);
        }
    char path[1024];
    snprintf(path, sizeof path, "%s/summary.csv", root);
    char *all = test_read_file(path);
    assert_non_null(all);
    assert_int_equal(count_substr(all, "\nrepro,"), 4);
    assert_non_null(strstr(all, "\nrepro,a,3,"));
    assert_non_null(strstr(all, "\nrepro,b,4,"));
    free(all);
    assert_int_equal(access(run_path(root, "a", 3, NULL), F_OK), 0);
    char partial[1100];
    snprintf(partial, sizeof partial, "%s.partial", run_path(root, "b", 4, NULL));
    assert_int_equal(access(partial, F_OK), -1); /* published, nothing left behind */
}

static void test_if_stale_reruns_only_changed_runs(void **state)
{
    const char *yaml = write_yaml("Staleness.", ""), *root = test_fresh_path("repro_stale");
    run_all(yaml, root, false);
    long long a3 = mtime_ns(run_path(root, "a", 3, "epochs.csv"));
    long long b4 = mtime_ns(run_path(root, "b", 4, "epochs.csv"));

    /* nothing changed: nothing reruns */
    run_all(yaml, root, true);
    char *err = test_read_file(test_tmp_path("repro.err"));
    assert_int_equal(count_substr(err, "is up to date"), 4);
    free(err);
    assert_true(mtime_ns(run_path(root, "a", 3, "epochs.csv")) == a3);

    /* reworded prose decides nothing */
    yaml = write_yaml("Staleness, reworded; the prose of the report changed.", "");
    run_all(yaml, root, true);
    assert_true(mtime_ns(run_path(root, "b", 4, "epochs.csv")) == b4);

    /* variant b now trains 2 epochs: its runs rerun, a's do not */
    yaml = write_yaml("Staleness.", ", training.epochs: 2");
    run_all(yaml, root, true);
    assert_true(mtime_ns(run_path(root, "a", 3, "epochs.csv")) == a3);
    assert_true(mtime_ns(run_path(root, "b", 4, "epochs.csv")) != b4);
    char *epochs = test_read_file(run_path(root, "b", 4, "epochs.csv"));
    assert_non_null(strstr(epochs, "\n2,"));
    free(epochs);
}

/* A run made under another numerics version (environment.txt's `numerics:`,
   or none: version 1) reruns; the others stay. */
static void test_if_stale_reruns_other_numerics(void **state)
{
    const char *yaml = write_yaml("Numerics.", ""), *root = test_fresh_path("repro_numerics");
    run_all(yaml, root, false);
    const long long a3 = mtime_ns(run_path(root, "a", 3, "epochs.csv"));
    const long long b4 = mtime_ns(run_path(root, "b", 4, "epochs.csv"));
    char *env = test_read_file(run_path(root, "a", 3, "environment.txt"));
    assert_non_null(env);
    char want[32];
    snprintf(want, sizeof want, "\nnumerics: %d\n", RUN_NUMERICS);
    assert_non_null(strstr(env, want));
    strstr(env, "\nnumerics: ")[1] = '\0'; /* as written before the line existed */
    test_write_file(run_path(root, "a", 3, "environment.txt"), env);
    free(env);
    run_all(yaml, root, true);
    char *err = test_read_file(test_tmp_path("repro.err"));
    assert_int_equal(count_substr(err, "is up to date"), 3);
    assert_int_equal(count_substr(err, "made with numerics version 1"), 1);
    free(err);
    assert_true(mtime_ns(run_path(root, "a", 3, "epochs.csv")) != a3);
    assert_true(mtime_ns(run_path(root, "b", 4, "epochs.csv")) == b4);
}

/* A fine-tuning is current while its source checkpoint is the same (CRC-32),
   wherever the results root lies: a copy of the results (a clone elsewhere)
   reruns nothing; a retrained source reruns the fine-tuning. */
static void test_fine_tune_staleness_follows_the_checkpoint(void **state)
{
    static const char src_fmt[] = "name: src\ndescription: Source.\nmodel: {name: cnn}\ntask: rotation\n"
                                  "data: {train_images: 128, validation_images: 64, test_images: 64}\n"
                                  "training: {epochs: %d, batch: 64}\n";
    static const char ft[] = "name: ft\ndescription: Fine-tuning.\nmodel: {name: cnn}\ninit: {from: src}\n"
                             "data: {train_images: 128, validation_images: 64, test_images: 64}\n"
                             "training: {epochs: 1, batch: 64}\n";
    char text[512];
    snprintf(text, sizeof text, src_fmt, 1);
    char src[512], ftp[512], root[512], moved[512], ft_epochs[600]; /* test_tmp_path reuses its buffer */
    snprintf(src, sizeof src, "%s", test_tmp_path("src.yaml"));
    snprintf(ftp, sizeof ftp, "%s", test_tmp_path("ft.yaml"));
    snprintf(root, sizeof root, "%s", test_fresh_path("repro_ft"));
    snprintf(moved, sizeof moved, "%s", test_fresh_path("repro_ft_moved"));
    snprintf(ft_epochs, sizeof ft_epochs, "%s/ft/seed0/epochs.csv", moved);
    test_write_file(src, text);
    test_write_file(ftp, ft);
    run_all(src, root, false);
    run_all(ftp, root, false);
    char *note = test_read_file(test_tmp_path("repro_ft/ft/seed0/init.txt"));
    assert_non_null(note);
    assert_null(strstr(note, root)); /* no trace of where the root lay */
    free(note);

    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp -a '%s/.' '%s/'", root, moved);
    assert_int_equal(system(cmd), 0);
    const long long before = mtime_ns(ft_epochs);
    run_all(ftp, moved, true);
    char *err = test_read_file(test_tmp_path("repro.err"));
    assert_int_equal(count_substr(err, "is up to date"), 1);
    free(err);
    assert_true(mtime_ns(ft_epochs) == before);

    snprintf(text, sizeof text, src_fmt, 2); /* the source retrains: another checkpoint */
    test_write_file(src, text);
    run_all(src, moved, true);
    run_all(ftp, moved, true);
    assert_true(mtime_ns(ft_epochs) != before);
}

/* Results of an earlier configuration are in place; the new run is killed
   after its first epoch; the old files must be untouched, byte for byte. */
static void test_interrupted_run_keeps_previous_results(void **state)
{
    const char *yaml = write_yaml("Interruption.", ""), *root = test_fresh_path("repro_kill");
    run_all(yaml, root, false);
    const char *files[] = { "epochs.csv", "confusion.csv", "summary.csv", "config.yaml", "checkpoint.bin" };
    enum { NF = sizeof files / sizeof files[0] };
    char *before[NF];
    long before_len[NF];
    for (int i = 0; i < NF; i++)
        before[i] = read_bytes(run_path(root, "a", 3, files[i]), &before_len[i]);

    /* longer runs now, so that the kill lands mid-way */
    static char text[2048];
    snprintf(text, sizeof text, yaml_fmt, "Interruption.", "");
    char *e = strstr(text, "epochs: 1");
    e[8] = '6';
    char *d = strstr(text, "train_images: 256");
    memcpy(d, "train_images: 999", 17);
    test_write_file(yaml, text);

    const char *args[] = { "run", yaml, "--variant", "a", "--seed", "3", "--if-stale", "--results", root, NULL };
    pid_t pid;
    run_cli(args, test_tmp_path("repro_kill.err"), &pid);
    char ckpt[1100];
    snprintf(ckpt, sizeof ckpt, "%s.partial/checkpoint.bin", run_path(root, "a", 3, NULL));
    for (int i = 0; i < 6000 && access(ckpt, F_OK) != 0; i++) /* up to 60 s for the first epoch */
        usleep(10000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status)); /* killed, not finished */
    assert_int_equal(access(ckpt, F_OK), 0);
    for (int i = 0; i < NF; i++) {
        long len;
        char *now = read_bytes(run_path(root, "a", 3, files[i]), &len);
        if (len != before_len[i] || memcmp(now, before[i], (size_t)len) != 0)
            fail_msg("%s changed although its new run was killed", run_path(root, "a", 3, files[i]));
        free(now), free(before[i]);
    }

    /* the next pass completes the work and leaves nothing partial behind */
    run_all(yaml, root, true);
    char *epochs = test_read_file(run_path(root, "a", 3, "epochs.csv"));
    assert_non_null(strstr(epochs, "\n6,"));
    free(epochs);
    assert_int_equal(access(ckpt, F_OK), -1);
}

int main(void)
{
    if (access(test_probador(), X_OK) != 0) {
        fprintf(stderr, "%s is missing: build it first (make test-build)\n", test_probador());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_expands_variants_and_seeds),
        cmocka_unit_test(test_fine_tune_staleness_follows_the_checkpoint),
        cmocka_unit_test(test_interrupted_run_keeps_previous_results),
        cmocka_unit_test(test_if_stale_reruns_only_changed_runs),
        cmocka_unit_test(test_if_stale_reruns_other_numerics),
    };
    /* Under ASan/UBSan (PROBADOR_SANITIZED) every command-line run is ~5x slower:
       the first three, which write, publish, fine-tune from and kill runs, reach
       all the memory handling; the staleness rules are the optimised pass's. */
    const size_t count = getenv("PROBADOR_SANITIZED") ? 3 : sizeof tests / sizeof tests[0];
    return _cmocka_run_group_tests("reproduce", tests, count, NULL, NULL);
}
