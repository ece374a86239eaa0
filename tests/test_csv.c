/* Reading CSV files into data sets: values, column selection, class
 * labels, the quoting and line-end variants, and every error with where it
 * points. Each file is also parsed from memory in tiny chunks, which must
 * give the same data set or the same error. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/csv.h"
#include "descent.h"

static char tmpdir[64];

/* Writes a fixture into the temp dir and returns its path. */
static const char *write_file(const char *name, const char *text, size_t n)
{
    return check_write_file(tmpdir, name, text, n);
}

static int same_names(const dsc_dataset *a, const dsc_dataset *b)
{
    for (size_t j = 0; j < dsc_dataset_inputs(a); j++)
        if (strcmp(dsc_dataset_input_name(a, j), dsc_dataset_input_name(b, j)) != 0) return 0;
    for (size_t j = 0; j < dsc_dataset_outputs(a); j++)
        if (strcmp(dsc_dataset_output_name(a, j), dsc_dataset_output_name(b, j)) != 0) return 0;
    if (dsc_dataset_classes(a) != dsc_dataset_classes(b)) return 0;
    for (size_t k = 0; k < dsc_dataset_classes(a); k++)
        if (strcmp(dsc_dataset_class_label(a, k), dsc_dataset_class_label(b, k)) != 0) return 0;
    return 1;
}

static int same_data(const dsc_dataset *a, const dsc_dataset *b)
{
    size_t n = dsc_dataset_rows(a), ni = dsc_dataset_inputs(a), no = dsc_dataset_outputs(a);
    return n == dsc_dataset_rows(b) && ni == dsc_dataset_inputs(b) &&
           no == dsc_dataset_outputs(b) &&
           memcmp(dsc_dataset_x(a), dsc_dataset_x(b), n * ni * sizeof(float)) == 0 &&
           memcmp(dsc_dataset_y(a), dsc_dataset_y(b), n * no * sizeof(float)) == 0 &&
           same_names(a, b);
}

/* Reads text from a file; the same text read from memory in chunks of 1, 2,
 * 3, 7 and 64 bytes must agree, result or error. */
static dsc_status load_n(const char *name, const char *text, size_t n, const dsc_csv_options *o,
                         dsc_dataset **out)
{
    const char *path = write_file(name, text, n);
    *out = (dsc_dataset *)&tmpdir; /* must be reset to NULL on failure */
    dsc_status s = dsc_dataset_from_csv(path, o, out);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", dsc_last_error());
    static const size_t chunks[] = {1, 2, 3, 7, 64};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        dsc_dataset *m = NULL;
        dsc_status sm = dsc_csv_parse_memory(path, text, n, chunks[c], o, &m);
        CHECK(sm == s);
        if (s == DSC_OK && sm == DSC_OK) {
            CHECK(same_data(*out, m));
        } else if (s != DSC_OK && strcmp(msg, dsc_last_error()) != 0) {
            CHECK(!"the same error from memory");
            fprintf(stderr, "  file: %s\n  memory (chunk %zu): %s\n", msg, chunks[c],
                    dsc_last_error());
        }
        dsc_dataset_free(m);
    }
    dsc_fail(s, "%s", msg);
    return s;
}

static dsc_status load(const char *name, const char *text, const dsc_csv_options *o,
                       dsc_dataset **out)
{
    return load_n(name, text, strlen(text), o, out);
}

static dsc_csv_options opts(const char *target, const char *ignore, const char *features)
{
    dsc_csv_options o;
    dsc_csv_options_init(&o);
    o.target = target;
    o.ignore = ignore;
    o.features = features;
    return o;
}

/* The status and that the message holds each of the given pieces. */
static void expect_error_n(const char *text, size_t n, const dsc_csv_options *o, dsc_status want,
                           const char *piece1, const char *piece2, int line)
{
    dsc_dataset *d;
    char name[32];
    snprintf(name, sizeof name, "err%d.csv", line);
    dsc_status s = load_n(name, text, n, o, &d);
    const char *msg = dsc_last_error();
    int ok = s == want && d == NULL && strstr(msg, piece1) && (!piece2 || strstr(msg, piece2));
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: expected status %d with '%s'%s%s%s, got %d: %s\n", __FILE__, line,
                (int)want, piece1, piece2 ? " and '" : "", piece2 ? piece2 : "", piece2 ? "'" : "",
                (int)s, msg);
    }
    if (s == DSC_OK) dsc_dataset_free(d);
}

