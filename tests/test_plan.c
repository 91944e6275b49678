/* tests/test_plan.c — `probador plan` (tools/plan.c): the command line of every
 * run, absolute and self-contained, stage by stage (a fine-tuning after its
 * source), only the stale ones with --all-stale; a line run by hand is the run
 * make reproduce would have made; with --transfer, each run's folder and input,
 * from which `probador record` rebuilds summary.csv (GNU parallel --return). */
#include <limits.h>
#include <math.h>
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

/* `probador plan ARGS`: its stdout (free it) and exit status. */
static char *plan(const char *args, int *status)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s plan %s 2>%s/plan.err", test_probador(), args, test_tmpdir());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    for (size_t n; (n = fread(out + len, 1, cap - len - 1, p)) > 0;)
        if ((len += n) + 1 == cap)
            out = realloc(out, cap *= 2);
    out[len] = '\0';
    const int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static char *plan_stderr(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/plan.err", test_tmpdir());
    return test_read_file(path);
}

/* The committed experiments against an empty results root: every run, the
   first line exactly, pretraining (stage 0) before every fine-tuning (stage 1);
   against the committed quick results, none (they are current). */
static void test_plan_of_the_committed_experiments(void **state)
{
    char root[PATH_MAX], repo[PATH_MAX], tmp[PATH_MAX], probador[PATH_MAX], args[PATH_MAX + 64],
        want[4 * PATH_MAX];
    snprintf(root, sizeof root, "%s", test_fresh_path("plan-empty"));
    assert_non_null(realpath(".", repo));
    assert_non_null(realpath(test_tmpdir(), tmp));
    assert_non_null(realpath(test_probador(), probador));
    int status;
    snprintf(args, sizeof args, "experiments/*.yaml --quick --results %s", root);
    char *all = plan(args, &status);
    assert_int_equal(status, 0);
    snprintf(want, sizeof want,
             "%s run %s/experiments/augmentation.yaml --variant none --seed 0 --results %s/plan-empty --resume "
             "--if-stale --quick\n",
             probador, repo, tmp);
    if (strncmp(all, want, strlen(want)) != 0)
        fail_msg("the first line is not\n%sbut\n%.*s", want, (int)strcspn(all, "\n") + 1, all);
    const char *pretrain = strstr(all, "/experiments/pretrain.yaml "), *finetune = strstr(all, "--variant finetune_");
    assert_non_null(pretrain);
    assert_non_null(finetune);
    assert_true(pretrain < finetune);
    const int total = count_lines(all);
    assert_true(total > 20);

    snprintf(args, sizeof args, "experiments/*.yaml --quick --results %s --stages", root);
    char *stages = plan(args, &status);
    assert_string_equal(stages, "2\n");
    snprintf(args, sizeof args, "experiments/*.yaml --quick --results %s --stage 1", root);
    char *late = plan(args, &status);
    assert_int_equal(status, 0);
    assert_true(count_lines(late) > 0);
    for (const char *line = late; *line; line = strchr(line, '\n') + 1) {
        const char *v = strstr(line, "--variant finetune_"), *p = strstr(line, "--variant probe_");
        if ((!v || v > strchr(line, '\n')) && (!p || p > strchr(line, '\n')))
            fail_msg("stage 1 holds a run that starts from no pretrained trunk: %.*s", (int)strcspn(line, "\n"),
                     line);
    }

    char *none = plan("experiments/*.yaml --quick --all-stale", &status);
    assert_int_equal(status, 0);
    if (none[0])
        fail_msg("the committed quick results are current, yet the plan lists\n%s", none);
    print_message("%d runs in the quick profile, none stale in reports/results-quick\n", total);
    free(all), free(stages), free(late), free(none);
}

/* Field i (0 first) of a comma-separated line, into out. */
static void field(const char *line, int i, char *out, size_t len)
{
    for (; i > 0 && line; i--)
        line = strchr(line, ',') ? strchr(line, ',') + 1 : NULL;
    snprintf(out, len, "%.*s", line ? (int)strcspn(line, ",\n") : 0, line ? line : "");
}

/* After test_plan_lines_run's four runs under ROOT: `plan --transfer` gives each
   run's folder and its input (the source's checkpoint of the same seed mod 2 for
   a fine-tuning, the experiment file otherwise); `record` on those folders
   rebuilds summary.csv: the same rows, but training times summed from
   timing.csv; and refuses what is not a finished run folder in its place. */
