/* Linear algebra and arithmetic ops: matmul, add, sub, mul, scale, sum,
 * mean. Each op's forward and backward sit together; backward adds into
 * the inputs' gradients. */
#include <string.h>

#include "../tensor/tensor.h"
#include "graph_internal.h"

#define PAR_MIN 8192 /* elements below which threads cost more than they save */

/* --- matmul: C = op(A) op(B) ----------------------------------------- */

/* Parameters: ip[0] and ip[1] are non-zero when A and B are transposed. */
#define TRANS_A(n) ((int)(n)->ip[0])
#define TRANS_B(n) ((int)(n)->ip[1])

/* Rows and columns of op(X) for a node X, now. */
static void op_dims(const dsc_graph *g, const dsc_gnode *x, int trans, size_t *r, size_t *c)
{
    size_t rows = dsc_rows(g, x);
    *r = trans ? x->cols : rows;
    *c = trans ? rows : x->cols;
}

static dsc_status matmul_shape(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    /* A batch dimension may be a row of the result or be contracted over;
     * it can never become a column. */
    int a_rows_batch = a->batch_rows && !TRANS_A(n);
    int a_k_batch = a->batch_rows && TRANS_A(n);
    int b_k_batch = b->batch_rows && !TRANS_B(n);
    int b_cols_batch = b->batch_rows && TRANS_B(n);
    size_t ak = TRANS_A(n) ? a->rows : a->cols;
    size_t bk = TRANS_B(n) ? b->cols : b->rows;
    if (b_cols_batch)
        return dsc_fail(DSC_EUNSUPPORTED,
                        "matmul: the batch dimension of '%s' cannot become "
                        "a column of the result",
                        b->name ? b->name : "?");
    if (a_k_batch != b_k_batch || (!a_k_batch && ak != bk))
        return dsc_fail(DSC_ESHAPE, "matmul: inner dimensions differ (%zu vs %zu)", ak, bk);
    n->batch_rows = a_rows_batch;
    n->rows = TRANS_A(n) ? a->cols : a->rows;
    n->cols = TRANS_B(n) ? b->rows : b->cols;
    return DSC_OK;
}

static void matmul_forward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t m, k, k2, cols;
    op_dims(g, a, TRANS_A(n), &m, &k);
    op_dims(g, b, TRANS_B(n), &k2, &cols);
    (void)k2;
    dsc_gemm(TRANS_A(n), TRANS_B(n), m, cols, k, 1.0f, a->val.data, a->cols, b->val.data, b->cols,
             0.0f, n->val.data, n->cols, g->threads);
}

static void matmul_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t m, k, k2, cols;
    op_dims(g, a, TRANS_A(n), &m, &k);
    op_dims(g, b, TRANS_B(n), &k2, &cols);
    (void)k2;
    const float *dc = n->grad.data;
    /* d op(A) = dC op(B)^T and d op(B) = op(A)^T dC, each written for how
     * A and B are stored. */
    if (a->requires_grad) {
        if (!TRANS_A(n))
            dsc_gemm(0, !TRANS_B(n), m, k, cols, 1.0f, dc, cols, b->val.data, b->cols, 1.0f,
                     a->grad.data, a->cols, g->threads);
        else
            dsc_gemm(TRANS_B(n), 1, k, m, cols, 1.0f, b->val.data, b->cols, dc, cols, 1.0f,
                     a->grad.data, a->cols, g->threads);
    }
    if (b->requires_grad) {
        if (!TRANS_B(n))
            dsc_gemm(!TRANS_A(n), 0, k, cols, m, 1.0f, a->val.data, a->cols, dc, cols, 1.0f,
                     b->grad.data, b->cols, g->threads);
        else
            dsc_gemm(1, TRANS_A(n), cols, k, m, 1.0f, dc, cols, a->val.data, a->cols, 1.0f,
                     b->grad.data, b->cols, g->threads);
    }
}

/* For one sample x (1 x k) times a weight W stored out x k (the dense
 * layer's product, trans_b): y[o] = sum_j x[j] W[o][j]. */
const dsc_op_def dsc_op_matmul = {
    .name = "matmul",
    .formula = "A B",
    .derivative = "dC/dA = dC B^T, dC/dB = A^T dC",
    .n_in = 2,
    .kind = DSC_OPK_BASIC,
    .shape = matmul_shape,
    .forward = matmul_forward,
    .backward = matmul_backward,
    .out = {"MatMul", NULL, DSC_C_LAYER,
            "for (size_t o = 0; o < out; o++) { float s = 0.0f; "
            "for (size_t j = 0; j < in; j++) s += x[j] * W[o * in + j]; y[o] = s; }"},
};

/* --- element-wise binary ops with a broadcast second operand ---------- */

