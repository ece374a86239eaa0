#define _POSIX_C_SOURCE 200809L
/* The training loop: batches, optimizer steps, the seed's stopping rules,
 * callbacks. Everything is allocated before the first step. */
#include <math.h>
#include <string.h>

#include "../data/data.h"
#include "../graph/graph_internal.h"
#include "../nn/nn.h"
#include "dist.h"
#include "optim.h"

void dsc_train_params_init(dsc_train_params *p)
{
    memset(p, 0, sizeof *p);
    p->loss = DSC_LOSS_SSR;
    p->optimizer = DSC_OPT_GD;
    p->learning_rate = 0.01;
    p->momentum = 0.9;
    p->beta1 = 0.9;
    p->beta2 = 0.999;
    p->eps = 1e-8;
    p->rms_alpha = 0.99;
    p->schedule = DSC_SCHED_CONSTANT;
    p->step_tol = -1.0;
    p->max_iter = -1;
    p->seed = 42;
}

/* Everything one run needs, made before the first step. */
typedef struct {
    dsc_model *m;
    const dsc_dataset *d;
    const dsc_train_params *p;
    dsc_mlp_graph mg;
    dsc_optim *opt;
    uint8_t *mask;       /* NULL: every parameter trains */
    float *steps;        /* the last update */
    float *before;       /* parameters before the update, for on_step */
    float *xb, *yb;      /* a gathered minibatch */
    uint32_t *order;     /* the shuffled row order */
    const float *x_full; /* all inputs as floats, for full-batch runs */
    float *best;         /* early stopping: the best parameters so far */
    dsc_mlp_graph eval;  /* validation loss */
    size_t batch;
    dsc_rng rng;
    /* Distributed runs (dist.h): the hooks, and this rank's wish to stop,
     * sent with the next sum. */
    dsc_dist *dist;
    int want_stop, stop_agreed;
    double last_loss; /* of the last batch stepped on, before its update */
} run;

static void run_free(run *r)
{
    dsc_mlp_graph_free(&r->mg);
    dsc_mlp_graph_free(&r->eval);
    dsc_optim_free(r->opt);
    dsc_free(r->mask);
    dsc_free(r->steps);
    dsc_free(r->before);
    dsc_free(r->xb);
    dsc_free(r->yb);
    dsc_free(r->order);
    dsc_free(r->best);
}

/* Builds the mask from a comma-separated list of parameter names. */
static dsc_status make_mask(run *r, const char *only)
{
    size_t n = r->m->n_params;
    r->mask = dsc_calloc(n, 1);
    if (!r->mask) return dsc_fail(DSC_ENOMEM, "out of memory for the parameter mask");
    const char *s = only;
    int any = 0;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char name[64];
        while (len && (*s == ' ')) s++, len--;
        while (len && s[len - 1] == ' ') len--;
        if (len == 0 || len >= sizeof name)
            return dsc_fail(DSC_EINVAL, "--only: empty or overlong parameter name in '%s'", only);
        memcpy(name, s, len);
        name[len] = '\0';
        size_t first, count;
        dsc_status st = dsc_model_find(r->m, name, &first, &count);
        if (st) return st;
        memset(r->mask + first, 1, count);
        any = 1;
        if (!e) break;
        s = e + 1;
    }
    if (!any) return dsc_fail(DSC_EINVAL, "--only: no parameter names given");
    return DSC_OK;
}

static dsc_status check_args(const dsc_model *m, const dsc_dataset *d, const dsc_train_params *p)
{
    if (!m || !d || !p) return dsc_fail(DSC_EINVAL, "dsc_train: NULL argument");
    dsc_status s;
    if ((s = dsc_model_check_data(m, d, "the data")) ||
        (p->val && (s = dsc_model_check_data(m, p->val, "the validation data"))))
        return s;
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return dsc_fail(DSC_EINVAL, "the learning rate must be a positive number, not %g",
                        p->learning_rate);
    if ((unsigned)p->loss >= DSC_LOSS_COUNT || (unsigned)p->optimizer >= DSC_OPT_COUNT ||
        (unsigned)p->schedule > DSC_SCHED_COSINE)
        return dsc_fail(DSC_EINVAL, "unknown loss, optimizer or schedule");
    if ((p->optimizer == DSC_OPT_RPROP || p->optimizer == DSC_OPT_LBFGS) &&
        (p->epochs || (p->batch && p->batch < d->n)))
        return dsc_fail(DSC_EINVAL, "%s works on the full batch only (no --epochs or --batch)",
                        dsc_optimizer_name(p->optimizer));
    if ((unsigned)p->lbfgs_style > DSC_LBFGS_TORCH)
        return dsc_fail(DSC_EINVAL, "unknown L-BFGS style %d", (int)p->lbfgs_style);
    if (!(p->dropout >= 0 && p->dropout < 1))
        return dsc_fail(DSC_EINVAL, "the dropout rate must be in [0, 1), not %g", p->dropout);
    if (p->patience && !p->val)
        return dsc_fail(DSC_EINVAL, "early stopping (patience) needs validation data");
    if (!(p->l2 >= 0) || !isfinite(p->l2))
        return dsc_fail(DSC_EINVAL, "the L2 penalty must be a finite number >= 0, not %g", p->l2);
    if (!(p->no_change_tol >= 0) || !isfinite(p->no_change_tol))
        return dsc_fail(DSC_EINVAL, "no_change_tol must be a finite number >= 0, not %g",
                        p->no_change_tol);
    if (p->resume && !p->epochs)
        return dsc_fail(DSC_EINVAL, "resuming needs a minibatch run (epochs)");
    return DSC_OK;
}

