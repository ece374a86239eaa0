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
