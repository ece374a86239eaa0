/* dscbench: the C drivers behind bench/run_bench.sh and bench/smoke.sh.
 *
 * Each subcommand runs one workload through the public library API, next to
 * a hand-written reference of the same work where one makes sense, and
 * prints one JSON object on standard output:
 *
 *   dscbench w2     [ITERS] [REPS]          the seed's dosage network, full-batch GD
 *   dscbench w3     [THREADS] [ITERS] [REPS] [N]  a line fitted to N points (1,000,000)
 *   dscbench stream [THREADS] [N]            read-only (dot) and triad bandwidth
 *   dscbench csv    FILE [MB] [REPS]        CSV loading (generates FILE of MB megabytes)
 *   dscbench infer  [THREADS] [ROWS]        W1-shaped model: latency and throughput
 *   dscbench w1synth [THREADS] [ROWS]       W1 on random data (smoke test / profiling)
 *   dscbench refgemm                        hand-written GEMM loop at a W1 shape
 *   dscbench softplus [STRIDE]              the engine's softplus against log1p in double
 *                                           over every STRIDE-th float (1: all 2^32), and
 *                                           its speed against log1pf(expf()) of the C library
 *                                           (thread CPU time, 1 thread)
 *
 * Times are medians of REPS runs. All numbers are float32, as in the library.
 * Build: cc -std=c11 -O3 -march=native -fopenmp -Iinclude bench/dscbench.c
 *        build-bench/libdescent.a -lopenblas -lz -lm -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <descent.h>
#include <descent_graph.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_util.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void die(const char *what)
{
    fprintf(stderr, "dscbench: %s: %s\n", what, dsc_last_error());
    exit(1);
}

/* xorshift64: deterministic data without touching the library's RNG. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static float frand(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)(rng_state >> 40) / 16777216.0f;
}

/* The thread count of this program's OpenMP loops (the STREAM reference)
 * and the library's default (read once, at its first parallel loop), for
 * calls that take no count of their own (dsc_predict). */
static void set_threads(int t)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%d", t);
    setenv("DSC_NUM_THREADS", buf, 1);
#ifdef _OPENMP
    omp_set_num_threads(t);
#endif
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "dscbench: out of memory\n");
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* W2: the dosage network, 1 -> 2:softplus -> 1:identity, 3 points     */
/* ------------------------------------------------------------------ */

static float softplus_ref(float z) { return z > 20.0f ? z : log1pf(expf(z)); }
static float sigmoid_ref(float z) { return 1.0f / (1.0f + expf(-z)); }

/* The same full-batch gradient descent on the SSR, written out by hand for
 * the 7 parameters: p = {w1, w2, b1, b2, w3, w4, b3}. */
static double w2_reference(float p[7], const float *x, const float *y, int n, float lr, long iters)
{
    float w1 = p[0], w2 = p[1], b1 = p[2], b2 = p[3], w3 = p[4], w4 = p[5], b3 = p[6];
    for (long it = 0; it < iters; it++) {
        float g[7] = {0};
        for (int i = 0; i < n; i++) {
            float z1 = w1 * x[i] + b1, z2 = w2 * x[i] + b2;
            float a1 = softplus_ref(z1), a2 = softplus_ref(z2);
            float r = w3 * a1 + w4 * a2 + b3 - y[i];
            float d = 2.0f * r;
            float d1 = d * w3 * sigmoid_ref(z1), d2 = d * w4 * sigmoid_ref(z2);
            g[0] += d1 * x[i], g[1] += d2 * x[i], g[2] += d1, g[3] += d2;
            g[4] += d * a1, g[5] += d * a2, g[6] += d;
        }
        w1 -= lr * g[0], w2 -= lr * g[1], b1 -= lr * g[2], b2 -= lr * g[3];
        w3 -= lr * g[4], w4 -= lr * g[5], b3 -= lr * g[6];
    }
    p[0] = w1, p[1] = w2, p[2] = b1, p[3] = b2, p[4] = w3, p[5] = w4, p[6] = b3;
    double ssr = 0;
    for (int i = 0; i < n; i++) {
        float r = w3 * softplus_ref(w1 * x[i] + b1) + w4 * softplus_ref(w2 * x[i] + b2) + b3 - y[i];
        ssr += (double)r * r;
    }
    return ssr;
}

