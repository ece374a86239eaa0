/* Model spec strings: a stack of layers, parsed into shapes and parameter
 * counts before anything is allocated, and written back in canonical form.
 *
 *   spec   := input SEP layer (SEP layer)*        SEP is "->" or ","
 *   input  := N | CxL | CxHxW                     features, a signal, an image
 *   layer  := N:ACT                               dense (flattens its input)
 *           | convF@K[xK][sS][pP][:ACT]           F filters of K (x K), stride S, padding P
 *           | maxpoolP[sS] | avgpoolP[sS]         P (x P) windows, stride S (P)
 *           | flatten
 *
 * On an image a kernel K means K x K (or KHxKW); on a signal it is 1-D and
 * the pools are too. Stride 1 and no padding are the defaults (PyTorch's). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/graph_internal.h"
#include "nn.h"

#define MAX_SIZE 100000000ULL /* any one count: units, filters, a dimension */
/* The most parameters a model file holds: 2 GiB of floats, less room for
 * the rest of the file. */
#define DSC_SPEC_MAX_PARAMS 536870000ULL

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

/* A count from 1 to `max` right here (no space before it). */
static int read_count(spec_reader *r, size_t *out, unsigned long long max)
{
    if (!isdigit((unsigned char)*r->p)) return 0;
    char *end;
    unsigned long long v = strtoull(r->p, &end, 10);
    if (v == 0 || v > max) return 0;
    r->p = end;
    *out = (size_t)v;
    return 1;
}

static int read_act(spec_reader *r, dsc_activation *out)
{
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

static int read_word(spec_reader *r, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(r->p, w, n) != 0) return 0;
    r->p += n;
    return 1;
}

/* ":ACT" after a layer; absent means identity when optional. */
static dsc_status read_layer_act(spec_reader *r, int required, dsc_activation *act)
{
    *act = DSC_ACT_IDENTITY;
    if (*r->p != ':')
        return required ? spec_error(r, "expected ':' and an activation after the units") : DSC_OK;
    r->p++;
    const char *at = r->p;
    if (read_act(r, act)) return DSC_OK;
    char why[256]; /* the lookup's message lists the valid names */
    snprintf(why, sizeof why, "%s", dsc_last_error());
    r->p = at;
    return spec_error(r, why);
}

static size_t flat(int rank, const size_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < rank && k < DSC_MAX_RANK; k++) n *= dims[k];
    return n;
}

/* The input: N, CxL or CxHxW, each at most MAX_SIZE and their product too. */
static dsc_status read_input(spec_reader *r, dsc_spec *s)
{
    skip_space(r);
    s->in_rank = 0;
    do {
        if (s->in_rank == DSC_MAX_RANK) return spec_error(r, "an input has at most 3 dimensions");
        if (!read_count(r, &s->in_dims[s->in_rank], MAX_SIZE))
            return spec_error(r, "expected the number of inputs (N, CxL or CxHxW)");
        s->in_rank++;
    } while (*r->p == 'x' && (r->p++, 1));
    unsigned long long total = 1;
    for (int k = 0; k < s->in_rank; k++) {
        total *= s->in_dims[k];
        if (total > MAX_SIZE) return spec_error(r, "the input has more than 100000000 values");
    }
    return DSC_OK;
}

/* Suffixes "sN" (stride) and "pN" (padding) in any order, each once. */
static dsc_status read_suffixes(spec_reader *r, size_t *stride, size_t *pad, int pad_allowed)
{
    int seen_s = 0, seen_p = 0;
    for (;;) {
        if (*r->p == 's' && !seen_s) {
            r->p++;
            if (!read_count(r, stride, 65536))
                return spec_error(r, "expected a stride (1 to 65536)");
            seen_s = 1;
        } else if (*r->p == 'p' && !seen_p && pad_allowed) {
            r->p++;
            if (!isdigit((unsigned char)*r->p))
                return spec_error(r, "expected a padding (0 to 65536)");
            char *end;
            unsigned long long v = strtoull(r->p, &end, 10);
            if (v > 65536) return spec_error(r, "expected a padding (0 to 65536)");
            r->p = end;
            *pad = (size_t)v;
            seen_p = 1;
        } else {
            return DSC_OK;
        }
    }
}

