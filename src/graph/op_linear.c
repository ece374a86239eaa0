/* linear_ssr: a linear model and its squared-error loss in one op,
 * loss = s * sum_i (y_i - (b + x_i . w))^2 with s = 1 (SSR) or 1/n (MSE).
 * On large batches the separate ops stream the data about ten times per
 * step (product, bias, loss, and each one's backward); this op reads x and
 * y once: the forward pass computes the loss and, in the same sweep, its
 * derivatives dloss/dw_k = s sum -2 r_i x_ik and dloss/db = s sum -2 r_i,
 * which it keeps for the backward pass (the chain rule's last factor,
 * dloss/dloss, is applied there). Inputs: x (batch x k), w (1 x k), b
 * (1 x 1), y (batch x 1). Rows are summed in fixed chunks, each in double,
 * chunks added in order: the same result for any thread count. */
#include <string.h>

#include "graph_internal.h"

/* Parameters: ip[0] is 1 for the mean (MSE), 0 for the sum (SSR). The op
 * keeps its k + 1 derivatives after the loss in its value buffer. */
#define MAX_K 16

#define CHUNK      16384
#define MAX_CHUNKS 64

static dsc_status linear_ssr_shape(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *x = dsc_in(g, n, 0), *w = dsc_in(g, n, 1), *b = &g->nodes[n->in[2]],
                    *y = &g->nodes[n->in[3]];
    if (!x->batch_rows || !y->batch_rows || y->cols != 1 || w->rows != 1 || w->cols != x->cols ||
        b->rows != 1 || b->cols != 1 || x->cols > MAX_K)
        return dsc_fail(DSC_ESHAPE,
                        "linear_ssr: needs x (batch x k, k <= %d), w (1 x k), b "
                        "(1 x 1), y (batch x 1)",
                        MAX_K);
    n->keep = x->cols + 1;
    return dsc_shape_scalar(g, n);
}

/* The line (k = 1): eight float lanes per 512 rows, added in double. Rows
 * [i, r1) in whole blocks; returns where the blocks stop. The lanes are
 * explicit, so every build computes the same sums in the same order (ISO C
 * mode keeps the compiler from fusing multiply-adds). The body is compiled
 * twice, for AVX2 and for the build's own target, and chosen at run time
 * (not by an ifunc, which sanitizer runtimes cannot load). */
#define LINE_BLOCKS_BODY                                                                           \
    for (; i + 512 <= r1; i += 512) {                                                              \
        dsc_f32x8 l0 = {0}, l1 = {0}, l2 = {0};                                                    \
        for (size_t q = i; q < i + 512; q += 8) {                                                  \
            dsc_f32x8 xv, yv;                                                                      \
            memcpy(&xv, x + q, sizeof xv);                                                         \
            memcpy(&yv, y + q, sizeof yv);                                                         \
            dsc_f32x8 r = yv - (b0 + xv * w0);                                                     \
            l0 += r * r;                                                                           \
            l1 += r * xv;                                                                          \
            l2 += r;                                                                               \
        }                                                                                          \
        for (int v = 0; v < 8; v++) acc[0] += l0[v], acc[1] += l1[v], acc[2] += l2[v];             \
    }                                                                                              \
    return i;

