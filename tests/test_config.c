/* tests/test_config.c — experiment configuration (tools/config/config.h): the headline
 * experiments load; every kind of error is caught, at the right line and column;
 * overrides and variants work and fail as they should; config_write re-loads to
 * a byte-identical struct.
 *
 * Bad files are written into test_tmpdir(); each load runs with stderr captured
 * to a file, so the tests assert the exact messages as well as the return codes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/testing.h"
#include "models/train_math.h"
#include "tools/config/config.h"
#include "tools/config/config_internal.h"

/* ---- helpers ---------------------------------------------------------------- */




static exp_config *new_config(void)
{
    exp_config *c = malloc(sizeof *c);
    assert_non_null(c);
    memset(c, 0xA5, sizeof *c); /* garbage: whatever reads it must overwrite all of it */
    return c;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Writes `yaml` to a scratch file, loads it with stderr captured; returns the
   status, the file's path and the messages (caller frees). */
static int load_text(const char *name, const char *yaml, const char **path, char **err, exp_config *c)
{
    *path = test_tmp_path(name);
    test_write_file(*path, yaml);
    test_stderr_begin();
    int rc = config_load(*path, c);
    *err = test_stderr_end();
    return rc;
}

#define HEAD "name: t\ndescription: d\n"

/* Asserts that loading `yaml` fails with exactly one error whose text contains
   "PATH:" + `where_and_what` (e.g. "4:18: error: ...") and leaves c untouched. */
static void expect_error(const char *yaml, const char *where_and_what)
{
    exp_config *c = new_config(), *before = new_config();
    const char *path;
    char *err;
    int rc = load_text("bad.yaml", yaml, &path, &err, c);
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", path, where_and_what);
    if (rc != -1 || !strstr(err, want) || count_lines(err) != 1)
        fail_msg("loading:\n%s\nwanted one error containing\n  %s\ngot (status %d):\n%s", yaml, want, rc,
                 err);
    assert_memory_equal(c, before, sizeof *c); /* failure leaves *c as it was */
    free(err);
    free(c);
    free(before);
}

/* Asserts that an override fails with a message containing `what` and leaves c as it was. */
static void expect_override_error(exp_config *c, const char *assignment, const char *what)
{
    exp_config *before = new_config();
    memcpy(before, c, sizeof *c);
    test_stderr_begin();
    int rc = config_override(c, assignment);
    char *err = test_stderr_end();
    if (rc != -1 || !strstr(err, what))
        fail_msg("override '%s': wanted an error containing\n  %s\ngot (status %d):\n%s", assignment, what,
                 rc, err);
    assert_memory_equal(c, before, sizeof *c);
    free(err);
    free(before);
}

/* ---- the report: section ------------------------------------------------------ */

#define TWO_ARMS                                                                                             \
    "variants:\n  - {name: scratch_600, set: {data.train_images: 600}}\n"                                   \
    "  - {name: finetune_600, set: {data.train_images: 600}}\n"

static void test_report_section(void **state)
{
    exp_config *c = new_config();
    const char *path;
    char *err;
    assert_int_equal(load_text("report.yaml", HEAD TWO_ARMS "report:\n  index: all\n  series: [scratch, finetune]\n"
                                                             "  confusion: [finetune_600]\n",
                               &path, &err, c),
                     0);
    free(err);
    assert_int_equal(c->report.index, CONFIG_INDEX_ALL);
    assert_int_equal(c->report.n_series, 2);
    assert_string_equal(c->report.series[1], "finetune");
    assert_int_equal(c->report.n_confusion, 1);
    assert_string_equal(c->report.confusion[0], "finetune_600");

    /* the whole file keeps it; a run's config.yaml does not (it decides no result) */
    char *whole = NULL, *run = NULL;
    size_t n;
    FILE *f = open_memstream(&whole, &n);
    assert_int_equal(config_write(c, f), 0);
    fclose(f);
    f = open_memstream(&run, &n);
    assert_int_equal(config_write_run(c, f), 0);
    fclose(f);
    assert_non_null(strstr(whole, "\nreport:\n  index: all"));
    assert_non_null(strstr(whole, "  series: [scratch, finetune]"));
    assert_null(strstr(run, "\nreport:"));
    assert_non_null(strstr(run, "\nvariants: []"));
    exp_config *again = new_config();
    test_write_file(test_tmp_path("again.yaml"), whole);
    assert_int_equal(config_load(test_tmp_path("again.yaml"), again), 0);
    assert_memory_equal(c, again, sizeof *c);
    free(whole), free(run), free(again), free(c);

    expect_error(HEAD TWO_ARMS "report:\n  series: [scratchy]\n",
                 "7:3: error: report.series: no variant is named 'scratchy_...'; the variants are: scratch_600, "
                 "finetune_600");
    expect_error(HEAD TWO_ARMS "report:\n  confusion: [finetune_all]\n",
                 "7:3: error: report.confusion: there is no variant 'finetune_all'; the variants are: scratch_600, "
                 "finetune_600");
    expect_error(HEAD "report:\n  confusion: [Big]\n", "4:14: error: report.confusion: item 1: 'Big' is not an identifier");
    expect_error(HEAD "report:\n  index: most\n", "4:10: error: report.index: expected one of none, base, all; got 'most'");
    expect_error(HEAD "variants:\n  - {name: a, set: {report.index: all}}\n",
                 "4:21: error: in variant 'a': 'report.index' cannot be set by a variant");
}

/* ---- the headline experiments ------------------------------------------------ */

static void test_adam_experiments_load(void **state)
{
    exp_config *c = new_config();
    assert_int_equal(config_load("experiments/cnn_adam.yaml", c), 0);
    assert_string_equal(c->run.name, "cnn_adam");
    assert_string_equal(config_model_name(&c->run), "cnn");
    assert_true(c->run.model.dropout == 0.5);
    assert_string_equal(config_kernel_name(&c->run), "winograd");
    assert_int_equal(c->run.data.train_images, 0);
    assert_int_equal(c->run.data.validation_images, 1000);
    assert_true(c->run.augmentation.rotation == 10 && c->run.augmentation.shift == 2);
    assert_int_equal(c->run.augmentation.sampling, 1); /* nearest */
    assert_int_equal(c->run.task, RUN_TASK_CLASSIFY);
    assert_string_equal(c->run.init.from, "");
    assert_true(c->run.augmentation.scale[0] == 0.9 && c->run.augmentation.scale[1] == 1.1);
    assert_true(c->run.augmentation.flip == 0.5);
    assert_int_equal(c->run.training.epochs, 15);
    assert_int_equal(c->run.training.batch, 128);
    assert_true(c->run.training.learning_rate == 1e-3);
    assert_true(c->run.training.beta1 == 0.9 && c->run.training.beta2 == 0.999 && c->run.training.epsilon == 1e-8);
    assert_string_equal(lr_schedule_name(c->run.training.schedule), "cosine");
    assert_int_equal(c->run.seed, 0);
    int seeds[CONFIG_MAX_SEEDS];
    assert_int_equal(config_seeds(c, seeds), 3);
    assert_true(seeds[0] == 0 && seeds[1] == 1 && seeds[2] == 2);
    assert_int_equal(c->run.model.conv_init, 1); /* uniform */
    assert_non_null(strstr(c->description, "It asks")); /* folded prose, paragraphs kept */
    assert_non_null(strchr(c->description, '\n'));
    assert_int_equal(config_validate(c, "experiments/cnn_adam.yaml"), 0);

    assert_int_equal(config_load("experiments/resnet20_adam.yaml", c), 0);
    assert_string_equal(c->run.name, "resnet20_adam");
    assert_string_equal(config_model_name(&c->run), "resnet");
    assert_int_equal(c->run.model.blocks, 3);
    assert_int_equal(c->run.model.width, 16);
    assert_int_equal(c->run.training.epochs, 15);
    assert_true(c->run.augmentation.scale[1] == 1.1);
    assert_string_equal(c->run.data.dir, "/usr/share/datasets/fashion-mnist");
    assert_int_equal(config_validate(c, NULL), 0);
    free(c);
}

/* The headline pair differ in the model alone: what resnet20's report compares
   (report.versus) is the architecture, every other key matched. */
static void test_headline_experiments_matched(void **state)
{
    exp_config *cnn = new_config(), *resnet = new_config();
    assert_int_equal(config_load("experiments/cnn.yaml", cnn), 0);
    assert_int_equal(config_load("experiments/resnet20.yaml", resnet), 0);
    assert_string_equal(resnet->report.versus, "cnn");
    memcpy(cnn->run.name, resnet->run.name, sizeof cnn->run.name);
    char diff[4096];
    assert_int_equal(config_run_differences_as(resnet, " (r)", cnn, " (c)", diff, sizeof diff), 1);
    assert_string_equal(diff, "model.name: resnet (r), cnn (c)");
    int a[CONFIG_MAX_SEEDS], b[CONFIG_MAX_SEEDS];
    const int n = config_seeds(cnn, a);
    assert_int_equal(config_seeds(resnet, b), n);
    assert_memory_equal(a, b, (size_t)n * sizeof a[0]);
    assert_true(n >= 3);
    free(cnn), free(resnet);
}

static void test_defaults(void **state)
{
    exp_config *c = new_config();
    config_defaults(c);
    assert_string_equal(c->run.name, "");
    assert_string_equal(config_model_name(&c->run), "cnn");
    assert_int_equal(c->run.model.blocks, 3);
    assert_int_equal(c->run.model.width, 16);
    assert_string_equal(config_kernel_name(&c->run), "winograd");
    assert_string_equal(c->run.data.dir, "/usr/share/datasets/fashion-mnist");
    assert_true(c->run.augmentation.scale[0] == 1 && c->run.augmentation.scale[1] == 1);
    assert_int_equal(c->run.training.epochs, 10);
    assert_true(c->run.training.learning_rate == 1e-3);
    assert_string_equal(lr_schedule_name(c->run.training.schedule), "cosine");
    assert_int_equal(c->run.threads, 2);
    assert_int_equal(c->n_seeds, 0);
    assert_int_equal(c->n_variants, 0);
    assert_string_equal(config_kernel_name(&c->run), "winograd");
    assert_string_equal(lr_schedule_name(0), "constant");
    assert_null(lr_schedule_name(lr_schedule_count()));
    /* defaults need only the two required keys to be valid */
    test_stderr_begin();
    int rc = config_validate(c, NULL);
    free(test_stderr_end());
    assert_int_equal(rc, -1);
    assert_int_equal(config_override(c, "name=x"), 0);
    assert_int_equal(config_override(c, "description=prose"), 0);
    assert_int_equal(config_validate(c, NULL), 0);
    free(c);
}

/* ---- errors ------------------------------------------------------------------- */

static void test_unknown_key_exact_message(void **state)
{
    const char *yaml = "name: t\n"
                       "description: d\n"
                       "model:\n"
                       "    name: cnn\n"
                       "data:\n"
                       "    validation_images: 5000\n"
                       "augmentation:\n"
                       "    rotation: 10\n"
                       "training:\n"
                       "    epochs: 15\n"
                       "    batch: 128\n"
                       "    lerning_rate: 1e-3\n"
                       "    schedule: cosine\n";
    exp_config *c = new_config();
    const char *path;
    char *err;
    assert_int_equal(load_text("unknown_key.yaml", yaml, &path, &err, c), -1);
    char want[1024];
    snprintf(want, sizeof want,
             "%s:12:5: error: unknown key 'lerning_rate' in 'training' (did you mean 'learning_rate'?)\n",
             path);
    assert_string_equal(err, want);
    free(err);
    free(c);
}

static void test_unknown_keys_anywhere(void **state)
{
    expect_error(HEAD "modle:\n  name: cnn\n", "3:1: error: unknown key 'modle' (did you mean 'model'?)");
    expect_error(HEAD "model:\n  nmae: cnn\n",
                 "4:3: error: unknown key 'nmae' in 'model' (did you mean 'name'?)");
    expect_error(HEAD "epochs: 3\n", "3:1: error: unknown key 'epochs' (did you mean 'training.epochs'?)");
    expect_error(HEAD "colour: red\n", "3:1: error: unknown key 'colour'\n");
    expect_error(HEAD "training:\n  lr: 0.1\n",
                 "4:3: error: unknown key 'lr' in 'training' (did you mean 'learning_rate'?)");
}

static void test_wrong_types(void **state)
{
    expect_error(HEAD "training:\n  learning_rate: fast\n",
                 "4:18: error: training.learning_rate: expected a number, got 'fast'");
    expect_error(HEAD "training:\n  epochs: 1.5\n",
                 "4:11: error: training.epochs: expected an integer, got '1.5'");
    expect_error(HEAD "training:\n  learning_rate: 1e-3x\n",
                 "4:18: error: training.learning_rate: expected a number, got '1e-3x'");
    expect_error(HEAD "training:\n  learning_rate: 0x10\n",
                 "4:18: error: training.learning_rate: expected a number, got '0x10'");
    expect_error(HEAD "training:\n  learning_rate: nan\n",
                 "4:18: error: training.learning_rate: expected a number, got 'nan'");
    expect_error(HEAD "training:\n  learning_rate: .nan\n",
                 "4:18: error: training.learning_rate: expected a number, got '.nan'");
    expect_error(HEAD "training:\n  learning_rate: inf\n",
                 "4:18: error: training.learning_rate: expected a number, got 'inf'");
    expect_error(HEAD "training:\n  learning_rate: -.inf\n",
                 "4:18: error: training.learning_rate: expected a number, got '-.inf'");
    expect_error(HEAD "training:\n  learning_rate: ''\n",
                 "4:18: error: training.learning_rate: expected a number, got ''");
    expect_error(HEAD "training:\n  learning_rate: ' 1'\n",
                 "4:18: error: training.learning_rate: expected a number, got ' 1'");
    expect_error(HEAD "seed: 12abc\n", "3:7: error: seed: expected an integer, got '12abc'");
    expect_error(HEAD "name: x\n", "3:1: error: duplicate key 'name' (first given at 1:1)");
    expect_error("name: Bad Name\ndescription: d\n", "1:7: error: name: 'Bad Name' is not an identifier");
    expect_error("name: ''\ndescription: d\n", "1:7: error: name: '' is not an identifier");
    expect_error("name: t\ndescription: ''\n", "2:14: error: description: must not be empty");
    expect_error(HEAD "data:\n  dir: ''\n", "4:8: error: data.dir: must not be empty");
}

static void test_out_of_range(void **state)
{
    expect_error(HEAD "training:\n  batch: 5000\n",
                 "4:10: error: training.batch: 5000 is out of range [1, 4096]");
    expect_error(HEAD "training:\n  learning_rate: 0\n",
                 "4:18: error: training.learning_rate: 0 is out of range (0, 10]");
    expect_error(HEAD "training:\n  beta1: 1\n", "4:10: error: training.beta1: 1 is out of range [0, 1)");
    expect_error(HEAD "training:\n  learning_rate: 1e999\n",
                 "4:18: error: training.learning_rate: 1e999 is out of range (0, 10]");
    expect_error(HEAD "seed: -1\n", "3:7: error: seed: -1 is out of range [0, 2147483647]");
    expect_error(HEAD "seed: 99999999999\n", "3:7: error: seed: 99999999999 is out of range [0, 2147483647]");
    expect_error(HEAD "model:\n  dropout: 0.96\n",
                 "4:12: error: model.dropout: 0.96 is out of range [0, 0.95]");
    expect_error(HEAD "augmentation:\n  scale: [0.1, 1]\n",
                 "4:10: error: augmentation.scale: lo 0.1 is out of range [0.25, 4]");
    expect_error(HEAD "augmentation:\n  scale: [1.2, 1.1]\n",
                 "4:10: error: augmentation.scale: lo 1.2 is greater than hi 1.1; write [lo, hi]");
    expect_error(HEAD "augmentation:\n  scale: [1]\n",
                 "4:10: error: augmentation.scale: expected a list [lo, hi] of two numbers, got 1 item");
    expect_error(HEAD "augmentation:\n  scale: [1, fast]\n",
                 "4:14: error: augmentation.scale: item 2: expected a number, got 'fast'");
    expect_error(HEAD "seeds: [1, 2, 1]\n", "3:8: error: seeds: 1 is listed twice (items 1 and 3)");
}

static void test_bad_choice(void **state)
{
    expect_error(HEAD "kernel: winogard\n",
                 "3:9: error: kernel: expected one of naive, im2col, winograd, winograd_f2; got 'winogard' "
                 "(did you mean 'winograd'?)");
    expect_error(HEAD "training:\n  schedule: exponential\n",
                 "4:13: error: training.schedule: expected one of constant, cosine, linear, step; got 'exponential'\n");
    expect_error(HEAD "training:\n  optimizer: sdg\n",
                 "4:14: error: training.optimizer: expected one of adam, sgd; got 'sdg' (did you mean 'sgd'?)");
    expect_error(HEAD "training:\n  nesterov: yes\n",
                 "4:13: error: training.nesterov: expected one of false, true; got 'yes'");
}

static void test_duplicate_keys(void **state)
{
    expect_error(HEAD "training:\n  epochs: 3\n  epochs: 4\n",
                 "5:3: error: duplicate key 'epochs' in 'training' (first given at 4:3)");
    expect_error(HEAD "training:\n  epochs: 3\ntraining:\n  batch: 4\n",
                 "5:1: error: duplicate key 'training' (first given at 3:1)");
    expect_error(HEAD "training.epochs: 3\ntraining:\n  epochs: 4\n",
                 "5:3: error: duplicate key 'training.epochs' (first given at 3:1)");
}

static void test_missing_required(void **state)
{
    expect_error("description: d\n", "1:1: error: missing required key 'name'");
    expect_error("name: t\n", "1:1: error: missing required key 'description'");
}

static void test_shape_mismatch(void **state)
{
    expect_error(HEAD "seed:\n  a: 1\n", "4:3: error: seed: expected an integer, got a mapping");
    expect_error(HEAD "kernel: [naive, im2col]\n",
                 "3:9: error: kernel: expected one of its choices, got a list");
    expect_error(HEAD "training: fast\n",
                 "3:11: error: training: expected a mapping of its keys, got a scalar");
    expect_error(HEAD "augmentation:\n  scale: 1\n",
                 "4:10: error: augmentation.scale: expected a list [lo, hi] of two numbers, got '1'");
    expect_error(
        "- name: t\n",
        "1:1: error: expected a mapping of keys (name: ..., description: ...) at the top, got a list");
}

static void test_syntax_error(void **state)
{
    /* an unclosed flow sequence: libyaml's problem mark is where it gave up */
    expect_error(HEAD "augmentation:\n  scale: [1, 1\ntraining:\n  epochs: 3\n", "5:9: error: YAML syntax: ");
    expect_error(HEAD "training:\n  epochs: 3\n    batch: 4\n",
                 "5:10: error: YAML syntax: mapping values are not allowed in this context");
    expect_error(HEAD "---\nname: u\n", "4:1: error: a second YAML document; an experiment file holds one");
}

static void test_missing_and_empty_files(void **state)
{
    exp_config *c = new_config();
    const char *path = test_tmp_path("does-not-exist.yaml");
    remove(path);
    test_stderr_begin();
    int rc = config_load(path, c);
    char *err = test_stderr_end();
    assert_int_equal(rc, -1);
    char want[1024];
    snprintf(want, sizeof want, "%s: error: cannot open the experiment file: No such file or directory\n",
             path);
    assert_string_equal(err, want);
    free(err);
    free(c);
    expect_error("", "1:1: error: the file is empty; an experiment needs at least 'name' and 'description'");
    expect_error("# only a comment\n\n", "1:1: error: the file is empty");
}

static void test_several_errors_reported(void **state)
{
    exp_config *c = new_config();
    const char *path;
    char *err;
    int rc =
        load_text("several.yaml", "name: t\nmodel:\n  nmae: cnn\nkernel: fft\ntraining:\n  epochs: many\n",
                  &path, &err, c);
    assert_int_equal(rc, -1);
    assert_int_equal(count_lines(err), 4);
    assert_non_null(strstr(err, ":3:3: error: unknown key 'nmae'"));
    assert_non_null(strstr(err, ":4:9: error: kernel: expected one of"));
    assert_non_null(strstr(err, ":6:11: error: training.epochs: expected an integer, got 'many'"));
    assert_non_null(strstr(err, ":1:1: error: missing required key 'description'"));
    free(err);
    free(c);
}

static void test_cross_key_constraints(void **state)
{
    expect_error(HEAD "training:\n  epochs: 5\n  warmup_epochs: 6\n",
                 "5:3: error: training.warmup_epochs 6 exceeds training.epochs 5");
    expect_error(
        HEAD "data:\n  train_images: 58000\n",
        "4:3: error: data.train_images 58000 + data.validation_images 5000 exceed the 60000 training images");
    expect_error(HEAD "task: rotation\nevaluation:\n  tta: flip\n",
                 "5:3: error: evaluation.tta: the rotation task's label changes when the image is mirrored; use none");
    expect_error(HEAD "init:\n  probe: true\n",
                 "4:3: error: init.probe: there is no pretrained trunk to probe; set init.from");
    expect_error(HEAD "init:\n  from: runs/seed0/checkpoint.bin\n  from_seeds: 2\n",
                 "5:3: error: init.from_seeds: it picks among the seeds of the experiment init.from names; set "
                 "init.from to an experiment's name");
    expect_error(HEAD "training:\n  nesterov: true\n",
                 "4:3: error: training.nesterov: Nesterov's momentum is SGD's; set training.optimizer: sgd, or "
                 "nesterov: false");

    /* config_validate on a struct edited in code */
    exp_config *c = new_config();
    assert_int_equal(config_load("experiments/resnet20.yaml", c), 0);
    c->run.augmentation.scale[0] = 1.5, c->run.augmentation.scale[1] = 1.1; /* whatever the file says */
    test_stderr_begin();
    int rc = config_validate(c, "x.yaml");
    char *err = test_stderr_end();
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "x.yaml: error: augmentation.scale: lo 1.5 is greater than hi 1.1"));
    free(err);
    c->run.augmentation.scale[0] = 0.9;
    c->run.model.blocks = 0;
    test_stderr_begin();
    rc = config_validate(c, NULL);
    err = test_stderr_end();
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "experiment 'resnet20': error: model.blocks: 0 is out of range [1, 18]"));
    free(err);
    c->run.model.blocks = 3;
    c->run.kernel = 7;
    test_stderr_begin();
    rc = config_validate(c, NULL);
    free(test_stderr_end());
    assert_int_equal(rc, -1);
    c->run.kernel = 0; /* naive */
    assert_int_equal(config_validate(c, NULL), 0);
    free(c);
}

