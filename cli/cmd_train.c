/* descent train: a network on a CSV file. */
#include <stdio.h>
#include <string.h>

#include "network.h"

int cmd_train(int argc, char **argv)
{
    net_opts no = {0};
    job_opts jo;
    job_opts_init(&jo);
    cli_opt opts[NET_N_OPTS + JOB_N_OPTS + 2];
    size_t n = net_opts_table(&no, opts);
    n += job_opts_table(&jo, opts + n);
    opts[n++] = (cli_opt){"plot-dir", OPT_STRING, &jo.plot_dir, "DIR",
                          "draw the seed's pictures into DIR (1 input, 1 output)", 0};
    opts[n++] = (cli_opt){"sweep-param", OPT_STRING, &jo.sweep, "NAME",
                          "the parameter the loss curve is drawn against (first of --only)", 0};
    cli_command c = {"train",
                     "descent train --data FILE.csv [--target COL] [--layers SPEC] [--output ACT] "
                     "[--loss LOSS] [options]",
                     "Trains a network on a CSV file by gradient descent and backpropagation.\n"
                     "Without --epochs it is full-batch gradient descent with the seed's stopping "
                     "rules: every\nstep size |lr x derivative| below --tol (0.001), or --max-iter "
                     "(1000) updates.",
                     opts, n, NULL, 0, 0};
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    dsc_model *m = NULL;
    dsc_dataset *d = NULL;
    dsc_loss loss;
    int st = net_build(&no, jo.loss, jo.init, jo.seed, &m, &d, &loss);
    if (st < 0) {
        job_result res;
        st = job_run(m, d, &jo, loss, 0, &res);
        if (st == EXIT_OK) {
            job_print_summary(m, d, &jo, loss, &res, no.data);
            st = job_exit_status(&res);
            if (st == EXIT_OK && res.r.stop == DSC_STOP_STEP_SIZE && !jo.json) {
                printf("note         the step-size rule stops when steps are small, not when "
                       "the gradient is 0\n             (gradient norm %.3g now); a smaller "
                       "--tol or a larger --lr goes further\n",
                       res.r.grad_norm);
            }
        }
        job_result_free(&res);
    }
    dsc_model_free(m);
    dsc_dataset_free(d);
    return st;
}
