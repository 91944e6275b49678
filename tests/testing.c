/* tests/testing.c — helpers shared by the cmocka test binaries, and how every
   test binary starts: from the repository root, running the cases a filter picks. */
#include "tests/testing.h"

#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/alloc.h"

#include <setjmp.h>
#include <cmocka.h>

static uint64_t splitmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void test_fill_uniform(float *buf, size_t count, uint64_t seed)
{
    const uint64_t key = splitmix64(seed);
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = splitmix64(key ^ (uint64_t)i);
        buf[i] = (float)((double)(bits >> 40) * 0x1p-23 - 1.0);   /* 24 bits -> [-1, 1) */
    }
}

void test_poison_nan(float *buf, size_t count)
{
    for (size_t i = 0; i < count; i++)
        buf[i] = NAN;
}

void *test_alloc(size_t bytes)
{
    void *p = NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0)
        fail_msg("out of memory allocating %zu bytes", bytes);
    return p;
}

const char *test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *env = getenv("PROBADOR_TEST_TMP");
        snprintf(dir, sizeof dir, "%s", env ? env : "build/test-tmp");
        mkdir("build", 0777);
        mkdir(dir, 0777);
    }
    return dir;
}

const char *test_tmp_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

const char *test_fresh_path(const char *name)
{
    const char *p = test_tmp_path(name);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0)
        fail_msg("cannot remove %s", p);
    return p;
}

/* Not test_tmp_path: its rotating buffers hold the callers' paths. */
static int saved_stderr = -1;
static char stderr_path[600];

void test_stderr_begin(void)
{
    snprintf(stderr_path, sizeof stderr_path, "%s/stderr.txt", test_tmpdir());
    fflush(stderr);
    saved_stderr = dup(2);
    const int fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved_stderr < 0 || fd < 0)
        fail_msg("cannot redirect stderr into %s", stderr_path);
    dup2(fd, 2);
    close(fd);
}

char *test_stderr_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    char *text = test_read_file(stderr_path);
    if (!text)
        fail_msg("cannot read the captured stderr");
    return text;
}

const char *test_probador(void)
{
    return getenv("PROBADOR_SANITIZED") ? "build/san/probador" : "build/probador";
}

void test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

char *test_read_bytes(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    *len = (long)fread(s, 1, (size_t)n, f);
    s[*len] = '\0';
    fclose(f);
    return s;
}

char *test_read_file(const char *path)
{
    long len;
    return test_read_bytes(path, &len);
}

/* ---- start-up: the repository root as working directory -------------------- */

/* Whether dir is a repository root: the directory holding tests/testing.h. */
static bool is_repository_root(const char *dir)
{
    char marker[PATH_MAX + 32];
    snprintf(marker, sizeof marker, "%s/tests/testing.h", dir);
    return access(marker, F_OK) == 0;
}

/* The nearest directory above the binary at exe that is a repository root: a
   test binary lives in BUILD/tests/ or BUILD/san/tests/ of its own clone. */
static bool root_above(const char *exe, char *dir, size_t size)
{
    snprintf(dir, size, "%s", exe);
    for (char *slash = strrchr(dir, '/'); slash && slash != dir; slash = strrchr(dir, '/')) {
        *slash = '\0';
        if (is_repository_root(dir))
            return true;
    }
    return false;
}

/* Runs before main (and so before any test opens experiments/..., build/...):
   the tests name files relative to the repository root, whatever directory the
   binary was started from.  The root is found from the binary's own path at run
   time, never compiled in, so a clone that moved still finds itself; a binary
   built outside its clone (BUILD=/elsewhere) runs from the root only. */
__attribute__((constructor)) static void test_enter_repository_root(void)
{
    char exe[PATH_MAX] = "", root[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    if (root_above(exe, root, sizeof root)) {
        if (chdir(root) != 0) {
            fprintf(stderr, "%s: error: cannot enter the repository root %s: %s\n", exe, root,
                    strerror(errno));
            exit(1);
        }
    } else if (!is_repository_root(".")) {
        fprintf(stderr,
                "%s: error: cannot find the repository root (a directory holding tests/testing.h) above the "
                "binary nor in the current directory; run the test from the repository root\n",
                exe[0] ? exe : program_invocation_short_name);
        exit(1);
    }
}

/* ---- choosing the cases: PROBADOR_TEST_FILTER and PROBADOR_TEST_LIST ------- */

typedef int run_group_fn(const char *, const struct CMUnitTest *const, const size_t, CMFixtureFunction,
                         CMFixtureFunction);

/* Whether a case's name matches one of the comma-separated shell patterns. */
static bool case_selected(const char *name, const char *patterns)
{
    char *copy = checked_malloc(strlen(patterns) + 1);
    strcpy(copy, patterns);
    bool selected = false;
    char *rest = copy;
    for (char *pattern; !selected && (pattern = strtok_r(rest, ",", &rest)) != NULL;)
        selected = fnmatch(pattern, name, 0) == 0;
    free(copy);
    return selected;
}

/* The cases the filter picks, in their order; *count of them. */
static struct CMUnitTest *selected_cases(const struct CMUnitTest *tests, size_t num_tests,
                                         const char *patterns, size_t *count)
{
    struct CMUnitTest *picked = checked_calloc(num_tests, sizeof *picked);
    *count = 0;
    for (size_t i = 0; i < num_tests; i++)
        if (tests[i].name && case_selected(tests[i].name, patterns))
            picked[(*count)++] = tests[i];
    return picked;
}

/* cmocka's own runner, the one this file's definition below stands in front of. */
static run_group_fn *cmocka_runner(void)
{
    run_group_fn *real = (run_group_fn *)dlsym(RTLD_NEXT, "_cmocka_run_group_tests");
    if (!real) {
        fprintf(stderr, "%s: error: cannot find cmocka's _cmocka_run_group_tests: %s\n",
                program_invocation_short_name, dlerror());
        exit(1);
    }
    return real;
}

/* Every test binary's main runs its cases through this function (the
   cmocka_run_group_tests macros expand to it): defined here, in the object
   linked into every test, it takes precedence over libcmocka's, which it calls
   with the cases PROBADOR_TEST_FILTER picks.  cmocka's own cmocka_set_test_filter
   is not used: a filter that matched nothing would pass as "0 test(s)". */
int _cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                            const size_t num_tests, CMFixtureFunction group_setup,
                            CMFixtureFunction group_teardown)
{
    const char *filter = getenv("PROBADOR_TEST_FILTER");
    const char *list_env = getenv("PROBADOR_TEST_LIST");
    const bool list = list_env && *list_env;
    if ((!filter || !*filter) && !list)
        return cmocka_runner()(group_name, tests, num_tests, group_setup, group_teardown);

    size_t count;
    struct CMUnitTest *picked = selected_cases(tests, num_tests, filter && *filter ? filter : "*", &count);
    if (list) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", picked[i].name);
        free(picked);
        exit(0);
    }
    if (count == 0) {
        fprintf(stderr, "%s: note: PROBADOR_TEST_FILTER='%s' matches none of its %zu cases; none run\n",
                program_invocation_short_name, filter, num_tests);
        free(picked);
        exit(TEST_NO_CASE_MATCHES);
    }
    printf("%s: PROBADOR_TEST_FILTER='%s' picks %zu of %zu cases\n", program_invocation_short_name, filter,
           count, num_tests);
    const int failed = cmocka_runner()(group_name, picked, count, group_setup, group_teardown);
    free(picked);
    return failed;
}