static void test_block_scalars(void **state)
{
    exp_config *c = new_config();
    const char *path;
    char *err;
    int rc = load_text("folded.yaml",
                       "name: t\n"
                       "description: >\n"
                       "  One sentence\n"
                       "  over two lines.\n"
                       "\n"
                       "  A second paragraph.\n",
                       &path, &err, c);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
    assert_string_equal(c->description, "One sentence over two lines.\nA second paragraph.\n");
    free(err);
    rc = load_text("literal.yaml", "name: t\ndescription: |\n  line one\n    indented\n", &path, &err, c);
    assert_int_equal(rc, 0);
    assert_string_equal(c->description, "line one\n  indented\n");
    free(err);

    /* 16 KiB of prose is the limit */
    char *yaml = malloc(CONFIG_TEXT_MAX + 64);
    assert_non_null(yaml);
    int n = sprintf(yaml, "name: t\ndescription: ");
    memset(yaml + n, 'a', CONFIG_TEXT_MAX);
    strcpy(yaml + n + CONFIG_TEXT_MAX, "\n");
    assert_int_equal(load_text("long.yaml", yaml, &path, &err, c), 0);
    assert_int_equal(strlen(c->description), CONFIG_TEXT_MAX);
    free(err);
    strcpy(yaml + n + CONFIG_TEXT_MAX, "a\n");
    expect_error(yaml, "2:14: error: description: 16385 bytes of text; at most 16384");
    free(yaml);
    free(c);
}