/* Losses that read targets as probabilities refuse targets that are not:
 * BCE's in [0, 1], CE's rows of a distribution over at least two classes
 * (DSC_EFORMAT: the data does not fit; DSC_EINVAL for the network). t is
 * the data as the graph sees it, d as it was read (for messages). */
static dsc_status check_targets(const dsc_model *m, const dsc_dataset *d, const dsc_dataset *t,
                                dsc_loss loss)
{
    size_t out = m->units[m->n_layers], k = t->n_out;
    char where[512];
    if (m->act[m->n_layers - 1] == DSC_ACT_SOFTMAX && out == 1)
        return dsc_fail(DSC_EINVAL,
                        "a softmax over one output is always 1: nothing to learn (a classifier "
                        "needs one output per class; is the target a column of class labels "
                        "read as numbers?)");
    if (loss == DSC_LOSS_CE && out == 1)
        return dsc_fail(DSC_EINVAL,
                        "ce (cross-entropy) needs one output per class, and this model has 1 "
                        "(is the target a column of class labels read as numbers?)");
    if (loss == DSC_LOSS_BCE) {
        for (size_t i = 0; i < t->n * k; i++)
            if (!(t->y[i] >= 0.0f && t->y[i] <= 1.0f))
                return dsc_fail(DSC_EFORMAT,
                                "%s: bce (binary cross-entropy) needs targets in [0, 1], and "
                                "column '%s' holds %g here (class labels 0/1/2... want "
                                "softmax and ce, with the column read as classes)",
                                dsc_dataset_where(d, i / k, i % k, where, sizeof where),
                                dsc_dataset_target_column(d, i % k), (double)t->y[i]);
    }
    if (loss == DSC_LOSS_CE) {
        for (size_t i = 0; i < t->n; i++) {
            double sum = 0;
            int negative = 0;
            for (size_t j = 0; j < k; j++) {
                negative |= !(t->y[i * k + j] >= 0.0f);
                sum += t->y[i * k + j];
            }
            if (negative || fabs(sum - 1.0) > 1e-3)
                return dsc_fail(DSC_EFORMAT,
                                "%s: ce (cross-entropy) needs each row of targets to be class "
                                "probabilities (non-negative, summing to 1), as a column of "
                                "class labels gives; this row's sum to %g",
                                dsc_dataset_where(d, i, 0, where, sizeof where), sum);
        }
    }
    return DSC_OK;
}

static dsc_status run_init(run *r, dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                           dsc_dist *dist)
{
    memset(r, 0, sizeof *r);
    r->last_loss = NAN;
    r->dist = dist;
    r->m = m;
    r->d = d;
    r->p = p;
    size_t n = m->n_params;
    r->batch = p->batch == 0 || p->batch > d->n ? d->n : p->batch;
    dsc_rng_seed(&r->rng, p->seed, 2);
    dsc_status s;
    if (p->only && (s = make_mask(r, p->only))) return s;
    m->relu_seed = p->seed;
    if ((s = dsc_mlp_graph_build_dropout(m, p->loss, r->batch, (float)p->dropout, &r->mg)))
        return s;
    dsc_graph_set_threads(r->mg.g, p->threads);
    /* Losses reported (validation, final) come from a graph without
     * dropout: dropout belongs to the updates only. */
    if (p->val || p->dropout > 0) {
        if ((s = dsc_mlp_graph_build(m, 1, p->loss, r->batch, DSC_COMPILE_NO_GRAD, &r->eval)))
            return s;
        dsc_graph_set_threads(r->eval.g, p->threads);
    }
    r->steps = dsc_calloc(n, sizeof(float));
    r->before = dsc_calloc(n, sizeof(float));
    if (!r->steps || !r->before) return dsc_fail(DSC_ENOMEM, "out of memory for training");
    /* A full batch binds the inputs whole (converted once for byte data). */
    if (r->batch == d->n && !(r->x_full = dsc_dataset_float_x(d))) return DSC_ENOMEM;
    if (r->batch < d->n) {
        r->xb = dsc_malloc(r->batch * d->n_in * sizeof(float));
        r->yb = dsc_malloc(r->batch * d->n_out * sizeof(float));
        r->order = dsc_malloc(d->n * sizeof(uint32_t));
        if (!r->xb || !r->yb || !r->order) return dsc_fail(DSC_ENOMEM, "out of memory for batches");
        for (size_t i = 0; i < d->n; i++) r->order[i] = (uint32_t)i;
    }
    if (p->patience && !(r->best = dsc_malloc(n * sizeof(float))))
        return dsc_fail(DSC_ENOMEM, "out of memory for early stopping");
    if (p->optimizer != DSC_OPT_LBFGS) {
        dsc_optim_config c;
        dsc_optim_config_init(&c);
        c.kind = p->optimizer == DSC_OPT_RPROP ? (dsc_optimizer)DSC_OPT_RPROP_ID : p->optimizer;
        c.momentum = p->momentum;
        c.beta1 = p->beta1;
        c.beta2 = p->beta2;
        c.eps = p->eps;
        c.rms_alpha = p->rms_alpha;
        c.weight_decay = p->weight_decay;
        if ((s = dsc_optim_new(&c, n, &r->opt))) return s;
        dsc_optim_set_threads(r->opt, p->threads);
    }
    return DSC_OK;
}

/* The gradient and loss of the whole batch from every rank's slice: each
 * slice weighted by its share of the rows (a mean loss) or not (SSR), summed
 * over the ranks in place; then the loss with this rank's stop request. */
