/* tools/report/report.c — `probador report WHAT`: render Markdown reports and charts. */
#include "tools/report/report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/regular_file.h"
#include "tools/cli.h"

/* The largest text file the reports read whole: a run's config.yaml or
   overrides.txt, a report being replaced; all are a few KiB. */
#define REPORT_TEXT_MAX_BYTES (16u << 20)

int report_read_env(const char *path, tmpl_vars *v)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: error: cannot read the environment sidecar: %s; rerun the command that "
                        "wrote the results beside it\n", path, strerror(errno));
        return -1;
    }
    static char line[16384];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *colon = strstr(line, ": ");
        if (!colon)
            continue;
        *colon = '\0';
        char key[300];
        snprintf(key, sizeof key, "env.%.250s", line);
        tmpl_set(v, key, "%s", colon + 2);
    }
    fclose(f);
    return 0;
}

/* The repository's root, found once: the nearest folder above the program that
   holds a Makefile; NULL when there is none (the error printed the first time). */
static const char *repo_root(void)
{
    static char root[PATH_MAX];
    static int found; /* 0 not looked yet, 1 found, -1 not found */
    if (found)
        return found > 0 ? root : NULL;
    found = -1;
    const ssize_t n = readlink("/proc/self/exe", root, sizeof root - 1);
    if (n <= 0) {
        fprintf(stderr, "/proc/self/exe: error: cannot find the running program: %s; the report's gnuplot "
                        "scripts and templates are found from it\n", strerror(errno));
        return NULL;
    }
    root[n] = '\0';
    char exe[PATH_MAX], makefile[PATH_MAX + 16];
    snprintf(exe, sizeof exe, "%s", root);
    for (char *slash; (slash = strrchr(root, '/'));) {
        *slash = '\0';
        snprintf(makefile, sizeof makefile, "%s/Makefile", root);
        if (access(makefile, F_OK) == 0) {
            found = 1;
            return root;
        }
    }
    fprintf(stderr, "%s: error: no folder above the program holds a Makefile; run the probador built in "
                    "its repository (build/probador), whose tools/report/ holds the report's gnuplot scripts "
                    "and templates\n", exe);
    return NULL;
}

int report_repo_path(const char *relative, char *buf, size_t len)
{
    const char *root = repo_root();
    if (!root)
        return -1;
    if ((size_t)snprintf(buf, len, "%s/%s", root, relative) < len)
        return 0;
    fprintf(stderr, "%s/%s: error: path too long\n", root, relative);
    return -1;
}

int report_gnuplot(const char *script, const char *params)
{
    char path[PATH_MAX], relative[256], cmd[16384];
    snprintf(relative, sizeof relative, "tools/report/%s", script);
    if (report_repo_path(relative, path, sizeof path))
        return -1;
    if (strchr(path, '\'')) { /* the shell command quotes it with ' */
        fprintf(stderr, "%s: error: the repository's path holds a ', which the gnuplot command cannot "
                        "quote; move the repository\n", path);
        return -1;
    }
    if ((size_t)snprintf(cmd, sizeof cmd, "gnuplot -e \"%s\" '%s'", params, path) >= sizeof cmd) {
        fprintf(stderr, "%s: error: the chart's parameters are too long: %s\n", path, params);
        return -1;
    }
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "%s: error: gnuplot failed (exit %d) on: %s; is gnuplot installed (make deps)?\n",
                path, rc, params);
        return -1;
    }
    return 0;
}

int report_work_dir(char *buf, size_t len)
{
    return report_repo_path("build/report", buf, len) || report_mkdirs(buf) ? -1 : 0;
}

int report_mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0777);
            *p = '/';
        }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: error: cannot create directory: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

FILE *report_open_data(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "%s: error: cannot write the chart's data: %s\n", path, strerror(errno));
    return f;
}

int report_close_data(FILE *f, const char *path)
{
    if (fclose(f) == 0)
        return 0;
    fprintf(stderr, "%s: error: cannot write the chart's data (disk full?)\n", path);
    return -1;
}

