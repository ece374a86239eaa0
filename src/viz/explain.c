/* The chain rule written out with numbers, as the seed works it by hand.
 *
 * The explanation recomputes the whole forward and backward pass in double
 * from the model's float parameters, so that every factor it prints is the
 * exact number it multiplies, and then compares the totals with the
 * engine's backpropagation on the model's own graph. The formulas it names
 * (the loss, each activation and their derivatives) are the op table's
 * strings, and every number it computes comes from the op table's reference
 * in double (src/graph/ops.h), so the text and the engine cannot drift
 * apart: no op's maths is written here.
 *
 * Where the engine makes a choice the mathematics leaves open (ReLU's
 * derivative at exactly 0) the explanation follows the engine: which side
 * of the kink a unit is on is read from the engine's float value of z, and
 * under the random rule the draw the engine made is read back from its
 * gradients. Every number is formatted by our own code, never by printf's
 * %f or %g, so a comma-decimal locale changes nothing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../graph/graph_internal.h"
#include "../io/json.h"
#include "../nn/nn.h"
#include "explain.h"

/* ------------------------------------------------------------------ */
/* Text buffer                                                        */
/* ------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *p = dsc_realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* Hands the text to the caller, or frees it and reports the failure. */
static dsc_status sb_finish(sbuf *b, char **text)
{
    if (b->failed || !b->p) {
        dsc_free(b->p);
        return dsc_fail(DSC_ENOMEM, "out of memory for the explanation text");
    }
    *text = b->p;
    return DSC_OK;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                            */
/* ------------------------------------------------------------------ */

/* Returned by value so that several can appear in one printf call. */
typedef struct {
    char s[48];
} numtxt;

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* |v| (< 1e15 after scaling) with `dec` decimals, trailing zeros dropped;
 * integers only go through printf, and integer output ignores the locale. */
static void put_fixed(char *s, size_t size, double a, int dec)
{
    unsigned long long q = (unsigned long long)llround(a * pow10_tab[dec]);
    unsigned long long p = (unsigned long long)pow10_tab[dec];
    unsigned long long ip = q / p, fp = q % p;
    int n = snprintf(s, size, "%llu", ip);
    if (fp == 0 || n < 0 || (size_t)n + (size_t)dec + 2 > size) return;
    char *t = s + n;
    *t++ = '.';
    for (int i = dec - 1; i >= 0; i--) {
        t[i] = (char)('0' + fp % 10);
        fp /= 10;
    }
    int last = dec;
    while (last > 0 && t[last - 1] == '0') last--;
    t[last] = '\0';
}

/* v with `sig` significant digits (1..15), no trailing zeros, '.' always:
 * "3.8", "-15.66", "0.0001234", "1.5e-07". Non-finite values read "nan",
 * "inf", "-inf" (the JSON writer turns them into null). */
static numtxt num_sig(double v, int sig)
{
    numtxt r;
    if (isnan(v)) {
        strcpy(r.s, "nan");
        return r;
    }
    if (isinf(v)) {
        strcpy(r.s, v > 0 ? "inf" : "-inf");
        return r;
    }
    if (v == 0.0) {
        strcpy(r.s, "0");
        return r;
    }
    char *s = r.s;
    if (v < 0) *s++ = '-';
    size_t size = sizeof r.s - 1;
    double a = fabs(v);
    int e = (int)floor(log10(a));
    if (e >= -5 && e < 15) {
        int dec = sig - 1 - e;
        if (dec < 0) dec = 0;
        if (dec > 22) dec = 22;
        put_fixed(s, size, a, dec);
        return r;
    }
    /* Scientific: a mantissa in [1, 10) rounded to sig digits; rounding up
     * to 10 moves the exponent. */
    double mant = e < -300 ? (a * 1e100) / pow(10.0, e + 100) : a / pow(10.0, e);
    /* log10 can be off by one near a power of ten. */
    if (mant >= 10.0) mant /= 10.0, e++;
    if (mant < 1.0) mant *= 10.0, e--;
    if (round(mant * pow10_tab[sig - 1]) >= pow10_tab[sig]) mant /= 10.0, e++;
    put_fixed(s, size - 8, mant, sig - 1);
    size_t n = strlen(r.s);
    snprintf(r.s + n, sizeof r.s - n, "e%d", e);
    return r;
}

/* Factors, short; totals, precise enough to compare with backpropagation;
 * the line fit's data, as a person would have typed them. */
#define N4(v)  (num_sig((v), 4).s)
#define N6(v)  (num_sig((v), 6).s)
#define N10(v) (num_sig((v), 10).s)

/* A JSON number, or null where there is none. */
static numtxt num_json(double v)
{
    numtxt r;
    if (!isfinite(v)) {
        strcpy(r.s, "null");
        return r;
    }
    return num_sig(v, 10);
}
#define NJ(v) (num_json(v).s)

/* s as a JSON string. */
static void sb_json(sbuf *b, const char *s)
{
    char *q = dsc_json_quote(s);
    if (q)
        sb_add(b, "%s", q);
    else
        b->failed = 1;
    dsc_free(q);
}

/* "a - b" written so that a negative b reads "a + |b|", for forward sums. */
static void sb_signed_term(sbuf *b, double v, const char *rest)
{
    sb_add(b, " %s %s%s", v < 0 ? "-" : "+", N4(fabs(v)), rest);
}

/* A list of terms as a sum: "-5.207 - 5.3 + 1.2". */
static void sb_sum_terms(sbuf *b, const double *t, size_t n, int sig)
{
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            sb_add(b, "%s", num_sig(t[i], sig).s);
        else
            sb_add(b, " %s %s", t[i] < 0 ? "-" : "+", num_sig(fabs(t[i]), sig).s);
    }
}

/* Terms listed one by one only up to this many; beyond, just the total. */
#define MAX_LISTED_TERMS 8
/* Fan-in up to which a unit's sum of weights x inputs is written out. */
#define MAX_LISTED_INPUTS 4

/* ------------------------------------------------------------------ */
/* The model's explanation                                            */
/* ------------------------------------------------------------------ */

/* How the output layer meets the loss. */
typedef enum {
    OUT_ELEMENT, /* dLoss/dpredicted x act'(z), element by element */
    OUT_FUSED,   /* sigmoid+bce or softmax+ce: dLoss/dz = (p - t)/N directly */
    OUT_SOFTMAX  /* softmax into another loss: every output depends on every z */
} out_mode;

/* What ReLU's derivative at an exact 0 turned out to be. */
enum {
    KINK_NONE = 0,
    KINK_RULE,    /* the model's fixed rule (0 or 1) */
    KINK_DRAWN,   /* the random rule: the engine's draw, read back */
    KINK_NOEFFECT /* the random rule, but the error reaching it is 0 */
};

