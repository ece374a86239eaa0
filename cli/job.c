#define _POSIX_C_SOURCE 200809L
#include "job.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "io/json.h"
#include "io/model_file.h"
#include "ranks.h"
#include "report.h"

void job_opts_init(job_opts *o)
{
    memset(o, 0, sizeof *o);
    o->optimizer = "gd";
    o->schedule = "constant";
    o->relu0 = "0";
    o->lr = 0.01;
    o->tol = -1;
    o->max_iter = -1;
    o->momentum = 0.9;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->rms_alpha = 0.99;
    o->lbfgs_style = "descent";
    o->seed = 42;
}

size_t job_opts_table(job_opts *o, cli_opt *t)
{
    cli_opt opts[JOB_N_OPTS] = {
        {"loss", OPT_STRING, &o->loss, "LOSS", "ssr, mse, mae, huber, bce, ce", 0},
        {"optimizer", OPT_STRING, &o->optimizer, "OPT",
         "gd, sgd, momentum, nesterov, rmsprop, adam, adamw, rprop, lbfgs (gd)", 0},
        {"lr", OPT_DOUBLE, &o->lr, "R", "learning rate (0.01)", 0},
        {"tol", OPT_DOUBLE, &o->tol, "T",
         "stop when every |lr x derivative| < T (0.001 without --epochs; 0: off)", 0},
        {"max-iter", OPT_LONG, &o->max_iter, "N",
         "stop after N updates (1000 without --epochs; 0: none, only evaluate)", 0},
        {"grad-tol", OPT_DOUBLE, &o->grad_tol, "T", "stop when the gradient norm < T (off)", 0},
        {"loss-tol", OPT_DOUBLE, &o->loss_tol, "T", "stop when the loss < T (off)", 0},
        {"batch", OPT_SIZE, &o->batch, "N", "rows per update (all: full batch)", 0},
        {"epochs", OPT_SIZE, &o->epochs, "N", "passes over the data in minibatches", 0},
        {"seed", OPT_U64, &o->seed, "S", "random seed for init and shuffles (42)", 0},
        {"init", OPT_STRING, &o->init, "FILE", "initial parameters: lines of `name value`", 0},
        {"only", OPT_STRING, &o->only, "NAMES", "train only these parameters (e.g. b3)", 0},
        {"schedule", OPT_STRING, &o->schedule, "S", "constant, step, exp, cosine (constant)", 0},
        {"lr-gamma", OPT_DOUBLE, &o->lr_gamma, "G", "step/exp decay factor (0.1 / 0.99)", 0},
        {"lr-step", OPT_SIZE, &o->lr_step, "N", "step schedule period in updates", 0},
        {"lr-min", OPT_DOUBLE, &o->lr_min, "R", "cosine schedule floor (0)", 0},
        {"momentum", OPT_DOUBLE, &o->momentum, "M", "momentum/nesterov coefficient (0.9)", 0},
        {"beta1", OPT_DOUBLE, &o->beta1, "B", "adam beta1 (0.9)", 0},
        {"beta2", OPT_DOUBLE, &o->beta2, "B", "adam beta2 (0.999)", 0},
        {"eps", OPT_DOUBLE, &o->eps, "E", "adam/rmsprop epsilon (1e-8)", 0},
        {"rms-alpha", OPT_DOUBLE, &o->rms_alpha, "A", "rmsprop smoothing of g^2 (0.99)", 0},
        {"lbfgs-style", OPT_STRING, &o->lbfgs_style, "S",
         "descent, or torch: PyTorch's LBFGS with strong_wolfe, step for step (descent)", 0},
        {"lbfgs-history", OPT_SIZE, &o->lbfgs_history, "M",
         "L-BFGS pairs kept (8; torch style 100)", 0},
        {"weight-decay", OPT_DOUBLE, &o->weight_decay, "W", "L2 (adamw: decoupled) (0)", 0},
        {"l2", OPT_DOUBLE, &o->l2, "A",
         "L2 on weights as scikit-learn's MLP alpha: A/2 ||W||^2 / rows in each batch's loss (0)",
         0},
        {"relu-grad-at-zero", OPT_STRING, &o->relu0, "V", "ReLU's derivative at 0: 0, 1, random",
         0},
        {"threads", OPT_SIZE, &o->threads, "N", "threads, also OpenBLAS's (0: all cores)", 0},
        {"gemm", OPT_STRING, &o->gemm, "KIND", "matrix multiply: builtin or cblas (builtin)", 0},
        {"trace", OPT_STRING, &o->trace, "FILE.csv", "write every step to a CSV file", 0},
        {"json", OPT_FLAG, &o->json, NULL, "print one JSON object", 0},
        {"quiet", OPT_FLAG, &o->quiet, NULL, "no progress bar", 0},
    };
    memcpy(t, opts, sizeof opts);
    return JOB_N_OPTS;
}

