/* Pooling (max and average, 2-D, and 1-D as a height of 1) and flatten,
 * each forward beside its backward.
 *
 * A pool slides a KH x KW window with stride SH x SW over each channel of x
 * (batch x C x H x W, or batch x C x L) without padding: OH = (H - KH) / SH
 * + 1, so a window that does not fit at the end is dropped, as PyTorch
 * does. Max keeps the first largest value of each window and remembers
 * where it was (an index per output, kept after the value) for backward;
 * average divides the window's sum by KH KW. Work is split by (sample,
 * channel) planes, each done in a fixed order: the same bits for any thread
 * count, overlapping windows included.
 *
 * Parameters: ip[0..3] = KH, KW, SH, SW. */
#include <stdint.h>
#include <string.h>

#include "conv_internal.h"

#define PAR_MIN 16384
/* Values a parallel piece reads, about: a take of a piece costs a round
 * trip between cores, which a few planes of 11 x 11 do not pay for. */
#define POOL_PIECE 65536

typedef dsc_pool_geom pgeom;

static pgeom pgeom_of(const dsc_graph *g, const dsc_gnode *n)
{
    const dsc_gnode *x = &g->nodes[n->in[0]];
    pgeom q;
    q.B = g->batch;
    q.C = x->dims[0];
    q.H = x->rank == 3 ? x->dims[1] : 1;
    q.W = x->rank == 3 ? x->dims[2] : x->dims[1];
    q.KH = (size_t)n->ip[0], q.KW = (size_t)n->ip[1];
    q.SH = (size_t)n->ip[2], q.SW = (size_t)n->ip[3];
    q.OH = (q.H - q.KH) / q.SH + 1;
    q.OW = (q.W - q.KW) / q.SW + 1;
    return q;
}

/* What a parallel piece of a pool reads and writes: planes [lo, hi). */
typedef struct {
    const pgeom *q;
    const float *src;
    float *dst;
    int32_t *arg;
} pool_job;

static void pool_run(const dsc_graph *g, const pgeom *q, dsc_range_fn fn, pool_job *job)
{
    size_t planes = q->B * q->C, work = q->H * q->W;
    size_t piece = work >= POOL_PIECE ? 1 : POOL_PIECE / work;
    dsc_parallel_for(dsc_threads(g->threads), planes * work > PAR_MIN, planes, piece, fn, job);
}

static dsc_status pool_shape(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *x = dsc_in(g, n, 0);
    if (!x->batch_rows || (x->rank != 2 && x->rank != 3))
        return dsc_fail(DSC_ESHAPE,
                        "%s: the input needs one sample per row shaped channels x height x "
                        "width (or channels x length), not rank %d",
                        n->def->name, x->rank);
    size_t C = x->dims[0], H = x->rank == 3 ? x->dims[1] : 1,
           W = x->rank == 3 ? x->dims[2] : x->dims[1];
    size_t KH = (size_t)n->ip[0], KW = (size_t)n->ip[1], SH = (size_t)n->ip[2],
           SW = (size_t)n->ip[3];
    size_t OH = dsc_window_out(H, KH, SH, 0), OW = dsc_window_out(W, KW, SW, 0);
    if (!OH || !OW)
        return dsc_fail(DSC_ESHAPE,
                        "%s: a %zu x %zu window (stride %zu x %zu) does not fit a %zu x %zu "
                        "input",
                        n->def->name, KH, KW, SH, SW, H, W);
    n->batch_rows = 1;
    n->rows = 0;
    n->rank = x->rank;
    n->dims[0] = C;
    n->dims[1] = x->rank == 3 ? OH : OW;
    n->dims[2] = x->rank == 3 ? OW : 0;
    n->cols = C * OH * OW;
    if (n->op == DSC_OP_MAXPOOL) n->keep_row = n->cols; /* the argmax of each output */
    return DSC_OK;
}

/* ---- max ------------------------------------------------------------- */

/* The winners' offsets in their input plane, as 32-bit integers in the
 * kept floats (the arena is allocated memory: its type is what is stored). */
