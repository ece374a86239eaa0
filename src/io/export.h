/* Exporting a model to other runtimes (export_c.c, export_onnx.c) and the
 * int8 quantization they share (quant.c). Internal. */
#ifndef DSC_EXPORT_H
#define DSC_EXPORT_H

#include "../base/base.h"
#include "../graph/ops.h"

/* Each activation's export text is in its op table entry
 * (dsc_activation_op(a)->out, src/graph/ops.h): the ONNX operator and its
 * attributes, and the C text of the engine's own kernel. */

/* Whether C text calls a function (every call in an op's C text is a
 * <math.h> function). */
int dsc_export_c_calls(const char *text);

/* --- int8 weights (quant.c) -----------------------------------------------
 * Every weight matrix as int8 with a float scale per output unit (or one
 * per layer): w ~ q * scale, q in [-127, 127], scale = max |w| / 127 over
 * the unit's (layer's) weights. Biases stay float. At run time each
 * layer's input row is quantized the same way (one scale for the row,
 * max |x| / 127), the products are summed exactly in int32, and the sum is
 * scaled back: y_j = acc_j * (s_x * s_j) + b_j, then the activation in
 * float. With float_act the row stays float and only the weights are
 * int8: y_j = (sum x_i q_ji) * s_j + b_j. */
typedef struct {
    size_t n_layers;
    const size_t *units; /* the model's */
    int8_t *q;           /* every layer's weights, at w_off[k] (the model's offsets less biases) */
    size_t *q_off;
    float *scale; /* per output unit (at s_off[k]), or one per layer */
    size_t *s_off;
    int per_layer;
    int float_act; /* rows stay float (weights-only int8) */
} dsc_qmodel;

/* The largest input width an int32 sum of 127 x 127 products holds. */
#define DSC_QUANT_MAX_INPUTS ((size_t)(2147483647 / (127 * 127)))

/* The text of the int8 layer kernel quant.c runs (export_kernels.h), and
 * the float dot product the C export uses, compiled (for tests). */
const char *dsc_qdense_source(void);
const char *dsc_qdense_f_source(void);
float dsc_export_dot_ref(const float *x, const float *w, size_t n);

dsc_status dsc_quantize(const dsc_model *m, int per_layer, int float_act, dsc_qmodel *q);
void dsc_qmodel_free(dsc_qmodel *q);

/* The outputs of n rows of raw inputs x through the int8 model: the model's
 * input standardisation, the int8 layers, the engine's activations and the
 * target's scale, as the exported C computes them, to the same bits. */
dsc_status dsc_qmodel_predict(const dsc_model *m, const dsc_qmodel *q, const float *x, size_t n,
                              float *y);

/* Measures an export on data (options.data): the export's outputs come
 * from predict_rows (one row at a time), the float model's from
 * dsc_model_predict; fills r's accuracy / mse / max_abs_diff fields. */
typedef dsc_status (*dsc_export_rows_fn)(const dsc_model *m, const void *ctx, const float *x,
                                         size_t n, float *y);
dsc_status dsc_export_measure(const dsc_model *m, const dsc_dataset *d, dsc_export_rows_fn rows,
                              const void *ctx, dsc_export_report *r);

/* Text that grows: every write after a failed allocation is dropped and
 * failed stays set, so a writer checks once at the end. */
typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} dsc_text;

void dsc_text_put(dsc_text *t, const char *s);
void dsc_text_putn(dsc_text *t, const char *s, size_t n);
void dsc_text_printf(dsc_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void dsc_text_free(dsc_text *t);

/* A C identifier that is not a reserved name: letters, digits and '_',
 * not starting with a digit or '_', at most 63 characters. */
int dsc_export_valid_name(const char *name);

#endif
