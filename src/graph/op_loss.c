/* Losses: a 1 x 1 value from a prediction (input 0) and a target (input 1)
 * of the same shape, each op's forward beside its backward.
 *
 * Forward sums the terms in double, one element after another, so the value
 * is the same bit for bit on every run and thread count. Backward is
 * element-wise and scales by the loss's incoming gradient (1 when the loss
 * is what backward starts from).
 *
 * Targets are usually data, but a target computed from parameters gets its
 * exact gradient too: every backward below also fills input 1's gradient
 * when it requires one. Where a log is clamped (bce, ce) the target's
 * gradient uses the same clamped log as the value. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "graph_internal.h"

#define LOSS_PAR_MIN 8192

/* PyTorch clamps each log of a probability at -100 so that a probability of
 * exactly 0 or 1 gives a large, finite loss. A NaN passes through, so a
 * diverging run is still seen as one. */
#define LOG_FLOOR (-100.0)
/* The smallest denominator the probability losses divide by: keeps their
 * derivatives finite at p = 0 or 1. */
#define PROB_EPS_VALUE 1e-12
#define PROB_EPS       ((float)PROB_EPS_VALUE)

static double clamped_log(double p)
{
    double l = log(p);
    return l < LOG_FLOOR ? LOG_FLOOR : l;
}

/* One element's term of a loss and its C text from one source: the engine
 * sums name##_term over the elements in double; an exporter emits the text
 * as the body of `double f(float p, float t)` (DSC_C_LOSS_TERM). With
 * double arguments it is also the reference in double. */
#define LOSS_TERM_FN(name, ...)                                                                    \
    static const char name##_term_c[] = DSC_STR(__VA_ARGS__);                                      \
    static double name##_term(double p, double t) __VA_ARGS__

/* The reference of an element-wise loss: a row's sum of terms and, into
 * dp, each term's derivative in p by name##_dref (in double). */
#define LOSS_ROW_REF(name)                                                                         \
    static double name##_row(const double *p, const double *t, size_t n, double *dp)               \
    {                                                                                              \
        double s = 0.0;                                                                            \
        for (size_t i = 0; i < n; i++) {                                                           \
            s += name##_term(p[i], t[i]);                                                          \
            if (dp) dp[i] = name##_dref(p[i], t[i]);                                               \
        }                                                                                          \
        return s;                                                                                  \
    }

/* An element-wise loss: `term` gives one element's contribution, the value
 * is scale * sum of terms; `dpred` and `dtarget` give one element's partial
 * derivatives (in float) before scaling. */
typedef double (*loss_term_fn)(double p, double t);
typedef float (*loss_deriv_fn)(float p, float t);

static void elementwise_forward(dsc_graph *g, dsc_gnode *n, loss_term_fn term, double scale)
{
    const dsc_gnode *a = dsc_in(g, n, 0);
    const float *p = a->val.data, *t = dsc_in(g, n, 1)->val.data;
    size_t size = dsc_size(g, a);
    double s = 0.0;
    for (size_t i = 0; i < size; i++) s += term(p[i], t[i]);
    n->val.data[0] = (float)(s * scale);
}

/* out[i] += d(p[i], t[i]) * k over a range: one loop of a loss's backward. */
typedef struct {
    float *out;
    const float *p, *t;
    loss_deriv_fn d;
    float k;
} deriv_job;

static void deriv_range(void *job_, size_t lo, size_t hi)
{
    const deriv_job *job = job_;
    for (size_t i = lo; i < hi; i++) job->out[i] += job->d(job->p[i], job->t[i]) * job->k;
}

static void elementwise_backward(dsc_graph *g, dsc_gnode *n, loss_deriv_fn dpred,
                                 loss_deriv_fn dtarget, double scale)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t size = dsc_size(g, a);
    deriv_job job = {.p = a->val.data, .t = b->val.data, .k = (float)(scale * n->grad.data[0])};
    if (a->requires_grad) {
        job.out = a->grad.data;
        job.d = dpred;
        dsc_parallel_for(dsc_threads(g->threads), size > LOSS_PAR_MIN, size, 4096, deriv_range,
                         &job);
    }
    if (b->requires_grad) {
        job.out = b->grad.data;
        job.d = dtarget;
        dsc_parallel_for(dsc_threads(g->threads), size > LOSS_PAR_MIN, size, 4096, deriv_range,
                         &job);
    }
}

