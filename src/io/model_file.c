/* Model files: a chunked, little-endian, checksummed binary format (the
 * byte-by-byte description is docs/FORMAT.md), saved atomically. */
#define _POSIX_C_SOURCE 200809L

#include "model_file.h"
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../graph/ops.h"
#include "../nn/nn.h"

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE-754 binary32/64 expected");

static const uint8_t magic[8] = {'D', 'S', 'C', 'M', 'O', 'D', 'E', 'L'};
enum { HEADER_SIZE = 12, CHUNK_HEAD = 8, MAX_LAYERS = 64 };
#define MAX_UNITS 100000000u /* the spec parser's limit */

/* The file's own numbering, pinned so that reordering the public enums can
 * never change what an existing file means: activations carry their code in
 * the op table (src/graph/ops.h), the ReLU rules here. */
static const dsc_relu_grad relu_codes[] = {DSC_RELU_GRAD_ZERO, DSC_RELU_GRAD_ONE,
                                           DSC_RELU_GRAD_RANDOM};

static int relu_code(dsc_relu_grad r)
{
    for (size_t i = 0; i < DSC_COUNT_OF(relu_codes); i++)
        if (relu_codes[i] == r) return (int)i;
    return -1;
}

/* --- encoding -------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int failed;  /* an allocation failed or the file grew past the limit */
    int too_big; /* the latter */
} out_buf;

static uint8_t *reserve(out_buf *o, size_t n)
{
    if (o->failed) return NULL;
    if (n > DSC_MODEL_FILE_MAX - o->n) {
        o->failed = o->too_big = 1;
        return NULL;
    }
    if (o->n + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->n + n) cap *= 2;
        uint8_t *p = dsc_realloc(o->p, cap);
        if (!p) {
            o->failed = 1;
            return NULL;
        }
        o->p = p;
        o->cap = cap;
    }
    uint8_t *at = o->p + o->n;
    o->n += n;
    return at;
}

static void put_le(uint8_t *at, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) at[i] = (uint8_t)(v >> (8 * i));
}

static void put_u8(out_buf *o, unsigned v)
{
    uint8_t *at = reserve(o, 1);
    if (at) *at = (uint8_t)v;
}

static void put_u32(out_buf *o, uint32_t v)
{
    uint8_t *at = reserve(o, 4);
    if (at) put_le(at, v, 4);
}

static void put_u64(out_buf *o, uint64_t v)
{
    uint8_t *at = reserve(o, 8);
    if (at) put_le(at, v, 8);
}

static void put_f64(out_buf *o, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put_u64(o, bits);
}

static void put_bytes(out_buf *o, const void *b, size_t n)
{
    uint8_t *at = reserve(o, n);
    if (at && n) memcpy(at, b, n);
}

static void put_str_n(out_buf *o, const char *s, size_t n)
{
    if (n > UINT32_MAX) {
        o->failed = o->too_big = 1;
        return;
    }
    put_u32(o, (uint32_t)n);
    put_bytes(o, s, n);
}

static void put_str(out_buf *o, const char *s) { put_str_n(o, s, strlen(s)); }

/* Writes the tag and a length placeholder; end_chunk fills the length in. */
static size_t begin_chunk(out_buf *o, const char tag[4])
{
    put_bytes(o, tag, 4);
    put_u32(o, 0);
    return o->n;
}

static void end_chunk(out_buf *o, size_t start)
{
    if (o->failed) return;
    size_t len = o->n - start;
    if (len > UINT32_MAX) {
        o->failed = 1;
        return;
    }
    put_le(o->p + start - 4, len, 4);
}

static void put_floats(out_buf *o, const float *v, size_t n)
{
    uint8_t *at = reserve(o, n * 4);
    if (!at) return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        put_le(at + 4 * i, bits, 4);
    }
}

