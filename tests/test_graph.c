/* The graph core: building, shapes, forward values of the basic ops, the
 * chain rule through backward (accumulation when a node is used twice),
 * batch sizes, errors, gradient check sharp enough to catch a broken op. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "descent_graph.h"
#include "graph/graph_internal.h"

/* The seed's line: predicted = intercept + slope * x, SSR against y. */
static void test_seed_line(void)
{
    const float x[] = {0.5f, 2.3f, 2.9f}, y[] = {1.4f, 1.9f, 3.2f};
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node xn = dsc_input(g, "x", 1), yn = dsc_input(g, "y", 1);
    dsc_node icpt = dsc_param(g, "intercept", 1, 1), slope = dsc_param(g, "slope", 1, 1);
    dsc_node pred = dsc_add(g, dsc_matmul(g, xn, slope, 0, 0), icpt);
    dsc_node ssr = dsc_loss_of(g, DSC_LOSS_SSR, pred, yn);
    CHECK_OK(dsc_graph_compile(g, 3, NULL, 0));
    CHECK(dsc_graph_param_count(g) == 2);
    float *p = dsc_graph_params(g);
    p[0] = 0.0f;  /* intercept */
    p[1] = 0.64f; /* slope */
    CHECK_OK(dsc_graph_bind(g, xn, x));
    CHECK_OK(dsc_graph_bind(g, yn, y));
    CHECK_OK(dsc_graph_forward(g));
    /* Residuals 1.4-0.32, 1.9-1.472, 3.2-1.856: SSR = 1.1664+0.183184+1.806336 */
    CHECK_NEAR(dsc_graph_value(g, ssr).data[0], 3.15592, 1e-5);
    CHECK_OK(dsc_graph_backward(g, ssr));
    /* dSSR/dintercept = sum -2(observed - predicted) = -2(1.08+0.428+1.344) */
    CHECK_NEAR(dsc_graph_grads(g)[0], -5.704, 1e-5);
    /* dSSR/dslope = sum -2 x (observed - predicted) */
    CHECK_NEAR(dsc_graph_grads(g)[1], -2 * (0.5 * 1.08 + 2.3 * 0.428 + 2.9 * 1.344), 1e-4);
    /* The batch can shrink without recompiling: only the first point. */
    CHECK_OK(dsc_graph_set_batch(g, 1));
    CHECK_OK(dsc_graph_forward(g));
    CHECK_NEAR(dsc_graph_value(g, ssr).data[0], 1.1664, 1e-5);
    CHECK(dsc_graph_set_batch(g, 4) == DSC_EINVAL);
    CHECK(dsc_graph_set_batch(g, 0) == DSC_EINVAL);
    dsc_graph_free(g);
}

/* y = a * a + 3 a uses a three times: the gradient is 2a + 3. */
static void test_accumulation(void)
{
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node a = dsc_param(g, "a", 1, 1);
    dsc_node y = dsc_add(g, dsc_mul(g, a, a), dsc_scale(g, a, 3.0f));
    dsc_node s = dsc_sum(g, y);
    CHECK_OK(dsc_graph_compile(g, 1, NULL, 0));
    dsc_graph_params(g)[0] = 2.5f;
    CHECK_OK(dsc_graph_forward(g));
    CHECK_NEAR(dsc_graph_value(g, s).data[0], 2.5 * 2.5 + 7.5, 1e-6);
    CHECK_OK(dsc_graph_backward(g, s));
    CHECK_NEAR(dsc_graph_grads(g)[0], 8.0, 1e-6);
    /* A second backward gives the same, not double: grads are zeroed. */
    CHECK_OK(dsc_graph_backward(g, s));
    CHECK_NEAR(dsc_graph_grads(g)[0], 8.0, 1e-6);
    dsc_graph_free(g);
}

