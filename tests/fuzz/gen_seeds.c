/* tests/fuzz/gen_seeds.c — writes the seed corpora tests/fuzz/corpus/NAME/ from
 * real inputs (make fuzz-seeds; run from the repository root):
 *   idx/         tiny gzip IDX files (labels, images), written with zlib, and
 *                the same plain (for the harness's gzip-it-yourself mode)
 *   config/      each experiments/NAME.yaml, and a few with overrides appended
 *   checkpoint/  checkpoints saved by checkpoint_save from the harness's model
 *   csv/         the first lines of the suite's own result CSVs
 * Each seed starts with the harness's control byte where it has one (see the
 * harness files).  The output is deterministic: rerunning rewrites the same bytes. */
#include "data/idx.h"
#include "models/checkpoint.h"
#include "tests/fuzz/fuzz_common.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { CSV_LINES = 12 };

static const char *out_root;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "gen_seeds: error: %s: %s\n", what, path);
    exit(1);
}

/* The whole file (free it); *len its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot read", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        die("cannot read", path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* OUT/harness/name := [control byte] a[0..alen) b[0..blen) */
static void seed(const char *harness, const char *name, int control, const void *a, size_t alen, const void *b,
                 size_t blen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_root, harness);
    mkdir(out_root, 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", out_root, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        die("cannot write", path);
    if (control >= 0)
        fputc(control, f);
    fwrite(a, 1, alen, f);
    if (blen)
        fwrite(b, 1, blen, f);
    if (fclose(f) != 0)
        die("cannot write", path);
    printf("%s\n", path);
}

/* An IDX file (big-endian magic and sizes, then the bytes) twice: gzipped as
   idx_read reads it, and plain with control bit 1 (the harness gzips it). */
static void idx_seed(const char *name, int images, uint32_t count, uint32_t rows, uint32_t cols)
{
    const uint32_t hdr[4] = { __builtin_bswap32(idx_magic(images ? IDX_IMAGES : IDX_LABELS)),
                              __builtin_bswap32(count), __builtin_bswap32(rows), __builtin_bswap32(cols) };
    const size_t hdr_len = images ? 16 : 8, n = (size_t)count * rows * cols;
    unsigned char *idx = malloc(hdr_len + n);
    if (!idx)
        die("out of memory", name);
    memcpy(idx, hdr, hdr_len);
    for (size_t i = 0; i < n; i++)
        idx[hdr_len + i] = images ? (unsigned char)(i * 37 % 256) : (unsigned char)(i % 10);
    const char *tmp = "build/fuzz/seed.idx.gz";
    gzFile gz = gzopen(tmp, "wb9");
    if (!gz || gzwrite(gz, idx, (unsigned)(hdr_len + n)) != (int)(hdr_len + n) || gzclose(gz) != Z_OK)
        die("cannot write", tmp);
    size_t len;
    unsigned char *p = slurp(tmp, &len);
    seed("idx", name, images, p, len, NULL, 0);
    char plain[256];
    snprintf(plain, sizeof plain, "%s-plain", name);
    seed("idx", plain, images | 2, idx, hdr_len + n, NULL, 0);
    free(p);
    free(idx);
    unlink(tmp);
}

static void checkpoint_seeds(void)
{
    const char *tmp = "build/fuzz/seed.ckpt";
    char err[512];
    checkpoint_info with = { 2, 10, 42, "epoch,loss\n1,0.5\n2,0.4\n" }, without = { 0, 0, 7, NULL };
    const struct {
        const char *name;
        int control;
        checkpoint_info *info;
    } seeds[] = {
        { "resume", 0, &with },
        { "resume-no-history", 0, &without },
        { "resume-crc-as-is", 2, &with },
        { "trunk", 1, &with },
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        if (checkpoint_save(tmp, fuzz_checkpoint_model(), seeds[i].info, err, sizeof err))
            die(err, tmp);
        size_t len;
        unsigned char *p = slurp(tmp, &len);
        seed("checkpoint", seeds[i].name, seeds[i].control, p, len, NULL, 0);
        free(p);
    }
    unlink(tmp);
}

/* Each experiment file, then some with overrides after NUL bytes. */
static void config_seeds(void)
{
    static const struct {
        const char *yaml, *overrides;
        size_t len;
    } with[] = {
#define WITH(yaml, o) { yaml, o, sizeof o - 1 }
        WITH("cnn", "\0training.epochs=2\0seed=7"),
        WITH("augmentation", "\0augmentation.scale=[0.9, 1.1]\0kernel=winograd"),
        WITH("transfer", "\0init.from=pretrain\0init.freeze_epochs=1"),
        WITH("resnet20", "\0model.blocks=1\0data.per_class=20\0training.batch=32\0training.schedule=cosine"),
#undef WITH
    };
    glob_t g;
    if (glob("experiments/*.yaml", 0, NULL, &g) != 0)
        die("no experiment files (run from the repository root)", "experiments/*.yaml");
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len;
        unsigned char *p = slurp(g.gl_pathv[i], &len);
        seed("config", strrchr(g.gl_pathv[i], '/') + 1, -1, p, len, NULL, 0);
        free(p);
    }
    globfree(&g);
    for (size_t i = 0; i < sizeof with / sizeof with[0]; i++) {
        char path[256], name[256];
        snprintf(path, sizeof path, "experiments/%s.yaml", with[i].yaml);
        snprintf(name, sizeof name, "%s-overrides", with[i].yaml);
        size_t len;
        unsigned char *p = slurp(path, &len);
        seed("config", name, -1, p, len, with[i].overrides, with[i].len);
        free(p);
    }
}

/* The first CSV_LINES lines of a result CSV. */
static void csv_seed(const char *name, const char *path)
{
    size_t len, keep = 0;
    unsigned char *p = slurp(path, &len);
    for (int lines = 0; keep < len && lines < CSV_LINES; keep++)
        lines += p[keep] == '\n';
    seed("csv", name, -1, p, keep, NULL, 0);
    free(p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR   (from the repository root; make fuzz-seeds)\n", argv[0]);
        return 2;
    }
    out_root = argv[1];
    mkdir("build", 0777);
    mkdir("build/fuzz", 0777);
    idx_seed("labels", 0, 5, 1, 1);
    idx_seed("images-3x2", 1, 2, 3, 2);
    idx_seed("images-28x28", 1, 1, 28, 28);
    checkpoint_seeds();
    config_seeds();
    csv_seed("run-epochs.csv", "reports/results/resnet20/seed1/epochs.csv");
    csv_seed("run-per_class.csv", "reports/results/resnet20/seed1/per_class.csv");
    csv_seed("run-summary.csv", "reports/results/resnet20/seed1/summary.csv");
    csv_seed("run-confusion.csv", "reports/results/resnet20/seed1/confusion.csv");
    csv_seed("summary.csv", "reports/results/summary.csv");
    csv_seed("kernels.csv", "reports/data/kernels.csv");
    return 0;
}
