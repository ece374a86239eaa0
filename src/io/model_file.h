/* The model file format (docs/FORMAT.md). Internal: tests and the fuzz
 * seeds need the encoded bytes without going through a file. */
#ifndef DSC_MODEL_FILE_H
#define DSC_MODEL_FILE_H

#include "../base/base.h"

/* 2: the LAYR chunk (convolution, pooling, flatten layers and shaped
 * inputs) and the XFRM chunk (the input divisor); version 1 files read as
 * before (no divisor recorded). */
#define DSC_MODEL_FORMAT_VERSION 2u
/* Larger files are refused on load, and models that would need one are
 * refused on save, so a corrupt length can never ask for absurd memory. */
#define DSC_MODEL_FILE_MAX ((size_t)1 << 31)

/* The file image of m in a dsc_malloc'd buffer (*bytes, *size); free it with
 * dsc_free. DSC_EINVAL for a model that could not be loaded back (a
 * non-finite parameter) or is too large for the format. */
dsc_status dsc_model_encode(const dsc_model *m, uint8_t **bytes, size_t *size);

/* The file image of a checkpoint: m's, with the training state st. */
dsc_status dsc_checkpoint_encode(const dsc_model *m, const dsc_train_state *st, uint8_t **bytes,
                                 size_t *size);

/* The bytes of a model file (or checkpoint) at path ("-": standard input),
 * read in pieces and stopped as soon as they cannot be one, or past
 * l->max_bytes (DSC_ELIMIT); dsc_malloc'd. */
dsc_status dsc_model_file_read(const char *path, const dsc_limits *l, uint8_t **bytes,
                               size_t *size);

/* dsc_checkpoint_load with limits (NULL: the defaults). */
dsc_status dsc_checkpoint_load_limits(const char *path, const dsc_limits *l, dsc_model **m,
                                      dsc_train_state *st);

#endif
