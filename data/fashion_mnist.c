/* data/fashion_mnist.c — one Fashion-MNIST split from its two IDX files (see the header). */
#include "data/fashion_mnist.h"

#include "data/idx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX_REINSTALL "reinstall dataset-fashion-mnist (apt-get install --reinstall dataset-fashion-mnist)"

static const char *const class_names[FMNIST_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

const char *fmnist_class_name(int label)
{
    return label >= 0 && label < FMNIST_CLASSES ? class_names[label] : NULL;
}

/* "WHERE: error: " followed by the formatted rest; returns -1. */
static int fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return -1;
    int n = snprintf(err, errlen, "%s: error: ", where);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void fmnist_free(fmnist_split *s)
{
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* The most images a split holds: its size in Fashion-MNIST; 0 for an unknown split. */
static uint32_t split_max_count(const char *split)
{
    return !split                        ? 0
           : strcmp(split, "train") == 0 ? FMNIST_TRAIN_COUNT
           : strcmp(split, "t10k") == 0  ? FMNIST_T10K_COUNT
                                         : 0;
}

/* The headers of both files, before any data is read: 28x28 images, at most
   the split's size, as many labels as images.  This bounds what the data can
   make the loader decompress and allocate to what a valid split needs. */
static int check_headers(const char *split, const idx_data *img, const char *img_path, const idx_data *lab,
                         const char *lab_path, char *err, size_t errlen)
{
    if (img->rows != FMNIST_ROWS || img->cols != FMNIST_COLS)
        return fail(err, errlen, img_path,
                    "images are %ux%u (expected %dx%d, Fashion-MNIST); is this another IDX data set?",
                    img->rows, img->cols, FMNIST_ROWS, FMNIST_COLS);
    if (img->count > split_max_count(split))
        return fail(err, errlen, img_path,
                    "the header promises %u images (expected at most %u for split %s, its size in"
                    " Fashion-MNIST); the file is damaged or not this split: " FIX_REINSTALL,
                    img->count, split_max_count(split), split);
    if (img->count != lab->count)
        return fail(err, errlen, img_path,
                    "%u images but %s holds %u labels (expected the same count); the files are from different"
                    " splits or one is damaged: " FIX_REINSTALL,
                    img->count, lab_path, lab->count);
    return 0;
}

static int check_labels(const idx_data *lab, const char *lab_path, char *err, size_t errlen)
{
    for (size_t i = 0; i < lab->count; i++)
        if (lab->data[i] >= FMNIST_CLASSES)
            return fail(err, errlen, lab_path, "label %u at index %zu (expected 0..%d); " FIX_REINSTALL,
                        lab->data[i], i, FMNIST_CLASSES - 1);
    return 0;
}

int fmnist_load(const char *dir, const char *split, fmnist_split *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!dir)
        dir = FMNIST_DEFAULT_DIR;
    if (split_max_count(split) == 0)
        return fail(err, errlen, dir, "unknown split '%s' (expected train or t10k); fix the caller",
                    split ? split : "(null)");
    char img_path[4096], lab_path[4096];
    int n1 = snprintf(img_path, sizeof img_path, "%s/%s-images-idx3-ubyte.gz", dir, split);
    int n2 = snprintf(lab_path, sizeof lab_path, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof img_path || (size_t)n2 >= sizeof lab_path)
        return fail(err, errlen, dir,
                    "data directory path too long (expected under %zu bytes); use a shorter path",
                    sizeof img_path - 32);

    /* both headers first, then the data: see check_headers */
    idx_file *img_file = NULL, *lab_file = NULL;
    idx_data img = {0}, lab = {0};
    int ok = idx_open(img_path, IDX_IMAGES, &img_file, &img, err, errlen) == 0 &&
             idx_open(lab_path, IDX_LABELS, &lab_file, &lab, err, errlen) == 0 &&
             check_headers(split, &img, img_path, &lab, lab_path, err, errlen) == 0 &&
             idx_read_data(img_file, &img, err, errlen) == 0 &&
             idx_read_data(lab_file, &lab, err, errlen) == 0 &&
             check_labels(&lab, lab_path, err, errlen) == 0;
    idx_close(img_file);
    idx_close(lab_file);
    if (!ok) {
        idx_free(&img);
        idx_free(&lab);
        return -1;
    }
    *out = (fmnist_split){img.count, (int)img.rows, (int)img.cols, img.data, lab.data};
    return 0;
}