static double elements(dsc_graph *g, const dsc_gnode *n)
{
    return (double)dsc_size(g, dsc_in(g, n, 0));
}

static double batch_rows(dsc_graph *g, const dsc_gnode *n)
{
    return (double)dsc_rows(g, dsc_in(g, n, 0));
}

/* The forward and backward of an element-wise loss divided by `divisor`
 * (1.0, elements or batch_rows). */
#define ELEMENT_LOSS_KERNELS(op, name, divisor)                                                    \
    static void op##_forward(dsc_graph *g, dsc_gnode *n)                                           \
    {                                                                                              \
        elementwise_forward(g, n, name##_term, 1.0 / divisor(g, n));                               \
    }                                                                                              \
    static void op##_backward(dsc_graph *g, dsc_gnode *n)                                          \
    {                                                                                              \
        elementwise_backward(g, n, name##_dpred, name##_dtarget, 1.0 / divisor(g, n));             \
    }

static double one(dsc_graph *g, const dsc_gnode *n) { return (void)g, (void)n, 1.0; }

/* ---- squared residuals: ssr, mse -------------------------------------- */

LOSS_TERM_FN(sq, {
    double r = (double)t - p;
    return r * r;
})
static float sq_dpred(float p, float t) { return -2.0f * (t - p); }
static float sq_dtarget(float p, float t) { return 2.0f * (t - p); }
static double sq_dref(double p, double t) { return -2.0 * (t - p); }
LOSS_ROW_REF(sq)

ELEMENT_LOSS_KERNELS(ssr, sq, one)
ELEMENT_LOSS_KERNELS(mse, sq, elements)

const dsc_op_def dsc_op_ssr = {
    .name = "ssr",
    .formula = "sum (observed - predicted)^2",
    .derivative = "-2(observed - predicted)",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .shape = dsc_shape_loss,
    .forward = ssr_forward,
    .backward = ssr_backward,
    .ref = {.loss_row = sq_row, .norm = DSC_NORM_NONE},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, sq_term_c},
};

const dsc_op_def dsc_op_mse = {
    .name = "mse",
    .formula = "sum (observed - predicted)^2 / N",
    .derivative = "-2(observed - predicted)/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .shape = dsc_shape_loss,
    .forward = mse_forward,
    .backward = mse_backward,
    .ref = {.loss_row = sq_row, .norm = DSC_NORM_ELEMENTS},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, sq_term_c},
};

/* ---- mae ------------------------------------------------------------- */

LOSS_TERM_FN(abs, { return fabs((double)t - p); })
/* |r| has no derivative at r = 0; 0 there (the subgradient PyTorch picks)
 * means an exact fit is left alone. */
static float abs_dpred(float p, float t) { return p > t ? 1.0f : p < t ? -1.0f : 0.0f; }
static float abs_dtarget(float p, float t) { return -abs_dpred(p, t); }
static double abs_dref(double p, double t) { return p > t ? 1.0 : p < t ? -1.0 : 0.0; }
LOSS_ROW_REF(abs)
ELEMENT_LOSS_KERNELS(mae, abs, elements)

const dsc_op_def dsc_op_mae = {
    .name = "mae",
    .formula = "sum |observed - predicted| / N",
    .derivative = "sign(predicted - observed)/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .flags = DSC_OPF_KINK,
    .shape = dsc_shape_loss,
    .forward = mae_forward,
    .backward = mae_backward,
    .ref = {.loss_row = abs_row, .norm = DSC_NORM_ELEMENTS},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, abs_term_c},
};

/* ---- huber ----------------------------------------------------------- */

/* Quadratic near the target, linear beyond delta: the squared error's
 * smooth minimum without its pull from outliers. */