#define EXPECT_ERROR(text, o, want, p1, p2)                                                        \
    expect_error_n(text, strlen(text), o, want, p1, p2, __LINE__)
#define EXPECT_ERROR_N(text, n, o, want, p1, p2) expect_error_n(text, n, o, want, p1, p2, __LINE__)

static void test_seed_data(void)
{
    dsc_dataset *d;
    CHECK_OK(load("seed.csv", "x,y\n0.5,1.4\n2.3,1.9\n2.9,3.2\n", NULL, &d));
    if (!d) return;
    CHECK(dsc_dataset_rows(d) == 3);
    CHECK(dsc_dataset_inputs(d) == 1);
    CHECK(dsc_dataset_outputs(d) == 1);
    const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
    CHECK(x[0] == 0.5f && x[1] == 2.3f && x[2] == 2.9f);
    CHECK(y[0] == 1.4f && y[1] == 1.9f && y[2] == 3.2f);
    CHECK(strcmp(dsc_dataset_input_name(d, 0), "x") == 0);
    CHECK(strcmp(dsc_dataset_output_name(d, 0), "y") == 0);
    CHECK(dsc_dataset_input_name(d, 1) == NULL);
    CHECK(dsc_dataset_output_name(d, 1) == NULL);
    CHECK(dsc_dataset_classes(d) == 0);
    CHECK(dsc_dataset_class_label(d, 0) == NULL);
    dsc_dataset_free(d);

    /* The defaults, the same as passing NULL options. */
    dsc_csv_options o;
    o.target = o.ignore = o.features = "junk";
    dsc_csv_options_init(&o);
    CHECK(o.target == NULL && o.ignore == NULL && o.features == NULL);
    CHECK(dsc_dataset_input_name(NULL, 0) == NULL);
    CHECK(dsc_dataset_classes(NULL) == 0);
}

static void test_selection(void)
{
    const char *text = "a,b,c\n1,2,3\n4,5,6\n";
    dsc_dataset *d;
    dsc_csv_options o = opts("a", NULL, NULL);
    CHECK_OK(load("sel1.csv", text, &o, &d));
    if (d) {
        const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
        CHECK(dsc_dataset_inputs(d) == 2 && dsc_dataset_outputs(d) == 1);
        CHECK(x[0] == 2 && x[1] == 3 && x[2] == 5 && x[3] == 6);
        CHECK(y[0] == 1 && y[1] == 4);
        CHECK(strcmp(dsc_dataset_input_name(d, 0), "b") == 0);
        CHECK(strcmp(dsc_dataset_input_name(d, 1), "c") == 0);
        CHECK(strcmp(dsc_dataset_output_name(d, 0), "a") == 0);
        dsc_dataset_free(d);
    }

    o = opts("#2", NULL, NULL);
    CHECK_OK(load("sel2.csv", text, &o, &d));
    if (d) {
        const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
        CHECK(x[0] == 1 && x[1] == 3 && y[0] == 2 && y[1] == 5);
        CHECK(strcmp(dsc_dataset_output_name(d, 0), "b") == 0);
        dsc_dataset_free(d);
    }

    o = opts(NULL, " b ", NULL);
    CHECK_OK(load("sel3.csv", text, &o, &d));
    if (d) {
        CHECK(dsc_dataset_inputs(d) == 1 && dsc_dataset_x(d)[1] == 4);
        CHECK(dsc_dataset_y(d)[1] == 6);
        dsc_dataset_free(d);
    }

    /* Features come in the order listed. */
    o = opts("b", NULL, "#3, a");
    CHECK_OK(load("sel4.csv", text, &o, &d));
    if (d) {
        const float *x = dsc_dataset_x(d);
        CHECK(x[0] == 3 && x[1] == 1 && x[2] == 6 && x[3] == 4);
        CHECK(strcmp(dsc_dataset_input_name(d, 0), "c") == 0);
        dsc_dataset_free(d);
    }

    /* Features and ignore together; the rest of the columns unread. */
    o = opts("a", "c", "b");
    CHECK_OK(load("sel5.csv", "a,b,c,d\n1,2,zz,\n3,4,,?\n", &o, &d));
    if (d) {
        CHECK(dsc_dataset_inputs(d) == 1 && dsc_dataset_x(d)[1] == 4);
        dsc_dataset_free(d);
    }

    /* Several targets: multi-output regression. */
    o = opts("c,#1", NULL, NULL);
    CHECK_OK(load("multi.csv", text, &o, &d));
    if (d) {
        const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
        CHECK(dsc_dataset_inputs(d) == 1 && dsc_dataset_outputs(d) == 2);
        CHECK(x[0] == 2 && x[1] == 5);
        CHECK(y[0] == 3 && y[1] == 1 && y[2] == 6 && y[3] == 4);
        CHECK(strcmp(dsc_dataset_output_name(d, 0), "c") == 0);
        CHECK(strcmp(dsc_dataset_output_name(d, 1), "a") == 0);
        CHECK(dsc_dataset_classes(d) == 0);
        dsc_dataset_free(d);
    }
}

