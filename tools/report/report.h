/* tools/report/report.h — helpers shared by the report renderers. */
#ifndef PROBADOR_TOOLS_REPORT_H
#define PROBADOR_TOOLS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "tools/report/template.h"

typedef struct exp_config exp_config;   /* tools/config/config.h */
typedef struct exp_results exp_results; /* tools/report/results.h */

/* Reads "key: value" lines of an environment sidecar into vars "env.KEY";
   returns 0, or -1 with an error printed. */
int report_read_env(const char *path, tmpl_vars *v);
/* ROOT/relative: a file of the repository the program was built in, found from
   the program rather than the current directory.  ROOT is the nearest folder
   above the running binary (/proc/self/exe: build/probador, build/san/probador,
   build/tests/test_report) that holds a Makefile.  0, or -1 with an error printed. */
int report_repo_path(const char *relative, char *buf, size_t len);
/* Renders a chart: gnuplot -e "<params>" ROOT/tools/report/SCRIPT (SCRIPT such as
   "bars.gp"); 0 or -1 (error printed). */
int report_gnuplot(const char *script, const char *params);
/* ROOT/build/report, created: where the charts' data files go.  0 or -1. */
int report_work_dir(char *buf, size_t len);
/* Creates a directory and its parents (mkdir -p); 0 or -1. */
int report_mkdirs(const char *path);
/* A chart's data file, opened for writing / closed; NULL or -1 with an error
   naming it printed. */
FILE *report_open_data(const char *path);
int report_close_data(FILE *f, const char *path);
/* An option NAME VALUE of a report command, setting *value. */
typedef struct report_option {
    const char *name;
    const char **value;
} report_option;
/* Reads argv[1..argc-1] (argv[0] the report's name): --help or -h prints
   `usage` on stdout; each NAME VALUE of options[] (ended by a NULL name) sets
   its value; one argument without a dash sets *positional when positional is
   not NULL.  Returns -1 when the command should go on, else its exit code: 0
   after --help, 2 after "probador report NAME: error: unexpected 'ARG'" and the
   usage on stderr. */
int report_args(int argc, char **argv, const char *usage, const report_option *options, const char **positional);
/* "91.23 ± 0.45" (2 decimals), or "91.23 ± —" when sd is NaN (a single run). */
const char *report_mean_sd(double mean, double sd, char *buf, size_t len);
/* The difference a − b of two groups' means, points, as "+1.23 ± 0.40": ± the
   standard error sqrt(sd_a²/n_a + sd_b²/n_b), "± —" when either side has one run
   (sd NaN).  *clear (when not NULL): "yes" when the difference exceeds twice that
   error, "no", or "—" without one. */
const char *report_difference(double mean_a, double sd_a, int n_a, double mean_b, double sd_b, int n_b, char *buf,
                              size_t len, const char **clear);
/* The whole text file, NUL-terminated (free it); NULL with an error printed. */
char *report_read_text(const char *path);

/* What `report experiment` does once it has read the runs: OUT/NAME.md and its
   charts from r (results_load), as r->config's report: section declares.
   0, or -1 with an error printed (an old report left as it was). */
int report_experiment_write(const exp_results *r, const char *out_dir);
/* What `report index` does once it has read the experiment files: OUT/README.md
   with the headline rows of experiments[0..n-1], in that order, as each one's
   report.index asks, from ROOT/summary.csv; paths[i] (or paths NULL: no such
   mark) is experiment i's file, against which a row's runs are marked stale.
   0, or -1 with an error printed. */
int report_index_write(const exp_config *const *experiments, const char *const *paths, int n, const char *root,
                       const char *out_dir);

#endif
