/* The build's choices, for --version and bug reports: they are the tensor
 * layer's (which matrix multiply, threads) and the data layer's (zlib). */
#include <pthread.h>
#include <stdio.h>

#include "base/base.h"
#include "descent.h"
#include "gemm_internal.h"
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

static char env_problems[400];
static pthread_once_t env_problems_once = PTHREAD_ONCE_INIT;

static void join_env_problems(void)
{
    const char *a = dsc_threads_env_problem(), *b = dsc_gemm_env_problem();
    snprintf(env_problems, sizeof env_problems, "%s%s%s", a ? a : "", a && b ? "; " : "",
             b ? b : "");
}

const char *dsc_env_problems(void)
{
    pthread_once(&env_problems_once, join_env_problems);
    return env_problems[0] ? env_problems : NULL;
}
