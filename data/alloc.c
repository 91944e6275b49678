/* data/alloc.c — checked allocation (see the header). */
#include "data/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void *or_exit(void *p, size_t bytes, const char *file, int line)
{
    if (!p) {
        fprintf(stderr, "%s:%d: error: out of memory allocating %zu bytes\n", file, line, bytes);
        exit(1);
    }
    return p;
}

void *alloc_checked_malloc(size_t bytes, const char *file, int line)
{
    return or_exit(malloc(bytes ? bytes : 1), bytes, file, line);
}

void *alloc_checked_calloc(size_t count, size_t size, const char *file, int line)
{
    if (size && count > SIZE_MAX / size)
        return or_exit(NULL, SIZE_MAX, file, line);
    return or_exit(calloc(count ? count : 1, size ? size : 1), count * size, file, line);
}

void *alloc_checked_realloc(void *p, size_t bytes, const char *file, int line)
{
    return or_exit(realloc(p, bytes ? bytes : 1), bytes, file, line);
}
