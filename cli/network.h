/* Building a model and its data from the command line: a CSV file and a
 * layer spec (train, explain), or one of the seed's built-in demos. */
#ifndef DSC_CLI_NETWORK_H
#define DSC_CLI_NETWORK_H

#include "job.h"
#include "seed.h"

typedef struct {
    const char *data, *target, *ignore, *features, *layers, *output;
    const char *idx_images, *idx_labels;
    const char *weight_init;
    const char *input_shape;
    int classes; /* --classes: the target holds class labels */
} net_opts;

#define NET_N_OPTS 11
/* Appends --data --target --ignore --features --classes --layers
 * --input-shape --output --idx-images --idx-labels --weight-init. */
size_t net_opts_table(net_opts *o, cli_opt *t);

/* Reads the data, builds "IN -> LAYERS -> OUT:OUTPUT" (IN: the data's
 * shape: --input-shape, or the IDX images' 1xHxW, or the number of
 * columns; OUT from the data), draws its weights from seed and applies --init. *loss
 * gets the default for the data unless loss_name is given: ce for class
 * labels, mse otherwise. Returns -1 on success, else an exit status. */
int net_build(const net_opts *o, const char *loss_name, const char *init, uint64_t seed,
              dsc_model **m, dsc_dataset **d, dsc_loss *loss);
/* The two halves of net_build: the data (CSV or IDX), then the model. */
int net_load_data(const net_opts *o, dsc_dataset **d);
int net_make_model(const net_opts *o, const dsc_dataset *d, const char *loss_name, const char *init,
                   uint64_t seed, dsc_model **m, dsc_loss *loss);
/* The input of a spec: "--input-shape" (checked against n_in columns) or
 * the data's own shape; -1 on success, else an exit status. */
int net_input_spec(const char *input_shape, const size_t *data_dims, size_t data_rank, size_t n_in,
                   char *buf, size_t size);
/* The data read the way model m reads it (dsc_model_read_csv: its columns
 * by name, its classes by name); the options' target and ignore apply, and
 * features when m has no input names. m NULL: net_load_data. */
int net_load_data_for(const net_opts *o, const dsc_model *m, dsc_dataset **d);
/* Refuses a softmax output or the ce loss on a single numeric target,
 * saying how to read it as class labels. Returns -1 when fine. */
int net_check_loss(const dsc_dataset *d, dsc_activation output, dsc_loss loss);
/* Copies the data's column names, target and classes into the model. */
int net_describe_model(dsc_model *m, const dsc_dataset *d);

/* seed.h's constructors, with errors reported as the command line does:
 * -1 on success, else an exit status. */
int seed_dosage_data(dsc_dataset **d);
int seed_demo_model(const seed_demo *demo, dsc_model **m);

#endif
