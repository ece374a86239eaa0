/* descent gradcheck: backpropagation against central differences on a
 * random network and random data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli.h"
#include "io/json.h"

/* Random targets that suit the loss: probabilities for bce, one-hot rows
 * for ce, anything for the regression losses. */
static void fill_targets(dsc_rng *rng, dsc_loss loss, float *y, size_t n, size_t m)
{
    for (size_t i = 0; i < n; i++) {
        size_t hot = dsc_rng_below(rng, (uint32_t)m);
        for (size_t j = 0; j < m; j++) {
            float *t = &y[i * m + j];
            if (loss == DSC_LOSS_BCE)
                *t = (float)(dsc_rng_below(rng, 2));
            else if (loss == DSC_LOSS_CE)
                *t = j == hot ? 1.0f : 0.0f;
            else
                *t = (float)dsc_rng_normal(rng);
        }
    }
}

int cmd_gradcheck(int argc, char **argv)
{
    size_t inputs = 3, outputs = 2, batch = 4;
    const char *layers = "4:tanh", *output = "identity", *loss_name = "mse", *shape = NULL;
    uint64_t seed = 1;
    double tol = 1e-3;
    int json = 0;
    cli_opt opts[] = {
        {"inputs", OPT_SIZE, &inputs, "N", "input features (3)", 0},
        {"outputs", OPT_SIZE, &outputs, "M", "outputs (2)", 0},
        {"layers", OPT_STRING, &layers, "SPEC",
         "hidden layers, e.g. 4:tanh,3:relu ('' for none), or with --input-shape "
         "conv4@3x3s2p1:relu,maxpool2,8:tanh",
         0},
        {"input-shape", OPT_STRING, &shape, "CxHxW",
         "each row an image CxHxW or a signal CxL (sets --inputs to their product)", 0},
        {"output", OPT_STRING, &output, "ACT", "output activation (identity)", 0},
        {"loss", OPT_STRING, &loss_name, "LOSS", "ssr, mse, mae, huber, bce, ce (mse)", 0},
        {"batch", OPT_SIZE, &batch, "B", "rows of random data (4)", 0},
        {"seed", OPT_U64, &seed, "S", "random seed (1)", 0},
        {"tol", OPT_DOUBLE, &tol, "T", "largest relative error allowed (1e-3)", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
    };
    cli_command c =
        CLI_COMMAND("gradcheck",
                    "descent gradcheck --inputs N --outputs M --layers SPEC --output ACT --loss "
                    "LOSS [--batch B] [--seed S] [--tol T] [--json]",
                    "Builds the network on random data and compares the gradient of every "
                    "parameter from backpropagation with a central difference.\nThe error is "
                    "|analytic - numerical| / max(|analytic|, |numerical|, 1); exit status 1 "
                    "when the largest is above --tol.",
                    opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    char in_spec[96];
    if (shape) {
        /* the shape's product is the number of inputs */
        size_t total = 1, v = 0;
        int ok = 1, digits = 0;
        for (const char *p = shape; ok && *p; p++) {
            if (*p >= '0' && *p <= '9') {
                v = v * 10 + (size_t)(*p - '0');
                ok = v <= 100000000u;
                digits = 1;
            } else if (*p == 'x' && digits && v) {
                total *= v, v = 0, digits = 0;
                ok = total <= 100000000u;
            } else {
                ok = 0;
            }
        }
        if (!ok || !digits || !v)
            return cli_error(EXIT_USAGE, "--input-shape '%s': expected CxHxW or CxL, e.g. 1x9x9",
                             shape);
        if (ok && total * v > 100000000u) ok = 0;
        inputs = total * v;
        if (cli_seen(&c, "inputs"))
            return cli_error(EXIT_USAGE, "--inputs or --input-shape, not both");
        snprintf(in_spec, sizeof in_spec, "%s", shape);
    } else {
        snprintf(in_spec, sizeof in_spec, "%zu", inputs);
    }
    if (inputs == 0 || outputs == 0 || batch == 0)
        return cli_error(EXIT_USAGE, "gradcheck: --inputs, --outputs and --batch must be >= 1");
    /* Random data of batch x inputs: small networks are what a gradient
     * check is for, and the sizes must not overflow. */
    if (inputs > 1000000 || outputs > 1000000 || batch > 100000 || inputs * batch > 10000000 ||
        outputs * batch > 10000000)
        return cli_error(EXIT_USAGE,
                         "gradcheck: --inputs and --outputs at most 1000000, --batch at most "
                         "100000, and at most 10000000 values of data");
    if (!(tol >= 0)) return cli_error(EXIT_USAGE, "gradcheck: --tol must be >= 0, not %g", tol);
    dsc_loss loss;
    dsc_activation out_act;
    if (dsc_loss_from_name(loss_name, &loss) || dsc_activation_from_name(output, &out_act))
        return cli_error(EXIT_USAGE, "gradcheck: %s", dsc_last_error());

    char spec[1024];
    int len = snprintf(spec, sizeof spec, "%s -> %s%s%zu:%s", in_spec, layers,
                       *layers ? " -> " : "", outputs, output);
    if (len < 0 || (size_t)len >= sizeof spec)
        return cli_error(EXIT_USAGE, "gradcheck: --layers is too long");
    dsc_model *m = NULL;
    dsc_dataset *d = NULL;
    float *x = NULL, *y = NULL;
    int status = EXIT_RUNTIME;
    dsc_status s = dsc_model_new(spec, &m);
    if (!s) {
        x = malloc(batch * inputs * sizeof(float));
        y = malloc(batch * outputs * sizeof(float));
    }
    if (s) {
        status = cli_error(EXIT_USAGE, "gradcheck: %s", dsc_last_error());
        goto done;
    }
    if (!x || !y) {
        status = cli_error(EXIT_RUNTIME, "out of memory");
        goto done;
    }
    {
        /* Each parameter's central differences are several passes over the
         * batch: about params^2 x batch operations. */
        double p = (double)dsc_model_param_count(m);
        if (p * p * (double)batch > 2e9) {
            status = cli_error(EXIT_USAGE,
                               "gradcheck: %zu parameters on %zu rows is too much work for central "
                               "differences (parameters^2 x rows at most 2e9); a smaller network",
                               dsc_model_param_count(m), batch);
            goto done;
        }
    }
    dsc_rng rng;
    dsc_rng_seed(&rng, seed, 7);
    for (size_t i = 0; i < batch * inputs; i++) x[i] = (float)dsc_rng_normal(&rng);
    fill_targets(&rng, loss, y, batch, outputs);
    double err = 0;
    size_t worst = 0, kinks = 0;
    if ((s = dsc_model_init(m, DSC_INIT_DEFAULT, seed)) ||
        (s = dsc_dataset_from_arrays(x, y, batch, inputs, outputs, &d)) ||
        (s = dsc_model_gradcheck(m, d, loss, &err, &worst, &kinks))) {
        status = cli_fail(s);
        goto done;
    }
    int ok = err <= tol;
    if (json) {
        dsc_json j;
        dsc_json_init(&j, stdout);
        dsc_json_object(&j);
        dsc_json_knumber(&j, "max_rel_error", err);
        dsc_json_kuint(&j, "params", dsc_model_param_count(m));
        dsc_json_kuint(&j, "kinks", kinks);
        dsc_json_kbool(&j, "ok", ok);
        dsc_json_end(&j);
        putchar('\n');
    } else {
        printf("network      %s\nloss         %s\nparameters   %zu\n", dsc_model_spec(m),
               dsc_loss_name(loss), dsc_model_param_count(m));
        printf("max rel err  %.3g (at %s)\n", err, dsc_model_param_name(m, worst));
        if (kinks) printf("skipped      %zu (a kink such as ReLU at 0 within the step)\n", kinks);
        printf("result       %s (tolerance %g)\n", ok ? "ok" : "FAILED", tol);
    }
    status = ok ? EXIT_OK : EXIT_RUNTIME;
done:
    free(x);
    free(y);
    dsc_dataset_free(d);
    dsc_model_free(m);
    return status;
}
