/* tools/config/config_load.c — config_load: read a YAML experiment file into exp_config.
 *
 * The file is loaded into a libyaml document, then walked once: each mapping key
 * is joined to its section ("training" + "epochs") and looked up in the schema;
 * a leaf takes its value through config_value_set, a section recurses, anything
 * else is an unknown key with a suggestion.  Every error is reported (the walk
 * never stops early); *c is written only when there were none. */
#include "tools/config/config_internal.h"

#include "data/regular_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct loader {
    config_diag d;
    yaml_document_t *doc;
    exp_config *c;       /* being filled */
    exp_config *scratch; /* defaults, for checking a variant's values one by one */
    config_marks *marks;
} loader;

static const yaml_mark_t start_of_file; /* 1:1 */

static yaml_node_t *node_at(loader *L, int index)
{
    return yaml_document_get_node(L->doc, index);
}

static const char *kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar";
}

/* The key of `pair` in `map`, or NULL after an error: not a scalar, or a
   duplicate of an earlier key of the same mapping.  `where` is " in 'training'". */
static const char *key_of(loader *L, yaml_node_t *map, yaml_node_pair_t *pair, const char *where)
{
    yaml_node_t *k = node_at(L, pair->key);
    if (!k)
        return NULL;
    if (k->type != YAML_SCALAR_NODE || memchr(k->data.scalar.value, '\0', k->data.scalar.length)) {
        config_error(&L->d, &k->start_mark, "keys must be names, got %s", kind_name(k));
        return NULL;
    }
    const char *name = (const char *)k->data.scalar.value;
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        yaml_node_t *earlier = node_at(L, q->key);
        if (earlier && earlier->type == YAML_SCALAR_NODE &&
            strcmp((const char *)earlier->data.scalar.value, name) == 0) {
            config_error(&L->d, &k->start_mark, "duplicate key '%s'%s (first given at %zu:%zu)", name, where,
                         earlier->start_mark.line + 1, earlier->start_mark.column + 1);
            return NULL;
        }
    }
    return name;
}

/* More than CONFIG_MAX_MAPPING_KEYS keys: an error, and the mapping is not read
   (which keeps key_of's duplicate check cheap). */
static bool too_many_keys(loader *L, yaml_node_t *map)
{
    long n = (long)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n <= CONFIG_MAX_MAPPING_KEYS)
        return false;
    config_error(&L->d, &map->start_mark, "a mapping of %ld keys; at most %d (the schema has %d keys in all)", n,
                 CONFIG_MAX_MAPPING_KEYS, config_schema_len);
    return true;
}

static void join(char *out, size_t cap, const char *section, const char *name)
{
    if (*section)
        snprintf(out, cap, "%s.%s", section, name);
    else
        snprintf(out, cap, "%s", name);
}

/* ---- variants --------------------------------------------------------------- */

/* The "set:" mapping of variant v: each key must exist and be settable by a
   variant, each value must be valid for its key; stored as canonical "key=value". */
static void load_set(loader *L, config_variant *v, yaml_node_t *map, const char *section)
{
    if (map->type != YAML_MAPPING_NODE) {
        config_error(&L->d, &map->start_mark, "set: expected a mapping of dotted keys to values, got %s",
                     kind_name(map));
        return;
    }
    if (too_many_keys(L, map))
        return;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        const char *name = key_of(L, map, pair, " in 'set'");
        yaml_node_t *key = node_at(L, pair->key), *value = node_at(L, pair->value);
        if (!name || !value)
            continue;
        char path[256];
        join(path, sizeof path, section, name);
        const config_key *k = config_schema_find(path);
        if (!k) {
            if (config_schema_is_section(path) && value->type == YAML_MAPPING_NODE) {
                load_set(L, v, value, path);
            } else if (config_schema_is_section(path)) {
                config_error(&L->d, &value->start_mark, "%s: expected a mapping of its keys, got %s", path,
                             kind_name(value));
            } else {
                char near[128];
                config_schema_suggest_path(path, near, sizeof near);
                config_error(&L->d, &key->start_mark, "unknown key '%s'%s%s%s", path,
                             near[0] ? " (did you mean '" : "", near, near[0] ? "'?)" : "");
            }
            continue;
        }
        if (k->flags & (CONFIG_NO_OVERRIDE | CONFIG_NOT_IN_VARIANT | CONFIG_FILE_ONLY)) {
            config_error(&L->d, &key->start_mark, "'%s' cannot be set by a variant", path);
            continue;
        }
        size_t plen = strlen(path);
        bool twice = false;
        for (int i = 0; i < v->n_set; i++)
            twice |= strncmp(v->set[i], path, plen) == 0 && v->set[i][plen] == '=';
        if (twice) {
            config_error(&L->d, &key->start_mark, "'%s' is set twice", path);
            continue;
        }
        if (config_value_set(&L->d, k, L->doc, value, L->scratch) != 0)
            continue;
        char text[CONFIG_SET_MAX];
        int n = snprintf(text, sizeof text, "%s=", path);
        if (n >= (int)sizeof text ||
            config_value_text(k, L->scratch, text + n, sizeof text - (size_t)n) < 0) {
            config_error(&L->d, &value->start_mark,
                         "%s: the override is too long for a variant (at most %d bytes)", path,
                         CONFIG_SET_MAX - 1);
            continue;
        }
        if (v->n_set == CONFIG_MAX_SETS) {
            config_error(&L->d, &key->start_mark, "more than %d overrides", CONFIG_MAX_SETS);
            continue;
        }
        config_store_string(v->set[v->n_set++], CONFIG_SET_MAX, text, strlen(text));
    }
}

