/* The chain rule written out: the seed's worked examples (dSSR/db3 of the
 * softplus network, the line's d/d intercept at the point (5, 1.3)), and
 * for every parameter of several networks the explained total agrees with
 * backpropagation. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "viz/explain.h"

static const float dosage[] = {0.0f, 0.5f, 1.0f};
static const float efficacy[] = {0.0f, 1.0f, 0.0f};

static dsc_model *model_with(const char *spec, const char *const *names, const float *values,
                             size_t n)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new(spec, &m));
    for (size_t i = 0; m && i < n; i++) CHECK_OK(dsc_model_set(m, names[i], values[i]));
    return m;
}

static const char *const seed_names[] = {"w1", "b1", "w2", "b2", "w3", "w4", "b3"};

/* The seed's softplus network before b3 is fitted. */
static dsc_model *seed_softplus(void)
{
    const float v[] = {3.34f, -1.43f, -3.53f, 0.57f, -1.22f, -2.30f, 0.0f};
    return model_with("1 -> 2:softplus -> 1:identity", seed_names, v, 7);
}

/* The seed's ReLU network: at dosage 0.5 the first hidden unit's input is
 * 1.70 x 0.5 - 0.85, exactly 0 in float (1.70f / 2 is 0.85f). */
static dsc_model *seed_relu(void)
{
    const float v[] = {1.70f, -0.85f, 12.6f, 0.0f, -40.8f, 2.70f, -16.0f};
    return model_with("1 -> 2:relu -> 1:relu", seed_names, v, 7);
}

static dsc_dataset *seed_data(void)
{
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(dosage, efficacy, 3, 1, 1, &d));
    return d;
}

/* A small JSON checker: enough of the grammar to reject anything a
 * parser would (values, nesting, commas, strings, numbers), and no NaN. */
static const char *json_ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    return s;
}

static const char *json_value(const char *s, int depth);

static const char *json_string(const char *s)
{
    if (*s != '"') return NULL;
    for (s++; *s && *s != '"'; s++) {
        if ((unsigned char)*s < 0x20) return NULL;
        if (*s == '\\' && !*++s) return NULL;
    }
    return *s == '"' ? s + 1 : NULL;
}

static const char *json_number(const char *s)
{
    const char *p = s;
    if (*p == '-') p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9') p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

static const char *json_value(const char *s, int depth)
{
    s = json_ws(s);
    if (depth > 32) return NULL;
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        s = json_ws(s + 1);
        if (*s == close) return s + 1;
        for (;;) {
            if (close == '}') {
                s = json_string(json_ws(s));
                if (!s) return NULL;
                s = json_ws(s);
                if (*s++ != ':') return NULL;
            }
            s = json_value(s, depth + 1);
            if (!s) return NULL;
            s = json_ws(s);
            if (*s == close) return s + 1;
            if (*s++ != ',') return NULL;
        }
    }
    if (*s == '"') return json_string(s);
    if (strncmp(s, "null", 4) == 0) return s + 4;
    if (strncmp(s, "true", 4) == 0) return s + 4;
    if (strncmp(s, "false", 5) == 0) return s + 5;
    return json_number(s);
}

static int json_ok(const char *text)
{
    const char *e = json_value(text, 0);
    return e && *json_ws(e) == '\0';
}

/* Python's parser as a second opinion, when there is a python3. */
static void check_json_with_python(const char *text)
{
    if (system("python3 -c 'pass' >/dev/null 2>&1") != 0) {
        printf("python3 not found: JSON checked by the built-in parser only\n");
        return;
    }
    FILE *f = popen("python3 -c 'import json,sys; json.load(sys.stdin)'", "w");
    if (!f) return;
    fputs(text, f);
    CHECK(pclose(f) == 0);
}

static void test_seed_b3(void)
{
    dsc_model *m = seed_softplus();
    dsc_dataset *d = seed_data();
    char *text = NULL;
    double diff = 1;
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, "b3", 0, &text, &diff));
    CHECK(text && strstr(text, "-15.6") != NULL);
    CHECK(text && strstr(text, "dSSR/db3") != NULL);
    CHECK(text && strstr(text, "-2(observed - predicted)") != NULL);
    CHECK(text && strstr(text, "backpropagation gives") != NULL);
    /* The op table's own text names the activation's derivative. */
    CHECK(text && strstr(text, "1/(1+e^-x)") != NULL);
    CHECK(diff < 1e-4);
    dsc_free(text);

    /* The same number through the JSON form. */
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, "b3", 1, &text, &diff));
    CHECK(text && json_ok(text));
    const char *t = text ? strstr(text, "\"total\": ") : NULL;
    double total = t ? atof(t + 9) : 0;
    CHECK(total < -15.6 && total > -15.7);
    if (text) check_json_with_python(text);
    dsc_free(text);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Every parameter, under several losses: the explained total is
 * backpropagation's. */
