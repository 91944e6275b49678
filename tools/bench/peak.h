/* tools/bench/peak.h — the machine's measured fused-multiply-add peak. */
#ifndef PROBADOR_TOOLS_PEAK_H
#define PROBADOR_TOOLS_PEAK_H

/* GFLOP/s of independent FMA chains in registers on `threads` threads
   (an FMA counts 2 flops), the median of `reps` timed runs. */
double peak_fma_gflops(int threads, int reps);

#endif