static int cmd_w2(int argc, char **argv)
{
    long iters = argc > 0 ? atol(argv[0]) : 10000;
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (iters < 1 || reps < 1 || reps > 99) return 2;
    const float x[] = {0.0f, 0.5f, 1.0f}, y[] = {0.0f, 1.0f, 0.0f};
    const float lr = 0.1f;
    static const char *names[7] = {"w1", "w2", "b1", "b2", "w3", "w4", "b3"};
    dsc_dataset *d;
    if (dsc_dataset_from_arrays(x, y, 3, 1, 1, &d)) die("dataset");
    double lib_us[99], ref_us[99], lib_loss = 0, ref_loss = 0;
    float init[7];
    for (int rep = 0; rep < reps; rep++) {
        dsc_model *m;
        if (dsc_model_new("1 -> 2:softplus -> 1:identity", &m)) die("model");
        if (dsc_model_init(m, DSC_INIT_DEFAULT, 42)) die("init");
        for (int j = 0; j < 7; j++)
            if (dsc_model_get(m, names[j], &init[j])) die("get");
        dsc_train_params p;
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_SSR;
        p.optimizer = DSC_OPT_GD;
        p.learning_rate = lr;
        p.max_iter = iters;
        p.step_tol = 0;
        p.threads = 1;
        dsc_train_result r;
        if (dsc_train(m, d, &p, &r)) die("train");
        if ((long)r.iterations != iters)
            fprintf(stderr, "dscbench: w2 ran %zu steps\n", r.iterations);
        lib_us[rep] = r.seconds / (double)iters * 1e6;
        lib_loss = r.loss;
        dsc_model_free(m);

        float q[7];
        memcpy(q, init, sizeof q);
        double t0 = now();
        ref_loss = w2_reference(q, x, y, 3, lr, iters);
        ref_us[rep] = (now() - t0) / (double)iters * 1e6;
    }
    dsc_dataset_free(d);
    double lu = median(lib_us, reps), ru = median(ref_us, reps);
    printf(
        "{\"workload\": \"w2\", \"iterations\": %ld, \"reps\": %d, \"us_per_iter\": %.4f, "
        "\"ref_us_per_iter\": %.4f, \"ratio_to_ref\": %.3f, \"loss\": %.6g, \"ref_loss\": %.6g}\n",
        iters, reps, lu, ru, lu / ru, lib_loss, ref_loss);
    return 0;
}

/* ------------------------------------------------------------------ */
/* STREAM-style bandwidth on arrays of W3's size                      */
/* ------------------------------------------------------------------ */

typedef struct {
    double read_gbs, triad_gbs;
} stream_result;

static stream_result run_stream(int threads, size_t n, int reps)
{
    float *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b), *c = xmalloc(n * sizeof *c);
    set_threads(threads);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = 1.0f, b[i] = 0.5f, c[i] = 0.25f; /* first touch */
    double tr[64], tt[64], sink = 0;
    if (reps > 64) reps = 64;
    for (int rep = 0; rep < reps + 2; rep++) { /* two warm-up passes */
        double t0 = now();
        double s = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : s)
        for (size_t i = 0; i < n; i++) s += a[i] * b[i];
        double t1 = now();
        const float k = 1.0001f;
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + k * c[i];
        double t2 = now();
        sink += s + a[rep];
        if (rep >= 2) tr[rep - 2] = t1 - t0, tt[rep - 2] = t2 - t1;
    }
    if (sink == 42.0) fprintf(stderr, "%g\n", sink);
    stream_result r;
    r.read_gbs = 2.0 * n * sizeof(float) / median(tr, reps) * 1e-9;
    r.triad_gbs = 3.0 * n * sizeof(float) / median(tt, reps) * 1e-9;
    free(a), free(b), free(c);
    return r;
}