static void check_transfer_and_record(const char *files, const char *root)
{
    int status;
    char args[4096], cmd[8192], path[1200], saved[1200];
    snprintf(args, sizeof args, "%s --results %s --transfer", files, root);
    char *lines = plan(args, &status);
    assert_int_equal(status, 0);
    assert_int_equal(count_lines(lines), 4);
    char folders[4][1024];
    int k = 0;
    for (const char *line = lines; *line; line = strchr(line, '\n') + 1, k++) {
        char input[1024], want[1100];
        const size_t a = strcspn(line, "\t"), b = strcspn(line + a + 1, "\t");
        snprintf(folders[k], sizeof folders[k], "%.*s", (int)a, line);
        snprintf(input, sizeof input, "%.*s", (int)b, line + a + 1);
        const char *command = line + a + 1 + b + 1;
        assert_true(folders[k][0] == '/' && input[0] == '/' && command[0] == '/');
        assert_true(strstr(command, " run ") && strstr(command, " run ") < strchr(command, '\n'));
        const bool tune = strstr(folders[k], "/tune/") != NULL;
        const int seed = folders[k][strlen(folders[k]) - 1] - '0';
        snprintf(want, sizeof want, tune ? "/results/src/seed%d/checkpoint.bin" : "/src.yaml", seed % 2);
        const size_t n = strlen(input), m = strlen(want);
        if (n < m || strcmp(input + n - m, want) != 0)
            fail_msg("%s: input %s, wanted %s", folders[k], input, want);
    }
    snprintf(path, sizeof path, "%s/summary.csv", root);
    snprintf(saved, sizeof saved, "%s/summary.saved", root);
    assert_int_equal(rename(path, saved), 0);
    snprintf(cmd, sizeof cmd, "%s record %s %s/ %s %s 2>/dev/null", test_probador(), folders[0],
             folders[1], folders[2], folders[3]);
    assert_int_equal(system(cmd), 0);
    char *before = test_read_file(saved), *after = test_read_file(path);
    assert_non_null(after);
    assert_int_equal(count_lines(after), 5);
    for (const char *line = after; *line; line = strchr(line, '\n') + 1) {
        char key[256], old_line[1024];
        snprintf(key, sizeof key, "\n%.*s,", (int)strcspn(line, ","), line); /* experiment,variant,seed */
        field(line, 1, key + strlen(key), sizeof key - strlen(key));
        strcat(key, ",");
        field(line, 2, key + strlen(key), sizeof key - strlen(key));
        strcat(key, ",");
        const char *old = strstr(before, key);
        if (line == after) {
            assert_memory_equal(line, before, strcspn(before, "\n")); /* the header */
            continue;
        }
        assert_non_null(old);
        old++;
        snprintf(old_line, sizeof old_line, "%.*s", (int)strcspn(old, "\n"), old);
        for (int i = 0; i < 13; i++) {
            char got[256], want[256];
            field(line, i, got, sizeof got);
            field(old_line, i, want, sizeof want);
            if (i == 9 ? fabs(atof(got) - atof(want)) > 0.11
                       : i == 10 ? fabs(atof(got) / atof(want) - 1) > 0.05 : strcmp(got, want) != 0)
                fail_msg("record: column %d is %s, the run wrote %s\n  %.*s\n  %s", i, got, want,
                         (int)strcspn(line, "\n"), line, old_line);
        }
    }
    /* not in its place; not a run folder; not finished */
    char moved[1200], err[1300];
    snprintf(moved, sizeof moved, "%s/elsewhere", root);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/src && cp -r %s %s/ && cp -r %s %s/src/ && head -n 1 %s/timing.csv > "
             "%s/src/seed0/timing.csv", moved, folders[0], moved, folders[0], moved, folders[0], moved);
    assert_int_equal(system(cmd), 0);
    const struct { const char *folder, *what; } bad[] = {
        { "elsewhere/seed0", "so it must be ROOT/src/seed0; move it there" },
        { "src", "not a finished run folder (no summary.csv" },
        { "elsewhere/src/seed0", "0 epochs timed, the run's summary.csv says 1" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(err, sizeof err, "%s/record.err", test_tmpdir());
        snprintf(cmd, sizeof cmd, "%s record %s/%s 2>%s", test_probador(), root, bad[i].folder, err);
        const int st = system(cmd);
        char *text = test_read_file(err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || !text || !strstr(text, bad[i].what))
            fail_msg("record %s: wanted exit 1 and '%s', got:\n%s", bad[i].folder, bad[i].what, text ? text : "");
        free(text);
    }
    free(lines), free(before), free(after);
}

/* A line runs as is, from another folder, and its run then drops out of
   --all-stale; a fine-tuning is stale while its source is; with
   init.from_seeds each fine-tuning starts from its own seed of the source; two
   lines at once both record their rows in summary.csv. */
