/* The model as an ONNX file (dsc_model_export_onnx), written with the
 * small encoder in protobuf.c. Field numbers are those of onnx.proto.
 *
 * The graph, for a model IN -> ... -> OUT:
 *   input [N x IN]
 *   -> Div(x_divisor)                                when the model divides its
 *                                                    inputs (255 for IDX images)
 *   -> Sub(x_mean) -> Div(x_std)                     when inputs are standardised
 *   -> Gemm(layerK.weight, layerK.bias, transB=1) -> activation, per layer
 *   -> Mul(y_std) -> Add(y_mean)                     when targets are standardised
 *   -> output [N x OUT]
 * and for a classifier the class name of each row: ArgMax (or, for one
 * sigmoid output, GreaterOrEqual 0.5 and Cast), then Gather from the class
 * names -> label [N x 1]. Standardisation stays as nodes rather than folded
 * into the first layer, so the values are computed as descent computes
 * them (folding would round differently). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/nn.h"
#include "export.h"
#include "json.h"
#include "outfile.h"
#include "protobuf.h"

/* onnx.proto */
enum {
    MODEL_IR_VERSION = 1,
    MODEL_PRODUCER_NAME = 2,
    MODEL_PRODUCER_VERSION = 3,
    MODEL_DOC_STRING = 6,
    MODEL_GRAPH = 7,
    MODEL_OPSET_IMPORT = 8,
    MODEL_METADATA_PROPS = 14,
    OPSET_DOMAIN = 1,
    OPSET_VERSION = 2,
    ENTRY_KEY = 1,
    ENTRY_VALUE = 2,
    GRAPH_NODE = 1,
    GRAPH_NAME = 2,
    GRAPH_INITIALIZER = 5,
    GRAPH_DOC_STRING = 10,
    GRAPH_INPUT = 11,
    GRAPH_OUTPUT = 12,
    NODE_INPUT = 1,
    NODE_OUTPUT = 2,
    NODE_NAME = 3,
    NODE_OP_TYPE = 4,
    NODE_ATTRIBUTE = 5,
    ATTR_NAME = 1,
    ATTR_F = 2,
    ATTR_I = 3,
    ATTR_TYPE = 20,
    ATTR_FLOAT = 1,
    ATTR_INT = 2,
    ATTR_INTS = 7,
    ATTR_INTS_FIELD = 8,
    TENSOR_DIMS = 1,
    TENSOR_DATA_TYPE = 2,
    TENSOR_STRING_DATA = 6,
    TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9,
    VALUE_NAME = 1,
    VALUE_TYPE = 2,
    VALUE_DOC_STRING = 3,
    TYPE_TENSOR = 1,
    TYPE_TENSOR_ELEM_TYPE = 1,
    TYPE_TENSOR_SHAPE = 2,
    SHAPE_DIM = 1,
    DIM_VALUE = 1,
    DIM_PARAM = 2,
    DT_FLOAT = 1,
    DT_INT64 = 7,
    DT_STRING = 8
};

#define ONNX_IR_VERSION 8
#define ONNX_OPSET      13

/* --- pieces of a graph ------------------------------------------------------- */

/* A float initializer of nd dims (row-major, as descent stores it). */
static void float_tensor_dims(pb_buf *b, const char *name, const float *v, const size_t *dims,
                              int nd)
{
    size_t t = pb_begin(b, GRAPH_INITIALIZER), count = 1;
    for (int i = 0; i < nd; i++) {
        pb_varint(b, TENSOR_DIMS, (int64_t)dims[i]);
        count *= dims[i];
    }
    pb_varint(b, TENSOR_DATA_TYPE, DT_FLOAT);
    pb_string(b, TENSOR_NAME, name);
    pb_floats_raw(b, TENSOR_RAW_DATA, v, count);
    pb_end(b, t);
}

static void float_tensor(pb_buf *b, const char *name, const float *v, size_t rows, size_t cols)
{
    size_t dims[2] = {rows, cols};
    if (rows)
        float_tensor_dims(b, name, v, dims, 2);
    else
        float_tensor_dims(b, name, v, dims + 1, 1);
}

