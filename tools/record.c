/* tools/record.c — `probador record RUN_FOLDER...`: (re)writes the summary.csv
 * rows of finished run folders that arrived from elsewhere.
 *
 * `probador run` records its row in ROOT/summary.csv itself.  A run made on a
 * machine that does not share ROOT (tools/launch/parallel.sh --return copies
 * the run folder back with rsync) recorded it in that machine's copy; here the
 * row is rebuilt from the folder alone: its summary.csv (the deterministic
 * columns, verbatim), its timing.csv (training seconds: the sum of the epochs',
 * as a resumed run sums them) and its environment.txt (the commit).  ROOT is
 * where the folder lies: FOLDER is ROOT/EXPERIMENT[/VARIANT]/seedN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/report/csv.h"
#include "tools/summary.h"

static const char usage_text[] =
    "usage: probador record RUN_FOLDER...\n"
    "  writes (or replaces) each finished run folder's row in the summary.csv of the results\n"
    "  root it lies in (FOLDER is ROOT/EXPERIMENT[/VARIANT]/seedN), rebuilt from the folder's\n"
    "  own files: for runs made on a machine that does not share the results root\n"
    "  (tools/launch/parallel.sh --return)\n";

/* The value of `key: ` in DIR/environment.txt into out; 0, or -1 with an error printed. */
static int environment_value(const char *dir, const char *key, char *out, size_t len)
{
    char path[1200], line[512];
    snprintf(path, sizeof path, "%s/environment.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: error: cannot read it; a finished run folder holds one\n", path);
        return -1;
    }
    const size_t n = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':' && line[n + 1] == ' ') {
            snprintf(out, len, "%.*s", (int)strcspn(line + n + 2, "\n"), line + n + 2);
            found = 1;
        }
    fclose(f);
    if (!found)
        fprintf(stderr, "%s: error: no '%s:' line; give a run folder that probador wrote\n", path, key);
    return found ? 0 : -1;
}

/* The training seconds: the sum of DIR/timing.csv's epochs, which must number `epochs`. */
static int training_seconds(const char *dir, int epochs, double *seconds)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    csv_table t;
    if (csv_load(path, &t))
        return -1;
    const int col = csv_col(&t, "seconds");
    int rc = col < 0 ? -1 : 0;
    if (rc == 0 && t.rows != epochs) {
        fprintf(stderr, "%s: error: %d epochs timed, the run's summary.csv says %d; the folder is not a finished "
                        "run (copy it again from where it ran)\n",
                path, t.rows, epochs);
        rc = -1;
    }
    *seconds = 0;
    for (int i = 0; rc == 0 && i < t.rows; i++) {
        const double s = csv_num(&t, i, col);
        if (!(s >= 0)) {
            fprintf(stderr, "%s:%d: error: seconds '%s' is not a number of seconds\n", path, i + 2,
                    csv_cell(&t, i, col));
            rc = -1;
        }
        *seconds += s;
    }
    csv_free(&t);
    return rc;
}

static int record_one(const char *folder)
{
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", folder);
    for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
        dir[n - 1] = '\0';
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "%s: error: not a finished run folder (no summary.csv: a run writes it last); give "
                        "ROOT/EXPERIMENT[/VARIANT]/seedN\n", dir);
        return -1;
    }
    csv_table t;
    if (csv_load(path, &t))
        return -1;
    static const char *const names[] = { "experiment", "variant", "seed", "model", "kernel", "epochs",
                                         "train_images", "test_accuracy", "test_loss", "weights_hash" };
    enum { EXPERIMENT, VARIANT, SEED, MODEL, KERNEL, EPOCHS, TRAIN_IMAGES, ACCURACY, LOSS, HASH, NAMES };
    int col[NAMES], rc = 0;
    for (int i = 0; i < NAMES && rc == 0; i++)
        rc = (col[i] = csv_col(&t, names[i])) < 0 ? -1 : 0;
    if (rc == 0 && t.rows != 1) {
        fprintf(stderr, "%s: error: %d rows, a run folder's summary.csv has one; give a run folder\n", path, t.rows);
        rc = -1;
    }
    if (rc) {
        csv_free(&t);
        return -1;
    }
    const char *experiment = csv_cell(&t, 0, col[EXPERIMENT]), *variant = csv_cell(&t, 0, col[VARIANT]);
    const int seed = atoi(csv_cell(&t, 0, col[SEED])), epochs = atoi(csv_cell(&t, 0, col[EPOCHS]));
    /* the folder must be where `run` puts this run, so that ROOT is known */
    char tail[600];
    snprintf(tail, sizeof tail, "/%s%s%s/seed%d", experiment, strcmp(variant, "-") ? "/" : "",
             strcmp(variant, "-") ? variant : "", seed);
    const size_t n = strlen(dir), m = strlen(tail);
    char root[1024], commit[64];
    double seconds = 0;
    if (n < m || strcmp(dir + n - m, tail) != 0) {
        fprintf(stderr, "%s: error: this folder holds run %s of seed %d, so it must be ROOT%s; move it there "
                        "(inside the results root) first\n",
                dir, experiment, seed, tail);
        rc = -1;
    } else if (epochs < 1) {
        fprintf(stderr, "%s:2: error: epochs '%s': expected a number of epochs, 1 or more\n", path,
                csv_cell(&t, 0, col[EPOCHS]));
        rc = -1;
    } else {
        snprintf(root, sizeof root, "%.*s", n == m ? 1 : (int)(n - m), n == m ? "/" : dir);
        rc = training_seconds(dir, epochs, &seconds) || environment_value(dir, "commit", commit, sizeof commit);
    }
    if (rc == 0) {
        const long long images = atoll(csv_cell(&t, 0, col[TRAIN_IMAGES]));
        const summary_row row = { .experiment = experiment, .variant = variant, .seed = seed,
                                  .model = csv_cell(&t, 0, col[MODEL]), .kernel = csv_cell(&t, 0, col[KERNEL]),
                                  .epochs = epochs, .train_images = images,
                                  .test_accuracy = csv_num(&t, 0, col[ACCURACY]),
                                  .test_loss = csv_num(&t, 0, col[LOSS]), .train_seconds = seconds,
                                  .images_per_second = seconds > 0 ? (double)images * epochs / seconds : 0,
                                  .weights_hash = csv_cell(&t, 0, col[HASH]), .commit = commit };
        rc = summary_update(root, &row);
        if (rc == 0)
            fprintf(stderr, "record: %s: %s,%s,%d -> %s/summary.csv\n", dir, experiment, variant, seed, root);
    }
    csv_free(&t);
    return rc;
}

int record_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "probador record: error: no run folder given\n%s", usage_text);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "probador record: error: unknown option '%s'\n%s", argv[i], usage_text);
            return 2;
        }
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed += record_one(argv[i]) != 0;
    return failed ? 1 : 0;
}
