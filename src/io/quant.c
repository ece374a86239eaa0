/* int8 weights: quantizing a model, and running it as the exported C does
 * (export.h describes the scheme). The layer kernel is compiled here and
 * emitted into the exported C from one source text, so both compute the
 * same bits; the activations are the engine's own kernels. */
#include <math.h>
#include <string.h>

#include "../nn/nn.h"
#include "export.h"
#include "export_kernels.h"

/* --- quantizing ------------------------------------------------------------ */

void dsc_qmodel_free(dsc_qmodel *q)
{
    dsc_free(q->q);
    dsc_free(q->q_off);
    dsc_free(q->scale);
    dsc_free(q->s_off);
    memset(q, 0, sizeof *q);
}

/* scale = max |w| / 127 over n weights (0 when all are 0). */
static float scale_of(const float *w, size_t n)
{
    double amax = 0.0;
    for (size_t i = 0; i < n; i++) amax = fabs(w[i]) > amax ? fabs(w[i]) : amax;
    return (float)(amax / 127.0);
}

/* Rounds w / s to the nearest integer in [-127, 127], halves away from 0. */
static void quantize_row(const float *w, size_t n, float s, int8_t *q)
{
    for (size_t i = 0; i < n; i++) {
        double v = s > 0.0f ? (double)w[i] / s : 0.0;
        v = v > 127.0 ? 127.0 : v < -127.0 ? -127.0 : v;
        q[i] = (int8_t)lround(v);
    }
}

dsc_status dsc_quantize(const dsc_model *m, int per_layer, int float_act, dsc_qmodel *q)
{
    memset(q, 0, sizeof *q);
    size_t L = m->n_layers, nw = 0, ns = 0;
    for (size_t k = 0; k < L; k++) {
        if (!float_act && m->units[k] > DSC_QUANT_MAX_INPUTS)
            return dsc_fail(DSC_EUNSUPPORTED,
                            "int8 export: layer %zu has %zu inputs; its int32 sums hold at most "
                            "%zu",
                            k + 1, m->units[k], DSC_QUANT_MAX_INPUTS);
        nw += m->units[k] * m->units[k + 1];
        ns += per_layer ? 1 : m->units[k + 1];
    }
    q->n_layers = L;
    q->units = m->units;
    q->per_layer = per_layer;
    q->float_act = float_act;
    q->q = dsc_malloc(nw ? nw : 1);
    q->q_off = dsc_calloc(L, sizeof *q->q_off);
    q->scale = dsc_calloc(ns, sizeof *q->scale);
    q->s_off = dsc_calloc(L, sizeof *q->s_off);
    if (!q->q || !q->q_off || !q->scale || !q->s_off) {
        dsc_qmodel_free(q);
        return dsc_fail(DSC_ENOMEM, "out of memory for %zu int8 weights", nw);
    }
    size_t qo = 0, so = 0;
    for (size_t k = 0; k < L; k++) {
        size_t in = m->units[k], out = m->units[k + 1];
        const float *w = m->params + m->w_off[k];
        q->q_off[k] = qo;
        q->s_off[k] = so;
        if (per_layer) q->scale[so] = scale_of(w, in * out);
        for (size_t j = 0; j < out; j++) {
            if (!per_layer) q->scale[so + j] = scale_of(w + j * in, in);
            quantize_row(w + j * in, in, q->scale[per_layer ? so : so + j], q->q + qo + j * in);
        }
        qo += in * out;
        so += per_layer ? 1 : out;
    }
    return DSC_OK;
}

/* --- running ------------------------------------------------------------- */

DSC_QDENSE_FN(dsc_qdense)
DSC_QDENSE_F_FN(dsc_qdense_f)

const char *dsc_qdense_source(void) { return dsc_qdense_text; }
const char *dsc_qdense_f_source(void) { return dsc_qdense_f_text; }

/* The engine's activation of layer k over a batch, through a graph of the
 * one op, so the values are the kernels' own. */
typedef struct {
    dsc_graph *g;
    dsc_node in, out;
} act_graph;

static dsc_status act_graph_new(dsc_activation a, size_t cols, size_t rows, act_graph *ag)
{
    dsc_status s = dsc_graph_new(&ag->g);
    if (s) return s;
    ag->in = dsc_input(ag->g, "x", cols);
    ag->out = dsc_activate(ag->g, a, ag->in);
    if ((s = dsc_graph_compile(ag->g, rows, NULL, DSC_COMPILE_NO_GRAD))) {
        dsc_graph_free(ag->g);
        ag->g = NULL;
    }
    return s;
}

#define Q_BATCH 256

dsc_status dsc_qmodel_predict(const dsc_model *m, const dsc_qmodel *q, const float *x, size_t n,
                              float *y)
{
    size_t L = m->n_layers, wmax = 0;
    for (size_t k = 0; k <= L; k++) wmax = m->units[k] > wmax ? m->units[k] : wmax;
    size_t batch = n < Q_BATCH ? (n ? n : 1) : Q_BATCH;
    float *a = dsc_malloc(2 * batch * wmax * sizeof(float));
    int8_t *qrow = dsc_malloc(wmax);
    act_graph *ag = dsc_calloc(L, sizeof *ag);
    dsc_status s = DSC_OK;
    if (!a || !qrow || !ag) s = dsc_fail(DSC_ENOMEM, "out of memory running an int8 model");
    for (size_t k = 0; k < L && !s; k++)
        s = act_graph_new(m->act[k], m->units[k + 1], batch, &ag[k]);
    float *h = a, *z = a + batch * wmax;
    size_t n_in = m->units[0], n_out = m->units[L];
    for (size_t i0 = 0; i0 < n && !s; i0 += batch) {
        size_t rows = n - i0 < batch ? n - i0 : batch;
        memcpy(h, x + i0 * n_in, rows * n_in * sizeof(float));
        dsc_model_scale_inputs(m, h, rows);
        for (size_t k = 0; k < L && !s; k++) {
            size_t in = m->units[k], out = m->units[k + 1];
            const float *sc = q->scale + q->s_off[k];
            size_t step = q->per_layer ? 0 : 1;
            for (size_t r = 0; r < rows; r++) {
                if (q->float_act)
                    dsc_qdense_f(h + r * in, in, q->q + q->q_off[k], sc, step,
                                 m->params + m->b_off[k], out, z + r * out);
                else
                    dsc_qdense(h + r * in, in, q->q + q->q_off[k], sc, step,
                               m->params + m->b_off[k], out, qrow, z + r * out);
            }
            if ((s = dsc_graph_set_batch(ag[k].g, rows)) ||
                (s = dsc_graph_bind(ag[k].g, ag[k].in, z)) || (s = dsc_graph_forward(ag[k].g)))
                break;
            memcpy(h, dsc_graph_value(ag[k].g, ag[k].out).data, rows * out * sizeof(float));
        }
        if (s) break;
        dsc_model_unscale_outputs(m, h, rows);
        memcpy(y + i0 * n_out, h, rows * n_out * sizeof(float));
    }
    for (size_t k = 0; ag && k < L; k++) dsc_graph_free(ag[k].g);
    dsc_free(ag);
    dsc_free(qrow);
    dsc_free(a);
    return s;
}
