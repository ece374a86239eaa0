/* What a model knows about its data: column names, class labels,
 * standardisation, a training summary. It uses nothing of model.c (which
 * calls it). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../data/data.h"
#include "nn.h"

static void free_strings(char **s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < n; i++) dsc_free(s[i]);
    dsc_free(s);
}

void dsc_model_free_meta(dsc_model *m)
{
    free_strings(m->in_names, m->units[0]);
    free_strings(m->classes, m->n_classes);
    dsc_free(m->target);
    dsc_free(m->x_mean);
    dsc_free(m->x_std);
    dsc_free(m->y_mean);
    dsc_free(m->y_std);
    dsc_free(m->summary);
    m->in_names = m->classes = NULL;
    m->target = NULL;
    m->x_mean = m->x_std = m->y_mean = m->y_std = NULL;
    m->summary = NULL;
    m->n_classes = 0;
}

/* A dsc_malloc'd copy of n strings, or NULL (with a message) on failure. */
static char **copy_strings(const char *const *src, size_t n, dsc_status *s)
{
    char **dst = dsc_calloc(n, sizeof *dst);
    *s = DSC_OK;
    for (size_t i = 0; dst && i < n; i++) {
        if (!src[i]) {
            free_strings(dst, n);
            *s = dsc_fail(DSC_EINVAL, "name %zu is NULL", i + 1);
            return NULL;
        }
        if (!(dst[i] = dsc_strdup(src[i]))) {
            free_strings(dst, n);
            dst = NULL;
        }
    }
    if (!dst && !*s) *s = dsc_fail(DSC_ENOMEM, "out of memory for names");
    return dst;
}

static int by_string(const void *a, const void *b);

/* Names a model matches data by: none empty, no two alike. */
static dsc_status check_names(char **names, size_t n, const char *what)
{
    for (size_t k = 0; k < n; k++)
        if (!names[k][0]) return dsc_fail(DSC_EINVAL, "%s %zu is empty", what, k + 1);
    char **sorted = dsc_malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return dsc_fail(DSC_ENOMEM, "out of memory for names");
    memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_string);
    dsc_status s = DSC_OK;
    for (size_t k = 1; k < n && !s; k++)
        if (strcmp(sorted[k - 1], sorted[k]) == 0)
            s = dsc_fail(DSC_EINVAL, "%s '%s' is given twice", what, sorted[k]);
    dsc_free(sorted);
    return s;
}

dsc_status dsc_model_set_input_names(dsc_model *m, const char *const *names)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_model_set_input_names: model is NULL");
    char **copy = NULL;
    dsc_status s = DSC_OK;
    if (names && !(copy = copy_strings(names, m->units[0], &s))) return s;
    /* Data is read by these names: an empty one could not be asked for,
     * two alike could not be told apart. */
    if (copy && (s = check_names(copy, m->units[0], "input name"))) {
        free_strings(copy, m->units[0]);
        return s;
    }
    free_strings(m->in_names, m->units[0]);
    m->in_names = copy;
    return DSC_OK;
}

const char *dsc_model_input_name(const dsc_model *m, size_t j)
{
    return m && m->in_names && j < m->units[0] ? m->in_names[j] : NULL;
}

dsc_status dsc_model_set_target(dsc_model *m, const char *targets)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_model_set_target: model is NULL");
    if (targets && !targets[0]) return dsc_fail(DSC_EINVAL, "the target name is empty");
    char *copy = NULL;
    if (targets && !(copy = dsc_strdup(targets)))
        return dsc_fail(DSC_ENOMEM, "out of memory for a name");
    dsc_free(m->target);
    m->target = copy;
    return DSC_OK;
}

const char *dsc_model_target(const dsc_model *m) { return m ? m->target : NULL; }

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

dsc_status dsc_model_set_classes(dsc_model *m, const char *const *labels, size_t n)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_model_set_classes: model is NULL");
    size_t outs = m->units[m->n_layers];
    if (labels && n && n != outs && !(outs == 1 && n == 2))
        return dsc_fail(DSC_EINVAL,
                        "%zu class labels for a model with %zu outputs (one per output, or two "
                        "for a single sigmoid output)",
                        n, outs);
    char **copy = NULL;
    dsc_status s = DSC_OK;
    if (labels && n && !(copy = copy_strings(labels, n, &s))) return s;
    if (copy && (s = check_names(copy, n, "class label"))) {
        free_strings(copy, n);
        return s;
    }
    free_strings(m->classes, m->n_classes);
    m->classes = copy;
    m->n_classes = copy ? n : 0;
    return DSC_OK;
}

