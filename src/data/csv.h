/* CSV reader internals: an entry point that parses from memory, for the
 * fuzzer and for tests that want to force tiny read chunks. */
#ifndef DSC_CSV_H
#define DSC_CSV_H

#include "data.h"

/* The read chunk dsc_dataset_from_csv uses. */
#define DSC_CSV_CHUNK ((size_t)1 << 20)

/* Parses n bytes at buf as a CSV file named name (for messages), exactly as
 * dsc_dataset_from_csv parses a file. The text is fed to the parser in
 * pieces of chunk bytes (0: DSC_CSV_CHUNK), so a small chunk exercises the
 * code that stitches records across reads. */
dsc_status dsc_csv_parse_memory(const char *name, const char *buf, size_t n, size_t chunk,
                                const dsc_csv_options *o, dsc_dataset **out);

/* Columns by their exact header names, for reading data the way a model
 * does: no index or list syntax, so a name with commas or of digits only is
 * itself. NULL arrays leave the choice to the options. */
typedef struct {
    const char *const *features; /* used when o->features is NULL */
    size_t n_features;
    const char *const *targets; /* used when o->target is NULL */
    size_t n_targets;
} dsc_csv_names;

/* dsc_dataset_from_csv with names (NULL: none). */
dsc_status dsc_csv_read(const char *path, const dsc_csv_options *o, const dsc_csv_names *names,
                        dsc_dataset **out);

#endif
