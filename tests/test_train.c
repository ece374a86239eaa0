/* Training: the seed's worked examples, the stopping rules, every
 * optimizer, the parameter mask, determinism, no allocation per step. */
#include <string.h>

#include "base/base.h"
#include "check.h"
#include "descent.h"
#include "train/dist.h"

static const float seed_x[] = {0.5f, 2.3f, 2.9f}, seed_y[] = {1.4f, 1.9f, 3.2f};

/* Records the first steps, and allocations between step 2 and the last. */
typedef struct {
    float d[4], step[4], param[4];
    size_t n;
    uint64_t allocs_at_2, allocs_last;
} trace;

static int record(const dsc_step_info *s, void *user)
{
    trace *t = user;
    if (t->n < 4) {
        t->d[t->n] = s->grads[s->n_params - 1];
        t->step[t->n] = s->steps[s->n_params - 1];
        t->param[t->n] = s->params[s->n_params - 1];
    }
    t->n++;
    if (s->iter == 2) t->allocs_at_2 = dsc_alloc_count();
    t->allocs_last = dsc_alloc_count();
    return 0;
}

/* Counts steps; allocs_last counts calls that were given parameters. */
static int count_light(const dsc_step_info *s, void *user)
{
    trace *t = user;
    t->n++;
    if (s->params || s->steps) t->allocs_last++; /* counts a light callback given either */
    return 0;
}

/* The seed: slope fixed at 0.64, the intercept from 0 with learning rate
 * 0.1. The first derivative is -5.704, the first step -0.5704, and the
 * run stops on step size near 0.95. */
