/**
 * @file descent.h
 * @brief descent: fit curves and train neural networks by gradient descent.
 *
 * One header for models, data sets and training. The tensor/graph layer
 * underneath is in descent_graph.h.
 *
 * Conventions:
 *  - Every function that can fail returns a ::dsc_status; on failure
 *    dsc_last_error() holds a message for the calling thread that says what
 *    went wrong and where.
 *  - Every object returned through an `out` pointer is owned by the caller
 *    and released with the matching `*_free`. `*_free(NULL)` is a no-op.
 *  - The library never prints, never exits and never aborts on bad input.
 *  - Numbers are float32 in storage; sums over many terms use double.
 */
#ifndef DESCENT_H
#define DESCENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DSC_VERSION_MAJOR  0
#define DSC_VERSION_MINOR  1
#define DSC_VERSION_PATCH  0
#define DSC_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Status and errors                                                  */
/* ------------------------------------------------------------------ */

/** Status codes. DSC_OK is 0; every other value is a failure. */
typedef enum {
    DSC_OK = 0,
    DSC_EINVAL,       /**< an argument or option is invalid */
    DSC_ENOMEM,       /**< an allocation failed */
    DSC_EIO,          /**< a file could not be read or written */
    DSC_EFORMAT,      /**< a file or string is malformed */
    DSC_ESHAPE,       /**< tensor shapes do not fit together */
    DSC_ENOTFOUND,    /**< a named thing (parameter, column) does not exist */
    DSC_EDIVERGED,    /**< the loss became NaN or infinite */
    DSC_ECANCELLED,   /**< a callback asked to stop */
    DSC_EUNSUPPORTED, /**< valid, but not supported by this build */
    DSC_ELIMIT        /**< an input is larger than a limit of dsc_limits allows */
} dsc_status;

/** A short, static description of a status code. Never NULL. */
const char *dsc_strerror(dsc_status s);

/** The detailed message of the last failure in the calling thread (""
 *  when there was none). Valid until the next failing call in the thread. */
const char *dsc_last_error(void);

/** The version string, e.g. "0.1.0". */
const char *dsc_version(void);

/** The build's choices in one line: GEMM kernel, OpenMP, zlib, CBLAS. */
const char *dsc_build_info(void);

/** What is wrong with the environment variables the library reads
 *  (DSC_NUM_THREADS, DSC_GEMM_KERNEL), e.g. "DSC_NUM_THREADS='abc' is not
 *  a whole number of threads from 1 to 256; ignored", several joined by
 *  "; ", or NULL when nothing is. The library goes on with its defaults
 *  for a value it ignores; a program may report this (the CLI prints it
 *  as a warning). Reads the variables if they have not been read yet;
 *  thread-safe; the text stays valid for the life of the process. */
const char *dsc_env_problems(void);

/** Chooses the matrix multiply for the whole process: 0 the built-in
 *  kernel (the default: results do not depend on the thread count), 1
 *  CBLAS. Returns 1 if the choice is in effect (0 when asking for CBLAS in a
 *  build without it). Set it before training, not during. */
int dsc_set_gemm(int cblas);

/* ------------------------------------------------------------------ */
/* Names: activations, losses, optimizers, schedules                  */
/* ------------------------------------------------------------------ */

/** Activation functions. */
typedef enum {
    DSC_ACT_IDENTITY = 0, /**< x */
    DSC_ACT_SOFTPLUS,     /**< ln(1 + e^x) */
    DSC_ACT_RELU,         /**< max(0, x) */
    DSC_ACT_LEAKY_RELU,   /**< x if x > 0, else 0.01 x */
    DSC_ACT_SIGMOID,      /**< 1 / (1 + e^-x) */
    DSC_ACT_TANH,         /**< tanh(x) */
    DSC_ACT_SOFTMAX,      /**< e^x_i / sum_j e^x_j, row by row */
    DSC_ACT_COUNT
} dsc_activation;

/** Loss functions. SSR sums over the batch (the seed's loss); the others
 *  are means over the batch, as PyTorch defines them. */
typedef enum {
    DSC_LOSS_SSR = 0, /**< sum of squared residuals */
    DSC_LOSS_MSE,     /**< mean squared error over all elements */
    DSC_LOSS_MAE,     /**< mean absolute error over all elements */
    DSC_LOSS_HUBER,   /**< Huber loss (delta 1), mean over all elements */
    DSC_LOSS_BCE,     /**< binary cross-entropy on probabilities */
    DSC_LOSS_CE,      /**< categorical cross-entropy on probabilities, mean over rows */
    DSC_LOSS_COUNT
} dsc_loss;

/** Optimizers. All run over the flat parameter buffer. */
typedef enum {
    DSC_OPT_GD = 0, /**< gradient descent: p -= lr * g */
    DSC_OPT_SGD,    /**< the same update on minibatches */
    DSC_OPT_MOMENTUM,
    DSC_OPT_NESTEROV,
    DSC_OPT_RMSPROP,
    DSC_OPT_ADAM,
    DSC_OPT_ADAMW,
    DSC_OPT_RPROP, /**< sign-based steps that grow and shrink per parameter (full batch) */
    DSC_OPT_LBFGS, /**< limited-memory BFGS with a Wolfe line search (full batch) */
    DSC_OPT_COUNT
} dsc_optimizer;

/** Which L-BFGS DSC_OPT_LBFGS runs. Both keep pairs of past steps and
 *  gradient changes and search each step's length for the strong Wolfe
 *  conditions (c1 1e-4, c2 0.9); they differ in the line search and in
 *  details listed in docs/OPTIMIZERS.md. */
typedef enum {
    DSC_LBFGS_DESCENT = 0, /**< descent's own (default): 8 pairs, a bracketing search with
                                cubic steps, steepest descent when a search fails */
    DSC_LBFGS_TORCH        /**< PyTorch's torch.optim.LBFGS(lr=1, line_search_fn="strong_wolfe"),
                                step for step: 100 pairs, its search and its stopping tests */
} dsc_lbfgs_style;

