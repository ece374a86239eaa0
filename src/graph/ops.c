/* The op table: every op registered once, indexed by dsc_op_id. Adding an
 * op means an enum value in graph_internal.h, a definition in its family's
 * file, one line here and a builder. */
#include "graph_internal.h"

const dsc_op_def *const dsc_ops[DSC_OP_COUNT] = {
    [DSC_OP_INPUT] = &dsc_op_input,
    [DSC_OP_PARAM] = &dsc_op_param,
    [DSC_OP_MATMUL] = &dsc_op_matmul,
    [DSC_OP_ADD] = &dsc_op_add,
    [DSC_OP_SUB] = &dsc_op_sub,
    [DSC_OP_MUL] = &dsc_op_mul,
    [DSC_OP_SCALE] = &dsc_op_scale,
    [DSC_OP_SUM] = &dsc_op_sum,
    [DSC_OP_MEAN] = &dsc_op_mean,
    [DSC_OP_IDENTITY] = &dsc_op_identity,
    [DSC_OP_SOFTPLUS] = &dsc_op_softplus,
    [DSC_OP_RELU] = &dsc_op_relu,
    [DSC_OP_LEAKY_RELU] = &dsc_op_leaky_relu,
    [DSC_OP_SIGMOID] = &dsc_op_sigmoid,
    [DSC_OP_TANH] = &dsc_op_tanh,
    [DSC_OP_SOFTMAX] = &dsc_op_softmax,
    [DSC_OP_SSR] = &dsc_op_ssr,
    [DSC_OP_MSE] = &dsc_op_mse,
    [DSC_OP_MAE] = &dsc_op_mae,
    [DSC_OP_HUBER] = &dsc_op_huber,
    [DSC_OP_BCE] = &dsc_op_bce,
    [DSC_OP_CE] = &dsc_op_ce,
    [DSC_OP_BCE_LOGITS] = &dsc_op_bce_logits,
    [DSC_OP_CE_LOGITS] = &dsc_op_ce_logits,
    [DSC_OP_DROPOUT] = &dsc_op_dropout,
    [DSC_OP_LINEAR_SSR] = &dsc_op_linear_ssr,
    [DSC_OP_SMALL_NET] = &dsc_op_small_net,
};
