/* Models as graphs. Internal. */
#ifndef DSC_NN_H
#define DSC_NN_H

#include "../base/base.h"
#include "descent_graph.h"

struct dsc_model {
    size_t n_layers;
    size_t *units;          /* n_layers + 1 entries: units[0] is the input width */
    dsc_activation *act;    /* one per layer */
    size_t *w_off, *b_off;  /* where layer k's weight and bias start in params */
    size_t n_params;
    float *params;          /* aligned flat buffer */
    dsc_relu_grad relu_rule;
    uint64_t relu_seed;
    char *spec;
};

/* A model compiled into a graph: inputs x and (with a loss) y, the output,
 * and the loss node (-1 without). The graph borrows the model's parameters. */
typedef struct {
    dsc_graph *g;
    dsc_node x, y, out, loss;
    size_t max_batch;
} dsc_mlp_graph;

/* flags: DSC_COMPILE_NO_GRAD for inference. with_loss 0 builds no target. */
dsc_status dsc_mlp_graph_build(const dsc_model *m, int with_loss, dsc_loss loss, size_t max_batch,
                               int flags, dsc_mlp_graph *out);
void dsc_mlp_graph_free(dsc_mlp_graph *mg);

/* The loss of the model over all of x/y (n rows), in chunks of max_batch:
 * sums for SSR, and means weighted by rows for the mean losses, so the
 * result equals one evaluation over all rows. */
dsc_status dsc_mlp_graph_loss(dsc_mlp_graph *mg, dsc_loss loss, const float *x, const float *y,
                              size_t n, size_t n_in, size_t n_out, double *out);

#endif
