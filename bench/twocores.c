/* What two threads can get from this machine's two vCPUs, measured in a
 * few seconds, to tell a placement that no program can use from a
 * program that cannot use a good one:
 *  - multiply-adds on registers only, one thread then two pinned to CPUs
 *    0 and 1 at once, by each thread's CPU time: if two together each get
 *    about half, the vCPUs share one physical core (SMT siblings) and
 *    compute-bound work cannot gain from a second thread (on a busy
 *    machine the two may rarely run at the same time: then it cannot
 *    tell);
 *  - a cache line handed back and forth between the two CPUs (round trip);
 *  - reading 400 KB the other CPU has just written, against 400 KB of its
 *    own (a cross-die transfer when the vCPUs sit on different core
 *    complexes);
 *  - the built-in GEMM on W1's forward shape (128 x 256 x 784), 1 and 2
 *    threads: wall-clock rate and rate per CPU-second (2 threads that each
 *    run at half speed keep the wall rate and halve the second).
 * Linux, x86-64 with AVX-512F for the first part (skipped otherwise).
 * Usage: twocores [REPS]. Prints one line per figure. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tensor/tensor.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The calling thread's CPU time: a rate by it is not lowered by other
 * programs taking turns on the CPU, only by sharing the core while it runs. */
static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

static int pin(int c)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(c, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s) == 0;
}

/* ---- multiply-adds on registers --------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
static double fma_rate[2], fma_wall[2];
static _Atomic int fma_go;

__attribute__((target("avx512f"))) static void *fma_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    pin(id);
    while (!atomic_load(&fma_go)) {
    }
    __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(1e-9f);
    __m512 a0 = _mm512_set1_ps(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
           a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    const long iters = 20000000;
    double t0 = thread_seconds(), w0 = now();
    for (long i = 0; i < iters; i++) {
        a0 = _mm512_fmadd_ps(a0, x, y), a1 = _mm512_fmadd_ps(a1, x, y);
        a2 = _mm512_fmadd_ps(a2, x, y), a3 = _mm512_fmadd_ps(a3, x, y);
        a4 = _mm512_fmadd_ps(a4, x, y), a5 = _mm512_fmadd_ps(a5, x, y);
        a6 = _mm512_fmadd_ps(a6, x, y), a7 = _mm512_fmadd_ps(a7, x, y);
        a8 = _mm512_fmadd_ps(a8, x, y), a9 = _mm512_fmadd_ps(a9, x, y);
        a10 = _mm512_fmadd_ps(a10, x, y), a11 = _mm512_fmadd_ps(a11, x, y);
    }
    double t = thread_seconds() - t0, w = now() - w0;
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    float f[16];
    _mm512_storeu_ps(f, s);
    fma_rate[id] = (double)iters * 12 * 32 / t / 1e9 + (f[0] == 0.5f ? 1e-9 : 0.0);
    fma_wall[id] = (double)iters * 12 * 32 / w / 1e9;
    return NULL;
}

static void fma_part(void)
{
    if (!__builtin_cpu_supports("avx512f")) {
        printf("registers: no AVX-512F, skipped\n");
        return;
    }
    pthread_t t[2];
    double one = 0.0, one_wall = 1.0;
    for (int n = 1; n <= 2; n++) {
        atomic_store(&fma_go, 0);
        for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, fma_thread, (void *)(intptr_t)i);
        double w0 = now();
        atomic_store(&fma_go, 1);
        for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
        /* Both threads' work over the time from the start to the last one
         * done: only this says they ran at the same time. */
        double both = n * 20000000.0 * 12 * 32 / (now() - w0) / 1e9;
        if (n == 1) {
            one = fma_rate[0];
            one_wall = fma_wall[0];
            printf("registers: 1 thread %.0f GFLOP/s by its CPU time (%.0f wall)\n", one,
                   fma_wall[0]);
        } else {
            printf("registers: 2 threads at once %.0f + %.0f GFLOP/s by CPU time (%.0f + %.0f "
                   "wall): %.2f of 1 thread each (about 0.5: the vCPUs share a core)\n",
                   fma_rate[0], fma_rate[1], fma_wall[0], fma_wall[1],
                   (fma_rate[0] + fma_rate[1]) / 2 / one);
            printf("registers: both together %.0f GFLOP/s from start to end = %.2fx one "
                   "thread's wall rate (2: two cores at once; 1: one core, or turns)\n",
                   both, both / one_wall);
        }
    }
}
#else
static void fma_part(void) { printf("registers: not x86-64, skipped\n"); }
#endif

