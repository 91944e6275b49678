/* tools/config/config_yaml.c — config_yaml_load: YAML text into a libyaml document,
 * within bounds that keep a hostile or mistaken input from hanging the loader.
 *
 * A first pass over libyaml's events (cheap: it stops at the first problem)
 * rejects nesting deeper than CONFIG_MAX_DEPTH, which libyaml itself handles in
 * time growing with the square of the depth, and notes the plain scalars
 * written with an explicit string tag ("!!str 1", "! 1"): the document libyaml
 * builds gives them the same tag as an untagged scalar, yet they are text, not
 * numbers.  Syntax errors are left to the real load, which reports them. */
#include "tools/config/config_internal.h"

#include <stdlib.h>
#include <string.h>

/* The start indexes of the plain scalars with an explicit string tag, in order. */
typedef struct str_tagged {
    size_t *at;
    size_t count, cap;
} str_tagged;

static bool explicit_str(const yaml_event_t *e)
{
    const char *tag = (const char *)e->data.scalar.tag;
    return tag && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (strcmp(tag, "!") == 0 || strcmp(tag, YAML_STR_TAG) == 0);
}

/* The events of the whole text: 0, or -1 after an error (too deep, out of memory). */
static int scan_events(config_diag *d, const unsigned char *text, size_t len, str_tagged *tagged)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        config_error(d, NULL, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, text, len);
    int depth = 0, rc = 0;
    yaml_event_t e;
    while (rc == 0 && yaml_parser_parse(&p, &e)) {
        bool end = e.type == YAML_STREAM_END_EVENT;
        if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT) {
            if (++depth > CONFIG_MAX_DEPTH) {
                config_error(d, &e.start_mark,
                             "lists and mappings nested more than %d deep; an experiment needs at most 6",
                             CONFIG_MAX_DEPTH);
                rc = -1;
            }
        } else if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (e.type == YAML_SCALAR_EVENT && explicit_str(&e)) {
            if (tagged->count == tagged->cap) {
                size_t cap = tagged->cap ? 2 * tagged->cap : 16;
                size_t *at = realloc(tagged->at, cap * sizeof *at);
                if (!at) {
                    config_error(d, NULL, "out of memory");
                    rc = -1;
                } else {
                    tagged->at = at, tagged->cap = cap;
                }
            }
            if (rc == 0)
                tagged->at[tagged->count++] = e.start_mark.index;
        }
        yaml_event_delete(&e);
        if (end)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

static int compare_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int config_yaml_load(config_diag *d, yaml_parser_t *p, const unsigned char *text, size_t len, yaml_document_t *doc)
{
    str_tagged tagged = {0};
    if (scan_events(d, text, len, &tagged) != 0) {
        free(tagged.at);
        return -1;
    }
    if (!yaml_parser_load(p, doc)) {
        config_yaml_error(d, p);
        free(tagged.at);
        return -1;
    }
    for (yaml_node_t *n = doc->nodes.start; tagged.count && n < doc->nodes.top; n++)
        if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            bsearch(&n->start_mark.index, tagged.at, tagged.count, sizeof *tagged.at, compare_index))
            n->data.scalar.style = CONFIG_STR_TAGGED;
    free(tagged.at);
    return 0;
}
