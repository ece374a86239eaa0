/* The model as dependency-free C99 (dsc_model_export_c): a header that
 * declares what a program needs, and a source file with the weights as
 * const arrays and the forward pass as plain loops.
 *
 * What the generated code promises, and how:
 *  - Only <stddef.h> and <stdint.h>, and <math.h> when an activation needs
 *    it (a ReLU network needs no library at all). No allocation, no
 *    mutable state: buffers are on the stack, so every function is
 *    re-entrant and thread-safe.
 *  - Float weights give the bits of descent's one-row path (dsc_predict,
 *    one row at a time, row invariance off): the dot products
 *    are summed in the order of the engine's one-row matrix product and
 *    the activations are the engine's own element functions, whose text
 *    the op table carries (src/graph/ops.h: out.c); the dot product is in
 *    export_kernels.h. No multiply-add is fused (a pragma for clang; GCC
 *    does not fuse in ISO C mode).
 *  - int8 weights run the kernel quant.c runs, from the same text.
 *  - Names come from the model (input columns, classes) as escaped string
 *    literals; anything quoted in a comment is made comment-safe. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../nn/nn.h"
#include "export.h"
#include "export_kernels.h"
#include "outfile.h"

DSC_DOT_FN(dsc_export_dot)

float dsc_export_dot_ref(const float *x, const float *w, size_t n)
{
    return dsc_export_dot(x, w, n);
}

/* --- writing C ------------------------------------------------------------ */

/* A float as a C literal that reads back as the same float: the shortest
 * decimal (locale-independent), with a '.' or exponent, and 'f'. */
static void put_float(dsc_text *t, float v)
{
    char b[48];
    dsc_format_float(b, sizeof b - 3, v);
    if (!strpbrk(b, ".e")) strcat(b, ".0");
    strcat(b, "f");
    dsc_text_put(t, b);
}

/* s as the inside of a C string literal: printable ASCII as it is, '?'
 * escaped (no trigraphs), everything else as three-digit octal. */
static void put_c_chars(dsc_text *t, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\' || *c == '?')
            dsc_text_printf(t, "\\%c", *c);
        else if (*c >= 0x20 && *c < 0x7f)
            dsc_text_putn(t, (const char *)c, 1);
        else
            dsc_text_printf(t, "\\%03o", *c);
    }
}

/* Text for a comment: no "*" "/" pair, no "??", printable ASCII only. */
static void put_comment_text(dsc_text *t, const char *s)
{
    char prev = 0;
    for (const char *c = s; *c; c++) {
        char ch = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
        if ((ch == '/' && prev == '*') || (ch == '?' && prev == '?')) dsc_text_put(t, " ");
        dsc_text_putn(t, &ch, 1);
        prev = ch;
    }
}

/* Lays out a one-line C text (a stringized kernel) as indented lines:
 * a line ends after '{', ';' and '}' outside parentheses. */
static void put_code(dsc_text *t, const char *code)
{
    int depth = 0, indent = 0, at_start = 1;
    for (const char *c = code; *c; c++) {
        if (at_start) {
            if (*c == ' ') continue;
            if (*c == '}') indent--;
            for (int i = 0; i < indent; i++) dsc_text_put(t, "    ");
            at_start = 0;
        }
        dsc_text_putn(t, c, 1);
        if (*c == '(') depth++;
        if (*c == ')') depth--;
        if (depth == 0 && (*c == '{' || *c == ';' || *c == '}')) {
            if (*c == '{') indent++;
            dsc_text_put(t, "\n");
            at_start = 1;
        }
    }
    if (!at_start) dsc_text_put(t, "\n");
}

/* A function whose parameters and body are text: "static TYPE NAME_fn". */
static void put_function(dsc_text *t, const char *type, const char *name, const char *fn,
                         const char *text)
{
    /* The parameter list stays on the first line, the body below. */
    const char *body = strchr(text, '{');
    dsc_text_printf(t, "static %s %s_%s", type, name, fn);
    size_t len = body ? (size_t)(body - text) : strlen(text);
    while (len && text[len - 1] == ' ') len--;
    dsc_text_putn(t, text, len);
    dsc_text_put(t, "\n");
    if (body) put_code(t, body);
    dsc_text_put(t, "\n");
}

/* Longer string literals draw a -pedantic warning (C99 5.2.4.1 only
 * promises 4095 characters): such a name becomes a char array. */
#define C_STRING_MAX 4000

