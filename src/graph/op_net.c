/* small_net: a whole small network and its squared error in one op.
 *
 * The seed's dosage network (1 input, 2 softplus units, 1 output, 3 points)
 * does about 60 flops of arithmetic per step. Run as separate ops it makes
 * a dozen op calls and five matrix products a step, each costing more than
 * its arithmetic. This op runs the same chain rule in one call: forward
 * keeps, for every layer, each unit's output a and local derivative
 * act'(z) (from the activation's own layer_vd in the op table);
 * backward walks the layers in reverse, multiplying the
 * incoming derivative by act'(z) and spreading it to the weights (times
 * the unit's input), the bias (times 1) and the layer below (times the
 * weight), exactly as the separate ops do.
 *
 * Sums (a unit's dot product, a weight's gradient over the rows) run in
 * double, in order, like the thin products and bias reductions the separate
 * ops use on these shapes, so the seed's network gives the same numbers
 * either way. One thread: the work is too small to split. */
#include <math.h>

#include "graph_internal.h"

/* The network, in the node's data slot: every layer's width and
 * activation, and its weight and bias nodes. */
typedef struct {
    size_t layers;
    size_t units[DSC_NET_MAX_LAYERS + 1];
    dsc_activation act[DSC_NET_MAX_LAYERS];
    dsc_node w[DSC_NET_MAX_LAYERS], b[DSC_NET_MAX_LAYERS];
    int mean; /* MSE (1) or SSR (0) */
    /* Set by the shape rule: where layer k's kept values start, in floats
     * per batch row. */
    size_t keep[DSC_NET_MAX_LAYERS + 1];
} dsc_net_desc;

/* The loops run over a handful of units: vectorising them only adds set-up
 * and remainder code around one or two iterations. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-vectorize")
#endif

static dsc_status fail_shape(const char *what, size_t k)
{
    return dsc_fail(DSC_ESHAPE, "small_net: layer %zu: %s", k + 1, what);
}

static dsc_status net_shape(dsc_graph *g, dsc_gnode *n)
{
    dsc_net_desc *d = n->data;
    const dsc_gnode *x = dsc_in(g, n, 0), *y = &g->nodes[n->in[2]];
    if (!x->batch_rows || !y->batch_rows)
        return dsc_fail(DSC_ESHAPE, "small_net: x and y must be data inputs (one row per sample)");
    d->units[0] = x->cols;
    size_t per_row = 0;
    for (size_t k = 0; k < d->layers; k++) {
        dsc_node wi = d->w[k], bi = d->b[k];
        if (wi < 0 || (size_t)wi >= g->n_nodes || bi < 0 || (size_t)bi >= g->n_nodes ||
            g->nodes[wi].op != DSC_OP_PARAM || g->nodes[bi].op != DSC_OP_PARAM)
            return fail_shape("the weight and bias must be parameters of this graph", k);
        const dsc_gnode *w = &g->nodes[wi], *b = &g->nodes[bi];
        if (w->cols != d->units[k] || b->rows != 1 || b->cols != w->rows)
            return fail_shape("needs w (out x in, in = the layer below's width) and b (1 x out)",
                              k);
        if (w->rows > DSC_NET_MAX_WIDTH || d->units[k] > DSC_NET_MAX_WIDTH)
            return fail_shape("wider than 16 units", k);
        const dsc_op_def *act = dsc_activation_op(d->act[k]);
        if (!act || !act->layer_vd) return fail_shape("an activation it cannot run (softmax)", k);
        d->units[k + 1] = w->rows;
        per_row += 2 * w->rows;
    }
    if (y->cols != d->units[d->layers])
        return dsc_fail(DSC_ESHAPE, "small_net: y has %zu columns, the network %zu outputs",
                        y->cols, d->units[d->layers]);
    for (size_t k = 0; k < d->layers; k++) d->keep[k + 1] = d->keep[k] + 2 * d->units[k + 1];
    n->keep_row = per_row + 2 * DSC_NET_MAX_WIDTH;
    return dsc_shape_scalar(g, n);
}

/* The derivative at each kink (z = 0) of a ReLU layer, by the graph's rule:
 * 1 (right) or 0 (the left one), into da before the activation's layer_vd
 * reads it. */
