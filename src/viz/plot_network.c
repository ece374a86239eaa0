/* The seed's pictures of a small network: the loss against one parameter
 * (the pink SSR-vs-b3 curve) with the steps of the run, the fitted curve,
 * the "Trained Weights" picture that builds that curve from the hidden
 * units, and the loss per iteration. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../graph/ops.h"
#include "../io/outfile.h"
#include "plots_internal.h"

#define SWEEP_POINTS     201
#define CURVE_POINTS     241
#define MAX_LEGEND_UNITS 6
/* Steps marked on the sweep: each costs a pass over the data. */
#define SWEEP_MAX_STEPS   1000
#define SWEEP_FIRST_STEPS 100

static const char *loss_label(dsc_loss l)
{
    switch (l) {
    case DSC_LOSS_SSR: return "SSR";
    case DSC_LOSS_MSE: return "MSE";
    case DSC_LOSS_MAE: return "MAE";
    case DSC_LOSS_HUBER: return "Huber loss";
    case DSC_LOSS_BCE: return "cross-entropy";
    case DSC_LOSS_CE: return "cross-entropy";
    default: return "loss";
    }
}

static dsc_status copy_model(const dsc_model *m, dsc_model **out)
{
    dsc_status s = dsc_model_new(dsc_model_spec(m), out);
    if (s) return s;
    memcpy(dsc_model_params(*out), dsc_model_params_const(m),
           dsc_model_param_count(m) * sizeof(float));
    dsc_model_set_relu_grad(*out, dsc_model_relu_grad(m));
    return DSC_OK;
}

dsc_status dsc_plot_sweep(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, size_t index,
                          const double *values, size_t n, double *losses)
{
    if (!m || !d || (n && (!values || !losses)))
        return dsc_fail(DSC_EINVAL, "dsc_plot_sweep: NULL argument");
    if (index >= dsc_model_param_count(m))
        return dsc_fail(DSC_EINVAL, "dsc_plot_sweep: parameter %zu does not exist (%zu in all)",
                        index, dsc_model_param_count(m));
    dsc_model *c;
    dsc_status s = copy_model(m, &c);
    if (s) return s;
    float *p = dsc_model_params(c);
    for (size_t i = 0; i < n && !s; i++) {
        p[index] = (float)values[i];
        s = dsc_evaluate_loss(c, d, loss, &losses[i]);
    }
    dsc_model_free(c);
    return s;
}

/* The x range of the data with some room, for curves over it. */
static void data_x_range(const dsc_dataset *d, double *lo, double *hi)
{
    const float *x = dsc_dataset_x(d);
    size_t n = dsc_dataset_rows(d);
    double a = HUGE_VAL, b = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        a = fmin(a, x[i]);
        b = fmax(b, x[i]);
    }
    double pad = b > a ? 0.1 * (b - a) : 1.0;
    *lo = a - pad;
    *hi = b + pad;
}

static dsc_status data_points(dsc_figure *f, int panel, const dsc_dataset *d)
{
    size_t n = dsc_dataset_rows(d);
    double *x = dsc_malloc(n * sizeof(double)), *y = dsc_malloc(n * sizeof(double));
    dsc_status s = DSC_OK;
    if (!x || !y) {
        s = dsc_fail(DSC_ENOMEM, "out of memory for a plot");
    } else {
        for (size_t i = 0; i < n; i++) {
            x[i] = dsc_dataset_x(d)[i];
            y[i] = dsc_dataset_y(d)[i];
        }
        s = dsc_panel_points(f, panel, x, y, n, "data", "#222222", DSC_MARKER_CIRCLE);
    }
    dsc_free(x);
    dsc_free(y);
    return s;
}

static const char *x_name(const dsc_dataset *d)
{
    const char *s = dsc_dataset_input_name(d, 0);
    return s && s[0] ? s : "x";
}

static const char *y_name(const dsc_dataset *d)
{
    const char *s = dsc_dataset_output_name(d, 0);
    return s && s[0] ? s : "y";
}

/* ------------------------------------------------------------------ */
/* The loss against one parameter                                     */
/* ------------------------------------------------------------------ */

/* Whether a parameter other than `index` moved during the run: then the
 * losses the run recorded belong to other slices of the loss surface. */
static int others_moved(const dsc_model *m, const dsc_run_trace *t, size_t index)
{
    const float *fin = dsc_model_params_const(m);
    size_t np = t->n_params;
    for (size_t r = 0; r < t->rows; r++)
        for (size_t k = 0; k < np; k++)
            if (k != index && t->params[r * np + k] != fin[k]) return 1;
    return 0;
}