/* target "" reads every column as a feature: data to predict from. */
static void test_no_target(void)
{
    const char *text = "a,b,c\n1,2,3\n4,5,6\n";
    dsc_dataset *d;
    dsc_csv_options o = opts("", NULL, NULL);
    CHECK_OK(load("none1.csv", text, &o, &d));
    if (d) {
        const float *x = dsc_dataset_x(d);
        CHECK(dsc_dataset_rows(d) == 2);
        CHECK(dsc_dataset_inputs(d) == 3 && dsc_dataset_outputs(d) == 0);
        CHECK(x[0] == 1 && x[1] == 2 && x[2] == 3 && x[3] == 4 && x[5] == 6);
        CHECK(strcmp(dsc_dataset_input_name(d, 2), "c") == 0);
        CHECK(dsc_dataset_output_name(d, 0) == NULL);
        CHECK(dsc_dataset_classes(d) == 0);
        CHECK(d->target_name == NULL);
        dsc_dataset_free(d);
    }

    /* With ignore and with a features list. */
    o = opts("", "b", NULL);
    CHECK_OK(load("none2.csv", text, &o, &d));
    if (d) {
        CHECK(dsc_dataset_inputs(d) == 2 && dsc_dataset_outputs(d) == 0);
        CHECK(dsc_dataset_x(d)[2] == 4 && dsc_dataset_x(d)[3] == 6);
        dsc_dataset_free(d);
    }
    o = opts("", NULL, "c,a");
    CHECK_OK(load("none3.csv", text, &o, &d));
    if (d) {
        CHECK(dsc_dataset_inputs(d) == 2 && dsc_dataset_outputs(d) == 0);
        CHECK(dsc_dataset_x(d)[0] == 3 && dsc_dataset_x(d)[1] == 1);
        dsc_dataset_free(d);
    }

    /* A label-like column is still a feature and must be numeric. */
    EXPECT_ERROR("x,species\n1,setosa\n", &o, DSC_ENOTFOUND, "features column 'c' not found", NULL);
    o = opts("", NULL, NULL);
    EXPECT_ERROR("x,species\n1,setosa\n", &o, DSC_EFORMAT,
                 ":2:2: 'setosa' is not a number (column 'species')", NULL);
    o = opts("", "a,b,c", NULL);
    EXPECT_ERROR(text, &o, DSC_EINVAL, "no feature columns left (3 columns, 0 targets)", NULL);
    /* Only exactly "" means no target; blanks are an empty item. */
    o = opts(" ", NULL, NULL);
    EXPECT_ERROR(text, &o, DSC_EINVAL, "empty item", NULL);
    EXPECT_ERROR("a,b\n", &o, DSC_EINVAL, "empty item", NULL);
}

