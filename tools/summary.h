/* tools/summary.h — ROOT/summary.csv, one row per finished run of a results
 * root: what `probador run` appends and `probador record` restores. */
#ifndef PROBADOR_TOOLS_SUMMARY_H
#define PROBADOR_TOOLS_SUMMARY_H

#include <stddef.h>

/* One run's row; its key is (experiment, variant, seed), variant "-" for the base. */
typedef struct summary_row {
    const char *experiment, *variant, *model, *kernel, *weights_hash, *commit;
    int seed, epochs;
    long long train_images;   /* per epoch */
    double test_accuracy, test_loss, train_seconds, images_per_second;
} summary_row;

/* Replaces (or adds) the row's line in ROOT/summary.csv; other rows are kept
   in order.  0, or -1 with an error printed. */
int summary_update(const char *root, const summary_row *r);

#endif