/* A number option outside [lo, hi] (open ends where said): refused. */
static int out_of_range(const char *name, double v, double lo, int lo_open, double hi, int hi_open,
                        const char *why)
{
    int bad = lo_open ? !(v > lo) : !(v >= lo);
    bad = bad || (hi_open ? !(v < hi) : !(v <= hi));
    if (!bad) return -1;
    char l[32], h[32];
    dsc_format_float(l, sizeof l, lo);
    dsc_format_float(h, sizeof h, hi);
    return cli_error(EXIT_USAGE, "--%s must be in %s%s, %s%s (%s), not %g", name,
                     lo_open ? "(" : "[", l, isinf(hi) ? "inf" : h, hi_open ? ")" : "]", why, v);
}

int job_check_opts(const job_opts *o, const cli_command *c)
{
    int st;
    dsc_optimizer opt;
    dsc_schedule sched;
    dsc_lbfgs_style style;
    dsc_relu_grad relu;
    dsc_loss loss;
    if ((st = job_relu_rule(o->relu0, &relu)) >= 0) return st;
    if (dsc_optimizer_from_name(o->optimizer, &opt) ||
        dsc_schedule_from_name(o->schedule, &sched) ||
        dsc_lbfgs_style_from_name(o->lbfgs_style, &style) ||
        (o->loss && dsc_loss_from_name(o->loss, &loss)))
        return cli_error(EXIT_USAGE, "%s", dsc_last_error());
    if (o->gemm && strcmp(o->gemm, "builtin") != 0 && strcmp(o->gemm, "cblas") != 0)
        return cli_error(EXIT_USAGE, "--gemm must be builtin or cblas, not '%s'", o->gemm);
    const double inf = INFINITY;
    if ((st = out_of_range("lr", o->lr, 0, 1, inf, 1, "a step needs a positive rate")) >= 0)
        return st;
    if (cli_seen(c, "tol") &&
        (st = out_of_range("tol", o->tol, 0, 0, inf, 1, "0 turns it off")) >= 0)
        return st;
    if ((st = out_of_range("grad-tol", o->grad_tol, 0, 0, inf, 1, "0 turns it off")) >= 0 ||
        (st = out_of_range("loss-tol", o->loss_tol, 0, 0, inf, 1, "0 turns it off")) >= 0 ||
        (st = out_of_range("weight-decay", o->weight_decay, 0, 0, inf, 1, "0: none")) >= 0 ||
        (st = out_of_range("l2", o->l2, 0, 0, inf, 1, "0: none")) >= 0 ||
        (st = out_of_range("momentum", o->momentum, 0, 0, 1, 1, "a fraction of the last step")) >=
            0 ||
        (st = out_of_range("beta1", o->beta1, 0, 0, 1, 1, "an average's decay")) >= 0 ||
        (st = out_of_range("beta2", o->beta2, 0, 0, 1, 1, "an average's decay")) >= 0 ||
        (st = out_of_range("eps", o->eps, 0, 1, inf, 1, "it keeps a division finite")) >= 0 ||
        (st = out_of_range("rms-alpha", o->rms_alpha, 0, 0, 1, 0, "an average's decay")) >= 0 ||
        (st = out_of_range("dropout", o->dropout, 0, 0, 1, 1, "a fraction of units dropped")) >=
            0 ||
        (st = out_of_range("lr-min", o->lr_min, 0, 0, o->lr, 0, "a floor below --lr")) >= 0)
        return st;
    /* 0 means "the schedule's default" to the library: given, it must be a
     * real decay factor. */
    if (cli_seen(c, "lr-gamma") &&
        (st = out_of_range("lr-gamma", o->lr_gamma, 0, 1, 1, 0, "a decay factor")) >= 0)
        return st;
    if (cli_seen(c, "lbfgs-history") && (o->lbfgs_history < 1 || o->lbfgs_history > 10000))
        return cli_error(EXIT_USAGE, "--lbfgs-history must be 1 to 10000, not %zu",
                         o->lbfgs_history);
    if (o->threads > 1024) return cli_error(EXIT_USAGE, "--threads: at most 1024");
    return -1;
}

