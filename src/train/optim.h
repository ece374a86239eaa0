/* Training internals: per-step optimizers over flat float buffers,
 * learning-rate schedules and full-batch L-BFGS. Internal header. */
#ifndef DSC_OPTIM_H
#define DSC_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base.h"

/* Optimizers that descent.h does not list yet. They live here so that the
 * public header stays untouched until they are moved into dsc_optimizer;
 * that move only has to change this one line. Pass them to config.kind
 * cast: (dsc_optimizer)DSC_OPT_RPROP_ID. */
enum { DSC_OPT_RPROP_ID = DSC_OPT_RPROP, DSC_OPT_LBFGS_ID = DSC_OPT_LBFGS };

/* ------------------------------------------------------------------ */
/* Per-step optimizers                                                */
/* ------------------------------------------------------------------ */

typedef struct {
    dsc_optimizer kind;  /* DSC_OPT_GD .. DSC_OPT_ADAMW or DSC_OPT_RPROP_ID */
    double momentum;     /* momentum, nesterov: 0.9 */
    double beta1, beta2; /* adam, adamw: 0.9, 0.999 */
    double eps;          /* adam, adamw, rmsprop: 1e-8 */
    double rms_alpha;    /* rmsprop smoothing: 0.99 */
    double weight_decay; /* L2 added to the gradient; adamw: decoupled. 0 */
    /* rprop: step growth 1.2 and shrink 0.5 factors, bounds 1e-6 and 50.
     * rprop_step_init 0 (default) means: the lr given to the first step
     * that updates the parameter, as PyTorch initialises its step sizes. */
    double rprop_eta_plus, rprop_eta_minus;
    double rprop_step_init, rprop_step_min, rprop_step_max;
} dsc_optim_config;

/* Fills c with the defaults above (kind DSC_OPT_GD). */
void dsc_optim_config_init(dsc_optim_config *c);

typedef struct dsc_optim dsc_optim;

/* DSC_EINVAL for an unknown kind (including DSC_OPT_LBFGS_ID, which is not
 * a per-step optimizer: see dsc_lbfgs_minimize) or an out-of-range
 * hyper-parameter; DSC_ENOMEM when the state cannot be allocated. */
dsc_status dsc_optim_new(const dsc_optim_config *c, size_t n_params, dsc_optim **out);
void dsc_optim_free(dsc_optim *o);
/* Threads for long updates (0: the library default); the result does not
 * depend on it: every rule is element-wise. */
void dsc_optim_set_threads(dsc_optim *o, int threads);
/* Zero state and t = 0, as if just created. */
void dsc_optim_reset(dsc_optim *o);

/* One update with learning rate lr (never allocates).
 * mask[i] == 0 freezes parameter i: no update, no state change, no weight
 * decay; mask may be NULL. steps (may be NULL) receives the amount
 * subtracted, exactly: after the call params[i] == before[i] - steps[i] in
 * float arithmetic (0 for frozen parameters). n should equal n_params;
 * only the first min(n, n_params) entries are touched. Every call counts
 * as one step of t, whatever the mask. */
void dsc_optim_step(dsc_optim *o, float *params, const float *grads, const uint8_t *mask,
                    float *steps, size_t n, double lr);

/* What the seed's step-size stopping rule compares with the tolerance: the
 * largest over unmasked parameters of |lr * grads[i]| (the raw gradient,
 * without weight decay), except for rprop, where it is the parameter's
 * current adaptive step size (the lr, or rprop_step_init, for a parameter
 * that has not been updated yet). NaN if any value looked at is NaN, so a
 * diverged gradient never reads as "converged"; 0 when nothing is free. */
double dsc_optim_max_step_size(const dsc_optim *o, const float *grads, const uint8_t *mask,
                               size_t n, double lr);

/* Flat state for checkpoints (float even where the update computes in
 * double): dsc_optim_state_size() floats at dsc_optim_state(), plus the
 * step counter t. Layout: momentum/nesterov v; rmsprop s; adam/adamw m
 * then v; rprop step sizes then previous gradients; gd/sgd none. */
size_t dsc_optim_state_size(const dsc_optim *o);
float *dsc_optim_state(dsc_optim *o);
uint64_t dsc_optim_t(const dsc_optim *o);
void dsc_optim_set_t(dsc_optim *o, uint64_t t);