static void check_all(dsc_model *m, dsc_dataset *d, dsc_loss loss, const char *must_contain)
{
    char *text = NULL;
    double diff = 1;
    CHECK_OK(dsc_explain_model(m, d, loss, NULL, 0, &text, &diff));
    if (!(diff < 1e-4))
        fprintf(stderr, "%s, loss %s: max_diff %g\n", dsc_model_spec(m), dsc_loss_name(loss), diff);
    CHECK(diff < 1e-4);
    if (must_contain && !(text && strstr(text, must_contain)))
        fprintf(stderr, "%s: no \"%s\" in:\n%s\n", dsc_model_spec(m), must_contain, text);
    if (must_contain) CHECK(text && strstr(text, must_contain) != NULL);
    /* One block per parameter. */
    for (size_t i = 0; text && i < dsc_model_param_count(m); i++) {
        char head[64];
        snprintf(head, sizeof head, "/d%s = sum over points", dsc_model_param_name(m, i));
        CHECK(strstr(text, head) != NULL);
    }
    dsc_free(text);
    CHECK_OK(dsc_explain_model(m, d, loss, NULL, 1, &text, &diff));
    CHECK(text && json_ok(text));
    CHECK(diff < 1e-4);
    dsc_free(text);
}

static void test_seed_all_params(void)
{
    dsc_model *m = seed_softplus();
    dsc_dataset *d = seed_data();
    char *text = NULL;
    double diff = 1;
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, NULL, 0, &text, &diff));
    CHECK(diff < 1e-4);
    /* One block per parameter, each with its chain. */
    const char *blocks[] = {"dSSR/dw1 = ", "dSSR/dw2 = ", "dSSR/db1 = ", "dSSR/db2 = ",
                            "dSSR/dw3 = ", "dSSR/dw4 = ", "dSSR/db3 = "};
    for (size_t i = 0; i < 7; i++) CHECK(text && strstr(text, blocks[i]) != NULL);
    CHECK(text && strstr(text, "x w3 x softplus'(z1.1) x input") != NULL);
    dsc_free(text);
    check_all(m, d, DSC_LOSS_SSR, NULL);
    check_all(m, d, DSC_LOSS_MSE, "/3");
    check_all(m, d, DSC_LOSS_MAE, "sign(");
    check_all(m, d, DSC_LOSS_HUBER, NULL);

    /* A name that covers a tensor, and names that do not exist. */
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, "layer2.weight, b1", 0, &text, &diff));
    CHECK(text && strstr(text, "dSSR/dw4 = ") && strstr(text, "dSSR/db1 = ") &&
          !strstr(text, "dSSR/dw1 = "));
    dsc_free(text);
    text = (char *)1;
    CHECK(dsc_explain_model(m, d, DSC_LOSS_SSR, "w9", 0, &text, &diff) == DSC_ENOTFOUND);
    CHECK(text == NULL);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

static double param_grad_explained(dsc_model *m, dsc_dataset *d, const char *name, char **text)
{
    double diff = 1;
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, name, 1, text, &diff));
    CHECK(diff < 1e-4);
    const char *t = *text ? strstr(*text, "\"total\": ") : NULL;
    return t ? atof(t + 9) : NAN;
}

static void test_relu_kink(void)
{
    dsc_model *m = seed_relu();
    dsc_dataset *d = seed_data();
    CHECK(1.70f * 0.5f - 0.85f == 0.0f);
    char *text = NULL;
    const dsc_relu_grad rules[] = {DSC_RELU_GRAD_ZERO, DSC_RELU_GRAD_ONE, DSC_RELU_GRAD_RANDOM};
    for (size_t k = 0; k < 3; k++) {
        dsc_model_set_relu_grad(m, rules[k]);
        check_all(m, d, DSC_LOSS_SSR, "z1.1 = 0 exactly");
    }
    /* Only point 2 reaches the output (its z2.1 = 1.01 > 0), and there the
     * first hidden unit sits on the kink: dSSR/dw1 is -2(1 - 1.01) x 1 x
     * -40.8 x relu'(0) x 0.5, so 0 under the rule 0 and -0.408 under 1. */
    dsc_model_set_relu_grad(m, DSC_RELU_GRAD_ZERO);
    double g0 = param_grad_explained(m, d, "w1", &text);
    dsc_free(text);
    dsc_model_set_relu_grad(m, DSC_RELU_GRAD_ONE);
    double g1 = param_grad_explained(m, d, "w1", &text);
    dsc_free(text);
    CHECK(g0 == 0.0);
    CHECK_NEAR(g1, -2.0 * (1.0 - 1.01) * -40.8 * 0.5, 2e-3);
    dsc_model_set_relu_grad(m, DSC_RELU_GRAD_RANDOM);
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, "w1,b1", 0, &text, NULL));
    CHECK(text && strstr(text, "drawn at random") != NULL);
    dsc_free(text);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Random parameters and data for the wider networks. */