static int32_t *argmax_of(const dsc_graph *g, const dsc_gnode *n)
{
    return (int32_t *)(void *)(n->val.data + g->max_batch * n->cols);
}

/* One row of outputs: each window's first largest value and its offset
 * (base + its place in the plane). Strictly greater wins, so the first of
 * equal values stays (PyTorch's rule). The 2 x 2 case runs eight windows at
 * a time with masks instead of comparisons and jumps: which value wins is a
 * coin toss a branch predictor loses half the time, and compilers branch in
 * the scalar ends of their own vector loops (it made the pool a fifth of a
 * Fashion-MNIST step). */
typedef int32_t i32x8 __attribute__((vector_size(32)));

/* (By pointer: a vector passed by value has a different ABI with and
 * without AVX, which clang warns about.) */
static inline void take_max(dsc_f32x8 *m, i32x8 *off, const dsc_f32x8 *v, const i32x8 *at)
{
    i32x8 gt = (i32x8)(*v > *m); /* all ones where v wins */
    *m = (dsc_f32x8)(((i32x8)*v & gt) | ((i32x8)*m & ~gt));
    *off = (*at & gt) | (*off & ~gt);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* v against the running maximum m (winner's offset at): strictly greater
 * wins, so the first of equal values stays. */
#define TAKE_MAX_AVX2(m, at, v, iv)                                                                \
    do {                                                                                           \
        __m256 gt_ = _mm256_cmp_ps((v), (m), _CMP_GT_OQ);                                          \
        (m) = _mm256_blendv_ps((m), (v), gt_);                                                     \
        (at) = _mm256_castps_si256(                                                                \
            _mm256_blendv_ps(_mm256_castsi256_ps(at), _mm256_castsi256_ps(iv), gt_));              \
    } while (0)

/* The largest of a window's four values a, b (the next column), c (the
 * next row), d, and its offset (a's is ia, the others' follow with row
 * width W): compared in that order, the first of equal values stays. */
__attribute__((target("avx2"))) static inline void max4_avx2(const __m256 *a, const __m256 *b,
                                                             const __m256 *c, const __m256 *d,
                                                             __m256i ia, int32_t W, __m256 *m,
                                                             __m256i *at)
{
    __m256i ib = _mm256_add_epi32(ia, _mm256_set1_epi32(1));
    __m256i ic = _mm256_add_epi32(ia, _mm256_set1_epi32(W));
    __m256i id = _mm256_add_epi32(ic, _mm256_set1_epi32(1));
    *m = *a;
    *at = ia;
    TAKE_MAX_AVX2(*m, *at, *b, ib);
    TAKE_MAX_AVX2(*m, *at, *c, ic);
    TAKE_MAX_AVX2(*m, *at, *d, id);
}

/* The 2 x 2 row with AVX2: blocks of eight windows read their two rows as
 * contiguous vectors and split even and odd columns with shuffles; a last
 * short block does the same when 16 floats can be read there (up to end),
 * dropping the lanes past the row, and gathers its windows otherwise. The
 * same selections as the portable loop: the same results. */
__attribute__((target("avx2"))) static void max2_row_avx2(const float *r0, const float *r1,
                                                          size_t ow, int32_t base, int32_t W,
                                                          float *y, int32_t *arg, const float *end)
{
    const __m256i lane = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    size_t o0 = 0;
    float mv[8];
    int32_t av[8];
    for (; o0 < ow && (o0 + 8 <= ow || r1 + 2 * o0 + 16 <= end); o0 += 8) {
        __m256 r0l = _mm256_loadu_ps(r0 + 2 * o0), r0h = _mm256_loadu_ps(r0 + 2 * o0 + 8);
        __m256 r1l = _mm256_loadu_ps(r1 + 2 * o0), r1h = _mm256_loadu_ps(r1 + 2 * o0 + 8);
        /* shuffle gives lanes 0 2 8 10 | 4 6 12 14: the 64-bit permute puts them in order */
        __m256 a = _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r0l, r0h, 0x88)), 0xD8));
        __m256 b = _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r0l, r0h, 0xDD)), 0xD8));
        __m256 c = _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r1l, r1h, 0x88)), 0xD8));
        __m256 d = _mm256_castpd_ps(
            _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r1l, r1h, 0xDD)), 0xD8));
        __m256 m;
        __m256i at;
        max4_avx2(&a, &b, &c, &d,
                  _mm256_add_epi32(_mm256_set1_epi32(base + (int32_t)(2 * o0)), lane), W, &m, &at);
        if (o0 + 8 <= ow) {
            _mm256_storeu_ps(y + o0, m);
            _mm256_storeu_si256((__m256i *)(void *)(arg + o0), at);
        } else {
            _mm256_storeu_ps(mv, m);
            _mm256_storeu_si256((__m256i *)(void *)av, at);
            for (size_t l = 0; o0 + l < ow; l++) y[o0 + l] = mv[l], arg[o0 + l] = av[l];
        }
    }
    if (o0 >= ow) return;
    int32_t last = (int32_t)(ow - 1 - o0), cols[8];
    for (int l = 0; l < 8; l++) cols[l] = 2 * (l < last ? l : last);
    __m256i ci = _mm256_loadu_si256((const __m256i *)(const void *)cols);
    const float *p0 = r0 + 2 * o0, *p1 = r1 + 2 * o0;
    __m256 a = _mm256_i32gather_ps(p0, ci, 4), b = _mm256_i32gather_ps(p0 + 1, ci, 4);
    __m256 c = _mm256_i32gather_ps(p1, ci, 4), d = _mm256_i32gather_ps(p1 + 1, ci, 4);
    __m256 m;
    __m256i at;
    max4_avx2(&a, &b, &c, &d, _mm256_add_epi32(_mm256_set1_epi32(base + (int32_t)(2 * o0)), ci), W,
              &m, &at);
    _mm256_storeu_ps(mv, m);
    _mm256_storeu_si256((__m256i *)(void *)av, at);
    for (size_t l = 0; o0 + l < ow; l++) y[o0 + l] = mv[l], arg[o0 + l] = av[l];
}

