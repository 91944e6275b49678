/* tests/test_report.c — the report renderers on small inputs the test writes
 * itself.  `report experiment`: an experiment "fake" with variants a, b, c
 * (seeds 0, 4, 7; c just 1), each run folder with its CSVs, config and
 * sidecars (the gallery's images are the real test split, as the runs'
 * data.dir says); the report's numbers against mean ± sd worked out here from
 * the inputs, the summed confusion table, per-class scores, the most-confused
 * pairs, the findings template, the charts, the provenance.  A second
 * experiment "budget" (variants a_2, b_2, a_1, b_1, a_all, b_all: two series
 * over three training-set sizes) is rendered twice: without a report: section
 * (no series, one confusion matrix: nothing comes from the names), then with
 * series [a, b] and confusion [b_all, a_all] (the series table, chart and
 * template variables; a confusion section per listed variant, in the listed
 * order).  results_series and results_check_report on hand-made
 * configurations.  Then that a missing run, a ragged CSV, an unknown
 * placeholder, a report: name that is no variant and a foreign file in the way
 * are compiler-style errors that leave the old report alone; the index's
 * headline table as each experiment file's report.index asks, and its list of
 * reports; `report kernels` on a made-up benchmark (the targets table, and
 * the comparison with oneDNN when the benchmark has its rows, a sentence
 * saying there are none when not), its training-step section on made-up
 * bench --train CSVs (and without them); and both reports rendered from
 * another working directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "data/fashion_mnist.h"
#include "models/train/run_config.h"
#include "tests/testing.h"
#include "tools/cli.h"
#include "tools/config/config.h"
#include "tools/report/confusion.h"
#include "tools/report/report_figures.h"
#include "tools/report/results.h"
#include "tools/report/stats.h"

enum { NVAR = 3, NSEED = 3, EPOCHS = 2, TRAIN_IMAGES = 500, TEST_PER_CLASS = 10 };
static const char *const variant_names[NVAR] = { "a", "b", "c" };
static const int seeds[NSEED] = { 0, 4, 7 };
static const int extra[NSEED] = { 0, 1, 4 }; /* per-seed extra Shirt → T-shirt/top errors */
/* variant c lists its own seeds: just seed 1 */
static int n_seeds(int v)
{
    return v == 2 ? 1 : NSEED;
}
static int seed_of(int v, int k)
{
    return v == 2 ? 1 : seeds[k];
}

static char base[512], yaml[600], tmpl[600], root[600], out[600];
static fmnist_split t10k;

/* ---- the fixed inputs -------------------------------------------------------- */

static void move(int64_t m[10][10], int truth, int predicted, int n)
{
    m[truth][truth] -= n;
    m[truth][predicted] += n;
}

/* Run (v, k)'s confusion matrix: 10 test images per class, some errors, and
   `bags` more Bag → Dress (the series experiment's; 0 for fake's). */
static void fixture_confusion_bags(int v, int k, int bags, int64_t m[10][10])
{
    memset(m, 0, sizeof(int64_t) * 100);
    for (int i = 0; i < 10; i++)
        m[i][i] = TEST_PER_CLASS;
    move(m, 6, 0, 3 + extra[k]); /* Shirt → T-shirt/top */
    move(m, 0, 6, 2);            /* T-shirt/top → Shirt */
    move(m, 4, 2, 2);            /* Coat → Pullover */
    move(m, 2, 4, 1 + v);        /* Pullover → Coat */
    move(m, 9, 7, 1);            /* Ankle boot → Sneaker */
    move(m, 7, 5, k + 1);        /* Sneaker → Sandal */
    move(m, 8, 3, bags);         /* Bag → Dress */
}
static void fixture_confusion(int v, int k, int64_t m[10][10])
{
    fixture_confusion_bags(v, k, 0, m);
}

static double fixture_accuracy_bags(int v, int k, int bags) /* a fraction, as summary.csv holds it */
{
    int64_t m[10][10], trace = 0;
    fixture_confusion_bags(v, k, bags, m);
    for (int i = 0; i < 10; i++)
        trace += m[i][i];
    return trace / (10.0 * TEST_PER_CLASS);
}
static double fixture_accuracy(int v, int k)
{
    return fixture_accuracy_bags(v, k, 0);
}
static double fixture_loss(int v, int k)
{
    return 0.3 + 0.0125 * k + 0.02 * v;
}
static double fixture_epoch_seconds(int v, int k, int e)
{
    return e == 0 ? 1.5 + k : 2.25 + v;
}
/* The most other work beside an epoch: variant c's runs predate the record
   (NaN), b's second seed shared the machine, the rest had it to themselves. */
static double fixture_other_cores(int v, int k)
{
    return v == 2 ? NAN : v == 1 && k == 1 ? 0.8 : 0.02;
}
static const char *fixture_commit(int v, int k)
{
    return v == 1 && k == 2 ? "def456" : "abc123";
}

static void write_text(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_text(const char *path, const char *fmt, ...)
{
    char buf[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    test_write_file(path, buf);
}

static void shell(const char *fmt, const char *arg)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, arg);
    assert_int_equal(system(cmd), 0);
}

/* config.yaml of a run: the experiment file, the variant, the seed, resolved. */
static void write_run_config(const char *experiment_yaml, const char *variant, int seed, const char *dir)
{
    exp_config *c = malloc(sizeof *c);
    assert_int_equal(config_load(experiment_yaml, c), 0);
    if (variant[0])
        assert_int_equal(config_apply_variant(c, variant), 0);
    char kv[64], path[1024];
    snprintf(kv, sizeof kv, "seed=%d", seed);
    assert_int_equal(config_override(c, kv), 0);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(config_write_run(c, f), 0);
    fclose(f);
    free(c);
}

/* One run's folder: ROOT/EXPERIMENT/VARIANT/seedS with every file, the
   numbers from the fixture of (v, k) and `bags` extra errors. */
static void write_run_of(const char *experiment_yaml, const char *experiment, const char *variant, int v,
                         int k, int seed, int train_images, int bags)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s/%s/seed%d", root, experiment, variant, seed);
    shell("mkdir -p %s", dir);
    write_run_config(experiment_yaml, variant, seed, dir);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    write_text(path,
               "experiment,variant,seed,model,kernel,epochs,train_images,validation_images,test_images,"
               "test_accuracy,test_loss,weights_hash\n%s,%s,%d,cnn,winograd,%d,%d,50,%d,%.6f,%.6f,%08x%08x\n",
               experiment, variant, seed, EPOCHS, train_images, 10 * TEST_PER_CLASS,
               fixture_accuracy_bags(v, k, bags), fixture_loss(v, k), 0xfeed0000u + v, 0xbeef0000u + k);
    snprintf(path, sizeof path, "%s/timing.csv", dir);
    const double other = fixture_other_cores(v, k);
    if (isnan(other)) /* from before the load was recorded */
        write_text(path, "epoch,seconds,images_per_second\n1,%.3f,1.0\n2,%.3f,1.0\n",
                   fixture_epoch_seconds(v, k, 0), fixture_epoch_seconds(v, k, 1));
    else /* the most beside any epoch counts: the second epoch's */
        write_text(path, "epoch,seconds,images_per_second,other_cores\n1,%.3f,1.0,0.00\n2,%.3f,1.0,%.2f\n",
                   fixture_epoch_seconds(v, k, 0), fixture_epoch_seconds(v, k, 1), other);
    snprintf(path, sizeof path, "%s/epochs.csv", dir);
    write_text(path,
               "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate\n"
               "1,%.6f,0.6,0.8,%.6f,0.001\n2,%.6f,0.7,0.6,%.6f,0.0005\n",
               0.9 - 0.1 * v, 0.70 + 0.01 * k, 0.5 - 0.05 * v, 0.80 + 0.01 * k);

    int64_t m[10][10];
    fixture_confusion_bags(v, k, bags, m);
    char text[8192], *p = text;
    p += sprintf(p, "true,pred_0,pred_1,pred_2,pred_3,pred_4,pred_5,pred_6,pred_7,pred_8,pred_9\n");
    for (int i = 0; i < 10; i++) {
        p += sprintf(p, "%d", i);
        for (int j = 0; j < 10; j++)
            p += sprintf(p, ",%lld", (long long)m[i][j]);
        p += sprintf(p, "\n");
    }
    snprintf(path, sizeof path, "%s/confusion.csv", dir);
    test_write_file(path, text);

    /* misclassified.csv: real test images of the true class (the gallery checks
       the labels), the n-th image of a class for the n-th error, listed from
       the last class down (the report sorts by test index) */
    p = text + sprintf(text, "test_index,true,predicted\n");
    for (int i = 9; i >= 0; i--) {
        size_t next = 0;
        for (int j = 0; j < 10; j++)
            for (int64_t n = 0; i != j && n < m[i][j]; n++) {
                while (t10k.labels[next] != i)
                    next++;
                p += sprintf(p, "%zu,%d,%d\n", next++, i, j);
            }
    }
    snprintf(path, sizeof path, "%s/misclassified.csv", dir);
    test_write_file(path, text);
    snprintf(path, sizeof path, "%s/environment.txt", dir);
    write_text(
        path,
        "date: 2024-01-0%dT10:00:00Z\ncommit: %s\ncpu: Test CPU\ncores: 2\ncpu_flags: fpu\ncompiler: gcc "
        "test\ncflags: -O3\nblis_version: 0.9.0\nblis_build: static\nblis_arch: skx (BLIS_ARCH_TYPE=unset)\n"
        "threads: 2\nnumerics: %d\npeak_rss_mib: %.1f\n",
        1 + k + 3 * v, fixture_commit(v, k), RUN_NUMERICS, 100.0 + 10 * k + v);
    snprintf(path, sizeof path, "%s/overrides.txt", dir);
    test_write_file(path, v == 0 && k == 1 ? "training.batch=64\n" : "");
}

static void write_run(int v, int k)
{
    write_run_of(yaml, "fake", variant_names[v], v, k, seed_of(v, k), TRAIN_IMAGES, 0);
}

static const char fixture_yaml[] = "name: fake\n"
                                   "description: >\n"
                                   "  A made-up ablation for the report test. It has two\n"
                                   "  variants.\n\n"
                                   "  A second paragraph.\n"
                                   "model:\n  name: cnn\n"
                                   "data:\n  validation_images: 321\n"
                                   "seeds: [0, 4, 7]\n"
                                   "variants:\n"
                                   "  - name: a\n    description: the first | one\n    set: {training.batch: 64}\n"
                                   "  - name: b\n    set: {augmentation.flip: 0, training.epochs: 2}\n"
                                   "  - name: c\n    set: {seeds: [1]}\n";

