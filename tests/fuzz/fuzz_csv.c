/* tests/fuzz/fuzz_csv.c — the reports' CSV reader (tools/report/csv.c).
 *
 * Input: the whole file.  After a successful csv_load every cell is read as the
 * reports do (csv_num on each, csv_col on the header's names and on one that is
 * absent); the table must be rectangular with a header of cols names. */
#include "tests/fuzz/fuzz_common.h"
#include "tools/report/csv.h"

#include <string.h>

static volatile double csv_sink; /* every cell is read into it */

int fuzz_csv_one(const uint8_t *data, size_t size)
{
    csv_table t;
    if (csv_load(fuzz_file(0, data, size), &t) != 0) {
        fuzz_check(t.header == NULL && t.cells == NULL && t.text == NULL, "csv", "an error left memory owned");
        return -1;
    }
    fuzz_check(t.cols >= 1 && t.rows >= 0 && t.header != NULL, "csv", "a success without a header");
    for (int c = 0; c < t.cols; c++)
        fuzz_check(csv_col(&t, t.header[c]) <= c, "csv", "csv_col found a name after its own column");
    /* fields are split at commas, so no header name holds one */
    fuzz_check(csv_col(&t, "no such column, ever") == -1, "csv", "csv_col found a name that is not there");
    for (int r = 0; r < t.rows; r++)
        for (int c = 0; c < t.cols; c++)
            csv_sink += csv_num(&t, r, c) + (double)strlen(csv_cell(&t, r, c));
    csv_free(&t);
    return 0;
}

FUZZ_ENTRY(fuzz_csv_one)
