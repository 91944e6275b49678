/* tools/config/config_schema.c — the experiment schema: one table of keys, in the order
 * config_write prints them, plus look-ups and "did you mean" suggestions.
 * Adding a key is one row here and one field in exp_config; nothing else. */
#include "tools/config/config_internal.h"
#include "tools/config/text.h"
#include "kernels/conv.h"
#include "models/model.h"
#include "models/train_math.h"

#include <stdlib.h>
#include <string.h>

/* Choices come from the registries, in their order: a new kernel, model or
   schedule is a choice here without a line in this file. */
static const char *model_choice(int i)
{
    const model_type *t = model_type_at(i);
    return t ? t->name : NULL;
}
static const char *kernel_choice(int i)
{
    const conv_kernel *k = conv_kernel_at(i);
    return k ? k->name : NULL;
}
static const char *bool_choice(int i)
{
    static const char *const names[] = {"false", "true"};
    return i >= 0 && i < 2 ? names[i] : NULL;
}
static const char *axis_choice(int i)
{
    static const char *const names[] = {"train_images", "epochs"};
    return i >= 0 && i < 2 ? names[i] : NULL;
}
const char *config_peer_name(int i)
{
    static const char *const names[] = {"none", "cnn", "resnet20"}; /* tools/bench/torch_accuracy.py's models */
    return i >= 0 && i < 3 ? names[i] : NULL;
}
static const char *index_choice(int i)
{
    static const char *const names[] = {"none", "base", "all"};
    return i >= 0 && i < 3 ? names[i] : NULL;
}

#define FIELD(m) offsetof(exp_config, m), sizeof(((exp_config *)0)->m)
#define INT_MAX_31 2147483647.0

