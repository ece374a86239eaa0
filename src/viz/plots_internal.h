/* The figures of plots.h, built but not written, and the numbers behind
 * them, so that tests can check what is drawn against the data. Internal. */
#ifndef DSC_PLOTS_INTERNAL_H
#define DSC_PLOTS_INTERNAL_H

#include "plots.h"
#include "svg.h"

/* Panels of the dsc_plot_line figure. */
enum {
    DSC_LINE_PANEL_DATA = 0, /* data, fitted line, least-squares line */
    DSC_LINE_PANEL_SSR = 1,  /* fit_slope 0: SSR against the intercept; 1: the contour map */
    DSC_LINE_PANEL_ITER = 2  /* fit_slope 1 only: SSR per iteration */
};

/* Panels of the units figure ("Trained Weights"). */
enum {
    DSC_UNITS_PANEL_ACT = 0,    /* each hidden unit's activation */
    DSC_UNITS_PANEL_SCALED = 1, /* the same times its output weight */
    DSC_UNITS_PANEL_SUM = 2,    /* the sum of the scaled curves */
    DSC_UNITS_PANEL_FINAL = 3   /* after the output bias (and activation), with the data */
};

/* The figure dsc_plot_line writes, with the same checks. */
dsc_status dsc_plot_line_figure(const float *x, const float *y, size_t n, const char *xname,
                                const char *yname, const dsc_run_trace *t, int fit_slope,
                                double ls_intercept, double ls_slope, dsc_figure **out);

/* The sum of squared residuals of y = intercept + slope x, in double. */
double dsc_plot_line_ssr(const float *x, const float *y, size_t n, double intercept, double slope);

/* The loss of m on d with scalar parameter `index` set to each of
 * values[0..n) and every other parameter as in m. */
dsc_status dsc_plot_sweep(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, size_t index,
                          const double *values, size_t n, double *losses);

/* The figures dsc_plot_network writes. t may be NULL (no steps to mark).
 * The units figure needs one hidden layer and 1 input and 1 output
 * (DSC_EUNSUPPORTED otherwise, with a message saying why). */
dsc_status dsc_plot_sweep_figure(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                 const dsc_run_trace *t, size_t index, dsc_figure **out);
dsc_status dsc_plot_fit_figure(const dsc_model *m, const dsc_dataset *d, dsc_figure **out);
dsc_status dsc_plot_units_figure(const dsc_model *m, const dsc_dataset *d, dsc_figure **out);
dsc_status dsc_plot_loss_figure(const dsc_run_trace *t, dsc_loss loss, dsc_figure **out);

/* The network drawn as the seed draws it (network.svg): input, an edge
 * per weight with its value, the hidden units with their activation and
 * bias, the output's sum and bias; d (may be NULL) names the input and
 * output. An SVG document in a dsc_malloc'd string. DSC_EUNSUPPORTED for
 * anything but 1 input -> one hidden layer (at most 12 units) -> 1 output. */
dsc_status dsc_plot_diagram_svg(const dsc_model *m, const dsc_dataset *d, char **out);

/* The curves of the units figure at x[0..n): act and scaled are units x n
 * (unit by unit), sum and final n values; final is what the model predicts.
 * *units receives the number of hidden units. Arrays are dsc_malloc'd; free
 * them with dsc_free. */
dsc_status dsc_plot_unit_curves(const dsc_model *m, const double *x, size_t n, size_t *units,
                                double **act, double **scaled, double **sum, double **final);

/* Shared by plots.c and plot_network.c. */

/* v with about 3 significant digits, '.' whatever the locale. */
void dsc_plot_fmt(char *buf, size_t size, double v);

/* The steps of a run as a path with arrows, numbered where the numbers stay
 * readable: every step for a short run, else only a few. iter gives the
 * iteration of each vertex when the run was thinned (NULL: vertex i is
 * iteration i). Call it after everything else that sets the panel's axes
 * has been added. */
dsc_status dsc_plot_add_steps(dsc_figure *f, int panel, const double *x, const double *y, size_t n,
                              const size_t *iter, const char *label, const char *color);

/* Whether v spans more than two decades (and is all > 0): draw it on a log
 * axis. */
int dsc_plot_wants_log(const double *v, size_t n);

#endif
