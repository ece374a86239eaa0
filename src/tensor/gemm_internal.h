/* Test hooks of the GEMM kernel that are not part of the tensor interface. */
#ifndef DSC_GEMM_INTERNAL_H
#define DSC_GEMM_INTERNAL_H

/* Makes dsc_gemm use the portable micro-kernel even where AVX2+FMA is
 * available (1), or lets it choose by CPU again (0); returns the previous
 * setting. Process-wide, like dsc_gemm_use_cblas: for tests that must cover
 * the portable kernel on any machine. */
int dsc_gemm_force_portable(int on);

#endif
