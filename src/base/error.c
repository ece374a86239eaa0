#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "base.h"

/* The one piece of mutable state besides caller-owned objects: each thread
 * keeps its own message, so threads never see each other's errors. */
static _Thread_local char last_error[1024];

dsc_status dsc_fail(dsc_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void dsc_clear_error(void) { last_error[0] = '\0'; }

dsc_status dsc_check_finite(const float *v, size_t rows, size_t cols, const char *what)
{
    /* One pass that only compares, the common case; the place is looked
     * for again only when something is wrong. */
    size_t n = rows * cols;
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= !isfinite(v[i]);
    if (!bad) return DSC_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return dsc_fail(DSC_EINVAL, "%s value at row %zu, column %zu is %s", what, i / cols + 1,
                            i % cols + 1, isnan(v[i]) ? "NaN" : "infinite");
    return DSC_OK;
}

const char *dsc_last_error(void) { return last_error; }

const char *dsc_strerror(dsc_status s)
{
    switch (s) {
    case DSC_OK: return "success";
    case DSC_EINVAL: return "invalid argument";
    case DSC_ENOMEM: return "out of memory";
    case DSC_EIO: return "input/output error";
    case DSC_EFORMAT: return "malformed input";
    case DSC_ESHAPE: return "shapes do not match";
    case DSC_ENOTFOUND: return "not found";
    case DSC_EDIVERGED: return "training diverged (loss is not finite)";
    case DSC_ECANCELLED: return "cancelled";
    case DSC_EUNSUPPORTED: return "not supported by this build";
    case DSC_ELIMIT: return "larger than a limit allows";
    }
    return "unknown status";
}
