/* tools/report/report_gallery.c — figure_gallery: misclassified test images of the
 * most-confused pairs of classes, one row per pair (see tools/report/report_figures.h).
 * The images are laid out here on one canvas of grey pixels (a gnuplot matrix
 * file, 0 = background) with a caption file beside it; tools/report/gallery.gp draws
 * both, dark clothing on white, SCALE screen pixels per image pixel. */
#include "tools/report/report_figures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "data/fashion_mnist.h"
#include "tools/report/report.h"

/* Canvas geometry in image pixels: each row is a title band, the images, and a
   two-line caption band. */
enum {
    TILE = FMNIST_ROWS,
    STRIDE_X = 34,
    TITLE_H = 10,
    CAPTION_H = 16,
    ROW_H = TITLE_H + TILE + CAPTION_H,
    SCALE = 4
};

typedef struct pick {
    const run_mistake *m;
    int seed;
} pick;

/* Up to GALLERY_PER_PAIR mistakes between the pair's classes, first seed first,
   each run's in test-index order, each test image once; returns the count. */
static int choose(const exp_results *r, int group, const confusion_pair *p, pick *out)
{
    int n = 0;
    for (int k = 0; k < r->groups[group].n_seeds; k++) {
        const run_result *run = results_run(r, group, k);
        for (int i = 0; i < run->n_mistakes && n < GALLERY_PER_PAIR; i++) {
            const run_mistake *m = &run->mistakes[i];
            if (!((m->truth == p->a && m->predicted == p->b) || (m->truth == p->b && m->predicted == p->a)))
                continue;
            int seen = 0;
            for (int j = 0; j < n; j++)
                seen |= out[j].m->test_index == m->test_index;
            if (!seen)
                out[n++] = (pick){ m, run->seed };
        }
    }
    return n;
}

/* The run's label of a test image must be the data set's: a run made on other
   data would show the wrong pictures. */
static int check_label(const exp_results *r, int group, const pick *pk, const fmnist_split *test)
{
    const int idx = pk->m->test_index;
    if (idx < (int)test->count && test->labels[idx] == pk->m->truth)
        return 0;
    char dir[1200];
    results_run_dir(r->root, r->config->run.name, results_variant(r, group), pk->seed, dir, sizeof dir);
    if (idx >= (int)test->count)
        fprintf(stderr,
                "%s/misclassified.csv: error: test image %d, but the test split in %s has %zu; the run "
                "used other data (see data.dir in its config.yaml)\n",
                dir, idx, results_run(r, group, 0)->data_dir, test->count);
    else
        fprintf(stderr,
                "%s/misclassified.csv: error: test image %d is a %s, the run says a %s; the run used "
                "other data than %s (see data.dir in its config.yaml)\n",
                dir, idx, fmnist_class_name(test->labels[idx]), fmnist_class_name(pk->m->truth),
                results_run(r, group, 0)->data_dir);
    return -1;
}

int figure_gallery(const exp_results *r, int group, const confusion_pair *pairs, int n_pairs,
                   const char *work, const char *png, int *shown)
{
    fmnist_split test;
    char err[2048];
    const char *dir = results_run(r, group, 0)->data_dir;
    if (fmnist_load(dir, "t10k", &test, err, sizeof err)) {
        fprintf(stderr, "%s\n%s: note: the gallery of misclassified images needs the test images\n", err,
                dir);
        return -1;
    }
    const int width = GALLERY_PER_PAIR * STRIDE_X, height = n_pairs * ROW_H;
    uint8_t *canvas = checked_calloc((size_t)width * height, 1);
    char dat[1200], labels[1200], params[8192];
    snprintf(dat, sizeof dat, "%s-gallery.dat", work);
    snprintf(labels, sizeof labels, "%s-gallery-labels.dat", work);
    FILE *lf = fopen(labels, "w");
    int rc = 0;
    if (!lf) {
        fprintf(stderr, "%s: error: cannot write the gallery's captions: %s\n", labels, strerror(errno));
        rc = -1;
    } else
        fprintf(lf, "# x, y, text, kind (1 = a row's title, 0 = a caption), in canvas pixels\n");
    for (int p = 0; p < n_pairs && !rc; p++) {
        pick picks[GALLERY_PER_PAIR];
        shown[p] = choose(r, group, &pairs[p], picks);
        const int y0 = p * ROW_H + TITLE_H;
        fprintf(lf, "%d %d \"%s ↔ %s\" 1\n", (STRIDE_X - TILE) / 2, y0 - TITLE_H / 2,
                fmnist_class_name(pairs[p].a), fmnist_class_name(pairs[p].b));
        for (int i = 0; i < shown[p] && !rc; i++) {
            const run_mistake *m = picks[i].m;
            if ((rc = check_label(r, group, &picks[i], &test)))
                break;
            const uint8_t *img = test.images + (size_t)m->test_index * TILE * TILE;
            for (int y = 0; y < TILE; y++)
                memcpy(canvas + (size_t)(y0 + y) * width + i * STRIDE_X + (STRIDE_X - TILE) / 2,
                       img + y * TILE, TILE);
            const int x = i * STRIDE_X + STRIDE_X / 2; /* captions centred under the image */
            fprintf(lf, "%d %d \"%s → %s\" 0\n", x, y0 + TILE + 4, fmnist_class_name(m->truth),
                    fmnist_class_name(m->predicted));
            fprintf(lf, "%d %d \"test #%d, seed %d\" 0\n", x, y0 + TILE + 10, m->test_index, picks[i].seed);
        }
    }
    if (lf && fclose(lf) != 0 && !rc) {
        fprintf(stderr, "%s: error: cannot write the gallery's captions (disk full?)\n", labels);
        rc = -1;
    }
    FILE *f = rc ? NULL : fopen(dat, "w");
    if (f) {
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                fprintf(f, "%d%c", canvas[(size_t)y * width + x], x + 1 < width ? ' ' : '\n');
    }
    if (!rc && (!f || fclose(f) != 0)) {
        fprintf(stderr, "%s: error: cannot write the gallery's pixels\n", dat);
        rc = -1;
    }
    free(canvas);
    fmnist_free(&test);
    if (rc)
        return -1;
    snprintf(params, sizeof params,
             "datafile='%s'; labelfile='%s'; outfile='%s'; width=%d; height=%d; scale=%d", dat, labels, png,
             width, height, SCALE);
    return report_gnuplot("gallery.gp", params);
}
