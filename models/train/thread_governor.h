/* models/train/thread_governor.h — train on the cores the rest of the machine
 * leaves free.
 *
 * On a 2-core machine beside one busy process, a 2-thread training step is
 * slower than a 1-thread one: each parallel region waits for the thread that
 * shares its core (measured on the Intel Xeon, resnet20: 629 ms a step at 2
 * threads, 176 at 1, 96 on the idle machine; docs/PERFORMANCE.md).  So between
 * steps, every GOVERNOR_WINDOW seconds, the trainer reads how many cores of
 * other work ran beside it (models/train/machine_load.h) and runs on the cores
 * left: min(threads asked for, cores − round(other_cores)), at least 1.  The
 * thread count never changes results (every kernel and layer computes the same
 * bits for any count), only speed.  PROBADOR_ADAPT_THREADS=0 keeps the count
 * fixed. */
#ifndef PROBADOR_MODELS_TRAIN_THREAD_GOVERNOR_H
#define PROBADOR_MODELS_TRAIN_THREAD_GOVERNOR_H

#include <stdbool.h>

#include "models/train/machine_load.h"

#define GOVERNOR_WINDOW 2.0 /* seconds: /proc/stat's 10 ms ticks read to ±0.01 core */

typedef struct thread_governor {
    bool on;
    int asked, cores, now; /* threads asked for, cores this process may use, threads in force */
    load_mark mark;        /* start of the current window */
} thread_governor;

/* The thread count for `asked` threads on `cores` cores beside `other_cores`
   cores of other work (NaN: unknown, keep `asked`). */
int governor_threads(int asked, int cores, double other_cores);

/* Starts with `asked` threads in force (omp_set_num_threads). */
void governor_start(thread_governor *g, int asked);
/* Between steps: at the end of each window, sets the thread count for the
   load seen in it; returns true when it changed. */
bool governor_tick(thread_governor *g);
/* "on" or "off (PROBADOR_ADAPT_THREADS=0)", for environment.txt. */
const char *governor_describe(void);

#endif
