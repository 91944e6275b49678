/* data/alloc.h — allocation that cannot fail silently.
 *
 * For the program's own working memory (a model's blocks, a run's index lists,
 * a report's tables): running out of memory there has no recovery, so these
 * print "FILE:LINE: error: out of memory allocating N bytes" and end the
 * * process with status 1.  Sizes that come from user input
 * (a file's length, a header's count) are checked against a limit first and
 * reported as an input error; they never reach these helpers unchecked. */
#ifndef PROBADOR_DATA_ALLOC_H
#define PROBADOR_DATA_ALLOC_H

#include <stddef.h>

void *alloc_checked_malloc(size_t bytes, const char *file, int line);
void *alloc_checked_calloc(size_t count, size_t size, const char *file, int line);
void *alloc_checked_realloc(void *p, size_t bytes, const char *file, int line);

#define checked_malloc(bytes) alloc_checked_malloc((bytes), __FILE__, __LINE__)
#define checked_calloc(count, size) alloc_checked_calloc((count), (size), __FILE__, __LINE__)
#define checked_realloc(p, bytes) alloc_checked_realloc((p), (bytes), __FILE__, __LINE__)

#endif
