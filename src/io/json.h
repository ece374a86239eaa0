/* The one JSON writer: every --json object, every --log line and the
 * explainer's JSON go through it, so the text is always valid JSON,
 * whatever bytes a column name, a label or a file name holds. Internal.
 *
 *  - Strings: '"', '\\' and control characters are escaped; every
 *    character beyond ASCII is written as \uXXXX (a surrogate pair above
 *    U+FFFF), so the output is plain ASCII; a byte sequence that is not
 *    UTF-8 (a stray byte, an overlong form, a surrogate) becomes U+FFFD.
 *  - Numbers: the shortest text that reads back as the same float
 *    (dsc_format_float); NaN and infinities, which JSON lacks, are null.
 *  - Separators: ", " between members and ": " after keys, placed by the
 *    writer from where it stands. */
#ifndef DSC_JSON_H
#define DSC_JSON_H

#include <stdio.h>

#include "../base/base.h"

#define DSC_JSON_DEPTH 16

typedef struct {
    FILE *f;
    int depth;
    unsigned char first[DSC_JSON_DEPTH]; /* nothing written yet at this depth */
    unsigned char array[DSC_JSON_DEPTH]; /* this depth is an array (else an object) */
    int after_key;                       /* a key is waiting for its value */
} dsc_json;

void dsc_json_init(dsc_json *j, FILE *f);
void dsc_json_object(dsc_json *j); /* { */
void dsc_json_array(dsc_json *j);  /* [ */
void dsc_json_end(dsc_json *j);    /* } or ] */
void dsc_json_key(dsc_json *j, const char *key);
void dsc_json_string(dsc_json *j, const char *s); /* NULL: null */
void dsc_json_number(dsc_json *j, double v);      /* as a float: up to 9 digits */
/* A figure computed in double (a metric): at least 9 significant digits, up
 * to the 17 that give back the same double. */
void dsc_json_double(dsc_json *j, double v);
void dsc_json_uint(dsc_json *j, unsigned long long v);
void dsc_json_bool(dsc_json *j, int v);
void dsc_json_null(dsc_json *j);

/* key + value in one call, for objects. */
void dsc_json_kstring(dsc_json *j, const char *key, const char *s);
void dsc_json_knumber(dsc_json *j, const char *key, double v);
void dsc_json_kdouble(dsc_json *j, const char *key, double v);
void dsc_json_kuint(dsc_json *j, const char *key, unsigned long long v);
void dsc_json_kbool(dsc_json *j, const char *key, int v);

/* s as a JSON string literal, quotes included, in a dsc_malloc'd string
 * (NULL when out of memory), for text built elsewhere. */
char *dsc_json_quote(const char *s);
/* v as JSON: the number, or "null" (buf must hold 32 bytes). */
const char *dsc_json_number_text(char *buf, size_t size, double v);

#endif
