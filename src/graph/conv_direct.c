/* Convolution computed directly, for filters with few weights (C KH KW up
 * to DSC_CONV_DIRECT_K: a first layer on images with one or three
 * channels). There im2col gains nothing: a product over 9 terms cannot
 * keep the matrix kernel busy, and the patch matrix and the transposes
 * around it cost more memory traffic than the arithmetic. Each output row
 * is accumulated in a row buffer over all taps, then stored once.
 *
 * Every output is b[f] plus its taps in (c, ky, kx) order; a weight's
 * gradient sums each sample's dot product (eight float lanes, in order)
 * into a double, samples in order; the bias's the same. Work splits by
 * (sample, filter), by filter, or by (sample, channel): each result has one
 * owner and one order, the same for any thread count. Internal to the conv
 * op (op_conv.c). */
#include <string.h>

#include "conv_internal.h"

/* The valid outputs [*lo, *hi) of a row for tap kx: those whose input
 * column ox SW + kx - PW lies in [0, W). */
static void valid_cols(const dsc_conv_geom *q, size_t kx, size_t *lo, size_t *hi)
{
    size_t a = kx < q->PW ? (q->PW - kx + q->SW - 1) / q->SW : 0;
    size_t b = q->W + q->PW > kx ? (q->W + q->PW - kx - 1) / q->SW + 1 : 0;
    if (b > q->OW) b = q->OW;
    *lo = a < b ? a : b;
    *hi = b;
}

/* Outputs [ox, ox + 8 cnt) of a row without padding or stride: every tap
 * reads inside the input, so each block of eight outputs keeps all its taps
 * in one register, and cnt blocks go together so that their additions do
 * not wait on each other (the same operations, in the same order, as the
 * general loop). rows[c KH + ky] is the input row tap (c, ky, .) reads. */
static inline __attribute__((always_inline)) void blocks(const dsc_conv_geom *q,
                                                         const float *const *rows, const float *w,
                                                         float bias, float *y, size_t ox, int cnt)
{
    dsc_f32x8 v[4];
    for (int j = 0; j < cnt; j++)
        v[j] = (dsc_f32x8){bias, bias, bias, bias, bias, bias, bias, bias};
    size_t taps = q->C * q->KH;
    for (size_t r = 0; r < taps; r++)
        for (size_t kx = 0; kx < q->KW; kx++) {
            float wk = w[r * q->KW + kx];
            for (int j = 0; j < cnt; j++) {
                dsc_f32x8 in;
                memcpy(&in, rows[r] + ox + 8 * (size_t)j + kx, sizeof in);
                v[j] += wk * in;
            }
        }
    for (int j = 0; j < cnt; j++) memcpy(y + ox + 8 * (size_t)j, &v[j], sizeof v[j]);
}

static void row_plain(const dsc_conv_geom *q, const float *const *rows, const float *w, float bias,
                      float *y)
{
    size_t ox = 0;
    for (; ox + 32 <= q->OW; ox += 32) blocks(q, rows, w, bias, y, ox, 4);
    switch ((q->OW - ox) / 8) {
    case 3: blocks(q, rows, w, bias, y, ox, 3), ox += 24; break;
    case 2: blocks(q, rows, w, bias, y, ox, 2), ox += 16; break;
    case 1: blocks(q, rows, w, bias, y, ox, 1), ox += 8; break;
    default: break;
    }
    size_t taps = q->C * q->KH;
    for (; ox < q->OW; ox++) {
        float v = bias;
        for (size_t r = 0; r < taps; r++)
            for (size_t kx = 0; kx < q->KW; kx++) v += w[r * q->KW + kx] * rows[r][ox + kx];
        y[ox] = v;
    }
}

/* Stride 1 and no padding (the usual first layer): output (oy, ox) reads
 * x[c][oy + ky][ox + kx], so over the "extended" index i = oy W + ox every
 * tap is the same shifted run of the sample, x[i + (c H + ky) W + kx]. A
 * whole plane is then one long loop instead of short rows; the W - OW
 * columns past each row's end are computed and dropped (i stops at (OH - 1)
 * W + OW, so no read leaves the sample). Each output is still the bias plus
 * its taps in (c, ky, kx) order: the same bits as the row loops. The loop
 * body is compiled for AVX-512 and for the build's own target and picked
 * at run time, as the matrix multiply's kernels are. */
