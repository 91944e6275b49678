/* data/atomic_file.c — all-or-nothing file writes (see the header). */
#include "data/atomic_file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

bool atomic_open(atomic_file *af, const char *path)
{
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%d", path, (int)getpid());
    af->f = fopen(af->tmp, "w");
    if (!af->f) {
        fprintf(stderr, "%s: error: cannot write: %s; does its directory exist and is it writable?\n",
                af->tmp, strerror(errno));
        return false;
    }
    return true;
}

bool atomic_commit(atomic_file *af)
{
    bool ok = fflush(af->f) == 0 && fsync(fileno(af->f)) == 0;
    ok = (fclose(af->f) == 0) && ok;
    af->f = NULL;
    if (ok && rename(af->tmp, af->path) == 0)
        return true;
    fprintf(stderr, "%s: error: could not write: %s (disk full?); the previous file is unchanged\n",
            af->path, strerror(errno));
    remove(af->tmp);
    return false;
}

void atomic_abort(atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    af->f = NULL;
    remove(af->tmp);
}