/** Learning-rate schedules over the whole run. */
typedef enum {
    DSC_SCHED_CONSTANT = 0,
    DSC_SCHED_STEP,  /**< lr * gamma^(floor(t / step_size)) */
    DSC_SCHED_EXP,   /**< lr * gamma^t */
    DSC_SCHED_COSINE /**< lr_min + (lr - lr_min)(1 + cos(pi t / T)) / 2 */
} dsc_schedule;

/** Weight initialisation schemes. */
typedef enum {
    DSC_INIT_DEFAULT = 0, /**< He-uniform before ReLU-family, else Xavier-uniform */
    DSC_INIT_NORMAL,      /**< standard normal */
    DSC_INIT_XAVIER_UNIFORM,
    DSC_INIT_XAVIER_NORMAL,
    DSC_INIT_HE_UNIFORM,
    DSC_INIT_HE_NORMAL
} dsc_init;

/** What ReLU's derivative is at exactly 0 (the seed: "0 or 1, or randomly
 *  chosen between the two"). */
typedef enum {
    DSC_RELU_GRAD_ZERO = 0, /**< 0 (default) */
    DSC_RELU_GRAD_ONE,      /**< 1 */
    DSC_RELU_GRAD_RANDOM    /**< 0 or 1, drawn per element from the run's seed */
} dsc_relu_grad;

/** Name <-> value. The *_from_name functions return DSC_EINVAL (with a
 *  message listing the valid names) for an unknown name. */
const char *dsc_activation_name(dsc_activation a);
dsc_status dsc_activation_from_name(const char *name, dsc_activation *out);
const char *dsc_loss_name(dsc_loss l);
dsc_status dsc_loss_from_name(const char *name, dsc_loss *out);
const char *dsc_optimizer_name(dsc_optimizer o);
dsc_status dsc_optimizer_from_name(const char *name, dsc_optimizer *out);
const char *dsc_schedule_name(dsc_schedule s);
dsc_status dsc_schedule_from_name(const char *name, dsc_schedule *out);
const char *dsc_init_name(dsc_init i);
dsc_status dsc_init_from_name(const char *name, dsc_init *out);
const char *dsc_lbfgs_style_name(dsc_lbfgs_style s); /**< "descent", "torch" */
dsc_status dsc_lbfgs_style_from_name(const char *name, dsc_lbfgs_style *out);

/* ------------------------------------------------------------------ */
/* Data sets                                                          */
/* ------------------------------------------------------------------ */

/** A table of n rows: n_in input features and n_out targets per row. */
typedef struct dsc_dataset dsc_dataset;

/** Builds a data set by copying the caller's arrays (row-major, x is
 *  n x n_in, y is n x n_out). The caller keeps ownership of x and y.
 *  Returns DSC_EINVAL for n == 0, n_in == 0, n_out == 0 or a non-finite
 *  value (the message names the row and column). */
dsc_status dsc_dataset_from_arrays(const float *x, const float *y, size_t n, size_t n_in,
                                   size_t n_out, dsc_dataset **out);
/**
 * Builds a data set over the caller's arrays without copying them
 * (row-major, x is n x n_in, y is n x n_out; y may be NULL when n_out is 0:
 * data to predict from). The data set *borrows* x and y: they stay the
 * caller's, must stay valid and unchanged until dsc_dataset_free() of this
 * data set, and are never written or freed by the library. Data sets made
 * from it (dsc_dataset_split) copy their rows and do not borrow. Values are
 * checked once, here, as dsc_dataset_from_arrays checks them: DSC_EINVAL for
 * n == 0, n_in == 0, a NULL array, or a NaN or infinite value (the message
 * names the row and column).
 */
dsc_status dsc_dataset_wrap(const float *x, const float *y, size_t n, size_t n_in, size_t n_out,
                            dsc_dataset **out);
/** Frees d (and, for a borrowing data set, nothing of the caller's). */
void dsc_dataset_free(dsc_dataset *d);
size_t dsc_dataset_rows(const dsc_dataset *d);
size_t dsc_dataset_inputs(const dsc_dataset *d);
size_t dsc_dataset_outputs(const dsc_dataset *d);
/** Row-major views of the inputs and targets, owned by the data set. */
const float *dsc_dataset_x(const dsc_dataset *d);
const float *dsc_dataset_y(const dsc_dataset *d);

/** Limits on what a reader takes in, so that a hostile or mistaken input
 *  (/dev/zero, an endless pipe, a gzip bomb, a header that claims millions
 *  of rows) is refused with DSC_ELIMIT and a message naming the file and
 *  the limit, instead of exhausting memory or time. 0 means no limit. */
typedef struct {
    /** Bytes read from one file (CSV text; IDX data after decompression,
     *  counted from what its header claims before anything is read; a
     *  model file). Default 1 GiB. */
    uint64_t max_bytes;
    /** Bytes in one CSV record (a line, or lines within quotes). Default
     *  1 MiB. */
    uint64_t max_line_bytes;
    /** Rows of a CSV file, images of an IDX file. Default 10,000,000. */
    uint64_t max_rows;
} dsc_limits;

/** Fills l with the defaults documented on each field. */
void dsc_limits_init(dsc_limits *l);

/** What a CSV target column holds (dsc_csv_options.target_kind). */
typedef enum {
    /** Numbers are values to fit (regression); a lone target column with
     *  any text in it holds class labels, in order of first appearance. */
    DSC_TARGET_AUTO = 0,
    /** Values to fit only: a field that is not a number is an error naming
     *  FILE:LINE:COLUMN and the column. */
    DSC_TARGET_VALUES,
    /** Class labels, even when they look like numbers ("0", "1", "2"): the
     *  target must be a single column; y is one-hot over its classes. When
     *  every label is a number the classes are sorted by value (so labels
     *  0..9 are classes 0..9, as IDX labels are), otherwise they come in
     *  order of first appearance. */
    DSC_TARGET_CLASSES
} dsc_target_kind;