#define HUBER_DELTA_VALUE 1
#define HUBER_DELTA       ((float)HUBER_DELTA_VALUE)
LOSS_TERM_FN(huber, {
    double r = (double)p - t, a = fabs(r), d = HUBER_DELTA;
    return a <= d ? 0.5 * r * r : d * (a - 0.5 * d);
})
static float huber_dpred(float p, float t)
{
    float r = p - t;
    if (r > HUBER_DELTA) return HUBER_DELTA;
    if (r < -HUBER_DELTA) return -HUBER_DELTA;
    return r;
}
static float huber_dtarget(float p, float t) { return -huber_dpred(p, t); }
static double huber_dref(double p, double t)
{
    double r = p - t, d = HUBER_DELTA;
    return r > d ? d : r < -d ? -d : r;
}
LOSS_ROW_REF(huber)
ELEMENT_LOSS_KERNELS(huber, huber, elements)

#define HUBER_TXT DSC_STR(HUBER_DELTA_VALUE)
const dsc_op_def dsc_op_huber = {
    .name = "huber",
    .formula =
        "mean of r^2/2 if |r|<=d, d(|r|-d/2) otherwise (r = predicted - observed, d = " HUBER_TXT
        ")",
    .derivative = "clip(predicted - observed, -" HUBER_TXT ", " HUBER_TXT ")/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .shape = dsc_shape_loss,
    .forward = huber_forward,
    .backward = huber_backward,
    .ref = {.loss_row = huber_row, .norm = DSC_NORM_ELEMENTS},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, huber_term_c},
};

/* ---- bce on probabilities -------------------------------------------- */

LOSS_TERM_FN(bce, {
    double lp = log(p), lq = log(1.0 - p);
    lp = lp < LOG_FLOOR ? LOG_FLOOR : lp;
    lq = lq < LOG_FLOOR ? LOG_FLOOR : lq;
    return -((double)t * lp + (1.0 - t) * lq);
})
static float bce_dpred(float p, float t) { return (p - t) / fmaxf(p * (1.0f - p), PROB_EPS); }
static float bce_dtarget(float p, float t)
{
    (void)t;
    return (float)(clamped_log(1.0 - p) - clamped_log(p));
}
static double bce_dref(double p, double t) { return (p - t) / fmax(p * (1.0 - p), PROB_EPS_VALUE); }
LOSS_ROW_REF(bce)
ELEMENT_LOSS_KERNELS(bce, bce, elements)

const dsc_op_def dsc_op_bce = {
    .name = "bce",
    .formula = "-mean [t ln p + (1-t) ln(1-p)] (p predicted, t observed; each ln >= -100)",
    .derivative = "(predicted - observed)/(predicted(1 - predicted))/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .shape = dsc_shape_loss,
    .forward = bce_forward,
    .backward = bce_backward,
    .ref = {.loss_row = bce_row, .norm = DSC_NORM_ELEMENTS},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, bce_term_c},
};

/* ---- ce on probabilities --------------------------------------------- */

/* A mean over rows, not elements: each row is one sample's distribution. */
LOSS_TERM_FN(ce, {
    double lp = log(p);
    return -(double)t * (lp < LOG_FLOOR ? LOG_FLOOR : lp);
})
static float ce_dpred(float p, float t) { return -t / fmaxf(p, PROB_EPS); }
static float ce_dtarget(float p, float t)
{
    (void)t;
    return (float)-clamped_log(p);
}
static double ce_dref(double p, double t) { return -t / fmax(p, PROB_EPS_VALUE); }
LOSS_ROW_REF(ce)
ELEMENT_LOSS_KERNELS(ce, ce, batch_rows)

const dsc_op_def dsc_op_ce = {
    .name = "ce",
    .formula = "-(1/rows) sum t ln p (p predicted, t observed; ln >= -100)",
    .derivative = "-observed/predicted/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .shape = dsc_shape_loss,
    .forward = ce_forward,
    .backward = ce_backward,
    .ref = {.loss_row = ce_row, .norm = DSC_NORM_ROWS},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, ce_term_c},
};

/* ---- bce on logits (sigmoid + bce fused) ------------------------------- */

/* -[t ln s(z) + (1-t) ln(1-s(z))] simplifies to max(z,0) - z t +
 * ln(1 + e^-|z|): no exponential of a positive number, no log of 0, and
 * the derivative loses the p(1-p) denominator. p is the logit z here. */
