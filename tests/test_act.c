/* Activations: values and derivatives at hand-computed points, extreme
 * inputs, ReLU's derivative at exactly 0 under each rule, and a gradient
 * check of every activation. */
#include <string.h>

#include "check.h"
#include "graph/graph_internal.h"

#define TOL 1e-6

/* A network whose loss is sum_i w_i f(x_i): x and w are parameters, so the
 * gradient of x is f'(x) w, and with w = 1 it is f'(x) itself. */
typedef struct {
    dsc_graph *g;
    dsc_node x, w, y, loss;
} act_net;

static int act_net_new(act_net *a, dsc_activation act, size_t rows, size_t cols)
{
    memset(a, 0, sizeof *a);
    if (dsc_graph_new(&a->g) != DSC_OK) return -1;
    a->x = dsc_param(a->g, "x", rows, cols);
    a->w = dsc_param(a->g, "w", rows, cols);
    a->y = dsc_activate(a->g, act, a->x);
    a->loss = dsc_sum(a->g, dsc_mul(a->g, a->y, a->w));
    return dsc_graph_compile(a->g, 1, NULL, 0) == DSC_OK ? 0 : -1;
}

/* Sets x (and w, or all ones when w is NULL), runs forward and backward. */
static int act_net_run(act_net *a, const float *x, const float *w)
{
    size_t n = dsc_graph_param_count(a->g) / 2;
    float *p = dsc_graph_params(a->g);
    memcpy(p + dsc_graph_param_offset(a->g, a->x), x, n * sizeof(float));
    float *pw = p + dsc_graph_param_offset(a->g, a->w);
    for (size_t i = 0; i < n; i++) pw[i] = w ? w[i] : 1.0f;
    if (dsc_graph_forward(a->g) != DSC_OK) return -1;
    return dsc_graph_backward(a->g, a->loss) == DSC_OK ? 0 : -1;
}

static const float *act_y(act_net *a) { return dsc_graph_value(a->g, a->y).data; }

static const float *act_dx(act_net *a)
{
    return dsc_graph_grads(a->g) + dsc_graph_param_offset(a->g, a->x);
}

/* f and f' at a few points, each the number a reader can work out by hand. */
static void check_points(dsc_activation act, size_t n, const float *x, const double *y,
                         const double *dy)
{
    act_net a;
    CHECK(act_net_new(&a, act, 1, n) == 0);
    CHECK(act_net_run(&a, x, NULL) == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK_NEAR(act_y(&a)[i], y[i], TOL);
        CHECK_NEAR(act_dx(&a)[i], dy[i], TOL);
    }
    dsc_graph_free(a.g);
}

