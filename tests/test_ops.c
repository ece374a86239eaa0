#define _POSIX_C_SOURCE 200809L
/* The op table: every id has a definition; every activation's and loss's
 * kernels agree with its reference in double, and the reference's
 * derivative with a difference of its value; the names round-trip; and the
 * C text an exporter reads compiles, on its own, to the engine's bits. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "graph/graph_internal.h"

static void test_table_complete(void)
{
    for (int i = 0; i < DSC_OP_COUNT; i++) {
        const dsc_op_def *d = dsc_ops[i];
        CHECK(d != NULL);
        if (!d) continue;
        CHECK(d->name && d->name[0] && d->formula && d->derivative);
        /* Ops that compute have kernels; a loss has two inputs. */
        if (d->kind != DSC_OPK_DATA) CHECK(d->shape && d->forward && d->backward);
        if (d->kind == DSC_OPK_LOSS) CHECK(d->n_in == 2 && d->ref.loss_row);
        if (d->kind == DSC_OPK_ACT) {
            CHECK(d->n_in == 1);
            CHECK((d->ref.value && d->ref.deriv) || (d->ref.row && d->ref.row_back));
            CHECK(d->out.onnx != NULL);
            CHECK(d->out.c_form == DSC_C_ELEMENT || d->out.c_form == DSC_C_ROW);
            CHECK(d->out.c && strchr(d->out.c, '{'));
        }
        for (int j = 0; j < i; j++) CHECK(strcmp(dsc_ops[j]->name, d->name) != 0);
    }
    /* Names and file codes, both ways; unknown values fail. */
    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        dsc_activation back = DSC_ACT_COUNT;
        CHECK_OK(dsc_activation_from_name(dsc_activation_name((dsc_activation)a), &back));
        CHECK(back == (dsc_activation)a);
        back = DSC_ACT_COUNT;
        CHECK_OK(dsc_activation_from_code((unsigned)dsc_activation_code((dsc_activation)a), &back));
        CHECK(back == (dsc_activation)a);
        CHECK(dsc_activation_op((dsc_activation)a)->kind == DSC_OPK_ACT);
    }
    for (int l = 0; l < DSC_LOSS_COUNT; l++) {
        dsc_loss back = DSC_LOSS_COUNT;
        CHECK_OK(dsc_loss_from_name(dsc_loss_name((dsc_loss)l), &back));
        CHECK(back == (dsc_loss)l);
        CHECK(dsc_loss_op((dsc_loss)l)->kind == DSC_OPK_LOSS);
    }
    dsc_activation a;
    CHECK(dsc_activation_from_name("swish", &a) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "leaky_relu") != NULL); /* lists the valid names */
    CHECK(dsc_activation_from_code(200, &a) == DSC_EFORMAT);
    CHECK(dsc_activation_op((dsc_activation)99) == NULL);
    CHECK(dsc_loss_op((dsc_loss)-1) == NULL);
    CHECK(strcmp(dsc_activation_name((dsc_activation)99), "?") == 0);
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node x = dsc_input(g, "x", 2);
    CHECK(dsc_activate(g, (dsc_activation)99, x) == -1);
    CHECK(dsc_graph_compile(g, 1, NULL, 0) == DSC_EINVAL);
    dsc_graph_free(g);
}

/* Inputs that cover both sides of 0, the kink itself, and large values. */
static const float points[] = {-30.0f, -7.5f, -2.0f, -0.7f, -0.01f, 0.0f,
                               0.003f, 0.25f, 1.0f,  2.5f,  9.0f,   40.0f};
enum { NP = sizeof points / sizeof points[0] };

/* A graph whose loss is sum w f(x), x a parameter: d loss/dx = f'(x) w. */
static void engine_values(dsc_activation act, const float *x, size_t n, const float *w, float *y,
                          float *dx)
{
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node xn = dsc_param(g, "x", 1, n), wn = dsc_param(g, "w", 1, n);
    dsc_node yn = dsc_activate(g, act, xn);
    dsc_node loss = dsc_sum(g, dsc_mul(g, yn, wn));
    CHECK_OK(dsc_graph_compile(g, 1, NULL, 0));
    float *p = dsc_graph_params(g);
    memcpy(p, x, n * sizeof(float));
    memcpy(p + n, w, n * sizeof(float));
    CHECK_OK(dsc_graph_forward(g));
    CHECK_OK(dsc_graph_backward(g, loss));
    memcpy(y, dsc_graph_value(g, yn).data, n * sizeof(float));
    memcpy(dx, dsc_graph_grads(g), n * sizeof(float));
    dsc_graph_free(g);
}