static dsc_status sum_over_ranks(run *r, size_t rows, size_t mine, double *loss)
{
    size_t n = r->m->n_params;
    float *g = dsc_graph_grads(r->mg.g);
    float w = dsc_loss_op(r->p->loss)->ref.norm == DSC_NORM_NONE ? 1.0f : (float)mine / (float)rows;
    if (w != 1.0f)
        for (size_t i = 0; i < n; i++) g[i] *= w;
    float tail[2] = {(float)(*loss * w), (float)r->want_stop};
    dsc_status s = r->dist->sum_floats(r->dist->ctx, g, n);
    if (!s) s = r->dist->sum_floats(r->dist->ctx, tail, 2);
    if (s) return s;
    *loss = tail[0];
    r->stop_agreed = tail[1] > 0;
    return DSC_OK;
}

/* Rows order[i] of d copied to row i of xb and yb, for i in a range. */
typedef struct {
    const dsc_dataset *d;
    const uint32_t *order;
    float *xb, *yb;
} gather_job;

/* Rows this far ahead are fetched into the cache while earlier ones are
 * copied: shuffled rows of a table larger than the cache each miss, and
 * on a small network (20 -> 100 -> 3) waiting for them was a tenth of a
 * step. */
#define GATHER_AHEAD 8

static void prefetch_bytes(const void *p, size_t bytes)
{
    const char *c = p;
    __builtin_prefetch(c);
    if (bytes > 1) __builtin_prefetch(c + bytes - 1);
}

static void gather_rows(void *job_, size_t lo, size_t hi)
{
    const gather_job *j = job_;
    const dsc_dataset *d = j->d;
    for (size_t i = lo; i < hi; i++) {
        if (i + GATHER_AHEAD < hi) {
            size_t next = j->order[i + GATHER_AHEAD];
            if (d->x8)
                prefetch_bytes(d->x8 + next * d->n_in, d->n_in);
            else
                prefetch_bytes(d->x + next * d->n_in, d->n_in * sizeof(float));
            prefetch_bytes(d->y + next * d->n_out, d->n_out * sizeof(float));
        }
        size_t src = j->order[i];
        dsc_dataset_copy_x(d, src, 1, j->xb + i * d->n_in);
        memcpy(j->yb + i * d->n_out, d->y + src * d->n_out, d->n_out * sizeof(float));
    }
}

/* Sum of squares of g[lo, hi): eight float lanes (so the compiler can use
 * vector registers without reordering a single sum), added in double.
 * Compiled once more for AVX2, picked at run time: a distribution build
 * (no -march) made SSE2 code of it that took 5.7 % of a W1 epoch's CPU
 * time on Zen 5 (perf, 1 thread; under 0.9 % in a -march=native build).
 * Each lane adds the same values in the same order either way, and no
 * multiply-add is fused (-ffp-contract=off): the same bits. */
#define SUM_SQUARES_BODY                                                                           \
    dsc_f32x8 acc = {0};                                                                           \
    size_t i = lo;                                                                                 \
    for (; i + 8 <= hi; i += 8) {                                                                  \
        dsc_f32x8 v;                                                                               \
        memcpy(&v, g + i, sizeof v);                                                               \
        acc += v * v;                                                                              \
    }                                                                                              \
    double s = 0.0;                                                                                \
    for (int k = 0; k < 8; k++) s += acc[k];                                                       \
    for (; i < hi; i++) s += (double)g[i] * g[i];                                                  \
    return s;

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static double sum_squares_avx2(const float *g, size_t lo, size_t hi)
{
    SUM_SQUARES_BODY
}
#endif

static double sum_squares(const float *g, size_t lo, size_t hi)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx2")) return sum_squares_avx2(g, lo, hi);
#endif
    SUM_SQUARES_BODY
}

/* scikit-learn's alpha (MLP's _backprop): l2 / 2 * ||W||^2 / rows added to
 * the batch's loss, l2 * W / rows to the weights' gradient; biases are not
 * penalised. Added once, after the ranks' sum, so every rank adds the same.
 * In float, so it vectorises (in double it was 5 % of a digits step). */
static void add_l2(run *r, size_t rows, double *loss)
{
    const dsc_model *m = r->m;
    float *g = dsc_graph_grads(r->mg.g);
    double a = r->p->l2 / (double)rows, sq = 0.0;
    float af = (float)a;
    for (size_t k = 0; k < m->n_layers; k++) {
        const float *w = m->params + m->w_off[k];
        float *gw = g + m->w_off[k];
        size_t n = m->arch->n_w[k];
        sq += sum_squares(w, 0, n);
        for (size_t i = 0; i < n; i++) gw[i] += af * w[i];
    }
    *loss += 0.5 * a * sq;
}

/* Binds rows [start, start + rows) of the shuffled order (or of the data
 * itself in a full-batch run) and runs forward and backward; over several
 * ranks, this rank's slice of them, then the sum. */
static dsc_status forward_backward(run *r, size_t start, size_t rows, double *loss)
{
    const dsc_dataset *d = r->d;
    size_t lo, hi;
    dsc_dist_slice(r->dist, rows, &lo, &hi);
    const float *x = r->xb, *y = r->yb;
    if (!r->order) {
        x = r->x_full + (start + lo) * d->n_in;
        y = d->y + (start + lo) * d->n_out;
    } else {
        /* Gathering (and converting bytes to floats) is a few percent of a
         * Fashion-MNIST step: worth the threads on large rows. */
        gather_job job = {d, r->order + start + lo, r->xb, r->yb};
        dsc_parallel_for(dsc_threads(r->p->threads), (hi - lo) * d->n_in >= 65536, hi - lo,
                         (8192 + d->n_in - 1) / d->n_in, gather_rows, &job);
    }
    dsc_status s;
    *loss = 0.0;
    if (hi == lo) {
        /* More ranks than rows: this one adds nothing to the sum. */
        memset(dsc_graph_grads(r->mg.g), 0, r->m->n_params * sizeof(float));
    } else {
        if ((s = dsc_graph_set_batch(r->mg.g, hi - lo)) ||
            (s = dsc_graph_bind(r->mg.g, r->mg.x, x)) ||
            (s = dsc_graph_bind(r->mg.g, r->mg.y, y)) || (s = dsc_graph_forward(r->mg.g)) ||
            (s = dsc_graph_backward(r->mg.g, r->mg.loss)))
            return s;
        *loss = dsc_graph_value(r->mg.g, r->mg.loss).data[0];
    }
    if (r->dist && (s = sum_over_ranks(r, rows, hi - lo, loss))) return s;
    if (r->p->l2 > 0) add_l2(r, rows, loss);
    return DSC_OK;
}

