#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static _Thread_local uint64_t alloc_count;

/* No request this large can be met (and AddressSanitizer aborts on one
 * rather than return NULL): refused here, so every caller's out-of-memory
 * message is what a hostile size gets. */
#if SIZE_MAX > 0xffffffffu
#define TOO_LARGE ((size_t)1 << 40)
#else
/* 32-bit targets (the lesson's WebAssembly): half the address space. */
#define TOO_LARGE (SIZE_MAX / 2)
#endif

uint64_t dsc_alloc_count(void) { return alloc_count; }

void *dsc_malloc(size_t n)
{
    alloc_count++;
    return n < TOO_LARGE ? malloc(n ? n : 1) : NULL;
}

void *dsc_calloc(size_t count, size_t size)
{
    alloc_count++;
    if (size && count >= TOO_LARGE / size) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *dsc_realloc(void *p, size_t n)
{
    alloc_count++;
    return n < TOO_LARGE ? realloc(p, n ? n : 1) : NULL;
}

void dsc_free(void *p) { free(p); }

/* The public name: what the library hands out it allocated with dsc_malloc. */
void dsc_buffer_free(void *p) { dsc_free(p); }

char *dsc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dsc_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *dsc_malloc_aligned(size_t n)
{
    alloc_count++;
    void *p = NULL;
    /* Round up so the size is a multiple of the alignment, as C11 asks. */
    if (n >= TOO_LARGE) return NULL;
    size_t sz = (n + 63) & ~(size_t)63;
    if (sz == 0) sz = 64;
    if (posix_memalign(&p, 64, sz) != 0) return NULL;
    return p;
}

void dsc_free_aligned(void *p) { free(p); }
