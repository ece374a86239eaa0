/* The multi-layer perceptron: spec parsing, seed-style parameter names,
 * initialisation, and its graph. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data/data.h"
#include "../graph/graph_internal.h"
#include "nn.h"

/* --- spec parsing -------------------------------------------------------- */

typedef struct {
    const char *s, *p;
} spec_reader;

static void skip_space(spec_reader *r)
{
    while (isspace((unsigned char)*r->p)) r->p++;
}

static dsc_status spec_error(const spec_reader *r, const char *what)
{
    return dsc_fail(DSC_EFORMAT, "model spec '%s', column %zu: %s", r->s, (size_t)(r->p - r->s) + 1,
                    what);
}

static int read_size(spec_reader *r, size_t *out)
{
    skip_space(r);
    if (!isdigit((unsigned char)*r->p)) return 0;
    char *end;
    unsigned long long v = strtoull(r->p, &end, 10);
    if (v == 0 || v > 100000000ULL) return 0;
    r->p = end;
    *out = (size_t)v;
    return 1;
}

static int read_act(spec_reader *r, dsc_activation *out)
{
    skip_space(r);
    char name[32];
    size_t n = 0;
    while ((isalnum((unsigned char)*r->p) || *r->p == '_') && n + 1 < sizeof name)
        name[n++] = *r->p++;
    name[n] = '\0';
    return dsc_activation_from_name(name, out) == DSC_OK;
}

/* Separators between layers: "->" or ",". */
static int read_sep(spec_reader *r)
{
    skip_space(r);
    if (r->p[0] == '-' && r->p[1] == '>') {
        r->p += 2;
        return 1;
    }
    if (r->p[0] == ',') {
        r->p++;
        return 1;
    }
    return 0;
}

static dsc_status model_alloc(size_t n_layers, dsc_model **out)
{
    dsc_model *m = dsc_calloc(1, sizeof *m);
    if (!m) return dsc_fail(DSC_ENOMEM, "out of memory for a model");
    m->n_layers = n_layers;
    m->units = dsc_calloc(n_layers + 1, sizeof *m->units);
    m->act = dsc_calloc(n_layers, sizeof *m->act);
    m->w_off = dsc_calloc(n_layers, sizeof *m->w_off);
    m->b_off = dsc_calloc(n_layers, sizeof *m->b_off);
    if (!m->units || !m->act || !m->w_off || !m->b_off) {
        dsc_model_free(m);
        return dsc_fail(DSC_ENOMEM, "out of memory for a model");
    }
    *out = m;
    return DSC_OK;
}

/* Lays out the flat buffer (layer by layer: weight [out x in], then bias)
 * and writes the canonical spec. */
static dsc_status model_finish(dsc_model *m)
{
    size_t off = 0;
    for (size_t k = 0; k < m->n_layers; k++) {
        size_t in = m->units[k], out = m->units[k + 1];
        if (in > SIZE_MAX / out / 2) return dsc_fail(DSC_EINVAL, "layer %zu is too large", k + 1);
        m->w_off[k] = off;
        off += in * out;
        m->b_off[k] = off;
        off += out;
    }
    m->n_params = off;
    m->params = dsc_malloc_aligned(((off + 15) & ~(size_t)15) * sizeof(float));
    char *spec = dsc_malloc(32 * (m->n_layers + 1));
    if (!m->params || !spec) {
        dsc_free(spec);
        return dsc_fail(DSC_ENOMEM, "out of memory for %zu parameters", off);
    }
    memset(m->params, 0, off * sizeof(float));
    size_t len = (size_t)sprintf(spec, "%zu", m->units[0]);
    for (size_t k = 0; k < m->n_layers; k++)
        len += (size_t)sprintf(spec + len, " -> %zu:%s", m->units[k + 1],
                               dsc_activation_name(m->act[k]));
    m->spec = spec;
    return DSC_OK;
}