typedef struct {
    const dsc_model *m;
    const dsc_dataset *d;
    dsc_loss loss;
    out_mode mode;
    size_t L, rows, n_in, n_out, n_params;
    double n_scale; /* the N the loss divides by (1 for ssr) */
    const float *p;
    size_t *off; /* where layer k (0 = inputs) starts in z, a, da, delta, kink */
    double *z, *a, *da, *delta;
    unsigned char *kink;
    double *dpred; /* rows x outputs: dLoss/dpredicted (not fused) */
    double *bp;    /* backpropagation's gradient, per parameter */
    char (*pname)[16];
    char lname[16]; /* "SSR" */
    dsc_op_text loss_text;
    dsc_op_text *act_text;     /* per layer, 1-based */
    const dsc_op_def *loss_op; /* the loss as the graph computes it (on logits when fused) */
    dsc_relu_grad rule;
} ex_model;

static size_t ix(const ex_model *c, size_t k, size_t r, size_t i)
{
    return c->off[k] + r * c->m->units[k] + i;
}

/* Layer k's weight from unit j of layer k-1 into unit i, and its bias. */
static size_t w_index(const ex_model *c, size_t k, size_t i, size_t j)
{
    return c->m->w_off[k - 1] + i * c->m->units[k - 1] + j;
}
static size_t b_index(const ex_model *c, size_t k, size_t i) { return c->m->b_off[k - 1] + i; }

static const dsc_op_def *act_op(const dsc_model *m, size_t k)
{
    return dsc_activation_op(m->act[k - 1]);
}

static int is_kinked(const dsc_model *m, size_t k)
{
    return (act_op(m, k)->flags & DSC_OPF_KINK) != 0;
}

/* The names used in the text for inputs, outputs and the output's
 * "predicted", numbered only when there are several. */
static void input_name(const ex_model *c, size_t j, char *buf, size_t size)
{
    if (c->n_in == 1)
        snprintf(buf, size, "input");
    else
        snprintf(buf, size, "input%zu", j + 1);
}

static void pred_name(const ex_model *c, size_t i, char *buf, size_t size)
{
    if (c->n_out == 1)
        snprintf(buf, size, "predicted");
    else
        snprintf(buf, size, "predicted%zu", i + 1);
}

static void obs_name(const ex_model *c, size_t i, char *buf, size_t size)
{
    if (c->n_out == 1)
        snprintf(buf, size, "observed");
    else
        snprintf(buf, size, "observed%zu", i + 1);
}

/* The output of unit j in layer k-1, as text: an input or a hidden a. */
static void source_name(const ex_model *c, size_t k, size_t j, char *buf, size_t size)
{
    if (k == 1)
        input_name(c, j, buf, size);
    else
        snprintf(buf, size, "a%zu.%zu", k - 1, j + 1);
}

/* One substitution in a formula: a whole word and what replaces it. */
typedef struct {
    const char *word, *by;
} subst;

/* The formula with each whole word of `sub` replaced: the op table's
 * derivative of a loss, written with the words predicted, observed and N,
 * becomes this output's names or this point's numbers. */
static void sb_formula(sbuf *b, const char *f, const subst *sub, size_t n_sub)
{
    for (const char *start = f; *f;) {
        size_t k = 0;
        int at_word = f == start || !(f[-1] == '_' || (f[-1] >= 'a' && f[-1] <= 'z'));
        for (; at_word && k < n_sub; k++) {
            size_t len = strlen(sub[k].word);
            if (strncmp(f, sub[k].word, len) != 0) continue;
            char next = f[len]; /* the text matched up to here, so it is at most its end */
            if (!(next == '_' || (next >= 'a' && next <= 'z'))) break;
        }
        if (at_word && k < n_sub) {
            sb_add(b, "%s", sub[k].by);
            f += strlen(sub[k].word);
        } else {
            sb_add(b, "%c", *f++);
        }
    }
}

/* The symbolic form of dLoss/dpredicted (or, fused, dLoss/dz). */
static void sb_loss_symbol(sbuf *b, const ex_model *c, size_t i)
{
    char o[24], p[24];
    obs_name(c, i, o, sizeof o);
    pred_name(c, i, p, sizeof p);
    const subst sub[] = {{"predicted", p}, {"observed", o}};
    sb_formula(b, c->loss_op->derivative, sub, 2);
}

/* The same with this point's numbers in it, e.g. "-2(0 - -2.604)". */
static void sb_loss_numbers(sbuf *b, const ex_model *c, size_t r, size_t i)
{
    const float *y = dsc_dataset_y(c->d);
    double ts = 0;
    for (size_t j = 0; j < c->n_out; j++) ts += y[r * c->n_out + j];
    numtxt nt = num_sig(c->n_scale, 6), tt = num_sig(y[r * c->n_out + i], 4),
           pt = num_sig(c->a[ix(c, c->L, r, i)], 4), st = num_sig(ts, 4);
    const subst sub[] = {
        {"sum(observed)", st.s}, {"predicted", pt.s}, {"observed", tt.s}, {"N", nt.s}};
    sb_formula(b, c->loss_op->derivative, sub, 4);
}

/* Where a unit sat exactly on ReLU's kink at this point, says what its
 * derivative was taken to be, and why. */
static void sb_kink_note(sbuf *b, const ex_model *c, size_t k, size_t r, size_t i)
{
    unsigned char kk = c->kink[ix(c, k, r, i)];
    if (kk == KINK_NONE) return;
    const char *an = act_op(c->m, k)->name;
    double v = c->da[ix(c, k, r, i)];
    if (kk == KINK_RULE)
        sb_add(b, "      (z%zu.%zu = 0 exactly: %s'(0) = %s, the model's relu-grad-at-zero rule)\n",
               k, i + 1, an, N4(v));
    else if (kk == KINK_DRAWN)
        sb_add(b,
               "      (z%zu.%zu = 0 exactly: %s'(0) is drawn at random; backpropagation drew %s, "
               "used here)\n",
               k, i + 1, an, N4(v));
    else
        sb_add(b,
               "      (z%zu.%zu = 0 exactly: %s'(0) is drawn at random, and is multiplied by an "
               "error of 0 here, so either draw gives 0)\n",
               k, i + 1, an);
}

/* Runs the engine once (forward and backward on every row) for its
 * gradient, its float z values and, under the random ReLU rule, its draws;
 * then redoes the pass in double. */