static dsc_model *random_model(const char *spec, uint64_t seed)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new(spec, &m));
    if (m) {
        CHECK_OK(dsc_model_init(m, DSC_INIT_NORMAL, seed));
        float *p = dsc_model_params(m);
        for (size_t i = 0; i < dsc_model_param_count(m); i++)
            if (p[i] == 0.0f) p[i] = 0.1f * (float)(i % 7) - 0.3f;
    }
    return m;
}

static dsc_dataset *random_data(size_t n, size_t n_in, size_t n_out, int one_hot, uint64_t seed)
{
    float x[64], y[64];
    dsc_rng r;
    dsc_rng_seed(&r, seed, 3);
    for (size_t i = 0; i < n * n_in; i++) x[i] = 2.0f * dsc_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < n; i++) {
        size_t hot = dsc_rng_below(&r, (uint32_t)n_out);
        for (size_t j = 0; j < n_out; j++)
            y[i * n_out + j] = one_hot ? (j == hot ? 1.0f : 0.0f) : dsc_rng_uniform(&r);
    }
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, n, n_in, n_out, &d));
    return d;
}

static void test_deep_and_classifiers(void)
{
    /* Two tanh hidden layers and two outputs: the sum over paths becomes
     * the backpropagated deltas. */
    dsc_model *m = random_model("2 -> 3:tanh,3:tanh -> 2:identity", 7);
    dsc_dataset *d = random_data(5, 2, 2, 0, 11);
    check_all(m, d, DSC_LOSS_SSR, "delta2.1 = tanh'(z2.1) x (w16 x delta3.1 + w19 x delta3.2)");
    check_all(m, d, DSC_LOSS_MSE, "Backpropagated errors");
    dsc_dataset_free(d);
    dsc_model_free(m);

    /* Deep but narrow: one path, written factor by factor. */
    m = random_model("1 -> 1:tanh -> 1:sigmoid -> 1:softplus -> 1:identity", 3);
    d = random_data(4, 1, 1, 0, 5);
    check_all(m, d, DSC_LOSS_SSR, "x w2 x tanh'(z1.1) x input");
    dsc_dataset_free(d);
    dsc_model_free(m);

    /* Softmax and cross-entropy, fused in the engine: (p - t)/rows. */
    m = random_model("2 -> 3:tanh -> 3:softmax", 9);
    d = random_data(6, 2, 3, 1, 13);
    check_all(m, d, DSC_LOSS_CE, "logits");
    /* Softmax into a squared loss: the full softmax Jacobian. */
    check_all(m, d, DSC_LOSS_SSR, "that sum");
    dsc_dataset_free(d);
    dsc_model_free(m);

    /* Sigmoid and binary cross-entropy, fused; and bce after a relu
     * output, not fused. */
    m = random_model("2 -> 3:leaky_relu -> 1:sigmoid", 21);
    d = random_data(6, 2, 1, 1, 17);
    check_all(m, d, DSC_LOSS_BCE, "dBCE/dz2.1");
    dsc_dataset_free(d);
    dsc_model_free(m);

    /* A wide layer: its sums are not written out term by term. */
    m = random_model("6 -> 4:relu -> 1:identity", 4);
    d = random_data(4, 6, 1, 0, 8);
    check_all(m, d, DSC_LOSS_SSR, "(6 weights x inputs)");
    dsc_dataset_free(d);
    dsc_model_free(m);

    /* A line as a network with no hidden layer. */
    m = random_model("1 -> 1:identity", 1);
    d = seed_data();
    check_all(m, d, DSC_LOSS_SSR, "dSSR/dw1 = ");
    dsc_dataset_free(d);
    dsc_model_free(m);
}

static void test_limits(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("8 -> 8:relu -> 1:identity", &m)); /* 81 parameters */
    dsc_dataset *d = random_data(3, 8, 1, 0, 1);
    char *text = (char *)1;
    double diff = 0;
    CHECK(dsc_explain_model(m, d, DSC_LOSS_SSR, NULL, 0, &text, &diff) == DSC_EINVAL);
    CHECK(text == NULL);
    CHECK(strstr(dsc_last_error(), "64") != NULL);
    dsc_dataset_free(d);
    dsc_model_free(m);

    m = seed_softplus();
    float x[DSC_EXPLAIN_MAX_ROWS + 1], y[DSC_EXPLAIN_MAX_ROWS + 1];
    for (size_t i = 0; i <= DSC_EXPLAIN_MAX_ROWS; i++) x[i] = y[i] = (float)i;
    CHECK_OK(dsc_dataset_from_arrays(x, y, DSC_EXPLAIN_MAX_ROWS + 1, 1, 1, &d));
    CHECK(dsc_explain_model(m, d, DSC_LOSS_SSR, NULL, 0, &text, &diff) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "32") != NULL);
    CHECK(dsc_explain_line(x, y, DSC_EXPLAIN_MAX_ROWS + 1, 0, 1, 1, 0, &text) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "32") != NULL);
    dsc_dataset_free(d);

    /* Data that does not fit the network. */
    CHECK_OK(dsc_dataset_from_arrays(x, y, 2, 2, 1, &d));
    CHECK(dsc_explain_model(m, d, DSC_LOSS_SSR, NULL, 0, &text, &diff) == DSC_ESHAPE);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