static void put_string_table(dsc_text *t, const char *name, const char *what, const char *size,
                             char *const *v, size_t n, const char *fallback)
{
    for (size_t i = 0; v && i < n; i++) {
        if (strlen(v[i]) <= C_STRING_MAX) continue;
        dsc_text_printf(t, "static const char %s_%s_%zu[] = {", name, what, i);
        size_t at = 0;
        for (const unsigned char *c = (const unsigned char *)v[i]; *c; c++, at++)
            dsc_text_printf(t, "%s%d", at == 0 ? "\n    " : at % 16 ? ", " : ",\n    ", *c);
        dsc_text_put(t, ", 0};\n");
    }
    dsc_text_printf(t, "const char *const %s_%s[%s] = {", name, what, size);
    for (size_t i = 0; i < n; i++) {
        dsc_text_put(t, i % 8 ? " " : "\n    ");
        if (v && strlen(v[i]) > C_STRING_MAX) {
            dsc_text_printf(t, "%s_%s_%zu,", name, what, i);
        } else {
            dsc_text_put(t, "\"");
            if (v)
                put_c_chars(t, v[i]);
            else
                dsc_text_printf(t, "%s%zu", fallback, i + 1);
            dsc_text_put(t, "\",");
        }
    }
    dsc_text_put(t, "\n};\n\n");
}

/* static const float NAME_WHAT[K] (K omitted when 0). */
static void put_float_array(dsc_text *t, const char *name, const char *what, size_t k,
                            const float *v, size_t n, const char *comment)
{
    dsc_text_printf(t, "/* %s */\nstatic const float %s_%s", comment, name, what);
    if (k) dsc_text_printf(t, "%zu", k);
    dsc_text_printf(t, "[%zu] = {", n);
    for (size_t i = 0; i < n; i++) {
        dsc_text_put(t, i % 8 ? " " : "\n    ");
        put_float(t, v[i]);
        dsc_text_put(t, ",");
    }
    dsc_text_put(t, "\n};\n\n");
}

static void put_int8_array(dsc_text *t, const char *name, size_t k, const int8_t *v, size_t n,
                           const char *comment)
{
    dsc_text_printf(t, "/* %s */\nstatic const int8_t %s_q%zu[%zu] = {", comment, name, k, n);
    for (size_t i = 0; i < n; i++) dsc_text_printf(t, "%s%d,", i % 16 ? " " : "\n    ", v[i]);
    dsc_text_put(t, "\n};\n\n");
}

/* --- the model -------------------------------------------------------------- */

typedef struct {
    const dsc_model *m;
    const char *name;
    const dsc_qmodel *q; /* NULL: float weights */
    int per_layer;
    int classifier; /* has class labels */
    size_t n_in, n_out;
    size_t hidden_max; /* widest hidden layer (0 with one layer) */
    size_t in_max;     /* widest layer input (int8's quantized row) */
    int needs_libm;
    unsigned used_acts;  /* bit per activation */
    unsigned used_kinds; /* bit per layer kind */
} export_c;

/* The op whose C text runs a layer kind without weights of its own (the
 * op table, src/graph/ops.h); conv's float text too. */
static const dsc_op_def *layer_op(dsc_layer_kind kind)
{
    switch (kind) {
    case DSC_LAYER_CONV: return dsc_ops[DSC_OP_CONV];
    case DSC_LAYER_MAXPOOL: return dsc_ops[DSC_OP_MAXPOOL];
    case DSC_LAYER_AVGPOOL: return dsc_ops[DSC_OP_AVGPOOL];
    default: return NULL;
    }
}

static void describe(export_c *e)
{
    const dsc_model *m = e->m;
    e->n_in = m->units[0];
    e->n_out = m->units[m->n_layers];
    e->classifier = m->n_classes > 0;
    for (size_t k = 0; k < m->n_layers; k++) {
        if (k + 1 < m->n_layers && m->units[k + 1] > e->hidden_max) e->hidden_max = m->units[k + 1];
        e->used_kinds |= 1u << m->layer[k].kind;
        if (m->layer[k].kind == DSC_LAYER_DENSE && m->units[k] > e->in_max) e->in_max = m->units[k];
        const dsc_op_def *a = dsc_activation_op(m->act[k]);
        if (m->act[k] == DSC_ACT_IDENTITY) continue;
        e->used_acts |= 1u << m->act[k];
        if (dsc_export_c_calls(a->out.c)) e->needs_libm = 1;
    }
}