int job_relu_rule(const char *s, dsc_relu_grad *out)
{
    if (strcmp(s, "0") == 0)
        *out = DSC_RELU_GRAD_ZERO;
    else if (strcmp(s, "1") == 0)
        *out = DSC_RELU_GRAD_ONE;
    else if (strcmp(s, "random") == 0)
        *out = DSC_RELU_GRAD_RANDOM;
    else
        return cli_error(EXIT_USAGE, "--relu-grad-at-zero must be 0, 1 or random, not '%s'", s);
    return -1;
}

/* --- initial values -------------------------------------------------------- */

/* The next line of f into line (without its end): 1, 0 at the end, or
 * -1 for a line longer than size - 1 bytes and -2 for a NUL byte (which
 * fgets would hide). */
static int read_line(FILE *f, char *line, size_t size)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (c == '\0') return -2;
        if (n + 1 >= size) return -1;
        line[n++] = (char)c;
    }
    line[n] = '\0';
    return c == EOF && n == 0 ? 0 : 1;
}

int job_load_init(dsc_model *m, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) return cli_error(EXIT_RUNTIME, "cannot read %s: %s", path, strerror(errno));
    char line[512];
    int status = -1, got;
    /* The model's parameters are all a file could set, so a file of more
     * lines than that and a few comments is not an initial-value file (an
     * endless pipe, /dev/zero): stop there. */
    size_t max_lines = 4 * dsc_model_param_count(m) + 1000;
    for (size_t lineno = 1; status < 0 && (got = read_line(f, line, sizeof line)); lineno++) {
        if (got == -1 || got == -2 || lineno > max_lines) {
            status = cli_error(EXIT_RUNTIME, "%s:%zu: %s", path, lineno,
                               got == -1   ? "line too long (at most 511 bytes)"
                               : got == -2 ? "a NUL byte: not a text file"
                                           : "more lines than a file of initial values can hold");
            break;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0') continue;
        /* Columns (1-based) say where on the line the trouble starts. */
        size_t name_col = (size_t)(p - line) + 1;
        char name[64];
        size_t n = 0;
        while (*p && !strchr(" \t\r\n=", *p) && n + 1 < sizeof name) name[n++] = *p++;
        name[n] = '\0';
        while (*p == ' ' || *p == '\t' || *p == '=') p++;
        size_t value_col = (size_t)(p - line) + 1;
        double v;
        const char *end;
        if (dsc_parse_double(p, &end, &v) != 0) {
            status = cli_error(EXIT_RUNTIME, "%s:%zu:%zu: expected `name value`, e.g. `w1 2.74`",
                               path, lineno, value_col);
            break;
        }
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
        if (*end != '\0' && *end != '#') {
            status = cli_error(EXIT_RUNTIME, "%s:%zu:%zu: unexpected text after the value", path,
                               lineno, (size_t)(end - line) + 1);
            break;
        }
        if (!isfinite(v) || fabs(v) > 3.4e38) {
            status = cli_error(EXIT_RUNTIME, "%s:%zu:%zu: the value of %s is not a finite float",
                               path, lineno, value_col, name);
            break;
        }
        if (dsc_model_set(m, name, (float)v) != DSC_OK)
            status =
                cli_error(EXIT_RUNTIME, "%s:%zu:%zu: %s", path, lineno, name_col, dsc_last_error());
    }
    if (status < 0 && ferror(f)) status = cli_error(EXIT_RUNTIME, "cannot read %s", path);
    if (f != stdin) fclose(f);
    return status;
}

/* --- the run --------------------------------------------------------------- */