static int close_to(double a, double b, double rel) { return fabs(a - b) <= rel * (1 + fabs(b)); }

static void test_activation_refs(void)
{
    float ones[NP], y[NP], dx[NP];
    for (int i = 0; i < NP; i++) ones[i] = 1.0f;
    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        const dsc_op_def *d = dsc_activation_op((dsc_activation)a);
        if (d->flags & DSC_OPF_ROWWISE) continue;
        engine_values((dsc_activation)a, points, NP, ones, y, dx);
        for (int i = 0; i < NP; i++) {
            double x = points[i];
            if (!close_to(y[i], d->ref.value(x), 1e-6) || !close_to(dx[i], d->ref.deriv(x), 1e-6))
                fprintf(stderr, "%s at %g: engine %g %g, reference %g %g\n", d->name, x, y[i],
                        dx[i], d->ref.value(x), d->ref.deriv(x));
            CHECK(close_to(y[i], d->ref.value(x), 1e-6));
            CHECK(close_to(dx[i], d->ref.deriv(x), 1e-6));
            /* The reference's own derivative against its value, away from
             * a kink. */
            if ((d->flags & DSC_OPF_KINK) && fabs(x) < 0.01) continue;
            double h = 1e-5 * fmax(1.0, fabs(x));
            double num = (d->ref.value(x + h) - d->ref.value(x - h)) / (2 * h);
            CHECK(close_to(d->ref.deriv(x), num, 1e-6));
        }
        if (d->flags & DSC_OPF_KINK) CHECK(d->ref.deriv(1e-300) == 1.0);
    }
    /* softmax: the row reference and its vector-Jacobian product against
     * the engine, for the loss sum w softmax(x). */
    const float xs[] = {1.0f, -2.0f, 0.5f, 3.0f}, ws[] = {0.3f, -1.0f, 2.0f, 0.1f};
    double xd[4], yd[4], wd[4], dxd[4];
    engine_values(DSC_ACT_SOFTMAX, xs, 4, ws, y, dx);
    for (int i = 0; i < 4; i++) xd[i] = xs[i], wd[i] = ws[i];
    dsc_op_softmax.ref.row(xd, yd, 4);
    dsc_op_softmax.ref.row_back(yd, wd, dxd, 4);
    for (int i = 0; i < 4; i++) {
        CHECK(close_to(y[i], yd[i], 1e-6));
        CHECK(close_to(dx[i], dxd[i], 1e-6));
    }
}

/* Each loss on one row: the engine's value and gradient against the
 * reference (divided as its norm says), and the reference's gradient
 * against differences of its value. */