static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
#endif

static void max_row(const float *restrict x, size_t stride, int32_t base, const pgeom *q,
                    float *restrict y, int32_t *restrict arg, const float *end)
{
    int32_t W = (int32_t)q->W;
#if defined(__x86_64__) || defined(__i386__)
    if (q->KH == 2 && q->KW == 2 && q->SW == 2 && has_avx2()) {
        max2_row_avx2(x, x + stride, q->OW, base, W, y, arg, end);
        return;
    }
#else
    (void)end;
#endif
    if (q->KH == 2 && q->KW == 2 && q->SW == 2) { /* the common 2 x 2 pool */
        const float *r0 = x, *r1 = x + stride;
        for (size_t o0 = 0; o0 < q->OW; o0 += 8) {
            dsc_f32x8 a, b, c, d;
            i32x8 ia, ib, ic, id;
            for (int l = 0; l < 8; l++) { /* lanes past the row repeat its last window */
                size_t ox = o0 + (size_t)l < q->OW ? o0 + (size_t)l : q->OW - 1;
                a[l] = r0[2 * ox], b[l] = r0[2 * ox + 1], c[l] = r1[2 * ox], d[l] = r1[2 * ox + 1];
                ia[l] = base + (int32_t)(2 * ox), ib[l] = ia[l] + 1, ic[l] = ia[l] + W;
                id[l] = ic[l] + 1;
            }
            dsc_f32x8 m = a;
            i32x8 at = ia;
            take_max(&m, &at, &b, &ib);
            take_max(&m, &at, &c, &ic);
            take_max(&m, &at, &d, &id);
            for (int l = 0; l < 8 && o0 + (size_t)l < q->OW; l++)
                y[o0 + (size_t)l] = m[l], arg[o0 + (size_t)l] = at[l];
        }
        return;
    }
    for (size_t ox = 0; ox < q->OW; ox++) {
        const float *p = x + ox * q->SW;
        int32_t off = 0;
        float m = p[0];
        for (size_t ky = 0; ky < q->KH; ky++)
            for (size_t kx = 0; kx < q->KW; kx++) {
                float v = p[ky * stride + kx];
                off = v > m ? (int32_t)(ky * q->W + kx) : off;
                m = v > m ? v : m;
            }
        y[ox] = m;
        arg[ox] = base + (int32_t)(ox * q->SW) + off;
    }
}