static void test_seed_intercept(void)
{
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    CHECK_OK(dsc_dataset_from_arrays(seed_x, seed_y, 3, 1, 1, &d));
    CHECK_OK(dsc_model_set(m, "w1", 0.64f)); /* slope */
    CHECK_OK(dsc_model_set(m, "b1", 0.0f));  /* intercept */
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.learning_rate = 0.1;
    p.only = "b1";
    trace t = {0};
    p.on_step = record;
    p.user = &t;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK_NEAR(t.d[0], -5.704, 1e-4);
    CHECK_NEAR(t.step[0], -0.5704, 1e-5);
    CHECK_NEAR(t.param[1], 0.5704, 1e-5);
    CHECK(r.stop == DSC_STOP_STEP_SIZE);
    float icpt, slope;
    CHECK_OK(dsc_model_get(m, "b1", &icpt));
    CHECK_OK(dsc_model_get(m, "w1", &slope));
    CHECK_NEAR(icpt, 0.95, 0.01);
    CHECK(slope == 0.64f); /* masked: never moved */
    CHECK(r.max_step < 1e-3);
    CHECK(r.iterations == t.n);
    CHECK(t.allocs_last == t.allocs_at_2); /* steps allocate nothing */

    /* A light callback sees neither parameters nor steps, and the run is
     * the same. */
    float b_full;
    CHECK_OK(dsc_model_get(m, "b1", &b_full));
    CHECK_OK(dsc_model_set(m, "b1", 0.0f));
    trace light = {0};
    p.on_step = count_light;
    p.on_step_light = 1;
    p.user = &light;
    dsc_train_result r2;
    CHECK_OK(dsc_train(m, d, &p, &r2));
    CHECK(light.n == r.iterations && light.allocs_last == 0);
    CHECK_OK(dsc_model_get(m, "b1", &icpt));
    CHECK(icpt == b_full);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Both parameters at learning rate 0.01: the step-size rule stops early
 * (near intercept 0.86, slope 0.68), far from least squares (0.949,
 * 0.641); with a tighter tolerance it gets there. */
static void test_seed_both(void)
{
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    CHECK_OK(dsc_dataset_from_arrays(seed_x, seed_y, 3, 1, 1, &d));
    CHECK_OK(dsc_model_set(m, "w1", 1.0f));
    dsc_train_params p;
    dsc_train_params_init(&p);
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(r.stop == DSC_STOP_STEP_SIZE);
    float icpt, slope;
    dsc_model_get(m, "b1", &icpt);
    dsc_model_get(m, "w1", &slope);
    CHECK_NEAR(icpt, 0.86, 0.03);
    CHECK_NEAR(slope, 0.68, 0.03);
    CHECK(r.iterations > 100 && r.iterations < 400);
    p.step_tol = 1e-7;
    p.max_iter = 100000;
    CHECK_OK(dsc_train(m, d, &p, &r));
    dsc_model_get(m, "b1", &icpt);
    dsc_model_get(m, "w1", &slope);
    CHECK_NEAR(icpt, 0.948718, 1e-3);
    CHECK_NEAR(slope, 0.641026, 1e-3);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

static void test_stopping_rules(void)
{
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    CHECK_OK(dsc_dataset_from_arrays(seed_x, seed_y, 3, 1, 1, &d));
    dsc_train_params p;
    dsc_train_params_init(&p);
    dsc_train_result r;
    /* A tiny learning rate cannot finish in 50 iterations. */
    p.learning_rate = 1e-4;
    p.max_iter = 50;
    p.step_tol = 1e-9;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(r.stop == DSC_STOP_MAX_ITER);
    CHECK(r.iterations == 50);
    /* The default cap is 1000. */
    p.max_iter = -1;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(r.stop == DSC_STOP_MAX_ITER && r.iterations == 1000);
    /* Gradient norm. */
    dsc_train_params_init(&p);
    p.step_tol = 0;
    p.grad_tol = 0.01;
    p.max_iter = 100000;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(r.stop == DSC_STOP_GRADIENT);
    CHECK(r.grad_norm < 0.02);
    /* A learning rate far too large diverges, with its own status. */
    dsc_train_params_init(&p);
    p.learning_rate = 5.0;
    CHECK(dsc_train(m, d, &p, &r) == DSC_EDIVERGED);
    CHECK(r.stop == DSC_STOP_DIVERGED);
    CHECK(strstr(dsc_last_error(), "diverged") != NULL);
    const float *params = dsc_model_params(m);
    CHECK(isfinite(params[0]) && isfinite(params[1])); /* the last finite step */
    /* Bad arguments. */
    dsc_train_params_init(&p);
    p.learning_rate = -1;
    CHECK(dsc_train(m, d, &p, &r) == DSC_EINVAL);
    dsc_train_params_init(&p);
    p.only = "w9";
    CHECK(dsc_train(m, d, &p, &r) == DSC_ENOTFOUND);
    dsc_model *wrong;
    CHECK_OK(dsc_model_new("2 -> 1:identity", &wrong));
    dsc_train_params_init(&p);
    CHECK(dsc_train(wrong, d, &p, &r) == DSC_ESHAPE);
    dsc_model_free(wrong);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* A small regression (y = sin-like of 2 inputs) and a 3-class problem. */
static void make_problems(dsc_dataset **reg, dsc_dataset **cls)
{
    enum { N = 60 };
    float x[N * 2], y[N], yc[N * 3];
    dsc_rng rng;
    dsc_rng_seed(&rng, 5, 0);
    for (int i = 0; i < N; i++) {
        float a = 2 * dsc_rng_uniform(&rng) - 1, b = 2 * dsc_rng_uniform(&rng) - 1;
        x[2 * i] = a;
        x[2 * i + 1] = b;
        y[i] = 0.5f * a - b * b + 0.3f;
        int k = a + b > 0.5f ? 0 : a - b > 0 ? 1 : 2;
        for (int j = 0; j < 3; j++) yc[3 * i + j] = j == k;
    }
    dsc_dataset_from_arrays(x, y, N, 2, 1, reg);
    dsc_dataset_from_arrays(x, yc, N, 2, 3, cls);
}

static void test_every_optimizer(void)
{
    dsc_dataset *reg, *cls;
    make_problems(&reg, &cls);
    for (int o = 0; o < DSC_OPT_COUNT; o++) {
        for (int task = 0; task < 2; task++) {
            dsc_model *m;
            CHECK_OK(
                dsc_model_new(task ? "2 -> 8:tanh -> 3:softmax" : "2 -> 8:tanh -> 1:identity", &m));
            CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 3));
            const dsc_dataset *d = task ? cls : reg;
            dsc_loss loss = task ? DSC_LOSS_CE : DSC_LOSS_MSE;
            double before, after;
            CHECK_OK(dsc_evaluate_loss(m, d, loss, &before));
            dsc_train_params p;
            dsc_train_params_init(&p);
            p.optimizer = (dsc_optimizer)o;
            p.loss = loss;
            int adaptive = o == DSC_OPT_RMSPROP || o == DSC_OPT_ADAM || o == DSC_OPT_ADAMW;
            p.learning_rate = adaptive ? 0.01 : o == DSC_OPT_RPROP ? 0.01 : 0.1;
            p.step_tol = 0;
            p.max_iter = 200;
            if (o == DSC_OPT_SGD) {
                p.batch = 10;
                p.epochs = 30;
                p.max_iter = -1;
            }
            dsc_train_result r;
            CHECK_OK(dsc_train(m, d, &p, &r));
            CHECK_OK(dsc_evaluate_loss(m, d, loss, &after));
            if (!(after < 0.5 * before))
                fprintf(stderr, "optimizer %s task %d: loss %g -> %g\n",
                        dsc_optimizer_name((dsc_optimizer)o), task, before, after);
            CHECK(after < 0.5 * before);
            CHECK_NEAR(after, r.loss, 1e-6 * (1 + after));
            dsc_model_free(m);
        }
    }
    dsc_dataset_free(reg);
    dsc_dataset_free(cls);
}

/* The same seed gives the same parameters bit for bit, with any thread
 * count (built-in matrix multiply). */
static void train_copy(const dsc_dataset *d, int threads, uint64_t seed, float *out, size_t *n)
{
    dsc_model *m;
    dsc_model_new("16 -> 256:relu -> 128:tanh -> 3:softmax", &m);
    dsc_model_init(m, DSC_INIT_DEFAULT, seed);
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_CE;
    p.optimizer = DSC_OPT_ADAM;
    p.learning_rate = 0.01;
    p.batch = 256; /* large enough that the kernels split work over threads */
    p.epochs = 3;
    p.seed = seed;
    p.threads = threads;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(r.stop == DSC_STOP_EPOCHS && r.epochs == 3);
    *n = dsc_model_param_count(m);
    memcpy(out, dsc_model_params(m), *n * sizeof(float));
    dsc_model_free(m);
}

static void test_determinism(void)
{
    enum { N = 1000, IN = 16 };
    static float x[N * IN], y[N * 3];
    dsc_rng rng;
    dsc_rng_seed(&rng, 77, 0);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < IN; j++) s += x[i * IN + j] = (float)dsc_rng_normal(&rng);
        for (int k = 0; k < 3; k++) y[i * 3 + k] = (s > 1) + (s > -1) == k;
    }
    dsc_dataset *cls;
    CHECK_OK(dsc_dataset_from_arrays(x, y, N, IN, 3, &cls));
    static float a[40000], b[40000], c[40000];
    size_t n;
    train_copy(cls, 1, 9, a, &n);
    train_copy(cls, 1, 9, b, &n);
    CHECK(memcmp(a, b, n * sizeof(float)) == 0);
    train_copy(cls, 2, 9, c, &n);
    CHECK(memcmp(a, c, n * sizeof(float)) == 0);
    train_copy(cls, 1, 10, c, &n);
    CHECK(memcmp(a, c, n * sizeof(float)) != 0);
    dsc_dataset_free(cls);
}

