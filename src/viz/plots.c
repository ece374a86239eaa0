/* The seed's pictures of gradient descent on a line: the SSR against the
 * intercept with the steps on the curve, and the SSR surface over
 * (intercept, slope) as a contour map with the path of the steps. Also the
 * recorded run (dsc_run_trace) and helpers the network plots share. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plots_internal.h"

/* ------------------------------------------------------------------ */
/* The recorded run                                                   */
/* ------------------------------------------------------------------ */

dsc_status dsc_run_trace_init(dsc_run_trace *t, size_t n_params)
{
    if (!t) return dsc_fail(DSC_EINVAL, "dsc_run_trace_init: NULL trace");
    memset(t, 0, sizeof *t);
    if (n_params == 0) return dsc_fail(DSC_EINVAL, "dsc_run_trace_init: a run needs parameters");
    t->n_params = n_params;
    return DSC_OK;
}

void dsc_run_trace_free(dsc_run_trace *t)
{
    if (!t) return;
    dsc_free(t->params);
    dsc_free(t->grads);
    dsc_free(t->loss);
    size_t n = t->n_params;
    memset(t, 0, sizeof *t);
    /* Keeps the trace usable for a new run of the same model. */
    t->n_params = n;
}

static dsc_status trace_grow(dsc_run_trace *t)
{
    if (t->rows < t->cap) return DSC_OK;
    size_t cap = t->cap ? 2 * t->cap : 64;
    if (cap > ((size_t)-1) / sizeof(float) / t->n_params)
        return dsc_fail(DSC_ENOMEM, "a run trace of %zu rows of %zu parameters is too large", cap,
                        t->n_params);
    size_t bytes = cap * t->n_params * sizeof(float);
    /* Each array is committed as soon as it is reallocated, so a failure
     * half-way leaves a consistent (if partly larger) trace. */
    float *p = dsc_realloc(t->params, bytes);
    if (!p) return dsc_fail(DSC_ENOMEM, "out of memory recording the run");
    t->params = p;
    float *g = dsc_realloc(t->grads, bytes);
    if (!g) return dsc_fail(DSC_ENOMEM, "out of memory recording the run");
    t->grads = g;
    double *l = dsc_realloc(t->loss, cap * sizeof(double));
    if (!l) return dsc_fail(DSC_ENOMEM, "out of memory recording the run");
    t->loss = l;
    t->cap = cap;
    return DSC_OK;
}

static dsc_status trace_append(dsc_run_trace *t, const float *params, const float *grads,
                               double loss, const char *who)
{
    if (!t || !params) return dsc_fail(DSC_EINVAL, "%s: NULL argument", who);
    if (t->n_params == 0) return dsc_fail(DSC_EINVAL, "%s: the trace was not initialised", who);
    if (t->final)
        return dsc_fail(DSC_EINVAL, "%s: the run was already finished (final row recorded)", who);
    dsc_status s = trace_grow(t);
    if (s) return s;
    size_t np = t->n_params;
    memcpy(t->params + t->rows * np, params, np * sizeof(float));
    if (grads)
        memcpy(t->grads + t->rows * np, grads, np * sizeof(float));
    else
        memset(t->grads + t->rows * np, 0, np * sizeof(float));
    t->loss[t->rows] = loss;
    t->rows++;
    return DSC_OK;
}

dsc_status dsc_run_trace_add(dsc_run_trace *t, const float *params, const float *grads, double loss)
{
    return trace_append(t, params, grads, loss, "dsc_run_trace_add");
}

dsc_status dsc_run_trace_finish(dsc_run_trace *t, const float *params, double loss)
{
    dsc_status s = trace_append(t, params, NULL, loss, "dsc_run_trace_finish");
    if (s) return s;
    t->final = 1;
    return DSC_OK;
}

/* ------------------------------------------------------------------ */
/* Helpers shared with plot_network.c                                 */
/* ------------------------------------------------------------------ */

void dsc_plot_fmt(char *buf, size_t size, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf"));
        return;
    }
    int decimals = 2;
    if (v != 0) decimals = 2 - (int)floor(log10(fabs(v)));
    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    dsc_format_fixed(buf, size, v, decimals);
}

int dsc_plot_wants_log(const double *v, size_t n)
{
    double lo = HUGE_VAL, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (v[i] <= 0) return 0;
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    return lo < HUGE_VAL && hi > 100 * lo;
}

/* Beyond this many vertices, the path's own numbering (every vertex far
 * enough from the last numbered one) still crowds where a run oscillates. */