/* b is the same shape as a, a single row, or 1 x 1. */
static dsc_status broadcast_shape(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    int same = a->cols == b->cols && a->batch_rows == b->batch_rows &&
               (a->batch_rows || a->rows == b->rows);
    int row = !b->batch_rows && b->rows == 1 && b->cols == a->cols;
    int scalar = !b->batch_rows && b->rows == 1 && b->cols == 1;
    if (!same && !row && !scalar)
        return dsc_fail(DSC_ESHAPE,
                        "%s: the second operand (%zu x %zu) is neither the first's shape "
                        "(%zu x %zu), one row of it, nor 1 x 1",
                        n->def->name, b->rows, b->cols, a->rows, a->cols);
    n->rows = a->rows;
    n->cols = a->cols;
    n->batch_rows = a->batch_rows;
    return DSC_OK;
}

/* How b lines up with element i of a: the same index, its column, or 0. */
static size_t b_stride_kind(const dsc_graph *g, const dsc_gnode *a, const dsc_gnode *b)
{
    if (dsc_size(g, b) == dsc_size(g, a)) return 0;
    if (b->cols == a->cols && b->cols != 1) return 1;
    return 2;
}

static inline size_t b_index(size_t kind, size_t i, size_t cols)
{
    return kind == 0 ? i : kind == 1 ? i % cols : 0;
}

/* Sum over r < rows of x[r * stride] (times f[r * stride] when f is given),
 * in double, in order. */
static double column_sum(const float *x, const float *f, size_t rows, size_t stride)
{
    double s = 0.0;
    if (f) {
        for (size_t r = 0; r < rows; r++) s += (double)x[r * stride] * f[r * stride];
    } else {
        for (size_t r = 0; r < rows; r++) s += x[r * stride];
    }
    return s;
}

/* out[j] += sign * (sum over r < rows of x[r * stride + j]) for j < w,
 * each sum in double with rows in order, as column_sum. */
#define COL_BLOCK 64
static void column_sums(const float *restrict x, size_t rows, size_t stride, size_t w, float sign,
                        float *restrict out)
{
    double acc[COL_BLOCK] = {0};
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < w; j++) acc[j] += x[r * stride + j];
    for (size_t j = 0; j < w; j++) out[j] += sign * (float)acc[j];
}

/* Adds the gradient g_a (one value per element of a) into b's gradient,
 * summing over the rows b was broadcast along. Sums run in double, column
 * by column in a fixed order, so they do not depend on the thread count. */
static void reduce_into_b(dsc_graph *g, const dsc_gnode *a, dsc_gnode *b, const float *ga_src,
                          const float *factor, float sign)
{
    size_t kind = b_stride_kind(g, a, b), rows = dsc_rows(g, a), cols = a->cols;
    size_t total = rows * cols;
    float *gb = b->grad.data;
    if (kind == 0) {
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total,
                         gb[i] += sign * ga_src[i] * (factor ? factor[i] : 1.0f));
        return;
    }
    if (kind == 2) { /* 1 x 1: one sum over everything */
        gb[0] += sign * (float)column_sum(ga_src, factor, total, 1);
        return;
    }
    if (factor) {
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, j, cols,
                         gb[j] += sign * (float)column_sum(ga_src + j, factor + j, rows, cols));
        return;
    }
    /* A bias's gradient (the common case): the same column sums, rows in
     * order, but walked row by row over a block of columns, so the reads
     * are contiguous and the adds vectorise. */
    size_t blocks = (cols + COL_BLOCK - 1) / COL_BLOCK;
    DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, c, blocks, {
        size_t j0 = c * COL_BLOCK, w = cols - j0 < COL_BLOCK ? cols - j0 : COL_BLOCK;
        column_sums(ga_src + j0, rows, cols, w, sign, gb + j0);
    });
}

/* x op y for the three element-wise ops; op is a constant where the
 * forward below is inlined, so the choice costs nothing in the loops. */
static inline float apply(char op, float x, float y)
{
    return op == '+' ? x + y : op == '-' ? x - y : x * y;
}

/* z = a op b with b broadcast. A row of b is walked along each row of a,
 * so no element's index into b needs a division, which would cost more than
 * the operation itself. */
static inline void broadcast_forward(dsc_graph *g, dsc_gnode *n, char op)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t kind = b_stride_kind(g, a, b), rows = dsc_rows(g, n), cols = n->cols;
    size_t total = rows * cols;
    const float *x = a->val.data, *y = b->val.data;
    float *z = n->val.data;
    if (kind == 0) {
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total,
                         z[i] = apply(op, x[i], y[i]));
    } else if (kind == 1) {
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, r, rows, {
            for (size_t j = 0; j < cols; j++) z[r * cols + j] = apply(op, x[r * cols + j], y[j]);
        });
    } else {
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total,
                         z[i] = apply(op, x[i], y[0]));
    }
}

static void add_forward(dsc_graph *g, dsc_gnode *n) { broadcast_forward(g, n, '+'); }

static void add_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t total = dsc_size(g, n);
    const float *dz = n->grad.data;
    if (a->requires_grad) {
        float *ga = a->grad.data;
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total, ga[i] += dz[i]);
    }
    if (b->requires_grad) reduce_into_b(g, a, b, dz, NULL, 1.0f);
}

