/**
 * @file descent_graph.h
 * @brief The layer under descent.h: tensors and a static autodiff graph.
 *
 * A graph is built once from ops, compiled (every buffer planned and
 * allocated for the largest batch), then run many times: bind inputs, set
 * the batch size, forward, backward. Running allocates nothing.
 *
 * Values are row-major [rows x cols] float32 matrices. Nodes made by
 * dsc_input() have one row per sample ("batch rows"); ops on them keep the
 * batch rows, losses and reductions give 1 x 1. A row may itself have a
 * shape (channels x height x width, or channels x length: see
 * dsc_input_shaped and dsc_graph_node_shape); the row holds it row-major.
 *
 * Building functions return a node id (>= 0) or -1 on error; the graph
 * remembers the first error and dsc_graph_compile() returns it, so a chain of
 * building calls needs one check at the end.
 *
 * Example: the seed's line, predicted = intercept + slope * x, with its SSR
 * @code
 *   dsc_graph *g; dsc_graph_new(&g);
 *   dsc_node x = dsc_input(g, "x", 1), y = dsc_input(g, "y", 1);
 *   dsc_node slope = dsc_param(g, "slope", 1, 1), icpt = dsc_param(g, "intercept", 1, 1);
 *   dsc_node pred = dsc_add(g, dsc_matmul(g, x, slope, 0, 0), icpt);
 *   dsc_node ssr = dsc_loss_of(g, DSC_LOSS_SSR, pred, y);
 *   if (dsc_graph_compile(g, 3, NULL, 0) != DSC_OK) ...
 *   dsc_graph_bind(g, x, xs); dsc_graph_bind(g, y, ys); dsc_graph_set_batch(g, 3);
 *   dsc_graph_forward(g); dsc_graph_backward(g, ssr);
 * @endcode
 */
#ifndef DESCENT_GRAPH_H
#define DESCENT_GRAPH_H

#include "descent.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A view of a row-major float32 matrix. Never owns its data. */
typedef struct {
    float *data;
    size_t rows, cols;
} dsc_tensor;

typedef struct dsc_graph dsc_graph;
/** A node id inside one graph; -1 is "no node" (a failed build call). */
typedef int dsc_node;

/** Text about an op for explanations: its name, the formula of its value
 *  and of its local derivative (e.g. "softplus", "ln(1+e^x)", "1/(1+e^-x)"). */
typedef struct {
    const char *name;
    const char *formula;
    const char *derivative;
} dsc_op_text;

dsc_status dsc_graph_new(dsc_graph **out);
void dsc_graph_free(dsc_graph *g);

/* --- building ----------------------------------------------------- */

/** A data input with `cols` columns and one row per sample. */
dsc_node dsc_input(dsc_graph *g, const char *name, size_t cols);
/** A data input whose samples have a shape of `rank` (1 to 3) dimensions:
 *  features (rank 1), channels x length (2) or channels x height x width
 *  (3). A row holds one sample in that order (row-major), so the node is
 *  batch x (the product of dims). */
dsc_node dsc_input_shaped(dsc_graph *g, const char *name, size_t rank, const size_t *dims);
/** A trainable rows x cols parameter, a view into the flat buffer. */
dsc_node dsc_param(dsc_graph *g, const char *name, size_t rows, size_t cols);
/** op(a) x op(b), where op transposes when the flag is non-zero. */
dsc_node dsc_matmul(dsc_graph *g, dsc_node a, dsc_node b, int trans_a, int trans_b);
/** Element-wise a + b, a - b, a * b. b may also be a single row (added to
 *  every row of a) or 1 x 1. */
dsc_node dsc_add(dsc_graph *g, dsc_node a, dsc_node b);
dsc_node dsc_sub(dsc_graph *g, dsc_node a, dsc_node b);
dsc_node dsc_mul(dsc_graph *g, dsc_node a, dsc_node b);
/** s * a for a constant s. */
dsc_node dsc_scale(dsc_graph *g, dsc_node a, float s);
/** The sum / mean of all elements (1 x 1), accumulated in double. */
dsc_node dsc_sum(dsc_graph *g, dsc_node a);
dsc_node dsc_mean(dsc_graph *g, dsc_node a);
/** An activation applied element-wise (softmax: row by row). */
dsc_node dsc_activate(dsc_graph *g, dsc_activation act, dsc_node x);
/** 2-D convolution (cross-correlation, as PyTorch's Conv2d) of x, whose
 *  samples are C x H x W (dsc_input_shaped), with F filters: w is an F x
 *  (C kernel_h kernel_w) parameter, each row one filter row-major over
 *  (channel, row, column), and b a 1 x F bias. Stride and zero padding are
 *  the same along both axes. The result's samples are F x OH x OW, OH = (H
 *  + 2 pad - kernel_h) / stride + 1 (and OW likewise). Compute: one packed
 *  matrix product (im2col) for the whole batch, the same bits for any thread
 *  count. */
dsc_node dsc_conv2d(dsc_graph *g, dsc_node x, dsc_node w, dsc_node b, size_t kernel_h,
                    size_t kernel_w, size_t stride, size_t pad);
/** 1-D convolution of a signal (samples C x L): w is F x (C kernel), b 1 x
 *  F; the result's samples are F x OL, OL = (L + 2 pad - kernel) / stride
 *  + 1. */
dsc_node dsc_conv1d(dsc_graph *g, dsc_node x, dsc_node w, dsc_node b, size_t kernel, size_t stride,
                    size_t pad);
