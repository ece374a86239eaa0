/* Reading a CSV file into a data set.
 *
 * Decisions (the header documents the contract; these are the details):
 *  - The text is read in chunks; a record is parsed only once the whole of
 *    it is in the buffer, so a record may span any number of reads and the
 *    buffer grows only for a record longer than the chunk.
 *  - Blank lines (empty or only spaces/tabs) are skipped anywhere, before
 *    the header too; they still count for line numbers in messages.
 *  - A field may be double-quoted ("" is a quote inside); spaces and tabs
 *    around a field are dropped, except inside the quotes. A quote that
 *    does not open a field is an ordinary character.
 *  - Columns are chosen by name, "quoted name" or #N (base/collist.c): a
 *    name is always a name, "2" included. Features come out in the order
 *    listed (file order without a list), targets likewise. The columns used
 *    (features and targets) must have names, all different.
 *  - A target column with a value that is not a number makes the column a
 *    class label; it must then be the only target. Its classes are the
 *    distinct texts in order of first appearance (numbers included, as
 *    written: "1" and "1.0" are two classes), y is one-hot over them and
 *    out_names[k] is the label of class k, as dsc_dataset_class_label(k).
 *  - A target of "" (empty) means no target at all: every column not
 *    ignored is a feature (or those listed), and the data set has no
 *    outputs. target_name holds the header names of the targets, joined
 *    with commas, however the options named them.
 *  - Values of columns that are neither features nor targets are not
 *    looked at; only the number of fields in each row is checked.
 *  - COLUMN in "FILE:LINE:COLUMN" is the 1-based field number; LINE is the
 *    physical line the field starts on.
 *  - Status codes: DSC_EIO to open/read, DSC_ENOTFOUND for a selected column
 *    that does not exist, DSC_EINVAL for contradictory options (a column
 *    chosen twice, no feature left), DSC_EFORMAT for the file's content.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"

/* While a lone target has only shown numbers it may still turn out to be a
 * class label, so the distinct texts seen so far are kept; past this many it
 * is taken to be a regression target for good. */
#define TRACK_MAX 1024
/* One output per class: more labels than this is not a classification. */
#define CLASS_MAX 65536

/* Zero bytes kept after the text in the read buffer. */
#define CSV_PAD 17

enum { ROLE_SKIP = 0, ROLE_FEATURE, ROLE_TARGET, ROLE_KEEP };

/* What is known about the target column(s). */
enum {
    T_NUMERIC = 0, /* numbers only, for good */
    T_TRACK,       /* a lone target, numbers so far, texts remembered */
    T_CLASS        /* a lone target with labels */
};

typedef struct {
    char **s;
    size_t *len;
    size_t n, cap;
    uint32_t *slot; /* open addressing: index + 1, 0 = empty */
    size_t nslot;
} label_set;

typedef struct {
    const char *s;
    size_t n;
    int quoted;
} field;

typedef struct {
    const char *name;
    FILE *fp;
    const char *mem;
    size_t mem_len, mem_pos;

    /* buf[pos, len) is unread text followed by CSV_PAD zero bytes, so
     * number parsing always stops inside the buffer and 8-byte loads near
     * the end stay in it. No '"' in buf[pos, quote_at). */
    char *buf;
    size_t cap, pos, len, quote_at;
    int eof;
    dsc_limits lim;             /* what the reader takes in at most */
    uint64_t total;             /* bytes read so far */
    size_t line;                /* line number of the record at pos */
    size_t rec_next, rec_lines; /* where the current record ends */
    char *scratch;              /* unescaped quoted fields */
    size_t scratch_cap;

    size_t ncols;
    char **cols;
    unsigned char *role;
    size_t *slot; /* position of a column in its x or y row */
    size_t *feat, n_feat;
    size_t *tgt, n_tgt;
    size_t *keep, n_keep; /* columns carried through as text */
    char *ktext;          /* their fields, each ended by '\0' */
    size_t klen, kcap;
    size_t *koff; /* n x n_keep offsets into ktext */

    size_t n, cap_rows;
    float *x, *y;
    size_t *row_line; /* the line each row starts on */
    dsc_target_kind kind;
    int tmode;
    label_set labels;
    uint32_t *row_label;
    /* A NaN/Inf in a lone target is fine if the column turns out to hold
     * labels; otherwise it is reported where it was first seen. */
    int has_bad, bad_kind;
    size_t bad_line, bad_col;
    char bad_text[64];
} csv_parser;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int is_num_start(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.';
}

/* A field's text fit for a message: cut to the buffer with "...", control
 * characters shown as '?'. */
static const char *show(char *dst, size_t size, const char *s, size_t n)
{
    size_t limit = size - 4, k = 0;
    for (; k < n && k < limit; k++) {
        unsigned char c = (unsigned char)s[k];
        dst[k] = c < 32 || c == 127 ? '?' : (char)c;
    }
    if (k < n) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
    return dst;
}

static const char *col_name(const csv_parser *P, size_t c)
{
    return P->cols && c < P->ncols ? P->cols[c] : "?";
}

static void labels_free(label_set *L)
{
    for (size_t i = 0; i < L->n; i++) dsc_free(L->s[i]);
    dsc_free(L->s);
    dsc_free(L->len);
    dsc_free(L->slot);
    memset(L, 0, sizeof *L);
}