static void choose_at_kinks(const dsc_graph *g, uint64_t id, const float *z, float *da,
                            size_t count, uint64_t off)
{
    uint64_t key = dsc_kink_key(g, id);
    for (size_t e = 0; e < count; e++)
        if (z[e] == 0.0f) da[e] = dsc_kink_right(g, key, e + off) ? 1.0f : 0.0f;
}

/* Layer k's kept values for the current batch: outputs a and local
 * derivatives da, rows x units each, and the weights and bias. The op's
 * buffer holds, after the loss, every layer's a and da for max_batch rows,
 * then room for two rows x width blocks that carry backward's derivative
 * down through the layers. */
typedef struct {
    float *a, *da;
    const float *w, *b;
} layer;

/* What forward and backward both look up. */
typedef struct {
    const dsc_net_desc *d;
    const float *x, *y;
    size_t rows, L, outs;
    double scale; /* of the summed squares: 1, or 1 / count for the mean */
    layer ly[DSC_NET_MAX_LAYERS];
    float *up, *dz;
} net_pass;

static void pass_of(const dsc_graph *g, const dsc_gnode *n, net_pass *p)
{
    const dsc_net_desc *d = n->data;
    p->d = d;
    p->x = g->nodes[n->in[0]].val.data;
    p->y = g->nodes[n->in[2]].val.data;
    p->rows = g->batch;
    p->L = d->layers;
    p->outs = d->units[d->layers];
    p->scale = d->mean ? 1.0 / (dsc_loss_rows(g, p->rows) * (double)p->outs) : 1.0;
    float *base = n->val.data + 1;
    for (size_t k = 0; k < d->layers; k++) {
        p->ly[k].a = base + g->max_batch * d->keep[k];
        p->ly[k].da = p->ly[k].a + g->max_batch * d->units[k + 1];
        p->ly[k].w = g->nodes[d->w[k]].val.data;
        p->ly[k].b = g->nodes[d->b[k]].val.data;
    }
    p->up = base + g->max_batch * d->keep[d->layers];
    p->dz = p->up + g->max_batch * DSC_NET_MAX_WIDTH;
}

/* Layer by layer over the whole batch, so that the rows' calls to exp and
 * log are independent of each other and overlap in the processor. */
static void net_forward(dsc_graph *g, dsc_gnode *n)
{
    net_pass p;
    pass_of(g, n, &p);
    const float *in = p.x, *y = p.y;
    for (size_t k = 0; k < p.L; k++) {
        size_t ni = p.d->units[k], no = p.d->units[k + 1];
        float *a = p.ly[k].a;
        for (size_t i = 0; i < p.rows; i++, in += ni) {
            const float *w = p.ly[k].w;
            for (size_t o = 0; o < no; o++, w += ni) {
                double s = 0.0;
                for (size_t j = 0; j < ni; j++) s += (double)in[j] * w[j];
                *a++ = (float)s + p.ly[k].b[o];
            }
        }
        const dsc_op_def *act = dsc_activation_op(p.d->act[k]);
        int chosen = g->relu_rule != DSC_RELU_GRAD_ZERO && (act->flags & DSC_OPF_KINK);
        if (chosen)
            choose_at_kinks(g, (uint64_t)(n - g->nodes) * DSC_NET_MAX_LAYERS + k, p.ly[k].a,
                            p.ly[k].da, p.rows * no, (uint64_t)g->row_off * no);
        act->layer_vd(p.ly[k].a, p.ly[k].da, p.rows * no, chosen);
        in = p.ly[k].a;
    }
    double total = 0.0;
    for (size_t e = 0; e < p.rows * p.outs; e++) {
        double r = (double)y[e] - in[e];
        total += r * r;
    }
    n->val.data[0] = (float)(total * p.scale);
}

