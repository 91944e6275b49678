/* tools/config/config_write.c — config_write: the fully resolved configuration as YAML,
 * every key in schema order with its doc and range as a comment, in a form that
 * config_load reads back to an identical struct (see tests/test_config.c). */
#include "tools/config/config_internal.h"
#include "data/alloc.h"

#include <stdlib.h>
#include <string.h>

#define COMMENT_COLUMN 40

/* Number of components of `path` shared with `prev`, counting sections only. */
static int shared_sections(const char *prev, const char *path)
{
    int shared = 0;
    for (;;) {
        size_t a = strcspn(prev, "."), b = strcspn(path, ".");
        if (!prev[a] || !path[b] || a != b || strncmp(prev, path, a) != 0)
            return shared;
        shared++;
        prev += a + 1;
        path += b + 1;
    }
}

static void comment(FILE *f, int column, const config_key *k)
{
    char range[128] = "";
    if (k->type == CONFIG_ENUM) {
        config_range_text(k, range, sizeof range);
        fprintf(f, "%*s# %s; one of %s\n", column < COMMENT_COLUMN ? COMMENT_COLUMN - column : 2, "", k->doc,
                range);
        return;
    }
    if (k->type == CONFIG_INT || k->type == CONFIG_FLOAT || k->type == CONFIG_FLOAT_PAIR ||
        k->type == CONFIG_INT_LIST)
        config_range_text(k, range, sizeof range);
    fprintf(f, "%*s# %s%s%s%s\n", column < COMMENT_COLUMN ? COMMENT_COLUMN - column : 2, "", k->doc,
            range[0] ? "; " : "",
            k->type == CONFIG_FLOAT_PAIR || k->type == CONFIG_INT_LIST ? "each in " : "", range);
}

/* Text a literal block scalar ("|") carries exactly: multi-line, no leading space,
   no control characters, no YAML line breaks other than '\n', no blank line made
   of spaces. */
static bool literal_ok(const char *s)
{
    if (!strchr(s, '\n') || s[0] == ' ' || s[0] == '\n')
        return false;
    const unsigned char *p = (const unsigned char *)s;
    bool line_blank = true;
    for (; *p; p++) {
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return false;
        if (p[0] == 0xc2 && p[1] == 0x85)
            return false;
        if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
            return false;
        if (*p == '\n') {
            if (line_blank && p != (const unsigned char *)s && p[-1] == ' ')
                return false;
            line_blank = true;
        } else if (*p != ' ') {
            line_blank = false;
        }
    }
    return !(line_blank && p[-1] == ' ');
}

static void write_literal(FILE *f, int indent, const char *leaf, const char *s, const config_key *k)
{
    size_t len = strlen(s), trailing = 0;
    while (trailing < len && s[len - 1 - trailing] == '\n')
        trailing++;
    const char *chomp = trailing == 0 ? "-" : trailing == 1 ? "" : "+";
    int column = fprintf(f, "%*s%s: |%s", indent, "", leaf, chomp);
    comment(f, column, k);
    size_t body = len - trailing;
    for (size_t i = 0; i < body;) {
        size_t n = strcspn(s + i, "\n");
        if (n > body - i)
            n = body - i;
        if (n)
            fprintf(f, "%*s%.*s\n", indent + 2, "", (int)n, s + i);
        else
            fputc('\n', f);
        i += n + 1;
    }
    for (size_t i = 1; i < trailing; i++)
        fputc('\n', f);
}

/* 0, or -1 after an error (out of memory). */
static int write_variants(FILE *f, int indent, const exp_config *c, const config_key *k)
{
    char *buf = malloc(4 * CONFIG_VARIANT_TEXT_MAX + 8);
    if (!buf) {
        fprintf(stderr, "error: out of memory writing the configuration's variants\n");
        return -1;
    }
    int column = fprintf(f, "%*svariants:%s", indent, "", c->n_variants ? "" : " []");
    comment(f, column, k);
    for (int i = 0; i < c->n_variants; i++) {
        const config_variant *v = &c->variants[i];
        fprintf(f, "%*s  - name: %s\n", indent, "", v->name);
        if (v->description[0] && config_quote(v->description, buf, 4 * CONFIG_VARIANT_TEXT_MAX + 8) >= 0)
            fprintf(f, "%*s    description: %s\n", indent, "", buf);
        fprintf(f, "%*s    set:%s\n", indent, "", v->n_set ? "" : " {}");
        for (int j = 0; j < v->n_set; j++) {
            const char *eq = strchr(v->set[j], '=');
            if (eq)
                fprintf(f, "%*s      %.*s: %s\n", indent, "", (int)(eq - v->set[j]), v->set[j], eq + 1);
        }
    }
    free(buf);
    return 0;
}

/* Every key in schema order; for a run, no report: section and `variants: []`. */
static int write_keys(const exp_config *c, FILE *f, bool run)
{
    size_t cap = 4 * sizeof c->description + 8; /* worst case: every byte escaped as \xNN */
    char *text = checked_malloc(cap);
    fprintf(f, "# Fully resolved experiment configuration: every key, in schema order.\n");
    const char *prev = "";
    int rc = 0;
    for (int i = 0; i < config_schema_len && !rc; i++) {
        const config_key *k = &config_schema[i];
        if (run && (k->flags & CONFIG_FILE_ONLY))
            continue;
        /* open the sections this key is in that the previous key was not */
        int depth = shared_sections(prev, k->path);
        const char *p = k->path;
        for (int s = 0; s < depth; s++)
            p += strcspn(p, ".") + 1;
        for (size_t n; p[n = strcspn(p, ".")]; p += n + 1, depth++)
            fprintf(f, "%*s%.*s:\n", 2 * depth, "", (int)n, p);
        prev = k->path;
        int indent = 2 * depth;
        const char *field = (const char *)c + k->offset;
        if (k->type == CONFIG_VARIANTS && run) {
            comment(f, fprintf(f, "%*svariants: []", indent, ""), k);
        } else if (k->type == CONFIG_VARIANTS) {
            rc = write_variants(f, indent, c, k);
        } else if (k->type == CONFIG_TEXT && literal_ok(field)) {
            write_literal(f, indent, p, field, k);
        } else if (config_value_text(k, c, text, cap) >= 0) {
            int column = fprintf(f, "%*s%s: %s", indent, "", p, text);
            comment(f, column, k);
        }
    }
    free(text);
    fflush(f);
    if (!rc && ferror(f)) {
        fprintf(stderr, "error: writing the configuration failed\n");
        return -1;
    }
    return rc;
}

int config_write(const exp_config *c, FILE *f)
{
    return write_keys(c, f, false);
}

int config_write_run(const exp_config *c, FILE *f)
{
    return write_keys(c, f, true);
}