static void test_plan_lines_run(void **state)
{
    const char *dir = test_fresh_path("plan-exp");
    char cmd[4096], a[1024], b[1024], root[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(a, sizeof a, "%s/src.yaml", dir);
    snprintf(b, sizeof b, "%s/tune.yaml", dir);
    snprintf(root, sizeof root, "%s/results", dir);
    static const char tiny[] = "description: d\nmodel: {name: cnn}\nkernel: im2col\n"
                               "data: {train_images: 128, validation_images: 64, test_images: 64}\n"
                               "training: {epochs: 1, batch: 64}\n";
    char text[1024];
    snprintf(text, sizeof text, "name: src\n%sseeds: [0, 1]\n", tiny);
    test_write_file(a, text);
    snprintf(text, sizeof text, "name: tune\n%sinit: {from: src, from_seeds: 2}\nseeds: [0, 1]\n", tiny);
    test_write_file(b, text);
    int status;
    char args[4096];
    snprintf(args, sizeof args, "%s %s --results %s --all-stale", b, a, root);
    char *lines = plan(args, &status);
    assert_int_equal(status, 0);
    assert_int_equal(count_lines(lines), 4);
    assert_non_null(strstr(lines, "/src.yaml --seed 0"));
    assert_true(strstr(lines, "/src.yaml") < strstr(lines, "/tune.yaml")); /* the source's stage first */
    /* run the source's two lines from / */
    const size_t first = strcspn(lines, "\n"), second = strcspn(lines + first + 1, "\n");
    snprintf(cmd, sizeof cmd, "cd / && %.*s >/dev/null 2>&1 && %.*s >/dev/null 2>&1", (int)first, lines,
             (int)second, lines + first + 1);
    assert_int_equal(system(cmd), 0);
    char *after = plan(args, &status);
    assert_int_equal(status, 0);
    assert_int_equal(count_lines(after), 2);
    assert_null(strstr(after, "/src.yaml"));
    /* the two fine-tunings at once, as a launcher would run them: both rows reach summary.csv (each run
       rewrites the file under the lock) */
    const size_t l1 = strcspn(after, "\n");
    snprintf(cmd, sizeof cmd, "(%.*s) >/dev/null 2>&1 & (%.*s) >/dev/null 2>&1; s=$?; wait $! && exit $s", (int)l1,
             after, (int)strcspn(after + l1 + 1, "\n"), after + l1 + 1);
    assert_int_equal(system(cmd), 0);
    char summary[1100];
    snprintf(summary, sizeof summary, "%s/summary.csv", root);
    char *rows = test_read_file(summary);
    assert_non_null(rows);
    assert_int_equal(count_lines(rows), 5); /* the header, src and tune seeds 0 and 1 */
    assert_non_null(strstr(rows, "\nsrc,-,0,"));
    assert_non_null(strstr(rows, "\nsrc,-,1,"));
    assert_non_null(strstr(rows, "\ntune,-,0,"));
    assert_non_null(strstr(rows, "\ntune,-,1,"));
    for (int seed = 0; seed < 2; seed++) { /* seed s of tune from seed s mod 2 of src */
        char path[1200], want[64];
        snprintf(path, sizeof path, "%s/tune/seed%d/init.txt", root, seed);
        snprintf(want, sizeof want, "checkpoint: src/seed%d/checkpoint.bin", seed);
        char *init = test_read_file(path);
        assert_non_null(init);
        if (!strstr(init, want))
            fail_msg("%s: wanted '%s' in:\n%s", path, want, init);
        free(init);
    }
    char *none = plan(args, &status);
    assert_string_equal(none, "");
    snprintf(args, sizeof args, "%s %s", b, a);
    check_transfer_and_record(args, root);
    free(lines), free(after), free(rows), free(none);
}

/* Errors: what is wrong and what to do, with exit status 2 for the command line. */
static void test_plan_errors(void **state)
{
    const char *dir = test_fresh_path("plan-bad");
    char cmd[1024], c[1024], args[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(c, sizeof c, "%s/loop.yaml", dir);
    test_write_file(c, "name: loop\ndescription: d\ninit: {from: loop}\n");
    const struct { const char *args; int status; const char *what; } cases[] = {
        { "", 2, "error: no experiment file given" },
        { "experiments/cnn.yaml --frobnicate", 2, "error: unknown option '--frobnicate'" },
        { "experiments/cnn.yaml --stage x", 2, "error: --stage 'x': expected a stage number, 0 or more" },
        { "experiments/cnn.yaml --results", 2, "error: --results needs a value" },
        { "experiments/no-such.yaml", 1, "experiments/no-such.yaml: error: cannot read the experiment file" },
        { c, 1, "error: init.from chains more than 8 experiments deep (a cycle?)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status;
        snprintf(args, sizeof args, "%s", cases[i].args);
        free(plan(args, &status));
        char *err = plan_stderr();
        if (status != cases[i].status || !err || !strstr(err, cases[i].what))
            fail_msg("plan %s: wanted exit %d and '%s', got %d:\n%s", cases[i].args, cases[i].status,
                     cases[i].what, status, err ? err : "(no stderr)");
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_of_the_committed_experiments),
        cmocka_unit_test(test_plan_lines_run),
        cmocka_unit_test(test_plan_errors),
    };
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