/* An int64 vector initializer (a shape for Reshape). */
static void int64_tensor(pb_buf *b, const char *name, const int64_t *v, size_t n)
{
    size_t t = pb_begin(b, GRAPH_INITIALIZER);
    pb_varint(b, TENSOR_DIMS, (int64_t)n);
    pb_varint(b, TENSOR_DATA_TYPE, DT_INT64);
    pb_string(b, TENSOR_NAME, name);
    uint8_t raw[8 * 4];
    for (size_t i = 0; i < n && i < 4; i++)
        for (int k = 0; k < 8; k++) raw[8 * i + k] = (uint8_t)((uint64_t)v[i] >> (8 * k));
    pb_bytes(b, TENSOR_RAW_DATA, raw, 8 * (n < 4 ? n : 4));
    pb_end(b, t);
}

static void string_tensor(pb_buf *b, const char *name, char *const *v, size_t n)
{
    size_t t = pb_begin(b, GRAPH_INITIALIZER);
    pb_varint(b, TENSOR_DIMS, (int64_t)n);
    pb_varint(b, TENSOR_DATA_TYPE, DT_STRING);
    pb_string(b, TENSOR_NAME, name);
    for (size_t i = 0; i < n; i++) pb_string(b, TENSOR_STRING_DATA, v[i]);
    pb_end(b, t);
}

/* A node with up to three inputs (NULL ends the list) and one output. */
static size_t node_begin(pb_buf *b, const char *op, const char *name, const char *in0,
                         const char *in1, const char *in2, const char *out)
{
    size_t n = pb_begin(b, GRAPH_NODE);
    const char *in[3] = {in0, in1, in2};
    for (int i = 0; i < 3 && in[i]; i++) pb_string(b, NODE_INPUT, in[i]);
    pb_string(b, NODE_OUTPUT, out);
    pb_string(b, NODE_NAME, name);
    pb_string(b, NODE_OP_TYPE, op);
    return n;
}

static void attr_int(pb_buf *b, const char *name, int64_t v)
{
    size_t a = pb_begin(b, NODE_ATTRIBUTE);
    pb_string(b, ATTR_NAME, name);
    pb_varint(b, ATTR_TYPE, ATTR_INT);
    pb_varint(b, ATTR_I, v);
    pb_end(b, a);
}

static void attr_float(pb_buf *b, const char *name, float v)
{
    size_t a = pb_begin(b, NODE_ATTRIBUTE);
    pb_string(b, ATTR_NAME, name);
    pb_varint(b, ATTR_TYPE, ATTR_FLOAT);
    pb_float(b, ATTR_F, v);
    pb_end(b, a);
}

/* Attributes written as text in the op table, "name=value[,name=value]":
 * a value with '.' or an exponent is a float, otherwise an int. */
static void attr_ints(pb_buf *b, const char *name, const int64_t *v, size_t n)
{
    size_t a = pb_begin(b, NODE_ATTRIBUTE);
    pb_string(b, ATTR_NAME, name);
    pb_varint(b, ATTR_TYPE, ATTR_INTS);
    for (size_t i = 0; i < n; i++) pb_varint(b, ATTR_INTS_FIELD, v[i]);
    pb_end(b, a);
}

/* Attributes written as text in the op table: "name=value" or
 * "name=[A,B,...]" separated by spaces, where a list holds numbers or the
 * names of the layer's geometry (dsc_geom_names; g NULL: none), and a
 * value with '.' or an exponent is a float. On a signal (C x L) the
 * height's entries (KH, SH, PH, ...) are left out of lists. */
