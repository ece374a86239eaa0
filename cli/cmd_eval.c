/* descent eval / predict / info: using a saved model. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "data/data.h"
#include "io/json.h"
#include "network.h"
#include "ranks.h"
#include "report.h"

static dsc_loss model_loss(const dsc_model *m, const char *name, int *bad)
{
    dsc_loss l = dsc_model_classes(m) ? DSC_LOSS_CE : DSC_LOSS_MSE;
    const dsc_model_summary *s = dsc_model_get_summary(m);
    *bad = 0;
    if (name)
        *bad = dsc_loss_from_name(name, &l) != DSC_OK;
    else if (s)
        dsc_loss_from_name(s->loss, &l);
    return l;
}

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *target = NULL, *images = NULL, *labels = NULL,
               *loss_name = NULL;
    int json = 0;
    cli_opt opts[] = {
        {"model", OPT_STRING, &model, "FILE", "the saved model", 0},
        {"data", OPT_STRING, &data, "FILE.csv", "data to score (a CSV file with a header)", 0},
        {"target", OPT_STRING, &target, "COLS", "target column(s) (the model's)", 0},
        {"idx-images", OPT_STRING, &images, "FILE", "IDX images instead of --data", 0},
        {"idx-labels", OPT_STRING, &labels, "FILE", "IDX labels", 0},
        {"loss", OPT_STRING, &loss_name, "LOSS", "the loss to report (the model's training loss)",
         0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
        CLI_LIMIT_OPTS,
    };
    cli_command c =
        CLI_COMMAND("eval",
                    "descent eval --model FILE (--data FILE.csv [--target COL] | --idx-images F "
                    "--idx-labels F) [--json]",
                    "Scores a saved model: the loss; for a classifier accuracy, per-class "
                    "precision, recall, F1 and the\nconfusion matrix; for a regression MSE, MAE "
                    "and R^2 (in the targets' own units).",
                    opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if (!model) return cli_error(EXIT_USAGE, "eval: --model FILE is required");
    cli_file ins[] = {
        {"--model", model}, {"--data", data}, {"--idx-images", images}, {"--idx-labels", labels}};
    if ((r = cli_check_files(ins, DSC_COUNT_OF(ins), NULL, 0, 0)) >= 0) return r;
    dsc_model *m = NULL;
    dsc_status s = dsc_model_load_limits(model, &cli_limits, &m);
    if (s) return cli_fail(s);
    int bad;
    dsc_loss loss = model_loss(m, loss_name, &bad);
    if (bad) {
        dsc_model_free(m);
        return cli_error(EXIT_USAGE, "--loss: %s", dsc_last_error());
    }
    net_opts no = {0};
    no.data = data;
    no.idx_images = images;
    no.idx_labels = labels;
    no.target = target;
    dsc_dataset *d = NULL;
    int st = net_load_data_for(&no, m, &d);
    dsc_metrics mt;
    memset(&mt, 0, sizeof mt);
    /* Under mpirun each rank scores a slice of the rows; rank 0 reports. */
    if ((st = cli_agree(st)) < 0) {
        s = cli_evaluate(m, d, loss, &mt);
        st = s ? cli_fail(s) : EXIT_OK;
        /* A loss that is not a number means outputs that are not (inputs
         * too large for the model's arithmetic): no figures to report. */
        if (st == EXIT_OK && isnan(mt.loss))
            st = cli_error(EXIT_RUNTIME,
                           "%s: the model's outputs are not numbers for some rows (inputs too "
                           "large for its arithmetic?); descent predict names the first",
                           data ? data : images);
    }
    int speak = st == EXIT_OK && cli_rank() == 0;
    if (speak && json) {
        dsc_json j;
        dsc_json_init(&j, stdout);
        dsc_json_object(&j);
        report_metrics_json(&j, m, loss, &mt);
        dsc_json_end(&j);
        putchar('\n');
    } else if (speak) {
        printf("model        %s (%s)\n", model, dsc_model_spec(m));
        printf("data         %s: %zu rows\n", data ? data : images, mt.n);
        report_metrics_text(stdout, m, loss, &mt);
    }
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
    return st;
}

/* --- predict ------------------------------------------------------------- */

/* A CSV field: quoted (with "" for a quote) when it holds a comma, a quote,
 * a line end or blanks at its ends, which a reader would drop. */