#define EXT_MAX DSC_CONV_EXT_MAX /* extended plane lengths computed in one go */

#define PLANE_FORWARD_BODY                                                                         \
    size_t i = 0;                                                                                  \
    for (; i + 32 <= n; i += 32) {                                                                 \
        dsc_f32x8 v0 = {b, b, b, b, b, b, b, b}, v1 = v0, v2 = v0, v3 = v0;                        \
        for (size_t t = 0; t < taps; t++) {                                                        \
            const float *p = x + off[t] + i;                                                       \
            dsc_f32x8 a0, a1, a2, a3, wv = {w[t], w[t], w[t], w[t], w[t], w[t], w[t], w[t]};       \
            memcpy(&a0, p, 32), memcpy(&a1, p + 8, 32), memcpy(&a2, p + 16, 32);                   \
            memcpy(&a3, p + 24, 32);                                                               \
            v0 += wv * a0, v1 += wv * a1, v2 += wv * a2, v3 += wv * a3;                            \
        }                                                                                          \
        memcpy(out + i, &v0, 32), memcpy(out + i + 8, &v1, 32), memcpy(out + i + 16, &v2, 32);     \
        memcpy(out + i + 24, &v3, 32);                                                             \
    }                                                                                              \
    for (; i + 8 <= n; i += 8) {                                                                   \
        dsc_f32x8 v = {b, b, b, b, b, b, b, b};                                                    \
        for (size_t t = 0; t < taps; t++) {                                                        \
            dsc_f32x8 a, wv = {w[t], w[t], w[t], w[t], w[t], w[t], w[t], w[t]};                    \
            memcpy(&a, x + off[t] + i, 32);                                                        \
            v += wv * a;                                                                           \
        }                                                                                          \
        memcpy(out + i, &v, 32);                                                                   \
    }                                                                                              \
    for (; i < n; i++) {                                                                           \
        float v = b;                                                                               \
        for (size_t t = 0; t < taps; t++) v += w[t] * x[off[t] + i];                               \
        out[i] = v;                                                                                \
    }

static void plane_forward_plain(const float *x, const size_t *off, const float *w, size_t taps,
                                float b, float *out, size_t n)
{
    PLANE_FORWARD_BODY
}

/* The dot products of dy (extended, zeros past each row's end) with every
 * tap's run, one accumulator per tap: dy is read once for all taps. Each
 * sum runs in sixteen float lanes (as lanes 0-7 and 8-15: two eight-lane
 * vectors here, one 512-bit register in the AVX-512 body), then eight
 * lanes for what is left, then one; the lanes are added in double, in
 * order. So every body gives the same bits. */
#define WGRAD_TAIL                                                                                 \
    for (; i + 8 <= n; i += 8) {                                                                   \
        dsc_f32x8 g;                                                                               \
        memcpy(&g, dy + i, 32);                                                                    \
        for (size_t t = 0; t < taps; t++) {                                                        \
            dsc_f32x8 a;                                                                           \
            memcpy(&a, x + off[t] + i, 32);                                                        \
            lo[t] += g * a;                                                                        \
        }                                                                                          \
    }                                                                                              \
    for (; i < n; i++)                                                                             \
        for (size_t t = 0; t < taps; t++) tail[t] += dy[i] * x[off[t] + i];                        \
    for (size_t t = 0; t < taps; t++) {                                                            \
        double s = tail[t];                                                                        \
        for (int j = 0; j < 8; j++) s += lo[t][j];                                                 \
        for (int j = 0; j < 8; j++) s += hi[t][j];                                                 \
        acc[t] += s;                                                                               \
    }

