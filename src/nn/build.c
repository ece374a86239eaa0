/* A model as a graph: the layers lowered to ops, losses over data sets in
 * chunks, and prediction through a forward-only workspace. */
#include <stdio.h>
#include <string.h>

#include "../data/data.h"
#include "../graph/graph_internal.h"
#include "../tensor/tensor.h"
#include "nn.h"

/* --- the model as a graph ------------------------------------------------ */

/* Layer k of m on h: its parameters (made here, in the model's flat order:
 * weight, then bias, layer by layer, so the graph's offsets are the
 * model's) and its ops. */
static dsc_node add_layer(dsc_graph *g, const dsc_model *m, size_t k, dsc_node h)
{
    const dsc_layer *l = &m->layer[k];
    char wn[48], bn[48];
    snprintf(wn, sizeof wn, "layer%zu.weight", k + 1);
    snprintf(bn, sizeof bn, "layer%zu.bias", k + 1);
    switch (l->kind) {
    case DSC_LAYER_DENSE: {
        dsc_node w = dsc_param(g, wn, l->size, m->units[k]);
        dsc_node b = dsc_param(g, bn, 1, l->size);
        if (l->in_rank > 1) h = dsc_flatten(g, h);
        return dsc_activate(g, m->act[k], dsc_add(g, dsc_matmul(g, h, w, 0, 1), b));
    }
    case DSC_LAYER_CONV: {
        dsc_node w = dsc_param(g, wn, l->size, l->in_dims[0] * l->kh * l->kw);
        dsc_node b = dsc_param(g, bn, 1, l->size);
        dsc_node c = l->in_rank == 3 ? dsc_conv2d(g, h, w, b, l->kh, l->kw, l->sw, l->pw)
                                     : dsc_conv1d(g, h, w, b, l->kw, l->sw, l->pw);
        return dsc_activate(g, m->act[k], c);
    }
    case DSC_LAYER_MAXPOOL:
        return l->in_rank == 3 ? dsc_maxpool2d(g, h, l->kw, l->sw)
                               : dsc_maxpool1d(g, h, l->kw, l->sw);
    case DSC_LAYER_AVGPOOL:
        return l->in_rank == 3 ? dsc_avgpool2d(g, h, l->kw, l->sw)
                               : dsc_avgpool1d(g, h, l->kw, l->sw);
    case DSC_LAYER_FLATTEN: return dsc_flatten(g, h);
    }
    return -1;
}

static dsc_status build_graph(const dsc_model *m, int with_loss, dsc_loss loss, size_t max_batch,
                              int flags, float dropout, dsc_mlp_graph *mg)
{
    memset(mg, 0, sizeof *mg);
    mg->loss = mg->y = -1;
    dsc_status s = dsc_graph_new(&mg->g);
    if (s) return s;
    dsc_graph *g = mg->g;
    mg->x = dsc_input_shaped(g, "x", (size_t)m->arch->in_rank, m->arch->in_dims);
    dsc_node h = mg->x;
    for (size_t k = 0; k < m->n_layers; k++) {
        h = add_layer(g, m, k, h);
        /* Dropout after the hidden dense layers. */
        if (dropout > 0 && k + 1 < m->n_layers && m->layer[k].kind == DSC_LAYER_DENSE)
            h = dsc_dropout(g, h, dropout);
    }
    mg->out = h;
    if (with_loss) {
        mg->y = dsc_input(g, "y", m->units[m->n_layers]);
        mg->loss = dsc_loss_of(g, loss, h, mg->y);
    }
    /* The fusion pass reads the rule (a random choice at ReLU's kink is
     * drawn per node, which a fused op cannot repeat). */
    dsc_graph_set_relu_grad(g, m->relu_rule, m->relu_seed);
    /* With NO_GRAD the parameters are only read, so a const model is safe. */
    s = dsc_graph_compile(g, max_batch, (float *)(uintptr_t)m->params, flags);
    if (s) {
        dsc_mlp_graph_free(mg);
        return s;
    }
    /* A training graph may have fused the output away. */
    if (g->nodes[mg->out].dead) mg->out = -1;
    mg->max_batch = max_batch;
    return DSC_OK;
}