/** Options for reading a CSV file into a data set.
 *
 *  Column lists (target, ignore, features, keep) are items separated by
 *  commas, blanks around an item dropped. An item is
 *   - a name, exactly as in the header: "2" is the column named 2;
 *   - #N, the N-th column counted from 1 (#1 is the first);
 *   - a name in double quotes, taken exactly as written between them with
 *     "" for a quote: how a name with a comma, blanks at an end, a leading
 *     # or a leading quote is written ("a,b", "#x", " y").
 *  An empty item, an unclosed quote or a bad #N is DSC_EINVAL. The columns
 *  used (features and targets) must have names, all different
 *  (DSC_EFORMAT naming both columns otherwise). */
typedef struct {
    /** Target columns, a column list; NULL: the last column; "" (empty): no
     *  target (inputs only, for prediction: the data set then has 0
     *  outputs). See target_kind for what it holds. */
    const char *target;
    /** Columns to leave out, a column list; NULL: none. */
    const char *ignore;
    /** Feature columns, a column list; NULL: every other column. */
    const char *features;
    /** Values or class labels; default DSC_TARGET_AUTO. */
    dsc_target_kind target_kind;
    /** Columns carried through as text, comma-separated (e.g. an id, for
     *  predictions that name their rows); neither features nor targets.
     *  NULL: none. See dsc_dataset_kept_value. */
    const char *keep;
    /** Size limits (dsc_limits_init's defaults). */
    dsc_limits limits;
} dsc_csv_options;

/** Fills o with the defaults documented on each field. */
void dsc_csv_options_init(dsc_csv_options *o);

/**
 * Reads a CSV file with a header row ("-" reads standard input). Handles
 * CRLF line ends, quoted fields and blank trailing lines; numbers are read
 * with '.' whatever the locale. The file is read in chunks, never whole.
 * Errors say where: "FILE:LINE:COLUMN: what is wrong" in dsc_last_error(),
 * DSC_EIO for a file that cannot be read, DSC_EFORMAT for bad content
 * (non-numeric feature, ragged row, empty file, header only, NaN/Inf),
 * DSC_ENOTFOUND for a named column that does not exist.
 */
dsc_status dsc_dataset_from_csv(const char *path, const dsc_csv_options *o, dsc_dataset **out);

/**
 * Reads an IDX image file and its label file (the MNIST / Fashion-MNIST
 * format), plain or gzip-compressed (by content, with zlib; a build without
 * zlib returns DSC_EUNSUPPORTED for compressed files). Images become rows of
 * pixel values 0..255 (kept as bytes), exactly what a CSV of the same
 * pixels holds; the data set's input divisor is 255, which a model trained
 * on it records (dsc_model_input_divisor), so it sees pixels in [0, 1]
 * whichever file they come from. Labels become one-hot targets over the
 * classes 0..max label, named "0", "1", ... Errors name the file and what is
 * wrong: bad magic, dimensions, truncated or corrupt data, count mismatch.
 */
dsc_status dsc_dataset_from_idx(const char *images, const char *labels, dsc_dataset **out);
/** The same with limits (NULL: the defaults): the header's count against
 *  max_rows, and the pixel bytes it claims against max_bytes, before any
 *  allocation; DSC_ELIMIT past them. */
dsc_status dsc_dataset_from_idx_limits(const char *images, const char *labels, const dsc_limits *l,
                                       dsc_dataset **out);

/** Splits d into a training part and a validation part holding about
 *  `fraction` of the rows (at least one each), drawn by a seeded shuffle.
 *  Names and classes are copied into both. */
dsc_status dsc_dataset_split(const dsc_dataset *d, double fraction, uint64_t seed,
                             dsc_dataset **train, dsc_dataset **val);

/** What the reader suggests the inputs be divided by before a model sees
 *  them: 255 for IDX images (bytes), 1 for everything else. */
float dsc_dataset_input_divisor(const dsc_dataset *d);

/** The shape of one row's inputs: returns the rank and writes dims (unused
 *  ones 0). Rank 1 is plain features (dims[0] = the inputs); IDX images
 *  give rank 3, 1 x rows x columns. */
size_t dsc_dataset_input_shape(const dsc_dataset *d, size_t dims[3]);

/** Column names of inputs and outputs (NULL when the data set has none). */
const char *dsc_dataset_input_name(const dsc_dataset *d, size_t j);
const char *dsc_dataset_output_name(const dsc_dataset *d, size_t j);
/** The target column(s) as read: one target's name as it is, several as a
 *  column list (names quoted where needed; NULL when unknown). */
const char *dsc_dataset_target_name(const dsc_dataset *d);
/** Columns kept as text (dsc_csv_options.keep): how many, their header
 *  names, and the text of column j in row i (owned by the data set, NULL
 *  out of range). */
size_t dsc_dataset_kept_columns(const dsc_dataset *d);
const char *dsc_dataset_kept_name(const dsc_dataset *d, size_t j);
const char *dsc_dataset_kept_value(const dsc_dataset *d, size_t i, size_t j);
/** Class labels of a classification target (0 classes for regression). */
size_t dsc_dataset_classes(const dsc_dataset *d);
const char *dsc_dataset_class_label(const dsc_dataset *d, size_t k);

/* ------------------------------------------------------------------ */
/* Models                                                             */
/* ------------------------------------------------------------------ */

/** A network: a stack of layers (dense, convolution, pooling, flatten),
 *  each dense or convolution layer followed by an activation. Its
 *  parameters live in one flat float buffer. */
typedef struct dsc_model dsc_model;