static void test_loss_refs(void)
{
    const float p[] = {0.2f, 0.7f, 0.1f, -1.5f, 2.0f, 0.4f};
    const float t[] = {0.0f, 1.0f, 0.0f, -1.0f, 0.5f, 0.4f};
    const float pp[] = {0.2f, 0.7f, 0.1f}, tp[] = {0.0f, 1.0f, 0.0f}; /* probabilities */
    for (int l = 0; l < DSC_LOSS_COUNT + 2; l++) {
        int logits = l >= DSC_LOSS_COUNT;
        const dsc_op_def *d = logits
                                  ? (l == DSC_LOSS_COUNT ? &dsc_op_bce_logits : &dsc_op_ce_logits)
                                  : dsc_loss_op((dsc_loss)l);
        int prob = !logits && (l == DSC_LOSS_BCE || l == DSC_LOSS_CE);
        size_t n = prob || d == &dsc_op_ce_logits ? 3 : 6;
        const float *pv = prob ? pp : p, *tv = prob || n == 3 ? tp : t;
        dsc_graph *g;
        CHECK_OK(dsc_graph_new(&g));
        dsc_node pn = dsc_param(g, "p", 1, n), tn = dsc_param(g, "t", 1, n);
        dsc_node pred = pn;
        dsc_loss which = (dsc_loss)l;
        if (logits) {
            pred = dsc_activate(g, l == DSC_LOSS_COUNT ? DSC_ACT_SIGMOID : DSC_ACT_SOFTMAX, pn);
            which = l == DSC_LOSS_COUNT ? DSC_LOSS_BCE : DSC_LOSS_CE;
        }
        dsc_node loss = dsc_loss_of(g, which, pred, tn);
        CHECK_OK(dsc_graph_compile(g, 1, NULL, 0));
        CHECK(g->nodes[loss].def == d);
        memcpy(dsc_graph_params(g), pv, n * sizeof(float));
        memcpy(dsc_graph_params(g) + n, tv, n * sizeof(float));
        CHECK_OK(dsc_graph_forward(g));
        CHECK_OK(dsc_graph_backward(g, loss));
        double pd[6], td[6], gd[6];
        for (size_t i = 0; i < n; i++) pd[i] = pv[i], td[i] = tv[i];
        double div = d->ref.norm == DSC_NORM_ELEMENTS ? (double)n : 1.0; /* one row */
        double v = d->ref.loss_row(pd, td, n, gd) / div;
        CHECK(close_to(dsc_graph_value(g, loss).data[0], v, 1e-6));
        for (size_t i = 0; i < n; i++) {
            CHECK(close_to(dsc_graph_grads(g)[i], gd[i] / div, 1e-5));
            if ((d->flags & DSC_OPF_KINK) && pd[i] == td[i]) continue;
            double h = 1e-6, keep = pd[i];
            pd[i] = keep + h;
            double up = d->ref.loss_row(pd, td, n, NULL);
            pd[i] = keep - h;
            double down = d->ref.loss_row(pd, td, n, NULL);
            pd[i] = keep;
            CHECK(close_to(gd[i], (up - down) / (2 * h), 1e-5));
        }
        dsc_graph_free(g);
    }
}

/* The activations' C text, compiled alone by the C compiler that built
 * these tests, gives the engine's bits: an exporter that emits it computes
 * what descent computes. */
static void test_c_text_compiles(void)
{
#ifdef DSC_TEST_CC
    char dir[] = "/tmp/dsc_ops_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char src[64], bin[64], out[64], cmd[512];
    snprintf(src, sizeof src, "%s/f.c", dir);
    snprintf(bin, sizeof bin, "%s/f", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    FILE *f = fopen(src, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "#include <math.h>\n#include <stdio.h>\n#include <stddef.h>\n");
    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        const dsc_op_def *d = dsc_activation_op((dsc_activation)a);
        if (d->out.c_form == DSC_C_ELEMENT)
            fprintf(f, "static float f%d(float x) %s\n", a, d->out.c);
        else
            fprintf(f, "static void f%d(float *x, size_t n) %s\n", a, d->out.c);
    }
    /* volatile: a compiler may evaluate calls on constants with its own
     * maths library at compile time; the engine calls the C library. */
    fprintf(f, "static volatile const float xs[] = {");
    for (int i = 0; i < NP; i++) fprintf(f, "%a, ", (double)points[i]);
    fprintf(f, "};\nint main(void) {\n");
    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        const dsc_op_def *d = dsc_activation_op((dsc_activation)a);
        if (d->out.c_form == DSC_C_ELEMENT)
            fprintf(f, "  for (int i = 0; i < %d; i++) printf(\"%%a\\n\", (double)f%d(xs[i]));\n",
                    NP, a);
        else
            fprintf(f,
                    "  { float r[%d]; for (int i = 0; i < %d; i++) r[i] = xs[i] / 8; f%d(r, %d);"
                    " for (int i = 0; i < %d; i++) printf(\"%%a\\n\", (double)r[i]); }\n",
                    NP, NP, a, NP, NP);
    }
    fprintf(f, "  return 0;\n}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -std=c11 -O2 -ffp-contract=off -o %s %s -lm && %s > %s",
             DSC_TEST_CC, bin, src, bin, out);
    int rc = system(cmd);
    CHECK(rc == 0);
    FILE *o = rc == 0 ? fopen(out, "r") : NULL;
    for (int a = 0; o && a < DSC_ACT_COUNT; a++) {
        float y[NP], dx[NP], x8[NP], ones[NP];
        for (int i = 0; i < NP; i++) x8[i] = points[i] / 8, ones[i] = 1.0f;
        int row = dsc_activation_op((dsc_activation)a)->out.c_form == DSC_C_ROW;
        engine_values((dsc_activation)a, row ? x8 : points, NP, ones, y, dx);
        for (int i = 0; i < NP; i++) {
            double v = 0;
            CHECK(fscanf(o, "%la", &v) == 1);
            if ((float)v != y[i])
                fprintf(stderr, "%s: C text gives %a, the engine %a at %g\n",
                        dsc_activation_name((dsc_activation)a), v, (double)y[i], (double)points[i]);
            CHECK((float)v == y[i]);
        }
    }
    if (o) fclose(o);
    remove(src), remove(bin), remove(out), rmdir(dir);
