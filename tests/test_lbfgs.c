/* L-BFGS: Rosenbrock, a quadratic, the seed's line fit, masks, NaN and
 * cancellation. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "train/optim.h"

static size_t n_evals;

static double rosenbrock(void *user, const float *x, float *g)
{
    (void)user;
    n_evals++;
    double a = x[0], b = x[1];
    double r = b - a * a;
    g[0] = (float)(-2.0 * (1.0 - a) - 400.0 * a * r);
    g[1] = (float)(200.0 * r);
    return (1.0 - a) * (1.0 - a) + 100.0 * r * r;
}

/* sum_i c_i (x_i - t_i)^2 with c_i = 1 .. 10 */
static double quadratic(void *user, const float *x, float *g)
{
    (void)user;
    double f = 0.0;
    for (int i = 0; i < 10; i++) {
        double c = i + 1.0, t = 0.5 * i - 2.0, r = x[i] - t;
        f += c * r * r;
        g[i] = (float)(2.0 * c * r);
    }
    return f;
}

/* The seed's data: SSR of intercept + slope * x. */
static const double line_x[3] = {0.5, 2.3, 2.9}, line_y[3] = {1.4, 1.9, 3.2};

static double line_ssr(void *user, const float *p, float *g)
{
    (void)user;
    double f = 0.0, g0 = 0.0, g1 = 0.0;
    for (int i = 0; i < 3; i++) {
        double r = line_y[i] - (p[0] + p[1] * line_x[i]);
        f += r * r;
        g0 += -2.0 * r;
        g1 += -2.0 * r * line_x[i];
    }
    g[0] = (float)g0;
    g[1] = (float)g1;
    return f;
}

static double always_nan(void *user, const float *x, float *g)
{
    (void)user;
    g[0] = x[0];
    return NAN;
}

/* (x - 2)^2, but undefined (NaN) beyond 2.5: the line search must back off. */
static double nan_beyond(void *user, const float *x, float *g)
{
    (void)user;
    g[0] = (float)(2.0 * (x[0] - 2.0));
    return x[0] > 2.5f ? NAN : (x[0] - 2.0) * (x[0] - 2.0);
}

/* Finite for the first few evaluations, then Inf everywhere. */
static double goes_bad(void *user, const float *x, float *g)
{
    size_t *count = user;
    double f = quadratic(NULL, x, g);
    return ++*count > 3 ? INFINITY : f;
}

typedef struct {
    size_t calls, cancel_at;
    double last_f, last_step;
    int f_increased, iter_wrong;
} progress_log;

static int on_progress(void *user, size_t iter, const float *x, const float *g, double f,
                       double step)
{
    progress_log *log = user;
    (void)x;
    (void)g;
    if (iter != log->calls) log->iter_wrong = 1;
    if (log->calls > 0 && f > log->last_f) log->f_increased = 1;
    log->calls++;
    log->last_f = f;
    log->last_step = step;
    return log->cancel_at && log->calls >= log->cancel_at;
}

static void test_rosenbrock(void)
{
    float x[2] = {-1.2f, 1.0f};
    dsc_lbfgs_params p;
    dsc_lbfgs_params_init(&p);
    dsc_lbfgs_stop stop = DSC_LBFGS_CANCELLED;
    size_t iters = 0;
    double f = -1;
    progress_log log = {0};
    n_evals = 0;
    CHECK_OK(dsc_lbfgs_minimize(2, x, NULL, rosenbrock, on_progress, &log, &p, &stop, &iters, &f));
    printf("rosenbrock: %zu iterations, %zu evaluations, stop %d, x = (%.7g, %.7g), f = %g\n",
           iters, n_evals, (int)stop, x[0], x[1], f);
    CHECK_NEAR(x[0], 1.0, 1e-3);
    CHECK_NEAR(x[1], 1.0, 1e-3);
    CHECK(iters < 100);
    CHECK(f < 1e-6);
    CHECK(stop == DSC_LBFGS_GRADIENT || stop == DSC_LBFGS_STEP_SIZE ||
          stop == DSC_LBFGS_LINE_SEARCH_CONVERGED);
    /* line search accepts only decreases, and progress saw every iteration */
    CHECK(log.calls == iters);
    CHECK(!log.f_increased);
    CHECK(!log.iter_wrong);
    CHECK(log.last_f == f);

    /* tighter tolerances get closer */
    float y[2] = {-1.2f, 1.0f};
    p.step_tol = 0.0;
    p.grad_tol = 1e-5;
    CHECK_OK(dsc_lbfgs_minimize(2, y, NULL, rosenbrock, NULL, NULL, &p, &stop, &iters, &f));
    CHECK_NEAR(y[0], 1.0, 1e-5);
    CHECK_NEAR(y[1], 1.0, 1e-5);
    CHECK(iters < 100);
}