/**
 * Builds a network from a spec string `IN -> LAYER, LAYER, ... -> LAYER`,
 * e.g. `"1 -> 2:softplus -> 1:identity"` (the seed's network),
 * `"784 -> 256:relu,128:relu -> 10:softmax"`, or a convolutional network
 * `"1x28x28 -> conv32@3x3:relu,maxpool2,conv64@3x3:relu,maxpool2,128:relu ->
 * 10:softmax"`. Layers may be separated by `,` or `->`.
 *
 *  - IN: `N` features, `CxL` a signal (channels x length) or `CxHxW` an
 *    image (channels x height x width). A row of data holds one sample in
 *    that order (row-major).
 *  - `UNITS:ACT`: a dense layer; it flattens whatever comes before it.
 *  - `convF@K:ACT` (an image: K x K, or `convF@KHxKW`; a signal: a 1-D
 *    kernel of K): F filters, stride 1 and no padding by default (as
 *    PyTorch), or `sS` and `pP` after the kernel for stride S and zero
 *    padding P: `conv16@3x3s2p1:relu`. `:ACT` may be left out (identity).
 *  - `maxpoolP`, `avgpoolP`: P x P windows (P on a signal) with stride P,
 *    or `sS` after P for stride S; a window that does not fit at the end is
 *    dropped, as PyTorch does.
 *  - `flatten`: the sample as one row of features.
 *
 * Parameters are all 0; call dsc_model_init() to draw random weights.
 * Scalar parameters are named as in the seed: weights w1, w2, ... numbered
 * layer by layer, within a dense layer by output unit then input unit (a
 * filter: by filter, channel, row, column); biases b1, b2, ... the same
 * way. Whole tensors are `layerK.weight` and `layerK.bias` (K from 1,
 * counting every layer). Returns DSC_EFORMAT for a malformed spec, with
 * the column.
 */
dsc_status dsc_model_new(const char *spec, dsc_model **out);
void dsc_model_free(dsc_model *m);

/** Draws the weights from the seeded RNG (same stream on every platform)
 *  and sets every bias to 0. */
dsc_status dsc_model_init(dsc_model *m, dsc_init scheme, uint64_t seed);

size_t dsc_model_inputs(const dsc_model *m);
size_t dsc_model_outputs(const dsc_model *m);
size_t dsc_model_layers(const dsc_model *m);
/** The shape of one input row: returns its rank (1 features, 2 channels x
 *  length, 3 channels x height x width) and writes dims (unused ones 0). */
size_t dsc_model_input_shape(const dsc_model *m, size_t dims[3]);
/** Outputs (all values of a sample, flattened) and activation of layer k
 *  (0-based; the last one is the output; identity for pools and flatten). */
size_t dsc_model_layer_units(const dsc_model *m, size_t k);
dsc_activation dsc_model_layer_activation(const dsc_model *m, size_t k);
/** The spec string in canonical form, e.g. "1 -> 2:softplus -> 1:identity". */
const char *dsc_model_spec(const dsc_model *m);

/** The number of scalar parameters and the flat buffer that holds them
 *  (owned by the model; writable through dsc_model_params). */
size_t dsc_model_param_count(const dsc_model *m);
float *dsc_model_params(dsc_model *m);
const float *dsc_model_params_const(const dsc_model *m);
/** The seed-style name of scalar parameter i ("w3", "b1"). */
const char *dsc_model_param_name(const dsc_model *m, size_t i);

/**
 * Finds parameters by name: a scalar name ("w3", "b1") gives one index, a
 * tensor name ("layer2.weight") a range. On success *first and *count say
 * which entries of the flat buffer the name covers. DSC_ENOTFOUND otherwise.
 */
dsc_status dsc_model_find(const dsc_model *m, const char *name, size_t *first, size_t *count);
/** Sets every parameter the name covers to value. */
dsc_status dsc_model_set(dsc_model *m, const char *name, float value);
/** Reads a scalar parameter. */
dsc_status dsc_model_get(const dsc_model *m, const char *name, float *value);

/** The value of ReLU's derivative at exactly 0 for this model. */
void dsc_model_set_relu_grad(dsc_model *m, dsc_relu_grad rule);
dsc_relu_grad dsc_model_relu_grad(const dsc_model *m);

/* --- What a model knows about its data ------------------------------------
 * A model keeps what it needs to read new data the way it was trained: the
 * names of its input columns, of its target column(s), the class labels of a
 * classifier, the standardisation of inputs and targets, and a short summary
 * of its training. The model file stores all of it. Setters copy what they
 * are given; getters return strings owned by the model (NULL when unset). */

/** Input column names: `inputs` strings, or NULL to clear. */
dsc_status dsc_model_set_input_names(dsc_model *m, const char *const *names);
const char *dsc_model_input_name(const dsc_model *m, size_t j);
/** Target column names (comma-separated in one string, e.g. "efficacy"). */
dsc_status dsc_model_set_target(dsc_model *m, const char *targets);
const char *dsc_model_target(const dsc_model *m);
/** Class labels of a classifier: one per output (softmax), or two for a
 *  single sigmoid output (label of 0, label of 1). NULL/0 clears. */
dsc_status dsc_model_set_classes(dsc_model *m, const char *const *labels, size_t n);
size_t dsc_model_classes(const dsc_model *m);
const char *dsc_model_class_label(const dsc_model *m, size_t k);

/**
 * The input divisor: every input is divided by it before anything else
 * (standardisation, the first layer), in float: 255 for a model trained on
 * IDX images, 1 for one trained on CSV data. dsc_train and
 * dsc_model_fit_standardization record the data's divisor
 * (dsc_dataset_input_divisor) in a model that has none, and every later
 * use of the model (dsc_predict, dsc_model_evaluate, further training)
 * divides by the recorded one, so a CSV of 0..255 pixels and the IDX file
 * of the same images give the same predictions, bit for bit. 0 means none
 * recorded (a new model, or a model file of format 1): then evaluating a
 * data set divides by the data's divisor (as format 1 did), and dsc_predict
 * by 1. A divisor must be finite and at least FLT_MIN (or 0): a subnormal
 * one would overflow ordinary inputs to infinity. Saved in the model file.
 */
dsc_status dsc_model_set_input_divisor(dsc_model *m, float divisor);
float dsc_model_input_divisor(const dsc_model *m);

/**
 * Standardisation, fitted on training data: each input becomes (x - mean) /
 * std, and with targets_too each regression target likewise (undone on the
 * model's outputs). Columns with std 0 get std 1. Once set, dsc_train,
 * dsc_evaluate_loss, dsc_model_evaluate and dsc_predict take and give data
 * in its original units: they standardise internally.
 */
