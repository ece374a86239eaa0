/* Losses: values and derivatives on small hand-computed examples (the
 * seed's dosage data first), fused against unfused cross-entropies, extreme
 * logits, and a gradient check of every loss. */
#include <string.h>

#include "check.h"
#include "graph/graph_internal.h"

#define TOL 1e-6

/* The seed: dosages 0, 0.5, 1 with observed efficacy 0, 1, 0. With b3 = 0
 * the network's output before b3 is -2.6, -1.61, -2.58, so predicted =
 * that + b3, SSR = 2.6^2 + 2.61^2 + 2.58^2 = 20.2285, and
 * dSSR/dpredicted_i = -2 (observed_i - predicted_i) = -5.2, -5.22, -5.16,
 * which sum to dSSR/db3 = -15.58. */
static void test_dosage_ssr(void)
{
    const float sum[] = {-2.6f, -1.61f, -2.58f}, observed[] = {0.0f, 1.0f, 0.0f};
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node s = dsc_input(g, "sum", 1), obs = dsc_input(g, "observed", 1);
    dsc_node b3 = dsc_param(g, "b3", 1, 1);
    dsc_node pred = dsc_add(g, s, b3);
    dsc_node ssr = dsc_loss_of(g, DSC_LOSS_SSR, pred, obs);
    CHECK_OK(dsc_graph_compile(g, 3, NULL, 0));
    CHECK_OK(dsc_graph_bind(g, s, sum));
    CHECK_OK(dsc_graph_bind(g, obs, observed));
    CHECK_OK(dsc_graph_set_batch(g, 3));
    CHECK_OK(dsc_graph_forward(g));
    CHECK_OK(dsc_graph_backward(g, ssr));
    CHECK_NEAR(dsc_graph_value(g, ssr).data[0], 20.2285, 1e-5);
    const float *d = dsc_graph_grad(g, pred).data;
    CHECK_NEAR(d[0], -5.2, 1e-5);
    CHECK_NEAR(d[1], -5.22, 1e-5);
    CHECK_NEAR(d[2], -5.16, 1e-5);
    CHECK_NEAR(dsc_graph_grads(g)[0], -15.58, 1e-5);
    dsc_op_text t = dsc_graph_op_text(g, ssr);
    CHECK(strcmp(t.name, "ssr") == 0);
    CHECK(strcmp(t.formula, "sum (observed - predicted)^2") == 0);
    CHECK(strcmp(t.derivative, "-2(observed - predicted)") == 0);
    /* Data inputs get no gradient buffer. */
    CHECK(dsc_graph_grad(g, obs).data == NULL);
    dsc_graph_free(g);
}

/* A loss of a predicted and a target parameter, both rows x cols, so that
 * both gradients can be read from the flat buffer. */
typedef struct {
    dsc_graph *g;
    dsc_node p, t, loss;
    const float *dp, *dt;
    float value;
} loss_net;

static int loss_net_run(loss_net *l, dsc_loss loss, size_t rows, size_t cols, const float *p,
                        const float *t)
{
    memset(l, 0, sizeof *l);
    if (dsc_graph_new(&l->g) != DSC_OK) return -1;
    l->p = dsc_param(l->g, "predicted", rows, cols);
    l->t = dsc_param(l->g, "observed", rows, cols);
    l->loss = dsc_loss_of(l->g, loss, l->p, l->t);
    if (dsc_graph_compile(l->g, 1, NULL, 0) != DSC_OK) return -1;
    float *params = dsc_graph_params(l->g);
    memcpy(params + dsc_graph_param_offset(l->g, l->p), p, rows * cols * sizeof(float));
    memcpy(params + dsc_graph_param_offset(l->g, l->t), t, rows * cols * sizeof(float));
    if (dsc_graph_forward(l->g) != DSC_OK || dsc_graph_backward(l->g, l->loss) != DSC_OK) return -1;
    l->value = dsc_graph_value(l->g, l->loss).data[0];
    l->dp = dsc_graph_grads(l->g) + dsc_graph_param_offset(l->g, l->p);
    l->dt = dsc_graph_grads(l->g) + dsc_graph_param_offset(l->g, l->t);
    return 0;
}

