/* Convolution, pooling and flatten: values against plain loops written here
 * in double (odd sizes, several channels, stride 2, padding, windows that do
 * not divide the input, 1-D signals), gradients by the gradient check on
 * networks with every layer, the same bits for 1, 2 and 3 threads, no
 * allocation per step, and the shapes refused. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "graph/conv_internal.h"

static float val(size_t i, size_t salt)
{
    return (float)((i * 37 + salt * 101 + (i * i) % 13) % 97) / 48.5f - 1.0f;
}

/* y[n][f][oy][ox] in double, from the definition. */
static double conv_ref(const float *x, const float *w, const float *b, size_t n, size_t C, size_t H,
                       size_t W, size_t f, size_t KH, size_t KW, size_t SH, size_t SW, size_t PH,
                       size_t PW, size_t oy, size_t ox)
{
    double s = b[f];
    for (size_t c = 0; c < C; c++)
        for (size_t ky = 0; ky < KH; ky++)
            for (size_t kx = 0; kx < KW; kx++) {
                long iy = (long)(oy * SH + ky) - (long)PH, ix = (long)(ox * SW + kx) - (long)PW;
                if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                s += (double)w[((f * C + c) * KH + ky) * KW + kx] *
                     x[((n * C + c) * H + (size_t)iy) * W + (size_t)ix];
            }
    return s;
}

typedef struct {
    size_t C, H, W, F, K, S, P; /* H = 0: a signal of length W */
} conv_case;

static void test_conv_values(void)
{
    const conv_case cases[] = {
        {1, 7, 9, 3, 3, 1, 0},
        {2, 6, 5, 4, 3, 2, 1},
        {3, 5, 5, 2, 2, 2, 0},
        {1, 4, 4, 1, 4, 1, 0},
        {2, 5, 7, 3, 3, 1, 2},
        {2, 0, 11, 3, 3, 2, 1},
        {1, 0, 6, 2, 1, 1, 0},
        {1, 3, 1, 2, 5, 1, 2}, /* a kernel wider than image + padding */
        /* more than 32 weights per filter: im2col and the matrix multiply
         * (the cases above run directly) */
        {4, 6, 7, 3, 3, 2, 1},
        {5, 0, 9, 2, 7, 1, 3},
        {3, 5, 4, 2, 4, 1, 2},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const conv_case *k = &cases[t];
        int sig = k->H == 0;
        size_t H = sig ? 1 : k->H, KH = sig ? 1 : k->K, SH = sig ? 1 : k->S, PH = sig ? 0 : k->P;
        size_t OH = (H + 2 * PH - KH) / SH + 1, OW = (k->W + 2 * k->P - k->K) / k->S + 1;
        enum { B = 3 };
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        size_t dims[3] = {k->C, H, k->W}, sdims[2] = {k->C, k->W};
        dsc_node x = sig ? dsc_input_shaped(g, "x", 2, sdims) : dsc_input_shaped(g, "x", 3, dims);
        dsc_node w = dsc_param(g, "w", k->F, k->C * KH * k->K), b = dsc_param(g, "b", 1, k->F);
        dsc_node y = sig ? dsc_conv1d(g, x, w, b, k->K, k->S, k->P)
                         : dsc_conv2d(g, x, w, b, k->K, k->K, k->S, k->P);
        CHECK_OK(dsc_graph_compile(g, B, NULL, DSC_COMPILE_NO_GRAD));
        size_t od[3];
        CHECK(dsc_graph_node_shape(g, y, od) == (sig ? 2u : 3u));
        CHECK(od[0] == k->F && (sig ? od[1] == OW : od[1] == OH && od[2] == OW));
        size_t nx = B * k->C * H * k->W;
        float xs[B * 5 * 7 * 11];
        for (size_t i = 0; i < nx; i++) xs[i] = val(i, t);
        float *p = dsc_graph_params(g);
        for (size_t i = 0; i < dsc_graph_param_count(g); i++) p[i] = val(i, t + 5);
        CHECK_OK(dsc_graph_bind(g, x, xs));
        CHECK_OK(dsc_graph_forward(g));
        const float *yv = dsc_graph_value(g, y).data;
        const float *wv = p + dsc_graph_param_offset(g, w), *bv = p + dsc_graph_param_offset(g, b);
        double worst = 0;
        for (size_t n = 0; n < B; n++)
            for (size_t f = 0; f < k->F; f++)
                for (size_t oy = 0; oy < OH; oy++)
                    for (size_t ox = 0; ox < OW; ox++) {
                        double r = conv_ref(xs, wv, bv, n, k->C, H, k->W, f, KH, k->K, SH, k->S, PH,
                                            k->P, oy, ox);
                        double e = fabs(yv[((n * k->F + f) * OH + oy) * OW + ox] - r);
                        if (e > worst) worst = e;
                    }
        if (worst > 1e-5) fprintf(stderr, "conv case %zu: off by %g\n", t, worst);
        CHECK(worst <= 1e-5);
        dsc_graph_free(g);
    }
}