static dsc_status run_passes(ex_model *c)
{
    const dsc_model *m = c->m;
    dsc_mlp_graph mg;
    dsc_status s = dsc_mlp_graph_build(m, 1, c->loss, c->rows, 0, &mg);
    if (s) return s;
    dsc_graph *g = mg.g;
    dsc_node *zn = dsc_calloc(c->L + 1, sizeof *zn), *an = dsc_calloc(c->L + 1, sizeof *an);
    if (!zn || !an) {
        s = dsc_fail(DSC_ENOMEM, "out of memory for an explanation");
        goto done;
    }
    if ((s = dsc_graph_bind(g, mg.x, dsc_dataset_x(c->d))) ||
        (s = dsc_graph_bind(g, mg.y, dsc_dataset_y(c->d))) ||
        (s = dsc_graph_set_batch(g, c->rows)) || (s = dsc_graph_forward(g)) ||
        (s = dsc_graph_backward(g, mg.loss)))
        goto done;

    /* The graph of layer k is act(add(matmul(a_{k-1}, W), b)): walk it
     * back from the output to find each layer's z and a nodes. */
    dsc_node cur = mg.out;
    for (size_t k = c->L; k >= 1; k--) {
        an[k] = cur;
        zn[k] = dsc_graph_node_input(g, cur, 0);
        dsc_node mm = dsc_graph_node_input(g, zn[k], 0);
        if (zn[k] < 0 || mm < 0 || strcmp(dsc_graph_op_text(g, zn[k]).name, "add") != 0) {
            s = dsc_fail(DSC_EUNSUPPORTED, "explain: the model's graph has an unexpected shape");
            goto done;
        }
        c->act_text[k] = dsc_graph_op_text(g, an[k]);
        cur = dsc_graph_node_input(g, mm, 0);
    }
    c->loss_text = dsc_graph_op_text(g, mg.loss);
    c->loss_op = g->nodes[mg.loss].def;
    /* The graph computes a sigmoid + bce or softmax + ce from the logits. */
    int fused = c->loss_op != dsc_loss_op(c->loss);
    c->mode = fused                                      ? OUT_FUSED
              : act_op(m, c->L)->flags & DSC_OPF_ROWWISE ? OUT_SOFTMAX
                                                         : OUT_ELEMENT;

    const float *bp = dsc_graph_grads(g);
    for (size_t i = 0; i < c->n_params; i++) c->bp[i] = bp[i];

    /* Forward in double. */
    const float *x = dsc_dataset_x(c->d), *y = dsc_dataset_y(c->d);
    for (size_t r = 0; r < c->rows; r++)
        for (size_t j = 0; j < c->n_in; j++)
            c->a[ix(c, 0, r, j)] = c->z[ix(c, 0, r, j)] = x[r * c->n_in + j];
    for (size_t k = 1; k <= c->L; k++) {
        const dsc_op_def *act = act_op(m, k);
        size_t nu = m->units[k], nin = m->units[k - 1];
        /* Left and right derivatives at a kink, from the reference. */
        double left = is_kinked(m, k) ? act->ref.deriv(0.0) : 0.0,
               right = is_kinked(m, k) ? act->ref.deriv(nextafter(0.0, 1.0)) : 0.0;
        const float *ez = dsc_graph_value(g, zn[k]).data;
        const float *gz = dsc_graph_grad(g, zn[k]).data, *ga = dsc_graph_grad(g, an[k]).data;
        for (size_t r = 0; r < c->rows; r++) {
            for (size_t i = 0; i < nu; i++) {
                double sum = c->p[b_index(c, k, i)];
                for (size_t j = 0; j < nin; j++)
                    sum += (double)c->p[w_index(c, k, i, j)] * c->a[ix(c, k - 1, r, j)];
                float e = ez[r * nu + i];
                size_t at = ix(c, k, r, i);
                c->z[at] = sum;
                if (act->flags & DSC_OPF_ROWWISE) continue; /* the whole row, below */
                if (is_kinked(m, k)) {
                    /* The side of the kink is the engine's: in float a z
                     * can be exactly 0 where double rounding is not. */
                    if (e == 0.0f) c->z[at] = sum = 0.0;
                    if (e > 0.0f) {
                        c->da[at] = right;
                    } else if (e < 0.0f) {
                        c->da[at] = left;
                    } else if (c->rule == DSC_RELU_GRAD_ZERO || c->rule == DSC_RELU_GRAD_ONE) {
                        c->da[at] = c->rule == DSC_RELU_GRAD_ONE ? right : left;
                        c->kink[at] = KINK_RULE;
                    } else if (ga && gz && ga[r * nu + i] != 0.0f) {
                        /* The engine adds the upstream gradient times its
                         * draw into a node nothing else feeds. */
                        c->da[at] = gz[r * nu + i] == ga[r * nu + i] ? right : left;
                        c->kink[at] = KINK_DRAWN;
                    } else {
                        c->da[at] = left;
                        c->kink[at] = KINK_NOEFFECT;
                    }
                } else {
                    c->da[at] = act->ref.deriv(sum);
                }
                c->a[at] = act->ref.value(sum);
            }
            if (act->flags & DSC_OPF_ROWWISE)
                act->ref.row(c->z + ix(c, k, r, 0), c->a + ix(c, k, r, 0), nu);
        }
    }

    /* Backward in double: the output layer's error, then the deltas. The
     * loss's gradient is its reference's, on the predictions or, fused, on
     * the logits z. */
    size_t L = c->L, no = c->n_out;
    double *t = dsc_malloc(2 * no * sizeof *t), *g_out = t + no;
    if (!t) {
        s = dsc_fail(DSC_ENOMEM, "out of memory for an explanation");
        goto done;
    }
    for (size_t r = 0; r < c->rows; r++) {
        for (size_t i = 0; i < no; i++) t[i] = y[r * no + i];
        const double *in = c->mode == OUT_FUSED ? c->z + ix(c, L, r, 0) : c->a + ix(c, L, r, 0);
        c->loss_op->ref.loss_row(in, t, no, g_out);
        for (size_t i = 0; i < no; i++) g_out[i] /= c->n_scale;
        for (size_t i = 0; i < no; i++)
            c->dpred[r * no + i] = c->mode == OUT_FUSED ? NAN : g_out[i];
        if (c->mode == OUT_SOFTMAX)
            act_op(m, L)->ref.row_back(c->a + ix(c, L, r, 0), g_out, c->delta + ix(c, L, r, 0), no);
        for (size_t i = 0; i < no && c->mode != OUT_SOFTMAX; i++) {
            size_t at = ix(c, L, r, i);
            c->delta[at] = c->mode == OUT_FUSED ? g_out[i] : g_out[i] * c->da[at];
        }
        for (size_t k = L - 1; k >= 1; k--) {
            for (size_t i = 0; i < m->units[k]; i++) {
                double sum = 0;
                for (size_t j = 0; j < m->units[k + 1]; j++)
                    sum += (double)c->p[w_index(c, k + 1, j, i)] * c->delta[ix(c, k + 1, r, j)];
                c->delta[ix(c, k, r, i)] = c->da[ix(c, k, r, i)] * sum;
            }
        }
    }
    dsc_free(t);
done:
    dsc_free(zn);
    dsc_free(an);
    dsc_mlp_graph_free(&mg);
    return s;
}

