/* The model's input transformation: the divisor it records, applied
 * before standardisation, the same for raw rows, IDX bytes and training.
 * Given pixels 0, 51 and 255 and a divisor of 255, the model sees 0, 0.2
 * and 1. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "data/data.h"
#include "descent.h"

/* "1 -> 1:identity" with w1 = 1, b1 = 0: it shows what it sees. */
static dsc_model *mirror(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    CHECK_OK(dsc_model_set(m, "w1", 1.0f));
    return m;
}

/* A byte data set of the given pixels, as the IDX reader makes one. */
static dsc_dataset *bytes_of(const unsigned char *px, size_t n)
{
    dsc_dataset *d = NULL;
    float y[3] = {0, 0, 0};
    CHECK_OK(dsc_dataset_from_arrays(y, y, n, 1, 1, &d));
    dsc_free(d->x);
    d->x = NULL;
    d->x8 = dsc_malloc(n);
    memcpy(d->x8, px, n);
    d->input_div = 255.0f;
    return d;
}

static void test_divisor(void)
{
    dsc_model *m = mirror();
    CHECK(dsc_model_input_divisor(m) == 0.0f); /* none recorded yet */
    float x[3] = {0, 51, 255}, y[3];
    CHECK_OK(dsc_model_predict(m, x, 3, y));
    CHECK(y[0] == 0 && y[1] == 51 && y[2] == 255); /* raw rows: divided by 1 */
    CHECK_OK(dsc_model_set_input_divisor(m, 255.0f));
    CHECK_OK(dsc_model_predict(m, x, 3, y));
    CHECK(y[0] == 0 && y[1] == 51.0f / 255.0f && y[2] == 1.0f);
    CHECK(dsc_model_set_input_divisor(m, -1) == DSC_EINVAL);
    CHECK(dsc_model_set_input_divisor(m, NAN) == DSC_EINVAL);
    CHECK(dsc_model_set_input_divisor(m, INFINITY) == DSC_EINVAL);
    /* A subnormal divisor overflows ordinary inputs (1 / 1e-45 = inf). */
    CHECK(dsc_model_set_input_divisor(m, 1e-45f) == DSC_EINVAL);
    CHECK(dsc_model_set_input_divisor(m, FLT_MIN / 2) == DSC_EINVAL);
    CHECK(dsc_model_set_input_divisor(m, -0.0f) == DSC_OK && !signbit(dsc_model_input_divisor(m)));
    CHECK_OK(dsc_model_set_input_divisor(m, FLT_MIN));
    CHECK_OK(dsc_model_set_input_divisor(m, 255.0f));
    CHECK(dsc_model_input_divisor(m) == 255.0f);
    CHECK(dsc_model_set_input_divisor(NULL, 1) == DSC_EINVAL);
    CHECK(dsc_model_input_divisor(NULL) == 0.0f);
    dsc_model_free(m);
}

/* Evaluating a byte data set: a model without a divisor takes the data's
 * (format 1's meaning); one with a divisor uses its own. */
