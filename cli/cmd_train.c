/* descent train: a network on a CSV or IDX data set. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "io/model_file.h"
#include "io/outfile.h"
#include "network.h"
#include "ranks.h"
#include "report.h"

typedef struct {
    const char *save, *model, *test, *resume;
    double val;
    int standardize;
} train_extra;

/* Loads --model for fine-tuning and checks it fits the data. */
static int load_model(const char *path, const dsc_dataset *d, const char *loss_name, dsc_model **m,
                      dsc_loss *loss)
{
    dsc_status s = dsc_model_load_limits(path, &cli_limits, m);
    if (s) return cli_fail(s);
    /* Classes are matched by name, so a file may hold some of them. */
    int by_name = dsc_model_classes(*m) && dsc_dataset_classes(d);
    if (dsc_model_inputs(*m) != dsc_dataset_inputs(d) ||
        (!by_name && dsc_model_outputs(*m) != dsc_dataset_outputs(d)))
        return cli_error(EXIT_RUNTIME,
                         "%s: the model has %zu inputs and %zu outputs, the data %zu and %zu", path,
                         dsc_model_inputs(*m), dsc_model_outputs(*m), dsc_dataset_inputs(d),
                         dsc_dataset_outputs(d));
    if (loss_name) {
        if (dsc_loss_from_name(loss_name, loss))
            return cli_error(EXIT_USAGE, "--loss: %s", dsc_last_error());
    } else {
        const dsc_model_summary *sum = dsc_model_get_summary(*m);
        if (!sum || dsc_loss_from_name(sum->loss, loss))
            *loss = dsc_model_classes(*m) ? DSC_LOSS_CE : DSC_LOSS_MSE;
    }
    return -1;
}

static void fill_summary(dsc_model *m, const job_opts *o, dsc_loss loss, const job_result *res,
                         size_t rows, double accuracy)
{
    dsc_model_summary sum;
    memset(&sum, 0, sizeof sum);
    snprintf(sum.loss, sizeof sum.loss, "%s", dsc_loss_name(loss));
    snprintf(sum.optimizer, sizeof sum.optimizer, "%s", o->optimizer);
    snprintf(sum.stop, sizeof sum.stop, "%s", dsc_stop_name(res->r.stop));
    sum.iterations = res->r.iterations;
    sum.epochs = res->r.epochs;
    sum.samples = rows;
    sum.loss_value = res->r.loss;
    sum.val_loss = res->r.val_loss;
    sum.accuracy = accuracy;
    sum.seconds = res->r.seconds;
    dsc_model_set_summary(m, &sum);
}

/* --test FILE: the same columns as training, read before training (a bad
 * file fails before the work, not after it) and scored after. */
static int test_load(const dsc_model *m, const net_opts *no, const char *path, dsc_dataset **d)
{
    *d = NULL;
    if (no->idx_images) {
        return cli_error(EXIT_USAGE, "--test reads a CSV file; for IDX data use descent eval");
    }
    /* Read as the model reads data: its columns and classes by name. */
    net_opts t = {0};
    t.data = path;
    t.target = no->target;
    t.ignore = no->ignore;
    t.features = no->features;
    return net_load_data_for(&t, m, d);
}

/* The model into its --save file (in place when the command ends well). */
static int save_model(const dsc_model *m, const char *path, int json)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    dsc_status s = dsc_model_encode(m, &bytes, &size);
    if (s) return cli_fail(s);
    FILE *f = cli_out_open(path, !json);
    if (f) fwrite(bytes, 1, size, f);
    dsc_free(bytes);
    return f ? EXIT_OK : EXIT_RUNTIME;
}

