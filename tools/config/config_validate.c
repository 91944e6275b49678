/* tools/config/config_validate.c — checks of a whole configuration: every key against
 * its schema row, the constraints between keys, and the variants (valid unique
 * names, overrides that name real keys with valid values). */
#include "tools/config/config_internal.h"
#include "data/alloc.h"
#include "models/train_math.h"

#include <stdlib.h>
#include <string.h>

#define TRAINING_SET_IMAGES 60000 /* Fashion-MNIST */

static const yaml_mark_t *mark_of(const config_marks *m, const char *path)
{
    const config_key *k = config_schema_find(path);
    int i = k ? (int)(k - config_schema) : -1;
    return m && i >= 0 && m->seen[i] ? &m->key[i] : NULL;
}

/* Constraints between keys; errors at the later key's mark. */
static void cross_check(const run_config *r, config_diag *d, const config_marks *m)
{
    int train = r->data.train_images, held = r->data.validation_images;
    if (train > 0 && train + held > TRAINING_SET_IMAGES)
        config_error(d, mark_of(m, "data.train_images"),
                     "data.train_images %d + data.validation_images %d exceed the %d training images", train,
                     held, TRAINING_SET_IMAGES);
    if (r->data.per_class > 0 && train > 0)
        config_error(d, mark_of(m, "data.per_class"),
                     "data.per_class %d and data.train_images %d both limit the training set; set one of them to 0",
                     r->data.per_class, train);
    if (r->data.per_class > 0 && r->task == RUN_TASK_ROTATION)
        config_error(d, mark_of(m, "data.per_class"),
                     "data.per_class: a label budget means nothing to the rotation task, which uses no labels");
    if (held == 0)
        config_error(d, mark_of(m, "data.validation_images"), "data.validation_images: %s; hold some out",
                     r->task == RUN_TASK_ROTATION
                         ? "the rotation task is evaluated on the validation images (never the test set)"
                         : "0 leaves no images for epochs.csv's val_loss and val_accuracy, which would be nan");
    if (r->init.freeze_epochs > 0 && !r->init.from[0])
        config_error(d, mark_of(m, "init.freeze_epochs"),
                     "init.freeze_epochs: there is no pretrained trunk to freeze; set init.from");
    if (r->init.from_seed > 0 && !r->init.from[0])
        config_error(d, mark_of(m, "init.from_seed"), "init.from_seed: there is no init.from whose seed it picks");
    if (r->init.from_seeds > 0 && (!r->init.from[0] || config_init_is_path(r->init.from)))
        config_error(d, mark_of(m, "init.from_seeds"),
                     "init.from_seeds: it picks among the seeds of the experiment init.from names; set init.from "
                     "to an experiment's name");
    if (r->init.probe && !r->init.from[0])
        config_error(d, mark_of(m, "init.probe"), "init.probe: there is no pretrained trunk to probe; set init.from");
    if (r->init.probe && r->init.freeze_epochs > 0)
        config_error(d, mark_of(m, "init.freeze_epochs"),
                     "init.freeze_epochs: a linear probe keeps the trunk fixed for every epoch already; set it to 0");
    if (r->init.freeze_epochs > r->training.epochs)
        config_error(d, mark_of(m, "init.freeze_epochs"), "init.freeze_epochs %d exceeds training.epochs %d",
                     r->init.freeze_epochs, r->training.epochs);
    const int available = r->data.per_class > 0 ? 10 * r->data.per_class
                          : train > 0              ? train
                                                   : TRAINING_SET_IMAGES - held;
    if (r->training.batch > available)
        config_error(d, mark_of(m, "training.batch"), "training.batch %d exceeds the %d training images",
                     r->training.batch, available);
    if (r->training.warmup_epochs > r->training.epochs)
        config_error(d, mark_of(m, "training.warmup_epochs"),
                     "training.warmup_epochs %g exceeds training.epochs %d", r->training.warmup_epochs,
                     r->training.epochs);
    if (r->augmentation.scale[0] > r->augmentation.scale[1])
        config_error(d, mark_of(m, "augmentation.scale"), "augmentation.scale: lo is greater than hi");
    if (r->evaluation.tta != RUN_TTA_NONE && r->task == RUN_TASK_ROTATION)
        config_error(d, mark_of(m, "evaluation.tta"),
                     "evaluation.tta: the rotation task's label changes when the image is mirrored; use none");
    if (r->training.nesterov && strcmp(optimizer_name(r->training.optimizer), "sgd") != 0)
        config_error(d, mark_of(m, "training.nesterov"), "training.nesterov: Nesterov's momentum is SGD's; set "
                                                         "training.optimizer: sgd, or nesterov: false");
}