static int cmd_stream(int argc, char **argv)
{
    int threads = argc > 0 ? atoi(argv[0]) : 1;
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    stream_result s = run_stream(threads, n, 30);
    printf("{\"workload\": \"stream\", \"threads\": %d, \"n\": %zu, \"read_gbs\": %.2f, "
           "\"triad_gbs\": %.2f}\n",
           threads, n, s.read_gbs, s.triad_gbs);
    return 0;
}

/* ------------------------------------------------------------------ */
/* W3: a line by batch gradient descent on 1,000,000 points           */
/* ------------------------------------------------------------------ */

static int cmd_w3(int argc, char **argv)
{
    int threads = argc > 0 ? atoi(argv[0]) : 1;
    long iters = argc > 1 ? atol(argv[1]) : 100;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    size_t n = argc > 3 ? (size_t)atol(argv[3]) : 1000000;
    if (threads < 1 || iters < 1 || reps < 1 || reps > 99 || n < 2) return 2;
    float *x = xmalloc(n * sizeof *x), *y = xmalloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        x[i] = frand();
        y[i] = 3.0f * x[i] + 2.0f + 0.1f * (frand() - 0.5f);
    }
    dsc_dataset *d;
    if (dsc_dataset_from_arrays(x, y, n, 1, 1, &d)) die("dataset");
    free(x), free(y);
    double ms[99], slope = 0, icpt = 0, loss = 0;
    for (int rep = 0; rep < reps; rep++) {
        dsc_model *m;
        if (dsc_model_new("1 -> 1:identity", &m)) die("model");
        dsc_train_params p;
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_MSE;
        p.optimizer = DSC_OPT_GD;
        p.learning_rate = 0.5;
        p.max_iter = iters;
        p.step_tol = 0;
        p.threads = threads;
        dsc_train_result r;
        if (dsc_train(m, d, &p, &r)) die("train");
        ms[rep] = r.seconds / (double)iters * 1e3;
        float w, b;
        dsc_model_get(m, "w1", &w);
        dsc_model_get(m, "b1", &b);
        slope = w, icpt = b, loss = r.loss;
        dsc_model_free(m);
    }
    dsc_dataset_free(d);
    double t = median(ms, reps);
    stream_result s = run_stream(threads, n, 20);
    double gbs = 2.0 * (double)n * sizeof(float) / (t * 1e-3) * 1e-9;
    printf("{\"workload\": \"w3\", \"threads\": %d, \"n\": %zu, \"iterations\": %ld, \"reps\": %d, "
           "\"ms_per_iter\": %.4f, \"gbs\": %.3f, \"stream_read_gbs\": %.2f, "
           "\"stream_triad_gbs\": %.2f, \"fraction_of_read\": %.4f, \"slope\": %.4f, "
           "\"intercept\": %.4f, \"loss\": %.6g, \"peak_rss_kb\": %ld}\n",
           threads, n, iters, reps, t, gbs, s.read_gbs, s.triad_gbs, gbs / s.read_gbs, slope, icpt,
           loss, peak_rss_kb());
    return 0;
}

/* ------------------------------------------------------------------ */
/* CSV loading                                                        */
/* ------------------------------------------------------------------ */

static int write_csv(const char *path, double mb)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fputs("c1,c2,c3,c4,c5,c6,c7,c8,c9,c10\n", f);
    double target = mb * 1e6;
    long bytes = 0;
    char line[256];
    while ((double)bytes < target) {
        int len = 0;
        for (int j = 0; j < 10; j++)
            len += snprintf(line + len, sizeof line - (size_t)len, "%s%.6f", j ? "," : "",
                            2000.0 * frand() - 1000.0);
        line[len++] = '\n';
        fwrite(line, 1, (size_t)len, f);
        bytes += len;
    }
    return fclose(f) != 0;
}

