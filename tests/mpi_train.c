/* Data-parallel training over MPI, run under mpiexec with 2 and 3 ranks:
 * every rank trains the same model twice, alone (dsc_train) and with the
 * others (dsc_train_mpi), and the two must agree; the distributed
 * parameters must be the same bits on every rank. */
#include <mpi.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "check.h"
#include "descent_mpi.h"

static int rank, size;

/* n rows of a smooth function of 3 inputs (regression) or its sign
 * pattern as 3 classes (classification), the same on every rank. */
static dsc_dataset *make_data(size_t n, int classes, float bump)
{
    float *x = malloc(n * 3 * sizeof(float)), *y = malloc(n * 3 * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float a = (float)i / (float)n, b = (float)((i * 7) % n) / (float)n,
              c = (float)((i * 13) % n) / (float)n;
        x[i * 3] = a, x[i * 3 + 1] = b, x[i * 3 + 2] = c + (i == 5 ? bump : 0.0f);
        float v = sinf(3 * a) + b * c - 0.5f * b;
        if (classes) {
            int k = v < 0.1f ? 0 : v < 0.6f ? 1 : 2;
            for (int j = 0; j < 3; j++) y[i * 3 + j] = j == k;
        } else {
            y[i] = v;
        }
    }
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, n, 3, classes ? 3 : 1, &d));
    free(x);
    free(y);
    return d;
}

