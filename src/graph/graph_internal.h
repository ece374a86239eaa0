/* The graph's insides, shared by graph.c and the op files. Internal. */
#ifndef DSC_GRAPH_INTERNAL_H
#define DSC_GRAPH_INTERNAL_H

#include "../base/base.h"
#include "descent_graph.h"

typedef enum {
    DSC_OP_INPUT = 0,
    DSC_OP_PARAM,
    DSC_OP_MATMUL,
    DSC_OP_ADD,
    DSC_OP_SUB,
    DSC_OP_MUL,
    DSC_OP_SCALE,
    DSC_OP_SUM,
    DSC_OP_MEAN,
    /* activations, in dsc_activation order */
    DSC_OP_IDENTITY,
    DSC_OP_SOFTPLUS,
    DSC_OP_RELU,
    DSC_OP_LEAKY_RELU,
    DSC_OP_SIGMOID,
    DSC_OP_TANH,
    DSC_OP_SOFTMAX,
    /* losses, in dsc_loss order */
    DSC_OP_SSR,
    DSC_OP_MSE,
    DSC_OP_MAE,
    DSC_OP_HUBER,
    DSC_OP_BCE,
    DSC_OP_CE,
    /* fused output activation + loss, on logits */
    DSC_OP_BCE_LOGITS,
    DSC_OP_CE_LOGITS,
    DSC_OP_DROPOUT,
    DSC_OP_LINEAR_SSR,
    DSC_OP_SMALL_NET,
    DSC_OP_COUNT
} dsc_op_id;

#define DSC_MAX_INPUTS 4

typedef struct dsc_op_def dsc_op_def;

/* The fused small_net op's network (op_net.c): every layer's width and
 * activation, and its weight and bias nodes. */
#define DSC_NET_MAX_LAYERS 4
#define DSC_NET_MAX_WIDTH  16
typedef struct {
    size_t layers;
    size_t units[DSC_NET_MAX_LAYERS + 1];
    dsc_activation act[DSC_NET_MAX_LAYERS];
    dsc_node w[DSC_NET_MAX_LAYERS], b[DSC_NET_MAX_LAYERS];
    int mean; /* MSE (1) or SSR (0) */
    /* Set by the shape rule: where layer k's kept values start, in floats
     * per batch row (op_net.c). */
    size_t keep[DSC_NET_MAX_LAYERS + 1];
} dsc_net_desc;

typedef struct {
    dsc_op_id op;
    const dsc_op_def *def; /* dsc_ops[op]; a test may point it at a broken twin */
    int n_in;
    dsc_node in[DSC_MAX_INPUTS];
    /* Shape: cols is fixed; rows is fixed, or the batch size when
     * batch_rows is set (it is then max_rows at most). */
    size_t rows, cols;
    int batch_rows;
    int requires_grad; /* a parameter is upstream */
    dsc_tensor val, grad;
    float attr; /* scale factor, leaky slope */
    int trans_a, trans_b;
    size_t param_off;  /* DSC_OP_PARAM: offset in the flat buffer */
    size_t extra;      /* floats the op keeps after its value (linear_ssr) */
    size_t extra_row;  /* and per batch row (small_net) */
    dsc_net_desc *net; /* small_net only; owned by the node */
    char *name;
} dsc_gnode;

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

/* One entry per op: its text, how many inputs, its shape rule, and its
 * forward and backward, side by side in the op's own file. backward adds
 * (+=) into the gradients of inputs that have requires_grad. */
struct dsc_op_def {
    const char *name;
    const char *formula;
    const char *derivative;
    int n_in;
    dsc_status (*shape)(dsc_graph *g, dsc_gnode *n);
    void (*forward)(dsc_graph *g, dsc_gnode *n);
    void (*backward)(dsc_graph *g, dsc_gnode *n);
};

/* The op table (ops.c), indexed by dsc_op_id. */
extern const dsc_op_def *const dsc_ops[DSC_OP_COUNT];

/* Op families, each in its own file. */
extern const dsc_op_def dsc_op_input, dsc_op_param; /* graph.c */
extern const dsc_op_def dsc_op_matmul, dsc_op_add, dsc_op_sub, dsc_op_mul, dsc_op_scale, dsc_op_sum,
    dsc_op_mean; /* op_basic.c */
extern const dsc_op_def dsc_op_identity, dsc_op_softplus, dsc_op_relu, dsc_op_leaky_relu,
    dsc_op_sigmoid, dsc_op_tanh, dsc_op_softmax; /* op_act.c */
extern const dsc_op_def dsc_op_ssr, dsc_op_mse, dsc_op_mae, dsc_op_huber, dsc_op_bce, dsc_op_ce,
    dsc_op_bce_logits, dsc_op_ce_logits;   /* op_loss.c */
extern const dsc_op_def dsc_op_dropout;    /* op_dropout.c */
extern const dsc_op_def dsc_op_linear_ssr; /* op_linear.c */
extern const dsc_op_def dsc_op_small_net;  /* op_net.c */
/* linear_ssr takes at most this many inputs per row, and keeps its k + 1
 * derivatives after the loss in its value buffer. */
#define DSC_LINEAR_SSR_MAX_K 16

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

/* Shape rules shared by several ops. */
dsc_status dsc_shape_same(dsc_graph *g, dsc_gnode *n);   /* as input 0 */
dsc_status dsc_shape_scalar(dsc_graph *g, dsc_gnode *n); /* 1 x 1 */
dsc_status dsc_shape_loss(dsc_graph *g, dsc_gnode *n);   /* inputs equal, out 1 x 1 */

/* Leaky ReLU's slope for x < 0. */
#define DSC_LEAKY_SLOPE 0.01f
/* Huber's delta. */
#define DSC_HUBER_DELTA 1.0f

#endif
