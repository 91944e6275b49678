/* models/train/env.c — describe the machine, build and libraries a result came from. */
#include "models/train/env.h"
#include "models/train/run_config.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/conv.h"
#include "kernels/isa.h"
#include "models/train/thread_governor.h"

#ifndef PROBADOR_CFLAGS
#define PROBADOR_CFLAGS "unknown"
#endif
#ifndef PROBADOR_TARGET
#define PROBADOR_TARGET "unknown"
#endif

/* First line of `cmd`'s output into buf (newline stripped); false if none. */
static int run_line(const char *cmd, char *buf, size_t len)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    int ok = fgets(buf, (int)len, p) != NULL;
    pclose(p);
    if (ok)
        buf[strcspn(buf, "\n")] = '\0';
    return ok && buf[0];
}

/* HEAD, with "-dirty" when a tracked file outside reports/ differs from it:
   the outputs a run or benchmark writes into reports/ are not the code that
   made them, and would otherwise mark every second result of one command. */
const char *env_commit(void)
{
    static char commit[64];
    if (commit[0])
        return commit;
    if (!run_line("git rev-parse --short=12 HEAD 2>/dev/null", commit, sizeof commit - 8)) {
        strcpy(commit, "unknown");
        return commit;
    }
    char changed[512];
    if (run_line("git status --porcelain --untracked-files=no -- . ':(exclude)reports' 2>/dev/null", changed,
                 sizeof changed))
        strcat(commit, "-dirty");
    return commit;
}

/* The value of the first "/proc/cpuinfo" line starting with `key`. */
static void cpuinfo(const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    static char line[8192];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon += 1 + (colon[1] == ' ');
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(buf, len, "%s", colon);
            }
            break;
        }
    fclose(f);
}

void env_write(FILE *f, const char *threads)
{
    static char model[256], flags[8192];
    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cpuinfo("model name", model, sizeof model);
    cpuinfo("flags", flags, sizeof flags);
    const char *arch_env = getenv("BLIS_ARCH_TYPE");
    fprintf(f, "date: %s\n", date);
    fprintf(f, "commit: %s\n", env_commit());
    fprintf(f, "cpu: %s\n", model);
    fprintf(f, "cores: %d\n", omp_get_num_procs());
    fprintf(f, "cpu_flags: %s\n", flags);
    /* a guest sees the hypervisor flag (its cores are shared with other guests: steal time) */
    fprintf(f, "virtualised: %s\n", strstr(flags, "hypervisor") ? "yes (the CPU reports a hypervisor)" : "no");
    fprintf(f, "compiler: gcc %s\n", __VERSION__);
    fprintf(f, "build_target: %s\n", PROBADOR_TARGET);
    fprintf(f, "cflags: %s\n", PROBADOR_CFLAGS);
    fprintf(f, "blis_version: %s\n", conv_blis_version());
    fprintf(f, "blis_build: Debian libblis-openmp-dev (OpenMP threading), static\n");
    fprintf(f, "blis_arch: %s (BLIS_ARCH_TYPE=%s)\n", conv_blis_arch(), arch_env ? arch_env : "unset");
    fprintf(f, "kernel_isa: %s\n", isa_describe());
    fprintf(f, "threads: %s\n", threads);
    const char *wait = getenv("OMP_WAIT_POLICY");
    fprintf(f, "openmp: libgomp of gcc %s, OpenMP %d, OMP_WAIT_POLICY %s\n", __VERSION__, _OPENMP,
            wait ? wait : "unset");
    fprintf(f, "thread_governor: %s\n", governor_describe());
    fprintf(f, "numerics: %d\n", RUN_NUMERICS);
}