/* ---- overrides ------------------------------------------------------------------ */

static void test_overrides(void **state)
{
    exp_config *c = new_config();
    assert_int_equal(config_load("experiments/cnn.yaml", c), 0);
    assert_int_equal(config_override(c, "training.learning_rate=0.01"), 0);
    assert_true(c->run.training.learning_rate == 0.01);
    assert_int_equal(config_override(c, "training.epochs=3"), 0);
    assert_int_equal(c->run.training.epochs, 3);
    assert_int_equal(config_override(c, "kernel=im2col"), 0);
    assert_string_equal(config_kernel_name(&c->run), "im2col");
    assert_int_equal(config_override(c, "augmentation.scale=[0.8,1.25]"), 0);
    assert_true(c->run.augmentation.scale[0] == 0.8 && c->run.augmentation.scale[1] == 1.25);
    assert_int_equal(config_override(c, "seeds=[4, 5, 6]"), 0);
    int seeds[CONFIG_MAX_SEEDS];
    assert_int_equal(config_seeds(c, seeds), 3);
    assert_int_equal(seeds[2], 6);
    assert_int_equal(config_override(c, "data.dir=\"/data/with: colon\""), 0);
    assert_string_equal(c->run.data.dir, "/data/with: colon");
    assert_int_equal(config_override(c, "description=A new description."), 0);
    assert_string_equal(c->description, "A new description.");
    assert_int_equal(config_validate(c, NULL), 0);

    test_stderr_begin();
    int rc = config_override(c, "training.lr=x");
    char *err = test_stderr_end();
    assert_int_equal(rc, -1);
    assert_string_equal(err, "override 'training.lr=x': error: unknown key 'training.lr' "
                             "(did you mean 'training.learning_rate'?)\n");
    free(err);
    expect_override_error(c, "training.lerning_rate=0.1", "(did you mean 'training.learning_rate'?)");
    expect_override_error(c, "epochs=5", "unknown key 'epochs' (did you mean 'training.epochs'?)");
    expect_override_error(
        c, "training.epochs=fast",
        "override 'training.epochs=fast': error: training.epochs: expected an integer, got 'fast'");
    expect_override_error(c, "training.epochs=0", "training.epochs: 0 is out of range [1, 1000]");
    expect_override_error(c, "training.learning_rate=1e-3junk", "expected a number, got '1e-3junk'");
    expect_override_error(c, "augmentation.scale=[2, 1]", "lo 2 is greater than hi 1");
    expect_override_error(c, "seeds=[1, x]", "seeds: item 2: expected an integer, got 'x'");
    expect_override_error(c, "kernel=fft", "expected one of naive, im2col, winograd, winograd_f2; got 'fft'");
    expect_override_error(c, "training=5",
                          "'training' is a section; override one of its keys, e.g. 'training.epochs'");
    expect_override_error(c, "variants=[]", "'variants' cannot be overridden");
    expect_override_error(c, "training.epochs", "expected KEY=VALUE");
    expect_override_error(c, "training.epochs=", "training.epochs: no value after '='");
    expect_override_error(c, "training.epochs=[1", "YAML syntax");
    free(c);
}

