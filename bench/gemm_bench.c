/* GFLOP/s of dsc_gemm (built-in, and CBLAS when built with DSC_USE_CBLAS)
 * on squares and on the shapes of a 784-256-128-10 network's minibatch
 * step, with 1 and 2 threads by the wall clock, and with 1 thread by the
 * thread's own CPU time (which a busy machine does not inflate: the time
 * the thread waited for a core is not counted). Each number is the median
 * of ROUNDS rounds, each the median of RUNS timed runs; a round measures
 * every shape built-in, then every shape with CBLAS, so a change in the
 * machine's load falls on both alike.
 *
 * Build from the repository root with every .c file of src/base and
 * src/tensor plus this one: gcc -std=c11 -O2 -fopenmp -Iinclude -Isrc
 * SOURCES -lm -o gemm_bench; for CBLAS add -DDSC_USE_CBLAS=1, the include
 * directory of cblas.h and -lopenblas.
 * Arguments (optional): the largest square to run (default 2048), and
 * "best" to print the fastest run instead of the median, which on a machine
 * shared with other work says more about the kernel than about the load.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#include "base/base.h"
#include "tensor/tensor.h"

#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS
#include <cblas.h>
#endif

enum { RUNS = 5, ROUNDS = 3 };

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    const char *label;
    int ta, tb;
    size_t m, n, k;
} shape;

static void set_blas_threads(int threads)
{
#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS && defined(OPENBLAS_VERSION)
    openblas_set_num_threads(threads);
#else
    (void)threads;
#endif
}

/* Median GFLOP/s over RUNS runs; each run repeats the product until it has
 * taken at least 50 ms, so small shapes are timed over many calls. */
static int report_best;

static double measure(const shape *s, const float *A, const float *B, float *C, int threads,
                      double (*clock)(void))
{
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    set_blas_threads(threads);
    dsc_gemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n, threads);
    long reps = 1;
    for (;;) {
        double t0 = clock();
        for (long r = 0; r < reps; r++)
            dsc_gemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n, threads);
        if (clock() - t0 >= 0.05) break;
        reps *= 2;
    }
    double rate[RUNS];
    for (int run = 0; run < RUNS; run++) {
        double t0 = clock();
        for (long r = 0; r < reps; r++)
            dsc_gemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, A, lda, B, ldb, 0.0f, C, s->n, threads);
        rate[run] = flops * (double)reps / (clock() - t0) * 1e-9;
    }
    qsort(rate, RUNS, sizeof rate[0], cmp_double);
    return report_best ? rate[RUNS - 1] : rate[RUNS / 2];
}

int main(int argc, char **argv)
{
    size_t max_square = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2048;
    report_best = argc > 2 && strcmp(argv[2], "best") == 0;
    static const shape shapes[] = {
        {"square 128", 0, 0, 128, 128, 128},      {"square 256", 0, 0, 256, 256, 256},
        {"square 512", 0, 0, 512, 512, 512},      {"square 1024", 0, 0, 1024, 1024, 1024},
        {"square 2048", 0, 0, 2048, 2048, 2048},  {"W1 fwd  X*W1", 0, 0, 128, 256, 784},
        {"W1 grad X^T*dH", 1, 0, 784, 256, 128},  {"W1 back dH*W1^T", 0, 1, 128, 784, 256},
        {"W2 fwd  H1*W2", 0, 0, 128, 128, 256},   {"W2 grad H1^T*dH", 1, 0, 256, 128, 128},
        {"W2 back dH*W2^T", 0, 1, 128, 256, 128}, {"W3 fwd  H2*W3", 0, 0, 128, 10, 128},
    };
    int have_cblas = 0;
#if defined(DSC_USE_CBLAS) && DSC_USE_CBLAS
    have_cblas = 1;
#endif
    printf("%-18s %5s %5s %5s | %-9s %-9s", "shape", "m", "n", "k", "built-in", "built-in");
    if (have_cblas) printf(" | %-9s %-9s", "cblas", "cblas");
    printf(" | %-9s", "built-in");
    if (have_cblas) printf(" %-9s", "cblas");
    printf("\n%-18s %5s %5s %5s | %-9s %-9s", "", "", "", "", "1 thr", "2 thr");
    if (have_cblas) printf(" | %-9s %-9s", "1 thr", "2 thr");
    printf(" | %-9s", "1 thr cpu");
    if (have_cblas) printf(" %-9s", "1 thr cpu");
    printf("\n");

    /* All built-in runs first, then all CBLAS runs: OpenBLAS's threads keep
     * spinning for a while after each call and would otherwise take CPU
     * from the built-in kernel's threads (and GOMP's from OpenBLAS). */
    enum { NSHAPES = sizeof shapes / sizeof shapes[0] };
    /* rate[shape][column][round]; columns: built-in 1, 2 thr, CBLAS 1, 2
     * thr (wall clock), built-in 1 thr, CBLAS 1 thr (CPU time). */
    static double rate[NSHAPES][6][ROUNDS];
    for (int round = 0; round < ROUNDS; round++)
        for (int impl = 0; impl < 1 + have_cblas; impl++) {
            dsc_gemm_use_cblas(impl);
            for (size_t i = 0; i < NSHAPES; i++) {
                const shape *s = &shapes[i];
                if (strncmp(s->label, "square", 6) == 0 && s->m > max_square) continue;
                float *A = dsc_malloc_aligned(s->m * s->k * sizeof(float));
                float *B = dsc_malloc_aligned(s->k * s->n * sizeof(float));
                float *C = dsc_malloc_aligned(s->m * s->n * sizeof(float));
                if (!A || !B || !C) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
                uint64_t x = 88172645463325252ULL;
                for (size_t j = 0; j < s->m * s->k; j++) {
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    A[j] = (float)(x >> 40) / 16777216.0f - 0.5f;
                }
                for (size_t j = 0; j < s->k * s->n; j++) {
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    B[j] = (float)(x >> 40) / 16777216.0f - 0.5f;
                }
                rate[i][2 * impl][round] = measure(s, A, B, C, 1, now);
                rate[i][2 * impl + 1][round] = measure(s, A, B, C, 2, now);
                rate[i][4 + impl][round] = measure(s, A, B, C, 1, cpu_now);
                dsc_free_aligned(A);
                dsc_free_aligned(B);
                dsc_free_aligned(C);
            }
        }
    dsc_gemm_use_cblas(0);
    for (size_t i = 0; i < NSHAPES; i++) {
        const shape *s = &shapes[i];
        if (rate[i][0][0] == 0.0) continue;
        double r[6];
        for (int c = 0; c < 6; c++) r[c] = median(rate[i][c], ROUNDS);
        printf("%-18s %5zu %5zu %5zu | %9.1f %9.1f", s->label, s->m, s->n, s->k, r[0], r[1]);
        if (have_cblas) printf(" | %9.1f %9.1f", r[2], r[3]);
        printf(" | %9.1f", r[4]);
        if (have_cblas) printf(" %9.1f", r[5]);
        printf("\n");
    }
    printf("GFLOP/s, median of %d rounds of the %s of %d runs; kernel: %s\n", ROUNDS,
           report_best ? "best" : "median", RUNS, dsc_gemm_name());
    return 0;
}