static void put_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    if (!strpbrk(s, ",\"\n\r") && !(n && strchr(" \t", s[0])) && !(n && strchr(" \t", s[n - 1]))) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *c = s; *c; c++) {
        if (*c == '"') fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

/* A prediction that is not a number (a row whose finite inputs overflow
 * the model's arithmetic, as 3e38 does) is refused with its row, rather
 * than written as NaN. */
static int check_outputs(const dsc_model *m, const dsc_dataset *d, const float *y)
{
    size_t n = dsc_dataset_rows(d), nout = dsc_model_outputs(m), nin = dsc_dataset_inputs(d);
    const float *x = dsc_dataset_x(d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nout; j++) {
            if (isfinite(y[i * nout + j])) continue;
            double big = 0;
            for (size_t k = 0; k < nin; k++)
                if (fabs(x[i * nin + k]) > big) big = fabs(x[i * nin + k]);
            char where[512];
            return cli_error(EXIT_RUNTIME,
                             "%s: the model's output for this row is not a number (its inputs, "
                             "up to |%g|, are too large for the model's arithmetic)",
                             dsc_dataset_row_where(d, i, where, sizeof where), big);
        }
    return EXIT_OK;
}

static void write_header(FILE *f, const dsc_model *m, const dsc_dataset *d, int proba)
{
    for (size_t j = 0; j < dsc_dataset_kept_columns(d); j++) {
        put_field(f, dsc_dataset_kept_name(d, j));
        fputc(',', f);
    }
    size_t nout = dsc_model_outputs(m), K = dsc_model_classes(m);
    if (K && proba) {
        /* One column per class, named after it (scikit-learn's predict_proba). */
        for (size_t k = 0; k < K; k++) {
            if (k) fputc(',', f);
            put_field(f, dsc_model_class_label(m, k));
        }
    } else if (K) {
        fputs("label,probability", f);
    } else {
        const char *t = dsc_model_target(m);
        /* Output columns are named after the targets when their number
         * fits: one target is one name (commas and all), several are a
         * column list (names quoted where they need it). */
        dsc_col_item *items = NULL;
        size_t k = 0;
        if (t && nout == 1) {
            put_field(f, t);
        } else if (t && dsc_col_list_parse(t, "target", &items, &k) == DSC_OK && k == nout) {
            for (size_t j = 0; j < nout; j++) {
                if (j) fputc(',', f);
                if (items[j].name)
                    put_field(f, items[j].name);
                else
                    fprintf(f, "prediction%zu", j + 1);
            }
        } else {
            for (size_t j = 0; j < nout; j++) fprintf(f, "%sprediction%zu", j ? "," : "", j + 1);
        }
        dsc_col_list_free(items, k);
    }
    fputc('\n', f);
}

static void write_row(FILE *f, const dsc_model *m, const dsc_dataset *d, size_t i, const float *y,
                      int proba)
{
    for (size_t j = 0; j < dsc_dataset_kept_columns(d); j++) {
        put_field(f, dsc_dataset_kept_value(d, i, j));
        fputc(',', f);
    }
    size_t nout = dsc_model_outputs(m), K = dsc_model_classes(m);
    if (K && proba) {
        for (size_t k = 0; k < K; k++) {
            if (k) fputc(',', f);
            /* A single sigmoid output is the probability of the second class. */
            cli_print_number(f, nout == 1 ? (k ? y[0] : 1.0 - y[0]) : y[k]);
        }
    } else if (K) {
        /* The class eval counts for this row: the same rule, one place. */
        size_t best = dsc_model_class_of(m, y);
        put_field(f, dsc_model_class_label(m, best));
        fputc(',', f);
        cli_print_number(f, nout == 1 ? (best ? y[0] : 1.0 - y[0]) : y[best]);
    } else {
        for (size_t j = 0; j < nout; j++) {
            if (j) fputc(',', f);
            cli_print_number(f, y[j]);
        }
    }
    fputc('\n', f);
}

int cmd_predict(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *out = NULL, *keep = NULL;
    int proba = 0;
    cli_opt opts[] = {
        {"model", OPT_STRING, &model, "FILE", "the saved model", 0},
        {"data", OPT_STRING, &data, "FILE.csv", "rows to predict ('-': standard input)", 0},
        {"out", OPT_STRING, &out, "FILE.csv", "write here (standard output)", 0},
        {"proba", OPT_FLAG, &proba, NULL,
         "a classifier's probability of every class, one column per class named after it", 0},
        {"keep", OPT_STRING, &keep, "COLS",
         "carry these columns (e.g. an id) into the output, first, as they are written", 0},
        CLI_LIMIT_OPTS,
    };
    cli_command c = CLI_COMMAND(
        "predict",
        "descent predict --model FILE --data FILE.csv [--proba] [--keep COLS] [--out FILE.csv]",
        "Predicts every row of a CSV file. Columns are matched by the names stored "
        "in the model, in any order;\nother columns (the target, ids) are ignored "
        "unless --keep carries them. Writes a header, then one\nrow per input: the "
        "predicted value(s), or for a classifier the class label and its probability\n"
        "(with --proba: the probability of each class).",
        opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if (!model || !data) return cli_error(EXIT_USAGE, "predict: --model and --data are required");
    cli_file ins[] = {{"--data", data}, {"--model", model}};
    cli_file outs[] = {{"--out", out}};
    if ((r = cli_check_files(ins, 2, outs, 1, 1)) >= 0) return r;
    dsc_model *m = NULL;
    dsc_status s = dsc_model_load_limits(model, &cli_limits, &m);
    if (s) return cli_fail(s);
    if (proba && !dsc_model_classes(m)) {
        dsc_model_free(m);
        return cli_error(EXIT_USAGE, "--proba: %s is not a classifier (it has no classes)", model);
    }
    dsc_csv_options co;
    dsc_csv_options_init(&co);
    co.limits = cli_limits;
    co.target = "";
    co.keep = keep;
    dsc_dataset *d = NULL;
    float *y = NULL;
    int st = EXIT_OK;
    if ((s = dsc_model_read_csv(m, data, &co, &d))) {
        st = cli_fail(s);
    } else {
        size_t n = dsc_dataset_rows(d), nout = dsc_model_outputs(m);
        y = malloc(n * nout * sizeof(float));
        if (!y)
            st = cli_fail(DSC_ENOMEM);
        else if ((s = dsc_model_predict(m, dsc_dataset_x(d), n, y)))
            st = cli_fail(s);
        else
            st = check_outputs(m, d, y);
        if (st == EXIT_OK) {
            /* --out is put in place when the command ends well. */
            FILE *f = out ? cli_out_open(out, 0) : stdout;
            if (!f) {
                st = EXIT_RUNTIME;
            } else {
                write_header(f, m, d, proba);
                for (size_t i = 0; i < n; i++) write_row(f, m, d, i, y + i * nout, proba);
                if (!out && (fflush(stdout) != 0 || ferror(stdout)))
                    st = cli_error(EXIT_RUNTIME,
                                   "cannot write the predictions to standard output: %s",
                                   strerror(errno));
            }
        }
    }
    free(y);
    dsc_dataset_free(d);
    dsc_model_free(m);
    return st;
}

/* --- info ----------------------------------------------------------------- */

int cmd_info(int argc, char **argv)
{
    const char *model = NULL;
    int json = 0;
    cli_opt opts[] = {
        {"model", OPT_STRING, &model, "FILE", "the saved model", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
        CLI_LIMIT_OPTS,
    };
    cli_command c =
        CLI_COMMAND("info", "descent info --model FILE [--json]",
                    "Shows a saved model: architecture, parameters, data columns and the summary "
                    "of its training.",
                    opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if (!model) return cli_error(EXIT_USAGE, "info: --model FILE is required");
    dsc_model *m = NULL;
    dsc_status s = dsc_model_load_limits(model, &cli_limits, &m);
    if (s) return cli_fail(s);
    const dsc_model_summary *sum = dsc_model_get_summary(m);
    size_t nin = dsc_model_inputs(m), K = dsc_model_classes(m);
    if (json) {
        dsc_json j;
        dsc_json_init(&j, stdout);
        dsc_json_object(&j);
        dsc_json_kstring(&j, "spec", dsc_model_spec(m));
        dsc_json_kuint(&j, "params", dsc_model_param_count(m));
        dsc_json_kuint(&j, "inputs", nin);
        dsc_json_kuint(&j, "outputs", dsc_model_outputs(m));
        dsc_json_key(&j, "input_names");
        if (dsc_model_input_name(m, 0)) {
            dsc_json_array(&j);
            for (size_t k = 0; k < nin; k++) dsc_json_string(&j, dsc_model_input_name(m, k));
            dsc_json_end(&j);
        } else {
            dsc_json_null(&j);
        }
        dsc_json_kstring(&j, "target", dsc_model_target(m));
        dsc_json_key(&j, "classes");
        dsc_json_array(&j);
        for (size_t k = 0; k < K; k++) dsc_json_string(&j, dsc_model_class_label(m, k));
        dsc_json_end(&j);
        dsc_json_kbool(&j, "standardized", dsc_model_input_mean(m) != NULL);
        /* What eval's loss is measured on when the targets were standardised. */
        const float *tm = dsc_model_target_mean(m), *ts = dsc_model_target_std(m);
        dsc_json_key(&j, "target_mean");
        if (tm) {
            dsc_json_array(&j);
            for (size_t k = 0; k < dsc_model_outputs(m); k++) dsc_json_number(&j, tm[k]);
            dsc_json_end(&j);
        } else {
            dsc_json_null(&j);
        }
        dsc_json_key(&j, "target_std");
        if (ts) {
            dsc_json_array(&j);
            for (size_t k = 0; k < dsc_model_outputs(m); k++) dsc_json_number(&j, ts[k]);
            dsc_json_end(&j);
        } else {
            dsc_json_null(&j);
        }
        /* null: a format-1 model, which did not record it. */
        dsc_json_knumber(&j, "input_divisor",
                         dsc_model_input_divisor(m) > 0 ? dsc_model_input_divisor(m) : NAN);
        if (sum) {
            dsc_json_key(&j, "training");
            dsc_json_object(&j);
            dsc_json_kstring(&j, "loss", sum->loss);
            dsc_json_kstring(&j, "optimizer", sum->optimizer);
            dsc_json_kstring(&j, "stop", sum->stop);
            dsc_json_kuint(&j, "iterations", sum->iterations);
            dsc_json_kuint(&j, "epochs", sum->epochs);
            dsc_json_kuint(&j, "samples", sum->samples);
            dsc_json_knumber(&j, "final_loss", sum->loss_value);
            dsc_json_knumber(&j, "val_loss", sum->val_loss);
            dsc_json_knumber(&j, "accuracy", sum->accuracy);
            dsc_json_knumber(&j, "seconds", sum->seconds);
            dsc_json_end(&j);
        }
        dsc_json_end(&j);
        putchar('\n');
    } else {
        printf("model        %s\nnetwork      %s\nparameters   %zu\n", model, dsc_model_spec(m),
               dsc_model_param_count(m));
        if (dsc_model_input_name(m, 0)) {
            printf("inputs      ");
            for (size_t j = 0; j < nin && j < 20; j++)
                printf(" %s%s", dsc_model_input_name(m, j), j + 1 < nin ? "," : "");
            printf("%s\n", nin > 20 ? " ..." : "");
        }
        if (dsc_model_target(m)) printf("target       %s\n", dsc_model_target(m));
        if (K) {
            printf("classes     ");
            for (size_t k = 0; k < K; k++)
                printf(" %s%s", dsc_model_class_label(m, k), k + 1 < K ? "," : "\n");
        }
        if (dsc_model_input_divisor(m) == 0)
            printf("inputs       divided as the data's reader says (255 for IDX images): a "
                   "format-1 model\n");
        else if (dsc_model_input_divisor(m) != 1)
            printf("inputs       divided by %g first\n", (double)dsc_model_input_divisor(m));
        printf("standardized %s\n",
               dsc_model_input_mean(m)
                   ? (dsc_model_target_mean(m) ? "inputs and targets" : "inputs")
                   : "no");
        if (sum) {
            printf("trained      %s, %s, %llu updates, %llu epochs on %llu rows, stopped by %s\n",
                   sum->loss, sum->optimizer, (unsigned long long)sum->iterations,
                   (unsigned long long)sum->epochs, (unsigned long long)sum->samples, sum->stop);
            printf("final loss   %.6g", sum->loss_value);
            if (!isnan(sum->val_loss)) printf(", validation %.6g", sum->val_loss);
            if (!isnan(sum->accuracy)) printf(", accuracy %.4f", sum->accuracy);
            printf(" (%.3g s)\n", sum->seconds);
        }
    }
    dsc_model_free(m);
    return EXIT_OK;
}
