/* dsc_gemm against the double-accumulating reference: every transpose case,
 * odd shapes and strides, alpha/beta rules, thread-count determinism, no
 * allocation on repeated calls, each micro-kernel this CPU can run (pinned
 * in turn), the same bits from every fused-multiply-add kernel, and (when
 * built in) CBLAS. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "check.h"
#include "tensor/gemm_internal.h"
#include "tensor/tensor.h"

/* A local LCG so the test depends on nothing but itself. */
static uint64_t lcg_state = 12345;

static float lcg_uniform(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    /* Top 24 bits: exact in float, in [-1, 1). */
    return (float)((double)(lcg_state >> 40) / 8388608.0 - 1.0);
}

static float *new_filled(size_t count)
{
    float *p = malloc((count ? count : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory in test\n");
        exit(2);
    }
    for (size_t i = 0; i < count; i++) p[i] = lcg_uniform();
    return p;
}

typedef struct {
    int ta, tb;
    size_t m, n, k;
    size_t pad_a, pad_b, pad_c; /* extra columns beyond the stored width */
    float alpha, beta;
    int nan_c; /* fill C with NaN (only meaningful with beta == 0) */
    int threads;
} gemm_case;

static const float SENTINEL = 12345.0f;

/* Runs one case through dsc_gemm and the reference; returns 1 when every
 * element is within tolerance and the padding of C is untouched. */
static int run_case(const gemm_case *t)
{
    size_t a_rows = t->ta ? t->k : t->m, a_cols = t->ta ? t->m : t->k;
    size_t b_rows = t->tb ? t->n : t->k, b_cols = t->tb ? t->k : t->n;
    size_t lda = a_cols + t->pad_a, ldb = b_cols + t->pad_b, ldc = t->n + t->pad_c;
    float *A = new_filled(a_rows * lda);
    float *B = new_filled(b_rows * ldb);
    float *C = new_filled(t->m * ldc);
    float *R = new_filled(t->m * ldc), *S = new_filled(t->m * ldc);
    float *Aabs = new_filled(a_rows * lda), *Babs = new_filled(b_rows * ldb);

    for (size_t i = 0; i < t->m; i++) {
        for (size_t j = 0; j < ldc; j++) {
            if (j >= t->n)
                C[i * ldc + j] = SENTINEL;
            else if (t->nan_c)
                C[i * ldc + j] = NAN;
        }
    }
    memcpy(R, C, t->m * ldc * sizeof(float));
    /* The scale of each element's error: the same product in absolute
     * values, so the tolerance is relative to what was summed. */
    for (size_t i = 0; i < a_rows * lda; i++) Aabs[i] = fabsf(A[i]);
    for (size_t i = 0; i < b_rows * ldb; i++) Babs[i] = fabsf(B[i]);
    for (size_t i = 0; i < t->m * ldc; i++) S[i] = t->nan_c ? 0.0f : fabsf(C[i]);

    dsc_gemm(t->ta, t->tb, t->m, t->n, t->k, t->alpha, A, lda, B, ldb, t->beta, C, ldc, t->threads);
    dsc_gemm_ref(t->ta, t->tb, t->m, t->n, t->k, t->alpha, A, lda, B, ldb, t->beta, R, ldc);
    dsc_gemm_ref(t->ta, t->tb, t->m, t->n, t->k, fabsf(t->alpha), Aabs, lda, Babs, ldb,
                 fabsf(t->beta), S, ldc);

    int ok = 1;
    double worst = 0.0;
    size_t wi = 0, wj = 0;
    for (size_t i = 0; i < t->m; i++) {
        for (size_t j = 0; j < ldc; j++) {
            float c = C[i * ldc + j];
            if (j >= t->n) {
                if (c != SENTINEL) ok = 0;
                continue;
            }
            double err = fabs((double)c - (double)R[i * ldc + j]);
            double tol = 1e-5 * (double)S[i * ldc + j] + 1e-30;
            if (!(err <= tol)) ok = 0;
            double rel = err / tol;
            if (!(rel <= worst)) {
                worst = rel;
                wi = i;
                wj = j;
            }
        }
    }
    if (!ok) {
        fprintf(stderr,
                "  case ta=%d tb=%d m=%zu n=%zu k=%zu lda=%zu ldb=%zu ldc=%zu alpha=%g beta=%g "
                "nan=%d threads=%d: worst at (%zu,%zu): got %.9g want %.9g\n",
                t->ta, t->tb, t->m, t->n, t->k, lda, ldb, ldc, (double)t->alpha, (double)t->beta,
                t->nan_c, t->threads, wi, wj, (double)C[wi * ldc + wj], (double)R[wi * ldc + wj]);
    }
    free(A);
    free(B);
    free(C);
    free(R);
    free(S);
    free(Aabs);
    free(Babs);
    return ok;
}

static const size_t shapes[][3] = {
    /* Up to 512 multiply-adds take the plain loop, the rest the packed
     * kernel: both sides of that line, and every edge-tile case. */
    {1, 1, 1},     {1, 1, 7},      {2, 3, 4},     {6, 16, 1},     {6, 16, 5},
    {7, 17, 3},    {6, 16, 8},     {1, 1, 600},   {3, 2, 100},    {1, 300, 2},
    {300, 1, 2},   {5, 15, 9},     {127, 65, 33}, {65, 127, 257}, {13, 300, 40},
    {300, 13, 40}, {128, 10, 128}, {1, 256, 784}, {96, 192, 256}, {97, 193, 600},
};

/* Every shape, every transpose case, with and without padded strides. */
static void test_shapes_and_transposes(void)
{
    for (size_t s = 0; s < DSC_COUNT_OF(shapes); s++) {
        for (int tr = 0; tr < 4; tr++) {
            for (int pad = 0; pad < 2; pad++) {
                gemm_case t = {tr & 1,  tr >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                               pad * 3, pad * 5, pad * 7,      1.0f,         0.0f,
                               0,       0};
                CHECK(run_case(&t));
            }
        }
    }
}

/* The minibatch shapes of a 784-256-128-10 network, forward and backward. */
static void test_training_shapes(void)
{
    static const gemm_case cases[] = {
        {0, 0, 128, 256, 784, 0, 0, 0, 1.0f, 0.0f, 0, 0}, /* X W1 */
        {1, 0, 784, 256, 128, 0, 0, 0, 1.0f, 0.0f, 0, 0}, /* X^T dH1 */
        {0, 1, 128, 784, 256, 0, 0, 0, 1.0f, 0.0f, 0, 0}, /* dH1 W1^T */
        {0, 0, 128, 128, 256, 0, 0, 0, 1.0f, 1.0f, 0, 0}, /* H1 W2, accumulate */
        {1, 0, 256, 128, 128, 0, 0, 0, 1.0f, 0.0f, 0, 0},
        {0, 1, 128, 256, 128, 0, 0, 0, 1.0f, 0.0f, 0, 0},
        {0, 0, 128, 10, 128, 0, 0, 0, 1.0f, 0.0f, 0, 0},
        {1, 0, 128, 10, 128, 0, 0, 0, 0.5f, 0.0f, 0, 0},
        {0, 1, 128, 128, 10, 0, 0, 0, 1.0f, 0.0f, 0, 0},
        {1, 1, 200, 300, 500, 2, 3, 4, -0.75f, 0.5f, 0, 2},
    };
    for (size_t i = 0; i < DSC_COUNT_OF(cases); i++) CHECK(run_case(&cases[i]));
}

/* alpha and beta rules, including beta == 0 over a C full of NaN. */
static void test_alpha_beta(void)
{
    static const float alphas[] = {1.0f, -2.5f, 0.125f};
    static const float betas[] = {0.0f, 1.0f, 0.5f, -3.0f};
    for (int tr = 0; tr < 4; tr++) {
        for (size_t a = 0; a < DSC_COUNT_OF(alphas); a++) {
            for (size_t b = 0; b < DSC_COUNT_OF(betas); b++) {
                gemm_case t = {tr & 1, tr >> 1, 37, 41, 300, 1, 2, 3, alphas[a], betas[b], 0, 0};
                CHECK(run_case(&t));
            }
        }
        gemm_case nan_small = {tr & 1, tr >> 1, 7, 9, 5, 0, 0, 2, 1.5f, 0.0f, 1, 1};
        gemm_case nan_big = {tr & 1, tr >> 1, 130, 70, 520, 1, 0, 0, 1.0f, 0.0f, 1, 2};
        CHECK(run_case(&nan_small));
        CHECK(run_case(&nan_big));
    }
}

/* k == 0 leaves beta * C; m == 0 or n == 0 touches nothing; alpha == 0
 * does not read A or B (NaN there must not leak into C). */
static void test_degenerate(void)
{
    float C[6] = {1, 2, 3, 4, 5, 6};
    float A[4] = {NAN, NAN, NAN, NAN}, B[4] = {NAN, NAN, NAN, NAN};
    dsc_gemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3, 1);
    CHECK(C[0] == 0.5f && C[5] == 3.0f);
    dsc_gemm(0, 0, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3, 1);
    int zero = 1;
    for (int i = 0; i < 6; i++) zero &= C[i] == 0.0f;
    CHECK(zero);

    float D[6] = {1, 2, 3, 4, 5, 6};
    dsc_gemm(0, 0, 0, 3, 2, 1.0f, A, 2, B, 3, 0.0f, D, 3, 1);
    dsc_gemm(1, 1, 2, 0, 2, 1.0f, A, 2, B, 2, 0.0f, D, 3, 1);
    CHECK(D[0] == 1.0f && D[5] == 6.0f);

    dsc_gemm(0, 0, 2, 3, 1, 0.0f, A, 1, B, 3, 2.0f, D, 3, 1);
    CHECK(D[0] == 2.0f && D[5] == 12.0f);

    /* k == 0 through the reference too: both agree on "beta * C". */
    float E[2] = {4, 8};
    dsc_gemm_ref(0, 0, 1, 2, 0, 1.0f, A, 1, B, 2, 0.25f, E, 2);
    CHECK(E[0] == 1.0f && E[1] == 2.0f);
}