/* Sample groups (train.c): a step cut into G groups of rows computes the
 * batch's gradient (the same up to rounding as one group: a mean divides
 * by the whole batch, dropout masks and ReLU's random kink choices are the
 * batch element's), and the same bits for any thread count. */
typedef struct {
    float *grads;
    double loss;
    size_t n_rows;
    int got;
} first_step;

static int grab_first(const dsc_step_info *s, void *user)
{
    first_step *f = user;
    if (!f->got) {
        memcpy(f->grads, s->grads, s->n_params * sizeof(float));
        f->loss = s->loss;
        f->n_rows = s->n_rows;
        f->got = 1;
    }
    return 0;
}

enum { GROUP_IN = 8, GROUP_N = 290, GROUP_PARAMS = 8 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3 };

/* variant 0: dropout; 1: L2 and a parameter mask; 2: L-BFGS (full batch);
 * 3: a convolution (a signal of 2 channels x 4). */
static size_t group_run(const dsc_dataset *d, size_t groups, int threads, dsc_loss loss,
                        int variant, float *params, first_step *f)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new(variant == 3 ? "2x4 -> conv6@3:relu -> maxpool2 -> 3:softmax"
                                        : "8 -> 32:relu -> 16:relu -> 3:softmax",
                           &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 5));
    dsc_model_set_relu_grad(m, DSC_RELU_GRAD_RANDOM);
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = loss;
    p.optimizer = variant == 2 ? DSC_OPT_LBFGS : DSC_OPT_MOMENTUM;
    p.learning_rate = 0.05;
    if (variant != 2) {
        p.batch = 100; /* 3 groups of 33-34 rows, the last batch 90 */
        p.epochs = 2;
        p.dropout = variant == 3 ? 0.0 : 0.3;
    } else {
        p.max_iter = 4;
    }
    p.l2 = variant == 1 ? 0.01 : 0.0;
    if (variant == 1) p.only = "layer1.weight,layer3.bias";
    p.seed = 3;
    p.threads = threads;
    p.on_step = grab_first;
    p.user = f;
    f->got = 0;
    dsc_train_groups_forced = groups;
    dsc_train_result r;
    dsc_status s = dsc_train(m, d, &p, &r);
    dsc_train_groups_forced = 0;
    CHECK_OK(s);
    CHECK(f->got);
    size_t n = dsc_model_param_count(m);
    CHECK(n <= GROUP_PARAMS);
    memcpy(params, dsc_model_params(m), n * sizeof(float));
    dsc_model_free(m);
    return n;
}

