/* The build's choices, for --version and bug reports: they are the tensor
 * layer's (which matrix multiply, threads) and the data layer's (zlib). */
#include <stdio.h>

#include "descent.h"
#include "tensor.h"

const char *dsc_build_info(void)
{
    static _Thread_local char buf[256];
    snprintf(buf, sizeof buf, "gemm: %s; threads: %s; cblas: %s; zlib: %s", dsc_gemm_name(),
#ifdef DSC_NO_THREADS
             "no",
#else
             "pool",
#endif
#ifdef DSC_USE_CBLAS
             "yes",
#else
             "no",
#endif
#ifdef DSC_USE_ZLIB
             "yes"
#else
             "no"
#endif
    );
    return buf;
}

int dsc_set_gemm(int cblas)
{
    dsc_gemm_use_cblas(cblas != 0);
    int now = dsc_gemm_use_cblas(cblas != 0);
    return now == (cblas != 0);
}
