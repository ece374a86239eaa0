/* The lesson's line sections: gradient descent on the seed's line, the
 * intercept alone or with the slope, full batch or stochastic.
 *
 * The run is the command line's `descent line` run (the model "1 ->
 * 1:identity", the slope as w1 and the intercept as b1, the SSR), so its
 * rows are the rows of `descent line --trace`, number for number. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lesson_internal.h"
#include "seed.h"
#include "viz/explain.h"
#include "viz/plots_internal.h"

enum { SLOPE = 0, INTERCEPT = 1 };

/* Samples of the SSR curve and of the contour map's grid. */
#define CURVE_POINTS 121
#define GRID_POINTS  49
/* The page is for small data and short runs. */
#define MAX_ROWS_DATA 200
#define MAX_ITER      20000

typedef struct {
    lesson_run base;
    dsc_dataset *d;
    const float *x, *y;
    size_t n;
    char xname[64], yname[64];
    int fit_slope;
    lesson_trace tr;
    uint32_t *batches; /* tr.t.rows x batch rows drawn, for stochastic runs */
    size_t batch, batches_cap;
    double ls_b, ls_k;
    int have_ls;
    double b0, b1, k0, k1; /* the view of the curve and the contour map */
} line_run;

static void line_free(lesson_run *base)
{
    line_run *l = (line_run *)base;
    dsc_dataset_free(l->d);
    dsc_run_trace_free(&l->tr.t);
    dsc_free(l->batches);
    dsc_free(l);
}

static int record(const dsc_step_info *si, void *user)
{
    line_run *l = user;
    if (lesson_trace_step(&l->tr, si)) return 1;
    if (l->batch) {
        size_t need = l->tr.t.rows * l->batch;
        if (need > l->batches_cap) {
            size_t cap = l->batches_cap ? 2 * l->batches_cap : 64 * l->batch;
            uint32_t *p = dsc_realloc(l->batches, cap * sizeof *p);
            if (!p) {
                l->tr.record_error = dsc_fail(DSC_ENOMEM, "out of memory recording the run");
                return 1;
            }
            l->batches = p;
            l->batches_cap = cap;
        }
        uint32_t *dst = l->batches + (l->tr.t.rows - 1) * l->batch;
        for (size_t i = 0; i < l->batch; i++)
            dst[i] = si->rows && i < si->n_rows ? si->rows[i] : (uint32_t)i;
    }
    return 0;
}

static void least_squares(line_run *l, double slope)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0, n = (double)l->n;
    for (size_t i = 0; i < l->n; i++) mx += l->x[i], my += l->y[i];
    mx /= n;
    my /= n;
    for (size_t i = 0; i < l->n; i++)
        sxx += (l->x[i] - mx) * (l->x[i] - mx), sxy += (l->x[i] - mx) * (l->y[i] - my);
    if (l->fit_slope) {
        if (sxx == 0) return;
        slope = sxy / sxx;
    }
    l->ls_k = slope;
    l->ls_b = my - slope * mx;
    l->have_ls = 1;
}

/* A view that holds the least-squares point, the seed's start (0, 1) and
 * this run's start with room around them, so that moving the start inside
 * it keeps the picture still. */
static void widen(double *lo, double *hi, double v)
{
    if (isfinite(v) && v < *lo) *lo = v;
    if (isfinite(v) && v > *hi) *hi = v;
}

static void make_view(line_run *l, double b_start, double k_start)
{
    double b0 = 0, b1 = 0, k0 = 1, k1 = 1;
    if (l->have_ls) {
        widen(&b0, &b1, l->ls_b);
        widen(&k0, &k1, l->ls_k);
    }
    double pb = fmax(0.6 * (b1 - b0), 0.5), pk = fmax(0.6 * (k1 - k0), 0.5);
    b0 -= pb, b1 += pb, k0 -= pk, k1 += pk;
    if (b_start < b0 || b_start > b1 || k_start < k0 || k_start > k1) {
        widen(&b0, &b1, b_start);
        widen(&k0, &k1, k_start);
        pb = 0.15 * (b1 - b0);
        pk = 0.15 * (k1 - k0);
        b0 -= pb, b1 += pb, k0 -= pk, k1 += pk;
    }
    l->b0 = b0, l->b1 = b1, l->k0 = k0, l->k1 = k1;
}

