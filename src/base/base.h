/* Base layer: errors, allocation, the seeded RNG, CRC32. Internal header. */
#ifndef DSC_BASE_H
#define DSC_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "descent.h"

/* Records a printf-style message for dsc_last_error() and returns s, so a
 * failure reads `return dsc_fail(DSC_EINVAL, "bad thing %d", x);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif

dsc_status
dsc_fail(dsc_status s, const char *fmt, ...);
void dsc_clear_error(void);

/* DSC_EINVAL with "WHAT value at row R, column C is NaN" (or "is infinite")
 * for the first non-finite value of a row-major rows x cols array, rows and
 * columns counted from 1; DSC_OK when every value is finite. */
dsc_status dsc_check_finite(const float *v, size_t rows, size_t cols, const char *what);

/* Allocation goes through these so that a test can count allocations (the
 * training loop must make none) and a NULL result becomes DSC_ENOMEM. */
void *dsc_malloc(size_t n);
void *dsc_calloc(size_t count, size_t size);
void *dsc_realloc(void *p, size_t n);
void dsc_free(void *p);
char *dsc_strdup(const char *s);
/* 64-byte aligned allocation (for vector loads); free with dsc_free_aligned. */
void *dsc_malloc_aligned(size_t n);
void dsc_free_aligned(void *p);
/* Number of allocations made by the calling thread since it started. */
uint64_t dsc_alloc_count(void);

/* PCG32 (O'Neill, pcg32_random_r): a 64-bit LCG state with a permuted 32-bit
 * output. The same seed gives the same stream on every platform. */
typedef struct {
    uint64_t state;
    uint64_t inc;
} dsc_rng;

void dsc_rng_seed(dsc_rng *r, uint64_t seed, uint64_t stream);
uint32_t dsc_rng_u32(dsc_rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float dsc_rng_uniform(dsc_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint32_t dsc_rng_below(dsc_rng *r, uint32_t n);
/* Standard normal by Box-Muller in double. */
double dsc_rng_normal(dsc_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void dsc_rng_shuffle(dsc_rng *r, uint32_t *idx, size_t n);
/* A stateless 64-bit mix (splitmix64 finaliser): for per-element random
 * choices that must not depend on thread count or order. */
uint64_t dsc_hash64(uint64_t x);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32). Start with crc = 0. */
uint32_t dsc_crc32(uint32_t crc, const void *data, size_t n);

/* Locale-independent number formatting and parsing. */
/* Shortest "%.9g"-style text that reads back to the same float. */
int dsc_format_float(char *buf, size_t size, double v);
/* v in the fewest digits (up to 17) that give back the same double, in the
 * C locale: for figures computed in double (metrics), compared elsewhere
 * to 1e-7 or better. */
int dsc_format_double(char *buf, size_t size, double v);
/* Parses a decimal number with '.' whatever the locale. Returns 0 on success
 * with *end after the number; -1 if no number starts at s. */
int dsc_parse_double(const char *s, const char **end, double *out);

/* Column lists (the syntax of dsc_csv_options in descent.h): items split
 * at commas, each a name (blanks around it dropped), a quoted name ("a,b",
 * with "" for a quote) or #N, the N-th column. */
typedef struct {
    char *name;   /* the name, or NULL for an index */
    size_t index; /* #N: N (from 1); 0 for a name */
} dsc_col_item;
/* what names the list in messages ("target"). DSC_EINVAL for an empty
 * item, a quote not closed, a bad #N. Free with dsc_col_list_free. */
dsc_status dsc_col_list_parse(const char *list, const char *what, dsc_col_item **items, size_t *n);
void dsc_col_list_free(dsc_col_item *items, size_t n);
/* The names as a list that dsc_col_list_parse reads back as exactly these
 * names (quoted where needed); dsc_malloc'd, NULL when out of memory. */
char *dsc_col_list_join(const char *const *names, size_t n);

/* l, or the defaults written into *store when l is NULL. */
const dsc_limits *dsc_limits_or_default(const dsc_limits *l, dsc_limits *store);
/* n bytes as "1 GiB", "3 MiB" or "1000 bytes", for messages. */
const char *dsc_bytes_text(char *buf, size_t size, uint64_t n);

#define DSC_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Eight floats as one value (GCC and Clang vector extensions): arithmetic
 * on it is lane by lane, compiled to vector instructions of whatever width
 * the target has, so a sum kept in eight lanes is the same on every build.
 * Written as loops over a float[8], GCC vectorised such sums and then added
 * the lanes back one at a time. Load and store with memcpy. */
typedef float dsc_f32x8 __attribute__((vector_size(32)));

/* The body of a parallel loop: indices [lo, hi) of the loop, with the
 * caller's context. */
typedef void (*dsc_range_fn)(void *ctx, size_t lo, size_t hi);

/* Runs fn over the indices [0, n), the one way every kernel uses threads.
 * When par holds and threads > 1, [0, n) is cut into pieces of `piece`
 * indices (the last may be shorter) that the calling thread and up to
 * threads - 1 helpers of a process-wide pool (src/base/pool.c) take one
 * at a time; otherwise it is one call fn(ctx, 0, n) on the calling thread.
 * So fn must compute each index the same way however [0, n) is cut, and
 * pieces must not write to the same place: then results do not depend on
 * the thread count. The caller never waits for a helper to start, only for
 * pieces a helper has taken, so a busy machine costs at most the helpers'
 * share. Calls made from inside a piece, or from another thread while a
 * job runs, run inline. Allocates nothing (helpers start on first use). */
void dsc_parallel_for(int threads, int par, size_t n, size_t piece, dsc_range_fn fn, void *ctx);

/* A monotonic clock in seconds, for durations. */
double dsc_seconds(void);

/* The thread count to use for a request of t. 0 asks for the library
 * default: DSC_NUM_THREADS, else OMP_NUM_THREADS, else the CPUs this process
 * may run on (read once); 1 in builds without threads. */
int dsc_threads(int t);
/* Why DSC_NUM_THREADS is being ignored (not a whole number from 1 to 256)
 * or capped, or NULL. */
const char *dsc_threads_env_problem(void);
#endif
