/* tools/report/template.c — fill {{name}} placeholders (see the header). */
#include "tools/report/template.h"

#include "data/alloc.h"
#include "tools/config/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *copy(const char *s)
{
    const size_t n = strlen(s) + 1;
    return memcpy(checked_malloc(n), s, n);
}

void tmpl_set(tmpl_vars *v, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *value = checked_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(value, (size_t)n + 1, fmt, ap);
    va_end(ap);
    for (int i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], key) == 0) {
            free(v->values[i]);
            v->values[i] = value;
            return;
        }
    if (v->count == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->keys = checked_realloc(v->keys, (size_t)v->cap * sizeof *v->keys);
        v->values = checked_realloc(v->values, (size_t)v->cap * sizeof *v->values);
    }
    v->keys[v->count] = copy(key);
    v->values[v->count++] = value;
}

const char *tmpl_get(const tmpl_vars *v, const char *key)
{
    for (int i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], key) == 0)
            return v->values[i];
    return NULL;
}

void tmpl_free(tmpl_vars *v)
{
    for (int i = 0; i < v->count; i++)
        free(v->keys[i]), free(v->values[i]);
    free(v->keys);
    free(v->values);
    *v = (tmpl_vars){ 0 };
}

int tmpl_render(const char *template_path, const tmpl_vars *v, FILE *out)
{
    FILE *f = fopen(template_path, "r");
    if (!f) {
        fprintf(stderr, "%s: error: cannot read template: %s\n", template_path, strerror(errno));
        return -1;
    }
    char line[65536];
    int line_no = 0, status = 0;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        char *p = line;
        for (char *open; (open = strstr(p, "{{")); ) {
            char *close = strstr(open + 2, "}}");
            if (!close) {
                fprintf(stderr, "%s:%d:%d: error: '{{' without a closing '}}'\n", template_path, line_no,
                        (int)(open - line) + 1);
                status = -1;
                break;
            }
            fwrite(p, 1, (size_t)(open - p), out);
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(close - open - 2), open + 2);
            const char *val = tmpl_get(v, key);
            if (val) {
                fputs(val, out);
            } else {
                int best = -1, best_d = 1 << 30;
                for (int i = 0; i < v->count; i++) {
                    int d = text_edit_distance(key, v->keys[i]);
                    if (d < best_d) best_d = d, best = i;
                }
                fprintf(stderr, "%s:%d:%d: error: unknown placeholder '{{%s}}'", template_path, line_no,
                        (int)(open - line) + 1, key);
                if (best >= 0 && best_d <= 3)
                    fprintf(stderr, " (did you mean '{{%s}}'?)", v->keys[best]);
                fputc('\n', stderr);
                status = -1;
            }
            p = close + 2;
        }
        fputs(p, out);
    }
    fclose(f);
    return status;
}
