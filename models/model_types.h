/* models/model_types.h — inside models/: the model registry's compiled-in rows.
 * They are defined beside the tables they name (models/tables.c); everyone
 * else reaches them, and the types registered at run time, through
 * model_type_at and model_type_find (models/model.h). */
#ifndef PROBADOR_MODELS_MODEL_TYPES_H
#define PROBADOR_MODELS_MODEL_TYPES_H

#include "models/model.h"

extern const model_type model_types_builtin[];
extern const int model_types_builtin_count;

#endif
