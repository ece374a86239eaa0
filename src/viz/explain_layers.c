/* The chain rule for one weight of a network with convolutions, with
 * numbers. A filter's weight multiplies an input at every position the
 * filter visits, so its derivative is a sum over points and positions of
 * (what backpropagation brings to the filter's output there) x (the input
 * under the weight there). The first factor is read from the engine's own
 * backward pass on the model's graph (the gradient of the conv node's
 * output), the second from its forward pass; the explanation multiplies
 * and adds them in double and compares the total with backpropagation's.
 * The formulas are the op table's. Numbers never depend on the locale. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../data/data.h"
#include "../graph/graph_internal.h"
#include "../nn/nn.h"
#include "explain.h"

/* Terms listed per point; beyond, the count and the sum. */
#define LISTED 6
/* Parameters explained at once. */
#define MAX_NAMES 8

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} text;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
add(text *t, const char *fmt, ...)
{
    if (t->failed) return;
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        t->failed = 1;
        return;
    }
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4096;
        while (cap < t->len + (size_t)n + 1) cap *= 2;
        char *p = dsc_realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p, t->cap = cap;
    }
    memcpy(t->p + t->len, tmp, (size_t)n + 1);
    t->len += (size_t)n;
}

/* A number for text (4 significant digits) or JSON (10, null when not
 * finite), through the locale-independent formatter. */
typedef struct {
    char s[40];
} num;

static num fmt(double v, int digits)
{
    num r;
    if (!isfinite(v)) {
        snprintf(r.s, sizeof r.s, digits > 6 ? "null" : isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return r;
    }
    char buf[40];
    dsc_format_float(buf, sizeof buf, digits > 6 ? v : (double)(float)v);
    if (digits <= 6) { /* round to 4 significant digits for reading */
        double a = fabs(v);
        if (a > 0 && a < 1e15 && a >= 1e-4) {
            int e = (int)floor(log10(a));
            double q = pow(10.0, 3 - e), w = round(v * q) / q;
            dsc_format_float(buf, sizeof buf, (double)(float)w);
        }
    }
    snprintf(r.s, sizeof r.s, "%s", buf);
    return r;
}
#define N4(v) (fmt((v), 4).s)
#define NJ(v) (fmt((v), 10).s)

/* The graph node of parameter offset off (a layer's weight or bias). */
static dsc_node param_node(const dsc_graph *g, size_t off)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == DSC_OP_PARAM && g->nodes[i].param_off == off) return (dsc_node)i;
    return -1;
}

/* The node that consumes parameter node p through input slot `slot`
 * (conv: 1 weight, 2 bias; dense: matmul 1, add 1). */
static dsc_node user_of(const dsc_graph *g, dsc_node p, dsc_op_id op, int slot)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == op && g->nodes[i].n_in > slot && g->nodes[i].in[slot] == p)
            return (dsc_node)i;
    return -1;
}

typedef struct {
    size_t idx, layer;
    int bias;
    char name[24];
    double total, bp;
    double point[DSC_EXPLAIN_MAX_ROWS];
    size_t terms; /* per point */
} pexp;

/* "oy x 2 - 1": where an output position reads, for a stride and an offset. */
static void index_text(char *buf, size_t size, const char *v, size_t stride, long off)
{
    int n = stride > 1 ? snprintf(buf, size, "%s x %zu", v, stride) : snprintf(buf, size, "%s", v);
    if (n > 0 && (size_t)n < size && off)
        snprintf(buf + n, size - (size_t)n, " %c %ld", off < 0 ? '-' : '+', off < 0 ? -off : off);
}

/* A list of numbers as a sum: "0.1 - 0.2 + 0.3". */
static void add_sum(text *t, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add(t, "%s%s", i ? (v[i] < 0 ? " - " : " + ") : "", N4(i && v[i] < 0 ? -v[i] : v[i]));
}

/* One parameter of a convolution: sum over points and positions of dz x
 * the input under it. */