/** Max / average pooling over kernel x kernel windows (2-D, samples C x H x
 *  W) or windows of kernel (1-D, samples C x L), moved by stride (0: the
 *  kernel), without padding: a window that does not fit at the end is
 *  dropped, as PyTorch does. Max passes the gradient to the first largest
 *  value of each window. */
dsc_node dsc_maxpool2d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride);
dsc_node dsc_avgpool2d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride);
dsc_node dsc_maxpool1d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride);
dsc_node dsc_avgpool1d(dsc_graph *g, dsc_node x, size_t kernel, size_t stride);
/** The same values with each sample as one row of features (rank 1), for a
 *  dense layer after convolutions. */
dsc_node dsc_flatten(dsc_graph *g, dsc_node x);
/** Dropout with rate p in [0, 1): each element is kept with probability
 *  1 - p and scaled by 1 / (1 - p), a new mask every forward pass, drawn
 *  from the graph's seed (dsc_graph_set_seed). Leave it out of inference
 *  graphs. A gradient check of a graph with dropout is meaningless. */
dsc_node dsc_dropout(dsc_graph *g, dsc_node x, float p);
/** The seed of the graph's random choices (dropout masks, ReLU at 0 with
 *  the random rule). */
void dsc_graph_set_seed(dsc_graph *g, uint64_t seed);
/** A loss (1 x 1) of pred against target (same shape). When pred is a
 *  sigmoid node and loss is BCE, or pred is a softmax node and loss is CE,
 *  the loss is computed from the logits in one overflow-safe op; pred keeps
 *  its probabilities. */
dsc_node dsc_loss_of(dsc_graph *g, dsc_loss loss, dsc_node pred, dsc_node target);

/* --- compiling ------------------------------------------------------ */

enum {
    DSC_COMPILE_NO_GRAD = 1 /**< forward only: no gradient buffers */
};

/**
 * Plans and allocates every buffer for batches of up to max_batch rows.
 * params: NULL to let the graph own a zeroed parameter buffer, or the
 * caller's buffer of dsc_graph_param_count() floats (borrowed: it must
 * outlive the graph; with DSC_COMPILE_NO_GRAD it is only read).
 * Returns the first building error, if any.
 */
dsc_status dsc_graph_compile(dsc_graph *g, size_t max_batch, float *params, int flags);

/** Parameters in order of creation, in one flat buffer. Valid after
 *  dsc_graph_compile; the parameter count is known before it. */
size_t dsc_graph_param_count(const dsc_graph *g);
float *dsc_graph_params(dsc_graph *g);
float *dsc_graph_grads(dsc_graph *g);
/** Where parameter node p starts in the flat buffer. */
size_t dsc_graph_param_offset(const dsc_graph *g, dsc_node p);

/** The value at exactly 0 of ReLU's derivative; seed is used by
 *  DSC_RELU_GRAD_RANDOM (each element and pass draws its own bit). */
void dsc_graph_set_relu_grad(dsc_graph *g, dsc_relu_grad rule, uint64_t seed);
/** Threads for kernels (0: the library default). Results do not depend on
 *  it with the built-in matrix multiply. */
void dsc_graph_set_threads(dsc_graph *g, int threads);

/* --- running -------------------------------------------------------- */

/** Rows in the current batch (1 .. max_batch). */
dsc_status dsc_graph_set_batch(dsc_graph *g, size_t rows);
/** Points input node n at batch x cols floats (borrowed until the next
 *  bind of n or the end of the graph). */
dsc_status dsc_graph_bind(dsc_graph *g, dsc_node n, const float *data);
dsc_status dsc_graph_forward(dsc_graph *g);
/** Zeroes every gradient, sets dloss/dloss = 1 and walks the nodes in
 *  reverse topological order; each op's backward accumulates (+=) into its
 *  inputs, so a node used twice gets both contributions. Needs a forward. */
dsc_status dsc_graph_backward(dsc_graph *g, dsc_node loss);

/** The current value / gradient of a node (NULL data for a bad node). */
dsc_tensor dsc_graph_value(const dsc_graph *g, dsc_node n);
dsc_tensor dsc_graph_grad(const dsc_graph *g, dsc_node n);

/* --- inspecting ----------------------------------------------------- */

size_t dsc_graph_node_count(const dsc_graph *g);
dsc_op_text dsc_graph_op_text(const dsc_graph *g, dsc_node n);
const char *dsc_graph_node_name(const dsc_graph *g, dsc_node n);
/** Number of inputs of n and the i-th one. */
int dsc_graph_node_arity(const dsc_graph *g, dsc_node n);
/** The shape of one row (one sample) of node n: returns its rank (1 to 3;
 *  0 for a bad node) and writes the dimensions, unused ones 0. */
size_t dsc_graph_node_shape(const dsc_graph *g, dsc_node n, size_t dims[3]);
dsc_node dsc_graph_node_input(const dsc_graph *g, dsc_node n, int i);

/**
 * Gradient check: backpropagation against central differences, computed in
 * double from float evaluations of the loss, for every parameter. The
 * inputs must be bound and the batch set. Writes the largest relative error
 * |a - n| / max(|a|, |n|, 1) and the flat index of the worst parameter.
 * Parameters are restored afterwards. Where the loss is not smooth within
 * the difference step (a ReLU input crossing 0), the central differences
 * at step h and h/2 disagree; such parameters are skipped and counted in
 * *kinks. Any output pointer may be NULL.
 */
dsc_status dsc_graph_gradcheck(dsc_graph *g, dsc_node loss, double *max_rel_error, size_t *worst,
                               size_t *kinks);

#ifdef __cplusplus
}
#endif
#endif
