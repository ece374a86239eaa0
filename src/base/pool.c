/* The thread pool behind dsc_parallel_for.
 *
 * Why our own: with OpenMP every thread of a team must reach the barrier
 * that ends a parallel region, so when another program holds the second
 * core, each of the hundreds of regions in a training step waits for the
 * scheduler to give a helper thread its turn (a 0.8 s epoch took 30 s).
 * Here the caller never waits for a helper to arrive:
 *  - a loop is cut into pieces whose boundaries depend on n and the
 *    piece size only; the caller and the helpers take pieces one at a time
 *    from one counter, so a helper that is not running takes none, and the
 *    caller does them all if need be;
 *  - the caller waits only for pieces a helper has already taken, and
 *    sleeps after a short spin, which leaves its core to a helper the
 *    scheduler had parked behind another program;
 *  - helpers spin for a short while after a job (the next one is usually
 *    microseconds away), then sleep until woken.
 * Which thread runs a piece never changes what the piece computes, so
 * results are the same for any thread count.
 *
 * The taking protocol: one 64-bit ticket holds the pieces not yet taken,
 * [lo, hi), and the number of threads allowed. The caller takes pieces
 * from the front, helpers from the back: with two threads each keeps
 * about the same half of every loop from one step to the next, so the
 * data it wrote last step (weights, velocities, activations, its packed
 * panels) is still in its own core's caches. On a host that places the
 * two vCPUs on different core complexes, a line the other core wrote costs
 * a cross-die transfer (a ping-pong between them took 350-1000 ns there),
 * and taking pieces in turn from one end moved half of every array
 * between the cores each step. A thread takes a piece by compare-and-swap
 * on the whole word, so a helper that read an old job's ticket can only
 * ever take a piece of the job that is current when its swap succeeds. The job's fields are written
 * before its ticket is published (release) and read only after a successful take (acquire); the
 * caller changes them only after every taken piece is reported done, so
 * no thread reads them while they change. Sleep and wake-up use futexes on
 * Linux (a condition variable elsewhere); every fact a thread acts on is
 * carried by C11 atomics, which ThreadSanitizer follows. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#define POOL_FUTEX 1
#else
#define POOL_FUTEX 0
#endif

/* Threads in one job, the caller included (the ticket keeps 16 bits). */
#define POOL_MAX 256
/* Pieces in one job (the ticket keeps 24 bits for each of two counts). */
#define PIECES_MAX ((1u << 24) - 1)
/* How long a helper spins for the next job, and the caller for pieces
 * taken by helpers, before sleeping. In a Fashion-MNIST step 92% of the
 * gaps between jobs are under 5 us of the caller's time, 99.99% under
 * 50 us; a piece takes microseconds to tens of them. Spinning longer only
 * burns time the caller could have had, where the scheduler shares a
 * process's cores between its threads (autogroups, cgroups). Past
 * SPIN_YIELD_S the spin yields now and then.
 * A helper spins at most SPIN_PER_WORK times the time its recent jobs
 * gave it to do (an average over the last few), between SPIN_MIN_S and
 * HELPER_SPIN_S: where jobs are tiny (a 150-row iris fit: pieces of a
 * microsecond or two, a few jobs per step) a helper that spun 60 us after
 * each job used as much CPU as the caller for little gain (12.8 ms of CPU
 * for a 6.7 ms fit). */
#define HELPER_SPIN_S 60e-6
#define SPIN_MIN_S    4e-6
#define SPIN_PER_WORK 2.0
#define SPIN_YIELD_S  10e-6
#define CALLER_SPIN_S 50e-6
/* After spinning, a helper naps until HELPER_NAP_S after its last job,
 * then sleeps until a caller wakes it. Napping, not sleeping until woken,
 * spares the caller a wake-up system call per job while jobs keep coming,
 * and a helper woken by a timer stays on its own core, where a wake-up from
 * the caller may move it onto the caller's. Naps start at NAP_S and double
 * up to NAP_MAX_S, so a quiet spell costs a dozen wake-ups, not hundreds. */
