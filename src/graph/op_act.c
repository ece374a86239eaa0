/* Activations, one definition each: the element function (the engine's
 * kernel and, from the same source text, the C an exporter emits), its
 * local derivative, the forward and backward kernels, the formulas as text,
 * the reference in double and the export names, side by side.
 *
 * Every form here stays finite for any finite input: exponentials only ever
 * see -|x| or x - max, so nothing overflows, and underflow to 0 (or a
 * denormal) is the correct float answer. Element loops are split statically
 * and each element is computed by the same operations whatever the thread
 * count, so results do not depend on it. */
#include <math.h>
#include <string.h>

#include "graph_internal.h"

/* Below this many elements a parallel region costs more than it saves. */
#define ACT_PAR_MIN 8192

/* An element function f(x) and its C text from one source: the engine
 * compiles the function, an exporter emits the text (DSC_C_ELEMENT). */
#define ELEMENT_FN(fn, ...)                                                                        \
    static const char fn##_c[] = DSC_STR(__VA_ARGS__);                                             \
    static inline float fn(float x) __VA_ARGS__

/* The kernels of an element-wise activation from its f (name##_f) and its
 * derivative from the input and the output (name##_d): forward, and the
 * value-and-derivative form a fused op runs inside its own loop. */
#define ELEMENT_KERNELS(name)                                                                      \
    static void name##_forward(dsc_graph *g, dsc_gnode *n)                                         \
    {                                                                                              \
        const float *x = dsc_in(g, n, 0)->val.data;                                                \
        float *y = n->val.data;                                                                    \
        size_t size = dsc_size(g, n);                                                              \
        DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,                     \
                         y[i] = name##_f(x[i]));                                                   \
    }                                                                                              \
    ELEMENT_VD(name)

#define ELEMENT_VD(name)                                                                           \
    static void name##_vd(float *a, float *da, size_t count, int chosen)                           \
    {                                                                                              \
        for (size_t e = 0; e < count; e++) {                                                       \
            float z = a[e];                                                                        \
            a[e] = name##_f(z);                                                                    \
            /* at a kink, the right derivative where it was chosen */                              \
            da[e] = z == 0.0f && chosen && da[e] != 0.0f ? 1.0f : name##_d(z, a[e]);               \
        }                                                                                          \
    }

/* Backward of a smooth activation: dx += f'(x) dy. */
#define SMOOTH_BACKWARD(name)                                                                      \
    static void name##_backward(dsc_graph *g, dsc_gnode *n)                                        \
    {                                                                                              \
        dsc_gnode *in = dsc_in(g, n, 0);                                                           \
        if (!in->requires_grad) return;                                                            \
        const float *x = in->val.data, *y = n->val.data, *dy = n->grad.data;                       \
        float *dx = in->grad.data;                                                                 \
        size_t size = dsc_size(g, n);                                                              \
        (void)x, (void)y;                                                                          \
        DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,                     \
                         dx[i] += name##_d(x[i], y[i]) * dy[i]);                                   \
    }

/* The derivative at exactly 0 of an activation with a kink is a choice
 * between the left derivative (name##_d at 0) and the right one (1), made
 * by the graph's relu-grad-at-zero rule (graph_internal.h). */
static uint64_t kink_key(const dsc_graph *g, const dsc_gnode *n)
{
    return dsc_kink_key(g, (uint64_t)(n - g->nodes));
}

#define KINK_BACKWARD(name)                                                                        \
    static void name##_backward(dsc_graph *g, dsc_gnode *n)                                        \
    {                                                                                              \
        dsc_gnode *in = dsc_in(g, n, 0);                                                           \
        if (!in->requires_grad) return;                                                            \
        const float *x = in->val.data, *y = n->val.data, *dy = n->grad.data;                       \
        float *dx = in->grad.data;                                                                 \
        size_t size = dsc_size(g, n);                                                              \
        if (g->relu_rule == DSC_RELU_GRAD_ZERO) {                                                  \
            DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size,                 \
                             dx[i] += name##_d(x[i], y[i]) * dy[i]);                               \
            return;                                                                                \
        }                                                                                          \
        uint64_t key = kink_key(g, n);                                                             \
        DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, {                   \
            float d = x[i] == 0.0f && dsc_kink_right(g, key, i) ? 1.0f : name##_d(x[i], y[i]);     \
            dx[i] += d * dy[i];                                                                    \
        });                                                                                        \
    }