/* Checks value, d/dpredicted, and that d/dobserved is its negative (true of
 * every loss of the residual alone). */
static void check_residual_loss(dsc_loss loss, const char *name, double value, const double *dp)
{
    /* residuals r = predicted - observed = 0.5, -1.5, 3, 0 */
    const float p[] = {1.5f, -0.5f, 2.0f, 0.0f}, t[] = {1.0f, 1.0f, -1.0f, 0.0f};
    loss_net l;
    CHECK(loss_net_run(&l, loss, 2, 2, p, t) == 0);
    CHECK(strcmp(dsc_graph_op_text(l.g, l.loss).name, name) == 0);
    CHECK_NEAR(l.value, value, TOL);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(l.dp[i], dp[i], TOL);
        CHECK_NEAR(l.dt[i], -dp[i], TOL);
    }
    dsc_graph_free(l.g);
}

static void test_residual_losses(void)
{
    /* ssr = 0.25 + 2.25 + 9 + 0 = 11.5; d/dp = 2r */
    const double ssr_d[] = {1.0, -3.0, 6.0, 0.0};
    check_residual_loss(DSC_LOSS_SSR, "ssr", 11.5, ssr_d);
    /* mse = 11.5 / 4; d/dp = 2r / 4 */
    const double mse_d[] = {0.25, -0.75, 1.5, 0.0};
    check_residual_loss(DSC_LOSS_MSE, "mse", 2.875, mse_d);
    /* mae = (0.5 + 1.5 + 3 + 0) / 4; d/dp = sign(r) / 4, 0 at r = 0 */
    const double mae_d[] = {0.25, -0.25, 0.25, 0.0};
    check_residual_loss(DSC_LOSS_MAE, "mae", 1.25, mae_d);
    /* huber = (0.125 + (1.5 - 0.5) + (3 - 0.5) + 0) / 4; d/dp = clamp(r, -1, 1) / 4 */
    const double huber_d[] = {0.125, -0.25, 0.25, 0.0};
    check_residual_loss(DSC_LOSS_HUBER, "huber", 0.90625, huber_d);
}

