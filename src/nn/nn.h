/* Models: a stack of layers, and its graph. Internal. */
#ifndef DSC_NN_H
#define DSC_NN_H

#include "../base/base.h"
#include "descent_graph.h"

#define DSC_SPEC_MAX_LAYERS 64

typedef enum {
    DSC_LAYER_DENSE = 0, /* units, an activation; flattens its input */
    DSC_LAYER_CONV,      /* filters, kernel, stride, padding, an activation */
    DSC_LAYER_MAXPOOL,   /* window and stride */
    DSC_LAYER_AVGPOOL,
    DSC_LAYER_FLATTEN
} dsc_layer_kind;

/* One layer and the shapes of a sample before and after it (rank 1:
 * features; 2: channels x length; 3: channels x height x width). On a
 * signal the kernel, stride and padding along the height are 1, 1, 0. */
typedef struct {
    dsc_layer_kind kind;
    size_t size; /* dense: units; conv: filters */
    size_t kh, kw, sh, sw, ph, pw;
    int in_rank, out_rank;
    size_t in_dims[3], out_dims[3];
} dsc_layer;

/* A parsed spec string (spec.c): the layers, their flattened widths and
 * parameter counts, known before anything is allocated. */
typedef struct {
    size_t n_layers;
    int in_rank;
    size_t in_dims[3];
    dsc_layer layer[DSC_SPEC_MAX_LAYERS];
    dsc_activation act[DSC_SPEC_MAX_LAYERS];                   /* identity for pools and flatten */
    size_t units[DSC_SPEC_MAX_LAYERS + 1];                     /* widths: units[0] the input's */
    size_t n_w[DSC_SPEC_MAX_LAYERS], n_b[DSC_SPEC_MAX_LAYERS]; /* weights, biases */
    uint64_t n_params;
} dsc_spec;

/* Parses a spec (DSC_EFORMAT with the column for a malformed one). */
dsc_status dsc_spec_parse(const char *spec, dsc_spec *out);
/* The canonical text of s into buf; returns its length (as snprintf). */
size_t dsc_spec_format(const dsc_spec *s, char *buf, size_t size);
/* 1 for a plain multilayer perceptron: features in, dense layers only. */
int dsc_spec_is_mlp(const dsc_spec *s);

struct dsc_model {
    dsc_spec *arch;
    size_t n_layers;
    size_t *units;         /* arch->units: n_layers + 1 widths, units[0] the input's */
    dsc_activation *act;   /* arch->act: one per layer */
    dsc_layer *layer;      /* arch->layer */
    size_t *w_off, *b_off; /* where layer k's weight and bias start in params */
    size_t n_params;
    float *params; /* aligned flat buffer */
    dsc_relu_grad relu_rule;
    uint64_t relu_seed;
    char *spec;
    /* What the model knows about its data (meta.c). */
    char **in_names; /* inputs entries, or NULL */
    char *target;
    char **classes;
    size_t n_classes;
    float x_div;           /* inputs are divided by this first; 0: not recorded */
    float *x_mean, *x_std; /* inputs entries each, or NULL */
    float *y_mean, *y_std; /* outputs entries each, or NULL */
    dsc_model_summary *summary;
};

/* Frees the metadata of m (meta.c). */
void dsc_model_free_meta(dsc_model *m);

/* Whether d can be read by m: the same inputs, and the same outputs unless
 * both have class labels (matched by name). what names d in messages ("the
 * data"). DSC_ESHAPE otherwise. */
dsc_status dsc_model_check_data(const dsc_model *m, const dsc_dataset *d, const char *what);

/* The data as the model's graph sees it: d itself, or a view of it in *copy
 * (free it with dsc_dataset_free, before d) with the model's input
 * transformation applied, targets standardised, and class targets over the
 * model's classes (matched by name: a label the model does not know is an
 * error naming it and where it was read). */
dsc_status dsc_model_prepare_data(const dsc_model *m, const dsc_dataset *d, dsc_dataset **copy,
                                  const dsc_dataset **use);
/* The divisor m applies to the inputs of d: its own, or for a model that
 * records none (a format-1 file, a model never trained) d's reading (255
 * for IDX images; 1 when d is NULL: raw rows). */
float dsc_model_divisor_for(const dsc_model *m, const dsc_dataset *d);
/* The model's input transformation on n rows in place: x / div (div from
 * dsc_model_divisor_for), then (x - mean) / std when it standardises. The
 * one definition of it: training, evaluation and prediction all call it
 * (the byte gather divides by the same divisor first, in the same float
 * operation). */
void dsc_model_transform_inputs(const dsc_model *m, float div, float *x, size_t n);
/* Undoes the target standardisation on n rows of outputs in place. */
void dsc_model_unscale_outputs(const dsc_model *m, float *y, size_t n);
/* dsc_predict with the inputs divided by div (dsc_model_divisor_for). */
dsc_status dsc_predict_div(const dsc_model *m, dsc_workspace *ws, const float *x, size_t n,
                           float div, float *y);

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
/* The same for training, with dropout at rate p after every hidden layer
 * (0: none). The graph may fuse ops (src/graph/fuse.c): then out is -1. */
dsc_status dsc_mlp_graph_build_dropout(const dsc_model *m, dsc_loss loss, size_t max_batch,
                                       float dropout, dsc_mlp_graph *out);
void dsc_mlp_graph_free(dsc_mlp_graph *mg);

/* The loss of the model over all of x/y (n rows), in chunks of max_batch:
 * sums for SSR, and means weighted by rows for the mean losses, so the
 * result equals one evaluation over all rows. */
dsc_status dsc_mlp_graph_loss(dsc_mlp_graph *mg, dsc_loss loss, const dsc_dataset *d, double *out);
/* The share of rows [lo, hi) in the loss over all of d: their sum for SSR,
 * otherwise their mean loss x (hi - lo) / n, so that the shares of a
 * partition of the rows add up to the loss over d. */
dsc_status dsc_mlp_graph_loss_rows(dsc_mlp_graph *mg, dsc_loss loss, const dsc_dataset *d,
                                   size_t lo, size_t hi, double *out);

#endif