/* ---- variants --------------------------------------------------------------------- */

static const char *variants_yaml = "name: ablation\n"
                                   "description: Each variant removes one augmentation.\n"
                                   "augmentation: {rotation: 10, shift: 2, scale: [0.9, 1.1], flip: 0.5}\n"
                                   "seeds: [0, 1, 2]\n"
                                   "variants:\n"
                                   "  - name: all\n"
                                   "    description: every augmentation on\n"
                                   "  - name: no_rotation\n"
                                   "    set: {augmentation.rotation: 0}\n"
                                   "  - name: no_scale\n"
                                   "    set:\n"
                                   "      augmentation:\n"
                                   "        scale: [1, 1.0]\n"
                                   "  - name: fast\n"
                                   "    set:\n"
                                   "      training.epochs: 2\n"
                                   "      kernel: naive\n"
                                   "      data.dir: /tmp/my data\n";

static void test_variants(void **state)
{
    exp_config *c = new_config(), *base = new_config();
    const char *path;
    char *err;
    assert_int_equal(load_text("variants.yaml", variants_yaml, &path, &err, c), 0);
    assert_string_equal(err, "");
    free(err);
    assert_int_equal(c->n_variants, 4);
    assert_string_equal(c->variants[0].name, "all");
    assert_string_equal(c->variants[0].description, "every augmentation on");
    assert_int_equal(c->variants[0].n_set, 0);
    assert_int_equal(c->variants[1].n_set, 1);
    assert_string_equal(c->variants[1].set[0], "augmentation.rotation=0");
    assert_string_equal(c->variants[2].set[0], "augmentation.scale=[1, 1]"); /* canonical */
    assert_int_equal(c->variants[3].n_set, 3);
    assert_string_equal(c->variants[3].set[2], "data.dir=\"/tmp/my data\"");
    memcpy(base, c, sizeof *c);

    assert_int_equal(config_apply_variant(c, "no_rotation"), 0);
    assert_true(c->run.augmentation.rotation == 0 && c->run.augmentation.shift == 2 && c->run.augmentation.flip == 0.5);
    memcpy(c, base, sizeof *c);
    assert_int_equal(config_apply_variant(c, "no_scale"), 0);
    assert_true(c->run.augmentation.scale[0] == 1 && c->run.augmentation.scale[1] == 1 &&
                c->run.augmentation.rotation == 10);
    memcpy(c, base, sizeof *c);
    assert_int_equal(config_apply_variant(c, "fast"), 0);
    assert_int_equal(c->run.training.epochs, 2);
    assert_string_equal(config_kernel_name(&c->run), "naive");
    assert_string_equal(c->run.data.dir, "/tmp/my data");
    assert_int_equal(config_validate(c, NULL), 0);
    memcpy(c, base, sizeof *c);
    assert_int_equal(config_apply_variant(c, "all"), 0);
    assert_memory_equal(c, base, sizeof *c);

    test_stderr_begin();
    int rc = config_apply_variant(c, "no_rotaton");
    err = test_stderr_end();
    assert_int_equal(rc, -1);
    assert_string_equal(
        err, "experiment 'ablation': error: unknown variant 'no_rotaton' (did you mean 'no_rotation'?); "
             "known variants: all, no_rotation, no_scale, fast\n");
    assert_memory_equal(c, base, sizeof *c);
    free(err);

    assert_int_equal(config_load("experiments/cnn.yaml", c), 0);
    test_stderr_begin();
    rc = config_apply_variant(c, "x");
    err = test_stderr_end();
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "unknown variant 'x': this experiment has no variants"));
    free(err);
    free(c);
    free(base);
}