/* The divisor the model applies to its inputs before standardising (1
 * when none is recorded), and whether predict needs a transformed copy. */
static float input_divisor(const dsc_model *m) { return m->x_div > 0 ? m->x_div : 1.0f; }

static int transforms_inputs(const dsc_model *m) { return m->x_mean || input_divisor(m) != 1.0f; }

/* Bytes of stack NAME_predict uses for its buffers (approximately: the
 * compiler adds its own). */
static size_t stack_bytes(const export_c *e)
{
    size_t b = e->hidden_max * sizeof(float) * (e->m->n_layers > 2 ? 2 : 1);
    if (transforms_inputs(e->m)) b += e->n_in * sizeof(float);
    if (!e->q)
        b += 32 * sizeof(float); /* the dot product's lanes */
    else if (!e->q->float_act)
        b += e->in_max; /* the quantized row */
    return b;
}

static const char *weights_text(const export_c *e)
{
    if (!e->q) return "float";
    if (e->q->float_act)
        return e->per_layer ? "int8, one float scale per layer; activations float"
                            : "int8, one float scale per output unit; activations float";
    return e->per_layer ? "int8, one float scale per layer; each layer's input row int8 too"
                        : "int8, one float scale per output unit; each layer's input row int8 too";
}

static void put_header(dsc_text *t, const export_c *e, const char *source)
{
    const dsc_model *m = e->m;
    const char *n = e->name;
    char guard[80];
    size_t i;
    for (i = 0; n[i] && i < 63; i++)
        guard[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 'a' + 'A' : n[i]);
    strcpy(guard + i, "_H_INCLUDED");

    dsc_text_printf(t, "/* %s.h: a descent model as C (descent %s).\n *\n * Model    ", n,
                    dsc_version());
    put_comment_text(t, m->spec);
    if (source) {
        dsc_text_put(t, ", from ");
        put_comment_text(t, source);
    }
    dsc_text_printf(t, "\n * Weights  %s\n * Inputs   %zu: ", weights_text(e), e->n_in);
    if (m->in_names) {
        for (i = 0; i < e->n_in && i < 8; i++) {
            dsc_text_put(t, i ? ", " : "");
            put_comment_text(t, m->in_names[i]);
        }
        dsc_text_put(t, e->n_in > 8 ? ", ... (" : " (");
        dsc_text_printf(t, "%s_INPUT_NAMES)", n);
    } else {
        dsc_text_put(t, "unnamed columns, in the order the model was trained on");
    }
    if (transforms_inputs(m))
        dsc_text_put(t, ",\n *          as read: the model's input transformation (divisor, "
                        "standardisation) is applied inside");
    dsc_text_printf(t, "\n * Outputs  %zu", e->n_out);
    if (e->classifier) {
        dsc_text_printf(t, ", %s of the classes in %s_CLASSES",
                        m->act[m->n_layers - 1] == DSC_ACT_SOFTMAX ||
                                m->act[m->n_layers - 1] == DSC_ACT_SIGMOID
                            ? "probabilities"
                            : "scores",
                        n);
        if (e->n_out == 1 && m->n_classes == 2)
            dsc_text_put(t, " (one output: the second class's probability)");
    } else if (m->target) {
        dsc_text_put(t, ": ");
        put_comment_text(t, m->target);
        if (m->y_mean) dsc_text_put(t, ", in its own units (the standardisation is undone)");
    }
    dsc_text_printf(t,
                    "\n *\n * C99. %s No allocation and no mutable state:\n"
                    " * every function is re-entrant and may run in several threads at once.\n"
                    " * %s_predict keeps about %zu bytes on the stack.\n */\n",
                    e->needs_libm ? "Needs <math.h> (link with -lm)." : "Needs no library.", n,
                    stack_bytes(e));
    dsc_text_printf(t, "#ifndef %s\n#define %s\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
                    guard, guard);
    dsc_text_printf(t, "#define %s_INPUTS  %zu\n#define %s_OUTPUTS %zu\n", n, e->n_in, n, e->n_out);
    if (e->classifier) dsc_text_printf(t, "#define %s_N_CLASSES %zu\n", n, m->n_classes);
    dsc_text_printf(t,
                    "\n/* The input columns, in the order %s_predict reads them. */\n"
                    "extern const char *const %s_INPUT_NAMES[%s_INPUTS];\n",
                    n, n, n);
    if (e->classifier)
        dsc_text_printf(t,
                        "/* The class names, in the order of the outputs. */\n"
                        "extern const char *const %s_CLASSES[%s_N_CLASSES];\n",
                        n, n);
    dsc_text_printf(t,
                    "\n/* Runs the model on one row: input holds %s_INPUTS values as the data\n"
                    " * has them, output receives %s_OUTPUTS values. They must not overlap. */\n"
                    "void %s_predict(const float *input, float *output);\n",
                    n, n, n);
    if (e->classifier)
        dsc_text_printf(
            t,
            "\n/* The index in %s_CLASSES of the class the model picks for one row. */\n"
            "int %s_class(const float *input);\n",
            n, n);
    dsc_text_printf(t, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

/* The buffer layer k reads: the input, its standardised copy, or a hidden
 * layer's output; and where it writes. */
static const char *layer_src(const export_c *e, size_t k)
{
    static const char *h[2] = {"h0", "h1"};
    if (k == 0) return transforms_inputs(e->m) ? "x" : "input";
    return h[(k - 1) % 2];
}

static const char *layer_dst(const export_c *e, size_t k)
{
    static const char *h[2] = {"h0", "h1"};
    return k + 1 == e->m->n_layers ? "output" : h[k % 2];
}

/* The functions of the layer kinds without a dot product: conv (float:
 * the op table's text; int8: the kernel quant.c runs) and the pools (the
 * op table's text), each taking the layer's geometry by name. */
/* Whether C text uses the identifier word. */
static int uses_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        int before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = isalnum((unsigned char)p[n]) || p[n] == '_';
        if (!before && !after) return 1;
    }
    return 0;
}