size_t dsc_model_classes(const dsc_model *m) { return m ? m->n_classes : 0; }

const char *dsc_model_class_label(const dsc_model *m, size_t k)
{
    return m && k < m->n_classes ? m->classes[k] : NULL;
}

/* --- standardisation ----------------------------------------------------- */

static dsc_status copy_floats(float **dst, const float *src, size_t n)
{
    float *c = NULL;
    if (src) {
        if (!(c = dsc_malloc(n * sizeof(float))))
            return dsc_fail(DSC_ENOMEM, "out of memory for standardisation");
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(src[i]))
                return dsc_free(c), dsc_fail(DSC_EINVAL,
                                             "standardisation value %zu is not "
                                             "finite",
                                             i + 1);
            c[i] = src[i];
        }
    }
    dsc_free(*dst);
    *dst = c;
    return DSC_OK;
}

dsc_status dsc_model_set_standardization(dsc_model *m, const float *x_mean, const float *x_std,
                                         const float *y_mean, const float *y_std)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_model_set_standardization: model is NULL");
    if (!x_mean != !x_std || !y_mean != !y_std)
        return dsc_fail(DSC_EINVAL, "standardisation needs both a mean and a std");
    size_t in = m->units[0], out = m->units[m->n_layers];
    for (size_t i = 0; x_std && i < in; i++)
        if (!(x_std[i] > 0)) return dsc_fail(DSC_EINVAL, "input std %zu is not positive", i + 1);
    for (size_t i = 0; y_std && i < out; i++)
        if (!(y_std[i] > 0)) return dsc_fail(DSC_EINVAL, "target std %zu is not positive", i + 1);
    dsc_status s;
    if ((s = copy_floats(&m->x_mean, x_mean, in)) || (s = copy_floats(&m->x_std, x_std, in)) ||
        (s = copy_floats(&m->y_mean, y_mean, out)) || (s = copy_floats(&m->y_std, y_std, out)))
        return s;
    return DSC_OK;
}

/* Column means and standard deviations (population), in double. */
static void column_stats(const float *v, size_t n, size_t cols, float *mean, float *std)
{
    for (size_t j = 0; j < cols; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += v[i * cols + j];
        double mu = s / (double)n;
        for (size_t i = 0; i < n; i++) {
            double dv = v[i * cols + j] - mu;
            s2 += dv * dv;
        }
        double sd = sqrt(s2 / (double)n);
        mean[j] = (float)mu;
        /* A constant column carries no information; std 1 keeps it finite. */
        std[j] = sd > 1e-12 ? (float)sd : 1.0f;
    }
}

dsc_status dsc_model_fit_standardization(dsc_model *m, const dsc_dataset *d, int targets_too)
{
    if (!m || !d) return dsc_fail(DSC_EINVAL, "dsc_model_fit_standardization: NULL argument");
    size_t in = m->units[0], out = m->units[m->n_layers];
    if (d->n_in != in || d->n_out != out)
        return dsc_fail(DSC_ESHAPE, "the data does not fit the model's inputs and outputs");
    float *buf = dsc_malloc(2 * (in + out) * sizeof(float));
    if (!buf) return dsc_fail(DSC_ENOMEM, "out of memory for standardisation");
    float *xm = buf, *xs = xm + in, *ym = xs + in, *ys = ym + out;
    const float *x = dsc_dataset_float_x(d);
    if (!x) {
        dsc_free(buf);
        return DSC_ENOMEM;
    }
    /* The statistics of the inputs as the model will see them: after the
     * divisor, which the model records now if it had none. */
    if (m->x_div == 0) m->x_div = dsc_model_divisor_for(m, d);
    float *xd = NULL;
    if (m->x_div != 1.0f) {
        if (!(xd = dsc_malloc(d->n * in * sizeof(float)))) {
            dsc_free(buf);
            return dsc_fail(DSC_ENOMEM, "out of memory for standardisation");
        }
        memcpy(xd, x, d->n * in * sizeof(float));
        for (size_t i = 0; i < d->n * in; i++) xd[i] /= m->x_div;
        x = xd;
    }
    column_stats(x, d->n, in, xm, xs);
    dsc_free(xd);
    /* Class targets are one-hot: they stay as they are. */
    int do_y = targets_too && d->n_classes == 0 && m->n_classes == 0;
    if (do_y) column_stats(d->y, d->n, out, ym, ys);
    dsc_status s = dsc_model_set_standardization(m, xm, xs, do_y ? ym : NULL, do_y ? ys : NULL);
    dsc_free(buf);
    return s;
}

