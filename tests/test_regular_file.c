/* tests/test_regular_file.c — the one reader of outside files (data/regular_file.h)
 * and the readers built on it: only regular files, at once (a FIFO without a
 * writer would block forever), never more bytes than the caller allows.  The
 * IDX and checkpoint readers have their own such tests (test_data,
 * test_checkpoint); here the experiment-file and CSV readers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/regular_file.h"
#include "tests/testing.h"
#include "tools/config/config.h"
#include "tools/report/csv.h"

/* A reader blocked on a FIFO would hang the suite: end it loudly instead. */
static void on_alarm(int sig)
{
    static const char msg[] = "test_regular_file: error: a reader blocked for 10 s on a FIFO (expected an "
                              "immediate 'not a regular file' error)\n";
    (void)sig;
    write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(1);
}

static const char *fresh_fifo(const char *name)
{
    const char *path = test_tmp_path(name);
    unlink(path);
    if (mkfifo(path, 0600) != 0)
        fail_msg("cannot create the FIFO %s: %s", path, strerror(errno));
    return path;
}

static void test_reads_a_regular_file_whole(void **state)
{
    const char *path = test_tmp_path("regular.txt");
    test_write_file(path, "abc\n");
    char why[160];
    size_t len;
    char *text = regular_read(path, 4, &len, why, sizeof why);
    assert_non_null(text);
    assert_int_equal(len, 4);
    assert_string_equal(text, "abc\n"); /* NUL-terminated */
    free(text);
}

static void test_refuses_what_is_not_a_regular_file(void **state)
{
    char why[160];
    size_t len;
    alarm(10);
    assert_null(regular_read(fresh_fifo("regular.fifo"), 100, &len, why, sizeof why));
    alarm(0);
    assert_int_equal(errno, 0);
    assert_string_equal(why, "is a FIFO (named pipe), not a regular file");
    assert_null(regular_read(test_tmpdir(), 100, &len, why, sizeof why));
    assert_string_equal(why, "is a directory, not a regular file");
    assert_null(regular_read("/dev/zero", 100, &len, why, sizeof why)); /* endless: never read */
    assert_string_equal(why, "is a character device, not a regular file");
    assert_null(regular_read(test_tmp_path("no-such-file"), 100, &len, why, sizeof why));
    assert_int_equal(errno, ENOENT);
    assert_string_equal(why, strerror(ENOENT));
}

static void test_refuses_more_than_allowed_before_reading(void **state)
{
    const char *path = test_tmp_path("regular-large.txt");
    test_write_file(path, "0123456789");
    char why[160];
    size_t len;
    assert_null(regular_read(path, 9, &len, why, sizeof why));
    assert_int_equal(len, 10); /* the size, for the caller's message */
    assert_string_equal(why, "10 bytes, larger than the 9 bytes a valid one can hold");
}

/* The experiment file and a result CSV given as FIFOs: errors, at once. */
static void test_config_and_csv_refuse_a_fifo(void **state)
{
    exp_config *c = malloc(sizeof *c);
    assert_non_null(c);
    const char *fifo = fresh_fifo("experiment.fifo");
    test_stderr_begin();
    alarm(10);
    const int config_rc = config_load(fifo, c);
    csv_table t;
    const int csv_rc = csv_load(fifo, &t);
    alarm(0);
    char *log = test_stderr_end();
    free(c);
    assert_int_equal(config_rc, -1);
    assert_int_equal(csv_rc, -1);
    if (!strstr(log, "cannot open the experiment file: is a FIFO (named pipe), not a regular file") ||
        !strstr(log, "cannot read: is a FIFO (named pipe), not a regular file"))
        fail_msg("expected both readers to refuse the FIFO, got:\n%s", log);
    free(log);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_a_regular_file_whole),
        cmocka_unit_test(test_refuses_what_is_not_a_regular_file),
        cmocka_unit_test(test_refuses_more_than_allowed_before_reading),
        cmocka_unit_test(test_config_and_csv_refuse_a_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
