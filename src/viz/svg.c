/* SVG figures. Every number goes through our own fixed-decimal formatter
 * (a comma-decimal locale would otherwise break the XML), every piece of
 * text through the XML escaper, and every coordinate is finite: points that
 * cannot be drawn are skipped, and segments are clipped to the plot area in
 * doubles before they are printed. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "svg.h"

#include "../io/outfile.h"

#define DEFAULT_PANEL_W 480
#define DEFAULT_PANEL_H 360
#define FIG_TITLE_H     34
#define FONT            "DejaVu Sans, Helvetica, Arial, sans-serif"
#define MAX_PANELS      64
#define MAX_LEVELS      64

/* Okabe & Ito's palette, which stays distinct under the common forms of
 * colour blindness; its yellow is left out (unreadable on white). */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                      "#CC79A7", "#56B4E9", "#000000", "#999999"};

typedef enum { IT_LINE, IT_POINTS, IT_PATH, IT_HLINE, IT_VLINE, IT_TEXT, IT_CONTOUR } item_kind;

typedef struct {
    item_kind kind;
    double *x, *y; /* series data, n values each */
    size_t n;
    double vx, vy; /* reference line value, annotation position */
    char *label;   /* legend label, annotation text or colour-bar label */
    char *color;
    int dashed;
    int marker;
    unsigned flags;
    double *z; /* contour grid, ny rows of nx */
    size_t nx, ny;
    double x0, x1, y0, y1;
    int levels;
} item;

typedef struct {
    char *title, *xlabel, *ylabel;
    unsigned flags;
    double lim[4]; /* xmin, xmax, ymin, ymax; NaN: automatic */
    item *items;
    size_t n_items, cap_items;
    int next_color;
} panel_t;

struct dsc_figure {
    char *title;
    int n_panels, cols, pw, ph;
    panel_t *panels;
};

/* ------------------------------------------------------------------ */
/* Output buffer                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = dsc_realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (n == 3 && s[0] == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
    if (n == 3 && s[0] == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    if (n == 4 && s[0] == 0xF0 && s[1] < 0x90) return 0;
    if (n == 4 && s[0] == 0xF4 && s[1] >= 0x90) return 0;
    return n;
}

/* XML text and attribute values. Control characters are not allowed in XML
 * 1.0 at all and bad UTF-8 makes the whole file unreadable, so those become
 * nothing and U+FFFD rather than an error. */
static void sb_esc(sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        switch (*p) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&apos;"); break;
        default:
            if (*p < 0x20) {
                if (*p == '\t' || *p == '\n' || *p == '\r') sb_put(b, " ", 1);
            } else {
                size_t n = utf8_len(p);
                if (n == 0) {
                    sb_puts(b, "\xEF\xBF\xBD");
                } else {
                    sb_put(b, (const char *)p, n);
                    p += n - 1;
                }
            }
        }
        p++;
    }
}

static void sb_num(sbuf *b, double v, int decimals)
{
    char t[48];
    dsc_format_fixed(t, sizeof t, v, decimals);
    sb_puts(b, t);
}

/* A printf of our own: %s raw text, %e escaped text, %d int, %f a number
 * with 2 decimals (pixels), %g with 1 decimal (dense contour paths). No
 * conversion consults the locale. */
static void sb_f(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *run = fmt;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') continue;
        sb_put(b, run, (size_t)(p - run));
        p++;
        switch (*p) {
        case 's': sb_puts(b, va_arg(ap, const char *)); break;
        case 'e': sb_esc(b, va_arg(ap, const char *)); break;
        case 'd': {
            char t[24];
            snprintf(t, sizeof t, "%d", va_arg(ap, int));
            sb_puts(b, t);
            break;
        }
        case 'f': sb_num(b, va_arg(ap, double), 2); break;
        case 'g': sb_num(b, va_arg(ap, double), 1); break;
        case '%': sb_put(b, "%", 1); break;
        default: p--; break;
        }
        run = p + 1;
    }
    sb_puts(b, run);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Building a figure                                                  */
/* ------------------------------------------------------------------ */

static void item_free(item *it)
{
    dsc_free(it->x);
    dsc_free(it->y);
    dsc_free(it->z);
    dsc_free(it->label);
    dsc_free(it->color);
}

void dsc_figure_free(dsc_figure *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_panels && f->panels; i++) {
        panel_t *p = &f->panels[i];
        for (size_t j = 0; j < p->n_items; j++) item_free(&p->items[j]);
        dsc_free(p->items);
        dsc_free(p->title);
        dsc_free(p->xlabel);
        dsc_free(p->ylabel);
    }
    dsc_free(f->panels);
    dsc_free(f->title);
    dsc_free(f);
}

/* dsc_strdup that keeps NULL as NULL; *ok turns 0 when a copy failed. */
static char *dup_opt(const char *s, int *ok)
{
    if (!s) return NULL;
    char *d = dsc_strdup(s);
    if (!d) *ok = 0;
    return d;
}

static int default_cols(int n) { return n <= 3 ? n : (n == 4 ? 2 : 3); }

dsc_status dsc_figure_new(const char *title, int n_panels, dsc_figure **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_figure_new: out is NULL");
    *out = NULL;
    if (n_panels < 1 || n_panels > MAX_PANELS)
        return dsc_fail(DSC_EINVAL, "a figure has 1 to %d panels, not %d", MAX_PANELS, n_panels);
    dsc_figure *f = dsc_calloc(1, sizeof *f);
    if (!f) return dsc_fail(DSC_ENOMEM, "out of memory for a figure");
    f->n_panels = n_panels;
    f->cols = default_cols(n_panels);
    f->pw = DEFAULT_PANEL_W;
    f->ph = DEFAULT_PANEL_H;
    int ok = 1;
    f->title = dup_opt(title, &ok);
    f->panels = dsc_calloc((size_t)n_panels, sizeof *f->panels);
    if (!ok || !f->panels) {
        dsc_figure_free(f);
        return dsc_fail(DSC_ENOMEM, "out of memory for a figure");
    }
    for (int i = 0; i < n_panels; i++)
        for (int j = 0; j < 4; j++) f->panels[i].lim[j] = NAN;
    *out = f;
    return DSC_OK;
}

dsc_status dsc_figure_set_layout(dsc_figure *f, int cols, int panel_width, int panel_height)
{
    if (!f) return dsc_fail(DSC_EINVAL, "dsc_figure_set_layout: figure is NULL");
    if (cols < 0 || cols > f->n_panels)
        return dsc_fail(DSC_EINVAL, "%d columns for %d panels", cols, f->n_panels);
    if ((panel_width && (panel_width < 160 || panel_width > 4000)) ||
        (panel_height && (panel_height < 160 || panel_height > 4000)))
        return dsc_fail(DSC_EINVAL, "panel size %d x %d is outside 160..4000", panel_width,
                        panel_height);
    f->cols = cols ? cols : default_cols(f->n_panels);
    f->pw = panel_width ? panel_width : DEFAULT_PANEL_W;
    f->ph = panel_height ? panel_height : DEFAULT_PANEL_H;
    return DSC_OK;
}

static dsc_status get_panel(dsc_figure *f, int idx, const char *fn, panel_t **p)
{
    if (!f) return dsc_fail(DSC_EINVAL, "%s: figure is NULL", fn);
    if (idx < 0 || idx >= f->n_panels)
        return dsc_fail(DSC_EINVAL, "%s: panel %d does not exist (the figure has %d)", fn, idx,
                        f->n_panels);
    *p = &f->panels[idx];
    return DSC_OK;
}