static void put_geometry_params(dsc_text *t)
{
    for (int g = 0; g < DSC_GEOM_COUNT; g++)
        dsc_text_printf(t, ",%s size_t %s", g % 6 ? "" : "\n   ", dsc_geom_names[g]);
}

static void put_layer_functions(dsc_text *t, const export_c *e)
{
    static const struct {
        dsc_layer_kind kind;
        const char *fn, *ptrs;
        const char *vars[4];
    } kinds[] = {
        {DSC_LAYER_CONV,
         "conv",
         "const float *x, const float *w, const float *b, float *y",
         {"x", "w", "b", "y"}},
        {DSC_LAYER_MAXPOOL, "maxpool", "const float *x, float *y", {"x", "y", NULL, NULL}},
        {DSC_LAYER_AVGPOOL, "avgpool", "const float *x, float *y", {"x", "y", NULL, NULL}},
    };
    for (size_t i = 0; i < DSC_COUNT_OF(kinds); i++) {
        if (!((e->used_kinds >> kinds[i].kind) & 1)) continue;
        if (kinds[i].kind == DSC_LAYER_CONV && e->q) {
            dsc_text_put(t, "/* A convolution on one sample: float inputs, int8 weights, each "
                            "filter's sum scaled back. */\n");
            put_function(t, "void", e->name, "qconv", dsc_qconv_f_source());
            continue;
        }
        const dsc_op_def *op = layer_op(kinds[i].kind);
        dsc_text_printf(t, "/* %s: ", op->name);
        put_comment_text(t, op->formula);
        dsc_text_printf(t, " (descent's op table). */\nstatic void %s_%s(%s", e->name, kinds[i].fn,
                        kinds[i].ptrs);
        put_geometry_params(t);
        dsc_text_put(t, ")\n");
        /* Every kind takes the whole geometry: (void) the parameters its
         * text leaves unused, to keep -Wextra quiet. */
        dsc_text body = {0};
        dsc_text_put(&body, "{ ");
        for (int v = 0; v < 4 && kinds[i].vars[v]; v++)
            if (!uses_word(op->out.c, kinds[i].vars[v]))
                dsc_text_printf(&body, "(void)%s; ", kinds[i].vars[v]);
        for (int g = 0; g < DSC_GEOM_COUNT; g++)
            if (!uses_word(op->out.c, dsc_geom_names[g]))
                dsc_text_printf(&body, "(void)%s; ", dsc_geom_names[g]);
        dsc_text_printf(&body, "%s }", op->out.c);
        if (body.failed)
            t->failed = 1;
        else
            put_code(t, body.p);
        dsc_text_free(&body);
        dsc_text_put(t, "\n");
    }
}

