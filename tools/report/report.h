/* tools/report/report.h — helpers shared by the report renderers. */
#ifndef PROBADOR_TOOLS_REPORT_H
#define PROBADOR_TOOLS_REPORT_H

#include <stddef.h>

#include "tools/report/template.h"

/* Reads "key: value" lines of an environment sidecar into vars "env.KEY";
   returns 0, or -1 with an error printed. */
int report_read_env(const char *path, tmpl_vars *v);
/* Renders a chart: gnuplot -e "<params>" SCRIPT; 0 or -1 (error printed). */
int report_gnuplot(const char *script, const char *params);
/* Creates a directory and its parents (mkdir -p); 0 or -1. */
int report_mkdirs(const char *path);
/* "91.23 ± 0.45" (2 decimals), or "91.23 ± —" when sd is NaN (a single run). */
const char *report_mean_sd(double mean, double sd, char *buf, size_t len);
/* The whole text file, NUL-terminated (free it); NULL with an error printed. */
char *report_read_text(const char *path);

/* The reports: `probador report kernels|experiment|index ARGS` (argv[0] is the
   report's name); each returns the exit code. */
int report_kernels(int argc, char **argv);
int report_experiment(int argc, char **argv);   /* tools/report/report_experiment.c */
int report_index(int argc, char **argv);        /* tools/report/report_index.c */

#endif
