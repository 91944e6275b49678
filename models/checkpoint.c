/* models/checkpoint.c — save and validate training snapshots (see the header). */
#include "models/checkpoint.h"

#include "data/alloc.h"
#include "data/regular_file.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char magic[8] = { 'P', 'R', 'O', 'B', 'C', 'K', 'P', 'T' };

/* Version 1's fixed sizes: the header (put_header), one tensor-table entry,
   and the longest history a reader accepts (1000 epochs of CSV rows need
   about 60 KiB). */
enum {
    HEADER_BYTES = 32 + 7 * 4 + 4 + 8 + 8 + 4,
    ENTRY_BYTES = 32 + 8 + 8,
    HISTORY_MAX = 1 << 20,
    MIN_BYTES = 8 + 4 + 4 + HEADER_BYTES + 4 /* magic, version, header size, header, CRC */
};

/* A growing byte buffer: the file is assembled in memory, then written once.
   Its sizes come from the model, never from a file, so running out of memory
   ends the process (data/alloc.h). */
typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = checked_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_name(buf *b, const char *s)
{
    char name[32] = { 0 };
    snprintf(name, sizeof name, "%s", s);
    put(b, name, sizeof name);
}

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    int n = snprintf(err, errlen, "%s: error: ", path);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void put_header(buf *b, const model *m, const checkpoint_info *info, uint32_t history_bytes)
{
    put_name(b, m->desc.name);
    put_u32(b, (uint32_t)m->desc.blocks);
    put_u32(b, (uint32_t)m->desc.width);
    put(b, &m->desc.dropout, 4);
    put_u32(b, (uint32_t)m->desc.classes);
    put_u32(b, (uint32_t)m->desc.input.c), put_u32(b, (uint32_t)m->desc.input.h), put_u32(b, (uint32_t)m->desc.input.w);
    put_u32(b, info->epochs);
    put_u64(b, info->steps);
    put_u64(b, info->seed);
    put_u32(b, history_bytes);
}

static void put_table(buf *b, const model *m)
{
    uint32_t count = 0;
    for (int i = 0; i < m->num_layers; i++)
        count += m->layers[i].param_count || m->layers[i].state_count;
    put_u32(b, count);
    for (int i = 0; i < m->num_layers; i++) {
        const layer *l = &m->layers[i];
        if (!l->param_count && !l->state_count)
            continue;
        put_name(b, l->spec.name);
        put_u64(b, l->param_count);
        put_u64(b, l->state_count);
    }
}

int checkpoint_save(const char *path, const model *m, const checkpoint_info *info, char *err, size_t errlen)
{
    const uint32_t history_bytes = info->history ? (uint32_t)strlen(info->history) : 0;
    buf header = { 0 }, b = { 0 };
    put_header(&header, m, info, history_bytes);
    put(&b, magic, sizeof magic);
    put_u32(&b, info->ema ? 2 : 1);
    put_u32(&b, (uint32_t)header.len);
    put(&b, header.p, header.len);
    put_table(&b, m);
    put(&b, m->params, m->num_params * sizeof(float));
    put(&b, m->state, m->num_state * sizeof(float));
    put(&b, m->adam_m, m->num_params * sizeof(float));
    put(&b, m->adam_v, m->num_params * sizeof(float));
    if (info->ema)
        put(&b, info->ema, (m->num_params + m->num_state) * sizeof(float));
    if (history_bytes)
        put(&b, info->history, history_bytes);
    put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.len));
    free(header.p);

    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f)
        rc = fail(err, errlen, tmp, "cannot write checkpoint: %s", strerror(errno));
    else {
        bool ok = fwrite(b.p, 1, b.len, f) == b.len && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            rc = fail(err, errlen, path, "cannot write checkpoint: %s (disk full?)", strerror(errno));
            remove(tmp);
        }
    }
    free(b.p);
    return rc;
}