LOSS_TERM_FN(bce_logits, {
    double zd = p;
    return (zd > 0.0 ? zd : 0.0) - zd * t + log1p(exp(-fabs(zd)));
})
static float bce_logits_dpred(float z, float t)
{
    float e = expf(-fabsf(z));
    float s = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    return s - t;
}
static float bce_logits_dtarget(float z, float t)
{
    (void)t;
    return -z;
}
static double bce_logits_dref(double z, double t)
{
    double e = exp(-fabs(z));
    return (z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - t;
}
LOSS_ROW_REF(bce_logits)
ELEMENT_LOSS_KERNELS(bce_logits, bce_logits, elements)

const dsc_op_def dsc_op_bce_logits = {
    .name = "bce_logits",
    .formula = "mean of max(z,0) - z t + ln(1+e^-|z|) (z logits, t observed; = bce(sigmoid(z), t))",
    .derivative = "(predicted - observed)/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .shape = dsc_shape_loss,
    .forward = bce_logits_forward,
    .backward = bce_logits_backward,
    .ref = {.loss_row = bce_logits_row, .norm = DSC_NORM_ELEMENTS},
    .out = {NULL, NULL, DSC_C_LOSS_TERM, bce_logits_term_c},
};

/* ---- ce on logits (softmax + ce fused) --------------------------------- */

/* Forward keeps, per row, lse(z) = ln sum_j e^z_j and softmax(z)_j =
 * e^(z_j - max) / sum_k e^(z_k - max), doubles in pairs of floats after
 * the value (4-byte aligned only: memcpy), for backward, which would
 * otherwise compute the same exps again: in a small classifier's step they
 * cost as much as a matrix multiply. */
static dsc_status ce_logits_shape(dsc_graph *g, dsc_gnode *n)
{
    dsc_status s = dsc_shape_loss(g, n);
    if (s) return s;
    const dsc_gnode *a = dsc_in(g, n, 0);
    size_t per_row = 2 * (a->cols + 1);
    if (a->batch_rows)
        n->keep_row = per_row;
    else
        n->keep = per_row * a->rows;
    return DSC_OK;
}

/* Row r's lse, then its softmax, at kept_row(n, cols, r). */
static float *kept_row(dsc_gnode *n, size_t cols, size_t r)
{
    return n->val.data + 1 + 2 * (cols + 1) * r;
}

static double get_d(const float *at)
{
    double v;
    memcpy(&v, at, sizeof v);
    return v;
}

static void put_d(float *at, double v) { memcpy(at, &v, sizeof v); }

/* The exps and logs of ce on logits, written without calls or branches so
 * that the compiler runs them over vectors: called one element at a time,
 * glibc's exp and log were a tenth of a digits step and an eighth of a
 * 20-feature, 3-class one. Both agree with the correctly rounded value to
 * within about one double ulp, which rounding to float hides. */

/* e^x for x <= 0 (a logit minus its row's largest): x = k ln 2 + r with
 * |r| <= ln 2 / 2, e^r by its Taylor series to r^13 (the rest is below
 * 5e-18 of it), 2^k built in the exponent bits. Below -700 it gives
 * e^-700 (1e-304): nothing next to the row's e^0 = 1, and 0 in float. A
 * NaN stays NaN. */
static void exp_nonpos(double *x, size_t n)
{
    const double magic = 0x1.8p52; /* adding it rounds to an integer, kept in the low bits */
    const double ln2_hi = 0x1.62e42fefa3800p-1, ln2_lo = 0x1.ef35793c76730p-45;
    for (size_t i = 0; i < n; i++) {
        double v = x[i] < -700.0 ? -700.0 : x[i];
        double kd = v * 0x1.71547652b82fep0 + magic;
        uint64_t kb;
        memcpy(&kb, &kd, sizeof kb);
        kd -= magic;
        double r = (v - kd * ln2_hi) - kd * ln2_lo;
        double p = 1.0 / 6227020800.0;
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        /* kb's low bits hold k (-1010 <= k <= 0 here): 2^k's bits are k + 1023
         * in the exponent field. */
        uint64_t sb = (kb - 0x4338000000000000u + 1023u) << 52;
        double scale;
        memcpy(&scale, &sb, sizeof scale);
        x[i] = p * scale;
    }
}

/* ln x for a positive normal x (a row's sum of e^(z - max), from 1 to the
 * number of classes): x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m =
 * 2 atanh(s) with s = (m - 1)/(m + 1), |s| <= 0.172, by its series to
 * s^23 (the rest is below 2e-20). A NaN stays NaN. */
static void log_pos(double *x, size_t n)
{
    const double ln2_hi = 0x1.62e42fefa3800p-1, ln2_lo = 0x1.ef35793c76730p-45;
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, &x[i], sizeof b);
        /* The exponent, and the mantissa with exponent 0 (m in [1, 2)). */
        int64_t e = (int64_t)((b >> 52) & 0x7ff) - 1023;
        uint64_t mb = (b & 0x000fffffffffffffu) | 0x3ff0000000000000u;
        double m;
        memcpy(&m, &mb, sizeof m);
        int big = m > 0x1.6a09e667f3bcdp0; /* sqrt(2) */
        m = big ? 0.5 * m : m;
        double ed = (double)(e + big);
        double s = (m - 1.0) / (m + 1.0), s2 = s * s;
        double p = 1.0 / 23.0;
        p = p * s2 + 1.0 / 21.0;
        p = p * s2 + 1.0 / 19.0;
        p = p * s2 + 1.0 / 17.0;
        p = p * s2 + 1.0 / 15.0;
        p = p * s2 + 1.0 / 13.0;
        p = p * s2 + 1.0 / 11.0;
        p = p * s2 + 1.0 / 9.0;
        p = p * s2 + 1.0 / 7.0;
        p = p * s2 + 1.0 / 5.0;
        p = p * s2 + 1.0 / 3.0;
        double lm = 2.0 * s + 2.0 * s * s2 * p;
        double l = ed * ln2_hi + (ed * ln2_lo + lm);
        x[i] = x[i] != x[i] ? x[i] : l;
    }
}

