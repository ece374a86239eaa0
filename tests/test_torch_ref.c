/* descent against PyTorch, step for step: every case of the reference file
 * (tests/torch/reference.txt, written by tests/torch/gen_reference.py with
 * Debian's python3-torch) is trained here through the public API alone,
 * from the same parameters, on the same minibatches (descent's own seeded
 * shuffle, which the script replays), and every parameter after the
 * updates is compared with PyTorch's.
 *
 * The difference is max |descent - torch| / max(|torch|, FLOOR): relative
 * for any parameter of size FLOOR or more, absolute below that, so a
 * parameter passing near 0 cannot blow a float-rounding difference up into
 * a large ratio.
 *
 * Each case also carries PyTorch's own sensitivity S: how far PyTorch's
 * result moves when the run is redone in float64 or from a start one float
 * step away. A case with S <= TOLERANCE / 10 is judged: descent must make
 * the same number of updates and differ by at most TOLERANCE (1e-4). Where
 * S is larger (L-BFGS far into a run, where it amplifies rounding), no
 * float32 program could be held to 1e-4 without PyTorch's exact rounding;
 * descent must then stay within 10 S, PyTorch's own spread.
 *
 * Usage: test_torch_ref [REFERENCE_FILE] (default: the committed one). */
#include <descent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#ifndef DSC_TORCH_REFERENCE
#define DSC_TORCH_REFERENCE "tests/torch/reference.txt"
#endif

#define TOLERANCE 1e-4
#define FLOOR     1e-2

typedef struct {
    char name[32];
    size_t n, n_in, n_out;
    float *x, *y;
} data_set;

typedef struct {
    char name[64], spec[128], data[32], loss[16], optimizer[16], lbfgs_style[16];
    double lr, momentum, beta1, beta2, eps, rms_alpha, weight_decay, sensitivity;
    long batch, epochs, seed, lbfgs_history, max_iter, updates, updates_stable;
    float *init, *final;
    size_t n_init, n_final;
} ref_case;

/* --- reading the file ----------------------------------------------------- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            char *more = realloc(buf, cap *= 2);
            if (!more) free(buf);
            buf = more;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

/* The next line of *text (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **text)
{
    char *s = *text;
    if (!s || !*s) return NULL;
    char *e = strchr(s, '\n');
    if (e) {
        *e = '\0';
        *text = e + 1;
    } else {
        *text = s + strlen(s);
    }
    return s;
}

/* Every number of a line into a new array; *count says how many. */
static float *parse_floats(const char *s, size_t *count)
{
    size_t cap = 16, n = 0;
    float *v = malloc(cap * sizeof *v);
    char *end;
    for (double d; v && (d = strtod(s, &end), end != s); s = end) {
        if (n == cap) {
            float *more = realloc(v, (cap *= 2) * sizeof *v);
            if (!more) free(v);
            v = more;
            if (!v) break;
        }
        v[n++] = (float)d;
    }
    *count = n;
    return v;
}

/* The "line" data set of gen_reference.py (line_data), too long to list:
 * the same float operations in the same order. Returns the checksum. */
static double line_formula(data_set *d)
{
    double sum = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        float *x = d->x + i * 3;
        for (size_t j = 0; j < 3; j++) {
            float v = (float)((i * 37 + j * 101 + 13) % 1000);
            v = v / 1000.0f;
            x[j] = v - 0.5f;
        }
        float noise = (float)((long)((i * 7919) % 201) - 100) / 1000.0f;
        float y = 1.5f * x[0];
        y = y - 2.0f * x[1];
        y = y + 0.5f * x[2];
        y = y + 0.25f;
        d->y[i] = y + noise;
        sum += x[0];
        sum += x[1];
        sum += x[2];
        sum += d->y[i];
    }
    return sum;
}

static int read_data(char **text, const char *head, data_set *d)
{
    double want = 0.0;
    int fields = sscanf(head, "data %31s %zu %zu %zu formula %lf", d->name, &d->n, &d->n_in,
                        &d->n_out, &want);
    if (fields != 4 && fields != 5) return 0;
    d->x = malloc(d->n * d->n_in * sizeof(float));
    d->y = malloc(d->n * d->n_out * sizeof(float));
    if (fields == 5) {
        /* Only the line is made by a formula. */
        if (strcmp(d->name, "line") || d->n_in != 3 || d->n_out != 1 || !d->x || !d->y) return 0;
        double got = line_formula(d);
        if (got != want)
            fprintf(stderr, "line data: checksum %.17g, the file's %.17g\n", got, want);
        return got == want;
    }
    for (size_t i = 0; i < d->n && d->x && d->y; i++) {
        char *line = next_line(text);
        size_t k = 0;
        float *row = line ? parse_floats(line, &k) : NULL;
        if (!row || k != d->n_in + d->n_out) {
            free(row);
            return 0;
        }
        memcpy(d->x + i * d->n_in, row, d->n_in * sizeof(float));
        memcpy(d->y + i * d->n_out, row + d->n_in, d->n_out * sizeof(float));
        free(row);
    }
    return d->x && d->y;
}