static void explain_conv(text *t, const dsc_model *m, const dsc_graph *g, size_t rows, pexp *e,
                         int json)
{
    const dsc_layer *l = &m->layer[e->layer];
    dsc_node wp = param_node(g, m->w_off[e->layer]);
    dsc_node cn = user_of(g, wp, DSC_OP_CONV, 1);
    const dsc_gnode *c = &g->nodes[cn], *x = &g->nodes[c->in[0]];
    size_t K = l->in_dims[0] * l->kh * l->kw, F = l->size;
    size_t C = l->in_dims[0], H = l->in_rank == 3 ? l->in_dims[1] : 1;
    size_t W = l->in_rank == 3 ? l->in_dims[2] : l->in_dims[1];
    size_t OH = l->out_rank == 3 ? l->out_dims[1] : 1,
           OW = l->out_rank == 3 ? l->out_dims[2] : l->out_dims[1];
    size_t f, ch = 0, ky = 0, kx = 0;
    if (e->bias) {
        f = e->idx - m->b_off[e->layer];
    } else {
        size_t o = e->idx - m->w_off[e->layer];
        f = o / K, ch = o % K / (l->kh * l->kw), ky = o % (l->kh * l->kw) / l->kw, kx = o % l->kw;
    }
    dsc_op_text ot = dsc_graph_op_text(g, cn);
    if (!json) {
        add(t, "d%s/d%s: ", "Loss", e->name);
        if (e->bias)
            add(t,
                "%s is the bias of filter %zu in layer %zu (%s): it adds to that filter's "
                "output z at every position.\n",
                e->name, f + 1, e->layer + 1, ot.name);
        else
            add(t,
                "%s is the weight at channel %zu, row %zu, column %zu of filter %zu in layer %zu "
                "(%s, %zu x %zu, stride %zu, padding %zu): it multiplies the input under that "
                "place of the filter at every position the filter visits.\n",
                e->name, ch + 1, ky + 1, kx + 1, f + 1, e->layer + 1, ot.name, l->kh, l->kw, l->sw,
                l->pw);
        add(t, "  the layer: %s\n  its local derivative: %s\n", ot.formula, ot.derivative);
        if (e->bias)
            add(t, "  so dLoss/d%s = sum over points and positions of dLoss/dz%zu[oy][ox] x 1\n",
                e->name, f + 1);
        else {
            char iy[48], ix[48];
            index_text(iy, sizeof iy, "oy", l->sh, (long)ky - (long)l->ph);
            index_text(ix, sizeof ix, "ox", l->sw, (long)kx - (long)l->pw);
            add(t,
                "  so dLoss/d%s = sum over points and positions (oy, ox) of dLoss/dz%zu[oy][ox] x "
                "input%zu[%s][%s]\n",
                e->name, f + 1, ch + 1, iy, ix);
        }
        add(t, "  (dLoss/dz: what backpropagation brings back to the filter's output, through "
               "the layers after it; positions where the weight falls on padding add 0)\n");
    }
    const float *dz = c->grad.data, *xv = x->val.data;
    e->total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double sum = 0.0;
        size_t listed = 0, terms = 0, zeros = 0;
        if (!json) add(t, "  point %zu:", r + 1);
        for (size_t oy = 0; oy < OH; oy++)
            for (size_t ox = 0; ox < OW; ox++) {
                double gz = dz[((r * F + f) * OH + oy) * OW + ox], in = 1.0;
                if (!e->bias) {
                    long iy = (long)(oy * l->sh + ky) - (long)l->ph;
                    long ix = (long)(ox * l->sw + kx) - (long)l->pw;
                    if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                    in = xv[((r * C + ch) * H + (size_t)iy) * W + (size_t)ix];
                }
                double term = gz * in;
                sum += term;
                terms++;
                zeros += term == 0.0;
                /* the terms that count: a ReLU or a pool sends most back as 0 */
                if (!json && listed < LISTED && term != 0.0) {
                    if (e->bias)
                        add(t, "%s (%zu,%zu) %s", listed ? " +" : "", oy, ox, N4(gz));
                    else
                        add(t, "%s (%zu,%zu) %s x %s", listed ? " +" : "", oy, ox, N4(gz), N4(in));
                    listed++;
                }
            }
        if (!json) {
            if (terms > listed)
                add(t, "%s (%zu positions in all, %zu of them 0)", listed ? " + ..." : "", terms,
                    zeros);
            add(t, " = %s\n", N4(sum));
        }
        e->point[r] = sum;
        e->total += sum;
        e->terms = terms;
    }
}

/* One parameter of a dense layer: a sum over points of dz x its input. */
static void explain_dense(text *t, const dsc_model *m, const dsc_graph *g, size_t rows, pexp *e,
                          int json)
{
    size_t k = e->layer, in = m->units[k], out = m->units[k + 1];
    dsc_node bp = param_node(g, m->b_off[k]);
    dsc_node zn = user_of(g, bp, DSC_OP_ADD, 1);
    const dsc_gnode *z = &g->nodes[zn], *mm = &g->nodes[z->in[0]], *h = &g->nodes[mm->in[0]];
    size_t i, j = 0;
    if (e->bias) {
        i = e->idx - m->b_off[k];
    } else {
        i = (e->idx - m->w_off[k]) / in, j = (e->idx - m->w_off[k]) % in;
    }
    if (!json)
        add(t,
            "d%s/d%s: %s %s unit %zu of layer %zu (dense, %zu units%s): dLoss/d%s = sum over "
            "points of dLoss/dz%zu.%zu x %s\n",
            "Loss", e->name, e->name, e->bias ? "is the bias of" : "feeds", i + 1, k + 1, out,
            m->layer[k].in_rank > 1 ? ", its input flattened" : "", e->name, k + 1, i + 1,
            e->bias ? "1" : "its input");
    e->total = 0.0;
    e->terms = 1;
    for (size_t r = 0; r < rows; r++) {
        double gz = z->grad.data[r * out + i], x = e->bias ? 1.0 : h->val.data[r * in + j];
        e->point[r] = gz * x;
        e->total += gz * x;
        if (!json) add(t, "  point %zu: %s x %s = %s\n", r + 1, N4(gz), N4(x), N4(gz * x));
    }
}