/* The bottom of a sampled curve between grid points: the parabola through
 * the three lowest samples (the seed's curve is one near its minimum). */
static double curve_bottom(const double *xs, const double *ls, size_t n, size_t best)
{
    if (best == 0 || best >= n - 1) return NAN;
    double a = ls[best - 1], b = ls[best], c = ls[best + 1], h = xs[1] - xs[0];
    double den = a - 2 * b + c, xm = xs[best];
    if (den > 0) xm += 0.5 * h * (a - c) / den;
    return xm;
}

/* Panel 0 of a slice figure: the loss against the parameter, and a line
 * at the bottom of the curve, which it returns (NAN: at an end of the
 * sweep, no bottom inside it). */
static dsc_status slice_panel(dsc_figure *f, const char *sub, const char *name, const char *ln,
                              const double *xs, const double *ls, size_t n, size_t best, double *xm)
{
    *xm = curve_bottom(xs, ls, n, best);
    dsc_status s = dsc_panel_setup(f, 0, sub, name, ln, 0);
    if (!s) s = dsc_panel_line(f, 0, xs, ls, n, ln, "#CC79A7", 0);
    if (!s && isfinite(*xm)) {
        char label[128], vb[32];
        dsc_plot_fmt(vb, sizeof vb, *xm);
        snprintf(label, sizeof label, "lowest %s: %s = %s", ln, name, vb);
        s = dsc_panel_vline(f, 0, *xm, label, "#555555", 1);
    }
    return s;
}

#define PATH_MAX_POINTS 2000

/* Every parameter moved: (1) the slice at the final values with the end
 * of the run on it, (2) the parameter at each iteration, beside the
 * bottom of the slice. The steps are not drawn on the slice: their losses
 * there belong to no model the run held, and a parameter that went back
 * and forth tangled them. */
static dsc_status moved_sweep_figure(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                     const dsc_run_trace *t, size_t index, const double *xs,
                                     const double *ls, size_t n, size_t best, dsc_figure **out)
{
    const char *name = dsc_model_param_name(m, index), *ln = loss_label(loss);
    size_t rows = t->rows, np = t->n_params, updates = t->final ? rows - 1 : rows;
    size_t np_path = rows <= PATH_MAX_POINTS ? rows : PATH_MAX_POINTS;
    double *it = dsc_malloc(np_path * sizeof(double)), *pv = dsc_malloc(np_path * sizeof(double));
    dsc_figure *f = NULL;
    dsc_status s = DSC_OK;
    if (!it || !pv) {
        s = dsc_fail(DSC_ENOMEM, "out of memory for a plot");
        goto done;
    }
    for (size_t i = 0; i < np_path; i++) {
        size_t r = np_path < rows ? i * (rows - 1) / (np_path - 1) : i;
        it[i] = (double)r;
        pv[i] = t->params[r * np + index];
    }
    double v = dsc_model_params_const(m)[index], end_loss;
    if ((s = dsc_plot_sweep(m, d, loss, index, &v, 1, &end_loss))) goto done;
    char title[160], sub[160], label[128], vb[32], yl[64];
    snprintf(title, sizeof title, "%s against %s, the other parameters at their final values", ln,
             name);
    snprintf(sub, sizeof sub, "Other parameters changed too: the slice at their final values");
    snprintf(yl, sizeof yl, "%s", name);
    if ((s = dsc_figure_new(title, 2, &f))) goto done;
    double xm = NAN;
    s = dsc_figure_set_layout(f, 2, 520, 420);
    if (!s) s = slice_panel(f, sub, name, ln, xs, ls, n, best, &xm);
    if (!s) {
        dsc_plot_fmt(vb, sizeof vb, v);
        snprintf(label, sizeof label, "end of the run: %s = %s", name, vb);
        s = dsc_panel_points(f, 0, &v, &end_loss, 1, label, "#0072B2", DSC_MARKER_CIRCLE);
    }
    if (!s) {
        snprintf(sub, sizeof sub, "%s at each of the %zu update%s", name, updates,
                 updates == 1 ? "" : "s");
        s = dsc_panel_setup(f, 1, sub, "iteration", yl, 0);
    }
    if (!s) s = dsc_panel_line(f, 1, it, pv, np_path, name, "#0072B2", 0);
    if (!s && np_path <= 40)
        s = dsc_panel_points(f, 1, it, pv, np_path, NULL, "#0072B2", DSC_MARKER_CIRCLE);
    if (!s && isfinite(xm)) {
        dsc_plot_fmt(vb, sizeof vb, xm);
        snprintf(label, sizeof label, "lowest %s on the slice: %s", ln, vb);
        s = dsc_panel_hline(f, 1, xm, label, "#555555", 1);
    }
    if (s) {
        dsc_figure_free(f);
        f = NULL;
    }
done:
    dsc_free(it);
    dsc_free(pv);
    *out = f;
    return s;
}