static void test_quadratic(void)
{
    float x[10] = {0};
    dsc_lbfgs_params p;
    dsc_lbfgs_params_init(&p);
    p.step_tol = 0.0;
    p.grad_tol = 1e-4;
    dsc_lbfgs_stop stop;
    size_t iters = 0;
    double f = -1;
    CHECK_OK(dsc_lbfgs_minimize(10, x, NULL, quadratic, NULL, NULL, &p, &stop, &iters, &f));
    printf("quadratic: %zu iterations, stop %d, f = %g\n", iters, (int)stop, f);
    for (int i = 0; i < 10; i++) CHECK_NEAR(x[i], 0.5 * i - 2.0, 1e-4);
    CHECK(iters <= 20);
    CHECK(stop == DSC_LBFGS_GRADIENT || stop == DSC_LBFGS_LINE_SEARCH_CONVERGED);

    /* max_iter stops it early, and allocation does not grow with the
     * number of iterations */
    float z[10] = {0};
    p.max_iter = 2;
    uint64_t a0 = dsc_alloc_count();
    CHECK_OK(dsc_lbfgs_minimize(10, z, NULL, quadratic, NULL, NULL, &p, &stop, &iters, &f));
    uint64_t short_run = dsc_alloc_count() - a0;
    CHECK(stop == DSC_LBFGS_MAX_ITER);
    CHECK(iters == 2);
    memset(z, 0, sizeof z);
    p.max_iter = 1000;
    a0 = dsc_alloc_count();
    CHECK_OK(dsc_lbfgs_minimize(10, z, NULL, quadratic, NULL, NULL, &p, &stop, &iters, &f));
    CHECK(dsc_alloc_count() - a0 == short_run);
    CHECK(short_run <= 2);
}

static void test_line_fit(void)
{
    /* the seed's start: intercept 0, slope 1, and its stopping rule */
    float p[2] = {0.0f, 1.0f};
    dsc_lbfgs_stop stop;
    size_t iters = 0;
    double f = -1;
    CHECK_OK(dsc_lbfgs_minimize(2, p, NULL, line_ssr, NULL, NULL, NULL, &stop, &iters, &f));
    printf("line fit: %zu iterations, stop %d, intercept %.6f, slope %.6f, SSR %.6f\n", iters,
           (int)stop, p[0], p[1], f);
    CHECK_NEAR(p[0], 0.9487, 1e-3);
    CHECK_NEAR(p[1], 0.6410, 1e-3);
    CHECK(iters < 20);

    /* far away and no tolerances: it runs until f cannot resolve a
     * decrease, which must count as convergence, not failure */
    float far[2] = {100.0f, -50.0f};
    dsc_lbfgs_params lp;
    dsc_lbfgs_params_init(&lp);
    lp.step_tol = 0.0;
    lp.grad_tol = 0.0;
    CHECK_OK(dsc_lbfgs_minimize(2, far, NULL, line_ssr, NULL, NULL, &lp, &stop, &iters, &f));
    CHECK(stop == DSC_LBFGS_LINE_SEARCH_CONVERGED || stop == DSC_LBFGS_GRADIENT);
    CHECK_NEAR(far[0], 0.948718, 1e-4);
    CHECK_NEAR(far[1], 0.641026, 1e-4);

    /* intercept frozen at 0: the fit through the origin, slope
     * sum(x y) / sum(x^2) = (0.7 + 4.37 + 9.28) / (0.25 + 5.29 + 8.41) */
    float q[2] = {0.0f, 1.0f};
    const uint8_t mask[2] = {0, 1};
    CHECK_OK(dsc_lbfgs_minimize(2, q, mask, line_ssr, NULL, NULL, NULL, &stop, &iters, &f));
    CHECK(q[0] == 0.0f);
    CHECK_NEAR(q[1], 14.35 / 13.95, 1e-3);
    /* slope frozen at 1: the intercept becomes mean(y - x) */
    float r[2] = {0.0f, 1.0f};
    const uint8_t mask2[2] = {1, 0};
    CHECK_OK(dsc_lbfgs_minimize(2, r, mask2, line_ssr, NULL, NULL, NULL, &stop, &iters, &f));
    CHECK(r[1] == 1.0f);
    CHECK_NEAR(r[0], ((1.4 - 0.5) + (1.9 - 2.3) + (3.2 - 2.9)) / 3.0, 1e-3);
    /* everything frozen: the gradient is zero, nothing moves */
    float s[2] = {0.0f, 1.0f};
    const uint8_t none[2] = {0, 0};
    CHECK_OK(dsc_lbfgs_minimize(2, s, none, line_ssr, NULL, NULL, NULL, &stop, &iters, &f));
    CHECK(stop == DSC_LBFGS_GRADIENT && iters == 0);
    CHECK(s[0] == 0.0f && s[1] == 1.0f);
}

