/* descent explain: dLoss/dparam as the chain of local derivatives, with
 * the numbers, for a small network or a line fit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "network.h"
#include "viz/explain.h"

static int explain_line(const char *data, const char *xcol, const char *ycol, double slope,
                        double icpt, int fit_slope, int json)
{
    if (!data) return cli_error(EXIT_USAGE, "explain --line: --data FILE.csv is required");
    dsc_csv_options co;
    dsc_csv_options_init(&co);
    co.limits = cli_limits;
    co.features = xcol;
    co.target = ycol;
    co.target_kind = DSC_TARGET_VALUES;
    dsc_dataset *d;
    dsc_status s = dsc_dataset_from_csv(data, &co, &d);
    if (s) return cli_fail(s);
    char *text = NULL;
    s = dsc_explain_line(dsc_dataset_x(d), dsc_dataset_y(d), dsc_dataset_rows(d), icpt, slope,
                         fit_slope, json, &text);
    dsc_dataset_free(d);
    if (s) return cli_fail(s);
    fputs(text, stdout);
    dsc_free(text);
    return EXIT_OK;
}

int cmd_explain(int argc, char **argv)
{
    net_opts no = {0};
    const char *demo_name = NULL, *param = NULL, *loss_name = NULL, *init = NULL, *xcol = "#1",
               *ycol = "#2", *relu0 = "0", *model = NULL;
    int json = 0, line = 0;
    uint64_t seed = 42;
    double slope = NAN, icpt = 0;
    cli_opt opts[NET_N_OPTS + 14 + CLI_N_LIMIT_OPTS];
    size_t n = net_opts_table(&no, opts);
    cli_opt more[] = {
        {"model", OPT_STRING, &model, "FILE", "a saved model (with --data)", 0},
        {"demo", OPT_STRING, &demo_name, "NAME",
         "one of the seed's demos: softplus-b3, softplus, relu", 0},
        {"param", OPT_STRING, &param, "NAMES", "the parameter(s) to explain (all trained ones)", 0},
        {"loss", OPT_STRING, &loss_name, "LOSS", "the loss (ssr for demos; train's default)", 0},
        {"init", OPT_STRING, &init, "FILE", "parameter values: lines of `name value`", 0},
        {"seed", OPT_U64, &seed, "S", "random seed for parameters not in --init (42)", 0},
        {"relu-grad-at-zero", OPT_STRING, &relu0, "V", "ReLU's derivative at 0: 0 or 1", 0},
        {"line", OPT_FLAG, &line, NULL, "explain a line fit (with --data, --slope, --intercept)",
         0},
        {"x", OPT_STRING, &xcol, "COL", "--line: x column: a name or #N, the N-th (#1)", 0},
        {"y", OPT_STRING, &ycol, "COL", "--line: y column (#2)", 0},
        {"slope", OPT_DOUBLE, &slope, "K", "--line: the slope (fixed; fitted both when absent: 1)",
         0},
        {"intercept", OPT_DOUBLE, &icpt, "B", "--line: the intercept (0)", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
        CLI_LIMIT_OPTS,
    };
    memcpy(opts + n, more, sizeof more);
    n += sizeof more / sizeof more[0];
    cli_command c = {
        "explain",
        "descent explain (--demo NAME | --model FILE --data FILE.csv | --data FILE.csv "
        "--layers SPEC [--output ACT] [--loss LOSS] [--init FILE]) [--param NAME] "
        "[--json]\n       descent "
        "explain --line --data FILE.csv [--slope K] [--intercept B]",
        "Writes dLoss/dparam as the chain of local derivatives the seed works out by "
        "hand, with every factor a number\nat the current parameters, and checks the "
        "total against backpropagation.",
        opts,
        n,
        NULL,
        0,
        0};
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    cli_file ins[] = {{"--data", no.data}, {"--model", model}, {"--init", init}};
    if ((r = cli_check_files(ins, DSC_COUNT_OF(ins), NULL, 0, 0)) >= 0) return r;
    if (line) {
        int fit_slope = isnan(slope);
        return explain_line(no.data, xcol, ycol, fit_slope ? 1.0 : slope, icpt, fit_slope, json);
    }
    dsc_relu_grad rule = DSC_RELU_GRAD_ZERO;
    int st = job_relu_rule(relu0, &rule);
    if (st >= 0) return st;
    dsc_model *m = NULL;
    dsc_dataset *d = NULL;
    dsc_loss loss = DSC_LOSS_SSR;
    const char *only = param;
    if (demo_name) {
        const seed_demo *demo = seed_find_demo(demo_name);
        if (!demo)
            return cli_error(EXIT_USAGE, "explain: no demo '%s' (softplus-b3, softplus, relu)",
                             demo_name);
        if (no.data || no.layers)
            return cli_error(EXIT_USAGE, "explain: --demo brings its own data and network");
        if (!only) only = demo->only;
        st = seed_demo_model(demo, &m);
        if (st < 0) st = seed_dosage_data(&d);
        if (st < 0 && init) st = job_load_init(m, init);
    } else if (model) {
        if (no.layers || no.output)
            return cli_error(EXIT_USAGE, "explain: --model brings its own network");
        dsc_status s = dsc_model_load_limits(model, &cli_limits, &m);
        if (s) return cli_fail(s);
        const dsc_model_summary *sum = dsc_model_get_summary(m);
        if (loss_name) {
            if (dsc_loss_from_name(loss_name, &loss))
                st = cli_error(EXIT_USAGE, "%s", dsc_last_error());
        } else if (!sum || dsc_loss_from_name(sum->loss, &loss)) {
            loss = dsc_model_classes(m) ? DSC_LOSS_CE : DSC_LOSS_MSE;
        }
        /* The data is read the way the model reads it: its columns by name. */
        if (st < 0) st = net_load_data_for(&no, m, &d);
        if (st < 0 && init) st = job_load_init(m, init);
    } else {
        st = net_build(&no, loss_name, init, seed, &m, &d, &loss);
    }
    if (st < 0) {
        dsc_model_set_relu_grad(m, rule);
        char *text = NULL;
        double diff = 0;
        dsc_status s = dsc_explain_model(m, d, loss, only, json, &text, &diff);
        if (s) {
            st = s == DSC_EINVAL || s == DSC_ENOTFOUND
                     ? cli_error(EXIT_USAGE, "%s", dsc_last_error())
                     : cli_fail(s);
        } else {
            fputs(text, stdout);
            st = EXIT_OK;
            if (!(diff <= 1e-3))
                st = cli_error(EXIT_RUNTIME,
                               "the chain rule's total differs from backpropagation "
                               "by %g",
                               diff);
        }
        dsc_free(text);
    }
    dsc_model_free(m);
    dsc_dataset_free(d);
    return st;
}