dsc_status dsc_model_encode(const dsc_model *m, uint8_t **bytes, size_t *size)
{
    if (!m || !bytes || !size) return dsc_fail(DSC_EINVAL, "dsc_model_encode: NULL argument");
    *bytes = NULL;
    *size = 0;
    if (m->n_params > (DSC_MODEL_FILE_MAX - 4096) / 4)
        return dsc_fail(DSC_EINVAL,
                        "model '%s' has %zu parameters: too many for a model file (at most %zu "
                        "bytes)",
                        m->spec, m->n_params, DSC_MODEL_FILE_MAX);
    /* The loader rejects these, so writing them would only produce a file
     * nobody can read (and could replace a good one). */
    for (size_t i = 0; i < m->n_params; i++)
        if (!isfinite(m->params[i]))
            return dsc_fail(DSC_EINVAL, "parameter %s is %s: a model file holds finite values only",
                            dsc_model_param_name(m, i), isnan(m->params[i]) ? "NaN" : "infinite");
    int relu = relu_code(m->relu_rule);
    if (relu < 0) return dsc_fail(DSC_EINVAL, "unknown ReLU gradient rule %d", (int)m->relu_rule);
    for (size_t k = 0; k < m->n_layers; k++)
        if (dsc_activation_code(m->act[k]) < 0)
            return dsc_fail(DSC_EINVAL, "layer %zu has an unknown activation %d", k + 1,
                            (int)m->act[k]);
    size_t in = m->units[0], outs = m->units[m->n_layers];

    out_buf o = {0};
    put_bytes(&o, magic, sizeof magic);
    /* The lowest version that holds the model: a plain MLP that records no
     * input divisor (never trained, or loaded from format 1) is the same
     * file as before format 2, and older readers still load it; format 1
     * also means exactly that: no divisor recorded. */
    int mlp = dsc_spec_is_mlp(m->arch);
    put_u32(&o, mlp && m->x_div == 0 ? 1u : DSC_MODEL_FORMAT_VERSION);

    size_t c = begin_chunk(&o, "ARCH");
    put_u32(&o, (uint32_t)m->n_layers);
    for (size_t k = 0; k <= m->n_layers; k++) put_u32(&o, (uint32_t)m->units[k]);
    for (size_t k = 0; k < m->n_layers; k++) put_u8(&o, (unsigned)dsc_activation_code(m->act[k]));
    put_u8(&o, (unsigned)relu);
    end_chunk(&o, c);

    /* A network that is not a plain MLP: its layers as the canonical spec,
     * which the reader parses with the spec parser (one grammar, one set of
     * checks). */
    if (!mlp) {
        c = begin_chunk(&o, "LAYR");
        put_str(&o, m->spec);
        end_chunk(&o, c);
    }

    c = begin_chunk(&o, "PARM");
    put_u64(&o, m->n_params);
    put_floats(&o, m->params, m->n_params);
    end_chunk(&o, c);

    if (m->in_names) {
        c = begin_chunk(&o, "INPN");
        put_u32(&o, (uint32_t)in);
        for (size_t j = 0; j < in; j++) put_str(&o, m->in_names[j]);
        end_chunk(&o, c);
    }
    if (m->target) {
        c = begin_chunk(&o, "TRGT");
        put_str(&o, m->target);
        end_chunk(&o, c);
    }
    if (m->classes && m->n_classes) {
        c = begin_chunk(&o, "CLSS");
        put_u32(&o, (uint32_t)m->n_classes);
        for (size_t k = 0; k < m->n_classes; k++) put_str(&o, m->classes[k]);
        end_chunk(&o, c);
    }
    /* A divisor of 1 is what a format-2 file without the chunk means; an
     * unrecorded one (0) goes in a format-1 file (above) when it can, and is
     * saved as 1 otherwise. */
    if (m->x_div > 0 && m->x_div != 1.0f) {
        c = begin_chunk(&o, "XFRM");
        put_floats(&o, &m->x_div, 1);
        end_chunk(&o, c);
    }
    if ((m->x_mean && m->x_std) || (m->y_mean && m->y_std)) {
        int has_x = m->x_mean && m->x_std, has_y = m->y_mean && m->y_std;
        c = begin_chunk(&o, "NORM");
        put_u32(&o, (uint32_t)(has_x | has_y << 1));
        if (has_x) put_floats(&o, m->x_mean, in), put_floats(&o, m->x_std, in);
        if (has_y) put_floats(&o, m->y_mean, outs), put_floats(&o, m->y_std, outs);
        end_chunk(&o, c);
    }
    if (m->summary) {
        const dsc_model_summary *s = m->summary;
        c = begin_chunk(&o, "SUMM");
        put_str_n(&o, s->loss, strnlen(s->loss, sizeof s->loss - 1));
        put_str_n(&o, s->optimizer, strnlen(s->optimizer, sizeof s->optimizer - 1));
        put_str_n(&o, s->stop, strnlen(s->stop, sizeof s->stop - 1));
        put_u64(&o, s->iterations);
        put_u64(&o, s->epochs);
        put_u64(&o, s->samples);
        put_f64(&o, s->loss_value);
        put_f64(&o, s->val_loss);
        put_f64(&o, s->accuracy);
        put_f64(&o, s->seconds);
        end_chunk(&o, c);
    }

    c = begin_chunk(&o, "END ");
    uint32_t crc = o.failed ? 0 : dsc_crc32(0, o.p, o.n - CHUNK_HEAD);
    put_u32(&o, crc);
    end_chunk(&o, c);

    if (o.failed) {
        dsc_free(o.p);
        if (o.too_big)
            return dsc_fail(DSC_EINVAL, "model '%s' is too large for a model file", m->spec);
        return dsc_fail(DSC_ENOMEM, "out of memory encoding model '%s'", m->spec);
    }
    *bytes = o.p;
    *size = o.n;
    return DSC_OK;
}

/* --- saving ---------------------------------------------------------------- */

dsc_status dsc_model_save(const dsc_model *m, const char *path)
{
    if (!m || !path || !*path) return dsc_fail(DSC_EINVAL, "dsc_model_save: NULL argument");
    uint8_t *data = NULL;
    size_t size = 0;
    dsc_status s = dsc_model_encode(m, &data, &size);
    if (s) return s;
    s = dsc_write_file_atomic(path, data, size);
    dsc_free(data);
    return s;
}