void dsc_maxpool_plane(const float *x, size_t stride, const dsc_pool_geom *q, float *y,
                       int32_t *arg, const float *end)
{
    for (size_t oy = 0; oy < q->OH; oy++)
        max_row(x + oy * q->SH * stride, stride, (int32_t)(oy * q->SH * q->W), q, y + oy * q->OW,
                arg + oy * q->OW, end);
}

static void maxpool_range(void *job_, size_t lo, size_t hi)
{
    const pool_job *job = job_;
    const pgeom *q = job->q;
    size_t in_plane = q->H * q->W, out_plane = q->OH * q->OW;
    for (size_t t = lo; t < hi; t++) {
        const float *xp = job->src + t * in_plane;
        float *yp = job->dst + t * out_plane;
        int32_t *ap = job->arg + t * out_plane;
        dsc_maxpool_plane(xp, q->W, q, yp, ap, job->src + q->B * q->C * in_plane);
    }
}

static void maxpool_forward(dsc_graph *g, dsc_gnode *n)
{
    pgeom q = pgeom_of(g, n);
    pool_job job = {&q, dsc_in(g, n, 0)->val.data, n->val.data, argmax_of(g, n)};
    pool_run(g, &q, maxpool_range, &job);
}

static void maxpool_back_range(void *job_, size_t lo, size_t hi)
{
    const pool_job *job = job_;
    const pgeom *q = job->q;
    size_t in_plane = q->H * q->W, out_plane = q->OH * q->OW;
    for (size_t t = lo; t < hi; t++) {
        float *dxp = job->dst + t * in_plane;
        const float *dyp = job->src + t * out_plane;
        const int32_t *ap = job->arg + t * out_plane;
        for (size_t o = 0; o < out_plane; o++) dxp[ap[o]] += dyp[o];
    }
}

/* The gradient goes to the value each window kept. */
static void maxpool_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *xn = dsc_in(g, n, 0);
    if (!xn->requires_grad) return;
    pgeom q = pgeom_of(g, n);
    pool_job job = {&q, n->grad.data, xn->grad.data, argmax_of(g, n)};
    pool_run(g, &q, maxpool_back_range, &job);
}

const dsc_op_def dsc_op_maxpool = {
    .name = "maxpool",
    .formula = "y = the largest x in each window",
    .derivative = "1 for the input that was largest in its window (the first, on a tie), 0 for "
                  "the others",
    .n_in = 1,
    .kind = DSC_OPK_LAYER,
    .shape = pool_shape,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .out = {"MaxPool", "kernel_shape=[KH,KW] strides=[SH,SW]", DSC_C_LAYER,
            /* One sample: x C x H x W, y C x OH x OW. */
            "for (size_t c = 0; c < C; c++) for (size_t oy = 0; oy < OH; oy++) for (size_t ox = "
            "0; ox < OW; ox++) { const float *p = x + (c * H + oy * SH) * W + ox * SW; float m "
            "= p[0]; for (size_t ky = 0; ky < KH; ky++) for (size_t kx = 0; kx < KW; kx++) if "
            "(p[ky * W + kx] > m) m = p[ky * W + kx]; y[(c * OH + oy) * OW + ox] = m; }"},
};

/* ---- average --------------------------------------------------------- */

static void avgpool_range(void *job_, size_t lo, size_t hi)
{
    const pool_job *job = job_;
    const pgeom *q = job->q;
    size_t in_plane = q->H * q->W, out_plane = q->OH * q->OW;
    float area = (float)(q->KH * q->KW);
    for (size_t t = lo; t < hi; t++) {
        const float *xp = job->src + t * in_plane;
        float *yp = job->dst + t * out_plane;
        for (size_t oy = 0; oy < q->OH; oy++)
            for (size_t ox = 0; ox < q->OW; ox++) {
                float s = 0.0f;
                for (size_t ky = 0; ky < q->KH; ky++)
                    for (size_t kx = 0; kx < q->KW; kx++)
                        s += xp[(oy * q->SH + ky) * q->W + ox * q->SW + kx];
                yp[oy * q->OW + ox] = s / area;
            }
    }
}