/* The result must not depend on the number of threads, bit for bit:
 * a product on the super-block path with several threads (256 x 300 x
 * 700), minibatch products cut into slabs of columns (W1's 128 x 784 x 256
 * and 128 x 256 x 784) or of rows (W1's 784 x 256 x 128; 301 x 70 x 1000,
 * with edges on both sides), and one too small for a second thread. */
static void test_thread_determinism(void)
{
    static const size_t dims[][3] = {{256, 300, 700}, {128, 784, 256}, {131, 67, 1000},
                                     {128, 256, 784}, {784, 256, 128}, {301, 70, 1000}};
    for (size_t s = 0; s < DSC_COUNT_OF(dims); s++) {
        for (int tr = 0; tr < 4; tr++) {
            int ta = tr & 1, tb = tr >> 1;
            size_t m = dims[s][0], n = dims[s][1], k = dims[s][2];
            size_t lda = ta ? m : k, ldb = tb ? k : n;
            float *A = new_filled(m * k), *B = new_filled(k * n);
            float *C0 = new_filled(m * n);
            float *C1 = malloc(m * n * sizeof(float)), *C2 = malloc(m * n * sizeof(float));
            float *C3 = malloc(m * n * sizeof(float));
            if (!C1 || !C2 || !C3) exit(2);
            memcpy(C1, C0, m * n * sizeof(float));
            memcpy(C2, C0, m * n * sizeof(float));
            memcpy(C3, C0, m * n * sizeof(float));
            dsc_gemm(ta, tb, m, n, k, 0.7f, A, lda, B, ldb, 0.3f, C1, n, 1);
            dsc_gemm(ta, tb, m, n, k, 0.7f, A, lda, B, ldb, 0.3f, C2, n, 2);
            dsc_gemm(ta, tb, m, n, k, 0.7f, A, lda, B, ldb, 0.3f, C3, n, 3);
            CHECK(memcmp(C1, C2, m * n * sizeof(float)) == 0);
            CHECK(memcmp(C1, C3, m * n * sizeof(float)) == 0);
            /* ...and it must be a real product, not something trivially
             * repeatable. */
            dsc_gemm_ref(ta, tb, m, n, k, 0.7f, A, lda, B, ldb, 0.3f, C0, n);
            double worst = 0.0;
            for (size_t i = 0; i < m * n; i++) {
                double e = fabs((double)C1[i] - (double)C0[i]);
                if (e > worst) worst = e;
            }
            CHECK(worst < 1e-3);
            free(A);
            free(B);
            free(C0);
            free(C1);
            free(C2);
            free(C3);
        }
    }
}