/* One "key value" line of a case; 0 for an unknown key. */
static int read_field(ref_case *c, const char *line)
{
    const char *sp = strchr(line, ' ');
    if (!sp) return 0;
    size_t klen = (size_t)(sp - line);
    const char *v = sp + 1;
#define KEY(k) (klen == strlen(k) && strncmp(line, k, klen) == 0)
#define STR(k, dst)                                                                                \
    if (KEY(k)) return snprintf(dst, sizeof dst, "%s", v) < (int)sizeof dst
#define NUM(k, dst)                                                                                \
    if (KEY(k)) return (dst = strtod(v, NULL), 1)
#define INT(k, dst)                                                                                \
    if (KEY(k)) return (dst = strtol(v, NULL, 10), 1)
    STR("spec", c->spec);
    STR("data", c->data);
    STR("loss", c->loss);
    STR("optimizer", c->optimizer);
    STR("lbfgs_style", c->lbfgs_style);
    NUM("lr", c->lr);
    NUM("momentum", c->momentum);
    NUM("beta1", c->beta1);
    NUM("beta2", c->beta2);
    NUM("eps", c->eps);
    NUM("rms_alpha", c->rms_alpha);
    NUM("weight_decay", c->weight_decay);
    NUM("sensitivity", c->sensitivity);
    INT("batch", c->batch);
    INT("epochs", c->epochs);
    INT("seed", c->seed);
    INT("lbfgs_history", c->lbfgs_history);
    INT("max_iter", c->max_iter);
    INT("updates", c->updates);
    INT("updates_stable", c->updates_stable);
    if (KEY("init")) return (c->init = parse_floats(v, &c->n_init)) != NULL;
    if (KEY("final")) return (c->final = parse_floats(v, &c->n_final)) != NULL;
#undef KEY
#undef STR
#undef NUM
#undef INT
    return 0;
}

/* --- one case ------------------------------------------------------------ */

static const data_set *find_data(const data_set *sets, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(sets[i].name, name) == 0) return &sets[i];
    return NULL;
}

typedef struct {
    int ran;        /* dsc_train returned DSC_OK */
    size_t updates; /* descent's */
    double diff;    /* the worst difference (Inf for NaN) */
    size_t at;      /* its parameter */
    float mine;     /* descent's value of it */
} outcome;

/* Trains the case from its start and compares the result. */
static outcome run_case(const ref_case *c, const data_set *d)
{
    outcome o = {0, 0, INFINITY, 0, 0.0f};
    dsc_dataset *ds = NULL;
    dsc_model *m = NULL;
    dsc_train_params p;
    dsc_train_params_init(&p);
    CHECK_OK(dsc_dataset_from_arrays(d->x, d->y, d->n, d->n_in, d->n_out, &ds));
    CHECK_OK(dsc_model_new(c->spec, &m));
    CHECK_OK(dsc_loss_from_name(c->loss, &p.loss));
    CHECK_OK(dsc_optimizer_from_name(c->optimizer, &p.optimizer));
    CHECK_OK(dsc_lbfgs_style_from_name(c->lbfgs_style, &p.lbfgs_style));
    if (!ds || !m) goto out;
    CHECK(dsc_model_param_count(m) == c->n_init && c->n_init == c->n_final);
    if (dsc_model_param_count(m) != c->n_init || c->n_init != c->n_final) goto out;
    memcpy(dsc_model_params(m), c->init, c->n_init * sizeof(float));

    p.learning_rate = c->lr;
    p.momentum = c->momentum;
    p.beta1 = c->beta1;
    p.beta2 = c->beta2;
    p.eps = c->eps;
    p.rms_alpha = c->rms_alpha;
    p.weight_decay = c->weight_decay;
    p.lbfgs_history = (size_t)c->lbfgs_history;
    p.batch = (size_t)c->batch;
    p.epochs = (size_t)c->epochs;
    p.seed = (uint64_t)c->seed;
    p.max_iter = c->max_iter;
    p.step_tol = 0.0; /* the count of updates is the stop, as in PyTorch's loop */
    dsc_train_result r;
    dsc_status s = dsc_train(m, ds, &p, &r);
    CHECK_OK(s);
    o.ran = s == DSC_OK;
    o.updates = r.iterations;
    const float *got = dsc_model_params_const(m);
    o.diff = 0.0;
    for (size_t i = 0; i < c->n_final; i++) {
        double want = c->final[i], diff = fabs((double)got[i] - want);
        double rel = diff / (fabs(want) > FLOOR ? fabs(want) : FLOOR);
        if (!(rel <= o.diff)) { /* NaN counts as the worst */
            o.diff = isnan(rel) ? INFINITY : rel;
            o.at = i;
            o.mine = got[i];
        }
    }
out:
    dsc_model_free(m);
    dsc_dataset_free(ds);
    return o;
}

