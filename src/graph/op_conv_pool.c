/* conv_pool: a first convolution layer computed directly and its max pool
 * in one op, chosen by the fusion pass (fuse.c) for training graphs. Each
 * (sample, filter) plane of the convolution is made in a buffer on the
 * stack and pooled at once, so the layer's full-size output (2.8 million
 * values a step for 32 filters on a batch of 128 Fashion-MNIST images) and
 * its gradient are never written to memory and read back. Backward rebuilds
 * a plane's gradient from the pooled one (each window's winner gets it) and
 * takes the weights' and the bias's sums from it.
 *
 * The same kernels as the separate ops (conv_direct.c's plane loops,
 * op_pool.c's max rows), in the same order: the same bits. Inputs: x (data,
 * C x H x W), w (F x C KH KW), b (1 x F). Parameters: ip[0..1] = the
 * convolution's KH, KW (stride 1, no padding), ip[2..5] = the pool's KH,
 * KW, SH, SW. Keeps each output's winner (an offset in the convolution's
 * extended plane, rows W apart) as a 32-bit integer after its value. */
#include <string.h>

#include "conv_internal.h"

static dsc_conv_geom conv_geom(const dsc_graph *g, const dsc_gnode *n)
{
    const dsc_gnode *x = &g->nodes[n->in[0]];
    dsc_conv_geom q = {0};
    q.B = g->batch, q.C = x->dims[0], q.H = x->dims[1], q.W = x->dims[2];
    q.F = n->dims[0];
    q.KH = (size_t)n->ip[0], q.KW = (size_t)n->ip[1], q.SH = q.SW = 1;
    q.OH = q.H - q.KH + 1, q.OW = q.W - q.KW + 1;
    q.P = q.OH * q.OW, q.K = q.C * q.KH * q.KW;
    q.PE = (q.OH - 1) * q.W + q.OW;
    return q;
}

static dsc_pool_geom pool_geom(const dsc_gnode *n, const dsc_conv_geom *c)
{
    dsc_pool_geom p = {0};
    p.B = c->B, p.C = c->F, p.H = c->OH, p.W = c->OW;
    p.KH = (size_t)n->ip[2], p.KW = (size_t)n->ip[3];
    p.SH = (size_t)n->ip[4], p.SW = (size_t)n->ip[5];
    p.OH = (p.H - p.KH) / p.SH + 1, p.OW = (p.W - p.KW) / p.SW + 1;
    return p;
}

/* Whether conv (a direct convolution of data, stride 1, no padding) and its
 * pool fit in one op. */
int dsc_conv_pool_fits(const dsc_graph *g, const dsc_gnode *conv, const dsc_gnode *pool)
{
    const dsc_gnode *x = &g->nodes[conv->in[0]];
    if (conv->op != DSC_OP_CONV || pool->op != DSC_OP_MAXPOOL || !conv->ip[6] || x->rank != 3 ||
        x->op != DSC_OP_INPUT || conv->ip[2] != 1 || conv->ip[3] != 1 || conv->ip[4] || conv->ip[5])
        return 0;
    size_t OH = conv->dims[1], OW = conv->dims[2], W = x->dims[2];
    return (OH - 1) * W + OW <= DSC_CONV_EXT_MAX;
}

static dsc_status conv_pool_shape(dsc_graph *g, dsc_gnode *n)
{
    (void)g;
    /* The pool's shape, which the node already has (it was the pool). */
    n->keep_row = n->cols; /* the winners */
    return DSC_OK;
}

typedef struct {
    const dsc_conv_geom *q;
    const dsc_pool_geom *p;
    const float *x, *w, *b, *dy;
    float *y, *dw, *db;
    int32_t *arg;
} cp_job;

static void forward_range(void *job_, size_t lo, size_t hi)
{
    const cp_job *job = job_;
    const dsc_conv_geom *q = job->q;
    const dsc_pool_geom *p = job->p;
    size_t off[DSC_CONV_DIRECT_K], n = q->PE, po = p->OH * p->OW;
    float ext[DSC_CONV_EXT_MAX + 32];
    int wide = dsc_conv_wide();
    dsc_conv_tap_offsets(q, off);
    /* winners as offsets in the extended plane (rows W apart), where
     * backward puts their gradients: no division there */
    dsc_pool_geom pe = *p;
    pe.W = q->W;
    memset(ext + n, 0, 32 * sizeof(float)); /* what the pool may read past the plane */
    for (size_t t = lo; t < hi; t++) {
        size_t s = t / q->F, f = t % q->F;
        dsc_conv_plane_forward(job->x + s * q->C * q->H * q->W, off, job->w + f * q->K, q->K,
                               job->b[f], ext, n, wide);
        /* the plane's rows are W apart in ext */
        dsc_maxpool_plane(ext, q->W, &pe, job->y + t * po, job->arg + t * po, ext + n + 32);
    }
}

