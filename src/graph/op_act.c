/* Activations: element-wise functions (softmax: row by row) and their local
 * derivatives, each op's forward beside its backward.
 *
 * Every form here stays finite for any finite input: exponentials only ever
 * see -|x| or x - max, so nothing overflows, and underflow to 0 (or a
 * denormal) is the correct float answer. Element loops are split statically
 * and each element is computed by the same operations whatever the thread
 * count, so results do not depend on it. */
#include <math.h>

#include "act1.h"

/* Below this many elements a parallel region costs more than it saves. */
#define ACT_PAR_MIN 8192

/* ---- identity -------------------------------------------------------- */

static void identity_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, y[i] = x[i]);
}

static void identity_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, dx[i] += dy[i]);
}

const dsc_op_def dsc_op_identity = {
    "identity", "x", "1", 1, dsc_shape_same, identity_forward, identity_backward,
};

/* ---- softplus -------------------------------------------------------- */

static void softplus_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     y[i] = dsc_softplus1(x[i]));
}

static void softplus_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    /* softplus' is the sigmoid of the input; y alone would need e^y - 1,
     * which loses all precision for small y. */
    const float *x = in->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     dx[i] += dsc_sigmoid1(x[i]) * dy[i]);
}

const dsc_op_def dsc_op_softplus = {
    "softplus", "ln(1+e^x)", "1/(1+e^-x)", 1, dsc_shape_same, softplus_forward, softplus_backward,
};

/* ---- relu and leaky relu --------------------------------------------- */

/* The derivative at exactly 0 is a choice between the left derivative (0 for
 * relu, the slope for leaky relu) and the right one (1): see act1.h. */
static uint64_t kink_key(const dsc_graph *g, const dsc_gnode *n)
{
    return dsc_kink_key(g, (uint64_t)(n - g->nodes));
}

static void relu_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    /* A comparison rather than fmaxf, so a NaN input stays NaN and the
     * divergence check sees it. */
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     y[i] = x[i] < 0.0f ? 0.0f : x[i]);
}

/* dx += dy where x > 0, on one piece: restrict tells the compiler the
 * arrays do not overlap, so it vectorises the select (inside OpenMP's
 * outlined loop it could not, and branched on every element). */
#define ACT_PIECE 4096
static void relu_grad_piece(float *restrict dx, const float *restrict x, const float *restrict dy,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float sum = dx[i] + dy[i];
        dx[i] = x[i] > 0.0f ? sum : dx[i];
    }
}

static void relu_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    const float *x = in->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    /* With the default rule (0 at the kink) the test is x > 0 alone, written
     * as a select of two computed values so the loop has no branch: the
     * signs of a ReLU's inputs are a coin toss that a branch predictor
     * loses half the time, which cost 4% of a Fashion-MNIST step. */
    if (g->relu_rule == DSC_RELU_GRAD_ZERO) {
        size_t pieces = (size + ACT_PIECE - 1) / ACT_PIECE;
        DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, p, pieces, {
            size_t lo = p * ACT_PIECE, hi = lo + ACT_PIECE < size ? lo + ACT_PIECE : size;
            relu_grad_piece(dx + lo, x + lo, dy + lo, hi - lo);
        });
        return;
    }
    uint64_t key = kink_key(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, {
        if (x[i] > 0.0f || (x[i] == 0.0f && dsc_kink_right(g, key, i))) dx[i] += dy[i];
    });
}

const dsc_op_def dsc_op_relu = {
    "relu",
    "max(0,x)",
    "1 if x>0, 0 if x<0 (at 0: the relu-grad-at-zero setting)",
    1,
    dsc_shape_same,
    relu_forward,
    relu_backward,
};

/* The slope for x < 0 is the node's attr (DSC_LEAKY_SLOPE from dsc_activate). */
static void leaky_relu_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     y[i] = x[i] > 0.0f ? x[i] : n->attr * x[i]);
}