/* A stop that every rank agrees on: any rank's wish (now, or pending from
 * a step) stops them all, at the same point. */
static int agree_stop(run *r, int local)
{
    if (!r->dist) return local;
    double v = local || r->want_stop;
    if (r->dist->sum_doubles(r->dist->ctx, &v, 1)) return 1;
    return v > 0;
}

/* The loss over all of d: over several ranks, each scores its slice. */
static dsc_status data_loss(run *r, dsc_mlp_graph *mg, const dsc_dataset *d, double *out)
{
    size_t lo, hi;
    dsc_dist_slice(r->dist, d->n, &lo, &hi);
    dsc_status s = dsc_mlp_graph_loss_rows(mg, r->p->loss, d, lo, hi, out);
    if (!r->dist) return s;
    if ((s = r->dist->agree(r->dist->ctx, s))) return s;
    return r->dist->sum_doubles(r->dist->ctx, out, 1);
}

typedef struct {
    const float *g;
    size_t n, size;
    double *part;
} norm_job;

/* part[c] = the sum of squares of chunk c, for c in [lo, hi). */
static void norm_chunks(void *job_, size_t lo, size_t hi)
{
    const norm_job *j = job_;
    for (size_t c = lo; c < hi; c++)
        j->part[c] = sum_squares(j->g, c * j->size,
                                 c * j->size + j->size < j->n ? c * j->size + j->size : j->n);
}

/* ||g||_2 over the trained parameters. It runs every step over every
 * parameter, so long vectors are split into at most 256 chunks whose size
 * depends on n only, summed in parallel and then in order: the same value
 * for any thread count. */
static double grad_norm(const float *g, const uint8_t *mask, size_t n, int threads)
{
    if (mask) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            if (mask[i]) s += (double)g[i] * g[i];
        return sqrt(s);
    }
    /* One chunk: the same sum without the chunk machinery (tiny networks
     * pay for it every step). */
    if (n <= 16384) return sqrt(sum_squares(g, 0, n));
    double part[256];
    size_t size = n / 256 + 1 > 16384 ? n / 256 + 1 : 16384;
    size_t chunks = (n + size - 1) / size;
    norm_job job = {g, n, size, part};
    dsc_parallel_for(dsc_threads(threads), chunks >= 4, chunks, 1, norm_chunks, &job);
    double s = 0.0;
    for (size_t c = 0; c < chunks; c++) s += part[c];
    return sqrt(s);
}

/* Outcome of one step: keep going, or the rule that stopped the run. */
enum { GO_ON = -1 };

/* The caller's stop flag (dsc_train_params.stop), written by a signal
 * handler or another thread: read atomically, so the read is never torn
 * or hoisted out of the loop. */
static int stop_asked(const dsc_train_params *p)
{
    return p->stop && __atomic_load_n(p->stop, __ATOMIC_RELAXED) != 0;
}

/* One parameter update on the bound batch; returns GO_ON or a stop reason. */
static int step(run *r, double loss, size_t iter, size_t epoch, size_t total, long max_iter,
                double step_tol, const uint32_t *rows, size_t n_rows, dsc_train_result *res)
{
    const dsc_train_params *p = r->p;
    size_t n = r->m->n_params;
    float *params = r->m->params, *grads = dsc_graph_grads(r->mg.g);
    /* A stop asked for on any rank during the last step lands here, before
     * the update, on every rank alike. */
    if (r->stop_agreed) return DSC_STOP_CALLBACK;
    if (stop_asked(p)) {
        if (!r->dist) return DSC_STOP_CALLBACK;
        r->want_stop = 1; /* sent with the next sum, so every rank stops together */
    }
    r->last_loss = loss;
    double gn = grad_norm(grads, r->mask, n, p->threads);
    if (!isfinite(loss) || !isfinite(gn)) return DSC_STOP_DIVERGED;
    if (p->loss_tol > 0 && loss < p->loss_tol) return DSC_STOP_LOSS;
    if (p->grad_tol > 0 && gn < p->grad_tol) return DSC_STOP_GRADIENT;
    double lr = dsc_schedule_lr(p->schedule, p->learning_rate, p->lr_gamma, p->lr_step, p->lr_min,
                                iter, total);
    /* Only the step-size rule needs the largest step; without it the result
     * gets the figure once, at the end. */
    double max_step = step_tol > 0 ? dsc_optim_max_step_size(r->opt, grads, r->mask, n, lr) : NAN;
    /* A callback that reads neither the parameters before the update nor
     * the update itself (or none at all) spares a copy and a write of every
     * parameter per step. */
    int keep_before = p->on_step && !p->on_step_light;
    if (keep_before) memcpy(r->before, params, n * sizeof(float));
    dsc_optim_step(r->opt, params, grads, r->mask, keep_before ? r->steps : NULL, n, lr);
    res->iterations = iter + 1;
    res->grad_norm = gn;
    res->max_step = max_step;
    if (p->on_step) {
        dsc_step_info info = {iter,
                              epoch,
                              loss,
                              lr,
                              keep_before ? r->before : NULL,
                              grads,
                              keep_before ? r->steps : NULL,
                              n,
                              rows,
                              n_rows};
        if (p->on_step(&info, p->user)) {
            if (!r->dist) return DSC_STOP_CALLBACK;
            r->want_stop = 1;
        }
    }
    if (step_tol > 0 && max_step < step_tol) return DSC_STOP_STEP_SIZE;
    if (max_iter >= 0 && (long)(iter + 1) >= max_iter) return DSC_STOP_MAX_ITER;
    return GO_ON;
}

