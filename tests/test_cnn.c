#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
/* Networks with convolution and pooling, through the public API: spec
 * strings (shapes, parameter counts, canonical text, errors with their
 * column), names, initialisation, the gradient check of every layer kind,
 * saving and loading (format 2, bit for bit, the loader's checks), and
 * training: the loss falls, the same seed gives the same model, a resumed
 * run equals an uninterrupted one. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "descent.h"
#include "io/model_file.h"
#include "viz/explain.h"
#include "viz/plots.h"

static void test_specs(void)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("1x28x28 -> conv32@3x3:relu,maxpool2,conv64@3x3:relu,maxpool2,128:relu "
                           "-> 10:softmax",
                           &m));
    CHECK(strcmp(dsc_model_spec(m), "1x28x28 -> conv32@3x3:relu -> maxpool2 -> conv64@3x3:relu -> "
                                    "maxpool2 -> 128:relu -> 10:softmax") == 0);
    /* PyTorch's count for the same network: 320 + 18496 + 204928 + 1290. */
    CHECK(dsc_model_param_count(m) == 225034);
    CHECK(dsc_model_inputs(m) == 784 && dsc_model_outputs(m) == 10 && dsc_model_layers(m) == 6);
    CHECK(dsc_model_layer_units(m, 0) == 32 * 26 * 26);
    CHECK(dsc_model_layer_units(m, 1) == 32 * 13 * 13);
    CHECK(dsc_model_layer_units(m, 3) == 64 * 5 * 5); /* 11 / 2: the last row dropped */
    size_t dims[3];
    CHECK(dsc_model_input_shape(m, dims) == 3 && dims[0] == 1 && dims[1] == 28 && dims[2] == 28);
    /* Names: the first filter's weights are w1..w9, its bias b1; the
     * second conv layer is layer 3. */
    CHECK(strcmp(dsc_model_param_name(m, 0), "w1") == 0);
    CHECK(strcmp(dsc_model_param_name(m, 288), "b1") == 0);
    CHECK(strcmp(dsc_model_param_name(m, 320), "w289") == 0);
    size_t first, count;
    CHECK_OK(dsc_model_find(m, "layer3.weight", &first, &count));
    CHECK(first == 320 && count == 64 * 32 * 9);
    CHECK(dsc_model_find(m, "layer2.weight", &first, &count) == DSC_ENOTFOUND); /* a pool */
    dsc_model_free(m);

    /* Stride, padding, avgpool, a signal, flatten, kernels KHxKW. */
    const struct {
        const char *spec, *canon;
        size_t params, out1;
    } good[] = {
        {"3x9x9 -> conv4@3x3s2p1:tanh -> avgpool2s1 -> 5:identity",
         "3x9x9 -> conv4@3x3s2p1:tanh -> avgpool2s1 -> 5:identity", 4 * 27 + 4 + 5 * 4 * 16 + 5,
         4 * 5 * 5},
        {"2x100, conv8@5:relu, maxpool3, conv4@3s2p2, flatten, 1:sigmoid",
         "2x100 -> conv8@5:relu -> maxpool3 -> conv4@3s2p2:identity -> flatten -> 1:sigmoid",
         8 * 10 + 8 + 4 * 24 + 4 + 4 * 17 + 1, 8 * 96},
        {"1x5x7 -> conv2@2x3p1 -> 3:relu", "1x5x7 -> conv2@2x3p1:identity -> 3:relu",
         2 * 6 + 2 + 3 * 2 * 6 * 7 + 3, 2 * 6 * 7},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_OK(dsc_model_new(good[i].spec, &m));
        if (!m) continue;
        if (strcmp(dsc_model_spec(m), good[i].canon))
            fprintf(stderr, "spec %s: canonical %s\n", good[i].spec, dsc_model_spec(m));
        CHECK(strcmp(dsc_model_spec(m), good[i].canon) == 0);
        CHECK(dsc_model_param_count(m) == good[i].params);
        CHECK(dsc_model_layer_units(m, 0) == good[i].out1);
        /* The canonical text parses to the same network. */
        dsc_model *again;
        CHECK_OK(dsc_model_new(dsc_model_spec(m), &again));
        CHECK(again && strcmp(dsc_model_spec(again), good[i].canon) == 0);
        dsc_model_free(again);
        dsc_model_free(m);
    }

    const struct {
        const char *spec, *needle;
    } bad[] = {
        {"784 -> conv8@3x3:relu -> 10:softmax", "column 8: a convolution needs an image"},
        {"1x4x4 -> conv8@5x5 -> 2:identity", "does not fit"},
        {"1x28x28 -> conv8@3x3:nope -> 2:identity", "unknown activation 'nope'"},
        {"1x28x28 -> conv8@3x3s0 -> 2:identity", "expected a stride"},
        {"1x28x28 -> conv@3 -> 2:identity", "expected the number of filters"},
        {"1x28x28 -> conv8 -> 2:identity", "expected '@'"},
        {"1x100 -> conv8@3x3 -> 2:identity", "a signal's kernel is one number"},
        {"1x28x28 -> maxpool0 -> 2:identity", "window size"},
        {"1x28x28 -> maxpool29 -> 2:identity", "does not fit"},
        {"1x28x28 -> conv8@3x3q -> 2:identity", "unexpected text"},
        {"1x2x3x4 -> 2:identity", "at most 3 dimensions"},
        {"0x28x28 -> 2:identity", "expected the number of inputs"},
        {"1x28x28 -> pool2 -> 2:identity", "expected a layer"},
        {"1x28x28 -> conv8@3x3:softmax -> 2:identity", "softmax is only for the output layer"},
        {"10000x10000x10 -> 2:identity", "more than 100000000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = (dsc_model *)1;
        CHECK(dsc_model_new(bad[i].spec, &m) == DSC_EFORMAT);
        CHECK(m == NULL);
        if (!strstr(dsc_last_error(), bad[i].needle))
            fprintf(stderr, "%s: %s\n", bad[i].spec, dsc_last_error());
        CHECK(strstr(dsc_last_error(), bad[i].needle) != NULL);
    }
}

