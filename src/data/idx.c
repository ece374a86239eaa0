/* Reading IDX files (MNIST, Fashion-MNIST) into a data set.
 *
 * Decisions (the header documents the contract; these are the details):
 *  - Only unsigned-byte IDX is read: images with 3 dimensions (count, rows,
 *    columns), labels with 1. Other IDX types are valid IDX, but the error
 *    is still DSC_EFORMAT, with a message naming the type.
 *  - Compression is told by content (1f 8b), never by the file name.
 *    Concatenated gzip members are one stream, as gzip(1) reads them.
 *  - Anything after the data is an error, in the decompressed data and
 *    after the last gzip member alike: a file with more than its header
 *    says is more likely the wrong file than a harmless one.
 *  - Every label 0..255 is a class; the classes are 0..max label (at least
 *    two), so the outputs of a model do not depend on which labels happen
 *    to be in a file as long as the largest one is.
 *  - Inputs are named "pixel1".. in row-major order, the target "label":
 *    the header of the widespread CSV versions of these data sets, so a
 *    model trained here can predict from such a CSV file.
 *  - Memory grows with the data actually read, not with what the header
 *    claims, so a short or forged file never makes a huge allocation; and
 *    what the header claims is held against dsc_limits (rows, bytes)
 *    before anything is read, so a gzip bomb is refused unread. Counting
 *    trailing garbage stops after a MiB.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifdef DSC_USE_ZLIB
#include <zlib.h>
#endif

#include "data.h"

#define IDX_CHUNK ((size_t)1 << 16)
/* Far beyond any real image; keeps every size product inside 64 bits. */
#define IDX_MAX_PIXELS ((uint64_t)1 << 24)
#define IDX_MAX_COUNT  ((uint64_t)INT32_MAX)
/* The first allocation for data whose size is only known from the header. */
#define IDX_FIRST_CAP ((size_t)1 << 22)
/* A little above deflate's largest expansion (258 bytes from one 2-bit
 * code), for sizing buffers only: the data may still be shorter. */
#define IDX_DEFLATE_RATIO 1040
/* Real image data rarely compresses better than this: a first buffer of
 * this many times the .gz size rarely needs to grow, and a bomb's does,
 * as its data arrives. */
#define IDX_TYPICAL_RATIO 8
/* How much trailing garbage is counted before the message says "more". */
#define IDX_TRAILING_COUNT ((uint64_t)1 << 20)

typedef struct {
    const char *path;
    FILE *fp;
    int gz;
    long long file_size; /* -1 when not a regular file */
    unsigned char *in;   /* compressed input */
    /* The bytes read to look for the gzip magic, not yet handed out. */
    unsigned char peek[2];
    size_t n_peek;
#ifdef DSC_USE_ZLIB
    z_stream zs;
    int z_ready, member_done, in_eof;
#endif
} idx_src;

