/* tools/run.h — `probador run`'s bridge from an experiment's configuration to
 * the training engine, for the command and the tests. */
#ifndef PROBADOR_TOOLS_RUN_H
#define PROBADOR_TOOLS_RUN_H

#include "models/train/train.h"
#include "tools/config/config.h"

/* train_run on c's run, with what only the configuration knows filled into
   opt: the run's config.yaml text (config_write_run) and, on --resume, the
   check that the folder's config.yaml is this run's (config_run_differences).
   0, or -1 with an error printed. */
int run_train(const exp_config *c, train_options opt, train_result *res);

/* Whether `probador run FILE --variant VARIANT --seed SEED --results ROOT
   --if-stale [--quick]` would train (true) or find the run current (false).
   A fine-tuning run whose source checkpoint is not there yet would train.
   notes: say on stderr why a run that exists would train again. */
bool run_would_train(const char *file, const char *root, bool quick, const char *variant, int seed, bool notes);

/* The folder that run (FILE, VARIANT, SEED) of results root ROOT writes, and
   the checkpoint of an earlier run it starts from (init.from naming an
   experiment; "" otherwise).  0, or -1 with an error printed. */
int run_folder(const char *file, const char *root, bool quick, const char *variant, int seed, char *dir,
               size_t dir_len, char *source, size_t source_len);

/* Where run c's init.from checkpoint is: ROOT/NAME/seedS/checkpoint.bin for
   an experiment's name (returns true), the path itself otherwise (false). */
bool run_init_source(const exp_config *c, const char *root, char *path, size_t path_len);

#endif
