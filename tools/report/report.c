/* tools/report/report.c — `probador report WHAT`: render Markdown reports and charts. */
#include "tools/report/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/cli.h"

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

int report_gnuplot(const char *script, const char *params)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "gnuplot -e \"%s\" %s", params, script);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "%s: error: gnuplot failed (exit %d) on: %s; is gnuplot installed (make deps)?\n",
                script, rc, params);
        return -1;
    }
    return 0;
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
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)size + 1)) && fread(text, 1, (size_t)size, f) == (size_t)size) {
        text[size] = '\0';
        fclose(f);
        return text;
    }
    fprintf(stderr, "%s: error: cannot read: %s\n", path, f ? "read error" : strerror(errno));
    free(text);
    if (f)
        fclose(f);
    return NULL;
}

static const char report_usage[] =
    "usage: probador report kernels [--csv PATH] [--template PATH] [--out PATH]\n"
    "       probador report experiment experiments/NAME.yaml [--results DIR] [--out-dir DIR]\n"
    "       probador report index [--results DIR] [--out-dir DIR]\n"
    "  --results DIR   the results root the runs are in (default reports/results)\n"
    "  --out-dir DIR   where the reports go, charts in DIR/figures (default reports)\n";

int report_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*main)(int argc, char **argv);
    } reports[] = { { "kernels", report_kernels }, { "experiment", report_experiment }, { "index", report_index } };
    for (size_t i = 0; argc >= 2 && i < sizeof reports / sizeof reports[0]; i++)
        if (strcmp(argv[1], reports[i].name) == 0)
            return reports[i].main(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(report_usage, stdout);
        return 0;
    }
    fputs(report_usage, stderr);
    if (argc >= 2)
        fprintf(stderr, "probador report: error: unknown report '%s' (known: kernels, experiment, index)\n",
                argv[1]);
    return 2;
}
