/* tools/config/config_internal.h — shared by the tools/config_*.c files only, not part of
 * the public API: the schema table and its look-ups (config_schema.c), the error
 * reporter and the value parser/printer (config_value.c), and the checks
 * (config_validate.c).
 *
 * Values are set from libyaml nodes only: an override's text is itself parsed as a
 * YAML document, so files, variants and the command line share one code path. */
#ifndef PROBADOR_TOOLS_CONFIG_INTERNAL_H
#define PROBADOR_TOOLS_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <yaml.h>

#include "tools/config/config.h"

typedef enum config_type {
    CONFIG_IDENT,      /* char[size]: [a-z0-9_-], 1..size-1 characters */
    CONFIG_TEXT,       /* char[size]: any text up to size-1 bytes, no NUL */
    CONFIG_PATH,       /* char[size]: non-empty text up to size-1 bytes */
    CONFIG_INT,        /* int in [lo, hi] */
    CONFIG_FLOAT,      /* double in lo..hi (ends open per flags) */
    CONFIG_ENUM,       /* int-sized enum: index into choices */
    CONFIG_FLOAT_PAIR, /* double[2] = [lo, hi], each in the range, lo <= hi */
    CONFIG_INT_LIST,   /* int[size / sizeof(int)] each in [lo, hi]; count at count_offset */
    CONFIG_IDENT_LIST, /* char[n][CONFIG_NAME_MAX] identifiers, n = size / CONFIG_NAME_MAX; count at count_offset */
    CONFIG_VARIANTS,   /* the variants array: files only, never overridden */
} config_type;

enum {
    CONFIG_REQUIRED = 1 << 0,       /* must be given in the file */
    CONFIG_LO_OPEN = 1 << 1,        /* lo itself is excluded */
    CONFIG_HI_OPEN = 1 << 2,        /* hi itself is excluded */
    CONFIG_NO_OVERRIDE = 1 << 3,    /* not settable by override or variant */
    CONFIG_NOT_IN_VARIANT = 1 << 4, /* settable from the command line, not by a variant */
    CONFIG_FILE_ONLY = 1 << 5,      /* the file's, not a run's: not in a run's config.yaml, not by a variant */
};

typedef struct config_key {
    const char *path; /* dotted: "training.learning_rate" */
    config_type type;
    size_t offset, size; /* of the field in exp_config */
    size_t count_offset; /* CONFIG_INT_LIST: the int holding the count */
    double lo, hi;
    unsigned flags;
    const char *(*choice)(int i); /* CONFIG_ENUM: the i-th choice's name, NULL past the last (a registry) */
    const char *def;            /* default as YAML text; NULL = zero/empty */
    const char *doc;            /* one line, without the range (derived) */
} config_key;

#define CONFIG_MAX_KEYS 64
#define CONFIG_MAX_CHOICES 64 /* of one CONFIG_ENUM key */
extern const config_key config_schema[];
extern const int config_schema_len;

/* An enum key's choices into out[cap], in order; returns their count. */
int config_choices(const config_key *k, const char **out, int cap);
/* The key with exactly this dotted path, or NULL. */
const config_key *config_schema_find(const char *path);
/* True when `path` names a section, i.e. some key starts with "path.". */
bool config_schema_is_section(const char *path);
/* The candidate nearest to `given` (edit distance <= 3, or an abbreviation such as
   "lr" for "learning_rate"), or NULL. */
const char *config_closest(const char *given, const char *const *cands, int n);
/* Suggestion for an unknown key `given` met inside `section` ("" at the top) of a
   file: a sibling's name, else a full dotted path; "" if nothing is close. */
void config_schema_suggest_child(const char *section, const char *given, char *out, size_t cap);
/* Suggestion for an unknown dotted path (overrides, variants); "" if none. */
void config_schema_suggest_path(const char *given, char *out, size_t cap);
/* "[1, 4096]", "(0, 10]", "cnn, resnet" ... for messages and comments. */
void config_range_text(const config_key *k, char *out, size_t cap);