/* Sequential reader over the loaded file with bounds checks. */
typedef struct reader {
    const unsigned char *p;
    size_t len, at;
} reader;
static bool get(reader *r, void *dst, size_t n)
{
    if (r->len - r->at < n)
        return false;
    memcpy(dst, r->p + r->at, n);
    r->at += n;
    return true;
}

/* The CRC-32 in the last four bytes (memcpy: the file offset is unaligned). */
static uint32_t stored_crc(const unsigned char *data, size_t len)
{
    uint32_t crc;
    memcpy(&crc, data + len - 4, 4);
    return crc;
}

/* err for a checkpoint regular_open or regular_read could not give. */
static int read_failed(const char *path, const char *why, char *err, size_t errlen)
{
    return fail(err, errlen, path, "cannot read checkpoint: %s; %s", why,
                errno == ENOENT ? "run the experiment that produces it first" : "give the checkpoint.bin a run wrote");
}

int checkpoint_file_crc(const char *path, uint32_t *crc, char *err, size_t errlen)
{
    size_t size;
    char why[160];
    const int fd = regular_open(path, &size, why, sizeof why);
    if (fd < 0)
        return read_failed(path, why, err, errlen);
    unsigned char b[4];
    const ssize_t got = size >= 4 ? pread(fd, b, 4, (off_t)size - 4) : 0;
    const int read_errno = errno;
    close(fd);
    if (got < 0)
        return fail(err, errlen, path, "cannot read checkpoint: %s", strerror(read_errno));
    if (got != 4)
        return fail(err, errlen, path, "cannot read checkpoint: %zu bytes, too short for one", size);
    *crc = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

/* The largest file a checkpoint for m can be: everything its own checkpoint
   holds, twice (a fine-tuning source may have another head), plus the
   longest history.  Anything larger is refused before it is read. */
static size_t max_file_bytes(const model *m)
{
    const size_t floats = 4 * m->num_params + 2 * m->num_state; /* with an average */
    return 2 * (sizeof magic + 8 + HEADER_BYTES + 4 + (size_t)m->num_layers * ENTRY_BYTES + floats * sizeof(float)) +
           HISTORY_MAX + 4;
}

/* Reads the whole file and checks magic, version and CRC.  On success *data
   (free it) holds the file, r the reader positioned at the header, its length
   excluding the CRC, and *header_bytes the header's size. */
static int read_verified(const char *path, const model *m, unsigned char **data, reader *r, uint32_t *header_bytes,
                         uint32_t *version, char *err, size_t errlen)
{
    const size_t cap = max_file_bytes(m);
    size_t size;
    char why[160];
    *data = (unsigned char *)regular_read(path, cap, &size, why, sizeof why);
    if (!*data)
        return size > cap ? fail(err, errlen, path,
                                 "checkpoint of %zu bytes, larger than the %zu bytes one of model '%s' can need; it "
                                 "is not a checkpoint of this experiment's model",
                                 size, cap, m->desc.name)
                          : read_failed(path, why, err, errlen);
    *r = (reader){ *data, size, 0 };
    char got_magic[8];
    int rc = -1;
    if (!get(r, got_magic, 8) || memcmp(got_magic, magic, 8) != 0)
        fail(err, errlen, path, "not a probador checkpoint (bad magic; expected \"PROBCKPT\")");
    else if (!get(r, version, 4) || !get(r, header_bytes, 4))
        fail(err, errlen, path, "truncated checkpoint (%zu bytes)", size);
    else if (*version > CHECKPOINT_VERSION)
        fail(err, errlen, path, "checkpoint version %u is newer than this probador reads (%d); rebuild from a newer commit",
             *version, CHECKPOINT_VERSION);
    else if (*version < 1)
        fail(err, errlen, path, "bad checkpoint version %u", *version);
    else if (size < MIN_BYTES) /* the header would overlap the CRC */
        fail(err, errlen, path, "truncated checkpoint (%zu bytes, expected at least %d)", size, MIN_BYTES);
    else if ((uint32_t)crc32(0L, *data, (uInt)(r->len - 4)) != stored_crc(*data, r->len))
        fail(err, errlen, path, "checksum mismatch: the checkpoint is truncated or corrupt; rerun the experiment");
    else {
        r->len -= 4;
        rc = 0;
    }
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

/* The header's fields, as put_header writes them. */
typedef struct header {
    char name[32];
    uint32_t blocks, width, classes, c, h, w;
    float dropout;
    checkpoint_info info; /* history not read */
    uint32_t history_bytes;
    bool ema;             /* version 2: the data holds the weights' moving average */
} header;

/* Reads the header at r (advanced past it): exactly HEADER_BYTES long. */
static int read_header(const char *path, reader *r, uint32_t header_bytes, header *h, char *err, size_t errlen)
{
    if (header_bytes != HEADER_BYTES)
        return fail(err, errlen, path,
                    "checkpoint header of %u bytes, expected %d; the file was not written by probador or is damaged",
                    header_bytes, HEADER_BYTES);
    memset(h, 0, sizeof *h);
    if (!get(r, h->name, 32) || !get(r, &h->blocks, 4) || !get(r, &h->width, 4) || !get(r, &h->dropout, 4) ||
        !get(r, &h->classes, 4) || !get(r, &h->c, 4) || !get(r, &h->h, 4) || !get(r, &h->w, 4) ||
        !get(r, &h->info.epochs, 4) || !get(r, &h->info.steps, 8) || !get(r, &h->info.seed, 8) ||
        !get(r, &h->history_bytes, 4))
        return fail(err, errlen, path, "truncated checkpoint header");
    /* the loader allocates this much: cap it before anything trusts it */
    if (h->history_bytes > HISTORY_MAX)
        return fail(err, errlen, path, "checkpoint history of %u bytes, expected at most %d; the file is damaged",
                    h->history_bytes, HISTORY_MAX);
    h->name[31] = '\0';
    return 0;
}

/* What both loaders begin with: read_verified, then read_header.  On success
   *data (free it) holds the file and r is positioned after the header; *crc,
   unless crc is NULL, is set to the file's CRC-32 once that is verified. */
static int read_checkpoint_header(const char *path, const model *m, unsigned char **data, reader *r, header *h,
                                  uint32_t *crc, char *err, size_t errlen)
{
    uint32_t header_bytes = 0, version = 0;
    if (read_verified(path, m, data, r, &header_bytes, &version, err, errlen))
        return -1;
    if (crc)
        *crc = stored_crc(*data, r->len + 4);
    if (read_header(path, r, header_bytes, h, err, errlen)) {
        free(*data);
        *data = NULL;
        return -1;
    }
    h->ema = version == 2;
    return 0;
}

/* Refuses `count` floats at p holding a NaN or an infinity, naming `what`. */
static int check_finite(const char *path, const unsigned char *p, size_t count, const char *what, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < count; i++) {
        float v;
        memcpy(&v, p + i * sizeof v, sizeof v);
        if (!isfinite(v))
            return fail(err, errlen, path,
                        "%s value %zu is %g, not finite: the run that wrote it diverged, or the file was "
                        "crafted; rerun the experiment",
                        what, i, (double)v);
    }
    return 0;
}

/* The full loader's model check: the header must describe exactly m. */
static int check_same_model(const char *path, const header *h, const model *m, char *err, size_t errlen)
{
    const model_desc *d = &m->desc;
    if (strcmp(h->name, d->name) != 0 || (int)h->blocks != d->blocks || (int)h->width != d->width ||
        h->dropout != d->dropout || (int)h->classes != d->classes || (int)h->c != d->input.c ||
        (int)h->h != d->input.h || (int)h->w != d->input.w)
        return fail(err, errlen, path,
                    "checkpoint holds model '%s' (blocks %u, width %u, dropout %g, %u classes, input %ux%ux%u), but "
                    "the experiment builds '%s' (blocks %d, width %d, dropout %g, %d classes, input %dx%dx%d)",
                    h->name, h->blocks, h->width, h->dropout, h->classes, h->c, h->h, h->w, d->name, d->blocks,
                    d->width, d->dropout, d->classes, d->input.c, d->input.h, d->input.w);
    return 0;
}

/* The tensor table at r (advanced past it) must be, byte for byte, the one
   m's own checkpoint holds. */
static int check_same_table(const char *path, reader *r, const model *m, char *err, size_t errlen)
{
    buf expect = { 0 };
    put_table(&expect, m);
    const bool same_table = r->len - r->at >= expect.len && memcmp(expect.p, r->p + r->at, expect.len) == 0;
    r->at += expect.len;
    free(expect.p);
    if (!same_table)
        return fail(err, errlen, path, "tensor table differs from the model's (a layer's name or size changed)");
    return 0;
}

/* The data at r: exactly the size m's own checkpoint has (every size comes
   from the model, and history_bytes was capped by read_header), and no value
   that is not finite. */
static int check_model_data(const char *path, const reader *r, const model *m, const header *h, char *err,
                            size_t errlen)
{
    const size_t np = m->num_params * sizeof(float), ns = m->num_state * sizeof(float);
    const size_t want = 3 * np + ns + (h->ema ? np + ns : 0) + h->history_bytes;
    if (r->len - r->at != want)
        return fail(err, errlen, path, "data size %zu, expected %zu for this model", r->len - r->at, want);
    const unsigned char *p = r->p + r->at;
    if (check_finite(path, p, m->num_params, "parameter", err, errlen) ||
        check_finite(path, p + np, m->num_state, "batch-norm statistic", err, errlen) ||
        check_finite(path, p + np + ns, 2 * m->num_params, "Adam moment", err, errlen) ||
        (h->ema && check_finite(path, p + 3 * np + ns, m->num_params + m->num_state, "moving-average", err, errlen)))
        return -1;
    return 0;
}

/* The file holds a moving average exactly when the run keeps one. */
static int check_same_ema(const char *path, const header *h, const float *ema, char *err, size_t errlen)
{
    if (h->ema && !ema)
        return fail(err, errlen, path, "the checkpoint holds a moving average of the weights, which this run does not "
                                       "keep (training.ema_decay 0); resume with the configuration that wrote it");
    if (!h->ema && ema)
        return fail(err, errlen, path, "the checkpoint holds no moving average of the weights, which this run keeps "
                                       "(training.ema_decay); resume with the configuration that wrote it");
    return 0;
}

/* Copies the data at p (checked by check_model_data) into info and the parts
   of m asked for. */
static void restore_parts(const unsigned char *p, const header *h, model *m, int parts, float *ema,
                          checkpoint_info *info)
{
    const size_t np = m->num_params * sizeof(float), ns = m->num_state * sizeof(float);
    const size_t ema_bytes = h->ema ? np + ns : 0;
    info->history = checked_malloc((size_t)h->history_bytes + 1);
    memcpy(info->history, p + 3 * np + ns + ema_bytes, h->history_bytes);
    info->history[h->history_bytes] = '\0';
    info->epochs = h->info.epochs, info->steps = h->info.steps, info->seed = h->info.seed;
    if (parts & CKPT_WEIGHTS) {
        memcpy(m->params, p, np);
        memcpy(m->state, p + np, ns);
    }
    if (parts & CKPT_OPTIMISER) {
        memcpy(m->adam_m, p + np + ns, np);
        memcpy(m->adam_v, p + 2 * np + ns, np);
        if (ema)
            memcpy(ema, p + 3 * np + ns, ema_bytes);
    }
}

int checkpoint_load(const char *path, model *m, int parts, float *ema, checkpoint_info *info, char *err,
                    size_t errlen)
{
    memset(info, 0, sizeof *info);
    unsigned char *data;
    reader r;
    header h;
    if (read_checkpoint_header(path, m, &data, &r, &h, NULL, err, errlen))
        return -1;
    const bool ok = !check_same_model(path, &h, m, err, errlen) && !check_same_table(path, &r, m, err, errlen) &&
                    !check_model_data(path, &r, m, &h, err, errlen) &&
                    !(parts & CKPT_OPTIMISER && check_same_ema(path, &h, ema, err, errlen));
    if (ok)
        restore_parts(data + r.at, &h, m, parts, ema, info);
    free(data);
    return ok ? 0 : -1;
}

/* ---- fine-tuning: the trunk of another run's model --------------------------- */

/* The last layer with parameters: the classifier head that fine-tuning replaces. */
int checkpoint_head_layer(const model *m)
{
    for (int i = m->num_layers - 1; i >= 0; i--)
        if (m->layers[i].param_count)
            return i;
    return -1;
}

/* The trunk loader's model check: everything but the number of classes must agree. */
static int check_same_trunk(const char *path, const header *h, const model *m, char *err, size_t errlen)
{
    const model_desc *d = &m->desc;
    if (strcmp(h->name, d->name) != 0 || (int)h->blocks != d->blocks || (int)h->width != d->width ||
        (int)h->c != d->input.c || (int)h->h != d->input.h || (int)h->w != d->input.w)
        return fail(err, errlen, path,
                    "cannot initialise from this checkpoint: it holds '%s' (blocks %u, width %u, input %ux%ux%u) but "
                    "the experiment builds '%s' (blocks %d, width %d, input %dx%dx%d); pretrain the same architecture",
                    h->name, h->blocks, h->width, h->c, h->h, h->w, d->name, d->blocks, d->width, d->input.c,
                    d->input.h, d->input.w);
    return 0;
}

/* One entry of the file's tensor table, with where its values start among
   the file's parameters and among its statistics (in floats). */
typedef struct table_entry {
    char name[32];
    uint64_t params, state, param_at, state_at;
} table_entry;

/* The file's tensor table as the trunk loader reads it (free entries). */
typedef struct tensor_table {
    table_entry *entries;
    uint32_t count;
    uint64_t total_params, total_state;
} tensor_table;

/* Reads the table's entry count at r (advanced past it).  It comes from the
   file, so it is checked against the bytes left and the model's layers before
   anything is allocated for it. */
static int read_table_count(const char *path, reader *r, const model *m, uint32_t *count, char *err, size_t errlen)
{
    if (!get(r, count, 4) || *count > (r->len - r->at) / ENTRY_BYTES)
        return fail(err, errlen, path, "truncated tensor table");
    if (*count > (uint32_t)m->num_layers)
        return fail(err, errlen, path,
                    "tensor table of %u entries, but the model has %d layers; pretrain the same architecture", *count,
                    m->num_layers);
    return 0;
}

/* Reads the tensor table at r (advanced past it) into t: every count and size
   checked against what the file holds before it is used, so no sum can wrap
   (each stays below the file's size). */
static int read_tensor_table(const char *path, reader *r, const model *m, tensor_table *t, char *err, size_t errlen)
{
    if (read_table_count(path, r, m, &t->count, err, errlen))
        return -1;
    t->entries = checked_calloc(t->count ? t->count : 1, sizeof *t->entries);
    const size_t data_floats = (r->len - r->at - (size_t)t->count * ENTRY_BYTES) / sizeof(float);
    for (uint32_t i = 0; i < t->count; i++) {
        table_entry *e = &t->entries[i];
        get(r, e->name, 32), get(r, &e->params, 8), get(r, &e->state, 8);
        e->name[31] = '\0';
        const uint64_t left = data_floats - t->total_params - t->total_state;
        if (e->params > left || e->state > left - e->params)
            return fail(err, errlen, path,
                        "tensor table: layer '%s' claims %llu parameters and %llu statistics, more than the %llu "
                        "values left in the file; the file is damaged or crafted",
                        e->name, (unsigned long long)e->params, (unsigned long long)e->state,
                        (unsigned long long)left);
        e->param_at = t->total_params, e->state_at = t->total_state;
        t->total_params += e->params, t->total_state += e->state;
    }
    return 0;
}

/* The data at r: parameters, statistics, two Adam moments, (version 2) the
   moving average, the history, exactly (no wrap: total_params + total_state
   <= data_floats, a capped file size over 4). */
static int check_table_data_size(const char *path, const reader *r, const tensor_table *t, const header *h,
                                 char *err, size_t errlen)
{
    const uint64_t floats = 3 * t->total_params + t->total_state + (h->ema ? t->total_params + t->total_state : 0);
    const size_t want = (size_t)floats * sizeof(float) + h->history_bytes;
    if (r->len - r->at != want)
        return fail(err, errlen, path, "tensor table: data size %zu, expected %zu for the tensors it lists",
                    r->len - r->at, want);
    return 0;
}

/* The first entry named `name`, or NULL. */
static const table_entry *find_entry(const tensor_table *t, const char *name)
{
    for (uint32_t i = 0; i < t->count; i++)
        if (strcmp(t->entries[i].name, name) == 0)
            return &t->entries[i];
    return NULL;
}

/* Layer l's entry e (NULL: the file has none) must hold as many values as l. */
static int check_trunk_layer(const char *path, const layer *l, const table_entry *e, char *err, size_t errlen)
{
    if (!e)
        return fail(err, errlen, path, "the checkpoint has no layer '%s'; pretrain the same architecture",
                    l->spec.name);
    if (e->params != l->param_count || e->state != l->state_count)
        return fail(err, errlen, path,
                    "layer '%s': the checkpoint has %llu parameters and %llu statistics, the experiment's model "
                    "%zu and %zu; pretrain the same architecture",
                    l->spec.name, (unsigned long long)e->params, (unsigned long long)e->state, l->param_count,
                    l->state_count);
    return 0;
}

/* Copies every layer's parameters and statistics but the head's from the
   file's data at p (laid out as t says; a version-2 file's moving average,
   the model that run evaluated) into m, layer by layer; a layer the file
   lacks or holds differently, or a value that is not finite, stops it
   (layers before it are already copied). */
static int copy_trunk(const char *path, const unsigned char *p, const tensor_table *t, const header *h, model *m,
                      char *err, size_t errlen)
{
    const size_t ema_at = h->ema ? (size_t)(3 * t->total_params + t->total_state) * sizeof(float) : 0;
    const unsigned char *pbytes = p + ema_at, *sbytes = pbytes + t->total_params * sizeof(float);
    const int head = checkpoint_head_layer(m);
    for (int li = 0; li < m->num_layers; li++) {
        const layer *l = &m->layers[li];
        if (li == head || (!l->param_count && !l->state_count))
            continue;
        const table_entry *e = find_entry(t, l->spec.name);
        if (check_trunk_layer(path, l, e, err, errlen))
            return -1;
        const unsigned char *lp = pbytes + e->param_at * sizeof(float), *ls = sbytes + e->state_at * sizeof(float);
        if (check_finite(path, lp, l->param_count, "parameter", err, errlen) ||
            check_finite(path, ls, l->state_count, "batch-norm statistic", err, errlen))
            return -1;
        memcpy(m->params + l->param_off, lp, l->param_count * sizeof(float));
        memcpy(m->state + l->state_off, ls, l->state_count * sizeof(float));
    }
    return 0;
}

int checkpoint_load_trunk(const char *path, model *m, uint32_t *crc, char *err, size_t errlen)
{
    unsigned char *data;
    reader r;
    header h;
    if (read_checkpoint_header(path, m, &data, &r, &h, crc, err, errlen))
        return -1;
    tensor_table t = { 0 };
    const bool ok = !check_same_trunk(path, &h, m, err, errlen) && !read_tensor_table(path, &r, m, &t, err, errlen) &&
                    !check_table_data_size(path, &r, &t, &h, err, errlen) &&
                    !copy_trunk(path, data + r.at, &t, &h, m, err, errlen);
    free(t.entries);
    free(data);
    return ok ? 0 : -1;
}