#define HELPER_NAP_S 20e-3
#define NAP_S        50e-6
#define NAP_MAX_S    2e-3

#ifndef DSC_NO_THREADS
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- sleeping on a 32-bit word ------------------------------------- */

#if POOL_FUTEX
/* Sleeps while *w == v (the kernel checks it, so no wake-up is lost). */
static void word_wait(_Atomic uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}
static void word_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, POOL_MAX, NULL, NULL, 0);
}
#else
static pthread_mutex_t sleep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cv = PTHREAD_COND_INITIALIZER;
static void word_wait(_Atomic uint32_t *w, uint32_t v)
{
    pthread_mutex_lock(&sleep_mu);
    if (atomic_load(w) == v) pthread_cond_wait(&sleep_cv, &sleep_mu);
    pthread_mutex_unlock(&sleep_mu);
}
static void word_wake(_Atomic uint32_t *w)
{
    (void)w;
    pthread_mutex_lock(&sleep_mu);
    pthread_cond_broadcast(&sleep_cv);
    pthread_mutex_unlock(&sleep_mu);
}
#endif

/* ---- the pool ---------------------------------------------------------- */

#define TICKET(lo, hi, width) ((uint64_t)(lo) | (uint64_t)(hi) << 24 | (uint64_t)(width) << 48)
#define T_LO(t)               ((uint32_t)((t)&PIECES_MAX))
#define T_HI(t)               ((uint32_t)(((t) >> 24) & PIECES_MAX))
#define T_WIDTH(t)            ((uint32_t)((t) >> 48))

static struct {
    /* Written by whoever takes or finishes a piece: a line each. */
    _Alignas(64) _Atomic uint64_t ticket;
    _Alignas(64) _Atomic uint32_t done; /* pieces finished in this job */
    _Atomic uint32_t caller_asleep;
    /* Bumped when a job is published: what idle helpers watch. */
    _Alignas(64) _Atomic uint32_t gen;
    _Atomic uint32_t sleepers; /* helpers asleep or about to be */
    /* The job, as its caller wrote it before publishing the ticket. */
    _Alignas(64) dsc_range_fn fn;
    void *ctx;
    size_t n, piece;
    uint32_t pieces;
    /* Set while a caller holds the pool; other callers run inline. */
    atomic_flag busy;
    _Atomic int helpers;     /* helper threads running */
    _Atomic int grow_failed; /* a helper could not be started: stop trying */
} pool = {.busy = ATOMIC_FLAG_INIT};

static pthread_mutex_t grow_mu = PTHREAD_MUTEX_INITIALIZER;

/* Takes the next piece for thread id, if any is left that it may take:
 * the caller (id 0) the first one left, a helper the last. */
static int take(uint32_t id, uint32_t *piece)
{
    uint64_t t = atomic_load_explicit(&pool.ticket, memory_order_relaxed);
    for (;;) {
        uint32_t lo = T_LO(t), hi = T_HI(t);
        if (lo >= hi || id >= T_WIDTH(t)) return 0;
        uint64_t next = id == 0 ? TICKET(lo + 1, hi, T_WIDTH(t)) : TICKET(lo, hi - 1, T_WIDTH(t));
        if (atomic_compare_exchange_weak_explicit(&pool.ticket, &t, next, memory_order_acquire,
                                                  memory_order_relaxed)) {
            *piece = id == 0 ? lo : hi - 1;
            return 1;
        }
    }
}

static void run_piece(uint32_t p)
{
    size_t lo = (size_t)p * pool.piece;
    size_t hi = pool.n - lo < pool.piece ? pool.n : lo + pool.piece;
    pool.fn(pool.ctx, lo, hi);
}

/* Runs pieces while there are any; a helper that finishes a job's last
 * piece wakes the caller if it went to sleep. Returns the pieces run. */