/* Rows are taken CE_BLOCK values at a time (a row wider than that alone,
 * in pieces), so that the exps and logs run over many at once. */
#define CE_BLOCK 256

/* ln softmax(z)_j = z_j - lse(z) is finite for any finite logits, where
 * ln of a softmax that underflowed to 0 is not. The largest value is
 * taken out so that no exponent is positive. */
static void ce_logits_forward(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *a = dsc_in(g, n, 0);
    const float *z = a->val.data, *t = dsc_in(g, n, 1)->val.data;
    size_t rows = dsc_rows(g, a), cols = a->cols;
    int whole = cols <= CE_BLOCK; /* rows whole in x, else one row in pieces */
    size_t per = cols && whole ? CE_BLOCK / cols : 1;
    double s = 0.0, x[CE_BLOCK], mx[CE_BLOCK], sum[CE_BLOCK], lse[CE_BLOCK];
    for (size_t r0 = 0; r0 < rows && cols > 0; r0 += per) {
        size_t nr = rows - r0 < per ? rows - r0 : per;
        for (size_t i = 0; i < nr; i++) {
            const float *zr = z + (r0 + i) * cols;
            float m = zr[0];
            for (size_t j = 1; j < cols; j++) m = zr[j] > m ? zr[j] : m;
            mx[i] = m;
            sum[i] = 0.0;
        }
        /* e^(z_j - max) into the kept softmax places, summed in order. */
        for (size_t j0 = 0; j0 < cols; j0 += CE_BLOCK) {
            size_t nj = cols - j0 < CE_BLOCK ? cols - j0 : CE_BLOCK;
            for (size_t i = 0; i < nr; i++)
                for (size_t j = 0; j < nj; j++)
                    x[i * nj + j] = (double)z[(r0 + i) * cols + j0 + j] - mx[i];
            exp_nonpos(x, nr * nj);
            for (size_t i = 0; i < nr; i++) {
                float *kept = kept_row(n, cols, r0 + i);
                for (size_t j = 0; j < nj; j++) {
                    if (!whole) put_d(kept + 2 * (j0 + j + 1), x[i * nj + j]);
                    sum[i] += x[i * nj + j];
                }
            }
        }
        memcpy(lse, sum, nr * sizeof *lse);
        log_pos(lse, nr);
        /* Rows held whole in x become their softmax there, over vectors,
         * and go to their kept places in one copy each. */
        if (whole)
            for (size_t i = 0; i < nr; i++)
                for (size_t j = 0; j < cols; j++) x[i * cols + j] /= sum[i];
        for (size_t i = 0; i < nr; i++) {
            const float *zr = z + (r0 + i) * cols, *tr = t + (r0 + i) * cols;
            float *kept = kept_row(n, cols, r0 + i);
            double l = mx[i] + lse[i], row = 0.0;
            put_d(kept, l);
            if (whole)
                memcpy(kept + 2, x + i * cols, cols * sizeof *x);
            else
                for (size_t j = 0; j < cols; j++)
                    put_d(kept + 2 * (j + 1), get_d(kept + 2 * (j + 1)) / sum[i]);
            /* A row's terms summed apart, then the rows: a chain of `rows`
             * dependent additions rather than rows x cols. */
            for (size_t j = 0; j < cols; j++) row += (double)tr[j] * (zr[j] - l);
            s -= row;
        }
    }
    n->val.data[0] = (float)(s / (double)rows);
}