/* Hand-written reference: read the whole file and strtof every field. */
static double csv_reference(const char *path, size_t *rows)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = xmalloc((size_t)size + 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    buf[got] = 0;
    char *p = strchr(buf, '\n');
    size_t cap = 1 << 20, nv = 0;
    float *v = xmalloc(cap * sizeof *v);
    double sum = 0;
    *rows = 0;
    while (p && *++p) {
        char *end;
        float val = strtof(p, &end);
        if (end == p) break;
        if (nv == cap) cap *= 2, v = realloc(v, cap * sizeof *v);
        if (!v) exit(1);
        v[nv++] = val;
        sum += val;
        p = end;
        if (*p == '\n') ++*rows;
    }
    free(v);
    free(buf);
    return sum;
}

static int cmd_csv(int argc, char **argv)
{
    if (argc < 1) return 2;
    const char *path = argv[0];
    double mb = argc > 1 ? atof(argv[1]) : 100;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (reps < 1 || reps > 99) return 2;
    if (write_csv(path, mb)) return 1;
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    double size = (double)ftell(f);
    fclose(f);
    double tl[99], trf[99];
    size_t rows = 0, ref_rows = 0;
    for (int rep = 0; rep < reps; rep++) {
        dsc_csv_options o;
        dsc_csv_options_init(&o);
        dsc_dataset *d;
        double t0 = now();
        if (dsc_dataset_from_csv(path, &o, &d)) die("csv");
        tl[rep] = now() - t0;
        rows = dsc_dataset_rows(d);
        dsc_dataset_free(d);
        t0 = now();
        double sum = csv_reference(path, &ref_rows);
        trf[rep] = now() - t0;
        if (sum == 1e300) fprintf(stderr, "%g\n", sum);
    }
    double t = median(tl, reps), tr = median(trf, reps);
    printf("{\"workload\": \"csv\", \"mb\": %.1f, \"rows\": %zu, \"reps\": %d, \"seconds\": %.4f, "
           "\"mb_per_s\": %.1f, \"ref_mb_per_s\": %.1f, \"ratio_to_ref\": %.3f, \"ref_rows\": %zu, "
           "\"peak_rss_kb\": %ld}\n",
           size / 1e6, rows, reps, t, size / 1e6 / t, size / 1e6 / tr, tr / t, ref_rows,
           peak_rss_kb());
    return 0;
}

/* ------------------------------------------------------------------ */
/* A hand-written GEMM (i-k-j, vectorised by the compiler), the        */
/* reference of the W1 and inference smoke ratios.                    */
/* ------------------------------------------------------------------ */

/* C[m x n] = A[m x k] * B[k x n] (+ bias per column), optional ReLU. */
static void ref_dense(size_t m, size_t n, size_t k, const float *restrict A,
                      const float *restrict B, const float *restrict bias, float *restrict C,
                      int relu)
{
    for (size_t i = 0; i < m; i++) {
        float *restrict c = C + i * n;
        for (size_t j = 0; j < n; j++) c[j] = bias ? bias[j] : 0.0f;
        for (size_t p = 0; p < k; p++) {
            float a = A[i * k + p];
            const float *restrict b = B + p * n;
            for (size_t j = 0; j < n; j++) c[j] += a * b[j];
        }
        if (relu)
            for (size_t j = 0; j < n; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
    }
}

static double ref_gemm_gflops(void)
{
    const size_t m = 128, n = 256, k = 784;
    float *A = xmalloc(m * k * sizeof *A), *B = xmalloc(k * n * sizeof *B),
          *C = xmalloc(m * n * sizeof *C);
    for (size_t i = 0; i < m * k; i++) A[i] = frand() - 0.5f;
    for (size_t i = 0; i < k * n; i++) B[i] = frand() - 0.5f;
    double r[5];
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        int calls = 0;
        do {
            ref_dense(m, n, k, A, B, NULL, C, 0);
            calls++;
        } while (now() - t0 < 0.05);
        r[rep] = 2.0 * m * n * k * calls / (now() - t0) * 1e-9;
    }
    if (C[7] == 12345.0f) fprintf(stderr, "%g\n", C[7]);
    free(A), free(B), free(C);
    return median(r, 5);
}

static int cmd_refgemm(void)
{
    printf("{\"workload\": \"refgemm\", \"shape\": \"128x256x784\", \"gflops\": %.2f}\n",
           ref_gemm_gflops());
    return 0;
}