/* Sets the layer's output shape from its input shape, or says why not. */
static dsc_status layer_shape(spec_reader *r, const char *at, dsc_layer *l)
{
    const char *keep = r->p;
    r->p = at;
    if (l->kind == DSC_LAYER_DENSE || l->kind == DSC_LAYER_FLATTEN) {
        l->out_rank = 1;
        l->out_dims[0] = l->kind == DSC_LAYER_DENSE ? l->size : flat(l->in_rank, l->in_dims);
        r->p = keep;
        return DSC_OK;
    }
    const char *what = l->kind == DSC_LAYER_CONV ? "a convolution" : "a pool";
    int image = l->in_rank == 3;
    size_t H = image ? l->in_dims[1] : 1, W = image ? l->in_dims[2] : l->in_dims[1];
    size_t OH = dsc_window_out(H, l->kh, l->sh, l->ph), OW = dsc_window_out(W, l->kw, l->sw, l->pw);
    if (!OH || !OW) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%s of %zu x %zu (stride %zu, padding %zu) does not fit its %zu x %zu input", what,
                 l->kh, l->kw, l->sw, l->pw, H, W);
        return spec_error(r, msg);
    }
    l->out_rank = l->in_rank;
    l->out_dims[0] = l->kind == DSC_LAYER_CONV ? l->size : l->in_dims[0];
    l->out_dims[1] = image ? OH : OW;
    l->out_dims[2] = image ? OW : 0;
    if ((unsigned long long)flat(l->out_rank, l->out_dims) > MAX_SIZE)
        return spec_error(r, "the layer has more than 100000000 outputs");
    r->p = keep;
    return DSC_OK;
}

/* One layer at r, its input shape already in l. */
static dsc_status read_layer(spec_reader *r, dsc_layer *l, dsc_activation *act)
{
    skip_space(r);
    const char *at = r->p;
    int image = l->in_rank == 3;
    dsc_status s;
    l->kh = l->kw = l->sh = l->sw = 1;
    l->ph = l->pw = 0;
    if (l->in_rank < 2 &&
        (!strncmp(at, "conv", 4) || !strncmp(at, "avgpool", 7) || !strncmp(at, "maxpool", 7))) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "a %s needs an image (CxHxW) or a signal (CxL) before it, not %zu features",
                 at[0] == 'c' ? "convolution" : "pool", l->in_dims[0]);
        return spec_error(r, msg);
    }
    if (read_word(r, "conv")) {
        l->kind = DSC_LAYER_CONV;
        if (!read_count(r, &l->size, MAX_SIZE))
            return spec_error(r, "expected the number of filters");
        if (*r->p != '@') return spec_error(r, "expected '@' and the kernel size (conv32@3x3)");
        r->p++;
        size_t k1, k2;
        if (!read_count(r, &k1, 65536)) return spec_error(r, "expected the kernel size");
        k2 = k1;
        int two = *r->p == 'x';
        if (two && (r->p++, !read_count(r, &k2, 65536)))
            return spec_error(r, "expected the kernel width");
        size_t stride = 1, pad = 0;
        if ((s = read_suffixes(r, &stride, &pad, 1))) return s;
        if (image) {
            l->kh = k1, l->kw = k2, l->sh = l->sw = stride, l->ph = l->pw = pad;
        } else {
            if (two) return spec_error(r, "a signal's kernel is one number (conv8@5)");
            l->kw = k1, l->sw = stride, l->pw = pad;
        }
        if ((s = read_layer_act(r, 0, act))) return s;
    } else if (read_word(r, "maxpool") || read_word(r, "avgpool")) {
        l->kind = at[0] == 'm' ? DSC_LAYER_MAXPOOL : DSC_LAYER_AVGPOOL;
        size_t k, stride = 0, pad = 0;
        if (!read_count(r, &k, 65536)) return spec_error(r, "expected the pool's window size");
        if ((s = read_suffixes(r, &stride, &pad, 0))) return s;
        if (!stride) stride = k;
        l->kw = k, l->sw = stride;
        if (image) l->kh = k, l->sh = stride;
        *act = DSC_ACT_IDENTITY;
    } else if (read_word(r, "flatten")) {
        l->kind = DSC_LAYER_FLATTEN;
        *act = DSC_ACT_IDENTITY;
    } else if (isdigit((unsigned char)*r->p)) {
        l->kind = DSC_LAYER_DENSE;
        if (!read_count(r, &l->size, MAX_SIZE)) return spec_error(r, "expected a number of units");
        if ((s = read_layer_act(r, 1, act))) return s;
    } else {
        return spec_error(r, "expected a layer: UNITS:ACT, convF@K..., maxpoolP, avgpoolP or "
                             "flatten");
    }
    if (isalnum((unsigned char)*r->p)) {
        /* "conv32@3x3z", "64:relu6": something left inside the layer */
        return spec_error(r, "unexpected text in the layer");
    }
    return layer_shape(r, at, l);
}

