/* The lesson's network sections: the seed's dosage network (softplus or
 * ReLU units, scaled, summed, shifted by b3), trained by backpropagation,
 * with the chain rule's text at any step. The run is `descent demo`'s. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lesson_internal.h"
#include "seed.h"
#include "viz/explain.h"
#include "viz/plots_internal.h"

#define MAX_ROWS_DATA 200
#define MAX_ITER      20000
/* Samples of the unit curves and of the loss against one parameter. */
#define CURVE_POINTS 61
#define SWEEP_POINTS 81

typedef struct {
    lesson_run base;
    const seed_demo *demo;
    dsc_model *m; /* the starting values; rows are set into it to answer */
    dsc_dataset *d;
    char xname[64], yname[64];
    uint8_t trained[7];
    size_t sweep;    /* index of the parameter the loss is drawn against */
    int sweep_fixed; /* only that parameter moves: one curve for the whole run */
    lesson_trace tr;
    double x0, x1; /* the curves' range */
} net_run;

static void net_free(lesson_run *base)
{
    net_run *r = (net_run *)base;
    dsc_model_free(r->m);
    dsc_dataset_free(r->d);
    dsc_run_trace_free(&r->tr.t);
    dsc_free(r);
}

static dsc_status load_data(net_run *r, const char *data)
{
    dsc_status s;
    if (strcmp(data, "dosage") == 0) {
        strcpy(r->xname, "dosage");
        strcpy(r->yname, "efficacy");
        return seed_dosage_new(&r->d);
    }
    /* As `descent train --data FILE` reads it: the last column is the
     * target, the others the inputs. */
    dsc_csv_options co;
    dsc_csv_options_init(&co);
    /* The seed's network predicts a number: a text in the target is an
     * error at its FILE:LINE:COLUMN, not a class. */
    co.target_kind = DSC_TARGET_VALUES;
    if ((s = dsc_dataset_from_csv(data, &co, &r->d))) return s;
    if (dsc_dataset_inputs(r->d) != 1)
        return dsc_fail(DSC_EFORMAT,
                        "%s: %zu input columns; the seed's network has one input (the "
                        "file needs two columns: input, then target)",
                        data, dsc_dataset_inputs(r->d));
    size_t n = dsc_dataset_rows(r->d);
    if (n > MAX_ROWS_DATA)
        return dsc_fail(DSC_EINVAL, "%s: %zu rows; the page takes at most %d (use `descent train`)",
                        data, n, MAX_ROWS_DATA);
    const char *xn = dsc_dataset_input_name(r->d, 0), *yn = dsc_dataset_output_name(r->d, 0);
    snprintf(r->xname, sizeof r->xname, "%s", xn ? xn : "x");
    snprintf(r->yname, sizeof r->yname, "%s", yn ? yn : "y");
    return DSC_OK;
}

/* init=demo, or seven numbers in the demo's order of names. */
static dsc_status set_init(net_run *r, const char *init)
{
    if (strcmp(init, "demo") == 0) return DSC_OK;
    const char *p = init, *end;
    for (int i = 0; i < 7; i++) {
        double v;
        if (dsc_parse_double(p, &end, &v) != 0 || !isfinite(v) || fabs(v) > 1e6 ||
            (*end != (i == 6 ? '\0' : ',')))
            return dsc_fail(DSC_EINVAL, "lesson: init=%s: seven numbers, comma-separated", init);
        dsc_status s = dsc_model_set(r->m, r->demo->names[i], (float)v);
        if (s) return s;
        p = end + 1;
    }
    return DSC_OK;
}

