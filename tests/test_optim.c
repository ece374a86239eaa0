/* Optimizers and schedules: hand-computed updates, masks, steps output,
 * weight decay, convergence on a small regression, rprop step sizes, no
 * allocation per step, and the schedule formulas. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "train/optim.h"

#define RPROP ((dsc_optimizer)DSC_OPT_RPROP_ID)

static const dsc_optimizer all_kinds[] = {
    DSC_OPT_GD,      DSC_OPT_SGD,  DSC_OPT_MOMENTUM, DSC_OPT_NESTEROV,
    DSC_OPT_RMSPROP, DSC_OPT_ADAM, DSC_OPT_ADAMW,    RPROP};

static dsc_optim *make(dsc_optimizer kind, double wd, size_t n)
{
    dsc_optim_config c;
    dsc_optim_config_init(&c);
    c.kind = kind;
    c.weight_decay = wd;
    dsc_optim *o = NULL;
    CHECK_OK(dsc_optim_new(&c, n, &o));
    return o;
}

/* Two steps with gradients g1 then g2 from p = (1, -2), lr 0.1. */
static void two_steps(dsc_optimizer kind, double wd, float out1[2], float out2[2])
{
    dsc_optim *o = make(kind, wd, 2);
    float p[2] = {1.0f, -2.0f};
    const float g1[2] = {0.5f, -1.0f}, g2[2] = {0.25f, 0.5f};
    if (!o) return;
    dsc_optim_step(o, p, g1, NULL, NULL, 2, 0.1);
    out1[0] = p[0];
    out1[1] = p[1];
    dsc_optim_step(o, p, g2, NULL, NULL, 2, 0.1);
    out2[0] = p[0];
    out2[1] = p[1];
    CHECK(dsc_optim_t(o) == 2);
    dsc_optim_free(o);
}