static void test_variant_errors_at_load(void **state)
{
#define V HEAD "variants:\n  - name: v\n    set:\n"
    expect_error(V "      augmentation.rotaton: 0\n",
                 "6:7: error: in variant 'v': unknown key 'augmentation.rotaton' (did you mean "
                 "'augmentation.rotation'?)");
    expect_error(V "      augmentation.rotation: fast\n",
                 "6:30: error: in variant 'v': augmentation.rotation: expected a number, got 'fast'");
    expect_error(V "      augmentation.rotation: 200\n",
                 "6:30: error: in variant 'v': augmentation.rotation: 200 is out of range [0, 180]");
    expect_error(V "      name: other\n", "6:7: error: in variant 'v': 'name' cannot be set by a variant");
    expect_error(V "      variants: []\n",
                 "6:7: error: in variant 'v': 'variants' cannot be set by a variant");
    expect_error(V "      training: {epochs: 2}\n      training.epochs: 3\n",
                 "7:7: error: in variant 'v': 'training.epochs' is set twice");
    expect_error(V "      training.warmup_epochs: 11\n",
                 "4:5: error: in variant 'v': training.warmup_epochs 11 exceeds training.epochs 10");
    expect_error(HEAD "variants:\n  - name: v\n    sett: {}\n",
                 "5:5: error: unknown key 'sett' in a variant (did you mean 'set'?)\n");
    expect_error(HEAD "variants:\n  - name: v\n  - name: v\n",
                 "5:11: error: duplicate variant name 'v' (first given at 4:5)");
    expect_error(HEAD "variants:\n  - set: {}\n", "4:5: error: variants: item 1 has no 'name'");
    expect_error(HEAD "variants:\n  - name: Not An Id\n",
                 "4:11: error: variants: item 1: the name must be an identifier");
    expect_error(HEAD "variants: {name: v}\n", "3:11: error: variants: expected a list of variants");
    expect_error(HEAD "variants:\n  - name: v\n    set: [a]\n",
                 "5:10: error: in variant 'v': set: expected a mapping");
#undef V
}

