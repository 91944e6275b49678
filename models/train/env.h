/* models/train/env.h — the environment a result was produced in, for sidecar files. */
#ifndef PROBADOR_TOOLS_ENV_H
#define PROBADOR_TOOLS_ENV_H

#include <stdio.h>

/* `git describe --always --dirty` of the working tree, or "unknown". */
const char *env_commit(void);
/* "key: value" lines: date, commit, CPU model and flags, cores, compiler and its
   flags, BLIS version and configuration, OpenMP threads. */
void env_write(FILE *f, const char *threads);

#endif
