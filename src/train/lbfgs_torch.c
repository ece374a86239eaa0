/* L-BFGS as PyTorch runs it: torch.optim.LBFGS(lr=1,
 * line_search_fn="strong_wolfe"), for users who expect its iterates (the
 * differences from descent's own style are in docs/OPTIMIZERS.md). Both
 * follow minFunc's L-BFGS and line search (M. Schmidt): the first step is
 * 1 / sum |g| long (at most 1), later ones start at 1; a pair is kept when
 * s.y > 1e-10; the search first extrapolates by cubic steps until it
 * brackets a strong Wolfe point, then zooms into the bracket with cubic
 * steps kept 10% away from its ends, and ends after 25 evaluations at the
 * best point seen (which may be the start: no move). PyTorch computes in
 * float32 tensors, this in double, so iterates agree to rounding. */
#include <math.h>
#include <string.h>

#include "lbfgs_internal.h"

#define TOL_GRAD   1e-7 /* PyTorch's tolerance_grad: max |g| */
#define TOL_CHANGE 1e-9 /* PyTorch's tolerance_change: slope, step, f */
#define MAX_LS     25   /* PyTorch's evaluations per line search */

static double max_abs_f(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)v[i]));
    return m;
}

/* The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1
 * and g2, kept in [lo, hi]; the middle of [lo, hi] when it has none. */
static double cubic(double x1, double f1, double g1, double x2, double f2, double g2, double lo,
                    double hi)
{
    double d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2);
    double d2sq = d1 * d1 - g1 * g2;
    if (!(d2sq >= 0)) return (lo + hi) / 2.0;
    double d2 = sqrt(d2sq);
    double t = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
                        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2));
    return fmin(fmax(t, lo), hi);
}

/* x + t d, rounded to float as the parameters are: the trial points and
 * the accepted step are made by this one expression, so the point moved to
 * is the point evaluated. */
static void move(const dsc_lbfgs_work *w, const float *x, double t, float *out)
{
    for (size_t i = 0; i < w->n; i++) out[i] = (float)(x[i] + t * w->d[i]);
}

/* PyTorch holds the slopes and steps as float32 tensors, so its tests
 * compare float32 values: in the sufficient-decrease test f + c1 t g'd is
 * rounded to float, and a step that leaves f unchanged passes it when the
 * decrease asked for is below f's last bit, where a test in double would
 * refuse it. Near convergence that decides which steps are taken, so the
 * tests below are written in float, as PyTorch evaluates them. */
static int sufficient_decrease(double f_new, double f, double t, float gtd, double c1)
{
    float want = (float)f + (float)(c1 * t) * gtd;
    return !((float)f_new > want);
}

static int curvature_met(float gtd_new, float gtd, double c2)
{
    return fabsf(gtd_new) <= (float)-c2 * gtd;
}

typedef struct {
    double f;  /* f at the trial point (Inf when not finite) */
    float gtd; /* slope along d there (NaN when not finite) */
    int finite;
} trial;

/* f and g (into w->gt) at x + t d. */
static trial evaluate_at(dsc_lbfgs_work *w, const float *x, double t)
{
    trial r;
    move(w, x, t, w->xt);
    r.f = dsc_lbfgs_evaluate(w, w->xt, w->gt, &r.finite);
    if (!r.finite) r.f = INFINITY; /* "too far": every test below then rejects it */
    r.gtd = r.finite ? (float)dsc_lbfgs_dot_fd(w->gt, w->d, w->n) : NAN;
    return r;
}

/* The strong Wolfe search from x along w->d (f and slope gtd < 0 there,
 * gradient w->g), first trying step t. Returns the step taken (0: none);
 * *f_out and *g_out are f and g there. *seen_finite is 0 when no trial
 * point was finite. */
