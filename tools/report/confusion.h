/* tools/report/confusion.h — the pairs of classes a confusion matrix mixes up most.
 * m[true][predicted], METRIC_CLASSES × METRIC_CLASSES (models/train_math.h;
 * per-class precision, recall and F1 come from metrics_finish there). */
#ifndef PROBADOR_TOOLS_CONFUSION_H
#define PROBADOR_TOOLS_CONFUSION_H

#include <stdint.h>

#include "models/train_math.h"

/* An unordered pair {a, b} of classes: a_as_b images of class a predicted as b,
   b_as_a the other way; a is the class of the larger direction (the lower
   class on a tie). */
typedef struct confusion_pair {
    int a, b;
    int64_t a_as_b, b_as_a;
} confusion_pair;

/* The up to `k` pairs with the most errors a_as_b + b_as_a, most first (ties:
   lower classes first); pairs without any error are left out.  Returns how
   many were written to out. */
int confusion_top_pairs(const int64_t m[METRIC_CLASSES][METRIC_CLASSES], int k, confusion_pair *out);

#endif
