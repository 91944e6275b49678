/* tests/fuzz/fuzz_common.h — what the fuzz harnesses share.
 *
 * Each harness tests/fuzz/fuzz_NAME.c exposes one plain function,
 *     int fuzz_NAME_one(const uint8_t *data, size_t size);
 * which feeds one input to the code under test and returns what it returned:
 * 0 (accepted) or -1 (refused with an error).  A broken contract (an error
 * without a message, a success with inconsistent sizes, ...) aborts through
 * fuzz_check, so the fuzzer records it as a finding.  The libFuzzer entry
 * points are a thin wrapper, FUZZ_ENTRY, compiled only with
 * -DPROBADOR_LIBFUZZER (make fuzz); tests/test_fuzz_regressions.c calls the
 * plain functions.
 *
 * The readers take paths, so an input is written to an in-memory file
 * (memfd) and read back through /proc/self/fd/N: no disk I/O, one file per
 * slot per process, reused for every input. */
#ifndef PROBADOR_TESTS_FUZZ_COMMON_H
#define PROBADOR_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum { FUZZ_SLOTS = 4 };

/* Replaces slot's in-memory file with data[0..size); returns its path. */
const char *fuzz_file(int slot, const void *data, size_t size);
/* Points the stderr stream at /dev/null unless PROBADOR_FUZZ_STDERR=1 (the code
   under test reports every refused input there; printing them makes a run I/O
   bound); libFuzzer's and the sanitizers' own reports still show. */
void fuzz_quiet_stderr(void);
/* Aborts with "fuzz: HARNESS: broken contract: WHAT" when ok is false. */
void fuzz_check(int ok, const char *harness, const char *what);

int fuzz_idx_one(const uint8_t *data, size_t size);
int fuzz_config_one(const uint8_t *data, size_t size);
int fuzz_checkpoint_one(const uint8_t *data, size_t size);
int fuzz_csv_one(const uint8_t *data, size_t size);

/* The tiny model the checkpoint harness loads into (and gen_seeds saves from). */
struct model;
struct model *fuzz_checkpoint_model(void);

#ifdef PROBADOR_LIBFUZZER
#define FUZZ_ENTRY(one)                                                                                      \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                                                       \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                            \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                                        \
    {                                                                                                        \
        fuzz_quiet_stderr();                                                                                 \
        return 0;                                                                                            \
    }                                                                                                        \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                             \
    {                                                                                                        \
        one(data, size);                                                                                     \
        return 0;                                                                                            \
    }
#else
#define FUZZ_ENTRY(one)
#endif

#endif
