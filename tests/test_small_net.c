/* The fused small_net op (which the fusion pass puts in training graphs)
 * against the same network built from separate ops:
 * loss and every gradient, for several shapes, activations, batch sizes and
 * both squared errors; the seed's network bit for bit; ReLU's kink rules;
 * the gradient check; the networks it leaves alone; and training through
 * dsc_train (which picks the fused op) against a hand-run loop over the
 * separate ops. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "descent.h"
#include "descent_graph.h"
#include "graph/graph_internal.h"

typedef struct {
    size_t layers;
    size_t units[6];
    dsc_activation act[5];
} net_shape;

typedef struct {
    dsc_graph *g;
    dsc_node x, y, loss;
} built;

/* The network as separate matmul/add/activation ops, compiled as a
 * training graph (fused = 1: the fusion pass makes it one small_net op) or
 * not. */
static built build(const net_shape *s, int fused, int mean, size_t max_batch)
{
    built b;
    CHECK_OK(dsc_graph_new(&b.g));
    b.x = dsc_input(b.g, "x", s->units[0]);
    dsc_node h = b.x;
    for (size_t k = 0; k < s->layers; k++) {
        dsc_node w = dsc_param(b.g, "w", s->units[k + 1], s->units[k]);
        dsc_node bias = dsc_param(b.g, "b", 1, s->units[k + 1]);
        h = dsc_activate(b.g, s->act[k], dsc_add(b.g, dsc_matmul(b.g, h, w, 0, 1), bias));
    }
    b.y = dsc_input(b.g, "y", s->units[s->layers]);
    b.loss = dsc_loss_of(b.g, mean ? DSC_LOSS_MSE : DSC_LOSS_SSR, h, b.y);
    CHECK_OK(dsc_graph_compile(b.g, max_batch, NULL, fused ? DSC_COMPILE_FUSE_ : 0));
    CHECK(b.g->nodes[b.loss].op == (fused ? DSC_OP_SMALL_NET : mean ? DSC_OP_MSE : DSC_OP_SSR));
    return b;
}

/* Deterministic values in [-1, 1). */
static float val(size_t i, size_t salt)
{
    return (float)((i * 37 + salt * 11) % 97) / 48.5f - 1.0f;
}

/* Runs forward and backward on both graphs with the same parameters and
 * rows; returns the largest gradient difference relative to 1 + |g|. */
static double compare(const net_shape *s, int mean, size_t rows, dsc_relu_grad rule, int exact)
{
    enum { MAXR = 64 };
    static float x[MAXR * 16], y[MAXR * 16];
    built f = build(s, 1, mean, MAXR), p = build(s, 0, mean, MAXR);
    size_t n = dsc_graph_param_count(f.g);
    CHECK(n == dsc_graph_param_count(p.g));
    for (size_t i = 0; i < n; i++)
        dsc_graph_params(f.g)[i] = dsc_graph_params(p.g)[i] = 0.9f * val(i, 3);
    for (size_t i = 0; i < MAXR * 16; i++) x[i] = 2.0f * val(i, 1), y[i] = val(i, 2);
    dsc_graph_set_relu_grad(f.g, rule, 7);
    dsc_graph_set_relu_grad(p.g, rule, 7);
    double worst = 0.0;
    /* The largest batch first, then smaller ones in the same graphs. */
    const size_t batches[] = {rows, rows / 2 + 1, 1};
    for (int bi = 0; bi < 3; bi++) {
        size_t r = batches[bi];
        for (int k = 0; k < 2; k++) {
            built *b = k ? &p : &f;
            CHECK_OK(dsc_graph_set_batch(b->g, r));
            CHECK_OK(dsc_graph_bind(b->g, b->x, x));
            CHECK_OK(dsc_graph_bind(b->g, b->y, y));
            CHECK_OK(dsc_graph_forward(b->g));
            CHECK_OK(dsc_graph_backward(b->g, b->loss));
        }
        float lf = dsc_graph_value(f.g, f.loss).data[0], lp = dsc_graph_value(p.g, p.loss).data[0];
        if (exact) {
            CHECK(memcmp(&lf, &lp, sizeof lf) == 0);
            CHECK(memcmp(dsc_graph_grads(f.g), dsc_graph_grads(p.g), n * sizeof(float)) == 0);
        }
        CHECK_NEAR(lf, lp, 1e-5 * (1 + fabs(lp)));
        for (size_t i = 0; i < n; i++) {
            double a = dsc_graph_grads(f.g)[i], b = dsc_graph_grads(p.g)[i];
            double d = fabs(a - b) / (1 + fabs(b));
            if (d > worst) worst = d;
        }
    }
    dsc_graph_free(f.g);
    dsc_graph_free(p.g);
    return worst;
}