dsc_status dsc_model_fit_standardization(dsc_model *m, const dsc_dataset *train, int targets_too);
/** Means and standard deviations (NULL when not standardised), of the
 *  inputs after the divisor. */
const float *dsc_model_input_mean(const dsc_model *m);
const float *dsc_model_input_std(const dsc_model *m);
const float *dsc_model_target_mean(const dsc_model *m);
const float *dsc_model_target_std(const dsc_model *m);
/** Sets them directly (as the model file does); any pointer may be NULL. */
dsc_status dsc_model_set_standardization(dsc_model *m, const float *x_mean, const float *x_std,
                                         const float *y_mean, const float *y_std);

/**
 * Reads a CSV file the way model m reads data, to score or predict it:
 * the features are the columns named like m's inputs (in any order; other
 * columns are left alone), the target is m's target column, and a
 * classifier's target is read as class labels and matched to m's classes
 * by name, so the file may hold them in any order or only some of them. A
 * label m does not know fails with DSC_EFORMAT naming the label,
 * FILE:LINE:COLUMN and the column. o may be NULL; its target ("" for none),
 * ignore and target_kind override m's choices, and its features apply when
 * m has no input names. DSC_ENOTFOUND when one of m's columns is missing,
 * DSC_ESHAPE when the data does not fit m.
 */
dsc_status dsc_model_read_csv(const dsc_model *m, const char *path, const dsc_csv_options *o,
                              dsc_dataset **out);

/** A short record of how a model was trained, kept in the model file. */
typedef struct {
    char loss[16];       /**< loss name */
    char optimizer[16];  /**< optimizer name */
    char stop[24];       /**< stop reason name */
    uint64_t iterations; /**< parameter updates */
    uint64_t epochs;
    uint64_t samples;  /**< training rows */
    double loss_value; /**< final training loss */
    double val_loss;   /**< NaN without validation */
    double accuracy;   /**< validation accuracy of a classifier, else NaN */
    double seconds;
} dsc_model_summary;
void dsc_model_set_summary(dsc_model *m, const dsc_model_summary *s);
/** NULL when the model has none. */
const dsc_model_summary *dsc_model_get_summary(const dsc_model *m);

/**
 * Saves m to path: binary, little-endian, versioned, with a CRC32 (see
 * docs/FORMAT.md). The file is written to a temporary file with a unique
 * name in the same folder, flushed and renamed into place, so a crash or a
 * full disk never leaves a broken model where a good one was; a symbolic
 * link is followed to the file it names; a FIFO or /dev/null is written
 * through (docs/GUARANTEES.md). DSC_EIO when the file cannot be written,
 * DSC_EINVAL for a path that never can be (a directory, a block device)
 * and for a model no file can hold (a parameter that is not finite).
 */
dsc_status dsc_model_save(const dsc_model *m, const char *path);
/** Loads a model saved by dsc_model_save. Every length and value is
 *  checked: a truncated, corrupted, foreign or future-version file gives
 *  DSC_EFORMAT (DSC_EIO if it cannot be read) and a message saying what is
 *  wrong; *out is NULL then. */
dsc_status dsc_model_load(const char *path, dsc_model **out);
/** The same, reading at most l->max_bytes (NULL: the defaults) and
 *  stopping at the first byte that cannot belong to a model file, so
 *  /dev/zero or an endless pipe is refused at once. */
dsc_status dsc_model_load_limits(const char *path, const dsc_limits *l, dsc_model **out);
/** The same, from memory (name is used in messages). */
dsc_status dsc_model_load_memory(const char *name, const void *data, size_t size, dsc_model **out);
/**
 * The model file of m in memory: the bytes dsc_model_save would write, for
 * storing a model in a database, sending it, or pickling it. *data is
 * allocated by the library and owned by the caller, who releases it with
 * dsc_buffer_free(); dsc_model_load_memory reads it back. DSC_EINVAL for a
 * model that could not be loaded back (a non-finite parameter) or is too
 * large for the format; DSC_ENOMEM. On failure *data is NULL, *size 0.
 */
dsc_status dsc_model_save_memory(const dsc_model *m, void **data, size_t *size);
/** Releases memory the library handed to the caller (dsc_model_save_memory,
 *  dsc_model_explain). NULL is a no-op. */
void dsc_buffer_free(void *p);

/** A deep copy of m: parameters and everything it knows. */
dsc_status dsc_model_clone(const dsc_model *m, dsc_model **out);

/** Runs the model on n rows of x (n x inputs, row-major) into y (n x
 *  outputs). Allocates a workspace per call, so many threads may call it at
 *  once on one model. Each row's outputs are the same bits whatever rows are
 *  predicted with it and however many (see dsc_workspace_set_row_invariant).
 *  For repeated calls, see dsc_workspace. */
dsc_status dsc_model_predict(const dsc_model *m, const float *x, size_t n, float *y);

/** A forward-only workspace for a shared, read-only model: one per thread. */
typedef struct dsc_workspace dsc_workspace;
dsc_status dsc_workspace_new(const dsc_model *m, size_t max_batch, dsc_workspace **out);
void dsc_workspace_free(dsc_workspace *ws);
/**
 * With on = 1, every row's outputs are the same bits whatever rows are
 * predicted with it in one call and however many: a batch shorter than the
 * few rows from which the matrix products treat every row alike (usually 2)
 * is padded to that many. Off (the default), one row at a time takes a
 * faster path (a dot product per unit) whose last bits may differ from the
 * same row predicted in a batch. With CBLAS chosen (dsc_set_gemm), OpenBLAS
 * makes no such promise. DSC_ENOMEM when the staging rows cannot be had.
 */
dsc_status dsc_workspace_set_row_invariant(dsc_workspace *ws, int on);
/** Predicts n rows (n may exceed max_batch: it runs in chunks). The model
 *  must be the one the workspace was made for, and not change meanwhile.
 *  Many threads may predict at once from one model, each with its own
 *  workspace. DSC_EINVAL, naming the row and column, when an input is NaN
 *  or infinite (nothing is written to y then). */
