/* Shared by the lesson engine's files: requests, JSON text, and the runs
 * kept between requests. */
#ifndef DSC_CLI_LESSON_INTERNAL_H
#define DSC_CLI_LESSON_INTERNAL_H

#include <stdint.h>

#include "base/base.h"
#include "lesson_engine.h"
#include "viz/plots.h"

/* ---- a parsed request ---- */

#define LESSON_MAX_KEYS 24

typedef struct {
    char kind[16];
    size_t n;
    struct {
        char key[24];
        const char *val; /* decoded, in buf */
        int used;
    } kv[LESSON_MAX_KEYS];
    char buf[4096];
    long at;        /* -1: none */
    char slice[24]; /* "": none; with at=, the loss against this parameter */
} lesson_req;

/* Each getter fails (DSC_EINVAL, "lesson: ...") when the key is missing or
 * its value is not of the kind asked for, and marks the key used. */
dsc_status lesson_str(lesson_req *r, const char *key, const char **out);
dsc_status lesson_num(lesson_req *r, const char *key, double *out);
dsc_status lesson_count(lesson_req *r, const char *key, long *out);
/* DSC_EINVAL naming the first key no getter asked for. */
dsc_status lesson_all_used(const lesson_req *r);

/* ---- JSON text ---- */

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} jbuf;

/* Appends raw text: only for punctuation, keys and integers (never %g:
 * numbers go through jb_num, which ignores the locale). */
void jb_add(jbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void jb_str(jbuf *b, const char *s);
/* A number as the command line prints it (the shortest text that reads
 * back as the same float), or null when it is not finite. */
void jb_num(jbuf *b, double v);
/* The same text as a JSON string, for numbers the page shows as they are:
 * "0.5704", "NaN", "Infinity" exactly as `descent ... --trace` writes them. */
void jb_text(jbuf *b, double v);
void jb_nums(jbuf *b, const double *v, size_t n);
dsc_status jb_finish(jbuf *b, char **out);

/* ---- runs kept for `at=` requests ---- */

/* A run answers its request (q->at < 0) or the state at one of its rows
 * (q->at, and q->slice when the request names one). */
typedef struct lesson_run lesson_run;
struct lesson_run {
    size_t rows;
    dsc_status (*answer)(lesson_run *run, const lesson_req *q, jbuf *b);
    void (*free)(lesson_run *run);
};

/* How a kind of run is made, answered and freed; `train` fills a zeroed
 * run from the request's keys (other than at and slice). */
typedef struct {
    size_t size; /* of the kind's struct, whose first member is its lesson_run */
    dsc_status (*train)(lesson_run *run, lesson_req *q);
    dsc_status (*answer)(lesson_run *run, const lesson_req *q, jbuf *b);
    void (*free)(lesson_run *run);
} lesson_run_kind;

/* The one constructor of every run: allocates it, trains it, and frees it
 * again when training fails (*out is then NULL). */
dsc_status lesson_run_make(const lesson_run_kind *kind, lesson_req *q, lesson_run **out);

/* The kinds of run a request names. */
extern const lesson_run_kind lesson_line_kind, lesson_net_kind;
dsc_status lesson_demos(jbuf *b);

/* A run's steps, as dsc_train took them. */
#define LESSON_MAX_PARAMS 7
typedef struct {
    dsc_run_trace t;   /* one row per update, then the final state */
    dsc_status status; /* dsc_train's (DSC_EDIVERGED is a run to show) */
    dsc_status record_error;
    dsc_train_result res;
    float final_grad[LESSON_MAX_PARAMS]; /* the last state's gradient */
} lesson_trace;

/* Adds one step to tr (for an on_step callback of one's own); nonzero:
 * stop, tr->record_error says why. */
int lesson_trace_step(lesson_trace *tr, const dsc_step_info *si);
/* Trains m on d with p and records every step into tr: p->on_step, when
 * set, must call lesson_trace_step; when NULL, the steps are recorded
 * alone. A diverged run is DSC_OK (tr->status says so). */
dsc_status lesson_trace_train(lesson_trace *tr, dsc_model *m, const dsc_dataset *d,
                              dsc_train_params *p);

/* g (one float per parameter) receives the gradient of the SSR on all of d
 * at m's parameters: the one the next full-batch update would use (the
 * last state of a run has no update, but the page shows its derivative). */
dsc_status lesson_gradient(const dsc_model *m, const dsc_dataset *d, float *g);

#endif