static uint64_t hash_text(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static dsc_status labels_rehash(label_set *L, size_t nslot)
{
    uint32_t *slot = dsc_calloc(nslot, sizeof *slot);
    if (!slot) return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
    for (size_t i = 0; i < L->n; i++) {
        size_t h = (size_t)hash_text(L->s[i], L->len[i]) & (nslot - 1);
        while (slot[h]) h = (h + 1) & (nslot - 1);
        slot[h] = (uint32_t)(i + 1);
    }
    dsc_free(L->slot);
    L->slot = slot;
    L->nslot = nslot;
    return DSC_OK;
}

/* The index of text s in L, added if new; SIZE_MAX when it is new and L
 * already holds limit texts. */
static dsc_status labels_find(label_set *L, const char *s, size_t n, size_t limit, size_t *idx)
{
    dsc_status st;
    if (2 * (L->n + 1) > L->nslot && (st = labels_rehash(L, L->nslot ? 2 * L->nslot : 64)))
        return st;
    size_t h = (size_t)hash_text(s, n) & (L->nslot - 1);
    for (; L->slot[h]; h = (h + 1) & (L->nslot - 1)) {
        size_t i = L->slot[h] - 1;
        if (L->len[i] == n && memcmp(L->s[i], s, n) == 0) {
            *idx = i;
            return DSC_OK;
        }
    }
    if (L->n >= limit) {
        *idx = SIZE_MAX;
        return DSC_OK;
    }
    if (L->n == L->cap) {
        size_t cap = L->cap ? 2 * L->cap : 16;
        char **ns = dsc_realloc(L->s, cap * sizeof *ns);
        if (!ns) return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
        L->s = ns;
        size_t *nl = dsc_realloc(L->len, cap * sizeof *nl);
        if (!nl) return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
        L->len = nl;
        L->cap = cap;
    }
    char *copy = dsc_malloc(n + 1);
    if (!copy) return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
    memcpy(copy, s, n);
    copy[n] = '\0';
    L->s[L->n] = copy;
    L->len[L->n] = n;
    L->slot[h] = (uint32_t)(L->n + 1);
    *idx = L->n++;
    return DSC_OK;
}

static void parser_free(csv_parser *P)
{
    if (P->cols)
        for (size_t c = 0; c < P->ncols; c++) dsc_free(P->cols[c]);
    dsc_free(P->cols);
    dsc_free(P->role);
    dsc_free(P->slot);
    dsc_free(P->feat);
    dsc_free(P->tgt);
    dsc_free(P->keep);
    dsc_free(P->ktext);
    dsc_free(P->koff);
    dsc_free(P->buf);
    dsc_free(P->scratch);
    dsc_free(P->x);
    dsc_free(P->y);
    dsc_free(P->row_label);
    dsc_free(P->row_line);
    labels_free(&P->labels);
}

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

static void find_quote(csv_parser *P, size_t from)
{
    const char *q = memchr(P->buf + from, '"', P->len - from);
    P->quote_at = q ? (size_t)(q - P->buf) : P->len;
}

/* Moves the unread text to the front and appends what the source has,
 * growing the buffer when the unread text already fills it. */
static dsc_status record_limit(const csv_parser *P)
{
    char lim[32];
    return dsc_fail(DSC_ELIMIT,
                    "%s:%zu: a record longer than %s, the limit (max_line_bytes; descent "
                    "--max-line-bytes raises it); is it a CSV file with line ends?",
                    P->name, P->line, dsc_bytes_text(lim, sizeof lim, P->lim.max_line_bytes));
}

static dsc_status refill(csv_parser *P)
{
    if (P->pos > 0) {
        memmove(P->buf, P->buf + P->pos, P->len - P->pos);
        P->len -= P->pos;
        P->quote_at -= P->pos;
        P->pos = 0;
    }
    if (P->len == P->cap) {
        /* The record at pos fills the buffer: it is that long at least. */
        if (P->lim.max_line_bytes && P->len >= P->lim.max_line_bytes) return record_limit(P);
        if (P->cap > (SIZE_MAX - 1) / 2)
            return dsc_fail(DSC_ENOMEM, "%s:%zu: a record is too long", P->name, P->line);
        char *nb = dsc_realloc(P->buf, 2 * P->cap + CSV_PAD);
        if (!nb)
            return dsc_fail(DSC_ENOMEM, "%s:%zu: out of memory for a record of %zu bytes", P->name,
                            P->line, P->len);
        P->buf = nb;
        P->cap *= 2;
    }
    size_t want = P->cap - P->len, got;
    if (P->fp) {
        got = fread(P->buf + P->len, 1, want, P->fp);
        if (got < want) {
            if (ferror(P->fp)) {
                char msg[128];
                if (strerror_r(errno, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error");
                return dsc_fail(DSC_EIO, "%s: read error: %s", P->name, msg);
            }
            P->eof = feof(P->fp) != 0 || got == 0;
        }
    } else {
        got = P->mem_len - P->mem_pos < want ? P->mem_len - P->mem_pos : want;
        if (got) memcpy(P->buf + P->len, P->mem + P->mem_pos, got);
        P->mem_pos += got;
        P->eof = P->mem_pos == P->mem_len;
    }
    size_t old = P->len;
    P->len += got;
    P->total += got;
    memset(P->buf + P->len, 0, CSV_PAD);
    if (P->lim.max_bytes && P->total > P->lim.max_bytes) {
        char lim[32];
        return dsc_fail(DSC_ELIMIT,
                        "%s: more than %s of text, the limit (max_bytes; descent --max-bytes "
                        "raises it)",
                        P->name, dsc_bytes_text(lim, sizeof lim, P->lim.max_bytes));
    }
    if (P->quote_at == old) find_quote(P, old);
    return DSC_OK;
}

static size_t count_newlines(const char *s, const char *e)
{
    size_t k = 0;
    while (s < e && (s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
        k++;
        s++;
    }
    return k;
}

/* Finds the end of the record at pos, following the same quoting rules as
 * get_field. Returns 0 if the record may go on past the text read so far. */
static int find_record(csv_parser *P, size_t *end)
{
    const char *b = P->buf;
    size_t p = P->pos, len = P->len;
    const char *nl = memchr(b + p, '\n', len - p);
    size_t nlpos = nl ? (size_t)(nl - b) : len;
    if (nlpos < P->quote_at || (!nl && P->quote_at == len)) {
        if (!nl && !P->eof) return 0;
        *end = nlpos;
        P->rec_next = nl ? nlpos + 1 : len;
        P->rec_lines = 1;
        return 1;
    }
    size_t q = p, lines = 0;
    for (;;) {
        while (q < len && is_blank(b[q])) q++;
        if (q < len && b[q] == '"') {
            q++;
            for (;;) {
                const char *c = memchr(b + q, '"', len - q);
                if (!c) {
                    if (!P->eof) return 0;
                    /* Unterminated: the field reader reports it. */
                    *end = P->rec_next = len;
                    P->rec_lines = lines + 1;
                    return 1;
                }
                lines += count_newlines(b + q, c);
                q = (size_t)(c - b) + 1;
                if (q < len && b[q] == '"') {
                    q++;
                    continue;
                }
                if (q == len && !P->eof) return 0;
                break;
            }
        }
        while (q < len && b[q] != ',' && b[q] != '\n') q++;
        if (q == len) {
            if (!P->eof) return 0;
            *end = P->rec_next = len;
            P->rec_lines = lines + 1;
            return 1;
        }
        if (b[q] == ',') {
            q++;
            continue;
        }
        *end = q;
        P->rec_next = q + 1;
        P->rec_lines = lines + 1;
        return 1;
    }
}

/* The next record as [*rs, *re) without its line end; *got = 0 at the end
 * of the input. */
static dsc_status next_record(csv_parser *P, const char **rs, const char **re, int *got)
{
    dsc_status st;
    size_t end;
    for (;;) {
        if (P->pos == P->len && P->eof) {
            *got = 0;
            return DSC_OK;
        }
        if (P->pos < P->len && find_record(P, &end)) break;
        if ((st = refill(P))) return st;
    }
    if (P->lim.max_line_bytes && P->rec_next - P->pos > P->lim.max_line_bytes)
        return record_limit(P);
    if (end > P->pos && P->buf[end - 1] == '\r') end--;
    *rs = P->buf + P->pos;
    *re = P->buf + end;
    *got = 1;
    return DSC_OK;
}

static void advance(csv_parser *P)
{
    P->pos = P->rec_next;
    P->line += P->rec_lines;
    if (P->quote_at < P->pos) find_quote(P, P->pos);
}

static int is_blank_record(const char *s, const char *e)
{
    while (s < e && is_blank(*s)) s++;
    return s == e;
}

/* Reads the field at *pp up to the next ',' or re, where it leaves *pp.
 * line is the line the record starts on, *lines the newlines inside quotes
 * before this field (updated). */
static dsc_status get_field(csv_parser *P, const char **pp, const char *re, size_t line,
                            size_t *lines, size_t col, field *f)
{
    const char *p = *pp;
    while (p < re && is_blank(*p)) p++;
    if (p == re || *p != '"') {
        const char *e = memchr(p, ',', (size_t)(re - p));
        if (!e) e = re;
        const char *t = e;
        while (t > p && is_blank(t[-1])) t--;
        f->s = p;
        f->n = (size_t)(t - p);
        f->quoted = 0;
        *pp = e;
        return DSC_OK;
    }
    const char *s = p + 1, *q = s, *c;
    int escaped = 0;
    for (;;) {
        c = memchr(q, '"', (size_t)(re - q));
        if (!c)
            return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: unterminated quoted field (column '%s')",
                            P->name, line + *lines, col + 1, col_name(P, col));
        if (c + 1 < re && c[1] == '"') {
            escaped = 1;
            q = c + 2;
            continue;
        }
        break;
    }
    size_t start_line = line + *lines;
    *lines += count_newlines(s, c);
    const char *t = c + 1;
    while (t < re && is_blank(*t)) t++;
    if (t < re && *t != ',') {
        char shown[48];
        return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: '%s' after the closing quote (column '%s')",
                        P->name, start_line, col + 1, show(shown, sizeof shown, t, 1),
                        col_name(P, col));
    }
    *pp = t;
    f->quoted = 1;
    if (!escaped) {
        f->s = s;
        f->n = (size_t)(c - s);
        return DSC_OK;
    }
    size_t need = (size_t)(c - s) + 1;
    if (need > P->scratch_cap) {
        char *ns = dsc_realloc(P->scratch, need);
        if (!ns) return dsc_fail(DSC_ENOMEM, "%s:%zu: out of memory", P->name, start_line);
        P->scratch = ns;
        P->scratch_cap = need;
    }
    size_t k = 0;
    for (const char *r = s; r < c; r++) {
        P->scratch[k++] = *r;
        if (*r == '"') r++; /* the second quote of a "" pair */
    }
    P->scratch[k] = '\0';
    f->s = P->scratch;
    f->n = k;
    return DSC_OK;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                            */
/* ------------------------------------------------------------------ */

enum { NUM_OK = 0, NUM_EMPTY, NUM_NOT_A_NUMBER, NUM_NOT_FINITE, NUM_RANGE };

/* Reads the whole of s[0, n) as a number; s[n] must be readable and not
 * part of a number (a delimiter, a quote or the buffer's '\0'). */
static int read_number(const char *s, size_t n, float *out)
{
    while (n && is_blank(*s)) s++, n--;
    while (n && is_blank(s[n - 1])) n--;
    if (n == 0) return NUM_EMPTY;
    const char *body = s + (*s == '+' || *s == '-');
    int alpha = (*body | 0x20) >= 'a' && (*body | 0x20) <= 'z';
    /* Whitespace first would let strtod read past the field. */
    if (!is_num_start(*s) && !alpha) return NUM_NOT_A_NUMBER;
    const char *e;
    double v;
    if (dsc_parse_double(s, &e, &v) != 0 || e != s + n) return NUM_NOT_A_NUMBER;
    float f = (float)v;
    if (!isfinite(f)) return alpha || isnan(v) ? NUM_NOT_FINITE : NUM_RANGE;
    *out = f;
    return NUM_OK;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Most numbers in a CSV are [-]digits[.digits] with a few digits on each
 * side. Reading 8 characters at a time takes the per-character branches,
 * which mispredict on every number of a new length, out of that case;
 * anything else goes to dsc_parse_double. The result is the same: both
 * divide an exact integer by an exact power of ten. */
#define CSV_SWAR 1

static const double pow10_small[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
static const int64_t pow10_int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};

/* The number of leading decimal digits in the 8 characters of w. */
static inline unsigned digit_run(uint64_t w)
{
    /* Digits become 0..9; anything else is 10 or more and sets bit 7 of its
     * byte after adding 0x76. A carry only reaches bytes after a non-digit,
     * which do not matter. */
    uint64_t v = w ^ 0x3030303030303030ULL;
    uint64_t m = ((v + 0x7676767676767676ULL) | v) & 0x8080808080808080ULL;
    return m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
}

/* The value of the first n (1..7) digits of w. */
static inline uint64_t digits_value(uint64_t w, unsigned n)
{
    /* Shifting the digits to the top gives leading zeros; then pairs, fours
     * and eights of digits are combined with multiplications. */
    uint64_t v = (w - 0x3030303030303030ULL) << (8 * (8 - n));
    v = v * 10 + (v >> 8);
    return ((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)) +
            ((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >>
           32;
}

/* s must have 16 readable bytes after the number. Returns 0 if the text is
 * not of the simple form. */
static inline int simple_number(const char *s, const char **end, double *out)
{
    const char *p = s + (*s == '-');
    uint64_t w, ip = 0, fp = 0;
    memcpy(&w, p, 8);
    unsigned n1 = digit_run(w), n2 = 0;
    if (n1 == 8) return 0;
    if (n1) ip = digits_value(w, n1);
    p += n1;
    if (*p == '.') {
        memcpy(&w, p + 1, 8);
        n2 = digit_run(w);
        if (n2 == 8) return 0;
        if (n2) fp = digits_value(w, n2);
        p += 1 + n2;
    }
    if (n1 + n2 == 0 || (*p | 0x20) == 'e') return 0;
    /* At most 14 digits: exact in double, so one division rounds right. */
    double v = (double)((int64_t)ip * pow10_int[n2] + (int64_t)fp) / pow10_small[n2];
    *out = *s == '-' ? -v : v;
    *end = p;
    return 1;
}
#endif

static dsc_status number_error(const csv_parser *P, int kind, const field *f, size_t line,
                               size_t col)
{
    char shown[48];
    show(shown, sizeof shown, f->s, f->n);
    switch (kind) {
    case NUM_EMPTY:
        return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: empty field (column '%s')", P->name, line,
                        col + 1, col_name(P, col));
    case NUM_NOT_FINITE:
        return dsc_fail(DSC_EFORMAT,
                        "%s:%zu:%zu: '%s' is not a finite number (column '%s'); NaN and "
                        "Inf are not allowed",
                        P->name, line, col + 1, shown, col_name(P, col));
    case NUM_RANGE:
        return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: '%s' is out of range for float (column '%s')",
                        P->name, line, col + 1, shown, col_name(P, col));
    default:
        return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: '%s' is not a number (column '%s')", P->name,
                        line, col + 1, shown, col_name(P, col));
    }
}

/* ------------------------------------------------------------------ */
/* Targets                                                            */
/* ------------------------------------------------------------------ */

static dsc_status bad_target_error(const csv_parser *P)
{
    field f = {P->bad_text, strlen(P->bad_text), 0};
    return number_error(P, P->bad_kind, &f, P->bad_line, P->bad_col);
}

/* Remembers the text of the lone target in the current row. */
/* Text is kept as C strings: a NUL byte would silently cut it short. */
static dsc_status nul_error(const csv_parser *P, size_t line, size_t col, const char *what)
{
    return dsc_fail(DSC_EFORMAT,
                    "%s:%zu:%zu: a NUL byte in %s (column '%s'); text may not hold one", P->name,
                    line, col + 1, what, col_name(P, col));
}

static dsc_status note_label(csv_parser *P, const char *s, size_t n, size_t line, size_t col)
{
    size_t idx = 0;
    if (n && memchr(s, 0, n)) return nul_error(P, line, col, "a class label");
    dsc_status st =
        labels_find(&P->labels, s, n, P->tmode == T_CLASS ? CLASS_MAX : TRACK_MAX, &idx);
    if (st) return st;
    if (idx != SIZE_MAX) {
        P->row_label[P->n] = (uint32_t)idx;
        return DSC_OK;
    }
    if (P->tmode == T_CLASS)
        return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: more than %d distinct labels in column '%s'",
                        P->name, line, col + 1, CLASS_MAX, col_name(P, col));
    labels_free(&P->labels);
    dsc_free(P->row_label);
    P->row_label = NULL;
    P->tmode = T_NUMERIC;
    return P->has_bad ? bad_target_error(P) : DSC_OK;
}

/* A target value that is not a plain number. */
static dsc_status target_text(csv_parser *P, int kind, const field *f, size_t line, size_t col)
{
    dsc_status st;
    if (kind == NUM_EMPTY) return number_error(P, kind, f, line, col);
    if (P->tmode == T_CLASS) return note_label(P, f->s, f->n, line, col);
    if (P->tmode == T_NUMERIC) {
        dsc_status e = number_error(P, kind, f, line, col);
        if (kind != NUM_NOT_A_NUMBER || P->kind == DSC_TARGET_VALUES) return e;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", dsc_last_error());
        if (P->n_tgt > 1)
            return dsc_fail(e, "%s; a class-label target must be the only target", msg);
        return dsc_fail(e, "%s; a column with more than %d distinct numbers is not a class label",
                        msg, TRACK_MAX);
    }
    if (kind == NUM_NOT_A_NUMBER) {
        P->tmode = T_CLASS;
        return note_label(P, f->s, f->n, line, col);
    }
    if (!P->has_bad) {
        P->has_bad = 1;
        P->bad_kind = kind;
        P->bad_line = line;
        P->bad_col = col;
        show(P->bad_text, sizeof P->bad_text, f->s, f->n);
    }
    if ((st = note_label(P, f->s, f->n, line, col))) return st;
    return P->tmode == T_NUMERIC ? bad_target_error(P) : DSC_OK;
}

/* ------------------------------------------------------------------ */
/* Rows                                                               */
/* ------------------------------------------------------------------ */

static dsc_status field_count_error(csv_parser *P, const char *p, const char *re, size_t line,
                                    size_t lines, size_t got, size_t col)
{
    dsc_status st;
    /* Count the rest so the message says how many there are. */
    while (p < re) {
        field f;
        p++;
        if ((st = get_field(P, &p, re, line, &lines, got, &f))) return st;
        got++;
    }
    return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: expected %zu fields, got %zu", P->name, line + lines,
                    col + 1, P->ncols, got);
}

/* The text of kept column c in the current row. */
static dsc_status keep_text(csv_parser *P, size_t c, const field *f)
{
    if (f->n >= P->kcap - P->klen) {
        size_t cap = P->kcap ? P->kcap : 4096;
        while (cap - P->klen <= f->n) {
            if (cap > SIZE_MAX / 2) return dsc_fail(DSC_ENOMEM, "%s: kept text too large", P->name);
            cap *= 2;
        }
        char *t = dsc_realloc(P->ktext, cap);
        if (!t) return dsc_fail(DSC_ENOMEM, "%s: out of memory for kept columns", P->name);
        P->ktext = t;
        P->kcap = cap;
    }
    memcpy(P->ktext + P->klen, f->s, f->n);
    P->ktext[P->klen + f->n] = '\0';
    P->koff[P->n * P->n_keep + P->slot[c]] = P->klen;
    P->klen += f->n + 1;
    return DSC_OK;
}

static dsc_status parse_row(csv_parser *P, const char *p, const char *re, size_t line)
{
    float *xr = P->x + P->n * P->n_feat, *yr = P->y + P->n * P->n_tgt;
    const unsigned char *roles = P->role;
    const size_t *slot = P->slot, ncols = P->ncols;
    size_t lines = 0;
    dsc_status st;
    for (size_t c = 0;; c++) {
        if (c == ncols) return field_count_error(P, p - 1, re, line, lines, c, c);
        int role = roles[c];
        field f;
        if (role == ROLE_SKIP) {
            if ((st = get_field(P, &p, re, line, &lines, c, &f))) return st;
        } else if (role == ROLE_KEEP) {
            if ((st = get_field(P, &p, re, line, &lines, c, &f))) return st;
            if (f.n && memchr(f.s, 0, f.n)) return nul_error(P, line + lines, c, "a kept value");
            if ((st = keep_text(P, c, &f))) return st;
        } else {
            /* The common case, read straight from the buffer: the character
             * after the field (',', '\r', '\n' or the final '\0') ends the
             * number. */
            const char *q = p, *e = NULL;
            double v = 0;
            int ok = 0;
            while (q < re && is_blank(*q)) q++;
            if (q < re && is_num_start(*q)) {
#ifdef CSV_SWAR
                ok = simple_number(q, &e, &v);
#endif
                if (!ok) {
                    /* Separate variables keep v and e out of memory on the
                     * path above. */
                    const char *e2;
                    double v2;
                    if (dsc_parse_double(q, &e2, &v2) == 0 && e2 <= re && isfinite((float)v2)) {
                        ok = 1;
                        e = e2;
                        v = v2;
                    }
                }
            }
            if (ok) {
                const char *t = e;
                while (t < re && is_blank(*t)) t++;
                if (t == re || *t == ',') {
                    if (role == ROLE_FEATURE) {
                        xr[slot[c]] = (float)v;
                    } else {
                        yr[slot[c]] = (float)v;
                        if (P->tmode != T_NUMERIC &&
                            (st = note_label(P, q, (size_t)(e - q), line + lines, c)))
                            return st;
                    }
                    p = t;
                    goto next;
                }
            }
            size_t at = line + lines; /* where the field starts */
            if ((st = get_field(P, &p, re, line, &lines, c, &f))) return st;
            float val = 0;
            int kind = read_number(f.s, f.n, &val);
            if (role == ROLE_FEATURE) {
                if (kind != NUM_OK) return number_error(P, kind, &f, at, c);
                xr[slot[c]] = val;
            } else if (kind == NUM_OK) {
                yr[slot[c]] = val;
                if (P->tmode != T_NUMERIC) {
                    /* Quoted or padded text: the label is the text inside. */
                    const char *s = f.s;
                    size_t n = f.n;
                    if (!f.quoted) {
                        while (n && is_blank(*s)) s++, n--;
                    }
                    if ((st = note_label(P, s, n, at, c))) return st;
                }
            } else if ((st = target_text(P, kind, &f, at, c))) {
                return st;
            }
        }
    next:
        if (p == re) {
            if (c + 1 != P->ncols)
                return dsc_fail(DSC_EFORMAT, "%s:%zu:%zu: expected %zu fields, got %zu", P->name,
                                line + lines, c + 2, P->ncols, c + 1);
            return DSC_OK;
        }
        p++;
    }
}

static dsc_status grow_rows(csv_parser *P)
{
    size_t cap = P->cap_rows ? 2 * P->cap_rows : 256;
    size_t width = P->n_feat > P->n_tgt ? P->n_feat : P->n_tgt;
    if (cap > SIZE_MAX / sizeof(float) / width ||
        (P->n_keep && cap > SIZE_MAX / sizeof(size_t) / P->n_keep))
        return dsc_fail(DSC_ENOMEM, "%s:%zu: too many rows", P->name, P->line);
    float *x = dsc_realloc(P->x, cap * P->n_feat * sizeof *x);
    if (!x) goto oom;
    P->x = x;
    float *y = dsc_realloc(P->y, cap * P->n_tgt * sizeof *y);
    if (!y) goto oom;
    P->y = y;
    size_t *rl = dsc_realloc(P->row_line, cap * sizeof *rl);
    if (!rl) goto oom;
    P->row_line = rl;
    if (P->n_keep) {
        size_t *ko = dsc_realloc(P->koff, cap * P->n_keep * sizeof *ko);
        if (!ko) goto oom;
        P->koff = ko;
    }
    if (P->tmode != T_NUMERIC) {
        uint32_t *r = dsc_realloc(P->row_label, cap * sizeof *r);
        if (!r) goto oom;
        P->row_label = r;
    }
    P->cap_rows = cap;
    return DSC_OK;
oom:
    return dsc_fail(DSC_ENOMEM, "%s:%zu: out of memory after %zu rows", P->name, P->line, P->n);
}

/* ------------------------------------------------------------------ */
/* Header and column selection                                        */
/* ------------------------------------------------------------------ */

static dsc_status parse_header(csv_parser *P, const char *p, const char *re)
{
    size_t cap = 0, lines = 0;
    dsc_status st;
    for (;;) {
        field f;
        if ((st = get_field(P, &p, re, P->line, &lines, P->ncols, &f))) return st;
        if (P->ncols == cap) {
            cap = cap ? 2 * cap : 16;
            char **nc = dsc_realloc(P->cols, cap * sizeof *nc);
            if (!nc) return dsc_fail(DSC_ENOMEM, "%s: out of memory for the header", P->name);
            P->cols = nc;
        }
        if (f.n && memchr(f.s, 0, f.n))
            return dsc_fail(DSC_EFORMAT,
                            "%s:%zu:%zu: a NUL byte in the name of column %zu; names may not "
                            "hold one",
                            P->name, P->line + lines, P->ncols + 1, P->ncols + 1);
        char *name = dsc_malloc(f.n + 1);
        if (!name) return dsc_fail(DSC_ENOMEM, "%s: out of memory for the header", P->name);
        memcpy(name, f.s, f.n);
        name[f.n] = '\0';
        P->cols[P->ncols++] = name;
        if (p == re) return DSC_OK;
        p++;
    }
}

/* "a, b, c" (at most 256 characters) for messages. */
static const char *column_list(const csv_parser *P, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < P->ncols; c++) {
        int n = snprintf(buf + k, size - k, "%s'%s'", c ? ", " : "", P->cols[c]);
        if (n < 0 || (size_t)n >= size - k) {
            memcpy(buf + (k < size - 4 ? k : size - 4), "...", 4);
            break;
        }
        k += (size_t)n;
    }
    return buf;
}

