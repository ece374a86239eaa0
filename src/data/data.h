/* Data layer internals. */
#ifndef DSC_DATA_H
#define DSC_DATA_H

#include "../base/base.h"

struct dsc_dataset {
    size_t n, n_in, n_out;
    float *x;          /* n x n_in, row-major */
    float *y;          /* n x n_out; for classification one-hot over the classes */
    char **in_names;   /* n_in column names, or NULL */
    char **out_names;  /* n_out names (for classes: the class labels), or NULL */
    char *target_name; /* the target column(s) as given, comma-separated, or NULL */
    char **classes;    /* class labels in order of first appearance, or NULL */
    size_t n_classes;
};

/* An empty data set of n x n_in / n x n_out zeros (n_out may be 0), names
 * NULL. */
dsc_status dsc_dataset_alloc(size_t n, size_t n_in, size_t n_out, dsc_dataset **out);

#endif