typedef struct {
    job_result *res;
    int record, bar;
    double t0, last_draw;
    long max_iter;
    size_t epochs, rows, batch;
    dsc_status record_error;
    const dsc_model *m;
    const dsc_dataset *val;
    dsc_loss loss;
    FILE *log;
    const char *checkpoint;
    dsc_status checkpoint_error;
    int checkpoint_failed; /* its message is out already */
    double last_val, last_acc;
} job_state;

/* A progress line on stderr, only for runs that last: drawn from the
 * first second on, at most ten times a second. */
static void draw_bar(job_state *s, size_t iter, double loss, int done)
{
    double t = dsc_seconds();
    if (!done && (t - s->t0 < 1.0 || t - s->last_draw < 0.1)) return;
    if (done && s->last_draw == 0) return;
    s->last_draw = t;
    if (s->epochs) {
        /* Epochs: where we are, speed and time left. */
        size_t per_epoch = (s->rows + s->batch - 1) / s->batch, done_b = iter + 1;
        size_t epoch = done_b / per_epoch, b = done_b % per_epoch;
        double el = t - s->t0, frac = (double)done_b / (double)(per_epoch * s->epochs);
        double samples = (double)done_b * (double)s->batch;
        fprintf(stderr, "\r  epoch %zu/%zu  batch %zu/%zu  loss %.4g", epoch + (b ? 1 : 0),
                s->epochs, b ? b : per_epoch, per_epoch, loss);
        if (!isnan(s->last_val)) fprintf(stderr, "  val %.4g", s->last_val);
        if (!isnan(s->last_acc)) fprintf(stderr, "  acc %.3f", s->last_acc);
        fprintf(stderr, "  %.0f samples/s  %.0fs left   ", samples / (el > 0 ? el : 1e-9),
                frac > 0 ? el / frac - el : 0.0);
    } else if (s->max_iter > 0)
        fprintf(stderr, "\r  update %zu/%ld  loss %.6g  %.1fs   ", iter + 1, s->max_iter, loss,
                t - s->t0);
    else
        fprintf(stderr, "\r  update %zu  loss %.6g  %.1fs   ", iter + 1, loss, t - s->t0);
    if (done) fputc('\n', stderr);
    fflush(stderr);
}

static int on_step(const dsc_step_info *si, void *user)
{
    job_state *s = user;
    if (s->record && !s->record_error)
        s->record_error = dsc_run_trace_add(&s->res->trace, si->params, si->grads, si->loss);
    if (s->bar) draw_bar(s, si->iter, si->loss, 0);
    return cli_interrupted;
}

/* Every --checkpoint-every epochs: the model and where the run stands, so
 * --resume can go on exactly as if nothing had stopped. */
static int on_checkpoint(const dsc_train_state *st, void *user)
{
    job_state *s = user;
    /* One writer: every rank holds the same model and state. A checkpoint
     * is put in place as soon as it is whole: it is what a run keeps of
     * itself as it goes. */
    if (cli_rank() != 0) return cli_interrupted;
    uint8_t *bytes = NULL;
    size_t size = 0;
    dsc_status e = dsc_checkpoint_encode(s->m, st, &bytes, &size);
    if (e) {
        s->checkpoint_error = e;
        return 1;
    }
    FILE *f = cli_out_open(s->checkpoint, 0);
    if (f) fwrite(bytes, 1, size, f);
    dsc_free(bytes);
    if (!f || cli_out_commit_now(f) != EXIT_OK) {
        s->checkpoint_failed = 1;
        return 1;
    }
    return cli_interrupted;
}

/* One JSON line of metrics per epoch, and the validation numbers for the
 * progress bar. */
static int on_epoch(const dsc_epoch_info *e, void *user)
{
    job_state *s = user;
    s->last_val = e->val_loss;
    if (s->val && dsc_model_classes(s->m) > 0) {
        dsc_metrics mt;
        if (cli_evaluate(s->m, s->val, s->loss, &mt) == DSC_OK) {
            s->last_acc = mt.accuracy;
            dsc_metrics_free(&mt);
        }
    }
    if (s->log) {
        dsc_json j;
        dsc_json_init(&j, s->log);
        dsc_json_object(&j);
        dsc_json_kuint(&j, "epoch", e->epoch + 1);
        dsc_json_knumber(&j, "loss", e->loss);
        dsc_json_knumber(&j, "val_loss", e->val_loss);
        dsc_json_knumber(&j, "accuracy", s->last_acc);
        dsc_json_knumber(&j, "seconds", e->seconds);
        dsc_json_end(&j);
        fputc('\n', s->log);
        /* Each line reaches the file when its epoch ends: a FIFO or a
         * terminal shows the run as it goes. */
        cli_out_flush(s->log);
    }
    return cli_interrupted;
}

