/* tools/config/config_differences.c — config_run_differences: do two
 * configurations train the same run?  (--if-stale and --resume ask.) */
#include "tools/config/config_internal.h"

#include <stddef.h>
#include <string.h>

/* Keys of the run (not the file's prose, seeds, variants or report) that decide
   results: all but the thread count. */
static bool decides_results(const config_key *k)
{
    const size_t run_lo = offsetof(exp_config, run), run_hi = run_lo + sizeof(run_config);
    return k->offset >= run_lo && k->offset < run_hi && strcmp(k->path, "threads") != 0;
}

int config_run_differences(const exp_config *before, const exp_config *now, char *out, size_t len)
{
    return config_run_differences_as(before, " then", now, " now", out, len);
}

int config_run_differences_as(const exp_config *before, const char *before_as, const exp_config *now,
                              const char *now_as, char *out, size_t len)
{
    run_config a, b; /* byte copies: the padding stays as config_defaults zeroed it */
    memcpy(&a, &before->run, sizeof a);
    memcpy(&b, &now->run, sizeof b);
    a.threads = b.threads = 0;
    int differ = memcmp(&a, &b, sizeof a) != 0;
    if (out && len)
        out[0] = '\0';
    if (!differ || !out)
        return differ;
    differ = 0;
    for (int i = 0; i < config_schema_len; i++) {
        const config_key *k = &config_schema[i];
        char va[CONFIG_PATH_MAX + 8], vb[CONFIG_PATH_MAX + 8];
        if (!decides_results(k) || config_value_text(k, before, va, sizeof va) < 0 ||
            config_value_text(k, now, vb, sizeof vb) < 0 || !strcmp(va, vb))
            continue;
        const size_t at = strlen(out);
        snprintf(out + at, len - at, "%s%s: %s%s, %s%s", differ++ ? "; " : "", k->path, va, before_as, vb, now_as);
    }
    if (!differ) /* values that print alike */
        differ = snprintf(out, len, "a value that config.yaml prints alike") > 0;
    return differ;
}
