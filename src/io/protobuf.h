/* A small protocol-buffers encoder: the few wire types an ONNX file needs
 * (varints, 32-bit floats, length-delimited bytes and nested messages),
 * written into one growing buffer. Internal.
 *
 * A nested message is written in place: pb_begin writes its tag and
 * remembers where its content starts; pb_end measures the content and
 * moves it up to make room for the length in front. No schema, no
 * reflection: the caller writes fields by number. */
#ifndef DSC_PROTOBUF_H
#define DSC_PROTOBUF_H

#include "../base/base.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int failed; /* an allocation failed: every later write is ignored */
} pb_buf;

/* Wire types (protobuf's encoding guide). */
enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

/* Releases the buffer's memory. */
void pb_free(pb_buf *b);

/* A varint field (int32, int64, enum, bool): negative values take ten
 * bytes, as protobuf encodes them. */
void pb_varint(pb_buf *b, unsigned field, int64_t v);
/* A float field (fixed 32 bits, little-endian). */
void pb_float(pb_buf *b, unsigned field, float v);
/* A bytes or string field; pb_string takes a C string. */
void pb_bytes(pb_buf *b, unsigned field, const void *data, size_t n);
void pb_string(pb_buf *b, unsigned field, const char *s);
/* A bytes field holding n floats, little-endian (a tensor's raw_data). */
void pb_floats_raw(pb_buf *b, unsigned field, const float *v, size_t n);

/* A nested message: pb_begin returns a mark to hand to pb_end after the
 * message's fields are written. */
size_t pb_begin(pb_buf *b, unsigned field);
void pb_end(pb_buf *b, size_t mark);

#endif