int job_run(dsc_model *m, const dsc_dataset *d, const dsc_dataset *val, const job_opts *o,
            dsc_loss loss, int keep_trace, job_result *res)
{
    memset(res, 0, sizeof *res);
    dsc_train_params p;
    dsc_train_params_init(&p);
    dsc_relu_grad relu = DSC_RELU_GRAD_ZERO;
    int st = job_relu_rule(o->relu0, &relu);
    if (st >= 0) return st;
    if (dsc_optimizer_from_name(o->optimizer, &p.optimizer) ||
        dsc_schedule_from_name(o->schedule, &p.schedule) ||
        dsc_lbfgs_style_from_name(o->lbfgs_style, &p.lbfgs_style))
        return cli_error(EXIT_USAGE, "%s", dsc_last_error());
    if (o->lr <= 0) return cli_error(EXIT_USAGE, "--lr must be positive, not %g", o->lr);
    if (o->tol < 0 && o->tol != -1)
        return cli_error(EXIT_USAGE, "--tol must be >= 0 (0 turns the rule off)");
    if (o->grad_tol < 0 || o->loss_tol < 0 || o->weight_decay < 0)
        return cli_error(EXIT_USAGE, "--grad-tol, --loss-tol and --weight-decay must be >= 0");
    if (!(o->rms_alpha >= 0 && o->rms_alpha <= 1))
        return cli_error(EXIT_USAGE, "--rms-alpha must be in [0, 1], not %g", o->rms_alpha);
    if (o->threads > 1024) return cli_error(EXIT_USAGE, "--threads: at most 1024");
    size_t threads = cli_rank_threads(o->threads);
    if (o->gemm) {
        if (strcmp(o->gemm, "builtin") == 0) {
            dsc_set_gemm(0);
        } else if (strcmp(o->gemm, "cblas") == 0) {
            if (!dsc_set_gemm(1))
                return cli_error(EXIT_USAGE, "--gemm cblas: this build has no CBLAS (see "
                                             "descent --version)");
        } else {
            return cli_error(EXIT_USAGE, "--gemm must be builtin or cblas, not '%s'", o->gemm);
        }
    }
    dsc_model_set_relu_grad(m, relu);
    p.loss = loss;
    p.learning_rate = o->lr;
    p.step_tol = o->tol;
    p.max_iter = o->max_iter;
    p.grad_tol = o->grad_tol;
    p.loss_tol = o->loss_tol;
    p.batch = o->batch;
    p.epochs = o->epochs;
    p.seed = o->seed;
    p.only = o->only;
    p.momentum = o->momentum;
    p.beta1 = o->beta1;
    p.beta2 = o->beta2;
    p.eps = o->eps;
    p.weight_decay = o->weight_decay;
    p.l2 = o->l2;
    p.rms_alpha = o->rms_alpha;
    p.lbfgs_history = o->lbfgs_history;
    p.lr_gamma = o->lr_gamma;
    p.lr_step = o->lr_step;
    p.lr_min = o->lr_min;
    p.threads = (int)threads;
    p.dropout = o->dropout;
    p.patience = o->patience;
    p.val = val;

    job_state s = {0};
    s.res = res;
    /* Traces and plots are files, so rank 0's alone. */
    /* The seed's pictures need the run's parameters step by step; a
     * network on images draws its filters from the final ones. */
    size_t shape[3];
    int shaped = dsc_model_input_shape(m, shape) > 1;
    s.record = (keep_trace || o->trace || (o->plot_dir && !shaped)) && cli_rank() == 0;
    s.bar = !o->quiet && !o->json && isatty(STDERR_FILENO) && cli_rank() == 0;
    s.t0 = dsc_seconds();
    s.max_iter = o->max_iter >= 0 ? o->max_iter : o->epochs ? 0 : 1000;
    s.epochs = o->epochs;
    s.rows = dsc_dataset_rows(d);
    s.batch = o->batch && o->batch < s.rows ? o->batch : s.rows;
    s.m = m;
    s.val = val;
    s.loss = loss;
    s.last_val = s.last_acc = NAN;
    /* Files are rank 0's; the others only compute. */
    if (o->log && cli_rank() == 0 && !(s.log = cli_out_open(o->log, 0))) st = EXIT_RUNTIME;
    if (st < 0 && s.record) {
        if (dsc_run_trace_init(&res->trace, dsc_model_param_count(m)))
            st = cli_fail(DSC_ENOMEM);
        else
            res->traced = 1;
    }
    /* Every rank has its data and model: train together, or stop together. */
    if ((st = cli_agree(st)) >= 0) {
        if (s.log) cli_out_drop(s.log);
        return st;
    }
    p.on_step = on_step;
    p.on_step_light = !s.record; /* only a trace reads the parameters */
    p.on_epoch = on_epoch;
    p.resume = o->resume;
    if (o->checkpoint_every && o->checkpoint) {
        p.on_checkpoint = on_checkpoint;
        p.checkpoint_every = o->checkpoint_every;
        s.checkpoint = o->checkpoint;
    }
    p.user = &s;
    /* While training, SIGINT (and SIGTERM, which mpirun sends every rank
     * for Ctrl-C) stop the run at its next step instead of the process. A
     * signal that came before training started ended the process. */
    cli_interrupted = 0;
    cli_graceful = 1;
    res->status = cli_train(m, d, &p, &res->r);
    cli_graceful = 0;
    res->interrupted = res->status == DSC_ECANCELLED && cli_interrupted;
    if (s.bar) draw_bar(&s, res->r.iterations ? res->r.iterations - 1 : 0, res->r.loss, 1);
    if (s.checkpoint_failed) return EXIT_RUNTIME;
    if (s.checkpoint_error) return cli_fail(s.checkpoint_error);
    if (res->interrupted) return EXIT_OK;
    if (res->status != DSC_OK && res->status != DSC_EDIVERGED)
        return res->status == DSC_EINVAL || res->status == DSC_ENOTFOUND
                   ? cli_error(EXIT_USAGE, "%s", dsc_last_error())
                   : cli_fail(res->status);
    /* What follows writes files: rank 0's, and only for a run that did
     * not fail (a failed run changes no file). */
    if (cli_rank() != 0 || job_failed(res)) return EXIT_OK;
    if (s.record_error) return cli_fail(s.record_error);
    if (s.record && dsc_run_trace_finish(&res->trace, dsc_model_params(m), res->r.loss))
        return cli_fail(DSC_ENOMEM);
    if (o->trace && (st = job_write_trace(o->trace, &res->trace, m)) != EXIT_OK) return st;
    if (o->plot_dir) {
        if (mkdir(o->plot_dir, 0777) != 0 && errno != EEXIST)
            return cli_error(EXIT_RUNTIME, "cannot create %s: %s", o->plot_dir, strerror(errno));
        if (shaped) { /* first-layer filters and the feature maps of row 1 */
            char path[4096];
            snprintf(path, sizeof path, "%s/filters.svg", o->plot_dir);
            cli_signals_hold(1);
            dsc_status ps = dsc_plot_filters(path, m, d, 0);
            cli_signals_hold(0);
            if (ps) return cli_fail(ps);
            if (!o->json) fprintf(stderr, "wrote %s\n", path);
            return EXIT_OK;
        }
        if (dsc_model_inputs(m) != 1 || dsc_model_outputs(m) != 1)
            return cli_error(EXIT_USAGE,
                             "--plot-dir draws models with 1 input and 1 output; "
                             "this one has %zu and %zu",
                             dsc_model_inputs(m), dsc_model_outputs(m));
        const char *sweep = o->sweep;
        char first[64];
        if (!sweep && o->only) {
            /* The first trained parameter: the seed sweeps the one it trains. */
            size_t n = strcspn(o->only, ",");
            snprintf(first, sizeof first, "%.*s", (int)(n < 63 ? n : 63), o->only);
            sweep = first;
        }
        if (!sweep) sweep = dsc_model_param_name(m, dsc_model_param_count(m) - 1);
        char sweep_copy[64];
        snprintf(sweep_copy, sizeof sweep_copy, "%s", sweep);
        char *written[8];
        size_t n_written = 0;
        /* The library writes the pictures (each atomically); a signal
         * meanwhile waits until they are whole. */
        cli_signals_hold(1);
        dsc_status ps =
            dsc_plot_network(o->plot_dir, m, d, loss, &res->trace, sweep_copy, written, &n_written);
        cli_signals_hold(0);
        if (ps) return cli_fail(ps);
        for (size_t i = 0; i < n_written; i++) {
            if (!o->json) fprintf(stderr, "wrote %s\n", written[i]);
            dsc_free(written[i]);
        }
    }
    return EXIT_OK;
}