/* A parameter: its layer (1-based), unit, and input (or bias). */
typedef struct {
    size_t k, i, j;
    int bias;
} pinfo;

static pinfo param_info(const ex_model *c, size_t idx)
{
    pinfo pi = {0, 0, 0, 0};
    for (size_t k = 1; k <= c->L; k++) {
        size_t nin = c->m->units[k - 1], nu = c->m->units[k];
        if (idx >= c->m->w_off[k - 1] && idx < c->m->b_off[k - 1]) {
            size_t o = idx - c->m->w_off[k - 1];
            pi.k = k, pi.i = o / nin, pi.j = o % nin;
            return pi;
        }
        if (idx >= c->m->b_off[k - 1] && idx < c->m->b_off[k - 1] + nu) {
            pi.k = k, pi.i = idx - c->m->b_off[k - 1], pi.bias = 1;
            return pi;
        }
    }
    return pi;
}

/* One path from the parameter to the loss (every later layer has a single
 * unit), so the chain can be written factor by factor, as the seed does;
 * otherwise the paths are summed in the backpropagated errors. */
static int single_path(const ex_model *c, const pinfo *pi)
{
    if (c->mode == OUT_SOFTMAX) return 0;
    for (size_t k = pi->k + 1; k <= c->L; k++)
        if (c->m->units[k] != 1) return 0;
    return 1;
}

/* The factors of one point's term along the single path, in chain order;
 * returns how many. */
static size_t path_factors(const ex_model *c, const pinfo *pi, size_t r, double *f)
{
    size_t n = 0, L = c->L;
    size_t u = pi->k == L ? pi->i : 0;
    if (c->mode == OUT_FUSED) {
        f[n++] = c->delta[ix(c, L, r, u)];
    } else {
        f[n++] = c->dpred[r * c->n_out + u];
        f[n++] = c->da[ix(c, L, r, u)];
    }
    for (size_t k = L - 1; k >= pi->k && k >= 1; k--) {
        size_t uk = k == pi->k ? pi->i : 0;
        f[n++] = c->p[w_index(c, k + 1, 0, uk)];
        f[n++] = c->da[ix(c, k, r, uk)];
    }
    f[n++] = pi->bias ? 1.0 : c->a[ix(c, pi->k - 1, r, pi->j)];
    return n;
}

/* One point's contribution to dLoss/dparam. */
static double point_term(const ex_model *c, const pinfo *pi, size_t r)
{
    if (single_path(c, pi)) {
        double f[2 * 66 + 4];
        size_t n = path_factors(c, pi, r, f);
        double t = 1.0;
        for (size_t i = 0; i < n; i++) t *= f[i];
        return t;
    }
    double in = pi->bias ? 1.0 : c->a[ix(c, pi->k - 1, r, pi->j)];
    return c->delta[ix(c, pi->k, r, pi->i)] * in;
}

static void write_header(sbuf *b, const ex_model *c)
{
    const dsc_model *m = c->m;
    sb_add(b, "d%s/dparam for the network %s on %zu point%s, by the chain rule.\n\n", c->lname,
           m->spec, c->rows, c->rows == 1 ? "" : "s");
    if (c->mode == OUT_FUSED) {
        sb_add(b,
               "The loss: %s of the %s output, computed together from the output layer's inputs "
               "z (the logits):\n  %s = %s\n",
               c->lname, dsc_activation_name(m->act[c->L - 1]), c->lname, c->loss_text.formula);
        sb_add(b, "  its local derivative: d%s/dz = %s\n", c->lname, c->loss_text.derivative);
        sb_add(b,
               "  (the %s's derivative and the loss's cancel: what reaches z is simply (predicted "
               "- observed)/N)\n",
               dsc_activation_name(m->act[c->L - 1]));
    } else {
        sb_add(b, "The loss: %s = %s\n", c->lname, c->loss_text.formula);
        sb_add(b, "  its local derivative: d%s/dpredicted = %s\n", c->lname,
               c->loss_text.derivative);
    }
    if (c->loss_op->ref.norm != DSC_NORM_NONE)
        sb_add(b, "  N = %s (the %s)\n", N6(c->n_scale),
               c->loss_op->ref.norm == DSC_NORM_ROWS ? "number of rows"
                                                     : "number of outputs over all rows");
    sb_add(b, "Units: z2.1 is the input of unit 1 of layer 2 (weights x inputs + bias), a2.1 "
              "its output.\n");
    for (size_t k = 1; k <= c->L; k++) {
        const dsc_op_text *t = &c->act_text[k];
        sb_add(b, "  layer %zu (%s, %zu unit%s): ", k, k == c->L ? "output" : "hidden", m->units[k],
               m->units[k] == 1 ? "" : "s");
        /* Some formulas name their own result ("s(x) = ..."). */
        if (strchr(t->formula, '='))
            sb_add(b, "%s: %s; derivative %s\n", t->name, t->formula, t->derivative);
        else
            sb_add(b, "%s(x) = %s; %s'(x) = %s\n", t->name, t->formula, t->name, t->derivative);
        if (is_kinked(m, k)) {
            const dsc_op_def *a = act_op(m, k);
            numtxt l = num_sig(a->ref.deriv(0.0), 4), r = num_sig(a->ref.deriv(1.0), 4);
            if (c->rule == DSC_RELU_GRAD_ONE)
                sb_add(b, "    at exactly 0 this model takes %s (the right derivative)\n", r.s);
            else if (c->rule == DSC_RELU_GRAD_RANDOM)
                sb_add(b, "    at exactly 0 this model takes %s or %s, drawn at random\n", l.s,
                       r.s);
            else
                sb_add(b, "    at exactly 0 this model takes %s (the left derivative)\n", l.s);
        }
    }
    sb_add(b, "\n");
}