static void test_hand_computed(void)
{
    float a[2], b[2];
    const double tol = 1e-6;

    /* gd and sgd: p -= lr * g */
    for (int k = 0; k < 2; k++) {
        two_steps(k == 0 ? DSC_OPT_GD : DSC_OPT_SGD, 0.0, a, b);
        CHECK_NEAR(a[0], 1.0 - 0.1 * 0.5, tol);   /* 0.95 */
        CHECK_NEAR(a[1], -2.0 + 0.1 * 1.0, tol);  /* -1.9 */
        CHECK_NEAR(b[0], 0.95 - 0.1 * 0.25, tol); /* 0.925 */
        CHECK_NEAR(b[1], -1.9 - 0.1 * 0.5, tol);  /* -1.95 */
    }

    /* momentum 0.9: v = 0.9 v + g; p -= lr v */
    two_steps(DSC_OPT_MOMENTUM, 0.0, a, b);
    CHECK_NEAR(a[0], 0.95, tol);
    CHECK_NEAR(a[1], -1.9, tol);
    CHECK_NEAR(b[0], 0.95 - 0.1 * (0.9 * 0.5 + 0.25), tol); /* v 0.7 -> 0.88 */
    CHECK_NEAR(b[1], -1.9 - 0.1 * (0.9 * -1.0 + 0.5), tol); /* v -0.4 -> -1.86 */

    /* nesterov: v = 0.9 v + g; p -= lr (g + 0.9 v) */
    two_steps(DSC_OPT_NESTEROV, 0.0, a, b);
    CHECK_NEAR(a[0], 1.0 - 0.1 * (0.5 + 0.9 * 0.5), tol);    /* 0.905 */
    CHECK_NEAR(a[1], -2.0 - 0.1 * (-1.0 + 0.9 * -1.0), tol); /* -1.81 */
    CHECK_NEAR(b[0], 0.905 - 0.1 * (0.25 + 0.9 * 0.7), tol); /* 0.817 */
    CHECK_NEAR(b[1], -1.81 - 0.1 * (0.5 + 0.9 * -0.4), tol); /* -1.824 */

    /* rmsprop 0.99: s = 0.99 s + 0.01 g^2; p -= lr g / (sqrt(s) + eps) */
    two_steps(DSC_OPT_RMSPROP, 0.0, a, b);
    CHECK_NEAR(a[0], 1.0 - 0.1 * 0.5 / (sqrt(0.01 * 0.25) + 1e-8), tol); /* 0.0 */
    CHECK_NEAR(a[1], -2.0 + 0.1 * 1.0 / (sqrt(0.01 * 1.0) + 1e-8), tol); /* -1.0 */
    CHECK_NEAR(b[0], 0.0 - 0.1 * 0.25 / (sqrt(0.99 * 0.0025 + 0.01 * 0.0625) + 1e-8), tol);
    CHECK_NEAR(b[1], -1.0 - 0.1 * 0.5 / (sqrt(0.99 * 0.01 + 0.01 * 0.25) + 1e-8), tol);

    /* adam: the first step has magnitude lr whatever the gradient. */
    two_steps(DSC_OPT_ADAM, 0.0, a, b);
    CHECK_NEAR(a[0], 0.9, tol);
    CHECK_NEAR(a[1], -1.9, tol);
    {
        /* step 2, parameter 0: m = 0.9*0.05 + 0.1*0.25 = 0.07,
         * v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225 */
        double mhat = 0.07 / (1 - 0.9 * 0.9), vhat = 0.00031225 / (1 - 0.999 * 0.999);
        CHECK_NEAR(b[0], 0.9 - 0.1 * mhat / (sqrt(vhat) + 1e-8), tol);
        /* parameter 1: m = 0.9*-0.1 + 0.1*0.5 = -0.04, v = 0.999*0.001 + 0.001*0.25 */
        mhat = -0.04 / (1 - 0.9 * 0.9);
        vhat = (0.999 * 0.001 + 0.001 * 0.25) / (1 - 0.999 * 0.999);
        CHECK_NEAR(b[1], -1.9 - 0.1 * mhat / (sqrt(vhat) + 1e-8), tol);
    }

    /* adamw, wd 0.01: p -= lr wd p, then the adam step of the raw gradient */
    two_steps(DSC_OPT_ADAMW, 0.01, a, b);
    CHECK_NEAR(a[0], 1.0 - 0.1 * 0.01 * 1.0 - 0.1, tol);   /* 0.899 */
    CHECK_NEAR(a[1], -2.0 - 0.1 * 0.01 * -2.0 + 0.1, tol); /* -1.898 */
    {
        double mhat = 0.07 / (1 - 0.9 * 0.9), vhat = 0.00031225 / (1 - 0.999 * 0.999);
        CHECK_NEAR(b[0], 0.899 - 0.1 * 0.01 * 0.899 - 0.1 * mhat / (sqrt(vhat) + 1e-8), tol);
    }

    /* rprop with lr 0.1 as the initial step size. Step 1: no previous
     * gradient, p -= sign(g) 0.1. Step 2: parameter 0 keeps its sign, step
     * 0.1*1.2; parameter 1 flips, its step shrinks to 0.05 and it stays. */
    two_steps(RPROP, 0.0, a, b);
    CHECK_NEAR(a[0], 0.9, tol);
    CHECK_NEAR(a[1], -1.9, tol);
    CHECK_NEAR(b[0], 0.9 - 0.12, tol); /* 0.78 */
    CHECK_NEAR(b[1], -1.9, tol);
}

