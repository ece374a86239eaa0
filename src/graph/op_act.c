/* Activations: element-wise functions (softmax: row by row) and their local
 * derivatives, each op's forward beside its backward.
 *
 * Every form here stays finite for any finite input: exponentials only ever
 * see -|x| or x - max, so nothing overflows, and underflow to 0 (or a
 * denormal) is the correct float answer. Element loops are cut into fixed
 * pieces and each element is computed by the same operations whatever the
 * thread count, so results do not depend on it. */
#include <math.h>

#include "act1.h"

/* Below this many elements a parallel loop costs more than it saves. */
#define ACT_PAR_MIN 8192
/* Elements per piece of a parallel loop (rows: this many elements' worth). */
#define ACT_PIECE 4096

/* One loop's arrays and constants. Each loop below is a range function
 * over them (ACT_LOOP), run over the threads by act_run. */
typedef struct {
    float *out;              /* y in forward, dx in backward */
    const float *x, *y, *dy; /* the input, the output, the output's gradient */
    float slope;             /* leaky relu */
    size_t cols;             /* softmax: the row length */
    const dsc_graph *g;      /* the kink rule and its key */
    uint64_t key;
} act_job;

/* Defines name(job, lo, hi), which runs body for each i in [lo, hi) with
 * the job's arrays as restrict pointers: a node's value and gradient never
 * overlap another's, and saying so lets the compiler vectorise selects
 * instead of branching on every element. */
#define ACT_LOOP(name, ...)                                                                        \
    static void name(void *job_, size_t lo, size_t hi)                                             \
    {                                                                                              \
        const act_job *job = job_;                                                                 \
        float *restrict out = job->out;                                                            \
        const float *restrict x = job->x, *restrict y = job->y, *restrict dy = job->dy;            \
        (void)x, (void)y, (void)dy;                                                                \
        for (size_t i = lo; i < hi; i++) __VA_ARGS__;                                              \
    }

/* Runs fn over n elements (or rows of `cols` elements), in parallel when
 * there are enough of them. */
static void act_run(const dsc_graph *g, size_t n, size_t cols, dsc_range_fn fn, act_job *job)
{
    size_t piece = cols > 1 ? (ACT_PIECE + cols - 1) / cols : ACT_PIECE;
    dsc_parallel_for(dsc_threads(g->threads), n * cols > ACT_PAR_MIN, n, piece, fn, job);
}

/* ---- identity -------------------------------------------------------- */

ACT_LOOP(copy_range, out[i] = x[i])
ACT_LOOP(add_range, out[i] += dy[i])

static void identity_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};
    act_run(g, dsc_size(g, n), 1, copy_range, &job);
}

static void identity_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .dy = n->grad.data};
    act_run(g, dsc_size(g, n), 1, add_range, &job);
}

const dsc_op_def dsc_op_identity = {
    "identity", "x", "1", 1, dsc_shape_same, identity_forward, identity_backward,
};

/* ---- softplus -------------------------------------------------------- */

ACT_LOOP(softplus_range, out[i] = dsc_softplus1(x[i]))
ACT_LOOP(softplus_grad_range, out[i] += dsc_sigmoid1(x[i]) * dy[i])

static void softplus_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};
    act_run(g, dsc_size(g, n), 1, softplus_range, &job);
}

static void softplus_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    /* softplus' is the sigmoid of the input; y alone would need e^y - 1,
     * which loses all precision for small y. */
    act_job job = {.out = in->grad.data, .x = in->val.data, .dy = n->grad.data};
    act_run(g, dsc_size(g, n), 1, softplus_grad_range, &job);
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

/* A comparison rather than fmaxf, so a NaN input stays NaN and the
 * divergence check sees it. */
ACT_LOOP(relu_range, out[i] = x[i] < 0.0f ? 0.0f : x[i])
/* dx += dy where x > 0, as a select of two computed values (see below). */
ACT_LOOP(relu_grad_range, {
    float sum = out[i] + dy[i];
    out[i] = x[i] > 0.0f ? sum : out[i];
})
ACT_LOOP(relu_grad_kink_range, {
    if (x[i] > 0.0f || (x[i] == 0.0f && dsc_kink_right(job->g, job->key, i))) out[i] += dy[i];
})

static void relu_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};
    act_run(g, dsc_size(g, n), 1, relu_range, &job);
}

