/* SVG figures: nice ticks, well-formed output, coordinates that match the
 * data, escaping, non-finite data, atomic writes. Set DSC_TEST_SVG_DIR to a
 * directory to keep the test figures (fig.svg, odd.svg) for looking at them. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "viz/svg.h"

static int ticks_are(double lo, double hi, int log_scale, const double *want, size_t n)
{
    dsc_ticks t;
    if (dsc_nice_ticks(lo, hi, log_scale, &t) != n) {
        fprintf(stderr, "ticks of [%g, %g]: got %zu:", lo, hi, t.n);
        for (size_t i = 0; i < t.n; i++) fprintf(stderr, " %.17g", t.v[i]);
        fprintf(stderr, "\n");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (t.v[i] != want[i]) {
            fprintf(stderr, "ticks of [%g, %g]: tick %zu is %.17g, not %.17g\n", lo, hi, i, t.v[i],
                    want[i]);
            return 0;
        }
    }
    return 1;
}

static int labels_are(double lo, double hi, int log_scale, const char *const *want, size_t n)
{
    dsc_ticks t;
    if (dsc_nice_ticks(lo, hi, log_scale, &t) != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        dsc_tick_label(&t, i, buf, sizeof buf);
        if (strcmp(buf, want[i]) != 0) {
            fprintf(stderr, "label %zu of [%g, %g] is \"%s\", not \"%s\"\n", i, lo, hi, buf,
                    want[i]);
            return 0;
        }
    }
    return 1;
}

static size_t glyphs(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += (*s & 0xC0) != 0x80;
    return n;
}

static void test_ticks(void)
{
    static const double a[] = {0, 0.2, 0.4, 0.6, 0.8, 1};
    CHECK(ticks_are(0, 1, 0, a, 6));
    static const double b[] = {0.0014, 0.0016, 0.0018, 0.002};
    CHECK(ticks_are(0.0013, 0.0021, 0, b, 4));
    static const double c[] = {-2, 0, 2, 4, 6, 8, 10, 12};
    CHECK(ticks_are(-3.7, 12, 0, c, 8));
    static const double d[] = {1e-4, 1e-3, 1e-2, 0.1, 1, 10};
    CHECK(ticks_are(1e-4, 10, 1, d, 6));
    /* Reversed bounds are the same range. */
    CHECK(ticks_are(12, -3.7, 0, c, 8));

    static const char *const la[] = {"0", "0.2", "0.4", "0.6", "0.8", "1"};
    CHECK(labels_are(0, 1, 0, la, 6));
    static const char *const lb[] = {"0.0014", "0.0016", "0.0018", "0.002"};
    CHECK(labels_are(0.0013, 0.0021, 0, lb, 4));
    static const char *const lc[] = {"-2", "0", "2", "4", "6", "8", "10", "12"};
    CHECK(labels_are(-3.7, 12, 0, lc, 8));
    static const char *const ld[] = {"0.0001", "0.001", "0.01", "0.1", "1", "10"};
    CHECK(labels_are(1e-4, 10, 1, ld, 6));
    /* 0.1 + 0.2 is not 0.3 in binary; the label must still say 0.3. */
    static const char *const le[] = {"0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"};
    CHECK(labels_are(0.1, 0.1 + 0.6, 0, le, 7));
    /* Many decades: every other one, written as powers. */
    static const char *const lf[] = {"10\xE2\x81\xBB\xC2\xB9\xC2\xB2",
                                     "10\xE2\x81\xBB\xC2\xB9\xE2\x81\xB0",
                                     "10\xE2\x81\xBB\xE2\x81\xB8",
                                     "10\xE2\x81\xBB\xE2\x81\xB6",
                                     "10\xE2\x81\xBB\xE2\x81\xB4",
                                     "10\xE2\x81\xBB\xC2\xB2",
                                     "10\xE2\x81\xB0",
                                     "10\xC2\xB2"};
    CHECK(labels_are(1e-12, 300, 1, lf, 8));
    /* Large and tiny linear values use a power of ten too. */
    dsc_ticks t;
    char buf[64];
    CHECK(dsc_nice_ticks(0, 3e7, 0, &t) >= 4);
    dsc_tick_label(&t, 1, buf, sizeof buf);
    CHECK(strstr(buf, "10") != NULL && strlen(buf) < 16);

    /* Every range gives 3 to 8 ticks inside it. */
    static const double ranges[][3] = {
        {0, 1, 0},     {-1e-9, 1e-9, 0}, {1e6, 1e6 + 1, 0}, {-50, -49.5, 0}, {0.5, 60, 1},
        {2, 4.5, 1},   {1e-12, 1e6, 1},  {0.3, 0.31, 0},    {1, 19.5, 0},    {-1e300, 1e300, 0},
        {1, 1e300, 1}, {7, 7.001, 1},    {123, 456, 0},     {0, 1e-300, 0},  {1e-300, 1e-299, 1},
    };
    for (size_t r = 0; r < DSC_COUNT_OF(ranges); r++) {
        double lo = ranges[r][0], hi = ranges[r][1];
        size_t n = dsc_nice_ticks(lo, hi, (int)ranges[r][2], &t);
        int ok = n >= 3 && n <= 8;
        double tol = 1e-9 * (hi - lo);
        for (size_t i = 0; i < n; i++) {
            ok = ok && isfinite(t.v[i]) && t.v[i] >= lo - tol && t.v[i] <= hi + tol;
            if (i) ok = ok && t.v[i] > t.v[i - 1];
            dsc_tick_label(&t, i, buf, sizeof buf);
            ok = ok && buf[0] && glyphs(buf) <= 14 && !strstr(buf, "nan") && !strstr(buf, "inf");
        }
        if (!ok) fprintf(stderr, "range %zu [%g, %g]: %zu ticks\n", r, lo, hi, n);
        CHECK(ok);
    }
    /* A single value is widened, not an error. */
    CHECK(dsc_nice_ticks(5, 5, 0, &t) >= 3);
    CHECK(t.v[0] < 5 && t.v[t.n - 1] > 5);
    CHECK(dsc_nice_ticks(0, 0, 0, &t) >= 3);
    CHECK(dsc_nice_ticks(3, 3, 1, &t) >= 3);
    CHECK(dsc_nice_ticks(NAN, 1, 0, &t) == 0);
    CHECK(dsc_nice_ticks(0, INFINITY, 0, &t) == 0);
    CHECK(dsc_nice_ticks(0, 10, 1, &t) == 0);

    CHECK(dsc_format_fixed(buf, sizeof buf, -0.0001, 2) > 0 && strcmp(buf, "0") == 0);
    CHECK(dsc_format_fixed(buf, sizeof buf, 12.345, 2) > 0 && strcmp(buf, "12.35") == 0);
    CHECK(dsc_format_fixed(buf, sizeof buf, -3.5, 2) > 0 && strcmp(buf, "-3.5") == 0);
}