static dsc_status train(net_run *r, lesson_req *q)
{
    const char *demo, *data, *init, *only, *opt, *relu0;
    double lr, tol, loss_tol, seed;
    long max_iter;
    dsc_status s;
    if ((s = lesson_str(q, "demo", &demo)) || (s = lesson_str(q, "data", &data)) ||
        (s = lesson_str(q, "init", &init)) || (s = lesson_str(q, "only", &only)) ||
        (s = lesson_num(q, "lr", &lr)) || (s = lesson_str(q, "opt", &opt)) ||
        (s = lesson_num(q, "tol", &tol)) || (s = lesson_count(q, "max_iter", &max_iter)) ||
        (s = lesson_num(q, "loss_tol", &loss_tol)) || (s = lesson_str(q, "relu0", &relu0)) ||
        (s = lesson_num(q, "seed", &seed)))
        return s;
    if (!(r->demo = seed_find_demo(demo)))
        return dsc_fail(DSC_EINVAL, "lesson: no demo '%s'", demo);
    if (max_iter > MAX_ITER)
        return dsc_fail(DSC_EINVAL, "the page runs at most %d iterations", MAX_ITER);
    dsc_relu_grad rule;
    if (strcmp(relu0, "0") == 0)
        rule = DSC_RELU_GRAD_ZERO;
    else if (strcmp(relu0, "1") == 0)
        rule = DSC_RELU_GRAD_ONE;
    else if (strcmp(relu0, "random") == 0)
        rule = DSC_RELU_GRAD_RANDOM;
    else
        return dsc_fail(DSC_EINVAL, "lesson: relu0=%s (0, 1 or random)", relu0);
    if ((s = load_data(r, data)) || (s = seed_demo_new(r->demo, &r->m)) || (s = set_init(r, init)))
        return s;
    dsc_model_set_relu_grad(r->m, rule);

    dsc_train_params p;
    dsc_train_params_init(&p);
    if ((s = dsc_optimizer_from_name(opt, &p.optimizer))) return s;
    p.learning_rate = lr;
    p.step_tol = tol;
    p.max_iter = max_iter;
    p.loss_tol = loss_tol;
    p.seed = (uint64_t)seed;
    p.only = strcmp(only, "demo") == 0 ? r->demo->only : strcmp(only, "all") == 0 ? NULL : only;

    /* Which parameters train, by name, for the page. */
    for (size_t i = 0; i < 7; i++) {
        size_t first = 0, count = 0;
        dsc_model_find(r->m, r->demo->names[i], &first, &count);
        r->trained[i] = !p.only;
        if (p.only && strstr(p.only, r->demo->names[i])) {
            /* A name in the list, not a prefix of one (w1 in w12). */
            const char *h = p.only;
            size_t len = strlen(r->demo->names[i]);
            while ((h = strstr(h, r->demo->names[i]))) {
                if ((h == p.only || h[-1] == ',') && (h[len] == ',' || h[len] == '\0'))
                    r->trained[i] = 1;
                h += len;
            }
        }
        if (strcmp(r->demo->names[i], r->demo->sweep) == 0) r->sweep = first;
    }
    dsc_model *m;
    if ((s = dsc_model_clone(r->m, &m))) return s;
    s = lesson_trace_train(&r->tr, m, r->d, &p);
    dsc_model_free(m);
    r->base.rows = r->tr.t.rows;
    if (s) return s;

    int others_move = 0;
    for (size_t i = 0; i < 7; i++)
        if (r->trained[i] && strcmp(r->demo->names[i], r->demo->sweep) != 0) others_move = 1;
    r->sweep_fixed = !others_move || r->tr.t.rows == 1;
    /* Ranges that hold the data, and every value the swept parameter takes. */
    const float *x = dsc_dataset_x(r->d);
    size_t n = dsc_dataset_rows(r->d);
    double a = HUGE_VAL, b = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) a = fmin(a, x[i]), b = fmax(b, x[i]);
    double pad = b > a ? 0.1 * (b - a) : 1;
    r->x0 = a - pad, r->x1 = b + pad;
    return DSC_OK;
}

/* The range a loss curve against parameter `idx` is drawn over: every value
 * it takes in the run, and room either side. */