/* The call that runs layer k (not dense) from src into dst. */
static void put_layer_call(dsc_text *t, const export_c *e, size_t k, const char *src,
                           const char *dst)
{
    const dsc_layer *l = &e->m->layer[k];
    const char *n = e->name;
    if (l->kind == DSC_LAYER_FLATTEN) {
        dsc_text_printf(t, "    for (j = 0; j < %zu; j++) %s[j] = %s[j];\n", e->m->units[k + 1],
                        dst, src);
        return;
    }
    size_t g[DSC_GEOM_COUNT];
    dsc_layer_geometry(l, g);
    if (l->kind == DSC_LAYER_CONV && e->q)
        dsc_text_printf(t, "    %s_qconv(%s, %s_q%zu, %s_s%zu, %d, %s_b%zu, %s", n, src, n, k + 1,
                        n, k + 1, e->per_layer ? 0 : 1, n, k + 1, dst);
    else if (l->kind == DSC_LAYER_CONV)
        dsc_text_printf(t, "    %s_conv(%s, %s_w%zu, %s_b%zu, %s", n, src, n, k + 1, n, k + 1, dst);
    else
        dsc_text_printf(t, "    %s_%s(%s, %s", n,
                        l->kind == DSC_LAYER_MAXPOOL ? "maxpool" : "avgpool", src, dst);
    for (int i = 0; i < DSC_GEOM_COUNT; i++) dsc_text_printf(t, ", %zu", g[i]);
    dsc_text_put(t, ");\n");
}

