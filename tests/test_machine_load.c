/* tests/test_machine_load.c — the machine's load as a timing sees it
 * (models/train/machine_load.h): a busy child process counts as other work,
 * this process's own work does not; and the trainer's thread count follows it
 * (models/train/thread_governor.h). */
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/train/machine_load.h"
#include "models/train/thread_governor.h"
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

/* The rule: the cores left after rounding the others' load, within [1, asked]. */
static void test_governor_rule(void **state)
{
    assert_int_equal(governor_threads(2, 2, 0.0), 2);
    assert_int_equal(governor_threads(2, 2, 0.4), 2);
    assert_int_equal(governor_threads(2, 2, 0.6), 1);
    assert_int_equal(governor_threads(2, 2, 1.0), 1);
    assert_int_equal(governor_threads(2, 2, 3.0), 1); /* never below one thread */
    assert_int_equal(governor_threads(4, 8, 2.0), 4); /* cores to spare: what was asked */
    assert_int_equal(governor_threads(8, 8, 2.2), 6);
    assert_int_equal(governor_threads(2, 2, NAN), 2); /* load unknown: what was asked */
}

/* One spinning child per core for a whole window: the governor drops to one
   thread, and OpenMP's count with it.  (Whatever else runs only adds load;
   the way back up is the rule above, not timed here.) */
static void test_governor_follows_busy_children(void **state)
{
    const int saved = omp_get_max_threads();
    unsetenv("PROBADOR_ADAPT_THREADS");
    thread_governor g;
    governor_start(&g, 2);
    assert_int_equal(omp_get_max_threads(), 2);
    pid_t pids[64];
    const int n = g.cores < 64 ? g.cores : 64;
    for (int i = 0; i < n; i++)
        if ((pids[i] = fork()) == 0) {
            spin(GOVERNOR_WINDOW + 0.5);
            _exit(0);
        }
    const struct timespec nap = { 0, 100000000 };
    bool changed = false;
    while (!changed && timing_seconds(CLOCK_MONOTONIC) - g.mark.wall < GOVERNOR_WINDOW + 0.3) {
        nanosleep(&nap, NULL);
        changed = governor_tick(&g);
    }
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    print_message("%d cores, %d busy children: %d thread(s)\n", g.cores, n, g.now);
    assert_true(changed);
    assert_int_equal(g.now, 1);
    assert_int_equal(omp_get_max_threads(), 1);
    omp_set_num_threads(saved);
}

/* PROBADOR_ADAPT_THREADS=0: the count stays as asked whatever the load. */
static void test_governor_off(void **state)
{
    const int saved = omp_get_max_threads();
    setenv("PROBADOR_ADAPT_THREADS", "0", 1);
    thread_governor g;
    governor_start(&g, 2);
    g.mark.wall -= 2 * GOVERNOR_WINDOW, g.mark.busy -= 10 * GOVERNOR_WINDOW; /* as after a window of heavy load */
    assert_false(governor_tick(&g));
    assert_int_equal(omp_get_max_threads(), 2);
    unsetenv("PROBADOR_ADAPT_THREADS");
    governor_start(&g, 2);
    g.mark.wall -= 2 * GOVERNOR_WINDOW, g.mark.busy -= 10 * GOVERNOR_WINDOW;
    assert_true(isnan(g.mark.busy) || governor_tick(&g)); /* the same window, governor on: it acts */
    omp_set_num_threads(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_child_counts),
        cmocka_unit_test(test_own_work_does_not_count),
        cmocka_unit_test(test_no_time_is_unknown),
        cmocka_unit_test(test_governor_rule),
        cmocka_unit_test(test_governor_follows_busy_children),
        cmocka_unit_test(test_governor_off),
    };
    return cmocka_run_group_tests_name("machine_load", tests, NULL, NULL);
}