static dsc_status io_error(const char *path, const char *what)
{
    char msg[128];
    if (strerror_r(errno, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error %d", errno);
    return dsc_fail(DSC_EIO, "%s: %s: %s", path, what, msg);
}

static void src_close(idx_src *s)
{
#ifdef DSC_USE_ZLIB
    if (s->z_ready) inflateEnd(&s->zs);
#endif
    dsc_free(s->in);
    if (s->fp) fclose(s->fp);
    memset(s, 0, sizeof *s);
}

static dsc_status src_open(idx_src *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->file_size = -1;
    s->fp = fopen(path, "rb");
    if (!s->fp) return io_error(path, "cannot open");
    struct stat st;
    if (fstat(fileno(s->fp), &st) == 0 && S_ISDIR(st.st_mode))
        return dsc_fail(DSC_EIO, "%s: is a directory, not an IDX file", path);
    if (fstat(fileno(s->fp), &st) == 0 && S_ISREG(st.st_mode)) s->file_size = st.st_size;
    /* Peeked bytes are kept rather than rewound, so a pipe works too. */
    s->n_peek = fread(s->peek, 1, 2, s->fp);
    if (s->n_peek < 2 && ferror(s->fp)) return io_error(path, "read error");
    s->gz = s->n_peek == 2 && s->peek[0] == 0x1f && s->peek[1] == 0x8b;
    if (!s->gz) return DSC_OK;
#ifdef DSC_USE_ZLIB
    s->in = dsc_malloc(IDX_CHUNK);
    if (!s->in) return dsc_fail(DSC_ENOMEM, "%s: out of memory for a read buffer", path);
    memcpy(s->in, s->peek, 2);
    s->n_peek = 0;
    s->zs.next_in = s->in;
    s->zs.avail_in = 2;
    /* 16 + MAX_WBITS: gzip wrapper only, so a zlib or raw stream is an error. */
    if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)
        return dsc_fail(DSC_ENOMEM, "%s: cannot start zlib: %s", path,
                        s->zs.msg ? s->zs.msg : "out of memory");
    s->z_ready = 1;
    return DSC_OK;
#else
    return dsc_fail(DSC_EUNSUPPORTED,
                    "%s: the file is gzip-compressed, but this build of descent has no zlib; "
                    "decompress it first (gunzip) or rebuild with zlib",
                    path);
#endif
}

#ifdef DSC_USE_ZLIB
static dsc_status gz_read(idx_src *s, unsigned char *dst, size_t want, size_t *got)
{
    z_stream *z = &s->zs;
    z->next_out = dst;
    /* uInt may be 32 bits; callers never ask for more than a chunk. */
    z->avail_out = (uInt)want;
    while (z->avail_out) {
        if (z->avail_in == 0 && !s->in_eof) {
            size_t n = fread(s->in, 1, IDX_CHUNK, s->fp);
            if (n < IDX_CHUNK && ferror(s->fp)) return io_error(s->path, "read error");
            if (n == 0) s->in_eof = 1;
            z->next_in = s->in;
            z->avail_in = (uInt)n;
        }
        if (s->member_done) {
            if (z->avail_in == 0) {
                if (s->in_eof) break;
                continue;
            }
            if (z->next_in[0] != 0x1f) {
                /* Count the rest for the message (a MiB at most: the rest
                 * may be endless). */
                unsigned long long extra = z->avail_in;
                size_t n;
                while (extra <= IDX_TRAILING_COUNT && (n = fread(s->in, 1, IDX_CHUNK, s->fp)) > 0)
                    extra += n;
                if (extra > IDX_TRAILING_COUNT)
                    return dsc_fail(DSC_EFORMAT,
                                    "%s: trailing garbage: more than 1 MiB after the gzip data",
                                    s->path);
                return dsc_fail(DSC_EFORMAT,
                                "%s: trailing garbage: %llu byte%s after the gzip data", s->path,
                                extra, extra == 1 ? "" : "s");
            }
            if (inflateReset(z) != Z_OK)
                return dsc_fail(DSC_EFORMAT, "%s: corrupt gzip data", s->path);
            s->member_done = 0;
        }
        if (z->avail_in == 0 && s->in_eof)
            return dsc_fail(DSC_EFORMAT,
                            "%s: corrupt gzip data: the compressed stream ends early "
                            "(truncated .gz file)",
                            s->path);
        int r = inflate(z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            s->member_done = 1;
        } else if (r == Z_MEM_ERROR) {
            return dsc_fail(DSC_ENOMEM, "%s: out of memory in zlib", s->path);
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            return dsc_fail(DSC_EFORMAT, "%s: corrupt gzip data: %s", s->path,
                            z->msg ? z->msg : "invalid stream");
        }
    }
    *got = want - z->avail_out;
    return DSC_OK;
}
#endif

/* Reads up to want bytes; *got < want only at the end of the data. */
static dsc_status src_read(idx_src *s, unsigned char *dst, size_t want, size_t *got)
{
#ifdef DSC_USE_ZLIB
    if (s->gz) return gz_read(s, dst, want, got);
#endif
    size_t k = 0;
    while (s->n_peek && k < want) {
        dst[k++] = s->peek[0];
        s->peek[0] = s->peek[1];
        s->n_peek--;
    }
    *got = k + fread(dst + k, 1, want - k, s->fp);
    if (*got < want && ferror(s->fp)) return io_error(s->path, "read error");
    return DSC_OK;
}

/* Reads exactly n bytes, in chunks; *got says how many there were. */
static dsc_status src_read_all(idx_src *s, unsigned char *dst, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got < IDX_CHUNK ? n - *got : IDX_CHUNK, k;
        dsc_status st = src_read(s, dst + *got, want, &k);
        if (st) return st;
        *got += k;
        if (k < want) break;
    }
    return DSC_OK;
}

