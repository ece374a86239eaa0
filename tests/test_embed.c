/* What a host language (the Python package) needs from the library:
 * data sets that borrow the caller's arrays, model files in memory, the
 * explainer's text, a stop flag another thread can raise, and a clear
 * error for a NaN given to prediction. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "check.h"
#include "descent.h"
#include "viz/explain.h"

/* The seed's dosage data. */
static const float dose_x[] = {0.0f, 0.5f, 1.0f}, dose_y[] = {0.0f, 1.0f, 0.0f};

/* A 3-input, 2-output regression table of n rows, from a fixed formula. */
static void make_table(float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float a = (float)(i % 7) / 7.0f, b = (float)(i % 5) / 5.0f, c = (float)(i % 3) / 3.0f;
        x[3 * i] = a;
        x[3 * i + 1] = b;
        x[3 * i + 2] = c;
        y[2 * i] = a - 2 * b + 0.5f * c;
        y[2 * i + 1] = a * b - c;
    }
}

static void train_minibatch(dsc_model *m, const dsc_dataset *d)
{
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.optimizer = DSC_OPT_ADAM;
    p.epochs = 5;
    p.batch = 16;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
}

static void test_borrowed_dataset(void)
{
    enum { N = 200 };
    static float x[3 * N], y[2 * N], x_copy[3 * N], y_copy[2 * N];
    make_table(x, y, N);
    memcpy(x_copy, x, sizeof x);
    memcpy(y_copy, y, sizeof y);

    dsc_dataset *wrapped, *copied;
    CHECK_OK(dsc_dataset_wrap(x, y, N, 3, 2, &wrapped));
    CHECK_OK(dsc_dataset_from_arrays(x, y, N, 3, 2, &copied));
    /* No copy: the data set reads the caller's arrays themselves. */
    CHECK(dsc_dataset_x(wrapped) == x);
    CHECK(dsc_dataset_y(wrapped) == y);
    CHECK(dsc_dataset_x(copied) != x);
    CHECK(dsc_dataset_rows(wrapped) == N && dsc_dataset_inputs(wrapped) == 3 &&
          dsc_dataset_outputs(wrapped) == 2);

    /* Training on borrowed data is training on the same numbers. */
    dsc_model *a, *b;
    CHECK_OK(dsc_model_new("3 -> 8:tanh -> 2:identity", &a));
    CHECK_OK(dsc_model_init(a, DSC_INIT_DEFAULT, 7));
    CHECK_OK(dsc_model_clone(a, &b));
    CHECK_OK(dsc_model_fit_standardization(a, wrapped, 1));
    CHECK_OK(dsc_model_fit_standardization(b, copied, 1));
    train_minibatch(a, wrapped);
    train_minibatch(b, copied);
    CHECK(memcmp(dsc_model_params_const(a), dsc_model_params_const(b),
                 dsc_model_param_count(a) * sizeof(float)) == 0);

    /* A split copies its rows: it outlives the data set it came from. */
    dsc_dataset *tr, *va;
    CHECK_OK(dsc_dataset_split(wrapped, 0.25, 3, &tr, &va));
    dsc_dataset_free(wrapped); /* must free neither x nor y (ASan would see it) */
    CHECK(dsc_dataset_rows(tr) + dsc_dataset_rows(va) == N);
    CHECK(dsc_dataset_x(tr) != x);
    double loss;
    CHECK_OK(dsc_evaluate_loss(a, va, DSC_LOSS_MSE, &loss));
    CHECK(isfinite(loss));
    /* The library never wrote into the caller's arrays. */
    CHECK(memcmp(x, x_copy, sizeof x) == 0 && memcmp(y, y_copy, sizeof y) == 0);
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(copied);

    /* Inputs only (data to predict from): y may be NULL. */
    dsc_dataset *inputs;
    CHECK_OK(dsc_dataset_wrap(x, NULL, N, 3, 0, &inputs));
    CHECK(dsc_dataset_outputs(inputs) == 0);
    dsc_dataset_free(inputs);

    /* A view that starts one float in (a numpy slice x[1:] does) needs no
     * more than float alignment. */
    dsc_dataset *offset;
    CHECK_OK(dsc_dataset_wrap(x + 3, y + 2, N - 1, 3, 2, &offset));
    CHECK_OK(dsc_evaluate_loss(a, offset, DSC_LOSS_MSE, &loss));
    CHECK(isfinite(loss));
    dsc_dataset_free(offset);
    dsc_model_free(a);
    dsc_model_free(b);

    /* Bad arrays: refused with the place of the bad value, nothing made. */
    dsc_dataset *d = (dsc_dataset *)1;
    float bad[6] = {1, 2, 3, 4, NAN, 6}, t[2] = {0, 1};
    CHECK(dsc_dataset_wrap(bad, t, 2, 3, 1, &d) == DSC_EINVAL);
    CHECK(d == NULL);
    CHECK(strstr(dsc_last_error(), "input value at row 2, column 2 is NaN") != NULL);
    bad[4] = -INFINITY;
    CHECK(dsc_dataset_from_arrays(bad, t, 2, 3, 1, &d) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "row 2, column 2 is infinite") != NULL);
    float tnan[2] = {0, NAN};
    CHECK(dsc_dataset_wrap(x, tnan, 2, 3, 1, &d) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "target value at row 2, column 1 is NaN") != NULL);
    CHECK(dsc_dataset_wrap(x, NULL, 2, 3, 1, &d) == DSC_EINVAL);
    CHECK(dsc_dataset_wrap(x, y, 0, 3, 2, &d) == DSC_EINVAL);
    CHECK(dsc_dataset_wrap(x, y, 2, 0, 2, &d) == DSC_EINVAL);
    CHECK(dsc_dataset_wrap(x, y, 2, 3, 2, NULL) == DSC_EINVAL);
}

