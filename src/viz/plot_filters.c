/* A picture of what a convolutional network's first layer learned: its
 * filters (each weight a cell, blue below 0, red above, white at 0, on one
 * scale for the whole layer) and, for one input row, the image and the
 * feature maps the filters make of it (after the activation; grey, each
 * map on its own scale). Plain SVG written here: rectangles and text. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../data/data.h"
#include "../graph/graph_internal.h"
#include "../io/outfile.h"
#include "../nn/nn.h"
#include "plots.h"
#include "svg.h"

#define MAX_FILTERS  64 /* drawn; a larger layer shows its first 64 */
#define MAX_CHANNELS 4
#define CELL_MAX     14.0 /* pixels per weight cell */
#define MAP_PX       84.0 /* a feature map's side */
#define PAD          12.0

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} buf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
out(buf *b, const char *fmt, ...)
{
    if (b->failed) return;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->failed = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 65536;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *p = dsc_realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, tmp, (size_t)n + 1);
    b->len += (size_t)n;
}

/* Text for an SVG attribute or element: <, >, & and quotes escaped. */
static void out_text(buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': out(b, "&lt;"); break;
        case '>': out(b, "&gt;"); break;
        case '&': out(b, "&amp;"); break;
        case '"': out(b, "&quot;"); break;
        default: out(b, "%c", *s);
        }
    }
}

/* Pixel coordinates with one decimal, written without the locale. */
static void out_num(buf *b, double v)
{
    char s[32];
    dsc_format_fixed(s, sizeof s, v, 1);
    out(b, "%s", s);
}

static void rect(buf *b, double x, double y, double w, double h, int r, int g, int bl)
{
    out(b, "<rect x=\"");
    out_num(b, x);
    out(b, "\" y=\"");
    out_num(b, y);
    out(b, "\" width=\"");
    out_num(b, w);
    out(b, "\" height=\"");
    out_num(b, h);
    out(b, "\" fill=\"#%02x%02x%02x\"/>\n", r, g, bl);
}

static void label(buf *b, double x, double y, int size, const char *s)
{
    out(b, "<text x=\"");
    out_num(b, x);
    out(b, "\" y=\"");
    out_num(b, y);
    out(b, "\" font-family=\"sans-serif\" font-size=\"%d\">", size);
    out_text(b, s);
    out(b, "</text>\n");
}

/* v in [-a, a] as blue (negative), white (0), red (positive). */
static void diverging(double v, double a, int *r, int *g, int *bl)
{
    double t = a > 0 ? v / a : 0;
    if (!(t >= -1)) t = -1; /* also NaN */
    if (t > 1) t = 1;
    int fade = (int)lround(255 * (1 - fabs(t)));
    if (t >= 0)
        *r = 220, *g = 40 + (fade * 215) / 255, *bl = 40 + (fade * 215) / 255;
    else
        *r = 40 + (fade * 215) / 255, *g = 40 + (fade * 215) / 255, *bl = 220;
}

/* An h x w map as grey cells, black at its smallest value, white at its
 * largest. */
static void grey_map(buf *b, const float *v, size_t h, size_t w, double x0, double y0, double side)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < h * w; i++)
        if (isfinite(v[i])) lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
    double cw = side / (double)(w > h ? w : h);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            double t = hi > lo && isfinite(v[y * w + x]) ? (v[y * w + x] - lo) / (hi - lo) : 0;
            int gl = (int)lround(255 * t);
            rect(b, x0 + (double)x * cw, y0 + (double)y * cw, cw + 0.05, cw + 0.05, gl, gl, gl);
        }
}

/* The first convolution: its layer index, or -1. */
static long first_conv(const dsc_model *m)
{
    for (size_t k = 0; k < m->n_layers; k++)
        if (m->layer[k].kind == DSC_LAYER_CONV) return (long)k;
    return -1;
}

/* The feature maps of layer k for one row, from the model's own graph (the
 * activation's output). maps holds F x OH x OW floats. */
