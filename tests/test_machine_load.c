/* tests/test_machine_load.c — the machine's load as a timing sees it
 * (models/train/machine_load.h): a busy child process counts as other work,
 * this process's own work does not. */
#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/train/machine_load.h"
#include "models/train/timing.h"

/* Busy for `seconds` of wall time. */
static void spin(double seconds)
{
    volatile double x = 0;
    const double end = timing_seconds(CLOCK_MONOTONIC) + seconds;
    while (timing_seconds(CLOCK_MONOTONIC) < end)
        for (int i = 0; i < 10000; i++)
            x += i;
}

/* A child spinning for 0.6 s beside this (sleeping) process: about one core of
   other work, whatever else the machine does (which can only add to it). */
static void test_busy_child_counts(void **state)
{
    const load_mark mark = load_now();
    const pid_t pid = fork();
    if (pid == 0) {
        spin(0.6);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    const double other = load_other_since(&mark);
    print_message("other work while a child spun: %.2f cores\n", other);
    assert_true(other >= 0.6);
}

/* This process spinning: its own work (a core, or less on a busy machine) is
   taken out of the machine's, whatever the rest of the machine does meanwhile
   (/proc/stat counts in 10 ms ticks: over a second, ±0.02 cores). */
static void test_own_work_does_not_count(void **state)
{
    const load_mark a = load_now();
    spin(1.0);
    const load_mark b = load_now();
    const double wall = b.wall - a.wall, own = (b.own - a.own) / wall;
    const double all = (b.busy - a.busy + b.steal - a.steal) / wall, other = load_other_between(&a, &b);
    print_message("this process %.2f cores, the machine %.2f, other work %.2f\n", own, all, other);
    assert_true(own > 0.2 && own < 1.05);
    assert_true(other == 0.0 || fabs(other - (all - own)) < 1e-9);
    assert_true(other < all - own / 2); /* /proc/stat saw this process's work, which is not "other" */
}

static void test_no_time_is_unknown(void **state)
{
    load_mark later = load_now();
    later.wall += 10; /* a mark in the future: no time has passed since it */
    assert_true(isnan(load_other_since(&later)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_child_counts),
        cmocka_unit_test(test_own_work_does_not_count),
        cmocka_unit_test(test_no_time_is_unknown),
    };
    return cmocka_run_group_tests_name("machine_load", tests, NULL, NULL);
}
