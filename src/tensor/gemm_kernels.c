/* The GEMM micro-kernels and their packers: portable C, AVX2+FMA and
 * AVX-512F, and the run-time choice between them (gemm_internal.h).
 *
 * A micro-kernel keeps an mr x nr tile of C in registers over kc steps of
 * k, reading A and B from panels packed in exactly the order it needs:
 * panel a holds kc groups of mr values (rows of op(A)), panel b kc groups
 * of nr values (columns of op(B)). After its k block it folds the tile into
 * C as alpha * acc + beta * C (beta == 0: C is not read).
 *
 * Every kernel computes each element of C as one chain of multiply-adds
 * over the k block, in k order: the AVX2 and AVX-512 kernels both fuse
 * them (FMA), so they give the same bits whatever their tile; the portable
 * kernel rounds the product and the sum separately (the build forbids
 * contraction), so it can differ from them in the last bits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DSC_GEMM_X86 1
#else
#define DSC_GEMM_X86 0
#endif

/* ---- packing (every kernel) ------------------------------------------ */

void dsc_gemm_pack_a(int trans_a, const float *A, size_t lda, size_t i0, size_t rows, size_t p0,
                     size_t kc, size_t mr, float *dst)
{
    if (rows < mr) memset(dst, 0, sizeof(float) * mr * kc);
    if (!trans_a) {
        const float *src = A + i0 * lda + p0;
        for (size_t p = 0; p < kc; p++)
            for (size_t r = 0; r < rows; r++) dst[p * mr + r] = src[r * lda + p];
    } else {
        const float *src = A + p0 * lda + i0;
        for (size_t p = 0; p < kc; p++) memcpy(dst + p * mr, src + p * lda, sizeof(float) * rows);
    }
}

void dsc_gemm_pack_b(int trans_b, const float *B, size_t ldb, size_t j0, size_t cols, size_t p0,
                     size_t kc, size_t nr, float *dst)
{
    if (cols < nr) memset(dst, 0, sizeof(float) * nr * kc);
    if (!trans_b) {
        const float *src = B + p0 * ldb + j0;
        for (size_t p = 0; p < kc; p++) memcpy(dst + p * nr, src + p * ldb, sizeof(float) * cols);
    } else {
        for (size_t c = 0; c < cols; c++) {
            const float *src = B + (j0 + c) * ldb + p0;
            for (size_t p = 0; p < kc; p++) dst[p * nr + c] = src[p];
        }
    }
}

/* ---- portable -------------------------------------------------------- */

enum { P_MR = 6, P_NR = 16 };

/* Eight-lane vector values (base.h), so any target compiles the tile to
 * its own vectors (as a loop over a float array GCC did not: 6 GFLOP/s);
 * each lane still rounds the product and the sum separately. */
static void kernel_portable(size_t kc, const float *restrict a, const float *restrict b,
                            float *restrict c, size_t ldc, float alpha, float beta)
{
    dsc_f32x8 acc[P_MR][2];
    memset(acc, 0, sizeof acc);
    for (size_t p = 0; p < kc; p++) {
        dsc_f32x8 b0, b1;
        memcpy(&b0, b + p * P_NR, sizeof b0);
        memcpy(&b1, b + p * P_NR + 8, sizeof b1);
        for (int r = 0; r < P_MR; r++) {
            float ar = a[p * P_MR + (size_t)r];
            acc[r][0] += ar * b0;
            acc[r][1] += ar * b1;
        }
    }
    for (int r = 0; r < P_MR; r++) {
        float *cr = c + (size_t)r * ldc;
        for (int h = 0; h < 2; h++) {
            dsc_f32x8 v = alpha * acc[r][h];
            if (beta != 0.0f) {
                dsc_f32x8 old;
                memcpy(&old, cr + 8 * h, sizeof old);
                v += beta * old;
            }
            memcpy(cr + 8 * h, &v, sizeof v);
        }
    }
}

static const dsc_gemm_kernel portable = {"portable", P_MR, P_NR, kernel_portable, NULL, NULL, NULL};

#if DSC_GEMM_X86
/* ---- AVX2 + FMA ------------------------------------------------------ */

/* 6 rows x 16 columns is 12 ymm accumulators, leaving room for two B
 * vectors and an A broadcast within AVX2's 16 registers. */
enum { A2_MR = 6, A2_NR = 16 };