/* Full-batch gradient descent (or SGD on random batches when batch < n):
 * the seed's algorithm with its stopping rules. */
static int run_iterations(run *r, dsc_train_result *res, dsc_status *err)
{
    const dsc_train_params *p = r->p;
    long max_iter = p->max_iter < 0 ? 1000 : p->max_iter;
    double step_tol = p->step_tol < 0 ? 1e-3 : p->step_tol;
    size_t pos = r->d->n; /* forces a shuffle before the first minibatch */
    if (max_iter == 0) return DSC_STOP_MAX_ITER;
    for (size_t iter = 0;; iter++) {
        size_t start = 0;
        if (r->order) {
            if (pos + r->batch > r->d->n) {
                dsc_rng_shuffle(&r->rng, r->order, r->d->n);
                pos = 0;
            }
            start = pos;
            pos += r->batch;
        }
        double loss;
        if ((*err = forward_backward(r, start, r->batch, &loss))) return DSC_STOP_DIVERGED;
        int stop = step(r, loss, iter, 0, (size_t)max_iter, max_iter, step_tol,
                        r->order ? r->order + start : NULL, r->batch, res);
        if (stop != GO_ON) return stop;
    }
}

static dsc_status val_loss(run *r, double *out) { return data_loss(r, &r->eval, r->p->val, out); }

/* Restores a checkpoint: optimizer state, counters, and the shuffle stream
 * (by replaying the epochs done, which costs a shuffle each). */
static dsc_status resume_from(run *r, const dsc_train_state *st, size_t *iter, double *best,
                              size_t *since_best)
{
    size_t n = r->m->n_params;
    if (st->n_state != dsc_optim_state_size(r->opt))
        return dsc_fail(DSC_EINVAL,
                        "the checkpoint's optimizer state has %zu values, this "
                        "optimizer %zu (same --optimizer?)",
                        st->n_state, dsc_optim_state_size(r->opt));
    if (st->n_best && (st->n_best != n || !r->best))
        return dsc_fail(DSC_EINVAL, "the checkpoint's early-stopping state does not fit");
    if (st->epoch > r->p->epochs)
        return dsc_fail(DSC_EINVAL, "the checkpoint is at epoch %llu, past --epochs %zu",
                        (unsigned long long)st->epoch, r->p->epochs);
    if (st->n_state) memcpy(dsc_optim_state(r->opt), st->state, st->n_state * sizeof(float));
    dsc_optim_set_t(r->opt, st->optimizer_t);
    if (st->n_best) memcpy(r->best, st->best, n * sizeof(float));
    for (uint64_t e = 0; r->order && e < st->epoch; e++)
        dsc_rng_shuffle(&r->rng, r->order, r->d->n);
    /* Dropout masks and random ReLU choices follow the forward count. */
    r->mg.g->pass = st->iterations;
    *iter = st->iterations;
    *best = st->best_val;
    *since_best = st->since_best;
    return DSC_OK;
}

static int checkpoint(run *r, size_t epoch, size_t iter, double best, size_t since_best)
{
    dsc_train_state st = {epoch,
                          iter,
                          dsc_optim_t(r->opt),
                          dsc_optim_state_size(r->opt),
                          dsc_optim_state(r->opt),
                          best,
                          since_best,
                          r->best && isfinite(best) ? r->m->n_params : 0,
                          r->best};
    return agree_stop(r, r->p->on_checkpoint(&st, r->p->user));
}