#define STEPS_NUMBERED_ALL 12
#define STEPS_MAX_LABELS   6
#define STEPS_LABEL_GAP    30.0

dsc_status dsc_plot_add_steps(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                              const size_t *iter, const char *label, const char *color)
{
    if (n == 0) return DSC_OK;
    /* The path numbers its vertices 0, 1, ...: right only without iter. */
    int all = n <= STEPS_NUMBERED_ALL && !iter;
    unsigned flags = DSC_PATH_ARROWS | (all ? DSC_PATH_NUMBERS : 0);
    dsc_status s = dsc_panel_path(f, panel, x, y, n, label, color, flags);
    if (s || all) return s;

    /* A long run: number the first steps that stand apart from every
     * number placed so far (a zig-zag comes back near its earlier steps),
     * and the last. */
    double endx = 0, endy = 0, lx[STEPS_MAX_LABELS], ly[STEPS_MAX_LABELS];
    int have_end = dsc_panel_map(f, panel, x[n - 1], y[n - 1], &endx, &endy) == DSC_OK;
    int labels = 0;
    char num[32];
    for (size_t i = 0; i + 1 < n && labels < STEPS_MAX_LABELS; i++) {
        double px, py;
        if (dsc_panel_map(f, panel, x[i], y[i], &px, &py)) continue;
        int crowded = have_end && hypot(px - endx, py - endy) < STEPS_LABEL_GAP;
        for (int j = 0; j < labels && !crowded; j++)
            crowded = hypot(px - lx[j], py - ly[j]) < STEPS_LABEL_GAP;
        if (crowded) continue;
        snprintf(num, sizeof num, "%zu", iter ? iter[i] : i);
        if ((s = dsc_panel_annotate(f, panel, x[i], y[i], num, color))) return s;
        lx[labels] = px;
        ly[labels] = py;
        labels++;
    }
    dsc_clear_error();
    snprintf(num, sizeof num, "%zu (end)", iter ? iter[n - 1] : n - 1);
    return dsc_panel_annotate(f, panel, x[n - 1], y[n - 1], num, color);
}

/* ------------------------------------------------------------------ */
/* The line                                                           */
/* ------------------------------------------------------------------ */

double dsc_plot_line_ssr(const float *x, const float *y, size_t n, double intercept, double slope)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double r = (double)y[i] - (intercept + slope * (double)x[i]);
        s += r * r;
    }
    return s;
}

#define LINE_SLOPE     0
#define LINE_INTERCEPT 1

/* The columns' names, or x and y when the data has none. */
typedef struct {
    const char *x, *y;
} line_names;

/* "height = 0.95 + 0.64 × weight", the way the seed writes its line. */
static void line_text(char *buf, size_t size, const char *what, const line_names *nm, double b,
                      double k)
{
    if (!isfinite(b) || !isfinite(k)) {
        snprintf(buf, size, "%s: not finite (the run diverged)", what);
        return;
    }
    char kb[32], bb[32];
    dsc_plot_fmt(kb, sizeof kb, k);
    dsc_plot_fmt(bb, sizeof bb, b);
    snprintf(buf, size, "%s: %s = %s + %s × %s", what, nm->y, bb, kb, nm->x);
}