int cmd_train(int argc, char **argv)
{
    net_opts no = {0};
    job_opts jo;
    job_opts_init(&jo);
    train_extra tx = {0};
    cli_opt opts[NET_N_OPTS + JOB_N_OPTS + 12 + CLI_N_LIMIT_OPTS];
    size_t n = net_opts_table(&no, opts);
    n += job_opts_table(&jo, opts + n);
    cli_opt more[] = {
        {"val", OPT_DOUBLE, &tx.val, "FRACTION", "hold out this fraction for validation (seeded)",
         0},
        {"patience", OPT_SIZE, &jo.patience, "N",
         "early stopping: N epochs without a better validation loss (keeps the best)", 0},
        {"standardize", OPT_FLAG, &tx.standardize, NULL,
         "standardise inputs (and regression targets) on the training split", 0},
        {"dropout", OPT_DOUBLE, &jo.dropout, "P", "dropout rate after hidden layers while training",
         0},
        {"save", OPT_STRING, &tx.save, "FILE", "save the trained model (atomically)", 0},
        {"model", OPT_STRING, &tx.model, "FILE", "start from a saved model (fine-tuning)", 0},
        {"test", OPT_STRING, &tx.test, "FILE.csv", "evaluate on this file after training", 0},
        {"log", OPT_STRING, &jo.log, "FILE.jsonl", "one line of metrics per epoch", 0},
        {"checkpoint-every", OPT_SIZE, &jo.checkpoint_every, "N",
         "write a checkpoint (the --save file + .ckpt) every N epochs", 0},
        {"resume", OPT_STRING, &tx.resume, "FILE.ckpt",
         "go on from a checkpoint (same data and options)", 0},
        {"plot-dir", OPT_STRING, &jo.plot_dir, "DIR",
         "draw the seed's pictures into DIR (1 input, 1 output)", 0},
        {"sweep-param", OPT_STRING, &jo.sweep, "NAME",
         "the parameter the loss curve is drawn against (first of --only)", 0},
        CLI_LIMIT_OPTS,
    };
    memcpy(opts + n, more, sizeof more);
    n += sizeof more / sizeof more[0];
    cli_command c = {"train",
                     "descent train (--data FILE.csv [--target COL] | --idx-images F --idx-labels "
                     "F) [--layers SPEC] [--output ACT] [--loss LOSS] [options]",
                     "Trains a network by gradient descent and backpropagation.\n"
                     "Without --epochs it is full-batch gradient descent with the seed's stopping "
                     "rules: every\nstep size |lr x derivative| below --tol (0.001), or --max-iter "
                     "(1000) updates.\nWith --epochs N it makes N passes in minibatches of --batch "
                     "rows, reshuffled every epoch.",
                     opts,
                     n,
                     NULL,
                     0,
                     0};
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if ((r = job_check_opts(&jo, &c)) >= 0) return r;
    if (cli_seen(&c, "val") && !(tx.val > 0 && tx.val < 1))
        return cli_error(EXIT_USAGE, "--val must be a fraction between 0 and 1");
    if (jo.patience && !cli_seen(&c, "val"))
        return cli_error(EXIT_USAGE, "--patience needs --val (a validation split)");
    if (tx.model && (no.layers || no.output))
        return cli_error(EXIT_USAGE, "--model brings its own network: drop --layers/--output");
    if (tx.model && tx.standardize)
        return cli_error(EXIT_USAGE, "--model keeps its own standardisation: drop --standardize");
    if (tx.resume && tx.model)
        return cli_error(EXIT_USAGE, "--resume brings its own model: drop --model");
    if ((jo.checkpoint_every || tx.resume) && !jo.epochs)
        return cli_error(EXIT_USAGE, "checkpoints are for minibatch runs: give --epochs");
    if (jo.checkpoint_every && !tx.save)
        return cli_error(EXIT_USAGE, "--checkpoint-every needs --save FILE (checkpoints go to "
                                     "FILE.ckpt)");
    char ckpt_path[4096];
    if (tx.save) {
        if ((size_t)snprintf(ckpt_path, sizeof ckpt_path, "%s.ckpt", tx.save) >= sizeof ckpt_path)
            return cli_error(EXIT_USAGE, "--save: the file name is too long");
        jo.checkpoint = ckpt_path;
    }
    /* Checkpoints go next to a --save file: not next to a device or a
     * FIFO (FILE.ckpt would land in /dev). */
    int save_through = 0;
    if (jo.checkpoint_every && dsc_outfile_check(tx.save, &save_through) == DSC_OK && save_through)
        return cli_error(EXIT_USAGE,
                         "--checkpoint-every: --save %s is not a regular file, so "
                         "there is no FILE.ckpt to write next to it",
                         tx.save);
    /* No output may be an input; only the checkpoint may be the one the
     * run resumes from (it is read whole first, and replaced whole). */
    const char *ckpt = jo.checkpoint_every ? jo.checkpoint : NULL;
    cli_file ins[] = {{"--data", no.data},
                      {"--idx-images", no.idx_images},
                      {"--idx-labels", no.idx_labels},
                      {"--model", tx.model},
                      {"--init", jo.init},
                      {"--test", tx.test},
                      {"--resume", tx.resume}};
    cli_file outs[] = {{"--save", tx.save},
                       {"--log", jo.log},
                       {"--trace", jo.trace},
                       {"the checkpoint (--save FILE.ckpt)", ckpt}};
    size_t n_ins = DSC_COUNT_OF(ins);
    if ((r = cli_check_dir("--plot-dir", jo.plot_dir)) >= 0 ||
        (r = cli_check_files(ins, n_ins, outs, DSC_COUNT_OF(outs) - 1, 0)) >= 0 ||
        (r = cli_check_files(ins, n_ins - 1, outs, DSC_COUNT_OF(outs), 0)) >= 0)
        return r;
    dsc_train_state resume_state;
    memset(&resume_state, 0, sizeof resume_state);

    dsc_model *m = NULL;
    dsc_dataset *d = NULL, *tr = NULL, *va = NULL;
    dsc_loss loss = DSC_LOSS_MSE;
    job_result res;
    memset(&res, 0, sizeof res);
    /* Data for a saved model is read the way that model reads it. */
    dsc_model *saved = NULL;
    int st = -1;
    if (tx.model || tx.resume) {
        dsc_status s = dsc_model_load_limits(tx.model ? tx.model : tx.resume, &cli_limits, &saved);
        if (s) st = cli_fail(s);
    }
    if (st < 0) st = net_load_data_for(&no, saved, &d);
    dsc_model_free(saved);
    if (st < 0 && tx.resume) {
        dsc_status s = dsc_checkpoint_load_limits(tx.resume, &cli_limits, &m, &resume_state);
        if (s) {
            st = cli_fail(s);
        } else {
            jo.resume = &resume_state;
            /* The command that made the checkpoint may be given again as
             * it was: its --layers and --output must then match. */
            dsc_model *want = NULL;
            dsc_loss ignored;
            if (no.layers || no.output) {
                st = net_make_model(&no, d, jo.loss, NULL, jo.seed, &want, &ignored);
                if (st < 0 && strcmp(dsc_model_spec(want), dsc_model_spec(m)) != 0)
                    st = cli_error(EXIT_USAGE,
                                   "--resume: the checkpoint holds %s, the options "
                                   "ask for %s",
                                   dsc_model_spec(m), dsc_model_spec(want));
                dsc_model_free(want);
            }
            dsc_model_free(m);
            m = NULL;
            /* Loaded again through the checks of --model. */
            if (st < 0) st = load_model(tx.resume, d, jo.loss, &m, &loss);
        }
    } else if (st < 0) {
        st = tx.model ? load_model(tx.model, d, jo.loss, &m, &loss)
                      : net_make_model(&no, d, jo.loss, jo.init, jo.seed, &m, &loss);
    }
    if (st < 0 && tx.model && jo.init) st = job_load_init(m, jo.init);
    if (st < 0 && cli_seen(&c, "val")) {
        dsc_status s = dsc_dataset_split(d, tx.val, jo.seed, &tr, &va);
        if (s) st = cli_fail(s);
    }
    const dsc_dataset *train = tr ? tr : d;
    if (st < 0 && tx.standardize && !tx.resume) {
        dsc_status s = dsc_model_fit_standardization(m, train, 1);
        if (s) st = cli_fail(s);
    }
    dsc_dataset *test_data = NULL;
    if (st < 0 && tx.test && cli_rank() == 0) st = test_load(m, &no, tx.test, &test_data);
    if (st < 0) st = job_run(m, train, va, &jo, loss, 0, &res);
    /* Over several ranks, rank 0 saves, scores and reports for all: they
     * hold the same model. */
    if (st == EXIT_OK && cli_rank() == 0) {
        int interrupted = job_was_interrupted(&res);
        double accuracy = NAN;
        /* An interrupted run saves at once: no pass over the data first. */
        if (va && dsc_model_classes(m) && !interrupted) {
            dsc_metrics mt;
            if (dsc_model_evaluate(m, va, loss, &mt) == DSC_OK) accuracy = mt.accuracy;
            dsc_metrics_free(&mt);
        }
        fill_summary(m, &jo, loss, &res, dsc_dataset_rows(train), accuracy);
        /* Saved when the run did not fail, and when it was interrupted:
         * Ctrl-C keeps the model so far. A failed run leaves the file as
         * it was (outputs are put in place by cli_outputs_finish). */
        if (tx.save && !job_failed(&res)) st = save_model(m, tx.save, jo.json);
        if (interrupted) {
            st = cli_outputs_finish(st == EXIT_OK ? EXIT_INTERRUPTED : st);
            fprintf(stderr, "descent: interrupted after %zu updates%s\n", res.r.iterations,
                    tx.save && st == EXIT_INTERRUPTED ? "; the model so far is saved"
                                                      : "; nothing was saved");
        }
        /* The test file is scored before the summary, which reports it. */
        dsc_metrics test;
        memset(&test, 0, sizeof test);
        if (st == EXIT_OK && test_data) {
            dsc_status s = dsc_model_evaluate(m, test_data, loss, &test);
            if (s) st = cli_fail(s);
        }
        if (st == EXIT_OK) {
            size_t rows = dsc_dataset_rows(train);
            double samples =
                (double)res.r.iterations * (double)(jo.batch && jo.batch < rows ? jo.batch : rows);
            job_extra x = {res.r.val_loss, accuracy,
                           res.r.seconds > 0 ? samples / res.r.seconds : NAN,
                           tx.test ? &test : NULL};
            job_print_summary(m, train, &jo, loss, &res, no.data ? no.data : no.idx_images, &x);
            if (va && !jo.json) {
                printf("validation   %zu rows, loss %.6g", dsc_dataset_rows(va), res.r.val_loss);
                if (!isnan(accuracy)) printf(", accuracy %.4f", accuracy);
                printf("\n");
            }
            if (!jo.json && !isnan(x.samples_per_second))
                printf("speed        %.0f samples/s\n", x.samples_per_second);
            if (!jo.json && tx.test) {
                printf("test         %s: %zu rows, loss %.6g (on %s)", tx.test, test.n, test.loss,
                       report_loss_units(m));
                if (test.n_classes)
                    printf(", accuracy %.4f\n", test.accuracy);
                else
                    printf(", MSE %.6g, MAE %.6g (target units), R2 %.4f\n", test.mse, test.mae,
                           test.r2);
            }
            st = job_exit_status(&res);
        }
        if (st == EXIT_OK && res.r.stop == DSC_STOP_STEP_SIZE && !jo.json && !jo.epochs)
            printf("note         the step-size rule stops when steps are small, not when the "
                   "gradient is 0\n             (gradient norm %.3g now); a smaller --tol or a "
                   "larger --lr goes further\n",
                   res.r.grad_norm);
        dsc_metrics_free(&test);
    }
    st = cli_outputs_finish(st);
    job_result_free(&res);
    dsc_dataset_free(test_data);
    dsc_train_state_free(&resume_state);
    dsc_model_free(m);
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(d);
    return st;
}