/* dz_j = softmax(z)_j sum_k t_k - t_j: with one-hot (or any normalised)
 * targets that is the familiar softmax - t. dz and dt are NULL when that
 * input needs no gradient. */
typedef struct {
    const float *z, *t;
    const float *kept; /* forward's lse and softmax: kept_row */
    float *dz, *dt;
    size_t cols;
    double k;
} ce_job;

static void ce_logits_rows(void *job_, size_t lo, size_t hi)
{
    const ce_job *job = job_;
    size_t cols = job->cols;
    double k = job->k;
    for (size_t r = lo; r < hi; r++) {
        const float *zr = job->z + r * cols, *tr = job->t + r * cols;
        const float *kept = job->kept + 2 * (cols + 1) * r;
        double lse = get_d(kept);
        if (job->dz) {
            float *dz = job->dz + r * cols;
            double tsum = 0.0;
            for (size_t j = 0; j < cols; j++) tsum += tr[j];
            for (size_t j = 0; j < cols; j++)
                dz[j] += (float)((get_d(kept + 2 * (j + 1)) * tsum - tr[j]) * k);
        }
        if (job->dt) {
            float *dt = job->dt + r * cols;
            for (size_t j = 0; j < cols; j++) dt[j] += (float)(-(zr[j] - lse) * k);
        }
    }
}

static void ce_logits_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    if (!a->requires_grad && !b->requires_grad) return;
    size_t rows = dsc_rows(g, a), cols = a->cols;
    if (cols == 0) return;
    ce_job job = {.z = a->val.data,
                  .t = b->val.data,
                  .kept = kept_row(n, cols, 0),
                  .dz = a->requires_grad ? a->grad.data : NULL,
                  .dt = b->requires_grad ? b->grad.data : NULL,
                  .cols = cols,
                  .k = n->grad.data[0] / (double)rows};
    dsc_parallel_for(dsc_threads(g->threads), rows * cols > LOSS_PAR_MIN, rows,
                     (1024 + cols - 1) / cols, ce_logits_rows, &job);
}

/* The reference: one row's -sum t_j ln softmax(z)_j and its gradient
 * softmax(z)_j sum_k t_k - t_j, in double. */
static double ce_logits_row(const double *z, const double *t, size_t n, double *dz)
{
    double m = z[0], s = 0.0, tsum = 0.0, v = 0.0;
    for (size_t j = 1; j < n; j++) m = fmax(m, z[j]);
    for (size_t j = 0; j < n; j++) s += exp(z[j] - m), tsum += t[j];
    double lse = m + log(s);
    for (size_t j = 0; j < n; j++) {
        v -= t[j] * (z[j] - lse);
        if (dz) dz[j] = exp(z[j] - lse) * tsum - t[j];
    }
    return v;
}

const dsc_op_def dsc_op_ce_logits = {
    .name = "ce_logits",
    .formula =
        "-(1/rows) sum t_j (z_j - ln sum_k e^z_k) (z logits, t observed; = ce(softmax(z), t))",
    .derivative = "(predicted x sum(observed) - observed)/N",
    .n_in = 2,
    .kind = DSC_OPK_LOSS,
    .flags = DSC_OPF_ROWWISE,
    .shape = ce_logits_shape,
    .forward = ce_logits_forward,
    .backward = ce_logits_backward,
    .ref = {.loss_row = ce_logits_row, .norm = DSC_NORM_ROWS},
    .out = {"SoftmaxCrossEntropyLoss", "reduction=mean", DSC_C_NONE, NULL},
};
