/* tools/config/config_value.c — one key's value: parse it from a libyaml node (or from
 * YAML flow text), check it against the schema row, print it back as canonical
 * YAML flow text; and the compiler-style error reporter.
 *
 * Parsing reports only what cannot be stored (not a number, not a list, wrong
 * length, overflow); everything about the stored value (range, charset, length,
 * choices, duplicates, lo <= hi) is config_value_check's, so config_validate says
 * the same things about a struct edited in code. */
#include "tools/config/config_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRINTED_ERRORS 50

void config_error(config_diag *d, const yaml_mark_t *mark, const char *fmt, ...)
{
    if (++d->errors > MAX_PRINTED_ERRORS) {
        if (d->errors == MAX_PRINTED_ERRORS + 1)
            fprintf(stderr, "%s: error: too many errors; the rest are not shown\n",
                    d->file       ? d->file
                    : d->override ? d->override
                                  : "config");
        return;
    }
    if (d->override) {
        if (d->variant)
            fprintf(stderr, "variant '%s', ", d->variant);
        fprintf(stderr, "override '%s': error: ", d->override);
    } else {
        if (d->file && mark)
            fprintf(stderr, "%s:%zu:%zu: error: ", d->file, mark->line + 1, mark->column + 1);
        else
            fprintf(stderr, "%s: error: ", d->file ? d->file : "config");
        if (d->variant)
            fprintf(stderr, "in variant '%s': ", d->variant);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void config_yaml_error(config_diag *d, const yaml_parser_t *p)
{
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        config_error(d, NULL, "out of memory while reading YAML");
        break;
    case YAML_READER_ERROR:
        config_error(d, NULL, "cannot read the text at byte %zu: %s (the file must be UTF-8)",
                     p->problem_offset, p->problem ? p->problem : "invalid input");
        break;
    default:
        if (p->context)
            config_error(d, &p->problem_mark, "YAML syntax: %s (%s at %zu:%zu)",
                         p->problem ? p->problem : "invalid YAML", p->context, p->context_mark.line + 1,
                         p->context_mark.column + 1);
        else
            config_error(d, &p->problem_mark, "YAML syntax: %s", p->problem ? p->problem : "invalid YAML");
    }
}

/* ---- small helpers ------------------------------------------------------- */

/* `s` clipped to 40 bytes with control characters shown as '?', for messages. */
static const char *shown(const char *s, size_t len, char buf[48])
{
    size_t n = len < 40 ? len : 40, i;
    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (len > n)
        memcpy(buf + i, "...", 3), i += 3;
    buf[i] = '\0';
    return buf;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

static const char *expects(const config_key *k)
{
    switch (k->type) {
    case CONFIG_IDENT:
        return "an identifier";
    case CONFIG_TEXT:
        return "text";
    case CONFIG_PATH:
        return "a path";
    case CONFIG_INT:
        return "an integer";
    case CONFIG_FLOAT:
        return "a number";
    case CONFIG_ENUM:
        return "one of its choices";
    case CONFIG_FLOAT_PAIR:
        return "a list [lo, hi] of two numbers";
    case CONFIG_INT_LIST:
        return "a list of integers";
    case CONFIG_IDENT_LIST:
        return "a list of identifiers";
    case CONFIG_VARIANTS:
        return "a list of variants";
    }
    return "a value";
}

static void *field_of(const config_key *k, const exp_config *c)
{
    return (char *)c + k->offset;
}
#define FIELD_PTR(T, k, c) ((T *)field_of((k), (c)))

bool config_is_ident(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n >= CONFIG_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

void config_store_string(char *field, size_t cap, const char *s, size_t len)
{
    memset(field, 0, cap);
    memcpy(field, s, len < cap ? len : cap - 1);
}

void config_format_double(double v, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (strchr(out, 'e') && v == floor(v) && fabs(v) < 1e16) /* 200, not 2e+02 */
        snprintf(out, cap, "%.0f", v);
}

/* 0: a number; -1: not a number; -2: too large or too small to store; -3: a
   whole number with a leading zero ("010": octal in YAML 1.1, ten in 1.2). */
static int parse_number(const char *s, bool integer, double *out)
{
    const char *allowed = integer ? "0123456789+-" : "0123456789+-.eE";
    if (!*s || !(s[0] == '+' || s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
        return -1;
    for (const char *p = s; *p; p++)
        if (!strchr(allowed, *p))
            return -1;
    const char *digits = s + (s[0] == '+' || s[0] == '-');
    if (digits[0] == '0' && digits[1] && strspn(digits, "0123456789") == strlen(digits))
        return -3;
    char *end;
    errno = 0;
    if (integer) {
        long long v = strtoll(s, &end, 10);
        if (end == s || *end)
            return -1;
        if (errno == ERANGE || v > INT32_MAX || v < INT32_MIN)
            return -2;
        *out = (double)v;
        return 0;
    }
    double v = strtod(s, &end);
    if (end == s || *end)
        return -1;
    if (errno == ERANGE || !isfinite(v))
        return -2;
    *out = v;
    return 0;
}

static bool in_range(const config_key *k, double v)
{
    if (!isfinite(v) || v < k->lo || v > k->hi)
        return false;
    if ((k->flags & CONFIG_LO_OPEN) && v == k->lo)
        return false;
    if ((k->flags & CONFIG_HI_OPEN) && v == k->hi)
        return false;
    return true;
}

static void range_error(config_diag *d, const config_key *k, const char *what, const char *text,
                        const yaml_mark_t *mark)
{
    char range[128];
    config_range_text(k, range, sizeof range);
    config_error(d, mark, "%s: %s%s is out of range %s", k->path, what, text, range);
}

/* ---- parse ---------------------------------------------------------------- */

/* A tag as written: "!!int" for "tag:yaml.org,2002:int", else as it is. */
static const char *tag_shown(const yaml_node_t *n, char buf[48])
{
    const char *tag = (const char *)n->tag, *core = "tag:yaml.org,2002:";
    if (strncmp(tag, core, strlen(core)) == 0)
        snprintf(buf, 48, "!!%s", tag + strlen(core));
    else
        snprintf(buf, 48, "%s", tag);
    return buf;
}

/* A scalar's text, or NULL after an error (not a scalar, or holds a NUL). */
static const char *scalar_text(config_diag *d, const config_key *k, yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE) {
        config_error(d, &n->start_mark, "%s: expected %s, got %s", k->path, expects(k), kind_name(n));
        return NULL;
    }
    const char *s = (const char *)n->data.scalar.value;
    char tag[48];
    if (strcmp((const char *)n->tag, YAML_STR_TAG) != 0) {
        config_error(d, &n->start_mark, "%s: expected %s, got a value tagged %s", k->path, expects(k),
                     tag_shown(n, tag));
        return NULL;
    }
    if (memchr(s, '\0', n->data.scalar.length)) {
        config_error(d, &n->start_mark, "%s: the text contains a NUL character", k->path);
        return NULL;
    }
    return s;
}

/* A number from scalar node n, or -1 after an error naming the key.  Only a
   plain, untagged scalar can be one, or one tagged !!int (or !!float for a
   float): a quoted '1' or a "!!str 1" is text. */
static int number_from(config_diag *d, const config_key *k, yaml_node_t *n, bool integer, const char *what,
                       double *out)
{
    char buf[48], tag[48];
    const char *expected = integer ? "an integer" : "a number";
    if (n->type != YAML_SCALAR_NODE) {
        config_error(d, &n->start_mark, "%s: %sexpected %s, got %s", k->path, what, expected, kind_name(n));
        return -1;
    }
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    bool int_tag = strcmp((const char *)n->tag, YAML_INT_TAG) == 0;
    bool float_tag = !integer && strcmp((const char *)n->tag, YAML_FLOAT_TAG) == 0;
    bool untagged = strcmp((const char *)n->tag, YAML_STR_TAG) == 0 && n->data.scalar.style != CONFIG_STR_TAGGED;
    if (untagged && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        config_error(d, &n->start_mark, "%s: %sexpected %s, got '%s' (quoted, so text; write a number without quotes)",
                     k->path, what, expected, shown(s, len, buf));
        return -1;
    }
    if (!untagged && !int_tag && !float_tag) {
        config_error(d, &n->start_mark, "%s: %sexpected %s, got '%s' tagged %s (write it untagged, or tagged %s)",
                     k->path, what, expected, shown(s, len, buf), tag_shown(n, tag),
                     integer ? "!!int" : "!!float");
        return -1;
    }
    int rc = memchr(s, '\0', len) ? -1 : parse_number(s, integer || int_tag, out);
    if (rc == -1) {
        config_error(d, &n->start_mark, "%s: %sexpected %s, got '%s'", k->path, what,
                     int_tag ? "an integer" : expected, shown(s, len, buf));
    } else if (rc == -2) {
        range_error(d, k, what, shown(s, len, buf), &n->start_mark);
    } else if (rc == -3) {
        const char *digits = s + (s[0] == '+' || s[0] == '-');
        size_t zeros = strspn(digits, "0");
        config_error(d, &n->start_mark,
                     "%s: %sexpected %s, got '%s' (a leading 0 means octal in YAML 1.1; did you mean '%.*s%s'?)",
                     k->path, what, expected, shown(s, len, buf), s[0] == '-', s,
                     digits[zeros] ? digits + zeros : "0");
    }
    return rc == 0 ? 0 : -1;
}

static void set_enum(config_diag *d, const config_key *k, yaml_node_t *n, exp_config *c)
{
    const char *s = scalar_text(d, k, n);
    if (!s)
        return;
    const char *names[CONFIG_MAX_CHOICES];
    const int count = config_choices(k, names, CONFIG_MAX_CHOICES);
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *FIELD_PTR(int, k, c) = i;
            return;
        }
    char range[128], buf[48];
    config_range_text(k, range, sizeof range);
    const char *near = config_closest(s, names, count);
    config_error(d, &n->start_mark, "%s: expected one of %s; got '%s'%s%s%s", k->path, range,
                 shown(s, n->data.scalar.length, buf), near ? " (did you mean '" : "", near ? near : "",
                 near ? "'?)" : "");
}

/* A CONFIG_IDENT_LIST's items (count checked): each stored as text, the
   unused entries zeroed; config_value_check says which are not identifiers. */
static void set_ident_list(config_diag *d, const config_key *k, yaml_node_t *n, yaml_document_t *doc, int count,
                           exp_config *c)
{
    char *names = FIELD_PTR(char, k, c);
    memset(names, 0, k->size);
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        const char *s = item ? scalar_text(d, k, item) : NULL;
        if (!s)
            continue;
        if (item->data.scalar.length >= CONFIG_NAME_MAX)
            config_error(d, &item->start_mark, "%s: item %d: %zu characters; at most %d", k->path, i + 1,
                         item->data.scalar.length, CONFIG_NAME_MAX - 1);
        else
            config_store_string(names + (size_t)i * CONFIG_NAME_MAX, CONFIG_NAME_MAX, s, item->data.scalar.length);
    }
    *(int *)((char *)c + k->count_offset) = count;
}

static void set_list(config_diag *d, const config_key *k, yaml_node_t *n, yaml_document_t *doc, exp_config *c)
{
    if (n->type != YAML_SEQUENCE_NODE) {
        char buf[48];
        if (n->type == YAML_SCALAR_NODE)
            config_error(d, &n->start_mark, "%s: expected %s, got '%s'", k->path, expects(k),
                         shown((const char *)n->data.scalar.value, n->data.scalar.length, buf));
        else
            config_error(d, &n->start_mark, "%s: expected %s, got %s", k->path, expects(k), kind_name(n));
        return;
    }
    bool pair = k->type == CONFIG_FLOAT_PAIR, idents = k->type == CONFIG_IDENT_LIST;
    int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    int cap = pair ? 2 : idents ? (int)(k->size / CONFIG_NAME_MAX) : (int)(k->size / sizeof(int));
    if (pair && count != 2) {
        config_error(d, &n->start_mark, "%s: expected %s, got %d item%s", k->path, expects(k), count,
                     count == 1 ? "" : "s");
        return;
    }
    if (count > cap) {
        config_error(d, &n->start_mark, "%s: at most %d items, got %d", k->path, cap, count);
        return;
    }
    if (idents) {
        set_ident_list(d, k, n, doc, count, c);
        return;
    }
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        char what[32];
        snprintf(what, sizeof what, "item %d: ", i + 1);
        double v;
        if (!item || number_from(d, k, item, !pair, what, &v) != 0)
            continue;
        if (pair)
            FIELD_PTR(double, k, c)[i] = v;
        else
            FIELD_PTR(int, k, c)[i] = (int)v;
    }
    if (!pair) {
        int *ints = FIELD_PTR(int, k, c);
        for (int i = count; i < cap; i++)
            ints[i] = 0;
        *(int *)((char *)c + k->count_offset) = count;
    }
}

int config_value_set(config_diag *d, const config_key *k, yaml_document_t *doc, yaml_node_t *n, exp_config *c)
{
    int before = d->errors;
    const char *s;
    double v;
    switch (k->type) {
    case CONFIG_IDENT:
    case CONFIG_TEXT:
    case CONFIG_PATH:
        if ((s = scalar_text(d, k, n))) {
            size_t len = n->data.scalar.length;
            if (len >= k->size)
                config_error(d, &n->start_mark, "%s: %zu bytes of text; at most %zu", k->path, len,
                             k->size - 1);
            else
                config_store_string(FIELD_PTR(char, k, c), k->size, s, len);
        }
        break;
    case CONFIG_INT:
    case CONFIG_FLOAT:
        if (number_from(d, k, n, k->type == CONFIG_INT, "", &v) == 0) {
            if (k->type == CONFIG_INT)
                *FIELD_PTR(int, k, c) = (int)v;
            else
                *FIELD_PTR(double, k, c) = v;
        }
        break;
    case CONFIG_ENUM:
        set_enum(d, k, n, c);
        break;
    case CONFIG_FLOAT_PAIR:
    case CONFIG_INT_LIST:
    case CONFIG_IDENT_LIST:
        set_list(d, k, n, doc, c);
        break;
    case CONFIG_VARIANTS:
        config_error(d, &n->start_mark, "%s: cannot be set by an override", k->path);
        break;
    }
    if (d->errors == before)
        config_value_check(d, k, c, &n->start_mark);
    return d->errors == before ? 0 : -1;
}

int config_value_set_text(config_diag *d, const config_key *k, const char *text, exp_config *c)
{
    if (!*text) {
        config_error(d, NULL, "%s: no value after '='; expected %s", k->path, expects(k));
        return -1;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        config_error(d, NULL, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    int rc = -1;
    if (config_yaml_load(d, &p, (const unsigned char *)text, strlen(text), &doc) == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (!root)
            config_error(d, NULL, "%s: no value; expected %s", k->path, expects(k));
        else
            rc = config_value_set(d, k, &doc, root, c);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* ---- check ---------------------------------------------------------------- */

static void check_number(config_diag *d, const config_key *k, double v, const char *what,
                         const yaml_mark_t *mark)
{
    if (!in_range(k, v)) {
        char text[32];
        config_format_double(v, text, sizeof text);
        range_error(d, k, what, text, mark);
    }
}

/* Each item an identifier, none twice, the count within the capacity. */
static void check_ident_list(config_diag *d, const config_key *k, const exp_config *c, const yaml_mark_t *mark)
{
    const char *names = FIELD_PTR(const char, k, c);
    const int count = *(const int *)((const char *)c + k->count_offset), cap = (int)(k->size / CONFIG_NAME_MAX);
    if (count < 0 || count > cap) {
        config_error(d, mark, "%s: %d items; at most %d", k->path, count, cap);
        return;
    }
    for (int i = 0; i < count; i++) {
        const char *s = names + (size_t)i * CONFIG_NAME_MAX;
        char buf[48];
        if (!memchr(s, '\0', CONFIG_NAME_MAX) || !config_is_ident(s))
            config_error(d, mark, "%s: item %d: '%s' is not an identifier: use 1 to %d characters of a-z, 0-9, "
                         "'_', '-'", k->path, i + 1, shown(s, strnlen(s, CONFIG_NAME_MAX), buf),
                         CONFIG_NAME_MAX - 1);
        for (int j = 0; j < i; j++)
            if (!strncmp(names + (size_t)j * CONFIG_NAME_MAX, s, CONFIG_NAME_MAX))
                config_error(d, mark, "%s: '%.*s' is listed twice (items %d and %d)", k->path, CONFIG_NAME_MAX - 1,
                             s, j + 1, i + 1);
    }
}

int config_value_check(config_diag *d, const config_key *k, const exp_config *c, const yaml_mark_t *mark)
{
    int before = d->errors;
    const char *s = FIELD_PTR(const char, k, c);
    char buf[48];
    switch (k->type) {
    case CONFIG_IDENT:
    case CONFIG_TEXT:
    case CONFIG_PATH: {
        size_t len = strnlen(s, k->size);
        if (len == k->size)
            config_error(d, mark, "%s: the text is not NUL-terminated within %zu bytes", k->path, k->size);
        else if (k->type == CONFIG_IDENT && !config_is_ident(s) && (len > 0 || (k->flags & CONFIG_REQUIRED)))
            config_error(d, mark,
                         "%s: '%s' is not an identifier: use 1 to %d characters of a-z, 0-9, '_', '-'",
                         k->path, shown(s, len, buf), CONFIG_NAME_MAX - 1);
        else if (len == 0 && (k->type == CONFIG_PATH || (k->flags & CONFIG_REQUIRED)))
            config_error(d, mark, "%s: must not be empty", k->path);
        break;
    }
    case CONFIG_INT:
        check_number(d, k, *FIELD_PTR(const int, k, c), "", mark);
        break;
    case CONFIG_FLOAT:
        check_number(d, k, *FIELD_PTR(const double, k, c), "", mark);
        break;
    case CONFIG_ENUM: {
        const char *names[CONFIG_MAX_CHOICES];
        const int count = config_choices(k, names, CONFIG_MAX_CHOICES), v = *FIELD_PTR(const int, k, c);
        if (v < 0 || v >= count)
            config_error(d, mark, "%s: choice number %d does not exist", k->path, v);
        break;
    }
    case CONFIG_FLOAT_PAIR: {
        const double *p = FIELD_PTR(const double, k, c);
        check_number(d, k, p[0], "lo ", mark);
        check_number(d, k, p[1], "hi ", mark);
        if (d->errors == before && p[0] > p[1]) {
            char lo[32], hi[32];
            config_format_double(p[0], lo, sizeof lo);
            config_format_double(p[1], hi, sizeof hi);
            config_error(d, mark, "%s: lo %s is greater than hi %s; write [lo, hi]", k->path, lo, hi);
        }
        break;
    }
    case CONFIG_INT_LIST: {
        const int *v = FIELD_PTR(const int, k, c);
        int count = *(const int *)((const char *)c + k->count_offset);
        int cap = (int)(k->size / sizeof(int));
        if (count < 0 || count > cap) {
            config_error(d, mark, "%s: %d items; at most %d", k->path, count, cap);
            break;
        }
        for (int i = 0; i < count; i++) {
            char what[32];
            snprintf(what, sizeof what, "item %d: ", i + 1);
            check_number(d, k, v[i], what, mark);
            for (int j = 0; j < i; j++)
                if (v[j] == v[i])
                    config_error(d, mark, "%s: %d is listed twice (items %d and %d)", k->path, v[i], j + 1,
                                 i + 1);
        }
        break;
    }
    case CONFIG_IDENT_LIST:
        check_ident_list(d, k, c, mark);
        break;
    case CONFIG_VARIANTS: /* structure checked by config_check */
        break;
    }
    return d->errors == before ? 0 : -1;
}

/* ---- print ---------------------------------------------------------------- */

static bool plain_safe(const char *s)
{
    if (!*s)
        return false;
    bool first_ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                    *s == '/' || *s == '_' ||
                    ((*s == '-' || *s == '+' || *s == '.') && s[1] >= '0' && s[1] <= '9');
    if (!first_ok)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("._/+-", *s)))
            return false;
    return true;
}

int config_quote(const char *s, char *out, size_t cap)
{
    size_t n = 0;
#define PUT(ch)                                                                                              \
    do {                                                                                                     \
        if (n + 1 >= cap)                                                                                    \
            return -1;                                                                                       \
        out[n++] = (char)(ch);                                                                               \
    } while (0)
    if (plain_safe(s)) {
        for (; *s; s++)
            PUT(*s);
        out[n] = '\0';
        return (int)n;
    }
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc = 0;
        switch (*p) {
        case '"':
            esc = '"';
            break;
        case '\\':
            esc = '\\';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\t':
            esc = 't';
            break;
        case '\r':
            esc = 'r';
            break;
        }
        if (esc) {
            PUT('\\');
            PUT(esc);
        } else if (*p < 0x20 || *p == 0x7f) {
            char hex[5];
            snprintf(hex, sizeof hex, "\\x%02x", *p);
            for (int i = 0; i < 4; i++)
                PUT(hex[i]);
        } else if (p[0] == 0xc2 && p[1] == 0x85) { /* U+0085 NEL: a YAML line break */
            PUT('\\');
            PUT('N');
            p++;
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) { /* U+2028/9 */
            PUT('\\');
            PUT(p[2] == 0xa8 ? 'L' : 'P');
            p += 2;
        } else {
            PUT(*p);
        }
    }
    PUT('"');
    out[n] = '\0';
    return (int)n;
#undef PUT
}

int config_node_text(yaml_document_t *doc, yaml_node_t *n, char *out, size_t cap)
{
    if (n->type == YAML_SCALAR_NODE) {
        if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
            return -1;
        return config_quote((const char *)n->data.scalar.value, out, cap);
    }
    if (n->type != YAML_SEQUENCE_NODE || cap < 3)
        return -1;
    size_t used = 1;
    out[0] = '[';
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (!item || item->type != YAML_SCALAR_NODE)
            return -1;
        if (it != n->data.sequence.items.start) {
            if (used + 2 >= cap)
                return -1;
            out[used++] = ',', out[used++] = ' ';
        }
        int len = config_node_text(doc, item, out + used, cap - used);
        if (len < 0)
            return -1;
        used += (size_t)len;
    }
    if (used + 2 > cap)
        return -1;
    out[used++] = ']';
    out[used] = '\0';
    return (int)used;
}

int config_value_text(const config_key *k, const exp_config *c, char *out, size_t cap)
{
    size_t used = 0;
    char num[32];
    switch (k->type) {
    case CONFIG_IDENT:
    case CONFIG_TEXT:
    case CONFIG_PATH:
        return config_quote(FIELD_PTR(const char, k, c), out, cap);
    case CONFIG_INT:
        used = (size_t)snprintf(out, cap, "%d", *FIELD_PTR(const int, k, c));
        break;
    case CONFIG_FLOAT:
        config_format_double(*FIELD_PTR(const double, k, c), num, sizeof num);
        used = (size_t)snprintf(out, cap, "%s", num);
        break;
    case CONFIG_ENUM: {
        const char *names[CONFIG_MAX_CHOICES];
        const int count = config_choices(k, names, CONFIG_MAX_CHOICES), v = *FIELD_PTR(const int, k, c);
        used = (size_t)snprintf(out, cap, "%s", v >= 0 && v < count ? names[v] : "?");
        break;
    }
    case CONFIG_IDENT_LIST: {
        const char *names = FIELD_PTR(const char, k, c);
        const int count = *(const int *)((const char *)c + k->count_offset);
        used = (size_t)snprintf(out, cap, "[");
        for (int i = 0; i < count && used < cap; i++) {
            char item[2 * CONFIG_NAME_MAX + 8];
            if (config_quote(names + (size_t)i * CONFIG_NAME_MAX, item, sizeof item) < 0)
                return -1;
            used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", item);
        }
        if (used < cap)
            used += (size_t)snprintf(out + used, cap - used, "]");
        break;
    }
    case CONFIG_FLOAT_PAIR:
    case CONFIG_INT_LIST: {
        bool pair = k->type == CONFIG_FLOAT_PAIR;
        int count = pair ? 2 : *(const int *)((const char *)c + k->count_offset);
        used = (size_t)snprintf(out, cap, "[");
        for (int i = 0; i < count && used < cap; i++) {
            if (pair)
                config_format_double(FIELD_PTR(const double, k, c)[i], num, sizeof num);
            else
                snprintf(num, sizeof num, "%d", FIELD_PTR(const int, k, c)[i]);
            used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", num);
        }
        if (used < cap)
            used += (size_t)snprintf(out + used, cap - used, "]");
        break;
    }
    case CONFIG_VARIANTS:
        return -1;
    }
    return used < cap ? (int)used : -1;
}