int job_was_interrupted(const job_result *res) { return res->interrupted; }

int job_failed(const job_result *res)
{
    return !res->interrupted &&
           (res->status == DSC_EDIVERGED ||
            (res->r.stop == DSC_STOP_LINE_SEARCH && !res->r.at_rounding_level));
}

int job_exit_status(const job_result *res)
{
    if (res->interrupted) return EXIT_INTERRUPTED;
    if (res->status == DSC_EDIVERGED) return cli_error(EXIT_RUNTIME, "%s", dsc_last_error());
    if (res->r.stop == DSC_STOP_LINE_SEARCH && !res->r.at_rounding_level)
        return cli_error(EXIT_RUNTIME,
                         "the line search found no step that lowers the loss, "
                         "away from a minimum (after %zu iterations)",
                         res->r.iterations);
    return EXIT_OK;
}

void job_result_free(job_result *res)
{
    if (res->traced) dsc_run_trace_free(&res->trace);
    res->traced = 0;
}

int job_write_trace(const char *path, const dsc_run_trace *t, const dsc_model *m)
{
    FILE *f = cli_out_open(path, 0);
    if (!f) return EXIT_RUNTIME;
    size_t np = t->n_params, rows = t->rows - (t->final ? 1 : 0);
    fputs("iter", f);
    for (size_t j = 0; j < np; j++) fprintf(f, ",%s", dsc_model_param_name(m, j));
    for (size_t j = 0; j < np; j++) fprintf(f, ",d_%s", dsc_model_param_name(m, j));
    fputs(",loss\n", f);
    for (size_t i = 0; i < rows; i++) {
        fprintf(f, "%zu", i);
        for (size_t j = 0; j < np; j++) {
            fputc(',', f);
            cli_print_number(f, t->params[i * np + j]);
        }
        for (size_t j = 0; j < np; j++) {
            fputc(',', f);
            cli_print_number(f, t->grads[i * np + j]);
        }
        fputc(',', f);
        cli_print_number(f, t->loss[i]);
        fputc('\n', f);
    }
    return EXIT_OK;
}

