/* dsc_model_evaluate on hand-built models whose predictions are known, so
 * every metric can be checked against numbers worked out on paper. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "data/data.h"
#include "descent.h"

static dsc_model *make_model(const char *spec)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new(spec, &m));
    return m;
}

static dsc_dataset *make_data(const float *x, const float *y, size_t n, size_t n_in, size_t n_out)
{
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, n, n_in, n_out, &d));
    return d;
}

/* The loss must be exactly what training reports for the same data. */
static void check_loss_matches(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, double got)
{
    double want = NAN;
    CHECK_OK(dsc_evaluate_loss(m, d, loss, &want));
    CHECK(got == want);
}

static void check_no_regression(const dsc_metrics *mt)
{
    CHECK(isnan(mt->mse));
    CHECK(isnan(mt->mae));
    CHECK(isnan(mt->r2));
}

static void check_no_classification(const dsc_metrics *mt)
{
    CHECK(isnan(mt->accuracy));
    CHECK(mt->n_classes == 0);
    CHECK(mt->confusion == NULL);
    CHECK(mt->precision == NULL && mt->recall == NULL && mt->f1 == NULL);
}

/* "2 -> 3:softmax" whose logits are (x0, x1, 0): the class follows the
 * larger input, and (0, 0) is a three-way tie. Class 2 is never predicted. */
