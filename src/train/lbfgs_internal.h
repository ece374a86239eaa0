/* L-BFGS internals shared by its two styles: descent's (lbfgs.c) and
 * PyTorch's (lbfgs_torch.c). Internal header. */
#ifndef DSC_LBFGS_INTERNAL_H
#define DSC_LBFGS_INTERNAL_H

#include "optim.h"

typedef struct {
    size_t n;
    const uint8_t *mask;
    dsc_lbfgs_eval eval;
    void *user;
    const dsc_lbfgs_params *p;
    /* Curvature pairs in a ring: slot j holds s_j = x_{k+1} - x_k and
     * y_j = g_{k+1} - g_k, rho_j = 1 / (s_j . y_j), yy_j = y_j . y_j. */
    double *s, *y, *rho, *yy, *alpha;
    size_t pairs, head; /* pairs stored; head is the slot written next */
    double *d;          /* search direction */
    float *g;           /* gradient at the current point */
    float *xt, *gt;     /* line search: the trial point */
    float *xl, *gl;     /* line search: the best point so far (lo) */
    float *gp;          /* torch style: one more gradient (the search's previous point) */
} dsc_lbfgs_work;

double dsc_lbfgs_dot_ff(const float *a, const float *b, size_t n);
double dsc_lbfgs_dot_fd(const float *a, const double *b, size_t n);

/* Evaluates f and g at x; frozen parameters get gradient 0 so that no
 * direction ever moves them. *finite is 0 when f or a free g[i] is NaN/Inf. */
double dsc_lbfgs_evaluate(dsc_lbfgs_work *w, const float *x, float *g, int *finite);

/* w->d = -H w->g by the two-loop recursion, with H0 = (s.y / y.y) I from
 * the newest pair (plain steepest descent when there is none). */
void dsc_lbfgs_direction(dsc_lbfgs_work *w);

/* Keeps the pair just written at slot w->head of w->s and w->y (its s.y and
 * y.y given), dropping the oldest when the ring is full. */
void dsc_lbfgs_push_pair(dsc_lbfgs_work *w, double sy, double yy);

/* PyTorch's iteration from x (f and w->g already evaluated there, finite,
 * and not yet optimal): returns why it stopped; *iter counts the updates
 * made, *f the value at x, *st a failure (cancelled, diverged). */
dsc_lbfgs_stop dsc_lbfgs_run_torch(dsc_lbfgs_work *w, float *x, dsc_lbfgs_progress progress,
                                   void *user, size_t *iter, double *f, dsc_status *st);

#endif