/* The column whose header is exactly a[0, len). */
static dsc_status find_named(const csv_parser *P, const char *a, size_t len, const char *what,
                             size_t header_line, size_t *col)
{
    char shown[48];
    size_t c = SIZE_MAX;
    show(shown, sizeof shown, a, len);
    for (size_t k = 0; k < P->ncols; k++) {
        if (strlen(P->cols[k]) != len || memcmp(P->cols[k], a, len) != 0) continue;
        if (c != SIZE_MAX)
            return dsc_fail(DSC_EINVAL,
                            "%s:%zu: %s column '%s' is ambiguous: columns %zu and %zu "
                            "have that name; choose one by position (#%zu)",
                            P->name, header_line, what, shown, c + 1, k + 1, c + 1);
        c = k;
    }
    if (c == SIZE_MAX) {
        char names[256], hint[96] = "";
        /* Names are names: "2" is the column named 2. Say how to write the
         * second column, which is what a number used to mean. */
        if (len && len < 10 && strspn(a, "0123456789") >= len && strspn(a, "0") < len)
            snprintf(hint, sizeof hint, "; to choose a column by position write #%.*s", (int)len,
                     a);
        return dsc_fail(DSC_ENOTFOUND, "%s:%zu: %s column '%s' not found (columns: %s)%s", P->name,
                        header_line, what, shown, column_list(P, names, sizeof names), hint);
    }
    *col = c;
    return DSC_OK;
}