static dsc_status data_panel(dsc_figure *f, const float *x, const float *y, size_t n,
                             const line_names *nm, const dsc_run_trace *t, int fit_slope,
                             double ls_b, double ls_k)
{
    const float *first = t->params, *last = t->params + (t->rows - 1) * 2;
    double xmin = HUGE_VAL, xmax = -HUGE_VAL;
    double *px = dsc_malloc(n * sizeof(double)), *py = dsc_malloc(n * sizeof(double));
    if (!px || !py) {
        dsc_free(px);
        dsc_free(py);
        return dsc_fail(DSC_ENOMEM, "out of memory for a plot");
    }
    for (size_t i = 0; i < n; i++) {
        px[i] = x[i];
        py[i] = y[i];
        xmin = fmin(xmin, px[i]);
        xmax = fmax(xmax, px[i]);
    }
    double pad = xmax > xmin ? 0.08 * (xmax - xmin) : 1.0;
    double lx[2] = {xmin - pad, xmax + pad}, ly[2];
    char label[128];
    dsc_status s =
        dsc_panel_setup(f, DSC_LINE_PANEL_DATA, "The data and the fitted line", nm->x, nm->y, 0);
    if (!s && t->rows > 1) {
        /* Where the run started, faintly, so the fit reads as a change. */
        for (int i = 0; i < 2; i++) ly[i] = first[LINE_INTERCEPT] + first[LINE_SLOPE] * lx[i];
        line_text(label, sizeof label, "start", nm, first[LINE_INTERCEPT], first[LINE_SLOPE]);
        s = dsc_panel_line(f, DSC_LINE_PANEL_DATA, lx, ly, 2, label, "#AAAAAA", 0);
    }
    if (!s) {
        for (int i = 0; i < 2; i++) ly[i] = last[LINE_INTERCEPT] + last[LINE_SLOPE] * lx[i];
        line_text(label, sizeof label, "fitted", nm, last[LINE_INTERCEPT], last[LINE_SLOPE]);
        s = dsc_panel_line(f, DSC_LINE_PANEL_DATA, lx, ly, 2, label, "#0072B2", 0);
    }
    if (!s && isfinite(ls_b) && isfinite(ls_k)) {
        for (int i = 0; i < 2; i++) ly[i] = ls_b + ls_k * lx[i];
        const char *what = "least squares";
        if (!fit_slope && fabs(ls_k - last[LINE_SLOPE]) > 1e-6 * fmax(1.0, fabs(ls_k)))
            what = "least squares (both free)";
        line_text(label, sizeof label, what, nm, ls_b, ls_k);
        s = dsc_panel_line(f, DSC_LINE_PANEL_DATA, lx, ly, 2, label, "#D55E00", 1);
    }
    if (!s)
        s = dsc_panel_points(f, DSC_LINE_PANEL_DATA, px, py, n, "data", "#222222",
                             DSC_MARKER_CIRCLE);
    dsc_free(px);
    dsc_free(py);
    return s;
}

/* Both the curve and the steps come from the data, not from the trace's
 * losses, so the steps lie on the curve whatever loss the run used. */
static dsc_status ssr_intercept_panel(dsc_figure *f, const float *x, const float *y, size_t n,
                                      const dsc_run_trace *t)
{
    size_t rows = t->rows;
    /* A run that diverged may end at NaN; the first row is where the user
     * put the slope. */
    double k = t->params[LINE_SLOPE];
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    double best = (my - k * mx) / (double)n;

    /* Centred on the minimum, so the curve reads as the seed's bowl with
     * the steps walking down one side of it. */
    double half = 0;
    for (size_t i = 0; i < rows; i++)
        if (isfinite(t->params[i * 2 + LINE_INTERCEPT]))
            half = fmax(half, fabs(t->params[i * 2 + LINE_INTERCEPT] - best));
    half = half > 0 ? 1.15 * half : fmax(1.0, 0.5 * fabs(best));
    enum { NS = 201 };
    double cb[NS], cs[NS];
    for (int i = 0; i < NS; i++) {
        cb[i] = best - half + 2 * half * i / (NS - 1);
        cs[i] = dsc_plot_line_ssr(x, y, n, cb[i], k);
    }
    double *sb = dsc_malloc(rows * sizeof(double)), *ss = dsc_malloc(rows * sizeof(double));
    if (!sb || !ss) {
        dsc_free(sb);
        dsc_free(ss);
        return dsc_fail(DSC_ENOMEM, "out of memory for a plot");
    }
    for (size_t i = 0; i < rows; i++) {
        sb[i] = t->params[i * 2 + LINE_INTERCEPT];
        ss[i] = dsc_plot_line_ssr(x, y, n, sb[i], k);
    }
    char kb[32], bb[32], title[128], label[128];
    dsc_plot_fmt(kb, sizeof kb, k);
    dsc_plot_fmt(bb, sizeof bb, best);
    snprintf(title, sizeof title, "SSR against the intercept (slope %s)", kb);
    snprintf(label, sizeof label, "lowest SSR: intercept = %s", bb);
    dsc_status s = dsc_panel_setup(f, DSC_LINE_PANEL_SSR, title, "intercept",
                                   "sum of squared residuals (SSR)", 0);
    if (!s) s = dsc_panel_line(f, DSC_LINE_PANEL_SSR, cb, cs, NS, "SSR", "#CC79A7", 0);
    if (!s) s = dsc_panel_vline(f, DSC_LINE_PANEL_SSR, best, label, "#555555", 1);
    if (!s)
        s = dsc_plot_add_steps(f, DSC_LINE_PANEL_SSR, sb, ss, rows, NULL,
                               "steps of gradient descent", "#0072B2");
    dsc_free(sb);
    dsc_free(ss);
    return s;
}

static void widen(double *lo, double *hi, double frac)
{
    double span = *hi - *lo, c = 0.5 * (*lo + *hi);
    if (!(span > 1e-9 * fmax(1.0, fabs(c)))) {
        span = fmax(1.0, 0.5 * fabs(c));
        *lo = c - span / 2;
        *hi = c + span / 2;
    }
    *lo -= frac * span;
    *hi += frac * span;
}

