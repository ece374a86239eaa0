#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "nn/nn.h"

size_t net_opts_table(net_opts *o, cli_opt *t)
{
    cli_opt opts[NET_N_OPTS] = {
        {"data", OPT_STRING, &o->data, "FILE.csv", "the data: a CSV file with a header row", 0},
        {"target", OPT_STRING, &o->target, "COLS",
         "target column(s): names, \"quoted, names\" or #N for the N-th (the last column)", 0},
        {"ignore", OPT_STRING, &o->ignore, "COLS", "columns to leave out", 0},
        {"features", OPT_STRING, &o->features, "COLS", "input columns (all others)", 0},
        {"classes", OPT_FLAG, &o->classes, NULL,
         "the target column holds class labels, even if they are numbers (e.g. 0/1/2)", 0},
        {"layers", OPT_STRING, &o->layers, "SPEC",
         "hidden layers, e.g. 2:softplus,8:relu ('' for none) or "
         "conv32@3x3:relu,maxpool2,128:relu (convF@K[xK][sS][pP][:ACT], maxpoolP[sS], "
         "avgpoolP[sS], flatten)",
         0},
        {"input-shape", OPT_STRING, &o->input_shape, "CxHxW",
         "the shape of one row's inputs, CxHxW (an image) or CxL (a signal), the columns read in "
         "that order (IDX images: 1xHxW by themselves)",
         0},
        {"output", OPT_STRING, &o->output, "ACT",
         "output activation (identity; softmax for class labels)", 0},
        {"idx-images", OPT_STRING, &o->idx_images, "FILE",
         "IDX image file (.gz too) instead of --data", 0},
        {"idx-labels", OPT_STRING, &o->idx_labels, "FILE", "IDX label file for --idx-images", 0},
        {"weight-init", OPT_STRING, &o->weight_init, "NAME",
         "default (He-uniform before ReLU, else Xavier-uniform), normal, xavier_uniform, "
         "xavier_normal, he_uniform, he_normal",
         0},
    };
    memcpy(t, opts, sizeof opts);
    return NET_N_OPTS;
}

int net_load_data(const net_opts *o, dsc_dataset **d)
{
    *d = NULL;
    dsc_status s;
    if (o->idx_images || o->idx_labels) {
        if (!o->idx_images || !o->idx_labels)
            return cli_error(EXIT_USAGE, "--idx-images and --idx-labels go together");
        if (o->data) return cli_error(EXIT_USAGE, "--data or --idx-images, not both");
        s = dsc_dataset_from_idx_limits(o->idx_images, o->idx_labels, &cli_limits, d);
        return s ? cli_fail(s) : -1;
    }
    if (!o->data)
        return cli_error(EXIT_USAGE,
                         "--data FILE.csv (or --idx-images and --idx-labels) is required");
    dsc_csv_options co;
    dsc_csv_options_init(&co);
    co.limits = cli_limits;
    co.target = o->target;
    co.ignore = o->ignore;
    co.features = o->features;
    if (o->classes) co.target_kind = DSC_TARGET_CLASSES;
    s = dsc_dataset_from_csv(o->data, &co, d);
    return s ? cli_fail(s) : -1;
}

int net_load_data_for(const net_opts *o, const dsc_model *m, dsc_dataset **d)
{
    *d = NULL;
    if (!m || o->idx_images || o->idx_labels || !o->data) return net_load_data(o, d);
    dsc_csv_options co;
    dsc_csv_options_init(&co);
    co.limits = cli_limits;
    co.target = o->target;
    co.ignore = o->ignore;
    co.features = o->features;
    if (o->classes) co.target_kind = DSC_TARGET_CLASSES;
    dsc_status s = dsc_model_read_csv(m, o->data, &co, d);
    return s ? cli_fail(s) : -1;
}