static dsc_status load_data(line_run *l, const char *data)
{
    dsc_status s;
    if (strcmp(data, "seed") == 0) {
        s = dsc_dataset_from_arrays(seed_line_x, seed_line_y, 3, 1, 1, &l->d);
        strcpy(l->xname, "weight");
        strcpy(l->yname, "height");
    } else {
        /* As `descent line --data FILE` reads it: x the first column, y the
         * second, and the same messages. */
        dsc_csv_options co;
        dsc_csv_options_init(&co);
        co.features = "#1";
        co.target = "#2";
        co.target_kind = DSC_TARGET_VALUES;
        if ((s = dsc_dataset_from_csv(data, &co, &l->d))) return s;
        const char *xn = dsc_dataset_input_name(l->d, 0), *yn = dsc_dataset_output_name(l->d, 0);
        snprintf(l->xname, sizeof l->xname, "%s", xn ? xn : "x");
        snprintf(l->yname, sizeof l->yname, "%s", yn ? yn : "y");
    }
    if (s) return s;
    l->n = dsc_dataset_rows(l->d);
    if (l->n > MAX_ROWS_DATA)
        return dsc_fail(DSC_EINVAL, "%s: %zu rows; the page takes at most %d (use `descent line`)",
                        data, l->n, MAX_ROWS_DATA);
    l->x = dsc_dataset_x(l->d);
    l->y = dsc_dataset_y(l->d);
    return DSC_OK;
}

static dsc_status train(line_run *l, lesson_req *r)
{
    const char *data, *fit, *opt;
    double slope, icpt0, slope0, lr, tol, seed;
    long max_iter, batch;
    dsc_status s;
    if ((s = lesson_str(r, "data", &data)) || (s = lesson_str(r, "fit", &fit)) ||
        (s = lesson_num(r, "slope", &slope)) || (s = lesson_num(r, "icpt0", &icpt0)) ||
        (s = lesson_num(r, "slope0", &slope0)) || (s = lesson_num(r, "lr", &lr)) ||
        (s = lesson_num(r, "tol", &tol)) || (s = lesson_count(r, "max_iter", &max_iter)) ||
        (s = lesson_count(r, "batch", &batch)) || (s = lesson_num(r, "seed", &seed)) ||
        (s = lesson_str(r, "opt", &opt)))
        return s;
    if (strcmp(fit, "intercept") != 0 && strcmp(fit, "both") != 0)
        return dsc_fail(DSC_EINVAL, "lesson: fit=%s (intercept or both)", fit);
    if (max_iter > MAX_ITER)
        return dsc_fail(DSC_EINVAL, "the page runs at most %d iterations", MAX_ITER);
    l->fit_slope = strcmp(fit, "both") == 0;
    if ((s = load_data(l, data))) return s;

    dsc_train_params p;
    dsc_train_params_init(&p);
    if ((s = dsc_optimizer_from_name(opt, &p.optimizer))) return s;
    p.learning_rate = lr;
    p.step_tol = tol;
    p.max_iter = max_iter;
    p.batch = (size_t)batch;
    p.seed = (uint64_t)seed;
    p.only = l->fit_slope ? NULL : "b1";
    p.on_step = record;
    p.user = l;
    l->batch = batch > 0 && (size_t)batch < l->n ? (size_t)batch : 0;

    dsc_model *m;
    if ((s = dsc_model_new("1 -> 1:identity", &m))) return s;
    float *pm = dsc_model_params(m);
    pm[SLOPE] = (float)(l->fit_slope ? slope0 : slope);
    pm[INTERCEPT] = (float)icpt0;
    least_squares(l, pm[SLOPE]);
    make_view(l, pm[INTERCEPT], pm[SLOPE]);
    s = lesson_trace_train(&l->tr, m, l->d, &p);
    dsc_model_free(m);
    l->base.rows = l->tr.t.rows;
    return s;
}

/* ---- answers ---- */

static double row_value(const line_run *l, size_t i, int which)
{
    return l->tr.t.params[i * 2 + which];
}