static void relu_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .x = in->val.data, .dy = n->grad.data, .g = g};
    /* With the default rule (0 at the kink) the test is x > 0 alone, written
     * as a select of two computed values so the loop has no branch: the
     * signs of a ReLU's inputs are a coin toss that a branch predictor
     * loses half the time, which cost 4% of a Fashion-MNIST step. */
    if (g->relu_rule == DSC_RELU_GRAD_ZERO) {
        act_run(g, dsc_size(g, n), 1, relu_grad_range, &job);
        return;
    }
    job.key = kink_key(g, n);
    act_run(g, dsc_size(g, n), 1, relu_grad_kink_range, &job);
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
ACT_LOOP(leaky_range, out[i] = x[i] > 0.0f ? x[i] : job->slope * x[i])
ACT_LOOP(leaky_grad_range, out[i] += (x[i] > 0.0f ? 1.0f : job->slope) * dy[i])
ACT_LOOP(leaky_grad_kink_range, {
    int right = x[i] > 0.0f || (x[i] == 0.0f && dsc_kink_right(job->g, job->key, i));
    out[i] += (right ? 1.0f : job->slope) * dy[i];
})

static void leaky_relu_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data, .slope = n->attr};
    act_run(g, dsc_size(g, n), 1, leaky_range, &job);
}

/* At exactly 0 the same setting as relu picks the left derivative (the
 * slope; the default) or the right one (1), so one setting governs every
 * kink in a network. */
static void leaky_relu_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {
        .out = in->grad.data, .x = in->val.data, .dy = n->grad.data, .slope = n->attr, .g = g};
    if (g->relu_rule == DSC_RELU_GRAD_ZERO) { /* as relu_backward */
        act_run(g, dsc_size(g, n), 1, leaky_grad_range, &job);
        return;
    }
    job.key = kink_key(g, n);
    act_run(g, dsc_size(g, n), 1, leaky_grad_kink_range, &job);
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

ACT_LOOP(sigmoid_range, out[i] = dsc_sigmoid1(x[i]))
ACT_LOOP(sigmoid_grad_range, out[i] += y[i] * (1.0f - y[i]) * dy[i])

static void sigmoid_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};
    act_run(g, dsc_size(g, n), 1, sigmoid_range, &job);
}

/* From the stored output: s'(x) = s(x)(1 - s(x)) needs no exponential. */
static void sigmoid_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .y = n->val.data, .dy = n->grad.data};
    act_run(g, dsc_size(g, n), 1, sigmoid_grad_range, &job);
}

const dsc_op_def dsc_op_sigmoid = {
    "sigmoid",      "s(x) = 1/(1+e^-x)", "s(x)(1-s(x))",   1,
    dsc_shape_same, sigmoid_forward,     sigmoid_backward,
};

/* ---- tanh ------------------------------------------------------------ */

ACT_LOOP(tanh_range, out[i] = tanhf(x[i]))
ACT_LOOP(tanh_grad_range, out[i] += (1.0f - y[i] * y[i]) * dy[i])

static void tanh_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};
    act_run(g, dsc_size(g, n), 1, tanh_range, &job);
}

static void tanh_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .y = n->val.data, .dy = n->grad.data};
    act_run(g, dsc_size(g, n), 1, tanh_grad_range, &job);
}

const dsc_op_def dsc_op_tanh = {
    "tanh", "(e^x-e^-x)/(e^x+e^-x)", "1-tanh(x)^2", 1, dsc_shape_same, tanh_forward, tanh_backward,
};

/* ---- softmax --------------------------------------------------------- */

/* Row by row. Subtracting the row's largest value makes every exponent <= 0
 * (no overflow) and leaves at least one term equal to 1 (no 0/0). The row
 * sum is kept in double so wide rows do not lose the small terms. */
ACT_LOOP(softmax_rows, {
    size_t cols = job->cols;
    const float *xr = x + i * cols;
    float *yr = out + i * cols;
    float m = xr[0];
    for (size_t j = 1; j < cols; j++) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) {
        yr[j] = expf(xr[j] - m);
        s += yr[j];
    }
    float inv = (float)(1.0 / s);
    for (size_t j = 0; j < cols; j++) yr[j] *= inv;
})

static void softmax_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data, .cols = n->cols};
    if (n->cols == 0) return;
    act_run(g, dsc_rows(g, n), n->cols, softmax_rows, &job);
}

/* dx_j = y_j (dy_j - sum_k y_k dy_k): the Jacobian-vector product without
 * forming the cols x cols Jacobian. */
ACT_LOOP(softmax_grad_rows, {
    size_t cols = job->cols;
    const float *yr = y + i * cols, *dyr = dy + i * cols;
    float *dxr = out + i * cols;
    double dot = 0.0;
    for (size_t j = 0; j < cols; j++) dot += (double)yr[j] * dyr[j];
    for (size_t j = 0; j < cols; j++) dxr[j] += yr[j] * (float)(dyr[j] - dot);
})

static void softmax_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .y = n->val.data, .dy = n->grad.data, .cols = n->cols};
    act_run(g, dsc_rows(g, n), n->cols, softmax_grad_rows, &job);
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
