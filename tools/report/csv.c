/* tools/report/csv.c — a strict reader for the suite's CSV files (see the header). */
#include "tools/report/csv.h"

#include "data/alloc.h"
#include "data/regular_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits `line` at commas in place into at most `max` fields; returns the count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max)
            fields[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    return n;
}

int csv_load(const char *path, csv_table *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    size_t size;
    char why[160];
    t->text = regular_read(path, CSV_MAX_BYTES, &size, why, sizeof why);
    if (!t->text) {
        fprintf(stderr, "%s: error: cannot read: %s; %s\n", path, why,
                errno == ENOENT ? "run `make reproduce` (or the command that produces it) first"
                                : "give a result CSV that probador wrote");
        csv_free(t);
        return -1;
    }

    int lines = 0;
    for (char *p = t->text; *p; p++)
        lines += *p == '\n';
    char *line = t->text, *next;
    int line_no = 0;
    size_t max_rows = 0;
    for (; line && *line; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line_no == 1) {
            t->cols = 1;
            for (const char *c = line; *c; c++)
                t->cols += *c == ',';
            /* a row of cols fields takes at least cols bytes: no more rows than that,
               so the cells' pointers are bounded by the file's CSV_MAX_BYTES */
            max_rows = (size_t)lines < size / t->cols ? (size_t)lines : size / t->cols;
            t->header = checked_calloc((size_t)t->cols, sizeof *t->header);
            t->cells = checked_calloc((max_rows + 1) * t->cols, sizeof *t->cells);
            split(line, t->header, t->cols);
            continue;
        }
        if ((size_t)t->rows > max_rows) { /* cannot happen: see max_rows */
            fprintf(stderr, "%s:%d: error: more rows than the file's size allows\n", path, line_no);
            csv_free(t);
            return -1;
        }
        int n = split(line, t->cells + (size_t)t->rows * t->cols, t->cols);
        if (n != t->cols) {
            fprintf(stderr, "%s:%d: error: %d fields, expected %d as in the header; the file is "
                            "damaged: regenerate it\n", path, line_no, n, t->cols);
            csv_free(t);
            return -1;
        }
        t->rows++;
    }
    if (t->cols == 0) {
        fprintf(stderr, "%s:1: error: empty file, expected a header line; regenerate it\n", path);
        csv_free(t);
        return -1;
    }
    return 0;
}

void csv_free(csv_table *t)
{
    free(t->header);
    free(t->cells);
    free(t->text);
    t->header = t->cells = NULL;
    t->text = NULL;
}

int csv_col(const csv_table *t, const char *name)
{
    for (int c = 0; c < t->cols; c++)
        if (strcmp(t->header[c], name) == 0)
            return c;
    fprintf(stderr, "%s:1: error: no column '%s' in the header; the file is from an older "
                    "version: regenerate it\n", t->path, name);
    return -1;
}

double csv_num(const csv_table *t, int row, int col)
{
    const char *s = csv_cell(t, row, col);
    char *end;
    double v = strtod(s, &end);
    return (*s && !*end) ? v : NAN;
}