static int32_t *winners(const dsc_graph *g, const dsc_gnode *n)
{
    return (int32_t *)(void *)(n->val.data + g->max_batch * n->cols);
}

static void conv_pool_forward(dsc_graph *g, dsc_gnode *n)
{
    dsc_conv_geom q = conv_geom(g, n);
    dsc_pool_geom p = pool_geom(n, &q);
    cp_job job = {.q = &q,
                  .p = &p,
                  .x = dsc_in(g, n, 0)->val.data,
                  .w = dsc_in(g, n, 1)->val.data,
                  .b = dsc_in(g, n, 2)->val.data,
                  .y = n->val.data,
                  .arg = winners(g, n)};
    dsc_conv_run(dsc_threads(g->threads), q.B * q.F, q.P * q.K, forward_range, (void *)&job);
}

/* Sample s's gradient of filter f's plane, rebuilt from the pooled one as
 * the separate pool's backward leaves it: each window's winner gets it. */
static void fill_plane(const void *job_, size_t s, size_t f, float *ext)
{
    const cp_job *job = job_;
    const dsc_conv_geom *q = job->q;
    size_t po = job->p->OH * job->p->OW, t = s * q->F + f;
    const float *dy = job->dy + t * po;
    const int32_t *arg = job->arg + t * po;
    memset(ext, 0, q->PE * sizeof(float));
    if (job->p->SH >= job->p->KH && job->p->SW >= job->p->KW) {
        /* windows apart: each place has at most one winner (a store does
         * not wait on the one before, as an addition would) */
        for (size_t o = 0; o < po; o++) ext[arg[o]] = dy[o];
        return;
    }
    for (size_t o = 0; o < po; o++) ext[arg[o]] += dy[o];
}

/* dw[f] and db[f] for the filters [lo, hi), as the separate conv's. */
static void backward_range(void *job_, size_t lo, size_t hi)
{
    const cp_job *job = job_;
    for (size_t f = lo; f < hi; f++)
        dsc_conv_filter_grads(job->q, job->x, f, fill_plane, job, job->dw, job->db);
}

static void conv_pool_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *wn = dsc_in(g, n, 1), *bn = dsc_in(g, n, 2);
    if (!wn->requires_grad && !bn->requires_grad) return;
    dsc_conv_geom q = conv_geom(g, n);
    dsc_pool_geom p = pool_geom(n, &q);
    cp_job job = {.q = &q,
                  .p = &p,
                  .x = dsc_in(g, n, 0)->val.data,
                  .dy = n->grad.data,
                  .dw = wn->requires_grad ? wn->grad.data : NULL,
                  .db = bn->requires_grad ? bn->grad.data : NULL,
                  .arg = winners(g, n)};
    dsc_conv_run(dsc_threads(g->threads), q.F, q.B * q.P * q.K, backward_range, (void *)&job);
}

const dsc_op_def dsc_op_conv_pool = {
    .name = "conv_pool",
    .formula = "maxpool(conv(x)): each window's largest value of the filter's output",
    .derivative = "the pool's gradient goes to each window's winner, then to the filter's weights "
                  "(times the input under them) and its bias, summed over the positions",
    .n_in = 3,
    .kind = DSC_OPK_FUSED,
    .shape = conv_pool_shape,
    .forward = conv_pool_forward,
    .backward = conv_pool_backward,
};

dsc_status dsc_conv_pool_become(dsc_graph *g, dsc_gnode *pool, dsc_node conv)
{
    const dsc_gnode *c = &g->nodes[conv];
    dsc_gnode keep = *pool;
    int64_t win[4] = {pool->ip[0], pool->ip[1], pool->ip[2], pool->ip[3]};
    memcpy(pool->ip + 2, win, sizeof win);
    pool->ip[0] = c->ip[0], pool->ip[1] = c->ip[1];
    pool->op = DSC_OP_CONV_POOL;
    pool->def = &dsc_op_conv_pool;
    pool->n_in = 3;
    pool->in[0] = c->in[0], pool->in[1] = c->in[1], pool->in[2] = c->in[2];
    pool->dims[0] = c->dims[0]; /* the filters: already the pool's channels */
    dsc_status s = conv_pool_shape(g, pool);
    if (s) *pool = keep;
    return s;
}
