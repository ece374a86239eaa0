/* A training run from the command line, shared by train, demo and line:
 * options, initial values, the run with its trace and progress bar, and
 * the summary. */
#ifndef DSC_CLI_JOB_H
#define DSC_CLI_JOB_H

#include "cli.h"
#include "output.h"
#include "viz/plots.h"

/* Options of a run, as given on the command line (strings are argv's). */
typedef struct {
    const char *loss, *optimizer, *schedule, *only, *trace, *plot_dir, *sweep, *relu0, *init;
    const char *gemm;        /* "builtin" or "cblas" */
    const char *lbfgs_style; /* "descent" or "torch" */
    double lr, tol, grad_tol, loss_tol, momentum, beta1, beta2, eps, weight_decay, l2, lr_min,
        lr_gamma;
    double rms_alpha;
    size_t lbfgs_history;
    long max_iter;
    size_t batch, epochs, lr_step, threads;
    uint64_t seed;
    int json, quiet;
    /* train only */
    const char *log; /* --log FILE.jsonl */
    double dropout;
    size_t patience;
    size_t checkpoint_every;       /* epochs */
    const char *checkpoint;        /* where checkpoints go */
    const dsc_train_state *resume; /* from --resume */
} job_opts;

/* Defaults: loss NULL (the caller decides), optimizer gd, lr 0.01, the
 * seed's tolerances (left to the library: tol -1, max_iter -1), seed 42. */
void job_opts_init(job_opts *o);
/* Appends the shared options to opts (which has room for at least
 * JOB_N_OPTS more) and returns how many were added. */
#define JOB_N_OPTS 31
size_t job_opts_table(job_opts *o, cli_opt *opts);

/* Reads `name value` lines (# comments, blank lines) into the model's
 * parameters. Returns an exit status; messages say FILE:LINE. */
int job_load_init(dsc_model *m, const char *path);

/* The outcome of job_run, for the callers' own summaries. */
typedef struct {
    dsc_status status;
    dsc_train_result r;
    dsc_run_trace trace; /* filled when trace, plots or `keep_trace` were asked */
    int traced;
    int interrupted; /* stopped by SIGINT/SIGTERM */
} job_result;

/* Trains m on d with the options. keep_trace records every step even
 * without --trace/--plot-dir. Writes --trace (atomically) and --plot-dir.
 * Returns an exit status; usage errors (bad names) are EXIT_USAGE. */
int job_run(dsc_model *m, const dsc_dataset *d, const dsc_dataset *val, const job_opts *o,
            dsc_loss loss, int keep_trace, job_result *res);

/* Was the run stopped by SIGINT/SIGTERM? (It then keeps what it has and
 * exits with EXIT_INTERRUPTED.) */
int job_was_interrupted(const job_result *res);
void job_result_free(job_result *res);

/* The summary of a network run: human text or --json. data_label names
 * the data (a file or "built-in dosage data"). */
typedef struct {
    double val_loss, accuracy, samples_per_second; /* NaN: not known */
    const dsc_metrics *test;                       /* train --test, or NULL */
} job_extra;
void job_print_summary(const dsc_model *m, const dsc_dataset *d, const job_opts *o, dsc_loss loss,
                       const job_result *res, const char *data_label, const job_extra *x);

/* The exit status a finished run earns, with its message: divergence and a
 * line search that failed away from a minimum are failures (1). */
int job_exit_status(const job_result *res);
/* The same without a message: 1 when the run failed. */
int job_failed(const job_result *res);

/* Writes a CSV trace: header `iter,` + names + `d_`names + `loss`, one row
 * per update with the values before it (an output of cli/output.h, put in
 * place when the command ends well). */
int job_write_trace(const char *path, const dsc_run_trace *t, const dsc_model *m);

/* Every option's value in its range and every name known, before any
 * work: -1, or EXIT_USAGE after a message naming the option. */
int job_check_opts(const job_opts *o, const cli_command *c);

/* Parses --relu-grad-at-zero: "0", "1" or "random". */
int job_relu_rule(const char *s, dsc_relu_grad *out);

#endif