const config_key config_schema[] = {
    {"name", CONFIG_IDENT, FIELD(run.name), 0, 0, 0, CONFIG_REQUIRED | CONFIG_NOT_IN_VARIANT, NULL, NULL,
     "the experiment's identifier; names its results folder"},
    {"description", CONFIG_TEXT, FIELD(description), 0, 0, 0, CONFIG_REQUIRED | CONFIG_NOT_IN_VARIANT, NULL,
     NULL, "prose: what the experiment is and what it asks; opens its report"},
    {"model.name", CONFIG_ENUM, FIELD(run.model.type), 0, 0, 0, 0, model_choice, "cnn", "architecture"},
    {"model.blocks", CONFIG_INT, FIELD(run.model.blocks), 0, 1, 18, 0, NULL, "3",
     "resnet: basic blocks per stage (3 = resnet20)"},
    {"model.width", CONFIG_INT, FIELD(run.model.width), 0, 4, 256, 0, NULL, "16",
     "resnet: channels of the first stage, doubled per stage"},
    {"model.dropout", CONFIG_FLOAT, FIELD(run.model.dropout), 0, 0, 0.95, 0, NULL, "0.5",
     "cnn: dropout before the last dense layer"},
    {"model.conv_init", CONFIG_ENUM, FIELD(run.model.conv_init), 0, 0, 0, 0, conv_init_name, "he_normal",
     "convolution weights at the start: he_normal (std sqrt(2/fan_in)) or uniform (±1/sqrt(fan_in), "
     "PyTorch's default)"},
    {"kernel", CONFIG_ENUM, FIELD(run.kernel), 0, 0, 0, 0, kernel_choice, "winograd",
     "convolution algorithm (a declared fallback serves what it cannot)"},
    {"task", CONFIG_ENUM, FIELD(run.task), 0, 0, 0, 0, run_task_name, "classify",
     "classify: the ten classes; rotation: the self-supervised pretext task (which quarter turn was "
     "applied; no label used; evaluated on the validation images, never the test set)"},
    {"data.dir", CONFIG_PATH, FIELD(run.data.dir), 0, 0, 0, 0, NULL, "/usr/share/datasets/fashion-mnist",
     "folder of the Fashion-MNIST IDX files"},
    {"data.train_images", CONFIG_INT, FIELD(run.data.train_images), 0, 0, 60000, 0, NULL, "0",
     "training images used; 0 = all that are not held out"},
    {"data.validation_images", CONFIG_INT, FIELD(run.data.validation_images), 0, 0, 30000, 0, NULL, "5000",
     "images held out of the training set for validation"},
    {"data.test_images", CONFIG_INT, FIELD(run.data.test_images), 0, 0, 10000, 0, NULL, "0",
     "test images evaluated; 0 = all"},
    {"data.per_class", CONFIG_INT, FIELD(run.data.per_class), 0, 0, 5000, 0, NULL, "0",
     "label budget: a class-balanced subset of this many training images per class; 0 = off"},
    {"augmentation.rotation", CONFIG_FLOAT, FIELD(run.augmentation.rotation), 0, 0, 180, 0, NULL, "0",
     "random rotation, ± degrees; 0 = off"},
    {"augmentation.shift", CONFIG_FLOAT, FIELD(run.augmentation.shift), 0, 0, 14, 0, NULL, "0",
     "random shift, ± pixels; 0 = off"},
    {"augmentation.scale", CONFIG_FLOAT_PAIR, FIELD(run.augmentation.scale), 0, 0.25, 4, 0, NULL, "[1, 1]",
     "random scale factor range [lo, hi]; [1, 1] = off"},
    {"augmentation.flip", CONFIG_FLOAT, FIELD(run.augmentation.flip), 0, 0, 1, 0, NULL, "0",
     "probability of a horizontal flip; 0 = off"},
    {"augmentation.crop_padding", CONFIG_INT, FIELD(run.augmentation.crop_padding), 0, 0, 14, 0, NULL, "0",
     "pad-and-crop: zero padding of this many pixels, then a random 28x28 crop (whole-pixel offsets); 0 = off"},
    {"augmentation.erasing", CONFIG_FLOAT, FIELD(run.augmentation.erasing), 0, 0, 1, 0, NULL, "0",
     "random erasing (Zhong et al.): probability that a rectangle of the image is set to the data set's mean; "
     "0 = off"},
    {"augmentation.erasing_area", CONFIG_FLOAT_PAIR, FIELD(run.augmentation.erasing_area), 0, 0, 1, CONFIG_LO_OPEN,
     NULL, "[0.02, 0.4]", "random erasing: the rectangle's area as a fraction of the image's, [lo, hi]"},
    {"augmentation.erasing_aspect", CONFIG_FLOAT_PAIR, FIELD(run.augmentation.erasing_aspect), 0, 0.05, 20, 0, NULL,
     "[0.3, 3.3]", "random erasing: the rectangle's height over width, [lo, hi]"},
    {"augmentation.sampling", CONFIG_ENUM, FIELD(run.augmentation.sampling), 0, 0, 0, 0, aug_sampling_name, "bilinear",
     "how the warp reads the source: bilinear interpolation or the nearest pixel"},
    {"training.epochs", CONFIG_INT, FIELD(run.training.epochs), 0, 1, 1000, 0, NULL, "10",
     "passes over the training images"},
    {"training.batch", CONFIG_INT, FIELD(run.training.batch), 0, 1, 4096, 0, NULL, "128",
     "images per optimiser step"},
    {"training.optimizer", CONFIG_ENUM, FIELD(run.training.optimizer), 0, 0, 0, 0, optimizer_name, "adam",
     "adam, or sgd with momentum"},
    {"training.learning_rate", CONFIG_FLOAT, FIELD(run.training.learning_rate), 0, 0, 10, CONFIG_LO_OPEN, NULL,
     "1e-3", "step size (peak, when scheduled)"},
    {"training.beta1", CONFIG_FLOAT, FIELD(run.training.beta1), 0, 0, 1, CONFIG_HI_OPEN, NULL, "0.9",
     "Adam: decay of the first-moment estimate"},
    {"training.beta2", CONFIG_FLOAT, FIELD(run.training.beta2), 0, 0, 1, CONFIG_HI_OPEN, NULL, "0.999",
     "Adam: decay of the second-moment estimate"},
    {"training.epsilon", CONFIG_FLOAT, FIELD(run.training.epsilon), 0, 0, 1, CONFIG_LO_OPEN, NULL, "1e-8",
     "Adam: added to the root of the second moment"},
    {"training.momentum", CONFIG_FLOAT, FIELD(run.training.momentum), 0, 0, 1, CONFIG_HI_OPEN, NULL, "0.9",
     "SGD: momentum"},
    {"training.nesterov", CONFIG_ENUM, FIELD(run.training.nesterov), 0, 0, 0, 0, bool_choice, "false",
     "SGD: Nesterov's momentum"},
    {"training.weight_decay", CONFIG_FLOAT, FIELD(run.training.weight_decay), 0, 0, 1, 0, NULL, "0",
     "weight decay: decoupled for Adam (AdamW), L2 (added to the gradient) for SGD; 0 = off"},
    {"training.decay_norm_and_bias", CONFIG_ENUM, FIELD(run.training.decay_norm_and_bias), 0, 0, 0, 0,
     bool_choice, "true", "false: no weight decay on batch norm's scale and shift nor on the dense layers' biases"},
    {"training.label_smoothing", CONFIG_FLOAT, FIELD(run.training.label_smoothing), 0, 0, 1, CONFIG_HI_OPEN, NULL,
     "0", "the target puts this mass evenly on all classes, the rest on the label; 0 = off"},
    {"training.schedule", CONFIG_ENUM, FIELD(run.training.schedule), 0, 0, 0, 0, lr_schedule_name, "cosine",
     "learning-rate schedule after the warm-up"},
    {"training.warmup_epochs", CONFIG_FLOAT, FIELD(run.training.warmup_epochs), 0, 0, 1000, 0, NULL, "0",
     "linear warm-up from 0, in epochs; 0 = none"},
    {"training.ema_decay", CONFIG_FLOAT, FIELD(run.training.ema_decay), 0, 0, 1, CONFIG_HI_OPEN, NULL, "0",
     "evaluate an exponential moving average of the weights and batch-norm statistics, updated after every "
     "step with this decay (less over the first steps: min(decay, (1 + t)/(10 + t))); 0 = off, the weights "
     "themselves"},
    {"evaluation.tta", CONFIG_ENUM, FIELD(run.evaluation.tta), 0, 0, 0, 0, run_tta_name, "none",
     "test-time augmentation, the mean of the softmaxes of: none (the image), flip (and its mirror image), "
     "flip_shift (and the image moved one pixel each way)"},
    {"init.from", CONFIG_TEXT, FIELD(run.init.from), 0, 0, 0, 0, NULL, NULL,
     "start from a pretrained trunk: an experiment's name (the checkpoint of its run of seed init.from_seed "
     "under the results root) or a checkpoint path; the classifier head starts fresh; empty = random "
     "initialisation"},
    {"init.from_seed", CONFIG_INT, FIELD(run.init.from_seed), 0, 0, INT_MAX_31, 0, NULL, "0",
     "when init.from names an experiment: which seed's run of it to start from"},
    {"init.from_seeds", CONFIG_INT, FIELD(run.init.from_seeds), 0, 0, 64, 0, NULL, "0",
     "when init.from names an experiment: spread the runs over that many of its seeds, the run of seed s "
     "starting from its seed s mod init.from_seeds (in place of init.from_seed); 0 = every run from "
     "init.from_seed"},
    {"init.freeze_epochs", CONFIG_INT, FIELD(run.init.freeze_epochs), 0, 0, 1000, 0, NULL, "0",
     "epochs during which only the head is updated"},
    {"init.trunk_lr_scale", CONFIG_FLOAT, FIELD(run.init.trunk_lr_scale), 0, 0, 1, CONFIG_LO_OPEN, NULL, "1",
     "the trunk's learning rate as a fraction of the head's"},
    {"init.probe", CONFIG_ENUM, FIELD(run.init.probe), 0, 0, 0, 0, bool_choice, "false",
     "linear probe: the pretrained trunk stays fixed for every epoch, running in evaluation mode (its "
     "batch norm on the pretrained statistics, no dropout), and only the classifier head trains"},
    {"seed", CONFIG_INT, FIELD(run.seed), 0, 0, INT_MAX_31, 0, NULL, "0",
     "keys every random stream: init, shuffling, augmentation, dropout"},
    {"threads", CONFIG_INT, FIELD(run.threads), 0, 1, 64, 0, NULL, "2",
     "worker threads; results do not depend on it"},
    {"seeds", CONFIG_INT_LIST, FIELD(seeds), offsetof(exp_config, n_seeds), 0, INT_MAX_31, 0, NULL, "[]",
     "seeds to run for mean ± spread; [] = just 'seed'"},
    {"variants", CONFIG_VARIANTS, FIELD(variants), offsetof(exp_config, n_variants), 0, 0, CONFIG_NO_OVERRIDE,
     NULL, NULL, "ablation: named sets of overrides of the keys above"},
    {"report.index", CONFIG_ENUM, FIELD(report.index), 0, 0, 0, CONFIG_FILE_ONLY, index_choice, "none",
     "the index's headline table: none, the base configuration's row, or all variants' rows side by side"},
    {"report.series", CONFIG_IDENT_LIST, FIELD(report.series), offsetof(exp_config, report.n_series), 0, 0,
     CONFIG_FILE_ONLY, NULL, "[]",
     "variant-name prefixes that form series (\"scratch\": scratch_600, scratch_all, ...), plotted against "
     "training images"},
    {"report.series_axis", CONFIG_ENUM, FIELD(report.series_axis_epochs), 0, 0, 0, CONFIG_FILE_ONLY, axis_choice,
     "train_images", "what the series are plotted against: train_images (the mean training images per epoch "
     "of each variant's runs) or epochs; log scale either way"},
    {"report.pytorch_peer", CONFIG_ENUM, FIELD(report.pytorch_peer), 0, 0, 0, CONFIG_FILE_ONLY, config_peer_name,
     "none", "the model whose PyTorch runs on this very recipe (`make peers`, ROOT/peers/pytorch/MODEL/) the report "
     "sets beside the base configuration's: none, cnn or resnet20"},
    {"report.versus", CONFIG_IDENT, FIELD(report.versus), 0, 0, 0, CONFIG_FILE_ONLY, NULL, NULL,
     "another experiment's name (experiments/NAME.yaml beside this file): the findings compare its base "
     "configuration's runs with this one's (the versus.* placeholders of tools/report/report_versus.c)"},
    {"report.confusion", CONFIG_IDENT_LIST, FIELD(report.confusion), offsetof(exp_config, report.n_confusion), 0, 0,
     CONFIG_FILE_ONLY, NULL, "[]", "the variants whose confusion matrices the report draws; [] = the first"},
};
const int config_schema_len = (int)(sizeof config_schema / sizeof config_schema[0]);
_Static_assert(sizeof config_schema / sizeof config_schema[0] <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

const char *config_model_name(const run_config *r)
{
    const char *name = model_choice(r->model.type);
    return name ? name : "?";
}
const char *config_kernel_name(const run_config *r)
{
    const char *name = kernel_choice(r->kernel);
    return name ? name : "?";
}

int config_choices(const config_key *k, const char **out, int cap)
{
    int n = 0;
    while (n < cap && (out[n] = k->choice(n)))
        n++;
    return n;
}

const config_key *config_schema_find(const char *path)
{
    for (int i = 0; i < config_schema_len; i++)
        if (strcmp(config_schema[i].path, path) == 0)
            return &config_schema[i];
    return NULL;
}

bool config_schema_is_section(const char *path)
{
    size_t n = strlen(path);
    for (int i = 0; i < config_schema_len; i++)
        if (strncmp(config_schema[i].path, path, n) == 0 && config_schema[i].path[n] == '.')
            return true;
    return false;
}

void config_range_text(const config_key *k, char *out, size_t cap)
{
    if (k->type == CONFIG_ENUM) {
        size_t used = 0;
        out[0] = '\0';
        const char *names[CONFIG_MAX_CHOICES];
        const int n = config_choices(k, names, CONFIG_MAX_CHOICES);
        for (int i = 0; i < n && used < cap; i++)
            used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", names[i]);
        return;
    }
    char lo[32], hi[32];
    config_format_double(k->lo, lo, sizeof lo);
    config_format_double(k->hi, hi, sizeof hi);
    snprintf(out, cap, "%c%s, %s%c", k->flags & CONFIG_LO_OPEN ? '(' : '[', lo, hi,
             k->flags & CONFIG_HI_OPEN ? ')' : ']');
}

/* ---- suggestions ---------------------------------------------------------- */

int text_edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 100 || lb > 100)
        return 1000;
    int row[101];
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* "lr" for "learning_rate" (initials of the words), or "warm" for "warmup_epochs"
   (a prefix of at least three characters). */