/* ---- bounds on the input --------------------------------------------------------- */

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Inputs that took minutes (80,000 keys: a quadratic duplicate check; 100,000
   nested lists: libyaml) or were read whole fail at once, saying why. */
static void test_input_bounds(void **state)
{
    const double start = seconds_now();
    enum { KEYS = 80000, DEPTH = 100000 };
    char *yaml = malloc(KEYS * 16 + DEPTH + 64);
    assert_non_null(yaml);
    size_t n = (size_t)sprintf(yaml, HEAD);
    for (int i = 0; i < KEYS; i++)
        n += (size_t)sprintf(yaml + n, "k%d: 0\n", i);
    char want[128];
    snprintf(want, sizeof want, "1:1: error: a mapping of 80002 keys; at most 256 (the schema has %d keys in all)",
             config_schema_len);
    expect_error(yaml, want);
    n = (size_t)sprintf(yaml, HEAD "training:\n");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(yaml + n, "  k%d: 0\n", i);
    expect_error(yaml, "4:3: error: a mapping of 300 keys; at most 256");

    /* the root mapping is level 1, so the 64th '[' (column 8 + 63) is one too many */
    n = (size_t)sprintf(yaml, HEAD "seeds: ");
    memset(yaml + n, '[', DEPTH);
    strcpy(yaml + n + DEPTH, "\n");
    expect_error(yaml, "3:71: error: lists and mappings nested more than 64 deep; an experiment needs at most 6");
    exp_config *c = new_config();
    config_defaults(c);
    memcpy(yaml, "seeds=", 6);
    memset(yaml + 6, '[', DEPTH);
    yaml[6 + DEPTH] = '\0';
    expect_override_error(c, yaml, "error: lists and mappings nested more than 64 deep");
    free(c);
    free(yaml);

    /* a file larger than 1 MiB is not read (here, one long comment) */
    yaml = malloc((1 << 20) + 2);
    assert_non_null(yaml);
    memset(yaml, '#', (1 << 20) + 1);
    yaml[(1 << 20) + 1] = '\0';
    expect_error(yaml, " error: the file is larger than 1 MiB; an experiment file is a few KB");
    yaml[1 << 20] = '\0'; /* 1 MiB itself is read */
    expect_error(yaml, "1:1: error: the file is empty");
    free(yaml);
    const double took = seconds_now() - start;
    if (took > 20)
        fail_msg("the bounded inputs took %.1f s", took);
}