static size_t line_blocks_plain(const float *x, const float *y, float w0, float b0, size_t i,
                                size_t r1, double *acc)
{
    LINE_BLOCKS_BODY
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static size_t line_blocks_avx2(const float *x, const float *y,
                                                               float w0, float b0, size_t i,
                                                               size_t r1, double *acc)
{
    LINE_BLOCKS_BODY
}
#endif

static size_t line_blocks(const float *x, const float *y, float w0, float b0, size_t i, size_t r1,
                          double *acc)
{
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2")) return line_blocks_avx2(x, y, w0, b0, i, r1, acc);
#endif
    return line_blocks_plain(x, y, w0, b0, i, r1, acc);
}

/* Chunks of rows, each summed into its own row of part. */
typedef struct {
    const float *x, *w, *b, *y;
    size_t rows, k, per;
    double (*part)[MAX_K + 2];
} chunk_job;

static void chunk_sums(void *job_, size_t lo, size_t hi)
{
    const chunk_job *job = job_;
    const float *x = job->x, *w = job->w, *b = job->b, *y = job->y;
    size_t k = job->k, rows = job->rows, per = job->per;
    for (size_t c = lo; c < hi; c++) {
        double acc[MAX_K + 2] = {0};
        size_t r0 = c * per, r1 = r0 + per < rows ? r0 + per : rows, i = r0;
        if (k == 1) i = line_blocks(x, y, w[0], b[0], i, r1, acc);
        for (; i < r1; i++) {
            const float *xi = x + i * k;
            float p = b[0];
            for (size_t j = 0; j < k; j++) p += xi[j] * w[j];
            float r = y[i] - p;
            acc[0] += (double)r * r;
            for (size_t j = 0; j < k; j++) acc[1 + j] += (double)r * xi[j];
            acc[1 + k] += r;
        }
        memcpy(job->part[c], acc, sizeof acc);
    }
}

static void linear_ssr_forward(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *xn = dsc_in(g, n, 0);
    const float *x = xn->val.data, *w = dsc_in(g, n, 1)->val.data, *b = g->nodes[n->in[2]].val.data,
                *y = g->nodes[n->in[3]].val.data;
    size_t rows = g->batch, k = xn->cols, chunks = (rows + CHUNK - 1) / CHUNK;
    /* Per chunk: the loss and the k + 1 gradient sums, in double. Past
     * MAX_CHUNKS the chunks grow instead; either way the split depends on
     * the row count only. */
    double part[MAX_CHUNKS][MAX_K + 2];
    if (chunks > MAX_CHUNKS) chunks = MAX_CHUNKS;
    size_t per = (rows + chunks - 1) / chunks;
    chunk_job job = {x, w, b, y, rows, k, per, part};
    dsc_parallel_for(dsc_threads(g->threads), rows * (k + 1) > 65536, chunks, 1, chunk_sums, &job);
    double total[MAX_K + 2] = {0};
    for (size_t c = 0; c < chunks; c++)
        for (size_t j = 0; j < k + 2; j++) total[j] += part[c][j];
    double s = n->ip[0] ? 1.0 / dsc_loss_rows(g, rows) : 1.0;
    n->val.data[0] = (float)(s * total[0]);
    /* The derivatives, kept after the loss in the node's own buffer. */
    for (size_t j = 0; j < k + 1; j++) n->val.data[1 + j] = (float)(-2.0 * s * total[1 + j]);
}

static void linear_ssr_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *w = dsc_in(g, n, 1), *b = &g->nodes[n->in[2]];
    size_t k = w->cols;
    float d = n->grad.data[0];
    if (w->requires_grad)
        for (size_t j = 0; j < k; j++) w->grad.data[j] += d * n->val.data[1 + j];
    if (b->requires_grad) b->grad.data[0] += d * n->val.data[1 + k];
}

const dsc_op_def dsc_op_linear_ssr = {
    .name = "linear_ssr",
    .formula = "sum (observed - (b + x . w))^2 (divided by n for mse)",
    .derivative =
        "dloss/dw = sum -2 (observed - predicted) x, dloss/db = sum -2 (observed - predicted)",
    .n_in = 4,
    .kind = DSC_OPK_FUSED,
    .shape = linear_ssr_shape,
    .forward = linear_ssr_forward,
    .backward = linear_ssr_backward,
};

dsc_status dsc_linear_ssr_become(dsc_graph *g, dsc_gnode *n, dsc_node x, dsc_node w, dsc_node b,
                                 dsc_node y, int mean)
{
    dsc_gnode keep = *n;
    n->op = DSC_OP_LINEAR_SSR;
    n->def = &dsc_op_linear_ssr;
    n->n_in = 4;
    n->in[0] = x;
    n->in[1] = w;
    n->in[2] = b;
    n->in[3] = y;
    n->ip[0] = mean != 0;
    n->keep = n->keep_row = 0;
    dsc_status s = linear_ssr_shape(g, n);
    if (s) *n = keep;
    return s;
}
