/* tests/test_util.c — helpers shared by the cmocka test binaries. */
#include "tests/testing.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
