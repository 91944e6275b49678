/* tools/summary.c — ROOT/summary.csv, updated whole under a lock. */
#include "tools/summary.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/atomic_file.h"

static const char summary_header[] =
    "experiment,variant,seed,model,kernel,epochs,train_images,test_accuracy,test_loss,train_seconds,"
    "train_images_per_second,weights_hash,commit\n";

static int update_locked(const char *root, const summary_row *r)
{
    char path[1100], key[300], row[2048];
    snprintf(path, sizeof path, "%s/summary.csv", root);
    snprintf(key, sizeof key, "%s,%s,%d,", r->experiment, r->variant, r->seed);
    snprintf(row, sizeof row, "%s,%s,%d,%s,%s,%d,%lld,%.6f,%.6f,%.1f,%.1f,%s,%s\n", r->experiment, r->variant,
             r->seed, r->model, r->kernel, r->epochs, r->train_images, r->test_accuracy, r->test_loss,
             r->train_seconds, r->images_per_second, r->weights_hash, r->commit);
    atomic_file af;
    if (!atomic_open(&af, path))
        return -1;
    fputs(summary_header, af.f);
    FILE *old = fopen(path, "r");
    bool replaced = false;
    if (old) {
        char line[4096];
        bool header = true;
        while (fgets(line, sizeof line, old)) {
            if (header) {
                header = false;
                if (strcmp(line, summary_header) != 0) {
                    fprintf(stderr, "%s:1: error: unexpected header (an older format?); move the file aside\n", path);
                    fclose(old);
                    atomic_abort(&af);
                    return -1;
                }
                continue;
            }
            if (strncmp(line, key, strlen(key)) == 0) {
                if (!replaced)
                    fputs(row, af.f);
                replaced = true;
            } else
                fputs(line, af.f);
        }
        fclose(old);
    }
    if (!replaced)
        fputs(row, af.f);
    return atomic_commit(&af) ? 0 : -1;
}

/* Runs may finish at once (make -j, GNU parallel, a Slurm array on several
   nodes): an exclusive POSIX record lock (fcntl) on ROOT/.summary.lock makes
   each read-modify-write whole.  POSIX locks, unlike flock, also hold across
   the machines of an NFS mount (through its lock manager). */
int summary_update(const char *root, const summary_row *r)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/.summary.lock", root);
    const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int locked = -1;
    while (fd >= 0 && (locked = fcntl(fd, F_SETLKW, &lock)) != 0 && errno == EINTR)
        ;
    if (fd < 0 || locked != 0) {
        fprintf(stderr, "%s: error: cannot lock it to update %s/summary.csv: %s\n", path, root, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const int rc = update_locked(root, r);
    close(fd); /* releases the lock */
    return rc;
}