/* The bodies below are inlined twice: with taps = 9 (one 3 x 3 channel,
 * the usual first layer) a constant, so that the nine accumulators live in
 * registers (with a run-time count they were kept in memory, and each
 * addition waited on a store and a load: 7 % of a training step), and with
 * any count. The same operations in the same order either way. */
static inline __attribute__((always_inline)) void wgrad_plain_body(const float *x,
                                                                   const size_t *off,
                                                                   const float *dy, size_t taps,
                                                                   double *acc, size_t n)
{
    dsc_f32x8 lo[DSC_CONV_DIRECT_K], hi[DSC_CONV_DIRECT_K];
    float tail[DSC_CONV_DIRECT_K];
    for (size_t t = 0; t < taps; t++) lo[t] = hi[t] = (dsc_f32x8){0}, tail[t] = 0.0f;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        dsc_f32x8 g0, g1;
        memcpy(&g0, dy + i, 32), memcpy(&g1, dy + i + 8, 32);
        for (size_t t = 0; t < taps; t++) {
            dsc_f32x8 a0, a1;
            memcpy(&a0, x + off[t] + i, 32), memcpy(&a1, x + off[t] + i + 8, 32);
            lo[t] += g0 * a0, hi[t] += g1 * a1;
        }
    }
    WGRAD_TAIL
}

static void plane_wgrad_plain(const float *x, const size_t *off, const float *dy, size_t taps,
                              double *acc, size_t n)
{
    if (taps == 9)
        wgrad_plain_body(x, off, dy, 9, acc, n);
    else
        wgrad_plain_body(x, off, dy, taps, acc, n);
}

#if defined(__x86_64__) || defined(__i386__)
typedef float f32x16 __attribute__((vector_size(64)));

/* Sixteen lanes (a 512-bit register) where PLANE_FORWARD_BODY has eight:
 * each output still b plus its taps in order (lanes do not mix, products
 * are not fused: -ffp-contract=off), and the last n % 8 outputs take the
 * same scalar loop, so the same bits as the eight-lane body. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
forward_avx512_body(const float *x, const size_t *off, const float *w, size_t taps, float b,
                    float *out, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        f32x16 v0 = {b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b}, v1 = v0, v2 = v0, v3 = v0;
        for (size_t t = 0; t < taps; t++) {
            const float *p = x + off[t] + i;
            f32x16 a0, a1, a2, a3;
            float wt = w[t];
            memcpy(&a0, p, 64), memcpy(&a1, p + 16, 64), memcpy(&a2, p + 32, 64);
            memcpy(&a3, p + 48, 64);
            v0 += wt * a0, v1 += wt * a1, v2 += wt * a2, v3 += wt * a3;
        }
        memcpy(out + i, &v0, 64), memcpy(out + i + 16, &v1, 64), memcpy(out + i + 32, &v2, 64);
        memcpy(out + i + 48, &v3, 64);
    }
    for (; i + 16 <= n; i += 16) {
        f32x16 v = {b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b};
        for (size_t t = 0; t < taps; t++) {
            f32x16 a;
            memcpy(&a, x + off[t] + i, 64);
            v += w[t] * a;
        }
        memcpy(out + i, &v, 64);
    }
    for (; i + 8 <= n; i += 8) {
        dsc_f32x8 v = {b, b, b, b, b, b, b, b};
        for (size_t t = 0; t < taps; t++) {
            dsc_f32x8 a;
            memcpy(&a, x + off[t] + i, 32);
            v += w[t] * a;
        }
        memcpy(out + i, &v, 32);
    }
    for (; i < n; i++) {
        float v = b;
        for (size_t t = 0; t < taps; t++) v += w[t] * x[off[t] + i];
        out[i] = v;
    }
}

/* (taps = 9 a constant: the weights and offsets stay in registers.) */
__attribute__((target("avx512f"))) static void plane_forward_avx512(const float *x,
                                                                    const size_t *off,
                                                                    const float *w, size_t taps,
                                                                    float b, float *out, size_t n)
{
    if (taps == 9)
        forward_avx512_body(x, off, w, 9, b, out, n);
    else
        forward_avx512_body(x, off, w, taps, b, out, n);
}

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
wgrad_avx512_body(const float *x, const size_t *off, const float *dy, size_t taps, double *acc,
                  size_t n)
{
    f32x16 l[DSC_CONV_DIRECT_K];
    dsc_f32x8 lo[DSC_CONV_DIRECT_K], hi[DSC_CONV_DIRECT_K];
    float tail[DSC_CONV_DIRECT_K];
    for (size_t t = 0; t < taps; t++) l[t] = (f32x16){0}, tail[t] = 0.0f;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        f32x16 g;
        memcpy(&g, dy + i, 64);
        for (size_t t = 0; t < taps; t++) {
            f32x16 a;
            memcpy(&a, x + off[t] + i, 64);
            l[t] += g * a;
        }
    }
    for (size_t t = 0; t < taps; t++)
        memcpy(&lo[t], &l[t], 32), memcpy(&hi[t], (float *)&l[t] + 8, 32);
    WGRAD_TAIL
}

