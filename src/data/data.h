/* Data layer internals. */
#ifndef DSC_DATA_H
#define DSC_DATA_H

#include <pthread.h>

#include "../base/base.h"

struct dsc_dataset {
    size_t n, n_in, n_out;
    /* Inputs are n x n_in floats (x), or bytes (x8, each value x8 / x8_div:
     * IDX images, a quarter of the memory). Code that wants floats for a
     * whole byte data set gets them through dsc_dataset_float_x, which
     * converts once and keeps the result in x; training and evaluation
     * convert row by row instead. */
    float *x;
    unsigned char *x8;
    float x8_div;
    pthread_mutex_t x_lock; /* guards the conversion of x8 into x */
    float *y;               /* n x n_out; for classification one-hot over the classes */
    /* x and y belong to the caller (dsc_dataset_wrap): never written, never
     * freed. Everything that builds a data set from another copies rows. */
    int borrowed;
    char **in_names;   /* n_in column names, or NULL */
    char **out_names;  /* n_out names (for classes: the class labels), or NULL */
    char *target_name; /* the target column(s) as given, comma-separated, or NULL */
    char **classes;    /* class labels in order of first appearance, or NULL */
    size_t n_classes;
};

/* Rows [first, first + count) of the inputs as floats, into out. */
void dsc_dataset_copy_x(const dsc_dataset *d, size_t first, size_t count, float *out);
/* The inputs as one float array (converted once for byte data sets; NULL
 * with a message when memory runs out). */
const float *dsc_dataset_float_x(const dsc_dataset *d);

/* An empty data set of n x n_in / n x n_out zeros (n_out may be 0), names
 * NULL. */
dsc_status dsc_dataset_alloc(size_t n, size_t n_in, size_t n_out, dsc_dataset **out);

#endif