const float *dsc_model_input_mean(const dsc_model *m) { return m ? m->x_mean : NULL; }
const float *dsc_model_input_std(const dsc_model *m) { return m ? m->x_std : NULL; }
const float *dsc_model_target_mean(const dsc_model *m) { return m ? m->y_mean : NULL; }
const float *dsc_model_target_std(const dsc_model *m) { return m ? m->y_std : NULL; }

float dsc_model_divisor_for(const dsc_model *m, const dsc_dataset *d)
{
    if (m->x_div > 0) return m->x_div;
    return d && d->input_div > 0 ? d->input_div : 1.0f;
}

void dsc_model_transform_inputs(const dsc_model *m, float div, float *x, size_t n)
{
    size_t c = m->units[0];
    if (div != 1.0f)
        for (size_t i = 0; i < n * c; i++) x[i] /= div;
    if (!m->x_mean) return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++) x[i * c + j] = (x[i * c + j] - m->x_mean[j]) / m->x_std[j];
}

dsc_status dsc_model_set_input_divisor(dsc_model *m, float divisor)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_model_set_input_divisor: model is NULL");
    /* Below FLT_MIN (subnormal) the division overflows ordinary inputs to
     * infinity; the model file refuses such a divisor too. */
    if (!isfinite(divisor) || !(divisor == 0 || divisor >= FLT_MIN))
        return dsc_fail(DSC_EINVAL,
                        "the input divisor must be finite and at least %.9g (0: none "
                        "recorded), not %.9g",
                        (double)FLT_MIN, (double)divisor);
    m->x_div = divisor == 0 ? 0.0f : divisor; /* not -0 */
    return DSC_OK;
}

float dsc_model_input_divisor(const dsc_model *m) { return m ? m->x_div : 0.0f; }

static void scale_targets(const dsc_model *m, float *y, size_t n)
{
    if (!m->y_mean) return;
    size_t c = m->units[m->n_layers];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++) y[i * c + j] = (y[i * c + j] - m->y_mean[j]) / m->y_std[j];
}

void dsc_model_unscale_outputs(const dsc_model *m, float *y, size_t n)
{
    if (!m->y_mean) return;
    size_t c = m->units[m->n_layers];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++) y[i * c + j] = y[i * c + j] * m->y_std[j] + m->y_mean[j];
}

dsc_status dsc_model_check_data(const dsc_model *m, const dsc_dataset *d, const char *what)
{
    size_t in = m->units[0], out = m->units[m->n_layers];
    /* Class labels are matched by name (dsc_model_prepare_data): a file may
     * hold some of the model's classes, in any order. */
    int by_name = m->n_classes && d->n_classes;
    if (d->n_in == in && (by_name || d->n_out == out)) return DSC_OK;
    if (d->n_in != in)
        return dsc_fail(DSC_ESHAPE, "%s has %zu input columns, the model takes %zu", what, d->n_in,
                        in);
    if (d->n_classes && !m->n_classes)
        return dsc_fail(DSC_ESHAPE,
                        "%s has a target of %zu class labels, but the model has no classes (it "
                        "fits %zu value%s)",
                        what, d->n_classes, out, out == 1 ? "" : "s");
    return dsc_fail(DSC_ESHAPE, "%s has %zu target column%s, the model %zu output%s", what,
                    d->n_out, d->n_out == 1 ? "" : "s", out, out == 1 ? "" : "s");
}

/* Targets as the model's outputs see them: a class data set's one-hot rows
 * over its own classes (in the file's order, perhaps a subset) become rows
 * over the model's classes, or a 0/1 column for a single sigmoid output.
 * *y is NULL when d's targets already are the model's. */
