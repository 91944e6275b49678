/* tools/bench/blis_configs.h — BLIS sgemm under each configuration this CPU can run. */
#ifndef PROBADOR_TOOLS_BLIS_CONFIGS_H
#define PROBADOR_TOOLS_BLIS_CONFIGS_H

#include <stdio.h>

/* Times a square sgemm of side `side` on one thread in every BLIS
   configuration that this build carries and this CPU can execute (skx,
   haswell, zen3, generic), the median of `reps` runs each, and writes one
   sidecar line: "blis_sgemm_1thread: skx 118.2, haswell 70.1, ..." (GFLOP/s),
   after the configuration BLIS_ARCH_TYPE picked for everything else. */
void blis_configs_write(FILE *env, int side, int reps);

/* GFLOP/s of a side³ sgemm on `threads` threads in the configuration everything
   else runs in, the median of `reps` runs: the machine's practical GEMM ceiling,
   beside which the kernel report sets each layer's figures. */
double blis_square_sgemm_gflops(int side, int threads, int reps);

#endif