dsc_status dsc_model_save_memory(const dsc_model *m, void **data, size_t *size)
{
    if (data) *data = NULL;
    if (size) *size = 0;
    if (!m || !data || !size) return dsc_fail(DSC_EINVAL, "dsc_model_save_memory: NULL argument");
    uint8_t *bytes = NULL;
    dsc_status s = dsc_model_encode(m, &bytes, size);
    if (s) return s;
    *data = bytes;
    return DSC_OK;
}

/* --- decoding -------------------------------------------------------------- */

static uint32_t get_u32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(const uint8_t *b) { return get_u32(b) | (uint64_t)get_u32(b + 4) << 32; }

static float get_f32(const uint8_t *b)
{
    uint32_t bits = get_u32(b);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* A tag as printable text, whatever its bytes. */
static void tag_text(const uint8_t *b, char out[5])
{
    for (int i = 0; i < 4; i++) out[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
    out[4] = '\0';
    /* "END " reads better as END in a message. */
    for (int i = 3; i > 0 && out[i] == ' '; i--) out[i] = '\0';
}

static int is_letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* A tag is four printable ASCII bytes starting with a letter; the case of
 * that letter says whether a reader may skip the chunk (PNG's rule). */
static int valid_tag(const uint8_t *b)
{
    if (!is_letter(b[0])) return 0;
    for (int i = 1; i < 4; i++)
        if (b[i] < 0x20 || b[i] >= 0x7f) return 0;
    return 1;
}

enum { C_ARCH, C_PARM, C_INPN, C_TRGT, C_CLSS, C_XFRM, C_NORM, C_SUMM, C_LAYR, C_KNOWN };
static const char known_tags[C_KNOWN][5] = {"ARCH", "PARM", "INPN", "TRGT", "CLSS",
                                            "XFRM", "NORM", "SUMM", "LAYR"};

typedef struct {
    int present;
    size_t at;  /* file offset of the chunk's tag */
    size_t len; /* payload bytes, which start at at + 8 */
} chunk_ref;

/* Reads one chunk's payload with bounds checks; every failure names the
 * file, the chunk and the byte offset in the file. */
typedef struct {
    const char *name;
    const uint8_t *b;
    size_t pos, end;
    const char *tag;
} reader;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static dsc_status
rd_fail_at(const reader *r, size_t at, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dsc_fail(DSC_EFORMAT, "%s: chunk %s at byte %zu: %s", r->name, r->tag, at, what);
}

static dsc_status rd_need(const reader *r, size_t n, const char *field)
{
    if (r->end - r->pos >= n) return DSC_OK;
    return rd_fail_at(r, r->pos, "the chunk ends inside %s (%zu bytes needed, %zu left)", field, n,
                      r->end - r->pos);
}

static dsc_status rd_u32(reader *r, const char *field, uint32_t *v)
{
    dsc_status s = rd_need(r, 4, field);
    if (s) return s;
    *v = get_u32(r->b + r->pos);
    r->pos += 4;
    return DSC_OK;
}

static dsc_status rd_u64(reader *r, const char *field, uint64_t *v)
{
    dsc_status s = rd_need(r, 8, field);
    if (s) return s;
    *v = get_u64(r->b + r->pos);
    r->pos += 8;
    return DSC_OK;
}

static dsc_status rd_f64(reader *r, const char *field, double *v)
{
    uint64_t bits;
    dsc_status s = rd_u64(r, field, &bits);
    if (s) return s;
    memcpy(v, &bits, 8);
    return DSC_OK;
}

static dsc_status rd_done(const reader *r)
{
    if (r->pos == r->end) return DSC_OK;
    return rd_fail_at(r, r->pos, "%zu unexpected bytes after the last field", r->end - r->pos);
}

/* A length-prefixed string as a new C string. Embedded NULs are refused:
 * the C string would silently lose its tail. */
static dsc_status rd_str(reader *r, const char *field, size_t max_len, char **out)
{
    *out = NULL;
    size_t at = r->pos;
    uint32_t len;
    dsc_status s = rd_u32(r, field, &len);
    if (s) return s;
    if (len > max_len)
        return rd_fail_at(r, at, "%s is %u bytes (at most %zu)", field, len, max_len);
    if ((s = rd_need(r, len, field))) return s;
    const uint8_t *p = r->b + r->pos;
    if (len && memchr(p, 0, len)) return rd_fail_at(r, at, "%s contains a NUL byte", field);
    char *c = dsc_malloc((size_t)len + 1);
    if (!c) return dsc_fail(DSC_ENOMEM, "%s: out of memory for %s", r->name, field);
    if (len) memcpy(c, p, len);
    c[len] = '\0';
    r->pos += len;
    *out = c;
    return DSC_OK;
}

typedef struct {
    char **v;
    size_t n;
} str_list;

static void str_list_free(str_list *l)
{
    for (size_t i = 0; l->v && i < l->n; i++) dsc_free(l->v[i]);
    dsc_free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* A u32 count and that many strings; check_count vets the count first so
 * a corrupt count never drives the allocation. */
static dsc_status rd_str_list(reader *r, size_t want, size_t alt, const char *what, str_list *l)
{
    l->v = NULL;
    l->n = 0;
    size_t at = r->pos;
    uint32_t n;
    dsc_status s = rd_u32(r, "the count", &n);
    if (s) return s;
    if (n != want && (alt == 0 || n != alt)) {
        if (alt)
            return rd_fail_at(r, at, "%u %s, the architecture needs %zu or %zu", n, what, want,
                              alt);
        return rd_fail_at(r, at, "%u %s, the architecture needs %zu", n, what, want);
    }
    if (!(l->v = dsc_calloc(n, sizeof *l->v)))
        return dsc_fail(DSC_ENOMEM, "%s: out of memory for %s", r->name, what);
    l->n = n;
    for (size_t i = 0; i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "string %zu", i + 1);
        if ((s = rd_str(r, field, SIZE_MAX, &l->v[i]))) {
            str_list_free(l);
            return s;
        }
    }
    return DSC_OK;
}

/* Reads n floats, each finite (and positive for a std). */
static dsc_status rd_floats(reader *r, const char *what, int positive, size_t n, float *out)
{
    dsc_status s = rd_need(r, n * 4, what);
    if (s) return s;
    for (size_t i = 0; i < n; i++) {
        size_t at = r->pos + 4 * i;
        float v = get_f32(r->b + at);
        if (!isfinite(v)) return rd_fail_at(r, at, "%s %zu is not finite", what, i + 1);
        if (positive && !(v > 0)) return rd_fail_at(r, at, "%s %zu is not positive", what, i + 1);
        out[i] = v;
    }
    r->pos += n * 4;
    return DSC_OK;
}

typedef struct {
    size_t n_layers;
    size_t units[MAX_LAYERS + 1];
    dsc_activation act[MAX_LAYERS];
    dsc_relu_grad relu;
    uint64_t n_params;
} arch;

static dsc_status parse_arch(reader *r, arch *a)
{
    uint32_t n, u;
    dsc_status s = rd_u32(r, "the layer count", &n);
    if (s) return s;
    if (n < 1 || n > MAX_LAYERS)
        return rd_fail_at(r, r->pos - 4, "%u layers (1 to %d)", n, MAX_LAYERS);
    a->n_layers = n;
    for (size_t k = 0; k <= n; k++) {
        if ((s = rd_u32(r, "the units", &u))) return s;
        if (u < 1 || u > MAX_UNITS) {
            if (k == 0) return rd_fail_at(r, r->pos - 4, "%u inputs (1 to %u)", u, MAX_UNITS);
            return rd_fail_at(r, r->pos - 4, "layer %zu has %u units (1 to %u)", k, u, MAX_UNITS);
        }
        a->units[k] = u;
    }
    if ((s = rd_need(r, n + 1u, "the activations"))) return s;
    for (size_t k = 0; k < n; k++) {
        unsigned code = r->b[r->pos];
        if (dsc_activation_from_code(code, &a->act[k]))
            return rd_fail_at(r, r->pos, "layer %zu has unknown activation code %u", k + 1, code);
        if ((dsc_activation_op(a->act[k])->flags & DSC_OPF_ROWWISE) && k + 1 < n)
            return rd_fail_at(r, r->pos, "layer %zu is %s, which only the output may be", k + 1,
                              dsc_activation_name(a->act[k]));
        r->pos++;
    }
    unsigned rule = r->b[r->pos];
    if (rule >= DSC_COUNT_OF(relu_codes))
        return rd_fail_at(r, r->pos, "unknown ReLU gradient rule %u", rule);
    a->relu = relu_codes[rule];
    r->pos++;
    /* At most 64 * (1e8 * 1e8 + 1e8) < 2^63: no overflow. */
    a->n_params = 0;
    for (size_t k = 0; k < n; k++)
        a->n_params += (uint64_t)a->units[k] * a->units[k + 1] + a->units[k + 1];
    return rd_done(r);
}

static dsc_status parse_summary(reader *r, dsc_model_summary *sm)
{
    memset(sm, 0, sizeof *sm);
    char *loss = NULL, *opt = NULL, *stop = NULL;
    dsc_status s;
    if ((s = rd_str(r, "the loss name", sizeof sm->loss - 1, &loss)) ||
        (s = rd_str(r, "the optimizer name", sizeof sm->optimizer - 1, &opt)) ||
        (s = rd_str(r, "the stop reason", sizeof sm->stop - 1, &stop)) ||
        (s = rd_u64(r, "iterations", &sm->iterations)) || (s = rd_u64(r, "epochs", &sm->epochs)) ||
        (s = rd_u64(r, "samples", &sm->samples)) || (s = rd_f64(r, "the loss", &sm->loss_value)) ||
        (s = rd_f64(r, "the validation loss", &sm->val_loss)) ||
        (s = rd_f64(r, "the accuracy", &sm->accuracy)) ||
        (s = rd_f64(r, "the seconds", &sm->seconds)) || (s = rd_done(r))) {
        dsc_free(loss), dsc_free(opt), dsc_free(stop);
        return s;
    }
    strcpy(sm->loss, loss);
    strcpy(sm->optimizer, opt);
    strcpy(sm->stop, stop);
    dsc_free(loss), dsc_free(opt), dsc_free(stop);
    return DSC_OK;
}

/* A name the model refuses (empty, given twice) is a fault of the file:
 * said with the file and chunk. */
static dsc_status bad_names(const reader *r, dsc_status s)
{
    if (s != DSC_EINVAL) return s;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dsc_last_error());
    return rd_fail_at(r, r->pos, "%s", msg);
}

static reader chunk_reader(const char *name, const uint8_t *b, const chunk_ref *c, int which)
{
    reader r = {name, b, c->at + CHUNK_HEAD, c->at + CHUNK_HEAD + c->len, known_tags[which]};
    return r;
}

/* LAYR (format 2): the network as its canonical spec. Parsed here (without
 * allocating its parameters) so that ARCH can be checked against it and the
 * parameter count taken from it; *out is dsc_malloc'd. */
static dsc_status parse_layers(const char *name, const uint8_t *b, const chunk_ref *c,
                               uint32_t version, arch *a, dsc_spec **out)
{
    reader r = chunk_reader(name, b, c, C_LAYR);
    if (version < 2)
        return rd_fail_at(&r, c->at, "a version %u file cannot hold this chunk (format 2 added it)",
                          version);
    char *text = NULL;
    dsc_status s = rd_str(&r, "the layers", 64 * 64, &text);
    if (!s) s = rd_done(&r);
    if (s) return s;
    dsc_spec *sp = dsc_malloc(sizeof *sp);
    if (!sp) {
        dsc_free(text);
        return dsc_fail(DSC_ENOMEM, "%s: out of memory for the layers", name);
    }
    if ((s = dsc_spec_parse(text, sp))) {
        char why[512];
        snprintf(why, sizeof why, "%s", dsc_last_error());
        s = rd_fail_at(&r, c->at + CHUNK_HEAD, "%s", why);
    } else if (sp->n_layers != a->n_layers) {
        s = rd_fail_at(&r, c->at + CHUNK_HEAD, "%zu layers, but ARCH has %zu", sp->n_layers,
                       a->n_layers);
    } else {
        for (size_t k = 0; k <= sp->n_layers && !s; k++)
            if (sp->units[k] != a->units[k] || (k && sp->act[k - 1] != a->act[k - 1]))
                s = rd_fail_at(&r, c->at + CHUNK_HEAD,
                               "%s %zu has %zu values (%s) in the layers, %zu (%s) in ARCH",
                               k ? "layer" : "input", k, sp->units[k],
                               k ? dsc_activation_name(sp->act[k - 1]) : "-", a->units[k],
                               k ? dsc_activation_name(a->act[k - 1]) : "-");
    }
    dsc_free(text);
    if (s) {
        dsc_free(sp);
        return s;
    }
    a->n_params = sp->n_params;
    *out = sp;
    return DSC_OK;
}

/* Everything after the architecture: parameters and metadata, read straight
 * into the new model through the public setters. */
static dsc_status fill_model(const char *name, const uint8_t *b, const chunk_ref *ch, const arch *a,
                             uint32_t version, dsc_model *m)
{
    size_t in = a->units[0], outs = a->units[a->n_layers];
    dsc_status s;

    /* Format 1 did not record the input divisor (IDX data was divided by
     * 255 as it was read): such a model takes the data's. From format 2 a
     * model without XFRM divides by 1. */
    m->x_div = version >= 2 ? 1.0f : 0.0f;
    if (ch[C_XFRM].present) {
        reader r = chunk_reader(name, b, &ch[C_XFRM], C_XFRM);
        if (version < 2)
            return rd_fail_at(&r, ch[C_XFRM].at,
                              "a version %u file cannot hold this chunk (format 2 added it)",
                              version);
        if ((s = rd_need(&r, 4, "the input divisor"))) return s;
        float div = get_f32(b + r.pos);
        /* A subnormal divisor turns every ordinary input into infinity (1 /
         * 1e-45 overflows a float): as unusable as 0, so refused alike. */
        if (!isfinite(div) || !(div >= FLT_MIN))
            return rd_fail_at(&r, r.pos,
                              "the input divisor is %.9g (it must be finite and at least %.9g)",
                              (double)div, (double)FLT_MIN);
        r.pos += 4;
        if ((s = rd_done(&r))) return s;
        m->x_div = div;
    }

    reader r = chunk_reader(name, b, &ch[C_PARM], C_PARM);
    uint64_t count;
    if ((s = rd_u64(&r, "the parameter count", &count))) return s;
    if (count != a->n_params)
        return rd_fail_at(&r, r.pos - 8, "%llu parameters, but '%s' has %llu",
                          (unsigned long long)count, m->spec, (unsigned long long)a->n_params);
    if ((s = rd_need(&r, (size_t)count * 4, "the parameters"))) return s;
    for (size_t i = 0; i < count; i++) {
        size_t at = r.pos + 4 * i;
        float v = get_f32(b + at);
        if (!isfinite(v))
            return rd_fail_at(&r, at, "parameter %s is %s", dsc_model_param_name(m, i),
                              isnan(v) ? "NaN" : "infinite");
        m->params[i] = v;
    }
    r.pos += (size_t)count * 4;
    if ((s = rd_done(&r))) return s;
    dsc_model_set_relu_grad(m, a->relu);

    if (ch[C_INPN].present) {
        r = chunk_reader(name, b, &ch[C_INPN], C_INPN);
        str_list l;
        if ((s = rd_str_list(&r, in, 0, "input names", &l))) return s;
        if (!(s = rd_done(&r))) s = dsc_model_set_input_names(m, (const char *const *)l.v);
        str_list_free(&l);
        if (s) return bad_names(&r, s);
    }
    if (ch[C_TRGT].present) {
        r = chunk_reader(name, b, &ch[C_TRGT], C_TRGT);
        char *t = NULL;
        if (!(s = rd_str(&r, "the target", SIZE_MAX, &t)) && !(s = rd_done(&r)))
            s = dsc_model_set_target(m, t);
        dsc_free(t);
        if (s) return bad_names(&r, s);
    }
    if (ch[C_CLSS].present) {
        r = chunk_reader(name, b, &ch[C_CLSS], C_CLSS);
        str_list l;
        if ((s = rd_str_list(&r, outs, outs == 1 ? 2 : 0, "class labels", &l))) return s;
        if (!(s = rd_done(&r))) s = dsc_model_set_classes(m, (const char *const *)l.v, l.n);
        str_list_free(&l);
        if (s) return bad_names(&r, s);
    }
    if (ch[C_NORM].present) {
        r = chunk_reader(name, b, &ch[C_NORM], C_NORM);
        uint32_t flags;
        if ((s = rd_u32(&r, "the flags", &flags))) return s;
        if (flags == 0 || flags > 3)
            return rd_fail_at(&r, r.pos - 4, "flags %u (1: inputs, 2: targets, 3: both)", flags);
        float *buf = dsc_malloc(2 * (in + outs) * sizeof(float));
        if (!buf) return dsc_fail(DSC_ENOMEM, "%s: out of memory for standardisation", name);
        float *xm = buf, *xs = xm + in, *ym = xs + in, *ys = ym + outs;
        int hx = flags & 1, hy = (flags >> 1) & 1;
        if ((hx && ((s = rd_floats(&r, "input mean", 0, in, xm)) ||
                    (s = rd_floats(&r, "input std", 1, in, xs)))) ||
            (hy && ((s = rd_floats(&r, "target mean", 0, outs, ym)) ||
                    (s = rd_floats(&r, "target std", 1, outs, ys)))) ||
            (s = rd_done(&r))) {
            dsc_free(buf);
            return s;
        }
        s = dsc_model_set_standardization(m, hx ? xm : NULL, hx ? xs : NULL, hy ? ym : NULL,
                                          hy ? ys : NULL);
        dsc_free(buf);
        if (s) return s;
    }
    if (ch[C_SUMM].present) {
        r = chunk_reader(name, b, &ch[C_SUMM], C_SUMM);
        dsc_model_summary sm;
        if ((s = parse_summary(&r, &sm))) return s;
        dsc_model_set_summary(m, &sm);
        if (!dsc_model_get_summary(m))
            return dsc_fail(DSC_ENOMEM, "%s: out of memory for the summary", name);
    }
    return DSC_OK;
}

/* Walks the chunk headers and checks the checksum before any field is
 * interpreted, so a damaged file reads as damaged rather than as whatever
 * its flipped bits happen to say. */
static dsc_status scan_chunks(const char *name, const uint8_t *b, size_t size, chunk_ref *ch)
{
    size_t pos = HEADER_SIZE;
    size_t critical_at = 0, second_at = 0; /* reported after the CRC check */
    int second = 0;
    char critical[5] = "";
    for (;;) {
        if (pos == size)
            return dsc_fail(DSC_EFORMAT, "%s: truncated at byte %zu: the END chunk is missing",
                            name, pos);
        if (size - pos < CHUNK_HEAD)
            return dsc_fail(DSC_EFORMAT,
                            "%s: truncated in a chunk header at byte %zu (%zu of 8 bytes)", name,
                            pos, size - pos);
        char tag[5];
        tag_text(b + pos, tag);
        if (!valid_tag(b + pos))
            return dsc_fail(DSC_EFORMAT, "%s: byte %zu: '%s' is not a chunk tag", name, pos, tag);
        uint32_t len = get_u32(b + pos + 4);
        size_t left = size - pos - CHUNK_HEAD;
        if (len > left)
            return dsc_fail(DSC_EFORMAT,
                            "%s: truncated in chunk %s at byte %zu: it should hold %u bytes, "
                            "only %zu remain",
                            name, tag, pos, len, left);
        if (memcmp(b + pos, "END ", 4) == 0) {
            if (len != 4)
                return dsc_fail(DSC_EFORMAT, "%s: chunk END at byte %zu: %u bytes (4 expected)",
                                name, pos, len);
            uint32_t stored = get_u32(b + pos + CHUNK_HEAD);
            uint32_t actual = dsc_crc32(0, b, pos);
            if (stored != actual)
                return dsc_fail(DSC_EFORMAT,
                                "%s: corrupted: checksum mismatch (stored %08x, computed %08x)",
                                name, (unsigned)stored, (unsigned)actual);
            if (pos + CHUNK_HEAD + 4 != size)
                return dsc_fail(DSC_EFORMAT, "%s: %zu unexpected bytes after the END chunk", name,
                                size - pos - CHUNK_HEAD - 4);
            break;
        }
        int k = 0;
        while (k < C_KNOWN && memcmp(b + pos, known_tags[k], 4) != 0) k++;
        if (k < C_KNOWN) {
            if (ch[k].present && !second_at) second_at = pos, second = k;
            ch[k].present = 1;
            ch[k].at = pos;
            ch[k].len = len;
        } else if (b[pos] >= 'A' && b[pos] <= 'Z' && !critical[0]) {
            memcpy(critical, tag, sizeof tag);
            critical_at = pos;
        }
        pos += CHUNK_HEAD + len;
    }
    if (second_at)
        return dsc_fail(DSC_EFORMAT, "%s: byte %zu: a second %s chunk", name, second_at,
                        known_tags[second]);
    if (critical[0])
        return dsc_fail(DSC_EFORMAT,
                        "%s: chunk %s at byte %zu is not known to this descent (format %u): the "
                        "file needs a newer descent",
                        name, critical, critical_at, DSC_MODEL_FORMAT_VERSION);
    for (int k = C_ARCH; k <= C_PARM; k++)
        if (!ch[k].present)
            return dsc_fail(DSC_EFORMAT, "%s: the %s chunk is missing", name, known_tags[k]);
    return DSC_OK;
}

dsc_status dsc_model_load_memory(const char *name, const void *data, size_t size, dsc_model **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_model_load_memory: out is NULL");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!data && size) return dsc_fail(DSC_EINVAL, "dsc_model_load_memory: data is NULL");
    const uint8_t *b = data;
    if (size > DSC_MODEL_FILE_MAX)
        return dsc_fail(DSC_EFORMAT, "%s: %zu bytes is larger than any model file (at most %zu)",
                        name, size, DSC_MODEL_FILE_MAX);
    size_t head = size < sizeof magic ? size : sizeof magic;
    if (size == 0 || memcmp(b, magic, head) != 0)
        return dsc_fail(DSC_EFORMAT, "%s: not a descent model file%s", name,
                        size == 0 ? " (it is empty)" : "");
    if (size < HEADER_SIZE)
        return dsc_fail(DSC_EFORMAT, "%s: truncated in the header (%zu of %d bytes)", name, size,
                        (int)HEADER_SIZE);
    uint32_t version = get_u32(b + 8);
    if (version > DSC_MODEL_FORMAT_VERSION)
        return dsc_fail(DSC_EFORMAT,
                        "%s: format version %u is newer than this descent supports (%u)", name,
                        version, DSC_MODEL_FORMAT_VERSION);
    if (version == 0) return dsc_fail(DSC_EFORMAT, "%s: format version 0 is not valid", name);

    chunk_ref ch[C_KNOWN] = {{0}};
    dsc_status s = scan_chunks(name, b, size, ch);
    if (s) return s;

    arch a = {0};
    reader r = chunk_reader(name, b, &ch[C_ARCH], C_ARCH);
    if ((s = parse_arch(&r, &a))) return s;
    dsc_spec *layers = NULL; /* the LAYR chunk's network, when there is one */
    if (ch[C_LAYR].present && (s = parse_layers(name, b, &ch[C_LAYR], version, &a, &layers)))
        return s;
    /* The parameter count is compared with the PARM chunk's length before
     * the model is allocated: a corrupt architecture cannot ask for more
     * memory than the file itself holds. */
    if (ch[C_PARM].len < 8 || (ch[C_PARM].len - 8) / 4 != a.n_params ||
        (ch[C_PARM].len - 8) % 4 != 0) {
        dsc_free(layers);
        r = chunk_reader(name, b, &ch[C_PARM], C_PARM);
        return rd_fail_at(&r, r.pos,
                          "%zu bytes, but the architecture needs %llu parameters (%llu bytes)",
                          ch[C_PARM].len, (unsigned long long)a.n_params,
                          (unsigned long long)(8 + 4 * a.n_params));
    }

    char spec[MAX_LAYERS * 64 + 64];
    if (layers) {
        dsc_spec_format(layers, spec, sizeof spec);
        dsc_free(layers);
    } else {
        size_t len = (size_t)snprintf(spec, sizeof spec, "%zu", a.units[0]);
        for (size_t k = 0; k < a.n_layers; k++)
            len += (size_t)snprintf(spec + len, sizeof spec - len, " -> %zu:%s", a.units[k + 1],
                                    dsc_activation_name(a.act[k]));
    }
    dsc_model *m = NULL;
    if ((s = dsc_model_new(spec, &m))) return s;
    if ((s = fill_model(name, b, ch, &a, version, m))) {
        dsc_model_free(m);
        return s;
    }
    *out = m;
    return DSC_OK;
}

/* --- loading from a file --------------------------------------------------- */

/* Whether the bytes so far can still be a model file: the magic, then
 * chunk headers with valid tags, and nothing after the END chunk. Reading
 * stops at the first byte that says no (the parser then says what is
 * wrong), so /dev/zero or an endless pipe costs a few bytes, not a limit's
 * worth. */
static int could_be_model(const uint8_t *b, size_t n, size_t *next)
{
    size_t head = n < sizeof magic ? n : sizeof magic;
    if (memcmp(b, magic, head) != 0) return 0;
    while (*next + CHUNK_HEAD <= n) {
        if (!valid_tag(b + *next)) return 0;
        size_t end = *next + CHUNK_HEAD + get_u32(b + *next + 4);
        if (memcmp(b + *next, "END ", 4) == 0) return n <= end;
        *next = end;
    }
    return 1;
}

static dsc_status too_large(const char *path, uint64_t n, uint64_t limit)
{
    char lim[32];
    if (limit == DSC_MODEL_FILE_MAX)
        return dsc_fail(DSC_EFORMAT,
                        "%s: %llu bytes or more, larger than any model file (at most %s)", path,
                        (unsigned long long)n, dsc_bytes_text(lim, sizeof lim, limit));
    return dsc_fail(DSC_ELIMIT,
                    "%s: %llu bytes or more, larger than %s, the limit (max_bytes; descent "
                    "--max-bytes raises it)",
                    path, (unsigned long long)n, dsc_bytes_text(lim, sizeof lim, limit));
}

dsc_status dsc_model_file_read(const char *path, const dsc_limits *l, uint8_t **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    dsc_limits store;
    l = dsc_limits_or_default(l, &store);
    uint64_t limit =
        l->max_bytes && l->max_bytes < DSC_MODEL_FILE_MAX ? l->max_bytes : DSC_MODEL_FILE_MAX;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return dsc_fail(DSC_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, next = HEADER_SIZE;
    struct stat st;
    dsc_status s = DSC_OK;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
        s = dsc_fail(DSC_EIO, "%s: is a directory, not a model file", path);
    /* A regular file's size is a good first guess (pipes are read to their
     * end), and one past the limit is refused unread; the limit + 1 tells
     * "too large" from "exactly full". */
    if (!s && S_ISREG(st.st_mode) && st.st_size >= 0) {
        if ((uint64_t)st.st_size > limit) s = too_large(path, (uint64_t)st.st_size, limit);
        cap = (size_t)st.st_size + 1;
    }
    uint8_t *buf = NULL;
    while (!s) {
        if (n == cap || !buf) {
            size_t ncap = buf ? (cap > limit / 2 ? (size_t)limit + 1 : 2 * cap) : cap;
            uint8_t *nb = dsc_realloc(buf, ncap);
            if (!nb) {
                s = dsc_fail(DSC_ENOMEM, "%s: out of memory reading %zu bytes", path, ncap);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        /* Small pieces from a pipe, so a bad byte is seen early. */
        size_t want = cap - n < (1 << 16) ? cap - n : (1 << 16);
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (ferror(f)) {
            s = dsc_fail(DSC_EIO, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (n > limit) {
            s = too_large(path, n, limit);
            break;
        }
        if (got < want || !could_be_model(buf, n, &next)) break;
    }
    if (f != stdin) fclose(f);
    if (s) {
        dsc_free(buf);
        return s;
    }
    *bytes = buf;
    *size = n;
    return DSC_OK;
}

dsc_status dsc_model_load_limits(const char *path, const dsc_limits *l, dsc_model **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_model_load: out is NULL");
    *out = NULL;
    if (!path) return dsc_fail(DSC_EINVAL, "dsc_model_load: path is NULL");
    uint8_t *buf;
    size_t n;
    dsc_status s = dsc_model_file_read(path, l, &buf, &n);
    if (!s) s = dsc_model_load_memory(path, buf, n, out);
    dsc_free(buf);
    return s;
}

dsc_status dsc_model_load(const char *path, dsc_model **out)
{
    return dsc_model_load_limits(path, NULL, out);
}
