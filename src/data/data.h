/* Data layer internals. */
#ifndef DSC_DATA_H
#define DSC_DATA_H

#include <pthread.h>

#include "../base/base.h"

struct dsc_dataset {
    size_t n, n_in, n_out;
    /* The shape of one row's inputs when the file says (IDX images: 1 x
     * rows x columns); in_rank 0: plain features. */
    size_t in_rank, in_dims[3];
    /* Inputs are n x n_in floats (x), or bytes (x8, each value x8 / x8_div:
     * IDX images, a quarter of the memory). Code that wants floats for a
     * whole byte data set gets them through dsc_dataset_float_x, which
     * converts once and keeps the result in x; training and evaluation
     * convert row by row instead. */
    float *x;
    unsigned char *x8;
    float x8_div; /* 1 for data as read (values are the bytes); a view divides */
    /* What the reader suggests inputs be divided by (255 for IDX images, 1
     * otherwise): a model that records no divisor of its own takes it. */
    float input_div;
    pthread_mutex_t x_lock; /* guards the conversion of x8 into x */
    float *y;               /* n x n_out; for classification one-hot over the classes */
    char **in_names;        /* n_in column names, or NULL */
    char **out_names;       /* n_out names (for classes: the class labels), or NULL */
    char *target_name;      /* the target column(s) as given, comma-separated, or NULL */
    char **classes;         /* class labels (out_names again), or NULL */
    size_t n_classes;
    /* Where the rows came from, for messages about a value (dsc_dataset_where):
     * the file (CSV, or IDX labels), the line each CSV row starts on (NULL:
     * row i is item i + 1 of the file) and the 1-based file column of each
     * target column (n_tcol of them; one for a class target). */
    char *source;
    size_t *row_line;
    size_t *tcol, n_tcol;
    /* Columns carried through as text (dsc_csv_options.keep): value j of row
     * i is kept_text + kept_off[i * n_kept + j]. */
    char **kept_names;
    char *kept_text;
    size_t *kept_off, n_kept;
    /* DSC_BORROW_* bits: arrays that belong to another data set (a view) or
     * to the caller (dsc_dataset_wrap): never written, never freed. */
    unsigned borrowed;
};

enum { DSC_BORROW_X = 1, DSC_BORROW_X8 = 2, DSC_BORROW_Y = 4 };

/* A view of d's rows: the same n, inputs and targets, borrowed (free the
 * view before d), and no names. Replace an array with one of the view's own
 * by clearing its bit in borrowed. */
dsc_status dsc_dataset_borrow(const dsc_dataset *d, dsc_dataset **out);

/* Where target j of row i was read, into buf: "FILE:LINE:COLUMN" for a CSV
 * data set, "FILE: item N" for IDX, "row N, target J" for arrays. */
const char *dsc_dataset_where(const dsc_dataset *d, size_t i, size_t j, char *buf, size_t size);
/* Where row i was read: "FILE:LINE" for a CSV data set, "FILE: item N"
 * for IDX, "row N" for arrays. */
const char *dsc_dataset_row_where(const dsc_dataset *d, size_t i, char *buf, size_t size);
/* The name of target column j ("?" when unknown). */
const char *dsc_dataset_target_column(const dsc_dataset *d, size_t j);

/* The class of row i of a class data set: where its one-hot 1 is. */
size_t dsc_dataset_row_class(const dsc_dataset *d, size_t i);

/* Matches d's classes to a classifier's labels[0..k): map[c] is the index
 * in labels of d's class c, SIZE_MAX when absent. Labels match by text, or
 * by value when both are numbers ("1.0" is "1"). A row of d whose class is
 * absent fails (DSC_EFORMAT) with the label and where it was read; whose
 * names the classifier in the message ("the model"). */
dsc_status dsc_dataset_class_map(const dsc_dataset *d, const char *const *labels, size_t k,
                                 const char *whose, size_t *map);

/* Rows [first, first + count) of the inputs as floats, into out. */
void dsc_dataset_copy_x(const dsc_dataset *d, size_t first, size_t count, float *out);
/* The inputs as one float array (converted once for byte data sets; NULL
 * with a message when memory runs out). */
const float *dsc_dataset_float_x(const dsc_dataset *d);

/* An empty data set of n x n_in / n x n_out zeros (n_out may be 0), names
 * NULL, input_div 1. */
dsc_status dsc_dataset_alloc(size_t n, size_t n_in, size_t n_out, dsc_dataset **out);

#endif