dsc_status dsc_model_new(const char *spec, dsc_model **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_model_new: out is NULL");
    *out = NULL;
    if (!spec) return dsc_fail(DSC_EINVAL, "dsc_model_new: spec is NULL");
    size_t units[65];
    dsc_activation acts[64];
    size_t cap = DSC_COUNT_OF(acts), n = 0;
    spec_reader r = {spec, spec};
    if (!read_size(&r, &units[0])) return spec_error(&r, "expected the number of inputs");
    if (!read_sep(&r)) return spec_error(&r, "expected '->' after the inputs");
    for (;;) {
        if (n == cap) return spec_error(&r, "too many layers (at most 64)");
        if (!read_size(&r, &units[n + 1])) return spec_error(&r, "expected a number of units");
        skip_space(&r);
        if (*r.p != ':') return spec_error(&r, "expected ':' and an activation after the units");
        r.p++;
        const char *act_at = r.p;
        if (!read_act(&r, &acts[n])) {
            char why[256]; /* the lookup's message lists the valid names */
            snprintf(why, sizeof why, "%s", dsc_last_error());
            r.p = act_at;
            return spec_error(&r, why);
        }
        n++;
        skip_space(&r);
        if (*r.p == '\0') break;
        if (!read_sep(&r)) return spec_error(&r, "expected '->' or ',' between layers");
    }
    dsc_model *m = NULL;
    dsc_status s = model_alloc(n, &m);
    if (s) return s;
    memcpy(m->units, units, (n + 1) * sizeof *units);
    memcpy(m->act, acts, n * sizeof *acts);
    for (size_t k = 0; k + 1 < n; k++)
        if (dsc_activation_op(acts[k])->flags & DSC_OPF_ROWWISE) {
            dsc_model_free(m);
            return dsc_fail(DSC_EFORMAT, "model spec '%s': %s is only for the output layer", spec,
                            dsc_activation_name(acts[k]));
        }
    if ((s = model_finish(m))) {
        dsc_model_free(m);
        return s;
    }
    *out = m;
    return DSC_OK;
}

void dsc_model_free(dsc_model *m)
{
    if (!m) return;
    dsc_model_free_meta(m); /* reads units[0]: before units goes */
    dsc_free(m->units);
    dsc_free(m->act);
    dsc_free(m->w_off);
    dsc_free(m->b_off);
    dsc_free_aligned(m->params);
    dsc_free(m->spec);
    dsc_free(m);
}

/* A deep copy: the spec, the parameters and everything the model knows
 * about its data (meta.c). */
dsc_status dsc_model_clone(const dsc_model *m, dsc_model **out)
{
    if (!m || !out) return dsc_fail(DSC_EINVAL, "dsc_model_clone: NULL argument");
    dsc_status s = dsc_model_new(m->spec, out);
    if (s) return s;
    dsc_model *c = *out;
    memcpy(c->params, m->params, m->n_params * sizeof(float));
    c->relu_rule = m->relu_rule;
    c->relu_seed = m->relu_seed;
    c->x_div = m->x_div;
    if ((s = dsc_model_set_input_names(c, (const char *const *)m->in_names)) ||
        (s = dsc_model_set_target(c, m->target)) ||
        (s = dsc_model_set_classes(c, (const char *const *)m->classes, m->n_classes)) ||
        (s = dsc_model_set_standardization(c, m->x_mean, m->x_std, m->y_mean, m->y_std))) {
        dsc_model_free(c);
        *out = NULL;
        return s;
    }
    if (m->summary) dsc_model_set_summary(c, m->summary);
    return DSC_OK;
}

/* --- accessors ------------------------------------------------------------ */

size_t dsc_model_inputs(const dsc_model *m) { return m ? m->units[0] : 0; }
size_t dsc_model_outputs(const dsc_model *m) { return m ? m->units[m->n_layers] : 0; }
size_t dsc_model_layers(const dsc_model *m) { return m ? m->n_layers : 0; }
size_t dsc_model_layer_units(const dsc_model *m, size_t k)
{
    return m && k < m->n_layers ? m->units[k + 1] : 0;
}
dsc_activation dsc_model_layer_activation(const dsc_model *m, size_t k)
{
    return m && k < m->n_layers ? m->act[k] : DSC_ACT_IDENTITY;
}
const char *dsc_model_spec(const dsc_model *m) { return m ? m->spec : ""; }
size_t dsc_model_param_count(const dsc_model *m) { return m ? m->n_params : 0; }
float *dsc_model_params(dsc_model *m) { return m ? m->params : NULL; }
const float *dsc_model_params_const(const dsc_model *m) { return m ? m->params : NULL; }
void dsc_model_set_relu_grad(dsc_model *m, dsc_relu_grad rule)
{
    if (m) m->relu_rule = rule;
}
dsc_relu_grad dsc_model_relu_grad(const dsc_model *m)
{
    return m ? m->relu_rule : DSC_RELU_GRAD_ZERO;
}

/* --- names --------------------------------------------------------------- */