/* target_name: the header names of the targets, whatever selected them. */
static void test_target_name(void)
{
    const char *text = "a,b,c\n1,2,3\n4,5,6\n";
    static const struct {
        const char *target, *want;
    } cases[] = {{NULL, "c"}, {"a", "a"}, {"#2", "b"}, {" c , #1", "c,a"}, {"b,c", "b,c"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dsc_dataset *d;
        dsc_csv_options o = opts(cases[i].target, NULL, NULL);
        CHECK_OK(load("tname.csv", text, &o, &d));
        if (!d) continue;
        CHECK(d->target_name && strcmp(d->target_name, cases[i].want) == 0);
        dsc_dataset_free(d);
    }
    /* A class-label target too. */
    dsc_dataset *d;
    dsc_csv_options o = opts("#1", NULL, NULL);
    CHECK_OK(load("tname2.csv", "species,x\nsetosa,1\nvirginica,2\n", &o, &d));
    if (d) {
        CHECK(dsc_dataset_classes(d) == 2);
        CHECK(d->target_name && strcmp(d->target_name, "species") == 0);
        dsc_dataset_free(d);
    }
}

static void test_classes(void)
{
    dsc_dataset *d;
    CHECK_OK(load("iris.csv",
                  "sepal_length,sepal_width,species\n"
                  "5.1,3.5,setosa\n"
                  "7.0,3.2,versicolor\n"
                  "6.3,3.3,virginica\n"
                  "4.9,3.0,setosa\n"
                  "6.4,3.2, versicolor \n",
                  NULL, &d));
    if (d) {
        CHECK(dsc_dataset_rows(d) == 5);
        CHECK(dsc_dataset_inputs(d) == 2);
        CHECK(dsc_dataset_outputs(d) == 3);
        CHECK(dsc_dataset_classes(d) == 3);
        CHECK(strcmp(dsc_dataset_class_label(d, 0), "setosa") == 0);
        CHECK(strcmp(dsc_dataset_class_label(d, 1), "versicolor") == 0);
        CHECK(strcmp(dsc_dataset_class_label(d, 2), "virginica") == 0);
        CHECK(dsc_dataset_class_label(d, 3) == NULL);
        CHECK(strcmp(dsc_dataset_output_name(d, 2), "virginica") == 0);
        static const float want[] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0};
        CHECK(memcmp(dsc_dataset_y(d), want, sizeof want) == 0);
        CHECK(dsc_dataset_x(d)[2] == 7.0f);
        dsc_dataset_free(d);
    }

    /* Numbers before the first label are labels too, as written. */
    CHECK_OK(load("numlab.csv", "x,label\n1,1\n2,2\n3,cat\n4,1.0\n5,\"2\"\n6,nan\n", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_classes(d) == 5);
        const char *want[] = {"1", "2", "cat", "1.0", "nan"};
        for (size_t k = 0; k < 5 && k < dsc_dataset_classes(d); k++)
            CHECK(strcmp(dsc_dataset_class_label(d, k), want[k]) == 0);
        const float *y = dsc_dataset_y(d);
        CHECK(y[0 * 5 + 0] == 1 && y[1 * 5 + 1] == 1 && y[2 * 5 + 2] == 1);
        CHECK(y[3 * 5 + 3] == 1 && y[4 * 5 + 1] == 1 && y[5 * 5 + 4] == 1);
        dsc_dataset_free(d);
    }

    /* A lone numeric target stays a regression target, 0/1 included. */
    CHECK_OK(load("binary.csv", "x,y\n1,0\n2,1\n3,1\n", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_classes(d) == 0 && dsc_dataset_outputs(d) == 1);
        CHECK(dsc_dataset_y(d)[1] == 1);
        dsc_dataset_free(d);
    }

    /* A label with a comma, a quote and a newline in it. */
    CHECK_OK(load("qlabel.csv", "x,y\n1,\"a,\"\"b\"\"\nc\"\n2,plain\n", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_classes(d) == 2);
        CHECK(strcmp(dsc_dataset_class_label(d, 0), "a,\"b\"\nc") == 0);
        dsc_dataset_free(d);
    }

    /* Many distinct numbers make a regression target: a late label is an
     * error, not a class. */
    size_t cap = 1200 * 16 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "x,y\n");
    for (int i = 0; i < 1100; i++) len += (size_t)snprintf(text + len, cap - len, "1,%d\n", i);
    len += (size_t)snprintf(text + len, cap - len, "1,cat\n");
    expect_error_n(text, len, NULL, DSC_EFORMAT, ":1102:2: 'cat' is not a number (column 'y')",
                   "1024", __LINE__);
    /* ... and a NaN among them is reported where it was. */
    len = (size_t)snprintf(text, cap, "x,y\n1,nan\n");
    for (int i = 0; i < 1100; i++) len += (size_t)snprintf(text + len, cap - len, "1,%d\n", i);
    expect_error_n(text, len, NULL, DSC_EFORMAT, ":2:2: 'nan' is not a finite number", NULL,
                   __LINE__);
    free(text);
}

