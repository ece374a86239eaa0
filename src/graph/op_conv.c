/* Convolution (2-D, and 1-D as a height of 1), forward beside backward,
 * through the packed matrix multiply.
 *
 * x is batch x C x H x W (or batch x C x L), w is F x (C KH KW): one row
 * per filter, each row-major over (c, ky, kx), as PyTorch's Conv2d weight;
 * b is 1 x F. Output y[n][f][oy][ox] = b[f] + sum over c, ky, kx of
 * w[f][c][ky][kx] x[n][c][oy SH + ky - PH][ox SW + kx - PW], with x 0
 * outside the image (zero padding); OH = (H + 2 PH - KH) / SH + 1.
 *
 * im2col: the patches of the whole batch become one matrix `cols`, K = C KH
 * KW rows by B P columns (P = OH OW positions, sample after sample), so the
 * forward pass is one product yt = w cols (F x B P), and backward two more:
 * dw += dyt cols^T and dcols = w^T dyt, which col2im adds back onto the
 * image. One large product per step (not one per sample) keeps the kernel
 * busy and its fixed blocking makes the result the same for any thread
 * count; the gathers and scatters split by rows, filters or (sample,
 * channel) planes, each computed in a fixed order.
 *
 * Each row of cols holds exactly the OH x OW positions (PE = P). An
 * "extended" layout (each row one contiguous run of the input, the W - OW
 * columns past each output row computed and dropped) was used until the
 * copies were made cheap: without padding and with rows of at most 16 a
 * patch row is OH masked loads and whole-vector stores, and col2im loads
 * and stores each image row once (AVX-512); dropping the wasted columns
 * took 14 % off the three products on the issue-15 network and 8 % off a
 * training step's CPU time.
 *
 * The batch goes through in chunks of a few samples, sized so that a
 * chunk's patch matrix stays in the core's cache (about 1 MB) between
 * being written and being multiplied: for the whole batch it would be tens
 * of MB, written to memory and read back, which cost more than the
 * multiplications. Backward builds each chunk's patches again rather than
 * keeping the batch's.
 *
 * Threads: the batch is cut into up to CONV_GROUPS groups of consecutive
 * samples, and a thread takes a whole group: its chunks' patches, products
 * (on that thread alone) and bias, in its own buffers. One hand-off per
 * pass, not a few per chunk: on a machine whose two cores are far apart
 * (a round trip of ~350 ns) the fine-grained way (the threads sharing each
 * chunk's product) made two threads slower than one. Backward sums each
 * group's weight and bias gradients apart, then adds the groups' sums in
 * group order. Groups and chunks come from the shapes alone, never from
 * the thread count, so the results do not depend on it.
 *
 * The op keeps, after its value, for each group: cols (K x CH PE), yt (F x
 * CH PE, also dyt in backward) and dcols (K x CH PE), CH samples a chunk
 * (fewer when the graph's largest batch gives its groups fewer); and each
 * group's gradient sums (F K + F); a graph without gradients keeps cols
 * and yt only. Running allocates nothing.
 *
 * Filters with few weights (a first layer on images) skip all this and are
 * computed directly (conv_direct.c).
 *
 * Parameters: ip[0..5] = KH, KW, SH, SW, PH, PW; ip[6] = 1 when computed
 * directly (chosen by the shape alone); ip[7] = CH, samples per chunk. */
#include <string.h>

#include "../tensor/tensor.h"
#include "conv_internal.h"

#define PAR_MIN 16384 /* operations below which threads cost more than they save */
/* A chunk's patch matrix holds about this many floats (1 MB): it stays in
 * cache between im2col and the product. */
#define CHUNK_FLOATS (1u << 18)
/* Groups of samples the batch is cut into, each one thread's piece: enough
 * for two threads to even out when one gets less of its core. */
#define CONV_GROUPS 8

typedef dsc_conv_geom geom;

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* A patch row without padding, stride 1 along the row: out[oy OW + ox] =
 * in[oy SH W + ox], OH runs of OW floats, each one masked load and store
 * when OW <= 16 (a call to memcpy, or a loop's scalar end, cost more than
 * the copy). */