static void test_pool_values(void)
{
    /* 7 x 5 with 2 x 2 windows: 3 x 2 outputs, the last row and column
     * dropped; 3 x 3 windows with stride 2 overlap. */
    for (int shape = 0; shape < 2; shape++)
        for (int avg = 0; avg < 2; avg++)
            for (int k = 2; k <= 3; k++) {
                /* 21 columns: a block of eight 2 x 2 windows and two more */
                size_t H = shape ? 6 : 7, W = shape ? 21 : 5;
                size_t s = 2, OH = (H - (size_t)k) / s + 1, OW = (W - (size_t)k) / s + 1;
                dsc_graph *g;
                CHECK_OK(dsc_graph_new(&g));
                size_t dims[3] = {2, H, W};
                dsc_node x = dsc_input_shaped(g, "x", 3, dims);
                dsc_node y =
                    avg ? dsc_avgpool2d(g, x, (size_t)k, s) : dsc_maxpool2d(g, x, (size_t)k, s);
                CHECK_OK(dsc_graph_compile(g, 2, NULL, DSC_COMPILE_NO_GRAD));
                float xs[2 * 2 * 7 * 21];
                for (size_t i = 0; i < 2 * 2 * H * W; i++) xs[i] = val(i, (size_t)k);
                CHECK_OK(dsc_graph_bind(g, x, xs));
                CHECK_OK(dsc_graph_forward(g));
                const float *yv = dsc_graph_value(g, y).data;
                CHECK(dsc_graph_value(g, y).cols == 2 * OH * OW);
                for (size_t pl = 0; pl < 4; pl++)
                    for (size_t oy = 0; oy < OH; oy++)
                        for (size_t ox = 0; ox < OW; ox++) {
                            double m = -1e30, sum = 0;
                            for (int a = 0; a < k; a++)
                                for (int b = 0; b < k; b++) {
                                    double v = xs[pl * H * W + (oy * s + (size_t)a) * W + ox * s +
                                                  (size_t)b];
                                    m = fmax(m, v);
                                    sum += v;
                                }
                            double want = avg ? sum / (k * k) : m;
                            CHECK_NEAR(yv[pl * OH * OW + oy * OW + ox], want, 1e-6);
                        }
                dsc_graph_free(g);
            }
}

/* A network with every layer: conv (stride 2, padding) -> tanh -> maxpool
 * (window not dividing) -> conv -> relu -> avgpool -> flatten -> dense ->
 * loss; and a 1-D one. */
typedef struct {
    dsc_graph *g;
    dsc_node x, y, loss;
    size_t n_in, n_out;
} net;