static void sweep_range(const net_run *r, size_t idx, double *lo, double *hi)
{
    size_t np = dsc_model_param_count(r->m);
    double a = HUGE_VAL, b = -HUGE_VAL;
    for (size_t i = 0; i < r->tr.t.rows; i++) {
        double v = r->tr.t.params[i * np + idx];
        if (isfinite(v)) a = fmin(a, v), b = fmax(b, v);
    }
    if (!(a <= b)) a = b = 0;
    double pad = fmax(0.5 * (b - a), 1.5);
    *lo = a - pad, *hi = b + pad;
}

/* ---- answers ---- */

static void set_row(net_run *r, size_t row)
{
    size_t np = dsc_model_param_count(r->m);
    memcpy(dsc_model_params(r->m), r->tr.t.params + row * np, np * sizeof(float));
}

/* The loss against parameter `idx`, the others at the model's values, as
 * JSON member `key`. */
static dsc_status sweep_json(net_run *r, jbuf *b, size_t idx, const char *key)
{
    double xs[SWEEP_POINTS], ls[SWEEP_POINTS], lo, hi;
    sweep_range(r, idx, &lo, &hi);
    for (size_t i = 0; i < SWEEP_POINTS; i++)
        xs[i] = lo + (hi - lo) * (double)i / (SWEEP_POINTS - 1);
    dsc_status s = dsc_plot_sweep(r->m, r->d, DSC_LOSS_SSR, idx, xs, SWEEP_POINTS, ls);
    if (s) return s;
    jb_add(b, ", \"%s\": {\"param\": ", key);
    jb_str(b, dsc_model_param_name(r->m, idx));
    jb_add(b, ", \"values\": ");
    jb_nums(b, xs, SWEEP_POINTS);
    jb_add(b, ", \"ssr\": ");
    jb_nums(b, ls, SWEEP_POINTS);
    jb_add(b, "}");
    return DSC_OK;
}

