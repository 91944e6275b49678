/* tools/report/report_versus.c — report.versus: an experiment's findings set
 * beside another experiment's base configuration (resnet20 against cnn), as
 * template placeholders:
 *   versus.name               the other experiment's name
 *   versus.env.KEY            each "KEY: value" of its first run's environment.txt
 *   versus.accuracy_mean, versus.accuracy_sd, versus.runs, versus.seconds_mean,
 *   versus.epochs             as base.* (report_experiment.c), of the other's runs
 *   versus.difference         this base's mean test accuracy minus the other's, points,
 *                             ± the standard error of that difference
 *   versus.clear              "yes" when the difference exceeds twice that error, else "no"
 *   versus.differences        every run key that differs between the two (the model,
 *                             say), "model.name: resnet (resnet20), cnn (cnn); ..."
 *   versus.same_seeds         "yes" when both ran the same seeds, else "no"
 *   versus.same_commit        "yes" when every run of both came from one commit, else
 *                             "no: COMMITS" (what each ran from)
 * Both experiments must have no variants: what is compared is the base
 * configuration of each. */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "tools/report/report.h"
#include "tools/report/report_versus.h"

/* "yes" when every run of a and b names one commit; else "no: C1, C2". */
static void commits(const exp_results *a, const exp_results *b, char *buf, size_t len)
{
    const exp_results *both[2] = { a, b };
    char seen[8][64];
    int n = 0;
    for (int e = 0; e < 2; e++)
        for (int i = 0; i < both[e]->n_runs; i++) {
            const char *c = tmpl_get(&both[e]->runs[i].env, "env.commit");
            c = c ? c : "(not recorded)";
            int j = 0;
            while (j < n && strcmp(seen[j], c) != 0)
                j++;
            if (j == n && n < 8)
                snprintf(seen[n++], sizeof seen[0], "%s", c);
        }
    if (n == 1) {
        snprintf(buf, len, "yes");
        return;
    }
    snprintf(buf, len, "no:");
    for (int j = 0; j < n; j++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s %s", j ? "," : "", seen[j]);
}

static bool same_seeds(const exp_results *a, const exp_results *b)
{
    const run_group *ga = &a->groups[0], *gb = &b->groups[0];
    return ga->n_seeds == gb->n_seeds && memcmp(ga->seeds, gb->seeds, (size_t)ga->n_seeds * sizeof ga->seeds[0]) == 0;
}

int report_versus_vars(const exp_results *r, tmpl_vars *v)
{
    const char *other = r->config->report.versus;
    if (!other[0])
        return 0;
    char dir[CONFIG_PATH_MAX], yaml[2 * CONFIG_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", r->yaml);
    snprintf(yaml, sizeof yaml, "%s/%s.yaml", dirname(dir), other);
    exp_results *o = checked_calloc(1, sizeof *o);
    if (results_load(yaml, r->root, o) != 0) {
        fprintf(stderr, "%s: error: report.versus '%s': its results (above) are needed to compare; run it first\n",
                r->yaml, other);
        free(o);
        return -1;
    }
    int rc = -1;
    if (r->config->n_variants > 0 || o->config->n_variants > 0) {
        fprintf(stderr, "%s: error: report.versus compares the base configurations of two experiments, and %s has "
                        "variants; name an experiment without them\n",
                r->yaml, r->config->n_variants > 0 ? r->yaml : yaml);
        goto out;
    }
    group_summary a, b;
    results_summarise(r, 0, &a);
    results_summarise(o, 0, &b);
    tmpl_set(v, "versus.name", "%s", other);
    const tmpl_vars *env = &o->runs[0].env; /* its first run's environment.txt, as versus.env.KEY */
    for (int i = 0; i < env->count; i++) {
        char key[256];
        snprintf(key, sizeof key, "versus.%s", env->keys[i]);
        tmpl_set(v, key, "%s", env->values[i]);
    }
    tmpl_set(v, "versus.accuracy_mean", "%.2f", b.accuracy_mean);
    if (isnan(b.accuracy_sd))
        tmpl_set(v, "versus.accuracy_sd", "—");
    else
        tmpl_set(v, "versus.accuracy_sd", "%.2f", b.accuracy_sd);
    tmpl_set(v, "versus.runs", "%d", b.runs);
    tmpl_set(v, "versus.seconds_mean", "%.1f", b.seconds_mean);
    tmpl_set(v, "versus.epochs", "%d", results_run(o, 0, 0)->epochs);
    char diff_text[64];
    const char *clear;
    report_difference(a.accuracy_mean, a.accuracy_sd, a.runs, b.accuracy_mean, b.accuracy_sd, b.runs, diff_text,
                      sizeof diff_text, &clear);
    tmpl_set(v, "versus.difference", "%s", diff_text);
    tmpl_set(v, "versus.clear", "%s", clear);
    /* the run keys that differ, the experiment's own name aside */
    exp_config *named = checked_malloc(sizeof *named);
    memcpy(named, o->config, sizeof *named);
    memcpy(named->run.name, r->config->run.name, sizeof named->run.name);
    char labels[2][CONFIG_NAME_MAX + 8], diff[4096];
    snprintf(labels[0], sizeof labels[0], " (%s)", r->config->run.name);
    snprintf(labels[1], sizeof labels[1], " (%s)", other);
    if (config_run_differences_as(r->config, labels[0], named, labels[1], diff, sizeof diff) == 0)
        snprintf(diff, sizeof diff, "none");
    free(named);
    tmpl_set(v, "versus.differences", "%s", diff);
    tmpl_set(v, "versus.same_seeds", "%s", same_seeds(r, o) ? "yes" : "no");
    char buf[600];
    commits(r, o, buf, sizeof buf);
    tmpl_set(v, "versus.same_commit", "%s", buf);
    rc = 0;
out:
    results_free(o);
    free(o);
    return rc;
}