dsc_status dsc_plot_sweep_figure(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                 const dsc_run_trace *t, size_t index, dsc_figure **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_plot_sweep_figure: NULL output");
    *out = NULL;
    if (!m || !d) return dsc_fail(DSC_EINVAL, "dsc_plot_sweep_figure: NULL argument");
    size_t np = dsc_model_param_count(m);
    if (index >= np)
        return dsc_fail(DSC_EINVAL, "dsc_plot_sweep_figure: parameter %zu does not exist", index);
    size_t rows = t ? t->rows : 0;
    if (t && t->n_params != np)
        return dsc_fail(DSC_EINVAL, "the run has %zu parameters but the model has %zu", t->n_params,
                        np);
    const char *name = dsc_model_param_name(m, index);
    double v = dsc_model_params_const(m)[index];

    /* Centred on the final value: a run that converged ends at the bottom
     * of the curve, and the bowl shows on both sides as in the seed. */
    double half = 0;
    for (size_t r = 0; r < rows; r++)
        if (isfinite(t->params[r * np + index]))
            half = fmax(half, fabs(t->params[r * np + index] - v));
    half = half > 0 ? 1.3 * half : fmax(1.0, 0.5 * fabs(v));
    double lo = v - half, hi = v + half;

    double xs[SWEEP_POINTS], ls[SWEEP_POINTS];
    size_t best = 0;
    dsc_status s = DSC_OK;
    /* A run stopped early may end on a slope: widen towards the lower side
     * until the bottom of the curve shows (or give up and show the slope). */
    for (int tries = 0; tries < 4; tries++) {
        for (int i = 0; i < SWEEP_POINTS; i++) xs[i] = lo + (hi - lo) * i / (SWEEP_POINTS - 1);
        if ((s = dsc_plot_sweep(m, d, loss, index, xs, SWEEP_POINTS, ls))) return s;
        best = 0;
        for (size_t i = 1; i < SWEEP_POINTS; i++)
            if (ls[i] < ls[best] || !isfinite(ls[best])) best = i;
        if (best == 0)
            lo -= hi - lo;
        else if (best == SWEEP_POINTS - 1)
            hi += hi - lo;
        else
            break;
    }

    /* Another parameter moved: the slice is at the final values, where
     * only the end of the run lies on it; the path of the parameter is
     * drawn against the iteration beside it. */
    size_t updates = rows && t->final ? rows - 1 : rows;
    int moved = rows ? others_moved(m, t, index) : 0;
    if (moved) return moved_sweep_figure(m, d, loss, t, index, xs, ls, SWEEP_POINTS, best, out);

    /* The steps' losses are recomputed on the full data rather than taken
     * from the run: a minibatch run records each batch's loss, which need
     * not lie on this curve. When only this parameter moved, the recomputed
     * loss is the model's loss at that step; otherwise it is the loss on
     * this slice, and the subtitle says so. */
    double *sx = NULL, *sy = NULL;
    size_t *iter = NULL, ns = 0;
    if (rows) {
        ns = rows <= SWEEP_MAX_STEPS ? rows : SWEEP_MAX_STEPS;
        sx = dsc_malloc(ns * sizeof(double));
        sy = dsc_malloc(ns * sizeof(double));
        iter = dsc_malloc(ns * sizeof(size_t));
        if (!sx || !sy || !iter) {
            s = dsc_fail(DSC_ENOMEM, "out of memory for a plot");
            goto fail;
        }
        for (size_t i = 0; i < ns; i++) {
            /* A long run keeps its first steps, where it moves most, and
             * then every so many, always ending at the last row. */
            size_t r = i;
            if (ns < rows && i >= SWEEP_FIRST_STEPS)
                r = SWEEP_FIRST_STEPS + (i - SWEEP_FIRST_STEPS) * (rows - 1 - SWEEP_FIRST_STEPS) /
                                            (ns - 1 - SWEEP_FIRST_STEPS);
            iter[i] = r;
            sx[i] = t->params[r * np + index];
        }
        if ((s = dsc_plot_sweep(m, d, loss, index, sx, ns, sy))) goto fail;
    }

    const char *ln = loss_label(loss);
    char title[160], sub[160], label[128], vb[32];
    snprintf(title, sizeof title, "%s against %s, the other parameters at their final values", ln,
             name);
    dsc_plot_fmt(vb, sizeof vb, v);
    if (!rows)
        snprintf(sub, sizeof sub, "%s swept, the rest of the model fixed", name);
    else if (!updates)
        snprintf(sub, sizeof sub, "Nothing was trained: the model as given, %s = %s", name, vb);
    else
        snprintf(sub, sizeof sub, "Only %s was trained: each step lies on the curve", name);
    dsc_figure *f;
    if ((s = dsc_figure_new(title, 1, &f))) goto fail;
    double xm = NAN;
    s = dsc_figure_set_layout(f, 1, 720, 460);
    if (!s) s = slice_panel(f, sub, name, ln, xs, ls, SWEEP_POINTS, best, &xm);
    if (!s && rows && !updates) {
        snprintf(label, sizeof label, "the model: %s = %s", name, vb);
        s = dsc_panel_points(f, 0, sx, sy, 1, label, "#0072B2", DSC_MARKER_CIRCLE);
    } else if (!s && rows) {
        s = dsc_plot_add_steps(f, 0, sx, sy, ns, ns < rows ? iter : NULL, "steps of the run",
                               "#0072B2");
    }
    if (s) {
        dsc_figure_free(f);
        goto fail;
    }
    dsc_free(sx);
    dsc_free(sy);
    dsc_free(iter);
    *out = f;
    return DSC_OK;
fail:
    dsc_free(sx);
    dsc_free(sy);
    dsc_free(iter);
    return s;
}