static void test_model_in_memory(void)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("2 -> 3:softplus -> 2:softmax", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_NORMAL, 5));
    const char *labels[] = {"setosa", "virginica"};
    CHECK_OK(dsc_model_set_classes(m, labels, 2));
    void *bytes = NULL;
    size_t size = 0;
    CHECK_OK(dsc_model_save_memory(m, &bytes, &size));
    CHECK(bytes != NULL && size > 16);

    /* The same bytes as the file dsc_model_save writes. */
    char path[] = "/tmp/descent-embed-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK_OK(dsc_model_save(m, path));
    FILE *f = fopen(path, "rb");
    static unsigned char file[1 << 16];
    size_t got = f ? fread(file, 1, sizeof file, f) : 0;
    if (f) fclose(f);
    remove(path);
    CHECK(got == size && memcmp(file, bytes, size) == 0);

    /* And they load back to the same model. */
    dsc_model *back;
    CHECK_OK(dsc_model_load_memory("pickle", bytes, size, &back));
    CHECK(strcmp(dsc_model_spec(back), dsc_model_spec(m)) == 0);
    CHECK(memcmp(dsc_model_params_const(back), dsc_model_params_const(m),
                 dsc_model_param_count(m) * sizeof(float)) == 0);
    CHECK(dsc_model_classes(back) == 2 && strcmp(dsc_model_class_label(back, 1), "virginica") == 0);
    dsc_model_free(back);
    dsc_buffer_free(bytes);
    dsc_buffer_free(NULL);

    /* A model no loader would accept is not encoded. */
    dsc_model_params(m)[0] = NAN;
    bytes = (void *)1;
    size = 99;
    CHECK(dsc_model_save_memory(m, &bytes, &size) == DSC_EINVAL);
    CHECK(bytes == NULL && size == 0);
    CHECK(strstr(dsc_last_error(), "w1 is NaN") != NULL);
    CHECK(dsc_model_save_memory(NULL, &bytes, &size) == DSC_EINVAL);
    CHECK(dsc_model_save_memory(m, NULL, &size) == DSC_EINVAL);
    dsc_model_free(m);
}