/* Each basic op's values, and its gradient by gradient check. */
static void test_basic_ops(void)
{
    const float xv[] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node x = dsc_input(g, "x", 3);
    dsc_node w = dsc_param(g, "w", 2, 3), r = dsc_param(g, "r", 1, 3), c = dsc_param(g, "c", 1, 1);
    dsc_node mm = dsc_matmul(g, x, w, 0, 1); /* 2 x 2 */
    dsc_node mt = dsc_matmul(g, x, x, 1, 0); /* 3 x 3 = x^T x */
    dsc_node ad = dsc_add(g, x, r);          /* row broadcast */
    dsc_node sb = dsc_sub(g, x, c);          /* scalar broadcast */
    dsc_node ml = dsc_mul(g, x, r);
    dsc_node mean = dsc_mean(g, mm);
    dsc_node total = dsc_add(g, dsc_add(g, dsc_sum(g, dsc_mul(g, ad, ml)), dsc_sum(g, sb)),
                             dsc_add(g, mean, dsc_sum(g, dsc_matmul(g, mm, w, 0, 0))));
    CHECK_OK(dsc_graph_compile(g, 2, NULL, 0));
    float *p = dsc_graph_params(g);
    const float init[] = {0.1f, -0.2f, 0.3f, 0.5f, 0.4f, -0.6f, 1.0f, 2.0f, -1.0f, 0.25f};
    memcpy(p, init, sizeof init);
    CHECK_OK(dsc_graph_bind(g, x, xv));
    CHECK_OK(dsc_graph_forward(g));
    dsc_tensor t = dsc_graph_value(g, mm);
    CHECK(t.rows == 2 && t.cols == 2);
    CHECK_NEAR(t.data[0], 1 * 0.1 + 2 * -0.2 + 3 * 0.3, 1e-6);
    CHECK_NEAR(t.data[3], 4 * 0.5 + 5 * 0.4 + 6 * -0.6, 1e-6);
    t = dsc_graph_value(g, mt);
    CHECK(t.rows == 3 && t.cols == 3);
    CHECK_NEAR(t.data[1], 1 * 2 + 4 * 5, 1e-6);
    CHECK_NEAR(dsc_graph_value(g, ad).data[4], 5 + 2.0, 1e-6);
    CHECK_NEAR(dsc_graph_value(g, sb).data[5], 6 - 0.25, 1e-6);
    CHECK_NEAR(dsc_graph_value(g, ml).data[5], 6 * -1.0, 1e-6);
    /* x w^T = [[0.6, -0.5], [1.2, 0.4]] */
    CHECK_NEAR(dsc_graph_value(g, mean).data[0], (0.6 - 0.5 + 1.2 + 0.4) / 4, 1e-6);
    double err = 1;
    size_t worst = 99, kinks = 99;
    CHECK_OK(dsc_graph_gradcheck(g, total, &err, &worst, &kinks));
    CHECK(err < 1e-3);
    CHECK(kinks == 0);
    dsc_graph_free(g);
}

/* A deliberately broken op: softplus whose backward forgets the factor
 * dy. The gradient check must fail it, and pass the real one. */
static void broken_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    for (size_t i = 0; i < dsc_size(g, n); i++)
        in->grad.data[i] += 1.0f / (1.0f + expf(-in->val.data[i])); /* no * dy */
}

static void test_gradcheck_catches_broken_op(void)
{
    static dsc_op_def broken;
    broken = dsc_op_softplus;
    broken.backward = broken_backward;
    const float xv[] = {0.3f, -1.2f, 2.0f, 0.7f};
    for (int pass = 0; pass < 2; pass++) {
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        dsc_node x = dsc_input(g, "x", 2), y = dsc_input(g, "y", 1);
        dsc_node w = dsc_param(g, "w", 3, 2), v = dsc_param(g, "v", 1, 3);
        dsc_node h = dsc_activate(g, DSC_ACT_SOFTPLUS, dsc_matmul(g, x, w, 0, 1));
        dsc_node out = dsc_matmul(g, h, v, 0, 1);
        dsc_node loss = dsc_loss_of(g, DSC_LOSS_SSR, out, y);
        CHECK_OK(dsc_graph_compile(g, 2, NULL, 0));
        if (pass == 1) g->nodes[h].def = &broken;
        float *p = dsc_graph_params(g);
        for (int i = 0; i < 9; i++) p[i] = 0.3f * (float)(i % 4) - 0.5f;
        const float yv[] = {1.0f, -0.5f};
        CHECK_OK(dsc_graph_bind(g, x, xv));
        CHECK_OK(dsc_graph_bind(g, y, yv));
        double err = 0;
        CHECK_OK(dsc_graph_gradcheck(g, loss, &err, NULL, NULL));
        if (pass == 0)
            CHECK(err < 1e-3);
        else
            CHECK(err > 1e-2);
        dsc_graph_free(g);
    }
}

static void test_errors(void)
{
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node x = dsc_input(g, "x", 3);
    dsc_node w = dsc_param(g, "w", 2, 2);
    CHECK(dsc_matmul(g, x, w, 0, 0) == -1); /* 3 vs 2 inner */
    CHECK(dsc_add(g, x, 99) == -1);         /* not a node: the first error stays */
    CHECK(dsc_graph_compile(g, 4, NULL, 0) == DSC_ESHAPE);
    CHECK(strstr(dsc_last_error(), "inner dimensions") != NULL);
    dsc_graph_free(g);

    CHECK_OK(dsc_graph_new(&g));
    x = dsc_input(g, "x", 2);
    dsc_node s = dsc_sum(g, dsc_scale(g, x, 2.0f));
    CHECK_OK(dsc_graph_compile(g, 2, NULL, 0));
    CHECK(dsc_graph_forward(g) == DSC_EINVAL); /* nothing bound */
    CHECK(strstr(dsc_last_error(), "'x'") != NULL);
    CHECK(dsc_graph_backward(g, s) == DSC_EINVAL); /* no forward yet */
    CHECK(dsc_graph_bind(g, s, NULL) == DSC_EINVAL);
    CHECK(dsc_param(g, "late", 1, 1) == -1); /* compiled: no more nodes */
    dsc_graph_free(g);
    dsc_graph_free(NULL);
}