__attribute__((target("avx512f"))) static void plane_wgrad_avx512(const float *x, const size_t *off,
                                                                  const float *dy, size_t taps,
                                                                  double *acc, size_t n)
{
    if (taps == 9)
        wgrad_avx512_body(x, off, dy, 9, acc, n);
    else
        wgrad_avx512_body(x, off, dy, taps, acc, n);
}
#endif

/* The sum of an extended plane (zeros past each row's end): eight float
 * lanes over i in order, as a weight's dot product (PLANE_WGRAD_BODY), then
 * the short tail and the lanes added in double. A running double sum over
 * the positions was one long chain of dependent additions: 2,700 cycles a
 * plane, 4,096 planes a step on the issue-15 network. */
double dsc_conv_plane_sum(const float *dy, size_t n)
{
    dsc_f32x8 l = {0};
    float tail = 0.0f;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        dsc_f32x8 g;
        memcpy(&g, dy + i, 32);
        l += g;
    }
    for (; i < n; i++) tail += dy[i];
    double s = tail;
    for (int j = 0; j < 8; j++) s += l[j];
    return s;
}

int dsc_conv_wide(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

void dsc_conv_plane_forward(const float *x, const size_t *off, const float *w, size_t taps, float b,
                            float *out, size_t n, int wide)
{
#if defined(__x86_64__) || defined(__i386__)
    if (wide) {
        plane_forward_avx512(x, off, w, taps, b, out, n);
        return;
    }
#endif
    (void)wide;
    plane_forward_plain(x, off, w, taps, b, out, n);
}

void dsc_conv_plane_wgrad(const float *x, const size_t *off, const float *dy, size_t taps,
                          double *acc, size_t n, int wide)
{
#if defined(__x86_64__) || defined(__i386__)
    if (wide) {
        plane_wgrad_avx512(x, off, dy, taps, acc, n);
        return;
    }
#endif
    (void)wide;
    plane_wgrad_plain(x, off, dy, taps, acc, n);
}

/* The plain case fits the extended loops: stride 1, no padding, a plane
 * small enough for the stack buffer. */
int dsc_conv_extended(const dsc_conv_geom *q)
{
    return q->SH == 1 && q->SW == 1 && !q->PH && !q->PW && q->P &&
           (q->OH - 1) * q->W + q->OW <= EXT_MAX;
}

/* Tap t = (c, ky, kx) reads x at i + off[t]. */
void dsc_conv_tap_offsets(const dsc_conv_geom *q, size_t *off)
{
    for (size_t c = 0; c < q->C; c++)
        for (size_t ky = 0; ky < q->KH; ky++)
            for (size_t kx = 0; kx < q->KW; kx++)
                off[(c * q->KH + ky) * q->KW + kx] = (c * q->H + ky) * q->W + kx;
}

/* y[n][f] for the tasks (n, f) in [lo, hi), by the extended loop. */
static void ext_forward_range(void *job_, size_t lo, size_t hi)
{
    const dsc_conv_job *job = job_;
    const dsc_conv_geom *q = job->q;
    size_t off[DSC_CONV_DIRECT_K], n = (q->OH - 1) * q->W + q->OW;
    float ext[EXT_MAX];
    int wide = dsc_conv_wide();
    dsc_conv_tap_offsets(q, off);
    for (size_t t = lo; t < hi; t++) {
        size_t s = t / q->F, f = t % q->F;
        dsc_conv_plane_forward(job->src + s * q->C * q->H * q->W, off, job->w + f * q->K, q->K,
                               job->bias[f], ext, n, wide);
        float *y = job->dst + (s * q->F + f) * q->P;
        for (size_t oy = 0; oy < q->OH; oy++)
            memcpy(y + oy * q->OW, ext + oy * q->W, q->OW * sizeof(float));
    }
}

void dsc_conv_filter_grads(const dsc_conv_geom *q, const float *x, size_t f,
                           dsc_conv_plane_fill fill, const void *ctx, float *dw, float *db)
{
    size_t off[DSC_CONV_DIRECT_K], n = (q->OH - 1) * q->W + q->OW;
    float ext[EXT_MAX];
    double acc[DSC_CONV_DIRECT_K], bsum = 0.0;
    int wide = dsc_conv_wide();
    dsc_conv_tap_offsets(q, off);
    for (size_t k = 0; k < q->K; k++) acc[k] = 0.0;
    for (size_t s = 0; s < q->B; s++) {
        fill(ctx, s, f, ext);
        if (dw) dsc_conv_plane_wgrad(x + s * q->C * q->H * q->W, off, ext, q->K, acc, n, wide);
        if (db) bsum += dsc_conv_plane_sum(ext, n);
    }
    if (dw)
        for (size_t k = 0; k < q->K; k++) dw[f * q->K + k] += (float)acc[k];
    if (db) db[f] += (float)bsum;
}

/* Sample s's gradient of filter f's plane, extended: dy's rows W apart,
 * zeros between. */
static void fill_plane(const void *job_, size_t s, size_t f, float *ext)
{
    const dsc_conv_job *job = job_;
    const dsc_conv_geom *q = job->q;
    const float *dy = job->dy + (s * q->F + f) * q->P;
    for (size_t oy = 0; oy < q->OH; oy++) {
        memcpy(ext + oy * q->W, dy + oy * q->OW, q->OW * sizeof(float));
        if (oy + 1 < q->OH) memset(ext + oy * q->W + q->OW, 0, (q->W - q->OW) * sizeof(float));
    }
}

/* dw[f] and db[f] for the filters f in [lo, hi), by the extended loop. */
static void ext_wgrad_range(void *job_, size_t lo, size_t hi)
{
    const dsc_conv_job *job = job_;
    for (size_t f = lo; f < hi; f++)
        dsc_conv_filter_grads(job->q, job->src, f, fill_plane, job, job->dw, job->db);
}

/* y[n][f] for the tasks (n, f) in [lo, hi). */
static void direct_forward_range(void *job_, size_t lo, size_t hi)
{
    const dsc_conv_job *job = job_;
    const dsc_conv_geom *q = job->q;
    float acc[DSC_CONV_DIRECT_ROW];
    size_t ca[DSC_CONV_DIRECT_K], cb[DSC_CONV_DIRECT_K]; /* valid columns per tap (KW <= K) */
    for (size_t kx = 0; kx < q->KW; kx++) valid_cols(q, kx, &ca[kx], &cb[kx]);
    for (size_t t = lo; t < hi; t++) {
        size_t s = t / q->F, f = t % q->F;
        const float *w = job->w + f * q->K;
        float *y = job->dst + (s * q->F + f) * q->P;
        if (!q->PH && !q->PW && q->SW == 1) {
            const float *rows[DSC_CONV_DIRECT_K];
            for (size_t oy = 0; oy < q->OH; oy++) {
                for (size_t c = 0; c < q->C; c++)
                    for (size_t ky = 0; ky < q->KH; ky++)
                        rows[c * q->KH + ky] =
                            job->src + ((s * q->C + c) * q->H + oy * q->SH + ky) * q->W;
                row_plain(q, rows, w, job->bias[f], y + oy * q->OW);
            }
            continue;
        }
        for (size_t oy = 0; oy < q->OH; oy++) {
            for (size_t ox = 0; ox < q->OW; ox++) acc[ox] = job->bias[f];
            for (size_t c = 0; c < q->C; c++)
                for (size_t ky = 0; ky < q->KH; ky++) {
                    size_t iy = oy * q->SH + ky;
                    if (iy < q->PH || iy - q->PH >= q->H) continue;
                    const float *row = job->src + ((s * q->C + c) * q->H + iy - q->PH) * q->W;
                    for (size_t kx = 0; kx < q->KW; kx++) {
                        float wk = w[(c * q->KH + ky) * q->KW + kx];
                        size_t a = ca[kx], b = cb[kx];
                        if (a == b) continue;
                        const float *in = row + a * q->SW + kx - q->PW; /* ox = a */
                        float *out = acc + a;
                        if (q->SW == 1)
                            for (size_t i = 0; i < b - a; i++) out[i] += wk * in[i];
                        else
                            for (size_t i = 0; i < b - a; i++) out[i] += wk * in[i * q->SW];
                    }
                }
            memcpy(y + oy * q->OW, acc, q->OW * sizeof(float));
        }
    }
}

void dsc_conv_direct_forward(int threads, dsc_conv_job *job)
{
    const dsc_conv_geom *q = job->q;
    dsc_conv_run(threads, q->B * q->F, q->P * q->K,
                 dsc_conv_extended(q) ? ext_forward_range : direct_forward_range, job);
}

/* The sum of a[i] b[i stride] over i in [0, n) in eight lanes, added in
 * order. */
static double dot8(const float *a, const float *b, size_t stride, size_t n)
{
    dsc_f32x8 l = {0};
    size_t i = 0;
    if (stride == 1)
        for (; i + 8 <= n; i += 8) {
            dsc_f32x8 va, vb;
            memcpy(&va, a + i, sizeof va);
            memcpy(&vb, b + i, sizeof vb);
            l += va * vb;
        }
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i] * b[i * stride];
    double s = tail;
    for (int k = 0; k < 8; k++) s += l[k];
    return s;
}