/* ------------------------------------------------------------------ */
/* The fitted curve                                                   */
/* ------------------------------------------------------------------ */

dsc_status dsc_plot_fit_figure(const dsc_model *m, const dsc_dataset *d, dsc_figure **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_plot_fit_figure: NULL output");
    *out = NULL;
    if (!m || !d) return dsc_fail(DSC_EINVAL, "dsc_plot_fit_figure: NULL argument");
    double lo, hi, cx[CURVE_POINTS], cy[CURVE_POINTS];
    float fx[CURVE_POINTS], fy[CURVE_POINTS];
    data_x_range(d, &lo, &hi);
    for (int i = 0; i < CURVE_POINTS; i++) {
        cx[i] = lo + (hi - lo) * i / (CURVE_POINTS - 1);
        fx[i] = (float)cx[i];
    }
    dsc_status s = dsc_model_predict(m, fx, CURVE_POINTS, fy);
    if (s) return s;
    for (int i = 0; i < CURVE_POINTS; i++) cy[i] = fy[i];
    char title[256];
    snprintf(title, sizeof title, "The data and the fitted curve of %s", dsc_model_spec(m));
    dsc_figure *f;
    if ((s = dsc_figure_new(title, 1, &f))) return s;
    s = dsc_figure_set_layout(f, 1, 720, 460);
    if (!s) s = dsc_panel_setup(f, 0, NULL, x_name(d), y_name(d), 0);
    if (!s) s = dsc_panel_line(f, 0, cx, cy, CURVE_POINTS, "fitted curve", "#0072B2", 0);
    if (!s) s = data_points(f, 0, d);
    if (s) {
        dsc_figure_free(f);
        return s;
    }
    *out = f;
    return DSC_OK;
}

/* ------------------------------------------------------------------ */
/* Trained weights                                                    */
/* ------------------------------------------------------------------ */

/* A layer's activation over its n units in place, by the op table's
 * reference in double (softmax couples the units; the others act on each
 * unit alone). */
static void layer_act(dsc_activation a, double *v, size_t n)
{
    const dsc_op_def *d = dsc_activation_op(a);
    if (d->ref.row) {
        d->ref.row(v, v, n);
        return;
    }
    for (size_t j = 0; j < n; j++) v[j] = d->ref.value(v[j]);
}

