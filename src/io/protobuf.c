/* The protocol-buffers encoder (protobuf.h). */
#include <string.h>

#include "protobuf.h"

void pb_free(pb_buf *b)
{
    dsc_free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* Room for n more bytes, or NULL (and the buffer marked failed). */
static uint8_t *reserve(pb_buf *b, size_t n)
{
    if (b->failed) return NULL;
    if (n > SIZE_MAX / 2 - b->n) {
        b->failed = 1;
        return NULL;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = dsc_realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->n;
}

/* v as a base-128 varint into out (at least 10 bytes); returns its length. */
static size_t varint_bytes(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void raw_varint(pb_buf *b, uint64_t v)
{
    uint8_t *at = reserve(b, 10);
    if (at) b->n += varint_bytes(v, at);
}

static void tag(pb_buf *b, unsigned field, unsigned wire)
{
    raw_varint(b, (uint64_t)field << 3 | wire);
}

static void raw(pb_buf *b, const void *data, size_t n)
{
    uint8_t *at = reserve(b, n);
    if (!at) return;
    if (n) memcpy(at, data, n);
    b->n += n;
}

/* Floats in IEEE 754 single precision, little-endian, whatever the host. */
static void put_f32(uint8_t *at, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) at[i] = (uint8_t)(u >> (8 * i));
}

void pb_varint(pb_buf *b, unsigned field, int64_t v)
{
    tag(b, field, PB_VARINT);
    raw_varint(b, (uint64_t)v);
}

void pb_float(pb_buf *b, unsigned field, float v)
{
    tag(b, field, PB_FIXED32);
    uint8_t *at = reserve(b, 4);
    if (!at) return;
    put_f32(at, v);
    b->n += 4;
}

void pb_bytes(pb_buf *b, unsigned field, const void *data, size_t n)
{
    tag(b, field, PB_LEN);
    raw_varint(b, n);
    raw(b, data, n);
}

void pb_string(pb_buf *b, unsigned field, const char *s) { pb_bytes(b, field, s, strlen(s)); }

void pb_floats_raw(pb_buf *b, unsigned field, const float *v, size_t n)
{
    tag(b, field, PB_LEN);
    if (n > SIZE_MAX / 8) {
        b->failed = 1;
        return;
    }
    raw_varint(b, (uint64_t)n * 4);
    uint8_t *at = reserve(b, n * 4);
    if (!at) return;
    for (size_t i = 0; i < n; i++) put_f32(at + 4 * i, v[i]);
    b->n += n * 4;
}

size_t pb_begin(pb_buf *b, unsigned field)
{
    tag(b, field, PB_LEN);
    return b->n;
}

void pb_end(pb_buf *b, size_t mark)
{
    if (b->failed) return;
    size_t len = b->n - mark;
    uint8_t head[10];
    size_t h = varint_bytes(len, head);
    if (!reserve(b, h)) return;
    memmove(b->p + mark + h, b->p + mark, len);
    memcpy(b->p + mark, head, h);
    b->n += h;
}
