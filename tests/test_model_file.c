/* Model files: exact round trips with every piece of metadata, files built
 * by hand from docs/FORMAT.md, every truncation and every single-bit flip,
 * the validation rules, atomic saves and locale independence. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "check.h"
#include "descent.h"
#include "io/model_file.h"

static char dir[64];

static char *path_in(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int same_floats(const float *a, const float *b, size_t n)
{
    if (!a || !b) return a == b;
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static int same_str(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

/* Everything a model file stores, compared exactly (doubles bit for bit,
 * so that NaN equals NaN). */
static int same_model(const dsc_model *a, const dsc_model *b)
{
    if (!a || !b) return 0;
    size_t in = dsc_model_inputs(a), out = dsc_model_outputs(a);
    int ok = strcmp(dsc_model_spec(a), dsc_model_spec(b)) == 0;
    ok &= dsc_model_layers(a) == dsc_model_layers(b);
    for (size_t k = 0; ok && k < dsc_model_layers(a); k++)
        ok &= dsc_model_layer_units(a, k) == dsc_model_layer_units(b, k) &&
              dsc_model_layer_activation(a, k) == dsc_model_layer_activation(b, k);
    ok &= dsc_model_param_count(a) == dsc_model_param_count(b);
    ok &= ok && same_floats(dsc_model_params_const(a), dsc_model_params_const(b),
                            dsc_model_param_count(a));
    ok &= dsc_model_relu_grad(a) == dsc_model_relu_grad(b);
    for (size_t j = 0; ok && j < in; j++)
        ok &= same_str(dsc_model_input_name(a, j), dsc_model_input_name(b, j));
    ok &= same_str(dsc_model_target(a), dsc_model_target(b));
    ok &= dsc_model_classes(a) == dsc_model_classes(b);
    for (size_t k = 0; ok && k < dsc_model_classes(a); k++)
        ok &= same_str(dsc_model_class_label(a, k), dsc_model_class_label(b, k));
    ok &= same_floats(dsc_model_input_mean(a), dsc_model_input_mean(b), in);
    ok &= same_floats(dsc_model_input_std(a), dsc_model_input_std(b), in);
    ok &= same_floats(dsc_model_target_mean(a), dsc_model_target_mean(b), out);
    ok &= same_floats(dsc_model_target_std(a), dsc_model_target_std(b), out);
    const dsc_model_summary *sa = dsc_model_get_summary(a), *sb = dsc_model_get_summary(b);
    if (!sa || !sb) return ok && sa == sb;
    ok &= strcmp(sa->loss, sb->loss) == 0 && strcmp(sa->optimizer, sb->optimizer) == 0 &&
          strcmp(sa->stop, sb->stop) == 0;
    ok &=
        sa->iterations == sb->iterations && sa->epochs == sb->epochs && sa->samples == sb->samples;
    ok &= memcmp(&sa->loss_value, &sb->loss_value, 8) == 0 &&
          memcmp(&sa->val_loss, &sb->val_loss, 8) == 0 &&
          memcmp(&sa->accuracy, &sb->accuracy, 8) == 0 &&
          memcmp(&sa->seconds, &sb->seconds, 8) == 0;
    return ok;
}

/* The seed's network with the seed's values. */
static dsc_model *seed_model(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    const float v[] = {3.34f, -3.53f, -1.43f, 0.57f, -1.22f, -2.30f, 2.61f};
    memcpy(dsc_model_params(m), v, sizeof v);
    return m;
}

/* A small model with every piece of metadata set. */
static dsc_model *full_model(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("3 -> 4:relu -> 2:softmax", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 11));
    dsc_model_params(m)[16] = -0.0f;
    dsc_model_params(m)[17] = 1e-40f; /* subnormal */
    dsc_model_set_relu_grad(m, DSC_RELU_GRAD_ONE);
    const char *names[] = {"sepal length", "größe", "#3, \"quoted\""};
    CHECK_OK(dsc_model_set_input_names(m, names));
    CHECK_OK(dsc_model_set_target(m, "species"));
    const char *classes[] = {"setosa", "virginica"};
    CHECK_OK(dsc_model_set_classes(m, classes, 2));
    const float xm[] = {5.8f, -1.5f, 0}, xs[] = {0.83f, 2.0f, 1e-30f};
    const float ym[] = {0.25f, 100.0f}, ys[] = {1.0f, 3e30f};
    CHECK_OK(dsc_model_set_standardization(m, xm, xs, ym, ys));
    dsc_model_summary s;
    memset(&s, 0, sizeof s);
    strcpy(s.loss, "ce");
    strcpy(s.optimizer, "adam");
    strcpy(s.stop, "line_search_failed"); /* the longest name */
    s.iterations = 123456789012ULL;
    s.epochs = 40;
    s.samples = 150;
    s.loss_value = 0.1234567890123;
    s.val_loss = NAN;
    s.accuracy = 0.96;
    s.seconds = 1.5e-3;
    dsc_model_set_summary(m, &s);
    return m;
}

