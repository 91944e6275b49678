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

#endif