__attribute__((target("avx512f"))) static void
runs_copy_avx512(float *out, const float *in, size_t step, size_t OH, size_t OW, int last)
{
    if (OW > 16) {
        for (size_t oy = 0; oy < OH; oy++)
            for (size_t i = 0; i < OW; i++) out[oy * OW + i] = in[oy * step + i];
        return;
    }
    /* Whole 16-float stores: the floats past a run are written over by the
     * runs after it (a row's runs go in order, and the next row after
     * them), except past the chunk's last run: a masked store there. */
    __mmask16 m = (__mmask16)((1u << OW) - 1);
    size_t n = last ? OH - 1 : OH;
    for (size_t oy = 0; oy < n; oy++)
        _mm512_storeu_ps(out + oy * OW, _mm512_maskz_loadu_ps(m, in + oy * step));
    if (last) _mm512_mask_storeu_ps(out + n * OW, m, _mm512_maskz_loadu_ps(m, in + n * step));
}

/* The way back: io[oy SH W + ox] += d[oy OW + ox], rows in order. */
__attribute__((target("avx512f"))) static void runs_add_avx512(float *io, const float *d,
                                                               size_t step, size_t OH, size_t OW)
{
    if (OW > 16) {
        for (size_t oy = 0; oy < OH; oy++)
            for (size_t i = 0; i < OW; i++) io[oy * step + i] += d[oy * OW + i];
        return;
    }
    __mmask16 m = (__mmask16)((1u << OW) - 1);
    for (size_t oy = 0; oy < OH; oy++) {
        __m512 a = _mm512_maskz_loadu_ps(m, io + oy * step);
        __m512 b = _mm512_maskz_loadu_ps(m, d + oy * OW);
        _mm512_mask_storeu_ps(io + oy * step, m, _mm512_add_ps(a, b));
    }
}

/* col2im of one (sample, channel) plane without padding, stride 1 along
 * rows, rows of at most 16: each plane row is loaded once, gets every
 * tap's run that reads it (shifted into place by a permute), kernel rows
 * then columns in order, and is stored once; adding run by run into
 * memory made loads wait on the masked stores before them. Every element
 * still gets its (ky, kx) contributions in order: the same bits. in: tap
 * (c, 0, 0)'s run of dcols at this sample; taps `tap` floats apart. */
__attribute__((target("avx512f"))) static void col2im_rows_avx512(float *plane, const float *in,
                                                                  size_t tap, const geom *q)
{
    __mmask16 mw = (__mmask16)((1u << q->W) - 1), mo = (__mmask16)((1u << q->OW) - 1);
    __m512i idx[16];
    __mmask16 sh[16];
    for (size_t kx = 0; kx < q->KW; kx++) {
        int32_t v[16];
        for (int l = 0; l < 16; l++) v[l] = l >= (int)kx ? l - (int)kx : 0;
        idx[kx] = _mm512_loadu_si512(v);
        sh[kx] = (__mmask16)(mo << kx);
    }
    size_t last = (q->OH - 1) * q->SH + q->KH; /* rows past it are read by no tap */
    for (size_t iy = 0; iy < last && iy < q->H; iy++) {
        float *row = plane + iy * q->W;
        __m512 r = _mm512_maskz_loadu_ps(mw, row);
        for (size_t ky = 0; ky < q->KH && ky <= iy; ky++) {
            size_t oy = (iy - ky) / q->SH;
            if (oy * q->SH != iy - ky || oy >= q->OH) continue;
            for (size_t kx = 0; kx < q->KW; kx++) {
                __m512 d = _mm512_maskz_loadu_ps(mo, in + (ky * q->KW + kx) * tap + oy * q->OW);
                r = _mm512_mask_add_ps(r, sh[kx], r, _mm512_permutexvar_ps(idx[kx], d));
            }
        }
        _mm512_mask_storeu_ps(row, mw, r);
    }
}
#endif

static void runs_copy(float *out, const float *in, size_t step, size_t OH, size_t OW, int wide,
                      int last)
{
#if defined(__x86_64__) || defined(__i386__)
    if (wide) {
        runs_copy_avx512(out, in, step, OH, OW, last);
        return;
    }
#endif
    (void)wide, (void)last;
    for (size_t oy = 0; oy < OH; oy++)
        for (size_t i = 0; i < OW; i++) out[oy * OW + i] = in[oy * step + i];
}

static void runs_add(float *io, const float *d, size_t step, size_t OH, size_t OW, int wide)
{
#if defined(__x86_64__) || defined(__i386__)
    if (wide) {
        runs_add_avx512(io, d, step, OH, OW);
        return;
    }
#endif
    (void)wide;
    for (size_t oy = 0; oy < OH; oy++)
        for (size_t i = 0; i < OW; i++) io[oy * step + i] += d[oy * OW + i];
}

