/* The model file format (docs/FORMAT.md). Internal: tests and the fuzz
 * seeds need the encoded bytes without going through a file. */
#ifndef DSC_MODEL_FILE_H
#define DSC_MODEL_FILE_H

#include "../base/base.h"

#define DSC_MODEL_FORMAT_VERSION 2u
/* Larger files are refused on load, and models that would need one are
 * refused on save, so a corrupt length can never ask for absurd memory. */
#define DSC_MODEL_FILE_MAX ((size_t)1 << 31)

/* The file image of m in a dsc_malloc'd buffer (*bytes, *size); free it with
 * dsc_free. DSC_EINVAL for a model that could not be loaded back (a
 * non-finite parameter) or is too large for the format. */
dsc_status dsc_model_encode(const dsc_model *m, uint8_t **bytes, size_t *size);

/* Writes data to PATH.tmp.XXXXXX next to path, syncs it and renames it over
 * path: path holds either its old content or all of the new. */
dsc_status dsc_write_file_atomic(const char *path, const uint8_t *data, size_t size);

#endif