static void put_source(dsc_text *t, const export_c *e, const char *source)
{
    const dsc_model *m = e->m;
    const char *n = e->name;
    char comment[160];
    dsc_text_printf(t, "/* %s.c: ", n);
    put_comment_text(t, m->spec);
    if (source) {
        dsc_text_put(t, ", from ");
        put_comment_text(t, source);
    }
    dsc_text_printf(t, " (descent %s; see %s.h). */\n", dsc_version(), n);
    dsc_text_printf(t, "#include \"%s.h\"\n\n", n);
    /* No fused multiply-adds: descent rounds every product. Clang fuses by
     * default on targets that have them; GCC does not in ISO C mode (and
     * warns about this pragma, so it does not see it). */
    dsc_text_put(t, "#ifdef __clang__\n#pragma STDC FP_CONTRACT OFF\n#endif\n\n");
    if (e->needs_libm) dsc_text_put(t, "#include <math.h>\n");
    dsc_text_put(t, "#include <stddef.h>\n");
    if (e->q) dsc_text_put(t, "#include <stdint.h>\n");
    dsc_text_put(t, "\n");

    put_string_table(t, n, "INPUT_NAMES", "", m->in_names, e->n_in, "x");
    if (e->classifier) put_string_table(t, n, "CLASSES", "", m->classes, m->n_classes, "class");

    if (m->x_mean) {
        put_float_array(t, n, "x_mean", 0, m->x_mean, e->n_in,
                        "Standardisation of the inputs: (x - mean) / std");
        put_float_array(t, n, "x_std", 0, m->x_std, e->n_in, "and std");
    }
    for (size_t k = 0; k < m->n_layers; k++) {
        const dsc_layer *l = &m->layer[k];
        size_t nw = m->arch->n_w[k], nb = m->arch->n_b[k];
        if (!nw) continue;
        if (l->kind == DSC_LAYER_CONV)
            snprintf(comment, sizeof comment,
                     "Layer %zu: %zu filters of %zu x %zu x %zu, %s. Weights [F][C][KH][KW]", k + 1,
                     nb, l->in_dims[0], l->kh, l->kw, dsc_activation_name(m->act[k]));
        else
            snprintf(comment, sizeof comment,
                     "Layer %zu: %zu -> %zu, %s. Weights [%zu][%zu], row by row", k + 1,
                     m->units[k], nb, dsc_activation_name(m->act[k]), nb, m->units[k]);
        if (e->q) {
            put_int8_array(t, n, k + 1, e->q->q + e->q->q_off[k], nw, comment);
            put_float_array(
                t, n, "s", k + 1, e->q->scale + e->q->s_off[k], dsc_qmodel_scales(m, e->q, k),
                e->per_layer ? "its weights' scale" : "its weights' scale per unit (filter)");
        } else {
            put_float_array(t, n, "w", k + 1, m->params + m->w_off[k], nw, comment);
        }
        put_float_array(t, n, "b", k + 1, m->params + m->b_off[k], nb, "its biases");
    }
    if (m->y_mean) {
        put_float_array(t, n, "y_mean", 0, m->y_mean, e->n_out,
                        "The targets' standardisation, undone: y * std + mean");
        put_float_array(t, n, "y_std", 0, m->y_std, e->n_out, "and std");
    }

    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        if (!(e->used_acts & 1u << a)) continue;
        const dsc_op_def *x = dsc_activation_op((dsc_activation)a);
        if (x->out.c_form == DSC_C_ELEMENT) {
            dsc_text_printf(t, "static float %s_%s(float x)\n", n, x->name);
        } else {
            dsc_text_printf(t, "static void %s_%s(float *x, size_t n)\n", n, x->name);
        }
        put_code(t, x->out.c);
        dsc_text_put(t, "\n");
    }
    put_layer_functions(t, e);
    int dense = (e->used_kinds >> DSC_LAYER_DENSE) & 1;
    if (e->q && dense) {
        if (e->q->float_act) {
            dsc_text_put(t, "/* One layer on one row: float inputs, int8 weights, the sum scaled "
                            "back. */\n");
            put_function(t, "void", n, "qdense", dsc_qdense_f_source());
        } else {
            dsc_text_put(t, "/* One int8 layer on one row: the row is quantized with the scale\n"
                            " * max|x| / 127, the products summed exactly in int32 and scaled "
                            "back. */\n");
            put_function(t, "void", n, "qdense", dsc_qdense_source());
        }
    } else if (dense) {
        dsc_text_put(t, "/* x . w in the order descent sums it for one row on its own, so the\n"
                        " * results are those bits. */\n");
        put_function(t, "float", n, "dot", dsc_export_dot_text);
        dsc_text_printf(t,
                        "/* y = x W^T + b for W [n_out][n_in]. */\n"
                        "static void %s_dense(const float *x, size_t n_in, const float *w, "
                        "const float *b,\n    size_t n_out, float *y)\n{\n    size_t j;\n"
                        "    for (j = 0; j < n_out; j++) y[j] = %s_dot(x, w + j * n_in, n_in) + "
                        "b[j];\n}\n\n",
                        n, n);
    }

    /* predict */
    dsc_text_printf(t, "void %s_predict(const float *input, float *output)\n{\n", n);
    if (transforms_inputs(m)) dsc_text_printf(t, "    float x[%zu];\n", e->n_in);
    if (e->hidden_max) dsc_text_printf(t, "    float h0[%zu];\n", e->hidden_max);
    if (m->n_layers > 2) dsc_text_printf(t, "    float h1[%zu];\n", e->hidden_max);
    if (e->q && !e->q->float_act && e->in_max)
        dsc_text_printf(t, "    int8_t q[%zu];\n", e->in_max);
    int loops = transforms_inputs(m) || m->y_mean;
    for (size_t k = 0; k < m->n_layers; k++)
        if (dsc_activation_op(m->act[k])->out.c_form == DSC_C_ELEMENT &&
            m->act[k] != DSC_ACT_IDENTITY)
            loops = 1;
    if ((e->used_kinds >> DSC_LAYER_FLATTEN) & 1) loops = 1;
    if (loops) dsc_text_put(t, "    size_t j;\n");
    /* The engine's order and rounding (dsc_model_transform_inputs): x / div
     * in float, then (x - mean) / std. */
    char div[48] = "";
    if (input_divisor(m) != 1.0f) {
        snprintf(div, sizeof div, " / %af", (double)input_divisor(m));
        dsc_text_printf(t, "    /* inputs divided by %g, as the model was trained */\n",
                        (double)input_divisor(m));
    }
    if (m->x_mean)
        dsc_text_printf(t,
                        "    for (j = 0; j < %zu; j++) x[j] = (input[j]%s - %s_x_mean[j]) / "
                        "%s_x_std[j];\n",
                        e->n_in, div, n, n);
    else if (*div)
        dsc_text_printf(t, "    for (j = 0; j < %zu; j++) x[j] = input[j]%s;\n", e->n_in, div);
    for (size_t k = 0; k < m->n_layers; k++) {
        size_t in = m->units[k], out = m->units[k + 1];
        const char *src = layer_src(e, k), *dst = layer_dst(e, k);
        if (m->layer[k].kind != DSC_LAYER_DENSE) {
            put_layer_call(t, e, k, src, dst);
        } else if (e->q)
            dsc_text_printf(t,
                            "    %s_qdense(%s, %zu, %s_q%zu, %s_s%zu, %d, %s_b%zu, %zu, %s%s);\n",
                            n, src, in, n, k + 1, n, k + 1, e->per_layer ? 0 : 1, n, k + 1, out,
                            e->q->float_act ? "" : "q, ", dst);
        else
            dsc_text_printf(t, "    %s_dense(%s, %zu, %s_w%zu, %s_b%zu, %zu, %s);\n", n, src, in, n,
                            k + 1, n, k + 1, out, dst);
        const dsc_op_def *a = dsc_activation_op(m->act[k]);
        if (m->act[k] == DSC_ACT_IDENTITY) continue;
        if (a->out.c_form == DSC_C_ELEMENT)
            dsc_text_printf(t, "    for (j = 0; j < %zu; j++) %s[j] = %s_%s(%s[j]);\n", out, dst, n,
                            a->name, dst);
        else
            dsc_text_printf(t, "    %s_%s(%s, %zu);\n", n, a->name, dst, out);
    }
    if (m->y_mean)
        /* Two statements, so that no compiler fuses them into one
         * multiply-add (descent rounds the product first). */
        dsc_text_printf(t,
                        "    for (j = 0; j < %zu; j++) {\n"
                        "        float scaled = output[j] * %s_y_std[j];\n"
                        "        output[j] = scaled + %s_y_mean[j];\n    }\n",
                        e->n_out, n, n);
    dsc_text_put(t, "}\n");

    if (e->classifier) {
        dsc_text_printf(t, "\nint %s_class(const float *input)\n{\n    float y[%zu];\n", n,
                        e->n_out);
        if (e->n_out == 1 && m->n_classes == 2) {
            dsc_text_printf(t, "    %s_predict(input, y);\n    return y[0] >= 0.5f;\n}\n", n);
        } else {
            /* The first largest output, as descent picks it; a NaN never
             * wins over a number. */
            dsc_text_printf(t,
                            "    int best = -1, j;\n    %s_predict(input, y);\n"
                            "    for (j = 0; j < %zu; j++)\n"
                            "        if (best < 0 ? y[j] == y[j] : y[j] > y[best]) best = j;\n"
                            "    return best < 0 ? 0 : best;\n}\n",
                            n, e->n_out);
        }
    }
}

