/* TO MOVE INTO THE OP TABLE. The export text of every activation, kept in
 * this one table until the op table carries it (issue 15: each op's
 * definition holds its ONNX name and its C text beside its kernels); then
 * dsc_export_act_of reads the op table and this table goes.
 *
 * Each C text is the engine's element function as op_act.c and act1.h
 * compute it, written out: the same operations in the same order, so the
 * exported program gives the engine's bits (tests/cli_export.sh checks it
 * on every activation). */
#include "export.h"

#define C_TEXT(...) #__VA_ARGS__

static const dsc_export_act acts[DSC_ACT_COUNT] = {
    [DSC_ACT_IDENTITY] = {"identity", NULL, NULL, 0.0f, DSC_EXPORT_C_ELEMENT, C_TEXT({ return x; }),
                          0},
    [DSC_ACT_SOFTPLUS] = {"softplus", "Softplus", NULL, 0.0f, DSC_EXPORT_C_ELEMENT,
                          C_TEXT({ return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x))); }), 1},
    [DSC_ACT_RELU] = {"relu", "Relu", NULL, 0.0f, DSC_EXPORT_C_ELEMENT,
                      C_TEXT({ return x < 0.0f ? 0.0f : x; }), 0},
    [DSC_ACT_LEAKY_RELU] = {"leaky_relu", "LeakyRelu", "alpha", 0.01f, DSC_EXPORT_C_ELEMENT,
                            C_TEXT({ return x > 0.0f ? x : 0.01f * x; }), 0},
    [DSC_ACT_SIGMOID] = {"sigmoid", "Sigmoid", NULL, 0.0f, DSC_EXPORT_C_ELEMENT, C_TEXT({
                             float e = expf(-fabsf(x));
                             return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
                         }),
                         1},
    [DSC_ACT_TANH] = {"tanh", "Tanh", NULL, 0.0f, DSC_EXPORT_C_ELEMENT,
                      C_TEXT({ return tanhf(x); }), 1},
    [DSC_ACT_SOFTMAX] = {"softmax", "Softmax", NULL, 0.0f, DSC_EXPORT_C_ROW, C_TEXT({
                             float m = x[0], inv;
                             double s = 0.0;
                             size_t j;
                             for (j = 1; j < n; j++) m = x[j] > m ? x[j] : m;
                             for (j = 0; j < n; j++) {
                                 x[j] = expf(x[j] - m);
                                 s += x[j];
                             }
                             inv = (float)(1.0 / s);
                             for (j = 0; j < n; j++) x[j] *= inv;
                         }),
                         1},
};

const dsc_export_act *dsc_export_act_of(dsc_activation a)
{
    return (unsigned)a < DSC_ACT_COUNT ? &acts[a] : NULL;
}