/* Epochs of shuffled minibatches; the last batch of an epoch may be short. */
static int run_epochs(run *r, dsc_train_result *res, dsc_status *err, double t0)
{
    const dsc_train_params *p = r->p;
    size_t n = r->d->n, per_epoch = (n + r->batch - 1) / r->batch;
    long max_iter = p->max_iter; /* < 0: no cap */
    double step_tol = p->step_tol < 0 ? 0 : p->step_tol;
    double best = INFINITY, lowest = INFINITY;
    size_t since_best = 0, iter = 0, first = 0, no_change = 0;
    int why = DSC_STOP_EPOCHS;
    if (p->resume) {
        if ((*err = resume_from(r, p->resume, &iter, &best, &since_best))) return DSC_STOP_DIVERGED;
        first = (size_t)p->resume->epoch;
        res->epochs = first;
        res->iterations = iter;
    }
    if (max_iter == 0) return DSC_STOP_MAX_ITER;
    for (size_t epoch = first; epoch < p->epochs; epoch++) {
        if (r->order) dsc_rng_shuffle(&r->rng, r->order, n);
        /* A mean loss is weighted by each batch's rows, so the epoch's figure
         * is the mean over its rows (scikit-learn's MLP reports the same):
         * an unweighted mean gave the short last batch a larger say, and on
         * digits (1347 rows) its noise alone, about 1e-4, reset the
         * estimators' tol rule for 40 epochs more. A sum (SSR) stays the
         * mean of the batches' sums. */
        int by_rows = dsc_loss_op(p->loss)->ref.norm != DSC_NORM_NONE;
        double sum = 0.0;
        for (size_t b = 0; b < per_epoch; b++) {
            size_t start = b * r->batch, rows = n - start < r->batch ? n - start : r->batch;
            double loss;
            if ((*err = forward_backward(r, start, rows, &loss))) return DSC_STOP_DIVERGED;
            int stop = step(r, loss, iter++, epoch, per_epoch * p->epochs, max_iter, step_tol,
                            r->order ? r->order + start : NULL, rows, res);
            if (stop != GO_ON) return stop;
            sum += by_rows ? loss * (double)rows : loss;
        }
        res->epochs = epoch + 1;
        dsc_epoch_info info = {epoch, p->epochs, sum / (double)(by_rows ? n : per_epoch), NAN, 0.0};
        if (p->val) {
            if ((*err = val_loss(r, &info.val_loss))) return DSC_STOP_DIVERGED;
            res->val_loss = info.val_loss;
            if (p->patience) {
                if (info.val_loss < best) {
                    best = info.val_loss;
                    since_best = 0;
                    memcpy(r->best, r->m->params, r->m->n_params * sizeof(float));
                } else if (++since_best >= p->patience) {
                    /* Early stopping keeps the best parameters, not the last. */
                    memcpy(r->m->params, r->best, r->m->n_params * sizeof(float));
                    res->val_loss = best;
                    return DSC_STOP_EPOCHS;
                }
            }
        }
        info.seconds = dsc_seconds() - t0;
        if (p->loss_curve) p->loss_curve[epoch - first] = info.loss;
        if (p->on_epoch ? agree_stop(r, p->on_epoch(&info, p->user)) : agree_stop(r, 0))
            return DSC_STOP_CALLBACK;
        /* scikit-learn's MLP rule, on the same figure on every rank. */
        if (p->no_change_tol > 0) {
            no_change = info.loss > lowest - p->no_change_tol ? no_change + 1 : 0;
            lowest = info.loss < lowest ? info.loss : lowest;
            if (no_change > p->no_change_epochs) why = DSC_STOP_NO_CHANGE;
        }
        int ckpt = p->on_checkpoint &&
                   ((p->checkpoint_every && (epoch + 1) % p->checkpoint_every == 0) ||
                    (p->checkpoint_at_end && (why != DSC_STOP_EPOCHS || epoch + 1 == p->epochs)));
        if (ckpt && checkpoint(r, epoch + 1, iter, best, since_best) && why == DSC_STOP_EPOCHS)
            return DSC_STOP_CALLBACK;
        if (why != DSC_STOP_EPOCHS) break;
    }
    if (p->patience && isfinite(best)) {
        memcpy(r->m->params, r->best, r->m->n_params * sizeof(float));
        res->val_loss = best;
    }
    return why;
}

/* --- L-BFGS: the line search picks each step ------------------------------- */

typedef struct {
    run *r;
    dsc_train_result *res;
    float *prev;
} lbfgs_ctx;

static double lbfgs_eval(void *user, const float *x, float *g)
{
    run *r = ((lbfgs_ctx *)user)->r;
    size_t n = r->m->n_params;
    if (x != r->m->params) memcpy(r->m->params, x, n * sizeof(float));
    double loss;
    if (forward_backward(r, 0, r->d->n, &loss)) return NAN;
    memcpy(g, dsc_graph_grads(r->mg.g), n * sizeof(float));
    return loss;
}

static int lbfgs_progress(void *user, size_t iter, const float *x, const float *g, double f,
                          double step_size)
{
    lbfgs_ctx *c = user;
    const dsc_train_params *p = c->r->p;
    size_t n = c->r->m->n_params;
    c->res->iterations = iter + 1;
    c->res->max_step = step_size;
    c->res->grad_norm = grad_norm(g, c->r->mask, n, p->threads);
    c->r->last_loss = f;
    if (p->loss_tol > 0 && f < p->loss_tol) return 2;
    if (!p->on_step) return agree_stop(c->r, stop_asked(p));
    for (size_t i = 0; i < n; i++) c->r->steps[i] = c->prev[i] - x[i];
    dsc_step_info info = {iter, 0, f, NAN, c->prev, g, c->r->steps, n, NULL, c->r->d->n};
    int stop = agree_stop(c->r, p->on_step(&info, p->user) || stop_asked(p));
    memcpy(c->prev, x, n * sizeof(float));
    return stop;
}

static int run_lbfgs(run *r, dsc_train_result *res, dsc_status *err)
{
    const dsc_train_params *p = r->p;
    size_t n = r->m->n_params;
    dsc_lbfgs_params lp;
    dsc_lbfgs_params_init(&lp);
    if (p->max_iter == 0) return DSC_STOP_MAX_ITER;
    lp.max_iter = p->max_iter < 0 ? 1000 : (size_t)p->max_iter;
    lp.step_tol = p->step_tol < 0 ? 1e-3 : p->step_tol;
    lp.grad_tol = p->grad_tol;
    lp.style = p->lbfgs_style;
    lp.m = p->lbfgs_history ? p->lbfgs_history : p->lbfgs_style == DSC_LBFGS_TORCH ? 100 : 8;
    float *x = dsc_malloc(n * sizeof(float));
    lbfgs_ctx ctx = {r, res, r->before};
    if (!x) {
        *err = dsc_fail(DSC_ENOMEM, "out of memory for L-BFGS");
        return DSC_STOP_DIVERGED;
    }
    memcpy(x, r->m->params, n * sizeof(float));
    memcpy(r->before, x, n * sizeof(float));
    dsc_lbfgs_stop stop;
    size_t iters = 0;
    double f;
    dsc_status s =
        dsc_lbfgs_minimize(n, x, r->mask, lbfgs_eval, lbfgs_progress, &ctx, &lp, &stop, &iters, &f);
    if (s == DSC_OK || s == DSC_EDIVERGED || s == DSC_ECANCELLED)
        memcpy(r->m->params, x, n * sizeof(float));
    dsc_free(x);
    res->iterations = iters;
    if (s == DSC_EINVAL || s == DSC_ENOMEM) {
        *err = s;
        return DSC_STOP_DIVERGED;
    }
    switch (stop) {
    case DSC_LBFGS_GRADIENT: return DSC_STOP_GRADIENT;
    case DSC_LBFGS_LINE_SEARCH_CONVERGED: res->at_rounding_level = 1; return DSC_STOP_LINE_SEARCH;
    case DSC_LBFGS_STEP_SIZE: return DSC_STOP_STEP_SIZE;
    case DSC_LBFGS_MAX_ITER: return DSC_STOP_MAX_ITER;
    case DSC_LBFGS_LINE_SEARCH_FAILED: return DSC_STOP_LINE_SEARCH;
    case DSC_LBFGS_DIVERGED: return DSC_STOP_DIVERGED;
    case DSC_LBFGS_CANCELLED: break;
    }
    return p->loss_tol > 0 && f < p->loss_tol ? DSC_STOP_LOSS : DSC_STOP_CALLBACK;
}