static void load_variant(loader *L, yaml_node_t *item, int number)
{
    config_variant *v = &L->c->variants[L->c->n_variants];
    L->marks->variant[L->c->n_variants] = item->start_mark;
    L->c->n_variants++;
    if (item->type != YAML_MAPPING_NODE) {
        config_error(&L->d, &item->start_mark,
                     "variants: item %d: expected a mapping with name, description and set, got %s", number,
                     kind_name(item));
        return;
    }
    if (too_many_keys(L, item))
        return;
    static const char *const fields[] = {"name", "description", "set"};
    yaml_node_t *found[3] = {NULL, NULL, NULL};
    for (yaml_node_pair_t *pair = item->data.mapping.pairs.start; pair < item->data.mapping.pairs.top;
         pair++) {
        const char *name = key_of(L, item, pair, " in a variant");
        if (!name)
            continue;
        int f = 0;
        while (f < 3 && strcmp(name, fields[f]) != 0)
            f++;
        if (f < 3) {
            found[f] = node_at(L, pair->value);
            continue;
        }
        const char *near = config_closest(name, fields, 3);
        config_error(&L->d, &node_at(L, pair->key)->start_mark, "unknown key '%s' in a variant%s%s%s", name,
                     near ? " (did you mean '" : "; a variant has name, description and set",
                     near ? near : "", near ? "'?)" : "");
    }
    yaml_node_t *name = found[0], *desc = found[1], *set = found[2];
    if (!name) {
        config_error(&L->d, &item->start_mark, "variants: item %d has no 'name'", number);
    } else if (name->type != YAML_SCALAR_NODE || !config_is_ident((const char *)name->data.scalar.value)) {
        config_error(
            &L->d, &name->start_mark,
            "variants: item %d: the name must be an identifier: 1 to %d characters of a-z, 0-9, '_', '-'",
            number, CONFIG_NAME_MAX - 1);
    } else {
        const char *s = (const char *)name->data.scalar.value;
        for (int i = 0; i < L->c->n_variants - 1; i++)
            if (strcmp(L->c->variants[i].name, s) == 0)
                config_error(&L->d, &name->start_mark, "duplicate variant name '%s' (first given at %zu:%zu)",
                             s, L->marks->variant[i].line + 1, L->marks->variant[i].column + 1);
        config_store_string(v->name, sizeof v->name, s, strlen(s));
    }
    if (desc) {
        if (desc->type != YAML_SCALAR_NODE)
            config_error(&L->d, &desc->start_mark, "variants: item %d: description: expected text, got %s",
                         number, kind_name(desc));
        else if (desc->data.scalar.length >= sizeof v->description ||
                 memchr(desc->data.scalar.value, '\0', desc->data.scalar.length))
            config_error(&L->d, &desc->start_mark,
                         "variants: item %d: description: at most %zu bytes of text", number,
                         sizeof v->description - 1);
        else
            config_store_string(v->description, sizeof v->description, (const char *)desc->data.scalar.value,
                                desc->data.scalar.length);
    }
    if (set) {
        L->d.variant = v->name[0] ? v->name : NULL;
        load_set(L, v, set, "");
        L->d.variant = NULL;
    }
}

static void load_variants(loader *L, yaml_node_t *seq)
{
    if (seq->type != YAML_SEQUENCE_NODE) {
        config_error(&L->d, &seq->start_mark,
                     "variants: expected a list of variants (- name: ..., set: {...}), got %s",
                     kind_name(seq));
        return;
    }
    int count = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count > CONFIG_MAX_VARIANTS) {
        config_error(&L->d, &seq->start_mark, "variants: %d variants; at most %d", count,
                     CONFIG_MAX_VARIANTS);
        return;
    }
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = node_at(L, seq->data.sequence.items.start[i]);
        if (item)
            load_variant(L, item, i + 1);
    }
}

