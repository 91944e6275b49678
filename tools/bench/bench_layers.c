/* tools/bench/bench_layers.c — the benchmark's convolution shapes, from the
 * model registry's tables (the rules are in the header). */
#include "tools/bench/bench_layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/alloc.h"
#include "models/model.h"

static bench_layer layers[BENCH_LAYERS_MAX];
static int layer_count = -1; /* -1: not derived yet */

/* The label of a shape first met at row `row` (see the header). */
static void shape_label(const layer_spec *row, char *label, size_t len)
{
    const char *dot = strchr(row->name, '.');
    if (!dot) {
        snprintf(label, len, "%s", row->name);
        return;
    }
    const int group = (int)(dot - row->name);
    const bool stage = row->name[0] == 's' && group > 1 && strspn(row->name + 1, "0123456789") == (size_t)group - 1;
    const char *suffix = row->stride == 1 ? "" : row->size == 1 ? "_proj" : "_down";
    if (stage)
        snprintf(label, len, "stage%.*s%s", group - 1, row->name + 1, suffix);
    else
        snprintf(label, len, "%.*s%s", group, row->name, suffix);
}

/* Names entry `e` (the first of model `first`'s entries) uniquely within the model. */
static void name_entry(int first, int e, const char *bench_name, const layer_spec *row)
{
    char label[40];
    shape_label(row, label, sizeof label);
    snprintf(layers[e].name, sizeof layers[e].name, "%s.%s", bench_name, label);
    for (int n = 2;; n++) {
        int taken = 0;
        for (int i = first; i < e; i++)
            taken |= !strcmp(layers[i].name, layers[e].name);
        if (!taken)
            return;
        snprintf(layers[e].name, sizeof layers[e].name, "%s.%s_%d", bench_name, label, n);
    }
}

/* The convolutions of a laid-out table in data-flow order: stable by source row. */
static int convs_in_flow_order(const layer_spec *rows, const layer_shape *shapes, int n, int *order)
{
    int count = 0;
    for (int src = 0; src < n; src++)
        for (int i = 0; i < n; i++)
            if (rows[i].op == OP_CONV && shapes[i].src == src)
                order[count++] = i;
    return count;
}

/* The entry of shape cs among model entries [first, layer_count), appended
   when new; -1 when the list is full. */
static int entry_for(int first, const conv_shape *cs)
{
    for (int e = first; e < layer_count; e++)
        if (!memcmp(&layers[e].shape, cs, sizeof *cs))
            return e;
    if (layer_count == BENCH_LAYERS_MAX)
        return -1;
    layers[layer_count].shape = *cs;
    return layer_count++;
}

/* The rows of one model that use an entry's shape. */
typedef struct shape_use {
    int first, last, count;
} shape_use;

/* Adds model type t's distinct convolution shapes; 0, or -1 with err. */
static int add_model(const model_type *t, char *err, size_t errlen)
{
    layer_spec *rows = checked_malloc(MODEL_ROWS_MAX * sizeof *rows);
    layer_shape *shapes = checked_malloc(MODEL_ROWS_MAX * sizeof *shapes);
    int *order = checked_malloc(MODEL_ROWS_MAX * sizeof *order);
    shape_use use[BENCH_LAYERS_MAX] = { { 0 } };
    const int n = t->table(&t->bench, rows, MODEL_ROWS_MAX);
    int rc = model_table_shapes(&t->bench, rows, n, shapes, err, errlen);
    const int first = layer_count, convs = rc ? 0 : convs_in_flow_order(rows, shapes, n, order);
    for (int c = 0; c < convs && !rc; c++) {
        const layer_spec *row = &rows[order[c]];
        const tshape in = shapes[order[c]].in;
        const conv_shape cs = { 0, in.c, in.h, in.w, row->out, row->size, row->size, row->stride, row->pad };
        const int e = entry_for(first, &cs);
        if (e < 0) {
            snprintf(err, errlen, "error: more than %d distinct convolution shapes", BENCH_LAYERS_MAX);
            rc = -1;
        } else {
            if (use[e].count++ == 0)
                use[e].first = order[c], name_entry(first, e, t->bench_name, row);
            use[e].last = order[c];
        }
    }
    for (int e = first; e < layer_count && !rc; e++) {
        const char *from = rows[use[e].first].name, *to = rows[use[e].last].name;
        if (use[e].count == 1)
            snprintf(layers[e].where, sizeof layers[e].where, "%s %s", t->bench_name, from);
        else
            snprintf(layers[e].where, sizeof layers[e].where, "%s %s .. %s, %d convs", t->bench_name, from, to,
                     use[e].count);
    }
    free(rows), free(shapes), free(order);
    return rc;
}

/* Derives the list once; a model that cannot be laid out ends the program. */
static void derive(void)
{
    if (layer_count >= 0)
        return;
    layer_count = 0;
    for (int i = 0; i < model_type_count(); i++) {
        const model_type *t = model_type_at(i);
        char err[512];
        if (t->bench_name && add_model(t, err, sizeof err) != 0) {
            fprintf(stderr, "probador bench: model '%s' (benchmarked as %s): %s\n", t->name, t->bench_name, err);
            exit(1);
        }
    }
}

int bench_layer_count(void)
{
    derive();
    return layer_count;
}

const bench_layer *bench_layer_at(int i)
{
    derive();
    return i >= 0 && i < layer_count ? &layers[i] : NULL;
}

int bench_layer_find(const char *name)
{
    derive();
    for (int i = 0; i < layer_count; i++)
        if (!strcmp(layers[i].name, name))
            return i;
    return -1;
}