static void test_evaluate_bytes(void)
{
    const unsigned char px[3] = {0, 51, 255};
    dsc_dataset *d = bytes_of(px, 3);
    CHECK(dsc_dataset_input_divisor(d) == 255.0f);
    CHECK(dsc_dataset_x(d)[1] == 51.0f);
    dsc_model *m = mirror();
    dsc_metrics mt;
    /* Targets 0: the MSE is the mean of the squared inputs seen. */
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    double seen = (0.2 * 0.2 + 1.0) / 3;
    CHECK_NEAR(mt.mse, seen, 1e-7);
    CHECK_NEAR(mt.loss, seen, 1e-7);
    dsc_metrics_free(&mt);
    CHECK_OK(dsc_model_set_input_divisor(m, 1.0f));
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_MSE, &mt));
    CHECK_NEAR(mt.mse, (51.0 * 51.0 + 255.0 * 255.0) / 3, 1e-3);
    dsc_metrics_free(&mt);
    dsc_model_free(m);

    /* Training records the data's divisor; standardisation's statistics
     * are of the divided inputs. */
    m = mirror();
    CHECK_OK(dsc_model_fit_standardization(m, d, 0));
    CHECK(dsc_model_input_divisor(m) == 255.0f);
    CHECK_NEAR(dsc_model_input_mean(m)[0], 0.4, 1e-6);
    dsc_model_free(m);
    m = mirror();
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.max_iter = 1;
    p.loss = DSC_LOSS_MSE;
    CHECK_OK(dsc_train(m, d, &p, NULL));
    CHECK(dsc_model_input_divisor(m) == 255.0f);
    /* One step of gradient descent from w1 = 1 on inputs 0, 0.2, 1 and
     * targets 0: dMSE/dw1 = 2/3 (0.04 + 1) = 0.69333. */
    float w1 = 0;
    CHECK_OK(dsc_model_get(m, "w1", &w1));
    CHECK_NEAR(w1, 1 - 0.01 * 2.0 / 3.0 * 1.04, 1e-6);
    dsc_model *c = NULL;
    CHECK_OK(dsc_model_clone(m, &c));
    CHECK(dsc_model_input_divisor(c) == 255.0f);
    dsc_model_free(c);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

/* The same pixels as floats (a CSV) and as bytes (IDX) give the same
 * predictions and loss, bit for bit, standardised or not. */
static void test_same_bits(void)
{
    unsigned char px[256];
    float fx[256], y[256];
    for (int i = 0; i < 256; i++) px[i] = (unsigned char)((i * 37) & 255), fx[i] = px[i];
    for (int i = 0; i < 256; i++) y[i] = (float)(i % 3);
    dsc_dataset *b = NULL;
    CHECK_OK(dsc_dataset_from_arrays(fx, y, 256, 1, 1, &b));
    dsc_free(b->x);
    b->x = NULL;
    b->x8 = dsc_malloc(256);
    memcpy(b->x8, px, 256);
    b->input_div = 255.0f;
    dsc_dataset *f = NULL;
    CHECK_OK(dsc_dataset_from_arrays(fx, y, 256, 1, 1, &f));
    for (int standardise = 0; standardise < 2; standardise++) {
        dsc_model *m = NULL;
        CHECK_OK(dsc_model_new("1 -> 4:tanh -> 1:identity", &m));
        CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 7));
        CHECK_OK(dsc_model_set_input_divisor(m, 255.0f));
        if (standardise) CHECK_OK(dsc_model_fit_standardization(m, b, 1));
        dsc_metrics mb, mf;
        CHECK_OK(dsc_model_evaluate(m, b, DSC_LOSS_MSE, &mb));
        CHECK_OK(dsc_model_evaluate(m, f, DSC_LOSS_MSE, &mf));
        CHECK(mb.loss == mf.loss && mb.mse == mf.mse && mb.r2 == mf.r2);
        dsc_metrics_free(&mb);
        dsc_metrics_free(&mf);
        /* Training on either gives the same parameters. */
        dsc_model *m2 = NULL;
        CHECK_OK(dsc_model_clone(m, &m2));
        dsc_train_params p;
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_MSE;
        p.optimizer = DSC_OPT_ADAM;
        p.epochs = 3;
        p.batch = 32;
        CHECK_OK(dsc_train(m, b, &p, NULL));
        CHECK_OK(dsc_train(m2, f, &p, NULL));
        CHECK(memcmp(dsc_model_params_const(m), dsc_model_params_const(m2),
                     dsc_model_param_count(m) * sizeof(float)) == 0);
        dsc_model_free(m);
        dsc_model_free(m2);
    }
    dsc_dataset_free(b);
    dsc_dataset_free(f);
}

int main(void)
{
    test_divisor();
    test_evaluate_bytes();
    test_same_bits();
    return check_report();
}