dsc_status dsc_panel_setup(dsc_figure *f, int idx, const char *title, const char *xlabel,
                           const char *ylabel, unsigned flags)
{
    panel_t *p = NULL;
    dsc_status s = get_panel(f, idx, "dsc_panel_setup", &p);
    if (s) return s;
    int ok = 1;
    char *t = dup_opt(title, &ok), *xl = dup_opt(xlabel, &ok), *yl = dup_opt(ylabel, &ok);
    if (!ok) {
        dsc_free(t);
        dsc_free(xl);
        dsc_free(yl);
        return dsc_fail(DSC_ENOMEM, "out of memory for panel labels");
    }
    dsc_free(p->title);
    dsc_free(p->xlabel);
    dsc_free(p->ylabel);
    p->title = t;
    p->xlabel = xl;
    p->ylabel = yl;
    p->flags = flags & (DSC_LOG_X | DSC_LOG_Y);
    return DSC_OK;
}

dsc_status dsc_panel_limits(dsc_figure *f, int idx, double xmin, double xmax, double ymin,
                            double ymax)
{
    panel_t *p = NULL;
    dsc_status s = get_panel(f, idx, "dsc_panel_limits", &p);
    if (s) return s;
    p->lim[0] = xmin;
    p->lim[1] = xmax;
    p->lim[2] = ymin;
    p->lim[3] = ymax;
    return DSC_OK;
}

static double *copy_doubles(const double *a, size_t n, int *ok)
{
    if (n == 0) return NULL;
    if (n > SIZE_MAX / sizeof(double)) {
        *ok = 0;
        return NULL;
    }
    double *d = dsc_malloc(n * sizeof *d);
    if (!d) {
        *ok = 0;
        return NULL;
    }
    memcpy(d, a, n * sizeof *d);
    return d;
}

/* Appends an item that takes ownership of the copies in *it. */
static dsc_status push_item(panel_t *p, item *it, int ok)
{
    if (ok && p->n_items == p->cap_items) {
        size_t cap = p->cap_items ? 2 * p->cap_items : 8;
        item *items = dsc_realloc(p->items, cap * sizeof *items);
        if (items) {
            p->items = items;
            p->cap_items = cap;
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        item_free(it);
        return dsc_fail(DSC_ENOMEM, "out of memory for a plot series");
    }
    p->items[p->n_items++] = *it;
    return DSC_OK;
}

static const char *pick_color(panel_t *p, const char *color)
{
    if (color) return color;
    return palette[p->next_color++ % (int)DSC_COUNT_OF(palette)];
}

static dsc_status add_series(dsc_figure *f, int idx, const char *fn, item_kind kind,
                             const double *x, const double *y, size_t n, const char *label,
                             const char *color, int dashed, int marker, unsigned flags)
{
    panel_t *p = NULL;
    dsc_status s = get_panel(f, idx, fn, &p);
    if (s) return s;
    if (n > 0 && (!x || !y)) return dsc_fail(DSC_EINVAL, "%s: x or y is NULL", fn);
    item it = {0};
    int ok = 1;
    it.kind = kind;
    it.n = n;
    it.x = copy_doubles(x, n, &ok);
    it.y = copy_doubles(y, n, &ok);
    it.label = dup_opt(label, &ok);
    it.color = dup_opt(pick_color(p, color), &ok);
    it.dashed = dashed;
    it.marker = marker;
    it.flags = flags;
    return push_item(p, &it, ok);
}

dsc_status dsc_panel_line(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                          const char *label, const char *color, int dashed)
{
    return add_series(f, panel, "dsc_panel_line", IT_LINE, x, y, n, label, color, dashed, 0, 0);
}

dsc_status dsc_panel_points(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                            const char *label, const char *color, dsc_marker marker)
{
    if ((int)marker < DSC_MARKER_CIRCLE || (int)marker > DSC_MARKER_PLUS)
        return dsc_fail(DSC_EINVAL, "dsc_panel_points: unknown marker %d", (int)marker);
    return add_series(f, panel, "dsc_panel_points", IT_POINTS, x, y, n, label, color, 0,
                      (int)marker, 0);
}

dsc_status dsc_panel_path(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                          const char *label, const char *color, unsigned flags)
{
    return add_series(f, panel, "dsc_panel_path", IT_PATH, x, y, n, label, color, 0, 0, flags);
}

static dsc_status add_single(dsc_figure *f, int idx, const char *fn, item_kind kind, double vx,
                             double vy, const char *label, const char *color, int dashed)
{
    panel_t *p = NULL;
    dsc_status s = get_panel(f, idx, fn, &p);
    if (s) return s;
    item it = {0};
    int ok = 1;
    it.kind = kind;
    it.vx = vx;
    it.vy = vy;
    it.label = dup_opt(label, &ok);
    it.color = dup_opt(color ? color : (kind == IT_TEXT ? "#222222" : "#555555"), &ok);
    it.dashed = dashed;
    return push_item(p, &it, ok);
}

dsc_status dsc_panel_hline(dsc_figure *f, int panel, double y, const char *label, const char *color,
                           int dashed)
{
    return add_single(f, panel, "dsc_panel_hline", IT_HLINE, NAN, y, label, color, dashed);
}

dsc_status dsc_panel_vline(dsc_figure *f, int panel, double x, const char *label, const char *color,
                           int dashed)
{
    return add_single(f, panel, "dsc_panel_vline", IT_VLINE, x, NAN, label, color, dashed);
}

dsc_status dsc_panel_annotate(dsc_figure *f, int panel, double x, double y, const char *text,
                              const char *color)
{
    if (!text) return dsc_fail(DSC_EINVAL, "dsc_panel_annotate: text is NULL");
    return add_single(f, panel, "dsc_panel_annotate", IT_TEXT, x, y, text, color, 0);
}

dsc_status dsc_panel_contour(dsc_figure *f, int idx, const double *z, size_t nx, size_t ny,
                             double x0, double x1, double y0, double y1, int levels, unsigned flags,
                             const char *label)
{
    panel_t *p = NULL;
    const char *fn = "dsc_panel_contour";
    dsc_status s = get_panel(f, idx, fn, &p);
    if (s) return s;
    if (!z) return dsc_fail(DSC_EINVAL, "%s: z is NULL", fn);
    if (nx < 2 || ny < 2) return dsc_fail(DSC_EINVAL, "%s: a %zu x %zu grid", fn, nx, ny);
    if (nx > SIZE_MAX / ny) return dsc_fail(DSC_EINVAL, "%s: grid too large", fn);
    if (!isfinite(x0) || !isfinite(x1) || !isfinite(y0) || !isfinite(y1) || x0 == x1 || y0 == y1)
        return dsc_fail(DSC_EINVAL, "%s: the grid's extent must be finite and not empty", fn);
    if (levels < 1 || levels > MAX_LEVELS)
        return dsc_fail(DSC_EINVAL, "%s: levels must be 1..%d, not %d", fn, MAX_LEVELS, levels);
    if ((flags & (DSC_CONTOUR_FILLED | DSC_CONTOUR_LINES)) == 0)
        flags |= DSC_CONTOUR_FILLED | DSC_CONTOUR_LINES;
    item it = {0};
    int ok = 1;
    it.kind = IT_CONTOUR;
    it.z = copy_doubles(z, nx * ny, &ok);
    it.nx = nx;
    it.ny = ny;
    it.x0 = x0;
    it.x1 = x1;
    it.y0 = y0;
    it.y1 = y1;
    it.levels = levels;
    it.flags = flags;
    it.label = dup_opt(label, &ok);
    return push_item(p, &it, ok);
}

/* ------------------------------------------------------------------ */
/* Layout                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    double left, top, w, h; /* plot area in figure pixels */
    double ox, oy;          /* panel origin */
    double xa, xb, ya, yb;  /* axis ranges in axis units (log10 on a log axis) */
    int logx, logy;
    dsc_ticks xt, yt;
    const item *contour; /* the first contour: it gets the colour bar */
    int zlog;
    double za, zb; /* its level range in level units (log10 with DSC_CONTOUR_LOG) */
    dsc_ticks zt;
    double cbar_x; /* left edge of the colour bar */
    double zlabel_w;
} layout;