/* One sample's dot products of the output gradient dy (OH x OW) with every
 * tap's input, without padding or stride, into acc[k]: each row of dy is
 * read once for all taps, eight columns at a time, one accumulator per tap
 * (independent additions). rows(oy)[c KH + ky] as in row_plain. */
static void wgrad_plain(const dsc_conv_geom *q, const float *x, const float *dy, double *acc)
{
    dsc_f32x8 l[DSC_CONV_DIRECT_K];
    float tail[DSC_CONV_DIRECT_K];
    for (size_t k = 0; k < q->K; k++) l[k] = (dsc_f32x8){0}, tail[k] = 0.0f;
    size_t taps = q->C * q->KH;
    for (size_t oy = 0; oy < q->OH; oy++) {
        const float *g = dy + oy * q->OW;
        size_t ox = 0;
        for (; ox + 8 <= q->OW; ox += 8) {
            dsc_f32x8 gv;
            memcpy(&gv, g + ox, sizeof gv);
            for (size_t r = 0; r < taps; r++) {
                const float *row = x + ((r / q->KH) * q->H + oy + r % q->KH) * q->W + ox;
                for (size_t kx = 0; kx < q->KW; kx++) {
                    dsc_f32x8 in;
                    memcpy(&in, row + kx, sizeof in);
                    l[r * q->KW + kx] += gv * in;
                }
            }
        }
        for (; ox < q->OW; ox++)
            for (size_t r = 0; r < taps; r++) {
                const float *row = x + ((r / q->KH) * q->H + oy + r % q->KH) * q->W + ox;
                for (size_t kx = 0; kx < q->KW; kx++) tail[r * q->KW + kx] += g[ox] * row[kx];
            }
    }
    for (size_t k = 0; k < q->K; k++) {
        double s = tail[k];
        for (int j = 0; j < 8; j++) s += l[k][j];
        acc[k] += s;
    }
}

