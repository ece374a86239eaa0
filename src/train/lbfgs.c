/* Limited-memory BFGS for full-batch fits: the two-loop recursion picks a
 * direction, a line search along it enforcing the strong Wolfe conditions
 * picks the step length, so no learning rate has to be chosen. Parameters
 * are float (the model stores float); directions, curvature pairs and all
 * dot products are double. */
#include <math.h>
#include <string.h>

#include "lbfgs_internal.h"

void dsc_lbfgs_params_init(dsc_lbfgs_params *p)
{
    if (!p) return;
    p->m = 8;
    p->max_iter = 1000;
    p->grad_tol = 1e-6;
    p->step_tol = 1e-3;
    p->c1 = 1e-4;
    p->c2 = 0.9;
    p->max_linesearch = 20;
    p->style = DSC_LBFGS_DESCENT;
}

/* Relative size of a change in f that counts as rounding noise: f is
 * usually computed from float parameters, so FLT_EPSILON (1.19e-7) times
 * |f| is about the smallest change it can resolve. */
#define ROUNDING_LEVEL 1e-7

typedef dsc_lbfgs_work lbfgs_work;

double dsc_lbfgs_dot_ff(const float *a, const float *b, size_t n)
{
    double r = 0.0;
    for (size_t i = 0; i < n; i++) r += (double)a[i] * b[i];
    return r;
}

double dsc_lbfgs_dot_fd(const float *a, const double *b, size_t n)
{
    double r = 0.0;
    for (size_t i = 0; i < n; i++) r += (double)a[i] * b[i];
    return r;
}

static double dot_dd(const double *a, const double *b, size_t n)
{
    double r = 0.0;
    for (size_t i = 0; i < n; i++) r += a[i] * b[i];
    return r;
}

#define dot_ff    dsc_lbfgs_dot_ff
#define dot_fd    dsc_lbfgs_dot_fd
#define evaluate  dsc_lbfgs_evaluate
#define direction dsc_lbfgs_direction

double dsc_lbfgs_evaluate(lbfgs_work *w, const float *x, float *g, int *finite)
{
    double f = w->eval(w->user, x, g);
    int ok = isfinite(f) != 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->mask && !w->mask[i])
            g[i] = 0.0f;
        else if (!isfinite(g[i]))
            ok = 0;
    }
    *finite = ok;
    return f;
}

void dsc_lbfgs_direction(lbfgs_work *w)
{
    const size_t n = w->n, m = w->p->m;
    double *q = w->d;
    for (size_t i = 0; i < n; i++) q[i] = w->g[i];
    for (size_t j = 0; j < w->pairs; j++) {
        size_t k = (w->head + m - 1 - j) % m;
        const double *sk = w->s + k * n, *yk = w->y + k * n;
        double a = w->rho[k] * dot_dd(sk, q, n);
        w->alpha[k] = a;
        for (size_t i = 0; i < n; i++) q[i] -= a * yk[i];
    }
    if (w->pairs) {
        size_t k = (w->head + m - 1) % m;
        double gamma = 1.0 / (w->rho[k] * w->yy[k]);
        for (size_t i = 0; i < n; i++) q[i] *= gamma;
    }
    for (size_t j = w->pairs; j-- > 0;) {
        size_t k = (w->head + m - 1 - j) % m;
        const double *sk = w->s + k * n, *yk = w->y + k * n;
        double b = w->rho[k] * dot_dd(yk, q, n);
        double c = w->alpha[k] - b;
        for (size_t i = 0; i < n; i++) q[i] += c * sk[i];
    }
    for (size_t i = 0; i < n; i++) q[i] = -q[i];
}

void dsc_lbfgs_push_pair(lbfgs_work *w, double sy, double yy)
{
    w->rho[w->head] = 1.0 / sy;
    w->yy[w->head] = yy;
    w->head = (w->head + 1) % w->p->m;
    if (w->pairs < w->p->m) w->pairs++;
}

typedef struct {
    double a, f, dg; /* step, phi(a), phi'(a) */
} ls_point;