static void test_probability_losses(void)
{
    /* bce: -(ln 0.8 + ln 0.7 + ln 0.9 + ln 0.5) / 4; d/dp = (p - t) / (p (1 - p)) / 4;
     * d/dt = (ln(1 - p) - ln p) / 4 */
    const float p[] = {0.2f, 0.7f, 0.9f, 0.5f}, t[] = {0.0f, 1.0f, 1.0f, 0.5f};
    loss_net l;
    CHECK(loss_net_run(&l, DSC_LOSS_BCE, 2, 2, p, t) == 0);
    CHECK(strcmp(dsc_graph_op_text(l.g, l.loss).name, "bce") == 0);
    CHECK_NEAR(l.value, 0.344581548, TOL);
    const double bce_dp[] = {0.3125, -0.357142857, -0.277777778, 0.0};
    const double bce_dt[] = {0.34657359, -0.211824465, -0.549306144, 0.0};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(l.dp[i], bce_dp[i], 1e-5);
        CHECK_NEAR(l.dt[i], bce_dt[i], 1e-5);
    }
    dsc_graph_free(l.g);

    /* ce, two rows (samples) of two classes: -(ln 0.8 + ln 0.6) / 2;
     * d/dp = -t / p / 2, d/dt = -ln p / 2 */
    const float pc[] = {0.2f, 0.8f, 0.6f, 0.4f}, tc[] = {0.0f, 1.0f, 1.0f, 0.0f};
    CHECK(loss_net_run(&l, DSC_LOSS_CE, 2, 2, pc, tc) == 0);
    CHECK(strcmp(dsc_graph_op_text(l.g, l.loss).name, "ce") == 0);
    CHECK_NEAR(l.value, 0.366984588, TOL);
    const double ce_dp[] = {0.0, -0.625, -0.833333333, 0.0};
    const double ce_dt[] = {0.804718956, 0.111571776, 0.255412812, 0.458145366};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(l.dp[i], ce_dp[i], 1e-5);
        CHECK_NEAR(l.dt[i], ce_dt[i], 1e-5);
    }
    dsc_graph_free(l.g);

    /* Probabilities of exactly 0 and 1 against the opposite target: each
     * log is clamped at -100 (as PyTorch does), so the loss is 100, and the
     * derivative is large but finite. */
    const float pe[] = {0.0f, 1.0f}, te[] = {1.0f, 0.0f};
    CHECK(loss_net_run(&l, DSC_LOSS_BCE, 1, 2, pe, te) == 0);
    CHECK_NEAR(l.value, 100.0, 1e-4);
    CHECK(isfinite(l.dp[0]) && isfinite(l.dp[1]) && l.dp[0] < 0.0f && l.dp[1] > 0.0f);
    CHECK(isfinite(l.dt[0]) && isfinite(l.dt[1]));
    dsc_graph_free(l.g);
    CHECK(loss_net_run(&l, DSC_LOSS_CE, 1, 2, pe, te) == 0);
    CHECK_NEAR(l.value, 100.0, 1e-4);
    CHECK(isfinite(l.dp[0]) && isfinite(l.dp[1]));
    dsc_graph_free(l.g);
}

/* logits z (a parameter) -> sigmoid or softmax -> bce or ce against t. With
 * `unfused`, an identity node between them keeps dsc_loss_of from fusing. */
typedef struct {
    dsc_graph *g;
    dsc_node z, t, prob, loss;
    const float *dz, *dt;
    float value;
} logit_net;

static int logit_net_run(logit_net *l, int softmax, int unfused, size_t rows, size_t cols,
                         const float *z, const float *t)
{
    memset(l, 0, sizeof *l);
    if (dsc_graph_new(&l->g) != DSC_OK) return -1;
    l->z = dsc_param(l->g, "z", rows, cols);
    l->t = dsc_param(l->g, "t", rows, cols);
    l->prob = dsc_activate(l->g, softmax ? DSC_ACT_SOFTMAX : DSC_ACT_SIGMOID, l->z);
    dsc_node p = unfused ? dsc_activate(l->g, DSC_ACT_IDENTITY, l->prob) : l->prob;
    l->loss = dsc_loss_of(l->g, softmax ? DSC_LOSS_CE : DSC_LOSS_BCE, p, l->t);
    if (dsc_graph_compile(l->g, 1, NULL, 0) != DSC_OK) return -1;
    float *params = dsc_graph_params(l->g);
    memcpy(params + dsc_graph_param_offset(l->g, l->z), z, rows * cols * sizeof(float));
    memcpy(params + dsc_graph_param_offset(l->g, l->t), t, rows * cols * sizeof(float));
    if (dsc_graph_forward(l->g) != DSC_OK || dsc_graph_backward(l->g, l->loss) != DSC_OK) return -1;
    l->value = dsc_graph_value(l->g, l->loss).data[0];
    l->dz = dsc_graph_grads(l->g) + dsc_graph_param_offset(l->g, l->z);
    l->dt = dsc_graph_grads(l->g) + dsc_graph_param_offset(l->g, l->t);
    return 0;
}