dsc_status dsc_predict(const dsc_model *m, dsc_workspace *ws, const float *x, size_t n, float *y);

/* ------------------------------------------------------------------ */
/* Export: the model as C source or as an ONNX file                   */
/* ------------------------------------------------------------------ */

/** How an exported C model stores its weights. */
typedef enum {
    DSC_EXPORT_FLOAT = 0, /**< float32, as trained: the bits of dsc_predict one row at a time */
    DSC_EXPORT_INT8 /**< int8 with float scales, a quarter of the bytes (see docs/EXPORT.md) */
} dsc_export_weights;

/** Where an int8 export's weight scales apply. */
typedef enum {
    DSC_SCALE_PER_UNIT = 0, /**< one scale per output unit (row of a weight matrix) */
    DSC_SCALE_PER_LAYER     /**< one scale per layer */
} dsc_export_scale;

/** Export options. Fill with dsc_export_options_init(), then change fields. */
typedef struct {
    /** C: the prefix of every name the export defines and the base of its
     *  file names: a C identifier of at most 63 characters, not starting
     *  with '_'. Default "model". */
    const char *name;
    dsc_export_weights weights; /**< C: float (default) or int8 */
    dsc_export_scale scale;     /**< int8: per output unit (default) or per layer */
    /** int8: 0 (default) quantizes each layer's input row to int8 as well
     *  (one scale per row), so the products are integers summed exactly;
     *  1 keeps the rows in float and only the weights in int8, closer to
     *  the float model when inputs of very different scales share a layer
     *  (unstandardised data). */
    int float_activations;
    /** Optional rows to measure the export on (borrowed): fills the
     *  report's accuracy or MSE of the export and of the float model. */
    const dsc_dataset *data;
    /** Optional: where the model came from (a file name), quoted in the
     *  exported files' comments and the ONNX doc string. */
    const char *source;
} dsc_export_options;

/** Fills o with the defaults documented on each field. */
void dsc_export_options_init(dsc_export_options *o);

/** What an export holds and, with options.data, how it scores. */
typedef struct {
    size_t weight_bytes;       /**< bytes of the weight matrices in the export */
    size_t param_bytes;        /**< weights, biases and scales together */
    size_t float_weight_bytes; /**< the same two for a float export of the model */
    size_t float_param_bytes;
    size_t rows;           /**< rows of options.data measured (0 without) */
    double accuracy;       /**< classifier: share of rows the export classifies right, else NaN */
    double float_accuracy; /**< the same for the float model (dsc_model_predict) */
    double mse;            /**< regression: mean squared error of the export, else NaN */
    double float_mse;      /**< the same for the float model */
    double max_abs_diff;   /**< largest |export output - float model output| */
    double mean_abs_diff;  /**< mean |export output - float model output| */
    size_t class_changes;  /**< classifier: rows whose class differs from the float model's */
} dsc_export_report;

/**
 * Writes m as dependency-free C99: `DIR/NAME.h` and `DIR/NAME.c` (NAME from
 * o->name), with `NAME_predict` (one row of raw inputs in, the model's
 * outputs out: standardisation applied and undone inside), `NAME_class`
 * and `NAME_CLASSES` for a classifier, `NAME_INPUTS`, `NAME_OUTPUTS` and
 * `NAME_INPUT_NAMES`. Both files are complete before either replaces
 * anything: on failure no file is created or changed. r may be NULL.
 * DSC_EINVAL for a bad name or option, DSC_EIO when a file cannot be
 * written, DSC_EUNSUPPORTED for an int8 layer too wide for int32 sums.
 */
dsc_status dsc_model_export_c(const dsc_model *m, const char *dir, const dsc_export_options *o,
                              dsc_export_report *r);

/**
 * Writes m as an ONNX model (IR version 8, opset 13) to path, atomically:
 * input "input" [N x inputs], output "output" [N x outputs] (the output
 * activation and the target's scale included), for a classifier also
 * "label" [N x 1] (the class name) and the class names in the metadata
 * ("classes", a JSON array); standardisation is done by Sub and Div nodes.
 * o may be NULL (float weights; int8 is refused with DSC_EUNSUPPORTED).
 */
dsc_status dsc_model_export_onnx(const dsc_model *m, const char *path, const dsc_export_options *o,
                                 dsc_export_report *r);

/* ------------------------------------------------------------------ */
/* Training                                                           */
/* ------------------------------------------------------------------ */

/** Why a run stopped. */
typedef enum {
    DSC_STOP_STEP_SIZE = 0, /**< every |step| fell below step_tol (the seed's rule) */
    DSC_STOP_MAX_ITER,      /**< max_iter parameter updates were made */
    DSC_STOP_GRADIENT,      /**< the gradient norm fell below grad_tol */
    DSC_STOP_LOSS,          /**< the loss fell below loss_tol */
    DSC_STOP_EPOCHS,        /**< the requested epochs were completed */
    DSC_STOP_DIVERGED,      /**< the loss or a gradient became NaN/Inf */
    DSC_STOP_CALLBACK,      /**< on_step returned non-zero */
    DSC_STOP_LINE_SEARCH,   /**< L-BFGS: no step satisfied the line search */
    DSC_STOP_NO_CHANGE      /**< the epochs' training loss stopped improving (no_change_tol) */
} dsc_stop_reason;

/** "step_size", "max_iter", "gradient", "loss", "epochs", "diverged", "callback",
 *  "line_search_failed", "no_change". */
const char *dsc_stop_name(dsc_stop_reason r);

/** What on_step sees after each parameter update. Pointers are valid only
 *  during the call. Values are those *before* the update (as the seed's
 *  tables list them), except params_after. */
