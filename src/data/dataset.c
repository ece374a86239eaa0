#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

dsc_status dsc_dataset_alloc(size_t n, size_t n_in, size_t n_out, dsc_dataset **out)
{
    *out = NULL;
    /* No outputs is allowed: data to predict from. */
    if (n == 0 || n_in == 0)
        return dsc_fail(DSC_EINVAL,
                        "a data set needs at least one row and one input "
                        "(got %zu rows, %zu inputs)",
                        n, n_in);
    if (n > SIZE_MAX / sizeof(float) / (n_in > n_out ? n_in : n_out))
        return dsc_fail(DSC_ENOMEM, "data set of %zu rows is too large", n);
    dsc_dataset *d = dsc_calloc(1, sizeof *d);
    if (!d) return dsc_fail(DSC_ENOMEM, "out of memory for a data set");
    d->n = n;
    d->n_in = n_in;
    d->n_out = n_out;
    d->x8_div = d->input_div = 1.0f;
    pthread_mutex_init(&d->x_lock, NULL);
    d->x = dsc_calloc(n * n_in, sizeof(float));
    d->y = dsc_calloc(n * n_out, sizeof(float));
    if (!d->x || !d->y) {
        dsc_dataset_free(d);
        return dsc_fail(DSC_ENOMEM, "out of memory for %zu rows of data", n);
    }
    *out = d;
    return DSC_OK;
}

dsc_status dsc_dataset_from_arrays(const float *x, const float *y, size_t n, size_t n_in,
                                   size_t n_out, dsc_dataset **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_dataset_from_arrays: out is NULL");
    *out = NULL;
    if (!x || !y) return dsc_fail(DSC_EINVAL, "dsc_dataset_from_arrays: x or y is NULL");
    /* As descent.h says: a data set from arrays is for training and
     * scoring, which need targets. */
    if (n_out == 0)
        return dsc_fail(DSC_EINVAL,
                        "dsc_dataset_from_arrays: n_out is 0 (a data set needs targets)");
    dsc_status s = dsc_dataset_alloc(n, n_in, n_out, out);
    if (s) return s;
    if ((s = dsc_check_finite(x, n, n_in, "input")) ||
        (n_out && (s = dsc_check_finite(y, n, n_out, "target")))) {
        dsc_dataset_free(*out);
        *out = NULL;
        return s;
    }
    memcpy((*out)->x, x, n * n_in * sizeof(float));
    if (n_out) memcpy((*out)->y, y, n * n_out * sizeof(float));
    return DSC_OK;
}

dsc_status dsc_dataset_wrap(const float *x, const float *y, size_t n, size_t n_in, size_t n_out,
                            dsc_dataset **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_dataset_wrap: out is NULL");
    *out = NULL;
    if (!x || (!y && n_out)) return dsc_fail(DSC_EINVAL, "dsc_dataset_wrap: x or y is NULL");
    if (n == 0 || n_in == 0)
        return dsc_fail(DSC_EINVAL,
                        "a data set needs at least one row and one input "
                        "(got %zu rows, %zu inputs)",
                        n, n_in);
    if (n > SIZE_MAX / sizeof(float) / (n_in > n_out ? n_in : n_out))
        return dsc_fail(DSC_EINVAL, "data set of %zu rows is too large", n);
    dsc_status s;
    if ((s = dsc_check_finite(x, n, n_in, "input")) ||
        (n_out && (s = dsc_check_finite(y, n, n_out, "target"))))
        return s;
    dsc_dataset *d = dsc_calloc(1, sizeof *d);
    if (!d) return dsc_fail(DSC_ENOMEM, "out of memory for a data set");
    d->n = n;
    d->n_in = n_in;
    d->n_out = n_out;
    pthread_mutex_init(&d->x_lock, NULL);
    /* The library only reads x and y (see data.h): the casts lend them to
     * fields that owned data sets also use for their own arrays. */
    d->x = (float *)(uintptr_t)x;
    static const float no_targets[1];
    d->y = (float *)(uintptr_t)(n_out ? y : no_targets);
    d->borrowed = DSC_BORROW_X | DSC_BORROW_Y;
    *out = d;
    return DSC_OK;
}

static void free_names(char **names, size_t n)
{
    if (!names) return;
    for (size_t i = 0; i < n; i++) dsc_free(names[i]);
    dsc_free(names);
}