static void test_formats(void)
{
    dsc_dataset *d;
    const float want_x[] = {1, 3}, want_y[] = {2, 4};

    CHECK_OK(load("crlf.csv", "x,y\r\n1,2\r\n3,4\r\n", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_rows(d) == 2);
        CHECK(memcmp(dsc_dataset_x(d), want_x, sizeof want_x) == 0);
        CHECK(memcmp(dsc_dataset_y(d), want_y, sizeof want_y) == 0);
        CHECK(strcmp(dsc_dataset_output_name(d, 0), "y") == 0);
        dsc_dataset_free(d);
    }

    CHECK_OK(load("noeol.csv", "x,y\n1,2\n3,4", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_rows(d) == 2 && dsc_dataset_y(d)[1] == 4);
        dsc_dataset_free(d);
    }

    CHECK_OK(load("bom.csv", "\xEF\xBB\xBFx,y\n1,2\n3,4\n", NULL, &d));
    if (d) {
        CHECK(strcmp(dsc_dataset_input_name(d, 0), "x") == 0);
        CHECK(memcmp(dsc_dataset_x(d), want_x, sizeof want_x) == 0);
        dsc_dataset_free(d);
    }

    CHECK_OK(load("blank.csv", "\n  \nx,y\n\n1,2\n \t\n3,4\n\n\r\n  \n\n", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_rows(d) == 2);
        CHECK(memcmp(dsc_dataset_x(d), want_x, sizeof want_x) == 0);
        CHECK(memcmp(dsc_dataset_y(d), want_y, sizeof want_y) == 0);
        dsc_dataset_free(d);
    }

    CHECK_OK(load("spaces.csv", " x , y \n 1 ,\t2\t\n  3,4  \n", NULL, &d));
    if (d) {
        CHECK(strcmp(dsc_dataset_input_name(d, 0), "x") == 0);
        CHECK(memcmp(dsc_dataset_x(d), want_x, sizeof want_x) == 0);
        CHECK(memcmp(dsc_dataset_y(d), want_y, sizeof want_y) == 0);
        dsc_dataset_free(d);
    }

    /* Quoted names and numbers; a quoted ignored column with a comma and a
     * newline in it. */
    /* Read as a feature, the note is not a number. */
    EXPECT_ERROR("\"a,1\",\"b\"\"q\",note,\"y\"\r\n"
                 "\"1.5\", \" -2 \" ,\"x,\ny\",\"2\"\r\n",
                 NULL, DSC_EFORMAT, ":2:3: 'x,?y' is not a number (column 'note')", NULL);
    dsc_csv_options o = opts(NULL, "note", NULL);
    CHECK_OK(load("quoted2.csv",
                  "\"a,1\",\"b\"\"q\",note,\"y\"\r\n"
                  "\"1.5\", \" -2 \" ,\"x,\ny\",\"2\"\r\n"
                  "3,4,\"\",5\r\n",
                  &o, &d));
    if (d) {
        const float x[] = {1.5f, -2, 3, 4}, y[] = {2, 5};
        CHECK(dsc_dataset_inputs(d) == 2);
        CHECK(strcmp(dsc_dataset_input_name(d, 0), "a,1") == 0);
        CHECK(strcmp(dsc_dataset_input_name(d, 1), "b\"q") == 0);
        CHECK(memcmp(dsc_dataset_x(d), x, sizeof x) == 0);
        CHECK(memcmp(dsc_dataset_y(d), y, sizeof y) == 0);
        dsc_dataset_free(d);
    }

    /* Number forms: exponents, signs, many digits, no leading digit. */
    CHECK_OK(load("forms.csv",
                  "a,b,c,d,e,f,y\n"
                  "1e3,-2.5E-2,+7,.25,-0.125,123456789.123456789,3.\n",
                  NULL, &d));
    if (d) {
        const float *x = dsc_dataset_x(d);
        CHECK(x[0] == 1000 && x[1] == -0.025f && x[2] == 7 && x[3] == 0.25f);
        CHECK(x[4] == -0.125f && x[5] == 123456789.123456789f);
        CHECK(dsc_dataset_y(d)[0] == 3);
        dsc_dataset_free(d);
    }
}

static void test_stdin(void)
{
    const char *text = "x,y\n0.5,1.4\n2.3,1.9\n";
    const char *path = write_file("stdin.csv", text, strlen(text));
    if (!freopen(path, "rb", stdin)) {
        CHECK(!"freopen stdin");
        return;
    }
    dsc_dataset *d;
    CHECK_OK(dsc_dataset_from_csv("-", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_rows(d) == 2 && dsc_dataset_x(d)[1] == 2.3f);
        dsc_dataset_free(d);
    }
    /* Standard input is at its end now: an empty file, named as stdin. */
    CHECK(dsc_dataset_from_csv("-", NULL, &d) == DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "<stdin>") != NULL);
}

