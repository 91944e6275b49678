/* tests/fuzz/fuzz_config.c — the experiment configuration (tools/config_*.c):
 * YAML through libyaml, "a.b=value" overrides, validation, and config_write.
 *
 * Input: the YAML document, then up to FUZZ_OVERRIDES override strings, each
 * after a NUL byte ("yaml\0seed=3\0training.epochs=2").  As `probador run`
 * does: config_load, each override with config_override, then config_validate.
 * A configuration that validates is also written with config_write, loaded
 * back, and written again: the two texts must be identical (config.h: the
 * written file re-loads to the same configuration). */
#include "tests/fuzz/fuzz_common.h"
#include "tools/config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FUZZ_OVERRIDES = 4 };

/* config_write's text (free it), or NULL on a write error. */
static char *written(const exp_config *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    const int rc = config_write(c, f);
    fclose(f);
    if (rc != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Write, load back, write again: the same text, or a broken contract. */
static void check_round_trip(const exp_config *c)
{
    exp_config *again = malloc(sizeof *again);
    size_t len1 = 0, len2 = 0;
    char *first = written(c, &len1);
    fuzz_check(again && first, "config", "config_write failed on a valid configuration");
    fuzz_check(config_load(fuzz_file(1, first, len1), again) == 0, "config",
               "config_write's output does not load back");
    char *second = written(again, &len2);
    fuzz_check(second && len1 == len2 && memcmp(first, second, len1) == 0, "config",
               "config_write's output loads back to another configuration");
    free(first), free(second), free(again);
}

int fuzz_config_one(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    const size_t yaml_len = nul ? (size_t)(nul - data) : size, rest_len = size - yaml_len;
    exp_config *c = malloc(sizeof *c);
    char *rest = malloc(rest_len + 1); /* "\0override\0override...", then one more NUL */
    if (!c || !rest)
        abort();
    memcpy(rest, data + yaml_len, rest_len);
    rest[rest_len] = '\0';

    int rc = config_load(fuzz_file(0, data, yaml_len), c);
    if (rc == 0 && nul) {
        const char *s = rest + 1;
        for (int i = 0; i < FUZZ_OVERRIDES && s < rest + rest_len; i++, s += strlen(s) + 1)
            if (config_override(c, s))
                rc = -1;
    }
    if (rc == 0)
        rc = config_validate(c, NULL);
    if (rc == 0)
        check_round_trip(c);
    fuzz_check(rc == 0 || rc == -1, "config", "returned neither 0 nor -1");
    free(rest), free(c);
    return rc;
}

FUZZ_ENTRY(fuzz_config_one)