dsc_status dsc_mlp_graph_build(const dsc_model *m, int with_loss, dsc_loss loss, size_t max_batch,
                               int flags, dsc_mlp_graph *mg)
{
    return build_graph(m, with_loss, loss, max_batch, flags, 0.0f, mg);
}

dsc_status dsc_mlp_graph_build_dropout(const dsc_model *m, dsc_loss loss, size_t max_batch,
                                       float dropout, dsc_mlp_graph *mg)
{
    /* Training graphs only: fused ops keep no values in between, which
     * inference, gradient checks and explanations read. */
    return build_graph(m, 1, loss, max_batch, DSC_COMPILE_FUSE_, dropout, mg);
}

void dsc_mlp_graph_free(dsc_mlp_graph *mg)
{
    dsc_graph_free(mg->g);
    mg->g = NULL;
}

dsc_status dsc_mlp_graph_loss(dsc_mlp_graph *mg, dsc_loss loss, const dsc_dataset *d, double *out)
{
    return dsc_mlp_graph_loss_rows(mg, loss, d, 0, d->n, out);
}

dsc_status dsc_mlp_graph_loss_rows(dsc_mlp_graph *mg, dsc_loss loss, const dsc_dataset *d,
                                   size_t lo, size_t hi, double *out)
{
    /* Byte data sets are converted a chunk at a time into a staging buffer,
     * so a loss over all of Fashion-MNIST never needs its floats whole. */
    float *stage = NULL;
    if (d->x8 && !(stage = dsc_malloc(mg->max_batch * d->n_in * sizeof(float))))
        return dsc_fail(DSC_ENOMEM, "out of memory for a batch of %zu rows", mg->max_batch);
    double total = 0.0;
    dsc_status s = DSC_OK;
    for (size_t i = lo; i < hi && !s; i += mg->max_batch) {
        size_t rows = hi - i < mg->max_batch ? hi - i : mg->max_batch;
        /* A byte data set may have no floats at all (d->x NULL): no
         * pointer arithmetic on it then. */
        const float *x = stage;
        if (stage)
            dsc_dataset_copy_x(d, i, rows, stage);
        else
            x = d->x + i * d->n_in;
        if ((s = dsc_graph_set_batch(mg->g, rows)) || (s = dsc_graph_bind(mg->g, mg->x, x)) ||
            (s = dsc_graph_bind(mg->g, mg->y, d->y + i * d->n_out)) ||
            (s = dsc_graph_forward(mg->g)))
            break;
        double l = dsc_graph_value(mg->g, mg->loss).data[0];
        total += dsc_loss_op(loss)->ref.norm == DSC_NORM_NONE ? l : l * (double)rows / (double)d->n;
    }
    dsc_free(stage);
    *out = total;
    return s;
}

/* --- inference -------------------------------------------------------------- */

struct dsc_workspace {
    dsc_mlp_graph mg;
    const dsc_model *m;
    int standardized; /* the model standardised its inputs when this was made */
    int invariant;    /* pad short batches to min_rows (row-invariant results) */
    size_t min_rows;
    float *xs; /* staging: standardised or padded inputs */
};

/* The fewest rows (samples) from which every layer's matrix product treats
 * each sample alike (see dsc_gemm_invariant_rows). A dense layer multiplies
 * a sample per row; a convolution a filter per row and a sample's output
 * positions per column, so its count is in columns, shared by positions. */
static size_t invariant_rows(const dsc_model *m)
{
    size_t r = 1;
    for (size_t k = 0; k < m->n_layers; k++) {
        const dsc_layer *l = &m->layer[k];
        size_t v = 1;
        if (l->kind == DSC_LAYER_DENSE) {
            v = dsc_gemm_invariant_rows(l->size, m->units[k]);
        } else if (l->kind == DSC_LAYER_CONV) {
            size_t positions = l->out_dims[1] * l->out_dims[2];
            size_t cols = dsc_gemm_invariant_rows(l->size, l->in_dims[0] * l->kh * l->kw);
            v = positions ? (cols + positions - 1) / positions : cols;
        }
        if (v > r) r = v;
    }
    return r;
}