static dsc_status model_targets(const dsc_model *m, const dsc_dataset *d, float **y, size_t *n_out)
{
    *y = NULL;
    *n_out = d->n_out;
    if (!m->n_classes || !d->n_classes) return DSC_OK;
    size_t out = m->units[m->n_layers], nc = d->n_classes;
    size_t *map = dsc_malloc(nc * sizeof *map);
    if (!map) return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
    dsc_status s =
        dsc_dataset_class_map(d, (const char *const *)m->classes, m->n_classes, "the model", map);
    int same = !s && out == nc;
    for (size_t c = 0; same && c < nc; c++) same = map[c] == c;
    if (s || same) {
        dsc_free(map);
        return s;
    }
    if (d->n > SIZE_MAX / sizeof(float) / out || !(*y = dsc_calloc(d->n * out, sizeof(float)))) {
        dsc_free(map);
        return dsc_fail(DSC_ENOMEM, "out of memory for the targets of %zu rows", d->n);
    }
    /* A class absent from the model occurs in no row (the map said so). */
    for (size_t i = 0; i < d->n; i++) {
        size_t k = map[dsc_dataset_row_class(d, i)];
        if (out == 1)
            (*y)[i] = (float)k;
        else
            (*y)[i * out + k] = 1.0f;
    }
    *n_out = out;
    dsc_free(map);
    return DSC_OK;
}

dsc_status dsc_model_prepare_data(const dsc_model *m, const dsc_dataset *d, dsc_dataset **copy,
                                  const dsc_dataset **use)
{
    *copy = NULL;
    *use = d;
    float *y = NULL;
    size_t n_out;
    dsc_status s = model_targets(m, d, &y, &n_out);
    if (s) return s;
    float div = dsc_model_divisor_for(m, d);
    if (!m->x_mean && !m->y_mean && !y && div == 1.0f) return DSC_OK;
    dsc_dataset *v;
    if ((s = dsc_dataset_borrow(d, &v))) {
        dsc_free(y);
        return s;
    }
    if (y) {
        v->y = y;
        v->n_out = n_out;
        v->borrowed &= ~(unsigned)DSC_BORROW_Y;
    }
    size_t n = d->n;
    if (m->x_mean || (div != 1.0f && !d->x8)) {
        const float *x = dsc_dataset_float_x(d);
        float *xs = x ? dsc_malloc(n * d->n_in * sizeof(float)) : NULL;
        if (!xs) {
            dsc_dataset_free(v);
            return dsc_fail(DSC_ENOMEM, "out of memory transforming %zu rows", n);
        }
        memcpy(xs, x, n * d->n_in * sizeof(float));
        dsc_model_transform_inputs(m, div, xs, n);
        v->x = xs;
        v->x8 = NULL;
        v->borrowed &= ~(unsigned)DSC_BORROW_X;
    } else if (div != 1.0f) {
        /* Bytes stay bytes: the gather divides them as it converts (a
         * float copy of d's would be in the wrong units). */
        v->x8_div = div;
        v->x = NULL;
        v->borrowed &= ~(unsigned)DSC_BORROW_X;
    }
    if (m->y_mean && v->n_out == m->units[m->n_layers]) {
        float *ys = dsc_malloc(n * v->n_out * sizeof(float));
        if (!ys) {
            dsc_dataset_free(v);
            return dsc_fail(DSC_ENOMEM, "out of memory standardising %zu rows", n);
        }
        memcpy(ys, v->y, n * v->n_out * sizeof(float));
        if (!(v->borrowed & DSC_BORROW_Y)) dsc_free(v->y);
        v->y = ys;
        v->borrowed &= ~(unsigned)DSC_BORROW_Y;
        scale_targets(m, v->y, n);
    }
    *copy = v;
    *use = v;
    return DSC_OK;
}

/* --- summary ------------------------------------------------------------- */

void dsc_model_set_summary(dsc_model *m, const dsc_model_summary *s)
{
    if (!m) return;
    if (!s) {
        dsc_free(m->summary);
        m->summary = NULL;
        return;
    }
    if (!m->summary && !(m->summary = dsc_malloc(sizeof *m->summary))) return;
    *m->summary = *s;
    /* The names are fixed-size: make sure they end. */
    m->summary->loss[sizeof m->summary->loss - 1] = '\0';
    m->summary->optimizer[sizeof m->summary->optimizer - 1] = '\0';
    m->summary->stop[sizeof m->summary->stop - 1] = '\0';
}

const dsc_model_summary *dsc_model_get_summary(const dsc_model *m) { return m ? m->summary : NULL; }
