/* kernels/isa.h — one program, two instruction sets, the same bits.
 *
 * The default build targets x86-64-v3 (AVX2 + FMA), which every machine we run on
 * has.  The hot kernels whose vector code is written lane for lane (the sources in
 * the Makefile's ISA_SRC: Winograd's forward, backward_data and backward_weights,
 * and the direct kernel; and the max-pool's rows, models/layer_pool.c)
 * are compiled a second time for x86-64-v4 (AVX-512) with PROBADOR_ISA_AVX512
 * defined; ISA_NAME gives that copy's entry points the suffix _avx512.  At run time
 * isa_avx512() picks the copy: the AVX-512 one on a CPU with AVX-512 F, BW, DQ and
 * VL, unless PROBADOR_ISA=avx2 asks for the other.
 *
 * The two copies compute the same bits.  Each output is summed in the same order
 * by both: 16-lane vectors are one AVX-512 register or two AVX2 halves doing the
 * same lane-wise operations, the GEMMs' register blocks differ in shape only, each
 * element one FMA chain in the same order (see the files' own comments).
 * tests/test_isa.c compares the two copies on every pass of an awkward shape table,
 * and the choice is recorded in a run's environment.txt (kernel_isa) for
 * information: it changes speed, never results.
 *
 * PROBADOR_ISA_DISPATCH is defined when the AVX-512 copies are linked in (the
 * default build); the ARCH=x86-64-v4 build compiles everything for AVX-512 once
 * and needs no dispatch.
 */
#ifndef PROBADOR_KERNELS_ISA_H
#define PROBADOR_KERNELS_ISA_H

#include <stdbool.h>
#include <stddef.h>

#if defined(PROBADOR_ISA_AVX512)
#define ISA_NAME(f) f##_avx512
#else
#define ISA_NAME(f) f
#endif

/* Call f's AVX-512 copy (f##_avx512, counted) or f itself, as isa_avx512() says; the
   one place a dispatched entry point chooses.  Without the copies, f itself. */
#if defined(PROBADOR_ISA_DISPATCH)
#define ISA_RUN(f, ...) (isa_avx512() ? (isa_count_avx512_run(), f##_avx512(__VA_ARGS__)) : f(__VA_ARGS__))
#else
#define ISA_RUN(f, ...) f(__VA_ARGS__)
#endif

/* True when the AVX-512 copies run (always in the ARCH=x86-64-v4 build). */
bool isa_avx512(void);
/* For tests: run the AVX-512 copies (true) or the AVX2 ones (false); returns false,
   changing nothing, when that choice is not available here. */
bool isa_force_avx512(bool on);
/* Calls of the AVX-512 copies so far (each dispatcher counts its own), so that a
   test can tell the dispatch really took them. */
void isa_count_avx512_run(void);
unsigned long isa_avx512_runs(void);
/* "avx512 (runtime dispatch)", "avx2 (...)", for environment.txt. */
const char *isa_describe(void);
/* 0, or −1 with a compiler-style message in err when PROBADOR_ISA holds something
   other than avx2 or avx512, or avx512 on a CPU or build without it. */
int isa_check_env(char *err, size_t errlen);

#endif
