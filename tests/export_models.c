/* Writes the models tests/cli_export.sh exports that the command line
 * cannot train: a single sigmoid output with two class names, every
 * activation in one network, names that C and JSON must escape, widths
 * that reach every branch of the exported dot product (fewer than 8
 * terms, leftovers after lanes of 32, a second block of 4096), random
 * biases and standardisation of inputs and targets.
 * Usage: export_models DIR
 *
 * export_models --predict MODEL reads rows of comma-separated inputs on
 * standard input and prints what the library's one-row path gives for
 * each (dsc_predict on a one-row workspace, row invariance off: a dot
 * product per unit), as tests/export_driver.c prints an exported model's
 * outputs, the class dsc_model_class_of picks last for a classifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descent.h"

static const char *dir;

/* Weights from a seeded init, biases and standardisation from a simple
 * generator: deterministic, and far from the zeros that hide bugs. */
static unsigned long long state = 12345;
static float uniform(float lo, float hi)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((state >> 40) & 0xffffff) / 16777216.0f;
}

static dsc_model *make(const char *spec, dsc_init init, int std_x, int std_y)
{
    dsc_model *m;
    if (dsc_model_new(spec, &m) || dsc_model_init(m, init, 7)) {
        fprintf(stderr, "%s: %s\n", spec, dsc_last_error());
        exit(1);
    }
    float *p = dsc_model_params(m);
    for (size_t i = 0; i < dsc_model_param_count(m); i++)
        if (dsc_model_param_name(m, i)[0] == 'b') p[i] = uniform(-0.5f, 0.5f);
    size_t ni = dsc_model_inputs(m), no = dsc_model_outputs(m);
    float *xm = malloc(ni * sizeof(float)), *xs = malloc(ni * sizeof(float));
    float *ym = malloc(no * sizeof(float)), *ys = malloc(no * sizeof(float));
    for (size_t j = 0; j < ni; j++) xm[j] = uniform(-3, 3), xs[j] = uniform(0.2f, 4);
    for (size_t j = 0; j < no; j++) ym[j] = uniform(-50, 50), ys[j] = uniform(0.5f, 20);
    if (dsc_model_set_standardization(m, std_x ? xm : NULL, std_x ? xs : NULL, std_y ? ym : NULL,
                                      std_y ? ys : NULL)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        exit(1);
    }
    free(xm), free(xs), free(ym), free(ys);
    /* Columns x1..xN, targets y1..yM (tests/cli_export.sh writes data
     * with these names). */
    char **names = malloc(ni * sizeof *names), target[4096] = "";
    for (size_t j = 0; j < ni; j++) {
        names[j] = malloc(32);
        snprintf(names[j], 32, "x%zu", j + 1);
    }
    for (size_t j = 0; j < no && strlen(target) < sizeof target - 32; j++)
        snprintf(target + strlen(target), 32, "%sy%zu", j ? "," : "", j + 1);
    dsc_model_set_input_names(m, (const char *const *)names);
    dsc_model_set_target(m, target);
    for (size_t j = 0; j < ni; j++) free(names[j]);
    free(names);
    return m;
}

static void save(dsc_model *m, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.model", dir, name);
    if (dsc_model_save(m, path)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        exit(1);
    }
    dsc_model_free(m);
}

static int predict_rows(const char *path)
{
    dsc_model *m;
    dsc_workspace *ws;
    if (dsc_model_load(path, &m) || dsc_workspace_new(m, 1, &ws)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        return 1;
    }
    size_t ni = dsc_model_inputs(m), no = dsc_model_outputs(m);
    float *x = malloc(ni * sizeof(float)), *y = malloc(no * sizeof(float));
    int rc = 0;
    for (;;) {
        size_t j = 0;
        for (; j < ni; j++) {
            double v;
            if (scanf(j ? " ,%lf" : " %lf", &v) != 1) break;
            x[j] = (float)v;
        }
        if (j == 0 && feof(stdin)) break;
        if (j < ni || dsc_predict(m, ws, x, 1, y)) {
            fprintf(stderr, "a row could not be read or predicted: %s\n", dsc_last_error());
            rc = 1;
            break;
        }
        for (j = 0; j < no; j++) printf("%s%.9g", j ? "," : "", (double)y[j]);
        if (dsc_model_classes(m)) printf(",%zu", dsc_model_class_of(m, y));
        printf("\n");
    }
    free(x);
    free(y);
    dsc_workspace_free(ws);
    dsc_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--predict") == 0) return predict_rows(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: export_models DIR\n");
        return 2;
    }
    dir = argv[1];

    /* One sigmoid output read as two classes. */
    dsc_model *m = make("4 -> 5:sigmoid -> 1:sigmoid", DSC_INIT_XAVIER_NORMAL, 1, 0);
    const char *yesno[] = {"no", "yes"};
    dsc_model_set_classes(m, yesno, 2);
    dsc_model_set_target(m, "label");
    save(m, "sigmoid_classes");

    /* Every activation, four layers, both standardisations. */
    save(make("6 -> 9:leaky_relu -> 8:tanh -> 7:softplus -> 2:identity", DSC_INIT_HE_NORMAL, 1, 1),
         "all_acts");
    m = make("5 -> 40:sigmoid -> 33:relu -> 3:softmax", DSC_INIT_XAVIER_NORMAL, 1, 0);
    const char *pqr[] = {"p", "q", "r"};
    dsc_model_set_classes(m, pqr, 3);
    dsc_model_set_target(m, "label");
    save(m, "softmax");

    /* Widths past the lanes: 300 = 9 x 32 + 12, 70 = 2 x 32 + 6. */
    save(make("300 -> 70:tanh -> 33:relu -> 1:identity", DSC_INIT_HE_NORMAL, 0, 1), "wide");
    /* Two blocks of 4096 terms. */
    m = make("5000 -> 3:softmax", DSC_INIT_XAVIER_NORMAL, 1, 0);
    const char *abc[] = {"a", "b", "c"};
    dsc_model_set_classes(m, abc, 3);
    dsc_model_set_target(m, "label");
    save(m, "two_blocks");
    /* A linear model with standardised targets: one output, no hidden layer. */
    save(make("3 -> 1:identity", DSC_INIT_XAVIER_UNIFORM, 1, 1), "linear");

    /* Only ReLU-family activations: an export that needs no library. */
    save(make("7 -> 12:relu -> 5:leaky_relu -> 2:identity", DSC_INIT_HE_UNIFORM, 1, 1),
         "relu_only");

    /* Names the C and JSON writers must escape, and one longer than C99's
     * 4095-character string literal. */
    m = make("3 -> 4:relu -> 3:softmax", DSC_INIT_HE_UNIFORM, 0, 0);
    static char longname[5001];
    memset(longname, 'n', 5000);
    const char *in[] = {"he said \"hi\"", "back\\slash ?\?/ */ end", longname};
    const char *cls[] = {"caf\xc3\xa9", "tab\there", "new\nline, comma"};
    dsc_model_set_input_names(m, in);
    dsc_model_set_classes(m, cls, 3);
    dsc_model_set_target(m, "kind */ of ?\?= thing");
    save(m, "odd_names");
    return 0;
}