/* Weights are numbered w1, w2, ... across the network, layer by layer, and
 * within a layer by output unit then input unit, which is the row-major
 * order of each [out x in] weight matrix; biases likewise. For 1 -> 2 -> 1
 * that gives the seed's w1, w2 / b1, b2 (hidden) and w3, w4 / b3 (output). */
const char *dsc_model_param_name(const dsc_model *m, size_t i)
{
    static _Thread_local char buf[48];
    if (!m || i >= m->n_params) return "";
    size_t w_before = 0, b_before = 0;
    for (size_t k = 0; k < m->n_layers; k++) {
        size_t in = m->units[k], out = m->units[k + 1];
        if (i < m->b_off[k]) {
            snprintf(buf, sizeof buf, "w%zu", w_before + (i - m->w_off[k]) + 1);
            return buf;
        }
        if (i < m->b_off[k] + out) {
            snprintf(buf, sizeof buf, "b%zu", b_before + (i - m->b_off[k]) + 1);
            return buf;
        }
        w_before += in * out;
        b_before += out;
    }
    return "";
}

dsc_status dsc_model_find(const dsc_model *m, const char *name, size_t *first, size_t *count)
{
    if (!m || !name) return dsc_fail(DSC_EINVAL, "dsc_model_find: NULL argument");
    size_t k, idx;
    char kind[8], extra;
    if ((name[0] == 'w' || name[0] == 'b') && sscanf(name + 1, "%zu%c", &idx, &extra) == 1 &&
        isdigit((unsigned char)name[1]) && idx >= 1) {
        size_t before = 0;
        for (k = 0; k < m->n_layers; k++) {
            size_t in = m->units[k], out = m->units[k + 1];
            size_t here = name[0] == 'w' ? in * out : out;
            if (idx - 1 < before + here) {
                *first = (name[0] == 'w' ? m->w_off[k] : m->b_off[k]) + (idx - 1 - before);
                *count = 1;
                return DSC_OK;
            }
            before += here;
        }
    } else if (sscanf(name, "layer%zu.%7[a-z]%c", &k, kind, &extra) == 2 && k >= 1 &&
               k <= m->n_layers) {
        size_t in = m->units[k - 1], out = m->units[k];
        if (strcmp(kind, "weight") == 0) {
            *first = m->w_off[k - 1];
            *count = in * out;
            return DSC_OK;
        }
        if (strcmp(kind, "bias") == 0) {
            *first = m->b_off[k - 1];
            *count = out;
            return DSC_OK;
        }
    }
    size_t n_w = 0, n_b = 0;
    for (k = 0; k < m->n_layers; k++) {
        n_w += m->units[k] * m->units[k + 1];
        n_b += m->units[k + 1];
    }
    return dsc_fail(DSC_ENOTFOUND,
                    "no parameter '%s' in model %s (names: w1..w%zu, b1..b%zu, layer1..%zu "
                    ".weight/.bias)",
                    name, m->spec, n_w, n_b, m->n_layers);
}

dsc_status dsc_model_set(dsc_model *m, const char *name, float value)
{
    size_t first, count;
    dsc_status s = dsc_model_find(m, name, &first, &count);
    if (s) return s;
    if (!isfinite(value)) return dsc_fail(DSC_EINVAL, "parameter '%s': value is not finite", name);
    for (size_t i = 0; i < count; i++) m->params[first + i] = value;
    return DSC_OK;
}

dsc_status dsc_model_get(const dsc_model *m, const char *name, float *value)
{
    size_t first, count;
    dsc_status s = dsc_model_find(m, name, &first, &count);
    if (s) return s;
    if (count != 1) return dsc_fail(DSC_EINVAL, "'%s' names %zu values, not one", name, count);
    *value = m->params[first];
    return DSC_OK;
}

/* --- initialisation ---------------------------------------------------- */

