/* The thread pool behind dsc_parallel_for: every index is run exactly once
 * in pieces that respect the piece size, whatever the thread count; nested
 * calls and calls from other threads run inline instead of waiting; a
 * helper really takes part; a caller never waits for a pool another caller
 * holds; nothing is allocated; the default thread count reads the
 * environment. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "check.h"

enum { N_MAX = 100000 };

static int threaded;

/* Counts visits per index and checks each range against the piece size. */
typedef struct {
    unsigned char *seen;
    size_t n, piece;
    _Atomic int bad_range;
    _Atomic int calls;
} cover_job;

static void cover(void *job_, size_t lo, size_t hi)
{
    cover_job *j = job_;
    atomic_fetch_add(&j->calls, 1);
    /* Either the whole loop in one call, or one piece on its boundaries. */
    int whole = lo == 0 && hi == j->n;
    int piece = lo % j->piece == 0 && hi - lo <= j->piece && (hi - lo == j->piece || hi == j->n);
    if (lo >= hi || hi > j->n || (!whole && !piece)) atomic_store(&j->bad_range, 1);
    for (size_t i = lo; i < hi && i < j->n; i++) j->seen[i]++;
}

static void test_cover(void)
{
    static unsigned char seen[N_MAX];
    size_t sizes[] = {1, 2, 7, 64, 1000, 4097, N_MAX};
    size_t pieces[] = {1, 3, 64, 4096, 200000};
    int threads[] = {1, 2, 3, 8};
    int all_once = 1, ranges_ok = 1, split = 0;
    for (size_t a = 0; a < DSC_COUNT_OF(sizes); a++)
        for (size_t b = 0; b < DSC_COUNT_OF(pieces); b++)
            for (size_t c = 0; c < DSC_COUNT_OF(threads); c++)
                for (int par = 0; par < 2; par++) {
                    size_t n = sizes[a];
                    memset(seen, 0, n);
                    cover_job j = {seen, n, pieces[b], 0, 0};
                    dsc_parallel_for(threads[c], par, n, pieces[b], cover, &j);
                    for (size_t i = 0; i < n; i++) all_once &= seen[i] == 1;
                    ranges_ok &= !atomic_load(&j.bad_range);
                    if (threaded && par && threads[c] > 1 && n > pieces[b])
                        split |= atomic_load(&j.calls) > 1;
                    else
                        ranges_ok &= atomic_load(&j.calls) == 1;
                }
    CHECK(all_once);
    CHECK(ranges_ok);
    CHECK(split == threaded); /* a parallel loop was really cut into pieces */
    /* n == 0 calls nothing; piece 0 means 1. */
    cover_job j = {seen, 0, 1, 0, 0};
    dsc_parallel_for(2, 1, 0, 1, cover, &j);
    CHECK(atomic_load(&j.calls) == 0);
    memset(seen, 0, 10);
    j = (cover_job){seen, 10, 1, 0, 0};
    dsc_parallel_for(2, 1, 10, 0, cover, &j);
    int once = 1;
    for (int i = 0; i < 10; i++) once &= seen[i] == 1;
    CHECK(once);
}

/* A piece that starts a parallel loop of its own: it must run inline and
 * complete (the pool serves one job at a time). */
static void inner(void *job_, size_t lo, size_t hi)
{
    _Atomic long *sum = job_;
    for (size_t i = lo; i < hi; i++) atomic_fetch_add(sum, (long)i);
}

static void outer(void *job_, size_t lo, size_t hi)
{
    _Atomic long *sums = job_;
    for (size_t i = lo; i < hi; i++) dsc_parallel_for(2, 1, 100, 10, inner, &sums[i]);
}

static void test_nested(void)
{
    _Atomic long sums[16];
    for (int i = 0; i < 16; i++) atomic_init(&sums[i], 0);
    dsc_parallel_for(2, 1, 16, 1, outer, sums);
    int ok = 1;
    for (int i = 0; i < 16; i++) ok &= atomic_load(&sums[i]) == 4950;
    CHECK(ok);
}

/* Several threads run parallel loops at once; each gets its own answer. */
typedef struct {
    float *out;
    float scale;
} scale_job;

static void scale_range(void *job_, size_t lo, size_t hi)
{
    const scale_job *j = job_;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->scale * (float)i;
}

static void *caller(void *arg)
{
    scale_job *j = arg;
    for (int rep = 0; rep < 200; rep++) dsc_parallel_for(2, 1, 4096, 256, scale_range, j);
    return NULL;
}