/* What every rank must share for a distributed run to be one run: the
 * data (after standardisation), its shape and the options that steer the
 * steps. Compared with rank 0's before the first step. */
enum { FP_SHAPE, FP_X, FP_Y, FP_VAL, FP_OPTIONS, FP_COUNT };

/* The inputs as stored (bytes or floats). */
static uint32_t inputs_crc(const dsc_dataset *d)
{
    return d->x8 ? dsc_crc32(0, d->x8, d->n * d->n_in)
                 : dsc_crc32(0, d->x, d->n * d->n_in * sizeof(float));
}

static uint32_t targets_crc(uint32_t crc, const dsc_dataset *d)
{
    return dsc_crc32(crc, d->y, d->n * d->n_out * sizeof(float));
}

static void fingerprint(const dsc_dataset *d, const dsc_train_params *p, size_t n_params,
                        uint32_t fp[FP_COUNT])
{
    uint64_t shape[4] = {d->n, d->n_in, d->n_out, n_params};
    fp[FP_SHAPE] = dsc_crc32(0, shape, sizeof shape);
    fp[FP_X] = inputs_crc(d);
    fp[FP_Y] = targets_crc(0, d);
    fp[FP_VAL] = p->val ? targets_crc(inputs_crc(p->val), p->val) : 0;
    /* The options field by field: the struct's padding is not data. */
    double num[] = {p->learning_rate, p->momentum,     p->beta1,    p->beta2,    p->eps,
                    p->rms_alpha,     p->weight_decay, p->dropout,  p->lr_gamma, p->lr_min,
                    p->step_tol,      p->grad_tol,     p->loss_tol, p->l2};
    uint64_t cnt[] = {(uint64_t)p->loss,
                      (uint64_t)p->optimizer,
                      (uint64_t)p->schedule,
                      p->lr_step,
                      p->batch,
                      p->epochs,
                      (uint64_t)p->max_iter,
                      p->seed,
                      p->patience,
                      p->checkpoint_every,
                      !!p->on_step,
                      !!p->on_epoch,
                      !!p->on_checkpoint,
                      p->resume ? p->resume->epoch : 0,
                      (uint64_t)p->lbfgs_style,
                      p->lbfgs_history};
    uint32_t c = dsc_crc32(0, num, sizeof num);
    c = dsc_crc32(c, cnt, sizeof cnt);
    fp[FP_OPTIONS] = p->only ? dsc_crc32(c, p->only, strlen(p->only)) : c;
}

/* Before the first step of a distributed run: every rank's data and
 * options match rank 0's, and every rank starts from rank 0's parameters. */
static dsc_status start_together(dsc_dist *dist, dsc_model *m, const dsc_dataset *d,
                                 const dsc_train_params *p)
{
    static const char *what[FP_COUNT] = {"the data's shape or the network", "the inputs",
                                         "the targets", "the validation data",
                                         "the training options"};
    uint32_t mine[FP_COUNT];
    float theirs[FP_COUNT];
    fingerprint(d, p, m->n_params, mine);
    memcpy(theirs, mine, sizeof mine); /* bits, not numbers: a broadcast copies */
    dsc_status s = dist->broadcast_floats(dist->ctx, theirs, FP_COUNT);
    if (s) return s;
    uint32_t zero[FP_COUNT];
    memcpy(zero, theirs, sizeof zero);
    s = DSC_OK;
    for (int k = 0; k < FP_COUNT && !s; k++)
        if (zero[k] != mine[k])
            s = dsc_fail(DSC_EINVAL,
                         "%s differ from rank 0's; every rank must load the same data with the "
                         "same options",
                         what[k]);
    if ((s = dist->agree(dist->ctx, s))) return s;
    return dist->broadcast_floats(dist->ctx, m->params, m->n_params);
}

dsc_status dsc_train(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                     dsc_train_result *res)
{
    return dsc_train_dist(m, d, p, NULL, res);
}

/* Over several ranks, a failure on one is a failure on all: the lowest
 * failing rank's status and message. */
static dsc_status together(dsc_dist *dist, dsc_status s)
{
    return dist ? dist->agree(dist->ctx, s) : s;
}