/* Dimensions that the kernel splits into several super-blocks: more than
 * 1024 rows or columns, and (with wide C) a long k cut into chunks, where
 * beta must apply to the first chunk only. */
static void test_large_dims(void)
{
    gemm_case tall = {0, 1, 2100, 20, 5, 0, 0, 0, 1.0f, 0.5f, 0, 2};
    gemm_case wide = {1, 0, 10, 2100, 7, 0, 1, 0, 1.0f, 0.0f, 0, 2};
    CHECK(run_case(&tall));
    CHECK(run_case(&wide));
    for (int tr = 0; tr < 4; tr++) {
        gemm_case long_k = {tr & 1, tr >> 1, 20, 1100, 1700, 1, 0, 2, 0.5f, 0.25f, 0, 2};
        CHECK(run_case(&long_k));
    }
}

/* The training loop must not allocate: the second and later calls with the
 * same or a smaller shape reuse scratch. */
static void test_no_allocation_on_repeat(void)
{
    size_t m = 128, n = 256, k = 784;
    float *A = new_filled(m * k), *B = new_filled(k * n), *C = new_filled(m * n);
    uint64_t before = 0;
    for (int rep = 0; rep < 4; rep++) {
        if (rep == 1) before = dsc_alloc_count();
        dsc_gemm(0, 0, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n, 0);
        dsc_gemm(1, 0, k, n, m, 1.0f, A, k, C, n, 0.0f, B, n, 0);
        dsc_gemm(0, 1, m, 100, 50, 1.0f, A, k, B, n, 1.0f, C, n, 0);
    }
    CHECK(dsc_alloc_count() == before);
    free(A);
    free(B);
    free(C);
}