/* The teaching example: three points, a line with slope 0.64 and the
 * intercept found by gradient descent on the sum of squared residuals. */
static const double obs_x[] = {0.5, 2.3, 2.9};
static const double obs_y[] = {1.4, 1.9, 3.2};

static double ssr(double b, double w)
{
    double s = 0;
    for (int i = 0; i < 3; i++) {
        double r = obs_y[i] - (b + w * obs_x[i]);
        s += r * r;
    }
    return s;
}

#define STEPS 40

static dsc_figure *build_figure(const char *title)
{
    dsc_figure *f = NULL;
    CHECK_OK(dsc_figure_new(title, 5, &f));
    if (!f) return NULL;

    /* Panel 0: SSR against the intercept, with the steps on it. */
    double bs[101], ss[101], pb[12], ps[12];
    for (int i = 0; i <= 100; i++) {
        bs[i] = -1 + 3.0 * i / 100;
        ss[i] = ssr(bs[i], 0.64);
    }
    double b = 0;
    for (int i = 0; i < 12; i++) {
        pb[i] = b;
        ps[i] = ssr(b, 0.64);
        double g = 0;
        for (int k = 0; k < 3; k++) g += -2 * (obs_y[k] - (b + 0.64 * obs_x[k]));
        b -= 0.1 * g;
    }
    CHECK_OK(dsc_panel_setup(f, 0, "SSR & the intercept <step by step>", "intercept",
                             "sum of squared residuals", 0));
    CHECK_OK(dsc_panel_line(f, 0, bs, ss, 101, "SSR (slope 0.64)", NULL, 0));
    CHECK_OK(dsc_panel_path(f, 0, pb, ps, 12, "gradient descent", NULL,
                            DSC_PATH_ARROWS | DSC_PATH_NUMBERS));
    CHECK_OK(dsc_panel_hline(f, 0, ssr(0.95, 0.64), "minimum", NULL, 1));
    CHECK_OK(dsc_panel_annotate(f, 0, pb[0], ps[0], "start: intercept = 0", NULL));

    /* Panel 1: SSR over (intercept, slope), log-spaced levels, the path of
     * descent on both. */
    enum { NX = 61, NY = 51 };
    static double z[NX * NY];
    for (int j = 0; j < NY; j++)
        for (int i = 0; i < NX; i++)
            z[j * NX + i] = ssr(-1 + 3.0 * i / (NX - 1), 2.0 * j / (NY - 1));
    double cb[STEPS], cw[STEPS];
    b = 0;
    double w = 1.8;
    for (int s = 0; s < STEPS; s++) {
        cb[s] = b;
        cw[s] = w;
        double gb = 0, gw = 0;
        for (int k = 0; k < 3; k++) {
            double r = obs_y[k] - (b + w * obs_x[k]);
            gb += -2 * r;
            gw += -2 * r * obs_x[k];
        }
        b -= 0.03 * gb;
        w -= 0.03 * gw;
    }
    CHECK_OK(dsc_panel_setup(f, 1, "SSR over intercept and slope", "intercept", "slope", 0));
    CHECK_OK(dsc_panel_contour(f, 1, z, NX, NY, -1, 2, 0, 2, 12, DSC_CONTOUR_LOG, "SSR"));
    CHECK_OK(dsc_panel_path(f, 1, cb, cw, STEPS, "descent", "#D55E00",
                            DSC_PATH_ARROWS | DSC_PATH_NUMBERS));

    /* Panel 2: the data and the fitted line, with a NaN and an Inf that
     * must be skipped. */
    double px[5] = {0.5, 2.3, 2.9, NAN, 1.0}, py[5] = {1.4, 1.9, 3.2, 2.0, INFINITY};
    double lx[2] = {0, 3.2}, ly[2] = {b + w * 0, b + w * 3.2};
    CHECK_OK(dsc_panel_setup(f, 2, "Data and fit", "dosage", "efficacy", 0));
    CHECK_OK(dsc_panel_points(f, 2, px, py, 5, "observed", NULL, DSC_MARKER_CIRCLE));
    CHECK_OK(dsc_panel_line(f, 2, lx, ly, 2, "fitted line", NULL, 0));

    /* Panel 3: scaled softplus curves and their sum. */
    double ax[81], a1[81], a2[81], as[81];
    for (int i = 0; i <= 80; i++) {
        ax[i] = i / 80.0;
        a1[i] = -1.22 * log1p(exp(3.34 * ax[i] - 1.43));
        a2[i] = -2.30 * log1p(exp(-3.53 * ax[i] + 0.57));
        as[i] = a1[i] + a2[i] + 2.61;
    }
    CHECK_OK(dsc_panel_setup(f, 3, "Activations", "input", "output", 0));
    CHECK_OK(dsc_panel_line(f, 3, ax, a1, 81, "upper node x -1.22", NULL, 1));
    CHECK_OK(dsc_panel_line(f, 3, ax, a2, 81, "lower node x -2.30", NULL, 1));
    CHECK_OK(dsc_panel_line(f, 3, ax, as, 81, "sum + 2.61", NULL, 0));
    CHECK_OK(dsc_panel_points(f, 3, obs_x, obs_y, 0, NULL, NULL, DSC_MARKER_SQUARE));

    /* Panel 4: loss per iteration on a log scale, with a zero (skipped). */
    double it[STEPS], loss[STEPS];
    for (int s = 0; s < STEPS; s++) {
        it[s] = s;
        loss[s] = ssr(cb[s], cw[s]) - 0.5 + 1e-5;
    }
    loss[STEPS - 1] = 0;
    CHECK_OK(dsc_panel_setup(f, 4, "Loss", "iteration", "SSR - 0.5", DSC_LOG_Y));
    CHECK_OK(dsc_panel_line(f, 4, it, loss, STEPS, "loss", NULL, 0));
    CHECK_OK(dsc_panel_points(f, 4, it, loss, STEPS, NULL, NULL, DSC_MARKER_DIAMOND));
    return f;
}

