/* tools/config/config_override.c — defaults, Hydra-style "a.b=value" overrides and
 * ablation variants (named lists of overrides), all through the schema table. */
#include "tools/config/config_internal.h"

#include <stdlib.h>
#include <string.h>

void config_defaults(exp_config *c)
{
    memset(c, 0, sizeof *c);
    config_diag d = {.file = "tools/config/config_schema.c"};
    for (int i = 0; i < config_schema_len; i++) {
        const config_key *k = &config_schema[i];
        if (k->def && config_value_set_text(&d, k, k->def, c) != 0) {
            /* a bug in the table, caught by every test: no configuration can be trusted */
            fprintf(stderr, "tools/config/config_schema.c: error: the default of '%s', '%s', is not a valid value; "
                            "fix the schema table\n", k->path, k->def);
            exit(EXIT_FAILURE);
        }
    }
}

int config_seeds(const exp_config *c, int out[CONFIG_MAX_SEEDS])
{
    if (c->n_seeds <= 0 || c->n_seeds > CONFIG_MAX_SEEDS) {
        out[0] = c->run.seed;
        return 1;
    }
    memcpy(out, c->seeds, (size_t)c->n_seeds * sizeof *out);
    return c->n_seeds;
}

/* The first key of section `path`, for "e.g." in messages. */
static const char *first_key_of(const char *path)
{
    size_t n = strlen(path);
    for (int i = 0; i < config_schema_len; i++)
        if (strncmp(config_schema[i].path, path, n) == 0 && config_schema[i].path[n] == '.')
            return config_schema[i].path;
    return path;
}

int config_override_with(exp_config *c, const char *assignment, config_diag *d)
{
    int before = d->errors;
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        config_error(d, NULL, "expected KEY=VALUE, e.g. training.epochs=5");
        return -1;
    }
    char key[256];
    size_t n = (size_t)(eq - assignment) < sizeof key ? (size_t)(eq - assignment) : sizeof key - 1;
    memcpy(key, assignment, n);
    key[n] = '\0';
    const config_key *k = config_schema_find(key);
    if (!k) {
        if (config_schema_is_section(key)) {
            config_error(d, NULL, "'%s' is a section; override one of its keys, e.g. '%s'", key,
                         first_key_of(key));
        } else {
            char near[128];
            config_schema_suggest_path(key, near, sizeof near);
            config_error(d, NULL, "unknown key '%s'%s%s%s", key, near[0] ? " (did you mean '" : "", near,
                         near[0] ? "'?)" : "");
        }
        return -1;
    }
    if (k->flags & CONFIG_NO_OVERRIDE) {
        config_error(d, NULL, "'%s' cannot be overridden", key);
        return -1;
    }
    if (d->variant && (k->flags & (CONFIG_NOT_IN_VARIANT | CONFIG_FILE_ONLY))) {
        config_error(d, NULL, "'%s' cannot be set by a variant", key);
        return -1;
    }
    /* keep the old value (and list count) to restore on error */
    unsigned char *saved = malloc(k->size);
    const bool counted = k->type == CONFIG_INT_LIST || k->type == CONFIG_IDENT_LIST;
    int saved_count = counted ? *(int *)((char *)c + k->count_offset) : 0;
    if (!saved) {
        config_error(d, NULL, "out of memory");
        return -1;
    }
    memcpy(saved, (char *)c + k->offset, k->size);
    if (config_value_set_text(d, k, eq + 1, c) != 0 || d->errors != before) {
        memcpy((char *)c + k->offset, saved, k->size);
        if (counted)
            *(int *)((char *)c + k->count_offset) = saved_count;
    }
    free(saved);
    return d->errors == before ? 0 : -1;
}

int config_override(exp_config *c, const char *assignment)
{
    config_diag d = {.override = assignment};
    return config_override_with(c, assignment, &d);
}

int config_apply_variant_at(exp_config *c, int index, config_diag *d)
{
    int before = d->errors;
    const config_variant *v = &c->variants[index];
    const char *outer_variant = d->variant, *outer_override = d->override;
    d->variant = v->name;
    if (v->n_set < 0 || v->n_set > CONFIG_MAX_SETS) {
        config_error(d, NULL, "%d overrides; at most %d", v->n_set, CONFIG_MAX_SETS);
    } else {
        exp_config *copy = malloc(sizeof *copy);
        if (!copy) {
            config_error(d, NULL, "out of memory");
        } else {
            memcpy(copy, c, sizeof *copy);
            for (int i = 0; i < v->n_set; i++) {
                char set[CONFIG_SET_MAX];
                config_store_string(set, sizeof set, v->set[i], strnlen(v->set[i], sizeof set - 1));
                d->override = set;
                config_override_with(copy, set, d);
            }
            if (d->errors == before)
                memcpy(c, copy, sizeof *c);
            free(copy);
        }
    }
    d->variant = outer_variant;
    d->override = outer_override;
    return d->errors == before ? 0 : -1;
}

int config_apply_variant(exp_config *c, const char *variant_name)
{
    int n = c->n_variants < 0 ? 0 : c->n_variants > CONFIG_MAX_VARIANTS ? CONFIG_MAX_VARIANTS : c->n_variants;
    for (int i = 0; i < n; i++)
        if (strncmp(c->variants[i].name, variant_name, CONFIG_NAME_MAX) == 0) {
            config_diag d = {.file = NULL};
            return config_apply_variant_at(c, i, &d);
        }
    char label[CONFIG_NAME_MAX + 16], known[CONFIG_MAX_VARIANTS * (CONFIG_NAME_MAX + 2)] = "";
    const char *names[CONFIG_MAX_VARIANTS];
    size_t used = 0;
    snprintf(label, sizeof label, "experiment '%.*s'", CONFIG_NAME_MAX - 1, c->run.name);
    for (int i = 0; i < n; i++) {
        names[i] = c->variants[i].name;
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%.*s", i ? ", " : "",
                                 CONFIG_NAME_MAX - 1, c->variants[i].name);
    }
    const char *near = config_closest(variant_name, names, n);
    config_diag d = {.file = label};
    if (n == 0)
        config_error(&d, NULL, "unknown variant '%s': this experiment has no variants", variant_name);
    else
        config_error(&d, NULL, "unknown variant '%s'%s%s%s; known variants: %s", variant_name,
                     near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "", known);
    return -1;
}
