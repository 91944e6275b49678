/* models/train/train_data.c — the data of one run: the decoded splits, the
 * held-out validation list, the (balanced) training list, the test list. */
#include "models/train/train_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "data/pretext.h"

void run_data_free(run_data *d)
{
    fmnist_free(&d->train);
    fmnist_free(&d->test);
    free(d->split), free(d->test_idx), free(d->order), free(d->subset);
}

/* data.per_class: the training list becomes a class-balanced subset. */
static int balance(const run_config *c, run_data *d)
{
    d->subset = checked_malloc((size_t)10 * c->data.per_class * sizeof *d->subset);
    int short_class;
    const long n = balanced_subset(d->train_idx, (size_t)d->n_train, d->train.labels, c->data.per_class,
                                   (uint64_t)c->seed, d->subset, &short_class);
    if (n < 0) {
        fprintf(stderr, "%s: error: data.per_class = %d: class %d (%s) has fewer training images once %d are "
                        "held out for validation; lower data.per_class\n",
                c->name, c->data.per_class, short_class, fmnist_class_name(short_class), c->data.validation_images);
        return -1;
    }
    d->train_idx = d->subset, d->n_train = (int)n;
    return 0;
}

int run_data_load(const run_config *c, run_data *d)
{
    char err[1024];
    memset(d, 0, sizeof *d);
    if (fmnist_load(c->data.dir, "train", &d->train, err, sizeof err) ||
        fmnist_load(c->data.dir, "t10k", &d->test, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        run_data_free(d);
        return -1;
    }
    const int total = (int)d->train.count;
    if (c->data.validation_images >= total) {
        fprintf(stderr, "%s: error: data.validation_images = %d leaves no training images (the set has %d)\n",
                c->name, c->data.validation_images, total);
        run_data_free(d);
        return -1;
    }
    d->split = checked_malloc((size_t)total * sizeof *d->split);
    d->order = checked_malloc((size_t)total * sizeof *d->order);
    batch_lists lists;
    if (batch_split(d->split, (size_t)total, (size_t)c->data.validation_images, (size_t)c->data.train_images,
                    (uint64_t)c->seed, &lists, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", c->name, err);
        run_data_free(d);
        return -1;
    }
    d->train_idx = lists.train, d->val_idx = lists.val;
    d->n_train = (int)lists.n_train, d->n_val = (int)lists.n_val;
    if (c->data.per_class > 0 && balance(c, d)) {
        run_data_free(d);
        return -1;
    }
    d->train_src = (batch_source){ d->train.images, d->train.labels, d->train.count };
    d->test_src = (batch_source){ d->test.images, d->test.labels, d->test.count };
    d->n_test = c->data.test_images > 0 ? c->data.test_images : (int)d->test.count;
    d->test_idx = checked_malloc((size_t)d->n_test * sizeof *d->test_idx);
    for (int i = 0; i < d->n_test; i++) /* the first n: the test set is never sampled */
        d->test_idx[i] = i;
    return 0;
}
