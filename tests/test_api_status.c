/* descent.h says which status each function returns for what. One case
 * per documented status, so the header and the code keep agreeing: each
 * case provokes the status, checks it, checks that an out pointer is NULL
 * afterwards where the header promises so, and that dsc_last_error() says
 * something naming the case. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "descent.h"

static char dir[64];

static const char *file_with(const char *name, const void *bytes, size_t n)
{
    static char path[8][128];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        if (n) fwrite(bytes, 1, n, f);
        fclose(f);
    }
    return p;
}
#define TEXT_FILE(name, text) file_with(name, text, strlen(text))

/* The status, and the message holding `piece`. */
static void expect(dsc_status got, dsc_status want, const char *piece, int line)
{
    const char *msg = dsc_last_error();
    if (got == want && (!piece || strstr(msg, piece))) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stderr, "%s:%d: status %d (%s), want %d (%s) with '%s': %s\n", __FILE__, line, (int)got,
            dsc_strerror(got), (int)want, dsc_strerror(want), piece ? piece : "", msg);
}
#define EXPECT(call, want, piece) expect((call), (want), (piece), __LINE__)

static void test_strerror(void)
{
    /* Never NULL, for every status and for values that are none. */
    for (int s = -3; s <= (int)DSC_ELIMIT + 3; s++) CHECK(dsc_strerror((dsc_status)s) != NULL);
    CHECK(strcmp(dsc_strerror(DSC_OK), "success") == 0);
    CHECK(strcmp(dsc_strerror(DSC_ELIMIT), "unknown status") != 0);
}

static void test_arrays(void)
{
    const float x[] = {1, 2, 3, 4}, y[] = {1, 2}, bad[] = {1, NAN, 3, 4};
    dsc_dataset *d = (dsc_dataset *)1;
    EXPECT(dsc_dataset_from_arrays(x, y, 0, 2, 1, &d), DSC_EINVAL, "row");
    CHECK(d == NULL);
    EXPECT(dsc_dataset_from_arrays(x, y, 2, 0, 1, &d), DSC_EINVAL, "input");
    EXPECT(dsc_dataset_from_arrays(x, y, 2, 2, 0, &d), DSC_EINVAL, "n_out is 0");
    CHECK(d == NULL);
    EXPECT(dsc_dataset_from_arrays(bad, y, 2, 2, 1, &d), DSC_EINVAL, "row 1, column 2");
    EXPECT(dsc_dataset_from_arrays(x, bad + 1, 1, 2, 1, &d), DSC_EINVAL, "target value at row 1");
    EXPECT(dsc_dataset_from_arrays(x, y, 2, 2, 1, &d), DSC_OK, NULL);
    dsc_dataset_free(d);
}

static void test_names(void)
{
    dsc_activation a;
    dsc_loss l;
    dsc_optimizer o;
    dsc_schedule s;
    dsc_init i;
    EXPECT(dsc_activation_from_name("swish", &a), DSC_EINVAL, "softplus");
    EXPECT(dsc_loss_from_name("l3", &l), DSC_EINVAL, "huber");
    EXPECT(dsc_optimizer_from_name("adagrad", &o), DSC_EINVAL, "adam");
    EXPECT(dsc_schedule_from_name("linear", &s), DSC_EINVAL, "cosine");
    EXPECT(dsc_init_from_name("zeros", &i), DSC_EINVAL, "he_normal");
}