static void avgpool_forward(dsc_graph *g, dsc_gnode *n)
{
    pgeom q = pgeom_of(g, n);
    pool_job job = {&q, dsc_in(g, n, 0)->val.data, n->val.data, NULL};
    pool_run(g, &q, avgpool_range, &job);
}

static void avgpool_back_range(void *job_, size_t lo, size_t hi)
{
    const pool_job *job = job_;
    const pgeom *q = job->q;
    size_t in_plane = q->H * q->W, out_plane = q->OH * q->OW;
    float area = (float)(q->KH * q->KW);
    for (size_t t = lo; t < hi; t++) {
        float *dxp = job->dst + t * in_plane;
        const float *dyp = job->src + t * out_plane;
        for (size_t oy = 0; oy < q->OH; oy++)
            for (size_t ox = 0; ox < q->OW; ox++) {
                float d = dyp[oy * q->OW + ox] / area;
                for (size_t ky = 0; ky < q->KH; ky++)
                    for (size_t kx = 0; kx < q->KW; kx++)
                        dxp[(oy * q->SH + ky) * q->W + ox * q->SW + kx] += d;
            }
    }
}

static void avgpool_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *xn = dsc_in(g, n, 0);
    if (!xn->requires_grad) return;
    pgeom q = pgeom_of(g, n);
    pool_job job = {&q, n->grad.data, xn->grad.data, NULL};
    pool_run(g, &q, avgpool_back_range, &job);
}

const dsc_op_def dsc_op_avgpool = {
    .name = "avgpool",
    .formula = "y = the mean of x over each window",
    .derivative = "1/(KH KW) for every input of the window",
    .n_in = 1,
    .kind = DSC_OPK_LAYER,
    .shape = pool_shape,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .out = {"AveragePool", "kernel_shape=[KH,KW] strides=[SH,SW]", DSC_C_LAYER,
            "for (size_t c = 0; c < C; c++) for (size_t oy = 0; oy < OH; oy++) for (size_t ox = "
            "0; ox < OW; ox++) { const float *p = x + (c * H + oy * SH) * W + ox * SW; float s "
            "= 0.0f; for (size_t ky = 0; ky < KH; ky++) for (size_t kx = 0; kx < KW; kx++) s += "
            "p[ky * W + kx]; y[(c * OH + oy) * OW + ox] = s / (float)(KH * KW); }"},
};

/* ---- flatten --------------------------------------------------------- */

/* The same numbers, seen as one row of features: rows are already stored
 * row-major, so this is a copy (and backward an add). */
static dsc_status flatten_shape(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *x = dsc_in(g, n, 0);
    n->rows = x->rows;
    n->cols = x->cols;
    n->batch_rows = x->batch_rows;
    dsc_shape_flat(n);
    return DSC_OK;
}

static void flatten_forward(dsc_graph *g, dsc_gnode *n)
{
    memcpy(n->val.data, dsc_in(g, n, 0)->val.data, dsc_size(g, n) * sizeof(float));
}

static void add_range(void *job_, size_t lo, size_t hi)
{
    const pool_job *job = job_;
    for (size_t i = lo; i < hi; i++) job->dst[i] += job->src[i];
}

static void flatten_backward(dsc_graph *g, dsc_gnode *n)
{
    dsc_gnode *in = dsc_in(g, n, 0);
    if (!in->requires_grad) return;
    size_t size = dsc_size(g, n);
    pool_job job = {NULL, n->grad.data, in->grad.data, NULL};
    dsc_parallel_for(dsc_threads(g->threads), size > PAR_MIN, size, PAR_MIN, add_range, &job);
}

const dsc_op_def dsc_op_flatten = {
    .name = "flatten",
    .formula = "the sample's values as one row",
    .derivative = "1",
    .n_in = 1,
    .kind = DSC_OPK_LAYER,
    .shape = flatten_shape,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .out = {"Flatten", "axis=1", DSC_C_NONE, NULL},
};
