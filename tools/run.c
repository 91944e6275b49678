/* tools/run.c — `probador run EXPERIMENT.yaml [options] [key=value ...]`:
 * resolve the configuration (file, variant, seed, overrides), train, write the
 * run's folder and its row of reports/results/summary.csv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h> /* AT_FDCWD */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/atomic_file.h"
#include "tools/cli.h"
#include "tools/report/csv.h"
#include "models/train/env.h"
#include "models/checkpoint.h"
#include "tools/report/report.h"
#include "tools/report/results.h"
#include "models/train/train.h"
#include "data/alloc.h"
#include "tools/config/config.h"
#include "tools/run.h"
#include "tools/summary.h"

static const char usage_text[] =
    "usage: probador run EXPERIMENT.yaml [options] [key=value ...]\n"
    "  --variant NAME    run one variant of the experiment's `variants:` (default: the base)\n"
    "  --seed N          run one seed (default: the experiment's `seed`)\n"
    "  --all             run every (variant, seed) the experiment lists, one after another:\n"
    "                    each variant (or the base if there are none) with each of `seeds`\n"
    "  --quick           the quick profile: a small slice and few epochs (see README), for\n"
    "                    `make reproduce PROFILE=quick` and `make verify`\n"
    "  --results DIR     results root (default: reports/results); the run goes to DIR/NAME/[VARIANT/]seedN\n"
    "  --resume          continue an interrupted run from its folder's checkpoint (FOLDER.partial),\n"
    "                    refused if the configuration changed; with no checkpoint, a note and a\n"
    "                    fresh start (so `--all --resume` also runs what was never started)\n"
    "  --stop-after N    stop after N epochs, as if interrupted (for --resume tests)\n"
    "  --if-stale        do nothing if the run folder already holds finished results of exactly\n"
    "                    this resolved configuration (what `make reproduce` uses)\n"
    "  key=value         override any key, e.g. training.epochs=2 data.train_images=1000\n";

/* The lines of an init.txt note that decide a fine-tuning: its source and the
   source checkpoint's CRC-32, not where the checkpoint lay (an absolute path in
   runs made before the path became relative to the results root). */
static void init_identity(const char *note, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *line = note; *line;) {
        const char *end = strchr(line, '\n');
        const size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        if ((strncmp(line, "from:", 5) == 0 || strncmp(line, "crc32:", 6) == 0) && strlen(out) + n < len)
            strncat(out, line, n);
        line += n;
    }
}

/* The `numerics:` version in DIR/environment.txt: 1 when the line is absent
   (runs made before it was recorded), 0 when the file cannot be read. */