static void test_csv(void)
{
    dsc_dataset *d = (dsc_dataset *)1;
    dsc_csv_options o;
    char missing[96];
    snprintf(missing, sizeof missing, "%s/missing.csv", dir);
    EXPECT(dsc_dataset_from_csv(missing, NULL, &d), DSC_EIO, "missing.csv");
    CHECK(d == NULL);
    EXPECT(dsc_dataset_from_csv(dir, NULL, &d), DSC_EIO, "is a directory");
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("nn.csv", "a,y\n1,2\nx,3\n"), NULL, &d), DSC_EFORMAT,
           "nn.csv:3:1");
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("rag.csv", "a,y\n1,2\n3\n"), NULL, &d), DSC_EFORMAT,
           "rag.csv:3");
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("empty.csv", ""), NULL, &d), DSC_EFORMAT, "empty");
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("head.csv", "a,y\n"), NULL, &d), DSC_EFORMAT,
           "no data rows");
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("nan.csv", "a,y\n1,nan\n"), NULL, &d), DSC_EFORMAT,
           "not a finite number");
    dsc_csv_options_init(&o);
    o.target = "nope";
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("ok.csv", "a,y\n1,2\n"), &o, &d), DSC_ENOTFOUND,
           "'nope' not found");
    o.target = "\"y";
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("ok.csv", "a,y\n1,2\n"), &o, &d), DSC_EINVAL,
           "not closed");
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("dup.csv", "a,a,y\n1,2,3\n"), NULL, &d), DSC_EFORMAT,
           "both named 'a'");
    dsc_csv_options_init(&o);
    o.limits.max_rows = 1;
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("two.csv", "a,y\n1,2\n3,4\n"), &o, &d), DSC_ELIMIT,
           "more than 1 rows");
    CHECK(d == NULL);
    o.limits.max_rows = 2;
    EXPECT(dsc_dataset_from_csv(TEXT_FILE("two.csv", "a,y\n1,2\n3,4\n"), &o, &d), DSC_OK, NULL);
    dsc_dataset_free(d);
}

static void put32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

static void test_idx(void)
{
    unsigned char img[16 + 8], lab[8 + 2];
    put32(img, 0x803), put32(img + 4, 2), put32(img + 8, 2), put32(img + 12, 2);
    memset(img + 16, 7, 8);
    put32(lab, 0x801), put32(lab + 4, 2);
    lab[8] = 0, lab[9] = 1;
    const char *pi = file_with("i.idx", img, sizeof img), *pl = file_with("l.idx", lab, sizeof lab);
    dsc_dataset *d = (dsc_dataset *)1;
    EXPECT(dsc_dataset_from_idx(pi, pl, &d), DSC_OK, NULL);
    dsc_dataset_free(d);
    EXPECT(dsc_dataset_from_idx(pl, pl, &d), DSC_EFORMAT, "looks like a label file");
    CHECK(d == NULL);
    EXPECT(dsc_dataset_from_idx(pi, file_with("l1.idx", lab, 9), &d), DSC_EFORMAT, "truncated");
    char missing[96];
    snprintf(missing, sizeof missing, "%s/none.idx", dir);
    EXPECT(dsc_dataset_from_idx(missing, pl, &d), DSC_EIO, "none.idx");
    dsc_limits l;
    dsc_limits_init(&l);
    l.max_rows = 1;
    EXPECT(dsc_dataset_from_idx_limits(pi, pl, &l, &d), DSC_ELIMIT, "claims 2 images");
    CHECK(d == NULL);
    /* A gzip file in a build without zlib: DSC_EUNSUPPORTED. */
    const unsigned char gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    dsc_status s = dsc_dataset_from_idx(file_with("g.gz", gz, sizeof gz), pl, &d);
    if (strstr(dsc_build_info(), "zlib: no"))
        EXPECT(s, DSC_EUNSUPPORTED, "no zlib");
    else
        EXPECT(s, DSC_EFORMAT, "g.gz");
}