static dsc_status answer_run(net_run *r, jbuf *b)
{
    size_t np = dsc_model_param_count(r->m), n = dsc_dataset_rows(r->d);
    jb_add(b, "{\"kind\": \"net\", \"demo\": ");
    jb_str(b, r->demo->name);
    jb_add(b, ", \"spec\": ");
    jb_str(b, dsc_model_spec(r->m));
    jb_add(b, ", \"xname\": ");
    jb_str(b, r->xname);
    jb_add(b, ", \"yname\": ");
    jb_str(b, r->yname);
    double *v = dsc_malloc((2 * n + 2) * sizeof(double));
    if (!v) return dsc_fail(DSC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = dsc_dataset_x(r->d)[i], v[n + i] = dsc_dataset_y(r->d)[i];
    jb_add(b, ", \"x\": ");
    jb_nums(b, v, n);
    jb_add(b, ", \"y\": ");
    jb_nums(b, v + n, n);
    dsc_free(v);
    jb_add(b, ", \"stop\": \"%s\", \"iterations\": %zu, \"diverged\": %s",
           dsc_stop_name(r->tr.res.stop), r->tr.res.iterations,
           r->tr.status == DSC_EDIVERGED ? "true" : "false");
    /* Columns as `descent demo --trace` writes them: the parameters in the
     * model's order, their derivatives, the loss. */
    jb_add(b, ", \"cols\": [");
    for (size_t i = 0; i < np; i++) {
        jb_add(b, "%s", i ? ", " : "");
        jb_str(b, dsc_model_param_name(r->m, i));
    }
    for (size_t i = 0; i < np; i++) jb_add(b, ", \"d_%s\"", dsc_model_param_name(r->m, i));
    jb_add(b, ", \"loss\"], \"trained\": [");
    for (size_t i = 0; i < np; i++) {
        size_t k = 0;
        while (k < 7 && strcmp(r->demo->names[k], dsc_model_param_name(r->m, i)) != 0) k++;
        jb_add(b, "%s%d", i ? "," : "", k < 7 && r->trained[k]);
    }
    jb_add(b, "], \"rows\": [");
    for (size_t i = 0; i < r->tr.t.rows; i++) {
        int last = i + 1 == r->tr.t.rows;
        jb_add(b, "%s[", i ? ", " : "");
        for (size_t j = 0; j < np; j++) {
            if (j) jb_add(b, ",");
            jb_text(b, r->tr.t.params[i * np + j]);
        }
        for (size_t j = 0; j < np; j++) {
            jb_add(b, ",");
            jb_text(b, last ? r->tr.final_grad[j] : r->tr.t.grads[i * np + j]);
        }
        jb_add(b, ",");
        jb_text(b, r->tr.t.loss[i]);
        jb_add(b, "]");
    }
    jb_add(b, "], \"preds\": [");
    float *pred = dsc_malloc(n * sizeof(float));
    if (!pred) return dsc_fail(DSC_ENOMEM, "out of memory");
    dsc_status s = DSC_OK;
    for (size_t i = 0; i < r->tr.t.rows && !s; i++) {
        set_row(r, i);
        s = dsc_model_predict(r->m, dsc_dataset_x(r->d), n, pred);
        jb_add(b, "%s[", i ? ", " : "");
        for (size_t j = 0; j < n && !s; j++) {
            if (j) jb_add(b, ",");
            jb_num(b, pred[j]);
        }
        jb_add(b, "]");
    }
    dsc_free(pred);
    jb_add(b, "], \"x_range\": [");
    jb_num(b, r->x0);
    jb_add(b, ",");
    jb_num(b, r->x1);
    jb_add(b, "]");
    if (!s && r->sweep_fixed) {
        set_row(r, 0);
        s = sweep_json(r, b, r->sweep, "sweep");
    }
    jb_add(b, "}");
    return s;
}

/* dsc_explain_model's text, cut into the part every parameter shares and
 * one block per parameter ("dSSR/dw1 = ..."), so the page can show the
 * one a learner picks. */
static void explain_json(jbuf *b, const dsc_model *m, const char *text)
{
    jb_add(b, "{\"blocks\": [");
    const char *p = text;
    int first = 1;
    while (*p) {
        const char *e = strstr(p, "\n\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *blk = dsc_malloc(len + 1);
        if (!blk) {
            b->failed = 1;
            return;
        }
        memcpy(blk, p, len);
        blk[len] = '\0';
        /* A parameter's block starts "dSSR/dNAME = " (the text's first
         * line, "dSSR/dparam for the network ...", names none). */
        char name[32] = "";
        size_t at, count;
        if (strncmp(blk, "dSSR/d", 6) == 0) {
            size_t k = strcspn(blk + 6, " \n");
            if (k < sizeof name) snprintf(name, sizeof name, "%.*s", (int)k, blk + 6);
            if (dsc_model_find(m, name, &at, &count) != DSC_OK) {
                name[0] = '\0';
                dsc_clear_error();
            }
        }
        jb_add(b, "%s{\"param\": ", first ? "" : ", ");
        if (*name)
            jb_str(b, name);
        else
            jb_add(b, "null");
        jb_add(b, ", \"text\": ");
        jb_str(b, blk);
        jb_add(b, "}");
        dsc_free(blk);
        first = 0;
        p += len;
        while (*p == '\n') p++;
    }
    jb_add(b, "]}");
}

static dsc_status answer_at(net_run *r, long at, const char *slice, jbuf *b)
{
    size_t slice_at = 0, count = 0;
    if (*slice && (dsc_model_find(r->m, slice, &slice_at, &count) || count != 1))
        return dsc_fail(DSC_EINVAL, "lesson: slice=%s: no parameter of that name (%s)", slice,
                        "w1, b1, w2, b2, w3, w4, b3");
    set_row(r, (size_t)at);
    jb_add(b, "{\"at\": %ld, \"explain\": ", at);
    char *text = NULL;
    double diff = 0;
    dsc_status s = dsc_explain_model(r->m, r->d, DSC_LOSS_SSR, NULL, 0, &text, &diff);
    if (s == DSC_EINVAL) {
        jb_add(b, "{\"error\": ");
        jb_str(b, dsc_last_error());
        jb_add(b, "}");
        dsc_clear_error();
    } else if (s) {
        return s;
    } else {
        explain_json(b, r->m, text);
        dsc_free(text);
    }
    double xs[CURVE_POINTS];
    for (size_t i = 0; i < CURVE_POINTS; i++)
        xs[i] = r->x0 + (r->x1 - r->x0) * (double)i / (CURVE_POINTS - 1);
    size_t h = 0;
    double *act, *sc, *sum, *fin;
    if ((s = dsc_plot_unit_curves(r->m, xs, CURVE_POINTS, &h, &act, &sc, &sum, &fin))) return s;
    jb_add(b, ", \"curves\": {\"x\": ");
    jb_nums(b, xs, CURVE_POINTS);
    jb_add(b, ", \"act\": [");
    for (size_t j = 0; j < h; j++) {
        jb_add(b, "%s", j ? "," : "");
        jb_nums(b, act + j * CURVE_POINTS, CURVE_POINTS);
    }
    jb_add(b, "], \"scaled\": [");
    for (size_t j = 0; j < h; j++) {
        jb_add(b, "%s", j ? "," : "");
        jb_nums(b, sc + j * CURVE_POINTS, CURVE_POINTS);
    }
    jb_add(b, "], \"sum\": ");
    jb_nums(b, sum, CURVE_POINTS);
    jb_add(b, ", \"final\": ");
    jb_nums(b, fin, CURVE_POINTS);
    jb_add(b, "}");
    dsc_free(act);
    dsc_free(sc);
    dsc_free(sum);
    dsc_free(fin);
    if (!r->sweep_fixed && (s = sweep_json(r, b, r->sweep, "sweep"))) return s;
    if (*slice && (s = sweep_json(r, b, slice_at, "slice"))) return s;
    jb_add(b, "}");
    return DSC_OK;
}

static dsc_status net_answer(lesson_run *base, const lesson_req *q, jbuf *b)
{
    net_run *r = (net_run *)base;
    return q->at < 0 ? answer_run(r, b) : answer_at(r, q->at, q->slice, b);
}

static dsc_status net_train(lesson_run *base, lesson_req *q) { return train((net_run *)base, q); }

const lesson_run_kind lesson_net_kind = {sizeof(net_run), net_train, net_answer, net_free};

dsc_status lesson_demos(jbuf *b)
{
    jb_add(b, "{\"demos\": [");
    for (size_t i = 0; i < seed_n_demos; i++) {
        const seed_demo *d = &seed_demos[i];
        jb_add(b, "%s{\"name\": ", i ? ", " : "");
        jb_str(b, d->name);
        jb_add(b, ", \"title\": ");
        jb_str(b, d->title);
        jb_add(b, ", \"spec\": ");
        jb_str(b, d->spec);
        jb_add(b, ", \"names\": [");
        for (int k = 0; k < 7; k++) {
            jb_add(b, "%s", k ? "," : "");
            jb_str(b, d->names[k]);
        }
        jb_add(b, "], \"values\": [");
        for (int k = 0; k < 7; k++) {
            jb_add(b, "%s", k ? "," : "");
            jb_text(b, d->values[k]);
        }
        jb_add(b, "], \"only\": ");
        if (d->only)
            jb_str(b, d->only);
        else
            jb_add(b, "null");
        jb_add(b, ", \"lr\": ");
        jb_text(b, d->lr);
        jb_add(b, ", \"loss_tol\": ");
        jb_text(b, d->loss_tol);
        jb_add(b, ", \"trains\": %s, \"sweep\": ", d->train_by_default ? "true" : "false");
        jb_str(b, d->sweep);
        jb_add(b, "}");
    }
    jb_add(b, "]}");
    return DSC_OK;
}