static dsc_status units_applicable(const dsc_model *m)
{
    if (dsc_model_inputs(m) != 1 || dsc_model_outputs(m) != 1)
        return dsc_fail(DSC_EUNSUPPORTED,
                        "the trained-weights picture needs 1 input and 1 output; %s has %zu and "
                        "%zu",
                        dsc_model_spec(m), dsc_model_inputs(m), dsc_model_outputs(m));
    if (dsc_model_layers(m) != 2)
        return dsc_fail(DSC_EUNSUPPORTED,
                        "the trained-weights picture needs exactly one hidden layer; %s has %zu",
                        dsc_model_spec(m), dsc_model_layers(m) - 1);
    return DSC_OK;
}

typedef struct {
    size_t units;
    const float *w1, *b1, *w2, *b2;
    size_t i_w1, i_b1, i_w2, i_b2; /* flat indexes, for the names */
    dsc_activation hidden, output;
} unit_params;

static dsc_status read_units(const dsc_model *m, unit_params *u)
{
    dsc_status s = units_applicable(m);
    if (s) return s;
    size_t c1, c2, c3, c4;
    if ((s = dsc_model_find(m, "layer1.weight", &u->i_w1, &c1)) ||
        (s = dsc_model_find(m, "layer1.bias", &u->i_b1, &c2)) ||
        (s = dsc_model_find(m, "layer2.weight", &u->i_w2, &c3)) ||
        (s = dsc_model_find(m, "layer2.bias", &u->i_b2, &c4)))
        return s;
    u->units = dsc_model_layer_units(m, 0);
    if (c1 != u->units || c2 != u->units || c3 != u->units || c4 != 1)
        return dsc_fail(DSC_EINVAL, "the parameters of %s do not have the expected shapes",
                        dsc_model_spec(m));
    const float *p = dsc_model_params_const(m);
    u->w1 = p + u->i_w1;
    u->b1 = p + u->i_b1;
    u->w2 = p + u->i_w2;
    u->b2 = p + u->i_b2;
    u->hidden = dsc_model_layer_activation(m, 0);
    u->output = dsc_model_layer_activation(m, 1);
    return DSC_OK;
}

dsc_status dsc_plot_unit_curves(const dsc_model *m, const double *x, size_t n, size_t *units,
                                double **act, double **scaled, double **sum, double **final)
{
    if (!m || (n && !x) || !units || !act || !scaled || !sum || !final)
        return dsc_fail(DSC_EINVAL, "dsc_plot_unit_curves: NULL argument");
    *act = *scaled = *sum = *final = NULL;
    unit_params u;
    dsc_status s = read_units(m, &u);
    if (s) return s;
    size_t h = u.units;
    double *a = dsc_malloc(h * n * sizeof(double) + 1),
           *sc = dsc_malloc(h * n * sizeof(double) + 1);
    double *sm = dsc_malloc(n * sizeof(double) + 1), *fin = dsc_malloc(n * sizeof(double) + 1);
    double *z = dsc_malloc(h * sizeof(double));
    if (!a || !sc || !sm || !fin || !z) {
        dsc_free(a);
        dsc_free(sc);
        dsc_free(sm);
        dsc_free(fin);
        dsc_free(z);
        return dsc_fail(DSC_ENOMEM, "out of memory for a plot");
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < h; j++) z[j] = (double)u.w1[j] * x[i] + u.b1[j];
        layer_act(u.hidden, z, h);
        double total = 0;
        for (size_t j = 0; j < h; j++) {
            a[j * n + i] = z[j];
            sc[j * n + i] = (double)u.w2[j] * z[j];
            total += sc[j * n + i];
        }
        sm[i] = total;
        double o = total + u.b2[0];
        layer_act(u.output, &o, 1);
        fin[i] = o;
    }
    dsc_free(z);
    *units = h;
    *act = a;
    *scaled = sc;
    *sum = sm;
    *final = fin;
    return DSC_OK;
}

/* "softplus(3.34x - 1.43)" */
static void unit_formula(char *buf, size_t size, dsc_activation a, const char *xn, double w,
                         double b)
{
    char wb[32], bb[32];
    dsc_plot_fmt(wb, sizeof wb, w);
    dsc_plot_fmt(bb, sizeof bb, fabs(b));
    if (strcmp(xn, "x") == 0)
        snprintf(buf, size, "%s(%sx %s %s)", dsc_activation_name(a), wb, b < 0 ? "-" : "+", bb);
    else
        snprintf(buf, size, "%s(%s × %s %s %s)", dsc_activation_name(a), wb, xn, b < 0 ? "-" : "+",
                 bb);
}