void dsc_dataset_free(dsc_dataset *d)
{
    if (!d) return;
    if (!(d->borrowed & DSC_BORROW_X)) dsc_free(d->x);
    if (!(d->borrowed & DSC_BORROW_X8)) dsc_free(d->x8);
    if (!(d->borrowed & DSC_BORROW_Y)) dsc_free(d->y);
    free_names(d->in_names, d->n_in);
    free_names(d->out_names, d->n_out);
    free_names(d->classes, d->n_classes);
    dsc_free(d->target_name);
    dsc_free(d->source);
    free_names(d->kept_names, d->n_kept);
    dsc_free(d->kept_text);
    dsc_free(d->kept_off);
    dsc_free(d->row_line);
    dsc_free(d->tcol);
    pthread_mutex_destroy(&d->x_lock);
    dsc_free(d);
}

size_t dsc_dataset_rows(const dsc_dataset *d) { return d ? d->n : 0; }
size_t dsc_dataset_inputs(const dsc_dataset *d) { return d ? d->n_in : 0; }
size_t dsc_dataset_outputs(const dsc_dataset *d) { return d ? d->n_out : 0; }

size_t dsc_dataset_input_shape(const dsc_dataset *d, size_t dims[3])
{
    dims[0] = dims[1] = dims[2] = 0;
    if (!d) return 0;
    if (d->in_rank == 0) {
        dims[0] = d->n_in;
        return 1;
    }
    for (size_t k = 0; k < d->in_rank; k++) dims[k] = d->in_dims[k];
    return d->in_rank;
}
const float *dsc_dataset_x(const dsc_dataset *d) { return d ? dsc_dataset_float_x(d) : NULL; }

void dsc_dataset_copy_x(const dsc_dataset *d, size_t first, size_t count, float *out)
{
    size_t len = count * d->n_in;
    if (!d->x8) {
        memcpy(out, d->x + first * d->n_in, len * sizeof(float));
        return;
    }
    /* The divisor in a local: read through d, it could alias out, and the
     * loop would reload it for every element instead of vectorising. */
    const unsigned char *b = d->x8 + first * d->n_in;
    const float div = d->x8_div;
    for (size_t i = 0; i < len; i++) out[i] = (float)b[i] / div;
}

const float *dsc_dataset_float_x(const dsc_dataset *d)
{
    /* The cache is not part of what the data set means, so filling it in
     * a const data set is fine; the lock makes it safe from many threads. */
    dsc_dataset *m = (dsc_dataset *)(uintptr_t)d;
    pthread_mutex_lock(&m->x_lock);
    if (!m->x && m->x8) {
        float *x = dsc_malloc(d->n * d->n_in * sizeof(float));
        if (x) {
            for (size_t i = 0; i < d->n * d->n_in; i++) x[i] = (float)d->x8[i] / d->x8_div;
            m->x = x;
        } else {
            dsc_fail(DSC_ENOMEM, "out of memory converting %zu rows of bytes to floats", d->n);
        }
    }
    pthread_mutex_unlock(&m->x_lock);
    return m->x;
}
const float *dsc_dataset_y(const dsc_dataset *d) { return d ? d->y : NULL; }

const char *dsc_dataset_target_name(const dsc_dataset *d) { return d ? d->target_name : NULL; }

float dsc_dataset_input_divisor(const dsc_dataset *d)
{
    return d && d->input_div > 0 ? d->input_div : 1.0f;
}

/* --- where a value came from, and classes by name ------------------------------ */

const char *dsc_dataset_where(const dsc_dataset *d, size_t i, size_t j, char *buf, size_t size)
{
    if (d->source && d->row_line && i < d->n)
        snprintf(buf, size, "%s:%zu:%zu", d->source, d->row_line[i],
                 j < d->n_tcol ? d->tcol[j]
                 : d->n_tcol   ? d->tcol[0]
                               : 0);
    else if (d->source)
        snprintf(buf, size, "%s: item %zu", d->source, i + 1);
    else
        snprintf(buf, size, "row %zu, target %zu", i + 1, j + 1);
    return buf;
}

const char *dsc_dataset_row_where(const dsc_dataset *d, size_t i, char *buf, size_t size)
{
    if (d->source && d->row_line && i < d->n)
        snprintf(buf, size, "%s:%zu", d->source, d->row_line[i]);
    else if (d->source)
        snprintf(buf, size, "%s: item %zu", d->source, i + 1);
    else
        snprintf(buf, size, "row %zu", i + 1);
    return buf;
}

const char *dsc_dataset_target_column(const dsc_dataset *d, size_t j)
{
    if (d->n_classes) return d->target_name ? d->target_name : "?";
    return d->out_names && j < d->n_out ? d->out_names[j] : "?";
}