/* Value to axis units; NaN when it cannot be shown on the axis. */
static double to_axis(double v, int log_scale)
{
    if (!isfinite(v)) return NAN;
    if (log_scale) return v > 0 ? log10(v) : NAN;
    return v;
}

static double from_axis(double a, int log_scale) { return log_scale ? pow(10.0, a) : a; }

/* Roughly how wide a label is: DejaVu Sans averages ~0.6 em per glyph. */
static double text_width(const char *s, double font_size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        if ((*p & 0xC0) != 0x80) n++;
    return 0.62 * font_size * (double)n;
}

static void extend(double v, double *lo, double *hi)
{
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

/* Data extent along one axis (0: x, 1: y) in axis units, counting only
 * what is drawn. Returns 0 when nothing is. */
static int data_extent(const panel_t *p, int axis, double *lo, double *hi, int *has_contour)
{
    int logx = (p->flags & DSC_LOG_X) != 0, logy = (p->flags & DSC_LOG_Y) != 0;
    *lo = HUGE_VAL;
    *hi = -HUGE_VAL;
    *has_contour = 0;
    for (size_t k = 0; k < p->n_items; k++) {
        const item *it = &p->items[k];
        switch (it->kind) {
        case IT_LINE:
        case IT_POINTS:
        case IT_PATH:
            for (size_t i = 0; i < it->n; i++) {
                double ax = to_axis(it->x[i], logx), ay = to_axis(it->y[i], logy);
                if (isnan(ax) || isnan(ay)) continue;
                extend(axis ? ay : ax, lo, hi);
            }
            break;
        case IT_TEXT: {
            double ax = to_axis(it->vx, logx), ay = to_axis(it->vy, logy);
            if (!isnan(ax) && !isnan(ay)) extend(axis ? ay : ax, lo, hi);
            break;
        }
        case IT_HLINE:
        case IT_VLINE:
            if ((it->kind == IT_HLINE) == (axis == 1)) {
                double a = to_axis(axis ? it->vy : it->vx, axis ? logy : logx);
                if (!isnan(a)) extend(a, lo, hi);
            }
            break;
        case IT_CONTOUR: {
            int lg = axis ? logy : logx;
            double a = to_axis(axis ? it->y0 : it->x0, lg), b = to_axis(axis ? it->y1 : it->x1, lg);
            if (!isnan(a)) extend(a, lo, hi);
            if (!isnan(b)) extend(b, lo, hi);
            *has_contour = 1;
            break;
        }
        }
    }
    return *lo <= *hi;
}

/* The axis range in axis units: limits where set, else the data with a 5%
 * margin (none around a contour, which should fill the panel). */
static void axis_range(const panel_t *p, int axis, double *a, double *b)
{
    int lg = (p->flags & (axis ? DSC_LOG_Y : DSC_LOG_X)) != 0;
    double la = to_axis(p->lim[2 * axis], lg), lb = to_axis(p->lim[2 * axis + 1], lg);
    double dlo, dhi;
    int has_contour;
    int any = data_extent(p, axis, &dlo, &dhi, &has_contour);
    if (!any) {
        dlo = 0;
        dhi = 1;
    }
    int auto_lo = isnan(la), auto_hi = isnan(lb);
    double lo = auto_lo ? dlo : la, hi = auto_hi ? dhi : lb;
    if (!auto_lo && auto_hi && hi <= lo) hi = lo + (any ? fmax(dhi - dlo, 1.0) : 1.0);
    if (auto_lo && !auto_hi && hi <= lo) lo = hi - (any ? fmax(dhi - dlo, 1.0) : 1.0);
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    double mag = fmax(fabs(lo), fabs(hi));
    if (hi - lo <= mag * 1e-12) {
        /* One value: give it room, half a decade either way on a log axis. */
        double c = 0.5 * (lo + hi);
        double d = lg ? 0.5 : (c == 0 ? 1.0 : fabs(c) * 0.1);
        lo = c - d;
        hi = c + d;
        auto_lo = auto_hi = 1;
    }
    if (!has_contour) {
        double m = 0.05 * (hi - lo);
        if (auto_lo) lo -= m;
        if (auto_hi) hi += m;
    }
    *a = lo;
    *b = hi;
}

/* Ticks of an axis given in axis units, with the values kept inside it. */
static void axis_ticks(double a, double b, int lg, dsc_ticks *t)
{
    dsc_nice_ticks(from_axis(a, lg), from_axis(b, lg), lg, t);
}

static int contour_t(const item *it, int zlog, double za, size_t k, double *t)
{
    double v = it->z[k];
    if (!isfinite(v)) return 0;
    if (zlog)
        *t = v > 0 ? log10(v) : za;
    else
        *t = v;
    return 1;
}

static void contour_range(const item *it, layout *L)
{
    L->zlog = (it->flags & DSC_CONTOUR_LOG) != 0;
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t k = 0; k < it->nx * it->ny; k++) {
        double v = it->z[k];
        if (!isfinite(v) || (L->zlog && v <= 0)) continue;
        double t = L->zlog ? log10(v) : v;
        extend(t, &lo, &hi);
    }
    if (lo > hi) {
        lo = 0;
        hi = 1;
    }
    double mag = fmax(fabs(lo), fabs(hi));
    if (hi - lo <= mag * 1e-12) {
        double d = L->zlog ? 0.5 : (lo == 0 ? 1.0 : fabs(lo) * 0.1);
        lo -= d;
        hi += d;
    }
    L->za = lo;
    L->zb = hi;
    axis_ticks(lo, hi, L->zlog, &L->zt);
}

static double ticks_max_width(const dsc_ticks *t, double font_size)
{
    double w = 0;
    char buf[64];
    for (size_t i = 0; i < t->n; i++) {
        dsc_tick_label(t, i, buf, sizeof buf);
        w = fmax(w, text_width(buf, font_size));
    }
    return w;
}

static void compute_layout(const dsc_figure *f, int idx, layout *L)
{
    const panel_t *p = &f->panels[idx];
    memset(L, 0, sizeof *L);
    int col = idx % f->cols, row = idx / f->cols;
    L->ox = (double)col * f->pw;
    L->oy = (double)row * f->ph + (f->title ? FIG_TITLE_H : 0);
    L->logx = (p->flags & DSC_LOG_X) != 0;
    L->logy = (p->flags & DSC_LOG_Y) != 0;
    axis_range(p, 0, &L->xa, &L->xb);
    axis_range(p, 1, &L->ya, &L->yb);
    axis_ticks(L->xa, L->xb, L->logx, &L->xt);
    axis_ticks(L->ya, L->yb, L->logy, &L->yt);
    for (size_t k = 0; k < p->n_items && !L->contour; k++)
        if (p->items[k].kind == IT_CONTOUR) L->contour = &p->items[k];

    double left = 10 + (p->ylabel ? 18 : 0) + ticks_max_width(&L->yt, 11) + 8;
    double right = 16;
    char last[64] = "";
    if (L->xt.n) dsc_tick_label(&L->xt, L->xt.n - 1, last, sizeof last);
    right = fmax(right, text_width(last, 11) / 2 + 6);
    if (L->contour && (L->contour->flags & (DSC_CONTOUR_FILLED | DSC_CONTOUR_LINES))) {
        contour_range(L->contour, L);
        L->zlabel_w = ticks_max_width(&L->zt, 10);
        right = 14 + 14 + 5 + L->zlabel_w + (L->contour->label ? 20 : 0) + 8;
    }
    double top = p->title ? 30 : 14;
    double bottom = 8 + 4 + 14 + (p->xlabel ? 18 : 0);
    L->left = L->ox + left;
    L->top = L->oy + top;
    L->w = fmax(20, f->pw - left - right);
    L->h = fmax(20, f->ph - top - bottom);
    L->cbar_x = L->left + L->w + 14;
}

