/* models/train/run_config.c — the names of a run's choices (see the header). */
#include "models/train/run_config.h"

#include <stddef.h>

const char *run_task_name(int task)
{
    static const char *const names[RUN_TASK_COUNT] = { "classify", "rotation" };
    return task >= 0 && task < RUN_TASK_COUNT ? names[task] : NULL;
}