static void write_forward(sbuf *b, const ex_model *c)
{
    const dsc_model *m = c->m;
    const float *y = dsc_dataset_y(c->d);
    char nm[32];
    sb_add(b, "Forward pass, point by point:\n");
    for (size_t r = 0; r < c->rows; r++) {
        sb_add(b, "  point %zu:", r + 1);
        for (size_t j = 0; j < c->n_in; j++) {
            input_name(c, j, nm, sizeof nm);
            sb_add(b, "%s %s = %s", j ? "," : "", nm, N4(c->a[ix(c, 0, r, j)]));
        }
        for (size_t i = 0; i < c->n_out; i++) {
            obs_name(c, i, nm, sizeof nm);
            sb_add(b, ", %s = %s", nm, N4(y[r * c->n_out + i]));
        }
        sb_add(b, "\n");
        for (size_t k = 1; k <= c->L; k++) {
            size_t nin = m->units[k - 1];
            for (size_t i = 0; i < m->units[k]; i++) {
                size_t at = ix(c, k, r, i);
                sb_add(b, "    z%zu.%zu =", k, i + 1);
                if (nin <= MAX_LISTED_INPUTS) {
                    for (size_t j = 0; j < nin; j++) {
                        double w = c->p[w_index(c, k, i, j)];
                        numtxt in = num_sig(c->a[ix(c, k - 1, r, j)], 4);
                        char rest[64];
                        snprintf(rest, sizeof rest, " x %s", in.s);
                        if (j == 0)
                            sb_add(b, " %s%s", N4(w), rest);
                        else
                            sb_signed_term(b, w, rest);
                    }
                } else {
                    sb_add(b, " (%zu weights x inputs)", nin);
                }
                sb_signed_term(b, c->p[b_index(c, k, i)], "");
                sb_add(b, " = %s", N4(c->z[at]));
                if (k == c->L) {
                    pred_name(c, i, nm, sizeof nm);
                    sb_add(b, ", %s = ", nm);
                } else {
                    sb_add(b, ", a%zu.%zu = ", k, i + 1);
                }
                if (act_op(m, k)->flags & DSC_OPF_ROWWISE)
                    sb_add(b, "softmax(z%zu)_%zu = %s\n", k, i + 1, N4(c->a[at]));
                else
                    sb_add(b, "%s(%s) = %s\n", dsc_activation_name(m->act[k - 1]), N4(c->z[at]),
                           N4(c->a[at]));
            }
        }
    }
    sb_add(b, "\n");
}

/* The backpropagated errors delta = dLoss/dz of layers L down to kmin,
 * point by point: the chain rule summed over every path to the loss. */
static void write_deltas(sbuf *b, const ex_model *c, size_t kmin)
{
    const dsc_model *m = c->m;
    size_t L = c->L;
    char nm[32];
    sb_add(b,
           "Backpropagated errors delta = d%s/dz, point by point (each sums the chain rule over "
           "every path from its unit to the loss):\n",
           c->lname);
    for (size_t r = 0; r < c->rows; r++) {
        sb_add(b, "  point %zu:\n", r + 1);
        if (c->mode == OUT_SOFTMAX) {
            double dot = 0;
            for (size_t i = 0; i < c->n_out; i++) {
                pred_name(c, i, nm, sizeof nm);
                sb_add(b, "    d%s/d%s = ", c->lname, nm);
                sb_loss_numbers(b, c, r, i);
                sb_add(b, " = %s\n", N4(c->dpred[r * c->n_out + i]));
                dot += c->a[ix(c, L, r, i)] * c->dpred[r * c->n_out + i];
            }
            sb_add(b, "    sum over m of predicted_m x d%s/dpredicted_m = %s\n", c->lname, N4(dot));
            for (size_t i = 0; i < c->n_out; i++) {
                size_t at = ix(c, L, r, i);
                sb_add(b,
                       "    delta%zu.%zu = predicted%zu x (d%s/dpredicted%zu - that sum) = %s x "
                       "(%s - %s) = %s\n",
                       L, i + 1, i + 1, c->lname, i + 1, N4(c->a[at]),
                       N4(c->dpred[r * c->n_out + i]), N4(dot), N4(c->delta[at]));
            }
        } else {
            for (size_t i = 0; i < c->n_out; i++) {
                size_t at = ix(c, L, r, i);
                pred_name(c, i, nm, sizeof nm);
                if (c->mode == OUT_FUSED) {
                    sb_add(b, "    delta%zu.%zu = d%s/dz%zu.%zu = ", L, i + 1, c->lname, L, i + 1);
                    sb_loss_numbers(b, c, r, i);
                } else {
                    sb_add(b, "    delta%zu.%zu = d%s/d%s x %s'(z%zu.%zu) = ", L, i + 1, c->lname,
                           nm, dsc_activation_name(m->act[L - 1]), L, i + 1);
                    sb_loss_numbers(b, c, r, i);
                    sb_add(b, " x %s", N4(c->da[at]));
                }
                sb_add(b, " = %s\n", N4(c->delta[at]));
                sb_kink_note(b, c, L, r, i);
            }
        }
        for (size_t k = L - 1; k >= kmin && k >= 1; k--) {
            size_t nu1 = m->units[k + 1];
            const char *an = dsc_activation_name(m->act[k - 1]);
            for (size_t i = 0; i < m->units[k]; i++) {
                size_t at = ix(c, k, r, i);
                double sum = 0;
                for (size_t j = 0; j < nu1; j++)
                    sum += (double)c->p[w_index(c, k + 1, j, i)] * c->delta[ix(c, k + 1, r, j)];
                sb_add(b, "    delta%zu.%zu = %s'(z%zu.%zu) x (", k, i + 1, an, k, i + 1);
                if (nu1 <= MAX_LISTED_INPUTS) {
                    for (size_t j = 0; j < nu1; j++)
                        sb_add(b, "%s%s x delta%zu.%zu", j ? " + " : "",
                               c->pname[w_index(c, k + 1, j, i)], k + 1, j + 1);
                    sb_add(b, ")\n              = %s x (", N4(c->da[at]));
                    for (size_t j = 0; j < nu1; j++)
                        sb_add(b, "%s%s x %s", j ? " + " : "", N4(c->p[w_index(c, k + 1, j, i)]),
                               N4(c->delta[ix(c, k + 1, r, j)]));
                    sb_add(b, ") = %s\n", N4(c->delta[at]));
                } else {
                    sb_add(b,
                           "sum over the %zu units j of layer %zu of weight x delta%zu.j) = %s x "
                           "%s = %s\n",
                           nu1, k + 1, k + 1, N4(c->da[at]), N4(sum), N4(c->delta[at]));
                }
                sb_kink_note(b, c, k, r, i);
            }
        }
    }
    sb_add(b, "\n");
}

