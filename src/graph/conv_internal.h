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
 * 1 and PH = 0. P = OH OW positions, K = C KH KW weights per filter. E: the
 * patch matrix uses the extended layout (stride 1, no padding: PE = (OH -
 * 1) W + OW columns per sample, op_conv.c), else PE = P. */
typedef struct {
    size_t B, C, H, W, F, KH, KW, SH, SW, PH, PW, OH, OW, P, K, PE;
    int E;
} dsc_conv_geom;

/* What a parallel piece reads and writes. */
typedef struct {
    const dsc_conv_geom *q;
    const float *src, *bias, *w, *dy;
    float *dst, *dw, *db;
} dsc_conv_job;

/* Runs fn over n tasks of about `work` operations each, in parallel when
 * the whole is large enough; each task writes its own part. */
void dsc_conv_run(int threads, size_t n, size_t work, dsc_range_fn fn, dsc_conv_job *job);

/* The direct forward (src: x, w, bias, dst: y) and backward (src: x, w,
 * dy; dw, db may be NULL; dx NULL when the input needs no gradient). */
void dsc_conv_direct_forward(int threads, dsc_conv_job *job);
void dsc_conv_direct_backward(int threads, dsc_conv_job *job, float *dx);

#endif
