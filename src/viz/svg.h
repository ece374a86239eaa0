/* SVG figures: the pictures of the teaching document and the CLI's plots.
 * Internal header.
 *
 * A figure is a grid of panels. Each panel has axes that range over its data
 * (unless limits are set), and holds series drawn in the order they were
 * added (a contour is always drawn first, under everything else). Nothing is
 * laid out until the figure is written, so series may be added in any order.
 * All data are copied; the caller keeps its arrays. Non-finite values (and
 * values <= 0 on a log axis) are skipped: a line has a gap there. */
#ifndef DSC_VIZ_SVG_H
#define DSC_VIZ_SVG_H

#include <stddef.h>

#include "../base/base.h"

typedef struct dsc_figure dsc_figure;

/* Axis flags of dsc_panel_setup. */
enum { DSC_LOG_X = 1, DSC_LOG_Y = 2 };

/* Marker shapes of dsc_panel_points. */
typedef enum {
    DSC_MARKER_CIRCLE = 0,
    DSC_MARKER_SQUARE,
    DSC_MARKER_TRIANGLE,
    DSC_MARKER_DIAMOND,
    DSC_MARKER_CROSS,
    DSC_MARKER_PLUS
} dsc_marker;

/* Flags of dsc_panel_path. */
enum {
    DSC_PATH_ARROWS = 1, /* an arrowhead halfway along each step */
    DSC_PATH_NUMBERS = 2 /* vertex numbers 0, 1, 2, ... (thinned where they would crowd) */
};

/* Flags of dsc_panel_contour (0 means DSC_CONTOUR_FILLED | DSC_CONTOUR_LINES). */
enum {
    DSC_CONTOUR_FILLED = 1, /* colour bands between levels, with a colour bar */
    DSC_CONTOUR_LINES = 2,  /* thin lines at the levels */
    DSC_CONTOUR_LOG = 4     /* levels evenly spaced in log10(z); z <= 0 counts as the lowest */
};

/* A figure of n_panels (1..64) panels of 480 x 360 pixels, laid out side by
 * side up to 3, then in rows of 2 (4 panels) or 3. title may be NULL. */
dsc_status dsc_figure_new(const char *title, int n_panels, dsc_figure **out);
void dsc_figure_free(dsc_figure *f);

/* Changes the grid: cols columns (0: the default) and each panel's size in
 * pixels (0: the default; otherwise 160..4000). */
dsc_status dsc_figure_set_layout(dsc_figure *f, int cols, int panel_width, int panel_height);

/* Panel (0-based) titles, axis labels (any may be NULL) and DSC_LOG_* flags. */
dsc_status dsc_panel_setup(dsc_figure *f, int panel, const char *title, const char *xlabel,
                           const char *ylabel, unsigned flags);

/* Fixes the axis range; a NaN end stays automatic. */
dsc_status dsc_panel_limits(dsc_figure *f, int panel, double xmin, double xmax, double ymin,
                            double ymax);

/* A polyline through (x[i], y[i]). label NULL: not in the legend. color is
 * any SVG colour; NULL takes the next one of the panel's palette. */
dsc_status dsc_panel_line(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                          const char *label, const char *color, int dashed);

/* A marker at each (x[i], y[i]). */
dsc_status dsc_panel_points(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                            const char *label, const char *color, dsc_marker marker);

/* The path of an optimiser: a polyline with a dot at each vertex (hollow at
 * the start, larger at the end) and DSC_PATH_* decorations. */
dsc_status dsc_panel_path(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                          const char *label, const char *color, unsigned flags);

/* A function sampled on a grid: z is ny rows of nx values (row-major), row j
 * at y = y0 + (y1 - y0) j / (ny - 1), column i at x = x0 + (x1 - x0) i / (nx
 * - 1). levels (1..64) bands between the smallest and largest finite value.
 * label names z on the colour bar (may be NULL). */
dsc_status dsc_panel_contour(dsc_figure *f, int panel, const double *z, size_t nx, size_t ny,
                             double x0, double x1, double y0, double y1, int levels, unsigned flags,
                             const char *label);

/* Reference lines across the whole panel (color NULL: dark grey). */
dsc_status dsc_panel_hline(dsc_figure *f, int panel, double y, const char *label, const char *color,
                           int dashed);
dsc_status dsc_panel_vline(dsc_figure *f, int panel, double x, const char *label, const char *color,
                           int dashed);

/* Text just above and right of the data point (x, y) (color NULL: near black). */
dsc_status dsc_panel_annotate(dsc_figure *f, int panel, double x, double y, const char *text,
                              const char *color);

/* Where the data point (x, y) lands in the figure's pixel coordinates, for
 * the series added so far. DSC_EINVAL for a point that cannot be drawn
 * (non-finite, or <= 0 on a log axis). */
dsc_status dsc_panel_map(const dsc_figure *f, int panel, double x, double y, double *px,
                         double *py);

/* The SVG document as a NUL-terminated string (free with dsc_free). */
dsc_status dsc_figure_to_string(const dsc_figure *f, char **out);

/* Writes the SVG to PATH.tmp, then renames it to path, so path is never
 * half-written. DSC_EIO (with the system's reason) when that fails. */
dsc_status dsc_figure_write(const dsc_figure *f, const char *path);

/* ------------------------------------------------------------------ */
/* Axis ticks (ticks.c)                                               */
/* ------------------------------------------------------------------ */

#define DSC_MAX_TICKS 16

typedef struct {
    double v[DSC_MAX_TICKS]; /* ascending, all within [lo, hi] */
    size_t n;
    double step; /* spacing of linear ticks; 0 when each label has its own precision */
    int log;     /* the ticks are for a log axis */
} dsc_ticks;

/* Fills t with 4 to 8 "nice" values (1, 2 or 5 times a power of ten apart)
 * within [lo, hi]; on a log axis, powers of ten (every 2nd, 3rd, ... when
 * there are many decades), or 1-2-5 values within a short range. A range of
 * one value is widened around it. Returns t->n (0 for non-finite input, or
 * lo or hi <= 0 on a log axis). */
size_t dsc_nice_ticks(double lo, double hi, int log_scale, dsc_ticks *t);

/* The label of tick i: as few digits as the spacing needs ("0.2", not
 * "0.20000000000000001"), and powers of ten as "10⁻⁶" (UTF-8) when the
 * numbers would be long. */
void dsc_tick_label(const dsc_ticks *t, size_t i, char *buf, size_t size);

/* v with at most `decimals` decimals, trailing zeros dropped, '.' whatever the
 * locale ("-0" prints as "0"). Returns the length as snprintf does. */
int dsc_format_fixed(char *buf, size_t size, double v, int decimals);

#endif
