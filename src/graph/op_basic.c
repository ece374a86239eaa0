/* Linear algebra and arithmetic ops: matmul, add, sub, mul, scale, sum,
 * mean. Each op's forward and backward sit together; backward adds into
 * the inputs' gradients. */
#include <string.h>

#include "../tensor/tensor.h"
#include "graph_internal.h"

#define PAR_MIN 8192 /* elements below which threads cost more than they save */
#define PIECE   4096 /* elements per piece of a parallel loop */

/* One element-wise loop's operands: out[i] is computed from x, y, f and
 * the constant s; rows, cols and kind describe a broadcast. */
typedef struct {
    float *out;
    const float *x, *y, *f;
    float s;
    size_t rows, cols, kind;
} bin_job;

/* Runs fn over [0, n) (elements, or rows, or columns: `per` elements
 * each), over the threads when total elements exceed PAR_MIN. */
static void bin_run(const dsc_graph *g, size_t n, size_t per, size_t total, dsc_range_fn fn,
                    bin_job *job)
{
    size_t piece = per > 1 ? (PIECE + per - 1) / per : PIECE;
    dsc_parallel_for(dsc_threads(g->threads), total > PAR_MIN, n, piece, fn, job);
}

/* Defines name(job, lo, hi) running the body (the last argument) for each
 * i in [lo, hi). */
#define BIN_LOOP(name, ...)                                                                        \
    static void name(void *job_, size_t lo, size_t hi)                                             \
    {                                                                                              \
        const bin_job *job = job_;                                                                 \
        float *out = job->out;                                                                     \
        const float *x = job->x, *y = job->y, *f = job->f;                                         \
        float s = job->s;                                                                          \
        (void)job, (void)x, (void)y, (void)f, (void)s;                                             \
        for (size_t i = lo; i < hi; i++) __VA_ARGS__;                                              \
    }

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

BIN_LOOP(acc_scaled, out[i] += s * x[i] * (f ? f[i] : 1.0f))
BIN_LOOP(acc_column_sums,
         out[i] += s * (float)column_sum(x + i, f ? f + i : NULL, job->rows, job->cols))
/* i counts blocks of COL_BLOCK columns. */
BIN_LOOP(acc_column_blocks, {
    size_t j0 = i * COL_BLOCK, w = job->cols - j0 < COL_BLOCK ? job->cols - j0 : COL_BLOCK;
    column_sums(x + j0, job->rows, job->cols, w, s, out + j0);
})

/* Adds the gradient g_a (one value per element of a) into b's gradient,
 * summing over the rows b was broadcast along. Sums run in double, column
 * by column in a fixed order, so they do not depend on the thread count. */
static void reduce_into_b(dsc_graph *g, const dsc_gnode *a, dsc_gnode *b, const float *ga_src,
                          const float *factor, float sign)
{
    size_t kind = b_stride_kind(g, a, b), rows = dsc_rows(g, a), cols = a->cols;
    size_t total = rows * cols;
    bin_job job = {
        .out = b->grad.data, .x = ga_src, .f = factor, .s = sign, .rows = rows, .cols = cols};
    if (kind == 0) {
        bin_run(g, total, 1, total, acc_scaled, &job);
        return;
    }
    if (kind == 2) { /* 1 x 1: one sum over everything */
        job.out[0] += sign * (float)column_sum(ga_src, factor, total, 1);
        return;
    }
    if (factor) {
        bin_run(g, cols, rows, total, acc_column_sums, &job);
        return;
    }
    /* A bias's gradient (the common case): the same column sums, rows in
     * order, but walked row by row over a block of columns, so the reads
     * are contiguous and the adds vectorise. */
    bin_run(g, (cols + COL_BLOCK - 1) / COL_BLOCK, rows * COL_BLOCK, total, acc_column_blocks,
            &job);
}

/* x op y for the three element-wise ops; op is a constant where the
 * forward below is inlined, so the choice costs nothing in the loops. */
static inline float apply(char op, float x, float y)
{
    return op == '+' ? x + y : op == '-' ? x - y : x * y;
}

