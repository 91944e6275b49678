/* tools/report.c — `probador report WHAT`: render Markdown reports and charts. */
#include "tools/report.h"

#include <errno.h>
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

int report_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "kernels") == 0)
        return report_kernels(argc - 1, argv + 1);
    fprintf(stderr, "usage: probador report kernels [--csv PATH] [--template PATH] [--out PATH]\n");
    if (argc >= 2 && strcmp(argv[1], "--help") != 0) {
        fprintf(stderr, "probador report: error: unknown report '%s' (known: kernels)\n", argv[1]);
        return 2;
    }
    return argc >= 2 ? 0 : 2;
}