/* Each kernel this CPU can run, pinned in turn, against the reference:
 * shapes that are and are not multiples of its register tile, k over
 * several blocks, every transpose, beta 0 (over NaN) and not, 1-3 threads;
 * and the same bits for 1 and 2 threads under each. */
static void test_each_kernel(void)
{
    const dsc_gemm_kernel *ks[8];
    size_t nk = dsc_gemm_kernels(ks, 8);
    CHECK(nk >= 1 && strcmp(ks[nk - 1]->name, "portable") == 0);
    static const size_t dims[][3] = {{1, 1, 1},      {12, 32, 8},    {127, 65, 33}, {128, 256, 300},
                                     {131, 10, 128}, {37, 200, 700}, {37, 16, 600}, {16, 7, 257}};
    for (size_t q = 0; q < nk; q++) {
        const dsc_gemm_kernel *old = dsc_gemm_pin(ks[q]);
        char want[64];
        snprintf(want, sizeof want, "built-in (%s, %zux%zu)", ks[q]->name, ks[q]->mr, ks[q]->nr);
        CHECK(strcmp(dsc_gemm_name(), want) == 0);
        int all = 1;
        for (size_t s = 0; s < DSC_COUNT_OF(dims); s++) {
            for (int tr = 0; tr < 4; tr++) {
                gemm_case t = {tr & 1, tr >> 1, dims[s][0], dims[s][1], dims[s][2], 1,
                               0,      2,       0.5f,       0.0f,       1,          1 + tr % 3};
                all &= run_case(&t);
                gemm_case u = t;
                u.nan_c = 0;
                u.beta = 0.5f;
                u.pad_b = 3;
                all &= run_case(&u);
            }
        }
        if (!all) fprintf(stderr, "kernel %s disagrees with the reference\n", ks[q]->name);
        CHECK(all);
        size_t m = 128, n = 784, k = 256;
        float *A = new_filled(m * k), *B = new_filled(k * n);
        float *C1 = new_filled(m * n), *C2 = malloc(m * n * sizeof(float));
        if (!C2) exit(2);
        memcpy(C2, C1, m * n * sizeof(float));
        dsc_gemm(0, 1, m, n, k, 1.0f, A, k, B, k, 1.0f, C1, n, 1);
        dsc_gemm(0, 1, m, n, k, 1.0f, A, k, B, k, 1.0f, C2, n, 2);
        CHECK(memcmp(C1, C2, m * n * sizeof(float)) == 0);
        free(A), free(B), free(C1), free(C2);
        dsc_gemm_pin(old);
    }
    /* A name this CPU lacks, or no such kernel, is refused. */
    CHECK(dsc_gemm_kernel_named("no such kernel") == NULL);
    CHECK(dsc_gemm_kernel_named("portable") != NULL);
}