/* A checkpoint of epoch 2 kept in memory: the model and the state. */
typedef struct {
    dsc_model *m, *at2;
    float state[2 * GROUP_PARAMS];
    dsc_train_state st;
} group_ckpt;

static int keep_epoch2(const dsc_train_state *st, void *user)
{
    group_ckpt *c = user;
    if (st->epoch != 2) return 0;
    CHECK(st->n_state <= 2 * GROUP_PARAMS && st->n_best == 0);
    c->st = *st;
    memcpy(c->state, st->state, st->n_state * sizeof(float));
    c->st.state = c->state;
    CHECK_OK(dsc_model_clone(c->m, &c->at2));
    return 0;
}

/* Resumed from a checkpoint, a run in groups (dropout: the forward count
 * picks the masks) ends on the same bits as the run never stopped. */
static void test_groups_resume(const dsc_dataset *d)
{
    dsc_model *m;
    CHECK_OK(dsc_model_new("8 -> 32:relu -> 16:relu -> 3:softmax", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 6));
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_CE;
    p.optimizer = DSC_OPT_MOMENTUM;
    p.learning_rate = 0.05;
    p.batch = 100;
    p.epochs = 4;
    p.dropout = 0.3;
    p.seed = 8;
    static group_ckpt c;
    c.m = m;
    c.at2 = NULL;
    p.on_checkpoint = keep_epoch2;
    p.checkpoint_every = 1;
    p.user = &c;
    dsc_train_groups_forced = 3;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(c.at2 != NULL);
    if (c.at2) {
        p.on_checkpoint = NULL;
        p.checkpoint_every = 0;
        p.resume = &c.st;
        p.threads = 2;
        CHECK_OK(dsc_train(c.at2, d, &p, &r));
        CHECK(r.epochs == 4);
        CHECK(memcmp(dsc_model_params(m), dsc_model_params(c.at2), GROUP_PARAMS * sizeof(float)) ==
              0);
        dsc_model_free(c.at2);
    }
    dsc_train_groups_forced = 0;
    dsc_model_free(m);
}