/* The cx/cy of every element with class="pt", in order. */
static size_t find_circles(const char *svg, double *cx, double *cy, size_t max)
{
    size_t n = 0;
    const char *p = svg;
    while ((p = strstr(p, "class=\"pt\"")) != NULL && n < max) {
        const char *a = strstr(p, "cx=\""), *c = strstr(p, "cy=\"");
        if (!a || !c || dsc_parse_double(a + 4, NULL, &cx[n]) ||
            dsc_parse_double(c + 4, NULL, &cy[n]))
            break;
        n++;
        p++;
    }
    return n;
}

static void keep_copy(const dsc_figure *f, const char *name)
{
    const char *dir = getenv("DSC_TEST_SVG_DIR");
    if (!dir || !dir[0]) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_OK(dsc_figure_write(f, path));
}

static int has_xmllint(void) { return access("/usr/bin/xmllint", X_OK) == 0; }

static void test_figure(const char *dir)
{
    dsc_figure *f = build_figure("Gradient descent & friends <demo>");
    if (!f) return;
    char *svg = NULL;
    CHECK_OK(dsc_figure_to_string(f, &svg));
    if (!svg) {
        dsc_figure_free(f);
        return;
    }
    CHECK(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(svg, "viewBox=\"0 0 1440 754\"") != NULL);
    CHECK(strstr(svg, "Gradient descent &amp; friends &lt;demo&gt;") != NULL);
    CHECK(strstr(svg, "SSR &amp; the intercept &lt;step by step&gt;") != NULL);
    CHECK(strstr(svg, "friends <demo>") == NULL);
    CHECK(strstr(svg, "nan") == NULL && strstr(svg, "NAN") == NULL);
    CHECK(strstr(svg, "inf") == NULL && strstr(svg, "INF") == NULL);
    /* The legend names the labelled series. */
    CHECK(strstr(svg, ">fitted line</text>") != NULL);
    CHECK(strstr(svg, ">observed</text>") != NULL);
    /* The log panel has decade labels. */
    CHECK(strstr(svg, "text-anchor=\"end\">0.1<") != NULL);
    CHECK(strstr(svg, "text-anchor=\"end\">10<") != NULL);

    /* The circles of panel 2 sit where the data map to: the NaN and Inf
     * points are skipped, the other three appear in order. */
    double cx[8], cy[8];
    size_t n = find_circles(svg, cx, cy, 8);
    CHECK(n == 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        double mx, my;
        CHECK_OK(dsc_panel_map(f, 2, obs_x[i], obs_y[i], &mx, &my));
        CHECK_NEAR(cx[i], mx, 0.006);
        CHECK_NEAR(cy[i], my, 0.006);
    }
    /* The map is linear and y grows downwards. */
    double x0, y0, x1, y1;
    CHECK_OK(dsc_panel_map(f, 2, 0.5, 1.4, &x0, &y0));
    CHECK_OK(dsc_panel_map(f, 2, 2.9, 3.2, &x1, &y1));
    CHECK(x1 > x0 && y1 < y0);
    CHECK(dsc_panel_map(f, 2, NAN, 1, &x0, &y0) == DSC_EINVAL);
    CHECK(dsc_panel_map(f, 4, 1, 0, &x0, &y0) == DSC_EINVAL);
    CHECK(dsc_panel_map(f, 4, 1, -1, &x0, &y0) == DSC_EINVAL);
    CHECK(dsc_panel_map(f, 9, 1, 1, &x0, &y0) == DSC_EINVAL);

    /* The same picture whatever the locale. */
    if (setlocale(LC_ALL, "de_DE.UTF-8") || setlocale(LC_ALL, "fr_FR.UTF-8")) {
        char *svg2 = NULL;
        CHECK_OK(dsc_figure_to_string(f, &svg2));
        CHECK(svg2 && strcmp(svg, svg2) == 0);
        dsc_free(svg2);
        setlocale(LC_ALL, "C");
    } else {
        printf("comma-decimal locale: skipped (none installed)\n");
    }

    char path[512];
    snprintf(path, sizeof path, "%s/fig.svg", dir);
    CHECK_OK(dsc_figure_write(f, path));
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (fp) {
        size_t len = strlen(svg);
        char *back = malloc(len + 1);
        CHECK(back && fread(back, 1, len + 1, fp) == len && memcmp(back, svg, len) == 0);
        free(back);
        fclose(fp);
    }
    char tmp[520];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);
    if (has_xmllint()) {
        char cmd[1100];
        snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout '%s'", path);
        CHECK(system(cmd) == 0);
    } else {
        printf("xmllint: skipped (not installed)\n");
    }
    keep_copy(f, "fig.svg");
    remove(path);
    dsc_free(svg);
    dsc_figure_free(f);
}