static void test_weight_decay(void)
{
    float a[2], b[2];
    /* L2: g' = g + wd p = 0.5 + 0.1*1 = 0.6 */
    two_steps(DSC_OPT_GD, 0.1, a, b);
    CHECK_NEAR(a[0], 1.0 - 0.1 * 0.6, 1e-6);                  /* 0.94 */
    CHECK_NEAR(a[1], -2.0 - 0.1 * (-1.0 + 0.1 * -2.0), 1e-6); /* -1.88 */
    CHECK_NEAR(b[0], 0.94 - 0.1 * (0.25 + 0.1 * 0.94), 1e-6);
    /* momentum with L2: v1 = 0.6, v2 = 0.9*0.6 + (0.25 + 0.1*0.94) */
    two_steps(DSC_OPT_MOMENTUM, 0.1, a, b);
    CHECK_NEAR(b[0], 0.94 - 0.1 * (0.9 * 0.6 + 0.25 + 0.1 * 0.94), 1e-6);
    /* adam with L2 differs from adamw: its first step is still lr */
    two_steps(DSC_OPT_ADAM, 0.1, a, b);
    CHECK_NEAR(a[0], 0.9, 1e-6);
    /* decay alone (zero gradient) shrinks the parameters for every kind */
    for (size_t k = 0; k < DSC_COUNT_OF(all_kinds); k++) {
        dsc_optim *o = make(all_kinds[k], 0.5, 2);
        float p[2] = {1.0f, -1.0f};
        const float g[2] = {0.0f, 0.0f};
        if (!o) continue;
        dsc_optim_step(o, p, g, NULL, NULL, 2, 0.1);
        CHECK(p[0] < 1.0f && p[0] >= 0.0f);
        CHECK(p[1] > -1.0f && p[1] <= 0.0f);
        dsc_optim_free(o);
    }
}

static void test_mask_and_steps(void)
{
    for (size_t k = 0; k < DSC_COUNT_OF(all_kinds); k++) {
        dsc_optim *o = make(all_kinds[k], 0.1, 3);
        if (!o) continue;
        float p[3] = {1.0f, -2.0f, 0.5f}, before[3], steps[3];
        const float g[3] = {0.3f, 0.7f, -0.2f};
        const uint8_t mask[3] = {1, 0, 1};
        for (int it = 0; it < 3; it++) {
            memcpy(before, p, sizeof p);
            dsc_optim_step(o, p, g, mask, steps, 3, 0.05);
            for (int i = 0; i < 3; i++) CHECK(before[i] - steps[i] == p[i]);
            CHECK(p[1] == -2.0f);
            CHECK(steps[1] == 0.0f);
            CHECK(p[0] != before[0]);
        }
        /* the frozen parameter's state entries stay zero */
        const float *st = dsc_optim_state(o);
        size_t ns = dsc_optim_state_size(o);
        for (size_t j = 1; j < ns; j += 3) CHECK(st[j] == 0.0f);
        /* steps may be NULL and mask NULL updates everything */
        dsc_optim_step(o, p, g, NULL, NULL, 3, 0.05);
        CHECK(p[1] != -2.0f);
        dsc_optim_free(o);
    }
}

/* sum_i (a_i p_i - b_i)^2 and its gradient 2 a_i (a_i p_i - b_i) */
static double regression_loss(const float *p, float *g)
{
    static const double a[3] = {1.0, 2.0, 0.5}, b[3] = {1.0, -1.0, 0.25};
    double loss = 0.0;
    for (int i = 0; i < 3; i++) {
        double r = a[i] * p[i] - b[i];
        loss += r * r;
        if (g) g[i] = (float)(2.0 * a[i] * r);
    }
    return loss;
}

static void test_reduces_loss(void)
{
    for (size_t k = 0; k < DSC_COUNT_OF(all_kinds); k++) {
        dsc_optim *o = make(all_kinds[k], 0.0, 3);
        if (!o) continue;
        float p[3] = {0.0f, 0.0f, 0.0f}, g[3];
        double lr = all_kinds[k] == DSC_OPT_ADAM || all_kinds[k] == DSC_OPT_ADAMW ? 0.05 : 0.02;
        double loss0 = regression_loss(p, NULL);
        for (int it = 0; it < 1000; it++) {
            regression_loss(p, g);
            dsc_optim_step(o, p, g, NULL, NULL, 3, lr);
        }
        double loss = regression_loss(p, NULL);
        if (!(loss < 1e-3 * loss0))
            fprintf(stderr, "optimizer kind %d: loss %g from %g\n", (int)all_kinds[k], loss, loss0);
        CHECK(loss < 1e-3 * loss0);
        dsc_optim_free(o);
    }
}