dsc_status dsc_spec_parse(const char *spec, dsc_spec *out)
{
    memset(out, 0, sizeof *out);
    spec_reader r = {spec, spec};
    dsc_status s = read_input(&r, out);
    if (s) return s;
    if (!read_sep(&r)) return spec_error(&r, "expected '->' after the inputs");
    int rank = out->in_rank;
    size_t dims[DSC_MAX_RANK] = {0};
    memcpy(dims, out->in_dims, sizeof dims);
    out->units[0] = flat(rank, dims);
    for (size_t n = 0;; n++) {
        if (n == DSC_SPEC_MAX_LAYERS) return spec_error(&r, "too many layers (at most 64)");
        dsc_layer *l = &out->layer[n];
        l->in_rank = rank;
        memcpy(l->in_dims, dims, sizeof dims);
        if ((s = read_layer(&r, l, &out->act[n]))) return s;
        rank = l->out_rank;
        memcpy(dims, l->out_dims, sizeof dims);
        out->units[n + 1] = flat(rank, dims);
        /* Parameters: a dense layer's weight is units x its flattened
         * input, a convolution's F x (C KH KW); one bias per unit or
         * filter. */
        size_t in = out->units[n];
        if (l->kind == DSC_LAYER_DENSE) {
            if (in > SIZE_MAX / 4 / l->size) return spec_error(&r, "the layer is too large");
            out->n_w[n] = in * l->size, out->n_b[n] = l->size;
        } else if (l->kind == DSC_LAYER_CONV) {
            size_t k = l->in_dims[0] * l->kh * l->kw;
            if (k > SIZE_MAX / 4 / l->size) return spec_error(&r, "the layer is too large");
            out->n_w[n] = k * l->size, out->n_b[n] = l->size;
        }
        /* A network no model file could hold (docs/FORMAT.md: 2 GiB) is
         * refused before anything is allocated for it. */
        if (out->n_params + out->n_w[n] + out->n_b[n] > DSC_SPEC_MAX_PARAMS)
            return spec_error(&r, "the network has more parameters than a model file can hold "
                                  "(536870000)");
        out->n_params += out->n_w[n] + out->n_b[n];
        out->n_layers = n + 1;
        skip_space(&r);
        if (*r.p == '\0') break;
        if (!read_sep(&r)) return spec_error(&r, "expected '->' or ',' between layers");
    }
    for (size_t k = 0; k + 1 < out->n_layers; k++)
        if (dsc_activation_op(out->act[k])->flags & DSC_OPF_ROWWISE)
            return dsc_fail(DSC_EFORMAT, "model spec '%s': %s is only for the output layer", spec,
                            dsc_activation_name(out->act[k]));
    return DSC_OK;
}

int dsc_spec_is_mlp(const dsc_spec *s)
{
    if (s->in_rank != 1) return 0;
    for (size_t k = 0; k < s->n_layers; k++)
        if (s->layer[k].kind != DSC_LAYER_DENSE) return 0;
    return 1;
}

/* Appends to buf (at *len), never past size; *len counts what would have
 * been written. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, size_t a, size_t b)
{
    int n = snprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, fmt, a, b);
    if (n > 0) *len += (size_t)n;
}

static void put_str(char *buf, size_t size, size_t *len, const char *str)
{
    int n = snprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, "%s", str);
    if (n > 0) *len += (size_t)n;
}

size_t dsc_spec_format(const dsc_spec *s, char *buf, size_t size)
{
    size_t len = 0;
    if (size) buf[0] = '\0';
    put(buf, size, &len, "%zu", s->in_dims[0], 0);
    for (int k = 1; k < s->in_rank; k++) put(buf, size, &len, "x%zu", s->in_dims[k], 0);
    for (size_t k = 0; k < s->n_layers; k++) {
        const dsc_layer *l = &s->layer[k];
        int image = l->in_rank == 3;
        put(buf, size, &len, " -> ", 0, 0);
        switch (l->kind) {
        case DSC_LAYER_DENSE: put(buf, size, &len, "%zu", l->size, 0); break;
        case DSC_LAYER_CONV:
            put(buf, size, &len, "conv%zu@%zu", l->size, image ? l->kh : l->kw);
            if (image) put(buf, size, &len, "x%zu", l->kw, 0);
            if (l->sw != 1) put(buf, size, &len, "s%zu", l->sw, 0);
            if (l->pw != 0) put(buf, size, &len, "p%zu", l->pw, 0);
            break;
        case DSC_LAYER_MAXPOOL:
        case DSC_LAYER_AVGPOOL:
            put(buf, size, &len, l->kind == DSC_LAYER_MAXPOOL ? "maxpool%zu" : "avgpool%zu", l->kw,
                0);
            if (l->sw != l->kw) put(buf, size, &len, "s%zu", l->sw, 0);
            break;
        case DSC_LAYER_FLATTEN: put(buf, size, &len, "flatten", 0, 0); break;
        }
        if (l->kind == DSC_LAYER_DENSE || l->kind == DSC_LAYER_CONV) {
            put_str(buf, size, &len, ":");
            put_str(buf, size, &len, dsc_activation_name(s->act[k]));
        }
    }
    return len;
}