static void attrs_from_text(pb_buf *b, const char *text, const size_t *g, int signal)
{
    for (const char *p = text; p && *(p += strspn(p, " "));) {
        /* one "name=value" at a time, copied out (strtok would not be
         * re-entrant) */
        char tok[128];
        size_t tl = strcspn(p, " ");
        if (tl >= sizeof tok) return;
        memcpy(tok, p, tl);
        tok[tl] = '\0';
        p += tl;
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        const char *value = eq + 1;
        if (*value == '[') {
            int64_t list[8];
            size_t n = 0;
            char *item = (char *)value + 1;
            while (*item && *item != ']' && n < DSC_COUNT_OF(list)) {
                size_t len = strcspn(item, ",]");
                char word[16];
                if (len >= sizeof word) break;
                memcpy(word, item, len);
                word[len] = '\0';
                item += len + (item[len] == ',');
                int known = 0;
                for (int i = 0; g && i < DSC_GEOM_COUNT; i++)
                    if (strcmp(word, dsc_geom_names[i]) == 0) {
                        known = 1;
                        if (!(signal && word[len - 1] == 'H')) list[n++] = (int64_t)g[i];
                    }
                if (!known) {
                    double v;
                    const char *stop;
                    if (dsc_parse_double(word, &stop, &v) == 0) list[n++] = (int64_t)v;
                }
            }
            attr_ints(b, tok, list, n);
            continue;
        }
        double v = 0;
        const char *stop;
        if (dsc_parse_double(value, &stop, &v) == 0) {
            if (strpbrk(value, ".eE"))
                attr_float(b, tok, (float)v);
            else
                attr_int(b, tok, (int64_t)v);
        }
    }
}

static void node(pb_buf *b, const char *op, const char *name, const char *in0, const char *in1,
                 const char *in2, const char *out)
{
    pb_end(b, node_begin(b, op, name, in0, in1, in2, out));
}

/* A graph input or output: a tensor of elem_type with rows N (symbolic)
 * and cols columns. */
static void value_info(pb_buf *b, unsigned field, const char *name, int elem_type, size_t cols,
                       const char *doc)
{
    size_t v = pb_begin(b, field);
    pb_string(b, VALUE_NAME, name);
    size_t ty = pb_begin(b, VALUE_TYPE);
    size_t tt = pb_begin(b, TYPE_TENSOR);
    pb_varint(b, TYPE_TENSOR_ELEM_TYPE, elem_type);
    size_t sh = pb_begin(b, TYPE_TENSOR_SHAPE);
    size_t d = pb_begin(b, SHAPE_DIM);
    pb_string(b, DIM_PARAM, "N");
    pb_end(b, d);
    d = pb_begin(b, SHAPE_DIM);
    pb_varint(b, DIM_VALUE, (int64_t)cols);
    pb_end(b, d);
    pb_end(b, sh);
    pb_end(b, tt);
    pb_end(b, ty);
    if (doc) pb_string(b, VALUE_DOC_STRING, doc);
    pb_end(b, v);
}

/* --- metadata ---------------------------------------------------------------- */

/* A JSON string through the project's one JSON writer (json.h). */
static void json_string(dsc_text *t, const char *s)
{
    char *q = dsc_json_quote(s);
    if (!q) {
        t->failed = 1;
        return;
    }
    dsc_text_put(t, q);
    dsc_free(q);
}

static void json_array(dsc_text *t, char *const *v, size_t n)
{
    dsc_text_put(t, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) dsc_text_put(t, ", ");
        json_string(t, v[i]);
    }
    dsc_text_put(t, "]");
}

static void meta(pb_buf *b, const char *key, const char *value)
{
    size_t e = pb_begin(b, MODEL_METADATA_PROPS);
    pb_string(b, ENTRY_KEY, key);
    pb_string(b, ENTRY_VALUE, value);
    pb_end(b, e);
}

/* --- the model ---------------------------------------------------------------- */

