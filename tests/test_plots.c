/* The seed's pictures: the recorded run, the line plots (SSR against the
 * intercept, the contour map) and the network plots (the SSR-vs-b3 curve,
 * the fitted curve, "Trained Weights", the loss per iteration). Checks that
 * files are written and well-formed, say what they show, and that what is
 * drawn sits where the data put it. Set DSC_TEST_PLOTS_DIR to a directory
 * to keep the figures for looking at them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "viz/plots_internal.h"

static const float line_x[] = {0.5f, 2.3f, 2.9f};
static const float line_y[] = {1.4f, 1.9f, 3.2f};
#define LINE_N 3

static char tmpdir[512];
static int keep;

static void path_in(char *buf, size_t size, const char *sub, const char *name)
{
    snprintf(buf, size, "%s/%s%s%s", tmpdir, sub ? sub : "", sub ? "/" : "", name);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    if (s && fread(s, 1, (size_t)len, fp) != (size_t)len) {
        free(s);
        s = NULL;
    }
    if (s) s[len] = 0;
    fclose(fp);
    return s;
}

static int have_xmllint = -1;

static int well_formed(const char *path)
{
    if (have_xmllint < 0) {
        have_xmllint = access("/usr/bin/xmllint", X_OK) == 0;
        if (!have_xmllint) printf("xmllint not found: well-formedness checks skipped\n");
    }
    if (!have_xmllint) return 1;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout '%s'", path);
    return system(cmd) == 0;
}

/* The text of panel k: from its group to the next panel's. */
static const char *panel_text(const char *svg, int k, const char **end)
{
    char tag[32];
    snprintf(tag, sizeof tag, "id=\"panel%d\"", k);
    const char *p = strstr(svg, tag);
    if (!p) return NULL;
    const char *e = strstr(p + 1, "id=\"panel");
    *end = e ? e : p + strlen(p);
    return p;
}

/* Whether panel k has a circle of class cls at (px, py) (to the 2 decimals
 * the SVG writes). */
static int circle_at(const char *svg, int k, const char *cls, double px, double py)
{
    const char *end, *p = panel_text(svg, k, &end);
    if (!p) return 0;
    char key[48];
    snprintf(key, sizeof key, "<circle class=\"%s\" cx=\"", cls);
    while ((p = strstr(p, key)) && p < end) {
        p += strlen(key);
        char *q;
        double cx = strtod(p, &q);
        const char *c = strstr(q, "cy=\"");
        if (!c) return 0;
        double cy = strtod(c + 4, NULL);
        if (fabs(cx - px) < 0.011 && fabs(cy - py) < 0.011) return 1;
    }
    return 0;
}

static size_t count_in_panel(const char *svg, int k, const char *what)
{
    const char *end, *p = panel_text(svg, k, &end);
    size_t n = 0;
    while (p && (p = strstr(p, what)) && p < end) {
        n++;
        p++;
    }
    return n;
}

/* Each (x[i], y[i]) drawn as a circle of class cls where the panel maps it. */
static int all_drawn(const dsc_figure *f, const char *svg, int k, const char *cls, const double *x,
                     const double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double px, py;
        if (dsc_panel_map(f, k, x[i], y[i], &px, &py) != DSC_OK) return 0;
        if (!circle_at(svg, k, cls, px, py)) {
            fprintf(stderr, "panel %d: no %s circle for point %zu (%g, %g) at (%.2f, %.2f)\n", k,
                    cls, i, x[i], y[i], px, py);
            return 0;
        }
    }
    return 1;
}

static char *figure_svg(const dsc_figure *f)
{
    char *s = NULL;
    if (dsc_figure_to_string(f, &s) != DSC_OK) return NULL;
    return s;
}

/* ------------------------------------------------------------------ */

static void test_trace(void)
{
    dsc_run_trace t;
    CHECK_OK(dsc_run_trace_init(&t, 3));
    float p[3] = {1, 2, 3}, g[3] = {0.5f, -1, 2};
    for (int i = 0; i < 100; i++) {
        p[0] = (float)i;
        CHECK_OK(dsc_run_trace_add(&t, p, g, 10.0 - i * 0.1));
    }
    CHECK_OK(dsc_run_trace_add(&t, p, NULL, 1.0));
    CHECK(t.rows == 101 && t.final == 0);
    CHECK(t.params[50 * 3] == 50 && t.params[50 * 3 + 2] == 3 && t.grads[50 * 3 + 1] == -1);
    CHECK(t.grads[100 * 3] == 0);
    CHECK_NEAR(t.loss[99], 10.0 - 99 * 0.1, 1e-12);
    p[1] = 7;
    CHECK_OK(dsc_run_trace_finish(&t, p, 0.5));
    CHECK(t.rows == 102 && t.final == 1);
    CHECK(t.params[101 * 3 + 1] == 7 && t.grads[101 * 3 + 1] == 0 && t.loss[101] == 0.5);
    CHECK(dsc_run_trace_add(&t, p, g, 1.0) == DSC_EINVAL);
    CHECK(dsc_run_trace_finish(&t, p, 1.0) == DSC_EINVAL);
    dsc_run_trace_free(&t);
    CHECK(t.rows == 0 && t.params == NULL && t.final == 0);
    dsc_run_trace_free(NULL);
    CHECK(dsc_run_trace_init(&t, 0) == DSC_EINVAL);
}

