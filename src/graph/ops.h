/* The op table: what every op is, in one definition each. Internal.
 *
 * An op's definition (a dsc_op_def in its family's file, op_*.c) carries
 * everything about it: its name, the formula of its value and of its local
 * derivative as text, its shape rule, its forward and backward kernels side
 * by side, a scalar reference of its maths in double, and what an exporter
 * needs to write it as ONNX or C. Nothing else restates an op's maths: the
 * explainer, the plots and the gradient tests call the reference, an
 * exporter reads the export fields.
 *
 * Adding an activation: its public value in dsc_activation (descent.h), one
 * line in DSC_ACTIVATIONS below, and its definition in op_act.c. Static
 * asserts in ops.c tie the lists, the op ids and the public enums together;
 * a test checks that every id has a definition. */
#ifndef DSC_OPS_H
#define DSC_OPS_H

#include <stddef.h>

#include "descent_graph.h"

/* The activations: the public enum's name (DSC_ACT_x), the op's name (its
 * definition is dsc_op_<name>), and its code in model files, which never
 * changes once a file format has used it (docs/FORMAT.md). */
#define DSC_ACTIVATIONS(X)                                                                         \
    X(IDENTITY, identity, 0)                                                                       \
    X(SOFTPLUS, softplus, 1)                                                                       \
    X(RELU, relu, 2)                                                                               \
    X(LEAKY_RELU, leaky_relu, 3)                                                                   \
    X(SIGMOID, sigmoid, 4)                                                                         \
    X(TANH, tanh, 5)                                                                               \
    X(SOFTMAX, softmax, 6)

/* The losses: the public enum's name (DSC_LOSS_x) and the op's name. */
#define DSC_LOSSES(X)                                                                              \
    X(SSR, ssr)                                                                                    \
    X(MSE, mse)                                                                                    \
    X(MAE, mae)                                                                                    \
    X(HUBER, huber)                                                                                \
    X(BCE, bce)                                                                                    \
    X(CE, ce)

#define DSC_OP_ID_ACT_(E, n, code) DSC_OP_##E,
#define DSC_OP_ID_LOSS_(E, n)      DSC_OP_##E,
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
    /* activations, in dsc_activation order (from DSC_OP_IDENTITY) */
    DSC_ACTIVATIONS(DSC_OP_ID_ACT_)
    /* losses, in dsc_loss order (from DSC_OP_SSR) */
    DSC_LOSSES(DSC_OP_ID_LOSS_)
    /* an output activation and its loss in one op, on the logits */
    DSC_OP_BCE_LOGITS,
    DSC_OP_CE_LOGITS,
    DSC_OP_DROPOUT,
    /* layers with a geometry: convolution, pooling, and flatten */
    DSC_OP_CONV,
    DSC_OP_MAXPOOL,
    DSC_OP_AVGPOOL,
    DSC_OP_FLATTEN,
    /* fused ops: chosen by the fusion pass (fuse.c), never built directly */
    DSC_OP_LINEAR_SSR,
    DSC_OP_SMALL_NET,
    DSC_OP_CONV_POOL,
    DSC_OP_COUNT
} dsc_op_id;
#undef DSC_OP_ID_ACT_
#undef DSC_OP_ID_LOSS_

typedef enum {
    DSC_OPK_DATA,  /* input, param: values others set */
    DSC_OPK_BASIC, /* arithmetic and linear algebra */
    DSC_OPK_ACT,   /* an activation */
    DSC_OPK_LOSS,  /* a loss: 1 x 1 from a prediction and a target */
    DSC_OPK_LAYER, /* a network layer with its own geometry or rule (conv, pools, dropout) */
    DSC_OPK_FUSED  /* several ops in one, picked by the fusion pass */
} dsc_op_kind;

enum {
    DSC_OPF_KINK = 1,    /* derivative jumps at x = 0 (the relu-grad-at-zero rule applies) */
    DSC_OPF_ROWWISE = 2, /* couples the elements of a row (softmax, ce on logits) */
    DSC_OPF_RANDOM = 4   /* draws random choices every pass (dropout) */
};

/* What a loss divides its sum of terms by. */
typedef enum {
    DSC_NORM_NONE = 0, /* a sum (ssr) */
    DSC_NORM_ELEMENTS, /* the number of elements (mse, mae, huber, bce) */
    DSC_NORM_ROWS      /* the number of rows: one sample's distribution per row (ce) */
} dsc_loss_norm;

/* The maths of an op in double: the reference the explainer, the plots and
 * the gradient tests use. The kernels compute the same in float. Fields an
 * op does not need are NULL. */
typedef struct {
    /* Element-wise activations: the value at x, and the derivative. At a
     * kink (DSC_OPF_KINK) deriv(0) is the left derivative, the default
     * rule's choice; deriv of any x > 0 is the right one. */
    double (*value)(double x);
    double (*deriv)(double x);
    /* Row-wise activations (softmax): y = f(x) over a row of n (y may be
     * x), and the vector-Jacobian product dx = J(x)^T dy from y. */
    void (*row)(const double *x, double *y, size_t n);
    void (*row_back)(const double *y, const double *dy, double *dx, size_t n);
    /* Losses: one row's sum of terms (before `norm`) from prediction p and
     * target t, and its gradient in p into dp (when dp is not NULL). */
    double (*loss_row)(const double *p, const double *t, size_t n, double *dp);
    dsc_loss_norm norm;
} dsc_op_ref;

