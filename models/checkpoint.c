/* models/checkpoint.c — save and validate training snapshots (see the header). */
#include "models/checkpoint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char magic[8] = { 'P', 'R', 'O', 'B', 'C', 'K', 'P', 'T' };

/* A growing byte buffer: the file is assembled in memory, then written once. */
typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
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
    put_u32(&b, CHECKPOINT_VERSION);
    put_u32(&b, (uint32_t)header.len);
    put(&b, header.p, header.len);
    put_table(&b, m);
    put(&b, m->params, m->num_params * sizeof(float));
    put(&b, m->state, m->num_state * sizeof(float));
    put(&b, m->adam_m, m->num_params * sizeof(float));
    put(&b, m->adam_v, m->num_params * sizeof(float));
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

/* Reads the whole file and checks magic, version and CRC.  On success *data
   (free it) holds the file, r the reader positioned at the header, its length
   excluding the CRC, and *header_bytes the header's size. */
static int read_verified(const char *path, unsigned char **data, reader *r, uint32_t *header_bytes, char *err,
                         size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, path, "cannot read checkpoint: %s; run the experiment that produces it first",
                    strerror(errno));
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    *data = malloc(size > 0 ? (size_t)size : 1);
    const bool read_ok = size >= 0 && fread(*data, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    *r = (reader){ *data, read_ok ? (size_t)size : 0, 0 };
    char got_magic[8];
    uint32_t version;
    int rc = -1;
    if (!read_ok)
        fail(err, errlen, path, "cannot read checkpoint");
    else if (!get(r, got_magic, 8) || memcmp(got_magic, magic, 8) != 0)
        fail(err, errlen, path, "not a probador checkpoint (bad magic; expected \"PROBCKPT\")");
    else if (!get(r, &version, 4) || !get(r, header_bytes, 4))
        fail(err, errlen, path, "truncated checkpoint (%ld bytes)", size);
    else if (version > CHECKPOINT_VERSION)
        fail(err, errlen, path, "checkpoint version %u is newer than this probador reads (%d); rebuild from a newer commit",
             version, CHECKPOINT_VERSION);
    else if (version < 1)
        fail(err, errlen, path, "bad checkpoint version %u", version);
    else if (r->len < 4 || (uint32_t)crc32(0L, *data, (uInt)(r->len - 4)) != stored_crc(*data, r->len))
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

int checkpoint_load(const char *path, model *m, int parts, checkpoint_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    unsigned char *data;
    reader r;
    uint32_t header_bytes;
    int rc = -1;
    if (read_verified(path, &data, &r, &header_bytes, err, errlen))
        return -1;
    {

        buf expect = { 0 };
        checkpoint_info mine = { 0 };
        /* this model's header, written with the file's own counters, must match it byte for byte */
        reader h = { data + r.at, r.len - r.at, 0 };
        char name[32];
        uint32_t u[7];
        float dropout;
        uint32_t history_bytes = 0;
        if (header_bytes > r.len - r.at || !get(&h, name, 32) || !get(&h, &u[0], 8) || !get(&h, &dropout, 4) ||
            !get(&h, &u[2], 16) || !get(&h, &info->epochs, 4) || !get(&h, &info->steps, 8) ||
            !get(&h, &info->seed, 8) || !get(&h, &history_bytes, 4)) {
            fail(err, errlen, path, "truncated checkpoint header");
            goto done;
        }
        name[31] = '\0';
        mine = *info;
        put_header(&expect, m, &mine, history_bytes);
        if (expect.len != header_bytes || memcmp(expect.p, data + r.at, header_bytes) != 0) {
            fail(err, errlen, path,
                 "checkpoint holds model '%s' (blocks %u, width %u, dropout %g, %u classes, input %ux%ux%u), but "
                 "the experiment builds '%s' (blocks %d, width %d, dropout %g, %d classes, input %dx%dx%d)",
                 name, u[0], u[1], dropout, u[2], u[3], u[4], u[5], m->desc.name, m->desc.blocks, m->desc.width,
                 m->desc.dropout, m->desc.classes, m->desc.input.c, m->desc.input.h, m->desc.input.w);
            free(expect.p);
            goto done;
        }
        r.at += header_bytes;
        free(expect.p);
        expect = (buf){ 0 };
        put_table(&expect, m);
        if (r.len - r.at < expect.len || memcmp(expect.p, data + r.at, expect.len) != 0) {
            fail(err, errlen, path, "tensor table differs from the model's (a layer's name or size changed)");
            free(expect.p);
            goto done;
        }
        r.at += expect.len;
        free(expect.p);
        const size_t np = m->num_params * sizeof(float), ns = m->num_state * sizeof(float);
        if (r.len - r.at != 3 * np + ns + history_bytes) {
            fail(err, errlen, path, "data size %zu, expected %zu for this model", r.len - r.at,
                 3 * np + ns + (size_t)history_bytes);
            goto done;
        }
        const unsigned char *d = data + r.at;
        if (parts & CKPT_WEIGHTS) {
            memcpy(m->params, d, np);
            memcpy(m->state, d + np, ns);
        }
        if (parts & CKPT_OPTIMISER) {
            memcpy(m->adam_m, d + np + ns, np);
            memcpy(m->adam_v, d + 2 * np + ns, np);
        }
        info->history = malloc(history_bytes + 1);
        memcpy(info->history, d + 3 * np + ns, history_bytes);
        info->history[history_bytes] = '\0';
        rc = 0;
    }
done:
    free(data);
    return rc;
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

int checkpoint_load_trunk(const char *path, model *m, uint32_t *crc, char *err, size_t errlen)
{
    unsigned char *data;
    reader r;
    uint32_t header_bytes;
    if (read_verified(path, &data, &r, &header_bytes, err, errlen))
        return -1;
    *crc = stored_crc(data, r.len + 4);
    int rc = -1;
    reader h = { data + r.at, header_bytes, 0 };
    char name[32];
    uint32_t u[6];
    float dropout;
    if (header_bytes > r.len - r.at || !get(&h, name, 32) || !get(&h, &u[0], 8) || !get(&h, &dropout, 4) ||
        !get(&h, &u[2], 16)) {
        fail(err, errlen, path, "truncated checkpoint header");
        goto done;
    }
    name[31] = '\0';
    const model_desc *d = &m->desc;
    /* everything but the number of classes must agree */
    if (strcmp(name, d->name) != 0 || (int)u[0] != d->blocks || (int)u[1] != d->width || (int)u[3] != d->input.c ||
        (int)u[4] != d->input.h || (int)u[5] != d->input.w) {
        fail(err, errlen, path,
             "cannot initialise from this checkpoint: it holds '%s' (blocks %u, width %u, input %ux%ux%u) but the "
             "experiment builds '%s' (blocks %d, width %d, input %dx%dx%d); pretrain the same architecture",
             name, u[0], u[1], u[3], u[4], u[5], d->name, d->blocks, d->width, d->input.c, d->input.h, d->input.w);
        goto done;
    }
    r.at += header_bytes;
    uint32_t count;
    if (!get(&r, &count, 4) || count > 4096) {
        fail(err, errlen, path, "truncated tensor table");
        goto done;
    }
    typedef struct entry {
        char name[32];
        uint64_t params, state, param_at, state_at;
    } entry;
    entry *t = calloc(count ? count : 1, sizeof *t);
    uint64_t total_p = 0, total_s = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (!get(&r, t[i].name, 32) || !get(&r, &t[i].params, 8) || !get(&r, &t[i].state, 8)) {
            fail(err, errlen, path, "truncated tensor table");
            free(t);
            goto done;
        }
        t[i].name[31] = '\0';
        t[i].param_at = total_p, t[i].state_at = total_s;
        total_p += t[i].params, total_s += t[i].state;
    }
    if (r.len - r.at < (total_p + total_s) * sizeof(float)) {
        fail(err, errlen, path, "truncated checkpoint data");
        free(t);
        goto done;
    }
    const unsigned char *pbytes = data + r.at, *sbytes = pbytes + total_p * sizeof(float);
    const int head = checkpoint_head_layer(m);
    for (int li = 0; li < m->num_layers; li++) {
        const layer *l = &m->layers[li];
        if (li == head || (!l->param_count && !l->state_count))
            continue;
        const entry *e = NULL;
        for (uint32_t i = 0; i < count && !e; i++)
            if (strcmp(t[i].name, l->spec.name) == 0)
                e = &t[i];
        if (!e || e->params != l->param_count || e->state != l->state_count) {
            if (!e)
                fail(err, errlen, path, "the checkpoint has no layer '%s'; pretrain the same architecture",
                     l->spec.name);
            else
                fail(err, errlen, path,
                     "layer '%s': the checkpoint has %llu parameters and %llu statistics, the experiment's model "
                     "%zu and %zu; pretrain the same architecture",
                     l->spec.name, (unsigned long long)e->params, (unsigned long long)e->state, l->param_count,
                     l->state_count);
            free(t);
            goto done;
        }
        memcpy(m->params + l->param_off, pbytes + e->param_at * sizeof(float), l->param_count * sizeof(float));
        memcpy(m->state + l->state_off, sbytes + e->state_at * sizeof(float), l->state_count * sizeof(float));
    }
    free(t);
    rc = 0;
done:
    free(data);
    return rc;
}