/* ---- a line back and forth, and a buffer across ---------------------- */

enum { XFER_FLOATS = 400 * 1024 / 4, PING_ROUNDS = 100000, XFER_ROUNDS = 100 };
static _Atomic int flag;
static float *xbuf;

static void *partner(void *arg)
{
    (void)arg;
    pin(1);
    for (int i = 0; i < PING_ROUNDS; i++) {
        while (atomic_load(&flag) != 1) {
        }
        atomic_store(&flag, 0);
    }
    /* Then: write the buffer whenever asked (flag 2), say done (3). */
    for (int r = 0; r < XFER_ROUNDS; r++) {
        while (atomic_load(&flag) != 2) {
        }
        for (size_t i = 0; i < XFER_FLOATS; i++) xbuf[i] = (float)(i + (size_t)r);
        atomic_store(&flag, 3);
    }
    return NULL;
}

static float read_all(void)
{
    float s = 0.0f;
    for (size_t i = 0; i < XFER_FLOATS; i += 16) s += xbuf[i];
    return s;
}

static void cross_part(void)
{
    xbuf = calloc(XFER_FLOATS, sizeof(float));
    if (!xbuf || !pin(0)) {
        printf("cross: cannot pin to CPU 0 or allocate, skipped\n");
        free(xbuf);
        return;
    }
    pthread_t t;
    pthread_create(&t, NULL, partner, NULL);
    double t0 = now();
    for (int i = 0; i < PING_ROUNDS; i++) {
        atomic_store(&flag, 1);
        while (atomic_load(&flag) != 0) {
        }
    }
    double rt = (now() - t0) / PING_ROUNDS;
    double remote = 1e9, own = 1e9;
    float sink = 0.0f;
    for (int r = 0; r < XFER_ROUNDS; r++) {
        atomic_store(&flag, 2);
        while (atomic_load(&flag) != 3) {
        }
        double a = now();
        sink += read_all();
        double b = now();
        sink += read_all();
        double c = now();
        if (b - a < remote) remote = b - a;
        if (c - b < own) own = c - b;
    }
    pthread_join(t, NULL);
    if (sink == 0.5f) printf("(sum %g)\n", (double)sink);
    printf("cross: a cache line CPU 0 -> 1 -> 0: %.0f ns round trip\n", rt * 1e9);
    printf("cross: reading 400 KB CPU 1 just wrote: %.1f us (%.0f GB/s); again, now in CPU 0's "
           "caches: %.1f us (%.0f GB/s)\n",
           remote * 1e6, XFER_FLOATS * 4.0 / remote / 1e9, own * 1e6,
           XFER_FLOATS * 4.0 / own / 1e9);
    free(xbuf);
    cpu_set_t all;
    CPU_ZERO(&all);
    CPU_SET(0, &all);
    CPU_SET(1, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}

/* ---- the built-in GEMM on W1's forward shape --------------------------- */

static void gemm_part(int reps)
{
    size_t m = 128, n = 256, k = 784;
    float *A = malloc(m * k * sizeof(float)), *B = malloc(k * n * sizeof(float));
    float *C = malloc(m * n * sizeof(float));
    if (!A || !B || !C) exit(2);
    for (size_t i = 0; i < m * k; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < k * n; i++) B[i] = (float)(i % 5) * 0.1f;
    double flop = 2.0 * (double)m * (double)n * (double)k;
    for (int th = 1; th <= 2; th++) {
        double best = 1e9, best_cpu = 0.0;
        for (int r = 0; r < 7; r++) {
            double c0 = cpu_seconds(), t0 = now();
            for (int i = 0; i < reps; i++)
                dsc_gemm(0, 0, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n, th);
            double t = (now() - t0) / reps, c = (cpu_seconds() - c0) / reps;
            if (t < best) best = t, best_cpu = c;
        }
        printf("gemm 128x256x784: %d thread%s %.0f GFLOP/s wall, %.0f per CPU-second\n", th,
               th > 1 ? "s" : "", flop / best / 1e9, flop / best_cpu / 1e9);
    }
    free(A), free(B), free(C);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 200;
    if (reps < 1) reps = 1;
    fma_part();
    cross_part();
    gemm_part(reps);
    return 0;
}
