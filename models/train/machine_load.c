/* models/train/machine_load.c — the other processes' share of the machine (see the header). */
#include "models/train/machine_load.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "models/train/timing.h"

/* busy and steal seconds of all CPUs from /proc/stat's "cpu" line; false
   when it cannot be read. */
static bool read_proc_stat(double *busy, double *steal)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return false;
    unsigned long long user, nice, system, idle, iowait, irq, softirq, st;
    const int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait,
                           &irq, &softirq, &st);
    fclose(f);
    const long hz = sysconf(_SC_CLK_TCK);
    if (got != 8 || hz <= 0)
        return false;
    *busy = (double)(user + nice + system + irq + softirq) / (double)hz;
    *steal = (double)st / (double)hz;
    return true;
}

load_mark load_now(void)
{
    load_mark m = { timing_seconds(CLOCK_MONOTONIC), timing_seconds(CLOCK_PROCESS_CPUTIME_ID), NAN, NAN };
    if (!read_proc_stat(&m.busy, &m.steal))
        m.busy = m.steal = NAN;
    return m;
}

double load_other_between(const load_mark *a, const load_mark *b)
{
    const double wall = b->wall - a->wall;
    if (!(wall > 0) || isnan(a->busy) || isnan(b->busy))
        return NAN;
    const double other = (b->busy - a->busy) - (b->own - a->own) + (b->steal - a->steal);
    return other > 0 ? other / wall : 0.0;
}

double load_other_since(const load_mark *since)
{
    const load_mark now = load_now();
    return load_other_between(since, &now);
}

double load_wait_quiet(double patience, double window)
{
    const double give_up = timing_seconds(CLOCK_MONOTONIC) + patience;
    for (;;) {
        const load_mark mark = load_now();
        const struct timespec nap = { (time_t)window, (long)((window - (double)(time_t)window) * 1e9) };
        nanosleep(&nap, NULL);
        const double other = load_other_since(&mark);
        if (!(other > LOAD_QUIET) || timing_seconds(CLOCK_MONOTONIC) >= give_up)
            return other;
    }
}

double load_settle(load_patience *p)
{
    if (!(p->seconds > 0))
        return NAN;
    const double window = 0.2, other = load_wait_quiet(p->gave_up ? 0.0 : p->seconds, window);
    p->gave_up = other > LOAD_QUIET;
    return other;
}
