/* tests/test_build_target.c — the build, not the host, decides the bits.
 *
 * The Makefile fixes the instruction set (ARCH, x86-64-v3) and pins the
 * compiler choices that decide floating-point results (FMA contraction, the
 * auto-vectoriser's vector width, FMA-chain avoidance), so that the compiler's
 * tuning for one CPU or another changes speed only.  This test builds
 * build/probador twice more, tuned for an Intel Sapphire Rapids and for an AMD
 * Zen 3 (gcc 12 knows no Zen 4 or 5), runs the quick profile of runs that
 * between them reach every layer, kernel, augmentation and the
 * pretraining-transfer path with each of the three binaries, and compares every
 * result file byte for byte, the weights (checkpoint.bin) included.
 *
 * It skips itself in the sanitised run (PROBADOR_SANITIZED): it tests code
 * generation, which sanitisers change. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/testing.h"

/* Tunings to compare with the default build's (generic). */
static const char *const tunes[] = { "sapphirerapids", "znver3" };
/* Runs that between them reach every layer, kernel (naive, im2col, both
   Winograd sizes), augmentation (cnn has all four), stride-2 fallbacks
   (resnet20), the rotation pretext and a fine-tuning from its checkpoint.
   The order matters: transfer starts from pretrain's seed-0 checkpoint. */
static const char *const runs[] = {
    "cnn --seed 0",
    "kernel_accuracy --variant im2col --seed 0",
    "kernel_accuracy --variant winograd_f2 --seed 0",
    "kernel_accuracy --variant naive_slice --seed 0",
    "resnet20 --seed 0",
    "pretrain",
    "transfer --variant finetune_600 --seed 0",
};
static const char *const experiments[] = { "cnn", "kernel_accuracy", "resnet20", "pretrain", "transfer" };
enum {
    N_TUNES = sizeof tunes / sizeof *tunes,
    N_RUNS = sizeof runs / sizeof *runs,
    N_EXPERIMENTS = sizeof experiments / sizeof *experiments
};

static int shell(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int status = system(cmd);
    if (status != 0)
        print_error("command failed (status %d): %s\n", status, cmd);
    return status;
}

/* The quick profile of every run above with `probador`, into `root`. */
static void run_quick(const char *probador, const char *root)
{
    assert_int_equal(shell("rm -rf '%s'", root), 0);
    for (int r = 0; r < N_RUNS; r++) {
        char experiment[64], args[128];
        if (sscanf(runs[r], "%63s %127[^\n]", experiment, args) < 2)
            args[0] = '\0';
        assert_int_equal(shell("%s run experiments/%s.yaml %s --quick --results '%s' >>'%s.log' 2>&1 || "
                               "{ tail -n 20 '%s.log' >&2; exit 1; }",
                               probador, experiment, args, root, root, root),
                         0);
    }
}

static void test_tuning_changes_no_bit(void **state)
{
    if (getenv("PROBADOR_SANITIZED"))
        skip();
    char root[N_TUNES + 1][512];
    snprintf(root[0], sizeof root[0], "%s", test_tmp_path("tune-generic"));
    run_quick("build/probador", root[0]);
    for (int t = 0; t < N_TUNES; t++) {
        char build[256], probador[300];
        snprintf(build, sizeof build, "build/tune/%s", tunes[t]);
        snprintf(probador, sizeof probador, "%s/probador", build);
        /* MAKEFLAGS from an enclosing make (jobserver, -s) would leak in; the
           build's own ARCH and CFLAGS come from make test-run's environment */
        assert_int_equal(shell("mkdir -p build/tune && env -u MAKEFLAGS -u MAKELEVEL make -s -j2 BUILD=%s TUNE=%s "
                               "${PROBADOR_ARCH:+ARCH=\"$PROBADOR_ARCH\"} "
                               "${PROBADOR_CFLAGS:+CFLAGS=\"$PROBADOR_CFLAGS\"} %s "
                               ">%s.log 2>&1 || { tail -n 20 %s.log >&2; exit 1; }",
                               build, tunes[t], probador, build, build),
                         0);
        snprintf(root[t + 1], sizeof root[t + 1], "%s", test_tmp_path(tunes[t]));
        run_quick(probador, root[t + 1]);
        /* every file of every run folder; not the wall-clock ones, nor the
           results root's summary.csv (training times) */
        for (int e = 0; e < N_EXPERIMENTS; e++)
            assert_int_equal(shell("diff -r -x timing.csv -x environment.txt '%s/%s' '%s/%s' >&2", root[0],
                                   experiments[e], root[t + 1], experiments[e]),
                             0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuning_changes_no_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