static void test_sample_groups(void)
{
    static float x[GROUP_N * GROUP_IN], y[GROUP_N * 3];
    dsc_rng rng;
    dsc_rng_seed(&rng, 41, 0);
    for (int i = 0; i < GROUP_N; i++) {
        double s = 0;
        /* Every seventh row all zeros: a ReLU's input is then exactly 0
         * (zero biases), where the random rule chooses. */
        for (int j = 0; j < GROUP_IN; j++)
            s += x[i * GROUP_IN + j] = i % 7 ? (float)dsc_rng_normal(&rng) : 0.0f;
        for (int k = 0; k < 3; k++) y[i * 3 + k] = (s > 1) + (s > -1) == k;
    }
    dsc_dataset *d;
    CHECK_OK(dsc_dataset_from_arrays(x, y, GROUP_N, GROUP_IN, 3, &d));
    static float p1[GROUP_PARAMS], p3[GROUP_PARAMS], p3b[GROUP_PARAMS];
    static float g1[GROUP_PARAMS], g3[GROUP_PARAMS], g3b[GROUP_PARAMS];
    dsc_loss losses[] = {DSC_LOSS_CE, DSC_LOSS_MSE, DSC_LOSS_SSR};
    for (int variant = 0; variant < 4; variant++)
        for (size_t li = 0; li < sizeof losses / sizeof *losses; li++) {
            first_step f1 = {g1, 0, 0, 0}, f3 = {g3, 0, 0, 0}, f3b = {g3b, 0, 0, 0};
            size_t n = group_run(d, 1, 1, losses[li], variant, p1, &f1);
            group_run(d, 3, 1, losses[li], variant, p3, &f3);
            group_run(d, 3, 2, losses[li], variant, p3b, &f3b);
            /* Any thread count: the same bits. */
            CHECK(memcmp(p3, p3b, n * sizeof(float)) == 0);
            CHECK(memcmp(g3, g3b, n * sizeof(float)) == 0);
            /* The batch's gradient and loss, whatever the groups. */
            double big = 0, diff = 0;
            for (size_t i = 0; i < n; i++) {
                big = fmax(big, fabs(g1[i]));
                diff = fmax(diff, fabs((double)g1[i] - g3[i]));
            }
            if (!(diff <= 1e-5 * big) || !(fabs(f1.loss - f3.loss) <= 1e-5 * fabs(f1.loss)))
                fprintf(stderr, "groups: variant %d loss %d: gradient %g of %g, loss %.9g %.9g\n",
                        variant, (int)losses[li], diff, big, f1.loss, f3.loss);
            CHECK(big > 0 && diff <= 1e-5 * big);
            CHECK_NEAR(f1.loss, f3.loss, 1e-5 * fabs(f1.loss));
            CHECK(f1.n_rows == f3.n_rows);
        }
    test_groups_resume(d);
    dsc_dataset_free(d);
    /* The rule: Fashion-MNIST's 784-256-128-10 at 128 rows in 2 groups;
     * the seed's network and small steps whole. */
    dsc_model *m;
    CHECK_OK(dsc_model_new("784 -> 256:relu -> 128:relu -> 10:softmax", &m));
    CHECK(dsc_train_group_count(m, 128) == 2);
    CHECK(dsc_train_group_count(m, 256) == 4);
    CHECK(dsc_train_group_count(m, 100) == 1);
    dsc_model_free(m);
    CHECK_OK(dsc_model_new("16 -> 256:relu -> 128:tanh -> 3:softmax", &m));
    CHECK(dsc_train_group_count(m, 256) == 2); /* test_determinism's */
    dsc_model_free(m);
    CHECK_OK(dsc_model_new("1 -> 2:softplus -> 1:identity", &m));
    CHECK(dsc_train_group_count(m, 1u << 20) == 1);
    dsc_model_free(m);
}

/* Early stopping restores the parameters of the best validation loss. */
static int count_epochs(const dsc_epoch_info *e, void *user)
{
    double *best = user;
    if (e->val_loss < best[0]) best[0] = e->val_loss;
    best[1] += 1;
    return 0;
}