dsc_status dsc_plot_units_figure(const dsc_model *m, const dsc_dataset *d, dsc_figure **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_plot_units_figure: NULL output");
    *out = NULL;
    if (!m || !d) return dsc_fail(DSC_EINVAL, "dsc_plot_units_figure: NULL argument");
    unit_params u;
    dsc_status s = read_units(m, &u);
    if (s) return s;
    double lo, hi, xs[CURVE_POINTS];
    data_x_range(d, &lo, &hi);
    for (int i = 0; i < CURVE_POINTS; i++) xs[i] = lo + (hi - lo) * i / (CURVE_POINTS - 1);
    size_t h;
    double *act, *sc, *sum, *fin;
    if ((s = dsc_plot_unit_curves(m, xs, CURVE_POINTS, &h, &act, &sc, &sum, &fin))) return s;

    const char *an = dsc_activation_name(u.hidden);
    /* A copy: the name comes from a buffer the next call reuses. */
    char bname[64];
    snprintf(bname, sizeof bname, "%s", dsc_model_param_name(m, u.i_b2));
    char title[160], t1[160], t4[256], label[160], num[32];
    snprintf(title, sizeof title,
             "Trained weights: how the %zu hidden units build the fitted curve", h);
    snprintf(t1, sizeof t1, "1. Each hidden unit: %s(weight × %s + bias)", an, x_name(d));
    dsc_plot_fmt(num, sizeof num, u.b2[0]);
    if (u.output == DSC_ACT_IDENTITY)
        snprintf(t4, sizeof t4, "4. Add the bias %s = %s: the fitted curve", bname, num);
    else
        snprintf(t4, sizeof t4, "4. %s(sum + %s), %s = %s: the fitted curve",
                 dsc_activation_name(u.output), bname, bname, num);
    dsc_figure *f;
    if ((s = dsc_figure_new(title, 4, &f))) goto done;
    s = dsc_figure_set_layout(f, 2, 560, 380);
    const char *xn = x_name(d);
    if (!s) s = dsc_panel_setup(f, DSC_UNITS_PANEL_ACT, t1, xn, "activation", 0);
    if (!s)
        s = dsc_panel_setup(f, DSC_UNITS_PANEL_SCALED, "2. Each scaled by its output weight", xn,
                            "activation × weight", 0);
    if (!s)
        s = dsc_panel_setup(f, DSC_UNITS_PANEL_SUM, "3. The scaled curves added together", xn,
                            "sum", 0);
    if (!s) s = dsc_panel_setup(f, DSC_UNITS_PANEL_FINAL, t4, xn, y_name(d), 0);
    int named = h <= MAX_LEGEND_UNITS;
    for (size_t j = 0; j < h && !s; j++) {
        char wn[32];
        if (named) unit_formula(label, sizeof label, u.hidden, x_name(d), u.w1[j], u.b1[j]);
        s = dsc_panel_line(f, DSC_UNITS_PANEL_ACT, xs, act + j * CURVE_POINTS, CURVE_POINTS,
                           named ? label : NULL, NULL, 0);
        if (s) break;
        dsc_plot_fmt(wn, sizeof wn, u.w2[j]);
        if (named)
            snprintf(label, sizeof label, "unit %zu × %s (%s = %s)", j + 1,
                     dsc_model_param_name(m, u.i_w2 + j), dsc_model_param_name(m, u.i_w2 + j), wn);
        s = dsc_panel_line(f, DSC_UNITS_PANEL_SCALED, xs, sc + j * CURVE_POINTS, CURVE_POINTS,
                           named ? label : NULL, NULL, 0);
        /* The parts, faintly, under their sum. */
        if (!s)
            s = dsc_panel_line(f, DSC_UNITS_PANEL_SUM, xs, sc + j * CURVE_POINTS, CURVE_POINTS,
                               j == 0 ? "the scaled curves (panel 2)" : NULL, "#C8C8C8", 1);
    }
    if (!s)
        s = dsc_panel_line(f, DSC_UNITS_PANEL_SUM, xs, sum, CURVE_POINTS,
                           "sum of the scaled curves", "#009E73", 0);
    if (!s && u.output == DSC_ACT_IDENTITY) {
        s = dsc_panel_line(f, DSC_UNITS_PANEL_FINAL, xs, sum, CURVE_POINTS,
                           "the sum (before the bias)", "#B0B0B0", 1);
    } else if (!s) {
        /* Before the output's activation, clipped to the panel: the axis
         * is the fitted curve's and the data's, so a curve that the
         * activation cuts down to a spike still reads (the seed's ReLU
         * example sums to 17 where the fit is 1). */
        for (int i = 0; i < CURVE_POINTS; i++) sum[i] += u.b2[0];
        snprintf(label, sizeof label, "sum + %s, before %s", bname, dsc_activation_name(u.output));
        s = dsc_panel_line(f, DSC_UNITS_PANEL_FINAL, xs, sum, CURVE_POINTS, label, "#B0B0B0", 1);
        double ylo = HUGE_VAL, yhi = -HUGE_VAL;
        for (int i = 0; i < CURVE_POINTS; i++) {
            ylo = fmin(ylo, fin[i]);
            yhi = fmax(yhi, fin[i]);
        }
        for (size_t i = 0; i < dsc_dataset_rows(d); i++) {
            ylo = fmin(ylo, dsc_dataset_y(d)[i]);
            yhi = fmax(yhi, dsc_dataset_y(d)[i]);
        }
        double pad = yhi > ylo ? 0.25 * (yhi - ylo) : 1.0;
        if (!s && isfinite(ylo) && isfinite(yhi))
            s = dsc_panel_limits(f, DSC_UNITS_PANEL_FINAL, NAN, NAN, ylo - pad, yhi + pad);
    }
    if (!s)
        s = dsc_panel_line(f, DSC_UNITS_PANEL_FINAL, xs, fin, CURVE_POINTS, "fitted curve",
                           "#0072B2", 0);
    if (!s) s = data_points(f, DSC_UNITS_PANEL_FINAL, d);
    if (s) {
        dsc_figure_free(f);
    } else {
        *out = f;
    }
done:
    dsc_free(act);
    dsc_free(sc);
    dsc_free(sum);
    dsc_free(fin);
    return s;
}