static net build_net(int one_d, size_t batch, int threads)
{
    net t;
    CHECK_OK(dsc_graph_new(&t.g));
    dsc_graph *g = t.g;
    dsc_node h;
    if (!one_d) {
        size_t dims[3] = {2, 9, 8};
        t.n_in = 2 * 9 * 8;
        t.x = dsc_input_shaped(g, "x", 3, dims);
        dsc_node w1 = dsc_param(g, "w1", 3, 2 * 3 * 3), b1 = dsc_param(g, "b1", 1, 3);
        h = dsc_activate(g, DSC_ACT_TANH, dsc_conv2d(g, t.x, w1, b1, 3, 3, 2, 1)); /* 3x5x4 */
        h = dsc_maxpool2d(g, h, 2, 0);                                             /* 3x2x2 */
        dsc_node w2 = dsc_param(g, "w2", 4, 3 * 2 * 2), b2 = dsc_param(g, "b2", 1, 4);
        h = dsc_activate(g, DSC_ACT_SOFTPLUS, dsc_conv2d(g, h, w2, b2, 2, 2, 1, 1)); /* 4x3x3 */
        /* 36 weights per filter: through im2col, with a gradient to pass on */
        dsc_node w4 = dsc_param(g, "w4", 3, 4 * 3 * 3), b4 = dsc_param(g, "b4", 1, 3);
        h = dsc_activate(g, DSC_ACT_TANH, dsc_conv2d(g, h, w4, b4, 3, 3, 1, 1)); /* 3x3x3 */
        h = dsc_avgpool2d(g, h, 2, 1);                                           /* 3x2x2 */
    } else {
        size_t dims[2] = {2, 13};
        t.n_in = 26;
        t.x = dsc_input_shaped(g, "x", 2, dims);
        dsc_node w1 = dsc_param(g, "w1", 3, 2 * 4), b1 = dsc_param(g, "b1", 1, 3);
        h = dsc_activate(g, DSC_ACT_SIGMOID, dsc_conv1d(g, t.x, w1, b1, 4, 2, 1)); /* 3x6 */
        h = dsc_maxpool1d(g, h, 4, 0);                                             /* 3x1 */
        dsc_node w2 = dsc_param(g, "w2", 2, 3 * 1), b2 = dsc_param(g, "b2", 1, 2);
        h = dsc_conv1d(g, h, w2, b2, 1, 1, 0); /* 2x1 */
        dsc_node w4 = dsc_param(g, "w4", 2, 2 * 17), b4 = dsc_param(g, "b4", 1, 2);
        h = dsc_conv1d(g, h, w4, b4, 17, 1, 8); /* 2x1, 34 weights: im2col */
        h = dsc_avgpool1d(g, h, 1, 1);
    }
    h = dsc_flatten(g, h);
    size_t flat = dsc_graph_value(g, h).cols ? 0 : 0;
    (void)flat;
    size_t hd[3];
    dsc_graph_node_shape(g, h, hd);
    t.n_out = 3;
    dsc_node w3 = dsc_param(g, "w3", 3, hd[0]), b3 = dsc_param(g, "b3", 1, 3);
    dsc_node out = dsc_add(g, dsc_matmul(g, h, w3, 0, 1), b3);
    t.y = dsc_input(g, "y", 3);
    t.loss = dsc_loss_of(g, DSC_LOSS_MSE, out, t.y);
    CHECK_OK(dsc_graph_compile(g, batch, NULL, 0));
    dsc_graph_set_threads(g, threads);
    float *p = dsc_graph_params(g);
    for (size_t i = 0; i < dsc_graph_param_count(g); i++) p[i] = 0.8f * val(i, 77);
    return t;
}

static void test_gradcheck(void)
{
    for (int one_d = 0; one_d < 2; one_d++) {
        net t = build_net(one_d, 3, 1);
        static float x[3 * 144], y[9];
        for (size_t i = 0; i < 3 * t.n_in; i++) x[i] = val(i, 3);
        for (size_t i = 0; i < 9; i++) y[i] = val(i, 4);
        CHECK_OK(dsc_graph_bind(t.g, t.x, x));
        CHECK_OK(dsc_graph_bind(t.g, t.y, y));
        double err = 1;
        size_t kinks = 0;
        CHECK_OK(dsc_graph_gradcheck(t.g, t.loss, &err, NULL, &kinks));
        if (!(err < 1e-3))
            fprintf(stderr, "gradcheck %s: %g (%zu kinks)\n", one_d ? "1-D" : "2-D", err, kinks);
        CHECK(err < 1e-3);
        CHECK(kinks < dsc_graph_param_count(t.g) / 4);
        dsc_graph_free(t.g);
    }
}

/* Gradient of the input too: a parameter feeding conv and pools (dcols and
 * col2im, the pools' backward into a non-data node). */
