/* tools/report.h — helpers shared by the report renderers. */
#ifndef PROBADOR_TOOLS_REPORT_H
#define PROBADOR_TOOLS_REPORT_H

#include "tools/template.h"

/* Reads "key: value" lines of an environment sidecar into vars "env.KEY";
   returns 0, or -1 with an error printed. */
int report_read_env(const char *path, tmpl_vars *v);
/* Renders a chart: gnuplot -e "<params>" SCRIPT; 0 or -1 (error printed). */
int report_gnuplot(const char *script, const char *params);
/* Creates a directory and its parents (mkdir -p); 0 or -1. */
int report_mkdirs(const char *path);

int report_kernels(int argc, char **argv);

#endif