/* Forward and backward allocate nothing once compiled. */
static void test_no_allocation(void)
{
    const float xv[] = {1, 2, 3, 4, 5, 6, 7, 8}, yv[] = {1, 0, 0, 1};
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node x = dsc_input(g, "x", 4), y = dsc_input(g, "y", 2);
    dsc_node w = dsc_param(g, "w", 2, 4), b = dsc_param(g, "b", 1, 2);
    dsc_node out = dsc_activate(g, DSC_ACT_SOFTMAX, dsc_add(g, dsc_matmul(g, x, w, 0, 1), b));
    dsc_node loss = dsc_loss_of(g, DSC_LOSS_CE, out, y);
    CHECK_OK(dsc_graph_compile(g, 2, NULL, 0));
    CHECK_OK(dsc_graph_bind(g, x, xv));
    CHECK_OK(dsc_graph_bind(g, y, yv));
    CHECK_OK(dsc_graph_forward(g));
    CHECK_OK(dsc_graph_backward(g, loss));
    uint64_t before = dsc_alloc_count();
    for (int i = 0; i < 50; i++) {
        CHECK_OK(dsc_graph_forward(g));
        CHECK_OK(dsc_graph_backward(g, loss));
    }
    CHECK(dsc_alloc_count() == before);
    dsc_graph_free(g);
}

/* Dropout keeps about 1 - p of the elements, scaled by 1 / (1 - p); its
 * backward passes gradient exactly where the forward kept the element. */
static void test_dropout(void)
{
    enum { N = 4000 };
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node w = dsc_param(g, "w", 1, N);
    dsc_node d = dsc_dropout(g, w, 0.25f);
    dsc_node s = dsc_sum(g, d);
    CHECK(dsc_dropout(g, w, 1.0f) == -1);
    dsc_graph_free(g);
    CHECK_OK(dsc_graph_new(&g));
    w = dsc_param(g, "w", 1, N);
    d = dsc_dropout(g, w, 0.25f);
    s = dsc_sum(g, d);
    CHECK_OK(dsc_graph_compile(g, 1, NULL, 0));
    dsc_graph_set_seed(g, 3);
    float *p = dsc_graph_params(g);
    for (int i = 0; i < N; i++) p[i] = 1.0f;
    CHECK_OK(dsc_graph_forward(g));
    CHECK_OK(dsc_graph_backward(g, s));
    const float *y = dsc_graph_value(g, d).data, *gr = dsc_graph_grads(g);
    int kept = 0, consistent = 1;
    for (int i = 0; i < N; i++) {
        kept += y[i] != 0;
        consistent &= (y[i] == 0 && gr[i] == 0) ||
                      (fabsf(y[i] - 4.0f / 3) < 1e-6f && fabsf(gr[i] - 4.0f / 3) < 1e-6f);
    }
    CHECK(consistent);
    CHECK(kept > 2850 && kept < 3150); /* 3000 expected */
    /* A new pass draws a new mask: about 2 p (1 - p) of the elements change. */
    static float first[N];
    memcpy(first, y, sizeof first);
    CHECK_OK(dsc_graph_forward(g));
    int changed = 0;
    for (int i = 0; i < N; i++) changed += first[i] != dsc_graph_value(g, d).data[i];
    CHECK(changed > 1200 && changed < 1800); /* 1500 expected */
    dsc_graph_free(g);
}

/* The fusion pass turns a linear model + squared error on a large batch into
 * linear_ssr, which equals the separate ops, and whose gradient passes the
 * gradient check, for SSR and MSE, k = 1 and k = 3. */
static dsc_node linear_graph(dsc_graph *g, int k, int mean, dsc_node *x, dsc_node *y)
{
    *x = dsc_input(g, "x", (size_t)k);
    *y = dsc_input(g, "y", 1);
    dsc_node w = dsc_param(g, "w", 1, (size_t)k), b = dsc_param(g, "b", 1, 1);
    dsc_node pred = dsc_activate(g, DSC_ACT_IDENTITY, dsc_add(g, dsc_matmul(g, *x, w, 0, 1), b));
    return dsc_loss_of(g, mean ? DSC_LOSS_MSE : DSC_LOSS_SSR, pred, *y);
}