static int run_numerics_of(const char *dir)
{
    char path[1200], line[256];
    snprintf(path, sizeof path, "%s/environment.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int version = 1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "numerics: %d", &version) == 1)
            break;
    fclose(f);
    return version;
}

/* A run is current when its summary exists, it was made with this build's
   numerics version (RUN_NUMERICS: a change to the arithmetic reruns it), and
   its saved config.yaml, read with today's schema (so a key added since takes
   its default, as it would now), holds the same values as the configuration
   about to run, compared on the keys that decide its results
   (config_run_differences): rewording a description does not rerun anything.
   Contents, not modification times, so a fresh clone is not stale.  notes:
   say on stderr why a run that exists is not current. */
static bool run_is_current(const char *dir, const exp_config *c, const char *init_note, bool notes)
{
    char path[1200];
    if (init_note) { /* and it started from the same checkpoint */
        snprintf(path, sizeof path, "%s/init.txt", dir);
        FILE *f = fopen(path, "r");
        char have[CONFIG_PATH_MAX + 1200 + 64] = "";
        const size_t n = f ? fread(have, 1, sizeof have - 1, f) : 0;
        if (f)
            fclose(f);
        have[n] = '\0';
        char a[CONFIG_PATH_MAX + 64], b[CONFIG_PATH_MAX + 64];
        init_identity(have, a, sizeof a);
        init_identity(init_note, b, sizeof b);
        if (strcmp(a, b) != 0)
            return false;
    }
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    fclose(f);
    const int numerics = run_numerics_of(dir);
    if (numerics != RUN_NUMERICS) {
        if (notes)
            fprintf(stderr, "%s: note: made with numerics version %d, this build computes version %d (see RUN_NUMERICS "
                        "in models/train/run_config.h); rerunning\n",
                dir, numerics, RUN_NUMERICS);
        return false;
    }
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    exp_config *saved = checked_malloc(sizeof *saved);
    bool same = false;
    config_defaults(saved);
    if (config_load(path, saved) != 0) {
        if (notes)
            fprintf(stderr, "%s: note: the saved configuration no longer loads (see above); rerunning\n", path);
    }
    else
        same = config_run_differences(saved, c, NULL, 0) == 0;
    free(saved);
    return same;
}

bool run_init_source(const exp_config *c, const char *root, char *path, size_t path_len)
{
    const char *from = c->run.init.from;
    if (config_init_is_path(from)) {
        snprintf(path, path_len, "%s", from);
        return false;
    }
    snprintf(path, path_len, "%s/%s/seed%d/checkpoint.bin", root, from, c->run.init.from_seed);
    return true;
}

/* init.from resolved: an experiment name means the checkpoint of its run of
   seed init.from_seed (0 unless set) under the same results root.  Fills path and the note kept in init.txt (the
   source and its CRC-32, so a retrained source makes its fine-tunings stale).
   0, or -1 after an error that says what to run (or which path was looked for). */
static int resolve_init(const exp_config *c, const char *root, bool quick, char *path, size_t path_len, char *note,
                        size_t note_len)
{
    const char *from = c->run.init.from;
    char shown[CONFIG_PATH_MAX + 64]; /* in init.txt: the same wherever the results root lies */
    const bool is_path = !run_init_source(c, root, path, path_len);
    if (is_path)
        snprintf(shown, sizeof shown, "%s", from);
    else
        snprintf(shown, sizeof shown, "%s/seed%d/checkpoint.bin (under the results root)", from, c->run.init.from_seed);
    uint32_t crc;
    char err[1400];
    if (checkpoint_file_crc(path, &crc, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        if (is_path) {
            fprintf(stderr, "%s: note: init.from '%s' is a path, and no checkpoint could be read there; give the "
                            "checkpoint.bin of a finished run, or the name of the experiment that makes it\n",
                    c->run.name, from);
        } else {
            char yaml[CONFIG_PATH_MAX + 32], cmd[3 * CONFIG_PATH_MAX];
            snprintf(yaml, sizeof yaml, "experiments/%s.yaml", from);
            results_run_command(yaml, root, "", c->run.init.from_seed, cmd, sizeof cmd);
            if (access(yaml, F_OK) == 0)
                fprintf(stderr, "%s: note: init.from '%s' is that experiment's seed-%d run; make it first with `%s%s` "
                                "(make reproduce orders them)\n",
                        c->run.name, from, c->run.init.from_seed, cmd, quick ? " --quick" : "");
            else
                fprintf(stderr, "%s: note: init.from '%s' names no experiment (there is no %s) and no checkpoint "
                                "path; give an experiment's name or the path of a checkpoint.bin\n",
                        c->run.name, from, yaml);
        }
        return -1;
    }
    snprintf(note, note_len, "from: %s\ncheckpoint: %s\ncrc32: %08x\n", from, shown, crc);
    return 0;
}

/* rm -rf PATH (nothing if it does not exist). */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}
static int remove_tree(const char *path)
{
    if (access(path, F_OK) != 0)
        return 0;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "%s: error: cannot remove: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A run trains into DIR.partial and only a finished run replaces DIR, in one
   atomic exchange of the two folders: an interrupted run never leaves DIR half
   old, half new (the committed results stay intact), and --resume continues
   from DIR.partial. */
static int publish_run(const char *partial, const char *dir)
{
    if (renameat2(AT_FDCWD, partial, AT_FDCWD, dir, RENAME_EXCHANGE) == 0)
        return remove_tree(partial); /* now holds the previous results */
    if (errno == ENOENT && rename(partial, dir) == 0)
        return 0;
    fprintf(stderr, "%s: error: cannot move the finished run into place: %s; its results are in %s\n", dir,
            strerror(errno), partial);
    return -1;
}

/* The quick profile: the same pipeline on a slice small enough that every
   experiment runs in seconds to a minute (README.md, "Quick profile").  Each
   limit only ever lowers what the experiment asks for. */
enum { QUICK_TRAIN = 256, QUICK_PER_CLASS = 20, QUICK_VALIDATION = 100, QUICK_TEST = 500, QUICK_EPOCHS = 2 };

static int apply_quick(exp_config *e)
{
    const run_config *c = &e->run;
    char kv[4][64];
    int n = 0;
    if (c->data.per_class > QUICK_PER_CLASS)
        snprintf(kv[n++], sizeof kv[0], "data.per_class=%d", QUICK_PER_CLASS);
    if (c->data.per_class == 0 && (c->data.train_images == 0 || c->data.train_images > QUICK_TRAIN))
        snprintf(kv[n++], sizeof kv[0], "data.train_images=%d", QUICK_TRAIN);
    if (c->data.validation_images > QUICK_VALIDATION)
        snprintf(kv[n++], sizeof kv[0], "data.validation_images=%d", QUICK_VALIDATION);
    if (c->data.test_images == 0 || c->data.test_images > QUICK_TEST)
        snprintf(kv[n++], sizeof kv[0], "data.test_images=%d", QUICK_TEST);
    for (int i = 0; i < n; i++)
        if (config_override(e, kv[i]))
            return -1;
    if (c->training.epochs > QUICK_EPOCHS) {
        snprintf(kv[0], sizeof kv[0], "training.epochs=%d", QUICK_EPOCHS);
        if (config_override(e, kv[0]))
            return -1;
    }
    return 0;
}

typedef struct run_request {
    const char *file, *root;
    bool resume, if_stale, quick;
    int stop_after;
    const char **assignments; /* key=value from the command line */
    int num_assign;
} run_request;

/* On --resume: the interrupted run's config.yaml must hold this run's
   configuration, compared on the keys that decide results
   (config_run_differences).  The engine's resume_check; ctx is the exp_config. */
static int same_configuration(const char *path, const char *ckpt, void *ctx)
{
    const exp_config *c = ctx;
    char diff[2048];
    exp_config *saved = checked_malloc(sizeof *saved);
    int rc = -1;
    if (access(path, F_OK) != 0)
        fprintf(stderr, "%s: error: cannot resume: no config.yaml beside it (%s), so nothing says which "
                        "configuration its epochs trained under; rerun without --resume to start afresh\n",
                ckpt, path);
    else if (config_load(path, saved) != 0)
        fprintf(stderr, "%s: error: cannot resume: the interrupted run's configuration (%s) does not load (see "
                        "above); rerun without --resume to start afresh\n",
                ckpt, path);
    else if (config_run_differences(saved, c, diff, sizeof diff))
        fprintf(stderr, "%s: error: cannot resume under another configuration: %s (as in %s); resume with the "
                        "same configuration, or rerun without --resume to start afresh\n",
                ckpt, diff, path);
    else
        rc = 0;
    free(saved);
    return rc;
}

/* The run's configuration: the file with the variant, the seed, the quick
   profile and the command-line overrides applied, validated.  *overrides
   gets those overrides, one per line (free it).  0, or -1 after an error. */
static int resolve_run(const run_request *rq, const char *variant, int seed, exp_config *c, char **overrides)
{
    *overrides = checked_calloc(1, 1);
    if (config_load(rq->file, c) || (variant[0] && config_apply_variant(c, variant)))
        return -1;
    char s[64];
    snprintf(s, sizeof s, "seed=%d", seed);
    if (seed >= 0 && config_override(c, s))
        return -1;
    if (c->run.init.from_seeds > 0) { /* the source's seed follows the run's: pretraining seeds spread */
        snprintf(s, sizeof s, "init.from_seed=%d", c->run.seed % c->run.init.from_seeds);
        if (config_override(c, s))
            return -1;
    }
    if (rq->quick && apply_quick(c))
        return -1;
    for (int i = 0; i < rq->num_assign; i++) {
        if (config_override(c, rq->assignments[i]))
            return -1;
        const size_t len = strlen(*overrides);
        *overrides = checked_realloc(*overrides, len + strlen(rq->assignments[i]) + 2);
        sprintf(*overrides + len, "%s\n", rq->assignments[i]);
    }
    return config_validate(c, rq->file);
}

/* The run's config.yaml text (free it). */
static char *run_config_text(const exp_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem || config_write_run(c, mem) != 0) {
        fprintf(stderr, "%s: error: cannot write the run's configuration: out of memory\n", c->run.name);
        exit(1);
    }
    fclose(mem);
    return text;
}

int run_train(const exp_config *c, train_options opt, train_result *res)
{
    char *yaml = run_config_text(c);
    opt.config_yaml = yaml;
    opt.resume_check = same_configuration, opt.resume_ctx = (void *)c;
    const int rc = train_run(c->run, &opt, res);
    free(yaml);
    return rc;
}

/* The finished run's row of ROOT/summary.csv, and the line on stderr. */
static int record_run(const run_request *rq, const exp_config *e, const char *variant, const train_result *res,
                      const char *dir)
{
    const run_config *c = &e->run;
    const double accuracy = (double)res->test.correct / res->test.count, loss = res->test.loss_sum / res->test.count;
    const summary_row row = { .experiment = c->name, .variant = variant[0] ? variant : "-", .seed = c->seed,
                              .model = config_model_name(c), .kernel = config_kernel_name(c),
                              .epochs = c->training.epochs,
                              .train_images = (long long)(res->train_images / c->training.epochs),
                              .test_accuracy = accuracy, .test_loss = loss, .train_seconds = res->train_seconds,
                              .images_per_second = res->images_per_second, .weights_hash = res->weights_hash,
                              .commit = env_commit() };
    if (summary_update(rq->root, &row))
        return -1;
    fprintf(stderr, "run: %s: test accuracy %.4f, loss %.4f, %.0f s, %.0f images/s, peak RSS %.0f MiB -> %s\n",
            c->name, accuracy, loss, res->train_seconds, res->images_per_second, res->peak_rss_mib, dir);
    return 0;
}

const struct model_dist *run_dist;

/* Trains one resolved run into DIR.partial, then publishes it.  0 or -1.  Of
   several processes training it together (run_dist), rank 0 alone touches the
   folders; every one decides alike whether the run is current. */
static int train_into(const run_request *rq, const exp_config *c, const char *variant, const char *overrides,
                      const char *dir)
{
    const run_config *r = &c->run;
    char init_path[1200], init_note[CONFIG_PATH_MAX + 1200 + 64];
    const bool fine_tune = r->init.from[0] != '\0';
    if (fine_tune && resolve_init(c, rq->root, rq->quick, init_path, sizeof init_path, init_note, sizeof init_note))
        return -1;
    const bool writes = !run_dist || run_dist->rank == 0;
    if (rq->if_stale && run_is_current(dir, c, fine_tune ? init_note : NULL, true)) {
        if (writes)
            fprintf(stderr, "run: %s is up to date (same resolved configuration, results present)\n", dir);
        return 0;
    }
    char partial[1200];
    snprintf(partial, sizeof partial, "%s.partial", dir);
    if (writes && !rq->resume && remove_tree(partial)) /* a fresh start */
        return -1;
    const train_options opt = { .out_dir = partial, .variant = variant, .overrides = overrides,
                                .resume = rq->resume, .stop_after_epochs = rq->stop_after,
                                .init_path = fine_tune ? init_path : NULL,
                                .init_note = fine_tune ? init_note : NULL, .dist = run_dist };
    train_result res;
    if (run_train(c, opt, &res))
        return -1;
    if (rq->stop_after > 0 && rq->stop_after < r->training.epochs) {
        if (writes)
            fprintf(stderr, "run: stopped after %d epochs as asked; continue with --resume\n", rq->stop_after);
        return 0;
    }
    if (!writes)
        return 0;
    return publish_run(partial, dir) || record_run(rq, c, variant, &res, dir) ? -1 : 0;
}

/* One (variant, seed) run: resolve its configuration, train unless current,
   record its summary row.  0, or 1 after an error was printed. */
static int run_one(const run_request *rq, const char *variant, int seed)
{
    exp_config *c = checked_malloc(sizeof *c);
    char *overrides = NULL, dir[1100];
    int rc = 1;
    if (resolve_run(rq, variant, seed, c, &overrides) || report_mkdirs(rq->root))
        goto out;
    snprintf(dir, sizeof dir, "%s/%s%s%s", rq->root, c->run.name, variant[0] ? "/" : "", variant);
    if (report_mkdirs(dir))
        goto out;
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/seed%d", c->run.seed);
    rc = train_into(rq, c, variant, overrides, dir) ? 1 : 0;
out:
    free(overrides);
    free(c);
    return rc;
}

bool run_would_train(const char *file, const char *root, bool quick, const char *variant, int seed, bool notes)
{
    const run_request rq = { .file = file, .root = root, .quick = quick };
    exp_config *c = checked_malloc(sizeof *c);
    char *overrides = NULL, dir[1100];
    bool train = true; /* a run that cannot be resolved is planned: running it reports why */
    if (resolve_run(&rq, variant, seed, c, &overrides) == 0) {
        results_run_dir(root, c->run.name, variant, c->run.seed, dir, sizeof dir);
        const bool fine_tune = c->run.init.from[0] != '\0';
        char init_path[1200], init_note[CONFIG_PATH_MAX + 1200 + 64];
        if (!fine_tune)
            train = !run_is_current(dir, c, NULL, notes);
        else if (run_init_source(c, root, init_path, sizeof init_path) && access(init_path, F_OK) == 0 &&
                 resolve_init(c, root, quick, init_path, sizeof init_path, init_note, sizeof init_note) == 0)
            train = !run_is_current(dir, c, init_note, notes);
        /* else: its source is not trained yet, so neither is it */
    }
    free(overrides);
    free(c);
    return train;
}

int run_folder(const char *file, const char *root, bool quick, const char *variant, int seed, char *dir,
               size_t dir_len, char *source, size_t source_len)
{
    const run_request rq = { .file = file, .root = root, .quick = quick };
    exp_config *c = checked_malloc(sizeof *c);
    char *overrides = NULL;
    const int rc = resolve_run(&rq, variant, seed, c, &overrides);
    if (rc == 0) {
        results_run_dir(root, c->run.name, variant, c->run.seed, dir, dir_len);
        if (!c->run.init.from[0] || !run_init_source(c, root, source, source_len))
            source[0] = '\0';
    }
    free(overrides);
    free(c);
    return rc;
}

/* ---- the command line ---- */

/* The longest path a run writes is ROOT/NAME/VARIANT/seedN.partial/misclassified.csv
   (the longest of train_run's files), through atomic_file's path buffer: the
   root may take what the rest leaves of it. */
#define RUN_PATH_TAIL (2 * CONFIG_NAME_MAX + sizeof "/seed2147483647.partial/misclassified.csv" - 1)
#define RUN_ROOT_MAX (sizeof ((atomic_file *)0)->path - 1 - RUN_PATH_TAIL)

/* The earlier key=value among `assignments` whose key is the first key_len bytes
   of `a`, or NULL. */
static const char *assignment_of(const char *const *assignments, int n, const char *a, size_t key_len)
{
    for (int i = 0; i < n; i++)
        if (!strncmp(assignments[i], a, key_len) && assignments[i][key_len] == '=')
            return assignments[i];
    return NULL;
}

/* An experiment file rather than a key: an existing path, a path with a folder,
   or a .yaml/.yml name. */
static bool looks_like_file(const char *a)
{
    const size_t n = strlen(a);
    return access(a, F_OK) == 0 || strchr(a, '/') || (n > 5 && !strcmp(a + n - 5, ".yaml")) ||
           (n > 4 && !strcmp(a + n - 4, ".yml"));
}

/* `text` as a whole number in [min, 2^31 - 1], or -1 after an error. */
static int whole_number(const char *option, const char *text, long min)
{
    char *end;
    errno = 0;
    const long v = strtol(text, &end, 10);
    if (*end || errno || v < min || v > 2147483647) {
        fprintf(stderr, "probador run: error: %s expects a whole number ≥ %ld, got '%s'\n", option, min, text);
        return -1;
    }
    return (int)v;
}

/* The command line, as given. */
typedef struct run_args {
    run_request rq;
    bool all, help;
    const char *assignments[256];
    const char *variant, *root, *seed, *stop; /* NULL when not given */
} run_args;

/* An option that takes a value: stores it in its slot.  0, or 2 after an error. */
static int option_value(run_args *a, const char *opt, const char *value)
{
    if (!value[0] || !strncmp(value, "--", 2)) {
        fprintf(stderr, "probador run: error: %s needs a value\n%s", opt, usage_text);
        return 2;
    }
    const char **slot = !strcmp(opt, "--variant") ? &a->variant
                        : !strcmp(opt, "--results") ? &a->root
                        : !strcmp(opt, "--seed")    ? &a->seed
                                                    : &a->stop;
    if (*slot) {
        fprintf(stderr, "probador run: error: %s given twice, '%s' and '%s'; give it once\n", opt, *slot, value);
        return 2;
    }
    *slot = value;
    return 0;
}

/* A word that is not an option: a key=value override or the experiment file.
   0, or 2 after an error. */
static int positional(run_args *a, const char *word)
{
    run_request *rq = &a->rq;
    if (strchr(word, '=')) {
        if (rq->num_assign == 256) {
            fprintf(stderr, "probador run: error: more than 256 key=value overrides\n");
            return 2;
        }
        const char *earlier = assignment_of(a->assignments, rq->num_assign, word, strcspn(word, "="));
        if (earlier) {
            fprintf(stderr, "probador run: error: '%s' and '%s' both set %.*s; give it once\n", earlier, word,
                    (int)strcspn(word, "="), word);
            return 2;
        }
        a->assignments[rq->num_assign++] = word;
    } else if (!looks_like_file(word) && (rq->file || strchr(word, '.'))) {
        fprintf(stderr, "probador run: error: expected key=value, got '%s'\n", word);
        return 2;
    } else if (rq->file) {
        fprintf(stderr, "probador run: error: a second experiment file '%s' (one experiment at a time)\n", word);
        return 2;
    } else {
        rq->file = word;
    }
    return 0;
}

/* 0, or 2 after a usage error. */
static int parse_args(int argc, char **argv, run_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        int rc = 0;
        if (!strcmp(w, "--help") || !strcmp(w, "-h"))
            a->help = true;
        else if (!strcmp(w, "--resume"))
            a->rq.resume = true;
        else if (!strcmp(w, "--if-stale"))
            a->rq.if_stale = true;
        else if (!strcmp(w, "--all"))
            a->all = true;
        else if (!strcmp(w, "--quick"))
            a->rq.quick = true;
        else if (!strcmp(w, "--variant") || !strcmp(w, "--results") || !strcmp(w, "--seed") ||
                 !strcmp(w, "--stop-after"))
            rc = option_value(a, w, i + 1 < argc ? argv[++i] : "");
        else if (w[0] == '-') {
            fprintf(stderr, "probador run: error: unknown option '%s'\n%s", w, usage_text);
            rc = 2;
        } else
            rc = positional(a, w);
        if (rc || a->help)
            return rc;
    }
    return 0;
}