static const char fixture_template[] =
    "Best {{best_variant}}, worst {{worst_variant}}, {{best_minus_worst}} points apart; a: "
    "{{a.accuracy_mean}} ± {{a.accuracy_sd}} over {{a.runs}} runs; {{runs}} runs, {{total_minutes}} minutes "
    "on {{env.cpu}}, commit {{commit}}.\nPairs: {{b.minus.a}} {{b.minus.a.clear}}; {{c.minus.a}} "
    "{{c.minus.a.clear}}; gap {{c.gap}}, train {{c.train_accuracy}}, epochs {{b.epochs}}; validation "
    "{{b.val_minus.a}} {{b.val_minus.a.clear}} on {{validation_images}} images.\n";

static int setup(void **state)
{
    char err[512];
    if (fmnist_load(FMNIST_DEFAULT_DIR, "t10k", &t10k, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    /* absolute: one test renders from another working directory */
    const char *dir = test_fresh_path("report");
    shell("mkdir -p %s/experiments", dir);
    char abs[PATH_MAX];
    if (!realpath(dir, abs) || strlen(abs) >= sizeof base) {
        fprintf(stderr, "%s: cannot make it absolute in %zu bytes: %s\n", dir, sizeof base, strerror(errno));
        return -1;
    }
    memcpy(base, abs, strlen(abs) + 1);
    snprintf(yaml, sizeof yaml, "%s/experiments/fake.yaml", base);
    snprintf(tmpl, sizeof tmpl, "%s/experiments/fake.md", base);
    snprintf(root, sizeof root, "%s/results", base);
    snprintf(out, sizeof out, "%s/out", base);
    test_write_file(yaml, fixture_yaml);
    test_write_file(tmpl, fixture_template);
    for (int v = 0; v < NVAR; v++)
        for (int k = 0; k < n_seeds(v); k++)
            write_run(v, k);
    return 0;
}

static int teardown(void **state)
{
    fmnist_free(&t10k);
    return 0;
}

/* ---- running the command ---------------------------------------------------- */

/* report_main("report", args..., NULL) with stderr captured into *err (also
   echoed); its exit code. */
static int report_args(char **err, const char *const *args)
{
    char *argv[16] = { "report" };
    int argc = 1;
    while (args[argc - 1] && argc < 15)
        argv[argc] = (char *)args[argc - 1], argc++;
    test_stderr_begin();
    const int rc = report_main(argc, argv);
    *err = test_stderr_end();
    fputs(*err, stderr);
    return rc;
}
#define report(err, ...) report_args(err, (const char *const[]){ __VA_ARGS__, NULL })

static int report_experiment_ok(void)
{
    char *err;
    const int rc = report(&err, "experiment", yaml, "--results", root, "--out-dir", out);
    free(err);
    return rc;
}

static char *read_report(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", out, name);
    char *s = test_read_file(path);
    if (!s)
        fail_msg("%s was not written", path);
    return s;
}

static void expect(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("the report lacks the line\n%s", want);
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_stats_and_pairs(void **state)
{
    const double x[] = { 1, 2, 3, 4 };
    double mean, sd;
    stats_mean_sd(x, 4, &mean, &sd);
    assert_true(mean == 2.5 && fabs(sd - sqrt(5.0 / 3.0)) < 1e-15);
    stats_mean_sd(x, 1, &mean, &sd);
    assert_true(mean == 1 && isnan(sd));

    int64_t m[10][10] = { { 0 } };
    m[1][3] = 3, m[3][1] = 5, m[8][9] = 7, m[0][2] = 1, m[6][4] = 7;
    confusion_pair p[3];
    assert_int_equal(confusion_top_pairs(m, 3, p), 3);
    /* 5 + 3, the bigger direction first; then 7 + 0 twice, the lower classes first */
    assert_true(p[0].a == 3 && p[0].b == 1 && p[0].a_as_b == 5 && p[0].b_as_a == 3);
    assert_true(p[1].a == 6 && p[1].b == 4 && p[1].a_as_b == 7 && p[1].b_as_a == 0);
    assert_true(p[2].a == 8 && p[2].b == 9 && p[2].a_as_b == 7 && p[2].b_as_a == 0);
    confusion_pair all[45];
    assert_int_equal(confusion_top_pairs(m, 45, all), 4); /* pairs without errors are left out */
    assert_true(all[3].a == 0 && all[3].b == 2 && all[3].a_as_b == 1);
    memset(m, 0, sizeof m);
    assert_int_equal(confusion_top_pairs(m, 3, p), 0);
}

/* Every PNG named, present and not nearly empty: OUT/figures/PREFIXNAME.png. */
static void expect_charts(const char *prefix, const char *const *names, int n)
{
    char path[800];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/figures/%s%s.png", out, prefix, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || st.st_size < 1000)
            fail_msg("%s is missing or nearly empty", path);
        char *png = test_read_file(path);
        assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
        free(png);
    }
}

/* fake's results: per variant mean ± sample sd (n − 1) over the seeds, worked out
   here, every run's row, and the findings. */
static void check_results(const char *md)
{
    char line[2048];
    double mean_acc[NVAR], total_seconds = 0;
    for (int v = 0; v < NVAR; v++) {
        const int n = n_seeds(v);
        double acc = 0, ss = 0, loss = 0, secs = 0;
        for (int k = 0; k < n; k++)
            acc += 100 * fixture_accuracy(v, k) / n;
        for (int k = 0; k < n; k++) {
            const double s = fixture_epoch_seconds(v, k, 0) + fixture_epoch_seconds(v, k, 1);
            ss += pow(100 * fixture_accuracy(v, k) - acc, 2);
            loss += fixture_loss(v, k) / n;
            secs += s / n;
            total_seconds += s;
            const double other = fixture_other_cores(v, k);
            char machine[48];
            if (isnan(other))
                snprintf(machine, sizeof machine, "not recorded");
            else if (other > 0.25)
                snprintf(machine, sizeof machine, "shared (%.2f cores)", other);
            else
                snprintf(machine, sizeof machine, "to itself");
            snprintf(line, sizeof line, "| %s | %d | %.2f | %.4f | %.1f | %.0f | %s | `%08x%08x` |",
                     variant_names[v], seed_of(v, k), 100 * fixture_accuracy(v, k), fixture_loss(v, k), s,
                     (double)TRAIN_IMAGES * EPOCHS / s, machine, 0xfeed0000u + v, 0xbeef0000u + k);
            expect(md, line);
        }
        mean_acc[v] = acc;
        char sd[32] = "—";
        if (n > 1)
            snprintf(sd, sizeof sd, "%.2f", sqrt(ss / (n - 1)));
        /* images/s of the variant: all its runs' images over all their time, not a mean of rates */
        snprintf(line, sizeof line, "| %s | %d | %.2f ± %s | %.4f | %.1f%s | %.0f |", variant_names[v], n, acc,
                 sd, loss, secs, v == 1 ? " ‡" : "", (double)TRAIN_IMAGES * EPOCHS / secs);
        expect(md, line);
    }
    /* the fixture's numbers, by hand: a has 10, 12 and 16 errors in 100, b one more each, c 12 */
    expect(md, "| a | 3 | 87.33 ± 3.06 |");
    expect(md, "| b | 3 | 86.33 ± 3.06 |");
    expect(md, "| c | 1 | 88.00 ± — |");
    /* the last epoch of c's one run (epochs.csv): train 0.7, validation 0.80, losses 0.5 − 0.05·2 and 0.6 */
    expect(md, "| variant | epochs | training accuracy % | validation accuracy % | gap | training loss | "
               "validation loss |");
    expect(md, "| c | 2 | 70.00 | 80.00 | -10.00 | 0.4000 | 0.6000 |");
    expect(md, " runs; 1 shared the machine with other work, so the time is an upper bound; 1 from before the "
               "machine's load was recorded\n");
    /* findings: the template with its variables */
    snprintf(
        line, sizeof line,
        "Best c, worst b, %.2f points apart; a: %.2f ± 3.06 over 3 runs; 7 runs, %.1f minutes on Test CPU, "
        "commit abc123, def456.\n",
        mean_acc[2] - mean_acc[1], mean_acc[0], total_seconds / 60);
    expect(md, "## Findings\n\n");
    expect(md, line);
    expect(md, "Best c, worst b, 1.67 points apart;");
    /* b less a, ± sqrt(sd_a²/3 + sd_b²/3) with both sd 3.06 (the same errors, one more each); c has one run */
    double ss = 0;
    for (int k = 0; k < 3; k++)
        ss += pow(100 * fixture_accuracy(0, k) - mean_acc[0], 2);
    const double sd = sqrt(ss / 2);
    /* validation: every variant's seed k ends at 80 + k % (sd 1), so b less a is 0 ± sqrt(1/3 + 1/3) */
    snprintf(line, sizeof line,
             "Pairs: %+.2f ± %.2f no; %+.2f ± — —; gap -10.00, train 70.00, epochs 2; validation +0.00 ± 0.82 no on 321 images.\n",
             mean_acc[1] - mean_acc[0], sd * sqrt(2.0 / 3), mean_acc[2] - mean_acc[0]);
    expect(md, line);
}

/* fake's one confusion section: variant a's matrix summed over its seeds, the
   per-class scores and the most-confused pairs. */
static void check_confusion(const char *md)
{
    char line[2048];
    int64_t sum[10][10] = { { 0 } }, m[10][10];
    for (int k = 0; k < NSEED; k++) {
        fixture_confusion(0, k, m);
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                sum[i][j] += m[i][j];
    }
    expect(md, "## Confusion matrix\n\nFor variant `a` (the first listed, as the experiment file's "
               "`report.confusion` names none), summed over its 3 seeds: 300 test images, 38 misclassified.");
    assert_null(strstr(md, "## Confusion matrix:"));
    expect(
        md,
        "| true ↓ predicted → | T-shirt/top | Trouser | Pullover | Dress | Coat | Sandal | Shirt | Sneaker | "
        "Bag | Ankle boot |\n");
    for (int i = 0; i < 10; i++) {
        int n = snprintf(line, sizeof line, "\n| %s |", fmnist_class_name(i));
        for (int j = 0; j < 10; j++)
            n += snprintf(line + n, sizeof line - (size_t)n, " %lld |", (long long)sum[i][j]);
        snprintf(line + n, sizeof line - (size_t)n, "\n");
        expect(md, line);
    }
    expect(md, "\n| Shirt | 14 | 0 | 0 | 0 | 0 | 0 | 16 | 0 | 0 | 0 |\n"); /* 14 errors: 3 + 4 + 7 */
    /* per class, from the summed matrix: Shirt 16 right of 30, predicted 16 + 6 times */
    snprintf(line, sizeof line, "| Shirt | 30 | %.3f | %.3f | %.3f |", 16.0 / 22, 16.0 / 30,
             2 * (16.0 / 22) * (16.0 / 30) / (16.0 / 22 + 16.0 / 30));
    expect(md, line);
    /* the three most-confused pairs, in order, both directions */
    const char *p1 = strstr(md,
                            "| Shirt ↔ T-shirt/top | Shirt → T-shirt/top: 14 | T-shirt/top → Shirt: 6 | 20 | "
                            "52.6 % |"),
               *p2 = strstr(md, "| Coat ↔ Pullover | Coat → Pullover: 6 | Pullover → Coat: 3 | 9 | 23.7 % |"),
               *p3 = strstr(md,
                            "| Sneaker ↔ Sandal | Sneaker → Sandal: 6 | Sandal → Sneaker: 0 | 6 | 15.8 % |");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    assert_true(p1 < p2 && p2 < p3);
    assert_null(strstr(md, "Ankle boot ↔"));
}

static void test_experiment_report(void **state)
{
    assert_int_equal(report_experiment_ok(), 0);
    char *md = read_report("fake.md"), line[2048];
    check_results(md);
    check_confusion(md);
    assert_null(strstr(md, "## Accuracy against training-set size")); /* no report.series */
    /* the description's paragraphs, verbatim */
    expect(md, "A made-up ablation for the report test. It has two variants.\n\nA second paragraph.\n");
    /* ... once: the embedded configuration leaves the run's saved copy of it out */
    assert_null(strstr(md, "\ndescription:"));
    expect(md, "```yaml\n# Fully resolved experiment configuration: every key, in schema order.\nname: fake ");

    /* configuration, reproduction, provenance */
    expect(md, "| a | the first \\| one | `training.batch=64` | 0, 4, 7 |");
    expect(md, "| b | — | `augmentation.flip=0`, `training.epochs=2` | 0, 4, 7 |");
    expect(md, "# every run of this experiment: 7 runs, each variant with its seeds\n");
    expect(md, "/fake/a/seed4`: `training.batch=64`");
    snprintf(line, sizeof line, "build/probador run %s --variant a --seed 0 --results %s   # one run", yaml,
             root);
    expect(md, line);
    expect(md, "- Commit: abc123 (6 runs); def456 (1 run)\n");
    expect(md, "- **Warning**: the runs of this experiment come from different commits;");
    expect(md, "- Trained: 2024-01-01T10:00:00Z – 2024-01-07T10:00:00Z\n");
    expect(md, "- Peak memory (RSS): 121 MiB at most, 100 MiB at least\n");
    assert_null(strstr(md, "{{"));
    assert_null(strstr(md, "**Stale"));
    free(md);
    /* b's seed-4 run made with older arithmetic: named as stale, the report still rendered */
    char env[900];
    snprintf(env, sizeof env, "%s/fake/b/seed4/environment.txt", root);
    char *text = test_read_file(env), *at = strstr(text, "numerics: ");
    assert_non_null(at);
    at[strlen("numerics: ")] = '0';
    test_write_file(env, text);
    assert_int_equal(report_experiment_ok(), 0);
    md = read_report("fake.md");
    expect(md, "**Stale: 1 of the 7 runs** no longer match what `");
    expect(md, "--all-stale` lists them: `b/seed4`.\n\n");
    free(md);
    write_run(1, 1);
    free(text);
    char path[800];
    snprintf(path, sizeof path, "%s/figures/fake-series.png", out);
    assert_int_equal(access(path, F_OK), -1);
    static const char *const charts[] = { "curves", "ablation", "confusion", "gallery" };
    expect_charts("fake-", charts, 4);
}

/* PyTorch's runs of the same recipe (tools/bench/torch_accuracy.py) beside the
   base configuration's (here the first variant's, a): a section only when
   there are any; the gap against probador's own seed-to-seed spread; and a
   run of another budget named as such rather than compared. */
static void test_pytorch_peer_section(void **state)
{
    char dir[800], path[900];
    snprintf(dir, sizeof dir, "%s/peers/pytorch/cnn", root);
    char *md;
    shell("mkdir -p %s/seed0", dir); /* PyTorch's runs there, but the experiment names no peer */
    snprintf(path, sizeof path, "%s/seed0/result.csv", dir);
    write_text(path, "model,seed,epochs,train_images,test_images,test_accuracy,test_loss,train_seconds,"
                     "parameters\ncnn,0,10,500,100,0.500000,1.0,1.0,1\n");
    assert_int_equal(report_experiment_ok(), 0);
    md = read_report("fake.md");
    assert_null(strstr(md, "## PyTorch on the same recipe"));
    free(md);
    shell("rm -rf %s", dir);
    char text[sizeof fixture_yaml + 64]; /* the fixture naming its peer, for the rest of this test */
    snprintf(text, sizeof text, "%sreport:\n  pytorch_peer: cnn\n", fixture_yaml);
    test_write_file(yaml, text);
    assert_int_equal(report_experiment_ok(), 0);
    md = read_report("fake.md");
    assert_null(strstr(md, "## PyTorch on the same recipe")); /* named, but no runs yet */
    free(md);

    static const char header[] =
        "model,seed,epochs,train_images,test_images,test_accuracy,test_loss,train_seconds,parameters\n";
    shell("mkdir -p %s/seed0", dir);
    snprintf(path, sizeof path, "%s/seed0/result.csv", dir);
    write_text(path, "%scnn,0,10,500,100,0.500000,1.0,1.0,1\n", header);
    snprintf(path, sizeof path, "%s/seed0/environment.txt", dir);
    write_text(path, "pytorch: 9.9\n");
    assert_int_equal(report_experiment_ok(), 0);
    md = read_report("fake.md");
    double mean = 0, ss = 0;
    for (int k = 0; k < NSEED; k++)
        mean += 100 * fixture_accuracy(0, k) / NSEED;
    for (int k = 0; k < NSEED; k++)
        ss += (100 * fixture_accuracy(0, k) - mean) * (100 * fixture_accuracy(0, k) - mean);
    const double sd = sqrt(ss / (NSEED - 1));
    char line[512];
    expect(md, "## PyTorch on the same recipe\n\n`tools/bench/torch_accuracy.py` trains the same network in "
               "PyTorch 9.9");
    expect(md, "| PyTorch | 1 | 50.00 |\n");
    snprintf(line, sizeof line,
             "probador leads PyTorch by %.2f points. probador's seeds spread by %.2f points (sample sd); if "
             "PyTorch's spread as much, the difference of the means has a standard error of %.2f points, so the "
             "difference is more than two standard errors.",
             mean - 50, sd, sd * sqrt(1.0 / NSEED + 1.0));
    expect(md, line);
    free(md);

    snprintf(path, sizeof path, "%s/seed1/result.csv", dir);
    shell("mkdir -p %s/seed1", dir);
    write_text(path, "%scnn,1,3,500,100,0.400000,1.0,1.0,1\n", header);
    assert_int_equal(report_experiment_ok(), 0);
    md = read_report("fake.md");
    expect(md, "| PyTorch | 2 | 45.00 ± 7.07 |\n");
    expect(md, "**Not the same budget**: PyTorch's runs trained 3 epochs and were tested on 100 images, "
               "probador's 10 and 100; rerun `make peers`.");
    assert_null(strstr(md, "probador leads"));
    free(md);
    shell("rm -rf %s", dir);
    test_write_file(yaml, fixture_yaml);
}

/* ---- series: report.series ------------------------------------------------------ */

/* A hand-made experiment: variants names[0..n-1], one run each of images[v]
   training images, report.series the NULL-terminated `series`. */
typedef struct hand_made {
    exp_config c;
    run_result runs[CONFIG_MAX_VARIANTS];
    exp_results r;
} hand_made;

static hand_made *make_experiment(const char *const *names, int n, const int *images, const char *const *series)
{
    hand_made *h = calloc(1, sizeof *h);
    h->r = (exp_results){ .config = &h->c, .n_groups = n, .n_runs = n, .runs = h->runs };
    h->c.n_variants = n;
    for (int v = 0; v < n; v++) {
        snprintf(h->c.variants[v].name, sizeof h->c.variants[v].name, "%s", names[v]);
        h->r.groups[v] = (run_group){ .first = v, .n_seeds = 1 };
        h->runs[v].train_images = images[v];
    }
    for (; series && series[h->c.report.n_series]; h->c.report.n_series++)
        snprintf(h->c.report.series[h->c.report.n_series], CONFIG_NAME_MAX, "%s", series[h->c.report.n_series]);
    return h;
}

/* Learning curves: up to six variants share one figure; past that, figures of
   the first variant (the reference) and five more each. */
static void test_curves_split(void **state)
{
    static const char *const names[] = { "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10" };
    static const int images[11] = { 0 };
    int groups[CONFIG_MAX_VARIANTS][CURVES_PER_FIGURE], counts[CONFIG_MAX_VARIANTS];
    hand_made *h = make_experiment(names, 6, images, NULL);
    assert_int_equal(curves_figures(&h->r, groups, counts), 1);
    assert_int_equal(counts[0], 6);
    assert_int_equal(groups[0][5], 5);
    free(h);
    h = make_experiment(names, 7, images, NULL);
    assert_int_equal(curves_figures(&h->r, groups, counts), 2);
    assert_int_equal(counts[0], 6);
    assert_int_equal(counts[1], 2);
    assert_int_equal(groups[1][0], 0);
    assert_int_equal(groups[1][1], 6);
    free(h);
    h = make_experiment(names, 11, images, NULL);
    assert_int_equal(curves_figures(&h->r, groups, counts), 2);
    assert_int_equal(counts[1], 6);
    const int want[] = { 0, 6, 7, 8, 9, 10 };
    assert_memory_equal(groups[1], want, sizeof want);
    free(h);
}

static void test_series_rules(void **state)
{
    exp_series s;
    static const int images[] = { 500, 500, 50, 50, 500, 500, 7 };
    static const char *const names[] = { "x_big",        "long_name_big", "x_small", "long_name_small",
                                         "x_eq",         "long_name_eq",  "other" };
    /* declared as long_name, x: that order, whatever the file's */
    hand_made *h = make_experiment(names, 7, images, (const char *const[]){ "long_name", "x", NULL });
    results_series(&h->r, &s);
    assert_int_equal(s.n_series, 2);
    assert_string_equal(s.series[0], "long_name");
    assert_string_equal(s.series[1], "x");
    assert_int_equal(s.n_suffixes, 3); /* "other" is in no series */
    assert_string_equal(s.suffixes[0], "small"); /* fewest images first, then file order */
    assert_string_equal(s.suffixes[1], "big");
    assert_string_equal(s.suffixes[2], "eq");
    assert_true(s.axis[0] == 50 && s.axis[1] == 500 && s.axis[2] == 500);
    assert_true(s.group[1][0] == 2 && s.group[0][0] == 3 && s.group[1][2] == 4 && s.group[0][1] == 1);
    assert_false(s.by_epochs);
    /* report.series_axis: epochs: the same series on the runs' epochs, fewest first */
    static const int epochs[] = { 3, 3, 30, 30, 10, 10, 1 };
    for (int v = 0; v < 7; v++)
        h->runs[v].epochs = epochs[v];
    h->c.report.series_axis_epochs = 1;
    results_series(&h->r, &s);
    assert_true(s.by_epochs);
    assert_string_equal(s.suffixes[0], "big");
    assert_string_equal(s.suffixes[1], "eq");
    assert_string_equal(s.suffixes[2], "small");
    assert_true(s.axis[0] == 3 && s.axis[1] == 10 && s.axis[2] == 30);
    assert_true(s.group[0][0] == 1 && s.group[1][2] == 2);
    free(h);

    /* no series declared: none, whatever the names */
    h = make_experiment(names, 6, images, NULL);
    results_series(&h->r, &s);
    assert_int_equal(s.n_series, 0);
    assert_int_equal(s.n_suffixes, 0);
    free(h);

    /* a series without a suffix the other has: -1 there (x_2 has 50 images, so 2 comes first) */
    static const char *const uneven[] = { "x_1", "y_1", "x_2" };
    h = make_experiment(uneven, 3, images, (const char *const[]){ "x", "y", NULL });
    results_series(&h->r, &s);
    assert_int_equal(s.n_suffixes, 2);
    assert_string_equal(s.suffixes[0], "2");
    assert_true(s.group[0][0] == 2 && s.group[1][0] == -1 && s.group[0][1] == 0 && s.group[1][1] == 1);
    free(h);
}

/* results_check_report's error on c, with its message checked. */
static void expect_report_error(const exp_config *c, const char *want)
{
    test_stderr_begin();
    const int rc = results_check_report(c, "x.yaml");
    char *err = test_stderr_end();
    if (rc != -1 || !strstr(err, want))
        fail_msg("expected an error with '%s', got %d and:\n%s", want, rc, err);
    free(err);
}

static void test_report_section_checks(void **state)
{
    static const int images[] = { 1, 1, 1, 1 };
    static const char *const names[] = { "x_y_1", "x_2", "x_y_2", "z" };
    hand_made *h = make_experiment(names, 4, images, (const char *const[]){ "x", "x_y", NULL });
    expect_report_error(&h->c, "x.yaml: error: variant 'x_y_1' is in two series of report.series, 'x' and 'x_y'");
    h->c.report.n_series = 1;
    assert_int_equal(results_check_report(&h->c, "x.yaml"), 0);
    snprintf(h->c.report.series[0], CONFIG_NAME_MAX, "x_y");
    assert_int_equal(results_check_report(&h->c, "x.yaml"), 0);
    free(h);
}

/* Experiment "budget": series a and b over suffixes 2, 1, all in the YAML
   (1 has the fewest training images); the _all pair runs one seed. */
enum { NSER = 6, NSIZE = 3 };
static const struct {
    const char *name;
    int series, size; /* size: 0 = "1", 1 = "2", 2 = "all" */
} ser[NSER] = { { "a_2", 0, 1 }, { "b_2", 1, 1 },   { "a_1", 0, 0 },
                { "b_1", 1, 0 }, { "a_all", 0, 2 }, { "b_all", 1, 2 } };
static const char *const size_names[NSIZE] = { "1", "2", "all" };
static const int size_images[NSIZE] = { 100, 1000, 10000 };         /* + 3 per seed index */
static const int ser_bags[2][NSIZE] = { { 8, 5, 3 }, { 5, 3, 1 } }; /* extra errors: b better */
static int ser_seeds(int v)
{
    return ser[v].size == 2 ? 1 : NSEED;
}
static int ser_images(int v, int k)
{
    return size_images[ser[v].size] + 3 * k;
}
static double ser_accuracy(int v, int k) /* percent */
{
    return 100 * fixture_accuracy_bags(v, k, ser_bags[ser[v].series][ser[v].size]);
}

typedef struct ser_stats {
    double acc, sd, seconds, images; /* means over the seeds; sd NaN for one */
} ser_stats;
static ser_stats ser_summary(int v)
{
    const int n = ser_seeds(v);
    double acc[NSEED];
    ser_stats st = { 0 };
    for (int k = 0; k < n; k++) {
        acc[k] = ser_accuracy(v, k);
        st.seconds += (fixture_epoch_seconds(v, k, 0) + fixture_epoch_seconds(v, k, 1)) / n;
        st.images += (double)ser_images(v, k) / n;
    }
    double ss = 0;
    for (int k = 0; k < n; k++)
        st.acc += acc[k] / n;
    for (int k = 0; k < n; k++)
        ss += (acc[k] - st.acc) * (acc[k] - st.acc);
    st.sd = n > 1 ? sqrt(ss / (n - 1)) : NAN;
    return st;
}
static int ser_variant(int series, int size)
{
    for (int v = 0; v < NSER; v++)
        if (ser[v].series == series && ser[v].size == size)
            return v;
    fail_msg("no variant of series %d, size %d", series, size);
    return -1;
}
static void mean_sd_text(double mean, double sd, char *buf, size_t len)
{
    if (isnan(sd))
        snprintf(buf, len, "%.2f ± —", mean);
    else
        snprintf(buf, len, "%.2f ± %.2f", mean, sd);
}

/* budget.yaml, with `report_section` (a YAML block, or "") at its end; its path. */
static const char *write_budget_yaml(const char *report_section)
{
    static char syaml[700];
    char text[4096];
    snprintf(syaml, sizeof syaml, "%s/experiments/budget.yaml", base);
    int n = snprintf(text, sizeof text,
                     "name: budget\ndescription: Two series over three label budgets.\nmodel:\n  name: cnn\n"
                     "seeds: [0, 1, 2]\nvariants:\n");
    for (int v = 0; v < NSER; v++)
        n += snprintf(text + n, sizeof text - (size_t)n, "  - name: %s\n    set: {%s}\n", ser[v].name,
                      ser[v].size == 2 ? "seeds: [0]"
                      : ser[v].size    ? "data.per_class: 100"
                                       : "data.per_class: 20");
    snprintf(text + n, sizeof text - (size_t)n, "%s", report_section);
    test_write_file(syaml, text);
    return syaml;
}

/* budget's runs, and no findings template. */
static void write_budget_runs(void)
{
    const char *syaml = write_budget_yaml("");
    for (int v = 0; v < NSER; v++)
        for (int k = 0; k < ser_seeds(v); k++)
            write_run_of(syaml, "budget", ser[v].name, v, k, k, ser_images(v, k),
                         ser_bags[ser[v].series][ser[v].size]);
    char stmpl[700];
    snprintf(stmpl, sizeof stmpl, "%s/experiments/budget.md", base);
    remove(stmpl);
}

/* budget's report, its file ending in `report_section`. */
static char *render_budget(const char *report_section)
{
    const char *syaml = write_budget_yaml(report_section);
    char *err;
    assert_int_equal(report(&err, "experiment", syaml, "--results", root, "--out-dir", out), 0);
    free(err);
    return read_report("budget.md");
}

/* Names of the form SERIES_SUFFIX and *_all decide nothing by themselves. */
static void test_series_not_inferred(void **state)
{
    write_budget_runs();
    char *md = render_budget("");
    assert_null(strstr(md, "## Accuracy against training-set size"));
    expect(md, "## Confusion matrix\n\nFor variant `a_2` (the first listed, as the experiment file's "
               "`report.confusion` names none), summed over its 3 seeds:");
    assert_null(strstr(md, "## Confusion matrix:"));
    free(md);
    char path[800];
    snprintf(path, sizeof path, "%s/figures/budget-confusion.png", out);
    assert_int_equal(access(path, F_OK), 0);
}

/* The series table: a row per suffix, fewest training images first; returns
   each suffix's difference b − a and time ratio b / a. */
static void check_series_table(const char *md, double *difference, double *ratio)
{
    char line[2048], a[64], b[64];
    expect(md, "## Accuracy against training-set size\n\nThe experiment file's `report.series` declares 2 "
               "series (`a`, `b`), each gathering the variants named SERIES_SUFFIX, over 3 suffixes (`1`, "
               "`2`, `all`).");
    expect(md, "| suffix | training images | a test accuracy % | b test accuracy % | difference b − a | "
               "a s/run | b s/run | time ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    const char *row[NSIZE];
    for (int size = 0; size < NSIZE; size++) {
        const int va = ser_variant(0, size), vb = ser_variant(1, size);
        const ser_stats sa = ser_summary(va), sb = ser_summary(vb);
        assert_true(sa.images == sb.images);
        difference[size] = sb.acc - sa.acc;
        ratio[size] = sb.seconds / sa.seconds;
        mean_sd_text(sa.acc, sa.sd, a, sizeof a);
        mean_sd_text(sb.acc, sb.sd, b, sizeof b);
        snprintf(line, sizeof line, "\n| %s | %.0f | %s (%d) | %s (%d) | %+.2f | %.1f | %.1f | %.2f |\n",
                 size_names[size], sa.images, a, ser_seeds(va), b, ser_seeds(vb), difference[size],
                 sa.seconds, sb.seconds, ratio[size]);
        expect(md, line);
        row[size] = strstr(md, line);
    }
    assert_true(row[0] < row[1] && row[1] < row[2]);
    /* by hand: suffix 1 is a_1 (3 seeds, 103 images on average) against b_1, b 2 points ahead */
    expect(md, "\n| 1 | 103 | 77.33 ± 3.06 (3) | 79.33 ± 3.06 (3) | +2.00 |");
    expect(md, "\n| all | 10000 | 83.00 ± — (1) | 84.00 ± — (1) | +1.00 |");
    expect(md, "(figures/budget-series.png)");
}

/* One confusion section per variant report.confusion lists, in its order (b_all
   first), each with its own matrix and figures. */
static void check_declared_confusion(const char *md)
{
    char line[2048];
    const char *ca = strstr(md, "## Confusion matrix: a_all\n"), *cb = strstr(md, "## Confusion matrix: b_all\n");
    assert_non_null(ca);
    assert_non_null(cb);
    assert_true(cb < ca);
    assert_null(strstr(md, "## Confusion matrix\n"));
    for (int side = 0; side < 2; side++) {
        const int v = ser_variant(side, 2);
        const char *section = side ? cb : ca, *end = side ? ca : md + strlen(md);
        snprintf(line, sizeof line,
                 "For variant `%s` (each variant the experiment file's `report.confusion` names has a "
                 "confusion matrix of its own: `b_all`, `a_all`), summed over its 1 seed: 100 test images, %.0f "
                 "misclassified.",
                 ser[v].name, 100 - ser_accuracy(v, 0));
        const char *at = strstr(section, line);
        if (!at || at > end)
            fail_msg("the section of %s lacks, or misplaces, the line\n%s", ser[v].name, line);
        /* its Bag row: the variant's own Bag → Dress errors */
        const int bags = ser_bags[side][2];
        snprintf(line, sizeof line, "\n| Bag | 0 | 0 | 0 | %d | 0 | 0 | 0 | 0 | %d | 0 |\n", bags, 10 - bags);
        at = strstr(section, line);
        if (!at || at > end)
            fail_msg("the confusion table of %s lacks the row\n%s", ser[v].name, line);
        snprintf(line, sizeof line, "(figures/budget-confusion-%s.png)", ser[v].name);
        expect(section, line);
        snprintf(line, sizeof line, "(figures/budget-gallery-%s.png)", ser[v].name);
        expect(section, line);
    }
}

static void test_series_report(void **state)
{
    char stmpl[700], line[2048];
    write_budget_runs();
    snprintf(stmpl, sizeof stmpl, "%s/experiments/budget.md", base);
    test_write_file(stmpl, "Differences: 1 {{1.difference}} (time {{1.seconds_ratio}}), 2 {{2.difference}}, "
                           "all {{all.difference}} (time {{all.seconds_ratio}}); a_1 on {{a_1.train_images}} "
                           "images, b_all on {{b_all.train_images}}.\n");
    char *md = render_budget("report:\n  series: [a, b]\n  confusion: [b_all, a_all]\n");
    remove(stmpl);
    double difference[NSIZE], ratio[NSIZE];
    check_series_table(md, difference, ratio);
    /* the template's series variables */
    snprintf(line, sizeof line,
             "Differences: 1 %+.2f (time %.2f), 2 %+.2f, all %+.2f (time %.2f); a_1 on 103 images, b_all on "
             "10000.\n",
             difference[0], ratio[0], difference[1], difference[2], ratio[2]);
    expect(md, line);
    expect(md, "Differences: 1 +2.00 (time ");
    check_declared_confusion(md);
    free(md);
    static const char *const charts[] = { "series", "curves", "ablation", "confusion-a_all", "confusion-b_all",
                                          "gallery-a_all", "gallery-b_all" };
    expect_charts("budget-", charts, 7);
}

/* A failure must leave the previous report byte for byte, and say what to do;
   its exit status is 1, or 3 when runs are only missing (under way). */
static void expect_failure_status(int status, const char *want1, const char *want2)
{
    char *before = read_report("fake.md"), *err;
    assert_int_equal(report(&err, "experiment", yaml, "--results", root, "--out-dir", out), status);
    if (!strstr(err, want1) || !strstr(err, want2))
        fail_msg("expected '%s' and '%s' in the error, got:\n%s", want1, want2, err);
    char *after = read_report("fake.md");
    assert_string_equal(before, after);
    free(before), free(after), free(err);
}
static void expect_failure(const char *want1, const char *want2)
{
    expect_failure_status(1, want1, want2);
}

static void test_errors_name_the_path_and_the_fix(void **state)
{
    assert_int_equal(report_experiment_ok(), 0);
    char dir[800], moved[900], want[2048], path[900];

    /* a missing run */
    snprintf(dir, sizeof dir, "%s/fake/b/seed7", root);
    snprintf(moved, sizeof moved, "%s.moved", dir);
    assert_int_equal(rename(dir, moved), 0);
    snprintf(want, sizeof want, "%s: error: no results of experiment fake, variant b, seed 7", dir);
    char fix[1400];
    snprintf(fix, sizeof fix, "run `build/probador run %s --variant b --seed 7 --results %s`", yaml, root);
    expect_failure_status(3, want, fix);
    expect_failure_status(3, want, "note: 1 of the 7 runs of experiment fake have no results yet");
    assert_int_equal(rename(moved, dir), 0);

    /* a ragged CSV */
    snprintf(path, sizeof path, "%s/fake/a/seed4/timing.csv", root);
    test_write_file(path, "epoch,seconds,images_per_second\n1,2.5\n2,3.25,1.0\n");
    snprintf(want, sizeof want, "%s:2: error: 2 fields, expected 3", path);
    expect_failure(want, "to make this run again: `build/probador run");
    write_run(0, 1);

    /* files that disagree: one misclassified image too few */
    snprintf(path, sizeof path, "%s/fake/a/seed0/misclassified.csv", root);
    char *mis = test_read_file(path);
    *strrchr(mis, '\n') = '\0';
    *(strrchr(mis, '\n') + 1) = '\0';
    test_write_file(path, mis);
    free(mis);
    snprintf(want, sizeof want, "%s: error: 1 images of class 0 predicted as 6, confusion.csv counts 2",
             path);
    expect_failure(want, "different runs");
    write_run(0, 0);

    /* an unknown placeholder in the findings template */
    test_write_file(tmpl, "All right: {{a.accuracy_mean}}.\nNot: {{a.acuracy_mean}}.\n");
    snprintf(want, sizeof want, "%s:2:6: error: unknown placeholder '{{a.acuracy_mean}}'", tmpl);
    expect_failure(want, "did you mean '{{a.accuracy_mean}}'");
    test_write_file(tmpl, fixture_template);

    /* report: names that are no variant, or one listed twice */
    static const char *const bad_report[][2] = {
        { "report: {series: [zz]}\n", "no variant is named 'zz_...'; the variants are: a, b, c" },
        { "report: {confusion: [a, nope]}\n", "there is no variant 'nope'; the variants are: a, b, c" },
        { "report: {confusion: [b, b]}\n", "report.confusion: 'b' is listed twice" },
    };
    for (size_t i = 0; i < sizeof bad_report / sizeof bad_report[0]; i++) {
        snprintf(want, sizeof want, "%s%s", fixture_yaml, bad_report[i][0]);
        test_write_file(yaml, want);
        snprintf(want, sizeof want, "%s:", yaml); /* the file is named */
        expect_failure(want, bad_report[i][1]);
    }
    test_write_file(yaml, fixture_yaml);

    /* a report of the same name that another command wrote is not replaced */
    char md[800];
    snprintf(md, sizeof md, "%s/fake.md", out);
    test_write_file(md, "# Something else\n");
    snprintf(want, sizeof want, "%s: error: the file exists and was not written by", md);
    expect_failure(want, "rename the experiment");
    remove(md);
    assert_int_equal(report_experiment_ok(), 0);
}

/* report.versus: the findings set another experiment's base runs beside this
   one's, with the difference, its standard error and the keys that differ;
   that experiment without results is an error that says to run it. */
static void test_versus(void **state)
{
    char a[700], b[700], md_a[700];
    snprintf(a, sizeof a, "%s/experiments/solo_a.yaml", base);
    snprintf(b, sizeof b, "%s/experiments/solo_b.yaml", base);
    snprintf(md_a, sizeof md_a, "%s/experiments/solo_a.md", base);
    test_write_file(a, "name: solo_a\ndescription: d\nmodel: {name: resnet}\nseeds: [0, 4, 7]\n"
                       "report:\n  versus: solo_b\n");
    test_write_file(b, "name: solo_b\ndescription: d\nmodel: {name: cnn}\nseeds: [0, 4]\n");
    test_write_file(md_a, "{{versus.name}}: {{versus.accuracy_mean}} ± {{versus.accuracy_sd}} over {{versus.runs}}; "
                          "{{versus.difference}} {{versus.clear}}; {{versus.differences}}; seeds "
                          "{{versus.same_seeds}}; commit {{versus.same_commit}}; {{versus.env.cpu}}.\n");
    for (int k = 0; k < 3; k++)
        write_run_of(a, "solo_a", "", 0, k, (int[]){ 0, 4, 7 }[k], TRAIN_IMAGES, 0);
    char *err;
    assert_int_equal(report(&err, "experiment", a, "--results", root, "--out-dir", out), 1);
    if (!strstr(err, "report.versus 'solo_b': its results (above) are needed to compare; run it first"))
        fail_msg("wanted the missing comparison named, got:\n%s", err);
    free(err);
    for (int k = 0; k < 2; k++)
        write_run_of(b, "solo_b", "", 1, k, (int[]){ 0, 4 }[k], TRAIN_IMAGES, 0);
    assert_int_equal(report(&err, "experiment", a, "--results", root, "--out-dir", out), 0);
    free(err);
    char *md = read_report("solo_a.md");
    /* solo_a: variant a's fixture runs, 87.33 ± 3.06 over 3; solo_b: b's first two, 89 and 87 */
    double mean = 0, ss = 0;
    for (int k = 0; k < 3; k++)
        mean += 100 * fixture_accuracy(0, k) / 3;
    for (int k = 0; k < 3; k++)
        ss += pow(100 * fixture_accuracy(0, k) - mean, 2);
    const double se = sqrt(ss / 2 / 3 + 2.0 / 2); /* sd² / n of each: solo_b's sd is √2 */
    char line[1024];
    snprintf(line, sizeof line,
             "solo_b: 88.00 ± 1.41 over 2; %+.2f ± %.2f no; model.name: resnet (solo_a), cnn (solo_b); seeds no; "
             "commit yes; Test CPU.\n",
             mean - 88.0, se);
    expect(md, line);
    free(md);
}

/* The rotation pretext task: four classes (quarter turns), evaluated on the
   validation images, no misclassified list and so no gallery. */
static void test_pretext_report(void **state)
{
    char pyaml[700], dir[900], path[1000];
    snprintf(pyaml, sizeof pyaml, "%s/experiments/pre.yaml", base);
    test_write_file(pyaml, "name: pre\ndescription: A pretext run.\ntask: rotation\nmodel: {name: resnet}\n");
    snprintf(dir, sizeof dir, "%s/pre/seed0", root);
    shell("mkdir -p %s", dir);
    write_run_config(pyaml, "", 0, dir);
    static const char *const files[][2] = {
        { "summary.csv",
          "experiment,variant,seed,model,kernel,epochs,train_images,validation_images,test_images,"
          "test_accuracy,test_loss,weights_hash\npre,-,0,resnet,winograd,1,400,40,40,0.750000,0.6,"
          "00000000000000aa\n" },
        { "timing.csv", "epoch,seconds,images_per_second\n1,2.000,200.0\n" },
        { "epochs.csv",
          "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate\n1,1.2,0.5,0.6,0.75,0\n" },
        { "confusion.csv", "true,pred_0,pred_1,pred_2,pred_3\n0,9,1,0,0\n1,0,7,3,0\n2,0,0,8,2\n3,4,0,0,6\n" },
        { "misclassified.csv", "test_index,true,predicted\n" },
        { "environment.txt", "commit: abc123\n" },
        { "overrides.txt", "" },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        test_write_file(path, files[i][1]);
    }
    char *err;
    assert_int_equal(report(&err, "experiment", pyaml, "--results", root, "--out-dir", out), 0);
    free(err);
    char *md = read_report("pre.md");
    expect(md, "| base | 1 | 75.00 ± — | 0.6000 | 2.0 | 200 |");
    expect(md, "| variant | runs | pretext accuracy % | pretext loss |");
    expect(md, "40 validation images, 10 misclassified.");
    expect(md, "| true ↓ predicted → | 0° | 90° | 180° | 270° |\n|---|---:|---:|---:|---:|\n| 0° | 9 | 1 | 0 "
               "| 0 |\n");
    expect(md, "| 270° ↔ 0° | 270° → 0°: 4 | 0° → 270°: 0 | 4 | 40.0 % |");
    assert_null(strstr(md, "gallery"));
    assert_null(strstr(md, "T-shirt"));
    free(md);
}

/* ---- the index ------------------------------------------------------------------ */

static char ires[700], iout[700], iexp[700];

/* The index's experiment files (IEXP/NAME.yaml) and runs: cnn and resnet20 with
   index base, transfer with index all (its variants listed finetune_all first),
   augmentation without; each run's config.yaml with its augmentation. */
static void write_index_inputs(void)
{
    char path[1200], dir[1000];
    snprintf(ires, sizeof ires, "%s/index-results", base);
    snprintf(iout, sizeof iout, "%s/index-out", base);
    snprintf(iexp, sizeof iexp, "%s/index-experiments", base);
    shell("mkdir -p %s", iout);
    shell("mkdir -p %s", iexp);
    static const struct {
        const char *experiment, *variant, *yaml;
        int seed;
    } runs[] = {
        { "cnn", "", "augmentation: {rotation: 10, shift: 2, scale: [0.9, 1.1], flip: 0.5}\nreport: {index: base}\n",
          0 },
        { "cnn", "", NULL, 1 },
        { "resnet20", "", "augmentation: {rotation: 0, shift: 0, scale: [1, 1], flip: 0}\nreport: {index: base}\n",
          0 },
        { "transfer", "finetune_all",
          "augmentation: {rotation: 0, shift: 1, scale: [1, 1], flip: 0}\nvariants:\n  - name: finetune_all\n"
          "    set: {training.epochs: 5}\n  - name: scratch\n    set: {training.epochs: 4}\n"
          "report: {index: all}\n",
          0 },
        { "transfer", "scratch", NULL, 0 },
        { "augmentation", "none", "variants:\n  - name: none\n    set: {augmentation.flip: 0}\n", 0 },
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.yaml", iexp, runs[i].experiment);
        if (runs[i].yaml)
            write_text(path, "name: %s\ndescription: x\n%s", runs[i].experiment, runs[i].yaml);
        snprintf(dir, sizeof dir, "%s/%s%s%s/seed%d", ires, runs[i].experiment, runs[i].variant[0] ? "/" : "",
                 runs[i].variant, runs[i].seed);
        shell("mkdir -p %s", dir);
        write_run_config(path, runs[i].variant, runs[i].seed, dir);
        /* current runs (a summary, this build's numerics) but transfer's scratch, which predates both */
        if (strcmp(runs[i].variant, "scratch")) {
            char file[1100];
            snprintf(file, sizeof file, "%s/summary.csv", dir);
            test_write_file(file, "experiment\nx\n");
            snprintf(file, sizeof file, "%s/environment.txt", dir);
            write_text(file, "numerics: %d\n", RUN_NUMERICS);
        }
        /* the machine's load: the cnn's runs had it to themselves, resnet20's shared it, the transfer
           runs predate the record (no column) */
        char timing[1100];
        snprintf(timing, sizeof timing, "%s/timing.csv", dir);
        if (!strcmp(runs[i].experiment, "transfer"))
            test_write_file(timing, "epoch,seconds,images_per_second\n1,1.0,1.0\n");
        else
            write_text(timing, "epoch,seconds,images_per_second,other_cores\n1,1.0,1.0,0.01\n2,1.0,1.0,%s\n",
                       strcmp(runs[i].experiment, "resnet20") ? "0.02" : "0.80");
    }
    snprintf(path, sizeof path, "%s/summary.csv", ires);
    test_write_file(path, "experiment,variant,seed,model,kernel,epochs,train_images,test_accuracy,test_loss,"
                          "train_seconds,train_images_per_second,weights_hash,commit\n"
                          "cnn,-,0,cnn,winograd,15,55000,0.920000,0.25,600.0,1375.0,h,c\n"
                          "augmentation,none,0,cnn,winograd,8,6000,0.800000,0.5,60.0,800.0,h,c\n"
                          "transfer,scratch,0,resnet,im2col,4,1000,0.700000,0.9,30.0,10.0,h,c\n"
                          "transfer,finetune_all,0,resnet,im2col,5,1000,0.881000,0.4,45.0,10.0,h,c\n"
                          "cnn,-,1,cnn,winograd,15,55000,0.925000,0.24,660.0,1250.0,h,c\n"
                          "resnet20,-,0,resnet,winograd,15,55000,0.931000,0.2,1800.0,458.3,h,c\n");
    snprintf(path, sizeof path, "%s/cnn.md", iout);
    test_write_file(path,
                    "# Experiment `cnn`\n\n*Generated by something.*\n\nThe basic network, et al. (2016) "
                    "said.\nIt continues. More.\n\n## Findings\n");
    snprintf(path, sizeof path, "%s/kernels.md", iout);
    test_write_file(path,
                    "# Convolution kernels\n\n*Generated from `x.csv`, commit\n(2 cores) Not this. Nor "
                    "this.*\n\nprobador trains through one interface\n(`conv.h`). This report times them.\n");
    snprintf(path, sizeof path, "%s/README.md", iout);
    test_write_file(path, "# old index\n");
}

/* `report index --experiments IEXP ...`: its exit code, OUT/README.md in *md. */
static int render_index(char **md, char **err)
{
    char path[800];
    const int rc = report(err, "index", "--experiments", iexp, "--results", ires, "--out-dir", iout);
    snprintf(path, sizeof path, "%s/README.md", iout);
    *md = test_read_file(path);
    assert_non_null(*md);
    return rc;
}

/* The headline rows: the experiments with report.index in name order, transfer's
   arms in its file's order; augmentation (no index) left out. */
static void test_index(void **state)
{
    write_index_inputs();
    char *md, *err;
    assert_int_equal(render_index(&md, &err), 0);
    free(err);
    char line[1024];
    /* cnn: 92.0 and 92.5 → 92.25 ± 0.35, 630 s a run */
    snprintf(line, sizeof line,
             "| cnn | cnn | winograd | rotation ±10°, shift ±2 px, scale 0.9–1.1, flip 0.5 | "
             "92.25 ± %.2f (2 seeds) | 10.5 min | [cnn.md](cnn.md) |\n",
             sqrt(0.125));
    /* the time of a row with a run beside other work marked ‡, of one whose load is unknown † */
    const char *rows[4] = {
        strstr(md, line),
        strstr(md, "| resnet20 | resnet | winograd | none | 93.10 ± — (1 seed) | 30.0 min ‡ | not rendered yet |\n"),
        strstr(md, "| transfer (finetune_all) | resnet | im2col | shift ±1 px | 88.10 ± — (1 seed) | 45 s † | not "
                   "rendered yet |\n"),
        strstr(md, "| transfer (scratch) | resnet | im2col | shift ±1 px | 70.00 ± — (1 seed) § | 30 s † | not "
                   "rendered yet |\n"),
    };
    for (int i = 0; i < 4; i++)
        if (!rows[i] || (i && rows[i] < rows[i - 1]))
            fail_msg("headline row %d missing or out of order in\n%s", i, md);
    assert_null(strstr(md, "| augmentation ("));
    expect(md, "\n‡ At least one run of the row trained while other work held the cores (more than 0.25 of a core");
    expect(md, "\n† At least one run of the row predates the record of the machine's load");
    expect(md, "\n§ Stale: at least one run of the row no longer matches its experiment file or this build's "
               "arithmetic");
    const char *first_mark = strstr(md, " §");
    assert_non_null(first_mark);
    assert_null(strstr(first_mark + 1, " §")); /* the scratch row alone */
    expect(md, "`reports/quick/` holds the same reports from the quick profile");
    const char *k1 = strstr(md, "- [Experiment `cnn`](cnn.md): The basic network, et al. (2016) said.\n"),
               *k2 = strstr(md, "- [Convolution kernels](kernels.md): probador trains through one interface "
                                "(`conv.h`).\n");
    assert_non_null(k1);
    assert_non_null(k2);
    assert_true(k1 < k2);
    assert_null(strstr(md, "(README.md)"));
    free(md);
}

/* No experiment asks for the index; one asks for its base but has variants. */
static void test_index_without_headline(void **state)
{
    char path[800], *md, *err;
    write_index_inputs();
    static const char *const names[] = { "cnn", "resnet20", "transfer" };
    for (int i = 0; i < 3; i++) { /* drop every report: line */
        snprintf(path, sizeof path, "%s/%s.yaml", iexp, names[i]);
        char *text = test_read_file(path);
        *strstr(text, "report:") = '\0';
        test_write_file(path, text);
        free(text);
    }
    assert_int_equal(render_index(&md, &err), 0);
    expect(md, "No experiment file sets `report.index` (base or all), so none is a headline experiment.\n");
    assert_null(strstr(md, "| cnn |"));
    free(md), free(err);

    snprintf(path, sizeof path, "%s/augmentation.yaml", iexp);
    test_write_file(path, "name: augmentation\ndescription: x\nvariants:\n  - name: none\n"
                          "    set: {augmentation.flip: 0}\nreport: {index: base}\n");
    assert_int_equal(render_index(&md, &err), 1);
    snprintf(path, sizeof path, "%s/augmentation.yaml: error: report.index is base, but the experiment has "
             "variants", iexp);
    if (!strstr(err, path))
        fail_msg("expected '%s' in\n%s", path, err);
    free(md), free(err);
}

/* ---- report kernels ------------------------------------------------------------ */

/* A made-up benchmark: kernels im2col, winograd_f2, winograd on layers cnn.conv2
   (32→32 3×3, every target applies), small (16→16 3×3: only im2col / sgemm),
   thin (8→8 3×3: listed, none applies) and proj (1×1: not listed), every pass
   at 1 and 2 threads.  Forward at 2 threads: im2col at 90 % of sgemm on
   cnn.conv2, 75 % on small (below the 80 % target), 60 % on thin (too few
   channels to count); winograd_f2 1.25× and winograd 2× im2col's speed.  With
   `peers`, oneDNN's rows too (peer_rows). */
static void write_kernels_csv(const char *csv, bool peers);

/* The layers of the made-up benchmark. */
static const struct {
    const char *name;
    int c, k, r, stride;
    double im2col_gflops;
} fake_layers[] = { { "cnn.conv2", 32, 32, 3, 1, 90 },
                    { "small", 16, 16, 3, 1, 75 },
                    { "thin", 8, 8, 3, 1, 60 },
                    { "proj", 32, 64, 1, 2, 50 } };

/* oneDNN's rows of one layer, pass and thread count; probador's fastest kernel
   (winograd) takes 1 ms everywhere.  At 1 thread oneDNN alone takes 1.5 ms on
   cnn.conv2 (Winograd, its direct 2 ms), 0.5 on small (faster than probador;
   no Winograd), 1.2 on thin (whose Winograd row, faster still, failed
   verification and must be ignored) and 4 on proj; twice that at 2 threads.
   With reorders: 1 ms more (direct) or 1.5 more (Winograd). */
static int peer_rows(char *text, size_t len, int l, const char *pass, int threads)
{
    static const double direct_ms[] = { 2.0, 0.5, 1.2, 4.0 }, wino_ms[] = { 1.5, NAN, 0.1, NAN };
    const double ms[4] = { direct_ms[l] * threads, direct_ms[l] * threads + 1, wino_ms[l] * threads,
                           wino_ms[l] * threads + 1.5 };
    static const char *const names[4] = { "onednn_direct", "onednn_direct+reorder", "onednn_winograd",
                                          "onednn_winograd+reorder" };
    static const char *const impls[4] = { "jit:avx512_core", "jit:avx512_core", "jit_wino_4x3:avx512_core",
                                          "jit_wino_4x3:avx512_core" };
    int n = 0;
    for (int i = 0; i < 4; i++)
        if (!isnan(ms[i]))
            n += snprintf(text + n, len - (size_t)n,
                          "%s,%s,%s,onednn %s,8,%d,14,14,%d,%d,%d,%d,1,%d,%d,%.3f,50.0,100.0,%d.0,1e-07,"
                          "1e-06,0\n",
                          names[i], pass, fake_layers[l].name, impls[i], fake_layers[l].c, fake_layers[l].k,
                          fake_layers[l].r, fake_layers[l].r, fake_layers[l].stride, threads,
                          l != 2 || i < 2, ms[i], 200 * threads);
    return n;
}

static void write_kernels_csv_load(const char *csv, bool peers, bool load);
static void write_kernels_csv(const char *csv, bool peers)
{
    write_kernels_csv_load(csv, peers, false);
}

/* With load, the CSV as today's benchmark writes it: the other_cores column,
   0.05 everywhere but 0.80 on winograd's 2-thread forward row of cnn.conv2;
   each row's fastest and slowest run, 0.9 and 1.3 times its median; and in
   the sidecar the 1024³ sgemm at 1 and 2 threads, 150 and 290 GFLOP/s. */
static void write_kernels_csv_load(const char *csv, bool peers, bool load)
{
    static const char *const kernels[] = { "im2col", "winograd_f2", "winograd" }, *const passes[] = {
        "forward", "backward_data", "backward_weights"
    };
    static const double median_ms[] = { 2.0, 1.6, 1.0 }; /* per kernel */
    char text[32768];
    int n = snprintf(text, sizeof text,
                     "kernel,pass,layer,impl,n,c,h,w,k,r,s,stride,pad,threads,verified,median_ms,gflops,"
                     "sgemm_gflops,peak_gflops,max_rel_err,tolerance,workspace_bytes%s\n",
                     load ? ",other_cores,min_ms,max_ms" : "");
    for (int l = 0; l < 4; l++)
        for (int p = 0; p < 3; p++)
            for (int th = 1; th <= 2; th++) {
                for (int kk = 0; kk < 3; kk++) {
                    n += snprintf(text + n, sizeof text - (size_t)n,
                                  "%s,%s,%s,%s,8,%d,14,14,%d,%d,%d,%d,1,%d,1,%.1f,%.1f,100.0,%d.0,1e-07,1e-06,"
                                  "1048576",
                                  kernels[kk], passes[p], fake_layers[l].name, kernels[kk], fake_layers[l].c,
                                  fake_layers[l].k, fake_layers[l].r, fake_layers[l].r, fake_layers[l].stride,
                                  th, median_ms[kk], kk ? 120.0 : fake_layers[l].im2col_gflops, 200 * th);
                    const bool shared = kk == 2 && p == 0 && l == 0 && th == 2;
                    if (load)
                        n += snprintf(text + n, sizeof text - (size_t)n, ",%s,%.2f,%.2f", shared ? "0.80" : "0.05",
                                      0.9 * median_ms[kk], 1.3 * median_ms[kk]);
                    n += snprintf(text + n, sizeof text - (size_t)n, "\n");
                }
                if (peers)
                    n += peer_rows(text + n, sizeof text - (size_t)n, l, passes[p], th);
            }
    assert_true(n < (int)sizeof text);
    test_write_file(csv, text);
    snprintf(text, sizeof text, "%s.env", csv);
    char env[1024];
    snprintf(env, sizeof env, "commit: abc123\ndate: 2024-01-01\ncpu: Test CPU\ncores: 2\n"
                              "compiler: gcc test\nblis_version: 0.9.0\nblis_arch: skx\nkernel_isa: avx512\nreps: 3\n"
                              "max_seconds: 1\ncflags: -O3\nblis_build: static\nblis_sgemm_1thread: skx 100\n%s%s",
             peers ? "onednn_version: 2.6.3\n" : "", load ? "sgemm_square_t1: 150.0\nsgemm_square_t2: 290.0\n" : "");
    test_write_file(text, env);
}

/* The targets: their table (a column each, the layers they apply to) and the
   template's sentences with the table's thresholds. */
static void check_kernel_targets(const char *md)
{
    expect(md, "should reach at least 80 % of BLIS `sgemm`");
    expect(md, "should be at least 1.5× faster than im2col");
    expect(md, "| layer | shape | im2col / sgemm | winograd_f2 speed-up over im2col | winograd speed-up over "
               "im2col |\n|---|---|---:|---:|---:|\n| cnn.conv2 | 32→32 14×14 3×3 s1 | 90 % | 1.25× | 2.00× |\n"
               "| small | 16→16 14×14 3×3 s1 | 75 % | – | – |\n| thin | 8→8 14×14 3×3 s1 | – | – | – |\n\n");
    expect(md, "the lowest ratio is **75 %**\n  (small); the target does **not** hold.");
    expect(md, "**2.00×** (cnn.conv2); the target\n  holds. F(2×2) manages 1.25×\n  at worst (cnn.conv2).");
}

/* The comparison with oneDNN on the made-up benchmark with its rows (see
   peer_rows): oneDNN's time over probador's fastest, so that 1.5 ms against
   1 ms reads 1.50× (an inverted ratio would read 0.67×); a row that failed
   verification ignored; the geometric means and the worst layer; and the
   peer's rows nowhere in probador's own tables. */
static void test_kernel_report_against_onednn(void **state)
{
    char csv[700], md[700];
    snprintf(csv, sizeof csv, "%s/kernels-peers.csv", base);
    snprintf(md, sizeof md, "%s/kernels-peers.md", out);
    write_kernels_csv(csv, true);
    char *err;
    assert_int_equal(report(&err, "kernels", "--csv", csv, "--out", md), 0);
    free(err);
    char *text = read_report("kernels-peers.md");
    assert_null(strstr(text, "{{"));
    expect(text, "### forward\n\n| layer | shape | threads | probador's fastest | ms | "
                 "oneDNN's fastest, alone | ms | oneDNN / probador | with reorders |\n"
                 "|---|---|---:|---|---:|---|---:|---:|---:|\n"
                 "| cnn.conv2 | 32→32 14×14 3×3 s1 | 1 | winograd | 1.000 | "
                 "winograd (jit_wino_4x3:avx512_core) | 1.500 | 1.50× | 3.00× |\n"
                 "| cnn.conv2 | 32→32 14×14 3×3 s1 | 2 | winograd | 1.000 | "
                 "winograd (jit_wino_4x3:avx512_core) | 3.000 | 3.00× | 4.50× |\n"
                 "| small | 16→16 14×14 3×3 s1 | 1 | winograd | 1.000 | "
                 "direct (jit:avx512_core) | 0.500 | **0.50×** | 1.50× |\n");
    expect(text, "| thin | 8→8 14×14 3×3 s1 | 1 | winograd | 1.000 | "
                 "direct (jit:avx512_core) | 1.200 | 1.20× | 2.20× |\n");
    assert_null(strstr(text, "0.67×"));
    assert_null(strstr(text, "| 0.100 |")); /* thin's unverified Winograd row */
    expect(text, "Geometric mean of oneDNN / probador: 1.38× at 1 thread, 2.75× at 2 threads. "
                 "The worst layer is small at 1 thread, 0.50×: oneDNN is faster there.");
    expect(text, "oneDNN 2.6.3 without reorders is faster than probador's fastest kernel in 3 of the "
                 "cells above; the worst is forward small at 1 thread, 0.50×.");
    expect(text, "| layer | shape | im2col | winograd_f2 | winograd | BLIS sgemm, this GEMM | BLIS sgemm 1024³ | "
                 "FMA peak | fastest: ms (min–max) | fastest, real / peak |");
    /* a CSV from before the spread and the square sgemm were recorded */
    expect(text, "| 100.0 | – | 400.0 | 1.000 | 10 % |");
    expect(text, "the machine's practical GEMM ceiling\n(not measured by the benchmark run behind this report");
    expect(text, "| kernel | forward: max error (ran) | tolerance |");
    assert_null(strstr(text, "| onednn_"));
    check_kernel_targets(text);
    free(text);
}

/* The load each row records: a row timed beside other work is marked ‡ where
   it is shown, and the report says how many there were and the worst; a CSV
   without the column says the load is unknown. */
static void test_kernel_report_marks_shared_rows(void **state)
{
    char csv[700], md[700];
    snprintf(csv, sizeof csv, "%s/kernels-load.csv", base);
    snprintf(md, sizeof md, "%s/kernels-load.md", out);
    write_kernels_csv_load(csv, false, true);
    char *err;
    assert_int_equal(report(&err, "kernels", "--csv", csv, "--out", md), 0);
    free(err);
    char *text = read_report("kernels-load.md");
    expect(text, "1 of 72 rows were timed beside more than 0.25 cores of other work, even after waiting for a "
                 "quiet machine and timing them again; they are marked ‡ and say little about speed (the most: "
                 "0.80 cores, winograd forward cnn.conv2 at 2 threads).");
    expect(text, "| 120.0 | 120.0 ‡ |"); /* winograd_f2, then winograd on cnn.conv2, 2 threads */
    /* the references, the fastest kernel's spread and its real rate: winograd, 1 ms (0.9–1.3) at 120
       effective GFLOP/s, of which F(4×4) really does 36·4·4 products for 14×14 outputs instead of 9·196:
       39.2 GFLOP/s, 10 % of the 400 peak at 2 threads, 20 % of 200 at one */
    expect(text, "| 100.0 | 290.0 | 400.0 | 1.000 (0.900–1.300) | 10 % |");
    expect(text, "| 100.0 | 150.0 | 200.0 | 1.000 (0.900–1.300) | 20 % |");
    expect(text, "the machine's practical GEMM ceiling\n(150 GFLOP/s on one thread, 290 on 2)");
    free(text);
    write_kernels_csv(csv, false);
    assert_int_equal(report(&err, "kernels", "--csv", csv, "--out", md), 0);
    free(err);
    text = read_report("kernels-load.md");
    expect(text, "These rows predate the record of the machine's load");
    assert_null(strstr(text, "‡"));
    free(text);
}

/* ---- report kernels: the training step ------------------------------------------- */

/* DIR/kernels.csv (write_kernels_csv) and, unless train is NULL, DIR/train.csv
   with that text and DIR/train.csv.env; DIR/train_breakdown.csv when breakdown
   is not NULL.  Renders DIR/kernels.md and returns it (free it). */
static char *render_training(const char *dir, const char *train, const char *breakdown)
{
    char path[800], md[800];
    shell("rm -rf %s", dir);
    shell("mkdir -p %s", dir);
    snprintf(path, sizeof path, "%s/kernels.csv", dir);
    write_kernels_csv(path, false);
    if (train) {
        snprintf(path, sizeof path, "%s/train.csv", dir);
        test_write_file(path, train);
        snprintf(path, sizeof path, "%s/train.csv.env", dir);
        test_write_file(path, "batch: 128\npytorch: 9.9 (test build)\n");
    }
    if (breakdown) {
        snprintf(path, sizeof path, "%s/train_breakdown.csv", dir);
        test_write_file(path, breakdown);
    }
    snprintf(path, sizeof path, "%s/kernels.csv", dir);
    snprintf(md, sizeof md, "%s/kernels.md", dir);
    char *err;
    const int rc = report(&err, "kernels", "--csv", path, "--out", md);
    free(err);
    assert_int_equal(rc, 0);
    char *text = test_read_file(md);
    assert_non_null(text);
    assert_null(strstr(text, "{{"));
    return text;
}

/* A made-up train.csv: cnn and resnet20, kernels im2col and winograd and the
   peer, 2 threads; with its phase column (train and infer) or, as the CSVs
   before inference was timed, without it (training steps only). */
static void train_csv(char *buf, size_t len, bool with_phase, bool with_peer)
{
    static const struct {
        const char *model, *kernel, *phase;
        double ips;
    } rows[] = {
        { "cnn", "im2col", "train", 500 },       { "cnn", "winograd", "train", 1000 },
        { "cnn", "im2col", "infer", 2000 },      { "cnn", "winograd", "infer", 3000 },
        { "resnet20", "im2col", "train", 300 },  { "resnet20", "winograd", "train", 450 },
        { "resnet20", "im2col", "infer", 900 },  { "resnet20", "winograd", "infer", 1200 },
        { "cnn", "pytorch", "train", 400 },      { "cnn", "pytorch", "infer", 1000 },
        { "resnet20", "pytorch", "train", 300 }, { "resnet20", "pytorch", "infer", 800 },
    };
    int n = snprintf(buf, len, "name,iterations,real_time,cpu_time,time_unit,model,kernel,%sthreads,batch,median_ms,"
                               "min_ms,max_ms,images_per_second,mflop_per_image,gflops\n",
                     with_phase ? "phase," : "");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if ((!with_phase && strcmp(rows[i].phase, "train")) || (!with_peer && !strcmp(rows[i].kernel, "pytorch")))
            continue;
        const double ms = 128 / rows[i].ips * 1e3;
        n += snprintf(buf + n, len - (size_t)n, "%s/%s/threads:2,10,%.3f,%.3f,ms,%s,%s,%s%s2,128,%.3f,%.3f,%.3f,"
                                                "%.1f,38.19,100.0\n",
                      rows[i].model, rows[i].kernel, ms, 2 * ms, rows[i].model, rows[i].kernel,
                      with_phase ? rows[i].phase : "", with_phase ? "," : "", ms, ms, ms, rows[i].ips);
    }
}

/* A made-up breakdown: milliseconds per kind, steps of 100 ms.  winograd (the
   faster kernel) spends 75 % of cnn's step and 60 % of resnet20's in
   convolution; im2col's rows, which the report must not pick, 90 %. */
static void breakdown_csv(char *buf, size_t len)
{
    static const char *const kinds[] = { "conv_forward", "conv_backward_data", "conv_backward_weights",
                                         "batch_norm", "elementwise", "pooling", "dense", "loss", "optimiser",
                                         "data", "other", "step" };
    static const struct {
        const char *model, *kernel;
        double ms[12];
    } rows[] = {
        { "cnn", "im2col", { 30, 30, 30, 2, 2, 1, 1, 1, 1, 1, 1, 100 } },
        { "cnn", "winograd", { 30, 20, 25, 10, 5, 3, 2, 1, 2, 1, 1, 100 } },
        { "resnet20", "winograd", { 20, 20, 20, 20, 10, 1, 1, 1, 5, 1, 1, 100 } },
    };
    int n = snprintf(buf, len, "model,kernel,threads,batch,steps,kind,ms_per_step,share\n");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 12; k++)
            n += snprintf(buf + n, len - (size_t)n, "%s,%s,2,128,10,%s,%.4f,%.4f\n", rows[r].model, rows[r].kernel,
                          kinds[k], rows[r].ms[k], rows[r].ms[k] / 100);
}

/* The section from made-up CSVs: images/s beside PyTorch's, the ratio the right
   way up (probador's fastest over PyTorch's: 1000 / 400 = 2.50×, not 0.40×),
   the target on it, the breakdown of each model's fastest kernel and the
   target on the convolution's share. */
static void test_training_section(void **state)
{
    char dir[700], train[4096], breakdown[4096];
    snprintf(dir, sizeof dir, "%s/training", base);
    train_csv(train, sizeof train, true, true);
    breakdown_csv(breakdown, sizeof breakdown);
    char *md = render_training(dir, train, breakdown);
    expect(md, "| model | threads | im2col | winograd | PyTorch | best / PyTorch |\n|---|---:|---:|---:|---:|---:|\n"
               "| cnn | 2 | 500 | 1000 | 400 | 2.50× |\n| resnet20 | 2 | 300 | 450 | 300 | 1.50× |\n");
    expect(md, "| cnn | 2 | 2000 | 3000 | 1000 | 3.00× |\n| resnet20 | 2 | 900 | 1200 | 800 | 1.50× |\n");
    expect(md, "at 2 threads: cnn **2.50×**, resnet20 **1.50×**; the target does **not** hold.");
    expect(md, "PyTorch 9.9 (test build)");
    expect(md, "| kind | cnn (winograd): ms | share | resnet20 (winograd): ms | share |\n|---|---:|---:|---:|---:|\n"
               "| conv_forward | 30.00 | 30 % | 20.00 | 20 % |\n");
    expect(md, "| **convolution, three passes** | 75.00 | 75 % | 60.00 | 60 % |\n| step | 100.00 | 100 % | 100.00 | "
               "100 % |\n");
    expect(md, "takes cnn **75 %**, resnet20 **60 %** of the step; the target, at least 70 %, does **not** hold.");
    free(md);
}

/* The committed CSV's case: no phase column, no PyTorch rows, no breakdown,
   and no train.csv at all: the section says what was not measured yet. */
static void test_training_section_not_measured(void **state)
{
    char dir[700], train[4096];
    snprintf(dir, sizeof dir, "%s/training-old", base);
    train_csv(train, sizeof train, false, false);
    char *md = render_training(dir, train, NULL);
    expect(md, "| cnn | 2 | 500 | 1000 | – | – |\n");
    expect(md, "Not measured yet (the CSV has no `infer` rows)");
    expect(md, "PyTorch was not measured yet (the CSV has no `pytorch` rows)");
    expect(md, "The breakdown was not measured yet: rerun `make bench`, which writes `");
    free(md);
    md = render_training(dir, NULL, NULL);
    expect(md, "Not measured yet: `");
    expect(md, "/train.csv` does not exist; run `make bench`.");
    free(md);
}

/* ---- from another working directory ------------------------------------------ */

/* Both reports from a folder that holds no tools/: the renderers find their
   scripts and templates from the program, not the working directory. */
static void test_render_from_another_directory(void **state)
{
    char cwd[PATH_MAX], csv[700], md[700];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(csv, sizeof csv, "%s/kernels.csv", base);
    snprintf(md, sizeof md, "%s/kernels.md", out);
    write_kernels_csv(csv, false);
    assert_int_equal(chdir(base), 0);
    char *experiment[] = { "report", "experiment", yaml, "--results", root, "--out-dir", out, NULL };
    char *kernels[] = { "report", "kernels", "--csv", csv, "--out", md, NULL };
    const int rc_experiment = report_main(7, experiment), rc_kernels = report_main(6, kernels);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc_experiment, 0);
    assert_int_equal(rc_kernels, 0);
    char *text = read_report("kernels.md");
    assert_null(strstr(text, "{{"));
    check_kernel_targets(text);
    /* a benchmark without oneDNN's rows (as the committed one before they existed) still renders */
    expect(text, "## Against oneDNN");
    expect(text, "No oneDNN rows were measured in");
    free(text);
    static const char *const charts[] = { "forward", "backward_data", "backward_weights", "error", "workspace" };
    expect_charts("kernels_", charts, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_and_pairs),
        cmocka_unit_test(test_experiment_report),
        cmocka_unit_test(test_pytorch_peer_section),
        cmocka_unit_test(test_curves_split),
        cmocka_unit_test(test_series_rules),
        cmocka_unit_test(test_report_section_checks),
        cmocka_unit_test(test_series_not_inferred),
        cmocka_unit_test(test_series_report),
        cmocka_unit_test(test_errors_name_the_path_and_the_fix),
        cmocka_unit_test(test_versus),
        cmocka_unit_test(test_pretext_report),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_index_without_headline),
        cmocka_unit_test(test_kernel_report_against_onednn),
        cmocka_unit_test(test_kernel_report_marks_shared_rows),
        cmocka_unit_test(test_render_from_another_directory),
        cmocka_unit_test(test_training_section),
        cmocka_unit_test(test_training_section_not_measured),
    };
    return cmocka_run_group_tests_name("report", tests, setup, teardown);
}