typedef struct {
    size_t iter;          /**< 0-based index of this update */
    size_t epoch;         /**< 0-based epoch (0 in full-batch runs) */
    double loss;          /**< loss of the batch, before the update */
    double learning_rate; /**< the rate used for this update */
    const float *params;  /**< all parameters before the update (NULL with
                               on_step_light) */
    const float *grads;   /**< dLoss/dparam, before the update */
    const float *steps;   /**< the update applied: params_after = params - steps
                               (NULL with on_step_light) */
    size_t n_params;
    /** The rows of the data set this update's gradient was taken on, as
     *  indexes in the order used: the random batch of a stochastic or
     *  minibatch run. NULL when the batch is every row in order (a
     *  full-batch run). Over MPI ranks: the whole batch, all ranks' rows. */
    const uint32_t *rows;
    size_t n_rows; /**< rows in this update's batch */
} dsc_step_info;

/** Called at the end of each epoch of a minibatch run (epochs > 0). */
typedef struct {
    size_t epoch;    /**< 0-based */
    size_t epochs;   /**< requested */
    double loss;     /**< mean training loss over the epoch's rows (each batch's loss,
                          before its update, weighted by its rows; SSR: mean of the
                          batches' sums) */
    double val_loss; /**< validation loss, or NaN without validation data */
    double seconds;  /**< time since training started */
} dsc_epoch_info;

/** Where a minibatch run stands at the end of an epoch: what a checkpoint
 *  holds besides the model, and what resuming needs. */
typedef struct {
    uint64_t epoch;       /**< epochs completed */
    uint64_t iterations;  /**< parameter updates made */
    uint64_t optimizer_t; /**< the optimizer's step counter */
    size_t n_state;       /**< floats of optimizer state */
    float *state;         /**< the optimizer's flat state (momentum, Adam's m and v, ...) */
    double best_val;      /**< early stopping: best validation loss so far (Inf: none) */
    uint64_t since_best;  /**< early stopping: epochs since then */
    size_t n_best;        /**< 0, or the parameter count when best holds parameters */
    float *best;          /**< early stopping: the parameters of best_val */
} dsc_train_state;

/** Training options. Fill with dsc_train_params_init(), then change
 *  fields: new fields get defaults there, so callers never break. */
typedef struct {
    dsc_loss loss;            /**< default DSC_LOSS_SSR */
    dsc_optimizer optimizer;  /**< default DSC_OPT_GD */
    double learning_rate;     /**< default 0.01 */
    double momentum;          /**< momentum/nesterov: 0.9 */
    double beta1, beta2, eps; /**< adam/adamw: 0.9, 0.999, 1e-8 (eps also rmsprop's) */
    double rms_alpha;         /**< rmsprop smoothing: 0.99 */
    double weight_decay;      /**< L2 added to the gradient (adamw: decoupled); 0 */
    double dropout;           /**< dropout rate after each hidden layer while training; 0 */
    dsc_schedule schedule;    /**< default constant */
    double lr_gamma;          /**< step/exp decay factor: 0.1 (step), 0.99 (exp) when 0 */
    size_t lr_step;           /**< step schedule period in updates (0: max(1, total/3)) */
    double lr_min;            /**< cosine floor: 0 */
    size_t batch;             /**< rows per update; 0 = all rows (full batch) */
    size_t epochs;            /**< 0: full-batch gradient descent with the seed's rules */
    double step_tol;          /**< <0: default (1e-3 without epochs, off with); 0: off */
    long max_iter;            /**< <0: default (1000 without epochs, no cap with);
                                   otherwise at most this many updates (0: none) */
    double grad_tol;          /**< stop when ||g||_2 < grad_tol; 0: off */
    double loss_tol;          /**< stop when loss < loss_tol; 0: off */
    const char *only;         /**< comma-separated names to train; NULL: all */
    uint64_t seed;            /**< shuffles and random choices; default 42 */
    int threads;              /**< 0: library default */
    const dsc_dataset *val;   /**< optional validation data (borrowed) */
    size_t patience;          /**< early stopping on val loss; 0: off */
    int (*on_step)(const dsc_step_info *s, void *user); /**< non-zero stops */
    /** 1: on_step reads neither params nor steps (a progress bar, a stop
     *  flag), so the parameters are not copied before every update and the
     *  update is not kept for it. Default 0. */
    int on_step_light;
    int (*on_epoch)(const dsc_epoch_info *e, void *user); /**< non-zero stops */
    /** Called every checkpoint_every epochs (minibatch runs) with the state
     *  a resume needs; the model's parameters are current. Non-zero stops. */
    int (*on_checkpoint)(const dsc_train_state *s, void *user);
    size_t checkpoint_every;
    /** Continue a minibatch run from a checkpoint (borrowed). The same data,
     *  options and seed then give the same model as a run never stopped:
     *  the shuffles of the epochs done are replayed, and the optimizer state
     *  and step counters restored. */
    const dsc_train_state *resume;
    /** lbfgs: DSC_LBFGS_DESCENT (default), or DSC_LBFGS_TORCH for PyTorch's
     *  iterates (docs/OPTIMIZERS.md). */
    dsc_lbfgs_style lbfgs_style;
    /** lbfgs: correction pairs kept; 0 (default): 8, or 100 in torch style. */
    size_t lbfgs_history;
    /** L2 penalty on the weights (not the biases) as scikit-learn's MLP
     *  applies its alpha: each batch's loss gains l2 / 2 * ||W||^2 / rows
     *  and the weights' gradient l2 * W / rows (rows: the batch's); the
     *  losses reported while training (steps, epochs) include it, the final
     *  pass of dsc_train_result.loss does not (a run stopped by a callback
     *  reports its last batch's loss, which does). 0 (default): none. */
    double l2;
    void *user;
    /** When not NULL, the run stops before its next update once *stop is
     *  non-zero (DSC_ECANCELLED, stop reason DSC_STOP_CALLBACK, as a
     *  callback's stop), so a signal handler or another thread can stop it
     *  without a callback. The library only reads it, atomically. NULL. */
    const volatile int *stop;
    /** scikit-learn MLP's stopping rule (its tol and n_iter_no_change), for
     *  minibatch runs: the run stops (DSC_OK, reason DSC_STOP_NO_CHANGE) once
     *  the epoch's training loss (dsc_epoch_info.loss) has been above the
     *  lowest before it minus no_change_tol for more than no_change_epochs
     *  epochs in a row. Decided in the library, it costs no callback per
     *  epoch. no_change_tol 0 (default): off. */
    double no_change_tol;
    size_t no_change_epochs;
    /** When not NULL, the loss of each epoch this call runs (dsc_epoch_info.loss)
     *  goes to loss_curve[0], [1], ...: room for `epochs` values. NULL. */
    double *loss_curve;
    /** 1: call on_checkpoint also once at the end of a minibatch run that ran
     *  out of epochs or met the no_change rule, whatever checkpoint_every
     *  (the state to resume from later). 0 (default). */
    int checkpoint_at_end;
} dsc_train_params;

