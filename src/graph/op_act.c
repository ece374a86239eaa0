/* Activations, one definition each: the element function (the engine's
 * kernel and, from the same source text, the C an exporter emits), its
 * local derivative, the forward and backward kernels, the formulas as text,
 * the reference in double and the export names, side by side.
 *
 * Every form here stays finite for any finite input: exponentials only ever
 * see -|x| or x - max, so nothing overflows, and underflow to 0 (or a
 * denormal) is the correct float answer. Element loops are cut into fixed
 * pieces and each element is computed by the same operations whatever the
 * thread count, so results do not depend on it. */
#include <math.h>
#include <string.h>

#include "graph_internal.h"

/* Below this many elements a parallel loop costs more than it saves. */
#define ACT_PAR_MIN 8192
/* Elements per piece of a parallel loop (rows: this many elements' worth). */
#define ACT_PIECE 4096

/* One loop's arrays: each loop below is a range function over them
 * (ACT_LOOP), run over the threads by act_run. */
typedef struct {
    float *out;              /* y in forward, dx in backward */
    const float *x, *y, *dy; /* the input, the output, the output's gradient */
    size_t cols;             /* softmax: the row length */
    const dsc_graph *g;      /* the kink rule and its key */
    uint64_t key, off;       /* off: element 0's index in the whole batch */
} act_job;

/* Defines name(job, lo, hi), which runs the body (the last argument) for
 * each i in [lo, hi) with the job's arrays as restrict pointers: a node's
 * value and gradient never overlap another's, and saying so lets the
 * compiler vectorise selects instead of branching on every element. */
#define ACT_LOOP(name, ...)                                                                        \
    static void name(void *job_, size_t lo, size_t hi)                                             \
    {                                                                                              \
        const act_job *job = job_;                                                                 \
        float *restrict out = job->out;                                                            \
        const float *restrict x = job->x, *restrict y = job->y, *restrict dy = job->dy;            \
        (void)job, (void)x, (void)y, (void)dy;                                                     \
        for (size_t i = lo; i < hi; i++) __VA_ARGS__;                                              \
    }

/* Runs fn over n elements (or rows of `cols` elements), in parallel when
 * there are enough of them. */
static void act_run(const dsc_graph *g, size_t n, size_t cols, dsc_range_fn fn, act_job *job)
{
    size_t piece = cols > 1 ? (ACT_PIECE + cols - 1) / cols : ACT_PIECE;
    dsc_parallel_for(dsc_threads(g->threads), n * cols > ACT_PAR_MIN, n, piece, fn, job);
}

/* An element function f(x) and its C text from one source: the engine
 * compiles the function, an exporter emits the text (DSC_C_ELEMENT). */
#define ELEMENT_FN(fn, ...)                                                                        \
    static const char fn##_c[] = DSC_STR(__VA_ARGS__);                                             \
    static inline float fn(float x) __VA_ARGS__

/* The kernels of an element-wise activation from its f (name##_f) and its
 * derivative from the input and the output (name##_d): forward, and the
 * value-and-derivative form a fused op runs inside its own loop. */
