/* What a model scores on a data set: the training loss, and either
 * classification metrics (accuracy, confusion matrix, per-class precision,
 * recall, F1) or regression metrics (MSE, MAE, R^2) in original units.
 *
 * Decisions:
 *  - Predicted and true classes are argmaxes; a tie goes to the lowest index,
 *    and a NaN output never wins (a row of NaNs is class 0), so a broken
 *    model scores badly instead of failing.
 *  - A single output with two class labels is a sigmoid: class 1 when the
 *    output (or the target) is >= 0.5.
 *  - Precision and recall are NaN when undefined: precision for a class
 *    never predicted, recall for a class that never occurs. F1 is
 *    2TP / (2TP + FP + FN), which is 2PR/(P+R) where both are defined and
 *    is also defined (0) where one is not but the class occurs or is
 *    predicted, as scikit-learn's f1_score counts it; NaN only for a class
 *    neither present nor predicted.
 *  - R^2 uses each output's own mean for SS_tot, summed over outputs. With
 *    SS_tot = 0 (constant targets) R^2 is 1 if the fit is exact, else NaN:
 *    no fraction of zero variance is explained or unexplained.
 *  - Predictions are made in chunks, so memory does not grow with the rows.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../data/data.h"
#include "../nn/nn.h"
#include "dist.h"

/* Rows predicted per chunk: large enough to amortise the graph's per-call
 * cost, small enough that the buffer stays in cache. */
#define EVAL_BATCH 256

void dsc_metrics_free(dsc_metrics *mt)
{
    if (!mt) return;
    dsc_free(mt->confusion);
    dsc_free(mt->precision);
    dsc_free(mt->recall);
    dsc_free(mt->f1);
    memset(mt, 0, sizeof *mt);
}

static size_t argmax(const float *v, size_t k)
{
    size_t best = 0;
    /* Comparisons with NaN are false, so a NaN is never taken; the strict >
     * keeps the first of equal maxima, and `found` lets a row whose best is
     * -inf still pick its first -inf rather than a NaN before it. */
    float bv = -INFINITY;
    int found = 0;
    for (size_t j = 0; j < k; j++) {
        if (v[j] > bv || (!found && v[j] == bv)) {
            bv = v[j];
            best = j;
            found = 1;
        }
    }
    return best;
}

static size_t class_of(const float *row, size_t n_out, int sigmoid)
{
    if (sigmoid) return row[0] >= 0.5f ? 1 : 0;
    return argmax(row, n_out);
}

size_t dsc_model_class_of(const dsc_model *m, const float *outputs)
{
    size_t n_out = dsc_model_outputs(m);
    return class_of(outputs, n_out, n_out == 1 && dsc_model_classes(m) == 2);
}

/* Rows [i, i + rows) of the inputs as floats: in place, or converted into
 * stage for byte data sets. */
static const float *rows_of(const dsc_dataset *d, size_t i, size_t rows, float *stage)
{
    if (!d->x8) return d->x + i * d->n_in;
    dsc_dataset_copy_x(d, i, rows, stage);
    return stage;
}

/* Adds v[0..n) over the ranks (nothing to do for one process). */
static dsc_status sum_all(dsc_dist *dist, double *v, size_t n)
{
    return dist ? dist->sum_doubles(dist->ctx, v, n) : DSC_OK;
}

/* This rank's rows [lo, hi) of d, for each rank to score a slice. */
typedef struct {
    const dsc_model *m;
    const dsc_dataset *d;
    dsc_workspace *ws;
    float *pred, *stage;
    size_t lo, hi;
    dsc_dist *dist;
    size_t *map; /* the data's classes among the model's (by name), or NULL */
    float div;   /* the model's input divisor for this data */
} scoring;

