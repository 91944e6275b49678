/* tests/test_committed_reports.c — the committed reports are what the generator
 * writes from the committed results, byte for byte: every report of both
 * profiles (reports/ from reports/results and reports/data, reports/quick/ from
 * reports/results-quick and reports/quick/data) is rendered again into a
 * scratch folder and its Markdown compared with the committed one.  A change to
 * a template or to the report code therefore fails here until the reports are
 * rendered again (`make report`, `make report PROFILE=quick`) and committed.
 * The charts are not compared: gnuplot draws them through cairo and pixman,
 * which pick their SIMD code for the CPU at run time, so the same chart need
 * not be the same bytes on our two machines; their data comes from the same
 * CSVs as the tables that are compared.  But each chart the generator draws must
 * be committed, and each committed chart shown by a committed report.  An experiment still under way (runs without results: `report
 * experiment` exits 3) keeps its committed report and is skipped. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/testing.h"

/* One profile: where its results and benchmark CSVs are, where its reports are. */
typedef struct profile {
    const char *results, *reports;
} profile;

/* The exit status of `probador ARGS` (stderr kept in the scratch folder). */
static int probador(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>>%s/committed-reports.log", test_probador(), args, test_tmpdir());
    const int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The text with every occurrence of `from` replaced by `to` (free it). */
static char *replaced(const char *text, const char *from, const char *to)
{
    size_t n = 0, lf = strlen(from), lt = strlen(to);
    for (const char *p = strstr(text, from); p; p = strstr(p + lf, from))
        n++;
    char *out = malloc(strlen(text) + n * (lt > lf ? lt - lf : 0) + 1), *o = out;
    for (const char *p = text;;) {
        const char *hit = strstr(p, from);
        if (!hit) {
            strcpy(o, p);
            return out;
        }
        memcpy(o, p, (size_t)(hit - p)), o += hit - p;
        memcpy(o, to, lt), o += lt;
        p = hit + lf;
    }
}

/* The rendered file against the committed one; where a report names the folder
   it was written to (its "reproduce" commands), the scratch folder reads as the
   committed one, and the default folder, reports, as the commands leave it out. */
static void expect_same_file(const char *rendered, const char *committed, const char *scratch, const char *reports)
{
    char from[1300];
    const bool default_dir = strcmp(reports, "reports") == 0;
    snprintf(from, sizeof from, "%s%s", default_dir ? " --out-dir " : "", scratch);
    long la, lb;
    char *a = test_read_bytes(rendered, &la), *b = test_read_bytes(committed, &lb);
    if (!a)
        fail_msg("%s: the generator wrote no such file", rendered);
    if (!b)
        fail_msg("%s: the generator writes it (%s) but it is not committed; run `make report` (PROFILE=quick for "
                 "reports/quick) and commit it",
                 committed, rendered);
    char *norm = replaced(a, from, default_dir ? "" : reports);
    const bool same = strcmp(norm, b) == 0;
    if (!same)
        fail_msg("%s differs from what the generator writes from the committed results (%s); run `make report` "
                 "(PROFILE=quick for reports/quick) and commit the result",
                 committed, rendered);
    free(a), free(b), free(norm);
}

/* Every report the scratch folder holds against the committed folder's. */
static void expect_same_folder(const char *scratch, const char *reports)
{
    DIR *h = opendir(scratch);
    assert_non_null(h);
    for (struct dirent *e; (e = readdir(h));) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || strcmp(dot, ".md"))
            continue;
        char rendered[2600], committed[2600];
        snprintf(rendered, sizeof rendered, "%s/%s", scratch, e->d_name);
        snprintf(committed, sizeof committed, "%s/%s", reports, e->d_name);
        expect_same_file(rendered, committed, scratch, reports);
    }
    closedir(h);
}

/* Every chart the scratch folder holds is committed, and every committed chart
   is one a committed report shows: a chart that a report no longer links (its
   figure renamed or split) is deleted, not left to look current. */
