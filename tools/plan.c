/* tools/plan.c — `probador plan`: the runs `make reproduce` would execute, one
 * self-contained command line each, for any launcher to run (make, GNU
 * parallel, a Slurm job array: tools/launch/).
 *
 * A line is `PROBADOR run EXPERIMENT --variant V --seed S --results ROOT
 * --resume --if-stale [--quick]`, every path absolute, so that it runs the same
 * from any folder of any machine that sees the same paths: --if-stale makes a
 * finished, current run a no-op, --resume continues an interrupted one from its
 * checkpoint.  The order is stable: experiments as given, each one's variants in
 * file order (the base when it has none), each variant's seeds as listed.
 *
 * Stages.  A fine-tuning run (init.from naming an experiment) needs that
 * experiment's checkpoint, so it cannot start until the source's runs are done:
 * its stage is one more than its source experiment's (whose stage is the
 * largest of its runs'), 0 without init.from.  Runs of one stage are
 * independent of each other; launchers run stage after stage (--stage N prints
 * one; --stages prints how many there are).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/alloc.h"
#include "tools/cli.h"
#include "tools/config/config.h"
#include "tools/run.h"

static const char usage_text[] =
    "usage: probador plan EXPERIMENT.yaml... [options]\n"
    "  prints one command line per run of the experiments (every variant with its seeds), in a\n"
    "  stable order, each self-contained (absolute paths): what `make reproduce` runs\n"
    "  --all-stale     only the runs that would train: not finished with this resolved\n"
    "                  configuration (what `make reproduce` would execute now)\n"
    "  --results DIR   results root (default: reports/results)\n"
    "  --quick         the quick profile's runs (results root default: reports/results-quick)\n"
    "  --stage N       only the runs of stage N (0 first): a fine-tuning run comes one stage after\n"
    "                  the experiment it starts from\n"
    "  --stages        print the number of stages instead of the runs\n"
    "  --transfer      print FOLDER<tab>INPUT<tab>COMMAND per run: the folder the run writes and\n"
    "                  the file it reads beyond the repository (the checkpoint it starts from, or\n"
    "                  else its experiment file), for launchers that copy them between machines\n"
    "                  (tools/launch/parallel.sh --return)\n";

enum { PLAN_MAX_DEPTH = 8, PLAN_MAX_EXPERIMENTS = 64 };

typedef struct plan_args {
    const char *files[PLAN_MAX_EXPERIMENTS];
    int n_files, stage; /* stage −1: all */
    const char *root;
    bool all_stale, quick, count_stages, transfer;
} plan_args;

/* The stage of experiment FILE's runs: the largest over its (variant) configurations
   of 0 without init.from, else 1 + the stage of the experiment named there (its
   file beside FILE).  −1 after an error (printed). */
static int experiment_stage(const char *file, int depth);

/* The stage of one resolved configuration of the experiment in `file`. */
static int config_stage(const exp_config *c, const char *file, int depth)
{
    const char *from = c->run.init.from;
    if (!from[0] || strchr(from, '/') || strstr(from, ".bin"))
        return 0; /* from scratch, or from a checkpoint path: nothing of the plan to wait for */
    char source[PATH_MAX];
    const char *slash = strrchr(file, '/');
    snprintf(source, sizeof source, "%.*s%s.yaml", slash ? (int)(slash - file + 1) : 0, file, from);
    if (depth >= PLAN_MAX_DEPTH) {
        fprintf(stderr, "%s: error: init.from chains more than %d experiments deep (a cycle?); each "
                        "experiment must start from one that does not lead back to it\n",
                file, PLAN_MAX_DEPTH);
        return -1;
    }
    const int s = experiment_stage(source, depth + 1);
    return s < 0 ? -1 : s + 1;
}

static int experiment_stage(const char *file, int depth)
{
    exp_config *c = checked_malloc(sizeof *c), *v = checked_malloc(sizeof *v);
    int stage = config_load(file, c) ? -1 : 0;
    for (int i = 0; stage >= 0 && i < (c->n_variants ? c->n_variants : 1); i++) {
        memcpy(v, c, sizeof *v);
        if (c->n_variants && config_apply_variant(v, c->variants[i].name)) {
            stage = -1;
            break;
        }
        const int s = config_stage(v, file, depth);
        stage = s < 0 ? -1 : s > stage ? s : stage;
    }
    free(c), free(v);
    return stage;
}

/* Every run of one experiment: its line when it is of stage `want` (and, with
   --all-stale, it would train; want −1: no line); the largest stage seen into
   *max_stage.  0, or 1 after an error. */
