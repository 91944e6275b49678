/* models/checkpoint.h — a versioned, self-checking binary snapshot of training.
 *
 * Layout (little-endian), version 1 (version 2 below):
 *   "PROBCKPT" · u32 version · u32 header bytes · header · tensor table · data · u32 CRC-32
 *   header: model_desc fields (name[32], blocks, width, dropout, classes, input c,h,w),
 *           u32 epochs completed, u64 optimiser steps taken, u64 seed, u32 history bytes
 *   tensor table: u32 count, then per layer with parameters or state:
 *           name[32], u64 parameter count, u64 state count
 *   data:   parameters, BN running statistics, Adam m, Adam v (float32), then the
 *           history text (the per-epoch CSV rows written so far)
 * Version 2 is version 1 with the exponential moving average of the weights
 * (training.ema_decay) after Adam v: its parameters, then its BN statistics.  A
 * run without an average writes version 1, the same bytes as before version 2
 * existed.  The fine-tuning loader takes a version-2 file's trunk from the
 * average: it is the model that run evaluated.
 * The generator position is (seed, epochs, steps): every random stream is keyed
 * by those, so nothing else is needed to resume exactly.
 * The CRC-32 (zlib) covers every byte before it.  Loading checks magic,
 * version, size, CRC, and that the model and every tensor match; any mismatch
 * is an error naming the file and what differs.
 * A CRC guards against damage, not against a file written to attack: readers
 * open only regular files (never blocking on a FIFO), refuse a file larger
 * than the model can need before reading it, check every count and size in
 * the file against the file's size and the model before using it, and refuse
 * parameters, statistics or moments that are not finite.
 */
#ifndef PROBADOR_MODELS_CHECKPOINT_H
#define PROBADOR_MODELS_CHECKPOINT_H

#include <stdint.h>

#include "models/model.h"

enum { CHECKPOINT_VERSION = 2 };

typedef struct checkpoint_info {
    uint32_t epochs;        /* completed */
    uint64_t steps;         /* optimiser steps taken */
    uint64_t seed;
    char *history;          /* malloc'd on load (free it); may be NULL on save */
    /* Save only: the weights' moving average, num_params parameters then
       num_state statistics (version 2), or NULL (version 1). */
    const float *ema;
} checkpoint_info;

/* Writes atomically (temporary file, fsync, rename).  0 or -1 with err. */
int checkpoint_save(const char *path, const model *m, const checkpoint_info *info, char *err, size_t errlen);
/* Reads into an already built model of the same description.  Parts selects
   what is restored: CKPT_WEIGHTS (parameters and BN statistics) and/or
   CKPT_OPTIMISER (Adam moments, and the moving average into ema).  ema: NULL
   for a run that keeps no moving average, else num_params + num_state floats;
   with CKPT_OPTIMISER the file must hold an average exactly when ema is not
   NULL.  0 or -1 with err. */
enum { CKPT_WEIGHTS = 1, CKPT_OPTIMISER = 2, CKPT_ALL = 3 };
int checkpoint_load(const char *path, model *m, int parts, float *ema, checkpoint_info *info, char *err,
                    size_t errlen);

/* Fine-tuning: loads every layer's parameters and BN statistics except the
   classifier head's (checkpoint_head_layer) from a checkpoint of the same
   architecture whose number of classes may differ; the head keeps what it has
   (a fresh initialisation).  Adam state is not loaded.  *crc = the file's CRC-32,
   an identity for staleness checks.  An incompatible checkpoint (another
   architecture, depth or width) is an error naming both shapes.  0 or -1 with err. */
int checkpoint_load_trunk(const char *path, model *m, uint32_t *crc, char *err, size_t errlen);
/* The CRC-32 stored in a checkpoint's last four bytes, read without loading
   it (an identity for staleness checks); refuses what is not a regular file.
   0 or -1 with err. */
int checkpoint_file_crc(const char *path, uint32_t *crc, char *err, size_t errlen);
/* Index of the classifier head: the last layer with parameters (-1: none). */
int checkpoint_head_layer(const model *m);

#endif