static void test_rprop_sizes(void)
{
    dsc_optim *o = make(RPROP, 0.0, 2);
    if (!o) return;
    float p[2] = {1.0f, -2.0f}, steps[2];
    const float g1[2] = {0.5f, -1.0f}, g2[2] = {0.25f, 0.5f};
    /* before any step the step size is the initial one (lr) */
    CHECK_NEAR(dsc_optim_max_step_size(o, g1, NULL, 2, 0.1), 0.1, 1e-7);
    dsc_optim_step(o, p, g1, NULL, steps, 2, 0.1);
    const float *size = dsc_optim_state(o);
    CHECK_NEAR(size[0], 0.1, 1e-7);
    CHECK_NEAR(size[1], 0.1, 1e-7);
    dsc_optim_step(o, p, g2, NULL, steps, 2, 0.1);
    CHECK_NEAR(size[0], 0.12, 1e-7); /* grew by 1.2 */
    CHECK_NEAR(size[1], 0.05, 1e-7); /* shrank by 0.5 */
    CHECK(steps[1] == 0.0f);         /* no move after the sign change */
    /* the stopping rule sees the adaptive sizes, not the applied updates */
    CHECK_NEAR(dsc_optim_max_step_size(o, g2, NULL, 2, 0.1), 0.12, 1e-7);
    const uint8_t only1[2] = {0, 1};
    CHECK_NEAR(dsc_optim_max_step_size(o, g2, only1, 2, 0.1), 0.05, 1e-7);
    /* the forgotten gradient means no second shrink: it moves by 0.05 */
    const float g3[2] = {0.25f, 0.5f};
    dsc_optim_step(o, p, g3, NULL, steps, 2, 0.1);
    CHECK_NEAR(steps[1], 0.05, 1e-7);
    CHECK_NEAR(p[1], -1.95, 1e-6);
    CHECK_NEAR(size[0], 0.144, 1e-7);
    /* growth stops at step_max (50), shrinking at step_min (1e-6) */
    for (int i = 0; i < 100; i++) dsc_optim_step(o, p, g1, NULL, NULL, 2, 0.1);
    CHECK_NEAR(size[0], 50.0, 1e-5);
    for (int i = 0; i < 200; i++) {
        const float ga[2] = {1.0f, 1.0f}, gb[2] = {-1.0f, -1.0f};
        dsc_optim_step(o, p, (i & 1) ? ga : gb, NULL, NULL, 2, 0.1);
    }
    CHECK(size[0] >= 1e-6f && size[0] < 2e-6f);
    /* reset forgets the sizes: the next lr is the initial step again */
    dsc_optim_reset(o);
    CHECK(dsc_optim_t(o) == 0);
    CHECK_NEAR(dsc_optim_max_step_size(o, g1, NULL, 2, 0.3), 0.3, 1e-7);
    float q[2] = {0.0f, 0.0f};
    dsc_optim_step(o, q, g1, NULL, steps, 2, 0.3);
    CHECK_NEAR(steps[0], 0.3, 1e-7);
    CHECK_NEAR(steps[1], -0.3, 1e-7);
    dsc_optim_free(o);

    /* an explicit initial step overrides the lr */
    dsc_optim_config c;
    dsc_optim_config_init(&c);
    c.kind = RPROP;
    c.rprop_step_init = 0.01;
    CHECK_OK(dsc_optim_new(&c, 2, &o));
    if (o) {
        float r[2] = {0.0f, 0.0f};
        dsc_optim_step(o, r, g1, NULL, steps, 2, 0.5);
        CHECK_NEAR(steps[0], 0.01, 1e-8);
        dsc_optim_free(o);
    }
}

static void test_max_step_size(void)
{
    dsc_optim *o = make(DSC_OPT_ADAM, 0.0, 3);
    if (!o) return;
    const float g[3] = {0.5f, -3.0f, 1.0f};
    CHECK_NEAR(dsc_optim_max_step_size(o, g, NULL, 3, 0.1), 0.3, 1e-7);
    const uint8_t mask[3] = {1, 0, 1};
    CHECK_NEAR(dsc_optim_max_step_size(o, g, mask, 3, 0.1), 0.1, 1e-7);
    const uint8_t none[3] = {0, 0, 0};
    CHECK(dsc_optim_max_step_size(o, g, none, 3, 0.1) == 0.0);
    const float bad[3] = {0.5f, NAN, 1.0f};
    CHECK(isnan(dsc_optim_max_step_size(o, bad, NULL, 3, 0.1)));
    CHECK_NEAR(dsc_optim_max_step_size(o, bad, mask, 3, 0.1), 0.1, 1e-7);
    dsc_optim_free(o);
}