/* The checks between options; *seed set from --seed (-1 if none).  0 or 2. */
static int check_args(run_args *a, int *seed)
{
    run_request *rq = &a->rq;
    *seed = -1;
    if (a->seed && (*seed = whole_number("--seed", a->seed, 0)) < 0)
        return 2;
    if (a->stop && (rq->stop_after = whole_number("--stop-after", a->stop, 1)) < 0)
        return 2;
    const char *seed_set = assignment_of(a->assignments, rq->num_assign, "seed=", 4);
    if (a->seed && seed_set) {
        fprintf(stderr, "probador run: error: '--seed %s' and '%s' both set seed; give it once\n", a->seed,
                seed_set);
        return 2;
    }
    rq->root = a->root ? a->root : "reports/results";
    if (strlen(rq->root) > RUN_ROOT_MAX) {
        fprintf(stderr,
                "probador run: error: --results: the results root is %zu bytes long; at most %d, as a run writes "
                "ROOT/NAME/VARIANT/seedN.partial/misclassified.csv, which must fit in %zu bytes\n",
                strlen(rq->root), (int)RUN_ROOT_MAX, sizeof ((atomic_file *)0)->path - 1);
        return 2;
    }
    rq->assignments = a->assignments;
    if (!rq->file) {
        fprintf(stderr, "probador run: error: no experiment file given\n%s", usage_text);
        return 2;
    }
    if (a->all && (a->variant || *seed >= 0)) {
        fprintf(stderr, "probador run: error: --all runs every variant and seed; drop --variant/--seed, "
                        "or drop --all to run one\n");
        return 2;
    }
    return 0;
}