/* dw[f][k] for the filters f in [lo, hi), and db[f]. */
static void direct_wgrad_range(void *job_, size_t lo, size_t hi)
{
    const dsc_conv_job *job = job_;
    const dsc_conv_geom *q = job->q;
    double acc[DSC_CONV_DIRECT_K];
    for (size_t f = lo; f < hi; f++) {
        for (size_t k = 0; k < q->K; k++) acc[k] = 0.0;
        double bsum = 0.0;
        int plain = !q->PH && !q->PW && q->SW == 1;
        for (size_t s = 0; s < q->B; s++) {
            const float *dy = job->dy + (s * q->F + f) * q->P;
            if (plain && job->dw) wgrad_plain(q, job->src + s * q->C * q->H * q->W, dy, acc);
            for (size_t k = 0; k < q->K && !plain; k++) {
                size_t c = k / (q->KH * q->KW), ky = k / q->KW % q->KH, kx = k % q->KW;
                size_t a, b;
                valid_cols(q, kx, &a, &b);
                double sum = 0.0;
                for (size_t oy = 0; oy < q->OH && a < b; oy++) {
                    size_t iy = oy * q->SH + ky;
                    if (iy < q->PH || iy - q->PH >= q->H) continue;
                    const float *in = job->src + ((s * q->C + c) * q->H + iy - q->PH) * q->W +
                                      a * q->SW + kx - q->PW;
                    sum += dot8(dy + oy * q->OW + a, in, q->SW, b - a);
                }
                acc[k] += sum;
            }
            if (job->db) {
                double t = 0.0;
                for (size_t p = 0; p < q->P; p++) t += dy[p];
                bsum += t;
            }
        }
        if (job->dw)
            for (size_t k = 0; k < q->K; k++) job->dw[f * q->K + k] += (float)acc[k];
        if (job->db) job->db[f] += (float)bsum;
    }
}