static void test_hand_values(void)
{
    {
        const float x[] = {2.5f, -1.0f};
        const double y[] = {2.5, -1.0}, dy[] = {1.0, 1.0};
        check_points(DSC_ACT_IDENTITY, 2, x, y, dy);
    }
    {
        /* softplus(0) = ln 2; its derivative is the sigmoid. */
        const float x[] = {0.0f, 1.0f, -1.0f};
        const double y[] = {0.693147181, 1.313261688, 0.313261688};
        const double dy[] = {0.5, 0.731058579, 0.268941421};
        check_points(DSC_ACT_SOFTPLUS, 3, x, y, dy);
    }
    {
        const float x[] = {-2.0f, 3.0f, 0.5f};
        const double y[] = {0.0, 3.0, 0.5}, dy[] = {0.0, 1.0, 1.0};
        check_points(DSC_ACT_RELU, 3, x, y, dy);
    }
    {
        const float x[] = {-2.0f, 3.0f};
        const double y[] = {-0.02, 3.0}, dy[] = {0.01, 1.0};
        check_points(DSC_ACT_LEAKY_RELU, 2, x, y, dy);
    }
    {
        /* s(2) = 0.8808, s'(2) = s(2)(1 - s(2)) = 0.1050 */
        const float x[] = {0.0f, 2.0f, -2.0f};
        const double y[] = {0.5, 0.880797078, 0.119202922};
        const double dy[] = {0.25, 0.104993585, 0.104993585};
        check_points(DSC_ACT_SIGMOID, 3, x, y, dy);
    }
    {
        const float x[] = {1.0f, -0.5f, 0.0f};
        const double y[] = {0.761594156, -0.462117157, 0.0};
        const double dy[] = {0.419974342, 0.786447733, 1.0};
        check_points(DSC_ACT_TANH, 3, x, y, dy);
    }
    {
        /* softmax([1,2,3]); with w = (1,0,0) the loss is y_0, whose
         * derivative is y_0 (1[j=0] - y_j). */
        const float x[] = {1.0f, 2.0f, 3.0f}, w[] = {1.0f, 0.0f, 0.0f};
        act_net a;
        CHECK(act_net_new(&a, DSC_ACT_SOFTMAX, 1, 3) == 0);
        CHECK(act_net_run(&a, x, w) == 0);
        CHECK_NEAR(act_y(&a)[0], 0.0900305732, TOL);
        CHECK_NEAR(act_y(&a)[1], 0.244728471, TOL);
        CHECK_NEAR(act_y(&a)[2], 0.665240956, TOL);
        CHECK_NEAR(act_dx(&a)[0], 0.0819250691, TOL);
        CHECK_NEAR(act_dx(&a)[1], -0.0220330445, TOL);
        CHECK_NEAR(act_dx(&a)[2], -0.0598920245, TOL);
        /* The outputs do not depend on the other row, and each row sums
         * to 1, so with w = 1 every derivative is 0. */
        dsc_graph_free(a.g);
        const float x2[] = {1.0f, 2.0f, 3.0f, -5.0f, 0.0f, 5.0f};
        CHECK(act_net_new(&a, DSC_ACT_SOFTMAX, 2, 3) == 0);
        CHECK(act_net_run(&a, x2, NULL) == 0);
        CHECK_NEAR(act_y(&a)[2], 0.665240956, TOL);
        CHECK_NEAR(act_y(&a)[5], 0.993262357, TOL);
        for (int i = 0; i < 6; i++) CHECK_NEAR(act_dx(&a)[i], 0.0, TOL);
        dsc_graph_free(a.g);
    }
}

/* The explainer prints these strings next to the numbers. */
static void test_op_text(void)
{
    static const char *const names[] = {"identity", "softplus", "relu",   "leaky_relu",
                                        "sigmoid",  "tanh",     "softmax"};
    for (int k = 0; k < DSC_ACT_COUNT; k++) {
        act_net a;
        CHECK(act_net_new(&a, (dsc_activation)k, 1, 2) == 0);
        dsc_op_text t = dsc_graph_op_text(a.g, a.y);
        CHECK(strcmp(t.name, names[k]) == 0);
        CHECK(t.formula && t.formula[0] && t.derivative && t.derivative[0]);
        dsc_graph_free(a.g);
    }
    act_net a;
    CHECK(act_net_new(&a, DSC_ACT_SOFTPLUS, 1, 1) == 0);
    dsc_op_text t = dsc_graph_op_text(a.g, a.y);
    CHECK(strcmp(t.formula, "ln(1+e^x)") == 0);
    CHECK(strcmp(t.derivative, "1/(1+e^-x)") == 0);
    dsc_graph_free(a.g);
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Exponentials of large inputs must not overflow into Inf or NaN. */
static void test_extremes(void)
{
    const float x[] = {100.0f, -100.0f, 1e4f, -1e4f};
    for (int k = 0; k < DSC_ACT_COUNT; k++) {
        if (k == DSC_ACT_SOFTMAX) continue;
        act_net a;
        CHECK(act_net_new(&a, (dsc_activation)k, 1, 4) == 0);
        CHECK(act_net_run(&a, x, NULL) == 0);
        CHECK(all_finite(act_y(&a), 4));
        CHECK(all_finite(act_dx(&a), 4));
        const float *y = act_y(&a), *dx = act_dx(&a);
        switch (k) {
        case DSC_ACT_SOFTPLUS:
            CHECK(y[0] == 100.0f && y[2] == 1e4f);
            CHECK(y[1] >= 0.0f && y[1] < 1e-40f && y[3] == 0.0f);
            CHECK(dx[0] == 1.0f && dx[2] == 1.0f && dx[1] < 1e-40f && dx[3] == 0.0f);
            break;
        case DSC_ACT_SIGMOID:
            CHECK(y[0] == 1.0f && y[2] == 1.0f && y[3] == 0.0f);
            CHECK(y[1] >= 0.0f && y[1] < 1e-40f);
            CHECK(dx[0] == 0.0f && dx[2] == 0.0f && dx[3] == 0.0f && dx[1] < 1e-40f);
            break;
        case DSC_ACT_TANH:
            CHECK(y[0] == 1.0f && y[1] == -1.0f && y[2] == 1.0f && y[3] == -1.0f);
            for (int i = 0; i < 4; i++) CHECK(dx[i] == 0.0f);
            break;
        default: break;
        }
        dsc_graph_free(a.g);
    }
    /* softmax([1000, 0]) = [1, 0], softmax([-1e4, 1e4]) = [0, 1], and a row
     * of equal huge logits shares evenly. */
    const float xs[] = {1000.0f, 0.0f, -1e4f, 1e4f, 1e4f, 1e4f};
    const float ws[] = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f};
    act_net a;
    CHECK(act_net_new(&a, DSC_ACT_SOFTMAX, 3, 2) == 0);
    CHECK(act_net_run(&a, xs, ws) == 0);
    const float *y = act_y(&a);
    CHECK(y[0] == 1.0f && y[1] == 0.0f && y[2] == 0.0f && y[3] == 1.0f);
    CHECK(y[4] == 0.5f && y[5] == 0.5f);
    CHECK(all_finite(act_dx(&a), 6));
    CHECK_NEAR(act_dx(&a)[0], 0.0, TOL);
    CHECK_NEAR(act_dx(&a)[4], 0.25, TOL);
    CHECK_NEAR(act_dx(&a)[5], -0.25, TOL);
    dsc_graph_free(a.g);
}