static dsc_status classify(scoring *c, dsc_metrics *out)
{
    const dsc_dataset *d = c->d;
    size_t n_out = dsc_model_outputs(c->m);
    size_t k = dsc_model_classes(c->m);
    /* One output with one label is a degenerate softmax: every row is
     * class 0. Only two labels make a single output a sigmoid. */
    int sigmoid = n_out == 1 && k == 2;
    if (!sigmoid && k != n_out)
        return dsc_fail(DSC_EINVAL, "the model has %zu class labels for %zu outputs", k, n_out);
    /* A file's labels are the model's classes by name, in whatever order
     * and subset the file holds them. */
    if (d->n_classes) {
        if (!(c->map = dsc_malloc(d->n_classes * sizeof *c->map)))
            return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
        dsc_status s =
            dsc_dataset_class_map(d, (const char *const *)c->m->classes, k, "the model", c->map);
        if (c->dist) s = c->dist->agree(c->dist->ctx, s);
        if (s) return s;
    }
    if (k > SIZE_MAX / sizeof(double) / k - 1)
        return dsc_fail(DSC_ENOMEM, "a confusion matrix of %zu classes is too large", k);
    out->n_classes = k;
    out->confusion = dsc_calloc(k * k, sizeof(size_t));
    out->precision = dsc_malloc(k * sizeof(double));
    out->recall = dsc_malloc(k * sizeof(double));
    out->f1 = dsc_malloc(k * sizeof(double));
    /* Counts are summed over ranks as doubles: exact below 2^53 rows. */
    double *counts = dsc_calloc(k * k, sizeof(double));
    dsc_status s = DSC_OK;
    if (!out->confusion || !out->precision || !out->recall || !out->f1 || !counts)
        s = dsc_fail(DSC_ENOMEM, "out of memory for the metrics of %zu classes", k);
    for (size_t i = c->lo; i < c->hi && !s; i += EVAL_BATCH) {
        size_t rows = c->hi - i < EVAL_BATCH ? c->hi - i : EVAL_BATCH;
        if ((s = dsc_predict_div(c->m, c->ws, rows_of(d, i, rows, c->stage), rows, c->div,
                                 c->pred)))
            break;
        for (size_t r = 0; r < rows; r++) {
            size_t t = c->map ? c->map[dsc_dataset_row_class(d, i + r)]
                              : class_of(d->y + (i + r) * n_out, n_out, sigmoid);
            size_t p = class_of(c->pred + r * n_out, n_out, sigmoid);
            counts[t * k + p] += 1.0;
        }
    }
    if (c->dist) s = c->dist->agree(c->dist->ctx, s);
    if (!s) s = sum_all(c->dist, counts, k * k);
    if (s) {
        dsc_free(counts);
        return s;
    }
    size_t correct = 0;
    for (size_t t = 0; t < k * k; t++) out->confusion[t] = (size_t)counts[t];
    for (size_t t = 0; t < k; t++) correct += out->confusion[t * k + t];
    dsc_free(counts);
    out->accuracy = (double)correct / (double)d->n;

    for (size_t cl = 0; cl < k; cl++) {
        size_t tp = out->confusion[cl * k + cl], predicted = 0, actual = 0;
        for (size_t j = 0; j < k; j++) {
            predicted += out->confusion[j * k + cl];
            actual += out->confusion[cl * k + j];
        }
        double p = predicted ? (double)tp / (double)predicted : NAN;
        double r = actual ? (double)tp / (double)actual : NAN;
        out->precision[cl] = p;
        out->recall[cl] = r;
        /* 2TP + FP + FN = predicted + actual. */
        out->f1[cl] = predicted + actual ? 2.0 * (double)tp / (double)(predicted + actual) : NAN;
    }
    return DSC_OK;
}