static void test_input_gradient(void)
{
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    size_t dims[3] = {2, 5, 6};
    dsc_node xin = dsc_input_shaped(g, "x", 3, dims);
    dsc_node xs = dsc_param(g, "scale", 1, 60);
    dsc_node x = dsc_mul(g, xin, xs); /* the image, scaled by parameters */
    g->nodes[x].rank = 3, memcpy(g->nodes[x].dims, dims, sizeof dims);
    dsc_node w = dsc_param(g, "w", 3, 2 * 2 * 3), b = dsc_param(g, "b", 1, 3);
    dsc_node c = dsc_conv2d(g, x, w, b, 2, 3, 2, 1);
    dsc_node m = dsc_maxpool2d(g, dsc_activate(g, DSC_ACT_TANH, c), 2, 1);
    dsc_node loss = dsc_sum(g, dsc_mul(g, m, m));
    CHECK_OK(dsc_graph_compile(g, 2, NULL, 0));
    float *p = dsc_graph_params(g);
    for (size_t i = 0; i < dsc_graph_param_count(g); i++) p[i] = 1.0f + 0.5f * val(i, 9);
    float xv[120];
    for (int i = 0; i < 120; i++) xv[i] = val((size_t)i, 10);
    CHECK_OK(dsc_graph_bind(g, xin, xv));
    double err = 1;
    CHECK_OK(dsc_graph_gradcheck(g, loss, &err, NULL, NULL));
    CHECK(err < 1e-3);
    dsc_graph_free(g);
}

/* 1, 2 and 3 threads give the same bits; a second step allocates nothing. */
static void test_threads_and_allocation(void)
{
    enum { B = 200 }; /* enough work to run in parallel pieces */
    static float x[B * 144], y[B * 3];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = val(i, 21);
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) y[i] = val(i, 22);
    float loss1 = 0, *grads1 = NULL;
    size_t np = 0;
    for (int th = 1; th <= 3; th++) {
        net t = build_net(0, B, th);
        CHECK_OK(dsc_graph_bind(t.g, t.x, x));
        CHECK_OK(dsc_graph_bind(t.g, t.y, y));
        CHECK_OK(dsc_graph_forward(t.g));
        CHECK_OK(dsc_graph_backward(t.g, t.loss));
        uint64_t before = dsc_alloc_count();
        CHECK_OK(dsc_graph_forward(t.g));
        CHECK_OK(dsc_graph_backward(t.g, t.loss));
        CHECK(dsc_alloc_count() == before);
        float l = dsc_graph_value(t.g, t.loss).data[0];
        np = dsc_graph_param_count(t.g);
        if (th == 1) {
            loss1 = l;
            grads1 = malloc(np * sizeof(float));
            memcpy(grads1, dsc_graph_grads(t.g), np * sizeof(float));
        } else {
            CHECK(memcmp(&l, &loss1, sizeof l) == 0);
            CHECK(memcmp(grads1, dsc_graph_grads(t.g), np * sizeof(float)) == 0);
        }
        dsc_graph_free(t.g);
    }
    free(grads1);
}

/* A batch larger than the chunks im2col works in (16 channels of 12 x 12:
 * 18 samples a chunk): values and the gradients of weights, bias and
 * input as the sum of one-sample runs. */
