/* tools/report/template.h — literate reports: Markdown templates with {{name}}
 * placeholders that the report tool fills from results.  The prose lives in the
 * template, the numbers only in the CSVs, so rewording a sentence never needs a
 * rerun and a rerun never leaves a stale number in a sentence. */
#ifndef PROBADOR_TOOLS_TEMPLATE_H
#define PROBADOR_TOOLS_TEMPLATE_H

#include <stdio.h>

typedef struct tmpl_vars {
    int count, cap;
    char **keys, **values;
} tmpl_vars;

/* Sets (or replaces) `key` to the printf-formatted value. */
void tmpl_set(tmpl_vars *v, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *tmpl_get(const tmpl_vars *v, const char *key);   /* NULL if unset */
void tmpl_free(tmpl_vars *v);

/* Copies the template to `out`, replacing each {{key}}.  An unknown key is an
   error "TEMPLATE:LINE:COL: error: unknown placeholder ..." (with the nearest
   known key as a suggestion); returns 0 or -1. */
int tmpl_render(const char *template_path, const tmpl_vars *v, FILE *out);

#endif