static void test_explain_text(void)
{
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    CHECK_OK(dsc_dataset_wrap(dose_x, dose_y, 3, 1, 1, &d));
    const char *names[] = {"w1", "b1", "w2", "b2", "w3", "w4", "b3"};
    const float values[] = {3.34f, -1.43f, -3.53f, 0.57f, -1.22f, -2.30f, 0.0f};
    for (int i = 0; i < 7; i++) CHECK_OK(dsc_model_set(m, names[i], values[i]));
    char *text = NULL, *internal = NULL;
    double diff = 1;
    CHECK_OK(dsc_model_explain(m, d, DSC_LOSS_SSR, "b3", 0, &text, &diff));
    CHECK_OK(dsc_explain_model(m, d, DSC_LOSS_SSR, "b3", 0, &internal, NULL));
    CHECK(text && internal && strcmp(text, internal) == 0);
    /* The seed's derivative of b3 at these weights: -15.7 by hand. */
    CHECK(text && strstr(text, "dSSR/db3") != NULL);
    CHECK(text && strstr(text, "-15.6") != NULL);
    CHECK(diff < 1e-5);
    dsc_buffer_free(text);
    dsc_free(internal);

    CHECK(dsc_model_explain(m, d, DSC_LOSS_SSR, "w9", 0, &text, NULL) == DSC_ENOTFOUND);
    CHECK(text == NULL);
    dsc_model *big;
    CHECK_OK(dsc_model_new("1 -> 30:relu -> 1:identity", &big));
    CHECK(dsc_model_explain(big, d, DSC_LOSS_SSR, NULL, 0, &text, NULL) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "at most 64") != NULL);
    dsc_model_free(big);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* --- the stop flag ---------------------------------------------------------- */

typedef struct {
    volatile int *flag;
    double after;
} raiser;