/* ---- identity -------------------------------------------------------- */

ELEMENT_FN(identity_f, { return x; })
static inline float identity_d(float x, float y) { return (void)x, (void)y, 1.0f; }
ELEMENT_KERNELS(identity)

/* dx += dy, without the multiplication by 1 */
static void identity_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, dx[i] += dy[i]);
}

static double identity_ref(double x) { return x; }
static double identity_dref(double x) { return (void)x, 1.0; }

const dsc_op_def dsc_op_identity = {
    .name = "identity",
    .formula = "x",
    .derivative = "1",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .shape = dsc_shape_same,
    .forward = identity_forward,
    .backward = identity_backward,
    .layer_vd = identity_vd,
    .ref = {.value = identity_ref, .deriv = identity_dref},
    .out = {"Identity", NULL, DSC_C_ELEMENT, identity_f_c},
};

/* ---- sigmoid --------------------------------------------------------- */

/* 1 / (1 + e^-x) from e = e^-|x| (so it never overflows); the x < 0 branch
 * is the same value written as e^x / (1 + e^x). */
#define SIGMOID_OF(x, e) ((x) >= 0.0f ? 1.0f / (1.0f + (e)) : (e) / (1.0f + (e)))
ELEMENT_FN(sigmoid_f, {
    float e = expf(-fabsf(x));
    return SIGMOID_OF(x, e);
})
/* From the output: s'(x) = s(x)(1 - s(x)) needs no exponential. */
static inline float sigmoid_d(float x, float y) { return (void)x, y * (1.0f - y); }
ELEMENT_KERNELS(sigmoid)
SMOOTH_BACKWARD(sigmoid)

static double sigmoid_ref(double x)
{
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
static double sigmoid_dref(double x)
{
    double s = sigmoid_ref(x);
    return s * (1.0 - s);
}

const dsc_op_def dsc_op_sigmoid = {
    .name = "sigmoid",
    .formula = "s(x) = 1/(1+e^-x)",
    .derivative = "s(x)(1-s(x))",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .shape = dsc_shape_same,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
    .layer_vd = sigmoid_vd,
    .ref = {.value = sigmoid_ref, .deriv = sigmoid_dref},
    .out = {"Sigmoid", NULL, DSC_C_ELEMENT, sigmoid_f_c},
};

/* ---- softplus -------------------------------------------------------- */

/* ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): e^-|x| <= 1, so the exponential
 * cannot overflow, and for large |x| the log1p term vanishes exactly. The
 * max is a comparison, not fmaxf, which is a library call without
 * -ffast-math; both give 0 for a NaN, whose log1p term is NaN anyway. */
#define SOFTPLUS_OF(x, e) (((x) > 0.0f ? (x) : 0.0f) + log1pf(e))
ELEMENT_FN(softplus_f, { return SOFTPLUS_OF(x, expf(-fabsf(x))); })
/* softplus' is the sigmoid of the input; y alone would need e^y - 1, which
 * loses all precision for small y. */
static inline float softplus_d(float x, float y) { return (void)y, sigmoid_f(x); }
static void softplus_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t size = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), size > ACT_PAR_MIN, i, size, y[i] = softplus_f(x[i]));
}
SMOOTH_BACKWARD(softplus)

/* Value and derivative from one exponential (the seed's network spends
 * most of its step here). */
static void softplus_vd(float *a, float *da, size_t count, int chosen)
{
    (void)chosen;
    for (size_t i = 0; i < count; i++) {
        float z = a[i], e = expf(-fabsf(z));
        a[i] = SOFTPLUS_OF(z, e);
        da[i] = SIGMOID_OF(z, e);
    }
}