/* The input's channels x height x width (a signal: height 1). */
static void in_chw(const dsc_gnode *x, size_t *c, size_t *h, size_t *w)
{
    *c = x->dims[0];
    *h = x->rank == 3 ? x->dims[1] : 1;
    *w = x->rank == 3 ? x->dims[2] : x->dims[1];
}

static geom geom_of(const dsc_graph *g, const dsc_gnode *n)
{
    const dsc_gnode *x = &g->nodes[n->in[0]];
    geom q;
    in_chw(x, &q.C, &q.H, &q.W);
    q.B = g->batch;
    q.F = n->dims[0];
    q.KH = (size_t)n->ip[0], q.KW = (size_t)n->ip[1];
    q.SH = (size_t)n->ip[2], q.SW = (size_t)n->ip[3];
    q.PH = (size_t)n->ip[4], q.PW = (size_t)n->ip[5];
    q.OH = (q.H + 2 * q.PH - q.KH) / q.SH + 1;
    q.OW = (q.W + 2 * q.PW - q.KW) / q.SW + 1;
    q.P = q.OH * q.OW;
    q.K = q.C * q.KH * q.KW;
    q.E = 0; /* patches are OH x OW (conv_pool keeps the extended layout) */
    q.PE = q.P;
    return q;
}

/* Output size of a window sweep, 0 when the window does not fit. */
size_t dsc_window_out(size_t in, size_t k, size_t s, size_t pad)
{
    if (k == 0 || s == 0 || in + 2 * pad < k) return 0;
    return (in + 2 * pad - k) / s + 1;
}

static dsc_status conv_shape(dsc_graph *g, dsc_gnode *n)
{
    const dsc_gnode *x = dsc_in(g, n, 0), *w = dsc_in(g, n, 1), *b = dsc_in(g, n, 2);
    if (!x->batch_rows || (x->rank != 2 && x->rank != 3))
        return dsc_fail(DSC_ESHAPE,
                        "conv: the input needs one sample per row shaped channels x height x "
                        "width (or channels x length), not rank %d",
                        x->rank);
    size_t C, H, W;
    in_chw(x, &C, &H, &W);
    size_t KH = (size_t)n->ip[0], KW = (size_t)n->ip[1], SH = (size_t)n->ip[2],
           SW = (size_t)n->ip[3], PH = (size_t)n->ip[4], PW = (size_t)n->ip[5];
    size_t OH = dsc_window_out(H, KH, SH, PH), OW = dsc_window_out(W, KW, SW, PW);
    if (!OH || !OW)
        return dsc_fail(DSC_ESHAPE,
                        "conv: a %zu x %zu kernel (stride %zu x %zu, padding %zu x %zu) does "
                        "not fit a %zu x %zu input",
                        KH, KW, SH, SW, PH, PW, H, W);
    size_t K = C * KH * KW, F = w->rows;
    if (w->batch_rows || w->cols != K || b->batch_rows || b->rows != 1 || b->cols != F)
        return dsc_fail(DSC_ESHAPE,
                        "conv: needs weights F x %zu (C x KH x KW = %zu x %zu x %zu) and a "
                        "bias 1 x F; got %zu x %zu and %zu x %zu",
                        K, C, KH, KW, w->rows, w->cols, b->rows, b->cols);
    n->batch_rows = 1;
    n->rows = 0;
    n->rank = x->rank;
    n->dims[0] = F;
    n->dims[1] = x->rank == 3 ? OH : OW;
    n->dims[2] = x->rank == 3 ? OW : 0;
    n->cols = F * OH * OW;
    n->ip[6] = K <= DSC_CONV_DIRECT_K && OW <= DSC_CONV_DIRECT_ROW;
    /* im2col: cols and yt; dcols unless the input is data (no gradient to
     * pass). The direct way keeps nothing. */
    size_t PE = OH * OW;
    size_t CH = CHUNK_FLOATS / (K * PE);
    n->ip[7] = (int64_t)(CH ? CH : 1);
    n->keep = 0; /* conv_plan, when the largest batch is known */
    return DSC_OK;
}