static void rows_json(const line_run *l, jbuf *b)
{
    jb_add(b,
           ", \"cols\": [\"intercept\", \"slope\", \"d_intercept\", \"d_slope\", "
           "\"step_intercept\", \"step_slope\", \"ssr\", \"ssr_all\", \"max_step\"], \"rows\": [");
    for (size_t i = 0; i < l->tr.t.rows; i++) {
        const float *p = l->tr.t.params + i * 2, *g = l->tr.t.grads + i * 2;
        int last = i + 1 == l->tr.t.rows;
        double gi = last ? l->tr.final_grad[INTERCEPT] : g[INTERCEPT];
        double gs = last ? l->tr.final_grad[SLOPE] : g[SLOPE];
        jb_add(b, "%s[", i ? ", " : "");
        jb_text(b, p[INTERCEPT]);
        jb_add(b, ",");
        jb_text(b, p[SLOPE]);
        jb_add(b, ",");
        jb_text(b, gi);
        jb_add(b, ",");
        jb_text(b, gs);
        if (last) {
            jb_add(b, ",\"\",\"\"");
        } else {
            /* The step is what the update subtracted, as `descent line
             * --trace` writes it. */
            double si = (double)p[INTERCEPT] - p[2 + INTERCEPT],
                   ss = (double)p[SLOPE] - p[2 + SLOPE];
            jb_add(b, ",");
            jb_text(b, si);
            jb_add(b, ",");
            jb_text(b, ss);
        }
        jb_add(b, ",");
        jb_text(b, l->tr.t.loss[i]);
        jb_add(b, ",");
        jb_text(b, dsc_plot_line_ssr(l->x, l->y, l->n, p[INTERCEPT], p[SLOPE]));
        jb_add(b, ",");
        if (last) {
            jb_add(b, "\"\"");
        } else {
            double si = fabs((double)p[INTERCEPT] - p[2 + INTERCEPT]);
            double ss = l->fit_slope ? fabs((double)p[SLOPE] - p[2 + SLOPE]) : 0;
            jb_text(b, si > ss ? si : ss);
        }
        jb_add(b, "]");
    }
    jb_add(b, "]");
}

/* Predictions of each row's line at the data and at the view's ends. */
static void preds_json(const line_run *l, jbuf *b, double x0, double x1)
{
    jb_add(b, ", \"x_ends\": ");
    double ends[2] = {x0, x1};
    jb_nums(b, ends, 2);
    jb_add(b, ", \"preds\": [");
    for (size_t i = 0; i < l->tr.t.rows; i++) {
        double bi = row_value(l, i, INTERCEPT), ki = row_value(l, i, SLOPE);
        jb_add(b, "%s[", i ? ", " : "");
        for (size_t j = 0; j < l->n + 2; j++) {
            double x = j < l->n ? (double)l->x[j] : ends[j - l->n];
            if (j) jb_add(b, ",");
            /* Float precision: the model's own; shorter text. */
            jb_num(b, (float)(bi + ki * x));
        }
        jb_add(b, "]");
    }
    jb_add(b, "]");
}