static void *raise_later(void *arg)
{
    raiser *r = arg;
    struct timespec ts = {0, (long)(r->after * 1e9)};
    nanosleep(&ts, NULL);
    __atomic_store_n(r->flag, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void test_stop_flag(void)
{
    enum { N = 256 };
    static float x[3 * N], y[2 * N];
    make_table(x, y, N);
    dsc_dataset *d;
    CHECK_OK(dsc_dataset_wrap(x, y, N, 3, 2, &d));
    dsc_model *m;
    CHECK_OK(dsc_model_new("3 -> 16:relu -> 2:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 1));

    /* Raised before the run: not one update is made. */
    volatile int flag = 1;
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.stop = &flag;
    dsc_train_result r;
    float before = dsc_model_params_const(m)[0];
    CHECK(dsc_train(m, d, &p, &r) == DSC_ECANCELLED);
    CHECK(r.stop == DSC_STOP_CALLBACK && r.iterations == 0);
    CHECK(dsc_model_params_const(m)[0] == before);
    CHECK(strstr(dsc_last_error(), "stopped") != NULL);

    /* Raised by another thread in the middle of runs that would go on for
     * minutes: each optimizer family stops soon after. */
    const dsc_optimizer opts[] = {DSC_OPT_GD, DSC_OPT_ADAM, DSC_OPT_LBFGS, DSC_OPT_RPROP};
    for (size_t k = 0; k < DSC_COUNT_OF(opts); k++) {
        flag = 0;
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_MSE;
        p.optimizer = opts[k];
        p.step_tol = 0;
        p.max_iter = 0x7fffffff;
        if (opts[k] == DSC_OPT_ADAM) {
            p.epochs = 1000000;
            p.batch = 8;
            p.max_iter = -1;
        }
        p.stop = &flag;
        raiser rs = {&flag, 0.05};
        pthread_t t;
        pthread_create(&t, NULL, raise_later, &rs);
        double t0 = dsc_seconds();
        dsc_status s = dsc_train(m, d, &p, &r);
        double took = dsc_seconds() - t0;
        pthread_join(t, NULL);
        /* L-BFGS may converge on this table before the flag rises. */
        if (opts[k] == DSC_OPT_LBFGS && s == DSC_OK) continue;
        CHECK(s == DSC_ECANCELLED);
        CHECK(r.stop == DSC_STOP_CALLBACK);
        CHECK(r.iterations > 0);
        CHECK(took < 30);
    }
    dsc_model_free(m);
    dsc_dataset_free(d);
}

/* --- prediction refuses what it cannot compute -------------------------------- */

static void test_predict_nan(void)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("3 -> 4:relu -> 2:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 1));
    float x[6] = {1, 2, 3, 4, 5, NAN}, y[4] = {7, 7, 7, 7};
    CHECK(dsc_model_predict(m, x, 2, y) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "input value at row 2, column 3 is NaN") != NULL);
    CHECK(y[0] == 7 && y[3] == 7); /* nothing written */
    dsc_workspace *ws;
    CHECK_OK(dsc_workspace_new(m, 1, &ws));
    x[5] = INFINITY;
    CHECK(dsc_predict(m, ws, x, 2, y) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "is infinite") != NULL);
    x[5] = 6;
    CHECK_OK(dsc_predict(m, ws, x, 2, y));
    CHECK(isfinite(y[0]) && isfinite(y[3]));
    dsc_workspace_free(ws);
    dsc_model_free(m);
}

/* --- a row's prediction does not depend on the rows around it --------------- */

static void test_row_invariance(void)
{
    const char *specs[] = {
        "10 -> 100:relu -> 1:identity",         "4 -> 3:softmax",
        "64 -> 32:tanh,16:relu -> 10:softmax",  "1 -> 2:softplus -> 1:identity",
        "300 -> 40:sigmoid -> 3:identity",      "1x6x6 -> conv4@3x3:relu -> maxpool2 -> 3:softmax",
        "2x5x5 -> conv1@2x2:tanh -> 2:identity"};
    enum { N = 300 };
    static float x[N * 300], all[N * 10], one[10], group[7 * 10];
    dsc_rng rng;
    dsc_rng_seed(&rng, 11, 1);
    for (size_t i = 0; i < DSC_COUNT_OF(x); i++) x[i] = 4 * dsc_rng_uniform(&rng) - 2;
    for (size_t s = 0; s < DSC_COUNT_OF(specs); s++) {
        dsc_model *m;
        CHECK_OK(dsc_model_new(specs[s], &m));
        CHECK_OK(dsc_model_init(m, DSC_INIT_NORMAL, 3 + s));
        size_t in = dsc_model_inputs(m), out = dsc_model_outputs(m);
        if (s == 2) {
            /* Standardised inputs go through the same staging. */
            dsc_dataset *d;
            static float yz[N * 10];
            CHECK_OK(dsc_dataset_wrap(x, yz, N, in, out, &d));
            CHECK_OK(dsc_model_fit_standardization(m, d, 0));
            dsc_dataset_free(d);
        }
        /* All rows at once: a chunk of 256 and a tail of 44. */
        CHECK_OK(dsc_model_predict(m, x, N, all));
        int same_alone = 1, same_grouped = 1;
        for (size_t i = 0; i < N; i++) {
            CHECK_OK(dsc_model_predict(m, x + i * in, 1, one));
            same_alone &= memcmp(one, all + i * out, out * sizeof(float)) == 0;
        }
        for (size_t i = 0, g = 1; i < N; i += g, g = g % 7 + 1) {
            size_t rows = N - i < g ? N - i : g;
            CHECK_OK(dsc_model_predict(m, x + i * in, rows, group));
            same_grouped &= memcmp(group, all + i * out, rows * out * sizeof(float)) == 0;
        }
        CHECK(same_alone);
        CHECK(same_grouped);
        /* A workspace asked for it behaves the same; one row through a
         * workspace for one row too. */
        dsc_workspace *ws;
        CHECK_OK(dsc_workspace_new(m, 1, &ws));
        CHECK_OK(dsc_workspace_set_row_invariant(ws, 1));
        CHECK_OK(dsc_predict(m, ws, x + 17 * in, 1, one));
        CHECK(memcmp(one, all + 17 * out, out * sizeof(float)) == 0);
        dsc_workspace_free(ws);
        dsc_model_free(m);
    }
    CHECK(dsc_workspace_set_row_invariant(NULL, 1) == DSC_EINVAL);
}

int main(void)
{
    test_row_invariance();
    test_borrowed_dataset();
    test_model_in_memory();
    test_explain_text();
    test_stop_flag();
    test_predict_nan();
    return check_report();
}
