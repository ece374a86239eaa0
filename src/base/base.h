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
/* Parses a decimal number with '.' whatever the locale. Returns 0 on success
 * with *end after the number; -1 if no number starts at s. */
int dsc_parse_double(const char *s, const char **end, double *out);

#define DSC_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Eight floats as one value (GCC and Clang vector extensions): arithmetic
 * on it is lane by lane, compiled to vector instructions of whatever width
 * the target has, so a sum kept in eight lanes is the same on every build.
 * Written as loops over a float[8], GCC vectorised such sums and then added
 * the lanes back one at a time. Load and store with memcpy. */
typedef float dsc_f32x8 __attribute__((vector_size(32)));

/* A loop over i in [0, n) run by nthreads OpenMP threads when cond holds,
 * and as a plain loop otherwise: an OpenMP region costs a team set-up even
 * with if(0), which small kernels (the seed's 3-point network) cannot
 * afford. The body is the last argument(s). Work is always split
 * statically, so each element is computed by the same sequence of
 * operations whatever the thread count. */
#ifdef _OPENMP
#define DSC_PRAGMA(x) _Pragma(#x)
#define DSC_PARALLEL_FOR(nthreads, cond, i, n, ...)                                                \
    do {                                                                                           \
        size_t dsc_n_ = (n);                                                                       \
        if (cond) {                                                                                \
            DSC_PRAGMA(omp parallel for num_threads(nthreads) schedule(static))                    \
            for (size_t i = 0; i < dsc_n_; i++) __VA_ARGS__;                                       \
        } else {                                                                                   \
            for (size_t i = 0; i < dsc_n_; i++) __VA_ARGS__;                                       \
        }                                                                                          \
    } while (0)
#else
#define DSC_PARALLEL_FOR(nthreads, cond, i, n, ...)                                                \
    do {                                                                                           \
        (void)sizeof(cond); /* named, not evaluated: no unused-variable warning */                 \
        (void)sizeof(nthreads);                                                                    \
        size_t dsc_n_ = (n);                                                                       \
        for (size_t i = 0; i < dsc_n_; i++) __VA_ARGS__;                                           \
    } while (0)
#endif
/* A monotonic clock in seconds, for durations. */
double dsc_seconds(void);

/* The thread count to use for a request of t (0: the library default). */
int dsc_threads(int t);
#endif
