/* Splitting data sets: part sizes, determinism, every row in exactly one
 * part (compared by content), file order kept, names copied, errors. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/data.h"
#include "descent.h"

static char tmpdir[64];
static char path[128];

/* n rows: x = (i, -i), y = 1000 + i, so a row's content names it. */
static dsc_dataset *numbered(size_t n)
{
    float *x = malloc(2 * n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = -(float)i;
        y[i] = 1000.0f + (float)i;
    }
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, n, 2, 1, &d));
    free(x);
    free(y);
    return d;
}

/* Every row of d in exactly one part, with its target, in file order. */
static int partition_ok(const dsc_dataset *d, const dsc_dataset *a, const dsc_dataset *b)
{
    size_t n = dsc_dataset_rows(d);
    if (dsc_dataset_rows(a) + dsc_dataset_rows(b) != n) return 0;
    unsigned char *seen = calloc(n, 1);
    int ok = 1;
    const dsc_dataset *parts[2] = {a, b};
    for (int p = 0; p < 2; p++) {
        const float *x = dsc_dataset_x(parts[p]), *y = dsc_dataset_y(parts[p]);
        float last = -1;
        for (size_t r = 0; r < dsc_dataset_rows(parts[p]); r++) {
            float id = x[2 * r];
            size_t i = (size_t)id;
            ok &= id > last && i < n && (float)i == id;
            if (!ok) break;
            ok &= x[2 * r + 1] == -id && y[r] == 1000.0f + id && !seen[i];
            seen[i] = 1;
            last = id;
        }
    }
    free(seen);
    return ok;
}

static int same_rows(const dsc_dataset *a, const dsc_dataset *b)
{
    size_t n = dsc_dataset_rows(a);
    return n == dsc_dataset_rows(b) &&
           memcmp(dsc_dataset_x(a), dsc_dataset_x(b), n * 2 * sizeof(float)) == 0;
}

static void test_sizes(void)
{
    static const struct {
        size_t n;
        double fraction;
        size_t val;
    } cases[] = {{10, 0.2, 2},     {10, 0.25, 3},  {10, 0.24, 2}, {10, 0.01, 1}, {10, 0.99, 9},
                 {10, 0.999, 9},   {2, 0.5, 1},    {2, 0.01, 1},  {2, 0.99, 1},  {3, 0.5, 2},
                 {1000, 0.1, 100}, {7, 1e-300, 1}, {101, 0.5, 51}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dsc_dataset *d = numbered(cases[c].n), *tr, *va;
        CHECK_OK(dsc_dataset_split(d, cases[c].fraction, 7, &tr, &va));
        if (!tr || !va) {
            dsc_dataset_free(d);
            continue;
        }
        if (dsc_dataset_rows(va) != cases[c].val) {
            check_failed++;
            fprintf(stderr, "%s:%d: n %zu, fraction %g: %zu validation rows, expected %zu\n",
                    __FILE__, __LINE__, cases[c].n, cases[c].fraction, dsc_dataset_rows(va),
                    cases[c].val);
        }
        CHECK(dsc_dataset_rows(tr) == cases[c].n - cases[c].val);
        CHECK(dsc_dataset_inputs(tr) == 2 && dsc_dataset_outputs(va) == 1);
        CHECK(partition_ok(d, tr, va));
        dsc_dataset_free(tr);
        dsc_dataset_free(va);
        dsc_dataset_free(d);
    }
}

static void test_determinism(void)
{
    dsc_dataset *d = numbered(200), *t1, *v1, *t2, *v2, *t3, *v3;
    CHECK_OK(dsc_dataset_split(d, 0.3, 42, &t1, &v1));
    CHECK_OK(dsc_dataset_split(d, 0.3, 42, &t2, &v2));
    CHECK_OK(dsc_dataset_split(d, 0.3, 43, &t3, &v3));
    CHECK(same_rows(t1, t2) && same_rows(v1, v2));
    CHECK(!same_rows(v1, v3)); /* another seed, another split */
    CHECK(partition_ok(d, t1, v1) && partition_ok(d, t3, v3));

    /* The documented draw: the first k of a Fisher-Yates shuffle from RNG
     * stream 3, in file order. */
    uint32_t idx[200];
    unsigned char chosen[200] = {0};
    for (uint32_t i = 0; i < 200; i++) idx[i] = i;
    dsc_rng r;
    dsc_rng_seed(&r, 42, 3);
    dsc_rng_shuffle(&r, idx, 200);
    for (int i = 0; i < 60; i++) chosen[idx[i]] = 1;
    size_t k = 0;
    int match = dsc_dataset_rows(v1) == 60;
    for (uint32_t i = 0; i < 200 && match; i++)
        if (chosen[i]) match = dsc_dataset_x(v1)[2 * k++] == (float)i;
    CHECK(match);

    /* A validation part that is not just a block of neighbouring rows. */
    const float *vx = dsc_dataset_x(v1);
    CHECK(vx[2 * 59] - vx[0] > 100);
    dsc_dataset_free(t1);
    dsc_dataset_free(v1);
    dsc_dataset_free(t2);
    dsc_dataset_free(v2);
    dsc_dataset_free(t3);
    dsc_dataset_free(v3);
    dsc_dataset_free(d);
}

