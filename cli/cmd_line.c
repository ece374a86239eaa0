/* descent line: the seed's first example, a line fitted by gradient
 * descent on the sum of squared residuals. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "io/json.h"
#include "job.h"

/* The model "1 -> 1:identity" keeps the slope as w1 (index 0) and the
 * intercept as b1 (index 1). */
enum { SLOPE = 0, INTERCEPT = 1 };

/* The least-squares line, in closed form, for comparison. With the slope
 * fixed, only the intercept: mean(y) - slope mean(x). */
static int least_squares(const float *x, const float *y, size_t n, int fit_slope, double slope,
                         double *ls_icpt, double *ls_slope)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++)
        sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
    if (fit_slope) {
        if (sxx == 0) return 0;
        slope = sxy / sxx;
    }
    *ls_slope = slope;
    *ls_icpt = my - slope * mx;
    return 1;
}

static double ssr_at(const float *x, const float *y, size_t n, double icpt, double slope)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double r = y[i] - (icpt + slope * x[i]);
        s += r * r;
    }
    return s;
}

static int write_line_trace(const char *path, const dsc_run_trace *t)
{
    FILE *f = cli_out_open(path, 0);
    if (!f) return EXIT_RUNTIME;
    fputs("iter,intercept,slope,d_intercept,d_slope,step_intercept,step_slope,ssr\n", f);
    size_t rows = t->rows - (t->final ? 1 : 0);
    for (size_t i = 0; i < rows; i++) {
        const float *p = t->params + i * 2, *g = t->grads + i * 2, *next = p + 2;
        /* The step is what the update subtracted: before - after. */
        double v[7] = {p[INTERCEPT],
                       p[SLOPE],
                       g[INTERCEPT],
                       g[SLOPE],
                       (double)p[INTERCEPT] - next[INTERCEPT],
                       (double)p[SLOPE] - next[SLOPE],
                       t->loss[i]};
        fprintf(f, "%zu", i);
        for (int k = 0; k < 7; k++) {
            fputc(',', f);
            cli_print_number(f, v[k]);
        }
        fputc('\n', f);
    }
    return EXIT_OK;
}