static void test_callers(void)
{
    enum { T = 4 };
    static float out[T][4096];
    scale_job jobs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (scale_job){out[t], (float)(t + 1)};
        pthread_create(&th[t], NULL, caller, &jobs[t]);
    }
    int ok = 1;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        for (int i = 0; i < 4096; i++) ok &= out[t][i] == (float)(t + 1) * (float)i;
    }
    CHECK(ok);
}

/* A helper takes part: the first piece waits (up to 10 s) until a piece
 * runs on another thread at the same time. */
typedef struct {
    pthread_t first;
    _Atomic int started, other_seen;
} meet_job;

static void meet(void *job_, size_t lo, size_t hi)
{
    meet_job *j = job_;
    (void)hi;
    if (lo == 0) {
        j->first = pthread_self();
        atomic_store(&j->started, 1);
        double t0 = dsc_seconds();
        while (!atomic_load(&j->other_seen) && dsc_seconds() - t0 < 10.0) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    } else if (atomic_load(&j->started)) {
        atomic_store(&j->other_seen, 1);
    } else {
        /* Piece 0 not started yet: let it start, then report. */
        double t0 = dsc_seconds();
        while (!atomic_load(&j->started) && dsc_seconds() - t0 < 10.0) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        atomic_store(&j->other_seen, 1);
    }
}

static void test_helper_takes_part(void)
{
    meet_job j = {.started = 0, .other_seen = 0};
    double t0 = dsc_seconds();
    dsc_parallel_for(2, 1, 2, 1, meet, &j);
    CHECK(atomic_load(&j.other_seen));
    CHECK(dsc_seconds() - t0 < 10.0);
}

/* While one caller holds the pool (its helper stuck in a piece), another
 * caller's parallel loop runs inline and finishes instead of waiting. */
typedef struct {
    _Atomic int holding, release;
} hold_job;

static void hold(void *job_, size_t lo, size_t hi)
{
    hold_job *j = job_;
    (void)lo, (void)hi;
    atomic_store(&j->holding, 1);
    double t0 = dsc_seconds();
    while (!atomic_load(&j->release) && dsc_seconds() - t0 < 20.0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

static void *holder(void *arg)
{
    dsc_parallel_for(2, 1, 2, 1, hold, arg);
    return NULL;
}

static void test_no_wait_for_busy_pool(void)
{
    hold_job j = {0, 0};
    pthread_t th;
    pthread_create(&th, NULL, holder, &j);
    while (!atomic_load(&j.holding)) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    static float out[8192];
    scale_job s = {out, 2.0f};
    double t0 = dsc_seconds();
    dsc_parallel_for(2, 1, 8192, 64, scale_range, &s);
    double took = dsc_seconds() - t0;
    atomic_store(&j.release, 1);
    pthread_join(th, NULL);
    int ok = 1;
    for (int i = 0; i < 8192; i++) ok &= out[i] == 2.0f * (float)i;
    CHECK(ok);
    CHECK(took < 5.0); /* did not wait for the holder's release */
}

/* Parallel loops allocate nothing (the helpers exist by now). */
static void test_no_allocation(void)
{
    static float out[65536];
    scale_job s = {out, 3.0f};
    dsc_parallel_for(2, 1, 65536, 1024, scale_range, &s);
    uint64_t before = dsc_alloc_count();
    for (int rep = 0; rep < 100; rep++) dsc_parallel_for(2, 1, 65536, 1024, scale_range, &s);
    CHECK(dsc_alloc_count() == before);
}

int main(void)
{
    /* A build without threads runs every loop inline, with 1 thread by default. */
    threaded = strstr(dsc_build_info(), "threads: pool") != NULL;
    /* Read once, at the first request for the default: set before it. */
    setenv("DSC_NUM_THREADS", "3", 1);
    CHECK(dsc_threads(0) == (threaded ? 3 : 1));
    unsetenv("DSC_NUM_THREADS");
    CHECK(dsc_threads(0) == (threaded ? 3 : 1)); /* kept */
    CHECK(dsc_threads(5) == 5);
    test_cover();
    test_nested();
    test_callers();
    if (threaded) {
        test_helper_takes_part();
        test_no_wait_for_busy_pool();
    } else {
        fprintf(stderr, "test_pool: built without threads, helper tests skipped\n");
    }
    test_no_allocation();
    return check_report();
}