/* He-uniform for a ReLU conv layer: fan in C KH KW. */
static void test_init(void)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("2x8x8 -> conv16@3x3:relu -> 4:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 3));
    const float *p = dsc_model_params_const(m);
    double bound = sqrt(6.0 / 18.0), top = 0;
    for (size_t i = 0; i < 16 * 18; i++) top = fmax(top, fabs(p[i]));
    CHECK(top <= bound && top > 0.9 * bound);
    for (size_t i = 16 * 18; i < 16 * 18 + 16; i++) CHECK(p[i] == 0.0f);
    dsc_model_free(m);
}

static float val(size_t i, size_t salt)
{
    return (float)((i * 37 + salt * 101 + (i * i) % 13) % 97) / 48.5f - 1.0f;
}

/* Random images of two classes that differ in where they are bright. */
static dsc_dataset *images(size_t n, size_t c, size_t h, size_t w, uint64_t salt)
{
    size_t d = c * h * w;
    float *x = malloc(n * d * sizeof(float)), *y = calloc(n * 2, sizeof(float));
    for (size_t i = 0; i < n; i++) {
        int cls = (int)((i * 7 + salt) % 2);
        for (size_t j = 0; j < d; j++) {
            size_t col = j % w;
            x[i * d + j] = 0.3f * val(i * d + j, salt) + (cls == (col < w / 2) ? 0.8f : 0.0f);
        }
        y[i * 2 + (size_t)cls] = 1.0f;
    }
    dsc_dataset *ds = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, n, d, 2, &ds));
    free(x);
    free(y);
    return ds;
}

static void test_gradcheck_layers(void)
{
    const char *specs[] = {
        "2x7x6 -> conv3@3x3s2p1:tanh -> maxpool2 -> 3:sigmoid -> 2:identity",
        "1x9x9 -> conv2@2x2:softplus -> avgpool3s2 -> conv2@2x2p1:tanh -> flatten -> 2:identity",
        "3x11 -> conv2@3s2p1:tanh -> maxpool2s1 -> avgpool2 -> 2:softmax",
    };
    for (size_t i = 0; i < 3; i++) {
        dsc_model *m;
        CHECK_OK(dsc_model_new(specs[i], &m));
        CHECK_OK(dsc_model_init(m, DSC_INIT_XAVIER_NORMAL, 5 + i));
        size_t dims[3], r = dsc_model_input_shape(m, dims);
        dsc_dataset *d = images(3, dims[0], r == 3 ? dims[1] : 1, r == 3 ? dims[2] : dims[1], i);
        double err = 1;
        size_t worst = 0, kinks = 0;
        CHECK_OK(
            dsc_model_gradcheck(m, d, i == 2 ? DSC_LOSS_CE : DSC_LOSS_MSE, &err, &worst, &kinks));
        if (!(err < 1e-3)) fprintf(stderr, "%s: %g at %zu\n", specs[i], err, worst);
        CHECK(err < 1e-3);
        dsc_dataset_free(d);
        dsc_model_free(m);
    }
}