static dsc_status regress(scoring *c, dsc_metrics *out)
{
    const dsc_dataset *d = c->d;
    size_t n = d->n, n_out = d->n_out;
    /* The means first (summed over every rank's rows), then the sums of
     * squares about them: two passes, as one process would make. */
    double *mean = dsc_calloc(n_out + 3, sizeof(double));
    if (!mean) return dsc_fail(DSC_ENOMEM, "out of memory for target means");
    for (size_t i = c->lo; i < c->hi; i++)
        for (size_t j = 0; j < n_out; j++) mean[j] += d->y[i * n_out + j];
    dsc_status s = sum_all(c->dist, mean, n_out);
    for (size_t j = 0; j < n_out; j++) mean[j] /= (double)n;

    double *sums = mean + n_out; /* ss_res, ss_tot, sum of |e| */
    for (size_t i = c->lo; i < c->hi && !s; i += EVAL_BATCH) {
        size_t rows = c->hi - i < EVAL_BATCH ? c->hi - i : EVAL_BATCH;
        if ((s = dsc_predict_div(c->m, c->ws, rows_of(d, i, rows, c->stage), rows, c->div,
                                 c->pred)))
            break;
        for (size_t r = 0; r < rows; r++) {
            const float *y = d->y + (i + r) * n_out;
            for (size_t j = 0; j < n_out; j++) {
                double e = (double)y[j] - (double)c->pred[r * n_out + j];
                double t = (double)y[j] - mean[j];
                sums[0] += e * e;
                sums[2] += fabs(e);
                sums[1] += t * t;
            }
        }
    }
    if (c->dist) s = c->dist->agree(c->dist->ctx, s);
    if (!s) s = sum_all(c->dist, sums, 3);
    double ss_res = sums[0], ss_tot = sums[1], abs_sum = sums[2];
    dsc_free(mean);
    if (s) return s;
    double count = (double)n * (double)n_out;
    out->mse = ss_res / count;
    out->mae = abs_sum / count;
    if (ss_tot > 0)
        out->r2 = 1.0 - ss_res / ss_tot;
    else
        out->r2 = ss_res == 0 ? 1.0 : NAN;
    return DSC_OK;
}

dsc_status dsc_model_evaluate(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                              dsc_metrics *out)
{
    return dsc_model_evaluate_dist(m, d, loss, NULL, out);
}

dsc_status dsc_model_evaluate_dist(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                   dsc_dist *dist, dsc_metrics *out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_model_evaluate: out is NULL");
    memset(out, 0, sizeof *out);
    if (!m || !d) return dsc_fail(DSC_EINVAL, "dsc_model_evaluate: NULL model or data set");
    if (d->n_out == 0) return dsc_fail(DSC_EINVAL, "no targets to evaluate against");
    dsc_status s = dsc_model_check_data(m, d, "the data");
    if (s) return s;
    if (d->n == 0) return dsc_fail(DSC_EINVAL, "the data set has no rows to evaluate");

    out->n = d->n;
    out->accuracy = out->mse = out->mae = out->r2 = NAN;
    s = dsc_evaluate_loss_dist(m, d, loss, dist, &out->loss);
    if (s) {
        dsc_metrics_free(out);
        return s;
    }

    scoring c = {m, d, NULL, NULL, NULL, 0, 0, dist, NULL, dsc_model_divisor_for(m, d)};
    dsc_dist_slice(dist, d->n, &c.lo, &c.hi);
    size_t batch = d->n < EVAL_BATCH ? d->n : EVAL_BATCH;
    s = dsc_workspace_new(m, batch, &c.ws);
    /* Each row scored as dsc_model_predict (and `descent predict`) computes
     * it, whatever chunk it falls in: the counts follow the printed labels. */
    if (!s) s = dsc_workspace_set_row_invariant(c.ws, 1);
    if (!s && (!(c.pred = dsc_malloc(batch * dsc_model_outputs(m) * sizeof(float))) ||
               (d->x8 && !(c.stage = dsc_malloc(batch * d->n_in * sizeof(float))))))
        s = dsc_fail(DSC_ENOMEM, "out of memory for predictions");
    /* Every rank must reach the sums in classify/regress, or none. */
    if (dist) s = dist->agree(dist->ctx, s);
    if (!s) s = dsc_model_classes(m) > 0 ? classify(&c, out) : regress(&c, out);
    dsc_free(c.pred);
    dsc_free(c.stage);
    dsc_free(c.map);
    dsc_workspace_free(c.ws);
    if (s) dsc_metrics_free(out);
    return s;
}