/* Axis units to pixels; the ranges are never empty, so this is finite. */
static double px_of(const layout *L, double ax)
{
    return L->left + (ax - L->xa) / (L->xb - L->xa) * L->w;
}
static double py_of(const layout *L, double ay)
{
    return L->top + L->h - (ay - L->ya) / (L->yb - L->ya) * L->h;
}

static int map_point(const layout *L, double x, double y, double *px, double *py)
{
    double ax = to_axis(x, L->logx), ay = to_axis(y, L->logy);
    if (isnan(ax) || isnan(ay)) return 0;
    *px = px_of(L, ax);
    *py = py_of(L, ay);
    return isfinite(*px) && isfinite(*py);
}

dsc_status dsc_panel_map(const dsc_figure *f, int idx, double x, double y, double *px, double *py)
{
    if (!f || !px || !py) return dsc_fail(DSC_EINVAL, "dsc_panel_map: NULL argument");
    if (idx < 0 || idx >= f->n_panels)
        return dsc_fail(DSC_EINVAL, "dsc_panel_map: panel %d does not exist", idx);
    layout L;
    compute_layout(f, idx, &L);
    if (!map_point(&L, x, y, px, py))
        return dsc_fail(DSC_EINVAL, "dsc_panel_map: (%g, %g) cannot be drawn on this panel", x, y);
    return DSC_OK;
}

/* Liang-Barsky: clips the segment to the box; 0 when nothing is left. */
static int clip_segment(double xmin, double ymin, double xmax, double ymax, double *x0, double *y0,
                        double *x1, double *y1)
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    double pp[4] = {-dx, dx, -dy, dy};
    double qq[4] = {*x0 - xmin, xmax - *x0, *y0 - ymin, ymax - *y0};
    for (int i = 0; i < 4; i++) {
        if (pp[i] == 0) {
            if (qq[i] < 0) return 0;
            continue;
        }
        double r = qq[i] / pp[i];
        if (pp[i] < 0) {
            if (r > t1) return 0;
            if (r > t0) t0 = r;
        } else {
            if (r < t0) return 0;
            if (r < t1) t1 = r;
        }
    }
    double ax = *x0, ay = *y0;
    *x0 = ax + t0 * dx;
    *y0 = ay + t0 * dy;
    *x1 = ax + t1 * dx;
    *y1 = ay + t1 * dy;
    return 1;
}

static int inside(const layout *L, double px, double py)
{
    return px >= L->left - 0.5 && px <= L->left + L->w + 0.5 && py >= L->top - 0.5 &&
           py <= L->top + L->h + 0.5;
}

/* ------------------------------------------------------------------ */
/* Drawing                                                            */
/* ------------------------------------------------------------------ */

/* Text with a white outline drawn first, so it stays readable over lines
 * and colour bands (paint-order would do this, but it is not SVG 1.1). */
static void halo_text(sbuf *b, double x, double y, const char *anchor, int size, const char *color,
                      const char *text)
{
    sb_f(b,
         "<text x=\"%f\" y=\"%f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"white\" "
         "stroke=\"white\" stroke-width=\"3\" stroke-linejoin=\"round\">%e</text>\n",
         x, y, anchor, size, text);
    sb_f(b, "<text x=\"%f\" y=\"%f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"%e\">%e</text>\n",
         x, y, anchor, size, color, text);
}

/* The polyline through the drawable points, broken at the ones that are not
 * and clipped to the plot area. Emits the d attribute's value. */
static void polyline_d(sbuf *b, const layout *L, const double *x, const double *y, size_t n)
{
    int have_prev = 0, pen = 0;
    double qx = 0, qy = 0, penx = 0, peny = 0;
    for (size_t i = 0; i < n; i++) {
        double px, py;
        if (!map_point(L, x[i], y[i], &px, &py)) {
            have_prev = 0;
            continue;
        }
        /* A long run (a loss curve over 10^5 updates) has many points per
         * pixel; dropping those within 0.3 px of the last one drawn keeps
         * the file small and the curve the same. */
        if (have_prev && i + 1 < n && fabs(px - qx) < 0.3 && fabs(py - qy) < 0.3) continue;
        if (have_prev) {
            double ax = qx, ay = qy, bx = px, by = py;
            if (clip_segment(L->left, L->top, L->left + L->w, L->top + L->h, &ax, &ay, &bx, &by)) {
                if (!pen || ax != penx || ay != peny) sb_f(b, "M%f %f", ax, ay);
                sb_f(b, "L%f %f", bx, by);
                pen = 1;
                penx = bx;
                peny = by;
            }
        }
        qx = px;
        qy = py;
        have_prev = 1;
    }
}

static void draw_marker(sbuf *b, int marker, double x, double y, double r, const char *color,
                        const char *cls)
{
    switch (marker) {
    case DSC_MARKER_SQUARE:
        sb_f(b, "<rect x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\" fill=\"%e\"/>\n", x - r * 0.9,
             y - r * 0.9, 1.8 * r, 1.8 * r, color);
        break;
    case DSC_MARKER_TRIANGLE:
        sb_f(b, "<path d=\"M%f %fL%f %fL%f %fZ\" fill=\"%e\"/>\n", x, y - 1.2 * r, x + 1.1 * r,
             y + 0.8 * r, x - 1.1 * r, y + 0.8 * r, color);
        break;
    case DSC_MARKER_DIAMOND:
        sb_f(b, "<path d=\"M%f %fL%f %fL%f %fL%f %fZ\" fill=\"%e\"/>\n", x, y - 1.3 * r,
             x + 1.1 * r, y, x, y + 1.3 * r, x - 1.1 * r, y, color);
        break;
    case DSC_MARKER_CROSS:
        sb_f(b, "<path d=\"M%f %fL%f %fM%f %fL%f %f\" stroke=\"%e\" stroke-width=\"1.8\"/>\n",
             x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r, color);
        break;
    case DSC_MARKER_PLUS:
        sb_f(b, "<path d=\"M%f %fL%f %fM%f %fL%f %f\" stroke=\"%e\" stroke-width=\"1.8\"/>\n",
             x - 1.2 * r, y, x + 1.2 * r, y, x, y - 1.2 * r, x, y + 1.2 * r, color);
        break;
    default:
        sb_f(b, "<circle class=\"%s\" cx=\"%f\" cy=\"%f\" r=\"%f\" fill=\"%e\"/>\n", cls, x, y, r,
             color);
        break;
    }
}

static const char *dash_attr(int dashed) { return dashed ? " stroke-dasharray=\"6 4\"" : ""; }

static void draw_line(sbuf *b, const layout *L, const item *it)
{
    sbuf d = {0};
    polyline_d(&d, L, it->x, it->y, it->n);
    if (d.failed) b->failed = 1;
    if (d.len)
        sb_f(b,
             "<path class=\"line\" d=\"%s\" fill=\"none\" stroke=\"%e\" stroke-width=\"2\" "
             "stroke-linejoin=\"round\" stroke-linecap=\"round\"%s/>\n",
             d.p, it->color, dash_attr(it->dashed));
    dsc_free(d.p);
}