static dsc_model *round_trip(const dsc_model *m, const char *name)
{
    dsc_model *back = (dsc_model *)1;
    CHECK_OK(dsc_model_save(m, path_in(name)));
    CHECK_OK(dsc_model_load(path_in(name), &back));
    CHECK(same_model(m, back));
    return back;
}

/* The chunks' CRC is zlib's CRC-32: the standard check value, the same at
 * every alignment and length, and resumable (crc(a + b) = crc(crc(a), b)). */
static void test_crc32(void)
{
    CHECK(dsc_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(dsc_crc32(0, "", 0) == 0);
    unsigned char buf[64];
    for (int i = 0; i < 64; i++) buf[i] = (unsigned char)(i * 37 + 11);
    /* A byte-at-a-time reference, written out here. */
    for (size_t off = 0; off < 5; off++)
        for (size_t n = 0; n + off <= 64; n += 7) {
            uint32_t ref = ~0u;
            for (size_t i = 0; i < n; i++) {
                ref ^= buf[off + i];
                for (int k = 0; k < 8; k++) ref = (ref >> 1) ^ (0xEDB88320u & (0u - (ref & 1u)));
            }
            CHECK(dsc_crc32(0, buf + off, n) == ~ref);
            CHECK(dsc_crc32(dsc_crc32(0, buf + off, n / 3), buf + off + n / 3, n - n / 3) == ~ref);
        }
}

static void test_round_trips(void)
{
    dsc_model *m = seed_model();
    dsc_model *back = round_trip(m, "seed.bin");
    float w3 = 0;
    CHECK_OK(dsc_model_get(back, "w3", &w3));
    CHECK(w3 == -1.22f);
    CHECK(dsc_model_input_name(back, 0) == NULL && dsc_model_target(back) == NULL);
    CHECK(dsc_model_classes(back) == 0 && dsc_model_input_mean(back) == NULL);
    CHECK(dsc_model_get_summary(back) == NULL);
    /* The loaded model computes what the saved one did. */
    float x = 0.5f, y1 = 0, y2 = 0;
    CHECK_OK(dsc_model_predict(m, &x, 1, &y1));
    CHECK_OK(dsc_model_predict(back, &x, 1, &y2));
    CHECK(y1 == y2);
    dsc_model_free(back);
    dsc_model_free(m);

    m = full_model();
    back = round_trip(m, "full.bin");
    CHECK(strcmp(dsc_model_input_name(back, 1), "größe") == 0);
    CHECK(strcmp(dsc_model_input_name(back, 2), "#3, \"quoted\"") == 0);
    CHECK(dsc_model_relu_grad(back) == DSC_RELU_GRAD_ONE);
    CHECK(isnan(dsc_model_get_summary(back)->val_loss));
    dsc_model_free(back);
    dsc_model_free(m);

    /* A single sigmoid output takes two class labels; inputs-only
     * standardisation. */
    CHECK_OK(dsc_model_new("2 -> 1:sigmoid", &m));
    const char *labels[] = {"no", "yes"};
    CHECK_OK(dsc_model_set_classes(m, labels, 2));
    const float xm[] = {1, 2}, xs[] = {3, 4};
    CHECK_OK(dsc_model_set_standardization(m, xm, xs, NULL, NULL));
    dsc_model_set_relu_grad(m, DSC_RELU_GRAD_RANDOM);
    back = round_trip(m, "binary.bin");
    CHECK(dsc_model_target_mean(back) == NULL && dsc_model_input_std(back)[1] == 4);
    dsc_model_free(back);
    dsc_model_free(m);

    /* No hidden layer. */
    CHECK_OK(dsc_model_new("3 -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_NORMAL, 5));
    dsc_model_free(round_trip(m, "linear.bin"));
    dsc_model_free(m);

    /* MNIST-sized: every activation code and a big PARM chunk. */
    CHECK_OK(dsc_model_new("784 -> 256:relu,128:relu -> 10:softmax", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_HE_NORMAL, 3));
    dsc_model_free(round_trip(m, "mnist.bin"));
    dsc_model_free(m);
    CHECK_OK(
        dsc_model_new("2 -> 3:softplus,3:leaky_relu,3:sigmoid,3:tanh,3:relu -> 2:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_XAVIER_NORMAL, 9));
    dsc_model_free(round_trip(m, "acts.bin"));
    dsc_model_free(m);
}

/* --- files built by hand from docs/FORMAT.md -------------------------------- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} bytes;

static void b_put(bytes *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void b_u8(bytes *o, unsigned v) { o->b[o->n++] = (uint8_t)v; }
static void b_u32(bytes *o, uint32_t v)
{
    for (int i = 0; i < 4; i++) b_u8(o, (v >> (8 * i)) & 0xff);
}
static void b_u64(bytes *o, uint64_t v)
{
    b_u32(o, (uint32_t)v);
    b_u32(o, (uint32_t)(v >> 32));
}
static void b_f32(bytes *o, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b_u32(o, u);
}
static void b_f64(bytes *o, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    b_u64(o, u);
}
static void b_str(bytes *o, const char *s)
{
    b_u32(o, (uint32_t)strlen(s));
    b_put(o, s, strlen(s));
}
static void b_header(bytes *o, uint32_t version)
{
    o->n = 0;
    b_put(o, "DSCMODEL", 8);
    b_u32(o, version);
}
/* A chunk is opened with its tag and closed (length patched) by b_end. */
static size_t b_chunk(bytes *o, const char *tag)
{
    b_put(o, tag, 4);
    b_u32(o, 0);
    return o->n;
}
static void b_end(bytes *o, size_t start)
{
    uint32_t len = (uint32_t)(o->n - start);
    for (int i = 0; i < 4; i++) o->b[start - 4 + i] = (uint8_t)(len >> (8 * i));
}
static void b_finish(bytes *o)
{
    uint32_t crc = dsc_crc32(0, o->b, o->n);
    size_t c = b_chunk(o, "END ");
    b_u32(o, crc);
    b_end(o, c);
}
/* "2 -> 1:sigmoid" with relu rule 0: 3 parameters. */
static void b_arch_2_1(bytes *o)
{
    size_t c = b_chunk(o, "ARCH");
    b_u32(o, 1);
    b_u32(o, 2);
    b_u32(o, 1);
    b_u8(o, 4); /* sigmoid */
    b_u8(o, 0);
    b_end(o, c);
}
static void b_parm(bytes *o, uint64_t count, const float *v, size_t n)
{
    size_t c = b_chunk(o, "PARM");
    b_u64(o, count);
    for (size_t i = 0; i < n; i++) b_f32(o, v[i]);
    b_end(o, c);
}
static const float p3[] = {0.5f, -0.25f, 2.0f};

/* Loading must fail with DSC_EFORMAT, a NULL model and a message holding
 * `needle`. */
static void expect_bad(const bytes *o, const char *needle)
{
    dsc_model *m = (dsc_model *)1;
    dsc_status s = dsc_model_load_memory("hand.bin", o->b, o->n, &m);
    CHECK(s == DSC_EFORMAT);
    CHECK(m == NULL);
    if (!strstr(dsc_last_error(), needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, dsc_last_error());
        CHECK(0);
    }
    if (s == DSC_OK) dsc_model_free(m);
}

/* A "2 -> 1:sigmoid" file with names: inputs a and b, target t, classes
 * c0 and c1 (any NULL: that chunk left out). */
static void b_named(bytes *o, const char *a, const char *b, const char *t, const char *c0,
                    const char *c1)
{
    b_header(o, 1);
    b_arch_2_1(o);
    b_parm(o, 3, p3, 3);
    size_t c;
    if (a) {
        c = b_chunk(o, "INPN");
        b_u32(o, 2);
        b_str(o, a);
        b_str(o, b);
        b_end(o, c);
    }
    if (t) {
        c = b_chunk(o, "TRGT");
        b_str(o, t);
        b_end(o, c);
    }
    if (c0) {
        c = b_chunk(o, "CLSS");
        b_u32(o, 2);
        b_str(o, c0);
        b_str(o, c1);
        b_end(o, c);
    }
    b_finish(o);
}

/* The loader checks names as data is read by them: none empty, no two
 * alike. Each file is otherwise valid (its checksum right), so only the
 * name check can refuse it. */
static void test_bad_names(void)
{
    bytes o;
    dsc_model *m = NULL;
    b_named(&o, "x,1", "2", "y,z", "no", "yes");
    CHECK_OK(dsc_model_load_memory("names.bin", o.b, o.n, &m));
    CHECK(m && strcmp(dsc_model_input_name(m, 1), "2") == 0);
    CHECK(m && strcmp(dsc_model_target(m), "y,z") == 0);
    dsc_model_free(m);
    b_named(&o, "", "b", NULL, NULL, NULL);
    expect_bad(&o, "chunk INPN at byte");
    expect_bad(&o, "input name 1 is empty");
    b_named(&o, "a", "a", NULL, NULL, NULL);
    expect_bad(&o, "input name 'a' is given twice");
    b_named(&o, NULL, NULL, "", NULL, NULL);
    expect_bad(&o, "the target name is empty");
    b_named(&o, NULL, NULL, NULL, "cat", "cat");
    expect_bad(&o, "class label 'cat' is given twice");
    b_named(&o, NULL, NULL, NULL, "", "dog");
    expect_bad(&o, "class label 1 is empty");
    /* The setters refuse the same. */
    CHECK_OK(dsc_model_new("2 -> 1:sigmoid", &m));
    const char *dup[] = {"a", "a"}, *empty[] = {"a", ""};
    CHECK(dsc_model_set_input_names(m, dup) == DSC_EINVAL);
    CHECK(dsc_model_set_input_names(m, empty) == DSC_EINVAL);
    CHECK(dsc_model_set_target(m, "") == DSC_EINVAL);
    CHECK(dsc_model_set_classes(m, dup, 2) == DSC_EINVAL);
    CHECK(dsc_model_input_name(m, 0) == NULL && dsc_model_classes(m) == 0);
    dsc_model_free(m);
}

static void test_hand_built(void)
{
    bytes o;
    dsc_model *m = NULL;

    /* A minimal valid file, written from the documentation alone. */
    b_header(&o, 2);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    CHECK_OK(dsc_model_load_memory("hand.bin", o.b, o.n, &m));
    CHECK(strcmp(dsc_model_spec(m), "2 -> 1:sigmoid") == 0);
    CHECK(same_floats(dsc_model_params_const(m), p3, 3));
    /* Format 2 without XFRM: inputs are divided by 1. */
    CHECK(dsc_model_input_divisor(m) == 1.0f);
    /* The encoder writes exactly these bytes for the same model. */
    uint8_t *enc = NULL;
    size_t enc_n = 0;
    CHECK_OK(dsc_model_encode(m, &enc, &enc_n));
    CHECK(enc_n == o.n && memcmp(enc, o.b, o.n) == 0);
    dsc_free(enc);
    dsc_model_free(m);

    /* Every metadata chunk, in an unusual order, with an optional chunk of
     * a newer writer between them. */
    b_header(&o, 1);
    size_t c = b_chunk(&o, "SUMM");
    b_str(&o, "bce");
    b_str(&o, "gd");
    b_str(&o, "step_size");
    b_u64(&o, 7);
    b_u64(&o, 0);
    b_u64(&o, 4);
    b_f64(&o, 0.5);
    b_f64(&o, NAN);
    b_f64(&o, 1.0);
    b_f64(&o, 0.25);
    b_end(&o, c);
    c = b_chunk(&o, "zFUT");
    b_put(&o, "whatever a newer descent keeps", 30);
    b_end(&o, c);
    b_parm(&o, 3, p3, 3);
    c = b_chunk(&o, "CLSS");
    b_u32(&o, 2);
    b_str(&o, "bad");
    b_str(&o, "good");
    b_end(&o, c);
    c = b_chunk(&o, "NORM");
    b_u32(&o, 3);
    b_f32(&o, 1), b_f32(&o, 2), b_f32(&o, 0.5f), b_f32(&o, 4);
    b_f32(&o, -1), b_f32(&o, 8);
    b_end(&o, c);
    c = b_chunk(&o, "INPN");
    b_u32(&o, 2);
    b_str(&o, "a");
    b_str(&o, "bb");
    b_end(&o, c);
    c = b_chunk(&o, "TRGT");
    b_str(&o, "quality");
    b_end(&o, c);
    b_arch_2_1(&o);
    b_finish(&o);
    CHECK_OK(dsc_model_load_memory("hand.bin", o.b, o.n, &m));
    CHECK(dsc_model_classes(m) == 2 && strcmp(dsc_model_class_label(m, 1), "good") == 0);
    CHECK(strcmp(dsc_model_input_name(m, 1), "bb") == 0);
    CHECK(strcmp(dsc_model_target(m), "quality") == 0);
    CHECK(dsc_model_input_std(m)[0] == 0.5f && dsc_model_target_std(m)[0] == 8);
    CHECK(dsc_model_get_summary(m) && dsc_model_get_summary(m)->iterations == 7 &&
          strcmp(dsc_model_get_summary(m)->stop, "step_size") == 0);
    dsc_model_free(m);

    /* The header. */
    b_header(&o, 3);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    expect_bad(&o, "format version 3 is newer than this descent supports (2)");
    o.b[8] = 0;
    expect_bad(&o, "format version 0");
    o.b[8] = 1;
    o.b[0] = 'X';
    expect_bad(&o, "not a descent model file");
    expect_bad(&(bytes){.b = "PK\3\4 not a model", .n = 16}, "not a descent model file");
    expect_bad(&(bytes){.n = 0}, "not a descent model file");

    /* An unknown critical chunk. */
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    c = b_chunk(&o, "QUAN");
    b_u32(&o, 8);
    b_end(&o, c);
    b_finish(&o);
    expect_bad(&o, "chunk QUAN at byte 62 is not known to this descent (format 2): the file needs "
                   "a newer descent");

    /* Format 1: the divisor was not recorded (0: the data's applies); an
     * XFRM chunk records it. */
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    CHECK_OK(dsc_model_load_memory("v1.bin", o.b, o.n, &m));
    CHECK(m && dsc_model_input_divisor(m) == 0.0f);
    dsc_model_free(m);
    b_header(&o, 2);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    c = b_chunk(&o, "XFRM");
    b_f32(&o, 255.0f);
    b_end(&o, c);
    b_finish(&o);
    CHECK_OK(dsc_model_load_memory("xfrm.bin", o.b, o.n, &m));
    CHECK(m && dsc_model_input_divisor(m) == 255.0f);
    CHECK_OK(dsc_model_encode(m, &enc, &enc_n));
    CHECK(enc_n == o.n && memcmp(enc, o.b, o.n) == 0);
    dsc_free(enc);
    dsc_model_free(m);

    /* Structure. */
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_finish(&o);
    expect_bad(&o, "the PARM chunk is missing");
    b_header(&o, 1);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    expect_bad(&o, "the ARCH chunk is missing");
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    expect_bad(&o, "a second ARCH chunk");
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    b_u8(&o, 0);
    expect_bad(&o, "1 unexpected bytes after the END chunk");
    o.n--;
    o.b[o.n - 1] ^= 0x80;
    expect_bad(&o, "corrupted: checksum mismatch");
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 3, p3, 3);
    c = b_chunk(&o, "1abc");
    b_end(&o, c);
    b_finish(&o);
    expect_bad(&o, "is not a chunk tag");

    /* Parameters: count and values. */
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 4, (const float[]){1, 2, 3, 4}, 4);
    b_finish(&o);
    expect_bad(&o, "the architecture needs 3 parameters");
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 2, p3, 3);
    b_finish(&o);
    expect_bad(&o, "2 parameters, but '2 -> 1:sigmoid' has 3");
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 3, (const float[]){1, NAN, 3}, 3);
    b_finish(&o);
    expect_bad(&o, "chunk PARM at byte 54: parameter w2 is NaN");
    b_header(&o, 1);
    b_arch_2_1(&o);
    b_parm(&o, 3, (const float[]){1, 2, -INFINITY}, 3);
    b_finish(&o);
    expect_bad(&o, "parameter b1 is infinite");

    /* Architecture. */
    struct {
        uint32_t layers, units[3];
        uint8_t acts[2], relu;
        const char *msg;
    } archs[] = {
        {0, {2}, {0}, 0, "0 layers (1 to 64)"},
        {1, {0, 1}, {0}, 0, "0 inputs"},
        {1, {2, 0}, {0}, 0, "layer 1 has 0 units"},
        {1, {2, 100000001}, {0}, 0, "layer 1 has 100000001 units"},
        {1, {2, 1}, {7}, 0, "unknown activation code 7"},
        {2, {2, 2, 1}, {6, 0}, 0, "layer 1 is softmax"},
        {1, {2, 1}, {0}, 3, "unknown ReLU gradient rule 3"},
    };
    for (size_t i = 0; i < DSC_COUNT_OF(archs); i++) {
        b_header(&o, 1);
        c = b_chunk(&o, "ARCH");
        b_u32(&o, archs[i].layers);
        for (uint32_t k = 0; k <= archs[i].layers; k++) b_u32(&o, archs[i].units[k]);
        for (uint32_t k = 0; k < archs[i].layers; k++) b_u8(&o, archs[i].acts[k]);
        b_u8(&o, archs[i].relu);
        b_end(&o, c);
        b_parm(&o, 3, p3, 3);
        b_finish(&o);
        expect_bad(&o, archs[i].msg);
    }
    b_header(&o, 1);
    c = b_chunk(&o, "ARCH");
    b_u32(&o, 65);
    b_end(&o, c);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    expect_bad(&o, "65 layers (1 to 64)");
    /* A huge but well-formed architecture must be refused before anything
     * is allocated for it. */
    b_header(&o, 1);
    c = b_chunk(&o, "ARCH");
    b_u32(&o, 2);
    b_u32(&o, 100000000), b_u32(&o, 100000000), b_u32(&o, 1);
    b_u8(&o, 2), b_u8(&o, 0), b_u8(&o, 0);
    b_end(&o, c);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    expect_bad(&o, "the architecture needs 10000000200000001 parameters");
    b_header(&o, 1);
    c = b_chunk(&o, "ARCH");
    b_u32(&o, 1), b_u32(&o, 2), b_u32(&o, 1), b_u8(&o, 0), b_u8(&o, 0), b_u8(&o, 0);
    b_end(&o, c);
    b_parm(&o, 3, p3, 3);
    b_finish(&o);
    expect_bad(&o, "1 unexpected bytes after the last field");

    /* Metadata that does not fit the architecture. */
#define META_CASE(TAG, BODY, MSG)                                                                  \
    do {                                                                                           \
        b_header(&o, 1);                                                                           \
        b_arch_2_1(&o);                                                                            \
        b_parm(&o, 3, p3, 3);                                                                      \
        c = b_chunk(&o, TAG);                                                                      \
        BODY;                                                                                      \
        b_end(&o, c);                                                                              \
        b_finish(&o);                                                                              \
        expect_bad(&o, MSG);                                                                       \
    } while (0)
    META_CASE("INPN", (b_u32(&o, 3), b_str(&o, "a"), b_str(&o, "b"), b_str(&o, "c")),
              "3 input names, the architecture needs 2");
    META_CASE("INPN", (b_u32(&o, 2), b_str(&o, "a")), "the chunk ends inside string 2");
    META_CASE("INPN", (b_u32(&o, 2), b_str(&o, "a"), b_u32(&o, 1000), b_put(&o, "b", 1)),
              "the chunk ends inside string 2");
    META_CASE("INPN", (b_u32(&o, 2), b_str(&o, "a"), b_u32(&o, 3), b_put(&o, "b\0c", 3)),
              "string 2 contains a NUL byte");
    META_CASE("INPN", (b_u32(&o, 0xffffffffu)), "4294967295 input names");
    META_CASE("TRGT", (b_str(&o, "y"), b_u8(&o, 0)), "1 unexpected bytes");
    META_CASE("CLSS", (b_u32(&o, 3), b_str(&o, "a"), b_str(&o, "b"), b_str(&o, "c")),
              "3 class labels, the architecture needs 1 or 2");
    META_CASE("CLSS", (b_u32(&o, 0)), "0 class labels");
    META_CASE("NORM", (b_u32(&o, 0)), "flags 0");
    META_CASE("NORM", (b_u32(&o, 4)), "flags 4");
    META_CASE("NORM", (b_u32(&o, 1), b_f32(&o, 0), b_f32(&o, 0), b_f32(&o, 1), b_f32(&o, 0)),
              "chunk NORM at byte 86: input std 2 is not positive");
    META_CASE("NORM", (b_u32(&o, 1), b_f32(&o, 0), b_f32(&o, NAN), b_f32(&o, 1), b_f32(&o, 1)),
              "input mean 2 is not finite");
    META_CASE("NORM", (b_u32(&o, 2), b_f32(&o, 0), b_f32(&o, -1)), "target std 1 is not positive");
    META_CASE("NORM", (b_u32(&o, 3), b_f32(&o, 0), b_f32(&o, 0), b_f32(&o, 1)),
              "the chunk ends inside input std");
    /* XFRM came with format 2: a version-1 file cannot hold it. */
    META_CASE("XFRM", (b_f32(&o, 255)),
              "chunk XFRM at byte 62: a version 1 file cannot hold this chunk");
#define XFRM_CASE(BODY, MSG)                                                                       \
    do {                                                                                           \
        b_header(&o, 2);                                                                           \
        b_arch_2_1(&o);                                                                            \
        b_parm(&o, 3, p3, 3);                                                                      \
        c = b_chunk(&o, "XFRM");                                                                   \
        BODY;                                                                                      \
        b_end(&o, c);                                                                              \
        b_finish(&o);                                                                              \
        expect_bad(&o, MSG);                                                                       \
    } while (0)
    XFRM_CASE((b_f32(&o, 0)), "chunk XFRM at byte 70: the input divisor is 0 (it must be finite "
                              "and at least 1.17549435e-38)");
    XFRM_CASE((b_f32(&o, -0.0f)), "the input divisor is -0 (");
    XFRM_CASE((b_f32(&o, -255)), "the input divisor is -255 (");
    XFRM_CASE((b_f32(&o, INFINITY)), "the input divisor is inf (");
    XFRM_CASE((b_f32(&o, NAN)), "the input divisor is nan (");
    /* A subnormal divisor overflows ordinary inputs: 1 / 1e-45 is inf. */
    XFRM_CASE((b_f32(&o, 1e-45f)), "the input divisor is 1.40129846e-45 (");
    XFRM_CASE((b_f32(&o, FLT_MIN / 2)), "the input divisor is 5.87747175e-39 (");
    XFRM_CASE((b_f32(&o, 255), b_u8(&o, 0)), "chunk XFRM at byte 74: 1 unexpected bytes");
    XFRM_CASE((b_u8(&o, 0)), "the chunk ends inside the input divisor (4 bytes needed, 1 left)");
#undef XFRM_CASE
    META_CASE("SUMM", (b_str(&o, "a_loss_name_of_16")), "the loss name is 17 bytes (at most 15)");
    META_CASE("SUMM", (b_str(&o, "mse"), b_str(&o, "gd"), b_str(&o, "max_iter"), b_u64(&o, 1)),
              "the chunk ends inside epochs");
}

/* --- damaged files ---------------------------------------------------------- */

static void test_damage(void)
{
    dsc_model *m = full_model();
    uint8_t *b = NULL;
    size_t n = 0;
    CHECK_OK(dsc_model_encode(m, &b, &n));
    dsc_model_free(m);

    /* Every prefix, including the empty one. */
    int all_fail = 1, all_null = 1, all_said = 1;
    for (size_t len = 0; len < n; len++) {
        dsc_model *r = (dsc_model *)1;
        dsc_status s = dsc_model_load_memory("cut.bin", b, len, &r);
        all_fail &= s == DSC_EFORMAT;
        all_null &= r == NULL;
        all_said &= len < 8 || strstr(dsc_last_error(), "truncated") != NULL;
        if (s == DSC_OK) dsc_model_free(r);
    }
    CHECK(all_fail && all_null && all_said);
    dsc_model *r = NULL;
    CHECK(dsc_model_load_memory("cut.bin", b, n - 1, &r) == DSC_EFORMAT);
    char want[128];
    snprintf(want, sizeof want,
             "cut.bin: truncated in chunk END at byte %zu: it should hold 4 bytes, only 3 remain",
             n - 12);
    CHECK(strcmp(dsc_last_error(), want) == 0);

    /* Every single-bit flip. */
    int flips_fail = 1;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            r = (dsc_model *)1;
            dsc_status s = dsc_model_load_memory("flip.bin", b, n, &r);
            if (s != DSC_EFORMAT || r != NULL || !dsc_last_error()[0]) {
                fprintf(stderr, "bit %d of byte %zu: status %d\n", bit, i, (int)s);
                flips_fail = 0;
                if (s == DSC_OK) dsc_model_free(r);
            }
            b[i] ^= (uint8_t)(1u << bit);
        }
    CHECK(flips_fail);
    CHECK_OK(dsc_model_load_memory("flip.bin", b, n, &r));
    dsc_model_free(r);

    /* The same through a file, which names the path. */
    FILE *f = fopen(path_in("cut.bin"), "wb");
    fwrite(b, 1, 60, f); /* inside PARM, which starts at byte 39 */
    fclose(f);
    r = (dsc_model *)1;
    CHECK(dsc_model_load(path_in("cut.bin"), &r) == DSC_EFORMAT && r == NULL);
    CHECK(strstr(dsc_last_error(), path_in("cut.bin")) != NULL);
    CHECK(strstr(dsc_last_error(), "truncated in chunk PARM at byte 39") != NULL);
    dsc_free(b);

    r = (dsc_model *)1;
    CHECK(dsc_model_load(path_in("missing.bin"), &r) == DSC_EIO && r == NULL);
    CHECK(strstr(dsc_last_error(), "No such file") != NULL);
    CHECK(dsc_model_load(dir, &r) == DSC_EIO && r == NULL);
    f = fopen(path_in("empty.bin"), "wb");
    fclose(f);
    CHECK(dsc_model_load(path_in("empty.bin"), &r) == DSC_EFORMAT && r == NULL);
    CHECK(strstr(dsc_last_error(), "not a descent model file (it is empty)") != NULL);
    CHECK(dsc_model_load("/dev/null", &r) == DSC_EFORMAT && r == NULL);
    /* An absurd size is refused from its size alone (a sparse file). */
    f = fopen(path_in("huge.bin"), "wb");
    if (f && sizeof(long) >= 8 && fseek(f, 3L << 30, SEEK_SET) == 0 && fputc(0, f) != EOF) {
        fclose(f);
        CHECK(dsc_model_load(path_in("huge.bin"), &r) == DSC_ELIMIT && r == NULL);
        CHECK(strstr(dsc_last_error(), "larger than 1 GiB, the limit") != NULL);
        dsc_limits none = {0, 0, 0};
        CHECK(dsc_model_load_limits(path_in("huge.bin"), &none, &r) == DSC_EFORMAT && r == NULL);
        CHECK(strstr(dsc_last_error(), "larger than any model file") != NULL);
    } else if (f) {
        fclose(f);
    }
    remove(path_in("huge.bin"));
}