static dsc_status feature_maps(const dsc_model *m, size_t k, const float *row, float div,
                               float *maps)
{
    dsc_mlp_graph mg;
    dsc_status s = dsc_mlp_graph_build(m, 0, DSC_LOSS_MSE, 1, DSC_COMPILE_NO_GRAD, &mg);
    if (s) return s;
    float *x = dsc_malloc(m->units[0] * sizeof(float));
    if (!x) {
        dsc_mlp_graph_free(&mg);
        return dsc_fail(DSC_ENOMEM, "out of memory for a picture");
    }
    memcpy(x, row, m->units[0] * sizeof(float));
    dsc_model_transform_inputs(m, div, x, 1);
    if (!(s = dsc_graph_bind(mg.g, mg.x, x)) && !(s = dsc_graph_forward(mg.g))) {
        const dsc_graph *g = mg.g;
        dsc_node conv = -1, act = -1;
        for (size_t i = 0; i < g->n_nodes; i++) {
            const dsc_gnode *n = &g->nodes[i];
            if (n->op == DSC_OP_CONV && g->nodes[n->in[1]].param_off == m->w_off[k])
                conv = (dsc_node)i;
            if (conv >= 0 && n->def->kind == DSC_OPK_ACT && n->in[0] == conv) act = (dsc_node)i;
        }
        if (act < 0)
            s = dsc_fail(DSC_EINVAL, "filters picture: layer %zu has no activation node", k + 1);
        else
            memcpy(maps, g->nodes[act].val.data, m->units[k + 1] * sizeof(float));
    }
    dsc_free(x);
    dsc_mlp_graph_free(&mg);
    return s;
}

static dsc_status draw(const char *path, const dsc_model *m, const float *row, float div,
                       const char *row_label);

dsc_status dsc_plot_filters(const char *path, const dsc_model *m, const dsc_dataset *d, size_t row)
{
    if (!path || !m) return dsc_fail(DSC_EINVAL, "dsc_plot_filters: NULL argument");
    if (!d) return draw(path, m, NULL, 1.0f, NULL);
    if (d->n_in != m->units[0])
        return dsc_fail(DSC_EINVAL, "filters picture: the data has %zu inputs, the model %zu",
                        d->n_in, m->units[0]);
    if (row >= d->n) return dsc_fail(DSC_EINVAL, "filters picture: row %zu of %zu", row + 1, d->n);
    float *x = dsc_malloc(d->n_in * sizeof(float));
    if (!x) return dsc_fail(DSC_ENOMEM, "out of memory for a picture");
    dsc_dataset_copy_x(d, row, 1, x);
    char name[48];
    snprintf(name, sizeof name, "row %zu", row + 1);
    dsc_status s = draw(path, m, x, dsc_model_divisor_for(m, d), name);
    dsc_free(x);
    return s;
}

