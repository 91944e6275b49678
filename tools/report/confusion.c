/* tools/report/confusion.c — the most-confused pairs of classes (see the header). */
#include "tools/report/confusion.h"

#include <stdlib.h>

static int64_t total(const confusion_pair *p)
{
    return p->a_as_b + p->b_as_a;
}

/* Most errors first; ties by the lower class of each pair, then the higher. */
static int by_errors(const void *x, const void *y)
{
    const confusion_pair *p = x, *q = y;
    const int pl = p->a < p->b ? p->a : p->b, ql = q->a < q->b ? q->a : q->b;
    const int ph = p->a ^ p->b ^ pl, qh = q->a ^ q->b ^ ql;
    if (total(p) != total(q))
        return total(p) > total(q) ? -1 : 1;
    return pl != ql ? pl - ql : ph - qh;
}

int confusion_top_pairs(const int64_t m[METRIC_CLASSES][METRIC_CLASSES], int k, confusion_pair *out)
{
    confusion_pair all[METRIC_CLASSES * (METRIC_CLASSES - 1) / 2];
    int n = 0;
    for (int i = 0; i < METRIC_CLASSES; i++)
        for (int j = i + 1; j < METRIC_CLASSES; j++) {
            if (m[i][j] + m[j][i] == 0)
                continue;
            const int big = m[j][i] > m[i][j] ? j : i, small = big == i ? j : i;
            all[n++] = (confusion_pair){ big, small, m[big][small], m[small][big] };
        }
    qsort(all, (size_t)n, sizeof all[0], by_errors);
    const int count = n < k ? n : k;
    for (int i = 0; i < count; i++)
        out[i] = all[i];
    return count;
}