#else
    fprintf(stderr, "test_ops: no C compiler named at build time; C text not compiled\n");
#endif
}

/* Distance from y to the double v, in units of the last place of v as a
 * float (the spacing of floats at |v|, subnormals included). */
static double ulps(float y, double v)
{
    float r = (float)v;
    float up = nextafterf(fabsf(r), INFINITY);
    double spacing = isinf(up) ? ldexp(1.0, 104) : (double)up - fabs((double)r);
    return fabs((double)y - v) / spacing;
}

/* softplus, the engine's own ln(1 + e^x) (no log1pf), is within 1 ulp of
 * the reference in double over the whole float range: every 4099th bit
 * pattern (a million inputs, of every exponent and both signs) and the
 * edges. `dscbench softplus` runs all 2^32. */
static void test_softplus_ulps(void)
{
    enum { N = (1u << 20) + 16 };
    const uint32_t stride = 4099;
    float *x = malloc(N * sizeof *x);
    CHECK(x != NULL);
    if (!x) return;
    size_t n = 0;
    for (uint64_t b = 0; b < (1ull << 32) && n < N; b += stride) {
        uint32_t u = (uint32_t)b;
        memcpy(&x[n], &u, sizeof u);
        if (!isnan(x[n])) n++;
    }
    const float edges[] = {0.0f,       -0.0f,       INFINITY, -INFINITY, FLT_MIN, -FLT_MIN,
                           FLT_MAX,    -FLT_MAX,    88.72f,   -88.72f,   103.9f,  -103.9f,
                           0.8813736f, -0.8813736f, 1e-30f,   -1e-30f};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0] && n < N; i++) x[n++] = edges[i];
    dsc_graph *g;
    CHECK_OK(dsc_graph_new(&g));
    dsc_node xn = dsc_param(g, "x", 1, n);
    dsc_node yn = dsc_activate(g, DSC_ACT_SOFTPLUS, xn);
    CHECK_OK(dsc_graph_compile(g, 1, NULL, 0));
    memcpy(dsc_graph_params(g), x, n * sizeof(float));
    CHECK_OK(dsc_graph_forward(g));
    const float *y = dsc_graph_value(g, yn).data;
    const dsc_op_def *d = dsc_activation_op(DSC_ACT_SOFTPLUS);
    double worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double v = d->ref.value((double)x[i]);
        double e = isinf(v) ? (y[i] == (float)v ? 0.0 : INFINITY) : ulps(y[i], v);
        if (e > worst) worst = e;
        if (e > 1.0 && bad++ < 5)
            fprintf(stderr, "softplus(%a) = %a, reference %a: %.3f ulp\n", (double)x[i],
                    (double)y[i], v, e);
    }
    CHECK(bad == 0);
    CHECK(n > 1000000);
    /* NaN in, NaN out. */
    float *p = dsc_graph_params(g);
    p[0] = NAN;
    CHECK_OK(dsc_graph_forward(g));
    CHECK(isnan(dsc_graph_value(g, yn).data[0]));
    dsc_graph_free(g);
    free(x);
    fprintf(stderr, "test_ops: softplus over %zu inputs: worst %.4f ulp\n", n, worst);
}

int main(void)
{
    test_table_complete();
    test_activation_refs();
    test_softplus_ulps();
    test_loss_refs();
    test_c_text_compiles();
    return check_report();
}
