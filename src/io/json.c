/* The one JSON writer (json.h says what it promises). */
#include "json.h"

#include <math.h>
#include <string.h>

/* The next code point of UTF-8 text at s (n bytes left): its length in
 * *len, or U+FFFD with *len 1 for a byte that does not start a valid,
 * shortest-form, non-surrogate sequence. */
static unsigned long next_code_point(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    *len = 1;
    if (c < 0x80) return c;
    size_t need;
    unsigned long cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0xFFFD;
    if (n < need + 1) return 0xFFFD;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0xFFFD;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
    *len = need + 1;
    return cp;
}

/* Calls put(ctx, text) piece by piece with s escaped and quoted. */
static void escape(const char *s, void (*put)(void *, const char *), void *ctx)
{
    put(ctx, "\"");
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char buf[16];
    while (n) {
        size_t len;
        unsigned long cp = next_code_point(p, n, &len);
        p += len;
        n -= len;
        if (cp == '"') {
            put(ctx, "\\\"");
        } else if (cp == '\\') {
            put(ctx, "\\\\");
        } else if (cp == '\n') {
            put(ctx, "\\n");
        } else if (cp == '\t') {
            put(ctx, "\\t");
        } else if (cp == '\r') {
            put(ctx, "\\r");
        } else if (cp >= 0x20 && cp < 0x7F) {
            buf[0] = (char)cp;
            buf[1] = '\0';
            put(ctx, buf);
        } else if (cp < 0x10000) {
            snprintf(buf, sizeof buf, "\\u%04lx", cp);
            put(ctx, buf);
        } else {
            cp -= 0x10000;
            snprintf(buf, sizeof buf, "\\u%04lx\\u%04lx", 0xD800 + (cp >> 10),
                     0xDC00 + (cp & 0x3FF));
            put(ctx, buf);
        }
    }
    put(ctx, "\"");
}

static void put_file(void *ctx, const char *t) { fputs(t, (FILE *)ctx); }

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} text;

static void put_text(void *ctx, const char *t)
{
    text *b = ctx;
    size_t k = strlen(t);
    if (b->failed) return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        while (cap < b->n + k + 1) cap *= 2;
        char *p = dsc_realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, t, k + 1);
    b->n += k;
}

char *dsc_json_quote(const char *s)
{
    text b = {0};
    escape(s ? s : "", put_text, &b);
    if (b.failed) {
        dsc_free(b.p);
        return NULL;
    }
    return b.p;
}

const char *dsc_json_number_text(char *buf, size_t size, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "null");
        return buf;
    }
    dsc_format_float(buf, size, v);
    return buf;
}

void dsc_json_init(dsc_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = 1;
}

/* Before a value: the separator its place needs. */
static void before_value(dsc_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth]) fputs(", ", j->f);
    j->first[j->depth] = 0;
}

static void nest(dsc_json *j, int array)
{
    before_value(j);
    fputc(array ? '[' : '{', j->f);
    if (j->depth + 1 < DSC_JSON_DEPTH) j->depth++;
    j->first[j->depth] = 1;
    j->array[j->depth] = (unsigned char)array;
}

void dsc_json_object(dsc_json *j) { nest(j, 0); }
void dsc_json_array(dsc_json *j) { nest(j, 1); }

void dsc_json_end(dsc_json *j)
{
    fputc(j->array[j->depth] ? ']' : '}', j->f);
    if (j->depth) j->depth--;
}

void dsc_json_key(dsc_json *j, const char *key)
{
    before_value(j);
    escape(key ? key : "", put_file, j->f);
    fputs(": ", j->f);
    j->after_key = 1;
}

void dsc_json_string(dsc_json *j, const char *s)
{
    before_value(j);
    if (s)
        escape(s, put_file, j->f);
    else
        fputs("null", j->f);
}

void dsc_json_number(dsc_json *j, double v)
{
    char buf[40];
    before_value(j);
    fputs(dsc_json_number_text(buf, sizeof buf, v), j->f);
}

void dsc_json_double(dsc_json *j, double v)
{
    char buf[40];
    before_value(j);
    if (isfinite(v))
        dsc_format_double(buf, sizeof buf, v);
    else
        snprintf(buf, sizeof buf, "null");
    fputs(buf, j->f);
}

void dsc_json_uint(dsc_json *j, unsigned long long v)
{
    before_value(j);
    fprintf(j->f, "%llu", v);
}

void dsc_json_bool(dsc_json *j, int v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void dsc_json_null(dsc_json *j)
{
    before_value(j);
    fputs("null", j->f);
}

void dsc_json_kstring(dsc_json *j, const char *key, const char *s)
{
    dsc_json_key(j, key);
    dsc_json_string(j, s);
}

void dsc_json_knumber(dsc_json *j, const char *key, double v)
{
    dsc_json_key(j, key);
    dsc_json_number(j, v);
}

void dsc_json_kdouble(dsc_json *j, const char *key, double v)
{
    dsc_json_key(j, key);
    dsc_json_double(j, v);
}

void dsc_json_kuint(dsc_json *j, const char *key, unsigned long long v)
{
    dsc_json_key(j, key);
    dsc_json_uint(j, v);
}

void dsc_json_kbool(dsc_json *j, const char *key, int v)
{
    dsc_json_key(j, key);
    dsc_json_bool(j, v);
}
