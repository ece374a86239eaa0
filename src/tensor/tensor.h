/* Tensor layer: matrix multiply and the kernels the graph ops call. Internal. */
#ifndef DSC_TENSOR_H
#define DSC_TENSOR_H

#include <stddef.h>

/*
 * C = alpha * op(A) * op(B) + beta * C, row-major. op(A) is m x k, op(B) is
 * k x n, C is m x n. lda, ldb, ldc are the row strides of A, B, C as stored
 * (A is m x k when !trans_a, else k x m). beta == 0 overwrites C without
 * reading it (NaNs in C do not propagate). When k == 0 or alpha == 0, A and
 * B are not read and C becomes beta * C, as in BLAS. threads: 0 = default.
 *
 * The built-in kernel splits C into a fixed grid of blocks, each computed by
 * one thread with the same order of additions, so the result is the same
 * bit for bit for any thread count. It packs operands into a scratch buffer
 * owned by the calling thread, which grows to the largest shape seen and is
 * then reused: repeated calls do not allocate. The buffer is kept for the
 * life of the thread. If it cannot be allocated, a slow unpacked loop gives
 * the result instead. Threads come from dsc_parallel_for's pool: the
 * calling thread never waits for a helper to start, so a busy machine
 * costs at most the helpers' share.
 *
 * With DSC_USE_CBLAS (build option) and dsc_gemm_use_cblas(1), CBLAS is
 * called instead; it uses its own threads (threads is then ignored) and no
 * bit-identity is promised. Calls CBLAS would reject (sizes above INT_MAX,
 * leading dimensions below the row length) stay on the built-in kernel.
 */
void dsc_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
              size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc,
              int threads);

/* The fewest rows m from which dsc_gemm(ta, tb, m, n, k, ...) computes every
 * row of C by the same operations whatever m is: from there on a row's
 * result does not depend on the rows multiplied with it. Below it a product
 * may take another path (one row: a dot product per column; tiny products:
 * a plain loop) that rounds differently in the last bits. Prediction pads
 * short batches to this many rows when asked for invariant rows. */
size_t dsc_gemm_invariant_rows(size_t n, size_t k);

/* The plain triple loop, in double accumulation: the reference the tests
 * compare the fast kernel against. */
void dsc_gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc);

/* Chooses CBLAS (1) or the built-in kernel (0); returns the previous choice.
 * Without CBLAS in the build it stays 0. Process-wide: set it at start-up. */
int dsc_gemm_use_cblas(int on);
/* Called when a graph is compiled: with OpenBLAS linked but the built-in
 * kernel in use, OpenBLAS's pool is cut to one thread at once, so its idle
 * threads do not spin beside a graph that never multiplies through it (the
 * fused small-network op). Otherwise the first product does it. */
void dsc_gemm_prepare(void);
/* What dsc_gemm uses now on this CPU: "built-in (KERNEL, MRxNR)" with the
 * micro-kernel and its register tile ("avx512f, 12x32", "avx2+fma, 6x16",
 * "portable, 6x16"; gemm_internal.h), or "cblas". */
const char *dsc_gemm_name(void);

#endif