__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t kc, const float *restrict a,
                                                            const float *restrict b,
                                                            float *restrict c, size_t ldc,
                                                            float alpha, float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    /* Warm the C rows the epilogue will touch while the k loop runs. */
    for (int r = 0; r < A2_MR; r++) {
        _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)r * ldc + A2_NR - 1), _MM_HINT_T0);
    }

#define DSC_GEMM_STEP(off)                                                                         \
    do {                                                                                           \
        __m256 b0 = _mm256_load_ps(b + (off)*A2_NR);                                               \
        __m256 b1 = _mm256_load_ps(b + (off)*A2_NR + 8);                                           \
        __m256 av = _mm256_broadcast_ss(a + (off)*A2_MR + 0);                                      \
        c00 = _mm256_fmadd_ps(av, b0, c00);                                                        \
        c01 = _mm256_fmadd_ps(av, b1, c01);                                                        \
        av = _mm256_broadcast_ss(a + (off)*A2_MR + 1);                                             \
        c10 = _mm256_fmadd_ps(av, b0, c10);                                                        \
        c11 = _mm256_fmadd_ps(av, b1, c11);                                                        \
        av = _mm256_broadcast_ss(a + (off)*A2_MR + 2);                                             \
        c20 = _mm256_fmadd_ps(av, b0, c20);                                                        \
        c21 = _mm256_fmadd_ps(av, b1, c21);                                                        \
        av = _mm256_broadcast_ss(a + (off)*A2_MR + 3);                                             \
        c30 = _mm256_fmadd_ps(av, b0, c30);                                                        \
        c31 = _mm256_fmadd_ps(av, b1, c31);                                                        \
        av = _mm256_broadcast_ss(a + (off)*A2_MR + 4);                                             \
        c40 = _mm256_fmadd_ps(av, b0, c40);                                                        \
        c41 = _mm256_fmadd_ps(av, b1, c41);                                                        \
        av = _mm256_broadcast_ss(a + (off)*A2_MR + 5);                                             \
        c50 = _mm256_fmadd_ps(av, b0, c50);                                                        \
        c51 = _mm256_fmadd_ps(av, b1, c51);                                                        \
    } while (0)

    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(b + 16 * A2_NR), _MM_HINT_T0);
        DSC_GEMM_STEP(0);
        DSC_GEMM_STEP(1);
        DSC_GEMM_STEP(2);
        DSC_GEMM_STEP(3);
        a += 4 * A2_MR;
        b += 4 * A2_NR;
    }
    for (; p < kc; p++) {
        DSC_GEMM_STEP(0);
        a += A2_MR;
        b += A2_NR;
    }
#undef DSC_GEMM_STEP

    /* Row by row without an array of accumulators, which would make the
     * compiler spill them all to the stack first. */
    const __m256 va = _mm256_set1_ps(alpha);
    if (beta == 0.0f) {
#define DSC_GEMM_PUT(r, lo, hi)                                                                    \
    do {                                                                                           \
        _mm256_storeu_ps(c + (r)*ldc, _mm256_mul_ps(va, lo));                                      \
        _mm256_storeu_ps(c + (r)*ldc + 8, _mm256_mul_ps(va, hi));                                  \
    } while (0)
        DSC_GEMM_PUT(0, c00, c01);
        DSC_GEMM_PUT(1, c10, c11);
        DSC_GEMM_PUT(2, c20, c21);
        DSC_GEMM_PUT(3, c30, c31);
        DSC_GEMM_PUT(4, c40, c41);
        DSC_GEMM_PUT(5, c50, c51);
#undef DSC_GEMM_PUT
    } else {
        const __m256 vb = _mm256_set1_ps(beta);
#define DSC_GEMM_PUT(r, lo, hi)                                                                    \
    do {                                                                                           \
        float *cr = c + (r)*ldc;                                                                   \
        __m256 o0 = _mm256_mul_ps(vb, _mm256_loadu_ps(cr));                                        \
        __m256 o1 = _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8));                                    \
        _mm256_storeu_ps(cr, _mm256_fmadd_ps(va, lo, o0));                                         \
        _mm256_storeu_ps(cr + 8, _mm256_fmadd_ps(va, hi, o1));                                     \
    } while (0)
        DSC_GEMM_PUT(0, c00, c01);
        DSC_GEMM_PUT(1, c10, c11);
        DSC_GEMM_PUT(2, c20, c21);
        DSC_GEMM_PUT(3, c30, c31);
        DSC_GEMM_PUT(4, c40, c41);
        DSC_GEMM_PUT(5, c50, c51);
#undef DSC_GEMM_PUT
    }
}

