/* tests/testing.h — helpers shared by the cmocka test binaries.
 *
 * tests/testing.c, linked into every test binary, also decides how each starts:
 *
 * - Working directory: before main, the binary changes to its repository's root,
 *   the nearest directory above the binary itself (/proc/self/exe, which lives in
 *   build/tests/ or build/san/tests/) that holds tests/testing.h; failing that, the
 *   current directory if it is a root.  So `cd /tmp && ~/probador/build/tests/test_config`
 *   works, and tests name files relative to the root (experiments/cnn.yaml,
 *   build/probador).  A relative PROBADOR_TEST_TMP is relative to the root too.
 * - Which cases run: PROBADOR_TEST_FILTER, comma-separated shell patterns (fnmatch)
 *   on the case names cmocka prints, e.g. '*tolerance*' or '*variant*,test_write_*',
 *   runs only the cases matching one of them (`make test F=...` sets it).  When it
 *   matches none, the binary says so on stderr and exits with TEST_NO_CASE_MATCHES,
 *   running nothing.  PROBADOR_TEST_LIST=1 prints the names of the cases the filter
 *   picks (all without one), one a line, and exits 0 without running them
 *   (`make test-list`).  Both work on every binary without its main knowing: main's
 *   cmocka_run_group_tests call goes through testing.c. */
#ifndef PROBADOR_TESTS_TESTING_H
#define PROBADOR_TESTS_TESTING_H

/* Exit status of a test binary whose PROBADOR_TEST_FILTER matches none of its
   cases (automake's "skipped"). */
#define TEST_NO_CASE_MATCHES 77

#include <stddef.h>
#include <stdint.h>

/* Uniform floats in [-1, 1) from a counter hash of (seed, index): the same
   values whatever order or thread fills them. */
void test_fill_uniform(float *buf, size_t count, uint64_t seed);
/* Fill with quiet NaNs, so an output a kernel forgot to write is caught. */
void test_poison_nan(float *buf, size_t count);
/* 64-byte aligned allocation that fails the test when out of memory. */
void *test_alloc(size_t bytes);
/* A scratch directory under build/ for generated files; created if missing. */
const char *test_tmpdir(void);

/* A path under test_tmpdir() (8 rotating buffers). */
const char *test_tmp_path(const char *name);
/* test_tmp_path(name), with whatever was there removed (rm -rf). */
const char *test_fresh_path(const char *name);
/* stderr goes into a file under test_tmpdir() between test_stderr_begin and
   test_stderr_end, which returns what was written (free it). */
void test_stderr_begin(void);
char *test_stderr_end(void);
/* The probador program the tests run: build/san/probador in the sanitised run
   (PROBADOR_SANITIZED, set by tools/scripts/run_tests.sh), build/probador otherwise. */
const char *test_probador(void);
/* Writes text to path, failing the test if it cannot. */
void test_write_file(const char *path, const char *text);
/* The whole file, NUL-terminated (free it); NULL if it cannot be read. */
char *test_read_file(const char *path);
/* The same, binary safe: *len = its length in bytes. */
char *test_read_bytes(const char *path, long *len);

#endif