/* ------------------------------------------------------------------ */
/* Loss per iteration                                                 */
/* ------------------------------------------------------------------ */

dsc_status dsc_plot_loss_figure(const dsc_run_trace *t, dsc_loss loss, dsc_figure **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_plot_loss_figure: NULL output");
    *out = NULL;
    if (!t || t->rows == 0) return dsc_fail(DSC_EINVAL, "dsc_plot_loss_figure: an empty run");
    size_t rows = t->rows;
    /* One dot says nothing about training. */
    if (t->final && rows == 1)
        return dsc_fail(DSC_EINVAL, "dsc_plot_loss_figure: the run made no update");
    double *it = dsc_malloc(rows * sizeof(double));
    if (!it) return dsc_fail(DSC_ENOMEM, "out of memory for a plot");
    for (size_t i = 0; i < rows; i++) it[i] = (double)i;
    int lg = dsc_plot_wants_log(t->loss, rows);
    const char *ln = loss_label(loss);
    size_t updates = t->final ? rows - 1 : rows;
    char title[128], ylabel[64];
    snprintf(title, sizeof title, "%s during training (%zu update%s)", ln, updates,
             updates == 1 ? "" : "s");
    snprintf(ylabel, sizeof ylabel, "%s%s", ln, lg ? " (log scale)" : "");
    dsc_figure *f;
    dsc_status s = dsc_figure_new(title, 1, &f);
    if (!s) {
        s = dsc_figure_set_layout(f, 1, 720, 460);
        if (!s) s = dsc_panel_setup(f, 0, NULL, "iteration", ylabel, lg ? DSC_LOG_Y : 0);
        if (!s) s = dsc_panel_line(f, 0, it, t->loss, rows, NULL, "#0072B2", 0);
        if (!s && rows <= 40)
            s = dsc_panel_points(f, 0, it, t->loss, rows, NULL, "#0072B2", DSC_MARKER_CIRCLE);
        if (s) {
            dsc_figure_free(f);
        } else {
            *out = f;
        }
    }
    dsc_free(it);
    return s;
}

/* ------------------------------------------------------------------ */
/* All of them                                                        */
/* ------------------------------------------------------------------ */

enum { NET_SWEEP, NET_FIT, NET_UNITS, NET_LOSS, NET_FIGS };

