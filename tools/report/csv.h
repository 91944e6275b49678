/* tools/report/csv.h — read the suite's own CSV files: one header line, comma
   separated, no quoting, strictly rectangular (a ragged row is an error). */
#ifndef PROBADOR_TOOLS_CSV_H
#define PROBADOR_TOOLS_CSV_H

typedef struct csv_table {
    char path[1024];
    int rows, cols;
    char **header;    /* cols names */
    char **cells;     /* rows × cols, row-major */
    char *text;       /* the file, split in place */
} csv_table;

/* The largest CSV read: the results' summary.csv grows a row of about 150
   bytes a run, so this is hundreds of thousands of runs. */
#define CSV_MAX_BYTES (64u << 20)

/* 0 on success; on error prints "PATH:LINE: error: ..." and returns -1. */
int csv_load(const char *path, csv_table *t);
void csv_free(csv_table *t);
/* Column index of `name`; prints an error naming the file and returns -1 if absent. */
int csv_col(const csv_table *t, const char *name);
static inline const char *csv_cell(const csv_table *t, int row, int col) { return t->cells[row * t->cols + col]; }
double csv_num(const csv_table *t, int row, int col);   /* NaN if not a number */

#endif
