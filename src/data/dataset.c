#include <math.h>
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
    if (!x || (!y && n_out)) return dsc_fail(DSC_EINVAL, "dsc_dataset_from_arrays: x or y is NULL");
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
    d->borrowed = 1;
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
    if (!d->borrowed) {
        dsc_free(d->x);
        dsc_free(d->y);
    }
    dsc_free(d->x8);
    free_names(d->in_names, d->n_in);
    free_names(d->out_names, d->n_out);
    free_names(d->classes, d->n_classes);
    dsc_free(d->target_name);
    pthread_mutex_destroy(&d->x_lock);
    dsc_free(d);
}

size_t dsc_dataset_rows(const dsc_dataset *d) { return d ? d->n : 0; }
size_t dsc_dataset_inputs(const dsc_dataset *d) { return d ? d->n_in : 0; }
size_t dsc_dataset_outputs(const dsc_dataset *d) { return d ? d->n_out : 0; }
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