static double strong_wolfe(dsc_lbfgs_work *w, const float *x, double t, double f, float gtd,
                           double *f_out, const float **g_out, int *seen_finite)
{
    const size_t n = w->n, gsize = n * sizeof(float);
    const double c1 = w->p->c1, c2 = w->p->c2;
    double d_norm = 0.0;
    for (size_t i = 0; i < n; i++) d_norm = fmax(d_norm, fabs(w->d[i]));
    /* The bracket [b0, b1] with f, slope and gradient at each end; the
     * gradient buffers are the line search ones of the work area. */
    double b[2] = {0}, bf[2] = {0};
    float bgtd[2] = {0};
    float *bg[2] = {w->gl, w->xl};
    int done = 0, ls = 0;

    trial cur = evaluate_at(w, x, t);
    *seen_finite = cur.finite;
    double t_prev = 0.0, f_prev = f;
    float gtd_prev = gtd;
    memcpy(w->gp, w->g, gsize);
    /* Bracketing: step out until f rises, the slope turns, or the point
     * satisfies both conditions. */
    while (ls < MAX_LS) {
        int rose = !sufficient_decrease(cur.f, f, t, gtd, c1) || (ls > 1 && cur.f >= f_prev);
        if (!rose && curvature_met(cur.gtd, gtd, c2)) {
            b[0] = b[1] = t, bf[0] = bf[1] = cur.f;
            memcpy(bg[0], w->gt, gsize);
            done = 1;
            break;
        }
        if (rose || cur.gtd >= 0) {
            b[0] = t_prev, bf[0] = f_prev, bgtd[0] = gtd_prev;
            b[1] = t, bf[1] = cur.f, bgtd[1] = cur.gtd;
            memcpy(bg[0], w->gp, gsize);
            memcpy(bg[1], w->gt, gsize);
            break;
        }
        double next = (float)cubic(t_prev, f_prev, gtd_prev, t, cur.f, cur.gtd,
                                   t + 0.01 * (t - t_prev), t * 10.0);
        t_prev = t, f_prev = cur.f, gtd_prev = cur.gtd;
        memcpy(w->gp, w->gt, gsize);
        t = next;
        cur = evaluate_at(w, x, t);
        *seen_finite |= cur.finite;
        ls++;
    }
    if (ls == MAX_LS) {
        /* Out of evaluations: the better of the start and the last point. */
        b[0] = 0.0, bf[0] = f;
        b[1] = t, bf[1] = cur.f;
        memcpy(bg[0], w->g, gsize);
        memcpy(bg[1], w->gt, gsize);
    }
    int low = bf[0] <= bf[1] ? 0 : 1, insufficient = 0;
    /* Zoom: shrink the bracket around a strong Wolfe point. */
    while (!done && ls < MAX_LS) {
        if (fabs(b[1] - b[0]) * d_norm < TOL_CHANGE) break;
        double lo = fmin(b[0], b[1]), hi = fmax(b[0], b[1]), margin = 0.1 * (hi - lo);
        t = (float)cubic(b[0], bf[0], bgtd[0], b[1], bf[1], bgtd[1], lo, hi);
        /* A step near an end shrinks the bracket slowly: the second time
         * in a row (or at an end) move it 10% of the width inside. */
        if (fmin(hi - t, t - lo) < margin) {
            if (insufficient || t >= hi || t <= lo) {
                t = (float)(fabs(t - hi) < fabs(t - lo) ? hi - margin : lo + margin);
                insufficient = 0;
            } else {
                insufficient = 1;
            }
        } else {
            insufficient = 0;
        }
        cur = evaluate_at(w, x, t);
        *seen_finite |= cur.finite;
        ls++;
        int high = 1 - low;
        if (!sufficient_decrease(cur.f, f, t, gtd, c1) || cur.f >= bf[low]) {
            b[high] = t, bf[high] = cur.f, bgtd[high] = cur.gtd;
            memcpy(bg[high], w->gt, gsize);
            low = bf[0] <= bf[1] ? 0 : 1;
        } else {
            if (curvature_met(cur.gtd, gtd, c2))
                done = 1;
            else if (cur.gtd * (b[high] - b[low]) >= 0) {
                /* The old low end becomes the high one. */
                b[high] = b[low], bf[high] = bf[low], bgtd[high] = bgtd[low];
                memcpy(bg[high], bg[low], gsize);
            }
            b[low] = t, bf[low] = cur.f, bgtd[low] = cur.gtd;
            memcpy(bg[low], w->gt, gsize);
        }
    }
    *f_out = bf[low];
    *g_out = bg[low];
    return b[low];
}