/* Where errors go and what they are prefixed with. */
typedef struct config_diag {
    const char *file;     /* the YAML file, or NULL */
    const char *override; /* the "key=value" being applied, or NULL */
    const char *variant;  /* the variant being checked or applied, or NULL */
    int errors;
} config_diag;
/* Prints "FILE:LINE:COL: error: ..." (mark given and a file), "FILE: error: ...",
   or "override 'A': error: ...", adding "in variant 'V': " when set; counts it. */
void config_error(config_diag *d, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for a libyaml parser failure (syntax error, bad encoding). */
void config_yaml_error(config_diag *d, const yaml_parser_t *p);

/* Bounds on what the loader reads: an experiment file is a few KB and nests at
   most 6 deep (variants > item > set > section > list), so these are generous. */
#define CONFIG_MAX_FILE_BYTES (1 << 20)
#define CONFIG_MAX_DEPTH 64
#define CONFIG_MAX_MAPPING_KEYS 256 /* keys in one mapping; the schema has far fewer */
/* The style config_yaml_load gives a plain scalar written with an explicit
   string tag ("!!str 1", "! 1"): text, never a number. */
#define CONFIG_STR_TAGGED YAML_ANY_SCALAR_STYLE
/* yaml_parser_load of the next document from p, whose input is `text`: first
   rejects nesting deeper than CONFIG_MAX_DEPTH anywhere in the text, and marks
   explicitly string-tagged plain scalars CONFIG_STR_TAGGED.  0 with *doc to
   delete, or -1 after an error. */
int config_yaml_load(config_diag *d, yaml_parser_t *p, const unsigned char *text, size_t len, yaml_document_t *doc);

/* Parses node `n` as key k's value into c (errors at the node); then checks it. */
int config_value_set(config_diag *d, const config_key *k, yaml_document_t *doc, yaml_node_t *n,
                     exp_config *c);
/* The same from YAML flow text (an override's right-hand side). */
int config_value_set_text(config_diag *d, const config_key *k, const char *text, exp_config *c);
/* Range, length, charset and choice checks of the value stored in c. */
int config_value_check(config_diag *d, const config_key *k, const exp_config *c, const yaml_mark_t *mark);
/* Key k's value in c as YAML flow text (what config_write prints, except for
   multi-line text).  Returns the length, or -1 if it does not fit. */
int config_value_text(const config_key *k, const exp_config *c, char *out, size_t cap);
/* A scalar or a sequence of scalars as canonical YAML flow text (plain when safe,
   otherwise double-quoted with escapes); -1 if it does not fit or nests deeper. */
int config_node_text(yaml_document_t *doc, yaml_node_t *n, char *out, size_t cap);
/* One string as canonical YAML flow text; -1 if it does not fit. */
int config_quote(const char *s, char *out, size_t cap);
/* Shortest decimal text that reads back as exactly v. */
void config_format_double(double v, char *out, size_t cap);
/* True if `s` is 1..CONFIG_NAME_MAX-1 characters of [a-z0-9_-]. */
bool config_is_ident(const char *s);
/* Copies text into a char[cap] field, zero-filling the rest (so structs compare
   equal with memcmp). */
void config_store_string(char *field, size_t cap, const char *s, size_t len);

/* Where each key and variant was given in the file, for messages. */
typedef struct config_marks {
    bool seen[CONFIG_MAX_KEYS];
    yaml_mark_t key[CONFIG_MAX_KEYS];
    yaml_mark_t variant[CONFIG_MAX_VARIANTS];
} config_marks;
/* config_validate with locations (marks may be NULL): every key's checks, the
   cross-key ones, the variants' structure and overrides; with variants_on_base,
   also the cross-key checks of the base with each variant applied (config_load). */
int config_check(const exp_config *c, config_diag *d, const config_marks *marks, bool variants_on_base);
/* Applies one "key=value" override to c; on error c is unchanged. */
int config_override_with(exp_config *c, const char *assignment, config_diag *d);
/* Applies one variant (by index) to c; errors go to d. */
int config_apply_variant_at(exp_config *c, int index, config_diag *d);

#endif