/** Fills p with the defaults documented on each field. */
void dsc_train_params_init(dsc_train_params *p);

/** The outcome of dsc_train. */
typedef struct {
    dsc_stop_reason stop;
    size_t iterations; /**< parameter updates made */
    size_t epochs;     /**< epochs completed */
    double loss;       /**< loss at the final parameters, over the training data; when a
                            callback stopped the run (DSC_ECANCELLED), the loss of the last
                            batch before its update instead (NaN before any), so that a stop
                            is prompt on large data */
    double val_loss;   /**< NaN without validation data */
    double grad_norm;  /**< ||g||_2 at the last update */
    double max_step;   /**< largest |step| of the last update */
    double seconds;    /**< optimisation time */
    /** With DSC_STOP_LINE_SEARCH: 1 when the search failed because the loss
     *  cannot be lowered measurably any more (the gradient is at rounding
     *  level), which is convergence; 0 for a real failure. */
    int at_rounding_level;
    /** Distributed runs (dsc_train_mpi): seconds spent summing gradients
     *  over the ranks, included in seconds; 0 for one process. */
    double comm_seconds;
    /** Distributed runs: seconds this rank waited, before each sum, for
     *  the slowest rank to reach it (also included in seconds; not in
     *  comm_seconds); 0 for one process. */
    double wait_seconds;
} dsc_train_result;

/**
 * Trains m on d. Returns DSC_OK when the run ended by one of its rules
 * (see r->stop), DSC_EDIVERGED when the loss became NaN/Inf (r is filled,
 * the parameters are those of the last finite step), DSC_ECANCELLED when
 * a callback stopped it (r filled), or an error for bad arguments (shapes
 * that do not match the model, an unknown name in `only`, ...).
 */
dsc_status dsc_train(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                     dsc_train_result *r);

/** Saves a checkpoint: the model file of m with the training state st in
 *  one more (optional) chunk, atomically. A checkpoint loads as a model. */
dsc_status dsc_checkpoint_save(const dsc_model *m, const dsc_train_state *st, const char *path);
/** Loads a checkpoint: the model and the state (its arrays are allocated;
 *  release them with dsc_train_state_free). DSC_EFORMAT for a plain model. */
dsc_status dsc_checkpoint_load(const char *path, dsc_model **m, dsc_train_state *st);
void dsc_train_state_free(dsc_train_state *st);

/** The loss of m on all of d (no update). */
dsc_status dsc_evaluate_loss(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, double *out);

/** What a model scores on a data set (dsc_model_evaluate). */
typedef struct {
    size_t n;    /**< rows */
    double loss; /**< the loss, as training computes it (on standardised targets
                      when the model standardises them) */
    /* classification (the model has class labels), else NaN / 0 / NULL */
    double accuracy; /**< fraction of rows whose most likely class is right */
    size_t n_classes;
    size_t *confusion; /**< n_classes x n_classes: row = true, column = predicted */
    /** per class: precision NaN for a class never predicted, recall NaN for
     *  one absent; F1 = 2TP/(2TP+FP+FN) (scikit-learn's), NaN for a class
     *  neither present nor predicted */
    double *precision, *recall, *f1;
    /* regression, in the targets' original units, else NaN */
    double mse, mae, r2; /**< over all outputs */
} dsc_metrics;

/** The class a classifier predicts from one row of its outputs (as from
 *  dsc_predict): the most likely one, the lowest index among equals, never
 *  a NaN; for a single sigmoid output with two labels, class 1 when the
 *  output is >= 0.5. dsc_model_evaluate counts predictions by this rule. */
size_t dsc_model_class_of(const dsc_model *m, const float *outputs);

/** Evaluates m on d: the loss, and for a classifier (a model with class
 *  labels) accuracy, confusion matrix and per-class precision, recall and
 *  F1, for a regression MSE, MAE and R^2. Free with dsc_metrics_free. */
dsc_status dsc_model_evaluate(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                              dsc_metrics *out);
void dsc_metrics_free(dsc_metrics *mt);

/**
 * Gradient check of m on d with loss: compares backpropagation with
 * central differences in double precision for every parameter. The error of
 * a parameter is |analytic - numeric| / max(|analytic|, |numeric|, 1).
 * Writes the largest error, the index of the worst parameter, and how many
 * parameters were skipped because a kink (ReLU at 0) lay within the step.
 */
dsc_status dsc_model_gradcheck(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                               double *max_rel_error, size_t *worst, size_t *kinks);

/**
 * Writes dLoss/dparam as the chain of local derivatives, with every factor
 * a number at m's current parameters, for each parameter named in params
 * (comma-separated, scalar names such as "w1,b3" or tensor names such as
 * "layer2.weight"; NULL or "": all), in the seed's style, and checks each
 * total against backpropagation (what `descent explain` prints). json != 0
 * writes one JSON object instead. *text is owned by the caller: release it
 * with dsc_buffer_free(). *max_diff (may be NULL) receives the largest
 * |chain-rule total - backprop| / max(1, |backprop|), about 1e-7.
 * DSC_EINVAL for models over 64 parameters or data over 32 rows (the text
 * would be unreadable), DSC_ESHAPE when d does not fit m, DSC_ENOTFOUND for
 * an unknown parameter name.
 */
dsc_status dsc_model_explain(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                             const char *params, int json, char **text, double *max_diff);

#ifdef __cplusplus
}
#endif
#endif