/* PyTorch's tests after an update, then descent's own rules. */
static dsc_lbfgs_stop stop_after(const dsc_lbfgs_work *w, double td, double step, double df)
{
    if (max_abs_f(w->g, w->n) <= TOL_GRAD ||
        sqrt(dsc_lbfgs_dot_ff(w->g, w->g, w->n)) <= w->p->grad_tol)
        return DSC_LBFGS_GRADIENT;
    if (td <= TOL_CHANGE || step < w->p->step_tol) return DSC_LBFGS_STEP_SIZE;
    if (fabs(df) < TOL_CHANGE) return DSC_LBFGS_LINE_SEARCH_CONVERGED; /* f stands still */
    return DSC_LBFGS_MAX_ITER;                                         /* meaning: go on */
}

dsc_lbfgs_stop dsc_lbfgs_run_torch(dsc_lbfgs_work *w, float *x, dsc_lbfgs_progress progress,
                                   void *user, size_t *iter, double *f, dsc_status *st)
{
    const size_t n = w->n;
    const dsc_lbfgs_params *p = w->p;
    *iter = 0;
    if (max_abs_f(w->g, n) <= TOL_GRAD) return DSC_LBFGS_GRADIENT;
    for (;;) {
        if (p->max_iter && *iter >= p->max_iter) return DSC_LBFGS_MAX_ITER;
        dsc_lbfgs_direction(w);
        double t = 1.0;
        if (*iter == 0) {
            double l1 = 0.0;
            for (size_t i = 0; i < n; i++) l1 += fabs((double)w->g[i]);
            t = fmin(1.0, (float)(1.0 / (float)l1));
        }
        float gtd = (float)dsc_lbfgs_dot_fd(w->g, w->d, n);
        if (gtd > (float)-TOL_CHANGE) return DSC_LBFGS_GRADIENT; /* not downhill any more */
        double f_new;
        const float *g_new;
        int seen_finite;
        t = strong_wolfe(w, x, t, *f, gtd, &f_new, &g_new, &seen_finite);
        if (t == 0.0 && !seen_finite) {
            *st = dsc_fail(DSC_EDIVERGED,
                           "lbfgs: f or its gradient is not finite at every point the line "
                           "search tried after iteration %zu",
                           *iter);
            return DSC_LBFGS_DIVERGED;
        }
        /* The pair s = t d, y = g_new - g; kept only with s.y > 1e-10. */
        double *sk = w->s + w->head * n, *yk = w->y + w->head * n;
        double sy = 0.0, yy = 0.0, step = 0.0, td = 0.0;
        for (size_t i = 0; i < n; i++) {
            sk[i] = t * w->d[i];
            yk[i] = (double)g_new[i] - w->g[i];
            sy += sk[i] * yk[i];
            yy += yk[i] * yk[i];
            td = fmax(td, fabs(sk[i]));
        }
        if (sy > 1e-10) dsc_lbfgs_push_pair(w, sy, yy);
        move(w, x, t, w->xt);
        for (size_t i = 0; i < n; i++) {
            step = fmax(step, fabs((double)w->xt[i] - x[i]));
            x[i] = w->xt[i];
        }
        memcpy(w->g, g_new, n * sizeof(float));
        double df = f_new - *f;
        *f = f_new;
        ++*iter;
        if (progress && progress(user, *iter - 1, x, w->g, *f, step)) {
            *st = dsc_fail(DSC_ECANCELLED,
                           "lbfgs: cancelled by the progress callback after %zu iterations", *iter);
            return DSC_LBFGS_CANCELLED;
        }
        dsc_lbfgs_stop stop = stop_after(w, td, step, df);
        if (stop != DSC_LBFGS_MAX_ITER) return stop;
    }
}
