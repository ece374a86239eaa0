/* A small test harness: CHECK-style assertions that count and report, and
 * a summary line "N passed, N failed" at the end. */
#ifndef DSC_CHECK_H
#define DSC_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

/* |a - b| <= tol, with both values printed on failure. */
#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double check_a_ = (double)(a), check_b_ = (double)(b);                                     \
        if (fabs(check_a_ - check_b_) <= (tol)) {                                                  \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n", __FILE__, \
                    __LINE__, #a, check_a_, #b, check_b_, (double)(tol));                          \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        int check_s_ = (int)(expr);                                                                \
        if (check_s_ == 0) {                                                                       \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #expr, check_s_,    \
                    dsc_last_error());                                                             \
        }                                                                                          \
    } while (0)

/* Test fixtures written into a temporary folder: check_write_file puts n
 * bytes into DIR/NAME and returns the path; check_remove_files deletes every
 * file written so far. A fixture that cannot be written means a broken test
 * machine, so that stops the test. */
static char check_paths[256][160];
static int check_n_paths;

static inline const char *check_write_file(const char *dir, const char *name, const void *data,
                                           size_t n)
{
    char *path = check_paths[check_n_paths < 255 ? check_n_paths++ : 255];
    snprintf(path, sizeof check_paths[0], "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static inline void check_remove_files(void)
{
    for (int i = 0; i < check_n_paths; i++) remove(check_paths[i]);
    check_n_paths = 0;
}

static inline int check_report(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
