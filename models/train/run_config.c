/* models/train/run_config.c — the names of a run's choices (see the header). */
#include "models/train/run_config.h"

#include <stddef.h>

const char *run_task_name(int task)
{
    static const char *const names[RUN_TASK_COUNT] = { "classify", "rotation" };
    return task >= 0 && task < RUN_TASK_COUNT ? names[task] : NULL;
}

const char *run_tta_name(int tta)
{
    static const char *const names[RUN_TTA_COUNT] = { "none", "flip", "flip_shift" };
    return tta >= 0 && tta < RUN_TTA_COUNT ? names[tta] : NULL;
}

int run_tta_views(int tta)
{
    static const int views[RUN_TTA_COUNT] = { 1, 2, 6 };
    return tta >= 0 && tta < RUN_TTA_COUNT ? views[tta] : 1;
}
