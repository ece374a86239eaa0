/* The chain rule, written out with numbers. Internal. */
#ifndef DSC_EXPLAIN_H
#define DSC_EXPLAIN_H

#include "../base/base.h"
#include "descent.h"

/* Models with more parameters than this, or data sets with more rows, are
 * refused with DSC_EINVAL and a clear message: the text would be unreadable. */
#define DSC_EXPLAIN_MAX_PARAMS 64
#define DSC_EXPLAIN_MAX_ROWS   32

/* For each parameter named in `params` (comma-separated scalar names such
 * as "w1,b3" or tensor names such as "layer2.weight"; NULL or "": all),
 * writes dLoss/dparam as the chain of local derivatives, with every factor
 * a number at the model's current parameters, in the seed's style, e.g. for
 * b3 of the seed's network:
 *   dSSR/db3 = sum over points of
 *       dSSR/dpredicted x dpredicted/dz2.1 x dz2.1/db3
 *     = sum of -2(observed - predicted) x identity'(z2.1) x 1
 *     point 1: -2(0 - -2.604) x 1 x 1 = -5.207 ...
 *     dSSR/db3 = -5.207 - 5.218 - 5.23 = -15.6551   (backpropagation gives -15.6551)
 * The text opens with the loss and each layer's activation, formula and
 * derivative as the op table writes them, and the forward pass point by
 * point. Where a parameter has one path to the loss (every later layer has
 * one unit) the chain is written factor by factor; otherwise the paths are
 * summed as backpropagated errors delta = dLoss/dz, listed per point and
 * layer, and the block reads delta x input. Softmax + ce and sigmoid + bce
 * are explained as the engine computes them, from the logits: dLoss/dz =
 * (p - t)/N.
 *
 * ReLU's derivative at exactly 0 follows the model's rule: 0 or 1 for the
 * fixed rules; under DSC_RELU_GRAD_RANDOM the draw backpropagation made is
 * read back from its gradients and shown. Which side of the kink a unit is
 * on is decided by the engine's float z, not a double recomputation.
 *
 * Every factor is computed in double from the float parameters; the total
 * of each parameter is the sum of its points' products. *max_diff (may be
 * NULL) receives the largest |total - backprop| / max(1, |backprop|) over
 * the parameters explained: ~1e-7, float rounding; NaN if a total is NaN.
 * *text is dsc_malloc'd; the caller frees it with dsc_free. json != 0
 * writes one JSON object instead: {"loss": "ssr", "network": SPEC,
 * "max_diff": X, "params": {"b3": {"total": X, "backprop": X, "points":
 * [...]}, ...}}, with null for a non-finite number. Numbers never depend
 * on the locale. DSC_EINVAL (the message gives the limit) over the limits
 * above, DSC_ESHAPE when the data does not fit the model, DSC_ENOTFOUND for
 * an unknown parameter name. */
dsc_status dsc_explain_model(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                             const char *params, int json, char **text, double *max_diff);

/* The same for a network with convolutions or pools (explain_layers.c),
 * which dsc_explain_model hands over to: for each scalar parameter named
 * in params (required, at most 8), dLoss/dparam as the sum over points and
 * over the positions its filter visited of (the gradient backpropagation
 * brings to the filter's output there) x (the input under the weight), each
 * number read from the engine's passes on the model's graph, the total
 * compared with backpropagation's. JSON: {"loss", "network", "params":
 * {"w5": {"total", "backprop", "positions", "points": [...]}}, "max_diff"}. */
dsc_status dsc_explain_layers(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                              const char *params, int json, char **text, double *max_diff);

/* The line fit, point by point, as the seed writes it: for the point
 * (5, 1.3) with slope 0.64,
 *   d/d intercept (1.3 - (intercept + 0.64 x 5))^2
 *     = 2(1.3 - (intercept + 3.2)) x (0 - (1 + 0))   [chain rule: outer x inner]
 *     = -2(1.3 - 3.2 - intercept)
 *     = -2(-1.9 - intercept)
 *     = 3.8 + 2 x intercept
 *     at intercept = 0: 3.8
 * (the seed drops a sign in its middle line; this is the corrected form);
 * unless fit_slope is 0, the same for the slope, -2x(y - (intercept + slope
 * x)), evaluated. Then the sums over the points: dSSR/d intercept as a
 * linear function of the intercept and its value, and dSSR/d slope.
 * json != 0: {"loss": "ssr", "at": {"intercept": B, "slope": K}, "params":
 * {"intercept": {"total": X, "points": [...]}, "slope": {...}}}. At most
 * DSC_EXPLAIN_MAX_ROWS points (DSC_EINVAL beyond). */
dsc_status dsc_explain_line(const float *x, const float *y, size_t n, double intercept,
                            double slope, int fit_slope, int json, char **text);

#endif