/* dx[n][c] for the tasks (n, c) in [lo, hi): each weight's share of every
 * output gradient that saw the input, filters and taps in order. */
static void direct_xgrad_range(void *job_, size_t lo, size_t hi)
{
    const dsc_conv_job *job = job_;
    const dsc_conv_geom *q = job->q;
    for (size_t t = lo; t < hi; t++) {
        size_t s = t / q->C, c = t % q->C;
        float *dx = job->dst + (s * q->C + c) * q->H * q->W;
        for (size_t f = 0; f < q->F; f++) {
            const float *dy = job->dy + (s * q->F + f) * q->P;
            for (size_t ky = 0; ky < q->KH; ky++)
                for (size_t kx = 0; kx < q->KW; kx++) {
                    float wk = job->w[f * q->K + (c * q->KH + ky) * q->KW + kx];
                    size_t a, b;
                    valid_cols(q, kx, &a, &b);
                    for (size_t oy = 0; oy < q->OH && a < b; oy++) {
                        size_t iy = oy * q->SH + ky;
                        if (iy < q->PH || iy - q->PH >= q->H) continue;
                        float *row = dx + (iy - q->PH) * q->W + a * q->SW + kx - q->PW;
                        const float *g = dy + oy * q->OW + a;
                        for (size_t i = 0; i < b - a; i++) row[i * q->SW] += wk * g[i];
                    }
                }
        }
    }
}

void dsc_conv_direct_backward(int threads, dsc_conv_job *job, float *dx)
{
    const dsc_conv_geom *q = job->q;
    if (job->dw || job->db)
        dsc_conv_run(threads, q->F, q->B * q->P * q->K,
                     dsc_conv_extended(q) ? ext_wgrad_range : direct_wgrad_range, job);
    if (dx) {
        dsc_conv_job back = *job;
        back.dst = dx;
        dsc_conv_run(threads, q->B * q->C, q->F * q->P * q->KH * q->KW, direct_xgrad_range, &back);
    }
}