/* One block: dLoss/dparam as a chain, its value at every point, the sum. */
static void write_param(sbuf *b, const ex_model *c, size_t idx, const double *terms, double total)
{
    const dsc_model *m = c->m;
    pinfo pi = param_info(c, idx);
    const char *pn = c->pname[idx], *ln = c->lname;
    size_t L = c->L;
    char src[32], nm[32];
    source_name(c, pi.k, pi.j, src, sizeof src);
    if (single_path(c, &pi)) {
        size_t u = pi.k == L ? pi.i : 0;
        pred_name(c, u, nm, sizeof nm);
        sb_add(b, "d%s/d%s = sum over points of\n    ", ln, pn);
        if (c->mode == OUT_FUSED)
            sb_add(b, "d%s/dz%zu.%zu", ln, L, u + 1);
        else
            sb_add(b, "d%s/d%s x d%s/dz%zu.%zu", ln, nm, nm, L, u + 1);
        for (size_t k = L - 1; k >= pi.k && k >= 1; k--) {
            size_t uk = k == pi.k ? pi.i : 0;
            sb_add(b, " x dz%zu.1/da%zu.%zu x da%zu.%zu/dz%zu.%zu", k + 1, k, uk + 1, k, uk + 1, k,
                   uk + 1);
        }
        sb_add(b, " x dz%zu.%zu/d%s\n  = sum of ", pi.k, pi.i + 1, pn);
        sb_loss_symbol(b, c, u);
        if (c->mode != OUT_FUSED)
            sb_add(b, " x %s'(z%zu.%zu)", dsc_activation_name(m->act[L - 1]), L, u + 1);
        for (size_t k = L - 1; k >= pi.k && k >= 1; k--) {
            size_t uk = k == pi.k ? pi.i : 0;
            sb_add(b, " x %s x %s'(z%zu.%zu)", c->pname[w_index(c, k + 1, 0, uk)],
                   dsc_activation_name(m->act[k - 1]), k, uk + 1);
        }
        sb_add(b, " x %s\n", pi.bias ? "1" : src);
        if (pi.bias)
            sb_add(b, "    (dz%zu.%zu/d%s = 1: a bias adds to its unit's input)\n", pi.k, pi.i + 1,
                   pn);
        for (size_t r = 0; r < c->rows; r++) {
            double f[2 * 66 + 4];
            size_t n = path_factors(c, &pi, r, f);
            sb_add(b, "  point %zu: ", r + 1);
            sb_loss_numbers(b, c, r, u);
            for (size_t i = 1; i < n; i++) sb_add(b, " x %s", N4(f[i]));
            sb_add(b, " = %s\n", N4(terms[r]));
            for (size_t k = L; k >= pi.k && k >= 1; k--)
                sb_kink_note(b, c, k, r, k == pi.k ? pi.i : k == L ? u : 0);
        }
    } else {
        sb_add(b, "d%s/d%s = sum over points of d%s/dz%zu.%zu x dz%zu.%zu/d%s\n", ln, pn, ln, pi.k,
               pi.i + 1, pi.k, pi.i + 1, pn);
        sb_add(b, "  = sum of delta%zu.%zu x %s   (delta: the backpropagated error above)\n", pi.k,
               pi.i + 1, pi.bias ? "1" : src);
        for (size_t r = 0; r < c->rows; r++) {
            double in = pi.bias ? 1.0 : c->a[ix(c, pi.k - 1, r, pi.j)];
            sb_add(b, "  point %zu: %s x %s = %s\n", r + 1, N4(c->delta[ix(c, pi.k, r, pi.i)]),
                   N4(in), N4(terms[r]));
        }
    }
    sb_add(b, "  d%s/d%s = ", ln, pn);
    if (c->rows <= MAX_LISTED_TERMS && c->rows > 1) {
        sb_sum_terms(b, terms, c->rows, 4);
        sb_add(b, " = ");
    } else if (c->rows > 1) {
        sb_add(b, "the sum of the %zu terms = ", c->rows);
    }
    sb_add(b, "%s   (backpropagation gives %s)\n\n", N6(total), N6(c->bp[idx]));
}

/* The parameters asked for, in the order asked, each once. */
static dsc_status select_params(const dsc_model *m, const char *params, size_t *sel, size_t *n_sel)
{
    size_t np = dsc_model_param_count(m), n = 0;
    unsigned char seen[DSC_EXPLAIN_MAX_PARAMS] = {0};
    if (!params || !*params) {
        for (size_t i = 0; i < np; i++) sel[i] = i;
        *n_sel = np;
        return DSC_OK;
    }
    const char *s = params;
    while (*s) {
        while (*s == ' ' || *s == ',') s++;
        if (!*s) break;
        const char *e = s;
        while (*e && *e != ',') e++;
        size_t len = (size_t)(e - s);
        while (len > 0 && s[len - 1] == ' ') len--;
        char name[64];
        if (len >= sizeof name)
            return dsc_fail(DSC_ENOTFOUND, "explain: no parameter '%.*s'", (int)len, s);
        memcpy(name, s, len);
        name[len] = '\0';
        size_t first, count;
        dsc_status st = dsc_model_find(m, name, &first, &count);
        if (st) return st;
        for (size_t i = first; i < first + count; i++)
            if (!seen[i]) {
                seen[i] = 1;
                sel[n++] = i;
            }
        s = e;
    }
    if (n == 0) return dsc_fail(DSC_EINVAL, "explain: no parameter named in '%s'", params);
    *n_sel = n;
    return DSC_OK;
}

static void ex_free(ex_model *c)
{
    dsc_free(c->off);
    dsc_free(c->z);
    dsc_free(c->a);
    dsc_free(c->da);
    dsc_free(c->delta);
    dsc_free(c->kink);
    dsc_free(c->dpred);
    dsc_free(c->bp);
    dsc_free(c->pname);
    dsc_free(c->act_text);
}

