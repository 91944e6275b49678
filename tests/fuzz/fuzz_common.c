/* tests/fuzz/fuzz_common.c — in-memory input files and quiet stderr for the harnesses. */
#include "tests/fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

const char *fuzz_file(int slot, const void *data, size_t size)
{
    static int fd[FUZZ_SLOTS] = { -1, -1, -1, -1 };
    static char path[FUZZ_SLOTS][64];
    if (slot < 0 || slot >= FUZZ_SLOTS)
        abort();
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("probador-fuzz", MFD_CLOEXEC);
        if (fd[slot] < 0) {
            perror("fuzz: memfd_create");
            abort();
        }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    const char *p = data;
    size_t done = 0;
    if (ftruncate(fd[slot], 0) != 0)
        abort();
    while (done < size) {
        ssize_t n = pwrite(fd[slot], p + done, size - done, (off_t)done);
        if (n <= 0) {
            perror("fuzz: writing the input file");
            abort();
        }
        done += (size_t)n;
    }
    return path[slot];
}

/* Only the stream variable is swapped: libFuzzer keeps the FILE it took at start-up
   and the sanitizers write to descriptor 2, so their reports still show. */
void fuzz_quiet_stderr(void)
{
    const char *keep = getenv("PROBADOR_FUZZ_STDERR");
    if (keep && keep[0] == '1')
        return;
    FILE *null = fopen("/dev/null", "we");
    if (null)
        stderr = null;
}

void fuzz_check(int ok, const char *harness, const char *what)
{
    if (ok)
        return;
    /* descriptor 2, not the stream: that may point at /dev/null */
    dprintf(STDERR_FILENO, "fuzz: %s: broken contract: %s\n", harness, what);
    abort();
}