/* ---- the document ------------------------------------------------------------ */

static void load_mapping(loader *L, yaml_node_t *map, const char *section)
{
    char where[96] = "";
    if (too_many_keys(L, map))
        return;
    if (*section)
        snprintf(where, sizeof where, " in '%s'", section);
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        const char *name = key_of(L, map, pair, where);
        yaml_node_t *key = node_at(L, pair->key), *value = node_at(L, pair->value);
        if (!name || !value)
            continue;
        char path[256];
        join(path, sizeof path, section, name);
        const config_key *k = config_schema_find(path);
        if (k) {
            int i = (int)(k - config_schema);
            if (L->marks->seen[i]) { /* e.g. both "training: {epochs: 1}" and "training.epochs: 2" */
                config_error(&L->d, &key->start_mark, "duplicate key '%s' (first given at %zu:%zu)", path,
                             L->marks->key[i].line + 1, L->marks->key[i].column + 1);
                continue;
            }
            L->marks->seen[i] = true;
            L->marks->key[i] = key->start_mark;
            if (k->type == CONFIG_VARIANTS)
                load_variants(L, value);
            else
                config_value_set(&L->d, k, L->doc, value, L->c);
        } else if (config_schema_is_section(path)) {
            if (value->type == YAML_MAPPING_NODE)
                load_mapping(L, value, path);
            else
                config_error(&L->d, &value->start_mark, "%s: expected a mapping of its keys, got %s", path,
                             kind_name(value));
        } else {
            char near[128];
            config_schema_suggest_child(section, name, near, sizeof near);
            config_error(&L->d, &key->start_mark, "unknown key '%s'%s%s%s%s", name, where,
                         near[0] ? " (did you mean '" : "", near, near[0] ? "'?)" : "");
        }
    }
}

static void load_document(loader *L, yaml_node_t *root)
{
    if (!root) {
        config_error(&L->d, &start_of_file,
                     "the file is empty; an experiment needs at least 'name' and 'description'");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        config_error(&L->d, &root->start_mark,
                     "expected a mapping of keys (name: ..., description: ...) at the top, got %s",
                     kind_name(root));
        return;
    }
    if (too_many_keys(L, root)) /* not read: its required keys are not missing */
        return;
    load_mapping(L, root, "");
    for (int i = 0; i < config_schema_len; i++)
        if ((config_schema[i].flags & CONFIG_REQUIRED) && !L->marks->seen[i])
            config_error(&L->d, &start_of_file, "missing required key '%s' (%s)", config_schema[i].path,
                         config_schema[i].doc);
}

/* The whole file, at most CONFIG_MAX_FILE_BYTES; NULL after an error. */
static unsigned char *read_file(config_diag *d, const char *path, size_t *len)
{
    char why[160];
    unsigned char *text = (unsigned char *)regular_read(path, CONFIG_MAX_FILE_BYTES, len, why, sizeof why);
    if (!text && *len > CONFIG_MAX_FILE_BYTES)
        config_error(d, NULL, "the file is larger than %d MiB; an experiment file is a few KB",
                     CONFIG_MAX_FILE_BYTES >> 20);
    else if (!text)
        config_error(d, NULL, "cannot open the experiment file: %s", why);
    return text;
}

int config_load(const char *path, exp_config *c)
{
    loader L = {.d = {.file = path}};
    size_t len;
    unsigned char *text = read_file(&L.d, path, &len);
    if (!text)
        return -1;
    L.c = malloc(sizeof *L.c);
    L.scratch = malloc(sizeof *L.scratch);
    L.marks = calloc(1, sizeof *L.marks);
    yaml_parser_t p;
    yaml_document_t doc;
    if (!L.c || !L.scratch || !L.marks || !yaml_parser_initialize(&p)) {
        config_error(&L.d, NULL, "out of memory");
        free(L.c), free(L.scratch), free(L.marks), free(text);
        return -1;
    }
    config_defaults(L.c);
    config_defaults(L.scratch);
    yaml_parser_set_input_string(&p, text, len);
    if (config_yaml_load(&L.d, &p, text, len, &doc) == 0) {
        L.doc = &doc;
        load_document(&L, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
        if (!yaml_parser_load(&p, &doc)) {
            config_yaml_error(&L.d, &p);
        } else {
            yaml_node_t *more = yaml_document_get_root_node(&doc);
            if (more)
                config_error(&L.d, &more->start_mark, "a second YAML document; an experiment file holds one");
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&p);
    free(text);
    if (L.d.errors == 0)
        config_check(L.c, &L.d, L.marks, true);
    int rc = L.d.errors ? -1 : 0;
    if (rc == 0)
        memcpy(c, L.c, sizeof *c);
    free(L.c), free(L.scratch), free(L.marks);
    return rc;
}
