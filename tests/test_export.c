/* Export, from inside the library: the protobuf encoder's bytes, the C
 * export's dot product against the engine's one-row product, int8
 * quantization by hand, names, statuses, and that a failed export writes
 * nothing. tests/cli_export.sh compiles and runs the exports themselves. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "descent.h"
#include "io/export.h"
#include "io/protobuf.h"
#include "nn/nn.h"
#include "tensor/tensor.h"

static char dir[64];

static int bytes_are(const pb_buf *b, const uint8_t *want, size_t n)
{
    return !b->failed && b->n == n && memcmp(b->p, want, n) == 0;
}

static void test_protobuf(void)
{
    pb_buf b = {0};
    /* The protobuf guide's examples: field 1 = 150 is 08 96 01. */
    pb_varint(&b, 1, 150);
    CHECK(bytes_are(&b, (const uint8_t[]){0x08, 0x96, 0x01}, 3));
    pb_free(&b);
    pb_varint(&b, 2, -1); /* an int64 -1 takes ten bytes */
    CHECK(bytes_are(
        &b, (const uint8_t[]){0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
        11));
    pb_free(&b);
    pb_string(&b, 2, "testing");
    CHECK(bytes_are(&b, (const uint8_t[]){0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}, 9));
    pb_free(&b);
    pb_float(&b, 2, 1.0f);
    CHECK(bytes_are(&b, (const uint8_t[]){0x15, 0x00, 0x00, 0x80, 0x3f}, 5));
    pb_free(&b);
    /* A nested message: field 3 holding field 1 = 150. */
    size_t at = pb_begin(&b, 3);
    pb_varint(&b, 1, 150);
    pb_end(&b, at);
    CHECK(bytes_are(&b, (const uint8_t[]){0x1a, 0x03, 0x08, 0x96, 0x01}, 5));
    pb_free(&b);
    /* A nested message of 200 bytes: its length takes two bytes, and the
     * content moves up to make room. */
    at = pb_begin(&b, 1);
    uint8_t blob[197];
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)i;
    pb_bytes(&b, 2, blob, sizeof blob); /* 1 tag + 2 length + 197 = 200 */
    pb_end(&b, at);
    CHECK(b.n == 203 && b.p[0] == 0x0a && b.p[1] == 0xc8 && b.p[2] == 0x01 && b.p[3] == 0x12 &&
          b.p[4] == 0xc5 && b.p[5] == 0x01 && b.p[6] == 0 && b.p[202] == 196);
    pb_free(&b);
    float v[2] = {1.0f, -2.0f};
    pb_floats_raw(&b, 9, v, 2);
    CHECK(bytes_are(&b, (const uint8_t[]){0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, 10));
    pb_free(&b);
}

/* The C export's dot product sums as the engine's one-row product does:
 * the same bits, over lengths that reach every branch (fewer than 8 terms,
 * lanes of 32 with leftovers, several blocks of 4096). */
static void test_dot_matches_engine(void)
{
    static const size_t lengths[] = {1,   2,   7,    8,    9,    31,   32,   33,   63,
                                     100, 784, 4095, 4096, 4097, 5000, 8200, 12345};
    size_t nmax = 12345;
    float *x = malloc(nmax * sizeof(float)), *w = malloc(3 * nmax * sizeof(float));
    uint64_t st = 99;
    for (size_t i = 0; i < 3 * nmax; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        float r = (float)((st >> 40) & 0xffffff) / 16777216.0f - 0.5f;
        if (i < nmax) x[i] = r * 10;
        w[i] = r;
    }
    int same = 1;
    for (size_t t = 0; t < DSC_COUNT_OF(lengths); t++) {
        size_t n = lengths[t];
        float y[3];
        /* One row times W^T for W of 3 rows, as a dense layer runs it. */
        dsc_gemm(0, 1, 1, 3, n, 1.0f, x, n, w, n, 0.0f, y, 3, 1);
        for (int j = 0; j < 3; j++) {
            float d = dsc_export_dot_ref(x, w + (size_t)j * n, n);
            if (memcmp(&d, &y[j], sizeof d) != 0) {
                same = 0;
                fprintf(stderr, "n %zu, row %d: export %.9g, engine %.9g\n", n, j, d, y[j]);
            }
        }
    }
    CHECK(same);
    free(x);
    free(w);
}