static void test_nan(void)
{
    float x[1] = {3.0f};
    dsc_lbfgs_stop stop = DSC_LBFGS_GRADIENT;
    size_t iters = 99;
    double f = 0;
    CHECK(dsc_lbfgs_minimize(1, x, NULL, always_nan, NULL, NULL, NULL, &stop, &iters, &f) ==
          DSC_EDIVERGED);
    CHECK(stop == DSC_LBFGS_DIVERGED);
    CHECK(iters == 0);
    CHECK(x[0] == 3.0f);
    CHECK(strlen(dsc_last_error()) > 0);

    /* NaN only past 2.5: the search backs off and still finds x = 2 */
    float y[1] = {-10.0f};
    dsc_lbfgs_params p;
    dsc_lbfgs_params_init(&p);
    p.step_tol = 0.0;
    CHECK_OK(dsc_lbfgs_minimize(1, y, NULL, nan_beyond, NULL, NULL, &p, &stop, &iters, &f));
    CHECK_NEAR(y[0], 2.0, 1e-4);
    CHECK(isfinite(f));

    /* finite at first, Inf everywhere afterwards: DIVERGED, x at the last
     * finite point */
    size_t count = 0;
    float z[10] = {0};
    CHECK(dsc_lbfgs_minimize(10, z, NULL, goes_bad, NULL, &count, &p, &stop, &iters, &f) ==
          DSC_EDIVERGED);
    CHECK(stop == DSC_LBFGS_DIVERGED);
    CHECK(isfinite(f));
    float gz[10];
    CHECK_NEAR(quadratic(NULL, z, gz), f, 1e-9 * fabs(f) + 1e-12);
}

static void test_cancel(void)
{
    float x[2] = {-1.2f, 1.0f};
    progress_log log = {0};
    log.cancel_at = 3;
    dsc_lbfgs_stop stop;
    size_t iters = 0;
    double f = -1;
    CHECK(dsc_lbfgs_minimize(2, x, NULL, rosenbrock, on_progress, &log, NULL, &stop, &iters, &f) ==
          DSC_ECANCELLED);
    CHECK(stop == DSC_LBFGS_CANCELLED);
    CHECK(iters == 3);
    CHECK(log.calls == 3);
    CHECK(f == log.last_f);
    float g[2];
    CHECK_NEAR(rosenbrock(NULL, x, g), f, 1e-12);
    CHECK(log.last_step > 0);
}

/* The quadratic, recording where it is evaluated. */
typedef struct {
    size_t n;
    float at[4][10];
} eval_log;

static double quadratic_logged(void *user, const float *x, float *g)
{
    eval_log *log = user;
    if (log->n < 4) memcpy(log->at[log->n], x, sizeof log->at[0]);
    log->n++;
    return quadratic(NULL, x, g);
}

/* PyTorch's style (torch.optim.LBFGS with strong_wolfe): the same answers,
 * its own first step, and the same guards as descent's style. */