static void test_chunks(void)
{
    enum { B = 40, D = 16 * 12 * 12 };
    static float x[B * D], gw_batch[8 * 144 + 8], gw_sum[8 * 144 + 8], gx_batch[D], gx_sum[D];
    for (size_t i = 0; i < B * D; i++) x[i] = val(i, 41);
    float y_batch[8 * 100], loss_sum = 0, loss_batch = 0;
    memset(gw_sum, 0, sizeof gw_sum);
    memset(gx_sum, 0, sizeof gx_sum);
    for (int one = 0; one < 2; one++) {
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        size_t dims[3] = {16, 12, 12};
        dsc_node xin = dsc_input_shaped(g, "x", 3, dims);
        dsc_node scale = dsc_param(g, "scale", 1, D); /* makes the input need a gradient */
        dsc_node xs = dsc_mul(g, xin, scale);
        g->nodes[xs].rank = 3, memcpy(g->nodes[xs].dims, dims, sizeof dims);
        dsc_node w = dsc_param(g, "w", 8, 144), b = dsc_param(g, "b", 1, 8);
        dsc_node c = dsc_conv2d(g, xs, w, b, 3, 3, 1, 0);
        dsc_node t = dsc_activate(g, DSC_ACT_TANH, c);
        dsc_node l = dsc_sum(g, dsc_mul(g, t, t));
        CHECK_OK(dsc_graph_compile(g, one ? 1 : B, NULL, 0));
        CHECK(g->nodes[c].ip[6] == 0 && g->nodes[c].ip[7] == 18);
        /* buffers for the graph's largest batch: 8 groups of 5 samples for
         * 40 rows (chunks of 15 would fit), one group of one sample for 1 */
        size_t K = 144, F = 8, PE = 10 * 10, room = one ? 1 : 5, G = one ? 1 : 8;
        CHECK(g->nodes[c].keep == G * ((2 * K + F) * room * PE + F * K + F));
        float *p = dsc_graph_params(g);
        for (size_t i = 0; i < D; i++) p[i] = 1.0f + 0.1f * val(i, 42);
        for (size_t i = D; i < dsc_graph_param_count(g); i++) p[i] = 0.05f * val(i, 43);
        size_t wo = dsc_graph_param_offset(g, w), so = dsc_graph_param_offset(g, scale);
        for (size_t s0 = 0; s0 < B; s0 += one ? 1 : B) {
            CHECK_OK(dsc_graph_bind(g, xin, x + s0 * D));
            CHECK_OK(dsc_graph_forward(g));
            CHECK_OK(dsc_graph_backward(g, l));
            const float *gr = dsc_graph_grads(g);
            if (one) {
                loss_sum += dsc_graph_value(g, l).data[0];
                for (size_t i = 0; i < 8 * 144 + 8; i++) gw_sum[i] += gr[wo + i];
                /* d loss / d scale_j: sums x_j dx_j, the input's gradient (col2im) */
                for (size_t i = 0; i < D; i++) gx_sum[i] += gr[so + i];
                if (s0 == 3) memcpy(y_batch + 400, dsc_graph_value(g, c).data, 400 * 4);
            } else {
                loss_batch = dsc_graph_value(g, l).data[0];
                memcpy(gw_batch, gr + wo, sizeof gw_batch);
                memcpy(y_batch, dsc_graph_value(g, c).data + 3 * 800, 400 * 4);
                memcpy(gx_batch, gr + so, sizeof gx_batch);
            }
        }
        dsc_graph_free(g);
    }
    CHECK_NEAR(loss_batch, loss_sum, 1e-4 * fabs(loss_sum));
    double worst = 0;
    for (size_t i = 0; i < 8 * 144 + 8; i++)
        worst = fmax(worst, fabs(gw_batch[i] - gw_sum[i]) / (1 + fabs(gw_sum[i])));
    CHECK(worst < 1e-4);
    worst = 0;
    for (size_t i = 0; i < D; i++)
        worst = fmax(worst, fabs(gx_batch[i] - gx_sum[i]) / (1 + fabs(gx_sum[i])));
    CHECK(worst < 1e-4);
    for (size_t i = 0; i < 400; i++) CHECK_NEAR(y_batch[i], y_batch[400 + i], 1e-5);

    /* A graph without gradients keeps patches and products only. */
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    size_t dims[3] = {16, 12, 12};
    dsc_node xin = dsc_input_shaped(g, "x", 3, dims);
    dsc_node w = dsc_param(g, "w", 8, 144), b = dsc_param(g, "b", 1, 8);
    dsc_node c = dsc_conv2d(g, xin, w, b, 3, 3, 1, 0);
    CHECK_OK(dsc_graph_compile(g, 3, NULL, DSC_COMPILE_NO_GRAD));
    CHECK(g->nodes[c].keep == 3 * (144 + 8) * 10 * 10);
    float *p = dsc_graph_params(g);
    for (size_t i = 0; i < dsc_graph_param_count(g); i++) p[i] = 0.05f * val(i, 44);
    const float *pw = p + dsc_graph_param_offset(g, w), *pb = p + dsc_graph_param_offset(g, b);
    CHECK_OK(dsc_graph_bind(g, xin, x));
    CHECK_OK(dsc_graph_forward(g));
    const float *yv = dsc_graph_value(g, c).data;
    for (size_t n = 0; n < 3; n++)
        for (size_t f = 0; f < 8; f++)
            for (size_t o = 0; o < 100; o++)
                CHECK_NEAR(yv[(n * 8 + f) * 100 + o],
                           conv_ref(x, pw, pb, n, 16, 12, 12, f, 3, 3, 1, 1, 0, 0, o / 10, o % 10),
                           1e-4);
    dsc_graph_free(g);
}

/* The fusion pass swaps maxpool(relu(z)) into relu(maxpool(z)) in training
 * graphs, and without padding merges the (direct) first convolution with
 * the pool (conv_pool): the same loss and gradients, bit for bit; neither
 * under another rule at ReLU's kink. */