static void train(dsc_model *m, const dsc_dataset *d, size_t epochs, dsc_train_result *r,
                  int (*on_checkpoint)(const dsc_train_state *, void *), void *user,
                  const dsc_train_state *resume)
{
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_CE;
    p.optimizer = DSC_OPT_ADAM;
    p.learning_rate = 0.01;
    p.batch = 16;
    p.epochs = epochs;
    p.seed = 9;
    p.on_checkpoint = on_checkpoint;
    p.checkpoint_every = on_checkpoint ? 1 : 0;
    p.user = user;
    p.resume = resume;
    CHECK_OK(dsc_train(m, d, &p, r));
}

typedef struct {
    const dsc_model *m;
    size_t at;
    uint8_t *file;
    size_t size;
} ckpt;

/* Keeps the checkpoint of epoch `at` in memory (a file, round-tripped). */
static int keep_checkpoint(const dsc_train_state *st, void *user)
{
    ckpt *c = user;
    if (st->epoch != c->at) return 0;
    char path[] = "/tmp/dsc_cnn_ckptXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    CHECK_OK(dsc_checkpoint_save(c->m, st, path));
    FILE *f = fopen(path, "rb");
    c->file = malloc(1 << 20);
    c->size = f ? fread(c->file, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    remove(path);
    return 0;
}

static void test_train_save_resume(void)
{
    const char *spec = "1x8x8 -> conv4@3x3:relu -> maxpool2 -> 6:relu -> 2:softmax";
    dsc_dataset *d = images(96, 1, 8, 8, 1);
    dsc_model *a, *b;
    CHECK_OK(dsc_model_new(spec, &a));
    CHECK_OK(dsc_model_new(spec, &b));
    CHECK_OK(dsc_model_init(a, DSC_INIT_DEFAULT, 4));
    CHECK_OK(dsc_model_init(b, DSC_INIT_DEFAULT, 4));
    double before;
    CHECK_OK(dsc_evaluate_loss(a, d, DSC_LOSS_CE, &before));
    dsc_train_result r;
    ckpt c = {a, 2, NULL, 0};
    train(a, d, 6, &r, keep_checkpoint, &c, NULL);
    CHECK(r.epochs == 6 && r.loss < 0.5 * before);
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(a, d, DSC_LOSS_CE, &mt));
    dsc_metrics_free(&mt);

    /* The same seed: the same bits. */
    train(b, d, 6, &r, NULL, NULL, NULL);
    size_t n = dsc_model_param_count(a);
    CHECK(memcmp(dsc_model_params(a), dsc_model_params(b), n * sizeof(float)) == 0);

    /* Resumed from epoch 2: the same bits as the run never stopped. */
    CHECK(c.size > 0);
    char path[] = "/tmp/dsc_cnn_resumeXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, c.file, c.size) == (ssize_t)c.size);
    close(fd);
    dsc_model *rm;
    dsc_train_state st;
    CHECK_OK(dsc_checkpoint_load(path, &rm, &st));
    remove(path);
    CHECK(strcmp(dsc_model_spec(rm), spec) == 0);
    train(rm, d, 6, &r, NULL, NULL, &st);
    CHECK(memcmp(dsc_model_params(a), dsc_model_params(rm), n * sizeof(float)) == 0);
    dsc_train_state_free(&st);
    dsc_model_free(rm);
    free(c.file);

    /* Saved and loaded: format 2 with the layers, the same parameters and
     * predictions; an MLP still writes format 1. */
    uint8_t *bytes;
    size_t size;
    CHECK_OK(dsc_model_encode(a, &bytes, &size));
    CHECK(bytes[8] == 2);
    dsc_model *l;
    CHECK_OK(dsc_model_load_memory("cnn", bytes, size, &l));
    CHECK(strcmp(dsc_model_spec(l), spec) == 0);
    CHECK(memcmp(dsc_model_params(a), dsc_model_params(l), n * sizeof(float)) == 0);
    float ya[96 * 2], yl[96 * 2];
    CHECK_OK(dsc_model_predict(a, dsc_dataset_x(d), 96, ya));
    CHECK_OK(dsc_model_predict(l, dsc_dataset_x(d), 96, yl));
    CHECK(memcmp(ya, yl, sizeof ya) == 0);
    dsc_model_free(l);

    /* The loader checks the layers: a spec that breaks, one that disagrees
     * with ARCH, the chunk in a version-1 file. */
    size_t at = 0;
    while (at + 4 < size && memcmp(bytes + at, "LAYR", 4) != 0) at++;
    CHECK(at + 4 < size);
    const char *needles[] = {"chunk LAYR", "in ARCH", "format 2 added it"};
    for (int t = 0; t < 3; t++) {
        uint8_t *cp = malloc(size);
        memcpy(cp, bytes, size);
        if (t == 0) cp[at + 12] = 'Q';                /* "1x8x8" -> "Qx8x8" */
        if (t == 1) memcpy(cp + at + 21, "conv5", 5); /* 5 filters, not 4 */
        if (t == 2) cp[8] = 1;
        /* re-sign the file */
        uint32_t crc = dsc_crc32(0, cp, size - 12);
        for (int i = 0; i < 4; i++) cp[size - 4 + i] = (uint8_t)(crc >> (8 * i));
        dsc_model *x = (dsc_model *)1;
        dsc_status s = dsc_model_load_memory("bad", cp, size, &x);
        CHECK(s == DSC_EFORMAT && x == NULL);
        if (!strstr(dsc_last_error(), needles[t]))
            fprintf(stderr, "case %d: %s\n", t, dsc_last_error());
        CHECK(strstr(dsc_last_error(), needles[t]) != NULL);
        free(cp);
    }
    dsc_free(bytes);
    dsc_model *mlp;
    CHECK_OK(dsc_model_new("3 -> 4:relu -> 2:identity", &mlp));
    CHECK_OK(dsc_model_encode(mlp, &bytes, &size));
    CHECK(bytes[8] == 1);
    dsc_free(bytes);
    dsc_model_free(mlp);
    dsc_model_free(a);
    dsc_model_free(b);
    dsc_dataset_free(d);
}