/* Every variant (or the base) with its seeds: a variant may set its own `seeds`.
   0, or 1 after an error. */
static int run_all(const run_request *rq)
{
    exp_config *c = checked_malloc(sizeof *c), *v = checked_malloc(sizeof *v);
    int rc = config_load(rq->file, c) ? 1 : 0;
    const int n_variants = c->n_variants > 0 ? c->n_variants : 1;
    for (int i = 0; i < n_variants && rc == 0; i++) {
        const char *name = c->n_variants > 0 ? c->variants[i].name : "";
        memcpy(v, c, sizeof *v);
        if (name[0] && config_apply_variant(v, name)) {
            rc = 1;
            break;
        }
        int seeds[CONFIG_MAX_SEEDS];
        const int n_seeds = config_seeds(v, seeds);
        for (int k = 0; k < n_seeds && rc == 0; k++)
            rc = run_one(rq, name, seeds[k]);
    }
    free(c), free(v);
    return rc;
}

int run_main(int argc, char **argv)
{
    run_args a = { .rq = { .root = "reports/results" } };
    int seed, rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage_text, stdout);
        return 0;
    }
    if ((rc = check_args(&a, &seed)))
        return rc;
    conv_blis_init();
    return a.all ? run_all(&a.rq) : run_one(&a.rq, a.variant ? a.variant : "", seed);
}
