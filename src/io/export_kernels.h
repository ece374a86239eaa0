/* The loops an exported C model runs, each written once: the library
 * compiles them (to run or test what the export computes) and the C
 * exporter emits their text, so the two cannot drift apart. Internal.
 *
 * DSC_<X>_FN(name) defines `static <type> name<params> <body>` and
 * `static const char name_text[]`: the parameters and body as text, to be
 * written after the emitted function's own type and name. Everything here
 * is C99 that needs no header beyond <stddef.h> and <stdint.h>. */
#ifndef DSC_EXPORT_KERNELS_H
#define DSC_EXPORT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define DSC_KERNEL_TEXT_(...) #__VA_ARGS__
#define DSC_KERNEL_FN_(type, name, ...)                                                            \
    static const char name##_text[] = DSC_KERNEL_TEXT_(__VA_ARGS__);                               \
    static type name __VA_ARGS__

/* x . w over n terms, summed in the order of the engine's one-row matrix
 * product (gemm.c, thin_dot): lanes of 32 float partial sums over blocks of
 * 4096 terms, the lanes and the leftover terms added in double, blocks
 * added in double; fewer than 8 terms are summed in double. A float export
 * uses it so that one row gives the engine's bits. */
#define DSC_DOT_FN(name)                                                                           \
    DSC_KERNEL_FN_(                                                                                \
        float, name, (const float *x, const float *w, size_t n) {                                  \
            double total = 0.0;                                                                    \
            size_t b, i, l;                                                                        \
            if (n < 8) {                                                                           \
                for (i = 0; i < n; i++) total += (double)x[i] * w[i];                              \
                return (float)total;                                                               \
            }                                                                                      \
            for (b = 0; b < n; b += 4096) {                                                        \
                size_t e = b + 4096 < n ? b + 4096 : n;                                            \
                size_t m = e - b >= 32 ? (e - b) / 32 * 32 : 0;                                    \
                double part = 0.0;                                                                 \
                if (m > 0) {                                                                       \
                    float a[32];                                                                   \
                    for (l = 0; l < 32; l++) a[l] = 0.0f;                                          \
                    for (i = b; i < b + m; i += 32)                                                \
                        for (l = 0; l < 32; l++) a[l] += x[i + l] * w[i + l];                      \
                    for (l = 0; l < 8; l++)                                                        \
                        part += (double)a[l] + (double)a[l + 8] + (double)a[l + 16] + a[l + 24];   \
                }                                                                                  \
                for (i = b + m; i < e; i++) part += (double)x[i] * w[i];                           \
                total += part;                                                                     \
            }                                                                                      \
            return (float)total;                                                                   \
        })

/* One int8 layer on one row (export.h has the scheme): x (n_in floats) is
 * quantized into q with the row's scale max|x| / 127, rounding halves away
 * from 0; y_j = acc_j * (s_x * s[j * s_step]) + b_j with acc_j the exact
 * int32 sum of q_i w_ji. s_step is 1 for a scale per output unit, 0 for one
 * per layer. A NaN input gives q = -127 rather than undefined behaviour. */
#define DSC_QDENSE_FN(name)                                                                        \
    DSC_KERNEL_FN_(                                                                                \
        void, name,                                                                                \
        (const float *x, size_t n_in, const int8_t *w, const float *s, size_t s_step,              \
         const float *b, size_t n_out, int8_t *q, float *y) {                                      \
            float amax = 0.0f, sx, inv;                                                            \
            size_t i, j;                                                                           \
            for (i = 0; i < n_in; i++) {                                                           \
                float a = x[i] < 0.0f ? -x[i] : x[i];                                              \
                amax = a > amax ? a : amax;                                                        \
            }                                                                                      \
            sx = amax / 127.0f;                                                                    \
            inv = amax > 0.0f ? 127.0f / amax : 0.0f;                                              \
            for (i = 0; i < n_in; i++) {                                                           \
                float v = x[i] * inv;                                                              \
                int r = v >= 0.0f && v <= 127.0f   ? (int)(v + 0.5f)                               \
                        : v < 0.0f && v >= -127.0f ? -(int)(0.5f - v)                              \
                        : v > 0.0f                 ? 127                                           \
                                                   : -127;                                                         \
                q[i] = (int8_t)r;                                                                  \
            }                                                                                      \
            for (j = 0; j < n_out; j++) {                                                          \
                const int8_t *wj = w + j * n_in;                                                   \
                int32_t acc = 0;                                                                   \
                float sc, t;                                                                       \
                for (i = 0; i < n_in; i++) acc += (int32_t)q[i] * wj[i];                           \
                sc = sx * s[j * s_step];                                                           \
                t = (float)acc * sc;                                                               \
                y[j] = t + b[j];                                                                   \
            }                                                                                      \
        })

/* The same layer with the row kept in float (weights-only int8):
 * y_j = (sum_i x_i w_ji, in float, in order) * s[j * s_step] + b_j. */
#define DSC_QDENSE_F_FN(name)                                                                      \
    DSC_KERNEL_FN_(                                                                                \
        void, name,                                                                                \
        (const float *x, size_t n_in, const int8_t *w, const float *s, size_t s_step,              \
         const float *b, size_t n_out, float *y) {                                                 \
            size_t i, j;                                                                           \
            for (j = 0; j < n_out; j++) {                                                          \
                const int8_t *wj = w + j * n_in;                                                   \
                float acc = 0.0f, t;                                                               \
                for (i = 0; i < n_in; i++) acc += x[i] * (float)wj[i];                             \
                t = acc * s[j * s_step];                                                           \
                y[j] = t + b[j];                                                                   \
            }                                                                                      \
        })

#endif