/* A number is written plainly in decimal: a leading zero (octal in YAML 1.1), a
   quoted '1' and a tagged "!!str 1" or "!foo 1" are errors, not the number 1. */
static void test_numbers_are_plain_decimal(void **state)
{
    expect_error(HEAD "training:\n  epochs: 010\n",
                 "4:11: error: training.epochs: expected an integer, got '010' (a leading 0 means octal in YAML "
                 "1.1; did you mean '10'?)");
    expect_error(HEAD "seed: -007\n", "3:7: error: seed: expected an integer, got '-007' (a leading 0 means "
                                      "octal in YAML 1.1; did you mean '-7'?)");
    expect_error(HEAD "augmentation:\n  rotation: 010\n",
                 "4:13: error: augmentation.rotation: expected a number, got '010' (a leading 0 means octal in "
                 "YAML 1.1; did you mean '10'?)");
    expect_error(HEAD "seeds: [1, 00]\n", "3:12: error: seeds: item 2: expected an integer, got '00'");
    expect_error(HEAD "training:\n  epochs: '1'\n",
                 "4:11: error: training.epochs: expected an integer, got '1' (quoted, so text; write a number "
                 "without quotes)");
    expect_error(HEAD "training:\n  learning_rate: \"0.1\"\n", "4:18: error: training.learning_rate: expected a "
                                                              "number, got '0.1' (quoted, so text;");
    expect_error(HEAD "training:\n  epochs: !!str 1\n",
                 "4:11: error: training.epochs: expected an integer, got '1' tagged !!str (write it untagged, or "
                 "tagged !!int)");
    expect_error(HEAD "training:\n  epochs: ! 1\n", "4:11: error: training.epochs: expected an integer, got '1' "
                                                    "tagged !!str");
    expect_error(HEAD "training:\n  epochs: !foo 1\n", "4:11: error: training.epochs: expected an integer, got "
                                                       "'1' tagged !foo");
    expect_error(HEAD "training:\n  epochs: !!float 1\n",
                 "4:11: error: training.epochs: expected an integer, got '1' tagged !!float (write it untagged, "
                 "or tagged !!int)");
    expect_error(HEAD "training:\n  learning_rate: !!int 0.5\n",
                 "4:18: error: training.learning_rate: expected an integer, got '0.5'");
    expect_error(HEAD "augmentation:\n  scale: [1, '1']\n", "4:14: error: augmentation.scale: item 2: expected a "
                                                            "number, got '1' (quoted");
    expect_error(HEAD "kernel: !!int 1\n", "3:9: error: kernel: expected one of its choices, got a value tagged "
                                           "!!int");

    /* what stays a number: plain decimal, or the right tag */
    exp_config *c = new_config();
    const char *path;
    char *err;
    assert_int_equal(load_text("numbers.yaml",
                               HEAD "training: {epochs: !!int 12, learning_rate: !!float 0.5, beta1: 0}\n"
                                    "augmentation: {rotation: 01.5, shift: !!int 2}\n"
                                    "seed: -0\nkernel: !!str naive\n",
                               &path, &err, c),
                     0);
    assert_string_equal(err, "");
    free(err);
    assert_int_equal(c->run.training.epochs, 12);
    assert_true(c->run.training.learning_rate == 0.5 && c->run.training.beta1 == 0);
    assert_true(c->run.augmentation.rotation == 1.5 && c->run.augmentation.shift == 2);
    assert_int_equal(c->run.seed, 0);
    assert_string_equal(config_kernel_name(&c->run), "naive");
    expect_override_error(c, "training.epochs='3'", "training.epochs: expected an integer, got '3' (quoted");
    expect_override_error(c, "training.epochs=03", "did you mean '3'?");
    assert_int_equal(config_override(c, "training.epochs=!!int 3"), 0);
    assert_int_equal(c->run.training.epochs, 3);
    free(c);
}

/* No validation images would write nan into every row of epochs.csv. */
static void test_validation_images_zero(void **state)
{
    expect_error(HEAD "data:\n  validation_images: 0\n",
                 "4:3: error: data.validation_images: 0 leaves no images for epochs.csv's val_loss and "
                 "val_accuracy, which would be nan; hold some out");
    exp_config *c = new_config();
    assert_int_equal(config_load("experiments/cnn.yaml", c), 0);
    assert_int_equal(config_override(c, "data.validation_images=0"), 0); /* a single key is fine... */
    test_stderr_begin();
    int rc = config_validate(c, NULL);
    char *err = test_stderr_end();
    assert_int_equal(rc, -1); /* ...the whole is not */
    assert_non_null(strstr(err, "experiment 'cnn': error: data.validation_images: 0 leaves no images"));
    free(err);
    free(c);
}

/* ---- write and re-load ---------------------------------------------------------- */