/* --- files -------------------------------------------------------------------- */

/* Both files are opened (temporary files next to them) and written before
 * either is renamed into place, so a failure to open or write leaves every
 * old file as it was (outfile.h). */
static dsc_status write_pair(const char *hpath, const dsc_text *h, const char *cpath,
                             const dsc_text *c)
{
    dsc_outfile oh, oc;
    dsc_status s = dsc_outfile_open(&oh, hpath);
    if (s) return s;
    if ((s = dsc_outfile_open(&oc, cpath))) {
        dsc_outfile_abort(&oh);
        return s;
    }
    fwrite(h->p, 1, h->n, oh.f);
    fwrite(c->p, 1, c->n, oc.f);
    /* A write error shows in the commit: flushing fails. The second commit
     * is a rename in the same folder, which fails only if the folder
     * changes in between. */
    if ((s = dsc_outfile_commit(&oc))) {
        dsc_outfile_abort(&oh);
        return s;
    }
    return dsc_outfile_commit(&oh);
}

/* --- the entry point -------------------------------------------------------------- */

typedef struct {
    dsc_workspace *ws;
} float_rows;

/* One row at a time through the engine: what the float export computes. */
static dsc_status float_rows_fn(const dsc_model *m, const void *ctx, const float *x, size_t n,
                                float *y)
{
    const float_rows *fr = ctx;
    size_t nin = m->units[0], nout = m->units[m->n_layers];
    for (size_t i = 0; i < n; i++) {
        dsc_status s = dsc_predict(m, fr->ws, x + i * nin, 1, y + i * nout);
        if (s) return s;
    }
    return DSC_OK;
}

static dsc_status int8_rows_fn(const dsc_model *m, const void *ctx, const float *x, size_t n,
                               float *y)
{
    return dsc_qmodel_predict(m, ctx, x, n, y);
}

/* The bytes each kind of export holds (weights; weights, biases, scales). */
static void count_bytes(const dsc_model *m, const dsc_qmodel *q, int per_layer,
                        dsc_export_report *r)
{
    size_t w = 0, b = 0, s = 0;
    for (size_t k = 0; k < m->n_layers; k++) {
        w += m->arch->n_w[k];
        b += m->arch->n_b[k];
        s += !m->arch->n_w[k] ? 0 : per_layer ? 1 : m->arch->n_b[k];
    }
    r->float_weight_bytes = w * sizeof(float);
    r->float_param_bytes = (w + b) * sizeof(float);
    r->weight_bytes = q ? w : r->float_weight_bytes;
    r->param_bytes = q ? w + (b + s) * sizeof(float) : r->float_param_bytes;
}