static void put_graph(pb_buf *b, const dsc_model *m, const char *source, dsc_text *doc)
{
    size_t L = m->n_layers, n_in = m->units[0], n_out = m->units[L];
    char name[64], out[64], cur[64];
    size_t g = pb_begin(b, MODEL_GRAPH);
    pb_string(b, GRAPH_NAME, "descent");

    /* Initializers: everything the nodes read besides the input. */
    float div = m->x_div > 0 ? m->x_div : 1.0f;
    if (div != 1.0f) float_tensor(b, "x_divisor", &div, 0, 1);
    if (m->x_mean) {
        float_tensor(b, "x_mean", m->x_mean, 0, n_in);
        float_tensor(b, "x_std", m->x_std, 0, n_in);
    }
    for (size_t k = 0; k < L; k++) {
        const dsc_layer *l = &m->layer[k];
        size_t nb = m->arch->n_b[k];
        if (!m->arch->n_w[k]) continue;
        snprintf(name, sizeof name, "layer%zu.weight", k + 1);
        if (l->kind == DSC_LAYER_CONV) {
            /* F x C x KH x KW (a signal: F x C x K), descent's own layout */
            size_t dims[4] = {nb, l->in_dims[0], l->kh, l->kw};
            if (l->in_rank == 3)
                float_tensor_dims(b, name, m->params + m->w_off[k], dims, 4);
            else
                dims[2] = l->kw, float_tensor_dims(b, name, m->params + m->w_off[k], dims, 3);
        } else {
            float_tensor(b, name, m->params + m->w_off[k], nb, m->units[k]);
        }
        snprintf(name, sizeof name, "layer%zu.bias", k + 1);
        float_tensor(b, name, m->params + m->b_off[k], 0, nb);
    }
    if (m->layer[0].in_rank > 1) {
        /* Rows of features become samples C x H x W (or C x L). */
        int64_t shape[4] = {-1, 0, 0, 0};
        for (int i = 0; i < m->layer[0].in_rank; i++)
            shape[i + 1] = (int64_t)m->layer[0].in_dims[i];
        int64_tensor(b, "input_shape", shape, (size_t)m->layer[0].in_rank + 1);
    }
    if (m->y_mean) {
        float_tensor(b, "y_std", m->y_std, 0, n_out);
        float_tensor(b, "y_mean", m->y_mean, 0, n_out);
    }
    int sigmoid = n_out == 1 && m->n_classes == 2;
    if (m->n_classes) {
        string_tensor(b, "classes", m->classes, m->n_classes);
        if (sigmoid) {
            const float half = 0.5f;
            float_tensor(b, "half", &half, 0, 1);
        }
    }

    /* Nodes, in topological order; cur names the latest value. */
    strcpy(cur, "input");
    if (div != 1.0f) {
        node(b, "Div", "divide.div", cur, "x_divisor", NULL, "divide.out");
        strcpy(cur, "divide.out");
    }
    if (m->x_mean) {
        node(b, "Sub", "standardize.sub", cur, "x_mean", NULL, "standardize.centered");
        node(b, "Div", "standardize.div", "standardize.centered", "x_std", NULL, "standardize.out");
        strcpy(cur, "standardize.out");
    }
    if (m->layer[0].in_rank > 1) {
        node(b, "Reshape", "input.reshape", cur, "input_shape", NULL, "input.shaped");
        strcpy(cur, "input.shaped");
    }
    for (size_t k = 0; k < L; k++) {
        const dsc_layer *l = &m->layer[k];
        /* The activation's operator from its op table entry; identity (and
         * a pool or flatten, which have none) needs no node. */
        const dsc_op_def *a = dsc_activation_op(m->act[k]);
        const char *act = m->act[k] == DSC_ACT_IDENTITY ? NULL : a->out.onnx;
        int last = k + 1 == L && !m->y_mean;
        char w[64], bias[64];
        size_t geom[DSC_GEOM_COUNT];
        dsc_layer_geometry(l, geom);
        int signal = l->in_rank == 2;
        snprintf(w, sizeof w, "layer%zu.weight", k + 1);
        snprintf(bias, sizeof bias, "layer%zu.bias", k + 1);
        if (last && !act)
            strcpy(out, "output");
        else
            snprintf(out, sizeof out, "layer%zu.linear", k + 1);
        size_t nd;
        const dsc_op_def *op = NULL;
        switch (l->kind) {
        case DSC_LAYER_DENSE:
            if (l->in_rank > 1) { /* a dense layer reads its samples flat */
                snprintf(name, sizeof name, "layer%zu.flatten", k + 1);
                char flat[64];
                snprintf(flat, sizeof flat, "layer%zu.flat", k + 1);
                nd = node_begin(b, "Flatten", name, cur, NULL, NULL, flat);
                attr_int(b, "axis", 1);
                pb_end(b, nd);
                strcpy(cur, flat);
            }
            snprintf(name, sizeof name, "layer%zu.gemm", k + 1);
            nd = node_begin(b, "Gemm", name, cur, w, bias, out);
            attr_int(b, "transB", 1);
            pb_end(b, nd);
            break;
        case DSC_LAYER_CONV: op = dsc_ops[DSC_OP_CONV]; break;
        case DSC_LAYER_MAXPOOL: op = dsc_ops[DSC_OP_MAXPOOL]; break;
        case DSC_LAYER_AVGPOOL: op = dsc_ops[DSC_OP_AVGPOOL]; break;
        case DSC_LAYER_FLATTEN: op = dsc_ops[DSC_OP_FLATTEN]; break;
        }
        if (op) {
            snprintf(name, sizeof name, "layer%zu.%s", k + 1, op->name);
            int conv = l->kind == DSC_LAYER_CONV;
            nd = node_begin(b, op->out.onnx, name, cur, conv ? w : NULL, conv ? bias : NULL, out);
            attrs_from_text(b, op->out.onnx_attrs, geom, signal);
            pb_end(b, nd);
        }
        strcpy(cur, out);
        if (!act) continue;
        snprintf(name, sizeof name, "layer%zu.%s", k + 1, a->name);
        if (last)
            strcpy(out, "output");
        else
            snprintf(out, sizeof out, "layer%zu.out", k + 1);
        nd = node_begin(b, act, name, cur, NULL, NULL, out);
        attrs_from_text(b, a->out.onnx_attrs, NULL, 0);
        pb_end(b, nd);
        strcpy(cur, out);
    }
    if (m->y_mean) {
        node(b, "Mul", "unscale.mul", cur, "y_std", NULL, "unscale.scaled");
        node(b, "Add", "unscale.add", "unscale.scaled", "y_mean", NULL, "output");
    }
    if (m->n_classes) {
        if (sigmoid) {
            node(b, "GreaterOrEqual", "label.threshold", "output", "half", NULL, "label.is_second");
            size_t nd =
                node_begin(b, "Cast", "label.cast", "label.is_second", NULL, NULL, "label.index");
            attr_int(b, "to", DT_INT64);
            pb_end(b, nd);
        } else {
            /* The first largest output, as descent picks the class. */
            size_t nd =
                node_begin(b, "ArgMax", "label.argmax", "output", NULL, NULL, "label.index");
            attr_int(b, "axis", 1);
            attr_int(b, "keepdims", 1);
            pb_end(b, nd);
        }
        size_t nd =
            node_begin(b, "Gather", "label.gather", "classes", "label.index", NULL, "label");
        attr_int(b, "axis", 0);
        pb_end(b, nd);
    }

    /* The graph's doc: where it came from and what it is. */
    dsc_text_printf(doc, "descent model %s", m->spec);
    if (source) dsc_text_printf(doc, " from %s", source);
    pb_string(b, GRAPH_DOC_STRING, doc->failed ? "" : doc->p);

    dsc_text cols = {0};
    if (m->in_names) {
        dsc_text_put(&cols, "columns: ");
        json_array(&cols, m->in_names, n_in);
    }
    value_info(b, GRAPH_INPUT, "input", DT_FLOAT, n_in,
               m->in_names && !cols.failed ? cols.p : "the model's input columns, as read");
    dsc_text_free(&cols);
    value_info(b, GRAPH_OUTPUT, "output", DT_FLOAT, n_out,
               m->n_classes ? "one score per class, in the order of the classes metadata"
                            : "the predictions, in the target's own units");
    if (m->n_classes) value_info(b, GRAPH_OUTPUT, "label", DT_STRING, 1, "the class of each row");
    pb_end(b, g);
}

