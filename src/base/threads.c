#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "base.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int dsc_threads(int t)
{
    if (t > 0) return t;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

double dsc_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