static void draw_points(sbuf *b, const layout *L, const item *it)
{
    sb_f(b, "<g class=\"points\" stroke=\"white\" stroke-width=\"0.8\">\n");
    for (size_t i = 0; i < it->n; i++) {
        double px, py;
        if (!map_point(L, it->x[i], it->y[i], &px, &py) || !inside(L, px, py)) continue;
        draw_marker(b, it->marker, px, py, 4, it->color, "pt");
    }
    sb_puts(b, "</g>\n");
}

static void draw_path(sbuf *b, const layout *L, const item *it)
{
    sbuf d = {0};
    polyline_d(&d, L, it->x, it->y, it->n);
    if (d.failed) b->failed = 1;
    sb_puts(b, "<g class=\"path\">\n");
    if (d.len) {
        sb_f(b,
             "<path d=\"%s\" fill=\"none\" stroke=\"white\" stroke-opacity=\"0.8\" "
             "stroke-width=\"4.5\" stroke-linejoin=\"round\"/>\n",
             d.p);
        sb_f(b,
             "<path d=\"%s\" fill=\"none\" stroke=\"%e\" stroke-width=\"1.8\" "
             "stroke-linejoin=\"round\"/>\n",
             d.p, it->color);
    }
    dsc_free(d.p);

    /* Arrowheads halfway along the steps that are long enough to carry one. */
    if (it->flags & DSC_PATH_ARROWS) {
        double qx = 0, qy = 0;
        int have = 0;
        for (size_t i = 0; i < it->n; i++) {
            double px, py;
            if (!map_point(L, it->x[i], it->y[i], &px, &py)) {
                have = 0;
                continue;
            }
            double dx = px - qx, dy = py - qy, len = sqrt(dx * dx + dy * dy);
            double mx = 0.5 * (px + qx), my = 0.5 * (py + qy);
            if (have && len >= 16 && inside(L, mx, my)) {
                double ux = dx / len, uy = dy / len;
                sb_f(b, "<path d=\"M%f %fL%f %fL%f %fZ\" fill=\"%e\"/>\n", mx + 4.5 * ux,
                     my + 4.5 * uy, mx - 3.5 * ux - 3.5 * uy, my - 3.5 * uy + 3.5 * ux,
                     mx - 3.5 * ux + 3.5 * uy, my - 3.5 * uy - 3.5 * ux, it->color);
            }
            qx = px;
            qy = py;
            have = 1;
        }
    }

    /* Vertices: where many steps pile up near a minimum, one dot per few
     * pixels is all the eye can tell apart anyway. */
    size_t last_valid = it->n;
    for (size_t i = it->n; i-- > 0;) {
        double px, py;
        if (map_point(L, it->x[i], it->y[i], &px, &py)) {
            last_valid = i;
            break;
        }
    }
    double lx = -1e9, ly = -1e9, nx = -1e9, ny = -1e9;
    int first = 1;
    for (size_t i = 0; i < it->n; i++) {
        double px, py;
        if (!map_point(L, it->x[i], it->y[i], &px, &py) || !inside(L, px, py)) continue;
        double dist = hypot(px - lx, py - ly);
        if (first) {
            sb_f(b,
                 "<circle class=\"pv\" cx=\"%f\" cy=\"%f\" r=\"4.5\" fill=\"white\" "
                 "stroke=\"%e\" stroke-width=\"1.8\"/>\n",
                 px, py, it->color);
        } else if (i == last_valid) {
            sb_f(b,
                 "<circle class=\"pv\" cx=\"%f\" cy=\"%f\" r=\"4.5\" fill=\"%e\" "
                 "stroke=\"white\" stroke-width=\"1\"/>\n",
                 px, py, it->color);
        } else if (dist >= 3) {
            sb_f(b,
                 "<circle class=\"pv\" cx=\"%f\" cy=\"%f\" r=\"2.8\" fill=\"%e\" "
                 "stroke=\"white\" stroke-width=\"0.6\"/>\n",
                 px, py, it->color);
        } else {
            continue;
        }
        lx = px;
        ly = py;
        first = 0;
    }
    if (it->flags & DSC_PATH_NUMBERS) {
        for (size_t i = 0; i < it->n; i++) {
            double px, py;
            if (!map_point(L, it->x[i], it->y[i], &px, &py) || !inside(L, px, py)) continue;
            if (hypot(px - nx, py - ny) < 18) continue;
            char num[24];
            snprintf(num, sizeof num, "%zu", i);
            int right = px < L->left + L->w - 20;
            halo_text(b, px + (right ? 6 : -6), py - 6, right ? "start" : "end", 10, it->color,
                      num);
            nx = px;
            ny = py;
        }
    }
    sb_puts(b, "</g>\n");
}

static void draw_refline(sbuf *b, const layout *L, const item *it)
{
    double x0, y0, x1, y1;
    if (it->kind == IT_HLINE) {
        double a = to_axis(it->vy, L->logy);
        if (isnan(a)) return;
        x0 = L->left;
        x1 = L->left + L->w;
        y0 = y1 = py_of(L, a);
        if (y0 < L->top - 0.5 || y0 > L->top + L->h + 0.5) return;
    } else {
        double a = to_axis(it->vx, L->logx);
        if (isnan(a)) return;
        y0 = L->top;
        y1 = L->top + L->h;
        x0 = x1 = px_of(L, a);
        if (x0 < L->left - 0.5 || x0 > L->left + L->w + 0.5) return;
    }
    sb_f(b,
         "<line class=\"ref\" x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"%e\" "
         "stroke-width=\"1.2\"%s/>\n",
         x0, y0, x1, y1, it->color, dash_attr(it->dashed));
}

static void draw_text(sbuf *b, const layout *L, const item *it)
{
    double px, py;
    if (!map_point(L, it->vx, it->vy, &px, &py) || !inside(L, px, py)) return;
    /* Keep the text inside the plot area: flip to the left near the right
     * edge, below the point near the top. */
    int flip = px + 6 + text_width(it->label, 11) > L->left + L->w;
    double ty = py - 7 < L->top + 12 ? py + 15 : py - 7;
    halo_text(b, flip ? px - 6 : px + 6, ty, flip ? "end" : "start", 11, it->color, it->label);
}

/* Viridis (as in matplotlib), sampled every 1/8: perceptually even, readable
 * in grey and by colour-blind readers. */
static void colormap(double t, char *out)
{
    static const unsigned char v[9][3] = {{68, 1, 84},    {72, 40, 120},  {62, 74, 137},
                                          {49, 104, 142}, {38, 130, 142}, {31, 158, 137},
                                          {53, 183, 121}, {109, 205, 89}, {253, 231, 37}};
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    double s = t * 8;
    int i = (int)s;
    if (i > 7) i = 7;
    double u = s - i;
    int c[3];
    for (int k = 0; k < 3; k++) {
        double x = v[i][k] + (v[i + 1][k] - v[i][k]) * u;
        /* Lighter than the map itself, so paths and labels on top stand out. */
        x = x + (255 - x) * 0.22;
        c[k] = (int)(x + 0.5);
    }
    snprintf(out, 8, "#%02X%02X%02X", c[0] & 255, c[1] & 255, c[2] & 255);
}

typedef struct {
    double x, y, t;
} vtx;