dsc_status dsc_train_dist(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                          dsc_dist *dist, dsc_train_result *res)
{
    dsc_status s = together(dist, check_args(m, d, p));
    if (s) return s;
    dsc_train_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    res->val_loss = NAN;
    res->max_step = NAN;
    /* A standardising model trains on standardised copies of the data. */
    dsc_dataset *d_copy = NULL, *val_copy = NULL;
    const dsc_dataset *val = p->val;
    dsc_train_params local_p;
    const dsc_dataset *orig = d;
    /* The model records the input divisor it trains with (the data's, 255
     * for IDX images, when it has none yet), so that every later use of it
     * divides the same way whatever file the rows come from. */
    if (m->x_div == 0) m->x_div = dsc_model_divisor_for(m, d);
    if ((s = together(dist, dsc_model_prepare_data(m, d, &d_copy, &d)))) return s;
    if (p->val) {
        if ((s = together(dist, dsc_model_prepare_data(m, p->val, &val_copy, &val)))) {
            dsc_dataset_free(d_copy);
            return s;
        }
        local_p = *p;
        local_p.val = val;
        p = &local_p;
    }
    if ((s = together(dist, check_targets(m, orig, d, p->loss)))) {
        dsc_dataset_free(d_copy);
        dsc_dataset_free(val_copy);
        return s;
    }
    run r;
    s = together(dist, run_init(&r, m, d, p, dist));
    if (!s && dist) s = start_together(dist, m, d, p);
    if (s) {
        run_free(&r);
        dsc_dataset_free(d_copy);
        dsc_dataset_free(val_copy);
        return s;
    }
    double t0 = dsc_seconds(), comm0 = dist ? dist->comm_seconds : 0.0;
    double wait0 = dist ? dist->wait_seconds : 0.0;
    dsc_status err = DSC_OK;
    int stop = p->optimizer == DSC_OPT_LBFGS ? run_lbfgs(&r, res, &err)
               : p->epochs                   ? run_epochs(&r, res, &err, t0)
                                             : run_iterations(&r, res, &err);
    res->seconds = dsc_seconds() - t0;
    res->comm_seconds = dist ? dist->comm_seconds - comm0 : 0.0;
    res->wait_seconds = dist ? dist->wait_seconds - wait0 : 0.0;
    res->stop = (dsc_stop_reason)stop;
    if (isnan(res->max_step) && res->iterations && p->optimizer != DSC_OPT_LBFGS)
        res->max_step = dsc_optim_max_step_size(r.opt, dsc_graph_grads(r.mg.g), r.mask, m->n_params,
                                                p->learning_rate);
    if (!err && stop == DSC_STOP_CALLBACK) {
        /* Stopped (Ctrl-C, a callback): no pass over the data, which for
         * a large set takes seconds the caller wants for saving. */
        res->loss = r.last_loss;
    } else if (!err) {
        err = data_loss(&r, r.eval.g ? &r.eval : &r.mg, d, &res->loss);
        if (!err && !isfinite(res->loss)) res->stop = DSC_STOP_DIVERGED;
        /* The validation loss of the final parameters (the best ones when
         * early stopping restored them), whatever the kind of run. */
        if (!err && p->val) err = val_loss(&r, &res->val_loss);
    }
    run_free(&r);
    dsc_dataset_free(d_copy);
    dsc_dataset_free(val_copy);
    if (err) return err;
    if (res->stop == DSC_STOP_DIVERGED)
        return dsc_fail(DSC_EDIVERGED,
                        "training diverged after %zu updates: the loss or a gradient is not "
                        "finite (try a smaller learning rate)",
                        res->iterations);
    if (res->stop == DSC_STOP_CALLBACK) return dsc_fail(DSC_ECANCELLED, "training was stopped");
    return DSC_OK;
}

dsc_status dsc_evaluate_loss(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, double *out)
{
    return dsc_evaluate_loss_dist(m, d, loss, NULL, out);
}

dsc_status dsc_evaluate_loss_dist(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                  dsc_dist *dist, double *out)
{
    if (!m || !d || !out) return dsc_fail(DSC_EINVAL, "dsc_evaluate_loss: NULL argument");
    dsc_dataset *copy = NULL;
    dsc_status s = dsc_model_check_data(m, d, "the data");
    if (!s) s = dsc_model_prepare_data(m, d, &copy, &d);
    dsc_mlp_graph mg;
    size_t lo, hi;
    dsc_dist_slice(dist, d->n, &lo, &hi);
    if (!s)
        s = dsc_mlp_graph_build(m, 1, loss, d->n < 1024 ? d->n : 1024, DSC_COMPILE_NO_GRAD, &mg);
    if (!s) {
        s = dsc_mlp_graph_loss_rows(&mg, loss, d, lo, hi, out);
        dsc_mlp_graph_free(&mg);
    }
    dsc_dataset_free(copy);
    if (dist && !(s = dist->agree(dist->ctx, s))) s = dist->sum_doubles(dist->ctx, out, 1);
    return s;
}

dsc_status dsc_model_gradcheck(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                               double *max_rel_error, size_t *worst, size_t *kinks)
{
    if (!m || !d) return dsc_fail(DSC_EINVAL, "dsc_model_gradcheck: NULL argument");
    dsc_dataset *copy;
    dsc_status s = dsc_model_check_data(m, d, "the data");
    if (s) return s;
    s = dsc_model_prepare_data(m, d, &copy, &d);
    if (s) return s;
    dsc_mlp_graph mg;
    if (!(s = dsc_mlp_graph_build(m, 1, loss, d->n, 0, &mg))) {
        const float *x = dsc_dataset_float_x(d);
        if (!x)
            s = DSC_ENOMEM;
        else if (!(s = dsc_graph_bind(mg.g, mg.x, x)) && !(s = dsc_graph_bind(mg.g, mg.y, d->y)))
            s = dsc_graph_gradcheck(mg.g, mg.loss, max_rel_error, worst, kinks);
        dsc_mlp_graph_free(&mg);
    }
    dsc_dataset_free(copy);
    return s;
}