/* Packing for the two cases that are a transpose in memory (rows of A,
 * columns of B^T): 8x8 blocks go through registers instead of element by
 * element, which otherwise costs as much as the multiply on small k. */
__attribute__((target("avx2,fma"))) static inline void transpose8(__m256 v[8])
{
    __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
    __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    v[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    v[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    v[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    v[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    v[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    v[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    v[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    v[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* A full panel of mr rows of an untransposed A (mr <= 16): as
 * dsc_gemm_pack_a, eight rows at a time through transpose8. */
__attribute__((target("avx2,fma"))) static void
pack_a_rows(const float *A, size_t lda, size_t i0, size_t p0, size_t kc, size_t mr, float *dst)
{
    const float *src = A + i0 * lda + p0;
    size_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (size_t r0 = 0; r0 < mr; r0 += 8) {
            size_t cnt = mr - r0 < 8 ? mr - r0 : 8;
            __m256 v[8];
            for (size_t r = 0; r < 8; r++)
                v[r] = r < cnt ? _mm256_loadu_ps(src + (r0 + r) * lda + p) : _mm256_setzero_ps();
            transpose8(v);
            /* cnt floats per k step, nothing past them (the next group's). */
            __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cnt),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (size_t q = 0; q < 8; q++) {
                float *d = dst + (p + q) * mr + r0;
                if (cnt == 8)
                    _mm256_storeu_ps(d, v[q]);
                else
                    _mm256_maskstore_ps(d, mask, v[q]);
            }
        }
    }
    for (; p < kc; p++)
        for (size_t r = 0; r < mr; r++) dst[p * mr + r] = src[r * lda + p];
}

static void pack_a_rows_6(const float *A, size_t lda, size_t i0, size_t p0, size_t kc, float *dst)
{
    pack_a_rows(A, lda, i0, p0, kc, A2_MR, dst);
}

/* A full panel of nr columns of op(B) = B^T (nr a multiple of 8): as
 * dsc_gemm_pack_b, through transpose8. */
__attribute__((target("avx2,fma"))) static void
pack_b_cols(const float *B, size_t ldb, size_t j0, size_t p0, size_t kc, size_t nr, float *dst)
{
    const float *src = B + j0 * ldb + p0;
    size_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        for (size_t h = 0; h < nr; h += 8) {
            __m256 v[8];
            for (size_t c = 0; c < 8; c++) v[c] = _mm256_loadu_ps(src + (h + c) * ldb + p);
            transpose8(v);
            for (size_t q = 0; q < 8; q++) _mm256_store_ps(dst + (p + q) * nr + h, v[q]);
        }
    }
    for (; p < kc; p++)
        for (size_t c = 0; c < nr; c++) dst[p * nr + c] = src[c * ldb + p];
}

static void pack_b_cols_16(const float *B, size_t ldb, size_t j0, size_t p0, size_t kc, float *dst)
{
    pack_b_cols(B, ldb, j0, p0, kc, A2_NR, dst);
}

static const dsc_gemm_kernel avx2 = {"avx2+fma",    A2_MR,          A2_NR, kernel_avx2,
                                     pack_a_rows_6, pack_b_cols_16, NULL};

/* ---- AVX-512F -------------------------------------------------------- */

/* 12 rows x 32 columns: 24 zmm accumulators, two B vectors and an A
 * broadcast within AVX-512's 32 registers. Per k step 2 loads and 12
 * broadcasts feed 24 multiply-adds, so the loads keep up with two FMA
 * pipes; 12 rows cut a minibatch of 128 into 11 panels with 4 rows to
 * spare. */
enum { A5_MR = 12, A5_NR = 32 };

#define A5_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"))) static void kernel_avx512(size_t kc, const float *restrict a,
                                                             const float *restrict b,
                                                             float *restrict c, size_t ldc,
                                                             float alpha, float beta)
{
#define A5_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
    A5_ROWS(A5_DECL)
#undef A5_DECL
    for (int r = 0; r < A5_MR; r++) {
        _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)r * ldc + A5_NR - 1), _MM_HINT_T0);
    }
#define A5_FMA(r)                                                                                  \
    {                                                                                              \
        __m512 av = _mm512_set1_ps(a[(off)*A5_MR + r]);                                            \
        c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                                \
        c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                                                \
    }
#define A5_STEP(o)                                                                                 \
    do {                                                                                           \
        enum { off = (o) };                                                                        \
        __m512 b0 = _mm512_load_ps(b + (off)*A5_NR);                                               \
        __m512 b1 = _mm512_load_ps(b + (off)*A5_NR + 16);                                          \
        A5_ROWS(A5_FMA)                                                                            \
    } while (0)
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(b + 8 * A5_NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * A5_NR + 16), _MM_HINT_T0);
        A5_STEP(0);
        A5_STEP(1);
        A5_STEP(2);
        A5_STEP(3);
        a += 4 * A5_MR;
        b += 4 * A5_NR;
    }
    for (; p < kc; p++) {
        A5_STEP(0);
        a += A5_MR;
        b += A5_NR;
    }
#undef A5_STEP
#undef A5_FMA
    /* As the AVX2 kernel: alpha * acc, or alpha * acc + (beta * c) fused. */
    const __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
#define A5_PUT(r)                                                                                  \
    _mm512_storeu_ps(c + (size_t)(r)*ldc, _mm512_mul_ps(va, c##r##0));                             \
    _mm512_storeu_ps(c + (size_t)(r)*ldc + 16, _mm512_mul_ps(va, c##r##1));
        A5_ROWS(A5_PUT)
#undef A5_PUT
    } else {
        const __m512 vb = _mm512_set1_ps(beta);
#define A5_PUT(r)                                                                                  \
    {                                                                                              \
        float *cr = c + (size_t)(r)*ldc;                                                           \
        __m512 o0 = _mm512_mul_ps(vb, _mm512_loadu_ps(cr));                                        \
        __m512 o1 = _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16));                                   \
        _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, c##r##0, o0));                                    \
        _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(va, c##r##1, o1));                               \
    }
        A5_ROWS(A5_PUT)
#undef A5_PUT
    }
}

static void pack_a_rows_12(const float *A, size_t lda, size_t i0, size_t p0, size_t kc, float *dst)
{
    pack_a_rows(A, lda, i0, p0, kc, A5_MR, dst);
}

static void pack_b_cols_32(const float *B, size_t ldb, size_t j0, size_t p0, size_t kc, float *dst)
{
    pack_b_cols(B, ldb, j0, p0, kc, A5_NR, dst);
}

/* For products at most 16 columns wide (a network's output layer: 10
 * classes), where the 32-wide tile computes more padding than columns and
 * packing A costs as much as the multiply: a 16 x 16 tile, one zmm
 * accumulator per row, reading A where it lies. Two copies: rows of A in
 * memory (element (r, p) at a[r rs + p]: four row pointers and offsets of
 * 0-3 rows keep the addresses in registers), and A's columns in memory
 * (at a[p ks + r], also a packed panel with ks = 16). */
#define N16_ROWS(X)                                                                                \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

#define N16_KERNEL(name, AT, ADVANCE)                                                              \
    __attribute__((target("avx512f"))) static void name(                                           \
        size_t kc, const float *a, size_t rs, size_t ks, const float *restrict b,                  \
        float *restrict c, size_t ldc, float alpha, float beta)                                    \
    {                                                                                              \
        const float *a0 = a, *a4 = a + 4 * rs, *a8 = a + 8 * rs, *a12 = a + 12 * rs;               \
        (void)a0, (void)a4, (void)a8, (void)a12, (void)ks;                                         \
        N16_ROWS(N16_DECL)                                                                         \
        for (size_t p = 0; p < kc; p++) {                                                          \
            __m512 b0 = _mm512_load_ps(b);                                                         \
            N16_ROWS(N16_FMA_##AT)                                                                 \
            ADVANCE;                                                                               \
            b += 16;                                                                               \
        }                                                                                          \
        const __m512 va = _mm512_set1_ps(alpha);                                                   \
        if (beta == 0.0f) {                                                                        \
            N16_ROWS(N16_PUT0)                                                                     \
        } else {                                                                                   \
            const __m512 vb = _mm512_set1_ps(beta);                                                \
            N16_ROWS(N16_PUT)                                                                      \
        }                                                                                          \
    }
#define N16_DECL(r) __m512 c##r = _mm512_setzero_ps();
/* Row r = 4q + t of the row copy: a(4q)[t rs]; of the column copy: a[r]. */
#define N16_ROW_PTR(r) ((r) < 4 ? a0 : (r) < 8 ? a4 : (r) < 12 ? a8 : a12)
#define N16_FMA_ROWS(r)                                                                            \
    c##r = _mm512_fmadd_ps(_mm512_set1_ps(N16_ROW_PTR(r)[((r)&3) * rs]), b0, c##r);
#define N16_FMA_COLS(r) c##r = _mm512_fmadd_ps(_mm512_set1_ps(a[r]), b0, c##r);
/* As the other kernels: alpha * acc, or alpha * acc + (beta * c) fused. */
#define N16_PUT0(r) _mm512_storeu_ps(c + (size_t)(r)*ldc, _mm512_mul_ps(va, c##r));
#define N16_PUT(r)                                                                                 \
    {                                                                                              \
        float *cr = c + (size_t)(r)*ldc;                                                           \
        _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, c##r, _mm512_mul_ps(vb, _mm512_loadu_ps(cr))));   \
    }

N16_KERNEL(narrow_rows, ROWS, (a0++, a4++, a8++, a12++))
N16_KERNEL(narrow_cols, COLS, a += ks)

static void kernel_avx512_narrow(size_t kc, const float *a, size_t rs, size_t ks, const float *b,
                                 float *c, size_t ldc, float alpha, float beta)
{
    if (rs == 1)
        narrow_cols(kc, a, 1, ks, b, c, ldc, alpha, beta);
    else
        narrow_rows(kc, a, rs, 1, b, c, ldc, alpha, beta);
}

static const dsc_gemm_kernel avx512 = {
    "avx512f", A5_MR, A5_NR, kernel_avx512, pack_a_rows_12, pack_b_cols_32, kernel_avx512_narrow};

/* Reads flags the runtime filled in at start-up: cheap enough per call. */
static int cpu_has(const dsc_gemm_kernel *k)
{
    if (k == &avx512) return __builtin_cpu_supports("avx512f");
    if (k == &avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 1;
}
#endif /* DSC_GEMM_X86 */

/* ---- the choice -------------------------------------------------------- */

/* Fastest first. */
static const dsc_gemm_kernel *const kernels[] = {
#if DSC_GEMM_X86
    &avx512,
    &avx2,
#endif
    &portable,
};

const dsc_gemm_kernel *dsc_gemm_kernel_named(const char *name)
{
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        if (strcmp(kernels[i]->name, name) != 0) continue;
#if DSC_GEMM_X86
        if (!cpu_has(kernels[i])) return NULL;
#endif
        return kernels[i];
    }
    return NULL;
}

size_t dsc_gemm_kernels(const dsc_gemm_kernel **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
#if DSC_GEMM_X86
        if (!cpu_has(kernels[i])) continue;
#endif
        if (n < cap) out[n] = kernels[i];
        n++;
    }
    return n;
}

/* The pinned kernel (dsc_gemm_pin), else DSC_GEMM_KERNEL's if this CPU has
 * it (read once), else the fastest this CPU has. */
static const dsc_gemm_kernel *_Atomic pinned;
static const dsc_gemm_kernel *from_env;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
/* Why DSC_GEMM_KERNEL was ignored, if it was. */
static char env_problem[160];

/* Reads DSC_GEMM_KERNEL, once. */
static void read_env(void)
{
    const char *name = getenv("DSC_GEMM_KERNEL");
    const dsc_gemm_kernel *k = name && *name ? dsc_gemm_kernel_named(name) : NULL;
    if (name && *name && !k) {
        int known = 0;
        char names[64] = "";
        for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
            known |= strcmp(kernels[i]->name, name) == 0;
            size_t len = strlen(names);
            snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", kernels[i]->name);
        }
        if (known)
            snprintf(env_problem, sizeof env_problem,
                     "DSC_GEMM_KERNEL='%.32s': this CPU cannot run that kernel; ignored", name);
        else
            snprintf(env_problem, sizeof env_problem,
                     "DSC_GEMM_KERNEL='%.32s' names no kernel (%s); ignored", name, names);
    }
    from_env = k;
}

const char *dsc_gemm_env_problem(void)
{
    pthread_once(&env_once, read_env);
    return env_problem[0] ? env_problem : NULL;
}

const dsc_gemm_kernel *dsc_gemm_pin(const dsc_gemm_kernel *k)
{
    return atomic_exchange(&pinned, k);
}

const dsc_gemm_kernel *dsc_gemm_kernel_now(void)
{
    const dsc_gemm_kernel *k = atomic_load_explicit(&pinned, memory_order_relaxed);
    if (k) return k;
    pthread_once(&env_once, read_env);
    k = from_env;
    if (k) return k;
    const dsc_gemm_kernel *best;
    dsc_gemm_kernels(&best, 1);
    return best;
}
