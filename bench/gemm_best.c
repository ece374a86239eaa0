/* Best-of-many GFLOP/s of W1's three products (and optionally squares),
 * built-in and CBLAS, 1 and 2 threads, interleaved: on a shared machine
 * the best of many short runs finds the moments both vCPUs were ours,
 * where gemm_bench's medians measure the load. Prints one line a shape
 * with the built-in 2-thread rate as a share of CBLAS's.
 * Usage: gemm_best [REPS (30)] [SHAPES (3: W1 only; up to 6 adds the
 * 512, 1024 and 2048 squares)]. Run with OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset to compare with OpenBLAS's AVX-512 kernels. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensor/tensor.h"

#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS
#include <cblas.h>
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    const char *label;
    int ta, tb;
    size_t m, n, k;
} shape;

/* impl: bit 0 = 2 threads, bit 1 = CBLAS. */
static void run(const shape *x, int impl, const float *A, const float *B, float *C)
{
    int threads = (impl & 1) ? 2 : 1;
    size_t lda = x->ta ? x->m : x->k, ldb = x->tb ? x->k : x->n;
#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS
    if (impl & 2) {
#ifdef OPENBLAS_VERSION
        openblas_set_num_threads(threads);
#endif
        cblas_sgemm(CblasRowMajor, x->ta ? CblasTrans : CblasNoTrans,
                    x->tb ? CblasTrans : CblasNoTrans, (int)x->m, (int)x->n, (int)x->k, 1.0f, A,
                    (int)lda, B, (int)ldb, 0.0f, C, (int)x->n);
        return;
    }
#endif
    dsc_gemm(x->ta, x->tb, x->m, x->n, x->k, 1.0f, A, lda, B, ldb, 0.0f, C, x->n, threads);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 30;
    int nsh = argc > 2 ? atoi(argv[2]) : 3;
    static const shape sh[] = {
        {"W1 fwd  X*W1", 0, 0, 128, 256, 784},    {"W1 grad X^T*dH", 1, 0, 784, 256, 128},
        {"W1 back dH*W1^T", 0, 1, 128, 784, 256}, {"square 512", 0, 0, 512, 512, 512},
        {"square 1024", 0, 0, 1024, 1024, 1024},  {"square 2048", 0, 0, 2048, 2048, 2048}};
    int impls = 2;
#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS
    impls = 4;
#endif
    if (reps < 1) reps = 1;
    if (nsh < 1 || nsh > 6) nsh = 3;
    printf("best of %d runs, GFLOP/s by the wall clock; %s\n", reps, dsc_gemm_name());
    for (int s = 0; s < nsh; s++) {
        const shape *x = &sh[s];
        float *A = malloc(x->m * x->k * sizeof(float)), *B = malloc(x->k * x->n * sizeof(float));
        float *C = calloc(x->m * x->n, sizeof(float));
        if (!A || !B || !C) return 2;
        for (size_t i = 0; i < x->m * x->k; i++) A[i] = (float)(i * 7 % 13) / 13.0f - 0.5f;
        for (size_t i = 0; i < x->k * x->n; i++) B[i] = (float)(i * 5 % 11) / 11.0f - 0.5f;
        double flops = 2.0 * (double)x->m * (double)x->n * (double)x->k;
        int calls = (int)(2e8 / flops) + 1;
        double best[4] = {0};
        for (int r = 0; r < reps; r++) {
            for (int impl = 0; impl < impls; impl++) {
                double t0 = now();
                for (int c = 0; c < calls; c++) run(x, impl, A, B, C);
                double g = flops * calls / (now() - t0) / 1e9;
                if (g > best[impl]) best[impl] = g;
            }
        }
        printf("%-16s built-in 1 thr %6.1f  2 thr %6.1f", x->label, best[0], best[1]);
        if (impls == 4)
            printf(" | cblas 1 thr %6.1f  2 thr %6.1f | built-in / cblas, 2 thr %5.1f %%", best[2],
                   best[3], 100.0 * best[1] / best[3]);
        printf("\n");
        free(A), free(B), free(C);
    }
    return 0;
}
