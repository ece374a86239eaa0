/* descent export: a saved model as dependency-free C or as ONNX. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "io/json.h"
#include "network.h"
#include "output.h"

static double percent(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : NAN; }

static void print_report(const dsc_export_report *r, int c_format, int int8, const char *data)
{
    if (c_format && int8)
        printf("weights      %zu bytes (float: %zu, %.1f%%); with biases and scales %zu (float: "
               "%zu, %.1f%%)\n",
               r->weight_bytes, r->float_weight_bytes,
               percent(r->weight_bytes, r->float_weight_bytes), r->param_bytes,
               r->float_param_bytes, percent(r->param_bytes, r->float_param_bytes));
    else
        printf("weights      %zu bytes; with biases %zu\n", r->weight_bytes, r->param_bytes);
    if (!r->rows) return;
    if (!isnan(r->accuracy))
        printf("accuracy     %.4f on %zu rows of %s (float model: %.4f, change %+.2f points; %zu "
               "rows change class)\n",
               r->accuracy, r->rows, data, r->float_accuracy,
               100.0 * (r->accuracy - r->float_accuracy), r->class_changes);
    else
        printf("MSE          %.6g on %zu rows of %s (float model: %.6g)\n", r->mse, r->rows, data,
               r->float_mse);
    printf("outputs      differ from the float model's by %.3g at most, %.3g on average\n",
           r->max_abs_diff, r->mean_abs_diff);
}

int cmd_export(int argc, char **argv)
{
    const char *model = NULL, *format = NULL, *name = NULL, *out = NULL, *quantize = NULL,
               *scale = NULL, *acts = NULL, *data = NULL, *target = NULL, *images = NULL,
               *labels = NULL;
    int json = 0;
    cli_opt opts[] = {
        {"model", OPT_STRING, &model, "FILE", "the saved model", 0},
        {"format", OPT_STRING, &format, "c|onnx", "C source (NAME.h, NAME.c) or an ONNX file", 0},
        {"out", OPT_STRING, &out, "DIR|FILE", "C: an existing folder; ONNX: the file to write", 0},
        {"name", OPT_STRING, &name, "NAME",
         "C: prefix of every exported name and the files' base name (a C identifier; default "
         "model)",
         0},
        {"quantize", OPT_STRING, &quantize, "int8", "C: int8 weights with float scales", 0},
        {"scale", OPT_STRING, &scale, "unit|layer",
         "int8: a weight scale per output unit (default) or per layer", 0},
        {"activations", OPT_STRING, &acts, "int8|float",
         "int8: each layer's input row in int8 too (default), or kept in float", 0},
        {"data", OPT_STRING, &data, "FILE.csv",
         "rows to measure the export on (accuracy or MSE, against the float model)", 0},
        {"target", OPT_STRING, &target, "COLS", "target column(s) of --data (the model's)", 0},
        {"idx-images", OPT_STRING, &images, "FILE", "IDX images instead of --data", 0},
        {"idx-labels", OPT_STRING, &labels, "FILE", "IDX labels", 0},
        {"json", OPT_FLAG, &json, NULL, "print one JSON object", 0},
        CLI_LIMIT_OPTS,
    };
    cli_command c = CLI_COMMAND(
        "export",
        "descent export --model FILE --format c --name NAME --out DIR [--quantize int8]\n"
        "       descent export --model FILE --format onnx --out FILE.onnx",
        "Writes a saved model for use outside descent: dependency-free C99 (NAME.h and NAME.c:\n"
        "NAME_predict, NAME_class, NAME_INPUTS, ...), with float or int8 weights, or an ONNX\n"
        "file (IR 8, opset 13) for ONNX Runtime and other frameworks. With --data (or the IDX\n"
        "options) it reports the export's accuracy or MSE beside the float model's.",
        opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if (!model || !format || !out)
        return cli_error(EXIT_USAGE, "export: --model, --format and --out are required");
    int c_format = strcmp(format, "c") == 0;
    if (!c_format && strcmp(format, "onnx") != 0)
        return cli_error(EXIT_USAGE, "--format: '%s' is not c or onnx", format);
    dsc_export_options eo;
    dsc_export_options_init(&eo);
    if (quantize) {
        if (strcmp(quantize, "int8") == 0)
            eo.weights = DSC_EXPORT_INT8;
        else if (strcmp(quantize, "none") != 0)
            return cli_error(EXIT_USAGE, "--quantize: '%s' is not int8 (or none)", quantize);
        if (!c_format && eo.weights == DSC_EXPORT_INT8)
            return cli_error(EXIT_USAGE, "--quantize int8 is for --format c");
    }
    if (scale) {
        if (strcmp(scale, "layer") == 0)
            eo.scale = DSC_SCALE_PER_LAYER;
        else if (strcmp(scale, "unit") != 0)
            return cli_error(EXIT_USAGE, "--scale: '%s' is not unit or layer", scale);
    }
    if (acts) {
        if (strcmp(acts, "float") == 0)
            eo.float_activations = 1;
        else if (strcmp(acts, "int8") != 0)
            return cli_error(EXIT_USAGE, "--activations: '%s' is not int8 or float", acts);
    }
    if (name && !c_format) return cli_error(EXIT_USAGE, "--name is for --format c");
    if (name) eo.name = name;
    eo.source = model;

    /* The outputs: DIR/NAME.h and DIR/NAME.c, or the ONNX file. None may be
     * an input, and each must be writable, before any work. */
    size_t plen = strlen(out) + strlen(eo.name) + 4;
    char *hpath = malloc(plen), *cpath = malloc(plen);
    if (!hpath || !cpath) {
        free(hpath);
        free(cpath);
        return cli_fail(DSC_ENOMEM);
    }
    snprintf(hpath, plen, "%s/%s.h", out, eo.name);
    snprintf(cpath, plen, "%s/%s.c", out, eo.name);
    cli_file ins[] = {
        {"--model", model}, {"--data", data}, {"--idx-images", images}, {"--idx-labels", labels}};
    cli_file outs_c[] = {{"--out", hpath}, {"--out", cpath}}, outs_onnx[] = {{"--out", out}};
    r = c_format ? cli_check_files(ins, DSC_COUNT_OF(ins), outs_c, 2, 0)
                 : cli_check_files(ins, DSC_COUNT_OF(ins), outs_onnx, 1, 0);
    dsc_model *m = NULL;
    dsc_status s = DSC_OK;
    if (r < 0 && (s = dsc_model_load_limits(model, &cli_limits, &m))) r = cli_fail(s);
    if (r >= 0) {
        free(hpath);
        free(cpath);
        return r;
    }
    dsc_dataset *d = NULL;
    int st = -1;
    if (data || images || labels) {
        /* Columns by the model's names, classes matched by name. */
        net_opts no = {0};
        no.data = data;
        no.idx_images = images;
        no.idx_labels = labels;
        no.target = target;
        st = net_load_data_for(&no, m, &d);
        eo.data = d;
    }
    dsc_export_report rep;
    if (st < 0) {
        /* The library makes and renames the temporary files itself: a
         * signal meanwhile waits, so none is left behind. */
        cli_signals_hold(1);
        s = c_format ? dsc_model_export_c(m, out, &eo, &rep)
                     : dsc_model_export_onnx(m, out, &eo, &rep);
        cli_signals_hold(0);
        st = s ? cli_fail(s) : EXIT_OK;
    }
    int int8 = eo.weights == DSC_EXPORT_INT8;
    if (st == EXIT_OK && json) {
        dsc_json j;
        dsc_json_init(&j, stdout);
        dsc_json_object(&j);
        dsc_json_kstring(&j, "format", c_format ? "c" : "onnx");
        dsc_json_key(&j, "files");
        dsc_json_array(&j);
        if (c_format) {
            dsc_json_string(&j, hpath);
            dsc_json_string(&j, cpath);
        } else {
            dsc_json_string(&j, out);
        }
        dsc_json_end(&j);
        dsc_json_kstring(&j, "weights", int8 ? "int8" : "float");
        if (int8) {
            dsc_json_kstring(&j, "scale", eo.scale == DSC_SCALE_PER_LAYER ? "layer" : "unit");
            dsc_json_kstring(&j, "activations", eo.float_activations ? "float" : "int8");
        }
        dsc_json_kuint(&j, "weight_bytes", rep.weight_bytes);
        dsc_json_kuint(&j, "param_bytes", rep.param_bytes);
        dsc_json_kuint(&j, "float_weight_bytes", rep.float_weight_bytes);
        dsc_json_kuint(&j, "float_param_bytes", rep.float_param_bytes);
        dsc_json_kuint(&j, "rows", rep.rows);
        dsc_json_knumber(&j, "accuracy", rep.accuracy);
        dsc_json_knumber(&j, "float_accuracy", rep.float_accuracy);
        dsc_json_knumber(&j, "mse", rep.mse);
        dsc_json_knumber(&j, "float_mse", rep.float_mse);
        dsc_json_knumber(&j, "max_abs_diff", rep.max_abs_diff);
        dsc_json_knumber(&j, "mean_abs_diff", rep.mean_abs_diff);
        dsc_json_kuint(&j, "class_changes", rep.class_changes);
        dsc_json_end(&j);
        putchar('\n');
    } else if (st == EXIT_OK) {
        if (c_format)
            printf("wrote        %s, %s (%s, %s weights%s)\n", hpath, cpath, dsc_model_spec(m),
                   int8 ? "int8" : "float",
                   !int8                             ? ""
                   : eo.scale == DSC_SCALE_PER_LAYER ? ", a scale per layer"
                                                     : ", a scale per output unit");
        else
            printf("wrote        %s (%s, ONNX IR 8, opset 13)\n", out, dsc_model_spec(m));
        print_report(&rep, c_format, int8, data ? data : images);
    }
    free(hpath);
    free(cpath);
    dsc_dataset_free(d);
    dsc_model_free(m);
    return st;
}