static void test_against_separate_ops(void)
{
    const net_shape seed = {2, {1, 2, 1}, {DSC_ACT_SOFTPLUS, DSC_ACT_IDENTITY}};
    const net_shape shapes[] = {
        seed,
        {1, {3, 2}, {DSC_ACT_SIGMOID}},
        {2, {2, 5, 3}, {DSC_ACT_RELU, DSC_ACT_TANH}},
        {3, {3, 4, 4, 2}, {DSC_ACT_LEAKY_RELU, DSC_ACT_SOFTPLUS, DSC_ACT_SIGMOID}},
        {4, {16, 16, 8, 16, 1}, {DSC_ACT_TANH, DSC_ACT_RELU, DSC_ACT_SOFTPLUS, DSC_ACT_IDENTITY}},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int mean = 0; mean < 2; mean++) {
            /* The seed's network on its 3 points: the same bits as the
             * separate ops, whose products on these shapes also sum in
             * double. */
            if (s == 0) compare(&shapes[s], mean, 3, DSC_RELU_GRAD_ZERO, 1);
            double worst = compare(&shapes[s], mean, 40, DSC_RELU_GRAD_ZERO, 0);
            CHECK(worst < 1e-5);
            if (worst >= 1e-5) fprintf(stderr, "shape %zu mean %d: %g\n", s, mean, worst);
        }
}

/* Inputs and weights that put units exactly on ReLU's kink: the rules
 * choose the same derivative as the separate ops (0 or 1; the random rule
 * draws its own choices, so only its range is checked). */
static void test_kinks(void)
{
    const net_shape s = {2, {1, 3, 1}, {DSC_ACT_RELU, DSC_ACT_IDENTITY}};
    float left[10], right[10];
    for (int rule = DSC_RELU_GRAD_ZERO; rule <= DSC_RELU_GRAD_RANDOM; rule++) {
        built f = build(&s, 1, 0, 4), p = build(&s, 0, 0, 4);
        /* w1 = (1, 1, -1), b1 = (0, 0, 0): x = 0 puts all three on the kink. */
        const float params[] = {1, 1, -1, 0, 0, 0, 0.5f, -0.25f, 2.0f, 0.1f};
        memcpy(dsc_graph_params(f.g), params, sizeof params);
        memcpy(dsc_graph_params(p.g), params, sizeof params);
        const float x[] = {0, 0, 1, -1}, y[] = {1, 2, 0, 1};
        for (int k = 0; k < 2; k++) {
            built *b = k ? &p : &f;
            dsc_graph_set_relu_grad(b->g, (dsc_relu_grad)rule, 11);
            CHECK_OK(dsc_graph_bind(b->g, b->x, x));
            CHECK_OK(dsc_graph_bind(b->g, b->y, y));
            CHECK_OK(dsc_graph_forward(b->g));
            CHECK_OK(dsc_graph_backward(b->g, b->loss));
        }
        const float *gf = dsc_graph_grads(f.g), *gp = dsc_graph_grads(p.g);
        if (rule != DSC_RELU_GRAD_RANDOM) {
            for (int i = 0; i < 10; i++) CHECK_NEAR(gf[i], gp[i], 1e-6 * (1 + fabs(gp[i])));
            memcpy(rule == DSC_RELU_GRAD_ZERO ? left : right, gf, sizeof left);
        } else {
            /* The two kink rows (x = 0) push each first-layer bias the same
             * way, so whatever 0/1 choices were drawn, its gradient lies
             * between the all-left and the all-right one. */
            for (int i = 3; i < 6; i++) {
                double lo = fmin(left[i], right[i]), hi = fmax(left[i], right[i]);
                CHECK(gf[i] >= lo - 1e-6 && gf[i] <= hi + 1e-6);
            }
        }
        dsc_graph_free(f.g);
        dsc_graph_free(p.g);
    }
}

static void test_gradcheck(void)
{
    const net_shape s = {3, {2, 4, 3, 2}, {DSC_ACT_TANH, DSC_ACT_SOFTPLUS, DSC_ACT_SIGMOID}};
    built f = build(&s, 1, 1, 8);
    float x[16], y[16];
    for (int i = 0; i < 16; i++) x[i] = val((size_t)i, 5), y[i] = 0.5f * val((size_t)i, 6);
    for (size_t i = 0; i < dsc_graph_param_count(f.g); i++) dsc_graph_params(f.g)[i] = val(i, 9);
    CHECK_OK(dsc_graph_bind(f.g, f.x, x));
    CHECK_OK(dsc_graph_bind(f.g, f.y, y));
    double err = 1;
    size_t kinks = 9;
    CHECK_OK(dsc_graph_gradcheck(f.g, f.loss, &err, NULL, &kinks));
    CHECK(err < 1e-3 && kinks == 0);
    dsc_graph_free(f.g);
}