/* Where the kept buffers start, for the largest batch. */
static float *kept(const dsc_graph *g, const dsc_gnode *n)
{
    return n->val.data + g->max_batch * n->cols;
}

/* The number of groups for a batch of B, and group k's samples [*s0, *s1). */
static size_t n_groups(size_t B) { return B < CONV_GROUPS ? B : CONV_GROUPS; }

/* Group k's buffers (cols, yt, dcols) and gradient sums (dw F x K, then db
 * F); those of backward only in a graph that takes gradients. */
typedef struct {
    float *cols, *yt, *dcols, *dw, *db;
} group_bufs;

/* Samples a group's chunk holds at most: the graph's largest batch, not a
 * training batch, sizes the groups (a 1-row prediction graph kept 8 groups
 * of a 128-sample batch's buffers, 17 MB). For a smaller batch the groups
 * are fewer and hold no more samples. */
static size_t room_samples(const dsc_graph *g, const dsc_gnode *n)
{
    size_t B = g->max_batch, G = n_groups(B), per = (B + G - 1) / G, ch = (size_t)n->ip[7];
    return per < ch ? per : ch;
}

static size_t group_floats(const dsc_graph *g, const dsc_gnode *n, const geom *q)
{
    size_t room = room_samples(g, n) * q->PE;
    return (q->K + q->F) * room + (g->no_grad ? 0 : q->K * room + q->F * q->K + q->F);
}

static group_bufs buffers(const dsc_graph *g, const dsc_gnode *n, const geom *q, size_t k)
{
    size_t room = room_samples(g, n) * q->PE;
    group_bufs b;
    b.cols = kept(g, n) + k * group_floats(g, n, q);
    b.yt = b.cols + q->K * room;
    b.dcols = b.yt + q->F * room;
    b.dw = b.dcols + q->K * room;
    b.db = b.dw + q->F * q->K;
    return b;
}

static void conv_plan(dsc_graph *g, dsc_gnode *n)
{
    if (n->ip[6]) {
        n->keep = 0;
        return;
    }
    geom q = geom_of(g, n);
    n->keep = n_groups(g->max_batch) * group_floats(g, n, &q);
}

static void group_samples(size_t B, size_t k, size_t *s0, size_t *s1)
{
    size_t G = n_groups(B);
    *s0 = k * B / G;
    *s1 = (k + 1) * B / G;
}

typedef dsc_conv_job conv_job;

/* Pieces of about DSC_CONV_PIECE operations: each take of a piece is a
 * round trip between cores (~350 ns where two vCPUs are far apart), and a
 * plane of a first layer is well under a microsecond of work. */
void dsc_conv_run(int threads, size_t n, size_t work, dsc_range_fn fn, dsc_conv_job *job)
{
    size_t piece = work >= DSC_CONV_PIECE ? 1 : DSC_CONV_PIECE / (work ? work : 1);
    dsc_parallel_for(threads, n * work > PAR_MIN, n, piece, fn, job);
}

/* cols[k][n P + oy OW + ox] = x[n][c][oy SH + ky - PH][ox SW + kx - PW] (0
 * outside), k = (c KH + ky) KW + kx: one (k, sample) slab per task. */
static void im2col_range(void *job_, size_t lo, size_t hi)
{
    const conv_job *job = job_;
    const geom *q = job->q;
    const float *x = job->src;
    float *cols = job->dst;
    size_t BP = q->B * q->PE;
    for (size_t t = lo; t < hi; t++) {
        size_t k = t / q->B, s = t % q->B;
        size_t c = k / (q->KH * q->KW), ky = k / q->KW % q->KH, kx = k % q->KW;
        const float *xc = x + (s * q->C + c) * q->H * q->W;
        float *out = cols + k * BP + s * q->PE;
        if (!q->PH && !q->PW && q->SW == 1) {
            runs_copy(out, xc + ky * q->W + kx, q->SH * q->W, q->OH, q->OW, job->wide,
                      s + 1 == q->B);
            continue;
        }
        for (size_t oy = 0; oy < q->OH; oy++, out += q->OW) {
            size_t iy = oy * q->SH + ky; /* + PH */
            if (iy < q->PH || iy - q->PH >= q->H) {
                memset(out, 0, q->OW * sizeof(float));
                continue;
            }
            const float *row = xc + (iy - q->PH) * q->W;
            if (q->SW == 1) { /* a run of the row, zeros where it is padding */
                size_t in0 = kx < q->PW ? q->PW - kx : 0;               /* first ox inside */
                size_t in1 = kx < q->W + q->PW ? q->W + q->PW - kx : 0; /* one past the last */
                if (in1 > q->OW) in1 = q->OW;
                if (in0 > in1) in0 = in1;
                /* plain loops: the rows are short (11 floats in a second
                 * layer on 28 x 28 images), where a call to memcpy costs
                 * more than the copy */
                const float *src = row + in0 + kx - q->PW;
                for (size_t i = 0; i < in0; i++) out[i] = 0.0f;
                for (size_t i = in0; i < in1; i++) out[i] = src[i - in0];
                for (size_t i = in1; i < q->OW; i++) out[i] = 0.0f;
                continue;
            }
            for (size_t ox = 0; ox < q->OW; ox++) {
                size_t ix = ox * q->SW + kx;
                out[ox] = ix < q->PW || ix - q->PW >= q->W ? 0.0f : row[ix - q->PW];
            }
        }
    }
}