/* Gradient descent on the seed's three points, recorded as a run would be. */
static void line_run(dsc_run_trace *t, int fit_slope, double b, double k, double lr, int steps)
{
    CHECK_OK(dsc_run_trace_init(t, 2));
    for (int s = 0; s <= steps; s++) {
        double gb = 0, gk = 0;
        for (int i = 0; i < LINE_N; i++) {
            double r = line_y[i] - (b + k * line_x[i]);
            gb += -2 * r;
            gk += -2 * r * line_x[i];
        }
        float p[2] = {(float)k, (float)b}, g[2] = {fit_slope ? (float)gk : 0, (float)gb};
        double loss = dsc_plot_line_ssr(line_x, line_y, LINE_N, p[1], p[0]);
        if (s == steps) {
            CHECK_OK(dsc_run_trace_finish(t, p, loss));
            break;
        }
        CHECK_OK(dsc_run_trace_add(t, p, g, loss));
        b = p[1] - lr * gb;
        if (fit_slope) k = p[0] - lr * gk;
    }
}

static void least_squares(double *b, double *k)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < LINE_N; i++) {
        mx += line_x[i] / 3.0;
        my += line_y[i] / 3.0;
    }
    for (int i = 0; i < LINE_N; i++) {
        sxx += (line_x[i] - mx) * (line_x[i] - mx);
        sxy += (line_x[i] - mx) * (line_y[i] - my);
    }
    *k = sxy / sxx;
    *b = my - *k * mx;
}

static int file_has(const char *path, const char *text)
{
    char *s = slurp(path);
    int ok = s && strstr(s, text);
    if (!ok) fprintf(stderr, "%s does not contain \"%s\"\n", path, text);
    free(s);
    return ok;
}