static void test_model(void)
{
    dsc_model *m = (dsc_model *)1;
    EXPECT(dsc_model_new("2 -> 3:swish -> 1:identity", &m), DSC_EFORMAT, "swish");
    CHECK(m == NULL);
    EXPECT(dsc_model_new("2 -> 1:sigmoid", &m), DSC_OK, NULL);
    size_t first, count;
    EXPECT(dsc_model_find(m, "w9", &first, &count), DSC_ENOTFOUND, "w9");
    EXPECT(dsc_model_set(m, "b7", 1), DSC_ENOTFOUND, "b7");
    const char *three[] = {"a", "b", "c"};
    EXPECT(dsc_model_set_classes(m, three, 3), DSC_EINVAL, "3 class labels");
    EXPECT(dsc_model_set_input_names(m, (const char *[]){"x", "x"}), DSC_EINVAL, "twice");

    /* Saving: DSC_EIO where the file cannot be written, DSC_EINVAL for a
     * model no file could hold back. */
    char nodir[96];
    snprintf(nodir, sizeof nodir, "%s/no/such/m.bin", dir);
    EXPECT(dsc_model_save(m, nodir), DSC_EIO, "no/such/m.bin");
    EXPECT(dsc_model_save(m, dir), DSC_EINVAL, "is a directory");
    dsc_model_params(m)[0] = NAN;
    char good[96];
    snprintf(good, sizeof good, "%s/m.bin", dir);
    EXPECT(dsc_model_save(m, good), DSC_EINVAL, "NaN");
    CHECK(access(good, F_OK) != 0);
    dsc_model_params(m)[0] = 1;
    EXPECT(dsc_model_save(m, good), DSC_OK, NULL);

    /* Loading: DSC_EFORMAT for truncated, corrupted, foreign and future
     * files, DSC_EIO when unreadable, DSC_ELIMIT past the limit; *out NULL. */
    FILE *f = fopen(good, "rb");
    unsigned char b[4096];
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    dsc_model *r = (dsc_model *)1;
    EXPECT(dsc_model_load(file_with("cut.bin", b, n - 3), &r), DSC_EFORMAT, "truncated");
    CHECK(r == NULL);
    b[n / 2] ^= 1;
    EXPECT(dsc_model_load(file_with("flip.bin", b, n), &r), DSC_EFORMAT, "checksum");
    b[n / 2] ^= 1;
    EXPECT(dsc_model_load(TEXT_FILE("foreign.bin", "a,b\n1,2\n"), &r), DSC_EFORMAT,
           "not a descent model file");
    unsigned char future[16];
    memcpy(future, "DSCMODEL\x63\0\0\0", 12);
    EXPECT(dsc_model_load(file_with("future.bin", future, 12), &r), DSC_EFORMAT, "newer");
    char missing[96];
    snprintf(missing, sizeof missing, "%s/missing.bin", dir);
    EXPECT(dsc_model_load(missing, &r), DSC_EIO, "missing.bin");
    dsc_limits l;
    dsc_limits_init(&l);
    l.max_bytes = 16;
    EXPECT(dsc_model_load_limits(good, &l, &r), DSC_ELIMIT, "the limit");
    CHECK(r == NULL);
    EXPECT(dsc_model_load_memory("mem", b, n, &r), DSC_OK, NULL);
    dsc_model_free(r);

    /* A checkpoint loader given a plain model: DSC_EFORMAT. */
    dsc_train_state st;
    EXPECT(dsc_checkpoint_load(good, &r, &st), DSC_EFORMAT, "not a checkpoint");
    CHECK(r == NULL);
    dsc_model_free(m);
}

static int stop_now(const dsc_step_info *s, void *user)
{
    (void)s;
    (void)user;
    return 1;
}

static void test_train(void)
{
    const float x[] = {0, 0.5f, 1}, y[] = {0, 1, 0};
    dsc_model *m;
    dsc_dataset *d, *wide;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 1));
    CHECK_OK(dsc_dataset_from_arrays(x, y, 3, 1, 1, &d));
    const float x2[] = {0, 1, 2, 3, 4, 5};
    CHECK_OK(dsc_dataset_from_arrays(x2, y, 3, 2, 1, &wide));
    dsc_train_params p;
    dsc_train_params_init(&p);
    dsc_train_result r;
    p.max_iter = 5;
    EXPECT(dsc_train(m, d, &p, &r), DSC_OK, NULL);
    /* Bad arguments: shapes, an unknown name in only. */
    EXPECT(dsc_train(m, wide, &p, &r), DSC_ESHAPE, NULL);
    p.only = "w99";
    EXPECT(dsc_train(m, d, &p, &r), DSC_ENOTFOUND, "w99");
    p.only = NULL;
    /* A callback that stops: DSC_ECANCELLED, r filled. */
    p.on_step = stop_now;
    EXPECT(dsc_train(m, d, &p, &r), DSC_ECANCELLED, NULL);
    CHECK(r.stop == DSC_STOP_CALLBACK && r.iterations == 1);
    p.on_step = NULL;
    /* A learning rate that blows up: DSC_EDIVERGED, r filled. */
    p.learning_rate = 1e30;
    EXPECT(dsc_train(m, d, &p, &r), DSC_EDIVERGED, "diverged");
    CHECK(r.stop == DSC_STOP_DIVERGED);
    dsc_dataset_free(wide);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dsc_api_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_strerror();
    test_arrays();
    test_names();
    test_csv();
    test_idx();
    test_model();
    test_train();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