static void test_line(void)
{
    const float x[] = {5.0f}, y[] = {1.3f};
    char *text = NULL;
    CHECK_OK(dsc_explain_line(x, y, 1, 0.0, 0.64, 0, 0, &text));
    CHECK(text && strstr(text, "d/d intercept (1.3 - (intercept + 0.64 x 5))^2") != NULL);
    CHECK(text && strstr(text, "= 2(1.3 - (intercept + 3.2)) x (0 - (1 + 0))") != NULL);
    CHECK(text && strstr(text, "= -2(-1.9 - intercept)") != NULL);
    CHECK(text && strstr(text, "3.8 + 2 x intercept") != NULL);
    CHECK(text && strstr(text, "at intercept = 0: 3.8\n") != NULL);
    CHECK(text && strstr(text, "d/d slope") == NULL);
    dsc_free(text);

    /* Three points, both parameters: d/d slope of the first point is
     * -2 x 5 x (1.3 - 3.2) = 19. */
    const float xs[] = {5.0f, 0.5f, 2.0f}, ys[] = {1.3f, 1.4f, 2.9f};
    CHECK_OK(dsc_explain_line(xs, ys, 3, 0.0, 0.64, 1, 0, &text));
    CHECK(text && strstr(text, ": -10(1.3 - 3.2) = 19\n") != NULL);
    double si = 0, ss = 0;
    for (size_t i = 0; i < 3; i++) {
        double r = ys[i] - (0.0 + 0.64 * xs[i]);
        si += -2 * r;
        ss += -2 * xs[i] * r;
    }
    char want[64];
    snprintf(want, sizeof want, "= %.4g\n", si);
    CHECK(text && strstr(text, want) != NULL);
    dsc_free(text);
    CHECK_OK(dsc_explain_line(xs, ys, 3, 0.0, 0.64, 1, 1, &text));
    CHECK(text && json_ok(text));
    const char *t = text ? strstr(text, "\"slope\": {\"total\": ") : NULL;
    CHECK(t && fabs(atof(t + 19) - ss) < 1e-5);
    if (text) check_json_with_python(text);
    dsc_free(text);

    /* A negative slope reads as subtraction, not "+ -". */
    CHECK_OK(dsc_explain_line(x, y, 1, 1.0, -0.5, 0, 0, &text));
    CHECK(text && strstr(text, "(1.3 - (intercept - 0.5 x 5))^2") != NULL);
    CHECK(text && strstr(text, "-2(1.3 + 2.5 - intercept)") != NULL);
    CHECK(text && strstr(text, "-7.6 + 2 x intercept") != NULL);
    CHECK(text && strstr(text, "at intercept = 1: -5.6\n") != NULL);
    dsc_free(text);
}

static void test_locale(void)
{
    dsc_model *m = seed_softplus();
    dsc_dataset *d = seed_data();
    char *before = NULL, *after = NULL, *line_before = NULL, *line_after = NULL;
    const float x[] = {5.0f}, y[] = {1.3f};
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, NULL, 0, &before, NULL));
    CHECK_OK(dsc_explain_line(x, y, 1, 0.0, 0.64, 1, 0, &line_before));
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++)
        got = setlocale(LC_ALL, names[i]);
    if (!got) {
        printf("no comma-decimal locale installed: locale check skipped\n");
    } else {
        char probe[16];
        snprintf(probe, sizeof probe, "%.1f", 1.5);
        if (strchr(probe, ',') == NULL) printf("locale %s does not use a comma\n", got);
        CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, NULL, 0, &after, NULL));
        CHECK_OK(dsc_explain_line(x, y, 1, 0.0, 0.64, 1, 0, &line_after));
        CHECK(before && after && strcmp(before, after) == 0);
        CHECK(line_before && line_after && strcmp(line_before, line_after) == 0);
        setlocale(LC_ALL, "C");
    }
    dsc_free(before);
    dsc_free(after);
    dsc_free(line_before);
    dsc_free(line_after);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

int main(void)
{
    test_seed_b3();
    test_seed_all_params();
    test_relu_kink();
    test_deep_and_classifiers();
    test_limits();
    test_line();
    test_locale();
    return check_report();
}
