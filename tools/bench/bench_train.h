/* tools/bench/bench_train.h — what `probador bench --train` shares with the
 * report that reads its files (tools/report/report_kernels.c). */
#ifndef PROBADOR_TOOLS_BENCH_TRAIN_H
#define PROBADOR_TOOLS_BENCH_TRAIN_H

#include <stddef.h>

/* The step breakdown's CSV beside the timing CSV `csv`: "_breakdown" before
   its ".csv" (reports/data/train.csv -> reports/data/train_breakdown.csv), or
   after the whole path when it does not end in ".csv". */
void bench_train_breakdown_path(const char *csv, char *buf, size_t len);

#endif