static void test_torch_style(void)
{
    dsc_lbfgs_params p;
    dsc_lbfgs_params_init(&p);
    CHECK(p.style == DSC_LBFGS_DESCENT);
    p.style = DSC_LBFGS_TORCH;
    p.m = 100;
    dsc_lbfgs_stop stop;
    size_t iters = 0;
    double f = -1;

    float x[2] = {-1.2f, 1.0f};
    progress_log log = {0};
    p.step_tol = 0.0;
    CHECK_OK(dsc_lbfgs_minimize(2, x, NULL, rosenbrock, on_progress, &log, &p, &stop, &iters, &f));
    printf("rosenbrock, torch style: %zu iterations, stop %d, x = (%.7g, %.7g), f = %g\n", iters,
           (int)stop, x[0], x[1], f);
    CHECK_NEAR(x[0], 1.0, 1e-3);
    CHECK_NEAR(x[1], 1.0, 1e-3);
    CHECK(iters < 100);
    CHECK(log.calls == iters && !log.f_increased && !log.iter_wrong);

    /* The first trial point is x - g / sum |g| (PyTorch's first step
     * min(1, 1 / |g|_1) along -g); from 0, g_i = -2 c_i t_i. */
    eval_log ev = {0};
    float z[10] = {0};
    p.grad_tol = 1e-4;
    CHECK_OK(dsc_lbfgs_minimize(10, z, NULL, quadratic_logged, NULL, &ev, &p, &stop, &iters, &f));
    double g0[10], l1 = 0.0;
    for (int i = 0; i < 10; i++) {
        g0[i] = -2.0 * (i + 1.0) * (0.5 * i - 2.0);
        l1 += fabs(g0[i]);
    }
    CHECK(ev.n >= 2);
    for (int i = 0; i < 10; i++) CHECK_NEAR(ev.at[1][i], -g0[i] / l1, 1e-6);
    for (int i = 0; i < 10; i++) CHECK_NEAR(z[i], 0.5 * i - 2.0, 1e-3);

    /* frozen parameters stay, the others fit */
    float q[2] = {0.0f, 1.0f};
    const uint8_t mask[2] = {0, 1};
    CHECK_OK(dsc_lbfgs_minimize(2, q, mask, line_ssr, NULL, NULL, &p, &stop, &iters, &f));
    CHECK(q[0] == 0.0f);
    CHECK_NEAR(q[1], 14.35 / 13.95, 1e-3);

    /* NaN past 2.5 reads as "too far"; Inf everywhere later is divergence */
    float y[1] = {-10.0f};
    CHECK_OK(dsc_lbfgs_minimize(1, y, NULL, nan_beyond, NULL, NULL, &p, &stop, &iters, &f));
    CHECK_NEAR(y[0], 2.0, 1e-3);
    size_t count = 0;
    float w[10] = {0};
    CHECK(dsc_lbfgs_minimize(10, w, NULL, goes_bad, NULL, &count, &p, &stop, &iters, &f) ==
          DSC_EDIVERGED);
    CHECK(stop == DSC_LBFGS_DIVERGED && isfinite(f));

    /* cancelled from the progress callback, max_iter, an unknown style */
    float c[2] = {-1.2f, 1.0f};
    progress_log cancel = {0};
    cancel.cancel_at = 2;
    CHECK(dsc_lbfgs_minimize(2, c, NULL, rosenbrock, on_progress, &cancel, &p, &stop, &iters, &f) ==
          DSC_ECANCELLED);
    CHECK(stop == DSC_LBFGS_CANCELLED && iters == 2);
    float m[2] = {-1.2f, 1.0f};
    p.max_iter = 3;
    CHECK_OK(dsc_lbfgs_minimize(2, m, NULL, rosenbrock, NULL, NULL, &p, &stop, &iters, &f));
    CHECK(stop == DSC_LBFGS_MAX_ITER && iters == 3);
    p.style = (dsc_lbfgs_style)7;
    CHECK(dsc_lbfgs_minimize(2, m, NULL, rosenbrock, NULL, NULL, &p, &stop, &iters, &f) ==
          DSC_EINVAL);
}

static void test_bad_arguments(void)
{
    float x[2] = {0.0f, 1.0f};
    dsc_lbfgs_params p;
    dsc_lbfgs_params_init(&p);
    CHECK(p.m == 8 && p.max_iter == 1000 && p.grad_tol == 1e-6 && p.step_tol == 1e-3);
    CHECK(p.c1 == 1e-4 && p.c2 == 0.9 && p.max_linesearch == 20);
    dsc_lbfgs_stop stop = DSC_LBFGS_CANCELLED;
    CHECK(dsc_lbfgs_minimize(0, x, NULL, line_ssr, NULL, NULL, NULL, &stop, NULL, NULL) ==
          DSC_EINVAL);
    CHECK(stop == DSC_LBFGS_CANCELLED); /* untouched on argument errors */
    CHECK(dsc_lbfgs_minimize(2, x, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL) == DSC_EINVAL);
    p.c1 = 0.95;
    CHECK(dsc_lbfgs_minimize(2, x, NULL, line_ssr, NULL, NULL, &p, NULL, NULL, NULL) == DSC_EINVAL);
    dsc_lbfgs_params_init(&p);
    p.m = 0;
    CHECK(dsc_lbfgs_minimize(2, x, NULL, line_ssr, NULL, NULL, &p, NULL, NULL, NULL) == DSC_EINVAL);
    CHECK(x[0] == 0.0f && x[1] == 1.0f);
}

int main(void)
{
    test_rosenbrock();
    test_quadratic();
    test_line_fit();
    test_nan();
    test_cancel();
    test_torch_style();
    test_bad_arguments();
    return check_report();
}