int cmd_line(int argc, char **argv)
{
    const char *data = NULL, *xcol = "#1", *ycol = "#2", *plot = NULL;
    double slope_fixed = NAN, icpt0 = 0, slope0 = 1;
    job_opts jo;
    job_opts_init(&jo);
    cli_opt opts[] = {
        {"data", OPT_STRING, &data, "FILE.csv", "the points: a CSV file with a header row", 0},
        {"x", OPT_STRING, &xcol, "COL", "x column: a name, or #N for the N-th column (#1)", 0},
        {"y", OPT_STRING, &ycol, "COL", "y column (#2)", 0},
        {"slope", OPT_DOUBLE, &slope_fixed, "K", "fix the slope at K and fit the intercept alone",
         0},
        {"intercept0", OPT_DOUBLE, &icpt0, "B", "starting intercept (0)", 0},
        {"slope0", OPT_DOUBLE, &slope0, "S", "starting slope (1)", 0},
        {"lr", OPT_DOUBLE, &jo.lr, "R", "learning rate (0.01)", 0},
        {"tol", OPT_DOUBLE, &jo.tol, "T", "stop when every |lr x derivative| < T (0.001)", 0},
        {"max-iter", OPT_LONG, &jo.max_iter, "N", "stop after N updates (1000)", 0},
        {"batch", OPT_SIZE, &jo.batch, "N", "stochastic gradient descent: N random points per step",
         0},
        {"seed", OPT_U64, &jo.seed, "S", "random seed for --batch (42)", 0},
        {"optimizer", OPT_STRING, &jo.optimizer, "OPT", "gd (default), rprop, lbfgs, adam, ...", 0},
        {"threads", OPT_SIZE, &jo.threads, "N", "threads (0: all cores)", 0},
        {"trace", OPT_STRING, &jo.trace, "FILE.csv", "write every step to a CSV file", 0},
        {"plot", OPT_STRING, &plot, "FILE.svg", "draw the fit and the descent", 0},
        {"json", OPT_FLAG, &jo.json, NULL, "print one JSON object", 0},
        {"quiet", OPT_FLAG, &jo.quiet, NULL, "no progress bar", 0},
        CLI_LIMIT_OPTS,
    };
    cli_command c =
        CLI_COMMAND("line",
                    "descent line --data FILE.csv [--x COL] [--y COL] [--slope K] [--intercept0 "
                    "B] [--slope0 S] [--lr R] [--tol T] [--max-iter N] [--batch N] [--seed S] "
                    "[--trace FILE.csv] [--plot FILE.svg] [--json]",
                    "Fits predicted = intercept + slope x by gradient descent on the sum of "
                    "squared residuals (SSR).\nWith --slope the slope stays fixed and only the "
                    "intercept is fitted, as in the seed's first example.",
                    opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if ((r = job_check_opts(&jo, &c)) >= 0) return r;
    if (!data) return cli_error(EXIT_USAGE, "line: --data FILE.csv is required");
    cli_file ins[] = {{"--data", data}};
    cli_file outs[] = {{"--trace", jo.trace}, {"--plot", plot}};
    if ((r = cli_check_files(ins, 1, outs, 2, 0)) >= 0) return r;
    int fit_slope = isnan(slope_fixed);
    if (!fit_slope) slope0 = slope_fixed;
    jo.only = fit_slope ? NULL : "b1";

    dsc_csv_options co;
    dsc_csv_options_init(&co);
    co.limits = cli_limits;
    co.features = xcol;
    co.target = ycol;
    /* A text in y is an error at its FILE:LINE:COLUMN, not a class label. */
    co.target_kind = DSC_TARGET_VALUES;
    dsc_dataset *d = NULL;
    dsc_model *m = NULL;
    dsc_status s = dsc_dataset_from_csv(data, &co, &d);
    if (s) return cli_fail(s);
    int st = EXIT_RUNTIME;
    if ((s = dsc_model_new("1 -> 1:identity", &m))) {
        st = cli_fail(s);
        goto done;
    }
    float *p = dsc_model_params(m);
    p[SLOPE] = (float)slope0;
    p[INTERCEPT] = (float)icpt0;
    const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
    size_t n = dsc_dataset_rows(d);
    /* The line's trace has its own columns, written below. */
    const char *trace = jo.trace;
    jo.trace = NULL;
    job_result res;
    st = job_run(m, d, NULL, &jo, DSC_LOSS_SSR, trace || plot, &res);
    if (st != EXIT_OK) {
        job_result_free(&res);
        goto done;
    }
    /* A failed run writes no file. */
    int failed = job_failed(&res);
    if (trace && !failed) st = write_line_trace(trace, &res.trace);
    double ls_icpt = NAN, ls_slope = NAN;
    int have_ls = least_squares(x, y, n, fit_slope, slope0, &ls_icpt, &ls_slope);
    if (st == EXIT_OK && plot && !failed) {
        cli_signals_hold(1);
        s = dsc_plot_line(plot, x, y, n, dsc_dataset_input_name(d, 0),
                          dsc_dataset_output_name(d, 0), &res.trace, fit_slope, ls_icpt, ls_slope);
        cli_signals_hold(0);
        if (s)
            st = cli_fail(s);
        else if (!jo.json)
            fprintf(stderr, "wrote %s\n", plot);
    }
    double icpt = p[INTERCEPT], slope = p[SLOPE], ssr = res.r.loss;
    if (st == EXIT_OK && jo.json) {
        dsc_json j;
        dsc_json_init(&j, stdout);
        dsc_json_object(&j);
        dsc_json_knumber(&j, "intercept", icpt);
        dsc_json_knumber(&j, "slope", slope);
        dsc_json_kuint(&j, "iterations", res.r.iterations);
        dsc_json_kstring(&j, "stop", dsc_stop_name(res.r.stop));
        dsc_json_knumber(&j, "ssr", ssr);
        dsc_json_knumber(&j, "ls_intercept", have_ls ? ls_icpt : NAN);
        dsc_json_knumber(&j, "ls_slope", have_ls ? ls_slope : NAN);
        if (res.r.stop == DSC_STOP_LINE_SEARCH)
            dsc_json_kbool(&j, "converged", res.r.at_rounding_level);
        dsc_json_knumber(&j, "seconds", res.r.seconds);
        dsc_json_end(&j);
        putchar('\n');
    } else if (st == EXIT_OK) {
        printf("fit          predicted = %.6g + %.6g x   (%s)\n", icpt, slope,
               fit_slope ? "intercept and slope fitted" : "slope fixed");
        printf("stopped      %s after %zu iteration%s%s\n", dsc_stop_name(res.r.stop),
               res.r.iterations, res.r.iterations == 1 ? "" : "s",
               res.r.stop == DSC_STOP_LINE_SEARCH && res.r.at_rounding_level
                   ? " (converged: the gradient is at rounding level)"
                   : "");
        printf("SSR          %.6g\n", ssr);
        if (have_ls)
            printf("least squares intercept %.6g, slope %.6g (SSR %.6g), in closed form\n", ls_icpt,
                   ls_slope, ssr_at(x, y, n, ls_icpt, ls_slope));
        /* The seed's rule stops when the steps are small, which with a small
         * learning rate happens long before the minimum: say so. */
        if (have_ls && res.r.stop == DSC_STOP_STEP_SIZE) {
            double best = ssr_at(x, y, n, ls_icpt, ls_slope);
            if (ssr - best > 1e-3 * (best > 1e-12 ? best : 1e-12) && ssr - best > 1e-9)
                printf("warning      the step-size rule stopped the run early: every step "
                       "|lr x derivative| < %g,\n             but the gradient is still %.3g "
                       "and the SSR %.4g above the least-squares minimum.\n             Use a "
                       "smaller --tol or a larger --lr to go further.\n",
                       jo.tol >= 0 ? jo.tol : 1e-3, res.r.grad_norm, ssr - best);
        }
    }
    if (st == EXIT_OK) st = job_exit_status(&res);
    job_result_free(&res);
done:
    dsc_model_free(m);
    dsc_dataset_free(d);
    return st;
}