/* The chain rule for a filter's weight and bias: a sum over points and
 * positions that equals backpropagation; the first layer's filters and a
 * feature map as an SVG. */
static void test_explain_and_picture(void)
{
    dsc_model *m;
    CHECK_OK(
        dsc_model_new("1x6x5 -> conv3@3x3s2p1:tanh -> maxpool2s1 -> conv2@2x2:relu -> 3:sigmoid "
                      "-> 2:softmax",
                      &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_XAVIER_NORMAL, 8));
    dsc_dataset *d = images(4, 1, 6, 5, 3);
    char *text = NULL;
    double diff = 1;
    /* w5: filter 1, row 2, column 2 of the first conv; b2: its second
     * filter's bias; w30: the second conv; w40: the dense layer. */
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_CE, "w5,b2,w30,w40", 0, &text, &diff));
    CHECK(diff < 1e-5);
    CHECK(text && strstr(text, "w5 is the weight at channel 1, row 2, column 2 of filter 1 in "
                               "layer 1") != NULL);
    CHECK(text && strstr(text, "input1[oy x 2][ox x 2]") != NULL); /* stride 2, ky - pad = 0 */
    CHECK(text && strstr(text, "(9 positions in all") != NULL);    /* 3 x 3 outputs */
    CHECK(text && strstr(text, "backpropagation gives") != NULL);
    dsc_free(text);
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_CE, "w5", 1, &text, &diff));
    CHECK(text && strstr(text, "\"positions\": 9") != NULL);
    dsc_free(text);
    /* Names are required, scalar, and exist. */
    CHECK(dsc_explain_model(m, d, DSC_LOSS_CE, NULL, 0, &text, &diff) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "name the parameters") != NULL);
    CHECK(dsc_explain_model(m, d, DSC_LOSS_CE, "layer1.weight", 0, &text, &diff) == DSC_EINVAL);
    CHECK(dsc_explain_model(m, d, DSC_LOSS_CE, "w999", 0, &text, &diff) == DSC_ENOTFOUND);

    char path[] = "/tmp/dsc_filtersXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_OK(dsc_plot_filters(path, m, d, 2));
    FILE *f = fopen(path, "r");
    static char svg[1 << 16];
    size_t n = f ? fread(svg, 1, sizeof svg - 1, f) : 0;
    if (f) fclose(f);
    svg[n] = '\0';
    size_t rects = 0;
    for (const char *p = svg; (p = strstr(p, "<rect")); p++) rects++;
    /* the background, 3 filters x 9 weights, the 6 x 5 input, 3 maps of 3 x 3 */
    CHECK(rects == 1 + 27 + 30 + 27);
    CHECK(strstr(svg, "Layer 1: 3 filters of 1 x 3 x 3 (tanh)") != NULL);
    CHECK(strstr(svg, "Feature maps of row 3") != NULL && strstr(svg, "</svg>") != NULL);
    CHECK(dsc_plot_filters(path, m, d, 4) == DSC_EINVAL); /* no row 5 */
    remove(path);
    dsc_model *mlp;
    CHECK_OK(dsc_model_new("3 -> 2:relu", &mlp));
    CHECK(dsc_plot_filters(path, mlp, NULL, 0) == DSC_EINVAL);
    dsc_model_free(mlp);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

int main(void)
{
    test_explain_and_picture();
    test_specs();
    test_init();
    test_gradcheck_layers();
    test_train_save_resume();
    return check_report();
}
