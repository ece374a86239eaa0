/* int8 weights: quantizing a model, and running it as the exported C does
 * (export.h describes the scheme). The layer kernels are compiled here and
 * emitted into the exported C from one source text, so both compute the
 * same bits; activations and pools are the engine's own kernels. */
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

size_t dsc_qmodel_scales(const dsc_model *m, const dsc_qmodel *q, size_t k)
{
    if (!m->arch->n_w[k]) return 0;
    return q->per_layer ? 1 : m->arch->n_b[k];
}

dsc_status dsc_quantize(const dsc_model *m, int per_layer, int float_act, dsc_qmodel *q)
{
    memset(q, 0, sizeof *q);
    const dsc_spec *a = m->arch;
    size_t L = m->n_layers, nw = 0, ns = 0;
    for (size_t k = 0; k < L; k++) {
        if (!float_act && m->layer[k].kind == DSC_LAYER_DENSE && m->units[k] > DSC_QUANT_MAX_INPUTS)
            return dsc_fail(DSC_EUNSUPPORTED,
                            "int8 export: layer %zu has %zu inputs; its int32 sums hold at most "
                            "%zu",
                            k + 1, m->units[k], DSC_QUANT_MAX_INPUTS);
        nw += a->n_w[k];
        ns += !a->n_w[k] ? 0 : per_layer ? 1 : a->n_b[k];
    }
    q->n_layers = L;
    q->units = m->units;
    q->per_layer = per_layer;
    q->float_act = float_act;
    q->q = dsc_malloc(nw ? nw : 1);
    q->q_off = dsc_calloc(L, sizeof *q->q_off);
    q->scale = dsc_calloc(ns ? ns : 1, sizeof *q->scale);
    q->s_off = dsc_calloc(L, sizeof *q->s_off);
    if (!q->q || !q->q_off || !q->scale || !q->s_off) {
        dsc_qmodel_free(q);
        return dsc_fail(DSC_ENOMEM, "out of memory for %zu int8 weights", nw);
    }
    /* A weight matrix has a row per output unit (dense) or per filter
     * (conv); a scale per row, or one for the whole matrix. */
    size_t qo = 0, so = 0;
    for (size_t k = 0; k < L; k++) {
        q->q_off[k] = qo;
        q->s_off[k] = so;
        if (!a->n_w[k]) continue;
        size_t rows = a->n_b[k], len = a->n_w[k] / rows;
        const float *w = m->params + m->w_off[k];
        if (per_layer) q->scale[so] = scale_of(w, a->n_w[k]);
        for (size_t j = 0; j < rows; j++) {
            if (!per_layer) q->scale[so + j] = scale_of(w + j * len, len);
            quantize_row(w + j * len, len, q->scale[per_layer ? so : so + j], q->q + qo + j * len);
        }
        qo += a->n_w[k];
        so += per_layer ? 1 : rows;
    }
    return DSC_OK;
}

/* --- running ------------------------------------------------------------- */

DSC_QDENSE_FN(dsc_qdense)
DSC_QDENSE_F_FN(dsc_qdense_f)
DSC_QCONV_F_FN(dsc_qconv_f)

const char *dsc_qdense_source(void) { return dsc_qdense_text; }
const char *dsc_qdense_f_source(void) { return dsc_qdense_f_text; }
const char *dsc_qconv_f_source(void) { return dsc_qconv_f_text; }

void dsc_layer_geometry(const dsc_layer *l, size_t g[DSC_GEOM_COUNT])
{
    int image = l->in_rank == 3;
    g[DSC_G_C] = l->in_dims[0];
    g[DSC_G_H] = image ? l->in_dims[1] : 1;
    g[DSC_G_W] = image ? l->in_dims[2] : l->in_dims[1];
    g[DSC_G_F] = l->out_dims[0];
    g[DSC_G_KH] = l->kh, g[DSC_G_KW] = l->kw;
    g[DSC_G_SH] = l->sh, g[DSC_G_SW] = l->sw;
    g[DSC_G_PH] = l->ph, g[DSC_G_PW] = l->pw;
    g[DSC_G_OH] = image ? l->out_dims[1] : 1;
    g[DSC_G_OW] = image ? l->out_dims[2] : l->out_dims[1];
}

/* What follows a layer's weights, through a graph of the engine's own op,
 * so the values are its kernels': the activation of a dense or conv layer
 * (over the flat row), or a pool over the shaped sample. A flatten (and an
 * identity) needs no graph: g is NULL and the values pass as they are. */
typedef struct {
    dsc_graph *g;
    dsc_node in, out;
} layer_graph;

