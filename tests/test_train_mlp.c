/* What the scikit-learn estimators rely on to follow MLPClassifier: an
 * epoch's loss is the mean over its rows (a short last batch counts for its
 * rows), and the l2 penalty is MLP's alpha (weights only, over the batch's
 * rows, in the loss and the gradient). */
#include <string.h>

#include "check.h"
#include "descent.h"

static const float x5[] = {0.5f, -1.0f, 2.3f, 0.1f, 2.9f, 1.5f, -0.4f, 0.8f, 1.2f, -2.0f};
static const float y5[] = {1.4f, 1.9f, 3.2f, -0.5f, 0.7f};

typedef struct {
    double step_loss[8], epoch_loss;
    size_t rows[8], n;
    float params[32], grads[32];
} seen;

static int on_step(const dsc_step_info *s, void *user)
{
    seen *v = user;
    if (v->n < 8) v->step_loss[v->n] = s->loss, v->rows[v->n] = s->n_rows;
    if (v->n == 0 && s->params && s->n_params <= 32) {
        memcpy(v->params, s->params, s->n_params * sizeof(float));
        memcpy(v->grads, s->grads, s->n_params * sizeof(float));
    }
    v->n++;
    return 0;
}

static int on_epoch(const dsc_epoch_info *e, void *user)
{
    ((seen *)user)->epoch_loss = e->loss;
    return 0;
}

static void one_epoch(dsc_model *m, const dsc_dataset *d, dsc_loss loss, size_t batch, double l2,
                      seen *v)
{
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = loss;
    p.optimizer = DSC_OPT_ADAM;
    p.learning_rate = 0.01;
    p.batch = batch;
    p.epochs = 1;
    p.l2 = l2;
    p.on_step = on_step;
    p.on_epoch = on_epoch;
    p.user = v;
    memset(v, 0, sizeof *v);
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
}

/* 5 rows in batches of 2: 2 + 2 + 1 rows. */
static void test_epoch_loss_is_the_mean_over_rows(void)
{
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("2 -> 3:tanh -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_XAVIER_UNIFORM, 7));
    CHECK_OK(dsc_dataset_from_arrays(x5, y5, 5, 2, 1, &d));
    seen v;
    one_epoch(m, d, DSC_LOSS_MSE, 2, 0.0, &v);
    CHECK(v.n == 3 && v.rows[0] == 2 && v.rows[1] == 2 && v.rows[2] == 1);
    double by_rows = (2 * v.step_loss[0] + 2 * v.step_loss[1] + v.step_loss[2]) / 5;
    double by_batch = (v.step_loss[0] + v.step_loss[1] + v.step_loss[2]) / 3;
    CHECK_NEAR(v.epoch_loss, by_rows, 1e-12 * by_rows);
    CHECK(fabs(by_rows - by_batch) > 1e-6 * by_rows); /* the rule tells them apart here */
    /* A sum (SSR) is no mean over rows: the batches' sums are averaged. */
    one_epoch(m, d, DSC_LOSS_SSR, 2, 0.0, &v);
    by_batch = (v.step_loss[0] + v.step_loss[1] + v.step_loss[2]) / 3;
    CHECK_NEAR(v.epoch_loss, by_batch, 1e-12 * by_batch);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

/* The same first step with and without l2 differs by MLP's penalty. */
static void test_l2_is_mlps_alpha(void)
{
    const double alpha = 0.3;
    dsc_model *m, *a, *b;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("2 -> 3:tanh -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_XAVIER_UNIFORM, 3));
    dsc_model_params(m)[6] = 0.25f; /* a bias that is not 0: it must not be penalised */
    CHECK_OK(dsc_dataset_from_arrays(x5, y5, 5, 2, 1, &d));
    CHECK_OK(dsc_model_clone(m, &a));
    CHECK_OK(dsc_model_clone(m, &b));
    seen plain, pen;
    static const size_t batches[] = {5, 2}; /* the full batch, then 2 + 2 + 1 rows */
    for (int t = 0; t < 2; t++) {
        size_t batch = batches[t];
        memcpy(dsc_model_params(a), dsc_model_params(m), 13 * sizeof(float));
        memcpy(dsc_model_params(b), dsc_model_params(m), 13 * sizeof(float));
        one_epoch(a, d, DSC_LOSS_MSE, batch, 0.0, &plain);
        one_epoch(b, d, DSC_LOSS_MSE, batch, alpha, &pen);
        CHECK(plain.n == pen.n && memcmp(plain.params, pen.params, sizeof plain.params) == 0);
        double rows = (double)pen.rows[0], sq = 0;
        static const char *const weights[] = {"layer1.weight", "layer2.weight"};
        int is_weight[13] = {0};
        for (int k = 0; k < 2; k++) {
            size_t first, count;
            CHECK_OK(dsc_model_find(m, weights[k], &first, &count));
            for (size_t i = first; i < first + count && i < 13; i++) {
                is_weight[i] = 1;
                sq += (double)pen.params[i] * pen.params[i];
            }
        }
        double want = plain.step_loss[0] + 0.5 * alpha * sq / rows;
        CHECK_NEAR(pen.step_loss[0], want, 1e-6 * want);
        for (int i = 0; i < 13; i++) {
            double extra = is_weight[i] ? alpha * pen.params[i] / rows : 0.0;
            CHECK_NEAR(pen.grads[i] - plain.grads[i], extra, 1e-6);
        }
    }
    /* Refused: a penalty that is no number >= 0. */
    dsc_train_params p;
    dsc_train_params_init(&p);
    dsc_train_result r;
    p.l2 = -1e-4;
    CHECK(dsc_train(a, d, &p, &r) == DSC_EINVAL && strstr(dsc_last_error(), "L2"));
    p.l2 = NAN;
    CHECK(dsc_train(a, d, &p, &r) == DSC_EINVAL);
    dsc_model_free(a);
    dsc_model_free(b);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

int main(void)
{
    test_epoch_loss_is_the_mean_over_rows();
    test_l2_is_mlps_alpha();
    return check_report();
}
