/* The network itself, drawn as the seed draws it: the input on the left,
 * an edge per weight with its value, each hidden unit with its activation
 * and bias, the output's sum with its bias, and the output named after the
 * data's target. One hidden layer, one input, one output (the seed's
 * networks); wider networks than DIAGRAM_MAX_UNITS are left undrawn. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plots_internal.h"

#define DIAGRAM_MAX_UNITS 12

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} dbuf;

static void put(dbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
        char *p = dsc_realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
}

/* Text for an SVG text node or attribute. */
static void put_text(dbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '&': put(b, "&amp;"); break;
        case '"': put(b, "&quot;"); break;
        default: put(b, "%c", *s);
        }
    }
}

static void text_at(dbuf *b, double x, double y, const char *anchor, const char *style,
                    const char *color, const char *text)
{
    put(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\"%s%s>", x, y, anchor, color,
        style[0] ? " " : "", style);
    put_text(b, text);
    put(b, "</text>\n");
}

static void node(dbuf *b, double x, double y, double r, const char *label)
{
    put(b,
        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"white\" stroke=\"#222222\" "
        "stroke-width=\"1.5\"/>\n",
        x, y, r);
    text_at(b, x, y + 4, "middle", "font-size=\"12\"", "#222222", label);
}

static void edge_label(dbuf *b, double x1, double y1, double x2, double y2, const char *color,
                       const char *text)
{
    double mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    double deg = atan2(y2 - y1, x2 - x1) * 180 / 3.14159265358979;
    put(b,
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\" font-weight=\"bold\" "
        "transform=\"rotate(%.2f %.1f %.1f)\">",
        mx, my - 6, color, deg, mx, my);
    put_text(b, text);
    put(b, "</text>\n");
}

/* "name = value" with value at about 3 significant digits. */
static void named_value(char *buf, size_t size, const char *prefix, const char *name, double v)
{
    char vb[32];
    dsc_plot_fmt(vb, sizeof vb, v);
    snprintf(buf, size, "%s%s = %s", prefix, name, vb);
}