/* Turns the column list (descent.h: names, "quoted names", #N) or, with
 * names, those n exact names into column indexes, marking each with role;
 * *chosen records which list took a column, to catch repeats. */
static dsc_status select_columns(csv_parser *P, const char *list, const char *const *names,
                                 size_t n_names, const char *what, int role, const char **chosen,
                                 size_t **out, size_t *n_out, size_t header_line)
{
    dsc_col_item *items = NULL;
    size_t items_n = n_names;
    dsc_status st;
    *out = NULL;
    *n_out = 0;
    if (!names && (st = dsc_col_list_parse(list, what, &items, &items_n))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", dsc_last_error());
        return dsc_fail(st, "%s:%zu: %s", P->name, header_line, msg);
    }
    size_t *cols = dsc_malloc((items_n ? items_n : 1) * sizeof *cols);
    if (!cols) {
        dsc_col_list_free(items, items_n);
        return dsc_fail(DSC_ENOMEM, "out of memory");
    }
    *out = cols;
    st = DSC_OK;
    for (size_t item = 0; item < items_n && !st; item++) {
        size_t c = SIZE_MAX;
        const char *name = names ? names[item] : items[item].name;
        if (name) {
            st = find_named(P, name, strlen(name), what, header_line, &c);
        } else if (items[item].index > P->ncols) {
            st = dsc_fail(DSC_ENOTFOUND,
                          "%s:%zu: %s column #%zu is out of range (columns are #1 to #%zu)",
                          P->name, header_line, what, items[item].index, P->ncols);
        } else {
            c = items[item].index - 1;
        }
        if (st) break;
        if (chosen[c]) {
            st = dsc_fail(DSC_EINVAL, "%s:%zu: column %zu ('%s') is chosen as %s and as %s",
                          P->name, header_line, c + 1, P->cols[c], chosen[c], what);
            break;
        }
        chosen[c] = what;
        P->role[c] = (unsigned char)role;
        P->slot[c] = *n_out;
        cols[(*n_out)++] = c;
    }
    dsc_col_list_free(items, items_n);
    return st;
}

