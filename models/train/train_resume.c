/* models/train/train_resume.c — continuing an interrupted run from the
 * checkpoint in its folder, with the same result an uninterrupted run gives. */
#include "models/train/train_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/regular_file.h"
#include "models/checkpoint.h"

/* timing.csv's rows for epochs 1..epochs from an earlier, interrupted run (wall
   clock, so kept out of the checkpoint, whose bytes must be deterministic);
   *seconds = their training time. */
static char *previous_timing(const char *dir, uint32_t epochs, double *seconds)
{
    char path[1200], why[160];
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    char *out = NULL;
    run_append(&out, "%s", run_timing_header);
    size_t len;
    char *text = regular_read(path, RUN_SMALL_FILE_MAX, &len, why, sizeof why);
    for (char *line = text, *next; line && *line; line = next) {
        next = line + strcspn(line, "\n");
        next += *next == '\n';
        char *end;
        const long epoch = strtol(line, &end, 10);
        if (epoch >= 1 && epoch <= (long)epochs && *end == ',') {
            run_append(&out, "%.*s", (int)(next - line), line);
            *seconds += strtod(end + 1, NULL);
        }
    }
    free(text);
    return out;
}

/* The folder's config.yaml is this run's (opt->resume_check) and its init.txt
   the same initialisation, so that the published config.yaml is the one every
   epoch trained under.  0, or -1 after an error. */
static int check_same_run(const run_state *s)
{
    const train_options *opt = s->opt;
    char path[1200];
    snprintf(path, sizeof path, "%s/config.yaml", opt->out_dir);
    if (opt->resume_check && opt->resume_check(path, s->checkpoint, opt->resume_ctx))
        return -1;
    snprintf(path, sizeof path, "%s/init.txt", opt->out_dir); /* written by the same code: byte for byte */
    char why[160];
    size_t len;
    char *have = regular_read(path, RUN_SMALL_FILE_MAX, &len, why, sizeof why);
    const bool same = !strcmp(have ? have : "", opt->init_note ? opt->init_note : "");
    const bool had = have && have[0];
    free(have);
    if (!same) {
        fprintf(stderr, "%s: error: cannot resume: its epochs started from another initialisation than init.from "
                        "gives now (%s: %s); rerun without --resume to start afresh\n",
                s->checkpoint, path, had ? "another checkpoint" : "none, a random initialisation");
        return -1;
    }
    return 0;
}

/* The counters, checked against this configuration: the CRC does not vouch for them. */
static int check_counters(const run_state *s, const checkpoint_info *info)
{
    const run_config *c = s->c;
    int rows = 0;
    for (const char *p = info->history; *p; p++)
        rows += *p == '\n';
    const bool history_ok = strncmp(info->history, run_epochs_header, strlen(run_epochs_header)) == 0 &&
                            rows == (int64_t)info->epochs + 1;
    if (info->seed == (uint64_t)c->seed && info->epochs >= 1 && info->epochs <= (uint32_t)c->training.epochs &&
        info->steps == (uint64_t)info->epochs * s->steps_per_epoch && history_ok)
        return 0;
    fprintf(stderr, "%s: error: the checkpoint's counters do not fit this run: %u epochs completed "
                    "(expected 1 to %d), %llu optimiser steps (expected %d an epoch), seed %llu (expected "
                    "%d), %d lines of history (expected a header and a row an epoch); the file is damaged "
                    "or from another run: delete it, or rerun without --resume\n",
            s->checkpoint, info->epochs, c->training.epochs, (unsigned long long)info->steps, s->steps_per_epoch,
            (unsigned long long)info->seed, c->seed, rows);
    return -1;
}

int run_resume(run_state *s, train_result *res)
{
    /* the configuration first: a changed model key is named as such,
       rather than met as a checkpoint of another model */
    if (check_same_run(s))
        return -1;
    char err[1024];
    checkpoint_info info;
    if (checkpoint_load(s->checkpoint, &s->m, CKPT_ALL, s->ema, &info, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (check_counters(s, &info)) {
        free(info.history);
        return -1;
    }
    free(s->epochs_csv), free(s->timing_csv);
    s->epochs_csv = info.history;
    s->timing_csv = previous_timing(s->opt->out_dir, info.epochs, &res->train_seconds);
    s->first_epoch = (int)info.epochs;
    s->step = info.steps;
    res->train_images = (int64_t)s->first_epoch * s->d.n_train; /* every epoch sees them all */
    fprintf(stderr, "%s: resuming after epoch %d\n", s->c->name, s->first_epoch);
    return 0;
}
