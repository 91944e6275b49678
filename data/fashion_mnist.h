/* data/fashion_mnist.h — load one split of Fashion-MNIST from its IDX files.
 *
 * A split is two gzip-compressed IDX files in one directory (Debian's
 * dataset-fashion-mnist installs them in FMNIST_DEFAULT_DIR):
 *   DIR/SPLIT-images-idx3-ubyte.gz   SPLIT = "train" (60,000) or "t10k" (10,000)
 *   DIR/SPLIT-labels-idx1-ubyte.gz
 *
 * Contract:
 * - fmnist_load reads both files with idx_open / idx_read_data (every
 *   file-level check is there).  It checks both headers BEFORE reading any
 *   data: images are exactly 28×28, at most the split's size (60,000 for
 *   train, 10,000 for t10k), and as many labels as images; so, whatever a
 *   header claims, the loader never allocates more than a valid split needs
 *   (47 MB of images for train).  Fewer images are fine: a smaller
 *   slice in another directory (a test fixture) loads too.  After the data,
 *   every label must be a class 0..9.
 * - Library code never prints or exits: 0 on success, -1 on error with a
 *   compiler-style message in err ("PATH: error: WHAT (expected X, got Y); FIX";
 *   always NUL-terminated when errlen > 0).  On error *out is zeroed and nothing
 *   is allocated.
 */
#ifndef PROBADOR_DATA_FASHION_MNIST_H
#define PROBADOR_DATA_FASHION_MNIST_H

#include <stddef.h>
#include <stdint.h>

#ifndef FMNIST_DEFAULT_DIR /* overridable at build time: -DFMNIST_DEFAULT_DIR='"/some/dir"' */
#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#endif
#define FMNIST_ROWS 28
#define FMNIST_COLS 28
#define FMNIST_CLASSES 10
#define FMNIST_TRAIN_COUNT 60000u /* images in split "train": the most a train header may promise */
#define FMNIST_T10K_COUNT 10000u  /* and in split "t10k" */

typedef struct fmnist_split {
    size_t count;    /* images, and labels */
    int rows, cols;  /* 28, 28 */
    uint8_t *images; /* [count][rows][cols], grey 0 (background) .. 255 */
    uint8_t *labels; /* [count], each 0..9 */
} fmnist_split;

/* Load split "train" or "t10k" from dir (NULL means FMNIST_DEFAULT_DIR). */
int fmnist_load(const char *dir, const char *split, fmnist_split *out, char *err, size_t errlen);
/* Release what fmnist_load allocated and zero *s; safe on a zeroed split. */
void fmnist_free(fmnist_split *s);
/* "T-shirt/top", "Trouser", ... "Ankle boot" for 0..9; NULL for anything else. */
const char *fmnist_class_name(int label);

#endif