static dsc_status contour_panel(dsc_figure *f, const float *x, const float *y, size_t n,
                                const dsc_run_trace *t, double ls_b, double ls_k)
{
    size_t rows = t->rows;
    int have_ls = isfinite(ls_b) && isfinite(ls_k);
    double b0 = have_ls ? ls_b : HUGE_VAL, b1 = have_ls ? ls_b : -HUGE_VAL;
    double k0 = have_ls ? ls_k : HUGE_VAL, k1 = have_ls ? ls_k : -HUGE_VAL;
    /* Non-finite steps (a run that diverged) are left out of the box; the
     * path shows a gap there. */
    for (size_t i = 0; i < rows; i++) {
        if (!isfinite(t->params[i * 2 + LINE_INTERCEPT]) ||
            !isfinite(t->params[i * 2 + LINE_SLOPE]))
            continue;
        b0 = fmin(b0, t->params[i * 2 + LINE_INTERCEPT]);
        b1 = fmax(b1, t->params[i * 2 + LINE_INTERCEPT]);
        k0 = fmin(k0, t->params[i * 2 + LINE_SLOPE]);
        k1 = fmax(k1, t->params[i * 2 + LINE_SLOPE]);
    }
    widen(&b0, &b1, 0.15);
    widen(&k0, &k1, 0.15);

    enum { NX = 80, NY = 60 };
    double *z = dsc_malloc(NX * NY * sizeof(double));
    double *pb = dsc_malloc(rows * sizeof(double)), *pk = dsc_malloc(rows * sizeof(double));
    dsc_status s = DSC_OK;
    if (!z || !pb || !pk) {
        s = dsc_fail(DSC_ENOMEM, "out of memory for a plot");
        goto done;
    }
    for (int j = 0; j < NY; j++) {
        double k = k0 + (k1 - k0) * j / (NY - 1);
        for (int i = 0; i < NX; i++)
            z[j * NX + i] = dsc_plot_line_ssr(x, y, n, b0 + (b1 - b0) * i / (NX - 1), k);
    }
    for (size_t i = 0; i < rows; i++) {
        pb[i] = t->params[i * 2 + LINE_INTERCEPT];
        pk[i] = t->params[i * 2 + LINE_SLOPE];
    }
    s = dsc_panel_setup(f, DSC_LINE_PANEL_SSR, "SSR over intercept and slope (contours)",
                        "intercept", "slope", 0);
    if (!s)
        s = dsc_panel_contour(f, DSC_LINE_PANEL_SSR, z, NX, NY, b0, b1, k0, k1, 14,
                              DSC_CONTOUR_FILLED | DSC_CONTOUR_LINES | DSC_CONTOUR_LOG, "SSR");
    if (!s)
        s = dsc_plot_add_steps(f, DSC_LINE_PANEL_SSR, pb, pk, rows, NULL,
                               "steps of gradient descent", "#E8175D");
    /* On top: a run that converged ends on it. The box already holds it, so
     * the step numbers placed above stay where they were mapped. */
    if (!s && have_ls)
        s = dsc_panel_points(f, DSC_LINE_PANEL_SSR, &ls_b, &ls_k, 1, "least squares", "#E69F00",
                             DSC_MARKER_DIAMOND);
done:
    dsc_free(z);
    dsc_free(pb);
    dsc_free(pk);
    return s;
}

static dsc_status iteration_panel(dsc_figure *f, const float *x, const float *y, size_t n,
                                  const dsc_run_trace *t, double ls_b, double ls_k)
{
    size_t rows = t->rows;
    double *it = dsc_malloc(rows * sizeof(double)), *ss = dsc_malloc(rows * sizeof(double));
    if (!it || !ss) {
        dsc_free(it);
        dsc_free(ss);
        return dsc_fail(DSC_ENOMEM, "out of memory for a plot");
    }
    for (size_t i = 0; i < rows; i++) {
        it[i] = (double)i;
        ss[i] = dsc_plot_line_ssr(x, y, n, t->params[i * 2 + LINE_INTERCEPT],
                                  t->params[i * 2 + LINE_SLOPE]);
    }
    int lg = dsc_plot_wants_log(ss, rows);
    dsc_status s = dsc_panel_setup(f, DSC_LINE_PANEL_ITER, "SSR after each step", "iteration",
                                   lg ? "SSR (log scale)" : "SSR", lg ? DSC_LOG_Y : 0);
    if (!s) s = dsc_panel_line(f, DSC_LINE_PANEL_ITER, it, ss, rows, "SSR", "#0072B2", 0);
    if (!s && rows <= 40)
        s = dsc_panel_points(f, DSC_LINE_PANEL_ITER, it, ss, rows, NULL, "#0072B2",
                             DSC_MARKER_CIRCLE);
    if (!s && isfinite(ls_b) && isfinite(ls_k)) {
        double floor_ssr = dsc_plot_line_ssr(x, y, n, ls_b, ls_k);
        char v[32], label[64];
        dsc_plot_fmt(v, sizeof v, floor_ssr);
        snprintf(label, sizeof label, "least-squares SSR = %s", v);
        if (!lg || floor_ssr > 0)
            s = dsc_panel_hline(f, DSC_LINE_PANEL_ITER, floor_ssr, label, "#D55E00", 1);
    }
    dsc_free(it);
    dsc_free(ss);
    return s;
}