/* The kernels that fuse each multiply-add (AVX2, AVX-512) chain the same
 * operations for every element whatever their register tile, so they give
 * the same bits: a model trains to the same parameters on either CPU. */
static void test_fma_kernels_agree(void)
{
    const dsc_gemm_kernel *a2 = dsc_gemm_kernel_named("avx2+fma");
    const dsc_gemm_kernel *a5 = dsc_gemm_kernel_named("avx512f");
    if (!a2 || !a5) {
        fprintf(stderr, "test_gemm: this CPU lacks %s: kernels not compared\n",
                !a2 ? "AVX2+FMA" : "AVX-512F");
        return;
    }
    /* Including products at most 16 wide (the AVX-512 kernel's narrow tile),
     * with a short last row panel and several k blocks. */
    static const size_t dims[][3] = {{128, 256, 784}, {784, 256, 128}, {128, 10, 128},
                                     {131, 67, 1000}, {2100, 20, 5},   {12, 32, 600},
                                     {37, 16, 600},   {5, 3, 300},     {200, 16, 9}};
    int same = 1;
    for (size_t s = 0; s < DSC_COUNT_OF(dims); s++) {
        for (int tr = 0; tr < 4; tr++) {
            int ta = tr & 1, tb = tr >> 1;
            size_t m = dims[s][0], n = dims[s][1], k = dims[s][2];
            size_t lda = ta ? m : k, ldb = tb ? k : n;
            float *A = new_filled(m * k), *B = new_filled(k * n);
            float *C1 = new_filled(m * n), *C2 = malloc(m * n * sizeof(float));
            if (!C2) exit(2);
            memcpy(C2, C1, m * n * sizeof(float));
            const dsc_gemm_kernel *old = dsc_gemm_pin(a2);
            dsc_gemm(ta, tb, m, n, k, 0.7f, A, lda, B, ldb, 0.3f, C1, n, 2);
            dsc_gemm_pin(a5);
            dsc_gemm(ta, tb, m, n, k, 0.7f, A, lda, B, ldb, 0.3f, C2, n, 2);
            dsc_gemm_pin(old);
            same &= memcmp(C1, C2, m * n * sizeof(float)) == 0;
            free(A), free(B), free(C1), free(C2);
        }
    }
    CHECK(same);
}

/* Thin products (a row or a column of C) add the same terms in the same
 * order with each kernel's copy of their dot product (AVX-512, AVX2, the
 * build's own): the same bits whichever is pinned, also over several
 * 4096-term blocks and a tail, a row and a column. */