/* ------------------------------------------------------------------ */
/* W1 on random data: a short, file-free version for smoke tests       */
/* ------------------------------------------------------------------ */

#define W1_SPEC       "784 -> 256:relu,128:relu -> 10:softmax"
#define W1_TRAIN_FLOP (3.0 * 2.0 * (784.0 * 256 + 256.0 * 128 + 128.0 * 10))

static float *random_rows(size_t rows, size_t cols)
{
    float *x = xmalloc(rows * cols * sizeof *x);
    for (size_t i = 0; i < rows * cols; i++) x[i] = frand();
    return x;
}

static int cmd_w1synth(int argc, char **argv)
{
    int threads = argc > 0 ? atoi(argv[0]) : 1;
    size_t rows = argc > 1 ? (size_t)atol(argv[1]) : 8192;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (threads < 1 || rows < 128 || reps < 1 || reps > 99) return 2;
    float *x = random_rows(rows, 784), *y = xmalloc(rows * 10 * sizeof *y);
    memset(y, 0, rows * 10 * sizeof *y);
    for (size_t i = 0; i < rows; i++) y[i * 10 + (size_t)(frand() * 10) % 10] = 1.0f;
    dsc_dataset *d;
    if (dsc_dataset_from_arrays(x, y, rows, 784, 10, &d)) die("dataset");
    free(x), free(y);
    double sps[99];
    for (int rep = 0; rep < reps; rep++) {
        dsc_model *m;
        if (dsc_model_new(W1_SPEC, &m)) die("model");
        dsc_model_init(m, DSC_INIT_DEFAULT, 42);
        dsc_train_params p;
        dsc_train_params_init(&p);
        p.loss = DSC_LOSS_CE;
        p.optimizer = DSC_OPT_MOMENTUM;
        p.momentum = 0.9;
        p.learning_rate = 0.05;
        p.batch = 128;
        p.epochs = 1;
        p.threads = threads;
        dsc_train_result r;
        if (dsc_train(m, d, &p, &r)) die("train");
        sps[rep] = (double)rows / r.seconds;
        dsc_model_free(m);
    }
    dsc_dataset_free(d);
    double s = median(sps, reps), ref = ref_gemm_gflops();
    double gf = s * W1_TRAIN_FLOP * 1e-9;
    printf("{\"workload\": \"w1synth\", \"threads\": %d, \"rows\": %zu, \"samples_per_s\": %.1f, "
           "\"train_gflops\": %.3f, \"ref_gemm_gflops\": %.3f, \"ratio_to_ref\": %.4f}\n",
           threads, rows, s, gf, ref, gf / ref);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Inference through dsc_predict                                      */
/* ------------------------------------------------------------------ */

static int cmd_infer(int argc, char **argv)
{
    int threads = argc > 0 ? atoi(argv[0]) : 1;
    size_t rows = argc > 1 ? (size_t)atol(argv[1]) : 10000;
    if (threads < 1 || rows < 1) return 2;
    set_threads(threads);
    dsc_model *m;
    if (dsc_model_new(W1_SPEC, &m)) die("model");
    dsc_model_init(m, DSC_INIT_DEFAULT, 7);
    const size_t max_batch = 256;
    dsc_workspace *ws;
    if (dsc_workspace_new(m, max_batch, &ws)) die("workspace");
    float *x = random_rows(rows, 784), *y = xmalloc(rows * 10 * sizeof *y);

    /* Single-sample latency: batches of 200 calls, median per call. */
    double lat[15];
    for (int rep = 0; rep < 15; rep++) {
        double t0 = now();
        for (int c = 0; c < 200; c++)
            if (dsc_predict(m, ws, x + (size_t)(c % (int)rows) * 784, 1, y)) die("predict");
        lat[rep] = (now() - t0) / 200 * 1e6;
    }
    /* Batch throughput: all rows, in chunks of max_batch. */
    double thr[5];
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        if (dsc_predict(m, ws, x, rows, y)) die("predict");
        thr[rep] = (double)rows / (now() - t0);
    }
    /* Reference: the same forward pass with the hand-written loop (1 thread),
     * weights transposed to in x out once beforehand. */
    const float *P = dsc_model_params_const(m);
    size_t first, cnt;
    const size_t dims[4] = {784, 256, 128, 10};
    float *wt[3], *bias[3];
    for (int l = 0; l < 3; l++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.weight", l + 1);
        if (dsc_model_find(m, name, &first, &cnt)) die("find");
        size_t in = dims[l], out = dims[l + 1];
        wt[l] = xmalloc(in * out * sizeof(float));
        for (size_t o = 0; o < out; o++) /* stored out x in (w numbered by unit, then input) */
            for (size_t i = 0; i < in; i++) wt[l][i * out + o] = P[first + o * in + i];
        snprintf(name, sizeof name, "layer%d.bias", l + 1);
        if (dsc_model_find(m, name, &first, &cnt)) die("find");
        bias[l] = xmalloc(out * sizeof(float));
        memcpy(bias[l], P + first, out * sizeof(float));
    }
    float *h1 = xmalloc(max_batch * 256 * sizeof(float)),
          *h2 = xmalloc(max_batch * 128 * sizeof(float));
    float *yr = xmalloc(rows * 10 * sizeof(float));
    double rthr[5];
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (size_t r0 = 0; r0 < rows; r0 += max_batch) {
            size_t b = rows - r0 < max_batch ? rows - r0 : max_batch;
            ref_dense(b, 256, 784, x + r0 * 784, wt[0], bias[0], h1, 1);
            ref_dense(b, 128, 256, h1, wt[1], bias[1], h2, 1);
            ref_dense(b, 10, 128, h2, wt[2], bias[2], yr + r0 * 10, 0);
            for (size_t i = 0; i < b; i++) { /* softmax */
                float *z = yr + (r0 + i) * 10, mx = z[0], s = 0;
                for (int j = 1; j < 10; j++) mx = z[j] > mx ? z[j] : mx;
                for (int j = 0; j < 10; j++) s += z[j] = expf(z[j] - mx);
                for (int j = 0; j < 10; j++) z[j] /= s;
            }
        }
        rthr[rep] = (double)rows / (now() - t0);
    }
    double maxdiff = 0;
    for (size_t i = 0; i < rows * 10; i++) {
        double dd = fabs((double)y[i] - yr[i]);
        if (dd > maxdiff) maxdiff = dd;
    }
    double l = median(lat, 15), t = median(thr, 5), rt = median(rthr, 5);
    printf("{\"workload\": \"infer\", \"threads\": %d, \"rows\": %zu, \"max_batch\": %zu, "
           "\"latency_us\": %.2f, \"samples_per_s\": %.1f, \"gflops\": %.3f, "
           "\"ref_samples_per_s\": %.1f, \"ratio_to_ref\": %.4f, \"max_abs_diff\": %.3g}\n",
           threads, rows, max_batch, l, t, t * W1_TRAIN_FLOP / 3.0 * 1e-9, rt, t / rt, maxdiff);
    for (int i = 0; i < 3; i++) free(wt[i]), free(bias[i]);
    free(h1), free(h2), free(yr), free(x), free(y);
    dsc_workspace_free(ws);
    dsc_model_free(m);
    return 0;
}