dsc_status dsc_explain_model(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                             const char *params, int json, char **text, double *max_diff)
{
    if (text) *text = NULL;
    if (max_diff) *max_diff = 0.0;
    if (!m || !d || !text) return dsc_fail(DSC_EINVAL, "dsc_explain_model: NULL argument");
    if ((unsigned)loss >= DSC_LOSS_COUNT)
        return dsc_fail(DSC_EINVAL, "dsc_explain_model: unknown loss %d", (int)loss);
    size_t np = dsc_model_param_count(m), rows = dsc_dataset_rows(d);
    /* Convolutions and pools have their own explanation; data that does not
     * fit is refused below, as for every network. */
    int data_fits = rows && rows <= DSC_EXPLAIN_MAX_ROWS &&
                    dsc_dataset_inputs(d) == dsc_model_inputs(m) &&
                    dsc_dataset_outputs(d) == dsc_model_outputs(m);
    if (data_fits && !dsc_spec_is_mlp(m->arch))
        return dsc_explain_layers(m, d, loss, params, json, text, max_diff);
    if (np > DSC_EXPLAIN_MAX_PARAMS && dsc_spec_is_mlp(m->arch))
        return dsc_fail(DSC_EINVAL,
                        "explain: the network %s has %zu parameters; explain writes out at most "
                        "%d (DSC_EXPLAIN_MAX_PARAMS), beyond that the text is unreadable",
                        m->spec, np, DSC_EXPLAIN_MAX_PARAMS);
    if (rows > DSC_EXPLAIN_MAX_ROWS)
        return dsc_fail(DSC_EINVAL,
                        "explain: the data has %zu rows; explain writes out at most %d "
                        "(DSC_EXPLAIN_MAX_ROWS), beyond that the text is unreadable",
                        rows, DSC_EXPLAIN_MAX_ROWS);
    if (rows == 0) return dsc_fail(DSC_EINVAL, "explain: the data has no rows");
    if (dsc_dataset_inputs(d) != dsc_model_inputs(m) ||
        dsc_dataset_outputs(d) != dsc_model_outputs(m))
        return dsc_fail(DSC_ESHAPE,
                        "explain: the data has %zu inputs and %zu outputs, the network %s has %zu "
                        "and %zu",
                        dsc_dataset_inputs(d), dsc_dataset_outputs(d), m->spec, dsc_model_inputs(m),
                        dsc_model_outputs(m));
    size_t sel[DSC_EXPLAIN_MAX_PARAMS], n_sel = 0;
    dsc_status s = select_params(m, params, sel, &n_sel);
    if (s) return s;

    ex_model c;
    memset(&c, 0, sizeof c);
    c.m = m, c.d = d, c.loss = loss, c.rows = rows, c.n_params = np;
    c.L = m->n_layers, c.n_in = m->units[0], c.n_out = m->units[m->n_layers];
    c.p = m->params;
    c.rule = m->relu_rule;
    dsc_loss_norm norm = dsc_loss_op(loss)->ref.norm;
    c.n_scale = norm == DSC_NORM_NONE   ? 1.0
                : norm == DSC_NORM_ROWS ? (double)rows
                                        : (double)(rows * c.n_out);
    const char *lname = dsc_loss_name(loss);
    for (size_t i = 0; lname[i] && i + 1 < sizeof c.lname; i++)
        c.lname[i] = (char)(lname[i] >= 'a' && lname[i] <= 'z' ? lname[i] - 'a' + 'A' : lname[i]);
    size_t cells = 0;
    c.off = dsc_calloc(c.L + 1, sizeof *c.off);
    if (c.off)
        for (size_t k = 0; k <= c.L; k++) {
            c.off[k] = cells;
            cells += rows * m->units[k];
        }
    c.z = dsc_calloc(cells, sizeof *c.z);
    c.a = dsc_calloc(cells, sizeof *c.a);
    c.da = dsc_calloc(cells, sizeof *c.da);
    c.delta = dsc_calloc(cells, sizeof *c.delta);
    c.kink = dsc_calloc(cells, 1);
    c.dpred = dsc_calloc(rows * c.n_out, sizeof *c.dpred);
    c.bp = dsc_calloc(np, sizeof *c.bp);
    c.pname = dsc_calloc(np, sizeof *c.pname);
    c.act_text = dsc_calloc(c.L + 1, sizeof *c.act_text);
    double *terms = dsc_calloc(rows * n_sel, sizeof *terms);
    double *totals = dsc_calloc(n_sel, sizeof *totals);
    if (!c.off || !c.z || !c.a || !c.da || !c.delta || !c.kink || !c.dpred || !c.bp || !c.pname ||
        !c.act_text || !terms || !totals) {
        s = dsc_fail(DSC_ENOMEM, "out of memory for an explanation");
        goto done;
    }
    /* dsc_model_param_name reuses one buffer per call. */
    for (size_t i = 0; i < np; i++)
        snprintf(c.pname[i], sizeof c.pname[i], "%s", dsc_model_param_name(m, i));
    if ((s = run_passes(&c))) goto done;

    double worst = 0.0;
    size_t kmin = c.L + 1;
    for (size_t q = 0; q < n_sel; q++) {
        pinfo pi = param_info(&c, sel[q]);
        if (!single_path(&c, &pi) && pi.k < kmin) kmin = pi.k;
        double tot = 0.0;
        for (size_t r = 0; r < rows; r++) tot += terms[q * rows + r] = point_term(&c, &pi, r);
        totals[q] = tot;
        /* Relative above 1, absolute below, as the gradient check measures. */
        double bp = c.bp[sel[q]];
        double diff = fabs(tot - bp) / fmax(1.0, fabs(bp));
        if (!(diff <= worst)) worst = diff; /* a NaN wins */
    }
    if (max_diff) *max_diff = worst;

    sbuf b = {NULL, 0, 0, 0};
    if (json) {
        /* Strings through the one JSON writer's escaping (io/json.h). */
        sb_add(&b, "{\"loss\": ");
        sb_json(&b, dsc_loss_name(loss));
        sb_add(&b, ", \"network\": ");
        sb_json(&b, m->spec);
        sb_add(&b, ", \"max_diff\": %s, \"params\": {", NJ(worst));
        for (size_t q = 0; q < n_sel; q++) {
            sb_add(&b, "%s", q ? ", " : "");
            sb_json(&b, c.pname[sel[q]]);
            sb_add(&b, ": {\"total\": %s, \"backprop\": %s, \"points\": [", NJ(totals[q]),
                   NJ(c.bp[sel[q]]));
            for (size_t r = 0; r < rows; r++)
                sb_add(&b, "%s%s", r ? ", " : "", NJ(terms[q * rows + r]));
            sb_add(&b, "]}");
        }
        sb_add(&b, "}}\n");
    } else {
        write_header(&b, &c);
        write_forward(&b, &c);
        if (kmin <= c.L) write_deltas(&b, &c, kmin);
        for (size_t q = 0; q < n_sel; q++) write_param(&b, &c, sel[q], terms + q * rows, totals[q]);
        sb_add(&b,
               "Largest difference from backpropagation: %s (relative; ~1e-7 is float "
               "rounding)\n",
               N4(worst));
    }
    s = sb_finish(&b, text);
done:
    dsc_free(terms);
    dsc_free(totals);
    ex_free(&c);
    return s;
}

/* ------------------------------------------------------------------ */
/* The line fit                                                       */
/* ------------------------------------------------------------------ */

/* "intercept + 3.2" or "intercept - 3.2". */
static void sb_plus(sbuf *b, const char *name, double v)
{
    sb_add(b, "%s %s %s", name, v < 0 ? "-" : "+", N6(fabs(v)));
}

