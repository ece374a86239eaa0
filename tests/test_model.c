/* Models: spec strings, the seed's parameter names, set/get/find,
 * initialisation, prediction (also from many threads at once). */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "descent.h"

#define DSC_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static void test_spec_and_names(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    CHECK(dsc_model_param_count(m) == 7);
    CHECK(strcmp(dsc_model_spec(m), "1 -> 2:softplus -> 1:identity") == 0);
    /* The seed's names, in the flat order: layer1.weight, layer1.bias, ... */
    const char *names[] = {"w1", "w2", "b1", "b2", "w3", "w4", "b3"};
    for (size_t i = 0; i < 7; i++) CHECK(strcmp(dsc_model_param_name(m, i), names[i]) == 0);
    size_t first = 99, count = 0;
    CHECK_OK(dsc_model_find(m, "w3", &first, &count));
    CHECK(first == 4 && count == 1);
    CHECK_OK(dsc_model_find(m, "layer1.weight", &first, &count));
    CHECK(first == 0 && count == 2);
    CHECK_OK(dsc_model_find(m, "layer2.bias", &first, &count));
    CHECK(first == 6 && count == 1);
    CHECK(dsc_model_find(m, "w5", &first, &count) == DSC_ENOTFOUND);
    CHECK(strstr(dsc_last_error(), "w1..w4") != NULL);
    CHECK(dsc_model_find(m, "b0", &first, &count) == DSC_ENOTFOUND);
    CHECK(dsc_model_find(m, "layer3.bias", &first, &count) == DSC_ENOTFOUND);
    CHECK(dsc_model_find(m, "w1x", &first, &count) == DSC_ENOTFOUND);
    CHECK_OK(dsc_model_set(m, "b3", 2.61f));
    float v = 0;
    CHECK_OK(dsc_model_get(m, "b3", &v));
    CHECK(v == 2.61f);
    CHECK(dsc_model_get(m, "layer1.weight", &v) == DSC_EINVAL);
    CHECK_OK(dsc_model_set(m, "layer1.weight", 0.5f));
    CHECK(dsc_model_params(m)[0] == 0.5f && dsc_model_params(m)[1] == 0.5f);
    dsc_model_free(m);

    /* Commas and arrows both separate hidden layers; no hidden layer is fine. */
    CHECK_OK(dsc_model_new("784 -> 256:relu,128:relu -> 10:softmax", &m));
    CHECK(dsc_model_layers(m) == 3);
    CHECK(dsc_model_param_count(m) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
    CHECK(strcmp(dsc_model_param_name(m, 784 * 256), "b1") == 0);
    CHECK(strcmp(dsc_model_param_name(m, 784 * 256 + 256), "w200705") == 0);
    dsc_model_free(m);
    CHECK_OK(dsc_model_new("3 -> 1:identity", &m));
    CHECK(dsc_model_param_count(m) == 4);
    dsc_model_free(m);

    const char *bad[] = {"",
                         "x -> 1:identity",
                         "2 -> 1",
                         "2 -> 1:nope",
                         "2 -> 0:relu",
                         "2 -> 3:relu 1:identity",
                         "2 -> 3:softmax -> 1:identity",
                         "2 ->"};
    for (size_t i = 0; i < DSC_COUNT_OF(bad); i++) {
        m = (dsc_model *)1;
        CHECK(dsc_model_new(bad[i], &m) == DSC_EFORMAT);
        CHECK(m == NULL);
        CHECK(strstr(dsc_last_error(), "model spec") != NULL);
    }
}

static void test_init(void)
{
    dsc_model *a, *b;
    CHECK_OK(dsc_model_new("4 -> 8:relu -> 3:tanh -> 2:identity", &a));
    CHECK_OK(dsc_model_new("4 -> 8:relu -> 3:tanh -> 2:identity", &b));
    CHECK_OK(dsc_model_init(a, DSC_INIT_DEFAULT, 7));
    CHECK_OK(dsc_model_init(b, DSC_INIT_DEFAULT, 7));
    size_t n = dsc_model_param_count(a);
    CHECK(memcmp(dsc_model_params(a), dsc_model_params(b), n * sizeof(float)) == 0);
    /* He-uniform for the relu layer: |w| <= sqrt(6 / 4); Xavier-uniform for
     * the tanh layer: |w| <= sqrt(6 / (8 + 3)). Biases are 0. */
    const float *p = dsc_model_params(a);
    int in_bounds = 1, nonzero = 0;
    for (size_t i = 0; i < 32; i++)
        in_bounds &= fabsf(p[i]) <= sqrtf(6.0f / 4), nonzero += p[i] != 0;
    for (size_t i = 40; i < 64; i++) in_bounds &= fabsf(p[i]) <= sqrtf(6.0f / 11);
    for (size_t i = 32; i < 40; i++) in_bounds &= p[i] == 0;
    CHECK(in_bounds);
    CHECK(nonzero > 28);
    CHECK_OK(dsc_model_init(b, DSC_INIT_DEFAULT, 8));
    CHECK(memcmp(dsc_model_params(a), dsc_model_params(b), n * sizeof(float)) != 0);
    /* Standard normal: the sample variance of 1000 weights is near 1. */
    dsc_model *big;
    CHECK_OK(dsc_model_new("100 -> 10:identity", &big));
    CHECK_OK(dsc_model_init(big, DSC_INIT_NORMAL, 3));
    double s = 0, s2 = 0;
    for (size_t i = 0; i < 1000; i++)
        s += dsc_model_params(big)[i], s2 += dsc_model_params(big)[i] * dsc_model_params(big)[i];
    CHECK_NEAR(s / 1000, 0.0, 0.1);
    CHECK_NEAR(s2 / 1000, 1.0, 0.15);
    dsc_model_free(big);
    dsc_model_free(a);
    dsc_model_free(b);
}