static void expect_figures_match(const char *scratch, const char *reports)
{
    char dir[1300], *all = calloc(1, 1);
    size_t len = 0;
    DIR *h = opendir(reports);
    assert_non_null(h);
    for (struct dirent *e; (e = readdir(h));) { /* every committed report's text, joined */
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || strcmp(dot, ".md"))
            continue;
        char path[2600];
        long n;
        snprintf(path, sizeof path, "%s/%s", reports, e->d_name);
        char *text = test_read_bytes(path, &n);
        assert_non_null(text);
        all = realloc(all, len + (size_t)n + 1);
        memcpy(all + len, text, (size_t)n + 1), len += (size_t)n;
        free(text);
    }
    closedir(h);
    snprintf(dir, sizeof dir, "%s/figures", reports);
    h = opendir(dir);
    assert_non_null(h);
    for (struct dirent *e; (e = readdir(h));) {
        char link[400];
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "figures/%s", e->d_name);
        if (!strstr(all, link))
            fail_msg("%s/%s: no committed report shows it; delete it (`git rm`), or render the report that "
                     "should (`make report`, PROFILE=quick for reports/quick)", dir, e->d_name);
    }
    closedir(h);
    free(all);
    snprintf(dir, sizeof dir, "%s/figures", scratch);
    h = opendir(dir);
    assert_non_null(h);
    for (struct dirent *e; (e = readdir(h));) {
        char committed[2600];
        if (e->d_name[0] == '.')
            continue;
        snprintf(committed, sizeof committed, "%s/figures/%s", reports, e->d_name);
        if (access(committed, F_OK) != 0)
            fail_msg("%s: the generator draws it but it is not committed; run `make report` (PROFILE=quick for "
                     "reports/quick) and commit it", committed);
    }
    closedir(h);
}

static void check_profile(const profile *p, const char *name)
{
    /* what the generator writes is the optimised build's business; under the
       sanitizers (tools/scripts/run_tests.sh sets PROBADOR_SANITIZED) test_report
       exercises the same code on its fixtures */
    if (getenv("PROBADOR_SANITIZED"))
        skip();
    const char *scratch = test_fresh_path(name);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", scratch);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "report kernels --csv %s/data/kernels.csv --out %s/kernels.md", p->reports, scratch);
    assert_int_equal(probador(cmd), 0);
    DIR *h = opendir("experiments");
    assert_non_null(h);
    int rendered = 0, under_way = 0;
    for (struct dirent *e; (e = readdir(h));) {
        const size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml"))
            continue;
        char results[1200];
        snprintf(results, sizeof results, "%s/%.*s", p->results, (int)(n - 5), e->d_name);
        if (access(results, F_OK) != 0) { /* never run: make report skips it too */
            under_way++;
            continue;
        }
        snprintf(cmd, sizeof cmd, "report experiment experiments/%s --results %s --out-dir %s", e->d_name,
                 p->results, scratch);
        const int rc = probador(cmd);
        if (rc == 3) { /* make report keeps its committed report, which the index then links */
            under_way++;
            snprintf(cmd, sizeof cmd, "cp %s/%.*s.md %s/ 2>/dev/null || true", p->reports, (int)(n - 5), e->d_name,
                     scratch);
            assert_int_equal(system(cmd), 0);
        }
        else if (rc != 0)
            fail_msg("`probador %s` failed (exit %d); see %s/committed-reports.log", cmd, rc, test_tmpdir());
        else
            rendered++;
    }
    closedir(h);
    snprintf(cmd, sizeof cmd, "report index --results %s --out-dir %s", p->results, scratch);
    assert_int_equal(probador(cmd), 0);
    print_message("%s: %d experiment reports, the kernels report and the index rendered; %d experiment(s) "
                  "still under way\n",
                  p->reports, rendered, under_way);
    assert_true(rendered > 0);
    expect_same_folder(scratch, p->reports);
    expect_figures_match(scratch, p->reports);
}

static void test_full_reports_are_current(void **state)
{
    check_profile(&(profile){ "reports/results", "reports" }, "committed-full");
}

static void test_quick_reports_are_current(void **state)
{
    check_profile(&(profile){ "reports/results-quick", "reports/quick" }, "committed-quick");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_reports_are_current),
        cmocka_unit_test(test_quick_reports_are_current),
    };
    return cmocka_run_group_tests_name("committed_reports", tests, NULL, NULL);
}