dsc_status dsc_explain_layers(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                              const char *params, int json, char **out, double *max_diff)
{
    size_t rows = dsc_dataset_rows(d);
    if (!params || !*params)
        return dsc_fail(DSC_EINVAL,
                        "explain: the network %s has convolutions or pools: name the parameters "
                        "to explain (--param w5,b1; at most %d), each a sum over the positions "
                        "its filter visits",
                        m->spec, MAX_NAMES);
    pexp *e = dsc_calloc(MAX_NAMES, sizeof *e);
    if (!e) return dsc_fail(DSC_ENOMEM, "out of memory for an explanation");
    size_t n = 0;
    dsc_status s = DSC_OK;
    for (const char *p = params; *p && !s;) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ') len--;
        char name[24];
        if (len >= sizeof name || n == MAX_NAMES) {
            s = dsc_fail(DSC_EINVAL, "explain: at most %d parameter names, each a scalar (w5, b1)",
                         MAX_NAMES);
            break;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        size_t first, count;
        if ((s = dsc_model_find(m, name, &first, &count))) break;
        if (count != 1) {
            s = dsc_fail(DSC_EINVAL, "explain: '%s' names %zu values; name scalars (w5, b1)", name,
                         count);
            break;
        }
        pexp *x = &e[n++];
        x->idx = first;
        snprintf(x->name, sizeof x->name, "%s", name);
        for (size_t k = 0; k < m->n_layers; k++)
            if (first >= m->w_off[k] && first < m->b_off[k] + m->arch->n_b[k])
                x->layer = k, x->bias = first >= m->b_off[k];
        p += strcspn(p, ",");
    }
    dsc_dataset *copy = NULL;
    const dsc_dataset *use = d;
    dsc_mlp_graph mg = {0};
    text t = {0};
    if (!s && !(s = dsc_model_prepare_data(m, d, &copy, &use)) &&
        !(s = dsc_mlp_graph_build(m, 1, loss, rows, 0, &mg))) {
        const float *xv = dsc_dataset_float_x(use);
        if (!xv)
            s = dsc_fail(DSC_ENOMEM, "out of memory for an explanation");
        else if (!(s = dsc_graph_bind(mg.g, mg.x, xv)) &&
                 !(s = dsc_graph_bind(mg.g, mg.y, use->y)) &&
                 !(s = dsc_graph_set_batch(mg.g, rows)) && !(s = dsc_graph_forward(mg.g)))
            s = dsc_graph_backward(mg.g, mg.loss);
    }
    double worst = 0.0;
    if (!s) {
        if (json)
            add(&t, "{\"loss\": \"%s\", \"network\": \"%s\", \"params\": {", dsc_loss_name(loss),
                m->spec);
        else
            add(&t,
                "dLoss/dparam for the network %s on %zu point%s, by the chain rule (loss %s).\n\n",
                m->spec, rows, rows == 1 ? "" : "s", dsc_loss_name(loss));
        for (size_t q = 0; q < n; q++) {
            pexp *x = &e[q];
            if (m->layer[x->layer].kind == DSC_LAYER_CONV)
                explain_conv(&t, m, mg.g, rows, x, json);
            else
                explain_dense(&t, m, mg.g, rows, x, json);
            x->bp = dsc_graph_grads(mg.g)[x->idx];
            double diff = fabs(x->total - x->bp) / fmax(1.0, fabs(x->bp));
            if (!(diff <= worst)) worst = diff;
            if (json) {
                add(&t,
                    "%s\"%s\": {\"total\": %s, \"backprop\": %s, \"positions\": %zu, \"points\": [",
                    q ? ", " : "", x->name, NJ(x->total), NJ(x->bp), x->terms);
                for (size_t r = 0; r < rows; r++) add(&t, "%s%s", r ? ", " : "", NJ(x->point[r]));
                add(&t, "]}");
            } else {
                add(&t, "  dLoss/d%s = ", x->name);
                if (rows > 1 && rows <= 8) {
                    add_sum(&t, x->point, rows);
                    add(&t, " = ");
                }
                add(&t, "%s   (backpropagation gives %s)\n\n", fmt(x->total, 10).s,
                    fmt(x->bp, 10).s);
            }
        }
        if (json)
            add(&t, "}, \"max_diff\": %s}\n", NJ(worst));
        else
            add(&t,
                "Largest difference from backpropagation: %s (relative; ~1e-7 is float "
                "rounding)\n",
                N4(worst));
        if (t.failed) s = dsc_fail(DSC_ENOMEM, "out of memory for the explanation text");
    }
    dsc_mlp_graph_free(&mg);
    dsc_dataset_free(copy);
    dsc_free(e);
    if (s) {
        dsc_free(t.p);
        return s;
    }
    *out = t.p;
    if (max_diff) *max_diff = worst;
    return DSC_OK;
}