/* write → load must give the identical struct, and writing that gives the same text */
static void assert_round_trip(const exp_config *c, const char *name)
{
    const char *path = test_tmp_path(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(config_write(c, f), 0);
    fclose(f);
    exp_config *again = new_config();
    test_stderr_begin();
    int rc = config_load(path, again);
    char *err = test_stderr_end();
    if (rc != 0)
        fail_msg("re-loading %s failed:\n%s", path, err);
    free(err);
    if (memcmp(c, again, sizeof *c) != 0) {
        for (size_t i = 0; i < sizeof *c; i++)
            if (((const unsigned char *)c)[i] != ((unsigned char *)again)[i])
                fail_msg("%s: the re-loaded struct differs at byte offset %zu", path, i);
    }
    char *first = test_read_file(path);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(config_write(again, f), 0);
    fclose(f);
    char *second = test_read_file(path);
    assert_string_equal(first, second);
    free(first);
    free(second);
    free(again);
}

static void test_write_round_trip(void **state)
{
    exp_config *c = new_config();
    assert_int_equal(config_load("experiments/cnn.yaml", c), 0);
    assert_round_trip(c, "cnn.resolved.yaml");
    assert_int_equal(config_load("experiments/resnet20.yaml", c), 0);
    assert_round_trip(c, "resnet20.resolved.yaml");
    assert_int_equal(config_load("experiments/resnet20_adam.yaml", c), 0);
    assert_round_trip(c, "resnet20_adam.resolved.yaml");

    /* every key written, in schema order, with its doc */
    char *text = test_read_file(test_tmp_path("resnet20_adam.resolved.yaml"));
    const char *order[] = {"\nname: resnet20_adam",
                           "\ndescription: |",
                           "\nmodel:\n  name: resnet",
                           "\n  blocks: 3",
                           "\n  width: 16",
                           "\n  dropout: 0.5",
                           "\n  conv_init: he_normal",
                           "\nkernel: winograd",
                           "\ntask: classify",
                           "\ndata:\n  dir: ",
                           "\n  train_images: 0",
                           "\n  validation_images: 1000",
                           "\n  test_images: 0",
                           "\n  per_class: 0",
                           "\naugmentation:\n  rotation: 10",
                           "\n  shift: 2",
                           "\n  scale: [0.9, 1.1]",
                           "\n  flip: 0.5",
                           "\n  sampling: nearest",
                           "\ntraining:\n  epochs: 15",
                           "\n  batch: 128",
                           "\n  learning_rate: 0.001",
                           "\n  beta1: 0.9",
                           "\n  beta2: 0.999",
                           "\n  epsilon: 1e-08",
                           "\n  weight_decay: 0",
                           "\n  schedule: cosine",
                           "\n  warmup_epochs: 0",
                           "\ninit:\n  from: \"\"",
                           "\n  freeze_epochs: 0",
                           "\n  trunk_lr_scale: 1",
                           "\nseed: 0",
                           "\nthreads: 2",
                           "\nseeds: [0, 1, 2]",
                           "\nvariants: []"};
    const char *at = text;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *next = strstr(at, order[i]);
        if (!next)
            fail_msg("'%s' missing or out of order in\n%s", order[i] + 1, text);
        at = next;
    }
    assert_non_null(strstr(text, "# images per optimiser step; [1, 4096]"));
    free(text);
    free(c);
}

/* The variants file with awkward values: shortest floats, lists, quoted text. */
static exp_config *awkward_config(void)
{
    exp_config *c = new_config();
    const char *path;
    char *err;
    assert_int_equal(load_text("variants.yaml", variants_yaml, &path, &err, c), 0);
    free(err);
    assert_int_equal(config_override(c, "training.learning_rate=0.1"), 0);
    assert_int_equal(config_override(c, "training.epsilon=3e-9"), 0);
    assert_int_equal(config_override(c, "training.warmup_epochs=0.30000000000000004"), 0);
    assert_int_equal(config_override(c, "augmentation.scale=[0.3333333333333333, 3.9999999999999996]"), 0);
    assert_int_equal(config_override(c, "seeds=[3, 1, 2147483647]"), 0);
    assert_int_equal(config_override(c, "data.dir='/path with spaces/and: colon # not a comment'"), 0);
    assert_int_equal(config_override(c, "model.name=resnet"), 0);
    assert_int_equal(config_override(c, "training.schedule=constant"), 0);
    return c;
}

static void test_write_awkward_values(void **state)
{
    exp_config *c = awkward_config();
    assert_round_trip(c, "awkward.resolved.yaml");
    free(c);
}

/* Text of every shape, in the description and a variant's. */
static void test_write_texts(void **state)
{
    exp_config *c = awkward_config();
    static const char *texts[] = {
        "one line, no newline",
        "two\nlines\n",
        "  leading spaces\nsecond\n",
        "trailing newlines\n\n\n",
        "no final newline\nsecond",
        "tab\there, \"quotes\", \\ backslash, key: value # not a comment\n",
        "unicode × é ✓ — ok\nline\n",
        "control \x01 character\n",
        "NEL \xc2\x85 LS \xe2\x80\xa8 PS \xe2\x80\xa9 end\n",
        "a blank line of spaces\n   \nafter\n",
        "trailing space \nnext\n",
        "# hash first\n- dash\n---\n...\n",
        "paragraph one\n\nparagraph two\n",
        "-",
        "'single' and \"double\"",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        memset(c->description, 0, sizeof c->description);
        strcpy(c->description, texts[i]);
        memset(c->variants[0].description, 0, sizeof c->variants[0].description);
        strcpy(c->variants[0].description, texts[i]);
        char name[64];
        snprintf(name, sizeof name, "text%zu.resolved.yaml", i);
        assert_round_trip(c, name);
    }
    memset(c->description, 0, sizeof c->description);
    for (int i = 0; i < CONFIG_TEXT_MAX; i++) /* the longest text, escaped all the way */
        c->description[i] = i % 80 == 79 ? '\n' : (char)(1 + i % 31);
    assert_round_trip(c, "longest.resolved.yaml");
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam_experiments_load),
        cmocka_unit_test(test_headline_experiments_matched),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_unknown_key_exact_message),
        cmocka_unit_test(test_unknown_keys_anywhere),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_choice),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_shape_mismatch),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_missing_and_empty_files),
        cmocka_unit_test(test_several_errors_reported),
        cmocka_unit_test(test_cross_key_constraints),
        cmocka_unit_test(test_block_scalars),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_variant_errors_at_load),
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_write_awkward_values),
        cmocka_unit_test(test_write_texts),
        cmocka_unit_test(test_input_bounds),
        cmocka_unit_test(test_report_section),
        cmocka_unit_test(test_numbers_are_plain_decimal),
        cmocka_unit_test(test_validation_images_zero),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
