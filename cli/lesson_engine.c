/* The lesson engine's requests, JSON text and run cache (lesson_engine.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/json.h"
#include "lesson_internal.h"

/* ------------------------------------------------------------------ */
/* Requests                                                           */
/* ------------------------------------------------------------------ */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static dsc_status parse(const char *text, lesson_req *r)
{
    memset(r, 0, sizeof *r);
    r->at = -1;
    const char *p = text;
    size_t k = strcspn(p, " ");
    if (k == 0 || k >= sizeof r->kind) return dsc_fail(DSC_EINVAL, "lesson: an empty request");
    memcpy(r->kind, p, k);
    p += k;
    size_t used = 0;
    while (*p == ' ') {
        p++;
        size_t klen = strcspn(p, "= ");
        if (p[klen] != '=' || klen == 0 || klen >= sizeof r->kv[0].key)
            return dsc_fail(DSC_EINVAL, "lesson: expected key=value in '%.60s'", p);
        if (r->n == LESSON_MAX_KEYS) return dsc_fail(DSC_EINVAL, "lesson: too many keys");
        memcpy(r->kv[r->n].key, p, klen);
        p += klen + 1;
        char *out = r->buf + used;
        r->kv[r->n].val = out;
        for (; *p && *p != ' '; p++) {
            if (used + 2 > sizeof r->buf) return dsc_fail(DSC_EINVAL, "lesson: request too long");
            char c = *p;
            if (c == '%') {
                int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
                if (lo < 0) return dsc_fail(DSC_EINVAL, "lesson: bad %%-escape in '%.60s'", p);
                /* A NUL would cut the value short where it stands
                 * ("data=a.csv%00x" reading a.csv): refused. */
                if (hi == 0 && lo == 0)
                    return dsc_fail(DSC_EINVAL, "lesson: %%00 (a NUL byte) in the value of %s",
                                    r->kv[r->n].key);
                c = (char)(hi * 16 + lo);
                p += 2;
            }
            r->buf[used++] = c;
        }
        r->buf[used++] = '\0';
        for (size_t i = 0; i < r->n; i++)
            if (strcmp(r->kv[i].key, r->kv[r->n].key) == 0)
                return dsc_fail(DSC_EINVAL, "lesson: key '%s' given twice", r->kv[i].key);
        r->n++;
    }
    if (*p) return dsc_fail(DSC_EINVAL, "lesson: stray text in the request at '%.60s'", p);
    return DSC_OK;
}

dsc_status lesson_str(lesson_req *r, const char *key, const char **out)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->kv[i].key, key) == 0) {
            r->kv[i].used = 1;
            *out = r->kv[i].val;
            return DSC_OK;
        }
    return dsc_fail(DSC_EINVAL, "lesson: the request '%s' needs %s=", r->kind, key);
}

dsc_status lesson_num(lesson_req *r, const char *key, double *out)
{
    const char *v = NULL, *end;
    dsc_status s = lesson_str(r, key, &v);
    if (s) return s;
    if (dsc_parse_double(v, &end, out) != 0 || *end || !isfinite(*out))
        return dsc_fail(DSC_EINVAL, "lesson: %s=%s is not a number", key, v);
    return DSC_OK;
}

dsc_status lesson_count(lesson_req *r, const char *key, long *out)
{
    double v;
    dsc_status s = lesson_num(r, key, &v);
    if (s) return s;
    if (v < 0 || v > 1e9 || v != floor(v))
        return dsc_fail(DSC_EINVAL, "lesson: %s must be a whole number from 0 to 1e9", key);
    *out = (long)v;
    return DSC_OK;
}

dsc_status lesson_all_used(const lesson_req *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (!r->kv[i].used)
            return dsc_fail(DSC_EINVAL, "lesson: '%s' has no key %s", r->kind, r->kv[i].key);
    return DSC_OK;
}

/* ------------------------------------------------------------------ */
/* JSON text                                                          */
/* ------------------------------------------------------------------ */