/* dx[n][c][iy][ix] += dcols at every position that read it: one (sample,
 * channel) plane per task, its kernel offsets and positions in a fixed
 * order. */
static void col2im_range(void *job_, size_t lo, size_t hi)
{
    const conv_job *job = job_;
    const geom *q = job->q;
    const float *dcols = job->src;
    float *dx = job->dst;
    size_t BP = q->B * q->PE;
    for (size_t t = lo; t < hi; t++) {
        size_t s = t / q->C, c = t % q->C;
        float *plane = dx + (s * q->C + c) * q->H * q->W;
        if (job->wide && !q->PH && !q->PW && q->SW == 1 && q->W <= 16) {
#if defined(__x86_64__) || defined(__i386__)
            col2im_rows_avx512(plane, dcols + c * q->KH * q->KW * BP + s * q->PE, BP, q);
            continue;
#endif
        }
        for (size_t ky = 0; ky < q->KH; ky++)
            for (size_t kx = 0; kx < q->KW; kx++) {
                const float *in = dcols + ((c * q->KH + ky) * q->KW + kx) * BP + s * q->PE;
                if (!q->PH && !q->PW && q->SW == 1) {
                    runs_add(plane + ky * q->W + kx, in, q->SH * q->W, q->OH, q->OW, job->wide);
                    continue;
                }
                for (size_t oy = 0; oy < q->OH; oy++, in += q->OW) {
                    size_t iy = oy * q->SH + ky;
                    if (iy < q->PH || iy - q->PH >= q->H) continue;
                    float *row = plane + (iy - q->PH) * q->W;
                    for (size_t ox = 0; ox < q->OW; ox++) {
                        size_t ix = ox * q->SW + kx;
                        if (ix >= q->PW && ix - q->PW < q->W) row[ix - q->PW] += in[ox];
                    }
                }
            }
    }
}

/* y[n][f][p] = yt[f][n P + p] + b[f]: one (sample, filter) row per task. */
static void bias_range(void *job_, size_t lo, size_t hi)
{
    const conv_job *job = job_;
    const geom *q = job->q;
    size_t BP = q->B * q->PE;
    for (size_t t = lo; t < hi; t++) {
        size_t s = t / q->F, f = t % q->F;
        const float *src = job->src + f * BP + s * q->PE;
        float *dst = job->dst + (s * q->F + f) * q->P, bf = job->bias[f];
        for (size_t p = 0; p < q->P; p++) dst[p] = src[p] + bf;
    }
}

/* dyt[f][n P + p] = dy[n][f][p]: one (filter, sample) row per task. */
static void gather_range(void *job_, size_t lo, size_t hi)
{
    const conv_job *job = job_;
    const geom *q = job->q;
    size_t BP = q->B * q->PE;
    for (size_t t = lo; t < hi; t++) {
        size_t f = t / q->B, s = t % q->B;
        float *dst = job->dst + f * BP + s * q->PE;
        const float *src = job->src + (s * q->F + f) * q->P;
        memcpy(dst, src, q->P * sizeof(float));
    }
}

/* db[f] (+)= the sum of dyt's row f (eight float lanes, then in double:
 * dsc_conv_plane_sum; one chain of double additions was a third of this
 * op's own backward time); `first` sets. */