static void test_early_stopping(void)
{
    dsc_dataset *reg, *cls;
    make_problems(&reg, &cls);
    dsc_model *m;
    CHECK_OK(dsc_model_new("2 -> 32:relu -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 1));
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.optimizer = DSC_OPT_ADAM;
    p.learning_rate = 0.3; /* noisy on purpose, so validation loss rises */
    p.batch = 8;
    p.epochs = 200;
    p.val = cls == NULL ? NULL : reg;
    p.patience = 3;
    double seen[2] = {INFINITY, 0};
    p.on_epoch = count_epochs;
    p.user = seen;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, reg, &p, &r));
    CHECK(r.epochs < 200);
    double now;
    CHECK_OK(dsc_evaluate_loss(m, reg, DSC_LOSS_MSE, &now));
    CHECK_NEAR(now, seen[0], 1e-6 * (1 + now));
    CHECK_NEAR(r.val_loss, seen[0], 1e-9);
    dsc_model_free(m);
    dsc_dataset_free(reg);
    dsc_dataset_free(cls);
}

/* A line on many points trains through the fused linear + squared error
 * op; it must reach the least-squares answer like the separate ops do. */
static void test_large_line(void)
{
    enum { N = 20000 };
    static float x[N], y[N];
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(i % 1000) / 500.0f - 1.0f;
        y[i] = 2.0f * x[i] + 1.0f + (float)((i * 37) % 11 - 5) / 50.0f;
        sx += x[i], sy += y[i], sxx += (double)x[i] * x[i], sxy += (double)x[i] * y[i];
    }
    double slope = (N * sxy - sx * sy) / (N * sxx - sx * sx), icpt = (sy - slope * sx) / N;
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    CHECK_OK(dsc_dataset_from_arrays(x, y, N, 1, 1, &d));
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.learning_rate = 0.5;
    p.step_tol = 1e-8;
    p.max_iter = 10000;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
    float w, b;
    CHECK_OK(dsc_model_get(m, "w1", &w));
    CHECK_OK(dsc_model_get(m, "b1", &b));
    CHECK_NEAR(w, slope, 1e-4);
    CHECK_NEAR(b, icpt, 1e-4);
    double mse;
    CHECK_OK(dsc_evaluate_loss(m, d, DSC_LOSS_MSE, &mse));
    CHECK_NEAR(mse, r.loss, 1e-6);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Dropout changes the updates, never the reported loss: the final loss is
 * the model's loss on the data without dropout. */
static void test_dropout_loss(void)
{
    dsc_dataset *reg, *cls;
    make_problems(&reg, &cls);
    dsc_model *m;
    CHECK_OK(dsc_model_new("2 -> 32:relu -> 16:relu -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 4));
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_MSE;
    p.optimizer = DSC_OPT_ADAM;
    p.batch = 16;
    p.epochs = 20;
    p.dropout = 0.3;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, reg, &p, &r));
    double now;
    CHECK_OK(dsc_evaluate_loss(m, reg, DSC_LOSS_MSE, &now));
    CHECK_NEAR(r.loss, now, 1e-6 * (1 + now));
    p.dropout = 1.0;
    CHECK(dsc_train(m, reg, &p, &r) == DSC_EINVAL);
    dsc_model_free(m);
    dsc_dataset_free(reg);
    dsc_dataset_free(cls);
}

/* A callback that stops the run at its fourth update, remembering the
 * loss it was shown last. */
typedef struct {
    size_t calls;
    double last_loss;
} stopper;

static int stop_at_four(const dsc_step_info *s, void *user)
{
    stopper *st = user;
    st->calls++;
    st->last_loss = s->loss;
    return st->calls == 4;
}

/* A stopped run (Ctrl-C in the CLI) makes no pass over the data before it
 * returns: its loss is the last batch's, as the callback saw it, which no
 * pass over all rows would give. Over a large data set that pass took
 * seconds, and mpirun's kill came first. */