/* Sutherland-Hodgman against t >= level (above) or t <= level. */
static int clip_poly(const vtx *in, int n, vtx *out, double level, int above)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        const vtx *a = &in[i], *c = &in[(i + 1) % n];
        int ina = above ? a->t >= level : a->t <= level;
        int inc = above ? c->t >= level : c->t <= level;
        if (ina) out[m++] = *a;
        if (ina != inc) {
            double s = (level - a->t) / (c->t - a->t);
            out[m].x = a->x + s * (c->x - a->x);
            out[m].y = a->y + s * (c->y - a->y);
            out[m].t = level;
            m++;
        }
    }
    return m;
}

typedef struct {
    const layout *L;
    int nb;      /* bands */
    double dt;   /* band width in level units */
    sbuf *fill;  /* one path per band */
    sbuf *lines; /* one path per level (index 1..nb-1) */
    int do_fill, do_lines;
} contour_ctx;

static int band_of(const contour_ctx *c, double t)
{
    int j = (int)floor((t - c->L->za) / c->dt);
    return j < 0 ? 0 : (j >= c->nb ? c->nb - 1 : j);
}

static void emit_poly(sbuf *b, const vtx *v, int n)
{
    for (int i = 0; i < n; i++) sb_f(b, "%s%g %g", i ? "L" : "M", v[i].x, v[i].y);
    sb_puts(b, "Z");
}

/* One triangle of the grid, linear inside: its share of each band, and the
 * segment where it crosses each level. Triangles (not squares) leave no
 * saddle ambiguity to resolve. */
static void contour_triangle(contour_ctx *c, const vtx *tri)
{
    double tmin = fmin(tri[0].t, fmin(tri[1].t, tri[2].t));
    double tmax = fmax(tri[0].t, fmax(tri[1].t, tri[2].t));
    int bl = band_of(c, tmin), bh = band_of(c, tmax);
    if (c->do_fill) {
        for (int j = bl; j <= bh; j++) {
            vtx p1[8], p2[8];
            int n = 3;
            memcpy(p1, tri, 3 * sizeof *tri);
            if (j > bl) {
                n = clip_poly(p1, n, p2, c->L->za + j * c->dt, 1);
                memcpy(p1, p2, (size_t)n * sizeof *p2);
            }
            if (j < bh && n >= 3)
                n = clip_poly(p1, n, p2, c->L->za + (j + 1) * c->dt, 0);
            else
                memcpy(p2, p1, (size_t)n * sizeof *p1);
            if (n >= 3) emit_poly(&c->fill[j], p2, n);
        }
    }
    if (c->do_lines) {
        for (int k = bl + 1; k <= bh && k < c->nb; k++) {
            double level = c->L->za + k * c->dt;
            vtx pts[2];
            int m = 0;
            for (int e = 0; e < 3 && m < 2; e++) {
                const vtx *a = &tri[e], *d = &tri[(e + 1) % 3];
                if ((a->t >= level) != (d->t >= level)) {
                    double s = (level - a->t) / (d->t - a->t);
                    pts[m].x = a->x + s * (d->x - a->x);
                    pts[m].y = a->y + s * (d->y - a->y);
                    m++;
                }
            }
            if (m == 2) sb_f(&c->lines[k], "M%g %gL%g %g", pts[0].x, pts[0].y, pts[1].x, pts[1].y);
        }
    }
}

static void draw_contour(sbuf *b, const layout *L, const item *it, int panel_idx)
{
    contour_ctx c = {0};
    c.L = L;
    c.nb = it->levels;
    c.dt = (L->zb - L->za) / c.nb;
    c.do_fill = (it->flags & DSC_CONTOUR_FILLED) != 0;
    c.do_lines = (it->flags & DSC_CONTOUR_LINES) != 0 && c.nb > 1;
    c.fill = dsc_calloc((size_t)c.nb, sizeof *c.fill);
    c.lines = dsc_calloc((size_t)c.nb, sizeof *c.lines);
    double *gx = dsc_malloc(it->nx * sizeof *gx), *gy = dsc_malloc(it->ny * sizeof *gy);
    if (!c.fill || !c.lines || !gx || !gy) {
        b->failed = 1;
        goto out;
    }
    /* Grid lines in pixels; NaN where a log axis cannot show them. */
    for (size_t i = 0; i < it->nx; i++) {
        double a = to_axis(it->x0 + (it->x1 - it->x0) * (double)i / (double)(it->nx - 1), L->logx);
        gx[i] = isnan(a) ? NAN : px_of(L, a);
    }
    for (size_t j = 0; j < it->ny; j++) {
        double a = to_axis(it->y0 + (it->y1 - it->y0) * (double)j / (double)(it->ny - 1), L->logy);
        gy[j] = isnan(a) ? NAN : py_of(L, a);
    }
    for (size_t j = 0; j + 1 < it->ny; j++) {
        size_t run = 0; /* cells run_start..i-1 lie wholly in band run_band */
        size_t run_start = 0;
        int run_band = -1;
        for (size_t i = 0; i + 1 <= it->nx; i++) {
            vtx v[4];
            int ok = i + 1 < it->nx;
            static const size_t di[4] = {0, 1, 1, 0}, dj[4] = {0, 0, 1, 1};
            for (int k = 0; k < 4 && ok; k++) {
                size_t ii = i + di[k], jj = j + dj[k];
                v[k].x = gx[ii];
                v[k].y = gy[jj];
                ok = !isnan(v[k].x) && !isnan(v[k].y) &&
                     contour_t(it, L->zlog, L->za, jj * it->nx + ii, &v[k].t);
            }
            int cell_band = -1;
            if (ok) {
                double tmin = fmin(fmin(v[0].t, v[1].t), fmin(v[2].t, v[3].t));
                double tmax = fmax(fmax(v[0].t, v[1].t), fmax(v[2].t, v[3].t));
                if (band_of(&c, tmin) == band_of(&c, tmax)) cell_band = band_of(&c, tmin);
            }
            /* Cells that lie wholly in one band merge into one rectangle per
             * run: most of a smooth surface, and far fewer bytes. */
            if (run && (cell_band != run_band || !c.do_fill)) {
                if (c.do_fill)
                    sb_f(&c.fill[run_band], "M%g %gL%g %gL%g %gL%g %gZ", gx[run_start], gy[j],
                         gx[i], gy[j], gx[i], gy[j + 1], gx[run_start], gy[j + 1]);
                run = 0;
            }
            if (cell_band >= 0 && c.do_fill) {
                if (!run) {
                    run_start = i;
                    run_band = cell_band;
                }
                run++;
                continue;
            }
            if (!ok) continue;
            if (cell_band >= 0) continue; /* lines only, and no level crosses it */
            vtx t1[3] = {v[0], v[1], v[2]}, t2[3] = {v[0], v[2], v[3]};
            contour_triangle(&c, t1);
            contour_triangle(&c, t2);
        }
    }
    sb_f(b, "<g class=\"contour\" clip-path=\"url(#clip%d)\">\n", panel_idx);
    for (int j = 0; j < c.nb && c.do_fill; j++) {
        if (c.fill[j].failed) b->failed = 1;
        if (!c.fill[j].len) continue;
        char col[8];
        colormap((j + 0.5) / c.nb, col);
        /* The stroke in the band's own colour hides the hairline seams that
         * anti-aliasing leaves between neighbouring polygons. */
        sb_f(b,
             "<path d=\"%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"0.6\" "
             "stroke-linejoin=\"round\"/>\n",
             c.fill[j].p, col, col);
    }
    for (int k = 1; k < c.nb && c.do_lines; k++) {
        if (c.lines[k].failed) b->failed = 1;
        if (!c.lines[k].len) continue;
        if (c.do_fill) {
            sb_f(b,
                 "<path d=\"%s\" fill=\"none\" stroke=\"#000000\" stroke-opacity=\"0.3\" "
                 "stroke-width=\"0.7\"/>\n",
                 c.lines[k].p);
        } else {
            char col[8];
            colormap((double)k / c.nb, col);
            sb_f(b,
                 "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\" "
                 "stroke-linecap=\"round\"/>\n",
                 c.lines[k].p, col);
        }
    }
    sb_puts(b, "</g>\n");
out:
    for (int j = 0; j < c.nb; j++) {
        if (c.fill) dsc_free(c.fill[j].p);
        if (c.lines) dsc_free(c.lines[j].p);
    }
    dsc_free(c.fill);
    dsc_free(c.lines);
    dsc_free(gx);
    dsc_free(gy);
}

