/* The GEMM micro-kernels (gemm_kernels.c) as the driver (gemm.c) and the
 * tests see them; not part of the tensor interface. */
#ifndef DSC_GEMM_INTERNAL_H
#define DSC_GEMM_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

/* A micro-kernel and how its panels are packed. kernel: c (mr x nr, row
 * stride ldc) = alpha * a b + beta * c over kc steps of the packed panels
 * (beta == 0: c is not read). pack_a_rows and pack_b_cols, when not NULL,
 * pack a full panel of rows of an untransposed A, or of columns of a
 * transposed B, exactly as dsc_gemm_pack_a / _b would, only faster. */
typedef struct {
    const char *name; /* "avx512f", "avx2+fma", "portable" */
    size_t mr, nr;
    void (*kernel)(size_t kc, const float *a, const float *b, float *c, size_t ldc, float alpha,
                   float beta);
    void (*pack_a_rows)(const float *A, size_t lda, size_t i0, size_t p0, size_t kc, float *dst);
    void (*pack_b_cols)(const float *B, size_t ldb, size_t j0, size_t p0, size_t kc, float *dst);
    /* For products at most 16 columns wide, or NULL: a 16 x 16 tile of the
     * same operations (so the same bits) that reads A unpacked, element
     * (r, p) of its 16 rows at a[r rs + p ks] (rs or ks is 1); b is a
     * packed panel 16 wide; c as for kernel. */
    void (*narrow)(size_t kc, const float *a, size_t rs, size_t ks, const float *b, float *c,
                   size_t ldc, float alpha, float beta);
} dsc_gemm_kernel;

/* Rows i0..i0+rows (rows <= mr) of op(A), columns p0..p0+kc, as kc groups
 * of mr values; rows past the end are zero so a kernel needs no tail. */
void dsc_gemm_pack_a(int trans_a, const float *A, size_t lda, size_t i0, size_t rows, size_t p0,
                     size_t kc, size_t mr, float *dst);
/* Columns j0..j0+cols (cols <= nr) of op(B), rows p0..p0+kc, as kc groups
 * of nr values, zero-padded like the A panels. */
void dsc_gemm_pack_b(int trans_b, const float *B, size_t ldb, size_t j0, size_t cols, size_t p0,
                     size_t kc, size_t nr, float *dst);

/* The kernel dsc_gemm uses now: the one pinned by dsc_gemm_pin, else the
 * one the environment variable DSC_GEMM_KERNEL names ("avx512f",
 * "avx2+fma" or "portable"; read once, ignored when this CPU lacks it),
 * else the fastest this CPU has. */
const dsc_gemm_kernel *dsc_gemm_kernel_now(void);
/* Why DSC_GEMM_KERNEL is being ignored (it names no kernel, or one this
 * CPU lacks), or NULL when it is unset or in use. */
const char *dsc_gemm_env_problem(void);
/* The kernel of that name if this CPU can run it, else NULL. */
const dsc_gemm_kernel *dsc_gemm_kernel_named(const char *name);
/* Fills out[0..cap) with the kernels this CPU can run, fastest first;
 * returns how many there are. */
size_t dsc_gemm_kernels(const dsc_gemm_kernel **out, size_t cap);
/* Pins dsc_gemm to kernel k (NULL: choose again as above); returns the
 * previous pin. Process-wide, like dsc_gemm_use_cblas: for tests and
 * benchmarks that must run a given kernel on any machine. */
const dsc_gemm_kernel *dsc_gemm_pin(const dsc_gemm_kernel *k);

#endif