/* --- atomic saves -------------------------------------------------------- */

static int temp_files_left(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void check_still_good(const char *path, const dsc_model *good)
{
    dsc_model *back = NULL;
    CHECK_OK(dsc_model_load(path, &back));
    CHECK(same_model(good, back));
    dsc_model_free(back);
    CHECK(temp_files_left() == 0);
}

static void test_atomic_save(void)
{
    dsc_model *good = seed_model(), *other = full_model();
    const char *p = path_in("keep.bin");
    CHECK_OK(dsc_model_save(good, p));

    /* A read-only folder: root writes there anyway, so only check when the
     * folder really refuses. */
    char sub[160];
    snprintf(sub, sizeof sub, "%s/ro", dir);
    CHECK(mkdir(sub, 0755) == 0);
    char rp[200];
    snprintf(rp, sizeof rp, "%s/keep.bin", sub);
    CHECK_OK(dsc_model_save(good, rp));
    CHECK(chmod(sub, 0555) == 0);
    char probe[200];
    snprintf(probe, sizeof probe, "%s/probe", sub);
    FILE *f = fopen(probe, "wb");
    if (f) {
        fclose(f);
        remove(probe);
        printf("skipped: the read-only folder is writable (running as root?)\n");
    } else {
        CHECK(dsc_model_save(other, rp) == DSC_EIO);
        CHECK(strstr(dsc_last_error(), "Permission denied") != NULL);
        dsc_model *back = NULL;
        CHECK_OK(dsc_model_load(rp, &back));
        CHECK(same_model(good, back));
        dsc_model_free(back);
        DIR *d = opendir(sub);
        int n = 0;
        for (struct dirent *e; d && (e = readdir(d));) n++;
        if (d) closedir(d);
        CHECK(n == 3); /* ".", ".." and keep.bin */
    }
    chmod(sub, 0755);
    remove(rp);
    rmdir(sub);

    /* A write that fails half way (a file size limit, which binds root too):
     * the temporary file goes, the old model stays. */
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    dsc_status s = dsc_model_save(other, p);
    int e = errno;
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);
    CHECK(s == DSC_EIO);
    CHECK(strstr(dsc_last_error(), "cannot write: File too large") != NULL);
    (void)e;
    check_still_good(p, good);

    /* No folder, and a model the file could not hold. */
    CHECK(dsc_model_save(good, path_in("no/such/dir/m.bin")) == DSC_EIO);
    CHECK(strstr(dsc_last_error(), "No such file") != NULL);
    dsc_model_params(other)[3] = NAN;
    CHECK(dsc_model_save(other, p) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "parameter w4 is NaN") != NULL);
    check_still_good(p, good);

    /* Saving over a file replaces it and keeps its permissions. */
    CHECK(chmod(p, 0640) == 0);
    dsc_model_params(other)[3] = 1;
    CHECK_OK(dsc_model_save(other, p));
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0640);
    check_still_good(p, other);
    CHECK_OK(dsc_model_save(good, path_in("new.bin")));
    CHECK(stat(path_in("new.bin"), &st) == 0 && (st.st_mode & 0777) == 0644);

    dsc_model_free(good);
    dsc_model_free(other);
}

static void test_locale(void)
{
    if (!setlocale(LC_ALL, "de_DE.UTF-8") && !setlocale(LC_ALL, "de_DE.utf8")) {
        printf("skipped: no de_DE locale\n");
        return;
    }
    dsc_model *m = full_model();
    dsc_model_free(round_trip(m, "locale.bin"));
    dsc_model_free(m);
    setlocale(LC_ALL, "C");
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    char p[512];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/dsc_model_file_XXXXXX", tmp && strlen(tmp) < 30 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_crc32();
    test_round_trips();
    test_hand_built();
    test_bad_names();
    test_damage();
    test_atomic_save();
    test_locale();
    remove_dir();
    return check_report();
}
