/* The graph's insides, shared by graph.c and the op files. Internal. */
#ifndef DSC_GRAPH_INTERNAL_H
#define DSC_GRAPH_INTERNAL_H

#include "../base/base.h"
#include "descent_graph.h"
#include "ops.h"

#define DSC_MAX_INPUTS 4

/* The largest rank of one sample's shape: channels x height x width. */
#define DSC_MAX_RANK 3

struct dsc_gnode {
    dsc_op_id op;
    const dsc_op_def *def; /* dsc_ops[op]; a test may point it at a broken twin */
    int n_in;
    dsc_node in[DSC_MAX_INPUTS];
    /* Shape: cols is fixed; rows is fixed, or the batch size when
     * batch_rows is set (it is then max_rows at most). */
    size_t rows, cols;
    int batch_rows;
    /* The shape of one row: rank 1 is cols itself; rank 2 channels x
     * length, rank 3 channels x height x width, stored in that order
     * (row-major), so dims multiply to cols. */
    int rank;
    size_t dims[DSC_MAX_RANK];
    int requires_grad; /* a parameter is upstream */
    int dead;          /* taken into a fused op: not computed, no buffers */
    dsc_tensor val, grad;
    size_t param_off; /* DSC_OP_PARAM: offset in the flat buffer */
    /* Floats the op keeps after its value (its own use: derivatives kept
     * from forward for backward, indices, workspace): fixed, and per batch
     * row. Set by its shape rule. */
    size_t keep, keep_row;
    /* The op's parameters, as ggml keeps them on a node: a few numbers
     * whose meaning each op documents beside its kernels, and a block for
     * larger ones, dsc_malloc'd and freed with the graph. */
    int64_t ip[8];
    float fp[2];
    void *data;
    char *name;
};

struct dsc_graph {
    dsc_gnode *nodes;
    size_t n_nodes, cap_nodes;
    dsc_status error; /* first building error, returned by compile */
    int compiled, no_grad;
    size_t n_params;
    float *params, *grads;
    int owns_params;
    float *arena; /* values and gradients of every non-parameter node */
    size_t batch, max_batch;
    dsc_relu_grad relu_rule;
    uint64_t relu_seed, pass; /* pass counts forwards, for random choices */
    /* When this graph runs one group of a larger batch (train.c's sample
     * groups): the rows a mean loss divides by (the whole batch's, so the
     * groups' gradients add up to the batch's; 0: this graph's own rows),
     * and the first row of the group in the batch, so random choices
     * (dropout, ReLU's kink) are those of the same element of the batch
     * whichever group computes it. */
    size_t loss_rows, row_off;
    int threads;
    int forward_done;
    size_t unbound;     /* inputs with no data bound yet */
    dsc_node *plan_fwd; /* the nodes that compute, in order */
    size_t n_fwd;
    unsigned char *reach; /* planning backward: nodes the loss depends on */
    /* Backward's plan for the loss node plan_loss (-1: none yet): the nodes
     * whose backward it runs, in order. Which nodes a loss depends on is
     * fixed once the graph is compiled, so a training loop plans once. */
    dsc_node plan_loss;
    size_t n_run;
    dsc_node *plan_run;
    size_t n_grad_floats; /* grads: the parameters', then the nodes', in the arena */
};

/* dsc_graph_compile's internal flag (beside DSC_COMPILE_NO_GRAD): a
 * training graph; the fusion pass may replace ops by fused ones whose
 * intermediate values are not kept (fuse.c). */
#define DSC_COMPILE_FUSE_ 0x100

/* The fusion pass: every place where fused ops replace separate ones is
 * decided here, at compile time, for training graphs. A fused op takes over
 * the loss node (its id stays) and the nodes it replaces are marked dead. */
void dsc_graph_fuse(dsc_graph *g, size_t max_batch);
/* The fused ops, for the fusion pass: node n (a loss) becomes the fused op
 * over the given nodes, or stays as it was when their shapes do not fit
 * (an error status, with a message). */
#define DSC_NET_MAX_LAYERS 4
#define DSC_NET_MAX_WIDTH  16
dsc_status dsc_small_net_become(dsc_graph *g, dsc_gnode *n, dsc_node x, size_t layers,
                                const dsc_node *w, const dsc_node *b, const dsc_activation *act,
                                dsc_node y, int mean);
/* A direct first convolution and its max pool (op_conv_pool.c): whether
 * they fit in one op, and the pool node becoming it. */
int dsc_conv_pool_fits(const dsc_graph *g, const dsc_gnode *conv, const dsc_gnode *pool);
dsc_status dsc_conv_pool_become(dsc_graph *g, dsc_gnode *pool, dsc_node conv);
dsc_status dsc_linear_ssr_become(dsc_graph *g, dsc_gnode *n, dsc_node x, dsc_node w, dsc_node b,
                                 dsc_node y, int mean);

static inline dsc_gnode *dsc_in(dsc_graph *g, const dsc_gnode *n, int i)
{
    return &g->nodes[n->in[i]];
}

/* The current row count of a node. */
static inline size_t dsc_rows(const dsc_graph *g, const dsc_gnode *n)
{
    return n->batch_rows ? g->batch : n->rows;
}

static inline size_t dsc_size(const dsc_graph *g, const dsc_gnode *n)
{
    return dsc_rows(g, n) * n->cols;
}

/* The rows a mean loss over `rows` rows divides by (see loss_rows). */
static inline double dsc_loss_rows(const dsc_graph *g, size_t rows)
{
    return (double)(g->loss_rows ? g->loss_rows : rows);
}

/* The index in the whole batch of node n's element 0, for random choices
 * (see row_off); a node of fixed rows is not split by groups. */
static inline uint64_t dsc_elem_off(const dsc_graph *g, const dsc_gnode *n)
{
    return n->batch_rows ? (uint64_t)g->row_off * n->cols : 0;
}

/* Shape rules shared by several ops. */
dsc_status dsc_shape_same(dsc_graph *g, dsc_gnode *n);   /* as input 0 */
dsc_status dsc_shape_scalar(dsc_graph *g, dsc_gnode *n); /* 1 x 1 */
dsc_status dsc_shape_loss(dsc_graph *g, dsc_gnode *n);   /* inputs equal, out 1 x 1 */
/* Sets n's row shape to rank 1 (cols). */
void dsc_shape_flat(dsc_gnode *n);
/* Positions of a window of k, moved by s over in + 2 pad values: (in + 2
 * pad - k) / s + 1, or 0 when it does not fit (op_conv.c). */
size_t dsc_window_out(size_t in, size_t k, size_t s, size_t pad);

/* The random rule for ReLU's derivative at exactly 0 is a hash of (seed,
 * pass, id, element), not a draw from a stream, so it is the same whichever
 * thread handles the element; the key folds in the parts shared by a whole
 * node (id: the node, or a layer inside a fused op). */
static inline uint64_t dsc_kink_key(const dsc_graph *g, uint64_t id)
{
    return dsc_hash64(g->relu_seed ^
                      dsc_hash64(g->pass * 0x9e3779b97f4a7c15ULL ^ id * 0xd1b54a32d192ed03ULL));
}

/* 1 when element i at a kink takes the right derivative (1), 0 for the left. */
static inline int dsc_kink_right(const dsc_graph *g, uint64_t key, size_t i)
{
    switch (g->relu_rule) {
    case DSC_RELU_GRAD_ZERO: return 0;
    case DSC_RELU_GRAD_ONE: return 1;
    case DSC_RELU_GRAD_RANDOM: return (int)(dsc_hash64(key ^ (uint64_t)i) >> 63);
    }
    return 0;
}

#endif
