/* data/regular_file.c — see regular_file.h. */
#include "data/regular_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_type(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO (named pipe)"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "a special file";
}

/* -1 with why = strerror(errno), errno kept. */
static int system_error(char *why, size_t whylen)
{
    const int e = errno;
    snprintf(why, whylen, "%s", strerror(e));
    errno = e;
    return -1;
}

int regular_open(const char *path, size_t *size, char *why, size_t whylen)
{
    /* O_NONBLOCK: open returns at once on a FIFO without a writer; fstat on the
       descriptor then looks at the very file opened (no race with a check). */
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return system_error(why, whylen);
    struct stat st;
    int flags;
    if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && ((flags = fcntl(fd, F_GETFL)) < 0 ||
                                                         fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0))) {
        system_error(why, whylen);
        const int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(why, whylen, "is %s, not a regular file", file_type(st.st_mode));
        errno = 0;
        return -1;
    }
    *size = (size_t)st.st_size;
    return fd;
}

char *regular_read(const char *path, size_t max_bytes, size_t *len, char *why, size_t whylen)
{
    *len = 0;
    const int fd = regular_open(path, len, why, whylen);
    if (fd < 0)
        return NULL;
    const size_t size = *len;
    char *data = NULL;
    if (size > max_bytes) {
        snprintf(why, whylen, "%zu bytes, larger than the %zu bytes a valid one can hold", size, max_bytes);
        errno = 0;
    } else if (!(data = malloc(size + 1))) {
        snprintf(why, whylen, "out of memory for its %zu bytes", size);
        errno = ENOMEM;
    } else {
        size_t got = 0;
        int read_errno = 0;
        while (got < size) {
            const ssize_t n = read(fd, data + got, size - got);
            if (n > 0)
                got += (size_t)n;
            else if (n < 0 && errno == EINTR)
                continue;
            else {
                read_errno = n < 0 ? errno : 0;
                break;
            }
        }
        if (got != size) {
            if (read_errno)
                errno = read_errno, system_error(why, whylen);
            else
                snprintf(why, whylen, "the file shrank while read (%zu of %zu bytes)", got, size), errno = 0;
            free(data), data = NULL;
        } else {
            data[size] = '\0';
        }
    }
    const int e = errno;
    close(fd);
    errno = e;
    return data;
}