static dsc_status draw(const char *path, const dsc_model *m, const float *row, float div,
                       const char *row_label)
{
    long k = first_conv(m);
    if (k < 0)
        return dsc_fail(DSC_EINVAL, "the filters picture needs a convolution; %s has none",
                        m->spec);
    const dsc_layer *l = &m->layer[k];
    size_t F = l->size, C = l->in_dims[0], KH = l->kh, KW = l->kw;
    size_t nf = F < MAX_FILTERS ? F : MAX_FILTERS, nc = C < MAX_CHANNELS ? C : MAX_CHANNELS;
    size_t OH = l->out_rank == 3 ? l->out_dims[1] : 1;
    size_t OW = l->out_rank == 3 ? l->out_dims[2] : l->out_dims[1];
    size_t H = l->in_rank == 3 ? l->in_dims[1] : 1,
           W = l->in_rank == 3 ? l->in_dims[2] : l->in_dims[1];
    float *maps = NULL;
    if (row && !(maps = dsc_malloc(m->units[k + 1] * sizeof(float))))
        return dsc_fail(DSC_ENOMEM, "out of memory for a picture");
    dsc_status s = row ? feature_maps(m, (size_t)k, row, div, maps) : DSC_OK;
    if (s) {
        dsc_free(maps);
        return s;
    }
    /* Layout: a grid of filters, 8 to a row; under it the input and the maps. */
    double cell = fmin(CELL_MAX, 72.0 / (double)(KH > KW ? KH : KW));
    double fw = (double)KW * cell, fh = (double)KH * cell;
    double tile_w = (double)nc * (fw + 4) + PAD, tile_h = fh + 18;
    size_t per_row = 8, frows = (nf + per_row - 1) / per_row;
    double width = fmax(PAD + (double)per_row * tile_w, PAD + 9.0 * (MAP_PX + PAD)) + PAD;
    double top_maps = 60 + (double)frows * tile_h + 30;
    size_t mrows = row ? (nf + 1 + 7) / 8 : 0;
    double height = row ? top_maps + 30 + (double)mrows * (MAP_PX + 26) : top_maps;
    buf b = {0};
    out(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out(&b,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
        "%d\" shape-rendering=\"crispEdges\">\n",
        (int)width, (int)height, (int)width, (int)height);
    rect(&b, 0, 0, width, height, 255, 255, 255);
    char t[256];
    snprintf(t, sizeof t, "Layer %ld: %zu filters of %zu x %zu x %zu (%s)%s", k + 1, F, C, KH, KW,
             dsc_activation_name(m->act[k]), nf < F ? ", the first 64" : "");
    label(&b, PAD, 24, 16, t);
    label(&b, PAD, 44, 11,
          "each cell a weight: red above 0, blue below, white at 0 (one scale for the layer)");
    double a = 0;
    const float *w = m->params + m->w_off[k];
    for (size_t i = 0; i < F * C * KH * KW; i++)
        if (isfinite(w[i])) a = fmax(a, fabs(w[i]));
    for (size_t f = 0; f < nf; f++) {
        double x0 = PAD + (double)(f % per_row) * tile_w, y0 = 60 + (double)(f / per_row) * tile_h;
        snprintf(t, sizeof t, "%zu", f + 1);
        label(&b, x0, y0 + 10, 10, t);
        for (size_t c = 0; c < nc; c++)
            for (size_t ky = 0; ky < KH; ky++)
                for (size_t kx = 0; kx < KW; kx++) {
                    int r, g, bl;
                    diverging(w[((f * C + c) * KH + ky) * KW + kx], a, &r, &g, &bl);
                    rect(&b, x0 + (double)c * (fw + 4) + (double)kx * cell,
                         y0 + 14 + (double)ky * cell, cell, cell, r, g, bl);
                }
    }
    if (row) {
        snprintf(t, sizeof t, "Feature maps of %s (after %s), each on its own grey scale",
                 row_label ? row_label : "one input", dsc_activation_name(m->act[k]));
        label(&b, PAD, top_maps, 16, t);
        double y0 = top_maps + 16;
        label(&b, PAD, y0 + 12, 10, "input");
        float *in = dsc_malloc(H * W * sizeof(float));
        if (in) {
            memcpy(in, row, H * W * sizeof(float)); /* channel 1 */
            grey_map(&b, in, H, W, PAD, y0 + 16, MAP_PX);
            dsc_free(in);
        } else {
            b.failed = 1;
        }
        for (size_t f = 0; f < nf; f++) {
            size_t slot = f + 1;
            double x0 = PAD + (double)(slot % 8) * (MAP_PX + PAD);
            double yy = y0 + (double)(slot / 8) * (MAP_PX + 26);
            snprintf(t, sizeof t, "filter %zu", f + 1);
            label(&b, x0, yy + 12, 10, t);
            grey_map(&b, maps + f * OH * OW, OH, OW, x0, yy + 16, MAP_PX);
        }
    }
    out(&b, "</svg>\n");
    dsc_free(maps);
    if (b.failed) {
        dsc_free(b.p);
        return dsc_fail(DSC_ENOMEM, "out of memory for a picture");
    }
    /* written whole to a temporary file and renamed into place */
    s = dsc_write_file_atomic(path, b.p, b.len);
    dsc_free(b.p);
    return s;
}