static int jb_room(jbuf *b, size_t more)
{
    if (b->failed) return 0;
    if (b->len + more + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) cap *= 2;
    char *p = dsc_realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void jb_add(jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !jb_room(b, (size_t)n)) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Through the one JSON writer's quoting (src/io/json.h): invalid UTF-8
 * (a data file's bytes in a message) comes out as U+FFFD, the rest as
 * ASCII with escapes, as every other JSON descent prints. */
void jb_str(jbuf *b, const char *s)
{
    char *q = dsc_json_quote(s);
    if (!q) {
        b->failed = 1;
        return;
    }
    size_t n = strlen(q);
    if (jb_room(b, n)) {
        memcpy(b->p + b->len, q, n + 1);
        b->len += n;
    }
    dsc_free(q);
}

void jb_num(jbuf *b, double v)
{
    if (!isfinite(v)) {
        jb_add(b, "null");
        return;
    }
    char s[64];
    dsc_format_float(s, sizeof s, v);
    jb_add(b, "%s", s);
}

void jb_text(jbuf *b, double v)
{
    char s[64];
    if (isnan(v))
        strcpy(s, "NaN");
    else if (isinf(v))
        strcpy(s, v > 0 ? "Infinity" : "-Infinity");
    else
        dsc_format_float(s, sizeof s, v);
    jb_add(b, "\"%s\"", s);
}

void jb_nums(jbuf *b, const double *v, size_t n)
{
    jb_add(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) jb_add(b, ",");
        jb_num(b, v[i]);
    }
    jb_add(b, "]");
}

dsc_status jb_finish(jbuf *b, char **out)
{
    if (b->failed || !b->p) {
        dsc_free(b->p);
        *out = NULL;
        return dsc_fail(DSC_ENOMEM, "out of memory for the lesson's answer");
    }
    *out = b->p;
    return DSC_OK;
}

/* ------------------------------------------------------------------ */
/* Gradients                                                          */
/* ------------------------------------------------------------------ */

/* The gradient the next full-batch update would use at m's parameters, and
 * the loss there: one update of a copy, read before it is applied. */
typedef struct {
    float *g;
    size_t n;
    double loss;
} grad_catch;

static int catch_grad(const dsc_step_info *si, void *user)
{
    grad_catch *c = user;
    memcpy(c->g, si->grads, c->n * sizeof(float));
    c->loss = si->loss;
    return 1;
}

dsc_status lesson_gradient(const dsc_model *m, const dsc_dataset *d, float *g)
{
    dsc_model *c;
    dsc_status s = dsc_model_clone(m, &c);
    if (s) return s;
    grad_catch gc = {g, dsc_model_param_count(m), 0};
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.max_iter = 1;
    p.on_step = catch_grad;
    p.on_step_light = 1;
    p.user = &gc;
    dsc_train_result r;
    s = dsc_train(c, d, &p, &r);
    dsc_model_free(c);
    return s == DSC_ECANCELLED ? DSC_OK : s;
}

int lesson_trace_step(lesson_trace *tr, const dsc_step_info *si)
{
    if (!tr->record_error)
        tr->record_error = dsc_run_trace_add(&tr->t, si->params, si->grads, si->loss);
    return tr->record_error != DSC_OK;
}

static int trace_only(const dsc_step_info *si, void *user) { return lesson_trace_step(user, si); }

dsc_status lesson_trace_train(lesson_trace *tr, dsc_model *m, const dsc_dataset *d,
                              dsc_train_params *p)
{
    size_t np = dsc_model_param_count(m);
    if (np > LESSON_MAX_PARAMS)
        return dsc_fail(DSC_EINVAL, "lesson: %zu parameters; the page draws at most %d", np,
                        LESSON_MAX_PARAMS);
    if (!p->on_step) p->on_step = trace_only, p->user = tr;
    dsc_status s = dsc_run_trace_init(&tr->t, np);
    if (!s) {
        tr->status = dsc_train(m, d, p, &tr->res);
        s = tr->status == DSC_EDIVERGED ? DSC_OK : tr->status;
    }
    if (!s) s = tr->record_error;
    if (!s) s = dsc_run_trace_finish(&tr->t, dsc_model_params(m), tr->res.loss);
    if (!s && tr->status == DSC_OK) s = lesson_gradient(m, d, tr->final_grad);
    return s;
}

/* ------------------------------------------------------------------ */
/* Runs kept for `at=` requests                                       */
/* ------------------------------------------------------------------ */

/* The page steps through a few runs at once (one per section): keep the
 * last few, so stepping never reruns one. */
#define CACHE_RUNS 8

static struct {
    char *key;
    lesson_run *run;
    unsigned long long used;
} cache[CACHE_RUNS];
static unsigned long long cache_clock;

void lesson_forget(void)
{
    for (size_t i = 0; i < CACHE_RUNS; i++) {
        if (cache[i].run) cache[i].run->free(cache[i].run);
        dsc_free(cache[i].key);
        memset(&cache[i], 0, sizeof cache[i]);
    }
}

/* The request without its at= and slice= words: the run's identity. */
static char *base_key(const char *text)
{
    char *k = dsc_strdup(text);
    if (!k) return NULL;
    static const char *const words[] = {" at=", " slice="};
    for (size_t i = 0; i < 2; i++) {
        char *w = strstr(k, words[i]);
        if (w) {
            size_t rest = strcspn(w + 1, " ");
            memmove(w, w + 1 + rest, strlen(w + 1 + rest) + 1);
        }
    }
    return k;
}

dsc_status lesson_run_make(const lesson_run_kind *kind, lesson_req *q, lesson_run **out)
{
    *out = NULL;
    lesson_run *run = dsc_calloc(1, kind->size);
    if (!run) return dsc_fail(DSC_ENOMEM, "out of memory");
    run->answer = kind->answer;
    run->free = kind->free;
    dsc_status s = kind->train(run, q);
    if (s) {
        kind->free(run);
        return s;
    }
    *out = run;
    return DSC_OK;
}

static dsc_status make_run(lesson_req *r, lesson_run **out)
{
    if (strcmp(r->kind, "line") == 0) return lesson_run_make(&lesson_line_kind, r, out);
    if (strcmp(r->kind, "net") == 0) return lesson_run_make(&lesson_net_kind, r, out);
    return dsc_fail(DSC_EINVAL, "lesson: no request '%s' (line, net, demos)", r->kind);
}

static dsc_status find_run(const char *text, lesson_req *r, lesson_run **out)
{
    char *key = base_key(text);
    if (!key) return dsc_fail(DSC_ENOMEM, "out of memory");
    size_t slot = 0;
    for (size_t i = 0; i < CACHE_RUNS; i++) {
        if (cache[i].key && strcmp(cache[i].key, key) == 0) {
            dsc_free(key);
            cache[i].used = ++cache_clock;
            /* The getters only mark keys; the cached run already read them. */
            for (size_t j = 0; j < r->n; j++) r->kv[j].used = 1;
            *out = cache[i].run;
            return DSC_OK;
        }
        if (cache[i].used < cache[slot].used) slot = i;
    }
    lesson_run *run = NULL;
    dsc_status s = make_run(r, &run);
    if (!s) s = lesson_all_used(r);
    if (s) {
        if (run) run->free(run);
        dsc_free(key);
        return s;
    }
    if (cache[slot].run) cache[slot].run->free(cache[slot].run);
    dsc_free(cache[slot].key);
    cache[slot].key = key;
    cache[slot].run = run;
    cache[slot].used = ++cache_clock;
    *out = run;
    return DSC_OK;
}

/* Takes at= and slice= out of the request (the run does not depend on
 * them). */
static dsc_status take_at(lesson_req *r)
{
    for (size_t i = 0; i < r->n; i++) {
        dsc_status s = DSC_OK;
        if (strcmp(r->kv[i].key, "at") == 0) {
            long at = 0;
            if (!(s = lesson_count(r, "at", &at))) r->at = at;
        } else if (strcmp(r->kv[i].key, "slice") == 0) {
            const char *name = NULL;
            if (!(s = lesson_str(r, "slice", &name)) && strlen(name) >= sizeof r->slice)
                s = dsc_fail(DSC_EINVAL, "lesson: slice=%s: no parameter of that name", name);
            if (!s) snprintf(r->slice, sizeof r->slice, "%s", name);
        }
        if (s) return s;
    }
    if (r->slice[0] && r->at < 0) return dsc_fail(DSC_EINVAL, "lesson: slice= goes with at=");
    return DSC_OK;
}

static dsc_status answer(const char *text, jbuf *b)
{
    lesson_req r;
    dsc_status s = parse(text, &r);
    if (s) return s;
    if (strcmp(r.kind, "demos") == 0) {
        if ((s = lesson_all_used(&r))) return s;
        return lesson_demos(b);
    }
    if ((s = take_at(&r))) return s;
    lesson_run *run = NULL;
    if ((s = find_run(text, &r, &run))) return s;
    if (r.at >= 0 && (size_t)r.at >= run->rows)
        return dsc_fail(DSC_EINVAL, "lesson: at=%ld, but the run has %zu states", r.at, run->rows);
    return run->answer(run, &r, b);
}

dsc_status lesson_call(const char *request, char **json)
{
    *json = NULL;
    if (!request) return dsc_fail(DSC_EINVAL, "lesson_call: NULL request");
    jbuf b = {0};
    dsc_status s = answer(request, &b);
    if (!s) return jb_finish(&b, json);
    /* The message as the command line prints it, copied before anything
     * else can overwrite it. */
    char msg[1100];
    snprintf(msg, sizeof msg, "descent: error: %s",
             *dsc_last_error() ? dsc_last_error() : dsc_strerror(s));
    dsc_free(b.p);
    jbuf e = {0};
    jb_add(&e, "{\"error\": ");
    jb_str(&e, msg);
    jb_add(&e, "}");
    if (jb_finish(&e, json)) return DSC_ENOMEM;
    dsc_fail(s, "%s", msg + strlen("descent: error: "));
    return s;
}

dsc_status lesson_rows(const char *request, size_t *rows)
{
    lesson_req r;
    dsc_status s = parse(request, &r);
    if (!s) s = take_at(&r);
    lesson_run *run = NULL;
    if (!s) s = find_run(request, &r, &run);
    if (!s) *rows = run->rows;
    return s;
}