#define KINKS 1000

/* Builds relu (or leaky relu) on KINKS zeros and returns their derivatives. */
static void kink_grads(dsc_activation act, dsc_relu_grad rule, uint64_t seed, float *out)
{
    static float zeros[KINKS];
    act_net a;
    CHECK(act_net_new(&a, act, 1, KINKS) == 0);
    dsc_graph_set_relu_grad(a.g, rule, seed);
    CHECK(act_net_run(&a, zeros, NULL) == 0);
    CHECK(act_y(&a)[0] == 0.0f);
    memcpy(out, act_dx(&a), sizeof(float) * KINKS);
    dsc_graph_free(a.g);
}

/* The seed: at x = 0 "the derivative can be defined as 0 or 1, or randomly
 * chosen between the two". Leaky ReLU chooses between its slope and 1. */
static void test_relu_at_zero(void)
{
    static float d[KINKS], d2[KINKS], d3[KINKS];
    for (int leaky = 0; leaky < 2; leaky++) {
        dsc_activation act = leaky ? DSC_ACT_LEAKY_RELU : DSC_ACT_RELU;
        float left = leaky ? 0.01f : 0.0f;
        size_t n_left = 0, n_right = 0;

        kink_grads(act, DSC_RELU_GRAD_ZERO, 0, d);
        for (size_t i = 0; i < KINKS; i++) n_left += d[i] == left;
        CHECK(n_left == KINKS);

        kink_grads(act, DSC_RELU_GRAD_ONE, 0, d);
        for (size_t i = 0; i < KINKS; i++) n_right += d[i] == 1.0f;
        CHECK(n_right == KINKS);

        n_left = n_right = 0;
        kink_grads(act, DSC_RELU_GRAD_RANDOM, 42, d);
        for (size_t i = 0; i < KINKS; i++) {
            n_left += d[i] == left;
            n_right += d[i] == 1.0f;
        }
        CHECK(n_left + n_right == KINKS);
        CHECK(n_left > 400 && n_right > 400);
        /* The same seed draws the same bits; another seed draws others. */
        kink_grads(act, DSC_RELU_GRAD_RANDOM, 42, d2);
        CHECK(memcmp(d, d2, sizeof d) == 0);
        kink_grads(act, DSC_RELU_GRAD_RANDOM, 43, d3);
        CHECK(memcmp(d, d3, sizeof d) != 0);
    }
    /* A new forward pass draws new bits. */
    act_net a;
    static float zeros[KINKS];
    CHECK(act_net_new(&a, DSC_ACT_RELU, 1, KINKS) == 0);
    dsc_graph_set_relu_grad(a.g, DSC_RELU_GRAD_RANDOM, 42);
    CHECK(act_net_run(&a, zeros, NULL) == 0);
    memcpy(d, act_dx(&a), sizeof d);
    CHECK(act_net_run(&a, zeros, NULL) == 0);
    CHECK(memcmp(d, act_dx(&a), sizeof d) != 0);
    dsc_graph_free(a.g);
}