dsc_status dsc_plot_line_figure(const float *x, const float *y, size_t n, const char *xname,
                                const char *yname, const dsc_run_trace *t, int fit_slope,
                                double ls_intercept, double ls_slope, dsc_figure **out)
{
    line_names nm = {xname && xname[0] ? xname : "x", yname && yname[0] ? yname : "y"};
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_plot_line: NULL output");
    *out = NULL;
    if (!x || !y || !t) return dsc_fail(DSC_EINVAL, "dsc_plot_line: NULL argument");
    if (n == 0) return dsc_fail(DSC_EINVAL, "dsc_plot_line: no data points to plot");
    if (t->n_params != 2)
        return dsc_fail(DSC_EINVAL,
                        "dsc_plot_line: the run has %zu parameters; a line has 2 (slope, "
                        "intercept)",
                        t->n_params);
    if (t->rows == 0 || !t->params)
        return dsc_fail(DSC_EINVAL, "dsc_plot_line: the run has no steps to plot");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return dsc_fail(DSC_EINVAL, "dsc_plot_line: data point %zu is not finite", i + 1);
    if (!isfinite(t->params[LINE_SLOPE]) || !isfinite(t->params[LINE_INTERCEPT]))
        return dsc_fail(DSC_EINVAL, "dsc_plot_line: the run starts at a non-finite point");
    if (!fit_slope) {
        float k = t->params[LINE_SLOPE];
        for (size_t i = 1; i < t->rows; i++)
            if (isfinite(t->params[i * 2 + LINE_SLOPE]) && t->params[i * 2 + LINE_SLOPE] != k)
                return dsc_fail(DSC_EINVAL,
                                "dsc_plot_line: the slope changed during the run (%g at step 0, "
                                "%g at step %zu), so it was fitted: plot with fit_slope 1",
                                (double)k, (double)t->params[i * 2 + LINE_SLOPE], i);
    }

    char title[128], kb[32];
    if (fit_slope) {
        snprintf(title, sizeof title, "Gradient descent on the intercept and the slope");
    } else {
        dsc_plot_fmt(kb, sizeof kb, t->params[LINE_SLOPE]);
        snprintf(title, sizeof title, "Gradient descent on the intercept (slope fixed at %s)", kb);
    }
    dsc_figure *f;
    dsc_status s = dsc_figure_new(title, fit_slope ? 3 : 2, &f);
    if (s) return s;
    s = data_panel(f, x, y, n, &nm, t, fit_slope, ls_intercept, ls_slope);
    if (!s && fit_slope) s = contour_panel(f, x, y, n, t, ls_intercept, ls_slope);
    if (!s && fit_slope) s = iteration_panel(f, x, y, n, t, ls_intercept, ls_slope);
    if (!s && !fit_slope) s = ssr_intercept_panel(f, x, y, n, t);
    if (s) {
        dsc_figure_free(f);
        return s;
    }
    *out = f;
    return DSC_OK;
}

dsc_status dsc_plot_line(const char *path, const float *x, const float *y, size_t n,
                         const char *xname, const char *yname, const dsc_run_trace *t,
                         int fit_slope, double ls_intercept, double ls_slope)
{
    if (!path || !path[0]) return dsc_fail(DSC_EINVAL, "dsc_plot_line: no output file");
    dsc_figure *f;
    dsc_status s =
        dsc_plot_line_figure(x, y, n, xname, yname, t, fit_slope, ls_intercept, ls_slope, &f);
    if (s) return s;
    s = dsc_figure_write(f, path);
    dsc_figure_free(f);
    return s;
}