static int plan_experiment(const plan_args *a, const char *file, const char *probador, const char *root, int want,
                           int *max_stage)
{
    exp_config *c = checked_malloc(sizeof *c), *v = checked_malloc(sizeof *v);
    int rc = config_load(file, c) ? 1 : 0;
    for (int i = 0; rc == 0 && i < (c->n_variants ? c->n_variants : 1); i++) {
        const char *name = c->n_variants ? c->variants[i].name : "";
        memcpy(v, c, sizeof *v);
        if (name[0] && config_apply_variant(v, name)) {
            rc = 1;
            break;
        }
        const int stage = config_stage(v, file, 0);
        if (stage < 0) {
            rc = 1;
            break;
        }
        *max_stage = stage > *max_stage ? stage : *max_stage;
        int seeds[CONFIG_MAX_SEEDS];
        const int n_seeds = config_seeds(v, seeds);
        for (int k = 0; k < n_seeds && want >= 0; k++) {
            if (stage != want ||
                (a->all_stale && !run_would_train(file, a->root, a->quick, name, seeds[k], true)))
                continue;
            if (a->transfer) {
                char dir[PATH_MAX], source[PATH_MAX];
                if (run_folder(file, root, a->quick, name, seeds[k], dir, sizeof dir, source, sizeof source)) {
                    rc = 1;
                    break;
                }
                printf("%s\t%s\t", dir, source[0] ? source : file);
            }
            printf("%s run %s%s%s --seed %d --results %s --resume --if-stale%s\n", probador, file,
                   name[0] ? " --variant " : "", name, seeds[k], root, a->quick ? " --quick" : "");
        }
    }
    free(c), free(v);
    return rc;
}

static int parse(int argc, char **argv, plan_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (!strcmp(arg, "--all-stale"))
            a->all_stale = true;
        else if (!strcmp(arg, "--quick"))
            a->quick = true;
        else if (!strcmp(arg, "--stages"))
            a->count_stages = true;
        else if (!strcmp(arg, "--transfer"))
            a->transfer = true;
        else if (!strcmp(arg, "--results") || !strcmp(arg, "--stage")) {
            if (i + 1 == argc) {
                fprintf(stderr, "probador plan: error: %s needs a value\n%s", arg, usage_text);
                return 2;
            }
            const char *value = argv[++i];
            char *end;
            if (!strcmp(arg, "--results"))
                a->root = value;
            else if ((a->stage = (int)strtol(value, &end, 10)) < 0 || *end || !*value) {
                fprintf(stderr, "probador plan: error: --stage '%s': expected a stage number, 0 or more\n", value);
                return 2;
            }
        } else if (arg[0] == '-') {
            fprintf(stderr, "probador plan: error: unknown option '%s'\n%s", arg, usage_text);
            return 2;
        } else if (a->n_files == PLAN_MAX_EXPERIMENTS) {
            fprintf(stderr, "probador plan: error: more than %d experiment files; plan them in parts\n",
                    PLAN_MAX_EXPERIMENTS);
            return 2;
        } else
            a->files[a->n_files++] = arg;
    }
    if (a->n_files == 0) {
        fprintf(stderr, "probador plan: error: no experiment file given\n%s", usage_text);
        return 2;
    }
    if (!a->root)
        a->root = a->quick ? "reports/results-quick" : "reports/results";
    return 0;
}

/* path made absolute (it need not exist yet: its folder is resolved when it
   does not), into buf. */
static const char *absolute(const char *path, char *buf, size_t len)
{
    char real[PATH_MAX];
    if (realpath(path, real)) {
        snprintf(buf, len, "%s", real);
        return buf;
    }
    char cwd[PATH_MAX];
    const int n = path[0] == '/' || !getcwd(cwd, sizeof cwd) ? snprintf(buf, len, "%s", path)
                                                             : snprintf(buf, len, "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= len) {
        fprintf(stderr, "%s: error: the absolute path is longer than %zu bytes; use a shorter one\n", path, len);
        exit(1);
    }
    return buf;
}

int plan_main(int argc, char **argv)
{
    plan_args a = { .stage = -1 };
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    char probador[PATH_MAX], root[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", probador, sizeof probador - 1);
    probador[n > 0 ? n : 0] = '\0';
    if (n <= 0)
        snprintf(probador, sizeof probador, "%s", argv[0]);
    absolute(a.root, root, sizeof root);
    static char files[PLAN_MAX_EXPERIMENTS][PATH_MAX];
    for (int i = 0; i < a.n_files; i++) {
        if (access(a.files[i], R_OK) != 0) {
            fprintf(stderr, "%s: error: cannot read the experiment file; give the path of an experiments/*.yaml\n",
                    a.files[i]);
            return 1;
        }
        absolute(a.files[i], files[i], sizeof files[i]);
    }
    /* the stages first, then the lines stage by stage: a launcher that runs them in order never
       starts a fine-tuning before its source */
    int max_stage = 0;
    for (int i = 0; i < a.n_files && rc == 0; i++)
        rc = plan_experiment(&a, files[i], probador, root, -1, &max_stage);
    if (rc == 0 && a.count_stages)
        printf("%d\n", max_stage + 1);
    for (int s = 0; rc == 0 && !a.count_stages && s <= max_stage; s++)
        for (int i = 0; i < a.n_files && rc == 0; i++)
            if (a.stage < 0 || a.stage == s)
                rc = plan_experiment(&a, files[i], probador, root, s, &max_stage);
    return rc;
}