/* Uniform in [-2, 2] but at least 0.1 away from 0, where relu has its kink. */
static float away_from_kink(dsc_rng *r)
{
    float v = 4.0f * dsc_rng_uniform(r) - 2.0f;
    return fabsf(v) < 0.1f ? (v < 0.0f ? -0.5f : 0.5f) : v;
}

static void test_gradcheck(void)
{
    dsc_rng r;
    dsc_rng_seed(&r, 7, 1);
    for (int k = 0; k < DSC_ACT_COUNT; k++) {
        act_net a;
        float x[6], w[6];
        for (int i = 0; i < 6; i++) {
            x[i] = away_from_kink(&r);
            w[i] = 2.0f * dsc_rng_uniform(&r) - 1.0f;
        }
        CHECK(act_net_new(&a, (dsc_activation)k, 2, 3) == 0);
        CHECK(act_net_run(&a, x, w) == 0);
        double err = 1.0;
        size_t worst = 0, kinks = 1;
        CHECK_OK(dsc_graph_gradcheck(a.g, a.loss, &err, &worst, &kinks));
        CHECK(kinks == 0); /* the points are away from every kink */
        CHECK(err < 1e-3);
        if (kinks) fprintf(stderr, "  %zu kinks\n", kinks);
        if (!(err < 1e-3))
            fprintf(stderr, "  activation %d: error %g at parameter %zu\n", k, err, worst);
        dsc_graph_free(a.g);
    }
}

/* Large enough to run in parallel: the same bits for 1 and 3 threads. */
static void test_threads(void)
{
    enum { ROWS = 250, COLS = 160, N = ROWS * COLS };
    static float x[N], w[N], y1[N], d1[N];
    dsc_rng r;
    dsc_rng_seed(&r, 11, 2);
    for (int i = 0; i < N; i++) {
        x[i] = 8.0f * dsc_rng_uniform(&r) - 4.0f;
        w[i] = dsc_rng_uniform(&r);
        if (i % 7 == 0) x[i] = 0.0f;
    }
    for (int k = 0; k < DSC_ACT_COUNT; k++) {
        for (int t = 1; t <= 3; t += 2) {
            act_net a;
            CHECK(act_net_new(&a, (dsc_activation)k, ROWS, COLS) == 0);
            dsc_graph_set_threads(a.g, t);
            dsc_graph_set_relu_grad(a.g, DSC_RELU_GRAD_RANDOM, 5);
            CHECK(act_net_run(&a, x, w) == 0);
            if (t == 1) {
                memcpy(y1, act_y(&a), sizeof y1);
                memcpy(d1, act_dx(&a), sizeof d1);
            } else {
                CHECK(memcmp(y1, act_y(&a), sizeof y1) == 0);
                CHECK(memcmp(d1, act_dx(&a), sizeof d1) == 0);
            }
            dsc_graph_free(a.g);
        }
    }
}

/* Activations on batch rows: only the current batch is computed, and data
 * inputs get values but no gradient. */
static void test_batch_input(void)
{
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node x = dsc_input(g, "x", 3);
    dsc_node y = dsc_activate(g, DSC_ACT_SOFTMAX, x);
    CHECK_OK(dsc_graph_compile(g, 4, NULL, DSC_COMPILE_NO_GRAD));
    const float xs[] = {1, 2, 3, 0, 0, 0};
    CHECK_OK(dsc_graph_bind(g, x, xs));
    CHECK_OK(dsc_graph_set_batch(g, 2));
    CHECK_OK(dsc_graph_forward(g));
    dsc_tensor v = dsc_graph_value(g, y);
    CHECK(v.rows == 2 && v.cols == 3);
    CHECK_NEAR(v.data[1], 0.244728471, TOL);
    for (int j = 3; j < 6; j++) CHECK_NEAR(v.data[j], 1.0 / 3.0, TOL);
    for (int j = 6; j < 12; j++) CHECK(v.data[j] == 0.0f); /* rows past the batch */
    dsc_graph_free(g);
}

int main(void)
{
    test_hand_values();
    test_op_text();
    test_extremes();
    test_relu_at_zero();
    test_gradcheck();
    test_threads();
    test_batch_input();
    return check_report();
}