dsc_status dsc_model_init(dsc_model *m, dsc_init scheme, uint64_t seed)
{
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_model_init: model is NULL");
    if ((unsigned)scheme > DSC_INIT_HE_NORMAL)
        return dsc_fail(DSC_EINVAL, "unknown initialisation %d", (int)scheme);
    dsc_rng rng;
    dsc_rng_seed(&rng, seed, 1);
    for (size_t k = 0; k < m->n_layers; k++) {
        double fan_in = (double)m->units[k], fan_out = (double)m->units[k + 1];
        dsc_init s = scheme;
        if (s == DSC_INIT_DEFAULT)
            s = (dsc_activation_op(m->act[k])->flags & DSC_OPF_KINK) ? DSC_INIT_HE_UNIFORM
                                                                     : DSC_INIT_XAVIER_UNIFORM;
        /* Uniform schemes draw from [-a, a]; normal ones scale N(0, 1). */
        double a = 1.0;
        int uniform = 0;
        switch (s) {
        case DSC_INIT_XAVIER_UNIFORM: a = sqrt(6.0 / (fan_in + fan_out)), uniform = 1; break;
        case DSC_INIT_HE_UNIFORM: a = sqrt(6.0 / fan_in), uniform = 1; break;
        case DSC_INIT_XAVIER_NORMAL: a = sqrt(2.0 / (fan_in + fan_out)); break;
        case DSC_INIT_HE_NORMAL: a = sqrt(2.0 / fan_in); break;
        default: a = 1.0; break;
        }
        float *w = m->params + m->w_off[k];
        size_t n = m->units[k] * m->units[k + 1];
        for (size_t i = 0; i < n; i++)
            w[i] = uniform ? (float)(a * (2.0 * dsc_rng_uniform(&rng) - 1.0))
                           : (float)(a * dsc_rng_normal(&rng));
        memset(m->params + m->b_off[k], 0, m->units[k + 1] * sizeof(float));
    }
    return DSC_OK;
}

/* --- the model as a graph ------------------------------------------------ */

static dsc_status build_graph(const dsc_model *m, int with_loss, dsc_loss loss, size_t max_batch,
                              int flags, float dropout, dsc_mlp_graph *mg)
{
    memset(mg, 0, sizeof *mg);
    mg->loss = mg->y = -1;
    dsc_status s = dsc_graph_new(&mg->g);
    if (s) return s;
    dsc_graph *g = mg->g;
    mg->x = dsc_input(g, "x", m->units[0]);
    dsc_node h = mg->x;
    char name[48];
    /* Parameters are made in the model's flat order (weight, bias, layer
     * by layer), so the graph's offsets are the model's. */
    for (size_t k = 0; k < m->n_layers; k++) {
        snprintf(name, sizeof name, "layer%zu.weight", k + 1);
        dsc_node w = dsc_param(g, name, m->units[k + 1], m->units[k]);
        snprintf(name, sizeof name, "layer%zu.bias", k + 1);
        dsc_node b = dsc_param(g, name, 1, m->units[k + 1]);
        h = dsc_activate(g, m->act[k], dsc_add(g, dsc_matmul(g, h, w, 0, 1), b));
        if (dropout > 0 && k + 1 < m->n_layers) h = dsc_dropout(g, h, dropout);
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
    float *xs; /* inputs transformed (divided, standardised) */
};

dsc_status dsc_workspace_new(const dsc_model *m, size_t max_batch, dsc_workspace **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_workspace_new: out is NULL");
    *out = NULL;
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_workspace_new: model is NULL");
    dsc_workspace *ws = dsc_calloc(1, sizeof *ws);
    if (!ws) return dsc_fail(DSC_ENOMEM, "out of memory for a workspace");
    dsc_status s = dsc_mlp_graph_build(m, 0, DSC_LOSS_SSR, max_batch ? max_batch : 1,
                                       DSC_COMPILE_NO_GRAD, &ws->mg);
    if (s) {
        dsc_free(ws);
        return s;
    }
    ws->m = m;
    /* Always there: whether inputs are transformed depends on the model's
     * divisor and standardisation, and on the data (dsc_predict_div). */
    ws->xs = dsc_malloc(ws->mg.max_batch * m->units[0] * sizeof(float));
    if (!ws->xs) {
        dsc_workspace_free(ws);
        return dsc_fail(DSC_ENOMEM, "out of memory for a workspace");
    }
    *out = ws;
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
    size_t n_in = m->units[0], n_out = m->units[m->n_layers];
    for (size_t i = 0; i < n; i += ws->mg.max_batch) {
        size_t rows = n - i < ws->mg.max_batch ? n - i : ws->mg.max_batch;
        const float *xb = x + i * n_in;
        if (m->x_mean || div != 1.0f) {
            memcpy(ws->xs, xb, rows * n_in * sizeof(float));
            dsc_model_transform_inputs(m, div, ws->xs, rows);
            xb = ws->xs;
        }
        dsc_status s;
        if ((s = dsc_graph_set_batch(ws->mg.g, rows)) ||
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
    s = dsc_predict(m, ws, x, n, y);
    dsc_workspace_free(ws);
    return s;
}