static dsc_status layer_graph_new(const dsc_model *m, size_t k, size_t rows, layer_graph *lg)
{
    const dsc_layer *l = &m->layer[k];
    int pool = l->kind == DSC_LAYER_MAXPOOL || l->kind == DSC_LAYER_AVGPOOL;
    lg->g = NULL;
    if (!pool && (l->kind == DSC_LAYER_FLATTEN || m->act[k] == DSC_ACT_IDENTITY)) return DSC_OK;
    dsc_status s = dsc_graph_new(&lg->g);
    if (s) return s;
    if (pool) {
        size_t rank = (size_t)l->in_rank;
        lg->in = dsc_input_shaped(lg->g, "x", rank, l->in_dims);
        if (l->kind == DSC_LAYER_MAXPOOL)
            lg->out = rank == 3 ? dsc_maxpool2d(lg->g, lg->in, l->kw, l->sw)
                                : dsc_maxpool1d(lg->g, lg->in, l->kw, l->sw);
        else
            lg->out = rank == 3 ? dsc_avgpool2d(lg->g, lg->in, l->kw, l->sw)
                                : dsc_avgpool1d(lg->g, lg->in, l->kw, l->sw);
    } else {
        lg->in = dsc_input(lg->g, "x", m->units[k + 1]);
        lg->out = dsc_activate(lg->g, m->act[k], lg->in);
    }
    if ((s = dsc_graph_compile(lg->g, rows, NULL, DSC_COMPILE_NO_GRAD))) {
        dsc_graph_free(lg->g);
        lg->g = NULL;
    }
    return s;
}

#define Q_BATCH 256

/* Layer k on `rows` rows of h (m->units[k] each) into z (units[k + 1]
 * each): the weights' part, int8, row by row. */
static void weights_part(const dsc_model *m, const dsc_qmodel *q, size_t k, const float *h,
                         size_t rows, int8_t *qrow, float *z)
{
    const dsc_layer *l = &m->layer[k];
    size_t in = m->units[k], out = m->units[k + 1];
    const int8_t *w = q->q + q->q_off[k];
    const float *sc = q->scale + q->s_off[k], *b = m->params + m->b_off[k];
    size_t step = q->per_layer ? 0 : 1;
    size_t g[DSC_GEOM_COUNT];
    dsc_layer_geometry(l, g);
    for (size_t r = 0; r < rows; r++) {
        const float *x = h + r * in;
        float *y = z + r * out;
        if (l->kind == DSC_LAYER_CONV)
            dsc_qconv_f(x, w, sc, step, b, y, g[DSC_G_C], g[DSC_G_H], g[DSC_G_W], g[DSC_G_F],
                        g[DSC_G_KH], g[DSC_G_KW], g[DSC_G_SH], g[DSC_G_SW], g[DSC_G_PH],
                        g[DSC_G_PW], g[DSC_G_OH], g[DSC_G_OW]);
        else if (q->float_act)
            dsc_qdense_f(x, in, w, sc, step, b, out, y);
        else
            dsc_qdense(x, in, w, sc, step, b, out, qrow, y);
    }
}

dsc_status dsc_qmodel_predict(const dsc_model *m, const dsc_qmodel *q, const float *x, size_t n,
                              float *y)
{
    size_t L = m->n_layers, wmax = 0;
    for (size_t k = 0; k <= L; k++) wmax = m->units[k] > wmax ? m->units[k] : wmax;
    size_t batch = n < Q_BATCH ? (n ? n : 1) : Q_BATCH;
    float *a = dsc_malloc(2 * batch * wmax * sizeof(float));
    int8_t *qrow = dsc_malloc(wmax);
    layer_graph *lg = dsc_calloc(L, sizeof *lg);
    dsc_status s = DSC_OK;
    if (!a || !qrow || !lg) s = dsc_fail(DSC_ENOMEM, "out of memory running an int8 model");
    for (size_t k = 0; k < L && !s; k++) s = layer_graph_new(m, k, batch, &lg[k]);
    float *h = a, *z = a + batch * wmax;
    size_t n_in = m->units[0], n_out = m->units[L];
    for (size_t i0 = 0; i0 < n && !s; i0 += batch) {
        size_t rows = n - i0 < batch ? n - i0 : batch;
        memcpy(h, x + i0 * n_in, rows * n_in * sizeof(float));
        dsc_model_transform_inputs(m, m->x_div > 0 ? m->x_div : 1.0f, h, rows);
        for (size_t k = 0; k < L && !s; k++) {
            size_t out = m->units[k + 1];
            const float *src = h;
            if (m->arch->n_w[k]) {
                weights_part(m, q, k, h, rows, qrow, z);
                src = z;
            }
            if (lg[k].g) {
                if ((s = dsc_graph_set_batch(lg[k].g, rows)) ||
                    (s = dsc_graph_bind(lg[k].g, lg[k].in, src)) ||
                    (s = dsc_graph_forward(lg[k].g)))
                    break;
                src = dsc_graph_value(lg[k].g, lg[k].out).data;
            }
            if (src != h) memcpy(h, src, rows * out * sizeof(float));
        }
        if (s) break;
        dsc_model_unscale_outputs(m, h, rows);
        memcpy(y + i0 * n_out, h, rows * n_out * sizeof(float));
    }
    for (size_t k = 0; lg && k < L; k++) dsc_graph_free(lg[k].g);
    dsc_free(lg);
    dsc_free(qrow);
    dsc_free(a);
    return s;
}