static bool is_abbreviation(const char *given, const char *cand)
{
    size_t n = strlen(given);
    if (n >= 3 && strncmp(cand, given, n) == 0)
        return true;
    if (n < 2 || !strchr(cand, '_'))
        return false;
    size_t i = 0;
    for (const char *p = cand; *p; p++)
        if (p == cand || p[-1] == '_') {
            if (i >= n || given[i] != *p)
                return false;
            i++;
        }
    return i == n;
}

const char *config_closest(const char *given, const char *const *cands, int n)
{
    const char *best = NULL;
    int best_d = 4;
    int len = (int)strlen(given);
    for (int i = 0; i < n; i++) {
        int d = text_edit_distance(given, cands[i]);
        if (d < best_d && d < len) {
            best_d = d;
            best = cands[i];
        }
    }
    for (int i = 0; i < n && !best; i++)
        if (is_abbreviation(given, cands[i]))
            best = cands[i];
    return best;
}

static const char *last_part(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* The component of `path` right after `section` ("" = top level), into out. */
static bool child_of(const char *path, const char *section, char *out, size_t cap)
{
    size_t n = strlen(section);
    if (n) {
        if (strncmp(path, section, n) != 0 || path[n] != '.')
            return false;
        path += n + 1;
    }
    size_t len = strcspn(path, ".");
    if (len >= cap)
        return false;
    memcpy(out, path, len);
    out[len] = '\0';
    return true;
}

void config_schema_suggest_child(const char *section, const char *given, char *out, size_t cap)
{
    char names[CONFIG_MAX_KEYS][64];
    const char *cands[CONFIG_MAX_KEYS];
    int n = 0;
    for (int i = 0; i < config_schema_len; i++)
        if (child_of(config_schema[i].path, section, names[n], sizeof names[n])) {
            cands[n] = names[n];
            n++;
        }
    const char *best = config_closest(given, cands, n);
    if (best) {
        snprintf(out, cap, "%s", best);
        return;
    }
    /* a key of another section, e.g. 'epochs' at the top for 'training.epochs' */
    for (int i = 0; i < config_schema_len; i++)
        cands[i] = last_part(config_schema[i].path);
    best = config_closest(given, cands, config_schema_len);
    out[0] = '\0';
    for (int i = 0; best && i < config_schema_len; i++)
        if (cands[i] == best)
            snprintf(out, cap, "%s", config_schema[i].path);
}

void config_schema_suggest_path(const char *given, char *out, size_t cap)
{
    const char *cands[CONFIG_MAX_KEYS];
    for (int i = 0; i < config_schema_len; i++)
        cands[i] = config_schema[i].path;
    const char *best = config_closest(given, cands, config_schema_len);
    if (!best) {
        /* same section, nearest leaf ("training.lr"), or any section's leaf ("epochs") */
        const char *dot = strrchr(given, '.');
        char section[64] = "";
        if (dot && (size_t)(dot - given) < sizeof section)
            memcpy(section, given, (size_t)(dot - given)), section[dot - given] = '\0';
        const char *leaves[CONFIG_MAX_KEYS];
        int idx[CONFIG_MAX_KEYS], n = 0;
        for (int i = 0; i < config_schema_len; i++) {
            const char *p = config_schema[i].path;
            size_t sl = strlen(section);
            bool same = dot ? strncmp(p, section, sl) == 0 && p[sl] == '.' && !strchr(p + sl + 1, '.') : true;
            if (same) {
                leaves[n] = last_part(p);
                idx[n++] = i;
            }
        }
        const char *leaf = config_closest(last_part(given), leaves, n);
        for (int j = 0; leaf && j < n; j++)
            if (leaves[j] == leaf)
                best = config_schema[idx[j]].path;
    }
    snprintf(out, cap, "%s", best ? best : "");
}
