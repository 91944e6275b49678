/* TEMP shim until the registries merge */
#ifndef TMP_SHIM_H
#define TMP_SHIM_H
#include "models/model.h"
typedef struct model_type { const char *name; } model_type;
const model_type *model_type_at(int i);
void model_desc_canonical(model_desc *d);
#endif