typedef struct {
    const char *name;
    size_t col;
} named_col;

static int by_name(const void *a, const void *b)
{
    const named_col *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->col > y->col) - (x->col < y->col);
}

/* The features and targets must have names, each naming one column of
 * the header only: a model keeps them and reads new data by them, so a
 * name that is not unique here could not be read back from this very file
 * (and an empty name could not be asked for at all). */
static dsc_status check_used_names(csv_parser *P, size_t header_line)
{
    size_t n = P->ncols;
    for (size_t c = 0; c < n; c++)
        if ((P->role[c] == ROLE_FEATURE || P->role[c] == ROLE_TARGET) && !P->cols[c][0])
            return dsc_fail(DSC_EFORMAT,
                            "%s:%zu:%zu: column %zu has no name, and a column used as a %s needs "
                            "one (leave it out with --ignore '#%zu', or name it)",
                            P->name, header_line, c + 1, c + 1,
                            P->role[c] == ROLE_FEATURE ? "feature" : "target", c + 1);
    named_col *all = dsc_malloc((n ? n : 1) * sizeof *all);
    if (!all) return dsc_fail(DSC_ENOMEM, "out of memory");
    for (size_t c = 0; c < n; c++) all[c].col = c, all[c].name = P->cols[c];
    qsort(all, n, sizeof *all, by_name);
    dsc_status st = DSC_OK;
    for (size_t k = 0; k < n && !st;) {
        size_t end = k + 1, used = SIZE_MAX;
        while (end < n && strcmp(all[end].name, all[k].name) == 0) end++;
        for (size_t j = k; j < end && used == SIZE_MAX; j++) {
            int role = P->role[all[j].col];
            if (role == ROLE_FEATURE || role == ROLE_TARGET) used = all[j].col;
        }
        if (end - k > 1 && used != SIZE_MAX) {
            /* all[k] and all[k + 1] are the first two of the name, in order. */
            char shown[48];
            show(shown, sizeof shown, all[k].name, strlen(all[k].name));
            st = dsc_fail(DSC_EFORMAT,
                          "%s:%zu:%zu: columns %zu and %zu are both named '%s', and a column used "
                          "is read by its name, which must name one column: rename one",
                          P->name, header_line, all[k + 1].col + 1, all[k].col + 1,
                          all[k + 1].col + 1, shown);
        }
        k = end;
    }
    dsc_free(all);
    return st;
}

