/* tools/report/report_versus.h — report.versus: one experiment's base configuration
 * compared with another's in the findings (the placeholders: report_versus.c). */
#ifndef PROBADOR_TOOLS_REPORT_VERSUS_H
#define PROBADOR_TOOLS_REPORT_VERSUS_H

#include "tools/report/results.h"
#include "tools/report/template.h"

/* Sets the versus.* placeholders when r's experiment names report.versus,
   reading that experiment's runs from r's results root.  0 (nothing to do,
   or done), or -1 with an error printed. */
int report_versus_vars(const exp_results *r, tmpl_vars *v);

#endif