int net_describe_model(dsc_model *m, const dsc_dataset *d)
{
    size_t n_in = dsc_dataset_inputs(d), nc = dsc_dataset_classes(d);
    dsc_status s = DSC_OK;
    if (dsc_dataset_input_name(d, 0)) {
        const char **names = malloc(n_in * sizeof *names);
        if (!names) return cli_fail(DSC_ENOMEM);
        for (size_t j = 0; j < n_in; j++) names[j] = dsc_dataset_input_name(d, j);
        s = dsc_model_set_input_names(m, names);
        free(names);
    }
    if (!s && dsc_dataset_target_name(d)) s = dsc_model_set_target(m, dsc_dataset_target_name(d));
    if (!s && nc) {
        const char **labels = malloc(nc * sizeof *labels);
        if (!labels) return cli_fail(DSC_ENOMEM);
        for (size_t k = 0; k < nc; k++) labels[k] = dsc_dataset_class_label(d, k);
        s = dsc_model_set_classes(m, labels, nc);
        free(labels);
    }
    return s ? cli_fail(s) : -1;
}

int net_input_spec(const char *input_shape, const size_t *data_dims, size_t data_rank, size_t n_in,
                   char *buf, size_t size)
{
    if (!input_shape) {
        int n = snprintf(buf, size, "%zu", data_dims[0]);
        for (size_t k = 1; k < data_rank && n > 0 && (size_t)n < size; k++)
            n += snprintf(buf + n, size - (size_t)n, "x%zu", data_dims[k]);
        return -1;
    }
    /* N, CxL or CxHxW: digits and x only, each at least 1. */
    size_t dims[3], rank = 0;
    const char *p = input_shape;
    for (;;) {
        char *end;
        if (rank == 3 || *p < '0' || *p > '9') break;
        unsigned long long v = strtoull(p, &end, 10);
        if (v == 0 || v > 100000000ULL) break;
        dims[rank++] = (size_t)v;
        p = end;
        if (*p != 'x') break;
        p++;
    }
    if (rank == 0 || *p != '\0')
        return cli_error(EXIT_USAGE,
                         "--input-shape '%s': expected CxHxW (an image) or CxL (a signal), e.g. "
                         "1x28x28",
                         input_shape);
    size_t total = 1;
    for (size_t k = 0; k < rank; k++) total *= dims[k];
    if (total != n_in)
        return cli_error(EXIT_USAGE,
                         "--input-shape %s holds %zu values, but the data has %zu input columns",
                         input_shape, total, n_in);
    snprintf(buf, size, "%s", input_shape);
    return -1;
}

int net_check_loss(const dsc_dataset *d, dsc_activation output, dsc_loss loss)
{
    if (dsc_dataset_classes(d) || (output != DSC_ACT_SOFTMAX && loss != DSC_LOSS_CE)) return -1;
    const char *what = output == DSC_ACT_SOFTMAX ? "a softmax output" : "the ce loss";
    const char *t = dsc_dataset_target_name(d);
    if (dsc_dataset_outputs(d) == 1)
        return cli_error(EXIT_RUNTIME,
                         "%s needs class labels, and the target '%s' holds numbers, so it is a "
                         "value to fit; if its numbers are class labels (0, 1, 2, ...), say so "
                         "with --classes",
                         what, t ? t : "?");
    /* Several numeric targets may be class probabilities, one column per
     * class: the library checks each row sums to 1. */
    return -1;
}