static void test_names(void)
{
    CHECK(dsc_export_valid_name("model"));
    CHECK(dsc_export_valid_name("Fm_2"));
    CHECK(dsc_export_valid_name("a"));
    CHECK(!dsc_export_valid_name(""));
    CHECK(!dsc_export_valid_name(NULL));
    CHECK(!dsc_export_valid_name("2fast"));
    CHECK(!dsc_export_valid_name("_x"));
    CHECK(!dsc_export_valid_name("a-b"));
    CHECK(!dsc_export_valid_name("a b"));
    CHECK(!dsc_export_valid_name("caf\xc3\xa9"));
    char longname[65];
    memset(longname, 'a', 64);
    longname[64] = '\0';
    CHECK(!dsc_export_valid_name(longname));
    longname[63] = '\0';
    CHECK(dsc_export_valid_name(longname));
}

/* Every activation has what the exporters read from the op table, and the
 * C export includes <math.h> exactly for those whose text calls a
 * function. */
static void test_op_table_export(void)
{
    for (int a = 0; a < DSC_ACT_COUNT; a++) {
        const dsc_op_def *d = dsc_activation_op((dsc_activation)a);
        CHECK(d && d->out.onnx && d->out.c);
        CHECK(d && (d->out.c_form == DSC_C_ELEMENT || d->out.c_form == DSC_C_ROW));
    }
    CHECK(!dsc_export_c_calls(dsc_activation_op(DSC_ACT_RELU)->out.c));
    CHECK(!dsc_export_c_calls(dsc_activation_op(DSC_ACT_LEAKY_RELU)->out.c));
    CHECK(dsc_export_c_calls(dsc_activation_op(DSC_ACT_SOFTPLUS)->out.c));
    CHECK(dsc_export_c_calls(dsc_activation_op(DSC_ACT_SOFTMAX)->out.c));
    CHECK(!dsc_export_c_calls("{ return (x); if (x) for (;;) while (sizeof(x)) ; }"));
    CHECK(dsc_export_c_calls("{ return  tanhf (x); }"));
}

/* 2 -> 2:identity with weights [[1, -0.5], [0.25, 0]] and biases [0.5, -1]. */
static dsc_model *tiny(void)
{
    dsc_model *m;
    if (dsc_model_new("2 -> 2:identity", &m)) return NULL;
    float *p = dsc_model_params(m);
    const float v[] = {1.0f, -0.5f, 0.25f, 0.0f, 0.5f, -1.0f};
    memcpy(p, v, sizeof v);
    return m;
}

static void test_quantize(void)
{
    dsc_model *m = tiny();
    dsc_qmodel q;
    CHECK_OK(dsc_quantize(m, 0, 0, &q));
    /* Per unit: scales 1/127 and 0.25/127; -0.5 x 127 = -63.5 rounds away
     * from 0. */
    CHECK(q.q[0] == 127 && q.q[1] == -64 && q.q[2] == 127 && q.q[3] == 0);
    CHECK(q.scale[0] == (float)(1.0 / 127) && q.scale[1] == (float)(0.25 / 127));
    dsc_qmodel_free(&q);
    CHECK_OK(dsc_quantize(m, 1, 0, &q));
    /* Per layer: one scale, 1/127; 0.25 x 127 = 31.75 -> 32. */
    CHECK(q.q[0] == 127 && q.q[1] == -64 && q.q[2] == 32 && q.q[3] == 0);
    CHECK(q.scale[0] == (float)(1.0 / 127));
    dsc_qmodel_free(&q);

    /* x = [0.5, -1]: the row's scale is 1/127, q = [64, -127] (63.5 -> 64);
     * per unit, unit 0 sums 64 x 127 + (-127)(-64) = 16256 exactly, so
     * y0 = 16256 (1/127)(1/127) + 0.5 ~ 1.5079 (the float model: 1.5);
     * unit 1 sums 64 x 127 = 8128: y1 = 8128 (1/127)(0.25/127) - 1. */
    CHECK_OK(dsc_quantize(m, 0, 0, &q));
    float x[2] = {0.5f, -1.0f}, y[2];
    CHECK_OK(dsc_qmodel_predict(m, &q, x, 1, y));
    CHECK_NEAR(y[0], 16256.0 / (127.0 * 127.0) + 0.5, 1e-6);
    CHECK_NEAR(y[1], 8128.0 * 0.25 / (127.0 * 127.0) - 1.0, 1e-6);
    /* All zeros: the biases alone, no division by 0. */
    x[0] = x[1] = 0.0f;
    CHECK_OK(dsc_qmodel_predict(m, &q, x, 1, y));
    CHECK(y[0] == 0.5f && y[1] == -1.0f);
    dsc_qmodel_free(&q);
    dsc_model_free(m);
}

