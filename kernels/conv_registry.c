/* kernels/conv_registry.c — the kernel registry: every kernel, by name, in the
 * order lists of kernels are printed in (see "Adding a kernel" in conv.h). */
#include "kernels/conv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The built-in kernels, then those conv_kernel_register() appends; unused
   slots are NULL.  A new built-in kernel is one line here (and, unless
   kernels/conv.h declares it, `extern const conv_kernel conv_NEW;` above). */
static const conv_kernel *registry[CONV_KERNEL_CAPACITY] = {
    &conv_naive,
    &conv_im2col,
    &conv_winograd,
    &conv_winograd_f2,
};

int conv_kernel_count(void)
{
    int count = 0;
    while (count < CONV_KERNEL_CAPACITY && registry[count])
        count++;
    return count;
}

const conv_kernel *conv_kernel_at(int i)
{
    return i >= 0 && i < conv_kernel_count() ? registry[i] : NULL;
}

__attribute__((format(printf, 3, 4)))
static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "naive, im2col, winograd, winograd_f2" into buf (cut short if it does not fit). */
static const char *kernel_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < conv_kernel_count() && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", registry[i]->name);
    return buf;
}

const conv_kernel *conv_kernel_find(const char *name, char *err, size_t errlen)
{
    for (int i = 0; name && i < conv_kernel_count(); i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    char names[1024];
    set_error(err, errlen, "unknown convolution kernel '%s'; expected one of %s", name ? name : "",
              kernel_names(names, sizeof names));
    return NULL;
}

/* The first member of k that is NULL, by name; NULL when all are set. */
static const char *missing_member(const conv_kernel *k)
{
    const struct {
        const char *member;
        bool set;
    } members[] = {
        { "name", k->name != NULL },
        { "description", k->description != NULL },
        { "supports", k->supports != NULL },
        { "fallback", k->fallback != NULL },
        { "workspace_bytes", k->workspace_bytes != NULL },
        { "forward", k->forward != NULL },
        { "backward_data", k->backward_data != NULL },
        { "backward_weights", k->backward_weights != NULL },
        { "tolerance", k->tolerance != NULL },
    };
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        if (!members[i].set)
            return members[i].member;
    return NULL;
}

static bool is_registered(const conv_kernel *k)
{
    for (int i = 0; i < conv_kernel_count(); i++)
        if (registry[i] == k)
            return true;
    return false;
}

int conv_kernel_register(const conv_kernel *k, char *err, size_t errlen)
{
    const char *missing = k ? missing_member(k) : "kernel";
    if (missing) {
        set_error(err, errlen, "cannot register convolution kernel '%s': its %s is NULL; every member of "
                  "conv_kernel must be set (kernels/conv.h)", k && k->name ? k->name : "?", missing);
        return -1;
    }
    if (k->name[0] == '\0') {
        set_error(err, errlen, "cannot register a convolution kernel with an empty name");
        return -1;
    }
    if (conv_kernel_find(k->name, NULL, 0)) {
        set_error(err, errlen, "cannot register convolution kernel '%s': that name is already registered; "
                  "give the new kernel another name", k->name);
        return -1;
    }
    if (k->fallback != k && !is_registered(k->fallback)) {
        set_error(err, errlen, "cannot register convolution kernel '%s': its fallback '%s' is not registered; "
                  "register the fallback first, or make the kernel its own fallback", k->name,
                  k->fallback->name ? k->fallback->name : "?");
        return -1;
    }
    const int count = conv_kernel_count();
    if (count == CONV_KERNEL_CAPACITY) {
        set_error(err, errlen, "cannot register convolution kernel '%s': the registry is full (it holds "
                  "CONV_KERNEL_CAPACITY = %d kernels, kernels/conv.h)", k->name, CONV_KERNEL_CAPACITY);
        return -1;
    }
    registry[count] = k;
    return 0;
}
