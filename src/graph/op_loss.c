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

#include "graph_internal.h"

#define LOSS_PAR_MIN 8192

/* PyTorch clamps each log of a probability at -100 so that a probability of
 * exactly 0 or 1 gives a large, finite loss. A NaN passes through, so a
 * diverging run is still seen as one. */
#define LOG_FLOOR (-100.0)
/* The smallest denominator the probability losses divide by: keeps their
 * derivatives finite at p = 0 or 1. */
#define PROB_EPS 1e-12f

static double clamped_log(double p)
{
    double l = log(p);
    return l < LOG_FLOOR ? LOG_FLOOR : l;
}

/* An element-wise loss: `term` gives one element's contribution, the value
 * is scale * sum of terms; `dpred` and `dtarget` give one element's partial
 * derivatives before scaling. */
typedef double (*loss_term_fn)(float p, float t);
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

/* ---- squared residuals: ssr, mse -------------------------------------- */

static double sq_term(float p, float t)
{
    double r = (double)t - p;
    return r * r;
}
static float sq_dpred(float p, float t) { return -2.0f * (t - p); }
static float sq_dtarget(float p, float t) { return 2.0f * (t - p); }

static void ssr_forward(dsc_graph *g, dsc_gnode *n) { elementwise_forward(g, n, sq_term, 1.0); }

static void ssr_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, sq_dpred, sq_dtarget, 1.0);
}

const dsc_op_def dsc_op_ssr = {
    "ssr",
    "sum (observed - predicted)^2",
    "-2 (observed - predicted)",
    2,
    dsc_shape_loss,
    ssr_forward,
    ssr_backward,
};

static void mse_forward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_forward(g, n, sq_term, 1.0 / elements(g, n));
}

static void mse_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, sq_dpred, sq_dtarget, 1.0 / elements(g, n));
}

const dsc_op_def dsc_op_mse = {
    "mse",
    "sum (observed - predicted)^2 / n",
    "-2 (observed - predicted) / n",
    2,
    dsc_shape_loss,
    mse_forward,
    mse_backward,
};

/* ---- mae ------------------------------------------------------------- */

static double abs_term(float p, float t) { return fabs((double)t - p); }
/* |r| has no derivative at r = 0; 0 there (the subgradient PyTorch picks)
 * means an exact fit is left alone. */
static float abs_dpred(float p, float t) { return p > t ? 1.0f : p < t ? -1.0f : 0.0f; }
static float abs_dtarget(float p, float t) { return -abs_dpred(p, t); }

static void mae_forward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_forward(g, n, abs_term, 1.0 / elements(g, n));
}

static void mae_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, abs_dpred, abs_dtarget, 1.0 / elements(g, n));
}

const dsc_op_def dsc_op_mae = {
    "mae",
    "sum |observed - predicted| / n",
    "sign(predicted - observed) / n (0 where they are equal)",
    2,
    dsc_shape_loss,
    mae_forward,
    mae_backward,
};

/* ---- huber ----------------------------------------------------------- */

/* Quadratic near the target, linear beyond delta: the squared error's
 * smooth minimum without its pull from outliers. */
static double huber_term(float p, float t)
{
    double r = (double)p - t, a = fabs(r), d = DSC_HUBER_DELTA;
    return a <= d ? 0.5 * r * r : d * (a - 0.5 * d);
}
static float huber_dpred(float p, float t)
{
    float r = p - t;
    if (r > DSC_HUBER_DELTA) return DSC_HUBER_DELTA;
    if (r < -DSC_HUBER_DELTA) return -DSC_HUBER_DELTA;
    return r;
}
static float huber_dtarget(float p, float t) { return -huber_dpred(p, t); }

static void huber_forward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_forward(g, n, huber_term, 1.0 / elements(g, n));
}

static void huber_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, huber_dpred, huber_dtarget, 1.0 / elements(g, n));
}

const dsc_op_def dsc_op_huber = {
    "huber",
    "mean of r^2/2 if |r|<=1, |r|-1/2 otherwise (r = predicted - observed)",
    "r/n if |r|<=1, sign(r)/n otherwise",
    2,
    dsc_shape_loss,
    huber_forward,
    huber_backward,
};

/* ---- bce on probabilities -------------------------------------------- */

static double bce_term(float p, float t)
{
    return -((double)t * clamped_log(p) + (1.0 - t) * clamped_log(1.0 - p));
}
static float bce_dpred(float p, float t) { return (p - t) / fmaxf(p * (1.0f - p), PROB_EPS); }
static float bce_dtarget(float p, float t)
{
    (void)t;
    return (float)(clamped_log(1.0 - p) - clamped_log(p));
}

static void bce_forward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_forward(g, n, bce_term, 1.0 / elements(g, n));
}

static void bce_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, bce_dpred, bce_dtarget, 1.0 / elements(g, n));
}