/* At exactly 0 the same setting as relu picks the left derivative (the
 * slope; the default) or the right one (1), so one setting governs every
 * kink in a network. */
static void leaky_relu_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    const float *x = in->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    float slope = n->attr;
    if (g->relu_rule == DSC_RELU_GRAD_ZERO) { /* as relu_backward */
        DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                         dx[i] += (x[i] > 0.0f ? 1.0f : slope) * dy[i]);
        return;
    }
    uint64_t key = kink_key(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, {
        int right = x[i] > 0.0f || (x[i] == 0.0f && dsc_kink_right(g, key, i));
        dx[i] += (right ? 1.0f : slope) * dy[i];
    });
}

const dsc_op_def dsc_op_leaky_relu = {
    "leaky_relu",
    "x if x>0, 0.01x otherwise",
    "1 if x>0, 0.01 if x<0 (at 0: the relu-grad-at-zero setting picks 0.01 or 1)",
    1,
    dsc_shape_same,
    leaky_relu_forward,
    leaky_relu_backward,
};

/* ---- sigmoid --------------------------------------------------------- */

static void sigmoid_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     y[i] = dsc_sigmoid1(x[i]));
}

/* From the stored output: s'(x) = s(x)(1 - s(x)) needs no exponential. */
static void sigmoid_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    const float *y = n->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     dx[i] += y[i] * (1.0f - y[i]) * dy[i]);
}

const dsc_op_def dsc_op_sigmoid = {
    "sigmoid",      "s(x) = 1/(1+e^-x)", "s(x)(1-s(x))",   1,
    dsc_shape_same, sigmoid_forward,     sigmoid_backward,
};

/* ---- tanh ------------------------------------------------------------ */

static void tanh_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, y[i] = tanhf(x[i]));
}

static void tanh_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    const float *y = n->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,
                     dx[i] += (1.0f - y[i] * y[i]) * dy[i]);
}

const dsc_op_def dsc_op_tanh = {
    "tanh", "(e^x-e^-x)/(e^x+e^-x)", "1-tanh(x)^2", 1, dsc_shape_same, tanh_forward, tanh_backward,
};

/* ---- softmax --------------------------------------------------------- */

/* Row by row. Subtracting the row's largest value makes every exponent <= 0
 * (no overflow) and leaves at least one term equal to 1 (no 0/0). The row
 * sum is kept in double so wide rows do not lose the small terms. */
static void softmax_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t rows = dsc_rows(g, n), cols = n->cols;
    if (cols == 0) return;
    DSC_PARALLEL_FOR(dsc_threads(g->threads), rows * cols > ACT_PAR_MIN, r, rows, {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = xr[0];
        for (size_t j = 1; j < cols; j++) m = xr[j] > m ? xr[j] : m;
        double s = 0.0;
        for (size_t j = 0; j < cols; j++) {
            yr[j] = expf(xr[j] - m);
            s += yr[j];
        }
        float inv = (float)(1.0 / s);
        for (size_t j = 0; j < cols; j++) yr[j] *= inv;
    });
}

/* dx_j = y_j (dy_j - sum_k y_k dy_k): the Jacobian-vector product without
 * forming the cols x cols Jacobian. */
static void softmax_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    const float *y = n->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t rows = dsc_rows(g, n), cols = n->cols;
    DSC_PARALLEL_FOR(dsc_threads(g->threads), rows * cols > ACT_PAR_MIN, r, rows, {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        double dot = 0.0;
        for (size_t j = 0; j < cols; j++) dot += (double)yr[j] * dyr[j];
        for (size_t j = 0; j < cols; j++) dxr[j] += yr[j] * (float)(dyr[j] - dot);
    });
}

const dsc_op_def dsc_op_softmax = {
    "softmax",
    "s_i = e^x_i / sum_j e^x_j (per row)",
    "ds_i/dx_j = s_i (1[i=j] - s_j)",
    1,
    dsc_shape_same,
    softmax_forward,
    softmax_backward,
};