static void test_pool_swap(void)
{
    enum { B = 6 };
    static float x[B * 2 * 8 * 7], y[B * 2];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = val(i, 31);
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) y[i] = val(i, 32);
    /* pools: 2 x 2, and 3 x 3 windows at stride 2 (overlapping; on 6 x 5
     * the last column is dropped) */
    for (int win = 2; win <= 3; win++)
        for (int pad = 0; pad < 2; pad++)
            for (int rule = 0; rule < 2; rule++)
                for (int act = 0; act < 2; act++) {
                    float loss[2], grads[2][200];
                    size_t np = 0;
                    for (int fuse = 0; fuse < 2; fuse++) {
                        dsc_graph *g;
                        CHECK_OK(dsc_graph_new(&g));
                        size_t dims[3] = {2, 8, 7};
                        dsc_node xn = dsc_input_shaped(g, "x", 3, dims);
                        dsc_node w = dsc_param(g, "w", 3, 18), b = dsc_param(g, "b", 1, 3);
                        dsc_node c = dsc_conv2d(g, xn, w, b, 3, 3, 1, (size_t)pad);
                        dsc_node a = dsc_activate(g, act ? DSC_ACT_LEAKY_RELU : DSC_ACT_RELU, c);
                        dsc_node p = dsc_maxpool2d(g, a, (size_t)win, 2);
                        /* 3 x (4 x 3 | 3 x 2) for 2 x 2 windows, 3 x (3 x 3 | 2 x 2) for 3 x 3 */
                        size_t flat = win == 2 ? (pad ? 36 : 18) : (pad ? 27 : 12);
                        dsc_node w2 = dsc_param(g, "w2", 2, flat), b2 = dsc_param(g, "b2", 1, 2);
                        dsc_node out = dsc_add(g, dsc_matmul(g, dsc_flatten(g, p), w2, 0, 1), b2);
                        dsc_node yn = dsc_input(g, "y", 2);
                        dsc_node l = dsc_loss_of(g, DSC_LOSS_MSE, out, yn);
                        dsc_graph_set_relu_grad(g, rule ? DSC_RELU_GRAD_ONE : DSC_RELU_GRAD_ZERO,
                                                1);
                        CHECK_OK(dsc_graph_compile(g, B, NULL, fuse ? DSC_COMPILE_FUSE_ : 0));
                        int changed = fuse && !rule;
                        CHECK(g->nodes[a].op == (!changed ? (act ? DSC_OP_LEAKY_RELU : DSC_OP_RELU)
                                                 : pad    ? DSC_OP_MAXPOOL
                                                          : DSC_OP_CONV_POOL));
                        CHECK(g->nodes[c].dead == (changed && !pad));
                        np = dsc_graph_param_count(g);
                        for (size_t i = 0; i < np; i++) dsc_graph_params(g)[i] = val(i, 33);
                        CHECK_OK(dsc_graph_bind(g, xn, x));
                        CHECK_OK(dsc_graph_bind(g, yn, y));
                        CHECK_OK(dsc_graph_forward(g));
                        CHECK_OK(dsc_graph_backward(g, l));
                        loss[fuse] = dsc_graph_value(g, l).data[0];
                        memcpy(grads[fuse], dsc_graph_grads(g), np * sizeof(float));
                        dsc_graph_free(g);
                    }
                    CHECK(memcmp(&loss[0], &loss[1], sizeof(float)) == 0);
                    CHECK(memcmp(grads[0], grads[1], np * sizeof(float)) == 0);
                }
}

/* The direct way's plane kernels: the AVX-512 forward (sixteen lanes) gives
 * the eight-lane body's bits for lengths around its blocks, and so does
 * the weight gradient's sixteen-lane body; the plane sum is the sum (a 28 x 28 image's 26 x 26
 * plane, extended: 754 values). */