dsc_status dsc_workspace_new(const dsc_model *m, size_t max_batch, dsc_workspace **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_workspace_new: out is NULL");
    *out = NULL;
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_workspace_new: model is NULL");
    dsc_workspace *ws = dsc_calloc(1, sizeof *ws);
    if (!ws) return dsc_fail(DSC_ENOMEM, "out of memory for a workspace");
    ws->min_rows = invariant_rows(m);
    if (max_batch < 1) max_batch = 1;
    dsc_status s =
        dsc_mlp_graph_build(m, 0, DSC_LOSS_SSR, max_batch > ws->min_rows ? max_batch : ws->min_rows,
                            DSC_COMPILE_NO_GRAD, &ws->mg);
    if (s) {
        dsc_free(ws);
        return s;
    }
    ws->m = m;
    ws->standardized = m->x_mean != NULL;
    /* Always there: whether rows are transformed also depends on the
     * model's divisor and on the data's (dsc_predict_div). */
    if (!(ws->xs = dsc_malloc(ws->mg.max_batch * m->units[0] * sizeof(float)))) {
        dsc_workspace_free(ws);
        return dsc_fail(DSC_ENOMEM, "out of memory for a workspace");
    }
    *out = ws;
    return DSC_OK;
}

dsc_status dsc_workspace_set_row_invariant(dsc_workspace *ws, int on)
{
    if (!ws) return dsc_fail(DSC_EINVAL, "dsc_workspace_set_row_invariant: NULL workspace");
    ws->invariant = on != 0;
    return DSC_OK;
}

void dsc_workspace_free(dsc_workspace *ws)
{
    if (!ws) return;
    dsc_mlp_graph_free(&ws->mg);
    dsc_free(ws->xs);
    dsc_free(ws);
}

dsc_status dsc_predict(const dsc_model *m, dsc_workspace *ws, const float *x, size_t n, float *y)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_predict: NULL argument");
    return dsc_predict_div(m, ws, x, n, dsc_model_divisor_for(m, NULL), y);
}

dsc_status dsc_predict_div(const dsc_model *m, dsc_workspace *ws, const float *x, size_t n,
                           float div, float *y)
{
    if (!m || !ws || (!x && n) || (!y && n))
        return dsc_fail(DSC_EINVAL, "dsc_predict: NULL argument");
    if (ws->m != m) return dsc_fail(DSC_EINVAL, "dsc_predict: the workspace is for another model");
    if (ws->standardized != (m->x_mean != NULL))
        return dsc_fail(DSC_EINVAL, "dsc_predict: the model's standardisation changed since the "
                                    "workspace was made");
    size_t n_in = m->units[0], n_out = m->units[m->n_layers];
    /* A NaN would come out as a NaN prediction, far from its cause: the
     * check costs one compare per input against a multiply-add per weight. */
    dsc_status bad = dsc_check_finite(x, n, n_in, "input");
    if (bad) return bad;
    for (size_t i = 0; i < n; i += ws->mg.max_batch) {
        size_t rows = n - i < ws->mg.max_batch ? n - i : ws->mg.max_batch;
        /* Padding rows are zeros: computed, never read back. */
        size_t run = ws->invariant && rows < ws->min_rows ? ws->min_rows : rows;
        const float *xb = x + i * n_in;
        if (ws->standardized || div != 1.0f || run != rows) {
            memcpy(ws->xs, xb, rows * n_in * sizeof(float));
            memset(ws->xs + rows * n_in, 0, (run - rows) * n_in * sizeof(float));
            dsc_model_transform_inputs(m, div, ws->xs, rows);
            xb = ws->xs;
        }
        dsc_status s;
        if ((s = dsc_graph_set_batch(ws->mg.g, run)) ||
            (s = dsc_graph_bind(ws->mg.g, ws->mg.x, xb)) || (s = dsc_graph_forward(ws->mg.g)))
            return s;
        memcpy(y + i * n_out, dsc_graph_value(ws->mg.g, ws->mg.out).data,
               rows * n_out * sizeof(float));
        dsc_model_unscale_outputs(m, y + i * n_out, rows);
    }
    return DSC_OK;
}

dsc_status dsc_model_predict(const dsc_model *m, const float *x, size_t n, float *y)
{
    dsc_workspace *ws;
    dsc_status s = dsc_workspace_new(m, n < 256 ? (n ? n : 1) : 256, &ws);
    if (s) return s;
    s = dsc_workspace_set_row_invariant(ws, 1);
    if (!s) s = dsc_predict(m, ws, x, n, y);
    dsc_workspace_free(ws);
    return s;
}
