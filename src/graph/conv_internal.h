/* What the two ways of computing a convolution share (op_conv.c: im2col and
 * the packed matrix multiply; conv_direct.c: small filters). Internal. */
#ifndef DSC_CONV_INTERNAL_H
#define DSC_CONV_INTERNAL_H

#include "graph_internal.h"

/* Filters with at most this many weights (C KH KW), on rows of at most
 * DSC_CONV_DIRECT_ROW outputs, are computed directly. */
#define DSC_CONV_DIRECT_K   32
#define DSC_CONV_DIRECT_ROW 1024

/* A convolution's sizes for the current batch: a signal has H = KH = SH =
 * 1 and PH = 0. P = OH OW positions, K = C KH KW weights per filter. PE:
 * the columns a sample's plane takes, (OH - 1) W + OW in the direct
 * kernels' extended layout (conv_pool), P in op_conv.c's patches (E = 0). */
typedef struct {
    size_t B, C, H, W, F, KH, KW, SH, SW, PH, PW, OH, OW, P, K, PE;
    int E;
} dsc_conv_geom;

/* A pool's sizes (op_pool.c): windows KH x KW moved by SH x SW over H x W
 * planes, B C of them. */
typedef struct {
    size_t B, C, H, W, KH, KW, SH, SW, OH, OW;
} dsc_pool_geom;

/* One plane's max pool: x has rows `stride` apart (W or more); y and arg
 * (each window's winner, as its offset in a W-wide plane) OH x OW. Floats
 * up to end may be read (and dropped) past a row's last window. */
void dsc_maxpool_plane(const float *x, size_t stride, const dsc_pool_geom *q, float *y,
                       int32_t *arg, const float *end);

/* The direct way's whole-plane kernels (conv_direct.c), for stride 1 and no
 * padding (dsc_conv_extended): tap t reads x at i + off[t]
 * (dsc_conv_tap_offsets); a plane runs over the extended index i < (OH - 1)
 * W + OW (its row stride W). wide: the AVX-512 body. */
#define DSC_CONV_EXT_MAX (DSC_CONV_DIRECT_ROW * 8)
int dsc_conv_extended(const dsc_conv_geom *q);
void dsc_conv_tap_offsets(const dsc_conv_geom *q, size_t *off);
int dsc_conv_wide(void);
void dsc_conv_plane_forward(const float *x, const size_t *off, const float *w, size_t taps, float b,
                            float *out, size_t n, int wide);
double dsc_conv_plane_sum(const float *dy, size_t n);
void dsc_conv_plane_wgrad(const float *x, const size_t *off, const float *dy, size_t taps,
                          double *acc, size_t n, int wide);

/* Filter f's weight and bias gradients (dw and db += its sums; either may
 * be NULL) by the extended loops, from x and each sample's gradient of the
 * filter's plane, which fill(ctx, s, f, ext) writes extended (rows W apart,
 * zeros between): samples in order, the same sums for every caller. */
typedef void (*dsc_conv_plane_fill)(const void *ctx, size_t s, size_t f, float *ext);
void dsc_conv_filter_grads(const dsc_conv_geom *q, const float *x, size_t f,
                           dsc_conv_plane_fill fill, const void *ctx, float *dw, float *db);

/* What a parallel piece reads and writes. */
typedef struct {
    const dsc_conv_geom *q;
    const float *src, *bias, *w, *dy;
    float *dst, *dw, *db;
    int wide; /* the AVX-512 bodies (dsc_conv_wide) */
} dsc_conv_job;

/* Runs fn over n tasks of about `work` operations each, in parallel when
 * the whole is large enough, in pieces of about DSC_CONV_PIECE operations
 * (tens of microseconds); each task writes its own part. */
#define DSC_CONV_PIECE (1u << 18)
void dsc_conv_run(int threads, size_t n, size_t work, dsc_range_fn fn, dsc_conv_job *job);

/* The direct forward (src: x, w, bias, dst: y) and backward (src: x, w,
 * dy; dw, db may be NULL; dx NULL when the input needs no gradient). */
void dsc_conv_direct_forward(int threads, dsc_conv_job *job);
void dsc_conv_direct_backward(int threads, dsc_conv_job *job, float *dx);

#endif
