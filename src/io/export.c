/* What the exporters share: options, names, and measuring an export
 * against the float model on data. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../data/data.h"
#include "../nn/nn.h"
#include "export.h"

void dsc_export_options_init(dsc_export_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->name = "model";
    o->weights = DSC_EXPORT_FLOAT;
    o->scale = DSC_SCALE_PER_UNIT;
}

int dsc_export_c_calls(const char *text)
{
    static const char *const keywords[] = {"return", "if", "for", "while", "switch", "sizeof"};
    for (const char *c = text; *c;) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_')) {
            c++;
            continue;
        }
        const char *id = c;
        while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
               *c == '_')
            c++;
        size_t len = (size_t)(c - id);
        const char *after = c;
        while (*after == ' ') after++;
        if (*after != '(') continue;
        int keyword = 0;
        for (size_t k = 0; k < DSC_COUNT_OF(keywords); k++)
            keyword |= strlen(keywords[k]) == len && strncmp(id, keywords[k], len) == 0;
        if (!keyword) return 1;
    }
    return 0;
}

int dsc_export_valid_name(const char *name)
{
    if (!name || !*name || strlen(name) > 63) return 0;
    /* A leading '_' starts names the C standard reserves (with a capital or
     * a second '_'): refused altogether, which is simpler to explain. */
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return 0;
    return 1;
}

/* The class of one row of outputs, as descent eval and predict pick it: a
 * single output with two labels is a sigmoid (class 1 from 0.5), otherwise
 * the first largest output (NaN never wins). */
static size_t class_of(const float *y, size_t n, int sigmoid)
{
    if (sigmoid) return y[0] >= 0.5f;
    size_t best = 0;
    float bv = -INFINITY;
    int found = 0;
    for (size_t j = 0; j < n; j++)
        if (y[j] > bv || (!found && y[j] == bv)) {
            bv = y[j];
            best = j;
            found = 1;
        }
    return best;
}

#define MEASURE_BATCH 256

dsc_status dsc_export_measure(const dsc_model *m, const dsc_dataset *d, dsc_export_rows_fn rows_fn,
                              const void *ctx, dsc_export_report *r)
{
    size_t n_in = m->units[0], n_out = m->units[m->n_layers], k = m->n_classes;
    int sigmoid = n_out == 1 && k == 2;
    dsc_status s = dsc_model_check_data(m, d, "the data");
    if (s) return s;
    if (k && !sigmoid && k != n_out)
        return dsc_fail(DSC_EINVAL, "the model has %zu class labels for %zu outputs", k, n_out);
    /* A class data set's labels are matched to the model's by name; other
     * targets are the model's outputs as they are. */
    size_t *map = NULL;
    if (k && d->n_classes) {
        if (!(map = dsc_malloc(d->n_classes * sizeof *map)))
            return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
        if ((s = dsc_dataset_class_map(d, (const char *const *)m->classes, k, "the model", map))) {
            dsc_free(map);
            return s;
        }
    }
    float *x = dsc_malloc(MEASURE_BATCH * n_in * sizeof(float));
    float *ye = dsc_malloc(2 * MEASURE_BATCH * n_out * sizeof(float));
    float *yf = ye ? ye + MEASURE_BATCH * n_out : NULL;
    if (!x || !ye) s = dsc_fail(DSC_ENOMEM, "out of memory measuring an export");
    double right = 0, right_f = 0, se = 0, se_f = 0, maxd = 0, sumd = 0;
    size_t changes = 0;
    for (size_t i = 0; i < d->n && !s; i += MEASURE_BATCH) {
        size_t rows = d->n - i < MEASURE_BATCH ? d->n - i : MEASURE_BATCH;
        dsc_dataset_copy_x(d, i, rows, x);
        if ((s = rows_fn(m, ctx, x, rows, ye)) || (s = dsc_model_predict(m, x, rows, yf))) break;
        for (size_t row = 0; row < rows; row++) {
            const float *t = d->y + (i + row) * d->n_out, *e = ye + row * n_out,
                        *f = yf + row * n_out;
            for (size_t j = 0; j < n_out; j++) {
                double diff = fabs((double)e[j] - f[j]);
                maxd = diff > maxd || isnan(diff) ? diff : maxd;
                sumd += diff;
                if (k) continue;
                se += ((double)e[j] - t[j]) * ((double)e[j] - t[j]);
                se_f += ((double)f[j] - t[j]) * ((double)f[j] - t[j]);
            }
            if (k) {
                size_t want =
                    map ? map[dsc_dataset_row_class(d, i + row)] : class_of(t, n_out, sigmoid);
                size_t ce = class_of(e, n_out, sigmoid), cf = class_of(f, n_out, sigmoid);
                right += ce == want;
                right_f += cf == want;
                changes += ce != cf;
            }
        }
    }
    dsc_free(x);
    dsc_free(ye);
    dsc_free(map);
    if (s) return s;
    r->rows = d->n;
    r->max_abs_diff = maxd;
    r->mean_abs_diff = sumd / ((double)d->n * (double)n_out);
    r->class_changes = changes;
    if (k) {
        r->accuracy = right / (double)d->n;
        r->float_accuracy = right_f / (double)d->n;
    } else {
        r->mse = se / ((double)d->n * (double)n_out);
        r->float_mse = se_f / ((double)d->n * (double)n_out);
    }
    return DSC_OK;
}

/* --- text ------------------------------------------------------------------ */

void dsc_text_putn(dsc_text *t, const char *s, size_t n)
{
    if (t->failed) return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->n + n + 1) {
            if (cap > SIZE_MAX / 2) {
                t->failed = 1;
                return;
            }
            cap *= 2;
        }
        char *p = dsc_realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

void dsc_text_put(dsc_text *t, const char *s) { dsc_text_putn(t, s, strlen(s)); }

/* Integers and strings only: a %f here would follow LC_NUMERIC. */
void dsc_text_printf(dsc_text *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        dsc_text_putn(t, small, (size_t)n);
        return;
    }
    char *big = dsc_malloc((size_t)n + 1);
    if (!big) {
        t->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dsc_text_putn(t, big, (size_t)n);
    dsc_free(big);
}

void dsc_text_free(dsc_text *t)
{
    dsc_free(t->p);
    memset(t, 0, sizeof *t);
}