static void test_no_alloc(void)
{
    for (size_t k = 0; k < DSC_COUNT_OF(all_kinds); k++) {
        dsc_optim *o = make(all_kinds[k], 0.01, 3);
        if (!o) continue;
        float p[3] = {0.0f, 0.0f, 0.0f}, g[3], steps[3];
        const uint8_t mask[3] = {1, 1, 0};
        uint64_t before = dsc_alloc_count();
        for (int it = 0; it < 100; it++) {
            regression_loss(p, g);
            dsc_optim_step(o, p, g, (it & 1) ? mask : NULL, steps, 3, 0.01);
            (void)dsc_optim_max_step_size(o, g, mask, 3, 0.01);
        }
        CHECK(dsc_alloc_count() == before);
        dsc_optim_free(o);
    }
}

static void test_state_and_config(void)
{
    dsc_optim_config c;
    dsc_optim_config_init(&c);
    CHECK(c.kind == DSC_OPT_GD);
    CHECK(c.momentum == 0.9 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8);
    CHECK(c.rms_alpha == 0.99 && c.weight_decay == 0.0);
    CHECK(c.rprop_eta_plus == 1.2 && c.rprop_eta_minus == 0.5 && c.rprop_step_init == 0.0);
    CHECK(c.rprop_step_min == 1e-6 && c.rprop_step_max == 50.0);

    static const struct {
        dsc_optimizer kind;
        size_t per;
    } sizes[] = {
        {DSC_OPT_GD, 0},      {DSC_OPT_SGD, 0},  {DSC_OPT_MOMENTUM, 1}, {DSC_OPT_NESTEROV, 1},
        {DSC_OPT_RMSPROP, 1}, {DSC_OPT_ADAM, 2}, {DSC_OPT_ADAMW, 2},    {RPROP, 2}};
    for (size_t k = 0; k < DSC_COUNT_OF(sizes); k++) {
        dsc_optim *o = make(sizes[k].kind, 0.0, 5);
        if (!o) continue;
        CHECK(dsc_optim_state_size(o) == 5 * sizes[k].per);
        float p[5] = {0}, g[5] = {1, 2, 3, 4, 5};
        dsc_optim_step(o, p, g, NULL, NULL, 5, 0.1);
        dsc_optim_reset(o);
        CHECK(dsc_optim_t(o) == 0);
        for (size_t i = 0; i < dsc_optim_state_size(o); i++) CHECK(dsc_optim_state(o)[i] == 0.0f);
        dsc_optim_set_t(o, 7);
        CHECK(dsc_optim_t(o) == 7);
        dsc_optim_free(o);
    }

    /* restoring state and t reproduces the next step exactly */
    dsc_optim *a = make(DSC_OPT_ADAM, 0.0, 2), *b = make(DSC_OPT_ADAM, 0.0, 2);
    if (a && b) {
        float pa[2] = {1.0f, 2.0f}, pb[2];
        const float g[2] = {0.3f, -0.6f};
        for (int i = 0; i < 5; i++) dsc_optim_step(a, pa, g, NULL, NULL, 2, 0.01);
        memcpy(dsc_optim_state(b), dsc_optim_state(a), dsc_optim_state_size(a) * sizeof(float));
        dsc_optim_set_t(b, dsc_optim_t(a));
        memcpy(pb, pa, sizeof pa);
        dsc_optim_step(a, pa, g, NULL, NULL, 2, 0.01);
        dsc_optim_step(b, pb, g, NULL, NULL, 2, 0.01);
        CHECK(pa[0] == pb[0] && pa[1] == pb[1]);
    }
    dsc_optim_free(a);
    dsc_optim_free(b);

    dsc_optim *o = (dsc_optim *)&c; /* any non-NULL value: must be cleared */
    c.kind = DSC_OPT_ADAM;
    c.beta1 = 1.0;
    CHECK(dsc_optim_new(&c, 2, &o) == DSC_EINVAL);
    CHECK(o == NULL);
    CHECK(strstr(dsc_last_error(), "beta1") != NULL);
    dsc_optim_config_init(&c);
    c.kind = (dsc_optimizer)DSC_OPT_LBFGS_ID;
    CHECK(dsc_optim_new(&c, 2, &o) == DSC_EINVAL);
    c.kind = (dsc_optimizer)77;
    CHECK(dsc_optim_new(&c, 2, &o) == DSC_EINVAL);
    dsc_optim_config_init(&c);
    c.weight_decay = NAN;
    CHECK(dsc_optim_new(&c, 2, &o) == DSC_EINVAL);
    dsc_optim_config_init(&c);
    c.kind = RPROP;
    c.rprop_step_min = 0.0;
    CHECK(dsc_optim_new(&c, 2, &o) == DSC_EINVAL);
    c.rprop_step_min = 1e-6;
    c.rprop_eta_minus = 1.5;
    CHECK(dsc_optim_new(&c, 2, &o) == DSC_EINVAL);
    CHECK(dsc_optim_new(NULL, 2, &o) == DSC_EINVAL);
    dsc_optim_free(NULL);
}