static void test_fused_values(void)
{
    /* bce_logits = mean of max(z,0) - z t + ln(1 + e^-|z|);
     * d/dz = (sigmoid(z) - t) / 4, d/dt = -z / 4 */
    const float z[] = {0.5f, -1.0f, 2.0f, 0.0f}, t[] = {1.0f, 0.0f, 1.0f, 0.25f};
    logit_net l;
    CHECK(logit_net_run(&l, 0, 0, 2, 2, z, t) == 0);
    CHECK(strcmp(dsc_graph_op_text(l.g, l.loss).name, "bce_logits") == 0);
    CHECK_NEAR(l.value, 0.401853466, TOL);
    const double dz[] = {-0.0943851672, 0.0672353553, -0.0298007305, 0.0625};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(l.dz[i], dz[i], TOL);
        CHECK_NEAR(l.dt[i], -z[i] / 4.0, TOL);
    }
    /* The sigmoid node still holds probabilities. */
    CHECK_NEAR(dsc_graph_value(l.g, l.prob).data[2], 0.880797078, TOL);
    dsc_graph_free(l.g);

    /* ce_logits on logits (1, 2, 3) with the third class observed:
     * -ln softmax_3 = -ln 0.665241; d/dz = softmax - t */
    const float zc[] = {1.0f, 2.0f, 3.0f}, tc[] = {0.0f, 0.0f, 1.0f};
    CHECK(logit_net_run(&l, 1, 0, 1, 3, zc, tc) == 0);
    CHECK(strcmp(dsc_graph_op_text(l.g, l.loss).name, "ce_logits") == 0);
    CHECK_NEAR(l.value, 0.407605964, TOL);
    CHECK_NEAR(l.dz[0], 0.0900305732, TOL);
    CHECK_NEAR(l.dz[1], 0.244728471, TOL);
    CHECK_NEAR(l.dz[2], -0.334759044, TOL);
    dsc_graph_free(l.g);
}

/* dsc_loss_of on a sigmoid (softmax) node must give the numbers of bce
 * (ce) on its probabilities, for logits where the unfused form is exact
 * enough. */