/* The minimizer of the cubic through two points with their slopes, or NaN
 * when the cubic has none. */
static double cubic_min(ls_point p1, ls_point p2)
{
    if (p1.a == p2.a) return NAN;
    double d1 = p1.dg + p2.dg - 3.0 * (p1.f - p2.f) / (p1.a - p2.a);
    double rad = d1 * d1 - p1.dg * p2.dg;
    if (!(rad >= 0)) return NAN;
    double d2 = sqrt(rad);
    if (p2.a < p1.a) d2 = -d2;
    double den = p2.dg - p1.dg + 2.0 * d2;
    if (den == 0) return NAN;
    return p2.a - (p2.a - p1.a) * (p2.dg + d2 - d1) / den;
}

typedef enum {
    LS_WOLFE,    /* strong Wolfe point found */
    LS_DECREASE, /* budget spent, but a point with sufficient decrease was found */
    LS_ROUNDING, /* no decrease, and f cannot resolve one */
    LS_FAILED,   /* no decrease for another reason */
    LS_NONFINITE /* every trial point gave NaN/Inf */
} ls_result;

/* Searches along w->d from x (value f0, slope dg0 < 0), first trying step
 * a. On LS_WOLFE and LS_DECREASE *xr, *gr, *fr are the accepted point. */
static ls_result line_search(lbfgs_work *w, const float *x, double f0, double dg0, double a,
                             float **xr, float **gr, double *fr)
{
    const size_t n = w->n;
    const double c1 = w->p->c1, c2 = w->p->c2;
    const double noise = ROUNDING_LEVEL * fabs(f0);
    const double a_first = a;
    ls_point lo = {0.0, f0, dg0}, hi = {0.0, 0.0, 0.0}, prev = lo;
    int bracketed = 0, hi_known = 0, any_finite = 0, all_flat = 1;

    for (size_t k = 0; k < w->p->max_linesearch; k++) {
        for (size_t i = 0; i < n; i++) w->xt[i] = (float)(x[i] + a * w->d[i]);
        int fin;
        double fa = evaluate(w, w->xt, w->gt, &fin);
        double dga = fin ? dot_fd(w->gt, w->d, n) : 0.0;
        if (fin) {
            any_finite = 1;
            if (fabs(fa - f0) > noise) all_flat = 0;
        }
        if (!fin) {
            /* Too far: NaN/Inf is treated as "f is too large here". */
            hi.a = a;
            hi_known = 0;
            bracketed = 1;
        } else if (fa > f0 + c1 * a * dg0 || fa >= lo.f) {
            hi = (ls_point){a, fa, dga};
            hi_known = 1;
            bracketed = 1;
        } else {
            if (fabs(dga) <= -c2 * dg0) {
                *xr = w->xt;
                *gr = w->gt;
                *fr = fa;
                return LS_WOLFE;
            }
            ls_point cur = {a, fa, dga};
            if (bracketed ? dga * (hi.a - lo.a) >= 0 : dga >= 0) {
                /* The minimum lies between the new point and the old lo. */
                hi = lo;
                hi_known = 1;
                bracketed = 1;
            }
            prev = lo;
            lo = cur;
            float *t = w->xl;
            w->xl = w->xt;
            w->xt = t;
            t = w->gl;
            w->gl = w->gt;
            w->gt = t;
        }

        if (bracketed) {
            double left = fmin(lo.a, hi.a), right = fmax(lo.a, hi.a), width = right - left;
            double c = hi_known ? cubic_min(lo, hi) : NAN;
            /* Interpolation that lands near an end shrinks the bracket
             * too slowly: bisect instead. */
            if (!(c >= left + 0.1 * width && c <= right - 0.1 * width)) c = 0.5 * (left + right);
            a = c;
        } else {
            double c = cubic_min(prev, lo);
            a = (c >= 2.0 * lo.a && c <= 10.0 * lo.a) ? c : 4.0 * lo.a;
        }
    }

    if (lo.a > 0) {
        *xr = w->xl;
        *gr = w->gl;
        *fr = lo.f;
        return LS_DECREASE;
    }
    if (!any_finite) return LS_NONFINITE;
    /* Rounding level: either every finite trial value stayed within
     * ROUNDING_LEVEL * |f0| of f0 (f did not change beyond its own noise
     * anywhere the search looked, which includes trial points that rounded
     * back to x itself), or the decrease predicted by the slope over the
     * first trial step, |dg0| * a_first, is already below that noise. */
    if (all_flat || fabs(dg0) * a_first <= noise) return LS_ROUNDING;
    return LS_FAILED;
}

