/* data/regular_file.h — open and read the files a user or an earlier run hands
 * probador, safely: only regular files (a FIFO would block forever, a directory
 * or a device is never data), never more bytes than a valid file can hold.
 * Every reader of outside files goes through here: IDX data, experiment files,
 * checkpoints, result CSVs. */
#ifndef PROBADOR_DATA_REGULAR_FILE_H
#define PROBADOR_DATA_REGULAR_FILE_H

#include <stddef.h>

/* Opens path for reading if it is a regular file; returns the descriptor (in
 * blocking mode) and its size in *size.  On failure -1, with why: either the
 * system's reason (errno is then left set: ENOENT, EACCES, ...), or, with errno
 * 0, what the file is instead ("is a FIFO (named pipe), not a regular file").
 * Never blocks: a FIFO is opened non-blocking, then refused. */
int regular_open(const char *path, size_t *size, char *why, size_t whylen);

/* The whole of a regular file holding at most max_bytes, NUL-terminated (free
 * it); *len its size.  NULL on failure, with why (regular_open's, or "N bytes,
 * larger than the M ..."; *len is then the file's size) and errno as above. */
char *regular_read(const char *path, size_t max_bytes, size_t *len, char *why, size_t whylen);

#endif