size_t dsc_dataset_row_class(const dsc_dataset *d, size_t i)
{
    const float *y = d->y + i * d->n_out;
    for (size_t c = 0; c < d->n_out; c++)
        if (y[c] == 1.0f) return c;
    return 0;
}

/* A label as a number, when the whole of it is one. */
static int label_value(const char *s, double *v)
{
    const char *e;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || dsc_parse_double(s, &e, v) != 0) return 0;
    while (*e == ' ' || *e == '\t') e++;
    return *e == '\0' && isfinite(*v);
}

typedef struct {
    const char *s;
    double v;
    size_t idx;
} label_key;

static int by_text(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

static int by_value(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* "a, b, c" (cut with "..." past the buffer) for messages. */
static const char *label_list(const char *const *labels, size_t k, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < k; c++) {
        int n = snprintf(buf + at, size - at, "%s%s", c ? ", " : "", labels[c]);
        if (n < 0 || (size_t)n >= size - at) {
            memcpy(buf + (at < size - 4 ? at : size - 4), "...", 4);
            break;
        }
        at += (size_t)n;
    }
    return buf;
}

dsc_status dsc_dataset_class_map(const dsc_dataset *d, const char *const *labels, size_t k,
                                 const char *whose, size_t *map)
{
    size_t nc = d->n_classes;
    /* Sorted by text, and the numeric ones by value, for binary searches:
     * data sets and models may have tens of thousands of classes. */
    label_key *text = dsc_malloc((k ? k : 1) * sizeof *text);
    label_key *num = dsc_malloc((k ? k : 1) * sizeof *num);
    if (!text || !num) {
        dsc_free(text);
        dsc_free(num);
        return dsc_fail(DSC_ENOMEM, "out of memory matching %zu classes", k);
    }
    size_t n_num = 0;
    for (size_t c = 0; c < k; c++) {
        text[c] = (label_key){labels[c], 0, c};
        double v;
        if (label_value(labels[c], &v)) num[n_num++] = (label_key){labels[c], v, c};
    }
    qsort(text, k, sizeof *text, by_text);
    qsort(num, n_num, sizeof *num, by_value);
    for (size_t c = 0; c < nc; c++) {
        label_key key = {d->classes[c], 0, 0};
        const label_key *hit = k ? bsearch(&key, text, k, sizeof *text, by_text) : NULL;
        if (!hit && label_value(d->classes[c], &key.v)) {
            /* The first label of that value (the lowest index). */
            size_t lo = 0, hi = n_num;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (num[mid].v < key.v)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < n_num && num[lo].v == key.v) hit = &num[lo];
        }
        map[c] = hit ? hit->idx : SIZE_MAX;
    }
    dsc_free(text);
    dsc_free(num);
    int missing = 0;
    for (size_t c = 0; c < nc; c++) missing |= map[c] == SIZE_MAX;
    /* Reported at the first row that holds such a class, if one does (a
     * split keeps every class of the whole file, used or not). */
    for (size_t i = 0; missing && i < d->n; i++) {
        size_t c = dsc_dataset_row_class(d, i);
        if (map[c] != SIZE_MAX) continue;
        char where[512], list[256];
        return dsc_fail(
            DSC_EFORMAT, "%s: label '%s' (column '%s') is not a class of %s (%zu classes: %s)",
            dsc_dataset_where(d, i, 0, where, sizeof where), d->classes[c],
            dsc_dataset_target_column(d, 0), whose, k, label_list(labels, k, list, sizeof list));
    }
    return DSC_OK;
}

dsc_status dsc_dataset_borrow(const dsc_dataset *d, dsc_dataset **out)
{
    dsc_dataset *v = dsc_calloc(1, sizeof *v);
    if (!(*out = v)) return dsc_fail(DSC_ENOMEM, "out of memory for a data set");
    pthread_mutex_init(&v->x_lock, NULL);
    v->n = d->n;
    v->n_in = d->n_in;
    v->n_out = d->n_out;
    v->x8_div = d->x8_div;
    v->input_div = d->input_div;
    /* A byte data set's float copy may not exist yet: the view then makes
     * (and owns) its own when asked. */
    v->x = d->x;
    v->x8 = d->x8;
    v->y = d->y;
    v->borrowed = (d->x ? DSC_BORROW_X : 0) | DSC_BORROW_X8 | DSC_BORROW_Y;
    return DSC_OK;
}