static void test_fused_equals_unfused(void)
{
    dsc_rng r;
    dsc_rng_seed(&r, 3, 4);
    for (int softmax = 0; softmax < 2; softmax++) {
        float z[12], t[12];
        for (int i = 0; i < 12; i++) {
            z[i] = 6.0f * dsc_rng_uniform(&r) - 3.0f;
            t[i] = softmax ? (i % 4 == 1 ? 1.0f : 0.0f) : dsc_rng_uniform(&r);
        }
        logit_net a, b;
        CHECK(logit_net_run(&a, softmax, 0, 3, 4, z, t) == 0);
        CHECK(logit_net_run(&b, softmax, 1, 3, 4, z, t) == 0);
        CHECK(strcmp(dsc_graph_op_text(a.g, a.loss).name, softmax ? "ce_logits" : "bce_logits") ==
              0);
        CHECK(strcmp(dsc_graph_op_text(b.g, b.loss).name, softmax ? "ce" : "bce") == 0);
        CHECK_NEAR(a.value, b.value, 1e-5 * fabs(b.value) + 1e-6);
        for (int i = 0; i < 12; i++) {
            CHECK_NEAR(a.dz[i], b.dz[i], 1e-5);
            CHECK_NEAR(a.dt[i], b.dt[i], 1e-5);
        }
        dsc_graph_free(a.g);
        dsc_graph_free(b.g);
    }
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Logits far beyond where e^z overflows a float. */
static void test_fused_extremes(void)
{
    /* Confidently right gives 0, confidently wrong gives |z|:
     * (0 + 0 + 1000 + 1000) / 4 = 500; d/dz = (sigmoid(z) - t) / 4 */
    const float z[] = {100.0f, -100.0f, 1000.0f, -1000.0f}, t[] = {1.0f, 0.0f, 0.0f, 1.0f};
    logit_net l;
    CHECK(logit_net_run(&l, 0, 0, 1, 4, z, t) == 0);
    CHECK_NEAR(l.value, 500.0, 1e-3);
    CHECK(all_finite(l.dz, 4) && all_finite(l.dt, 4));
    CHECK_NEAR(l.dz[0], 0.0, TOL);
    CHECK_NEAR(l.dz[1], 0.0, TOL);
    CHECK_NEAR(l.dz[2], 0.25, TOL);
    CHECK_NEAR(l.dz[3], -0.25, TOL);
    dsc_graph_free(l.g);

    /* ce_logits on rows [1000, 0] (class 2 observed) and [-1e4, 1e4]
     * (class 2): losses 1000 and 0, mean 500; d/dz = (softmax - t) / 2 */
    const float zc[] = {1000.0f, 0.0f, -1e4f, 1e4f}, tc[] = {0.0f, 1.0f, 0.0f, 1.0f};
    CHECK(logit_net_run(&l, 1, 0, 2, 2, zc, tc) == 0);
    CHECK_NEAR(l.value, 500.0, 1e-3);
    CHECK(all_finite(l.dz, 4) && all_finite(l.dt, 4));
    CHECK_NEAR(l.dz[0], 0.5, TOL);
    CHECK_NEAR(l.dz[1], -0.5, TOL);
    CHECK_NEAR(l.dz[2], 0.0, TOL);
    CHECK_NEAR(l.dz[3], 0.0, TOL);
    dsc_graph_free(l.g);
}

static void check_gradcheck(dsc_graph *g, dsc_node loss, const char *what)
{
    double err = 1.0;
    size_t worst = 0, kinks = 1;
    CHECK_OK(dsc_graph_gradcheck(g, loss, &err, &worst, &kinks));
    CHECK(kinks == 0); /* the points are away from every kink */
    CHECK(err < 1e-3);
    if (kinks) fprintf(stderr, "  %s: %zu kinks\n", what, kinks);
    if (!(err < 1e-3)) fprintf(stderr, "  %s: error %g at parameter %zu\n", what, err, worst);
}

/* Every loss, with gradients flowing into both predicted and observed. */
static void test_gradcheck(void)
{
    static const char *const names[] = {"ssr", "mse", "mae", "huber", "bce", "ce"};
    dsc_rng r;
    dsc_rng_seed(&r, 9, 5);
    for (int k = 0; k < DSC_LOSS_COUNT; k++) {
        float p[6], t[6];
        for (int i = 0; i < 6; i++) {
            if (k == DSC_LOSS_BCE || k == DSC_LOSS_CE) {
                /* Labels 0/1 (one per row for ce) and probabilities on their
                 * side: -ln p curves sharply near 0, and within the checker's
                 * difference step that curvature alone would look like a kink
                 * and the parameter would be skipped. */
                t[i] = (k == DSC_LOSS_BCE ? i % 2 : i % 3 == i / 3) ? 1.0f : 0.0f;
                p[i] = t[i] == 1.0f ? 0.7f + 0.2f * dsc_rng_uniform(&r)
                                    : 0.1f + 0.2f * dsc_rng_uniform(&r);
            } else {
                /* residuals of 0.3 to 0.7 or 1.3 to 1.7: away from the kinks of
                 * mae (0) and huber (1) */
                float mag = 0.3f + 0.4f * dsc_rng_uniform(&r) + (i % 2 ? 1.0f : 0.0f);
                t[i] = 2.0f * dsc_rng_uniform(&r) - 1.0f;
                p[i] = t[i] + (i % 3 ? mag : -mag);
            }
        }
        loss_net l;
        CHECK(loss_net_run(&l, (dsc_loss)k, 2, 3, p, t) == 0);
        check_gradcheck(l.g, l.loss, names[k]);
        dsc_graph_free(l.g);
    }
    for (int softmax = 0; softmax < 2; softmax++) {
        float z[6], t[6];
        for (int i = 0; i < 6; i++) {
            z[i] = 4.0f * dsc_rng_uniform(&r) - 2.0f;
            t[i] = dsc_rng_uniform(&r);
        }
        logit_net l;
        CHECK(logit_net_run(&l, softmax, 0, 2, 3, z, t) == 0);
        check_gradcheck(l.g, l.loss, softmax ? "ce_logits" : "bce_logits");
        dsc_graph_free(l.g);
    }
}

/* A small classifier on data inputs, the way a model uses these ops:
 * logits = x W, softmax, CE against one-hot labels. The fused loss must
 * match CE on the softmax output, and W's gradient must pass the check. */
static void test_classifier(void)
{
    const float x[] = {1.0f, 0.5f, -1.0f, 2.0f, 0.0f, -0.5f};
    const float y[] = {1, 0, 0, 0, 0, 1, 0, 1, 0};
    const float w[] = {0.3f, -0.2f, 0.1f, -0.4f, 0.5f, 0.2f};
    float values[2];
    for (int unfused = 0; unfused < 2; unfused++) {
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        dsc_node xi = dsc_input(g, "x", 2), yi = dsc_input(g, "y", 3);
        dsc_node wp = dsc_param(g, "W", 2, 3);
        dsc_node prob = dsc_activate(g, DSC_ACT_SOFTMAX, dsc_matmul(g, xi, wp, 0, 0));
        if (unfused) prob = dsc_activate(g, DSC_ACT_IDENTITY, prob);
        dsc_node loss = dsc_loss_of(g, DSC_LOSS_CE, prob, yi);
        CHECK_OK(dsc_graph_compile(g, 3, NULL, 0));
        memcpy(dsc_graph_params(g), w, sizeof w);
        CHECK_OK(dsc_graph_bind(g, xi, x));
        CHECK_OK(dsc_graph_bind(g, yi, y));
        CHECK_OK(dsc_graph_set_batch(g, 3));
        CHECK_OK(dsc_graph_forward(g));
        values[unfused] = dsc_graph_value(g, loss).data[0];
        check_gradcheck(g, loss, "classifier");
        dsc_graph_free(g);
    }
    CHECK_NEAR(values[0], values[1], 1e-6);
}

/* Large enough to run the backward in parallel: the same bits for 1 and 3
 * threads. */
static void test_threads(void)
{
    enum { N = 40000 };
    static float p[N], t[N], d1[2 * N];
    dsc_rng r;
    dsc_rng_seed(&r, 12, 1);
    for (int i = 0; i < N; i++) {
        p[i] = 0.05f + 0.9f * dsc_rng_uniform(&r);
        t[i] = dsc_rng_uniform(&r);
    }
    for (int k = 0; k < DSC_LOSS_COUNT; k++) {
        float v1 = 0.0f;
        for (int th = 1; th <= 3; th += 2) {
            loss_net l;
            memset(&l, 0, sizeof l);
            CHECK_OK(dsc_graph_new(&l.g));
            l.p = dsc_param(l.g, "p", 200, 200);
            l.t = dsc_param(l.g, "t", 200, 200);
            l.loss = dsc_loss_of(l.g, (dsc_loss)k, l.p, l.t);
            CHECK_OK(dsc_graph_compile(l.g, 1, NULL, 0));
            dsc_graph_set_threads(l.g, th);
            memcpy(dsc_graph_params(l.g), p, sizeof p);
            memcpy(dsc_graph_params(l.g) + N, t, sizeof t);
            CHECK_OK(dsc_graph_forward(l.g));
            CHECK_OK(dsc_graph_backward(l.g, l.loss));
            float v = dsc_graph_value(l.g, l.loss).data[0];
            if (th == 1) {
                v1 = v;
                memcpy(d1, dsc_graph_grads(l.g), sizeof d1);
            } else {
                CHECK(v == v1);
                CHECK(memcmp(d1, dsc_graph_grads(l.g), sizeof d1) == 0);
            }
            dsc_graph_free(l.g);
        }
    }
}

int main(void)
{
    test_dosage_ssr();
    test_residual_losses();
    test_probability_losses();
    test_fused_values();
    test_fused_equals_unfused();
    test_fused_extremes();
    test_gradcheck();
    test_classifier();
    test_threads();
    return check_report();
}