#define ELEMENT_KERNELS(name)                                                                      \
    ACT_LOOP(name##_range, out[i] = name##_f(x[i]))                                                \
    static void name##_forward(dsc_graph *g, dsc_gnode *n)                                         \
    {                                                                                              \
        act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};                        \
        act_run(g, dsc_size(g, n), 1, name##_range, &job);                                         \
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
    ACT_LOOP(name##_grad_range, out[i] += name##_d(x[i], y[i]) * dy[i])                            \
    static void name##_backward(dsc_graph *g, dsc_gnode *n)                                        \
    {                                                                                              \
        dsc_gnode *in = dsc_in(g, n, 0);                                                           \
        if (!in->requires_grad) return;                                                            \
        act_job job = {                                                                            \
            .out = in->grad.data, .x = in->val.data, .y = n->val.data, .dy = n->grad.data};        \
        act_run(g, dsc_size(g, n), 1, name##_grad_range, &job);                                    \
    }

/* The derivative at exactly 0 of an activation with a kink is a choice
 * between the left derivative (name##_d at 0) and the right one (1), made
 * by the graph's relu-grad-at-zero rule (graph_internal.h). */
static uint64_t kink_key(const dsc_graph *g, const dsc_gnode *n)
{
    return dsc_kink_key(g, (uint64_t)(n - g->nodes));
}

#define KINK_BACKWARD(name)                                                                        \
    ACT_LOOP(name##_grad_range, out[i] += name##_d(x[i], y[i]) * dy[i])                            \
    ACT_LOOP(name##_grad_kink_range, {                                                             \
        float d = x[i] == 0.0f && dsc_kink_right(job->g, job->key, i + job->off)                   \
                      ? 1.0f                                                                       \
                      : name##_d(x[i], y[i]);                                                      \
        out[i] += d * dy[i];                                                                       \
    })                                                                                             \
    static void name##_backward(dsc_graph *g, dsc_gnode *n)                                        \
    {                                                                                              \
        dsc_gnode *in = dsc_in(g, n, 0);                                                           \
        if (!in->requires_grad) return;                                                            \
        act_job job = {.out = in->grad.data,                                                       \
                       .x = in->val.data,                                                          \
                       .y = n->val.data,                                                           \
                       .dy = n->grad.data,                                                         \
                       .g = g};                                                                    \
        if (g->relu_rule == DSC_RELU_GRAD_ZERO) {                                                  \
            act_run(g, dsc_size(g, n), 1, name##_grad_range, &job);                                \
            return;                                                                                \
        }                                                                                          \
        job.key = kink_key(g, n);                                                                  \
        job.off = dsc_elem_off(g, n);                                                              \
        act_run(g, dsc_size(g, n), 1, name##_grad_kink_range, &job);                               \
    }

/* ---- identity -------------------------------------------------------- */

ELEMENT_FN(identity_f, { return x; })
static inline float identity_d(float x, float y) { return (void)x, (void)y, 1.0f; }
ELEMENT_KERNELS(identity)

/* dx += dy, without the multiplication by 1 */
ACT_LOOP(identity_grad_range, out[i] += dy[i])
static void identity_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .dy = n->grad.data};
    act_run(g, dsc_size(g, n), 1, identity_grad_range, &job);
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

/* ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): e = e^-|x| <= 1, so nothing
 * overflows. All of it in double, rounded to float once: within 1 ulp of
 * ln(1 + e^x) in double for every float x (`dscbench softplus` checks all
 * 2^32 inputs, tests/test_ops.c a million of them). Not the C library's
 * log1pf(expf()): log1pf cost a third of a step of the seed's network, and
 * expf's rounding of e alone moves the result by up to 0.6 ulp.
 *
 * SOFTPLUS_E: e in double. |x| = k ln 2 + r, |r| <= ln(2) / 2, so e =
 * 2^-k e^-r; e^-r by its Taylor series to r^8 (the rest is below 2^-31 of
 * it); 2^-k from k's bits, k from rounding |x| / ln 2 by adding 1.5 * 2^52.
 * |x| is capped at 104, where e < 2^-150 rounds to 0 as a float anyway;
 * a NaN passes through. SOFTPLUS_OF: ln(1 + e) = 2 atanh(s) = 2 (s + s^3/3
 * + s^5/5 + ...) with s = e / (2 + e) up to e = sqrt(2) - 1; above it
 * ln 2 + 2 atanh((e - 1) / (e + 3)), the same for (1 + e) / 2. Either way
 * |s| <= 0.172 and the terms dropped after s^9/9 are below 2^-28 of the
 * sum. Both are statements (the second ends in a return) so that the
 * element function's exported text holds all of it; the max is a
 * comparison, not fmaxf, a library call without -ffast-math. */
#define SOFTPLUS_E(x)                                                                              \
    double sp_a = fabs((double)(x)), sp_r, sp_p, sp_e;                                             \
    union {                                                                                        \
        double d;                                                                                  \
        unsigned long long u;                                                                      \
    } sp_k, sp_2k;                                                                                 \
    sp_a = sp_a > 104.0 ? 104.0 : sp_a;                                                            \
    sp_k.d = sp_a * 1.4426950408889634 + 0x1.8p52;                                                 \
    sp_r = sp_a - (sp_k.d - 0x1.8p52) * 0.6931471805599453;                                        \
    sp_2k.u = 0x3ff0000000000000ull - (sp_k.u << 52);                                              \
    sp_p = 1.0 / 40320 * sp_r - 1.0 / 5040;                                                        \
    sp_p = sp_p * sp_r + 1.0 / 720;                                                                \
    sp_p = sp_p * sp_r - 1.0 / 120;                                                                \
    sp_p = sp_p * sp_r + 1.0 / 24;                                                                 \
    sp_p = sp_p * sp_r - 1.0 / 6;                                                                  \
    sp_p = sp_p * sp_r + 0.5;                                                                      \
    sp_p = sp_p * sp_r - 1.0;                                                                      \
    sp_p = sp_p * sp_r + 1.0;                                                                      \
    sp_e = sp_p * sp_2k.d;
#define SOFTPLUS_OF(x)                                                                             \
    int sp_hi = sp_e > 0.41421356237309503;                                                        \
    double sp_s = sp_hi ? (sp_e - 1.0) / (sp_e + 3.0) : sp_e / (sp_e + 2.0), sp_s2 = sp_s * sp_s;  \
    double sp_l =                                                                                  \
        2.0 * sp_s *                                                                               \
        (1.0 + sp_s2 * (1.0 / 3.0 + sp_s2 * (1.0 / 5.0 + sp_s2 * (1.0 / 7.0 + sp_s2 / 9.0))));     \
    return (float)(((x) > 0.0f ? (double)(x) : 0.0) + (sp_hi ? 0.6931471805599453 : 0.0) + sp_l);
ELEMENT_FN(softplus_f, {SOFTPLUS_E(x) SOFTPLUS_OF(x)})
static inline double softplus_e(float x)
{
    SOFTPLUS_E(x)
    return sp_e;
}
static inline float softplus_of(float x, double sp_e) { SOFTPLUS_OF(x) }
/* softplus' is the sigmoid of the input, here from the same e in double
 * (so the fused value-and-derivative below gives these bits); y alone
 * would need e^y - 1, which loses all precision for small y. */
static inline float softplus_sig(float x, double e)
{
    return (float)(x >= 0.0f ? 1.0 / (1.0 + e) : e / (1.0 + e));
}
static inline float softplus_d(float x, float y) { return (void)y, softplus_sig(x, softplus_e(x)); }
ACT_LOOP(softplus_range, out[i] = softplus_f(x[i]))
static void softplus_forward(dsc_graph *g, dsc_gnode *n)
{
    act_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data};
    act_run(g, dsc_size(g, n), 1, softplus_range, &job);
}
SMOOTH_BACKWARD(softplus)

/* Value and derivative from one exponential (the seed's network spends
 * most of its step here, on 6 values at a time). Eight at a time, padded,
 * so that the compiler makes one pass of vector code of them; each lane
 * computes what softplus_f and softplus_d compute. */
static void softplus_vd(float *a, float *da, size_t count, int chosen)
{
    (void)chosen;
    for (size_t i = 0; i < count; i += 8) {
        size_t m = count - i < 8 ? count - i : 8;
        float z[8] = {0}, v[8], d[8];
        memcpy(z, a + i, m * sizeof(float));
        for (size_t j = 0; j < 8; j++) {
            double e = softplus_e(z[j]);
            v[j] = softplus_of(z[j], e);
            d[j] = softplus_sig(z[j], e);
        }
        memcpy(a + i, v, m * sizeof(float));
        memcpy(da + i, d, m * sizeof(float));
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

/* dx += dy where x > 0 (see relu_backward). */
ACT_LOOP(relu_grad_range, {
    float sum = out[i] + dy[i];
    out[i] = x[i] > 0.0f ? sum : out[i];
})
ACT_LOOP(relu_grad_kink_range, {
    if (x[i] > 0.0f || (x[i] == 0.0f && dsc_kink_right(job->g, job->key, i + job->off)))
        out[i] += dy[i];
})

/* Where the derivative is 0, dx is left as it is (not dx + 0 x dy), as a
 * select of two computed values so the loop has no branch: the signs of a
 * ReLU's inputs are a coin toss that a branch predictor loses half the
 * time, which cost 4% of a Fashion-MNIST step. */
static void relu_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    act_job job = {.out = in->grad.data, .x = in->val.data, .dy = n->grad.data, .g = g};
    if (g->relu_rule == DSC_RELU_GRAD_ZERO) {
        act_run(g, dsc_size(g, n), 1, relu_grad_range, &job);
        return;
    }
    job.key = kink_key(g, n);
    job.off = dsc_elem_off(g, n);
    act_run(g, dsc_size(g, n), 1, relu_grad_kink_range, &job);
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

    ACT_LOOP(softmax_rows,
             {
                 memcpy(out + i * job->cols, x + i * job->cols, job->cols * sizeof(float));
                 softmax_row(out + i * job->cols, job->cols);
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