dsc_status dsc_plot_diagram_svg(const dsc_model *m, const dsc_dataset *d, char **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_plot_diagram_svg: NULL output");
    *out = NULL;
    if (!m) return dsc_fail(DSC_EINVAL, "dsc_plot_diagram_svg: NULL model");
    if (dsc_model_inputs(m) != 1 || dsc_model_outputs(m) != 1 || dsc_model_layers(m) != 2)
        return dsc_fail(DSC_EUNSUPPORTED,
                        "the network drawing shows one input, one hidden layer and one output; "
                        "%s is not that",
                        dsc_model_spec(m));
    size_t h = dsc_model_layer_units(m, 0), i_w1, i_b1, i_w2, i_b2, c;
    if (h > DIAGRAM_MAX_UNITS)
        return dsc_fail(DSC_EUNSUPPORTED,
                        "the network drawing shows at most %d hidden units; %s has %zu",
                        DIAGRAM_MAX_UNITS, dsc_model_spec(m), h);
    dsc_status s;
    if ((s = dsc_model_find(m, "layer1.weight", &i_w1, &c)) ||
        (s = dsc_model_find(m, "layer1.bias", &i_b1, &c)) ||
        (s = dsc_model_find(m, "layer2.weight", &i_w2, &c)) ||
        (s = dsc_model_find(m, "layer2.bias", &i_b2, &c)))
        return s;
    const float *p = dsc_model_params_const(m);
    const char *xn = d && dsc_dataset_input_name(d, 0) ? dsc_dataset_input_name(d, 0) : "input";
    const char *yn = d && dsc_dataset_output_name(d, 0) ? dsc_dataset_output_name(d, 0) : "output";
    dsc_activation hid = dsc_model_layer_activation(m, 0), outa = dsc_model_layer_activation(m, 1);

    const double row = 110, top = 70;
    double H = top + row * (double)h + 70;
    double xi = 90, xh = 370, xs = 620, r = 30, ymid = top + row * (double)h / 2;
    double xo_end = xs + r + (outa != DSC_ACT_IDENTITY ? 74 : 0);
    size_t yl = strlen(yn) > 11 ? strlen(yn) : 11;
    double W = fmax(760, xo_end + 30 + 7.5 * (double)yl + 20);
    dbuf b = {0};
    put(&b,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
        "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
        "font-size=\"12\">\n",
        W, H, W, H);
    char buf[256];
    snprintf(buf, sizeof buf, "The network %s, with its weights", dsc_model_spec(m));
    put(&b, "<title>");
    put_text(&b, buf);
    put(&b, "</title>\n<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    text_at(&b, W / 2, 26, "middle", "font-size=\"16\" font-weight=\"bold\"", "#222222", buf);
    snprintf(buf, sizeof buf,
             "Each unit: %s(weight × %s + bias); the output: the units times their weights, "
             "summed, plus the bias",
             dsc_activation_name(hid), xn);
    text_at(&b, W / 2, 46, "middle", "", "#555555", buf);
    put(&b, "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
            "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0L10 5L0 10Z\" "
            "fill=\"#222222\"/></marker></defs>\n");
    static const char *const colors[] = {"#0072B2", "#D55E00", "#009E73",
                                         "#CC79A7", "#E69F00", "#56B4E9"};
    for (size_t j = 0; j < h; j++) {
        double y = top + row * ((double)j + 0.5);
        const char *col = colors[j % 6];
        /* The two edges of unit j, each labelled with its weight. */
        put(&b,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n",
            xi + r, ymid, xh - r, y, col);
        put(&b,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n",
            xh + r, y, xs - r, ymid, col);
        /* Each weight written along its edge, just above it. */
        named_value(buf, sizeof buf, "× ", dsc_model_param_name(m, i_w1 + j), p[i_w1 + j]);
        edge_label(&b, xi + r, ymid, xh - r, y, col, buf);
        named_value(buf, sizeof buf, "× ", dsc_model_param_name(m, i_w2 + j), p[i_w2 + j]);
        edge_label(&b, xh + r, y, xs - r, ymid, col, buf);
        node(&b, xh, y, r, dsc_activation_name(hid));
        named_value(buf, sizeof buf, "+ ", dsc_model_param_name(m, i_b1 + j), p[i_b1 + j]);
        text_at(&b, xh, y + r + 16, "middle", "", "#555555", buf);
    }
    node(&b, xi, ymid, r, xn);
    text_at(&b, xi, ymid + r + 16, "middle", "", "#555555", "input");
    node(&b, xs, ymid, r, "Σ");
    named_value(buf, sizeof buf, "+ ", dsc_model_param_name(m, i_b2), p[i_b2]);
    text_at(&b, xs, ymid + r + 16, "middle", "", "#555555", buf);
    double xo = xs + r;
    if (outa != DSC_ACT_IDENTITY) {
        /* The output's own activation, as the seed's ReLU network has. */
        snprintf(buf, sizeof buf, "%s", dsc_activation_name(outa));
        put(&b,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222222\" "
            "stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>\n",
            xo, ymid, xo + 22, ymid);
        put(&b,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"50\" height=\"26\" rx=\"4\" fill=\"white\" "
            "stroke=\"#222222\" stroke-width=\"1.5\"/>\n",
            xo + 24, ymid - 13);
        text_at(&b, xo + 49, ymid + 4, "middle", "", "#222222", buf);
        xo += 74;
    }
    put(&b,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222222\" "
        "stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>\n",
        xo, ymid, xo + 26, ymid);
    text_at(&b, xo + 30, ymid - 8, "start", "", "#222222", yn);
    text_at(&b, xo + 30, ymid + 8, "start", "", "#555555", "(predicted)");
    put(&b, "</svg>\n");
    if (b.failed) {
        dsc_free(b.s);
        return dsc_fail(DSC_ENOMEM, "out of memory for the network drawing");
    }
    *out = b.s;
    return DSC_OK;
}