/* The L-BFGS style by name, and dsc_train refusing one it does not know. */
static void test_style_option(void)
{
    dsc_lbfgs_style st = DSC_LBFGS_DESCENT;
    CHECK_OK(dsc_lbfgs_style_from_name("torch", &st));
    CHECK(st == DSC_LBFGS_TORCH);
    CHECK(strcmp(dsc_lbfgs_style_name(DSC_LBFGS_DESCENT), "descent") == 0);
    CHECK(dsc_lbfgs_style_from_name("pytorch", &st) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "descent, torch") != NULL);
    const float x[3] = {0.0f, 0.5f, 1.0f}, y[3] = {0.0f, 1.0f, 0.0f};
    dsc_dataset *d = NULL;
    dsc_model *m = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, 3, 1, 1, &d));
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    dsc_train_params p;
    dsc_train_params_init(&p);
    CHECK(p.lbfgs_style == DSC_LBFGS_DESCENT && p.lbfgs_history == 0);
    p.optimizer = DSC_OPT_LBFGS;
    p.lbfgs_style = (dsc_lbfgs_style)5;
    CHECK(dsc_train(m, d, &p, NULL) == DSC_EINVAL);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

int main(int argc, char **argv)
{
    test_style_option();
    const char *path = argc > 1 ? argv[1] : DSC_TORCH_REFERENCE;
    char *text = read_all(path), *cursor = text;
    if (!text) {
        fprintf(stderr, "cannot read the reference file %s\n", path);
        return 1;
    }
    data_set sets[8];
    memset(sets, 0, sizeof sets);
    size_t n_sets = 0, n_judged = 0, n_spread = 0, n_bad = 0;
    double worst_judged = 0.0, worst_ratio = 0.0;
    char worst_case[64] = "", worst_spread[64] = "";
    ref_case c;
    int in_case = 0;
    for (char *line; (line = next_line(&cursor));) {
        if (line[0] == '#' || line[0] == '\0') continue;
        if (!in_case && strncmp(line, "data ", 5) == 0) {
            CHECK(n_sets < sizeof sets / sizeof sets[0]);
            if (n_sets == sizeof sets / sizeof sets[0]) break;
            int ok = read_data(&cursor, line, &sets[n_sets++]);
            CHECK(ok);
            if (!ok) break;
        } else if (!in_case && strncmp(line, "case ", 5) == 0) {
            memset(&c, 0, sizeof c);
            snprintf(c.name, sizeof c.name, "%s", line + 5);
            in_case = 1;
        } else if (in_case && strcmp(line, "end") == 0) {
            in_case = 0;
            const data_set *d = find_data(sets, n_sets, c.data);
            CHECK(d != NULL);
            outcome o = d ? run_case(&c, d) : (outcome){0, 0, INFINITY, 0, 0.0f};
            int judged = c.sensitivity <= TOLERANCE / 10, ok;
            if (judged) {
                ok = o.ran && o.diff <= TOLERANCE &&
                     (!c.updates_stable || o.updates == (size_t)c.updates);
                n_judged++;
                if (o.diff > worst_judged || !ok) {
                    worst_judged = o.diff;
                    snprintf(worst_case, sizeof worst_case, "%s", c.name);
                }
            } else {
                double bound = 10 * c.sensitivity > TOLERANCE ? 10 * c.sensitivity : TOLERANCE;
                ok = o.ran && o.diff <= bound;
                n_spread++;
                if (o.diff / c.sensitivity > worst_ratio || !ok) {
                    worst_ratio = o.diff / c.sensitivity;
                    snprintf(worst_spread, sizeof worst_spread, "%s", c.name);
                }
            }
            CHECK(ok);
            n_bad += !ok;
            printf("%-30s %-8s %-5s %2zu/%2ld updates  diff %.2e  torch's own %.2e  %s", c.name,
                   c.optimizer, c.loss, o.updates, c.updates, o.diff, c.sensitivity,
                   judged ? "judged" : "spread");
            if (o.ran && c.final)
                printf(" (parameter %zu: %.9g, torch %.9g)", o.at, o.mine + 0.0,
                       c.final[o.at] + 0.0);
            printf("%s\n", ok ? "" : "  FAIL");
            free(c.init);
            free(c.final);
        } else if (in_case) {
            int ok = read_field(&c, line);
            if (!ok) fprintf(stderr, "%s: case %s: cannot read '%.40s'\n", path, c.name, line);
            CHECK(ok);
        } else {
            fprintf(stderr, "%s: unexpected line '%.40s'\n", path, line);
            CHECK(0);
        }
    }
    CHECK(!in_case);
    CHECK(n_judged > 0);
    printf("%zu cases judged at %.0e: worst %.2e (%s); %zu beyond PyTorch's own resolution: "
           "worst diff / own spread %.2f (%s); %zu failed\n",
           n_judged, TOLERANCE, worst_judged, worst_case, n_spread, worst_ratio, worst_spread,
           n_bad);
    for (size_t i = 0; i < n_sets; i++) {
        free(sets[i].x);
        free(sets[i].y);
    }
    free(text);
    return check_report();
}