static void draw_colorbar(sbuf *b, const layout *L, const item *it)
{
    double x = L->cbar_x, w = 14, top = L->top, h = L->h;
    int nb = it->levels;
    sb_puts(b, "<g class=\"colorbar\">\n");
    for (int j = 0; j < nb; j++) {
        char col[8];
        colormap((j + 0.5) / nb, col);
        double y1 = top + h - h * j / nb, y0 = top + h - h * (j + 1) / nb;
        /* Overlap by a pixel so no background shows between the bands. */
        sb_f(b, "<rect x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\" fill=\"%s\"/>\n", x, y0, w,
             y1 - y0 + (j ? 0.5 : 0), col);
    }
    sb_f(b,
         "<rect x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\" fill=\"none\" stroke=\"#333333\" "
         "stroke-width=\"0.8\"/>\n",
         x, top, w, h);
    for (size_t i = 0; i < L->zt.n; i++) {
        double a = to_axis(L->zt.v[i], L->zlog);
        if (isnan(a)) continue;
        double y = top + h - (a - L->za) / (L->zb - L->za) * h;
        if (y < top - 0.5 || y > top + h + 0.5) continue;
        char lab[64];
        dsc_tick_label(&L->zt, i, lab, sizeof lab);
        sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"#333333\"/>\n", x + w, y,
             x + w + 3, y);
        sb_f(b, "<text x=\"%f\" y=\"%f\" font-size=\"10\">%e</text>\n", x + w + 5, y + 3.5, lab);
    }
    if (it->label) {
        double lx = x + w + 5 + L->zlabel_w + 16, ly = top + h / 2;
        sb_f(b,
             "<text x=\"%f\" y=\"%f\" transform=\"rotate(-90 %f %f)\" text-anchor=\"middle\" "
             "font-size=\"12\">%e</text>\n",
             lx, ly, lx, ly, it->label);
    }
    sb_puts(b, "</g>\n");
}

/* Legend entries: every item with a label, except text and contours. */
static int in_legend(const item *it)
{
    return it->label && it->label[0] && it->kind != IT_TEXT && it->kind != IT_CONTOUR;
}

/* How much of the data a legend box at (x, y, w, h) would hide. */
static int legend_cost(const layout *L, const panel_t *p, double x, double y, double w, double h)
{
    int cost = 0;
    for (size_t k = 0; k < p->n_items; k++) {
        const item *it = &p->items[k];
        if (it->kind == IT_HLINE || it->kind == IT_VLINE) {
            double a = to_axis(it->kind == IT_HLINE ? it->vy : it->vx,
                               it->kind == IT_HLINE ? L->logy : L->logx);
            if (isnan(a)) continue;
            double c = it->kind == IT_HLINE ? py_of(L, a) : px_of(L, a);
            if (it->kind == IT_HLINE ? (c >= y && c <= y + h) : (c >= x && c <= x + w)) cost += 5;
            continue;
        }
        if (it->kind != IT_LINE && it->kind != IT_POINTS && it->kind != IT_PATH) continue;
        double qx = 0, qy = 0;
        int have = 0;
        for (size_t i = 0; i < it->n; i++) {
            double px, py;
            if (!map_point(L, it->x[i], it->y[i], &px, &py)) {
                have = 0;
                continue;
            }
            /* A hidden marker (a data point, a step) costs far more than
             * a stretch of curve: the legend must not cover a point. */
            if (px >= x && px <= x + w && py >= y && py <= y + h)
                cost += it->kind == IT_POINTS ? 400 : it->kind == IT_PATH ? 40 : 3;
            if (have && it->kind != IT_POINTS) {
                double ax = qx, ay = qy, bx = px, by = py;
                if (clip_segment(x, y, x + w, y + h, &ax, &ay, &bx, &by)) cost += 1;
            }
            qx = px;
            qy = py;
            have = 1;
        }
    }
    return cost;
}

static void draw_legend(sbuf *b, const layout *L, const panel_t *p)
{
    int rows = 0;
    double tw = 0;
    for (size_t k = 0; k < p->n_items; k++) {
        if (!in_legend(&p->items[k])) continue;
        rows++;
        tw = fmax(tw, text_width(p->items[k].label, 11));
    }
    if (!rows) return;
    double row_h = 17, w = 8 + 24 + 6 + tw + 8, h = 6 + rows * row_h;
    /* Corners first, then the middles of the edges; the first place that
     * hides the least data wins. */
    double xr = L->left + L->w - w - 8, xl = L->left + 8, xm = L->left + (L->w - w) / 2;
    double yt = L->top + 8, yb = L->top + L->h - h - 8, ym = L->top + (L->h - h) / 2;
    double xs[8] = {xr, xl, xr, xl, xm, xm, xr, xl};
    double ys[8] = {yt, yt, yb, yb, yt, yb, ym, ym};
    int best = 0, best_cost = -1;
    for (int c = 0; c < 8; c++) {
        int cost = legend_cost(L, p, xs[c], ys[c], w, h);
        if (best_cost < 0 || cost < best_cost) {
            best = c;
            best_cost = cost;
        }
    }
    double x = xs[best], y = ys[best];
    sb_f(b,
         "<g class=\"legend\">\n<rect x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\" rx=\"3\" "
         "fill=\"white\" fill-opacity=\"0.88\" stroke=\"#bbbbbb\" stroke-width=\"0.8\"/>\n",
         x, y, w, h);
    int r = 0;
    for (size_t k = 0; k < p->n_items; k++) {
        const item *it = &p->items[k];
        if (!in_legend(it)) continue;
        double cy = y + 3 + row_h * (r + 0.5), sx = x + 8;
        if (it->kind == IT_POINTS) {
            sb_puts(b, "<g stroke=\"white\" stroke-width=\"0.8\">");
            draw_marker(b, it->marker, sx + 12, cy, 4, it->color, "lg");
            sb_puts(b, "</g>\n");
        } else {
            sb_f(b,
                 "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"%e\" "
                 "stroke-width=\"%s\"%s/>\n",
                 sx, cy, sx + 24, cy, it->color, it->kind == IT_LINE ? "2" : "1.5",
                 dash_attr(it->dashed));
            if (it->kind == IT_PATH)
                sb_f(b, "<circle cx=\"%f\" cy=\"%f\" r=\"2.8\" fill=\"%e\"/>\n", sx + 12, cy,
                     it->color);
        }
        sb_f(b, "<text x=\"%f\" y=\"%f\" font-size=\"11\">%e</text>\n", sx + 30, cy + 4, it->label);
        r++;
    }
    sb_puts(b, "</g>\n");
}

/* Unlabelled ticks at 2..9 x 10^k on a log axis of a few decades: with only
 * three labels, they are what lets the reader tell 0.02 from 0.05. */