static dsc_dataset *from_csv(const char *text, const char *target)
{
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    fputs(text, f);
    fclose(f);
    dsc_csv_options o;
    dsc_csv_options_init(&o);
    o.target = target;
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_csv(path, &o, &d));
    return d;
}

static void test_names(void)
{
    dsc_dataset *d = from_csv("len,width,species\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,eel\n", NULL);
    dsc_dataset *tr = NULL, *va = NULL;
    if (!d) return;
    CHECK_OK(dsc_dataset_split(d, 0.5, 1, &tr, &va));
    const dsc_dataset *parts[2] = {tr, va};
    for (int p = 0; p < 2 && tr && va; p++) {
        const dsc_dataset *s = parts[p];
        CHECK(dsc_dataset_rows(s) == 2 && dsc_dataset_outputs(s) == 3);
        CHECK(strcmp(dsc_dataset_input_name(s, 0), "len") == 0);
        CHECK(strcmp(dsc_dataset_input_name(s, 1), "width") == 0);
        CHECK(dsc_dataset_input_name(s, 0) != dsc_dataset_input_name(d, 0));
        CHECK(strcmp(dsc_dataset_output_name(s, 2), "eel") == 0);
        CHECK(dsc_dataset_classes(s) == 3);
        CHECK(strcmp(dsc_dataset_class_label(s, 1), "dog") == 0);
        CHECK(s->target_name && strcmp(s->target_name, "species") == 0);
        /* Each row keeps its one-hot target. */
        for (size_t r = 0; r < 2; r++) {
            float len = dsc_dataset_x(s)[2 * r];
            const float *y = dsc_dataset_y(s) + 3 * r;
            int want = len == 3 ? 1 : len == 7 ? 2 : 0;
            CHECK(y[want] == 1 && y[0] + y[1] + y[2] == 1);
        }
    }
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(d);

    /* No names, no target: from arrays, and a CSV read without a target. */
    d = numbered(5);
    CHECK_OK(dsc_dataset_split(d, 0.4, 9, &tr, &va));
    CHECK(tr && dsc_dataset_input_name(tr, 0) == NULL && dsc_dataset_classes(tr) == 0);
    CHECK(va && va->target_name == NULL);
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(d);
    d = from_csv("a,b\n1,2\n3,4\n5,6\n", "");
    if (!d) return;
    CHECK_OK(dsc_dataset_split(d, 0.5, 9, &tr, &va));
    CHECK(tr && va && dsc_dataset_outputs(tr) == 0 && dsc_dataset_outputs(va) == 0);
    CHECK(tr && va && dsc_dataset_rows(tr) + dsc_dataset_rows(va) == 3);
    CHECK(va && strcmp(dsc_dataset_input_name(va, 1), "b") == 0);
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(d);
}

static void test_errors(void)
{
    dsc_dataset *d = numbered(10), *one = numbered(1);
    static const double bad[] = {0, 1, -0.1, 1.5, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsc_dataset *tr = d, *va = d;
        CHECK(dsc_dataset_split(d, bad[i], 1, &tr, &va) == DSC_EINVAL);
        CHECK(tr == NULL && va == NULL);
        CHECK(strstr(dsc_last_error(), "is not between 0 and 1") != NULL);
    }
    dsc_dataset *tr = d, *va = d;
    CHECK(dsc_dataset_split(one, 0.5, 1, &tr, &va) == DSC_EINVAL);
    CHECK(tr == NULL && va == NULL);
    CHECK(strstr(dsc_last_error(), "cannot split a data set of 1 row") != NULL);
    CHECK(dsc_dataset_split(NULL, 0.5, 1, &tr, &va) == DSC_EINVAL);
    CHECK(dsc_dataset_split(d, 0.5, 1, NULL, &va) == DSC_EINVAL);
    CHECK(dsc_dataset_split(d, 0.5, 1, &tr, NULL) == DSC_EINVAL);
    dsc_dataset_free(d);
    dsc_dataset_free(one);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_split_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/data.csv", tmpdir);
    test_sizes();
    test_determinism();
    test_names();
    test_errors();
    remove(path);
    rmdir(tmpdir);
    return check_report();
}