/* How the `c` export text reads. */
typedef enum {
    DSC_C_NONE = 0,
    /* The body, braces included, of `float f(float x)`: one element. The
     * engine's own kernel is compiled from the same text, so an exporter that
     * emits it computes the same bits. Needs <math.h> only. */
    DSC_C_ELEMENT,
    /* The body of `void f(float *x, size_t n)`: one row, in place. */
    DSC_C_ROW,
    /* The body of `double f(float p, float t)`: one element's term of a
     * loss; the loss is the sum of terms divided as `ref.norm` says. */
    DSC_C_LOSS_TERM,
    /* Statements for one sample, with the variables the op's comment
     * names (a layer with geometry). */
    DSC_C_LAYER
} dsc_c_form;

/* What an exporter needs to write the op without restating its maths. */
typedef struct {
    const char *onnx;       /* ONNX operator type ("Relu"); NULL: no single ONNX op */
    const char *onnx_attrs; /* its fixed attributes ("alpha=0.01"), or NULL */
    dsc_c_form c_form;
    const char *c; /* C source as c_form says, or NULL */
} dsc_op_export;

typedef struct dsc_graph dsc_graph;
typedef struct dsc_gnode dsc_gnode;

/* One entry per op. backward adds (+=) into the gradients of inputs that
 * have requires_grad. */
typedef struct dsc_op_def {
    const char *name;
    const char *formula;    /* the value, e.g. "ln(1+e^x)" */
    const char *derivative; /* the local derivative, e.g. "1/(1+e^-x)"; for a loss, written
                               with the words predicted, observed and N, which the
                               explainer replaces by numbers */
    int n_in;
    dsc_op_kind kind;
    int flags; /* DSC_OPF_* */
    dsc_status (*shape)(dsc_graph *g, dsc_gnode *n);
    void (*forward)(dsc_graph *g, dsc_gnode *n);
    void (*backward)(dsc_graph *g, dsc_gnode *n);
    /* Optional: run by dsc_graph_compile once the largest batch
     * (g->max_batch) and g->no_grad are known, before memory is laid out;
     * may set n->keep to the scratch the op needs for that many rows. */
    void (*plan)(dsc_graph *g, dsc_gnode *n);
    /* Activations: the value and local derivative over `count` elements in
     * place (a holds the inputs on entry), for ops that run a layer inside
     * their own loop (the fused small network). At a kink the derivative is
     * the left one, unless `chosen` is set and da holds a non-zero value
     * there: then the right one (1), chosen by the relu-grad-at-zero rule. */
    void (*layer_vd)(float *a, float *da, size_t count, int chosen);
    dsc_op_ref ref;
    dsc_op_export out;
} dsc_op_def;

/* The op table, indexed by dsc_op_id (ops.c). */
extern const dsc_op_def *const dsc_ops[DSC_OP_COUNT];

/* The definition of an activation or a loss; NULL for a value outside the
 * enum. */
const dsc_op_def *dsc_activation_op(dsc_activation a);
const dsc_op_def *dsc_loss_op(dsc_loss l);
/* An activation's code in model files (-1 for an unknown activation), and
 * back (DSC_EFORMAT for an unknown code). */
int dsc_activation_code(dsc_activation a);
dsc_status dsc_activation_from_code(unsigned code, dsc_activation *out);

/* Op families, each in its own file. */
#define DSC_OP_EXTERN_ACT_(E, n, code) extern const dsc_op_def dsc_op_##n;
#define DSC_OP_EXTERN_LOSS_(E, n)      extern const dsc_op_def dsc_op_##n;
DSC_ACTIVATIONS(DSC_OP_EXTERN_ACT_) /* op_act.c */
DSC_LOSSES(DSC_OP_EXTERN_LOSS_)     /* op_loss.c */
#undef DSC_OP_EXTERN_ACT_
#undef DSC_OP_EXTERN_LOSS_
extern const dsc_op_def dsc_op_input, dsc_op_param; /* graph.c */
extern const dsc_op_def dsc_op_matmul, dsc_op_add, dsc_op_sub, dsc_op_mul, dsc_op_scale, dsc_op_sum,
    dsc_op_mean;                                                        /* op_basic.c */
extern const dsc_op_def dsc_op_bce_logits, dsc_op_ce_logits;            /* op_loss.c */
extern const dsc_op_def dsc_op_dropout;                                 /* op_dropout.c */
extern const dsc_op_def dsc_op_conv;                                    /* op_conv.c */
extern const dsc_op_def dsc_op_maxpool, dsc_op_avgpool, dsc_op_flatten; /* op_pool.c */
extern const dsc_op_def dsc_op_linear_ssr;                              /* op_linear.c */
extern const dsc_op_def dsc_op_small_net;                               /* op_net.c */
extern const dsc_op_def dsc_op_conv_pool;                               /* op_conv_pool.c */

/* A macro's arguments as a string, after expanding the macros in them. */
#define DSC_STR_(...) #__VA_ARGS__
#define DSC_STR(...)  DSC_STR_(__VA_ARGS__)

#endif