static unsigned work(uint32_t id)
{
    uint32_t p;
    unsigned ran = 0;
    while (take(id, &p)) {
        /* Read before the piece is reported done: after that the caller
         * may publish the next job. */
        uint32_t pieces = pool.pieces;
        run_piece(p);
        ran++;
        /* seq_cst, paired with the caller's: either it sees this count, or
         * this sees that it sleeps. */
        uint32_t d = atomic_fetch_add(&pool.done, 1) + 1;
        if (d == pieces && atomic_load(&pool.caller_asleep)) word_wake(&pool.done);
    }
    return ran;
}

/* Sleeps for about s seconds (or less). */
static void nap(double s)
{
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

/* Waits until gen is no longer g: spins for spin seconds (yielding now
 * and then, in case the caller waits for this core), then naps, then
 * sleeps until woken. */
static void idle_wait(uint32_t g, double spin)
{
    double t0 = dsc_seconds(), nap_s = NAP_S;
    for (unsigned i = 1; atomic_load_explicit(&pool.gen, memory_order_relaxed) == g; i++) {
        cpu_relax();
        if (i % 64 != 0) continue;
        double t = dsc_seconds() - t0;
        if (t < spin) {
            /* Past the first microseconds, let a waiting thread have the core. */
            if (t > SPIN_YIELD_S) sched_yield();
        } else if (t < HELPER_NAP_S) {
            nap(nap_s);
            nap_s = nap_s * 2 < NAP_MAX_S ? nap_s * 2 : NAP_MAX_S;
        } else {
            atomic_fetch_add(&pool.sleepers, 1);
            while (atomic_load(&pool.gen) == g) word_wait(&pool.gen, g);
            atomic_fetch_sub(&pool.sleepers, 1);
            return;
        }
    }
}

static void *helper_main(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    /* Seconds of pieces per job, averaged over the last few jobs. */
    double busy = HELPER_SPIN_S;
    for (;;) {
        uint32_t g = atomic_load_explicit(&pool.gen, memory_order_acquire);
        double t0 = dsc_seconds();
        double ran = work(id) ? dsc_seconds() - t0 : 0.0;
        busy += (ran - busy) * 0.25;
        double spin = SPIN_PER_WORK * busy;
        /* A job published after g was read bumps gen; one published before
         * was visible to work() through the ticket. */
        idle_wait(g, spin < SPIN_MIN_S ? SPIN_MIN_S : spin > HELPER_SPIN_S ? HELPER_SPIN_S : spin);
    }
    return NULL;
}

/* Starts helpers until there are want of them (or one fails to start).
 * They block every signal, so signals reach the program's own threads. */
static void grow(int want)
{
    pthread_mutex_lock(&grow_mu);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (atomic_load(&pool.helpers) < want && !atomic_load(&pool.grow_failed)) {
        pthread_attr_t attr;
        pthread_t t;
        int ok = pthread_attr_init(&attr) == 0;
        ok = ok && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0;
        uintptr_t id = (uintptr_t)atomic_load(&pool.helpers) + 1;
        ok = ok && pthread_create(&t, &attr, helper_main, (void *)id) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) {
            atomic_store(&pool.grow_failed, 1);
            break;
        }
        atomic_fetch_add(&pool.helpers, 1);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_unlock(&grow_mu);
}

#endif /* DSC_NO_THREADS */

void dsc_parallel_for(int threads, int par, size_t n, size_t piece, dsc_range_fn fn, void *ctx)
{
    if (n == 0) return;
    if (piece == 0) piece = 1;
    if (threads > POOL_MAX) threads = POOL_MAX;
#ifndef DSC_NO_THREADS
    if (par && threads > 1 && n > piece) {
        if (atomic_load_explicit(&pool.helpers, memory_order_relaxed) < threads - 1 &&
            !atomic_load_explicit(&pool.grow_failed, memory_order_relaxed))
            grow(threads - 1);
        /* Nested calls (from a piece) and other threads' calls while a job
         * runs go inline: the pool serves one job at a time. */
        if (atomic_load_explicit(&pool.helpers, memory_order_relaxed) > 0 &&
            !atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
            if (n / piece >= PIECES_MAX) piece = n / (PIECES_MAX - 1);
            uint32_t pieces = (uint32_t)((n + piece - 1) / piece);
            pool.fn = fn;
            pool.ctx = ctx;
            pool.n = n;
            pool.piece = piece;
            pool.pieces = pieces;
            atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
            atomic_store_explicit(&pool.ticket, TICKET(0, pieces, threads), memory_order_release);
            atomic_fetch_add(&pool.gen, 1);
            if (atomic_load(&pool.sleepers)) word_wake(&pool.gen);

            work(0);
            /* What is left are pieces helpers took: wait for them. */
            double deadline = 0.0;
            for (unsigned i = 1; atomic_load(&pool.done) != pieces; i++) {
                cpu_relax();
                if (i % 64 != 0) continue;
                if (deadline == 0.0) {
                    deadline = dsc_seconds() + CALLER_SPIN_S;
                } else if (dsc_seconds() > deadline) {
                    atomic_store(&pool.caller_asleep, 1);
                    uint32_t d;
                    while ((d = atomic_load(&pool.done)) != pieces) word_wait(&pool.done, d);
                    atomic_store(&pool.caller_asleep, 0);
                    break;
                }
            }
            atomic_flag_clear_explicit(&pool.busy, memory_order_release);
            return;
        }
    }
#else
    (void)threads;
    (void)par;
#endif
    fn(ctx, 0, n);
}

/* ---- the default thread count ------------------------------------------ */

/* Why DSC_NUM_THREADS was ignored or changed, if it was (also in builds
 * without threads, which read it only to say so). */
static char env_problem[160];

/* A positive count from the environment variable name, or 0. With why
 * set, a value that is not one says so there (OMP_NUM_THREADS may hold
 * OpenMP's lists, "4,2", meant for other libraries: its first number is
 * taken silently). */
static int env_count(const char *name, int why)
{
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (end == s || v < 1 || (why && *end)) {
        if (why)
            snprintf(env_problem, sizeof env_problem,
                     "%s='%.32s' is not a whole number of threads from 1 to %d; ignored", name, s,
                     POOL_MAX);
        return 0;
    }
    if (v > POOL_MAX && why)
        snprintf(env_problem, sizeof env_problem, "%s='%.32s' is more than %d; using %d", name, s,
                 POOL_MAX, POOL_MAX);
    return v > POOL_MAX ? POOL_MAX : (int)v;
}

#ifndef DSC_NO_THREADS
static int default_threads = 1;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void find_default(void)
{
    int t = env_count("DSC_NUM_THREADS", 1);
    if (!t) t = env_count("OMP_NUM_THREADS", 0);
#if defined(__linux__)
    cpu_set_t set;
    if (!t && sched_getaffinity(0, sizeof set, &set) == 0) t = CPU_COUNT(&set);
#endif
    if (!t) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        t = c < 1 ? 1 : c > POOL_MAX ? POOL_MAX : (int)c;
    }
    default_threads = t;
}
#endif

const char *dsc_threads_env_problem(void)
{
#ifdef DSC_NO_THREADS
    /* One thread only: nothing else can race this. */
    static int read;
    if (!read) {
        env_count("DSC_NUM_THREADS", 1);
        read = 1;
    }
#else
    pthread_once(&default_once, find_default);
#endif
    return env_problem[0] ? env_problem : NULL;
}

int dsc_threads(int t)
{
    if (t > 0) return t;
#ifdef DSC_NO_THREADS
    return 1;
#else
    pthread_once(&default_once, find_default);
    return default_threads;
#endif
}