/* The option of options[] named argv[i], or NULL. */
static const report_option *find_option(const report_option *options, const char *arg)
{
    for (; options && options->name; options++)
        if (strcmp(options->name, arg) == 0)
            return options;
    return NULL;
}

int report_args(int argc, char **argv, const char *usage, const report_option *options, const char **positional)
{
    for (int i = 1; i < argc; i++) {
        const report_option *o = i + 1 < argc ? find_option(options, argv[i]) : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (o)
            *o->value = argv[++i];
        else if (positional && !*positional && argv[i][0] != '-')
            *positional = argv[i];
        else {
            fprintf(stderr, "probador report %s: error: unexpected '%s'\n%s", argv[0], argv[i], usage);
            return 2;
        }
    }
    return -1;
}

const char *report_mean_sd(double mean, double sd, char *buf, size_t len)
{
    if (isnan(sd))
        snprintf(buf, len, "%.2f ± —", mean);
    else
        snprintf(buf, len, "%.2f ± %.2f", mean, sd);
    return buf;
}

char *report_read_text(const char *path)
{
    char why[256];
    size_t size;
    char *text = regular_read(path, REPORT_TEXT_MAX_BYTES, &size, why, sizeof why);
    if (!text)
        fprintf(stderr, "%s: error: cannot read: %s\n", path, why);
    return text;
}

/* The reports, one row each: `probador report NAME ARGS` calls main with
   argv[0] = NAME and returns its exit code.  Adding one is its renderer
   (report_NEW.c, whose entry point is declared here) and a row here (and, for
   `make report`, its line in the Makefile). */
int report_kernels(int argc, char **argv);
int report_experiment(int argc, char **argv);
int report_index(int argc, char **argv);
static const struct {
    const char *name, *args;
    int (*main)(int argc, char **argv);
} reports[] = {
    { "kernels", "[--csv PATH] [--template PATH] [--out PATH]", report_kernels },
    { "experiment", "experiments/NAME.yaml [--results DIR] [--out-dir DIR]", report_experiment },
    { "index", "[--experiments DIR] [--results DIR] [--out-dir DIR]", report_index },
};
enum { NUM_REPORTS = sizeof reports / sizeof reports[0] };

static void report_usage(FILE *f)
{
    for (int i = 0; i < NUM_REPORTS; i++)
        fprintf(f, "%s probador report %s %s\n", i ? "      " : "usage:", reports[i].name, reports[i].args);
    fputs("  --results DIR      the results root the runs are in (default reports/results)\n"
          "  --out-dir DIR      where the reports go, charts in DIR/figures (default reports)\n"
          "  --experiments DIR  the experiment files whose report.index the index follows (default experiments)\n",
          f);
}

int report_main(int argc, char **argv)
{
    for (int i = 0; argc >= 2 && i < NUM_REPORTS; i++)
        if (strcmp(argv[1], reports[i].name) == 0)
            return reports[i].main(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        report_usage(stdout);
        return 0;
    }
    report_usage(stderr);
    if (argc >= 2) {
        fprintf(stderr, "probador report: error: unknown report '%s' (known:", argv[1]);
        for (int i = 0; i < NUM_REPORTS; i++)
            fprintf(stderr, "%s %s", i ? "," : "", reports[i].name);
        fprintf(stderr, ")\n");
    }
    return 2;
}

const char *report_difference(double mean_a, double sd_a, int n_a, double mean_b, double sd_b, int n_b, char *buf,
                              size_t len, const char **clear)
{
    const double d = mean_a - mean_b, se = sqrt(sd_a * sd_a / n_a + sd_b * sd_b / n_b);
    const double shown = fabs(d) < 0.005 ? 0.0 : d; /* "+0.00" rather than "-0.00" */
    if (isnan(se))
        snprintf(buf, len, "%+.2f ± —", shown);
    else
        snprintf(buf, len, "%+.2f ± %.2f", shown, se);
    if (clear)
        *clear = isnan(se) ? "—" : fabs(d) > 2 * se ? "yes" : "no";
    return buf;
}