static void test_thin_same_bits(void)
{
    enum { K = 10007, N = 3 };
    float *x = new_filled(K), *w = new_filled(N * K), c1[N], c2[N], d1[N], d2[N];
    const dsc_gemm_kernel *ks[8];
    size_t nk = dsc_gemm_kernels(ks, 8);
    dsc_gemm(0, 1, 1, N, K, 1.0f, x, K, w, K, 0.0f, c1, N, 1);
    dsc_gemm(0, 0, N, 1, K, 1.0f, w, K, x, 1, 0.0f, d1, 1, 1);
    for (size_t q = 0; q < nk; q++) {
        const dsc_gemm_kernel *old = dsc_gemm_pin(ks[q]);
        dsc_gemm(0, 1, 1, N, K, 1.0f, x, K, w, K, 0.0f, c2, N, 1);
        dsc_gemm(0, 0, N, 1, K, 1.0f, w, K, x, 1, 0.0f, d2, 1, 1);
        dsc_gemm_pin(old);
        if (memcmp(c1, c2, sizeof c1) || memcmp(d1, d2, sizeof d1))
            fprintf(stderr, "thin products differ under kernel %s\n", ks[q]->name);
        CHECK(memcmp(c1, c2, sizeof c1) == 0);
        CHECK(memcmp(d1, d2, sizeof d1) == 0);
    }
    float r[N];
    dsc_gemm_ref(0, 1, 1, N, K, 1.0f, x, K, w, K, 0.0f, r, N);
    for (int j = 0; j < N; j++) CHECK_NEAR(c1[j], r[j], 1e-3 * (1 + fabs(r[j])));
    for (int j = 0; j < N; j++) CHECK_NEAR(d1[j], r[j], 1e-3 * (1 + fabs(r[j])));
    free(x);
    free(w);
}

/* Names, and CBLAS when this build has it (found at run time, so the test
 * works however the library was configured). */
static void test_names_and_cblas(void)
{
    const char *name = dsc_gemm_name();
    CHECK(strncmp(name, "built-in (", 10) == 0);
    int before = dsc_gemm_use_cblas(1);
    CHECK(before == 0);
    int have_cblas = dsc_gemm_use_cblas(1) == 1;
#ifdef DSC_USE_CBLAS
    CHECK(have_cblas);
#endif
    if (have_cblas) {
        CHECK(strcmp(dsc_gemm_name(), "cblas") == 0);
        static const size_t dims[][3] = {{1, 1, 1}, {127, 65, 33}, {128, 256, 784}};
        for (size_t s = 0; s < DSC_COUNT_OF(dims); s++) {
            for (int tr = 0; tr < 4; tr++) {
                gemm_case t = {tr & 1, tr >> 1, dims[s][0], dims[s][1], dims[s][2], 2,
                               1,      3,       1.5f,       0.0f,       1,          0};
                CHECK(run_case(&t));
                t.nan_c = 0;
                t.beta = 0.5f;
                CHECK(run_case(&t));
            }
        }
    } else {
        CHECK(strcmp(dsc_gemm_name(), name) == 0);
    }
    CHECK(dsc_gemm_use_cblas(0) == have_cblas);
    CHECK(strcmp(dsc_gemm_name(), name) == 0);
}

/* A product small enough to check by hand, so the kernel is pinned to known
 * numbers and not only to the reference. */
static void test_checker_detects_errors(void)
{
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4] = {0}, R[4] = {0};
    dsc_gemm(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2, 1);
    dsc_gemm_ref(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, R, 2);
    CHECK(C[0] == 1.0f && C[1] == 2.0f && C[2] == 3.0f && C[3] == 4.0f);
    CHECK(memcmp(C, R, sizeof C) == 0);
    dsc_gemm(1, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2, 1);
    CHECK(C[0] == 1.0f && C[1] == 3.0f && C[2] == 2.0f && C[3] == 4.0f);
}

int main(void)
{
    test_checker_detects_errors();
    test_degenerate();
    test_shapes_and_transposes();
    test_training_shapes();
    test_alpha_beta();
    test_large_dims();
    test_thread_determinism();
    test_no_allocation_on_repeat();
    test_each_kernel();
    test_fma_kernels_agree();
    test_thin_same_bits();
    test_names_and_cblas();
    return check_report();
}