static void test_plane_kernels(void)
{
    static float x[3 * 30 * 30], out[2][800];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = val(i, 41) * (i % 7 ? 1.0f : -3.5f);
    dsc_conv_geom q = {0};
    q.C = 3, q.H = 30, q.W = 28, q.KH = 3, q.KW = 3, q.K = 27;
    size_t off[DSC_CONV_DIRECT_K];
    dsc_conv_tap_offsets(&q, off);
    float w[27];
    for (size_t t = 0; t < 27; t++) w[t] = val(t, 42);
    const size_t lens[] = {1, 7, 8, 15, 16, 17, 63, 64, 65, 79, 88, 754};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t n = lens[k];
        for (int wide = 0; wide < 2; wide++) {
            if (wide && !dsc_conv_wide()) continue;
            memset(out[wide], 0, sizeof out[wide]);
            dsc_conv_plane_forward(x, off, w, 27, 0.25f, out[wide], n, wide);
        }
        if (dsc_conv_wide()) CHECK(memcmp(out[0], out[1], n * sizeof(float)) == 0);
        double want = 0.0;
        for (size_t i = 0; i < n; i++) want += out[0][i];
        CHECK_NEAR(dsc_conv_plane_sum(out[0], n), want, 1e-4 * (1.0 + fabs(want)));
        /* the weight gradient: both bodies the same bits, each tap near its
         * dot product */
        double acc[2][27] = {{0}};
        for (int wide = 0; wide < 2; wide++)
            if (!wide || dsc_conv_wide())
                dsc_conv_plane_wgrad(x, off, out[0], 27, acc[wide], n, wide);
        if (dsc_conv_wide()) CHECK(memcmp(acc[0], acc[1], sizeof acc[0]) == 0);
        for (size_t t = 0; t < 27; t++) {
            double dot = 0.0, mag = 0.0;
            for (size_t i = 0; i < n; i++)
                dot += (double)out[0][i] * x[off[t] + i], mag += fabs(out[0][i] * x[off[t] + i]);
            CHECK_NEAR(acc[0][t], dot, 1e-5 * (1.0 + mag));
        }
    }
}

static void test_refused(void)
{
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    size_t d3[3] = {1, 4, 4}, d2[2] = {1, 4};
    dsc_node x = dsc_input_shaped(g, "x", 3, d3), s = dsc_input_shaped(g, "s", 2, d2);
    dsc_node flat = dsc_input(g, "f", 16);
    dsc_node w = dsc_param(g, "w", 2, 9), b = dsc_param(g, "b", 1, 2);
    CHECK(dsc_conv2d(g, x, w, b, 5, 5, 1, 0) == -1); /* larger than the image */
    CHECK(dsc_graph_compile(g, 1, NULL, 0) == DSC_ESHAPE);
    CHECK(strstr(dsc_last_error(), "does not fit") != NULL);
    dsc_graph_free(g);
    struct {
        int what;
        dsc_status want;
    } bad[] = {{0, DSC_ESHAPE}, {1, DSC_ESHAPE}, {2, DSC_ESHAPE}, {3, DSC_EINVAL},
               {4, DSC_ESHAPE}, {5, DSC_EINVAL}, {6, DSC_ESHAPE}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_OK(dsc_graph_new(&g));
        x = dsc_input_shaped(g, "x", 3, d3), s = dsc_input_shaped(g, "s", 2, d2);
        flat = dsc_input(g, "f", 16);
        w = dsc_param(g, "w", 2, 9), b = dsc_param(g, "b", 1, 2);
        dsc_node r = 0;
        switch (bad[i].what) {
        case 0: r = dsc_conv2d(g, x, w, b, 2, 2, 1, 0); break;  /* w is 2 x 9, not 2 x 4 */
        case 1: r = dsc_conv2d(g, s, w, b, 3, 3, 1, 0); break;  /* a signal */
        case 2: r = dsc_maxpool1d(g, x, 2, 2); break;           /* an image */
        case 3: r = dsc_conv2d(g, x, w, b, 3, 3, 0, 0); break;  /* stride 0 */
        case 4: r = dsc_maxpool2d(g, flat, 2, 2); break;        /* no shape */
        case 5: r = dsc_conv2d(g, x, w, 99, 3, 3, 1, 0); break; /* no such bias */
        case 6: r = dsc_avgpool2d(g, x, 5, 1); break;           /* window larger */
        }
        CHECK(r == -1);
        CHECK(dsc_graph_compile(g, 1, NULL, 0) == bad[i].want);
        dsc_graph_free(g);
    }
    size_t zero[3] = {1, 0, 4};
    CHECK_OK(dsc_graph_new(&g));
    CHECK(dsc_input_shaped(g, "x", 3, zero) == -1);
    CHECK(dsc_input_shaped(g, "x", 4, d3) == -1);
    dsc_graph_free(g);
}

int main(void)
{
    test_conv_values();
    test_pool_values();
    test_gradcheck();
    test_input_gradient();
    test_threads_and_allocation();
    test_pool_swap();
    test_chunks();
    test_plane_kernels();
    test_refused();
    return check_report();
}