static void draw_minor_ticks(sbuf *b, const layout *L, int axis)
{
    int lg = axis ? L->logy : L->logx;
    double a = axis ? L->ya : L->xa, c = axis ? L->yb : L->xb;
    const dsc_ticks *t = axis ? &L->yt : &L->xt;
    if (!lg || c - a > 8) return;
    for (double d = floor(a); d <= ceil(c); d++) {
        for (int m = 2; m <= 9; m++) {
            double v = d + log10((double)m);
            if (v < a || v > c) continue;
            int major = 0;
            for (size_t i = 0; i < t->n; i++)
                if (fabs(log10(t->v[i]) - v) < 1e-9) major = 1;
            if (major) continue;
            if (axis) {
                double y = py_of(L, v);
                sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"#333333\"/>\n",
                     L->left - 2.5, y, L->left, y);
            } else {
                double x = px_of(L, v), y = L->top + L->h;
                sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"#333333\"/>\n", x,
                     y, x, y + 2.5);
            }
        }
    }
}

static void draw_axes(sbuf *b, const layout *L, const panel_t *p)
{
    double bottom = L->top + L->h, right = L->left + L->w;
    char lab[64];
    /* Skip every other x label when they would touch. */
    double widest = 0, spacing = HUGE_VAL;
    for (size_t i = 0; i < L->xt.n; i++) {
        dsc_tick_label(&L->xt, i, lab, sizeof lab);
        widest = fmax(widest, text_width(lab, 11));
        if (i > 0)
            spacing = fmin(spacing, px_of(L, to_axis(L->xt.v[i], L->logx)) -
                                        px_of(L, to_axis(L->xt.v[i - 1], L->logx)));
    }
    size_t every = 1;
    while (widest + 8 > spacing * (double)every && every < 8) every++;

    sb_puts(b, "<g class=\"axes\" font-size=\"11\" fill=\"#333333\">\n");
    sb_f(b,
         "<rect x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\" fill=\"none\" stroke=\"#333333\" "
         "stroke-width=\"1\"/>\n",
         L->left, L->top, L->w, L->h);
    for (size_t i = 0; i < L->xt.n; i++) {
        double x = px_of(L, to_axis(L->xt.v[i], L->logx));
        if (!isfinite(x) || x < L->left - 0.5 || x > right + 0.5) continue;
        sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"#333333\"/>\n", x, bottom,
             x, bottom + 4);
        if (i % every) continue;
        dsc_tick_label(&L->xt, i, lab, sizeof lab);
        sb_f(b, "<text x=\"%f\" y=\"%f\" text-anchor=\"middle\">%e</text>\n", x, bottom + 17, lab);
    }
    for (size_t i = 0; i < L->yt.n; i++) {
        double y = py_of(L, to_axis(L->yt.v[i], L->logy));
        if (!isfinite(y) || y < L->top - 0.5 || y > bottom + 0.5) continue;
        sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\" stroke=\"#333333\"/>\n", L->left - 4,
             y, L->left, y);
        dsc_tick_label(&L->yt, i, lab, sizeof lab);
        sb_f(b, "<text x=\"%f\" y=\"%f\" text-anchor=\"end\">%e</text>\n", L->left - 7, y + 4, lab);
    }
    draw_minor_ticks(b, L, 0);
    draw_minor_ticks(b, L, 1);
    sb_puts(b, "</g>\n");
    if (p->xlabel)
        sb_f(b, "<text x=\"%f\" y=\"%f\" text-anchor=\"middle\" font-size=\"12\">%e</text>\n",
             L->left + L->w / 2, bottom + 35, p->xlabel);
    if (p->ylabel) {
        double x = L->ox + 22, y = L->top + L->h / 2;
        sb_f(b,
             "<text x=\"%f\" y=\"%f\" transform=\"rotate(-90 %f %f)\" text-anchor=\"middle\" "
             "font-size=\"12\">%e</text>\n",
             x, y, x, y, p->ylabel);
    }
    if (p->title)
        sb_f(b,
             "<text x=\"%f\" y=\"%f\" text-anchor=\"middle\" font-size=\"13\" "
             "font-weight=\"bold\">%e</text>\n",
             L->left + L->w / 2, L->oy + 20, p->title);
}

static void draw_grid(sbuf *b, const layout *L)
{
    sb_puts(b, "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (size_t i = 0; i < L->xt.n; i++) {
        double x = px_of(L, to_axis(L->xt.v[i], L->logx));
        if (isfinite(x) && x > L->left + 0.5 && x < L->left + L->w - 0.5)
            sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\"/>\n", x, L->top, x,
                 L->top + L->h);
    }
    for (size_t i = 0; i < L->yt.n; i++) {
        double y = py_of(L, to_axis(L->yt.v[i], L->logy));
        if (isfinite(y) && y > L->top + 0.5 && y < L->top + L->h - 0.5)
            sb_f(b, "<line x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\"/>\n", L->left, y, L->left + L->w,
                 y);
    }
    sb_puts(b, "</g>\n");
}

static void draw_panel(sbuf *b, const dsc_figure *f, int idx)
{
    const panel_t *p = &f->panels[idx];
    layout L;
    compute_layout(f, idx, &L);
    sb_f(b, "<g class=\"panel\" id=\"panel%d\">\n", idx);
    sb_f(
        b,
        "<clipPath id=\"clip%d\"><rect x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\"/></clipPath>\n",
        idx, L.left, L.top, L.w, L.h);
    draw_grid(b, &L);
    if (L.contour) draw_contour(b, &L, L.contour, idx);
    for (size_t k = 0; k < p->n_items; k++) {
        const item *it = &p->items[k];
        switch (it->kind) {
        case IT_LINE: draw_line(b, &L, it); break;
        case IT_POINTS: draw_points(b, &L, it); break;
        case IT_PATH: draw_path(b, &L, it); break;
        case IT_HLINE:
        case IT_VLINE: draw_refline(b, &L, it); break;
        case IT_TEXT: draw_text(b, &L, it); break;
        case IT_CONTOUR:
            if (it != L.contour) draw_contour(b, &L, it, idx);
            break;
        }
    }
    draw_axes(b, &L, p);
    if (L.contour) draw_colorbar(b, &L, L.contour);
    draw_legend(b, &L, p);
    sb_puts(b, "</g>\n");
}

dsc_status dsc_figure_to_string(const dsc_figure *f, char **out)
{
    if (!f || !out) return dsc_fail(DSC_EINVAL, "dsc_figure_to_string: NULL argument");
    *out = NULL;
    int rows = (f->n_panels + f->cols - 1) / f->cols;
    int width = f->cols * f->pw, height = rows * f->ph + (f->title ? FIG_TITLE_H : 0);
    sbuf b = {0};
    sb_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    sb_f(&b,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
         "viewBox=\"0 0 %d %d\" font-family=\"%s\" font-size=\"11\">\n",
         width, height, width, height, FONT);
    if (f->title) sb_f(&b, "<title>%e</title>\n", f->title);
    sb_puts(&b, "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    if (f->title)
        sb_f(&b,
             "<text x=\"%f\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
             "font-weight=\"bold\">%e</text>\n",
             width / 2.0, f->title);
    for (int i = 0; i < f->n_panels; i++) draw_panel(&b, f, i);
    sb_puts(&b, "</svg>\n");
    if (b.failed) {
        dsc_free(b.p);
        return dsc_fail(DSC_ENOMEM, "out of memory while drawing a figure");
    }
    *out = b.p;
    return DSC_OK;
}

dsc_status dsc_figure_write(const dsc_figure *f, const char *path)
{
    if (!f || !path || !path[0]) return dsc_fail(DSC_EINVAL, "dsc_figure_write: no figure or path");
    char *svg;
    dsc_status s = dsc_figure_to_string(f, &svg);
    if (s) return s;
    s = dsc_write_file_atomic(path, svg, strlen(svg));
    dsc_free(svg);
    return s;
}
