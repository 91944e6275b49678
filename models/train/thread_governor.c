/* models/train/thread_governor.c — the thread count for the cores left free
 * (models/train/thread_governor.h). */
#include "models/train/thread_governor.h"

#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/train/timing.h"

static bool governor_enabled(void)
{
    const char *v = getenv("PROBADOR_ADAPT_THREADS");
    return !(v && strcmp(v, "0") == 0);
}

static int usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    return omp_get_num_procs();
}

int governor_threads(int asked, int cores, double other_cores)
{
    if (isnan(other_cores))
        return asked;
    const int free_cores = cores - (int)lround(other_cores);
    return free_cores < 1 ? 1 : free_cores < asked ? free_cores : asked;
}

void governor_start(thread_governor *g, int asked)
{
    g->on = governor_enabled();
    g->asked = g->now = asked;
    g->cores = usable_cores();
    g->mark = load_now();
    omp_set_num_threads(asked);
}

bool governor_tick(thread_governor *g)
{
    if (!g->on || g->asked < 2)
        return false;
    const load_mark now = load_now();
    if (now.wall - g->mark.wall < GOVERNOR_WINDOW)
        return false;
    const int want = governor_threads(g->asked, g->cores, load_other_between(&g->mark, &now));
    g->mark = now;
    if (want == g->now)
        return false;
    g->now = want;
    omp_set_num_threads(want);
    return true;
}

const char *governor_describe(void)
{
    return governor_enabled() ? "on (fewer threads while other work holds cores; PROBADOR_ADAPT_THREADS=0: off)"
                              : "off (PROBADOR_ADAPT_THREADS=0)";
}