static void test_linear_ssr(void)
{
    enum { N = 5000 };
    static float x[N * 3], y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)((i * 7 + j * 13) % 101) / 50.0f - 1.0f;
        y[i] = 0.3f * x[i * 3] - 0.7f * x[i * 3 + 1] + 0.1f + (float)(i % 7) / 70.0f;
    }
    for (int k = 1; k <= 3; k += 2)
        for (int mean = 0; mean < 2; mean++) {
            dsc_graph *fused, *plain;
            CHECK_OK(dsc_graph_new(&fused));
            CHECK_OK(dsc_graph_new(&plain));
            dsc_node fx, fy, px, py;
            dsc_node fl = linear_graph(fused, k, mean, &fx, &fy);
            dsc_node pl = linear_graph(plain, k, mean, &px, &py);
            CHECK_OK(dsc_graph_compile(fused, N, NULL, DSC_COMPILE_FUSE_));
            CHECK_OK(dsc_graph_compile(plain, N, NULL, 0));
            CHECK(fused->nodes[fl].op == DSC_OP_LINEAR_SSR);
            CHECK(plain->nodes[pl].op == (mean ? DSC_OP_MSE : DSC_OP_SSR));
            /* x is N x 3 in memory; with k = 1 the first column's layout
             * differs, so bind a copy of the right shape. */
            static float xk[N * 3];
            for (int i = 0; i < N; i++)
                for (int j = 0; j < k; j++) xk[i * k + j] = x[i * 3 + j];
            for (dsc_graph *g = fused; g; g = g == fused ? plain : NULL) {
                float *p = dsc_graph_params(g);
                for (int j = 0; j < k; j++) p[j] = 0.5f - 0.25f * (float)j;
                p[k] = -0.2f;
            }
            CHECK_OK(dsc_graph_bind(fused, fx, xk));
            CHECK_OK(dsc_graph_bind(fused, fy, y));
            CHECK_OK(dsc_graph_bind(plain, px, xk));
            CHECK_OK(dsc_graph_bind(plain, py, y));
            CHECK_OK(dsc_graph_forward(fused));
            CHECK_OK(dsc_graph_forward(plain));
            CHECK_OK(dsc_graph_backward(fused, fl));
            CHECK_OK(dsc_graph_backward(plain, pl));
            double lf = dsc_graph_value(fused, fl).data[0], lp = dsc_graph_value(plain, pl).data[0];
            CHECK_NEAR(lf, lp, 1e-5 * fabs(lp));
            for (int j = 0; j <= k; j++)
                CHECK_NEAR(dsc_graph_grads(fused)[j], dsc_graph_grads(plain)[j],
                           1e-4 * (1 + fabs(dsc_graph_grads(plain)[j])));
            double err = 1;
            size_t kinks = 9;
            CHECK_OK(dsc_graph_set_batch(fused, 40));
            CHECK_OK(dsc_graph_gradcheck(fused, fl, &err, NULL, &kinks));
            CHECK(err < 1e-3 && kinks == 0);
            dsc_graph_free(fused);
            dsc_graph_free(plain);
        }
    /* Graphs it does not take stay as they are: two outputs, a small
     * batch, a value used twice. */
    for (int c = 0; c < 3; c++) {
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        dsc_node gx = dsc_input(g, "x", 2), gy = dsc_input(g, "y", c == 0 ? 2 : 1);
        dsc_node gw = dsc_param(g, "w", c == 0 ? 2 : 1, 2),
                 gb = dsc_param(g, "b", 1, c == 0 ? 2 : 1);
        dsc_node z = dsc_add(g, dsc_matmul(g, gx, gw, 0, 1), gb);
        dsc_node pred = dsc_activate(g, DSC_ACT_IDENTITY, z);
        dsc_node l = dsc_loss_of(g, DSC_LOSS_SSR, pred, gy);
        if (c == 2) l = dsc_add(g, l, dsc_sum(g, z));
        CHECK_OK(dsc_graph_compile(g, c == 1 ? 1000 : N, NULL, DSC_COMPILE_FUSE_));
        for (size_t i = 0; i < dsc_graph_node_count(g); i++) {
            CHECK(g->nodes[i].op != DSC_OP_LINEAR_SSR && g->nodes[i].op != DSC_OP_SMALL_NET);
            CHECK(!g->nodes[i].dead);
        }
        dsc_graph_free(g);
    }
}

int main(void)
{
    test_linear_ssr();
    test_dropout();
    test_seed_line();
    test_accumulation();
    test_basic_ops();
    test_gradcheck_catches_broken_op();
    test_errors();
    test_no_allocation();
    return check_report();
}
