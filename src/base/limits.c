/* The readers' size limits (descent.h, dsc_limits). */
#include <stdio.h>

#include "base.h"

void dsc_limits_init(dsc_limits *l)
{
    if (!l) return;
    l->max_bytes = (uint64_t)1 << 30;
    l->max_line_bytes = (uint64_t)1 << 20;
    l->max_rows = 10000000;
}

const dsc_limits *dsc_limits_or_default(const dsc_limits *l, dsc_limits *store)
{
    if (l) return l;
    dsc_limits_init(store);
    return store;
}

/* "1 GiB" for messages: a power of two in its unit, else bytes. */
const char *dsc_bytes_text(char *buf, size_t size, uint64_t n)
{
    static const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    uint64_t v = n;
    while (u < 4 && v >= 1024 && v % 1024 == 0) v /= 1024, u++;
    snprintf(buf, size, "%llu %s", (unsigned long long)v, units[u]);
    return buf;
}
