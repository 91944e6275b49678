/* tests/test_fuzz_regressions.c — replays the fuzzers' inputs through the same
 * harness functions (tests/fuzz/fuzz_*.c, built here without libFuzzer):
 * every seed in tests/fuzz/corpus/NAME/ and every saved finding in
 * tests/fuzz/regressions/NAME/.  Each seed must be accepted (0) and each finding
 * refused (-1): a crash crashes this test (and ASan/UBSan catch what a plain
 * build would not, in the san/ build), and exit() from the code under test fails it.
 * Run from the repository root, as make test does. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/fuzz/fuzz_common.h"
#include "tests/testing.h"

typedef struct harness {
    const char *name;
    int (*one)(const uint8_t *data, size_t size);
} harness;

static const harness harnesses[] = {
    { "idx", fuzz_idx_one },
    { "config", fuzz_config_one },
    { "checkpoint", fuzz_checkpoint_one },
    { "csv", fuzz_csv_one },
};

/* The input being replayed, for the atexit guard: a library that calls exit()
   on a bad input would otherwise end this test with whatever status it chose. */
static const char *replaying;

static void exit_guard(void)
{
    if (replaying) {
        dprintf(STDERR_FILENO,
                "%s: error: the code under test called exit() on this input (expected it to return an error)\n",
                replaying);
        _exit(1);
    }
}

static int visible(const struct dirent *e)
{
    return e->d_name[0] != '.' && strcmp(e->d_name, "README.md") != 0;
}

/* Replays every file in dir; returns how many (*accepted: how many returned 0).
   A missing dir holds none. */
static int replay_dir(const harness *h, const char *dir, int *accepted)
{
    struct dirent **names;
    const int n = scandir(dir, &names, visible, alphasort);
    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        long len;
        char *data = test_read_bytes(path, &len);
        if (!data)
            fail_msg("%s: cannot read", path);
        replaying = path;
        const int rc = h->one((const uint8_t *)data, (size_t)len);
        replaying = NULL;
        free(data);
        if (rc != 0 && rc != -1)
            fail_msg("%s: the %s harness returned %d (expected 0 or -1)", path, h->name, rc);
        *accepted += rc == 0;
        free(names[i]);
    }
    free(names);
    return n;
}

static void test_replay(void **state)
{
    const harness *h = *state;
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", h->name);
    int seeds_ok = 0, found_ok = 0;
    const int seeds = replay_dir(h, dir, &seeds_ok);
    if (seeds == 0)
        fail_msg("%s: no seed inputs (expected the committed corpus; run from the repository root)", dir);
    snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", h->name);
    const int found = replay_dir(h, dir, &found_ok);
    printf("fuzz %s: %d seeds (%d accepted) and %d saved findings (%d accepted) handled\n", h->name, seeds,
           seeds_ok, found, found_ok);
    /* The seeds are valid files: were one refused, the fuzzer would start from
       the error path and reach little.  The findings are damaged files: one
       accepted is a check that went missing (a valid input that once crashed
       belongs in the corpus instead). */
    if (seeds_ok != seeds)
        fail_msg("tests/fuzz/corpus/%s: %d of %d seeds refused (expected every seed to be a valid input; "
                 "regenerate them with make fuzz-seeds)",
                 h->name, seeds - seeds_ok, seeds);
    if (found_ok != 0)
        fail_msg("tests/fuzz/regressions/%s: %d saved findings accepted (expected each refused with an error)",
                 h->name, found_ok);
}

int main(void)
{
    atexit(exit_guard);
#define REPLAY(i) { harnesses[i].name, test_replay, NULL, NULL, (void *)&harnesses[i] }
    const struct CMUnitTest tests[] = { REPLAY(0), REPLAY(1), REPLAY(2), REPLAY(3) };
#undef REPLAY
    return cmocka_run_group_tests(tests, NULL, NULL);
}