/* --- the summary ------------------------------------------------------------ */

static const char *stop_words(dsc_stop_reason r)
{
    switch (r) {
    case DSC_STOP_STEP_SIZE: return "every step size |lr x derivative| fell below the tolerance";
    case DSC_STOP_MAX_ITER: return "the maximum number of iterations was reached";
    case DSC_STOP_GRADIENT: return "the gradient is (numerically) zero";
    case DSC_STOP_LOSS: return "the loss fell below its tolerance";
    case DSC_STOP_EPOCHS: return "the requested epochs are done";
    case DSC_STOP_DIVERGED: return "the loss became NaN or infinite: the run diverged";
    case DSC_STOP_CALLBACK: return "it was interrupted";
    case DSC_STOP_LINE_SEARCH: return "no step satisfied the line search";
    case DSC_STOP_NO_CHANGE: return "the training loss stopped improving";
    }
    return "?";
}

void job_print_summary(const dsc_model *m, const dsc_dataset *d, const job_opts *o, dsc_loss loss,
                       const job_result *res, const char *data_label, const job_extra *x)
{
    size_t np = dsc_model_param_count(m), n = dsc_dataset_rows(d), nout = dsc_model_outputs(m);
    int small = np <= 64, few = n <= 64;
    float *out = few ? malloc(n * nout * sizeof(float)) : NULL;
    if (out && dsc_model_predict(m, dsc_dataset_x(d), n, out) != DSC_OK) {
        free(out);
        out = NULL;
    }
    const float *params = dsc_model_params_const(m);
    if (o->json) {
        dsc_json j;
        dsc_json_init(&j, stdout);
        dsc_json_object(&j);
        dsc_json_knumber(&j, "loss", res->r.loss);
        dsc_json_kstring(&j, "loss_name", dsc_loss_name(loss));
        dsc_json_kuint(&j, "iterations", res->r.iterations);
        dsc_json_kstring(&j, "stop", dsc_stop_name(res->r.stop));
        if (o->epochs) dsc_json_kuint(&j, "epochs", res->r.epochs);
        if (res->r.stop == DSC_STOP_LINE_SEARCH)
            dsc_json_kbool(&j, "converged", res->r.at_rounding_level);
        dsc_json_knumber(&j, "seconds", res->r.seconds);
        if (cli_ranks() > 1) {
            dsc_json_kuint(&j, "ranks", (unsigned long long)cli_ranks());
            dsc_json_knumber(&j, "comm_seconds", res->r.comm_seconds);
            dsc_json_knumber(&j, "wait_seconds", res->r.wait_seconds);
        }
        if (x) {
            dsc_json_knumber(&j, "val_loss", x->val_loss);
            dsc_json_knumber(&j, "accuracy", x->accuracy);
            dsc_json_knumber(&j, "samples_per_second", x->samples_per_second);
        }
        if (x && x->test) {
            dsc_json_key(&j, "test");
            dsc_json_object(&j);
            report_metrics_json(&j, m, loss, x->test);
            dsc_json_end(&j);
        }
        if (small) {
            dsc_json_key(&j, "params");
            dsc_json_object(&j);
            for (size_t i = 0; i < np; i++)
                dsc_json_knumber(&j, dsc_model_param_name(m, i), params[i]);
            dsc_json_end(&j);
        }
        if (out) {
            dsc_json_key(&j, "outputs");
            dsc_json_array(&j);
            for (size_t i = 0; i < n; i++) {
                if (nout > 1) dsc_json_array(&j);
                for (size_t k = 0; k < nout; k++) dsc_json_number(&j, out[i * nout + k]);
                if (nout > 1) dsc_json_end(&j);
            }
            dsc_json_end(&j);
        }
        dsc_json_end(&j);
        putchar('\n');
        free(out);
        return;
    }
    printf("network      %s (%zu parameters%s%s)\n", dsc_model_spec(m), np,
           o->only ? ", training " : "", o->only ? o->only : "");
    printf("data         %s: %zu rows\n", data_label, n);
    printf("loss         %s   optimizer %s, learning rate %g\n", dsc_loss_name(loss), o->optimizer,
           o->lr);
    printf("stopped      %s after %zu iteration%s: %s\n", dsc_stop_name(res->r.stop),
           res->r.iterations, res->r.iterations == 1 ? "" : "s", stop_words(res->r.stop));
    if (res->r.stop == DSC_STOP_LINE_SEARCH)
        printf("             %s\n", res->r.at_rounding_level
                                        ? "converged: the loss cannot be lowered measurably any "
                                          "more (the gradient is at rounding level)"
                                        : "the line search failed away from a minimum");
    printf("final loss   %.6g\n", res->r.loss);
    if (small) {
        printf("parameters  ");
        for (size_t i = 0; i < np; i++)
            printf(" %s %.4g%s", dsc_model_param_name(m, i), params[i], i + 1 < np ? "," : "\n");
    }
    if (out && dsc_model_inputs(m) == 1 && nout == 1) {
        printf("outputs     ");
        const float *xs = dsc_dataset_x(d), *ys = dsc_dataset_y(d);
        for (size_t i = 0; i < n; i++)
            printf(" %g -> %.4g (observed %g)%s", xs[i], out[i], ys[i], i + 1 < n ? "," : "\n");
    }
    printf("seconds      %.4g\n", res->r.seconds);
    if (cli_ranks() > 1)
        printf("ranks        %d (%.3g s of it summing gradients, %.3g s waiting for the "
               "slowest rank)\n",
               cli_ranks(), res->r.comm_seconds, res->r.wait_seconds);
    free(out);
}
