/* models/model_types.c — the registry of model types: the compiled-in rows of
 * models/tables.c, then any added at run time (contract in model.h). */
#include <stdio.h>
#include <string.h>

#include "models/model_types.h"

enum { ADDED_MAX = 8 }; /* run-time additions (tests); plenty for a throw-away model or two */

static model_type added[ADDED_MAX];
static int added_count;

int model_type_count(void) { return model_types_builtin_count + added_count; }

const model_type *model_type_at(int i)
{
    if (i < 0 || i >= model_type_count())
        return NULL;
    return i < model_types_builtin_count ? &model_types_builtin[i] : &added[i - model_types_builtin_count];
}

/* The type of that name, or NULL. */
static const model_type *lookup(const char *name)
{
    for (int i = 0; i < model_type_count(); i++)
        if (!strcmp(model_type_at(i)->name, name))
            return model_type_at(i);
    return NULL;
}

/* "cnn, resnet": every registered name, in registry order (truncated to len). */
static void type_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < model_type_count() && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", model_type_at(i)->name);
}

const model_type *model_type_find(const char *name, char *err, size_t errlen)
{
    const model_type *t = lookup(name);
    if (!t && errlen > 0) {
        char names[256];
        type_names(names, sizeof names);
        snprintf(err, errlen, "unknown model '%s'; expected one of %s", name, names);
    }
    return t;
}

int model_type_register(const model_type *t, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!t || !t->name || !t->table)
        why = "a model type needs a name and a table function";
    else if (!t->name[0] || strlen(t->name) >= sizeof t->bench.name)
        why = "a model type's name must have 1 to 31 characters";
    else if (lookup(t->name))
        why = "that name is taken: choose another";
    else if (added_count >= ADDED_MAX)
        why = "the registry is full (raise ADDED_MAX in models/model_types.c)";
    if (why) {
        snprintf(err, errlen, "error: cannot register model '%s': %s", t && t->name ? t->name : "(null)",
                 why);
        return -1;
    }
    added[added_count++] = *t;
    return 0;
}

void model_desc_canonical(model_desc *d)
{
    const model_type *t = lookup(d->name);
    if (!t)
        return;
    if (!(t->uses & MODEL_USES_BLOCKS))
        d->blocks = 0;
    if (!(t->uses & MODEL_USES_WIDTH))
        d->width = 0;
    if (!(t->uses & MODEL_USES_DROPOUT))
        d->dropout = 0;
}
