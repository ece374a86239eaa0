/* Models: made from a spec (spec.c), seed-style parameter names,
 * initialisation, copies. The graph and prediction are in build.c. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data/data.h"
#include "../graph/graph_internal.h"
#include "nn.h"

/* --- making a model from its spec ---------------------------------------- */

/* Lays out the flat buffer (layer by layer: weight, then bias) for the
 * parsed spec, which the model takes. */
static dsc_status model_from_spec(dsc_spec *arch, dsc_model **out)
{
    dsc_model *m = dsc_calloc(1, sizeof *m);
    if (!m) {
        dsc_free(arch);
        return dsc_fail(DSC_ENOMEM, "out of memory for a model");
    }
    m->arch = arch;
    m->n_layers = arch->n_layers;
    m->units = arch->units;
    m->act = arch->act;
    m->layer = arch->layer;
    m->w_off = dsc_calloc(m->n_layers, sizeof *m->w_off);
    m->b_off = dsc_calloc(m->n_layers, sizeof *m->b_off);
    size_t len = dsc_spec_format(arch, NULL, 0);
    m->spec = dsc_malloc(len + 1);
    size_t off = 0;
    for (size_t k = 0; k < m->n_layers; k++) {
        m->w_off[k] = off;
        off += arch->n_w[k];
        m->b_off[k] = off;
        off += arch->n_b[k];
    }
    m->n_params = off;
    m->params = dsc_malloc_aligned(((off + 15) & ~(size_t)15) * sizeof(float));
    if (!m->w_off || !m->b_off || !m->spec || !m->params) {
        dsc_model_free(m);
        return dsc_fail(DSC_ENOMEM, "out of memory for %zu parameters", off);
    }
    memset(m->params, 0, off * sizeof(float));
    dsc_spec_format(arch, m->spec, len + 1);
    *out = m;
    return DSC_OK;
}

dsc_status dsc_model_new(const char *spec, dsc_model **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_model_new: out is NULL");
    *out = NULL;
    if (!spec) return dsc_fail(DSC_EINVAL, "dsc_model_new: spec is NULL");
    dsc_spec *arch = dsc_malloc(sizeof *arch);
    if (!arch) return dsc_fail(DSC_ENOMEM, "out of memory for a model");
    dsc_status s = dsc_spec_parse(spec, arch);
    if (s) {
        dsc_free(arch);
        return s;
    }
    return model_from_spec(arch, out);
}

void dsc_model_free(dsc_model *m)
{
    if (!m) return;
    if (m->arch) dsc_model_free_meta(m); /* reads units[0]: before arch goes */
    dsc_free(m->arch);
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

size_t dsc_model_input_shape(const dsc_model *m, size_t dims[3])
{
    dims[0] = dims[1] = dims[2] = 0;
    if (!m) return 0;
    for (int k = 0; k < m->arch->in_rank; k++) dims[k] = m->arch->in_dims[k];
    return (size_t)m->arch->in_rank;
}
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
        if (i < m->b_off[k]) {
            snprintf(buf, sizeof buf, "w%zu", w_before + (i - m->w_off[k]) + 1);
            return buf;
        }
        if (i < m->b_off[k] + m->arch->n_b[k]) {
            snprintf(buf, sizeof buf, "b%zu", b_before + (i - m->b_off[k]) + 1);
            return buf;
        }
        w_before += m->arch->n_w[k];
        b_before += m->arch->n_b[k];
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
            size_t here = name[0] == 'w' ? m->arch->n_w[k] : m->arch->n_b[k];
            if (idx - 1 < before + here) {
                *first = (name[0] == 'w' ? m->w_off[k] : m->b_off[k]) + (idx - 1 - before);
                *count = 1;
                return DSC_OK;
            }
            before += here;
        }
    } else if (sscanf(name, "layer%zu.%7[a-z]%c", &k, kind, &extra) == 2 && k >= 1 &&
               k <= m->n_layers && m->arch->n_b[k - 1]) {
        if (strcmp(kind, "weight") == 0) {
            *first = m->w_off[k - 1];
            *count = m->arch->n_w[k - 1];
            return DSC_OK;
        }
        if (strcmp(kind, "bias") == 0) {
            *first = m->b_off[k - 1];
            *count = m->arch->n_b[k - 1];
            return DSC_OK;
        }
    }
    size_t n_w = 0, n_b = 0;
    for (k = 0; k < m->n_layers; k++) {
        n_w += m->arch->n_w[k];
        n_b += m->arch->n_b[k];
    }
    return dsc_fail(DSC_ENOTFOUND,
                    "no parameter '%s' in model %s (names: w1..w%zu, b1..b%zu, layerK.weight/.bias "
                    "for the layers with parameters)",
                    name, m->spec, n_w, n_b);
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
        const dsc_layer *l = &m->layer[k];
        if (!m->arch->n_w[k]) continue; /* pools and flatten */
        /* Fans as PyTorch counts them: a filter reads C KH KW inputs and
         * feeds F KH KW. */
        double fan_in = (double)m->units[k], fan_out = (double)m->units[k + 1];
        if (l->kind == DSC_LAYER_CONV) {
            double area = (double)(l->kh * l->kw);
            fan_in = (double)l->in_dims[0] * area;
            fan_out = (double)l->size * area;
        }
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
        size_t n = m->arch->n_w[k];
        for (size_t i = 0; i < n; i++)
            w[i] = uniform ? (float)(a * (2.0 * dsc_rng_uniform(&rng) - 1.0))
                           : (float)(a * dsc_rng_normal(&rng));
        memset(m->params + m->b_off[k], 0, m->arch->n_b[k] * sizeof(float));
    }
    return DSC_OK;
}
