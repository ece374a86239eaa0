/* The seed's pictures, drawn from a recorded run. Internal. */
#ifndef DSC_PLOTS_H
#define DSC_PLOTS_H

#include "../base/base.h"
#include "descent.h"

/* A recorded run: for each iteration (parameter update), every parameter
 * and the loss *before* the update, as the seed's tables list them; after
 * the last update, dsc_run_trace_finish() adds the final state as one more
 * row (final = 1), so plots can draw where the run ended. */
typedef struct {
    size_t n_params;
    size_t rows, cap;
    float *params; /* rows x n_params */
    float *grads;  /* rows x n_params (0 in the final row) */
    double *loss;  /* rows */
    int final;     /* the last row is the final state, not an update */
} dsc_run_trace;

dsc_status dsc_run_trace_init(dsc_run_trace *t, size_t n_params);
void dsc_run_trace_free(dsc_run_trace *t);
/* Appends one row (allocates as it grows: for recording, not the hot loop
 * of large models). */
dsc_status dsc_run_trace_add(dsc_run_trace *t, const float *params, const float *grads,
                             double loss);
dsc_status dsc_run_trace_finish(dsc_run_trace *t, const float *params, double loss);

/* descent line --plot FILE.svg. x, y: the data (n points); xname, yname:
 * their columns' names for the axes and the lines' formulas ("height =
 * 0.95 + 0.64 × weight"; NULL or empty: x and y). t: the run of a
 * model "1 -> 1:identity" whose parameters are [slope (w1), intercept
 * (b1)]. fit_slope 0: only the intercept was fitted (slope fixed at
 * t's slope): two panels, (1) the data and the fitted line, (2) the SSR
 * against the intercept with the steps marked on the curve. fit_slope 1:
 * (1) data and line, (2) a contour map of SSR over (intercept, slope) with
 * the path of the steps, (3) SSR per iteration. ls_intercept, ls_slope:
 * the least-squares answer, marked on the plots (NaN: not marked). With
 * fit_slope 0 the SSR curve marks its own minimum (the best intercept for
 * the fixed slope, from the data), and DSC_EINVAL says so if the slope
 * changed during the run. The SSR drawn is always recomputed from x and y,
 * so the steps lie on the curve. */
dsc_status dsc_plot_line(const char *path, const float *x, const float *y, size_t n,
                         const char *xname, const char *yname, const dsc_run_trace *t,
                         int fit_slope, double ls_intercept, double ls_slope);

/* descent demo/train --plot-dir DIR for a model with 1 input and 1 output:
 *  DIR/loss_vs_PARAM.svg  the loss against one parameter (sweep_param, e.g.
 *                         "b3"; others at their final values) with the
 *                         steps of the run marked (the seed's pink curve);
 *  DIR/fit.svg            the data and the fitted curve;
 *  DIR/units.svg          the seed's "Trained Weights" picture, one panel per
 *                         stage: each hidden unit's activation, the same
 *                         scaled by its output weight, their sum, and the
 *                         final curve after the output bias (and output
 *                         activation). Models with one hidden layer only.
 *  DIR/loss.svg           loss per iteration (log scale when it spans
 *                         decades); not written for a run of no update.
 *  DIR/network.svg        the network drawn with its weights (one hidden
 *                         layer of at most 12 units only).
 * When parameters other than sweep_param moved, loss_vs_PARAM.svg shows
 * the slice at the final values with the run's end on it and, in a second
 * panel, the parameter at each update. The axes carry d's column names.
 * Writes the names of the files it wrote (up to 8) into written, each a
 * dsc_strdup'd path the caller frees with dsc_free. DIR must exist
 * (DSC_EIO otherwise). sweep_param NULL: the last parameter (the output
 * bias, as in the seed). t NULL: no steps marked and no loss.svg. The
 * steps on the sweep are at the loss recomputed on all of d with the other
 * parameters at their final values: the run's own loss when only
 * sweep_param was trained (the picture's subtitle says which). On failure
 * *n_written is 0 and there is nothing to free; the files already written
 * are whole (each is written to a temporary name, then renamed). */
/* The first convolution's filters and, when d is not NULL, row `row` of d
 * and the feature maps the layer makes of it, as an SVG at path (written
 * atomically). DSC_EINVAL for a network without a convolution, a row past
 * the end or data that does not fit the model. */
dsc_status dsc_plot_filters(const char *path, const dsc_model *m, const dsc_dataset *d, size_t row);

dsc_status dsc_plot_network(const char *dir, const dsc_model *m, const dsc_dataset *d,
                            dsc_loss loss, const dsc_run_trace *t, const char *sweep_param,
                            char **written, size_t *n_written);

#endif