static dsc_status trailing_error(const idx_src *s, uint64_t extra, uint64_t n, const char *unit)
{
    return dsc_fail(
        DSC_EFORMAT, "%s: trailing garbage: %llu byte%s after the %llu %s the header describes",
        s->path, (unsigned long long)extra, extra == 1 ? "" : "s", (unsigned long long)n, unit);
}

static dsc_status expect_end(idx_src *s, uint64_t n, const char *unit)
{
    unsigned char buf[4096];
    size_t k;
    uint64_t extra = 0;
    do {
        dsc_status st = src_read(s, buf, sizeof buf, &k);
        if (st) return st;
        extra += k;
    } while (k == sizeof buf && extra <= IDX_TRAILING_COUNT);
    if (extra > IDX_TRAILING_COUNT)
        return dsc_fail(DSC_EFORMAT,
                        "%s: trailing garbage: more than 1 MiB after the %llu %s the "
                        "header describes",
                        s->path, (unsigned long long)n, unit);
    return extra ? trailing_error(s, extra, n, unit) : DSC_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

/* Reads the magic number and the dimensions of a u8 IDX file with ndims
 * dimensions; what names the file's role in messages. */
static dsc_status read_header(idx_src *s, unsigned ndims, const char *what, uint32_t *dims)
{
    const uint32_t want = 0x0800u | ndims;
    char expected[80];
    snprintf(expected, sizeof expected, "0x%08X (unsigned-byte %s, %u dimension%s)", (unsigned)want,
             what, ndims, ndims == 1 ? "" : "s");
    unsigned char h[16];
    size_t got;
    dsc_status st = src_read_all(s, h, 4, &got);
    if (st) return st;
    if (got == 0) return dsc_fail(DSC_EFORMAT, "%s: the %s file is empty", s->path, what);
    if (got < 4)
        return dsc_fail(DSC_EFORMAT,
                        "%s: truncated: %zu bytes, too short for the 4-byte IDX magic number",
                        s->path, got);
    uint32_t magic = be32(h);
    if (magic >> 16 != 0)
        return dsc_fail(DSC_EFORMAT, "%s: not an IDX file: magic number 0x%08X, expected %s",
                        s->path, (unsigned)magic, expected);
    unsigned type = magic >> 8 & 0xFF, nd = magic & 0xFF;
    if (type != 0x08)
        return dsc_fail(DSC_EFORMAT,
                        "%s: magic number 0x%08X is IDX of type 0x%02X (%s); only unsigned "
                        "bytes are read, expected %s",
                        s->path, (unsigned)magic, type, type_name(type), expected);
    if (nd != ndims) {
        const char *hint = nd == 3 && ndims == 1   ? "; it looks like an image file"
                           : nd == 1 && ndims == 3 ? "; it looks like a label file"
                                                   : "";
        return dsc_fail(DSC_EFORMAT, "%s: magic number 0x%08X gives %u dimensions, expected %s%s",
                        s->path, (unsigned)magic, nd, expected, hint);
    }
    if ((st = src_read_all(s, h, 4 * ndims, &got))) return st;
    if (got < 4 * ndims)
        return dsc_fail(DSC_EFORMAT,
                        "%s: truncated header: expected %u bytes of dimensions, found %zu", s->path,
                        4 * ndims, got);
    static const char *dim_names[] = {"count", "rows", "columns"};
    for (unsigned k = 0; k < ndims; k++) {
        dims[k] = be32(h + 4 * k);
        if (dims[k] == 0 || dims[k] > IDX_MAX_COUNT)
            return dsc_fail(DSC_EFORMAT, "%s: %s %s is %lu, expected 1 to %lu", s->path, what,
                            dim_names[k], (unsigned long)dims[k], (unsigned long)IDX_MAX_COUNT);
    }
    return DSC_OK;
}

/* Reads the n bytes of data after the header and checks nothing follows.
 * With as_float each byte becomes a float in [0, 1] on the way in, so the
 * images are never held twice. Memory grows with what actually arrives. */
static dsc_status read_body(idx_src *s, uint64_t header_bytes, uint64_t n, const char *unit,
                            int as_float, void **out)
{
    *out = NULL;
    const size_t esz = as_float ? sizeof(float) : 1;
    if (n > SIZE_MAX / esz)
        return dsc_fail(DSC_ENOMEM, "%s: %llu %s do not fit in memory", s->path,
                        (unsigned long long)n, unit);
    /* A regular plain file says at once whether the sizes agree. */
    int sized = !s->gz && s->file_size >= 0;
    if (sized) {
        uint64_t have = (uint64_t)s->file_size - header_bytes;
        if (have < n)
            return dsc_fail(DSC_EFORMAT, "%s: truncated: expected %llu %s, found %llu", s->path,
                            (unsigned long long)n, unit, (unsigned long long)have);
        if (have > n) return trailing_error(s, have - n, n, unit);
    }
    size_t cap = sized || n < IDX_FIRST_CAP ? (size_t)n : IDX_FIRST_CAP;
    /* Deflate expands at most about 1032:1, so a compressed regular file
     * bounds its data; a real file compresses far less than that, so its
     * first buffer is a typical ratio's worth, and only a file that really
     * delivers more grows it (a forged header asks for nothing). */
    if (s->gz && s->file_size >= 0 && (uint64_t)s->file_size < UINT64_MAX / IDX_DEFLATE_RATIO) {
        uint64_t bound = (uint64_t)s->file_size * IDX_DEFLATE_RATIO;
        uint64_t first = (uint64_t)s->file_size * IDX_TYPICAL_RATIO;
        if (first < IDX_FIRST_CAP) first = IDX_FIRST_CAP;
        if (first > bound) first = bound;
        cap = first < n ? (size_t)first : (size_t)n;
    }
    unsigned char *buf = dsc_malloc(cap * esz), *stage = NULL;
    if (as_float) stage = dsc_malloc(IDX_CHUNK);
    float scale[256];
    for (int v = 0; v < 256; v++) scale[v] = (float)v / 255.0f;
    size_t have = 0;
    dsc_status st;
    if (!buf || (as_float && !stage)) {
        st = dsc_fail(DSC_ENOMEM, "%s: out of memory for %zu %s", s->path, cap, unit);
        goto fail;
    }
    for (;;) {
        size_t want = cap - have, got;
        if (as_float) {
            if (want > IDX_CHUNK) want = IDX_CHUNK;
            if ((st = src_read_all(s, stage, want, &got))) goto fail;
            float *x = (float *)(void *)buf + have;
            for (size_t i = 0; i < got; i++) x[i] = scale[stage[i]];
        } else if ((st = src_read_all(s, buf + have, want, &got))) {
            goto fail;
        }
        have += got;
        if (got < want || have == n) break;
        if (have < cap) continue;
        size_t ncap = cap > n / 2 ? (size_t)n : 2 * cap;
        unsigned char *nb = dsc_realloc(buf, ncap * esz);
        if (!nb) {
            st = dsc_fail(DSC_ENOMEM, "%s: out of memory for %zu %s", s->path, ncap, unit);
            goto fail;
        }
        buf = nb;
        cap = ncap;
    }
    if (have < n) {
        st = dsc_fail(DSC_EFORMAT, "%s: truncated: expected %llu %s, found %zu", s->path,
                      (unsigned long long)n, unit, have);
        goto fail;
    }
    if ((st = expect_end(s, n, unit))) goto fail;
    dsc_free(stage);
    *out = buf;
    return DSC_OK;
fail:
    dsc_free(stage);
    dsc_free(buf);
    return st;
}

static char **number_names(const char *prefix, size_t first, size_t n)
{
    char **names = dsc_calloc(n, sizeof *names);
    if (!names) return NULL;
    for (size_t j = 0; j < n; j++) {
        char buf[48];
        snprintf(buf, sizeof buf, "%s%zu", prefix, first + j);
        if (!(names[j] = dsc_strdup(buf))) {
            for (size_t k = 0; k < j; k++) dsc_free(names[k]);
            dsc_free(names);
            return NULL;
        }
    }
    return names;
}

/* Builds the data set around the pixel bytes x (taken, also on failure) and
 * the labels. Pixels stay bytes, scaled to [0, 1] as they are read. */
static dsc_status build(unsigned char *x, const unsigned char *labels, size_t n, size_t h, size_t w,
                        const char *labels_path, dsc_dataset **out)
{
    size_t n_in = h * w;
    unsigned max = 1;
    for (size_t i = 0; i < n; i++)
        if (labels[i] > max) max = labels[i];
    size_t k = (size_t)max + 1;
    dsc_dataset *d = dsc_calloc(1, sizeof *d);
    if (!d) {
        dsc_free(x);
        return dsc_fail(DSC_ENOMEM, "out of memory for a data set");
    }
    d->n = n;
    d->n_in = n_in;
    d->n_out = k;
    d->in_rank = 3; /* one channel of h x w pixels */
    d->in_dims[0] = 1, d->in_dims[1] = h, d->in_dims[2] = w;
    pthread_mutex_init(&d->x_lock, NULL);
    d->x8 = x;
    /* The values are the bytes, as a CSV of the same pixels holds them; a
     * model trained on them records the division by 255 (x / 255 in
     * float, the same bits from either file). */
    d->x8_div = 1.0f;
    d->input_div = 255.0f;
    if (n > SIZE_MAX / sizeof(float) / k || !(d->y = dsc_calloc(n * k, sizeof(float)))) goto oom;
    for (size_t i = 0; i < n; i++) d->y[i * k + labels[i]] = 1.0f;
    if (!(d->classes = number_names("", 0, k))) goto oom;
    d->n_classes = k;
    if (!(d->out_names = number_names("", 0, k)) ||
        !(d->in_names = number_names("pixel", 1, n_in)) ||
        !(d->target_name = dsc_strdup("label")) || !(d->source = dsc_strdup(labels_path)))
        goto oom;
    *out = d;
    return DSC_OK;
oom:
    dsc_dataset_free(d);
    return dsc_fail(DSC_ENOMEM, "out of memory for an IDX data set of %zu rows", n);
}

dsc_status dsc_dataset_from_idx(const char *images, const char *labels, dsc_dataset **out)
{
    return dsc_dataset_from_idx_limits(images, labels, NULL, out);
}

dsc_status dsc_dataset_from_idx_limits(const char *images, const char *labels, const dsc_limits *l,
                                       dsc_dataset **out)
{
    dsc_limits store;
    l = dsc_limits_or_default(l, &store);
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_dataset_from_idx: out is NULL");
    *out = NULL;
    if (!images || !labels)
        return dsc_fail(DSC_EINVAL, "dsc_dataset_from_idx: %s path is NULL",
                        images ? "the labels" : "the images");
    idx_src si, sl;
    unsigned char *lab = NULL;
    uint32_t idims[3] = {0}, ldims[1] = {0};
    memset(&sl, 0, sizeof sl);
    dsc_status st = src_open(&si, images);
    if (st || (st = read_header(&si, 3, "images", idims))) goto done;
    if ((st = src_open(&sl, labels)) || (st = read_header(&sl, 1, "labels", ldims))) goto done;
    uint64_t count = idims[0], pixels = (uint64_t)idims[1] * idims[2];
    if (pixels > IDX_MAX_PIXELS) {
        st = dsc_fail(DSC_EFORMAT, "%s: images of %lu x %lu pixels are too large (at most %llu)",
                      images, (unsigned long)idims[1], (unsigned long)idims[2],
                      (unsigned long long)IDX_MAX_PIXELS);
        goto done;
    }
    if (l->max_rows && count > l->max_rows) {
        st = dsc_fail(DSC_ELIMIT,
                      "%s: the header claims %llu images, more than %llu, the limit (max_rows; "
                      "descent --max-rows raises it)",
                      images, (unsigned long long)count, (unsigned long long)l->max_rows);
        goto done;
    }
    if (l->max_bytes && count * pixels > l->max_bytes) {
        char lim[32];
        st = dsc_fail(DSC_ELIMIT,
                      "%s: the header claims %llu images of %llu pixels, %llu bytes, more than "
                      "%s, the limit (max_bytes; descent --max-bytes raises it)",
                      images, (unsigned long long)count, (unsigned long long)pixels,
                      (unsigned long long)(count * pixels),
                      dsc_bytes_text(lim, sizeof lim, l->max_bytes));
        goto done;
    }
    if (ldims[0] != count) {
        st = dsc_fail(DSC_EFORMAT, "%s has %llu images but %s has %lu labels", images,
                      (unsigned long long)count, labels, (unsigned long)ldims[0]);
        goto done;
    }
    /* Labels first: they are small and fix the number of outputs. */
    void *body;
    if ((st = read_body(&sl, 8, count, "labels", 0, &body))) goto done;
    lab = body;
    if ((st = read_body(&si, 16, count * pixels, "pixel bytes", 0, &body))) goto done;
    st = build(body, lab, (size_t)count, idims[1], idims[2], labels, out);
done:
    src_close(&si);
    src_close(&sl);
    dsc_free(lab);
    return st;
}
