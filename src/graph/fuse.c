/* The fusion pass: the one place that decides where a fused op replaces
 * separate ones. It runs at compile time on training graphs only
 * (DSC_COMPILE_FUSE_): a fused op keeps none of the values in between, which
 * inference, gradient checks and explanations look at.
 *
 * (Also: the softmax or sigmoid a cross-entropy on logits does not read is
 * not run; see drop_unread_output.)
 *
 * Two patterns, both a chain of dense layers ending in a squared error:
 *  - linear_ssr (op_linear.c): a linear model with one output on large
 *    batches (the seed's line on a million points). The separate ops stream
 *    the data about ten times per step; the fused op reads it once.
 *  - small_net (op_net.c): up to 4 layers of at most 16 units on batches of
 *    at most 256 rows (the seed's 1-2-1 network), where running one op per
 *    layer costs more than the arithmetic.
 * A dense layer is act(add(matmul(h, W, 0, 1), b)) with W a parameter
 * (out x in) and b a parameter (1 x out), each node used once. The fused op
 * takes over the loss node (its id stays, so the caller's handle still
 * works) and the nodes it replaces are marked dead: no buffers, not run.
 *
 * One rewrite changes no op into another: a max pool after a ReLU (or leaky
 * ReLU) computes the same as the activation after the pool, max(0, max z)
 * = max(max(0, z)), with the same gradient under the default rule at the
 * kink (0), so the two swap and the activation runs on a quarter of the
 * values (a 2 x 2 pool). And a first convolution computed directly merges
 * with the max pool after it (conv_pool): its full-size output, and that
 * output's gradient, never go through memory. */
#include <string.h>

#include "graph_internal.h"

/* linear_ssr on at least this many rows; small_net on at most this many. */
#define FUSE_LINE_MIN_ROWS 4096
#define FUSE_NET_MAX_ROWS  256

/* A dense layer matched from its activation node down. */
typedef struct {
    dsc_node act, add, mm, w, b, below;
} dense;

static int is_param(const dsc_graph *g, dsc_node i) { return g->nodes[i].op == DSC_OP_PARAM; }

/* Matches node a as the top of a dense layer whose inner nodes are used
 * once (uses[]), filling d; 0 when it is not one. */
static int match_dense(const dsc_graph *g, const unsigned *uses, dsc_node a, dense *d)
{
    const dsc_gnode *an = &g->nodes[a];
    if (an->def->kind != DSC_OPK_ACT || uses[a] != 1) return 0;
    dsc_node z = an->in[0];
    const dsc_gnode *zn = &g->nodes[z];
    if (zn->op != DSC_OP_ADD || uses[z] != 1 || !is_param(g, zn->in[1])) return 0;
    dsc_node mm = zn->in[0];
    const dsc_gnode *mn = &g->nodes[mm];
    if (mn->op != DSC_OP_MATMUL || uses[mm] != 1 || mn->ip[0] || !mn->ip[1] ||
        !is_param(g, mn->in[1]))
        return 0;
    const dsc_gnode *w = &g->nodes[mn->in[1]], *b = &g->nodes[zn->in[1]];
    if (b->rows != 1 || b->cols != w->rows) return 0;
    d->act = a, d->add = z, d->mm = mm, d->w = mn->in[1], d->b = zn->in[1], d->below = mn->in[0];
    return 1;
}

static void mark_dead(dsc_graph *g, const dense *d, size_t n)
{
    for (size_t k = 0; k < n; k++)
        g->nodes[d[k].act].dead = g->nodes[d[k].add].dead = g->nodes[d[k].mm].dead = 1;
}

/* The loss node l of a squared error over a chain of dense layers from a
 * data input: fuse it when one of the patterns fits. */
static void fuse_loss(dsc_graph *g, const unsigned *uses, dsc_node l, size_t max_batch)
{
    dsc_gnode *ln = &g->nodes[l];
    dsc_node y = ln->in[1];
    if (g->nodes[y].op != DSC_OP_INPUT) return;
    dense d[DSC_NET_MAX_LAYERS];
    size_t n = 0;
    dsc_node h = ln->in[0];
    while (g->nodes[h].op != DSC_OP_INPUT) {
        if (n == DSC_NET_MAX_LAYERS || !match_dense(g, uses, h, &d[n])) return;
        h = d[n++].below;
    }
    if (n == 0) return;
    int mean = ln->op == DSC_OP_MSE;
    const dsc_gnode *x = &g->nodes[h];
    if (n == 1 && max_batch >= FUSE_LINE_MIN_ROWS && g->nodes[d[0].act].op == DSC_OP_IDENTITY &&
        g->nodes[d[0].w].rows == 1) {
        if (dsc_linear_ssr_become(g, ln, h, d[0].w, d[0].b, y, mean) == DSC_OK) mark_dead(g, d, n);
        dsc_clear_error();
        return;
    }
    if (max_batch > FUSE_NET_MAX_ROWS || x->cols > DSC_NET_MAX_WIDTH) return;
    dsc_node w[DSC_NET_MAX_LAYERS], b[DSC_NET_MAX_LAYERS];
    dsc_activation act[DSC_NET_MAX_LAYERS];
    for (size_t k = 0; k < n; k++) { /* d runs from the output down */
        const dense *e = &d[n - 1 - k];
        const dsc_gnode *an = &g->nodes[e->act];
        /* The random rule at a kink draws per node; the fused op would draw
         * its own choices, not the separate ops'. */
        if ((an->def->flags & DSC_OPF_KINK) && g->relu_rule == DSC_RELU_GRAD_RANDOM) return;
        w[k] = e->w, b[k] = e->b, act[k] = (dsc_activation)(an->op - DSC_OP_IDENTITY);
    }
    if (dsc_small_net_become(g, ln, h, n, w, b, act, y, mean) == DSC_OK) mark_dead(g, d, n);
    dsc_clear_error(); /* a network that does not fit simply stays unfused */
}