static int exists(const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void test_statuses(void)
{
    dsc_model *m = tiny();
    dsc_export_options o;
    dsc_export_options_init(&o);
    CHECK(strcmp(o.name, "model") == 0 && o.weights == DSC_EXPORT_FLOAT);
    dsc_export_report r;
    CHECK(dsc_model_export_c(NULL, dir, &o, &r) == DSC_EINVAL);
    CHECK(dsc_model_export_c(m, NULL, &o, &r) == DSC_EINVAL);
    o.name = "no good";
    CHECK(dsc_model_export_c(m, dir, &o, &r) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "not a C identifier") != NULL);
    o.name = "tiny";
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    CHECK(dsc_model_export_c(m, missing, &o, &r) == DSC_EIO);
    CHECK(strstr(dsc_last_error(), "missing") != NULL);
    CHECK(!exists("tiny.h") && !exists("tiny.c"));

    /* A good export with a report; the ONNX one refuses int8. */
    CHECK_OK(dsc_model_export_c(m, dir, &o, &r));
    CHECK(exists("tiny.h") && exists("tiny.c"));
    CHECK(r.weight_bytes == 16 && r.param_bytes == 24 && r.rows == 0);
    o.weights = DSC_EXPORT_INT8;
    CHECK_OK(dsc_model_export_c(m, dir, &o, &r));
    CHECK(r.weight_bytes == 4 && r.float_weight_bytes == 16 && r.param_bytes == 4 + 4 * 4);
    char onnx[128];
    snprintf(onnx, sizeof onnx, "%s/tiny.onnx", dir);
    CHECK(dsc_model_export_onnx(m, onnx, &o, &r) == DSC_EUNSUPPORTED);
    CHECK(!exists("tiny.onnx"));
    CHECK(dsc_model_export_onnx(m, NULL, NULL, &r) == DSC_EINVAL);
    CHECK_OK(dsc_model_export_onnx(m, onnx, NULL, NULL));
    /* The file starts with ir_version (field 1) = 8. */
    FILE *f = fopen(onnx, "rb");
    unsigned char head[2] = {0, 0};
    CHECK(f && fread(head, 1, 2, f) == 2 && head[0] == 0x08 && head[1] == 8);
    if (f) fclose(f);

    /* Measured on data: the float export's accuracy is the model's. */
    const float xs[] = {1, 0, 0, 1, -1, 0, 0, -1};
    const float ys[] = {1, 0, 0, 1, 0, 1, 1, 0};
    dsc_dataset *d;
    CHECK_OK(dsc_dataset_from_arrays(xs, ys, 4, 2, 2, &d));
    const char *cls[] = {"a", "b"};
    dsc_model_set_classes(m, cls, 2);
    o.weights = DSC_EXPORT_FLOAT;
    o.data = d;
    CHECK_OK(dsc_model_export_c(m, dir, &o, &r));
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    CHECK(r.rows == 4 && r.accuracy == mt.accuracy && r.float_accuracy == mt.accuracy);
    CHECK(r.class_changes == 0 && r.max_abs_diff == 0.0);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);

    /* When NAME.c cannot be written (a folder has its name), NAME.h keeps
     * its old content and no temporary file is left. */
    char path[160];
    snprintf(path, sizeof path, "%s/pair.c", dir);
    CHECK(mkdir(path, 0755) == 0);
    const char *old = check_write_file(dir, "pair.h", "old", 3);
    o.name = "pair";
    o.data = NULL;
    CHECK(dsc_model_export_c(m, dir, &o, &r) != DSC_OK);
    FILE *hf = fopen(old, "rb");
    char got[8] = {0};
    CHECK(hf && fread(got, 1, sizeof got, hf) == 3 && memcmp(got, "old", 3) == 0);
    if (hf) fclose(hf);
    DIR *dd = opendir(dir);
    int others = 0;
    for (struct dirent *e; dd && (e = readdir(dd));)
        others += strstr(e->d_name, ".tmp") != NULL;
    if (dd) closedir(dd);
    CHECK(others == 0);
    rmdir(path);
    check_remove_files();
    dsc_model_free(m);
    unlink(onnx);
    snprintf(path, sizeof path, "%s/tiny.h", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tiny.c", dir);
    unlink(path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dsc_export_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_protobuf();
    test_dot_matches_engine();
    test_names();
    test_op_table_export();
    test_quantize();
    test_statuses();
    rmdir(dir);
    return check_report();
}