/* The seed's softplus network with its trained weights gives the fitted
 * curve: at b3 = 0 the outputs are -1.22 softplus(3.34 x - 1.43)
 * - 2.30 softplus(-3.53 x + 0.57). */
static float softplus(float x) { return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)); }

static void test_predict(void)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    const char *names[] = {"w1", "b1", "w2", "b2", "w3", "w4", "b3"};
    const float vals[] = {3.34f, -1.43f, -3.53f, 0.57f, -1.22f, -2.30f, 0.0f};
    for (int i = 0; i < 7; i++) CHECK_OK(dsc_model_set(m, names[i], vals[i]));
    const float x[] = {0.0f, 0.5f, 1.0f};
    float y[3];
    CHECK_OK(dsc_model_predict(m, x, 3, y));
    for (int i = 0; i < 3; i++) {
        float want =
            -1.22f * softplus(3.34f * x[i] - 1.43f) - 2.30f * softplus(-3.53f * x[i] + 0.57f);
        CHECK_NEAR(y[i], want, 1e-5);
    }
    /* In chunks smaller than n, through a workspace. */
    dsc_workspace *ws;
    CHECK_OK(dsc_workspace_new(m, 2, &ws));
    float y2[3];
    CHECK_OK(dsc_predict(m, ws, x, 3, y2));
    CHECK(memcmp(y, y2, sizeof y) == 0);
    dsc_model *other;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &other));
    CHECK(dsc_predict(other, ws, x, 3, y2) == DSC_EINVAL);
    dsc_model_free(other);
    dsc_workspace_free(ws);
    dsc_model_free(m);
}

/* Many threads predict with one read-only model, each with its own
 * workspace, and all get the single-threaded answer. */
typedef struct {
    const dsc_model *m;
    const float *x;
    float *y;
    size_t n;
    int status;
} job;

static void *predict_job(void *arg)
{
    job *j = arg;
    dsc_workspace *ws;
    j->status = dsc_workspace_new(j->m, 16, &ws);
    for (int rep = 0; rep < 20 && !j->status; rep++)
        j->status = dsc_predict(j->m, ws, j->x, j->n, j->y);
    dsc_workspace_free(ws);
    return NULL;
}

static void test_threads(void)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("5 -> 16:relu -> 8:tanh -> 3:softmax", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 11));
    enum { N = 100, T = 4 };
    float x[N * 5], want[N * 3], got[T][N * 3];
    for (int i = 0; i < N * 5; i++) x[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    /* The reference runs in this thread with the same chunk size: the
     * threads must give exactly it. */
    dsc_workspace *ws;
    CHECK_OK(dsc_workspace_new(m, 16, &ws));
    CHECK_OK(dsc_predict(m, ws, x, N, want));
    dsc_workspace_free(ws);
    float whole[N * 3];
    CHECK_OK(dsc_model_predict(m, x, N, whole));
    for (int i = 0; i < N * 3; i++) CHECK_NEAR(whole[i], want[i], 1e-6);
    pthread_t th[T];
    job jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (job){m, x, got[t], N, -1};
        pthread_create(&th[t], NULL, predict_job, &jobs[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].status == 0);
        CHECK(memcmp(got[t], want, sizeof want) == 0);
    }
    /* softmax rows sum to 1 */
    for (int i = 0; i < N; i++)
        CHECK_NEAR(want[3 * i] + want[3 * i + 1] + want[3 * i + 2], 1.0, 1e-5);
    dsc_model_free(m);
}

int main(void)
{
    test_spec_and_names();
    test_init();
    test_predict();
    test_threads();
    return check_report();
}