static void test_softmax(void)
{
    dsc_model *m = make_model("2 -> 3:softmax");
    CHECK_OK(dsc_model_set(m, "w1", 1.0f));
    CHECK_OK(dsc_model_set(m, "w4", 1.0f));
    const char *labels[] = {"a", "b", "c"};
    CHECK_OK(dsc_model_set_classes(m, labels, 3));

    /* row: input -> predicted class, true class */
    const float x[] = {
        2, 0, /* pred 0, true 0 */
        2, 0, /* pred 0, true 1 */
        0, 2, /* pred 1, true 1 */
        0, 2, /* pred 1, true 2 */
        0, 2, /* pred 1, true 1 */
        0, 0, /* tie: pred 0, true 1 */
        3, 1, /* pred 0, true 0 */
        1, 3, /* pred 1, true 2 */
    };
    const float y[] = {
        1, 0, 0, /* true 0 */
        0, 1, 0, /* true 1 */
        0, 1, 0, /* true 1 */
        0, 0, 1, /* true 2 */
        0, 1, 0, /* true 1 */
        0, 1, 0, /* true 1 */
        1, 0, 0, /* true 0 */
        0, 0, 1, /* true 2 */
    };
    dsc_dataset *d = make_data(x, y, 8, 2, 3);

    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    CHECK(mt.n == 8);
    CHECK(isfinite(mt.loss));
    check_loss_matches(m, d, DSC_LOSS_CE, mt.loss);
    CHECK_NEAR(mt.accuracy, 0.5, 1e-12);
    CHECK(mt.n_classes == 3);
    if (mt.confusion) {
        const size_t want[9] = {2, 0, 0, 2, 2, 0, 0, 2, 0};
        for (int i = 0; i < 9; i++) CHECK(mt.confusion[i] == want[i]);
    }
    if (mt.precision && mt.recall && mt.f1) {
        CHECK_NEAR(mt.precision[0], 0.5, 1e-12);
        CHECK_NEAR(mt.recall[0], 1.0, 1e-12);
        CHECK_NEAR(mt.f1[0], 2.0 / 3.0, 1e-12);
        CHECK_NEAR(mt.precision[1], 0.5, 1e-12);
        CHECK_NEAR(mt.recall[1], 0.5, 1e-12);
        CHECK_NEAR(mt.f1[1], 0.5, 1e-12);
        /* Never predicted: precision undefined; recall 0; F1 = 2TP/(2TP+FP+FN)
         * = 0, as scikit-learn's f1_score has it. */
        CHECK(isnan(mt.precision[2]));
        CHECK_NEAR(mt.recall[2], 0.0, 0);
        CHECK_NEAR(mt.f1[2], 0.0, 0);
    }
    check_no_regression(&mt);

    dsc_metrics_free(&mt);
    CHECK(mt.confusion == NULL && mt.precision == NULL && mt.n_classes == 0 && mt.n == 0);
    dsc_metrics_free(&mt); /* freeing a freed (zeroed) struct is harmless */
    dsc_metrics_free(NULL);

    /* The same model as a regression (no class labels) gives no
     * classification metrics. */
    CHECK_OK(dsc_model_set_classes(m, NULL, 0));
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    check_no_classification(&mt);
    CHECK(isfinite(mt.mse) && isfinite(mt.mae) && isfinite(mt.r2));
    dsc_metrics_free(&mt);

    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* More rows than one prediction chunk: every row predicted class 0, true
 * classes cycling 0, 1, 2. */
static void test_softmax_many_rows(void)
{
    enum { N = 517 };
    dsc_model *m = make_model("2 -> 3:softmax");
    CHECK_OK(dsc_model_set(m, "w1", 1.0f));
    CHECK_OK(dsc_model_set(m, "w4", 1.0f));
    const char *labels[] = {"a", "b", "c"};
    CHECK_OK(dsc_model_set_classes(m, labels, 3));
    static float x[N * 2], y[N * 3];
    for (size_t i = 0; i < N; i++) {
        x[i * 2] = 2;
        y[i * 3 + i % 3] = 1;
    }
    dsc_dataset *d = make_data(x, y, N, 2, 3);
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    if (mt.confusion) {
        CHECK(mt.confusion[0 * 3 + 0] == 173);
        CHECK(mt.confusion[1 * 3 + 0] == 172);
        CHECK(mt.confusion[2 * 3 + 0] == 172);
    }
    CHECK_NEAR(mt.accuracy, 173.0 / N, 1e-12);
    if (mt.precision) CHECK_NEAR(mt.precision[0], 173.0 / N, 1e-12);
    check_loss_matches(m, d, DSC_LOSS_CE, mt.loss);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* "1 -> 1:sigmoid" with w1 = 1: class 1 exactly when x > 0. */
static void test_sigmoid(void)
{
    dsc_model *m = make_model("1 -> 1:sigmoid");
    CHECK_OK(dsc_model_set(m, "w1", 1.0f));
    const char *labels[] = {"no", "yes"};
    CHECK_OK(dsc_model_set_classes(m, labels, 2));
    const float x[] = {-2, -1, 1, 2, 0.5f};
    const float y[] = {0, 1, 1, 1, 0}; /* predicted 0, 0, 1, 1, 1 */
    dsc_dataset *d = make_data(x, y, 5, 1, 1);

    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_BCE, &mt));
    check_loss_matches(m, d, DSC_LOSS_BCE, mt.loss);
    CHECK(mt.n == 5);
    CHECK_NEAR(mt.accuracy, 0.6, 1e-12);
    CHECK(mt.n_classes == 2);
    if (mt.confusion) {
        CHECK(mt.confusion[0] == 1); /* true 0, predicted 0 */
        CHECK(mt.confusion[1] == 1); /* true 0, predicted 1 */
        CHECK(mt.confusion[2] == 1); /* true 1, predicted 0 */
        CHECK(mt.confusion[3] == 2); /* true 1, predicted 1 */
    }
    if (mt.precision && mt.recall && mt.f1) {
        CHECK_NEAR(mt.precision[0], 0.5, 1e-12);
        CHECK_NEAR(mt.recall[0], 0.5, 1e-12);
        CHECK_NEAR(mt.f1[0], 0.5, 1e-12);
        CHECK_NEAR(mt.precision[1], 2.0 / 3.0, 1e-12);
        CHECK_NEAR(mt.recall[1], 2.0 / 3.0, 1e-12);
        CHECK_NEAR(mt.f1[1], 2.0 / 3.0, 1e-12);
    }
    check_no_regression(&mt);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* "1 -> 1:identity" with w1 = 2, b1 = 1 predicts 2x + 1. */
static void test_regression(void)
{
    dsc_model *m = make_model("1 -> 1:identity");
    CHECK_OK(dsc_model_set(m, "w1", 2.0f));
    CHECK_OK(dsc_model_set(m, "b1", 1.0f));
    const float x[] = {0, 1, 2, 3};
    const float y[] = {1, 5, 4, 7}; /* predictions 1, 3, 5, 7: errors 0, 2, -1, 0 */
    dsc_dataset *d = make_data(x, y, 4, 1, 1);

    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK(mt.n == 4);
    CHECK_NEAR(mt.loss, 1.25, 1e-6);
    check_loss_matches(m, d, DSC_LOSS_MSE, mt.loss);
    CHECK_NEAR(mt.mse, 1.25, 1e-12);
    CHECK_NEAR(mt.mae, 0.75, 1e-12);
    /* mean y 4.25: SS_tot = 10.5625 + 0.5625 + 0.0625 + 7.5625 = 18.75 */
    CHECK_NEAR(mt.r2, 1.0 - 5.0 / 18.75, 1e-12);
    check_no_classification(&mt);
    dsc_metrics_free(&mt);

    /* The loss is whichever one was asked for; the metrics do not change. */
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_SSR, &mt));
    CHECK_NEAR(mt.loss, 5.0, 1e-6);
    check_loss_matches(m, d, DSC_LOSS_SSR, mt.loss);
    CHECK_NEAR(mt.mse, 1.25, 1e-12);
    dsc_metrics_free(&mt);

    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* With inputs and targets standardised, the model maps z = (x - 1) / 0.5 to
 * o = 2z + 1, and predictions are 2o + 10 = 8x + 4 in original units. */