dsc_status dsc_plot_network(const char *dir, const dsc_model *m, const dsc_dataset *d,
                            dsc_loss loss, const dsc_run_trace *t, const char *sweep_param,
                            char **written, size_t *n_written)
{
    if (n_written) *n_written = 0;
    if (!dir || !dir[0] || !m || !d || !written || !n_written)
        return dsc_fail(DSC_EINVAL, "dsc_plot_network: NULL argument");
    if (dsc_model_inputs(m) != 1 || dsc_model_outputs(m) != 1)
        return dsc_fail(DSC_EINVAL,
                        "plots need a model with 1 input and 1 output (a curve over x); %s has "
                        "%zu input%s and %zu output%s",
                        dsc_model_spec(m), dsc_model_inputs(m), dsc_model_inputs(m) == 1 ? "" : "s",
                        dsc_model_outputs(m), dsc_model_outputs(m) == 1 ? "" : "s");
    if (dsc_dataset_inputs(d) != 1 || dsc_dataset_outputs(d) != 1)
        return dsc_fail(DSC_EINVAL,
                        "plots need data with 1 input and 1 target; this data has %zu and %zu",
                        dsc_dataset_inputs(d), dsc_dataset_outputs(d));
    size_t np = dsc_model_param_count(m);
    if (t && t->n_params != np)
        return dsc_fail(DSC_EINVAL, "the run has %zu parameters but %s has %zu", t->n_params,
                        dsc_model_spec(m), np);
    size_t index = np - 1, first, count;
    if (sweep_param) {
        dsc_status s = dsc_model_find(m, sweep_param, &first, &count);
        if (s) return s;
        if (count != 1)
            return dsc_fail(DSC_EINVAL,
                            "the loss can be plotted against one number, like b3; %s is %zu "
                            "numbers",
                            sweep_param, count);
        index = first;
    }

    /* Everything is drawn before anything is written, so a failure in the
     * drawing leaves the directory as it was. */
    dsc_figure *figs[NET_FIGS] = {0};
    char names[NET_FIGS][80];
    dsc_status s = dsc_plot_sweep_figure(m, d, loss, t, index, &figs[NET_SWEEP]);
    snprintf(names[NET_SWEEP], sizeof names[NET_SWEEP], "loss_vs_%s.svg",
             dsc_model_param_name(m, index));
    snprintf(names[NET_FIT], sizeof names[NET_FIT], "fit.svg");
    snprintf(names[NET_UNITS], sizeof names[NET_UNITS], "units.svg");
    snprintf(names[NET_LOSS], sizeof names[NET_LOSS], "loss.svg");
    if (!s) s = dsc_plot_fit_figure(m, d, &figs[NET_FIT]);
    if (!s && dsc_model_layers(m) == 2) s = dsc_plot_units_figure(m, d, &figs[NET_UNITS]);
    /* No loss.svg for a run that made no update (the seed's ReLU weights,
     * shown as given). */
    if (!s && t && t->rows > (t->final ? 1u : 0u))
        s = dsc_plot_loss_figure(t, loss, &figs[NET_LOSS]);

    char *diagram = NULL;
    if (!s && dsc_model_layers(m) == 2 && dsc_model_layer_units(m, 0) <= 12)
        s = dsc_plot_diagram_svg(m, d, &diagram);

    size_t dlen = strlen(dir), nw = 0;
    int slash = dir[dlen - 1] == '/';
    if (!s && diagram) {
        size_t len = dlen + sizeof "/network.svg";
        char *p = dsc_malloc(len);
        if (!p) {
            s = dsc_fail(DSC_ENOMEM, "out of memory for a file name");
        } else {
            snprintf(p, len, "%s%snetwork.svg", dir, slash ? "" : "/");
            if ((s = dsc_write_file_atomic(p, diagram, strlen(diagram))))
                dsc_free(p);
            else
                written[nw++] = p;
        }
    }
    dsc_free(diagram);
    for (int k = 0; k < NET_FIGS && !s; k++) {
        if (!figs[k]) continue;
        size_t len = dlen + 1 + strlen(names[k]) + 1;
        char *p = dsc_malloc(len);
        if (!p) {
            s = dsc_fail(DSC_ENOMEM, "out of memory for a file name");
            break;
        }
        snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", names[k]);
        if ((s = dsc_figure_write(figs[k], p))) {
            dsc_free(p);
            break;
        }
        written[nw++] = p;
    }
    for (int k = 0; k < NET_FIGS; k++) dsc_figure_free(figs[k]);
    if (s) {
        /* The caller gets nothing to free on failure; files already
         * written are whole and stay. */
        for (size_t i = 0; i < nw; i++) dsc_free(written[i]);
        return s;
    }
    *n_written = nw;
    return DSC_OK;
}