static void test_line_intercept(void)
{
    dsc_run_trace t;
    line_run(&t, 0, 0.0, 0.64, 0.1, 5);
    CHECK(t.rows == 6 && t.final);
    double best = 0;
    for (int i = 0; i < LINE_N; i++) best += (line_y[i] - 0.64 * line_x[i]) / LINE_N;
    CHECK_NEAR(best, 0.95, 0.001); /* the seed's answer */

    dsc_figure *f = NULL;
    CHECK_OK(
        dsc_plot_line_figure(line_x, line_y, LINE_N, "weight", "height", &t, 0, best, 0.64, &f));
    char *svg = f ? figure_svg(f) : NULL;
    CHECK(svg != NULL);
    if (svg) {
        double dx[LINE_N], dy[LINE_N], sb[6], ss[6];
        for (int i = 0; i < LINE_N; i++) {
            dx[i] = line_x[i];
            dy[i] = line_y[i];
        }
        CHECK(all_drawn(f, svg, DSC_LINE_PANEL_DATA, "pt", dx, dy, LINE_N));
        CHECK(count_in_panel(svg, DSC_LINE_PANEL_DATA, "class=\"pt\"") == LINE_N);
        /* The steps sit on the SSR curve: at (intercept, SSR of the data). */
        for (int i = 0; i < 6; i++) {
            sb[i] = t.params[i * 2 + 1];
            ss[i] = dsc_plot_line_ssr(line_x, line_y, LINE_N, sb[i], 0.64f);
        }
        CHECK(all_drawn(f, svg, DSC_LINE_PANEL_SSR, "pv", sb, ss, 6));
        /* SSR(0) = sum of (y - 0.64 x)^2, written out by hand. */
        double r0 = 1.4 - 0.32, r1 = 1.9 - 1.472, r2 = 3.2 - 1.856;
        CHECK_NEAR(ss[0], r0 * r0 + r1 * r1 + r2 * r2, 1e-5);
        CHECK(strstr(svg, "Gradient descent on the intercept (slope fixed at 0.64)") != NULL);
        CHECK(strstr(svg, "SSR against the intercept (slope 0.64)") != NULL);
        CHECK(strstr(svg, "lowest SSR: intercept = 0.951") != NULL);
        /* The seed's words: the columns' names on the axes and in the line. */
        CHECK(strstr(svg, "fitted: height = 0.9") != NULL);
        CHECK(strstr(svg, " + 0.64 × weight") != NULL);
        CHECK(strstr(svg, ">weight</text>") != NULL && strstr(svg, ">height</text>") != NULL);
        CHECK(strstr(svg, ">x</text>") == NULL && strstr(svg, ">y</text>") == NULL);
        CHECK(strstr(svg, "class=\"contour\"") == NULL);
    }
    free(svg);
    dsc_figure_free(f);

    char path[700];
    path_in(path, sizeof path, NULL, "line_intercept.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64));
    CHECK(exists(path) && well_formed(path));
    CHECK(file_has(path, "<title>Gradient descent on the intercept (slope fixed at 0.64)</title>"));

    path_in(path, sizeof path, "no/such/dir", "x.svg");
    CHECK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64) == DSC_EIO);
    CHECK(!exists(path));
    CHECK(dsc_plot_line(NULL, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64) == DSC_EINVAL);
    CHECK(dsc_plot_line(path, line_x, line_y, 0, NULL, NULL, &t, 0, best, 0.64) == DSC_EINVAL);
    dsc_run_trace_free(&t);

    /* A slope that moved was fitted: plotting it as fixed would be false. */
    line_run(&t, 1, 0.0, 1.0, 0.01, 3);
    path_in(path, sizeof path, NULL, "never.svg");
    CHECK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "fit_slope 1") != NULL);
    CHECK(!exists(path));
    dsc_run_trace_free(&t);

    dsc_run_trace t3;
    CHECK_OK(dsc_run_trace_init(&t3, 3));
    float p3[3] = {0};
    CHECK_OK(dsc_run_trace_finish(&t3, p3, 1));
    CHECK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t3, 0, best, 0.64) ==
          DSC_EINVAL);
    dsc_run_trace_free(&t3);

    /* A long run: a few numbered steps, and the last. */
    line_run(&t, 0, -3.0, 0.64, 0.05, 200);
    f = NULL;
    CHECK_OK(
        dsc_plot_line_figure(line_x, line_y, LINE_N, "weight", "height", &t, 0, best, 0.64, &f));
    svg = f ? figure_svg(f) : NULL;
    CHECK(svg && strstr(svg, "200 (end)") != NULL);
    if (svg) {
        size_t texts = count_in_panel(svg, DSC_LINE_PANEL_SSR, "<text");
        CHECK(texts < 40); /* ticks, labels, legend, and no more than 7 step numbers */
    }
    free(svg);
    dsc_figure_free(f);
    path_in(path, sizeof path, NULL, "line_long.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64));
    CHECK(well_formed(path));
    dsc_run_trace_free(&t);

    /* Too large a learning rate: the steps zig-zag away, and still show. */
    line_run(&t, 0, 0.0, 0.64, 0.35, 20);
    path_in(path, sizeof path, NULL, "line_diverging.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64));
    CHECK(well_formed(path));
    dsc_run_trace_free(&t);

    /* A run that ended in NaN is drawn up to where it broke. */
    line_run(&t, 1, 0.0, 1.0, 0.01, 4);
    t.params[4 * 2] = t.params[4 * 2 + 1] = NAN;
    path_in(path, sizeof path, NULL, "line_nan.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 1, best, 0.64));
    CHECK(well_formed(path));
    dsc_run_trace_free(&t);
    line_run(&t, 0, 0.0, 0.64, 0.05, 200);
    path_in(path, sizeof path, NULL, "line_long.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 0, best, 0.64));
    CHECK(well_formed(path));
    dsc_run_trace_free(&t);
}

static void test_line_both(void)
{
    dsc_run_trace t;
    line_run(&t, 1, 0.0, 1.0, 0.01, 5);
    double lb, lk;
    least_squares(&lb, &lk);
    dsc_figure *f = NULL;
    CHECK_OK(dsc_plot_line_figure(line_x, line_y, LINE_N, "weight", "height", &t, 1, lb, lk, &f));
    char *svg = f ? figure_svg(f) : NULL;
    CHECK(svg != NULL);
    if (svg) {
        double dx[LINE_N], dy[LINE_N], pb[6], pk[6], it[6], ss[6];
        for (int i = 0; i < LINE_N; i++) {
            dx[i] = line_x[i];
            dy[i] = line_y[i];
        }
        CHECK(all_drawn(f, svg, DSC_LINE_PANEL_DATA, "pt", dx, dy, LINE_N));
        for (int i = 0; i < 6; i++) {
            pk[i] = t.params[i * 2];
            pb[i] = t.params[i * 2 + 1];
            it[i] = i;
            ss[i] = dsc_plot_line_ssr(line_x, line_y, LINE_N, pb[i], pk[i]);
        }
        CHECK(all_drawn(f, svg, DSC_LINE_PANEL_SSR, "pv", pb, pk, 6));
        CHECK(all_drawn(f, svg, DSC_LINE_PANEL_ITER, "pt", it, ss, 6));
        CHECK(strstr(svg, "class=\"contour\"") != NULL);
        CHECK(strstr(svg, "Gradient descent on the intercept and the slope") != NULL);
        CHECK(strstr(svg, "SSR over intercept and slope (contours)") != NULL);
        CHECK(strstr(svg, "SSR after each step") != NULL);
        /* The least-squares point is inside the map. */
        double px, py;
        CHECK_OK(dsc_panel_map(f, DSC_LINE_PANEL_SSR, lb, lk, &px, &py));
        CHECK(count_in_panel(svg, DSC_LINE_PANEL_SSR, "least squares") == 1);
    }
    free(svg);
    dsc_figure_free(f);

    char path[700];
    path_in(path, sizeof path, NULL, "line_both.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 1, lb, lk));
    CHECK(exists(path) && well_formed(path));
    CHECK(file_has(path, "<title>Gradient descent on the intercept and the slope</title>"));
    dsc_run_trace_free(&t);

    /* A long run from far away: the SSR per iteration spans decades. */
    line_run(&t, 1, -10.0, 5.0, 0.02, 400);
    path_in(path, sizeof path, NULL, "line_both_long.svg");
    CHECK_OK(dsc_plot_line(path, line_x, line_y, LINE_N, NULL, NULL, &t, 1, lb, lk));
    CHECK(well_formed(path) && file_has(path, "SSR (log scale)"));
    dsc_run_trace_free(&t);
}

/* ------------------------------------------------------------------ */
/* The seed's network                                                 */
/* ------------------------------------------------------------------ */

static const float dose_x[] = {0, 0.5f, 1};
static const float dose_y[] = {0, 1, 0};

static dsc_model *seed_model(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    if (!m) return NULL;
    static const char *const names[] = {"w1", "b1", "w2", "b2", "w3", "w4", "b3"};
    static const float values[] = {3.34f, -1.43f, -3.53f, 0.57f, -1.22f, -2.30f, 0};
    for (size_t i = 0; i < DSC_COUNT_OF(names); i++)
        CHECK_OK(dsc_model_set(m, names[i], values[i]));
    return m;
}

/* Gradient descent on the output bias alone, as the seed does it on b3: dSSR/db3 = sum of
 * -2 (observed - predicted). With move_w1, w1 is nudged each step too, so
 * the recorded losses leave the curve of b3. */
static void bias_run(dsc_model *m, const dsc_dataset *d, dsc_run_trace *t, const char *bias,
                     int steps, int move_w1)
{
    size_t np = dsc_model_param_count(m), ib = 0, c;
    CHECK_OK(dsc_run_trace_init(t, np));
    CHECK_OK(dsc_model_find(m, bias, &ib, &c));
    float *g = calloc(np, sizeof(float));
    for (int s = 0;; s++) {
        float pred[3];
        double loss, grad = 0;
        CHECK_OK(dsc_model_predict(m, dose_x, 3, pred));
        for (int i = 0; i < 3; i++) grad += -2.0 * (dose_y[i] - pred[i]);
        CHECK_OK(dsc_evaluate_loss(m, d, DSC_LOSS_SSR, &loss));
        if (s == steps) {
            CHECK_OK(dsc_run_trace_finish(t, dsc_model_params(m), loss));
            break;
        }
        g[ib] = (float)grad;
        CHECK_OK(dsc_run_trace_add(t, dsc_model_params(m), g, loss));
        dsc_model_params(m)[ib] -= (float)(0.1 * grad);
        if (move_w1) dsc_model_params(m)[0] += 0.05f;
    }
    free(g);
}

static void test_sweep(void)
{
    dsc_model *m = seed_model();
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(dose_x, dose_y, 3, 1, 1, &d));
    if (!m || !d) return;
    size_t ib, c;
    CHECK_OK(dsc_model_find(m, "b3", &ib, &c));

    /* The seed's pink curve has its bottom at b3 = 2.61. */
    enum { N = 5001 };
    static double v[N], l[N];
    for (int i = 0; i < N; i++) v[i] = 5.0 * i / (N - 1);
    CHECK_OK(dsc_plot_sweep(m, d, DSC_LOSS_SSR, ib, v, N, l));
    int best = 0;
    for (int i = 1; i < N; i++)
        if (l[i] < l[best]) best = i;
    CHECK_NEAR(v[best], 2.61, 0.005);
    /* ...and the sweep leaves the model alone. */
    float b3 = 1;
    CHECK_OK(dsc_model_get(m, "b3", &b3));
    CHECK(b3 == 0);
    CHECK(dsc_plot_sweep(m, d, DSC_LOSS_SSR, 99, v, 1, l) == DSC_EINVAL);

    /* Only b3 trained: the steps lie on the curve. */
    dsc_run_trace t;
    bias_run(m, d, &t, "b3", 6, 0);
    dsc_figure *f = NULL;
    CHECK_OK(dsc_plot_sweep_figure(m, d, DSC_LOSS_SSR, &t, ib, &f));
    char *svg = f ? figure_svg(f) : NULL;
    CHECK(svg != NULL);
    if (svg) {
        double sx[7], sy[7], re[7];
        for (int i = 0; i < 7; i++) {
            sx[i] = t.params[i * t.n_params + ib];
            sy[i] = t.loss[i];
        }
        CHECK_OK(dsc_plot_sweep(m, d, DSC_LOSS_SSR, ib, sx, 7, re));
        for (int i = 0; i < 7; i++) CHECK_NEAR(sy[i], re[i], 1e-4 * fmax(1, re[i]));
        CHECK(all_drawn(f, svg, 0, "pv", sx, sy, 7));
        CHECK(strstr(svg, "Only b3 was trained: each step lies on the curve") != NULL);
        CHECK(strstr(svg, "SSR against b3, the other parameters at their final values") != NULL);
        CHECK(strstr(svg, "lowest SSR: b3 = 2.61") != NULL);
    }
    free(svg);
    dsc_figure_free(f);
    dsc_run_trace_free(&t);

    /* w1 moved too: the steps' losses on this slice belong to no model the
     * run held, so the slice shows only the end of the run, and b3's path
     * is drawn against the iteration beside it, in order. */
    dsc_model_free(m);
    m = seed_model();
    bias_run(m, d, &t, "b3", 6, 1);
    f = NULL;
    CHECK_OK(dsc_plot_sweep_figure(m, d, DSC_LOSS_SSR, &t, ib, &f));
    svg = f ? figure_svg(f) : NULL;
    CHECK(svg != NULL);
    if (svg) {
        double sx[7], it[7], end_x, end_y;
        for (int i = 0; i < 7; i++) {
            sx[i] = t.params[i * t.n_params + ib];
            it[i] = i;
        }
        end_x = sx[6];
        CHECK_OK(dsc_plot_sweep(m, d, DSC_LOSS_SSR, ib, &end_x, 1, &end_y));
        CHECK(count_in_panel(svg, 0, "class=\"pv\"") == 0); /* no steps on the slice */
        CHECK(count_in_panel(svg, 0, "class=\"pt\"") == 1);
        CHECK(all_drawn(f, svg, 0, "pt", &end_x, &end_y, 1));
        CHECK(all_drawn(f, svg, 1, "pt", it, sx, 7)); /* b3 at iteration 0..6 */
        CHECK(strstr(svg, "Other parameters changed too") != NULL);
        CHECK(strstr(svg, "b3 at each of the 6 updates") != NULL);
        char path[700];
        path_in(path, sizeof path, NULL, "sweep_moved.svg");
        CHECK_OK(dsc_figure_write(f, path));
    }
    free(svg);
    dsc_figure_free(f);
    dsc_run_trace_free(&t);

    /* No update at all (the seed's ReLU weights shown as given): one
     * point, and the subtitle does not claim b3 was trained. */
    dsc_model_free(m);
    m = seed_model();
    bias_run(m, d, &t, "b3", 0, 0);
    CHECK(t.rows == 1 && t.final);
    f = NULL;
    CHECK_OK(dsc_plot_sweep_figure(m, d, DSC_LOSS_SSR, &t, ib, &f));
    svg = f ? figure_svg(f) : NULL;
    CHECK(svg && strstr(svg, "Nothing was trained: the model as given, b3 = 0") != NULL);
    /* The point is the model's own b3, not the curve's bottom. */
    CHECK(svg && strstr(svg, "the model: b3 = 0<") != NULL);
    CHECK(svg && strstr(svg, "was trained: each step") == NULL);
    CHECK(svg && count_in_panel(svg, 0, "class=\"pt\"") == 1);
    free(svg);
    dsc_figure_free(f);
    f = NULL;
    CHECK(dsc_plot_loss_figure(&t, DSC_LOSS_SSR, &f) == DSC_EINVAL && f == NULL);
    CHECK(strstr(dsc_last_error(), "no update") != NULL);
    dsc_run_trace_free(&t);

    /* A long run is thinned, and still numbered by iteration. */
    dsc_model_free(m);
    m = seed_model();
    bias_run(m, d, &t, "b3", 1500, 0);
    f = NULL;
    CHECK_OK(dsc_plot_sweep_figure(m, d, DSC_LOSS_SSR, &t, ib, &f));
    svg = f ? figure_svg(f) : NULL;
    CHECK(svg && strstr(svg, "1500 (end)") != NULL);
    free(svg);
    dsc_figure_free(f);
    dsc_run_trace_free(&t);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

static void test_units(void)
{
    dsc_model *m = seed_model();
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(dose_x, dose_y, 3, 1, 1, &d));
    if (!m || !d) return;
    CHECK_OK(dsc_model_set(m, "b3", 2.61f));
    double xs[11];
    float fx[11], fy[11];
    for (int i = 0; i < 11; i++) {
        xs[i] = -0.25 + 0.15 * i;
        fx[i] = (float)xs[i];
    }
    size_t h = 0;
    double *act = NULL, *sc = NULL, *sum = NULL, *fin = NULL;
    CHECK_OK(dsc_plot_unit_curves(m, xs, 11, &h, &act, &sc, &sum, &fin));
    CHECK_OK(dsc_model_predict(m, fx, 11, fy));
    CHECK(h == 2);
    if (fin) {
        for (int i = 0; i < 11; i++) CHECK_NEAR(fin[i], fy[i], 1e-5);
        /* x = 0.5 (i = 5): softplus(3.34 x 0.5 - 1.43) = ln(1 + e^0.24). */
        CHECK_NEAR(act[5], log(1 + exp(0.24)), 1e-6);
        CHECK_NEAR(sc[11 + 5], -2.30 * log(1 + exp(-3.53 * 0.5 + 0.57)), 1e-6);
        CHECK_NEAR(sum[5], sc[5] + sc[11 + 5], 1e-12);
        CHECK_NEAR(fin[5], sum[5] + 2.61, 1e-6);
    }
    dsc_free(act);
    dsc_free(sc);
    dsc_free(sum);
    dsc_free(fin);

    dsc_figure *f = NULL;
    CHECK_OK(dsc_plot_units_figure(m, d, &f));
    char *svg = f ? figure_svg(f) : NULL;
    CHECK(svg != NULL);
    if (svg) {
        double dx[3] = {0, 0.5, 1}, dy[3] = {0, 1, 0};
        CHECK(all_drawn(f, svg, DSC_UNITS_PANEL_FINAL, "pt", dx, dy, 3));
        CHECK(strstr(svg, "Trained weights") != NULL);
        CHECK(strstr(svg, "softplus(3.34x - 1.43)") != NULL);
        CHECK(strstr(svg, "softplus(-3.53x + 0.57)") != NULL);
        CHECK(strstr(svg, "unit 1 × w3 (w3 = -1.22)") != NULL);
        CHECK(strstr(svg, "4. Add the bias b3 = 2.61: the fitted curve") != NULL);
    }
    free(svg);
    dsc_figure_free(f);

    /* Every activation, computed by the plot as the model computes it. */
    static const char *const specs[] = {
        "1 -> 3:relu -> 1:identity",       "1 -> 3:leaky_relu -> 1:tanh",
        "1 -> 3:sigmoid -> 1:sigmoid",     "1 -> 3:tanh -> 1:softplus",
        "1 -> 3:identity -> 1:leaky_relu", "1 -> 8:relu -> 1:identity"};
    for (size_t k = 0; k < DSC_COUNT_OF(specs); k++) {
        dsc_model *a = NULL;
        CHECK_OK(dsc_model_new(specs[k], &a));
        if (!a) continue;
        CHECK_OK(dsc_model_init(a, DSC_INIT_NORMAL, 11 + k));
        CHECK_OK(dsc_model_set(a, "layer1.bias", 0.3f));
        CHECK_OK(dsc_plot_unit_curves(a, xs, 11, &h, &act, &sc, &sum, &fin));
        CHECK_OK(dsc_model_predict(a, fx, 11, fy));
        for (int i = 0; fin && i < 11; i++) CHECK_NEAR(fin[i], fy[i], 1e-5 * fmax(1, fabs(fy[i])));
        dsc_free(act);
        dsc_free(sc);
        dsc_free(sum);
        dsc_free(fin);
        f = NULL;
        CHECK_OK(dsc_plot_units_figure(a, d, &f));
        svg = f ? figure_svg(f) : NULL;
        /* Eight units are too many to name in a legend. */
        if (svg) CHECK((strstr(svg, "unit 1 ×") != NULL) == (h <= 6));
        free(svg);
        dsc_figure_free(f);
        dsc_model_free(a);
    }

    dsc_model *deep = NULL;
    CHECK_OK(dsc_model_new("1 -> 2:softplus,2:softplus -> 1:identity", &deep));
    CHECK(dsc_plot_units_figure(deep, d, &f) == DSC_EUNSUPPORTED);
    dsc_model_free(deep);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

static int in_list(char **w, size_t n, const char *dir, const char *name)
{
    char want[700];
    snprintf(want, sizeof want, "%s/%s", dir, name);
    for (size_t i = 0; i < n; i++)
        if (strcmp(w[i], want) == 0) return 1;
    return 0;
}

static void free_list(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++) dsc_free(w[i]);
}

static void test_network(void)
{
    dsc_model *m = seed_model();
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(dose_x, dose_y, 3, 1, 1, &d));
    if (!m || !d) return;
    dsc_run_trace t;
    bias_run(m, d, &t, "b3", 12, 0);

    char dir[600], *w[8];
    size_t nw = 99;
    path_in(dir, sizeof dir, NULL, "net");
    CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
    CHECK_OK(dsc_plot_network(dir, m, d, DSC_LOSS_SSR, &t, "b3", w, &nw));
    CHECK(nw == 5);
    static const char *const files[] = {"loss_vs_b3.svg", "fit.svg", "units.svg", "loss.svg",
                                        "network.svg"};
    for (size_t k = 0; k < 5; k++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", dir, files[k]);
        CHECK(in_list(w, nw, dir, files[k]));
        CHECK(exists(p) && well_formed(p));
    }
    free_list(w, nw);
    char p[700];
    snprintf(p, sizeof p, "%s/fit.svg", dir);
    CHECK(file_has(p, "The data and the fitted curve of 1 -&gt; 2:softplus -&gt; 1:identity"));
    snprintf(p, sizeof p, "%s/loss.svg", dir);
    CHECK(file_has(p, "SSR during training (12 updates)"));
    snprintf(p, sizeof p, "%s/units.svg", dir);
    CHECK(file_has(p, "3. The scaled curves added together"));
    /* The drawing of the network: every weight and bias with its value. */
    snprintf(p, sizeof p, "%s/network.svg", dir);
    CHECK(file_has(p, "× w1 = 3.34") && file_has(p, "+ b1 = -1.43") &&
          file_has(p, "× w2 = -3.53") && file_has(p, "× w3 = -1.22") &&
          file_has(p, "× w4 = -2.3") && file_has(p, "+ b2 = 0.57") && file_has(p, ">input</text>"));

    /* The fit panel draws the data where they are. */
    dsc_figure *f = NULL;
    CHECK_OK(dsc_plot_fit_figure(m, d, &f));
    char *svg = f ? figure_svg(f) : NULL;
    if (svg) {
        double dx[3] = {0, 0.5, 1}, dy[3] = {0, 1, 0};
        CHECK(all_drawn(f, svg, 0, "pt", dx, dy, 3));
    }
    free(svg);
    dsc_figure_free(f);

    /* The loss panel: one point per row of the run. */
    f = NULL;
    CHECK_OK(dsc_plot_loss_figure(&t, DSC_LOSS_SSR, &f));
    svg = f ? figure_svg(f) : NULL;
    if (svg) {
        double it[13];
        for (int i = 0; i < 13; i++) it[i] = i;
        CHECK(all_drawn(f, svg, 0, "pt", it, t.loss, 13));
    }
    free(svg);
    dsc_figure_free(f);

    /* No name: the output bias, the seed's choice. */
    path_in(dir, sizeof dir, NULL, "net_default");
    CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
    CHECK_OK(dsc_plot_network(dir, m, d, DSC_LOSS_SSR, &t, NULL, w, &nw));
    CHECK(nw == 5 && in_list(w, nw, dir, "loss_vs_b3.svg"));
    free_list(w, nw);
    /* No run: no steps, no loss per iteration. */
    CHECK_OK(dsc_plot_network(dir, m, d, DSC_LOSS_SSR, NULL, "w3", w, &nw));
    CHECK(nw == 4 && in_list(w, nw, dir, "loss_vs_w3.svg") && !in_list(w, nw, dir, "loss.svg"));
    free_list(w, nw);

    CHECK(dsc_plot_network(dir, m, d, DSC_LOSS_SSR, &t, "layer1.weight", w, &nw) == DSC_EINVAL);
    CHECK(dsc_plot_network(dir, m, d, DSC_LOSS_SSR, &t, "zz", w, &nw) == DSC_ENOTFOUND);

    path_in(dir, sizeof dir, NULL, "no/such/dir");
    nw = 99;
    CHECK(dsc_plot_network(dir, m, d, DSC_LOSS_SSR, &t, "b3", w, &nw) == DSC_EIO);
    CHECK(nw == 0);
    dsc_run_trace_free(&t);

    /* The seed's ReLU network: the sum reaches 17 where the fit is 1, but
     * panel 4's axis is the fit's and the data's, so the fit reads as more
     * than a flat line with a tiny spike. */
    {
        dsc_model *r = NULL;
        CHECK_OK(dsc_model_new("1 -> 2:relu -> 1:relu", &r));
        static const char *const rn[] = {"w1", "b1", "w2", "b2", "w3", "w4", "b3"};
        static const float rv[] = {1.70f, -0.85f, 12.6f, 0.0f, -40.8f, 2.70f, -16.0f};
        for (size_t i = 0; r && i < 7; i++) CHECK_OK(dsc_model_set(r, rn[i], rv[i]));
        dsc_figure *rf = NULL;
        if (r) CHECK_OK(dsc_plot_units_figure(r, d, &rf));
        double p0x, p0y, p1x, p1y;
        if (rf) {
            CHECK_OK(dsc_panel_map(rf, DSC_UNITS_PANEL_FINAL, 0.5, 0.0, &p0x, &p0y));
            CHECK_OK(dsc_panel_map(rf, DSC_UNITS_PANEL_FINAL, 0.5, 1.0, &p1x, &p1y));
            CHECK(p0y - p1y > 150); /* 0 to 1 spans most of a 380-pixel panel */
            char *rs = figure_svg(rf);
            CHECK(rs && strstr(rs, "sum + b3, before relu") != NULL);
            /* The legend covers none of the data points. */
            const char *end, *lg = rs ? panel_text(rs, DSC_UNITS_PANEL_FINAL, &end) : NULL;
            lg = lg ? strstr(lg, "<g class=\"legend\">\n<rect ") : NULL;
            double lx, ly, lw, lh;
            CHECK(lg && sscanf(lg,
                               "<g class=\"legend\">\n<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" "
                               "height=\"%lf\"",
                               &lx, &ly, &lw, &lh) == 4);
            for (int i = 0; lg && i < 3; i++) {
                double qx, qy;
                CHECK_OK(dsc_panel_map(rf, DSC_UNITS_PANEL_FINAL, dose_x[i], dose_y[i], &qx, &qy));
                CHECK(!(qx > lx - 5 && qx < lx + lw + 5 && qy > ly - 5 && qy < ly + lh + 5));
            }
            free(rs);
        }
        dsc_figure_free(rf);
        dsc_model_free(r);
    }

    /* Two hidden layers: no "Trained Weights" picture. */
    dsc_model *deep = NULL;
    CHECK_OK(dsc_model_new("1 -> 2:softplus,2:softplus -> 1:identity", &deep));
    CHECK_OK(dsc_model_init(deep, DSC_INIT_DEFAULT, 7));
    bias_run(deep, d, &t, "b5", 5, 0);
    path_in(dir, sizeof dir, NULL, "deep");
    CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
    CHECK_OK(dsc_plot_network(dir, deep, d, DSC_LOSS_SSR, &t, "b5", w, &nw));
    CHECK(nw == 3 && !in_list(w, nw, dir, "units.svg") && in_list(w, nw, dir, "loss_vs_b5.svg") &&
          !in_list(w, nw, dir, "network.svg"));
    free_list(w, nw);
    snprintf(p, sizeof p, "%s/units.svg", dir);
    CHECK(!exists(p));
    dsc_run_trace_free(&t);
    dsc_model_free(deep);

    /* Two inputs: not a curve. */
    dsc_model *two = NULL;
    dsc_dataset *d2 = NULL;
    static const float x2[] = {0, 1, 2, 3, 4, 5};
    CHECK_OK(dsc_model_new("2 -> 2:softplus -> 1:identity", &two));
    CHECK_OK(dsc_dataset_from_arrays(x2, dose_y, 3, 2, 1, &d2));
    path_in(dir, sizeof dir, NULL, "net");
    CHECK(dsc_plot_network(dir, two, d2, DSC_LOSS_SSR, NULL, "b3", w, &nw) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "1 input and 1 output") != NULL);
    CHECK(strstr(dsc_last_error(), "2 inputs") != NULL);
    dsc_model_free(two);
    dsc_dataset_free(d2);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

int main(void)
{
    const char *k = getenv("DSC_TEST_PLOTS_DIR");
    if (k && k[0]) {
        snprintf(tmpdir, sizeof tmpdir, "%s", k);
        keep = 1;
    } else {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/dsc_test_plots_XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    test_trace();
    test_line_intercept();
    test_line_both();
    test_sweep();
    test_units();
    test_network();
    if (!keep) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return check_report();
}