static void test_regression_standardised(void)
{
    dsc_model *m = make_model("1 -> 1:identity");
    CHECK_OK(dsc_model_set(m, "w1", 2.0f));
    CHECK_OK(dsc_model_set(m, "b1", 1.0f));
    const float x_mean = 1, x_std = 0.5f, y_mean = 10, y_std = 2;
    CHECK_OK(dsc_model_set_standardization(m, &x_mean, &x_std, &y_mean, &y_std));
    const float x[] = {0, 1, 2};
    const float y[] = {4, 13, 19}; /* predictions 4, 12, 20: errors 0, 1, -1 */
    dsc_dataset *d = make_data(x, y, 3, 1, 1);

    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK_NEAR(mt.mse, 2.0 / 3.0, 1e-9);
    CHECK_NEAR(mt.mae, 2.0 / 3.0, 1e-9);
    /* mean y 12: SS_tot = 64 + 1 + 49 = 114 */
    CHECK_NEAR(mt.r2, 1.0 - 2.0 / 114.0, 1e-9);
    /* The loss is in standardised units, as training sees it: errors / 2. */
    CHECK_NEAR(mt.loss, 1.0 / 6.0, 1e-6);
    check_loss_matches(m, d, DSC_LOSS_MSE, mt.loss);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Two outputs: R^2 uses each output's own mean. "1 -> 2:identity" with
 * w1 = w2 = 1, b2 = 10 predicts (x, x + 10). */
static void test_regression_two_outputs(void)
{
    dsc_model *m = make_model("1 -> 2:identity");
    CHECK_OK(dsc_model_set(m, "w1", 1.0f));
    CHECK_OK(dsc_model_set(m, "w2", 1.0f));
    CHECK_OK(dsc_model_set(m, "b2", 10.0f));
    const float x[] = {0, 1, 2};
    const float y[] = {0, 10, 1, 12, 3, 12}; /* errors (0, 0), (0, 1), (1, 0) */
    dsc_dataset *d = make_data(x, y, 3, 1, 2);

    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK_NEAR(mt.mse, 2.0 / 6.0, 1e-12);
    CHECK_NEAR(mt.mae, 2.0 / 6.0, 1e-12);
    /* SS_tot = 14/3 (mean 4/3) + 8/3 (mean 34/3) = 22/3 */
    CHECK_NEAR(mt.r2, 1.0 - 2.0 / (22.0 / 3.0), 1e-9);
    check_loss_matches(m, d, DSC_LOSS_MSE, mt.loss);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Constant targets: R^2 is 1 for an exact fit, NaN otherwise. */
static void test_regression_constant(void)
{
    dsc_model *m = make_model("1 -> 1:identity");
    CHECK_OK(dsc_model_set(m, "b1", 3.0f));
    const float x[] = {0, 1};
    const float exact[] = {3, 3}, off[] = {4, 4};
    dsc_dataset *d = make_data(x, exact, 2, 1, 1);
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK_NEAR(mt.mse, 0.0, 0);
    CHECK_NEAR(mt.r2, 1.0, 0);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);

    d = make_data(x, off, 2, 1, 1);
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK_NEAR(mt.mse, 1.0, 1e-12);
    CHECK_NEAR(mt.mae, 1.0, 1e-12);
    CHECK(isnan(mt.r2));
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* More rows than one prediction chunk: errors alternate +1 and -1. */
static void test_regression_many_rows(void)
{
    enum { N = 600 };
    dsc_model *m = make_model("1 -> 1:identity");
    CHECK_OK(dsc_model_set(m, "w1", 2.0f));
    CHECK_OK(dsc_model_set(m, "b1", 1.0f));
    static float x[N], y[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)(i % 10);
        y[i] = 2 * x[i] + 1 + (i % 2 ? 1.0f : -1.0f);
    }
    dsc_dataset *d = make_data(x, y, N, 1, 1);
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK(mt.n == N);
    CHECK_NEAR(mt.mse, 1.0, 1e-12);
    CHECK_NEAR(mt.mae, 1.0, 1e-12);
    check_loss_matches(m, d, DSC_LOSS_MSE, mt.loss);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

static void test_errors(void)
{
    dsc_model *m = make_model("2 -> 3:softmax");
    const char *labels[] = {"a", "b", "c"};
    CHECK_OK(dsc_model_set_classes(m, labels, 3));
    dsc_metrics mt;

    /* Three inputs for a two-input model. */
    const float x3[] = {1, 2, 3};
    const float y3[] = {1, 0, 0};
    dsc_dataset *d = make_data(x3, y3, 1, 3, 3);
    memset(&mt, 0xff, sizeof mt);
    CHECK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt) == DSC_ESHAPE);
    CHECK(strstr(dsc_last_error(), "3 input columns, the model takes 2") != NULL);
    CHECK(mt.confusion == NULL && mt.precision == NULL && mt.n == 0);
    dsc_dataset_free(d);

    /* Two targets for a three-output model. */
    const float x2[] = {1, 2};
    const float y2[] = {1, 0};
    d = make_data(x2, y2, 1, 2, 2);
    CHECK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt) == DSC_ESHAPE);
    CHECK(mt.confusion == NULL);
    dsc_dataset_free(d);

    /* A data set read for prediction only has no targets. */
    d = NULL;
    CHECK_OK(dsc_dataset_alloc(2, 2, 0, &d));
    CHECK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "no targets to evaluate against") != NULL);
    CHECK(mt.confusion == NULL && mt.n == 0);
    dsc_dataset_free(d);

    d = make_data(x2, y3, 1, 2, 3);
    CHECK(dsc_model_evaluate(NULL, d, DSC_LOSS_CE, &mt) == DSC_EINVAL);
    CHECK(dsc_model_evaluate(m, NULL, DSC_LOSS_CE, &mt) == DSC_EINVAL);
    CHECK(dsc_model_evaluate(m, d, DSC_LOSS_CE, NULL) == DSC_EINVAL);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

int main(void)
{
    test_softmax();
    test_softmax_many_rows();
    test_sigmoid();
    test_regression();
    test_regression_standardised();
    test_regression_two_outputs();
    test_regression_constant();
    test_regression_many_rows();
    test_errors();
    return check_report();
}
