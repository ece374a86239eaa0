/* Dropout: during training each element is kept with probability 1 - p and
 * scaled by 1 / (1 - p), so the expected value is unchanged; inference
 * graphs simply leave the op out. The mask is not stored: it is a hash of
 * (seed, forward pass, node, element), recomputed in backward, so it costs
 * no memory and does not depend on the thread count. */
#include "graph_internal.h"

static int kept(const dsc_graph *g, const dsc_gnode *n, size_t i)
{
    uint64_t key = dsc_hash64(g->relu_seed ^ 0x5bd1e9955bd1e995ULL) ^
                   dsc_hash64(g->pass * 0x9e3779b97f4a7c15ULL + (uint64_t)(n - g->nodes));
    /* The top 24 bits as a uniform number in [0, 1). */
    double u = (double)(dsc_hash64(key ^ (i + dsc_elem_off(g, n))) >> 40) / 16777216.0;
    return u >= n->fp[0];
}

/* forward: out = x * scale where kept, else 0; backward: out += x * scale
 * where kept (x is then the output's gradient). */
typedef struct {
    const dsc_graph *g;
    const dsc_gnode *n;
    float *out;
    const float *x;
    float scale;
} dropout_job;

static void dropout_range(void *job_, size_t lo, size_t hi)
{
    const dropout_job *j = job_;
    for (size_t i = lo; i < hi; i++) j->out[i] = kept(j->g, j->n, i) ? j->x[i] * j->scale : 0.0f;
}

static void dropout_grad_range(void *job_, size_t lo, size_t hi)
{
    const dropout_job *j = job_;
    for (size_t i = lo; i < hi; i++)
        if (kept(j->g, j->n, i)) j->out[i] += j->x[i] * j->scale;
}

static void dropout_forward(dsc_graph *g, dsc_gnode *n)
{
    size_t size = dsc_size(g, n);
    dropout_job job = {g, n, n->val.data, dsc_in(g, n, 0)->val.data, 1.0f / (1.0f - n->fp[0])};
    dsc_parallel_for(dsc_threads(g->threads), size > 32768, size, 4096, dropout_range, &job);
}

static void dropout_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    size_t size = dsc_size(g, n);
    dropout_job job = {g, n, in->grad.data, n->grad.data, 1.0f / (1.0f - n->fp[0])};
    dsc_parallel_for(dsc_threads(g->threads), size > 32768, size, 4096, dropout_grad_range, &job);
}

/* The rate p is fp[0]. In inference an exporter leaves the op out (ONNX's
 * Dropout is the identity there). */
const dsc_op_def dsc_op_dropout = {
    .name = "dropout",
    .formula = "x / (1-p) with probability 1-p, else 0",
    .derivative = "1/(1-p) where kept, 0 where dropped",
    .n_in = 1,
    .kind = DSC_OPK_LAYER,
    .flags = DSC_OPF_RANDOM,
    .shape = dsc_shape_same,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .out = {"Dropout", NULL, DSC_C_NONE, NULL},
};