static void bias_grad(const geom *q, const float *dyt, float *db, int first)
{
    size_t BP = q->B * q->PE;
    for (size_t f = 0; f < q->F; f++) {
        double s = dsc_conv_plane_sum(dyt + f * BP, BP);
        db[f] = first ? (float)s : db[f] + (float)s;
    }
}

/* What a group needs: the op, its graph, the whole batch's geometry. */
typedef struct {
    const dsc_graph *g;
    const dsc_gnode *n;
    const geom *q;
    const float *x, *w, *b, *dy;
    float *y, *dx;
    int dw, db; /* which gradients to take */
} group_job;

/* Runs fn(j, buffers, chunk geometry, first sample, first of its group)
 * over the chunks of the groups [lo, hi), in order. */
typedef void (*chunk_fn)(const group_job *j, const group_bufs *gb, const geom *c, size_t s,
                         int first);

static void each_chunk(const group_job *j, size_t lo, size_t hi, chunk_fn fn)
{
    const geom *q = j->q;
    size_t ch = (size_t)j->n->ip[7];
    for (size_t k = lo; k < hi; k++) {
        group_bufs gb = buffers(j->g, j->n, q, k);
        size_t s0, s1;
        group_samples(q->B, k, &s0, &s1);
        for (size_t s = s0; s < s1; s += ch) {
            geom c = *q;
            c.B = s1 - s < ch ? s1 - s : ch;
            fn(j, &gb, &c, s, s == s0);
        }
    }
}

/* A chunk's patches, its product (on this thread) and the bias, into y. */
static void forward_chunk(const group_job *j, const group_bufs *gb, const geom *c, size_t s,
                          int first)
{
    (void)first;
    size_t BP = c->B * c->PE;
    conv_job im = {
        .q = c, .src = j->x + s * c->C * c->H * c->W, .dst = gb->cols, .wide = dsc_conv_wide()};
    im2col_range(&im, 0, c->K * c->B);
    dsc_gemm(0, 0, c->F, BP, c->K, 1.0f, j->w, c->K, gb->cols, BP, 0.0f, gb->yt, BP, 1);
    conv_job out = {.q = c, .src = gb->yt, .bias = j->b, .dst = j->y + s * c->F * c->P};
    bias_range(&out, 0, c->B * c->F);
}

static void forward_groups(void *job_, size_t lo, size_t hi)
{
    each_chunk(job_, lo, hi, forward_chunk);
}

/* Runs fn over the batch's groups, in parallel when the work is worth it. */
static void run_groups(const dsc_graph *g, const geom *q, dsc_range_fn fn, group_job *job)
{
    size_t G = n_groups(q->B);
    int par = (double)q->B * (double)q->P * (double)q->K * (double)q->F > 4.0 * PAR_MIN;
    dsc_parallel_for(dsc_threads(g->threads), par, G, 1, fn, job);
}

static void conv_forward(dsc_graph *g, dsc_gnode *n)
{
    geom q = geom_of(g, n);
    const float *x = dsc_in(g, n, 0)->val.data, *w = dsc_in(g, n, 1)->val.data,
                *b = dsc_in(g, n, 2)->val.data;
    if (n->ip[6]) {
        conv_job d = {.q = &q, .src = x, .bias = b, .w = w, .dst = n->val.data};
        dsc_conv_direct_forward(dsc_threads(g->threads), &d);
        return;
    }
    group_job job = {.g = g, .n = n, .q = &q, .x = x, .w = w, .b = b, .y = n->val.data};
    run_groups(g, &q, forward_groups, &job);
}

/* A chunk of backward: dy gathered into dyt, the group's dw and db sums
 * (set by its first chunk), and dx through dcols (each sample's own). */
static void backward_chunk(const group_job *j, const group_bufs *gb, const geom *c, size_t s,
                           int first)
{
    size_t BP = c->B * c->PE;
    conv_job gather = {.q = c, .src = j->dy + s * c->F * c->P, .dst = gb->yt};
    gather_range(&gather, 0, c->F * c->B);
    if (j->dw) { /* the chunk's patches again: they are not kept */
        conv_job im = {
            .q = c, .src = j->x + s * c->C * c->H * c->W, .dst = gb->cols, .wide = dsc_conv_wide()};
        im2col_range(&im, 0, c->K * c->B);
        dsc_gemm(0, 1, c->F, c->K, BP, 1.0f, gb->yt, BP, gb->cols, BP, first ? 0.0f : 1.0f, gb->dw,
                 c->K, 1);
    }
    if (j->db) bias_grad(c, gb->yt, gb->db, first);
    if (j->dx) {
        dsc_gemm(1, 0, c->K, BP, c->F, 1.0f, j->w, c->K, gb->yt, BP, 0.0f, gb->dcols, BP, 1);
        conv_job back = {.q = c,
                         .src = gb->dcols,
                         .dst = j->dx + s * c->C * c->H * c->W,
                         .wide = dsc_conv_wide()};
        col2im_range(&back, 0, c->B * c->C);
    }
}