static dsc_status choose_columns(csv_parser *P, const dsc_csv_options *o, const dsc_csv_names *nm,
                                 size_t header_line)
{
    dsc_status st = DSC_OK;
    size_t nc = P->ncols;
    const char **chosen = dsc_calloc(nc, sizeof *chosen);
    P->role = dsc_calloc(nc, 1);
    P->slot = dsc_calloc(nc, sizeof *P->slot);
    if (!chosen || !P->role || !P->slot) {
        st = dsc_fail(DSC_ENOMEM, "out of memory");
        goto done;
    }
    if (o->target && !o->target[0]) {
        /* No target: data to predict from. */
        P->n_tgt = 0;
    } else if (o->target || (nm && nm->targets)) {
        if ((st = select_columns(P, o->target, o->target ? NULL : nm->targets,
                                 o->target ? 0 : nm->n_targets, "target", ROLE_TARGET, chosen,
                                 &P->tgt, &P->n_tgt, header_line)))
            goto done;
    } else {
        P->tgt = dsc_malloc(sizeof *P->tgt);
        if (!P->tgt) {
            st = dsc_fail(DSC_ENOMEM, "out of memory");
            goto done;
        }
        P->tgt[0] = nc - 1;
        P->n_tgt = 1;
        P->role[nc - 1] = ROLE_TARGET;
        chosen[nc - 1] = "target";
    }
    size_t *ign = NULL, n_ign = 0;
    if (o->ignore) {
        st = select_columns(P, o->ignore, NULL, 0, "ignore", ROLE_SKIP, chosen, &ign, &n_ign,
                            header_line);
        dsc_free(ign);
        if (st) goto done;
    }
    if (o->keep && (st = select_columns(P, o->keep, NULL, 0, "keep", ROLE_KEEP, chosen, &P->keep,
                                        &P->n_keep, header_line)))
        goto done;
    if (o->features || (nm && nm->features)) {
        if ((st = select_columns(P, o->features, o->features ? NULL : nm->features,
                                 o->features ? 0 : nm->n_features, "features", ROLE_FEATURE, chosen,
                                 &P->feat, &P->n_feat, header_line)))
            goto done;
    } else {
        P->feat = dsc_malloc(nc * sizeof *P->feat);
        if (!P->feat) {
            st = dsc_fail(DSC_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t c = 0; c < nc; c++) {
            if (chosen[c]) continue;
            P->role[c] = ROLE_FEATURE;
            P->slot[c] = P->n_feat;
            P->feat[P->n_feat++] = c;
        }
    }
    if (P->n_feat == 0) {
        st = dsc_fail(DSC_EINVAL, "%s:%zu: no feature columns left (%zu columns, %zu target%s)",
                      P->name, header_line, nc, P->n_tgt, P->n_tgt == 1 ? "" : "s");
        goto done;
    }
    P->kind = o->target_kind;
    if ((unsigned)P->kind > DSC_TARGET_CLASSES) {
        st = dsc_fail(DSC_EINVAL, "unknown target kind %d", (int)P->kind);
        goto done;
    }
    if (P->kind == DSC_TARGET_CLASSES && P->n_tgt > 1) {
        st =
            dsc_fail(DSC_EINVAL, "%s:%zu: class labels need exactly one target column (%zu chosen)",
                     P->name, header_line, P->n_tgt);
        goto done;
    }
    P->tmode = P->kind == DSC_TARGET_CLASSES && P->n_tgt == 1 ? T_CLASS
               : P->kind == DSC_TARGET_AUTO && P->n_tgt == 1  ? T_TRACK
                                                              : T_NUMERIC;
    st = check_used_names(P, header_line);
done:
    dsc_free(chosen);
    return st;
}

/* ------------------------------------------------------------------ */
/* The data set                                                       */
/* ------------------------------------------------------------------ */

static char **copy_names(char *const *src, const size_t *idx, size_t n)
{
    char **names = dsc_calloc(n, sizeof *names);
    if (!names) return NULL;
    for (size_t j = 0; j < n; j++) {
        names[j] = dsc_strdup(src[idx ? idx[j] : j]);
        if (!names[j]) {
            for (size_t k = 0; k < j; k++) dsc_free(names[k]);
            dsc_free(names);
            return NULL;
        }
    }
    return names;
}

/* The chosen target columns by their header names, whatever the options
 * called them (an index, or nothing for the last column), so a model can
 * record what it predicts. */
static char *target_names(const csv_parser *P)
{
    /* One target: its name as it is, commas and all. Several: a column
     * list, names quoted where they need it, which reads back exactly. */
    if (P->n_tgt == 1) return dsc_strdup(P->cols[P->tgt[0]]);
    const char **names = dsc_malloc(P->n_tgt * sizeof *names);
    if (!names) return NULL;
    for (size_t j = 0; j < P->n_tgt; j++) names[j] = P->cols[P->tgt[j]];
    char *s = dsc_col_list_join(names, P->n_tgt);
    dsc_free(names);
    return s;
}

typedef struct {
    double v;
    uint32_t k;
} class_value;

static int by_value(const void *a, const void *b)
{
    const class_value *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

/* When every label is a number, the classes in order of value instead of
 * first appearance (labels 0..9 become classes 0..9, as IDX labels are). */
static dsc_status sort_numeric_labels(csv_parser *P)
{
    label_set *L = &P->labels;
    class_value *cv = dsc_malloc(L->n * sizeof *cv);
    if (!cv) return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
    for (size_t k = 0; k < L->n; k++) {
        float f;
        /* Each label's bytes are followed by its terminating zero. */
        if (read_number(L->s[k], L->len[k], &f) != NUM_OK) {
            dsc_free(cv);
            return DSC_OK;
        }
        /* Ordered in double: "0.1" and "0.10000001" are two classes. */
        const char *t = L->s[k], *e;
        while (is_blank(*t)) t++;
        if (dsc_parse_double(t, &e, &cv[k].v) != 0) cv[k].v = f;
        cv[k].k = (uint32_t)k;
    }
    qsort(cv, L->n, sizeof *cv, by_value);
    uint32_t *rank = dsc_malloc(L->n * sizeof *rank);
    char **s = dsc_malloc(L->n * sizeof *s);
    size_t *len = dsc_malloc(L->n * sizeof *len);
    if (!rank || !s || !len) {
        dsc_free(cv), dsc_free(rank), dsc_free(s), dsc_free(len);
        return dsc_fail(DSC_ENOMEM, "out of memory for class labels");
    }
    for (size_t r = 0; r < L->n; r++) {
        rank[cv[r].k] = (uint32_t)r;
        s[r] = L->s[cv[r].k];
        len[r] = L->len[cv[r].k];
    }
    memcpy(L->s, s, L->n * sizeof *s);
    memcpy(L->len, len, L->n * sizeof *len);
    for (size_t i = 0; i < P->n; i++) P->row_label[i] = rank[P->row_label[i]];
    /* The hash slots point at the old order; nothing looks labels up now. */
    dsc_free(L->slot);
    L->slot = NULL;
    L->nslot = 0;
    dsc_free(cv), dsc_free(rank), dsc_free(s), dsc_free(len);
    return DSC_OK;
}

static dsc_status build(csv_parser *P, dsc_dataset **out)
{
    dsc_dataset *d = dsc_calloc(1, sizeof *d);
    if (!d) return dsc_fail(DSC_ENOMEM, "out of memory for a data set");
    size_t n = P->n;
    d->n = n;
    d->n_in = P->n_feat;
    d->x8_div = d->input_div = 1.0f;
    /* Giving back the spare rows; a failed shrink keeps the larger block. */
    float *x = dsc_realloc(P->x, n * P->n_feat * sizeof *x);
    d->x = x ? x : P->x;
    P->x = NULL;
    if (P->tmode == T_CLASS) {
        dsc_status st = sort_numeric_labels(P);
        if (st) {
            dsc_dataset_free(d);
            return st;
        }
        size_t k = P->labels.n;
        d->n_out = k;
        if (n > SIZE_MAX / sizeof(float) / k) goto oom;
        d->y = dsc_calloc(n * k, sizeof(float));
        if (!d->y) goto oom;
        for (size_t i = 0; i < n; i++) d->y[i * k + P->row_label[i]] = 1.0f;
        d->out_names = copy_names(P->labels.s, NULL, k);
        if (!d->out_names) goto oom;
        /* The set's strings move to the data set. */
        d->classes = P->labels.s;
        d->n_classes = k;
        P->labels.s = NULL;
        P->labels.n = 0;
    } else {
        d->n_out = P->n_tgt;
        float *y = dsc_realloc(P->y, n * P->n_tgt * sizeof *y);
        d->y = y ? y : P->y;
        P->y = NULL;
        if (P->n_tgt) {
            d->out_names = copy_names(P->cols, P->tgt, P->n_tgt);
            if (!d->out_names) goto oom;
        }
    }
    if (P->n_tgt && !(d->target_name = target_names(P))) goto oom;
    d->in_names = copy_names(P->cols, P->feat, P->n_feat);
    if (!d->in_names) goto oom;
    if (!(d->source = dsc_strdup(P->name))) goto oom;
    d->row_line = P->row_line;
    P->row_line = NULL;
    if (n < P->cap_rows) {
        size_t *rl = dsc_realloc(d->row_line, n * sizeof *rl);
        if (rl) d->row_line = rl;
    }
    if (P->n_keep) {
        if (!(d->kept_names = copy_names(P->cols, P->keep, P->n_keep))) goto oom;
        d->n_kept = P->n_keep;
        d->kept_text = P->ktext;
        d->kept_off = P->koff;
        P->ktext = NULL;
        P->koff = NULL;
    }
    if (P->n_tgt) {
        if (!(d->tcol = dsc_malloc(P->n_tgt * sizeof *d->tcol))) goto oom;
        for (size_t j = 0; j < P->n_tgt; j++) d->tcol[j] = P->tgt[j] + 1;
        d->n_tcol = P->n_tgt;
    }
    *out = d;
    return DSC_OK;
oom:
    dsc_dataset_free(d);
    return dsc_fail(DSC_ENOMEM, "%s: out of memory for %zu rows", P->name, n);
}

static dsc_status run(csv_parser *P, const dsc_csv_options *o, const dsc_csv_names *nm,
                      size_t chunk, dsc_dataset **out)
{
    dsc_csv_options defaults;
    if (!o) {
        dsc_csv_options_init(&defaults);
        o = &defaults;
    }
    dsc_status st;
    P->lim = o->limits;
    P->cap = chunk ? chunk : DSC_CSV_CHUNK;
    P->buf = dsc_malloc(P->cap + CSV_PAD);
    if (!P->buf) return dsc_fail(DSC_ENOMEM, "out of memory for a read buffer");
    P->buf[0] = '\0';
    P->line = 1;
    while (P->len < 3 && !P->eof)
        if ((st = refill(P))) return st;
    if (P->len >= 3 && memcmp(P->buf, "\xEF\xBB\xBF", 3) == 0) P->pos = 3;
    if (P->quote_at < P->pos) find_quote(P, P->pos);

    const char *rs, *re;
    int got;
    for (;;) {
        if ((st = next_record(P, &rs, &re, &got))) return st;
        if (!got)
            return dsc_fail(DSC_EFORMAT, "%s:%zu:1: the file is empty (no header row)", P->name,
                            P->line);
        if (!is_blank_record(rs, re)) break;
        advance(P);
    }
    size_t header_line = P->line;
    if ((st = parse_header(P, rs, re))) return st;
    advance(P);
    if ((st = choose_columns(P, o, nm, header_line))) return st;

    for (;;) {
        if ((st = next_record(P, &rs, &re, &got))) return st;
        if (!got) break;
        if (!is_blank_record(rs, re)) {
            if (P->lim.max_rows && P->n >= P->lim.max_rows)
                return dsc_fail(DSC_ELIMIT,
                                "%s:%zu: more than %llu rows, the limit (max_rows; descent "
                                "--max-rows raises it)",
                                P->name, P->line, (unsigned long long)P->lim.max_rows);
            if (P->n == P->cap_rows && (st = grow_rows(P))) return st;
            P->row_line[P->n] = P->line;
            if ((st = parse_row(P, rs, re, P->line))) return st;
            P->n++;
        }
        advance(P);
    }
    if (P->n == 0)
        return dsc_fail(DSC_EFORMAT, "%s:%zu:1: no data rows after the header (line %zu)", P->name,
                        P->line, header_line);
    if (P->tmode != T_CLASS && P->has_bad) return bad_target_error(P);
    return build(P, out);
}

/* ------------------------------------------------------------------ */
/* Public functions                                                   */
/* ------------------------------------------------------------------ */

void dsc_csv_options_init(dsc_csv_options *o)
{
    if (!o) return;
    o->target = NULL;
    o->ignore = NULL;
    o->features = NULL;
    o->target_kind = DSC_TARGET_AUTO;
    o->keep = NULL;
    dsc_limits_init(&o->limits);
}

dsc_status dsc_csv_parse_memory(const char *name, const char *buf, size_t n, size_t chunk,
                                const dsc_csv_options *o, dsc_dataset **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_csv_parse_memory: out is NULL");
    *out = NULL;
    if (!buf && n) return dsc_fail(DSC_EINVAL, "dsc_csv_parse_memory: buf is NULL");
    csv_parser P;
    memset(&P, 0, sizeof P);
    P.name = name ? name : "<memory>";
    P.mem = buf;
    P.mem_len = n;
    dsc_status st = run(&P, o, NULL, chunk, out);
    parser_free(&P);
    return st;
}

dsc_status dsc_dataset_from_csv(const char *path, const dsc_csv_options *o, dsc_dataset **out)
{
    return dsc_csv_read(path, o, NULL, out);
}

dsc_status dsc_csv_read(const char *path, const dsc_csv_options *o, const dsc_csv_names *names,
                        dsc_dataset **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_dataset_from_csv: out is NULL");
    *out = NULL;
    if (!path) return dsc_fail(DSC_EINVAL, "dsc_dataset_from_csv: path is NULL");
    csv_parser P;
    memset(&P, 0, sizeof P);
    if (strcmp(path, "-") == 0) {
        P.name = "<stdin>";
        P.fp = stdin;
    } else {
        P.name = path;
        P.fp = fopen(path, "rb");
        if (!P.fp) {
            char msg[128];
            if (strerror_r(errno, msg, sizeof msg) != 0) snprintf(msg, sizeof msg, "error");
            return dsc_fail(DSC_EIO, "%s: cannot open: %s", path, msg);
        }
        struct stat st;
        if (fstat(fileno(P.fp), &st) == 0 && S_ISDIR(st.st_mode)) {
            fclose(P.fp);
            return dsc_fail(DSC_EIO, "%s: is a directory, not a CSV file", path);
        }
    }
    dsc_status st = run(&P, o, names, 0, out);
    if (P.fp != stdin) fclose(P.fp);
    parser_free(&P);
    return st;
}

const char *dsc_dataset_input_name(const dsc_dataset *d, size_t j)
{
    return d && d->in_names && j < d->n_in ? d->in_names[j] : NULL;
}

const char *dsc_dataset_output_name(const dsc_dataset *d, size_t j)
{
    return d && d->out_names && j < d->n_out ? d->out_names[j] : NULL;
}

size_t dsc_dataset_classes(const dsc_dataset *d) { return d ? d->n_classes : 0; }

const char *dsc_dataset_class_label(const dsc_dataset *d, size_t k)
{
    return d && d->classes && k < d->n_classes ? d->classes[k] : NULL;
}

size_t dsc_dataset_kept_columns(const dsc_dataset *d) { return d ? d->n_kept : 0; }

const char *dsc_dataset_kept_name(const dsc_dataset *d, size_t j)
{
    return d && j < d->n_kept ? d->kept_names[j] : NULL;
}

const char *dsc_dataset_kept_value(const dsc_dataset *d, size_t i, size_t j)
{
    return d && j < d->n_kept && i < d->n ? d->kept_text + d->kept_off[i * d->n_kept + j] : NULL;
}