static double softplus_ref(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

const dsc_op_def dsc_op_softplus = {
    .name = "softplus",
    .formula = "ln(1+e^x)",
    .derivative = "1/(1+e^-x)",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .shape = dsc_shape_same,
    .forward = softplus_forward,
    .backward = softplus_backward,
    .layer_vd = softplus_vd,
    .ref = {.value = softplus_ref, .deriv = sigmoid_ref},
    .out = {"Softplus", NULL, DSC_C_ELEMENT, softplus_f_c},
};

/* ---- relu ------------------------------------------------------------ */

/* A comparison rather than fmaxf, so a NaN input stays NaN and the
 * divergence check sees it. */
ELEMENT_FN(relu_f, { return x < 0.0f ? 0.0f : x; })
/* The left derivative at 0 (the default rule). */
static inline float relu_d(float x, float y) { return (void)y, x > 0.0f ? 1.0f : 0.0f; }
ELEMENT_KERNELS(relu)

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

/* Where the derivative is 0, dx is left as it is (not dx + 0 x dy), as a
 * select of two computed values so the loop has no branch: the signs of a
 * ReLU's inputs are a coin toss that a branch predictor loses half the
 * time, which cost 4% of a Fashion-MNIST step. */
static void relu_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    const float *x = in->val.data;
    float *dx = in->grad.data;
    const float *dy = n->grad.data;
    size_t size = dsc_size(g, n);
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

static double relu_ref(double x) { return x < 0 ? 0.0 : x; }
static double relu_dref(double x) { return x > 0 ? 1.0 : 0.0; }

const dsc_op_def dsc_op_relu = {
    .name = "relu",
    .formula = "max(0,x)",
    .derivative = "1 if x>0, 0 if x<0 (at 0: the relu-grad-at-zero setting)",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .flags = DSC_OPF_KINK,
    .shape = dsc_shape_same,
    .forward = relu_forward,
    .backward = relu_backward,
    .layer_vd = relu_vd,
    .ref = {.value = relu_ref, .deriv = relu_dref},
    .out = {"Relu", NULL, DSC_C_ELEMENT, relu_f_c},
};

/* ---- leaky relu ------------------------------------------------------ */

/* The slope for x < 0, written once: the kernels use it as a float. */
#define LEAKY_SLOPE_VALUE 0.01
#define LEAKY_SLOPE       ((float)LEAKY_SLOPE_VALUE)

ELEMENT_FN(leaky_relu_f, { return x > 0.0f ? x : LEAKY_SLOPE * x; })
static inline float leaky_relu_d(float x, float y)
{
    return (void)y, x > 0.0f ? 1.0f : LEAKY_SLOPE;
}
ELEMENT_KERNELS(leaky_relu)
/* At exactly 0 the same setting as relu picks the left derivative (the
 * slope; the default) or the right one (1), so one setting governs every
 * kink in a network. */
KINK_BACKWARD(leaky_relu)

static double leaky_relu_ref(double x) { return x > 0 ? x : (double)LEAKY_SLOPE * x; }
static double leaky_relu_dref(double x) { return x > 0 ? 1.0 : (double)LEAKY_SLOPE; }

#define LEAKY_TXT DSC_STR(LEAKY_SLOPE_VALUE)
const dsc_op_def dsc_op_leaky_relu = {
    .name = "leaky_relu",
    .formula = "x if x>0, " LEAKY_TXT "x otherwise",
    .derivative = "1 if x>0, " LEAKY_TXT
                  " if x<0 (at 0: the relu-grad-at-zero setting picks " LEAKY_TXT " or 1)",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .flags = DSC_OPF_KINK,
    .shape = dsc_shape_same,
    .forward = leaky_relu_forward,
    .backward = leaky_relu_backward,
    .layer_vd = leaky_relu_vd,
    .ref = {.value = leaky_relu_ref, .deriv = leaky_relu_dref},
    .out = {"LeakyRelu", "alpha=" LEAKY_TXT, DSC_C_ELEMENT, leaky_relu_f_c},
};

/* ---- tanh ------------------------------------------------------------ */

ELEMENT_FN(tanh_f, { return tanhf(x); })
static inline float tanh_d(float x, float y) { return (void)x, 1.0f - y * y; }
ELEMENT_KERNELS(tanh)
SMOOTH_BACKWARD(tanh)

static double tanh_ref(double x) { return tanh(x); }
static double tanh_dref(double x)
{
    double t = tanh(x);
    return 1.0 - t * t;
}

const dsc_op_def dsc_op_tanh = {
    .name = "tanh",
    .formula = "(e^x-e^-x)/(e^x+e^-x)",
    .derivative = "1-tanh(x)^2",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .shape = dsc_shape_same,
    .forward = tanh_forward,
    .backward = tanh_backward,
    .layer_vd = tanh_vd,
    .ref = {.value = tanh_ref, .deriv = tanh_dref},
    .out = {"Tanh", NULL, DSC_C_ELEMENT, tanh_f_c},
};

/* ---- softmax --------------------------------------------------------- */

/* One row in place. Subtracting the row's largest value makes every
 * exponent <= 0 (no overflow) and leaves at least one term equal to 1 (no
 * 0/0). The row sum is kept in double so wide rows do not lose the small
 * terms. The same text is what an exporter emits (DSC_C_ROW). */
#define SOFTMAX_ROW_BODY                                                                           \
    {                                                                                              \
        float m = x[0];                                                                            \
        for (size_t j = 1; j < n; j++) m = x[j] > m ? x[j] : m;                                    \
        double s = 0.0;                                                                            \
        for (size_t j = 0; j < n; j++) {                                                           \
            x[j] = expf(x[j] - m);                                                                 \
            s += x[j];                                                                             \
        }                                                                                          \
        float inv = (float)(1.0 / s);                                                              \
        for (size_t j = 0; j < n; j++) x[j] *= inv;                                                \
    }
static const char softmax_row_c[] = DSC_STR(SOFTMAX_ROW_BODY);
static inline void softmax_row(float *x, size_t n) SOFTMAX_ROW_BODY

    static void softmax_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *y = n->val.data;
    size_t rows = dsc_rows(g, n), cols = n->cols;
    if (cols == 0) return;
    DSC_PARALLEL_FOR(dsc_threads(g->threads), rows * cols > ACT_PAR_MIN, r, rows, {
        memcpy(y + r * cols, x + r * cols, cols * sizeof(float));
        softmax_row(y + r * cols, cols);
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

static void softmax_ref(const double *x, double *y, size_t n)
{
    double m = x[0], s = 0.0;
    for (size_t j = 1; j < n; j++) m = fmax(m, x[j]);
    for (size_t j = 0; j < n; j++) s += y[j] = exp(x[j] - m);
    for (size_t j = 0; j < n; j++) y[j] /= s;
}

static void softmax_back_ref(const double *y, const double *dy, double *dx, size_t n)
{
    double dot = 0.0;
    for (size_t j = 0; j < n; j++) dot += y[j] * dy[j];
    for (size_t j = 0; j < n; j++) dx[j] = y[j] * (dy[j] - dot);
}

const dsc_op_def dsc_op_softmax = {
    .name = "softmax",
    .formula = "s_i = e^x_i / sum_j e^x_j (per row)",
    .derivative = "ds_i/dx_j = s_i (1[i=j] - s_j)",
    .n_in = 1,
    .kind = DSC_OPK_ACT,
    .flags = DSC_OPF_ROWWISE,
    .shape = dsc_shape_same,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .ref = {.row = softmax_ref, .row_back = softmax_back_ref},
    .out = {"Softmax", "axis=-1", DSC_C_ROW, softmax_row_c},
};