static void backward_groups(void *job_, size_t lo, size_t hi)
{
    each_chunk(job_, lo, hi, backward_chunk);
}

/* dst[i] += the groups' sums of element i, added in group order. */
static void add_groups(const dsc_graph *g, const dsc_gnode *n, const geom *q, int bias, float *dst)
{
    size_t G = n_groups(q->B), len = bias ? q->F : q->F * q->K;
    for (size_t i = 0; i < len; i++) {
        group_bufs gb = buffers(g, n, q, 0);
        float v = (bias ? gb.db : gb.dw)[i];
        for (size_t k = 1; k < G; k++) {
            gb = buffers(g, n, q, k);
            v += (bias ? gb.db : gb.dw)[i];
        }
        dst[i] += v;
    }
}

static void conv_backward(dsc_graph *g, dsc_gnode *n)
{
    geom q = geom_of(g, n);
    dsc_gnode *xn = dsc_in(g, n, 0), *wn = dsc_in(g, n, 1), *bn = dsc_in(g, n, 2);
    if (n->ip[6]) {
        conv_job d = {.q = &q,
                      .src = xn->val.data,
                      .w = wn->val.data,
                      .dy = n->grad.data,
                      .dw = wn->requires_grad ? wn->grad.data : NULL,
                      .db = bn->requires_grad ? bn->grad.data : NULL};
        dsc_conv_direct_backward(dsc_threads(g->threads), &d,
                                 xn->requires_grad ? xn->grad.data : NULL);
        return;
    }
    group_job job = {.g = g,
                     .n = n,
                     .q = &q,
                     .x = xn->val.data,
                     .w = wn->val.data,
                     .dy = n->grad.data,
                     .dx = xn->requires_grad && xn->op != DSC_OP_INPUT ? xn->grad.data : NULL,
                     .dw = wn->requires_grad,
                     .db = bn->requires_grad};
    run_groups(g, &q, backward_groups, &job);
    if (job.dw) add_groups(g, n, &q, 0, wn->grad.data);
    if (job.db) add_groups(g, n, &q, 1, bn->grad.data);
}

const dsc_op_def dsc_op_conv = {
    .name = "conv",
    .formula = "y[f][o] = b[f] + sum over c, ky, kx of w[f][c][ky][kx] x[c][o S + k - P] (the "
               "filter slid over the input, stride S, zero padding P)",
    .derivative = "dy/dw[f][c][ky][kx] = the input under that weight, summed over every position "
                  "o the filter visited; dy/db[f] = 1 at each position; dy/dx = the weights "
                  "that touched x",
    .n_in = 3,
    .kind = DSC_OPK_LAYER,
    .shape = conv_shape,
    .forward = conv_forward,
    .backward = conv_backward,
    .plan = conv_plan,
    .out = {"Conv", "kernel_shape=[KH,KW] strides=[SH,SW] pads=[PH,PW,PH,PW]", DSC_C_LAYER,
            /* One sample: x C x H x W, w F x C x KH x KW, b F, y F x OH x OW. */
            "for (size_t f = 0; f < F; f++) for (size_t oy = 0; oy < OH; oy++) for (size_t ox = "
            "0; ox < OW; ox++) { float s = 0.0f; for (size_t c = 0; c < C; c++) for (size_t ky = "
            "0; ky < KH; ky++) for (size_t kx = 0; kx < KW; kx++) { long iy = (long)(oy * SH + "
            "ky) - (long)PH, ix = (long)(ox * SW + kx) - (long)PW; if (iy >= 0 && iy < (long)H "
            "&& ix >= 0 && ix < (long)W) s += w[((f * C + c) * KH + ky) * KW + kx] * x[(c * H + "
            "iy) * W + ix]; } y[(f * OH + oy) * OW + ox] = s + b[f]; }"},
};