/* z = a op b with b broadcast, in three loops per op: the same shape, a
 * row of b walked along each row of a (i counts rows, so no element's index
 * into b needs a division, which would cost more than the operation), and
 * 1 x 1. */
#define BROADCAST_LOOPS(name, op)                                                                  \
    BIN_LOOP(name##_same, out[i] = apply(op, x[i], y[i]))                                          \
    BIN_LOOP(name##_row, {                                                                         \
        size_t cols = job->cols;                                                                   \
        for (size_t j = 0; j < cols; j++) out[i * cols + j] = apply(op, x[i * cols + j], y[j]);    \
    })                                                                                             \
    BIN_LOOP(name##_scalar, out[i] = apply(op, x[i], y[0]))
BROADCAST_LOOPS(add, '+')
BROADCAST_LOOPS(sub, '-')
BROADCAST_LOOPS(mul, '*')

static void broadcast_forward(dsc_graph *g, dsc_gnode *n, dsc_range_fn same, dsc_range_fn row,
                              dsc_range_fn scalar)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t kind = b_stride_kind(g, a, b), rows = dsc_rows(g, n), cols = n->cols;
    size_t total = rows * cols;
    bin_job job = {.out = n->val.data, .x = a->val.data, .y = b->val.data, .cols = cols};
    if (kind == 0) {
        bin_run(g, total, 1, total, same, &job);
    } else if (kind == 1) {
        bin_run(g, rows, cols, total, row, &job);
    } else {
        bin_run(g, total, 1, total, scalar, &job);
    }
}

BIN_LOOP(acc_plain, out[i] += x[i])

/* ga += dz */
static void accumulate(dsc_graph *g, dsc_gnode *a, const float *dz)
{
    size_t total = dsc_size(g, a);
    bin_job job = {.out = a->grad.data, .x = dz};
    bin_run(g, total, 1, total, acc_plain, &job);
}

static void add_forward(dsc_graph *g, dsc_gnode *n)
{
    broadcast_forward(g, n, add_same, add_row, add_scalar);
}

static void add_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    const float *dz = n->grad.data;
    if (a->requires_grad) accumulate(g, a, dz);
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

static void sub_forward(dsc_graph *g, dsc_gnode *n)
{
    broadcast_forward(g, n, sub_same, sub_row, sub_scalar);
}

static void sub_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    const float *dz = n->grad.data;
    if (a->requires_grad) accumulate(g, a, dz);
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

static void mul_forward(dsc_graph *g, dsc_gnode *n)
{
    broadcast_forward(g, n, mul_same, mul_row, mul_scalar);
}

BIN_LOOP(acc_product, out[i] += x[i] * y[b_index(job->kind, i, job->cols)])

static void mul_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0), *b = dsc_in(g, n, 1);
    size_t total = dsc_size(g, n);
    const float *dz = n->grad.data;
    if (a->requires_grad) {
        bin_job job = {.out = a->grad.data,
                       .x = dz,
                       .y = b->val.data,
                       .kind = b_stride_kind(g, a, b),
                       .cols = n->cols};
        bin_run(g, total, 1, total, acc_product, &job);
    }
    if (b->requires_grad) reduce_into_b(g, a, b, dz, a->val.data, 1.0f);
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

BIN_LOOP(scaled, out[i] = s * x[i])
BIN_LOOP(acc_times, out[i] += s * x[i])
BIN_LOOP(acc_const, out[i] += s)

static void scale_forward(dsc_graph *g, dsc_gnode *n)
{
    size_t total = dsc_size(g, n);
    bin_job job = {.out = n->val.data, .x = dsc_in(g, n, 0)->val.data, .s = n->fp[0]};
    bin_run(g, total, 1, total, scaled, &job);
}

static void scale_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *a = dsc_in(g, n, 0);
    if (!a->requires_grad) return;
    size_t total = dsc_size(g, n);
    bin_job job = {.out = a->grad.data, .x = n->grad.data, .s = n->fp[0]};
    bin_run(g, total, 1, total, acc_times, &job);
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
    bin_job job = {.out = a->grad.data, .s = (float)(n->grad.data[0] * factor)};
    bin_run(g, total, 1, total, acc_const, &job);
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