static void test_schedules(void)
{
    const double tol = 1e-12;
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_CONSTANT, 0.1, 0.5, 10, 0.0, 57, 100), 0.1, tol);

    /* step: 0.1 * 0.5^floor(t / 10) */
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 0.1, 0.5, 10, 0.0, 0, 100), 0.1, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 0.1, 0.5, 10, 0.0, 9, 100), 0.1, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 0.1, 0.5, 10, 0.0, 10, 100), 0.05, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 0.1, 0.5, 10, 0.0, 25, 100), 0.025, tol);
    /* gamma 0 -> 0.1; step_size 0 -> total / 3 = 10 */
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 1.0, 0.0, 0, 0.0, 9, 30), 1.0, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 1.0, 0.0, 0, 0.0, 10, 30), 0.1, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 1.0, 0.0, 0, 0.0, 29, 30), 0.01, tol);
    /* total 2: period max(1, 0) = 1 */
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 1.0, 0.5, 0, 0.0, 1, 2), 0.5, tol);
    /* total unknown and no period: no decay */
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_STEP, 1.0, 0.5, 0, 0.0, 500, 0), 1.0, tol);

    /* exp: lr * gamma^t, per update */
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_EXP, 0.1, 0.9, 0, 0.0, 0, 0), 0.1, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_EXP, 0.1, 0.9, 0, 0.0, 2, 0), 0.1 * 0.81, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_EXP, 0.1, 0.0, 0, 0.0, 1, 0), 0.099, tol);

    /* cosine from 1 to 0.1 over 100 updates */
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_COSINE, 1.0, 0.0, 0, 0.1, 0, 100), 1.0, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_COSINE, 1.0, 0.0, 0, 0.1, 50, 100), 0.55, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_COSINE, 1.0, 0.0, 0, 0.1, 100, 100), 0.1, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_COSINE, 1.0, 0.0, 0, 0.1, 25, 100),
               0.1 + 0.9 * (1 + sqrt(0.5)) / 2, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_COSINE, 1.0, 0.0, 0, 0.1, 150, 100), 0.1, tol);
    CHECK_NEAR(dsc_schedule_lr(DSC_SCHED_COSINE, 1.0, 0.0, 0, 0.1, 50, 0), 1.0, tol);
}

int main(void)
{
    test_hand_computed();
    test_weight_decay();
    test_mask_and_steps();
    test_reduces_loss();
    test_rprop_sizes();
    test_max_step_size();
    test_no_alloc();
    test_state_and_config();
    test_schedules();
    return check_report();
}