/* ------------------------------------------------------------------ */
/* softplus: accuracy over the float range, speed against libm          */
/* ------------------------------------------------------------------ */

/* The form softplus had before descent's own: the C library's log1pf. */
static float softplus_libm(float x) { return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x))); }

/* |y - v| in units of the spacing of floats at |v| (subnormals included). */
static double ulp_error(float y, double v)
{
    if (isinf(v)) return y == (float)v ? 0.0 : INFINITY;
    float r = fabsf((float)v), up = nextafterf(r, INFINITY);
    double spacing = isinf(up) ? ldexp(1.0, 104) : (double)up - (double)r;
    return fabs((double)y - v) / spacing;
}

static int cmd_softplus(int argc, char **argv)
{
    long stride = argc > 0 ? atol(argv[0]) : 1;
    if (stride < 1) return 2;
    enum { CHUNK = 1 << 22 };
    dsc_graph *g;
    if (dsc_graph_new(&g)) die("graph");
    dsc_node xn = dsc_param(g, "x", 1, CHUNK), yn = dsc_activate(g, DSC_ACT_SOFTPLUS, xn);
    if (dsc_graph_compile(g, 1, NULL, 0)) die("compile");
    float *x = dsc_graph_params(g), *ylib = malloc(CHUNK * sizeof(float));
    if (!ylib) die("memory");
    double worst = 0, worst_lib = 0, worst_x = 0, t_eng = 0, t_lib = 0;
    unsigned long long n = 0, chunks = 0, over_half = 0, over_half_lib = 0, over_one_lib = 0,
                       over_one = 0;
    for (uint64_t b = 0; b < (1ull << 32);) {
        size_t k = 0;
        for (; k < CHUNK && b < (1ull << 32); b += (uint64_t)stride) {
            uint32_t u = (uint32_t)b;
            memcpy(&x[k], &u, sizeof u);
            if (!isnan(x[k])) k++;
        }
        for (size_t i = k; i < CHUNK; i++) x[i] = 0.0f;
        double t0 = thread_cpu();
        if (dsc_graph_forward(g)) die("forward");
        double t1 = thread_cpu();
        for (size_t i = 0; i < k; i++) ylib[i] = softplus_libm(x[i]);
        double t2 = thread_cpu();
        t_eng += t1 - t0, t_lib += t2 - t1;
        const float *y = dsc_graph_value(g, yn).data;
        for (size_t i = 0; i < k; i++) {
            double a = fabs((double)x[i]);
            double v = fmax((double)x[i], 0.0) + log1p(exp(-a));
            double e = ulp_error(y[i], v), el = ulp_error(ylib[i], v);
            if (e > worst) worst = e, worst_x = x[i];
            if (el > worst_lib) worst_lib = el;
            over_half += e > 0.5, over_half_lib += el > 0.5;
            over_one += e > 1.0, over_one_lib += el > 1.0;
        }
        n += k, chunks++;
    }
    printf("{\"workload\": \"softplus\", \"stride\": %ld, \"inputs\": %llu, \"worst_ulp\": %.4f, "
           "\"worst_at\": %a, \"over_half_ulp\": %llu, \"over_1_ulp\": %llu, "
           "\"libm_worst_ulp\": %.4f, \"libm_over_half_ulp\": %llu, \"libm_over_1_ulp\": %llu, "
           "\"ns_per_value\": %.3f, \"libm_ns_per_value\": %.3f}\n",
           stride, n, worst, worst_x, over_half, over_one, worst_lib, over_half_lib, over_one_lib,
           t_eng * 1e9 / ((double)chunks * CHUNK), t_lib / (double)n * 1e9);
    free(ylib);
    dsc_graph_free(g);
    return over_one ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dscbench w2|w3|stream|csv|infer|w1synth|refgemm|softplus [args]\n");
        return 2;
    }
    const char *c = argv[1];
    int rc = 2;
    if (!strcmp(c, "w2"))
        rc = cmd_w2(argc - 2, argv + 2);
    else if (!strcmp(c, "w3"))
        rc = cmd_w3(argc - 2, argv + 2);
    else if (!strcmp(c, "stream"))
        rc = cmd_stream(argc - 2, argv + 2);
    else if (!strcmp(c, "csv"))
        rc = cmd_csv(argc - 2, argv + 2);
    else if (!strcmp(c, "infer"))
        rc = cmd_infer(argc - 2, argv + 2);
    else if (!strcmp(c, "w1synth"))
        rc = cmd_w1synth(argc - 2, argv + 2);
    else if (!strcmp(c, "refgemm"))
        rc = cmd_refgemm();
    else if (!strcmp(c, "softplus"))
        rc = cmd_softplus(argc - 2, argv + 2);
    if (rc == 2) fprintf(stderr, "dscbench: bad arguments for %s\n", c);
    return rc;
}