static void test_write_failure(const char *dir)
{
    dsc_figure *f = NULL;
    CHECK_OK(dsc_figure_new(NULL, 1, &f));
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/no/such/dir/fig.svg", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(dsc_figure_write(f, path) == DSC_EIO);
    CHECK(strstr(dsc_last_error(), "fig.svg") != NULL);
    CHECK(access(path, F_OK) != 0 && access(tmp, F_OK) != 0);
    CHECK(dsc_figure_write(f, "") == DSC_EINVAL);
    dsc_figure_free(f);
}

/* Empty panels, single points, equal values, all-NaN data, odd text:
 * all drawable, with finite numbers and well-formed XML. */
static void test_degenerate(const char *dir)
{
    dsc_figure *f = NULL;
    CHECK_OK(dsc_figure_new("odd \x01text\xff & \"quotes\" 'too'", 6, &f));
    if (!f) return;
    double one_x = 3, one_y = -2;
    double same_x[4] = {1, 1, 1, 1}, same_y[4] = {0, 0, 0, 0};
    double nan_x[3] = {NAN, NAN, INFINITY}, nan_y[3] = {1, NAN, 2};
    double neg_x[3] = {-1, 0, 1}, neg_y[3] = {-5, 0, -1};
    double flat[4] = {7, 7, 7, 7};
    CHECK_OK(dsc_panel_points(f, 0, &one_x, &one_y, 1, "one point", NULL, DSC_MARKER_CIRCLE));
    CHECK_OK(dsc_panel_line(f, 1, same_x, same_y, 4, "all equal", NULL, 0));
    CHECK_OK(dsc_panel_line(f, 2, nan_x, nan_y, 3, "all NaN", NULL, 0));
    CHECK_OK(dsc_panel_setup(f, 3, "log of non-positive", NULL, NULL, DSC_LOG_X | DSC_LOG_Y));
    CHECK_OK(dsc_panel_line(f, 3, neg_x, neg_y, 3, NULL, NULL, 0));
    CHECK_OK(dsc_panel_contour(f, 4, flat, 2, 2, 0, 1, 0, 1, 5, 0, "flat"));
    CHECK_OK(dsc_panel_limits(f, 5, 0, 10, NAN, NAN));
    CHECK_OK(dsc_panel_vline(f, 5, 20, "outside", NULL, 0));
    CHECK_OK(dsc_panel_annotate(f, 5, 9.9, 0.5, "at the edge", NULL));

    double mx, my;
    CHECK_OK(dsc_panel_map(f, 0, one_x, one_y, &mx, &my));
    CHECK(isfinite(mx) && isfinite(my));
    CHECK_OK(dsc_panel_map(f, 1, 1, 0, &mx, &my));
    CHECK(isfinite(mx) && isfinite(my));

    char *svg = NULL;
    CHECK_OK(dsc_figure_to_string(f, &svg));
    CHECK(svg && !strstr(svg, "nan") && !strstr(svg, "inf"));
    CHECK(svg && strstr(svg, "&quot;quotes&quot; &apos;too&apos;") != NULL);
    CHECK(svg && strchr(svg, '\x01') == NULL);
    dsc_free(svg);

    char path[512];
    snprintf(path, sizeof path, "%s/odd.svg", dir);
    CHECK_OK(dsc_figure_write(f, path));
    if (has_xmllint()) {
        char cmd[1100];
        snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout '%s'", path);
        CHECK(system(cmd) == 0);
    }
    remove(path);
    keep_copy(f, "odd.svg");

    /* Bad arguments. */
    CHECK(dsc_panel_line(f, 6, same_x, same_y, 4, NULL, NULL, 0) == DSC_EINVAL);
    CHECK(dsc_panel_line(f, -1, same_x, same_y, 4, NULL, NULL, 0) == DSC_EINVAL);
    CHECK(dsc_panel_line(f, 0, NULL, same_y, 4, NULL, NULL, 0) == DSC_EINVAL);
    CHECK(dsc_panel_points(f, 0, same_x, same_y, 4, NULL, NULL, (dsc_marker)99) == DSC_EINVAL);
    CHECK(dsc_panel_contour(f, 0, flat, 1, 4, 0, 1, 0, 1, 5, 0, NULL) == DSC_EINVAL);
    CHECK(dsc_panel_contour(f, 0, flat, 2, 2, 0, 0, 0, 1, 5, 0, NULL) == DSC_EINVAL);
    CHECK(dsc_panel_contour(f, 0, flat, 2, 2, 0, 1, 0, 1, 0, 0, NULL) == DSC_EINVAL);
    CHECK(dsc_figure_set_layout(f, 7, 0, 0) == DSC_EINVAL);
    CHECK(dsc_figure_set_layout(f, 0, 100, 0) == DSC_EINVAL);
    CHECK_OK(dsc_figure_set_layout(f, 2, 400, 300));
    dsc_figure_free(f);

    dsc_figure *g = NULL;
    CHECK(dsc_figure_new("x", 0, &g) == DSC_EINVAL && g == NULL);
    CHECK(dsc_figure_new("x", 65, &g) == DSC_EINVAL && g == NULL);
    dsc_figure_free(NULL);
}

int main(void)
{
    char dir[] = "/tmp/test_svg_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_ticks();
    test_figure(dir);
    test_write_failure(dir);
    test_degenerate(dir);
    rmdir(dir);
    return check_report();
}