static dsc_model *make_model_seeded(int classes, uint64_t seed)
{
    static const char *const labels[3] = {"low", "mid", "high"};
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new(
        classes ? "3 -> 8:tanh -> 3:softmax" : "3 -> 8:tanh,6:relu -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, seed));
    if (classes) CHECK_OK(dsc_model_set_classes(m, labels, 3));
    return m;
}

static dsc_model *make_model(int classes) { return make_model_seeded(classes, 7); }

/* Is every rank's copy of the parameters the same bits as rank 0's? */
static int same_on_every_rank(const dsc_model *m)
{
    size_t n = dsc_model_param_count(m);
    uint32_t crc = dsc_crc32(0, dsc_model_params_const(m), n * sizeof(float)), lo = crc, hi = crc;
    MPI_Allreduce(&crc, &lo, 1, MPI_UINT32_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&crc, &hi, 1, MPI_UINT32_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

static double max_diff(const dsc_model *a, const dsc_model *b)
{
    const float *p = dsc_model_params_const(a), *q = dsc_model_params_const(b);
    double worst = 0;
    for (size_t i = 0; i < dsc_model_param_count(a); i++)
        if (fabs((double)p[i] - q[i]) > worst) worst = fabs((double)p[i] - q[i]);
    return worst;
}

/* One configuration, alone and over the ranks. */
static void compare_tol(const char *what, dsc_dataset *d, int classes, const dsc_train_params *p,
                        double tol)
{
    dsc_model *alone = make_model(classes), *together = make_model(classes);
    dsc_train_result ra, rt;
    CHECK_OK(dsc_train(alone, d, p, &ra));
    CHECK_OK(dsc_train_mpi(together, d, p, MPI_COMM_WORLD, &rt));
    CHECK(same_on_every_rank(together));
    CHECK(ra.iterations == rt.iterations);
    CHECK(ra.epochs == rt.epochs);
    CHECK(ra.stop == rt.stop);
    /* Float sums in another order: close, not equal. */
    CHECK_NEAR(rt.loss, ra.loss, tol * (1 + fabs(ra.loss)));
    double diff = max_diff(alone, together);
    CHECK(diff < 2 * tol);
    CHECK(rt.comm_seconds >= 0 && rt.comm_seconds <= rt.seconds);
    CHECK(rt.wait_seconds >= 0 && rt.wait_seconds + rt.comm_seconds <= rt.seconds);
    if (rank == 0)
        printf("%-34s %zu updates, loss %.6g alone, %.6g over %d ranks, max |dparam| %.2g\n", what,
               ra.iterations, ra.loss, rt.loss, size, diff);

    /* The same N twice: the same model, bit for bit. */
    dsc_model *again = make_model(classes);
    CHECK_OK(dsc_train_mpi(again, d, p, MPI_COMM_WORLD, NULL));
    CHECK(max_diff(again, together) == 0);
    dsc_model_free(again);
    dsc_model_free(alone);
    dsc_model_free(together);
}

static void compare(const char *what, dsc_dataset *d, int classes, const dsc_train_params *p)
{
    compare_tol(what, d, classes, p, 1e-4);
}

static int stop_rank1_at_7(const dsc_step_info *s, void *user)
{
    (void)user;
    return rank == 1 && s->iter == 7;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    /* 101 rows in batches of 10: the last batch of each epoch has 1 row,
     * so with 2 or 3 ranks some ranks hold no row of it. */
    dsc_dataset *reg = make_data(101, 0, 0), *cls = make_data(101, 1, 0);
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.optimizer = DSC_OPT_ADAM;
    p.learning_rate = 0.01;
    p.batch = 10;
    p.epochs = 6;
    compare("mse, adam, batch 10 of 101", reg, 0, &p);

    p.loss = DSC_LOSS_CE;
    p.optimizer = DSC_OPT_MOMENTUM;
    p.learning_rate = 0.1;
    p.batch = 16;
    p.epochs = 4;
    p.schedule = DSC_SCHED_COSINE;
    dsc_dataset *val = make_data(37, 1, 0.0f);
    p.val = val;
    p.patience = 10;
    compare("ce, momentum, cosine, validation", cls, 1, &p);
    p.val = NULL;
    p.patience = 0;
    p.schedule = DSC_SCHED_CONSTANT;

    /* A sum loss: the slices' gradients add without weights. */
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_SSR;
    p.learning_rate = 0.001;
    p.max_iter = 50;
    compare("ssr, full-batch gd, 50 steps", reg, 0, &p);
    /* L-BFGS builds its curvature from gradient differences, so rounding
     * differences grow fast (1e-7 becomes 1e-4 in 6 iterations here): a few
     * iterations, a looser tolerance. */
    p.optimizer = DSC_OPT_LBFGS;
    p.max_iter = 6;
    compare_tol("ssr, l-bfgs, 6 iterations", reg, 0, &p, 1e-3);

    /* Fewer rows than ranks in every batch: the others add zeros. */
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.optimizer = DSC_OPT_SGD;
    p.learning_rate = 0.05;
    p.batch = 1;
    p.epochs = 1;
    compare("batch 1 (ranks without rows)", reg, 0, &p);

    /* Evaluation over the ranks = evaluation alone. */
    {
        dsc_model *m = make_model(1);
        dsc_metrics a, b;
        CHECK_OK(dsc_model_evaluate(m, cls, DSC_LOSS_CE, &a));
        CHECK_OK(dsc_model_evaluate_mpi(m, cls, DSC_LOSS_CE, MPI_COMM_WORLD, &b));
        CHECK(a.accuracy == b.accuracy);
        CHECK(memcmp(a.confusion, b.confusion, 9 * sizeof(size_t)) == 0);
        CHECK_NEAR(a.loss, b.loss, 1e-6);
        dsc_metrics_free(&a);
        dsc_metrics_free(&b);
        dsc_model *r = make_model(0);
        CHECK_OK(dsc_model_evaluate(r, reg, DSC_LOSS_MSE, &a));
        CHECK_OK(dsc_model_evaluate_mpi(r, reg, DSC_LOSS_MSE, MPI_COMM_WORLD, &b));
        CHECK_NEAR(a.mse, b.mse, 1e-9);
        CHECK_NEAR(a.r2, b.r2, 1e-9);
        CHECK_NEAR(a.mae, b.mae, 1e-9);
        dsc_metrics_free(&a);
        dsc_metrics_free(&b);
        dsc_model_free(m);
        dsc_model_free(r);
    }

    /* Rank 1's data differ: every rank fails, with rank 1's complaint. */
    {
        dsc_dataset *mine = make_data(101, 0, rank == 1 ? 0.5f : 0.0f);
        dsc_train_params_init(&p);
        p.max_iter = 3;
        dsc_model *m = make_model(0);
        dsc_status s = dsc_train_mpi(m, mine, &p, MPI_COMM_WORLD, NULL);
        CHECK(s == DSC_EINVAL);
        CHECK(strstr(dsc_last_error(), "rank 1: the inputs differ") != NULL);
        dsc_dataset_free(mine);
        /* A bad option on rank 1 only. */
        p.learning_rate = rank == 1 ? -1 : 0.01;
        s = dsc_train_mpi(m, reg, &p, MPI_COMM_WORLD, NULL);
        CHECK(s == DSC_EINVAL);
        CHECK(strstr(dsc_last_error(), "rank 1: the learning rate") != NULL);
        dsc_model_free(m);
    }

    /* A stop asked by rank 1's callback stops every rank at one step. */
    {
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_MSE;
        p.max_iter = 100;
        p.step_tol = 0;
        p.on_step = stop_rank1_at_7;
        dsc_model *m = make_model(0);
        dsc_train_result r;
        dsc_status s = dsc_train_mpi(m, reg, &p, MPI_COMM_WORLD, &r);
        CHECK(s == DSC_ECANCELLED);
        CHECK(r.iterations == 8);
        CHECK(same_on_every_rank(m));
        dsc_model_free(m);
    }

    /* Different starting parameters: rank 0's win. */
    {
        dsc_model *m = make_model_seeded(0, (uint64_t)(7 + rank));
        dsc_train_params_init(&p);
        p.max_iter = 0;
        CHECK_OK(dsc_train_mpi(m, reg, &p, MPI_COMM_WORLD, NULL));
        CHECK(same_on_every_rank(m));
        dsc_model_free(m);
    }

    dsc_dataset_free(reg);
    dsc_dataset_free(cls);
    dsc_dataset_free(val);
    int failed = check_failed, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0 || failed)
        printf("rank %d of %d: %d passed, %d failed\n", rank, size, check_passed, check_failed);
    MPI_Finalize();
    return any ? 1 : 0;
}