static void test_locale(void)
{
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
        if (setlocale(LC_ALL, names[i])) found = names[i];
    if (!found) {
        printf("skipped: no comma-decimal locale\n");
        return;
    }
    CHECK(strtod("1,5", NULL) == 1.5); /* the locale is really in effect */
    dsc_dataset *d;
    CHECK_OK(load("locale.csv", "x,y\n1.5,2.25\n1.234567890123456789,1e-3\n", NULL, &d));
    if (d) {
        CHECK(dsc_dataset_x(d)[0] == 1.5f && dsc_dataset_y(d)[0] == 2.25f);
        CHECK(dsc_dataset_x(d)[1] == 1.234567890123456789f && dsc_dataset_y(d)[1] == 1e-3f);
        dsc_dataset_free(d);
    }
    setlocale(LC_ALL, "C");
}

/* More than the 1 MiB read chunk, so records straddle reads. */
static void test_large(void)
{
    size_t rows = 200000, cap = rows * 48 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "i,half,\"q\",label\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(text + len, cap - len, "%zu,%zu.5,\"%zu\",%s\n", i, i / 2, i % 1000,
                                i % 3 == 0   ? "one"
                                : i % 3 == 1 ? "two"
                                             : "\"t,3\"");
    CHECK(len > 2 * DSC_CSV_CHUNK);
    const char *path = write_file("large.csv", text, len);
    dsc_dataset *d;
    CHECK_OK(dsc_dataset_from_csv(path, NULL, &d));
    if (d) {
        CHECK(dsc_dataset_rows(d) == rows);
        CHECK(dsc_dataset_inputs(d) == 3 && dsc_dataset_classes(d) == 3);
        const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
        size_t probe[] = {0, 1, 12345, 29000, 99999, 150001, rows - 1};
        int ok = 1;
        for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
            size_t i = probe[k];
            ok &= x[i * 3] == (float)i && x[i * 3 + 1] == (float)(i / 2) + 0.5f;
            ok &= x[i * 3 + 2] == (float)(i % 1000) && y[i * 3 + i % 3] == 1;
        }
        CHECK(ok);
        CHECK(strcmp(dsc_dataset_class_label(d, 2), "t,3") == 0);
        dsc_dataset_free(d);
    }
    /* And the same through memory with an odd chunk size. */
    dsc_dataset *m;
    CHECK_OK(dsc_csv_parse_memory(path, text, len, 4093, NULL, &m));
    if (m) {
        CHECK(dsc_dataset_rows(m) == rows && dsc_dataset_x(m)[3 * 199999] == 199999.0f);
        dsc_dataset_free(m);
    }
    free(text);
}