static void test_stop_is_prompt(void)
{
    enum { N = 64 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = (float)i / N, y[i] = (float)(i % 7);
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 4:tanh -> 1:identity", &m));
    CHECK_OK(dsc_model_init(m, DSC_INIT_DEFAULT, 3));
    CHECK_OK(dsc_dataset_from_arrays(x, y, N, 1, 1, &d));
    for (int epochs = 0; epochs < 2; epochs++) {
        dsc_train_params p;
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_MSE;
        p.batch = 5;
        p.epochs = epochs ? 10 : 0; /* minibatch epochs, and SGD steps */
        p.on_step = stop_at_four;
        p.on_step_light = 1;
        stopper st = {0, NAN};
        p.user = &st;
        dsc_train_result r;
        CHECK(dsc_train(m, d, &p, &r) == DSC_ECANCELLED);
        CHECK(r.stop == DSC_STOP_CALLBACK && r.iterations == 4);
        CHECK(r.loss == st.last_loss);
        double all;
        CHECK_OK(dsc_evaluate_loss(m, d, DSC_LOSS_MSE, &all));
        CHECK(all != r.loss);
    }
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Stochastic gradient descent says which rows each step used: the
 * gradient of a step is the full-batch gradient of those rows alone, in the
 * order given, and the full-batch run names none. */
typedef struct {
    uint32_t rows[8][2];
    float grads[8][2], params[8][2];
    size_t n, n_rows;
    int null_rows;
} batch_log;

static int log_batch(const dsc_step_info *s, void *user)
{
    batch_log *b = user;
    if (!s->rows) b->null_rows++;
    b->n_rows = s->n_rows;
    if (b->n < 8 && s->rows && s->n_rows == 2) {
        memcpy(b->rows[b->n], s->rows, 2 * sizeof(uint32_t));
        memcpy(b->grads[b->n], s->grads, 2 * sizeof(float));
        memcpy(b->params[b->n], s->params, 2 * sizeof(float));
    }
    b->n++;
    return 0;
}

static int keep_grads(const dsc_step_info *s, void *user)
{
    memcpy(user, s->grads, 2 * sizeof(float));
    return 1;
}

static void test_batch_rows(void)
{
    static const float x[] = {0.5f, 2.3f, 2.9f, 1.0f, 4.0f}, y[] = {1.4f, 1.9f, 3.2f, 1.1f, 3.5f};
    dsc_model *m;
    dsc_dataset *d;
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    CHECK_OK(dsc_dataset_from_arrays(x, y, 5, 1, 1, &d));
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.batch = 2;
    p.max_iter = 8;
    p.step_tol = 0;
    p.on_step = log_batch;
    batch_log b = {0};
    p.user = &b;
    dsc_train_result r;
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(b.n == 8 && b.null_rows == 0 && b.n_rows == 2);
    int seen[5] = {0};
    for (size_t i = 0; i < 8; i++) {
        CHECK(b.rows[i][0] < 5 && b.rows[i][1] < 5 && b.rows[i][0] != b.rows[i][1]);
        seen[b.rows[i][0]] = seen[b.rows[i][1]] = 1;
        /* The same gradient from a full-batch step on those two rows. */
        float bx[2] = {x[b.rows[i][0]], x[b.rows[i][1]]},
              by[2] = {y[b.rows[i][0]], y[b.rows[i][1]]};
        dsc_dataset *two;
        dsc_model *c;
        CHECK_OK(dsc_dataset_from_arrays(bx, by, 2, 1, 1, &two));
        CHECK_OK(dsc_model_clone(m, &c));
        memcpy(dsc_model_params(c), b.params[i], 2 * sizeof(float));
        dsc_train_params q;
        dsc_train_params_init(&q);
        float g[2] = {0};
        q.on_step = keep_grads;
        q.user = g;
        CHECK(dsc_train(c, two, &q, &r) == DSC_ECANCELLED);
        CHECK(g[0] == b.grads[i][0] && g[1] == b.grads[i][1]);
        dsc_model_free(c);
        dsc_dataset_free(two);
    }
    CHECK(seen[0] + seen[1] + seen[2] + seen[3] + seen[4] == 5);
    /* A full batch: no rows named, all of them counted. */
    p.batch = 0;
    b = (batch_log){0};
    CHECK_OK(dsc_train(m, d, &p, &r));
    CHECK(b.null_rows == 8 && b.n_rows == 5);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

int main(void)
{
    test_batch_rows();
    test_stop_is_prompt();
    test_dropout_loss();
    test_large_line();
    test_seed_intercept();
    test_seed_both();
    test_stopping_rules();
    test_every_optimizer();
    test_determinism();
    test_sample_groups();
    test_early_stopping();
    return check_report();
}
