/* models/train/machine_load.h — how busy the rest of the machine was while this
 * process measured something.
 *
 * On a 2-core machine a timing taken while another job runs is worthless (a
 * 2-thread training step beside one busy process ran slower than a 1-thread
 * step on the idle machine), so every training epoch and every benchmark row
 * records the load the others put on the machine over its wall time:
 *
 *     other_cores = (Δbusy − Δown + Δsteal) / Δwall
 *
 * busy and steal from the first line of /proc/stat (busy: user, nice, system,
 * irq and softirq time of every CPU; steal: time the hypervisor gave another
 * guest), own this process's CPU time (CLOCK_PROCESS_CPUTIME_ID), all in
 * seconds.  0 means the process had the machine to itself; 1, that one core's
 * worth of other work ran beside it.  /proc/stat counts in clock ticks (10 ms),
 * so a short window reads coarsely: figures below about 0.05 are noise.
 * Without /proc/stat (another system) the load reads as NaN, "unknown". */
#ifndef PROBADOR_MODELS_TRAIN_MACHINE_LOAD_H
#define PROBADOR_MODELS_TRAIN_MACHINE_LOAD_H

#include <stdbool.h>

typedef struct load_mark {
    double wall, own, busy, steal; /* seconds; busy and steal NaN without /proc/stat */
} load_mark;

/* Where the counters stand now. */
load_mark load_now(void);

/* other_cores from mark a to mark b (≥ 0; NaN when unknown or no time passed). */
double load_other_between(const load_mark *a, const load_mark *b);
/* The same from `since` to now. */
double load_other_since(const load_mark *since);

/* Above this many cores of other work a timing is contaminated: reports
   footnote it and never quote it as a headline figure. */
#define LOAD_CONTAMINATED 0.25
/* At most this much is a quiet machine, worth starting a measurement on. */
#define LOAD_QUIET 0.1

/* Sleeps through windows of `window` seconds until one passes with at most
   LOAD_QUIET cores of other work, or `patience` seconds have gone by.  Returns
   the last window's other_cores (NaN, at once, when the load cannot be read). */
double load_wait_quiet(double patience, double window);

/* A benchmark's patience with a busy machine: before each measurement it waits
   up to `seconds` for a quiet window (0: never waits); once a wait gives up,
   the next ones only glance (one window) until the machine is quiet again, so
   that a machine busy for the whole benchmark costs minutes, not hours. */
typedef struct load_patience {
    double seconds;
    bool gave_up;
} load_patience;
/* Waits as p allows; the last window's other_cores. */
double load_settle(load_patience *p);

#endif