/* maxpool(act(z)) becomes act(maxpool(z)) for a monotonic activation with
 * a kink (relu, leaky relu) under the default rule: the activation node
 * takes the pool's op and the pool's node the activation's, each keeping
 * its id, so the graph stays in creation order. */
static void swap_pool(dsc_graph *g, const unsigned *uses, dsc_node p)
{
    dsc_gnode *pool = &g->nodes[p];
    dsc_node a = pool->in[0];
    dsc_gnode *act = &g->nodes[a];
    if (act->def->kind != DSC_OPK_ACT || !(act->def->flags & DSC_OPF_KINK) || uses[a] != 1 ||
        g->relu_rule != DSC_RELU_GRAD_ZERO)
        return;
    dsc_gnode was_pool = *pool, was_act = *act;
    act->op = was_pool.op, act->def = was_pool.def;
    memcpy(act->ip, was_pool.ip, sizeof act->ip);
    pool->op = was_act.op, pool->def = was_act.def;
    memset(pool->ip, 0, sizeof pool->ip);
    pool->in[0] = a; /* the activation now reads the pool (node a) */
    act->keep = act->keep_row = pool->keep = pool->keep_row = 0;
    if (act->def->shape(g, act) || pool->def->shape(g, pool)) { /* cannot happen: undo */
        *pool = was_pool, *act = was_act;
        dsc_clear_error();
    }
}

/* A max pool: after a ReLU, the two swap; then a first convolution
 * computed directly and the pool become one op (op_conv_pool.c), so that
 * the convolution's full-size output is never written to memory. */
static void fuse_pool(dsc_graph *g, const unsigned *uses, dsc_node i)
{
    swap_pool(g, uses, i);
    dsc_node p = g->nodes[i].op == DSC_OP_MAXPOOL ? i : g->nodes[i].in[0];
    dsc_gnode *pool = &g->nodes[p];
    dsc_node c = pool->in[0];
    if (uses[c] != 1 || !dsc_conv_pool_fits(g, &g->nodes[c], pool)) return;
    if (dsc_conv_pool_become(g, pool, c) == DSC_OK) g->nodes[c].dead = 1;
    dsc_clear_error();
}

/* A cross-entropy on logits (dsc_loss_of) reads the layer's logits, not
 * the softmax or sigmoid made of them: in a training graph that activation
 * then feeds nothing, and computing it was 7 % of a digits step (10
 * classes, a libm exp per value). It is marked dead, not run. */
static void drop_unread_output(dsc_graph *g, const unsigned *uses, dsc_node loss)
{
    dsc_node z = g->nodes[loss].in[0];
    for (size_t i = (size_t)z + 1; i < g->n_nodes; i++) {
        dsc_gnode *n = &g->nodes[i];
        if (!uses[i] && i != (size_t)loss && n->n_in == 1 && n->in[0] == z &&
            (n->op == DSC_OP_SOFTMAX || n->op == DSC_OP_SIGMOID))
            n->dead = 1;
    }
}

void dsc_graph_fuse(dsc_graph *g, size_t max_batch)
{
    unsigned *uses = dsc_calloc(g->n_nodes ? g->n_nodes : 1, sizeof *uses);
    if (!uses) return; /* unfused is correct, only slower */
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) uses[g->nodes[i].in[k]]++;
    for (size_t i = 0; i < g->n_nodes; i++) {
        dsc_op_id op = g->nodes[i].op;
        if ((op == DSC_OP_SSR || op == DSC_OP_MSE) && !g->nodes[i].dead)
            fuse_loss(g, uses, (dsc_node)i, max_batch);
        if (op == DSC_OP_MAXPOOL) fuse_pool(g, uses, (dsc_node)i);
        if (op == DSC_OP_CE_LOGITS || op == DSC_OP_BCE_LOGITS)
            drop_unread_output(g, uses, (dsc_node)i);
    }
    dsc_free(uses);
}
