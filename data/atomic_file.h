/* data/atomic_file.h — write a file so readers see the old or the new whole,
   never a half-written one: write "PATH.tmp.PID", flush, fsync, rename. */
#ifndef PROBADOR_TOOLS_ATOMIC_FILE_H
#define PROBADOR_TOOLS_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct atomic_file {
    FILE *f;
    char path[1024], tmp[1100];
} atomic_file;

/* Opens the temporary file; on failure prints "PATH: error: ..." and returns false. */
bool atomic_open(atomic_file *af, const char *path);
/* Closes and renames into place; false (message printed, temporary removed) on failure. */
bool atomic_commit(atomic_file *af);
/* Abandons the temporary file; the old PATH, if any, is left untouched. */
void atomic_abort(atomic_file *af);

#endif