/* Networks the pass leaves as separate ops: a softmax, a layer wider than
 * 16 units, an input wider than 16, five layers, a batch over 256, the
 * random rule at ReLU's kink, a hidden value used twice. They compile and
 * run as they are. */
static void test_left_alone(void)
{
    const net_shape bad[] = {
        {1, {2, 3}, {DSC_ACT_SOFTMAX}},
        {1, {2, 17}, {DSC_ACT_RELU}},
        {1, {17, 2}, {DSC_ACT_RELU}},
        {5,
         {1, 1, 1, 1, 1, 1},
         {DSC_ACT_RELU, DSC_ACT_RELU, DSC_ACT_RELU, DSC_ACT_RELU, DSC_ACT_TANH}},
        {2, {2, 3, 1}, {DSC_ACT_TANH, DSC_ACT_IDENTITY}},
        {2, {2, 3, 1}, {DSC_ACT_RELU, DSC_ACT_IDENTITY}},
        {2, {2, 3, 1}, {DSC_ACT_TANH, DSC_ACT_IDENTITY}},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        const net_shape *s = &bad[t];
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        dsc_node x = dsc_input(g, "x", s->units[0]), h = x, first = -1;
        for (size_t k = 0; k < s->layers; k++) {
            dsc_node w = dsc_param(g, "w", s->units[k + 1], s->units[k]);
            dsc_node b = dsc_param(g, "b", 1, s->units[k + 1]);
            h = dsc_activate(g, s->act[k], dsc_add(g, dsc_matmul(g, h, w, 0, 1), b));
            if (k == 0) first = h;
        }
        dsc_node y = dsc_input(g, "y", s->units[s->layers]);
        dsc_node loss = dsc_loss_of(g, DSC_LOSS_SSR, h, y);
        if (t == 6) loss = dsc_add(g, loss, dsc_sum(g, first));
        if (t == 5) dsc_graph_set_relu_grad(g, DSC_RELU_GRAD_RANDOM, 3);
        CHECK_OK(dsc_graph_compile(g, t == 4 ? 257 : 4, NULL, DSC_COMPILE_FUSE_));
        for (size_t i = 0; i < dsc_graph_node_count(g); i++)
            CHECK(g->nodes[i].op != DSC_OP_SMALL_NET && !g->nodes[i].dead);
        dsc_graph_free(g);
    }
}

/* dsc_train on the seed's network (which runs the fused op) against plain
 * gradient descent run by hand over the separate ops: the same parameters,
 * bit for bit, after every one of 200 steps. */
static void test_training_matches(void)
{
    const float x[] = {0.0f, 0.5f, 1.0f}, y[] = {0.0f, 1.0f, 0.0f};
    dsc_dataset *d;
    CHECK_OK(dsc_dataset_from_arrays(x, y, 3, 1, 1, &d));
    dsc_model *m;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 42));
    const net_shape s = {2, {1, 2, 1}, {DSC_ACT_SOFTPLUS, DSC_ACT_IDENTITY}};
    built p = build(&s, 0, 0, 3);
    size_t n = dsc_graph_param_count(p.g);
    CHECK(n == 7);
    memcpy(dsc_graph_params(p.g), dsc_model_params(m), n * sizeof(float));
    CHECK_OK(dsc_graph_bind(p.g, p.x, x));
    CHECK_OK(dsc_graph_bind(p.g, p.y, y));
    for (int it = 0; it < 200; it++) {
        CHECK_OK(dsc_graph_forward(p.g));
        CHECK_OK(dsc_graph_backward(p.g, p.loss));
        float *w = dsc_graph_params(p.g);
        const float *g = dsc_graph_grads(p.g);
        for (size_t i = 0; i < n; i++) w[i] -= (float)(0.1 * (double)g[i]);
    }
    dsc_train_params tp;
    dsc_train_params_init(&tp);
    tp.learning_rate = 0.1;
    tp.max_iter = 200;
    tp.step_tol = 0;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &tp, &r));
    CHECK(r.iterations == 200);
    CHECK(memcmp(dsc_model_params(m), dsc_graph_params(p.g), n * sizeof(float)) == 0);
    dsc_graph_free(p.g);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

int main(void)
{
    test_against_separate_ops();
    test_kinks();
    test_gradcheck();
    test_left_alone();
    test_training_matches();
    return check_report();
}