static dsc_status check_params(const dsc_lbfgs_params *p)
{
    if (p->m == 0) return dsc_fail(DSC_EINVAL, "lbfgs: m (stored pairs) must be at least 1");
    if ((unsigned)p->style > DSC_LBFGS_TORCH)
        return dsc_fail(DSC_EINVAL, "lbfgs: unknown style %d", (int)p->style);
    if (!(p->c1 > 0 && p->c1 < p->c2 && p->c2 < 1))
        return dsc_fail(DSC_EINVAL, "lbfgs: need 0 < c1 < c2 < 1, got c1 %g, c2 %g", p->c1, p->c2);
    if (p->max_linesearch == 0)
        return dsc_fail(DSC_EINVAL, "lbfgs: max_linesearch must be at least 1");
    if (!(p->grad_tol >= 0) || !(p->step_tol >= 0))
        return dsc_fail(DSC_EINVAL, "lbfgs: grad_tol and step_tol must be >= 0, got %g and %g",
                        p->grad_tol, p->step_tol);
    return DSC_OK;
}

dsc_status dsc_lbfgs_minimize(size_t n, float *x, const uint8_t *mask, dsc_lbfgs_eval eval,
                              dsc_lbfgs_progress progress, void *user, const dsc_lbfgs_params *p,
                              dsc_lbfgs_stop *stop, size_t *iterations, double *f_final)
{
    if (n == 0) return dsc_fail(DSC_EINVAL, "lbfgs: no parameters");
    if (!x || !eval) return dsc_fail(DSC_EINVAL, "lbfgs: x and eval must not be NULL");
    dsc_lbfgs_params defaults;
    if (!p) {
        dsc_lbfgs_params_init(&defaults);
        p = &defaults;
    }
    dsc_status st = check_params(p);
    if (st != DSC_OK) return st;
    const size_t m = p->m;
    if (m > (SIZE_MAX / sizeof(double) - 3) / 2 - 1 ||
        n > (SIZE_MAX / sizeof(double) - 3 * m) / (2 * m + 1) || n > SIZE_MAX / sizeof(float) / 6)
        return dsc_fail(DSC_ENOMEM, "lbfgs: workspace for n = %zu, m = %zu is too large", n, m);

    double *dbuf = dsc_malloc(((2 * m + 1) * n + 3 * m) * sizeof(double));
    float *fbuf = dsc_malloc(6 * n * sizeof(float));
    if (!dbuf || !fbuf) {
        dsc_free(dbuf);
        dsc_free(fbuf);
        return dsc_fail(DSC_ENOMEM, "lbfgs: out of memory for n = %zu, m = %zu", n, m);
    }
    lbfgs_work w = {0};
    w.n = n;
    w.mask = mask;
    w.eval = eval;
    w.user = user;
    w.p = p;
    w.s = dbuf;
    w.y = w.s + m * n;
    w.d = w.y + m * n;
    w.rho = w.d + n;
    w.yy = w.rho + m;
    w.alpha = w.yy + m;
    w.g = fbuf;
    w.xt = fbuf + n;
    w.gt = fbuf + 2 * n;
    w.xl = fbuf + 3 * n;
    w.gl = fbuf + 4 * n;
    w.gp = fbuf + 5 * n;

    dsc_lbfgs_stop why = DSC_LBFGS_MAX_ITER;
    size_t iter = 0;
    int fin;
    double f = evaluate(&w, x, w.g, &fin);
    if (!fin) {
        why = DSC_LBFGS_DIVERGED;
        st = dsc_fail(DSC_EDIVERGED, "lbfgs: f = %g or its gradient is not finite at the start", f);
        goto done;
    }
    double gnorm = sqrt(dot_ff(w.g, w.g, n));
    if (gnorm <= p->grad_tol || gnorm == 0) {
        why = DSC_LBFGS_GRADIENT;
        goto done;
    }
    if (p->style == DSC_LBFGS_TORCH) {
        why = dsc_lbfgs_run_torch(&w, x, progress, user, &iter, &f, &st);
        goto done;
    }

    for (;;) {
        if (p->max_iter && iter >= p->max_iter) {
            why = DSC_LBFGS_MAX_ITER;
            break;
        }
        direction(&w);
        double dg0 = dot_fd(w.g, w.d, n);
        if (!(dg0 < 0) && w.pairs) {
            /* Rounding in the pairs can spoil the direction: start over. */
            w.pairs = 0;
            direction(&w);
            dg0 = dot_fd(w.g, w.d, n);
        }
        if (!(dg0 < 0)) {
            why = DSC_LBFGS_GRADIENT;
            break;
        }
        /* With curvature pairs the direction is scaled, so the natural step
         * is 1; without, cap the first trial move at length 1. */
        double a0 = w.pairs ? 1.0 : fmin(1.0, 1.0 / sqrt(dot_dd(w.d, w.d, n)));
        float *xr, *gr;
        double fr;
        ls_result r = line_search(&w, x, f, dg0, a0, &xr, &gr, &fr);
        if (r != LS_WOLFE && r != LS_DECREASE) {
            if (w.pairs) {
                /* Before giving up, try plain steepest descent once. */
                w.pairs = 0;
                continue;
            }
            if (r == LS_NONFINITE) {
                why = DSC_LBFGS_DIVERGED;
                st = dsc_fail(DSC_EDIVERGED,
                              "lbfgs: f or its gradient is not finite at every point the line "
                              "search tried after iteration %zu",
                              iter);
            } else {
                why = r == LS_ROUNDING ? DSC_LBFGS_LINE_SEARCH_CONVERGED
                                       : DSC_LBFGS_LINE_SEARCH_FAILED;
            }
            break;
        }

        double sy = 0.0, yy = 0.0, step = 0.0;
        for (size_t i = 0; i < n; i++) {
            double si = (double)xr[i] - x[i], yi = (double)gr[i] - w.g[i];
            sy += si * yi;
            yy += yi * yi;
            if (fabs(si) > step) step = fabs(si);
        }
        /* Only pairs with positive curvature keep H positive definite; a
         * step short of the Wolfe point (LS_DECREASE) may not give one. */
        int keep = yy > 0 && sy > 1e-10 * yy;
        double *sk = w.s + w.head * n, *yk = w.y + w.head * n;
        for (size_t i = 0; i < n; i++) {
            if (keep) {
                sk[i] = (double)xr[i] - x[i];
                yk[i] = (double)gr[i] - w.g[i];
            }
            x[i] = xr[i];
            w.g[i] = gr[i];
        }
        if (keep) dsc_lbfgs_push_pair(&w, sy, yy);
        f = fr;
        iter++;
        gnorm = sqrt(dot_ff(w.g, w.g, n));

        if (progress && progress(user, iter - 1, x, w.g, f, step)) {
            why = DSC_LBFGS_CANCELLED;
            st = dsc_fail(DSC_ECANCELLED,
                          "lbfgs: cancelled by the progress callback after %zu "
                          "iterations",
                          iter);
            break;
        }
        if (gnorm <= p->grad_tol) {
            why = DSC_LBFGS_GRADIENT;
            break;
        }
        if (step < p->step_tol) {
            why = DSC_LBFGS_STEP_SIZE;
            break;
        }
    }

done:
    if (stop) *stop = why;
    if (iterations) *iterations = iter;
    if (f_final) *f_final = f;
    dsc_free(dbuf);
    dsc_free(fbuf);
    return st;
}