int net_make_model(const net_opts *o, const dsc_dataset *d, const char *loss_name, const char *init,
                   uint64_t seed, dsc_model **m, dsc_loss *loss)
{
    *m = NULL;
    int classes = dsc_dataset_classes(d) > 0;
    if (dsc_dataset_classes(d) == 1) {
        /* A classifier with one class learns nothing and predicts it. */
        const char *t = dsc_dataset_target_name(d);
        return cli_error(EXIT_RUNTIME,
                         "%s: the target%s%s%s holds one class only ('%s'); a classifier needs "
                         "two or more",
                         o->data ? o->data : o->idx_labels, t ? " '" : "", t ? t : "", t ? "'" : "",
                         dsc_dataset_class_label(d, 0));
    }
    const char *output = o->output ? o->output : classes ? "softmax" : "identity";
    const char *layers = o->layers ? o->layers : "";
    dsc_activation act;
    if (dsc_activation_from_name(output, &act))
        return cli_error(EXIT_USAGE, "--output: %s", dsc_last_error());
    if (loss_name) {
        if (dsc_loss_from_name(loss_name, loss))
            return cli_error(EXIT_USAGE, "--loss: %s", dsc_last_error());
    } else {
        *loss = classes ? DSC_LOSS_CE : DSC_LOSS_MSE;
    }
    int st = net_check_loss(d, act, *loss);
    if (st >= 0) return st;
    char in[96], spec[2048];
    size_t dims[3], rank = dsc_dataset_input_shape(d, dims);
    /* Dense layers see a row of features: an MLP on images stays the same
     * model as on their columns. */
    if (!strstr(layers, "conv") && !strstr(layers, "pool") && !strstr(layers, "flatten"))
        rank = 1, dims[0] = dsc_dataset_inputs(d);
    st = net_input_spec(o->input_shape, dims, rank, dsc_dataset_inputs(d), in, sizeof in);
    if (st >= 0) return st;
    int n = snprintf(spec, sizeof spec, "%s -> %s%s%zu:%s", in, layers, *layers ? " -> " : "",
                     dsc_dataset_outputs(d), output);
    if (n < 0 || (size_t)n >= sizeof spec) return cli_error(EXIT_USAGE, "--layers is too long");
    dsc_status s;
    /* The network's size, known from its spec before anything is made:
     * one whose model file would be past --max-bytes could not be loaded
     * back, and its memory is not worth trying. */
    dsc_spec *arch = dsc_malloc(sizeof *arch);
    if (!arch) return cli_fail(DSC_ENOMEM);
    dsc_status ps = dsc_spec_parse(spec, arch);
    uint64_t n_params = ps ? 0 : arch->n_params;
    dsc_free(arch);
    if (ps) return cli_error(EXIT_USAGE, "--layers: %s", dsc_last_error());
    if (cli_limits.max_bytes && n_params * 4 > cli_limits.max_bytes) {
        char lim[32];
        return cli_error(
            EXIT_USAGE,
            "--layers: the network has %llu parameters (%llu bytes), more than a model "
            "file may have under --max-bytes (%s); raise --max-bytes for it",
            (unsigned long long)n_params, (unsigned long long)(n_params * 4),
            dsc_bytes_text(lim, sizeof lim, cli_limits.max_bytes));
    }
    if ((s = dsc_model_new(spec, m)))
        return cli_error(EXIT_USAGE, "--layers: %s", dsc_last_error());
    dsc_init scheme = DSC_INIT_DEFAULT;
    if (o->weight_init && dsc_init_from_name(o->weight_init, &scheme))
        return cli_error(EXIT_USAGE, "--weight-init: %s", dsc_last_error());
    if ((s = dsc_model_init(*m, scheme, seed))) return cli_fail(s);
    st = net_describe_model(*m, d);
    if (st >= 0) return st;
    if (init) {
        st = job_load_init(*m, init);
        if (st >= 0) return st;
    }
    return -1;
}

int net_build(const net_opts *o, const char *loss_name, const char *init, uint64_t seed,
              dsc_model **m, dsc_dataset **d, dsc_loss *loss)
{
    *m = NULL;
    int st = net_load_data(o, d);
    if (st < 0) st = net_make_model(o, *d, loss_name, init, seed, m, loss);
    return st;
}

/* --- the seed's demos, for the command line ---------------------------------- */

int seed_dosage_data(dsc_dataset **d)
{
    dsc_status s = seed_dosage_new(d);
    return s ? cli_fail(s) : -1;
}

int seed_demo_model(const seed_demo *demo, dsc_model **m)
{
    dsc_status s = seed_demo_new(demo, m);
    return s ? cli_fail(s) : -1;
}