/* "A + K x name", leaving out a zero constant. */
static void sb_linear(sbuf *b, double a, double k, const char *name)
{
    if (a != 0.0)
        sb_add(b, "%s %s %s x %s", N6(a), k < 0 ? "-" : "+", N6(fabs(k)), name);
    else
        sb_add(b, "%s x %s", N6(k), name);
}

dsc_status dsc_explain_line(const float *x, const float *y, size_t n, double intercept,
                            double slope, int fit_slope, int json, char **text)
{
    if (text) *text = NULL;
    if (!x || !y || !text) return dsc_fail(DSC_EINVAL, "dsc_explain_line: NULL argument");
    if (n == 0) return dsc_fail(DSC_EINVAL, "explain: the line fit needs at least one point");
    if (n > DSC_EXPLAIN_MAX_ROWS)
        return dsc_fail(DSC_EINVAL,
                        "explain: the data has %zu points; explain writes out at most %d "
                        "(DSC_EXPLAIN_MAX_ROWS), beyond that the text is unreadable",
                        n, DSC_EXPLAIN_MAX_ROWS);
    if (!isfinite(intercept) || !isfinite(slope))
        return dsc_fail(DSC_EINVAL, "explain: the intercept and slope must be finite");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return dsc_fail(DSC_EINVAL, "explain: point %zu is not finite", i + 1);
    double *di = dsc_calloc(2 * n, sizeof *di);
    if (!di) return dsc_fail(DSC_ENOMEM, "out of memory for an explanation");
    double *ds = di + n;
    double sum_a = 0, sum_i = 0, sum_s = 0;
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = y[i], sx = slope * xi, c = yi - sx;
        di[i] = -2.0 * (c - intercept);
        ds[i] = -2.0 * xi * (yi - (intercept + sx));
        sum_a += -2.0 * c;
        sum_i += di[i];
        sum_s += ds[i];
    }

    sbuf b = {NULL, 0, 0, 0};
    if (json) {
        sb_add(&b, "{\"loss\": \"ssr\", \"at\": {\"intercept\": %s, \"slope\": %s}, \"params\": {",
               NJ(intercept), NJ(slope));
        sb_add(&b, "\"intercept\": {\"total\": %s, \"points\": [", NJ(sum_i));
        for (size_t i = 0; i < n; i++) sb_add(&b, "%s%s", i ? ", " : "", NJ(di[i]));
        sb_add(&b, "]}");
        if (fit_slope) {
            sb_add(&b, ", \"slope\": {\"total\": %s, \"points\": [", NJ(sum_s));
            for (size_t i = 0; i < n; i++) sb_add(&b, "%s%s", i ? ", " : "", NJ(ds[i]));
            sb_add(&b, "]}");
        }
        sb_add(&b, "}}\n");
        dsc_free(di);
        return sb_finish(&b, text);
    }

    sb_add(&b, "The line predicted = intercept + slope x input, and its loss SSR = sum (observed - "
               "predicted)^2.\n");
    sb_add(&b,
           "Each point's squared residual is differentiated by the chain rule, the other "
           "parameter held constant,\nat intercept = %s",
           N6(intercept));
    sb_add(&b, "%s%s.\n\n", fit_slope ? " and slope = " : ", with the slope fixed at ", N6(slope));
    numtxt nit = num_sig(intercept, 6);
    const char *ni = nit.s;
    for (size_t i = 0; i < n; i++) {
        double xi = x[i], yi = y[i], sx = slope * xi, c = yi - sx;
        numtxt xt = num_sig(xi, 6), yt = num_sig(yi, 6);
        const char *xsb = xt.s, *ysb = yt.s;
        sb_add(&b, "point %zu (input %s, observed %s):\n", i + 1, xsb, ysb);
        /* The intercept: the seed's worked example, step by step. */
        sb_add(&b, "  d/d intercept (%s - (intercept %s %s x %s))^2\n", ysb, slope < 0 ? "-" : "+",
               N6(fabs(slope)), xsb);
        sb_add(&b, "    = 2(%s - (", ysb);
        sb_plus(&b, "intercept", sx);
        sb_add(&b, ")) x (0 - (1 + 0))   [chain rule: outer x inner]\n");
        sb_add(&b, "    = -2(%s %s %s - intercept)\n", ysb, sx < 0 ? "+" : "-", N6(fabs(sx)));
        sb_add(&b, "    = -2(%s - intercept)\n", N6(c));
        sb_add(&b, "    = ");
        sb_linear(&b, -2.0 * c, 2.0, "intercept");
        sb_add(&b, "\n    at intercept = %s: %s\n", N6(intercept), N6(di[i]));
        if (fit_slope) {
            sb_add(&b, "  d/d slope (%s - (intercept + slope x %s))^2\n", ysb, xsb);
            sb_add(&b,
                   "    = 2(%s - (intercept + slope x %s)) x (0 - (0 + %s))   [chain rule: outer "
                   "x inner]\n",
                   ysb, xsb, xsb);
            sb_add(&b, "    = %s(%s - (intercept + slope x %s))\n", N6(-2.0 * xi), ysb, xsb);
            sb_add(&b, "    at intercept = %s, slope = %s: %s(%s - %s) = %s\n", N6(intercept),
                   N6(slope), N6(-2.0 * xi), ysb, N6(intercept + sx), N6(ds[i]));
        }
    }
    sb_add(&b, "\ndSSR/d intercept = the sum of the points' derivatives\n");
    sb_add(&b, "  = ");
    sb_linear(&b, sum_a, 2.0 * (double)n, "intercept");
    sb_add(&b, "\n  at intercept = %s: ", ni);
    if (n > 1 && n <= MAX_LISTED_TERMS) {
        sb_sum_terms(&b, di, n, 6);
        sb_add(&b, " = ");
    }
    sb_add(&b, "%s\n", N6(sum_i));
    if (fit_slope) {
        sb_add(&b,
               "dSSR/d slope = the sum of the points' derivatives\n  at intercept = %s, slope = "
               "%s: ",
               ni, N6(slope));
        if (n > 1 && n <= MAX_LISTED_TERMS) {
            sb_sum_terms(&b, ds, n, 6);
            sb_add(&b, " = ");
        }
        sb_add(&b, "%s\n", N6(sum_s));
    }
    dsc_free(di);
    return sb_finish(&b, text);
}

/* The public entry (descent.h); the internal name stays for the CLI. */
dsc_status dsc_model_explain(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                             const char *params, int json, char **text, double *max_diff)
{
    return dsc_explain_model(m, d, loss, params, json, text, max_diff);
}