const dsc_op_def dsc_op_bce = {
    "bce",
    "-mean [t ln p + (1-t) ln(1-p)] (p predicted, t observed; each ln >= -100)",
    "(p - t) / (p (1 - p)) / n",
    2,
    dsc_shape_loss,
    bce_forward,
    bce_backward,
};

/* ---- ce on probabilities --------------------------------------------- */

/* A mean over rows, not elements: each row is one sample's distribution. */
static double ce_term(float p, float t) { return -(double)t * clamped_log(p); }
static float ce_dpred(float p, float t) { return -t / fmaxf(p, PROB_EPS); }
static float ce_dtarget(float p, float t)
{
    (void)t;
    return (float)-clamped_log(p);
}

static void ce_forward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_forward(g, n, ce_term, 1.0 / batch_rows(g, n));
}

static void ce_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, ce_dpred, ce_dtarget, 1.0 / batch_rows(g, n));
}

const dsc_op_def dsc_op_ce = {
    "ce",
    "-(1/rows) sum t ln p (p predicted, t observed; ln >= -100)",
    "-t / p / rows",
    2,
    dsc_shape_loss,
    ce_forward,
    ce_backward,
};

/* ---- bce on logits (sigmoid + bce fused) ------------------------------- */

/* -[t ln s(z) + (1-t) ln(1-s(z))] simplifies to max(z,0) - z t +
 * ln(1 + e^-|z|): no exponential of a positive number, no log of 0, and
 * the derivative loses the p(1-p) denominator. */
static double bce_logits_term(float z, float t)
{
    double zd = z;
    return (zd > 0.0 ? zd : 0.0) - zd * t + log1p(exp(-fabs(zd)));
}
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

static void bce_logits_forward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_forward(g, n, bce_logits_term, 1.0 / elements(g, n));
}

static void bce_logits_backward(dsc_graph *g, dsc_gnode *n)
{
    elementwise_backward(g, n, bce_logits_dpred, bce_logits_dtarget, 1.0 / elements(g, n));
}

const dsc_op_def dsc_op_bce_logits = {
    "bce_logits",
    "mean of max(z,0) - z t + ln(1+e^-|z|) (z logits, t observed; = bce(sigmoid(z), t))",
    "(sigmoid(z) - t) / n",
    2,
    dsc_shape_loss,
    bce_logits_forward,
    bce_logits_backward,
};

/* ---- ce on logits (softmax + ce fused) --------------------------------- */

/* ln sum_j e^z_j of one row, with the row's largest value taken out so that
 * no exponent is positive. */
static double row_lse(const float *z, size_t cols)
{
    float m = z[0];
    for (size_t j = 1; j < cols; j++) m = z[j] > m ? z[j] : m;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += exp((double)z[j] - m);
    return m + log(s);
}

/* ln softmax(z)_j = z_j - lse(z) is finite for any finite logits, where
 * ln of a softmax that underflowed to 0 is not. */
static void ce_logits_forward(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *a = dsc_in(g, n, 0);
    const float *z = a->val.data, *t = dsc_in(g, n, 1)->val.data;
    size_t rows = dsc_rows(g, a), cols = a->cols;
    double s = 0.0;
    for (size_t r = 0; r < rows && cols > 0; r++) {
        const float *zr = z + r * cols, *tr = t + r * cols;
        double lse = row_lse(zr, cols);
        for (size_t j = 0; j < cols; j++) s -= (double)tr[j] * (zr[j] - lse);
    }
    n->val.data[0] = (float)(s / (double)rows);
}

/* dz_j = softmax(z)_j sum_k t_k - t_j: with one-hot (or any normalised)
 * targets that is the familiar softmax - t. dz and dt are NULL when that
 * input needs no gradient. */
typedef struct {
    const float *z, *t;
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
        double lse = row_lse(zr, cols);
        if (job->dz) {
            float *dz = job->dz + r * cols;
            double tsum = 0.0;
            for (size_t j = 0; j < cols; j++) tsum += tr[j];
            for (size_t j = 0; j < cols; j++)
                dz[j] += (float)((exp(zr[j] - lse) * tsum - tr[j]) * k);
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
                  .dz = a->requires_grad ? a->grad.data : NULL,
                  .dt = b->requires_grad ? b->grad.data : NULL,
                  .cols = cols,
                  .k = n->grad.data[0] / (double)rows};
    dsc_parallel_for(dsc_threads(g->threads), rows * cols > LOSS_PAR_MIN, rows,
                     (1024 + cols - 1) / cols, ce_logits_rows, &job);
}

const dsc_op_def dsc_op_ce_logits = {
    "ce_logits",
    "-(1/rows) sum t_j (z_j - ln sum_k e^z_k) (z logits, t observed; = ce(softmax(z), t))",
    "(softmax(z)_j sum_k t_k - t_j) / rows",
    2,
    dsc_shape_loss,
    ce_logits_forward,
    ce_logits_backward,
};