static void net_backward(dsc_graph *g, dsc_gnode *n)
{
    net_pass p;
    pass_of(g, n, &p);
    const float *x = p.x, *y = p.y;
    float *up = p.up, *dz = p.dz;
    /* dloss/dprediction = -2 (observed - predicted), times the chain's
     * incoming factor (and 1 / count for the mean). */
    float k_in = (float)(p.scale * n->grad.data[0]);
    const float *pred = p.ly[p.L - 1].a;
    for (size_t e = 0; e < p.rows * p.outs; e++) up[e] = -2.0f * (y[e] - pred[e]) * k_in;
    for (size_t k = p.L; k-- > 0;) {
        size_t ni = p.d->units[k], no = p.d->units[k + 1];
        const float *below = k ? p.ly[k - 1].a : x;
        /* dloss/dz = act'(z) x dloss/da */
        for (size_t e = 0; e < p.rows * no; e++) dz[e] = p.ly[k].da[e] * up[e];
        /* dloss/dw = sum over rows of dloss/dz x the unit's input, and
         * dloss/db = sum of dloss/dz; in double, rows in order. */
        float *gw = g->nodes[p.d->w[k]].grad.data, *gb = g->nodes[p.d->b[k]].grad.data;
        for (size_t o = 0; o < no; o++) {
            for (size_t j = 0; j < ni; j++) {
                double s = 0.0;
                for (size_t i = 0; i < p.rows; i++) s += (double)dz[i * no + o] * below[i * ni + j];
                gw[o * ni + j] += (float)s;
            }
            double s = 0.0;
            for (size_t i = 0; i < p.rows; i++) s += dz[i * no + o];
            gb[o] += (float)s;
        }
        if (!k) break;
        /* dloss/da of the layer below = sum over units of dloss/dz x w */
        for (size_t i = 0; i < p.rows; i++) {
            for (size_t j = 0; j < ni; j++) {
                double s = 0.0;
                for (size_t o = 0; o < no; o++) s += (double)dz[i * no + o] * p.ly[k].w[o * ni + j];
                up[i * ni + j] = (float)s;
            }
        }
    }
}

const dsc_op_def dsc_op_small_net = {
    .name = "small_net",
    .formula = "sum (observed - act_L(... act_1(x w1^T + b1) ... w_L^T + b_L))^2 (divided by the "
               "count for mse)",
    .derivative = "the chain rule layer by layer: dloss/dz = act'(z) x the derivative from above; "
                  "dloss/dw = dloss/dz x the unit's input, dloss/db = dloss/dz",
    .n_in = 3,
    .kind = DSC_OPK_FUSED,
    .shape = net_shape,
    .forward = net_forward,
    .backward = net_backward,
};

dsc_status dsc_small_net_become(dsc_graph *g, dsc_gnode *n, dsc_node x, size_t layers,
                                const dsc_node *w, const dsc_node *b, const dsc_activation *act,
                                dsc_node y, int mean)
{
    if (layers < 1 || layers > DSC_NET_MAX_LAYERS)
        return dsc_fail(DSC_EINVAL, "small_net: needs 1 to %d layers", DSC_NET_MAX_LAYERS);
    dsc_net_desc *net = dsc_calloc(1, sizeof *net);
    if (!net) return dsc_fail(DSC_ENOMEM, "out of memory for a small_net");
    net->layers = layers;
    net->mean = mean != 0;
    for (size_t k = 0; k < layers; k++) {
        net->w[k] = w[k];
        net->b[k] = b[k];
        net->act[k] = act[k];
    }
    dsc_gnode keep = *n;
    n->op = DSC_OP_SMALL_NET;
    n->def = &dsc_op_small_net;
    n->n_in = 3;
    n->in[0] = x;
    n->in[1] = w[0];
    n->in[2] = y;
    n->in[3] = 0;
    n->data = net;
    n->keep = n->keep_row = 0;
    dsc_status s = net_shape(g, n);
    if (s) {
        dsc_free(net);
        *n = keep;
    }
    return s;
}