/* Structure of the variants, and that each override applies to the defaults. */
static void check_variants(const exp_config *c, config_diag *d, const config_marks *m)
{
    if (c->n_variants < 0 || c->n_variants > CONFIG_MAX_VARIANTS) {
        config_error(d, mark_of(m, "variants"), "variants: %d variants; at most %d", c->n_variants,
                     CONFIG_MAX_VARIANTS);
        return;
    }
    exp_config *scratch = checked_malloc(sizeof *scratch);
    for (int i = 0; i < c->n_variants; i++) {
        const config_variant *v = &c->variants[i];
        const yaml_mark_t *at = m ? &m->variant[i] : NULL;
        if (!config_is_ident(v->name) || strnlen(v->name, sizeof v->name) == sizeof v->name) {
            config_error(d, at, "variants: item %d: the name must be an identifier", i + 1);
            continue;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(c->variants[j].name, v->name) == 0)
                config_error(d, at, "variants: the name '%s' is used twice", v->name);
        if (strnlen(v->description, sizeof v->description) == sizeof v->description)
            config_error(d, at, "variants: '%s': the description is not NUL-terminated", v->name);
        config_defaults(scratch);
        memcpy(scratch->variants, c->variants, sizeof scratch->variants);
        scratch->n_variants = c->n_variants;
        config_apply_variant_at(scratch, i, d); /* errors name the variant and override */
    }
    free(scratch);
}

/* The report: section names variants that exist: each series prefix gathers
   at least one variant ("scratch" → scratch_600, ...), each confusion entry is
   a variant's name. */
static void check_report(const exp_config *c, config_diag *d, const config_marks *m)
{
    char known[CONFIG_MAX_VARIANTS * (CONFIG_NAME_MAX + 2) + 8] = "";
    for (int i = 0; i < c->n_variants; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", c->variants[i].name);
    for (int s = 0; s < c->report.n_series; s++) {
        const char *prefix = c->report.series[s];
        const size_t n = strlen(prefix);
        int members = 0;
        for (int i = 0; i < c->n_variants; i++)
            members += !strncmp(c->variants[i].name, prefix, n) && c->variants[i].name[n] == '_';
        if (!members)
            config_error(d, mark_of(m, "report.series"),
                         "report.series: no variant is named '%s_...'; the variants are: %s", prefix,
                         c->n_variants ? known : "none");
    }
    for (int s = 0; s < c->report.n_confusion; s++) {
        int found = 0;
        for (int i = 0; i < c->n_variants; i++)
            found |= !strcmp(c->variants[i].name, c->report.confusion[s]);
        if (!found)
            config_error(d, mark_of(m, "report.confusion"),
                         "report.confusion: there is no variant '%s'; the variants are: %s", c->report.confusion[s],
                         c->n_variants ? known : "none");
    }
}

int config_check(const exp_config *c, config_diag *d, const config_marks *marks, bool variants_on_base)
{
    int before = d->errors;
    for (int i = 0; i < config_schema_len; i++) {
        const config_key *k = &config_schema[i];
        config_value_check(d, k, c, marks && marks->seen[i] ? &marks->key[i] : NULL);
    }
    if (d->errors != before)
        return -1;
    cross_check(&c->run, d, marks);
    check_variants(c, d, marks);
    check_report(c, d, marks);
    if (!variants_on_base || d->errors != before)
        return d->errors == before ? 0 : -1;
    exp_config *with = checked_malloc(sizeof *with);
    config_marks *at = checked_malloc(sizeof *at);
    for (int i = 0; i < c->n_variants; i++) {
        memcpy(with, c, sizeof *with);
        if (config_apply_variant_at(with, i, d) != 0)
            continue;
        for (int j = 0; j < CONFIG_MAX_KEYS; j++) { /* point every complaint at the variant */
            at->seen[j] = marks != NULL;
            if (marks)
                at->key[j] = marks->variant[i];
        }
        d->variant = c->variants[i].name;
        cross_check(&with->run, d, at);
        d->variant = NULL;
    }
    free(with);
    free(at);
    return d->errors == before ? 0 : -1;
}

int config_validate(const exp_config *c, const char *path)
{
    char label[CONFIG_NAME_MAX + 16];
    snprintf(label, sizeof label, "experiment '%.*s'", CONFIG_NAME_MAX - 1, c->run.name);
    config_diag d = {.file = path ? path : label};
    return config_check(c, &d, NULL, false);
}

bool config_init_is_path(const char *from)
{
    const size_t len = strlen(from);
    return strchr(from, '/') || (len > 4 && strcmp(from + len - 4, ".bin") == 0);
}
