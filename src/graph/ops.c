/* The op table: every op registered once, indexed by dsc_op_id, and the
 * ties between it and the public enums. Adding an op means an id in ops.h,
 * a definition in its family's file, one line here and a builder; adding
 * an activation or a loss, one line in its list in ops.h and a definition. */
#include <string.h>

#include "graph_internal.h"

/* The public enums follow the lists, value for value, so that an
 * activation's op is DSC_OP_IDENTITY + its value (as ggml ties its
 * tables to its enums). */
#define TIE_ACT_(E, n, code)                                                                       \
    _Static_assert((int)DSC_OP_##E - (int)DSC_OP_IDENTITY == (int)DSC_ACT_##E,                     \
                   "DSC_ACTIVATIONS and dsc_activation differ at " #n);
#define TIE_LOSS_(E, n)                                                                            \
    _Static_assert((int)DSC_OP_##E - (int)DSC_OP_SSR == (int)DSC_LOSS_##E,                         \
                   "DSC_LOSSES and dsc_loss differ at " #n);
#define COUNT_ACT_(E, n, code) +1
#define COUNT_LOSS_(E, n)      +1
DSC_ACTIVATIONS(TIE_ACT_)
DSC_LOSSES(TIE_LOSS_)
_Static_assert(0 DSC_ACTIVATIONS(COUNT_ACT_) == DSC_ACT_COUNT,
               "every dsc_activation needs a line in DSC_ACTIVATIONS");
_Static_assert(0 DSC_LOSSES(COUNT_LOSS_) == DSC_LOSS_COUNT,
               "every dsc_loss needs a line in DSC_LOSSES");

#define ENTRY_ACT_(E, n, code) [DSC_OP_##E] = &dsc_op_##n,
#define ENTRY_LOSS_(E, n)      [DSC_OP_##E] = &dsc_op_##n,
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
    DSC_ACTIVATIONS(ENTRY_ACT_) DSC_LOSSES(ENTRY_LOSS_)[DSC_OP_BCE_LOGITS] = &dsc_op_bce_logits,
    [DSC_OP_CE_LOGITS] = &dsc_op_ce_logits,
    [DSC_OP_DROPOUT] = &dsc_op_dropout,
    [DSC_OP_CONV] = &dsc_op_conv,
    [DSC_OP_MAXPOOL] = &dsc_op_maxpool,
    [DSC_OP_AVGPOOL] = &dsc_op_avgpool,
    [DSC_OP_FLATTEN] = &dsc_op_flatten,
    [DSC_OP_LINEAR_SSR] = &dsc_op_linear_ssr,
    [DSC_OP_SMALL_NET] = &dsc_op_small_net,
    [DSC_OP_CONV_POOL] = &dsc_op_conv_pool,
};

const dsc_op_def *dsc_activation_op(dsc_activation a)
{
    return (unsigned)a < DSC_ACT_COUNT ? dsc_ops[DSC_OP_IDENTITY + a] : NULL;
}

const dsc_op_def *dsc_loss_op(dsc_loss l)
{
    return (unsigned)l < DSC_LOSS_COUNT ? dsc_ops[DSC_OP_SSR + l] : NULL;
}

#define CODE_ACT_(E, n, code) [DSC_ACT_##E] = code,
static const int act_codes[DSC_ACT_COUNT] = {DSC_ACTIVATIONS(CODE_ACT_)};

int dsc_activation_code(dsc_activation a)
{
    return (unsigned)a < DSC_ACT_COUNT ? act_codes[a] : -1;
}

dsc_status dsc_activation_from_code(unsigned code, dsc_activation *out)
{
    for (int a = 0; a < DSC_ACT_COUNT; a++)
        if (act_codes[a] == (int)code) {
            *out = (dsc_activation)a;
            return DSC_OK;
        }
    return dsc_fail(DSC_EFORMAT, "unknown activation code %u", code);
}

/* --- names ---------------------------------------------------------------- */

/* Looks a name up among the table's ops [first, first + count); on failure
 * the message lists every valid name. */
static dsc_status find_op(dsc_op_id first, int count, const char *what, const char *name, int *out)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(dsc_ops[first + i]->name, name) == 0) {
            *out = i;
            return DSC_OK;
        }
    char list[256] = "";
    for (int i = 0; i < count; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, dsc_ops[first + i]->name, sizeof list - strlen(list) - 1);
    }
    return dsc_fail(DSC_EINVAL, "unknown %s '%s' (valid: %s)", what, name ? name : "(null)", list);
}

const char *dsc_activation_name(dsc_activation a)
{
    const dsc_op_def *d = dsc_activation_op(a);
    return d ? d->name : "?";
}

dsc_status dsc_activation_from_name(const char *name, dsc_activation *out)
{
    int v = 0;
    dsc_status s = find_op(DSC_OP_IDENTITY, DSC_ACT_COUNT, "activation", name, &v);
    if (s == DSC_OK) *out = (dsc_activation)v;
    return s;
}

const char *dsc_loss_name(dsc_loss l)
{
    const dsc_op_def *d = dsc_loss_op(l);
    return d ? d->name : "?";
}

dsc_status dsc_loss_from_name(const char *name, dsc_loss *out)
{
    int v = 0;
    dsc_status s = find_op(DSC_OP_SSR, DSC_LOSS_COUNT, "loss", name, &v);
    if (s == DSC_OK) *out = (dsc_loss)v;
    return s;
}