static void test_errors(void)
{
    dsc_dataset *d = (dsc_dataset *)&tmpdir;
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no-such-file.csv", tmpdir);
    CHECK(dsc_dataset_from_csv(missing, NULL, &d) == DSC_EIO);
    CHECK(d == NULL);
    CHECK(strstr(dsc_last_error(), "no-such-file.csv") != NULL);
    CHECK(strstr(dsc_last_error(), "No such file") != NULL);
    CHECK(dsc_dataset_from_csv(tmpdir, NULL, &d) == DSC_EIO); /* a directory */
    CHECK(dsc_dataset_from_csv(NULL, NULL, &d) == DSC_EINVAL);
    CHECK(dsc_dataset_from_csv(missing, NULL, NULL) == DSC_EINVAL);

    EXPECT_ERROR("", NULL, DSC_EFORMAT, ":1:1: the file is empty", NULL);
    EXPECT_ERROR("\xEF\xBB\xBF", NULL, DSC_EFORMAT, "the file is empty", NULL);
    EXPECT_ERROR("\n\n \r\n", NULL, DSC_EFORMAT, ":4:1: the file is empty", NULL);
    EXPECT_ERROR("x,y\n", NULL, DSC_EFORMAT, ":2:1: no data rows", NULL);
    EXPECT_ERROR("x,y", NULL, DSC_EFORMAT, "no data rows", NULL);
    EXPECT_ERROR("x,y\r\n\r\n\r\n", NULL, DSC_EFORMAT, ":4:1: no data rows", NULL);

    EXPECT_ERROR("a,b,c\n1,2,3\n4,5\n", NULL, DSC_EFORMAT, ":3:3: expected 3 fields, got 2", NULL);
    EXPECT_ERROR("a,b\n1,2\n3,4,5,6\n", NULL, DSC_EFORMAT, ":3:3: expected 2 fields, got 4", NULL);
    EXPECT_ERROR("a,b\n1,2\n3,4,\n", NULL, DSC_EFORMAT, ":3:3: expected 2 fields, got 3", NULL);
    EXPECT_ERROR("a,b\n1,2\n3\n", NULL, DSC_EFORMAT, ":3:2: expected 2 fields, got 1", NULL);

    EXPECT_ERROR("x,z,y\n1,2,3\n4,abc,6\n", NULL, DSC_EFORMAT,
                 ":3:2: 'abc' is not a number (column 'z')", NULL);
    EXPECT_ERROR("x,y\n1,2\n3,4\n1.5.2,3\n", NULL, DSC_EFORMAT,
                 ":4:1: '1.5.2' is not a number (column 'x')", NULL);
    EXPECT_ERROR("x,y\n0x10,1\n", NULL, DSC_EFORMAT, ":2:1: '0x10' is not a number", NULL);
    EXPECT_ERROR("x,y\n1 2,1\n", NULL, DSC_EFORMAT, ":2:1: '1 2' is not a number", NULL);
    EXPECT_ERROR("x,y\n\"1\"2,1\n", NULL, DSC_EFORMAT, ":2:1: '2' after the closing quote", NULL);
    expect_error_n("x,y\n1\0,2\n", 9, NULL, DSC_EFORMAT, ":2:1: '1?' is not a number", NULL,
                   __LINE__);
    EXPECT_ERROR("x,y\n1,2\nnan,3\n", NULL, DSC_EFORMAT, ":3:1: 'nan' is not a finite number",
                 NULL);
    EXPECT_ERROR("x,y\n1,2\n3,4\n\"-inf\",3\n", NULL, DSC_EFORMAT,
                 ":4:1: '-inf' is not a finite number", NULL);
    EXPECT_ERROR("x,y\nInfinity,3\n", NULL, DSC_EFORMAT, ":2:1: 'Infinity' is not a finite", NULL);
    EXPECT_ERROR("x,y\n1e999,3\n", NULL, DSC_EFORMAT, ":2:1: '1e999' is out of range", NULL);
    EXPECT_ERROR("x,y\n1e39,3\n", NULL, DSC_EFORMAT, ":2:1: '1e39' is out of range", NULL);
    EXPECT_ERROR("x,y\n1,2\n2,nan\n3,4\n", NULL, DSC_EFORMAT,
                 ":3:2: 'nan' is not a finite number (column 'y')", NULL);
    dsc_csv_options two = opts("y,z", NULL, NULL);
    EXPECT_ERROR("x,y,z\n1,2,3\n2,3,inf\n", &two, DSC_EFORMAT,
                 ":3:3: 'inf' is not a finite number (column 'z')", NULL);
    EXPECT_ERROR("x,y,z\n1,2,3\n2,3,cat\n", &two, DSC_EFORMAT,
                 ":3:3: 'cat' is not a number (column 'z')", "must be the only target");
    EXPECT_ERROR("x,y,z\n1,a,b\n", &two, DSC_EFORMAT, ":2:2: 'a' is not a number (column 'y')",
                 "must be the only target");

    EXPECT_ERROR("x,y\n1,\n", NULL, DSC_EFORMAT, ":2:2: empty field (column 'y')", NULL);
    EXPECT_ERROR("x,y\n1,2\n  ,2\n", NULL, DSC_EFORMAT, ":3:1: empty field (column 'x')", NULL);
    EXPECT_ERROR("x,y\n1,2\n\"\",2\n", NULL, DSC_EFORMAT, ":3:1: empty field", NULL);
    EXPECT_ERROR("x,y\n1,\"\"\n", NULL, DSC_EFORMAT, ":2:2: empty field (column 'y')", NULL);

    EXPECT_ERROR("x,y\n1,2\n\"3,4\n5,6\n", NULL, DSC_EFORMAT,
                 ":3:1: unterminated quoted field (column 'x')", NULL);
    EXPECT_ERROR("x,\"y\n", NULL, DSC_EFORMAT, ":1:2: unterminated quoted field", NULL);

    /* Line numbers count the newlines inside quotes and blank lines. */
    dsc_csv_options ign = opts(NULL, "note", NULL);
    EXPECT_ERROR("note,x,y\r\n\"a\r\nb\",1,2\r\n\r\n\"c\",oops,3\r\n", &ign, DSC_EFORMAT,
                 ":5:2: 'oops' is not a number (column 'x')", NULL);
    EXPECT_ERROR("note,x,y\n\"a\nb\nc\",\"\n1\",2\n", &ign, DSC_EFORMAT,
                 ":4:2: '?1' is not a number (column 'x')", NULL);

    dsc_csv_options o = opts("nope", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_ENOTFOUND, "target column 'nope' not found", "'a', 'b'");
    o = opts("#3", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_ENOTFOUND, "target column #3 is out of range", "#1 to #2");
    o = opts("#0", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "columns are counted from #1", NULL);
    /* A number is a name: "3" is the column named 3, and the message says
     * how to ask for the third column. */
    o = opts("3", NULL, NULL);
    EXPECT_ERROR("a,b,c\n1,2,3\n", &o, DSC_ENOTFOUND, "target column '3' not found", "write #3");
    o = opts("#x", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "'#x' is not a column number", NULL);
    o = opts("\"a", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "quote that is not closed", NULL);
    o = opts("\"a\"b", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "text after a quoted name", NULL);
    o = opts("a,,b", NULL, NULL);
    EXPECT_ERROR("a,b,c\n1,2,3\n", &o, DSC_EINVAL, "has an empty item", NULL);
    /* Columns used must be named, and named apart. */
    EXPECT_ERROR("x,x,y\n1,2,3\n", NULL, DSC_EFORMAT, ":1:2: columns 1 and 2 are both named 'x'",
                 "rename one");
    /* Even with one of them left out: the model would read 'x' by name. */
    o = opts(NULL, "#2", NULL);
    EXPECT_ERROR("x,x,y\n1,2,3\n", &o, DSC_EFORMAT, "columns 1 and 2 are both named 'x'", NULL);
    /* Unused columns may share a name. */
    o = opts("y", "#1,#2", NULL);
    CHECK_OK(load("dupok.csv", "u,u,x,y\n1,2,3,4\n", &o, &d));
    dsc_dataset_free(d);
    EXPECT_ERROR("a,,y\n1,2,3\n", NULL, DSC_EFORMAT, ":1:2: column 2 has no name", NULL);
    EXPECT_ERROR("a,b,b\n1,2,3\n", NULL, DSC_EFORMAT, ":1:3: columns 2 and 3 are both named 'b'",
                 NULL);
    /* A NUL byte in a name or a label would cut it short: refused. */
    EXPECT_ERROR_N("a,b\0c,y\n1,2,3\n", sizeof "a,b\0c,y\n1,2,3\n" - 1, NULL, DSC_EFORMAT,
                   ":1:2: a NUL byte in the name", NULL);
    EXPECT_ERROR_N("a,y\n1,c\0t\n2,dog\n", sizeof "a,y\n1,c\0t\n2,dog\n" - 1, NULL, DSC_EFORMAT,
                   ":2:2: a NUL byte in a class label", NULL);
    o = opts(NULL, "c", NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_ENOTFOUND, "ignore column 'c' not found", NULL);
    o = opts(NULL, NULL, "a,zz");
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_ENOTFOUND, "features column 'zz' not found", NULL);
    o = opts("a,#1", NULL, NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "column 1 ('a') is chosen as target and as target",
                 NULL);
    o = opts("a", NULL, "b,a");
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "chosen as target and as features", NULL);
    o = opts(NULL, "b", NULL);
    EXPECT_ERROR("a,b\n1,2\n", &o, DSC_EINVAL, "chosen as target and as ignore", NULL);
    o = opts(NULL, "a", "a");
    EXPECT_ERROR("a,b,c\n1,2,3\n", &o, DSC_EINVAL, "chosen as ignore and as features", NULL);
    o = opts("a,,b", NULL, NULL);
    EXPECT_ERROR("a,b,c\n1,2,3\n", &o, DSC_EINVAL, "empty item", NULL);
    o = opts("a", NULL, NULL);
    EXPECT_ERROR("a,b,a\n1,2,3\n", &o, DSC_EINVAL, "ambiguous", NULL);

    EXPECT_ERROR("y\n1\n", NULL, DSC_EINVAL, ":1: no feature columns left", NULL);
    o = opts(NULL, "a,b", NULL);
    EXPECT_ERROR("\n\na,b,c\n1,2,3\n", &o, DSC_EINVAL, ":3: no feature columns left", NULL);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_csv_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_seed_data();
    test_selection();
    test_no_target();
    test_target_name();
    test_classes();
    test_formats();
    test_errors();
    test_large();
    test_locale();
    test_stdin();
    check_remove_files();
    rmdir(tmpdir);
    return check_report();
}