static dsc_status answer_run(line_run *l, jbuf *b)
{
    jb_add(b, "{\"kind\": \"line\", \"fit\": \"%s\", \"xname\": ",
           l->fit_slope ? "both" : "intercept");
    jb_str(b, l->xname);
    jb_add(b, ", \"yname\": ");
    jb_str(b, l->yname);
    double *xy = dsc_malloc(2 * l->n * sizeof(double));
    if (!xy) return dsc_fail(DSC_ENOMEM, "out of memory");
    double x0 = HUGE_VAL, x1 = -HUGE_VAL;
    for (size_t i = 0; i < l->n; i++) {
        xy[i] = l->x[i], xy[l->n + i] = l->y[i];
        x0 = fmin(x0, xy[i]), x1 = fmax(x1, xy[i]);
    }
    double pad = x1 > x0 ? 0.1 * (x1 - x0) : 1;
    x0 = fmin(x0 - pad, 0), x1 += pad;
    jb_add(b, ", \"x\": ");
    jb_nums(b, xy, l->n);
    jb_add(b, ", \"y\": ");
    jb_nums(b, xy + l->n, l->n);
    dsc_free(xy);
    jb_add(b, ", \"stop\": \"%s\", \"iterations\": %zu, \"diverged\": %s",
           dsc_stop_name(l->tr.res.stop), l->tr.res.iterations,
           l->tr.status == DSC_EDIVERGED ? "true" : "false");
    jb_add(b, ", \"batch\": %zu", l->batch);
    rows_json(l, b);
    preds_json(l, b, x0, x1);
    if (l->batch) {
        jb_add(b, ", \"batches\": [");
        for (size_t i = 0; i + 1 < l->tr.t.rows; i++) {
            jb_add(b, "%s[", i ? "," : "");
            for (size_t j = 0; j < l->batch; j++)
                jb_add(b, "%s%u", j ? "," : "", (unsigned)l->batches[i * l->batch + j]);
            jb_add(b, "]");
        }
        jb_add(b, "]");
    }
    if (l->have_ls) {
        jb_add(b, ", \"ls\": {\"intercept\": ");
        jb_text(b, l->ls_b);
        jb_add(b, ", \"slope\": ");
        jb_text(b, l->ls_k);
        jb_add(b, ", \"ssr\": ");
        jb_text(b, dsc_plot_line_ssr(l->x, l->y, l->n, l->ls_b, l->ls_k));
        jb_add(b, "}");
    }
    jb_add(b, ", \"view\": {\"intercept\": [");
    jb_num(b, l->b0);
    jb_add(b, ",");
    jb_num(b, l->b1);
    jb_add(b, "], \"slope\": [");
    jb_num(b, l->k0);
    jb_add(b, ",");
    jb_num(b, l->k1);
    jb_add(b, "]}");
    if (!l->fit_slope) {
        /* The seed's parabola: the SSR against the intercept, the slope
         * fixed. */
        double xs[CURVE_POINTS], ys[CURVE_POINTS], k = row_value(l, 0, SLOPE);
        for (size_t i = 0; i < CURVE_POINTS; i++) {
            xs[i] = l->b0 + (l->b1 - l->b0) * (double)i / (CURVE_POINTS - 1);
            ys[i] = dsc_plot_line_ssr(l->x, l->y, l->n, xs[i], k);
        }
        jb_add(b, ", \"curve\": {\"intercept\": ");
        jb_nums(b, xs, CURVE_POINTS);
        jb_add(b, ", \"ssr\": ");
        jb_nums(b, ys, CURVE_POINTS);
        jb_add(b, "}");
    } else {
        /* The seed's 3-D surface, sampled for a contour map: rows of
         * slopes, columns of intercepts. */
        double *z = dsc_malloc(GRID_POINTS * GRID_POINTS * sizeof(double));
        if (!z) return dsc_fail(DSC_ENOMEM, "out of memory");
        for (size_t j = 0; j < GRID_POINTS; j++)
            for (size_t i = 0; i < GRID_POINTS; i++)
                z[j * GRID_POINTS + i] = dsc_plot_line_ssr(
                    l->x, l->y, l->n, l->b0 + (l->b1 - l->b0) * (double)i / (GRID_POINTS - 1),
                    l->k0 + (l->k1 - l->k0) * (double)j / (GRID_POINTS - 1));
        jb_add(b, ", \"grid\": {\"n\": %d, \"ssr\": ", GRID_POINTS);
        jb_nums(b, z, GRID_POINTS * GRID_POINTS);
        jb_add(b, "}");
        dsc_free(z);
    }
    jb_add(b, "}");
    return DSC_OK;
}

/* The state before update `at`: the chain rule's text at its parameters,
 * over the points the update used. */
static dsc_status answer_at(line_run *l, long at, jbuf *b)
{
    size_t i = (size_t)at, n = l->n;
    const float *x = l->x, *y = l->y;
    float bx[MAX_ROWS_DATA], by[MAX_ROWS_DATA];
    int in_batch = l->batch && i + 1 < l->tr.t.rows;
    if (in_batch) {
        n = l->batch;
        for (size_t j = 0; j < n; j++) {
            uint32_t row = l->batches[i * l->batch + j];
            bx[j] = l->x[row];
            by[j] = l->y[row];
        }
        x = bx, y = by;
    }
    jb_add(b, "{\"at\": %ld, \"explain\": ", at);
    char *text = NULL;
    dsc_status s = dsc_explain_line(x, y, n, row_value(l, i, INTERCEPT), row_value(l, i, SLOPE),
                                    l->fit_slope, 0, &text);
    if (s == DSC_EINVAL) {
        /* Too many points to write out, or a diverged run: say so in
         * place of the text. */
        jb_str(b, dsc_last_error());
        dsc_clear_error();
    } else if (s) {
        return s;
    } else {
        jb_str(b, text);
        dsc_free(text);
    }
    jb_add(b, ", \"over\": \"%s\"}", in_batch ? "batch" : "all");
    return DSC_OK;
}

static dsc_status line_answer(lesson_run *base, const lesson_req *q, jbuf *b)
{
    line_run *l = (line_run *)base;
    if (q->slice[0]) return dsc_fail(DSC_EINVAL, "lesson: slice= is for net runs");
    return q->at < 0 ? answer_run(l, b) : answer_at(l, q->at, b);
}

static dsc_status line_train(lesson_run *base, lesson_req *q) { return train((line_run *)base, q); }

const lesson_run_kind lesson_line_kind = {sizeof(line_run), line_train, line_answer, line_free};