dsc_status dsc_model_export_onnx(const dsc_model *m, const char *path, const dsc_export_options *o,
                                 dsc_export_report *r)
{
    dsc_export_report local;
    if (!r) r = &local;
    memset(r, 0, sizeof *r);
    r->accuracy = r->float_accuracy = r->mse = r->float_mse = r->max_abs_diff = r->mean_abs_diff =
        NAN;
    if (!m || !path || !*path) return dsc_fail(DSC_EINVAL, "dsc_model_export_onnx: NULL argument");
    if (o && o->weights != DSC_EXPORT_FLOAT)
        return dsc_fail(DSC_EUNSUPPORTED, "an ONNX export has float weights only (int8 is for C)");
    const char *source = o ? o->source : NULL;
    static const dsc_op_id layer_ops[] = {DSC_OP_CONV, DSC_OP_MAXPOOL, DSC_OP_AVGPOOL,
                                          DSC_OP_FLATTEN};
    for (size_t i = 0; i < DSC_COUNT_OF(layer_ops); i++)
        if (!dsc_ops[layer_ops[i]]->out.onnx)
            return dsc_fail(DSC_EUNSUPPORTED, "the op %s has no ONNX operator",
                            dsc_ops[layer_ops[i]]->name);
    for (size_t k = 0; k < m->n_layers; k++) {
        const dsc_op_def *a = dsc_activation_op(m->act[k]);
        if (!a || (m->act[k] != DSC_ACT_IDENTITY && !a->out.onnx))
            return dsc_fail(DSC_EUNSUPPORTED, "layer %zu: the activation %s has no ONNX operator",
                            k + 1, a ? a->name : "?");
    }

    pb_buf b = {0};
    dsc_text doc = {0}, json = {0};
    pb_varint(&b, MODEL_IR_VERSION, ONNX_IR_VERSION);
    size_t op = pb_begin(&b, MODEL_OPSET_IMPORT);
    pb_string(&b, OPSET_DOMAIN, "");
    pb_varint(&b, OPSET_VERSION, ONNX_OPSET);
    pb_end(&b, op);
    pb_string(&b, MODEL_PRODUCER_NAME, "descent");
    pb_string(&b, MODEL_PRODUCER_VERSION, dsc_version());
    put_graph(&b, m, source, &doc);
    pb_string(&b, MODEL_DOC_STRING, doc.failed ? "" : doc.p);

    meta(&b, "descent_spec", m->spec);
    if (m->n_classes) {
        json_array(&json, m->classes, m->n_classes);
        meta(&b, "classes", json.failed ? "" : json.p);
        dsc_text_free(&json);
    }
    if (m->in_names) {
        json_array(&json, m->in_names, m->units[0]);
        meta(&b, "input_names", json.failed ? "" : json.p);
        dsc_text_free(&json);
    }
    if (m->target) meta(&b, "target", m->target);
    meta(&b, "standardized", m->x_mean ? (m->y_mean ? "inputs and targets" : "inputs") : "no");

    dsc_status s = DSC_OK;
    if (b.failed || doc.failed || json.failed)
        s = dsc_fail(DSC_ENOMEM, "out of memory writing the ONNX export of %s", m->spec);
    else if (b.n > 2147483647u)
        s = dsc_fail(DSC_EUNSUPPORTED,
                     "the ONNX export of %s would be %zu bytes: protobuf files stop at 2 GiB "
                     "(external data is not written)",
                     m->spec, b.n);
    else
        s = dsc_write_file_atomic(path, b.p, b.n);
    if (!s) {
        size_t w = 0, bias = 0;
        for (size_t k = 0; k < m->n_layers; k++) {
            w += m->arch->n_w[k];
            bias += m->arch->n_b[k];
        }
        r->weight_bytes = r->float_weight_bytes = w * sizeof(float);
        r->param_bytes = r->float_param_bytes = (w + bias) * sizeof(float);
    }
    pb_free(&b);
    dsc_text_free(&doc);
    dsc_text_free(&json);
    return s;
}