static void report_clear(dsc_export_report *r)
{
    memset(r, 0, sizeof *r);
    r->accuracy = r->float_accuracy = r->mse = r->float_mse = r->max_abs_diff = r->mean_abs_diff =
        NAN;
}

dsc_status dsc_model_export_c(const dsc_model *m, const char *dir, const dsc_export_options *o,
                              dsc_export_report *r)
{
    dsc_export_report local;
    if (!r) r = &local;
    report_clear(r);
    if (!m || !dir || !*dir) return dsc_fail(DSC_EINVAL, "dsc_model_export_c: NULL argument");
    dsc_export_options def;
    if (!o) {
        dsc_export_options_init(&def);
        o = &def;
    }
    if (!dsc_export_valid_name(o->name))
        return dsc_fail(DSC_EINVAL,
                        "the export name '%s' is not a C identifier (a letter, then letters, "
                        "digits or '_', at most 63 characters)",
                        o->name ? o->name : "(null)");
    if ((unsigned)o->weights > DSC_EXPORT_INT8 || (unsigned)o->scale > DSC_SCALE_PER_LAYER)
        return dsc_fail(DSC_EINVAL, "dsc_model_export_c: unknown weights or scale option");
    for (size_t k = 0; k < m->n_layers; k++) {
        const dsc_op_def *op = layer_op(m->layer[k].kind);
        if (op && (op->out.c_form != DSC_C_LAYER || !op->out.c))
            return dsc_fail(DSC_EUNSUPPORTED, "layer %zu: the op %s has no C text to export", k + 1,
                            op->name);
    }
    for (size_t k = 0; k < m->n_layers; k++) {
        const dsc_op_def *a = dsc_activation_op(m->act[k]);
        if (!a || !a->out.c || (a->out.c_form != DSC_C_ELEMENT && a->out.c_form != DSC_C_ROW))
            return dsc_fail(DSC_EUNSUPPORTED,
                            "layer %zu: the activation %s has no C text to export", k + 1,
                            a ? a->name : "?");
    }
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return dsc_fail(DSC_EIO, "%s: cannot export there: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return dsc_fail(DSC_EIO, "%s: cannot export there: not a directory", dir);

    dsc_qmodel q;
    memset(&q, 0, sizeof q);
    int per_layer = o->scale == DSC_SCALE_PER_LAYER;
    dsc_status s = DSC_OK;
    if (o->weights == DSC_EXPORT_INT8 &&
        (s = dsc_quantize(m, per_layer, o->float_activations != 0, &q)))
        return s;
    export_c e = {.m = m,
                  .name = o->name,
                  .q = o->weights == DSC_EXPORT_INT8 ? &q : NULL,
                  .per_layer = per_layer};
    describe(&e);
    count_bytes(m, e.q, per_layer, r);

    if (o->data) {
        float_rows fr = {NULL};
        if (!e.q) s = dsc_workspace_new(m, 1, &fr.ws);
        if (!s)
            s = dsc_export_measure(m, o->data, e.q ? int8_rows_fn : float_rows_fn,
                                   e.q ? (const void *)&q : (const void *)&fr, r);
        dsc_workspace_free(fr.ws);
    }

    dsc_text h = {0}, c = {0};
    char *hpath = NULL, *cpath = NULL;
    if (!s) {
        put_header(&h, &e, o->source);
        put_source(&c, &e, o->source);
        size_t dl = strlen(dir), nl = strlen(o->name);
        hpath = dsc_malloc(dl + nl + 4);
        cpath = dsc_malloc(dl + nl + 4);
        if (h.failed || c.failed || !hpath || !cpath)
            s = dsc_fail(DSC_ENOMEM, "out of memory writing the C export of %s", m->spec);
    }
    if (!s) {
        sprintf(hpath, "%s/%s.h", dir, o->name);
        sprintf(cpath, "%s/%s.c", dir, o->name);
        s = write_pair(hpath, &h, cpath, &c);
    }
    dsc_free(hpath);
    dsc_free(cpath);
    dsc_text_free(&h);
    dsc_text_free(&c);
    dsc_qmodel_free(&q);
    return s;
}