const dsc_op_def dsc_op_add = {
    .name = "add",
    .formula = "a + b",
    .derivative = "d/da = 1, d/db = 1",
    .n_in = 2,
    .kind = DSC_OPK_BASIC,
    .shape = broadcast_shape,
    .forward = add_forward,
    .backward = add_backward,
    .out = {"Add", NULL, DSC_C_NONE, NULL},
};

static void sub_forward(dsc_graph *g, dsc_gnode *n) { broadcast_forward(g, n, '-'); }

static void sub_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t total = dsc_size(g, n);
    const float *dz = n->grad.data;
    if (a->requires_grad) {
        float *ga = a->grad.data;
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total, ga[i] += dz[i]);
    }
    /* d(a - b)/db = -1 */
    if (b->requires_grad) reduce_into_b(g, a, b, dz, NULL, -1.0f);
}

const dsc_op_def dsc_op_sub = {
    .name = "sub",
    .formula = "a - b",
    .derivative = "d/da = 1, d/db = -1",
    .n_in = 2,
    .kind = DSC_OPK_BASIC,
    .shape = broadcast_shape,
    .forward = sub_forward,
    .backward = sub_backward,
    .out = {"Sub", NULL, DSC_C_NONE, NULL},
};

static void mul_forward(dsc_graph *g, dsc_gnode *n) { broadcast_forward(g, n, '*'); }

static void mul_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t kind = b_stride_kind(g, a, b), total = dsc_size(g, n), cols = n->cols;
    const float *dz = n->grad.data, *x = a->val.data, *y = b->val.data;
    if (a->requires_grad) {
        float *ga = a->grad.data;
        DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total,
                         ga[i] += dz[i] * y[b_index(kind, i, cols)]);
    }
    if (b->requires_grad) reduce_into_b(g, a, b, dz, x, 1.0f);
}

const dsc_op_def dsc_op_mul = {
    .name = "mul",
    .formula = "a b",
    .derivative = "d/da = b, d/db = a",
    .n_in = 2,
    .kind = DSC_OPK_BASIC,
    .shape = broadcast_shape,
    .forward = mul_forward,
    .backward = mul_backward,
    .out = {"Mul", NULL, DSC_C_NONE, NULL},
};

/* --- scale by a constant (fp[0]) ---------------------------------------- */

static void scale_forward(dsc_graph *g, dsc_gnode *n)
{
    const float *x = dsc_in(g, n, 0)->val.data;
    float *z = n->val.data, s = n->fp[0];
    size_t total = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total, z[i] = s * x[i]);
}

static void scale_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0);
    if (!a->requires_grad) return;
    const float *dz = n->grad.data;
    float *ga = a->grad.data, s = n->fp[0];
    size_t total = dsc_size(g, n);
    DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total, ga[i] += s * dz[i]);
}

const dsc_op_def dsc_op_scale = {
    .name = "scale",
    .formula = "s x",
    .derivative = "s",
    .n_in = 1,
    .kind = DSC_OPK_BASIC,
    .shape = dsc_shape_same,
    .forward = scale_forward,
    .backward = scale_backward,
    .out = {"Mul", NULL, DSC_C_NONE, NULL},
};

/* --- sum and mean of all elements ---------------------------------------- */

static double sum_all(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

static void sum_forward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0);
    n->val.data[0] = (float)sum_all(a->val.data, dsc_size(g, a));
}

/* d(sum)/dx_i = 1, d(mean)/dx_i = 1/N: spread the output gradient. */
static void spread_backward(dsc_graph *g, dsc_gnode *n, double factor)
{
    dsc_gnode *a = dsc_in(g, n, 0);
    if (!a->requires_grad) return;
    size_t total = dsc_size(g, a);
    float d = (float)(n->grad.data[0] * factor), *ga = a->grad.data;
    DSC_PARALLEL_FOR(dsc_threads(g->threads), total > PAR_MIN, i, total, ga[i] += d);
}

static void sum_backward(dsc_graph *g, dsc_gnode *n) { spread_backward(g, n, 1.0); }

const dsc_op_def dsc_op_sum = {
    .name = "sum",
    .formula = "sum_i x_i",
    .derivative = "1",
    .n_in = 1,
    .kind = DSC_OPK_BASIC,
    .shape = dsc_shape_scalar,
    .forward = sum_forward,
    .backward = sum_backward,
    .out = {"ReduceSum", "keepdims=0", DSC_C_NONE, NULL},
};

static void mean_forward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0);
    size_t total = dsc_size(g, a);
    n->val.data[0] = (float)(sum_all(a->val.data, total) / (double)total);
}

static void mean_backward(dsc_graph *g, dsc_gnode *n)
{
    spread_backward(g, n, 1.0 / (double)dsc_size(g, dsc_in(g, n, 0)));
}

const dsc_op_def dsc_op_mean = {
    .name = "mean",
    .formula = "(1/N) sum_i x_i",
    .derivative = "1/N",
    .n_in = 1,
    .kind = DSC_OPK_BASIC,
    .shape = dsc_shape_scalar,
    .forward = mean_forward,
    .backward = mean_backward,
    .out = {"ReduceMean", "keepdims=0", DSC_C_NONE, NULL},
};