/* ------------------------------------------------------------------ */
/* Learning-rate schedules                                            */
/* ------------------------------------------------------------------ */

/* The learning rate of update t (0-based) out of total updates (0 when
 * unknown). gamma 0 means 0.1 for step and 0.99 for exp; step_size 0 means
 * max(1, total / 3). Both step and exp decay per update, not per epoch.
 * With total unknown, cosine and a step schedule without step_size cannot
 * place their decay and return lr0; past total, cosine stays at lr_min. */
double dsc_schedule_lr(dsc_schedule s, double lr0, double gamma, size_t step_size, double lr_min,
                       size_t t, size_t total);

/* ------------------------------------------------------------------ */
/* L-BFGS                                                             */
/* ------------------------------------------------------------------ */

/* Returns f(x) and writes the gradient into g. May return NaN or Inf. */
typedef double (*dsc_lbfgs_eval)(void *user, const float *x, float *g);
/* Called after each iteration with the new point; step is the largest
 * |x_new - x_old| of the iteration. Non-zero stops the run. */
typedef int (*dsc_lbfgs_progress)(void *user, size_t iter, const float *x, const float *g, double f,
                                  double step);

typedef struct {
    size_t m;        /* correction pairs kept: 8 */
    size_t max_iter; /* iterations: 1000; 0: no limit */
    double grad_tol; /* stop when ||g||_2 <= grad_tol: 1e-6; 0: off */
    double step_tol; /* stop when max |x_new - x_old| < step_tol: 1e-3 (the seed's rule); 0: off */
    double c1, c2;   /* strong Wolfe constants: 1e-4, 0.9 */
    size_t max_linesearch; /* function evaluations per line search: 20 */
    /* DSC_LBFGS_DESCENT (default) or DSC_LBFGS_TORCH: PyTorch's iteration
     * and strong Wolfe search (lbfgs_torch.c), which takes c1, c2 and m
     * from here, allows 25 evaluations per search (max_linesearch is
     * descent's), and adds PyTorch's fixed tests: stop when max |g| <=
     * 1e-7, when the slope along the direction is above -1e-9, or when the
     * step (max |t d|) or the change of f falls to 1e-9 or below. */
    dsc_lbfgs_style style;
} dsc_lbfgs_params;

void dsc_lbfgs_params_init(dsc_lbfgs_params *p);

typedef enum {
    DSC_LBFGS_GRADIENT,           /* ||g||_2 <= grad_tol */
    DSC_LBFGS_STEP_SIZE,          /* max |x_new - x_old| < step_tol */
    DSC_LBFGS_MAX_ITER,           /* max_iter iterations done */
    DSC_LBFGS_LINE_SEARCH_FAILED, /* no acceptable step, not explained by rounding */
    /* no acceptable step because f cannot resolve a decrease any more
     * (see lbfgs.c): as good as convergence */
    DSC_LBFGS_LINE_SEARCH_CONVERGED,
    DSC_LBFGS_DIVERGED, /* f or g not finite at the start or everywhere the search looked */
    DSC_LBFGS_CANCELLED /* progress returned non-zero */
} dsc_lbfgs_stop;

/* Minimizes eval over x (n floats, updated in place) from the given start.
 * mask[i] == 0 keeps x[i] fixed (its gradient counts as 0); mask may be
 * NULL. p NULL means defaults; progress, stop, iterations, f_final may be
 * NULL. x always ends at the best accepted point, f_final is f there.
 * Returns DSC_OK for GRADIENT, STEP_SIZE, MAX_ITER and both LINE_SEARCH
 * stops, DSC_EDIVERGED for DIVERGED, DSC_ECANCELLED for CANCELLED, and
 * DSC_EINVAL / DSC_ENOMEM for bad arguments / no memory (outputs then
 * untouched). Allocates its workspace once, at the start. */
dsc_status dsc_lbfgs_minimize(size_t n, float *x, const uint8_t *mask, dsc_lbfgs_eval eval,
                              dsc_lbfgs_progress progress, void *user, const dsc_lbfgs_params *p,
                              dsc_lbfgs_stop *stop, size_t *iterations, double *f_final);

#endif
