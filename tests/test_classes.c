/* Classes are names: files whose labels come in another order than the
 * model's, hold only some of its classes, or write them as numbers; labels
 * the model never saw; targets a loss cannot read. The model used most has
 * logits (0, 10x - 5, 30x - 35) over classes a, b, c, so x = 0, 1, 2 are
 * predicted a, b, c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "descent.h"

static char tmpdir[64];

static const char *write_text(const char *name, const char *text)
{
    return check_write_file(tmpdir, name, text, strlen(text));
}

/* "x -> 3:softmax" predicting a, b, c for x = 0, 1, 2, with the given
 * class names, input named x and target named label. */
static dsc_model *abc_model(const char *a, const char *b, const char *c)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("1 -> 3:softmax", &m));
    if (!m) exit(1);
    const float w[] = {0, 10, 30}, bias[] = {0, -5, -35};
    for (int k = 0; k < 3; k++) {
        char name[8];
        snprintf(name, sizeof name, "w%d", k + 1);
        CHECK_OK(dsc_model_set(m, name, w[k]));
        snprintf(name, sizeof name, "b%d", k + 1);
        CHECK_OK(dsc_model_set(m, name, bias[k]));
    }
    const char *labels[] = {a, b, c};
    const char *in[] = {"x"};
    CHECK_OK(dsc_model_set_classes(m, labels, 3));
    CHECK_OK(dsc_model_set_input_names(m, in));
    CHECK_OK(dsc_model_set_target(m, "label"));
    return m;
}

static dsc_dataset *read_auto(const char *path)
{
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_csv(path, NULL, &d));
    return d;
}

/* The labels come c, a, b in the file; the model knows a, b, c. */
static void test_other_order(void)
{
    dsc_model *m = abc_model("a", "b", "c");
    const char *path = write_text("order.csv", "x,label\n2,c\n0,a\n2,c\n1,b\n0,c\n");
    dsc_dataset *d = read_auto(path);
    if (!d) return;
    CHECK(strcmp(dsc_dataset_class_label(d, 0), "c") == 0); /* the file's own order */
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    CHECK(mt.n_classes == 3);
    CHECK_NEAR(mt.accuracy, 0.8, 1e-12);
    /* rows: true a, b, c; columns: predicted a, b, c (the model's order) */
    const size_t want[9] = {1, 0, 0, 0, 1, 0, 1, 0, 2};
    for (int i = 0; mt.confusion && i < 9; i++) CHECK(mt.confusion[i] == want[i]);
    CHECK_NEAR(mt.precision[0], 0.5, 1e-12);
    CHECK_NEAR(mt.recall[2], 2.0 / 3.0, 1e-12);

    /* The loss is the one of the same rows with one-hot targets in the
     * model's order. */
    const float x[] = {2, 0, 2, 1, 0};
    const float y[] = {0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1};
    dsc_dataset *ref = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, 5, 1, 3, &ref));
    double l_ref = NAN, l = NAN;
    CHECK_OK(dsc_evaluate_loss(m, ref, DSC_LOSS_CE, &l_ref));
    CHECK_OK(dsc_evaluate_loss(m, d, DSC_LOSS_CE, &l));
    CHECK(l == l_ref && mt.loss == l_ref);
    dsc_metrics_free(&mt);
    dsc_dataset_free(ref);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* A file with one class only (10 rows of it), and one with two of three. */
static void test_subset(void)
{
    dsc_model *m = abc_model("setosa", "versicolor", "virginica");
    char text[256] = "x,label\n";
    for (int i = 0; i < 10; i++) strcat(text, "1,versicolor\n");
    dsc_dataset *d = read_auto(write_text("one.csv", text));
    if (!d) return;
    CHECK(dsc_dataset_outputs(d) == 1);
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    CHECK(mt.n == 10 && mt.n_classes == 3);
    CHECK(mt.accuracy == 1.0);
    CHECK(mt.confusion && mt.confusion[4] == 10);
    CHECK(isnan(mt.recall[0]) && mt.recall[1] == 1.0 && isnan(mt.precision[2]));
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);

    d = read_auto(write_text("two.csv", "x,label\n2,virginica\n0,setosa\n1,virginica\n"));
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    const size_t want[9] = {1, 0, 0, 0, 0, 0, 0, 1, 1};
    for (int i = 0; mt.confusion && i < 9; i++) CHECK(mt.confusion[i] == want[i]);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* A label the model does not know: an error naming it and its place,
 * whether the file is read for the model or evaluated as read. */
static void test_unknown_label(void)
{
    dsc_model *m = abc_model("setosa", "versicolor", "virginica");
    const char *path = write_text("daisy.csv", "x,label\n0,setosa\n\n1,daisy\n2,virginica\n");
    dsc_dataset *d = read_auto(path);
    dsc_metrics mt;
    CHECK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt) == DSC_EFORMAT);
    const char *msg = dsc_last_error();
    CHECK(
        strstr(msg, "daisy.csv:4:2: label 'daisy' (column 'label') is not a class of the model") !=
        NULL);
    CHECK(strstr(msg, "setosa, versicolor, virginica") != NULL);
    CHECK(mt.confusion == NULL);
    double l;
    CHECK(dsc_evaluate_loss(m, d, DSC_LOSS_CE, &l) == DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "daisy.csv:4:2") != NULL);
    dsc_dataset_free(d);

    d = (dsc_dataset *)&tmpdir;
    CHECK(dsc_model_read_csv(m, path, NULL, &d) == DSC_EFORMAT && d == NULL);
    CHECK(strstr(dsc_last_error(), "daisy.csv:4:2: label 'daisy'") != NULL);

    /* A split keeps where each row came from. */
    d = read_auto(path);
    dsc_dataset *tr = NULL, *va = NULL;
    CHECK_OK(dsc_dataset_split(d, 0.5, 1, &tr, &va));
    /* One part holds the daisy row: it fails there, the other scores. */
    dsc_status s1 = dsc_model_evaluate(m, tr, DSC_LOSS_CE, &mt);
    if (s1 == DSC_OK) dsc_metrics_free(&mt);
    dsc_status s2 = dsc_model_evaluate(m, va, DSC_LOSS_CE, &mt);
    if (s2 == DSC_OK) dsc_metrics_free(&mt);
    CHECK((s1 == DSC_OK) != (s2 == DSC_OK));
    CHECK(s1 == DSC_EFORMAT || s2 == DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "daisy.csv:4:2") != NULL);
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Numbers as class labels: sorted by value, matched by value. */
static void test_numeric_labels(void)
{
    dsc_csv_options o;
    dsc_csv_options_init(&o);
    o.target_kind = DSC_TARGET_CLASSES;
    const char *path = write_text("num.csv", "x,label\n1,2\n2,0\n3,10\n4,1\n5,2\n");
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_csv(path, &o, &d));
    if (!d) return;
    CHECK(dsc_dataset_classes(d) == 4 && dsc_dataset_outputs(d) == 4);
    const char *want[] = {"0", "1", "2", "10"};
    for (size_t k = 0; k < 4; k++) CHECK(strcmp(dsc_dataset_class_label(d, k), want[k]) == 0);
    const float *y = dsc_dataset_y(d);
    CHECK(y[2] == 1 && y[4 + 0] == 1 && y[8 + 3] == 1 && y[12 + 1] == 1 && y[16 + 2] == 1);
    dsc_dataset_free(d);

    /* Read without the option, the same column is a value to fit. */
    d = read_auto(path);
    CHECK(d && dsc_dataset_classes(d) == 0 && dsc_dataset_outputs(d) == 1);
    dsc_dataset_free(d);

    /* A model with classes "0", "1", "2" reads "1.0" as "1", in any order. */
    dsc_model *m = abc_model("0", "1", "2");
    path = write_text("numf.csv", "label,x\n2.0,2\n1.0,1\n0,0\n1,1\n");
    CHECK_OK(dsc_model_read_csv(m, path, NULL, &d));
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt));
    CHECK(mt.accuracy == 1.0 && mt.confusion && mt.confusion[4] == 2);
    dsc_metrics_free(&mt);
    dsc_dataset_free(d);

    /* Values only: a text is an error at its place, with the column's name. */
    o.target_kind = DSC_TARGET_VALUES;
    path = write_text("vals.csv", "x,y\n1,2\n2,abc\n");
    d = (dsc_dataset *)&tmpdir;
    CHECK(dsc_dataset_from_csv(path, &o, &d) == DSC_EFORMAT && d == NULL);
    CHECK(strstr(dsc_last_error(), "vals.csv:3:2: 'abc' is not a number (column 'y')") != NULL);
    o.target_kind = DSC_TARGET_CLASSES;
    o.target = "x,y";
    path = write_text("three.csv", "x,y,z\n1,2,3\n");
    CHECK(dsc_dataset_from_csv(path, &o, &d) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "exactly one target column") != NULL);
    o.target_kind = (dsc_target_kind)7;
    CHECK(dsc_dataset_from_csv(path, &o, &d) == DSC_EINVAL);
    dsc_model_free(m);
}

/* Columns by the model's exact names: in any order, with commas or digits. */
static void test_read_for_model(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("2 -> 1:identity", &m));
    const char *in[] = {"a,b", "7"};
    CHECK_OK(dsc_model_set_input_names(m, in));
    CHECK_OK(dsc_model_set_target(m, "y"));
    const char *path = write_text("names.csv", "id,7,y,\"a,b\"\nr1,1,5,2\nr2,3,6,4\n");
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_model_read_csv(m, path, NULL, &d));
    if (d) {
        const float *x = dsc_dataset_x(d);
        CHECK(dsc_dataset_inputs(d) == 2 && x[0] == 2 && x[1] == 1 && x[2] == 4 && x[3] == 3);
        CHECK(dsc_dataset_y(d)[1] == 6);
    }
    dsc_dataset_free(d);
    /* No target, for prediction. */
    dsc_csv_options o;
    dsc_csv_options_init(&o);
    o.target = "";
    CHECK_OK(dsc_model_read_csv(m, path, &o, &d));
    CHECK(d && dsc_dataset_outputs(d) == 0);
    dsc_dataset_free(d);
    /* A regression target with a text in it. */
    path = write_text("names2.csv", "7,y,a,b,\"a,b\"\n1,5,0,0,2\n3,six,0,0,4\n");
    CHECK(dsc_model_read_csv(m, path, NULL, &d) == DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "names2.csv:3:2: 'six' is not a number (column 'y')") != NULL);
    path = write_text("names3.csv", "7,y\n1,5\n");
    CHECK(dsc_model_read_csv(m, path, NULL, &d) == DSC_ENOTFOUND);
    CHECK(strstr(dsc_last_error(), "'a,b' not found") != NULL);
    CHECK(dsc_model_read_csv(NULL, path, NULL, &d) == DSC_EINVAL);
    dsc_model_free(m);
}

/* One sigmoid output with two labels: the file's first label may be the
 * model's second. */
static void test_sigmoid(void)
{
    dsc_model *m = NULL;
    CHECK_OK(dsc_model_new("1 -> 1:sigmoid", &m));
    CHECK_OK(dsc_model_set(m, "w1", 10.0f));
    CHECK_OK(dsc_model_set(m, "b1", -5.0f)); /* x = 1: yes, x = 0: no */
    const char *labels[] = {"no", "yes"};
    CHECK_OK(dsc_model_set_classes(m, labels, 2));
    dsc_dataset *d = read_auto(write_text("yn.csv", "x,label\n1,yes\n0,no\n1,yes\n0,yes\n"));
    dsc_metrics mt;
    CHECK_OK(dsc_model_evaluate(m, d, DSC_LOSS_BCE, &mt));
    CHECK_NEAR(mt.accuracy, 0.75, 1e-12);
    CHECK(mt.confusion && mt.confusion[0] == 1 && mt.confusion[2] == 1 && mt.confusion[3] == 2);
    const float x[] = {1, 0, 1, 0}, y[] = {1, 0, 1, 1};
    dsc_dataset *ref = NULL;
    CHECK_OK(dsc_dataset_from_arrays(x, y, 4, 1, 1, &ref));
    double l_ref = NAN;
    CHECK_OK(dsc_evaluate_loss(m, ref, DSC_LOSS_BCE, &l_ref));
    CHECK(mt.loss == l_ref);
    dsc_metrics_free(&mt);
    dsc_dataset_free(ref);
    dsc_dataset_free(d);
    dsc_model_free(m);
}

/* Training reads classes by name too: the same run on a file whose
 * classes come in another order gives the same model. */
static void test_train_by_name(void)
{
    dsc_model *a = abc_model("a", "b", "c"), *b = NULL;
    CHECK_OK(dsc_model_clone(a, &b));
    dsc_dataset *d1 = read_auto(write_text("t1.csv", "x,label\n0,a\n1,b\n2,c\n0.5,b\n"));
    dsc_dataset *d3 = read_auto(write_text("t3.csv", "x,label\n2,c\n0,a\n0.5,b\n1,b\n"));
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_CE;
    p.max_iter = 20;
    p.learning_rate = 0.01;
    dsc_train_result r1, r2;
    CHECK_OK(dsc_train(a, d1, &p, &r1));
    /* Row order changes the sums' order; the one-hot targets must match. */
    CHECK_OK(dsc_train(b, d3, &p, &r2));
    CHECK_NEAR(r1.loss, r2.loss, 1e-6);
    for (size_t i = 0; i < dsc_model_param_count(a); i++)
        CHECK_NEAR(dsc_model_params(a)[i], dsc_model_params(b)[i], 1e-5);
    dsc_model_free(a);
    dsc_model_free(b);
    dsc_dataset_free(d1);
    dsc_dataset_free(d3);
}

/* Targets a loss cannot read are refused before the first step. */
static void test_refusals(void)
{
    dsc_train_params p;
    dsc_train_params_init(&p);
    p.max_iter = 5;
    dsc_train_result r;
    dsc_model *m = NULL;

    /* Numbers 0/1/2 under a one-unit softmax or ce. */
    const char *path = write_text("num2.csv", "x,label\n0,0\n1,1\n2,2\n");
    dsc_dataset *d = read_auto(path);
    CHECK_OK(dsc_model_new("1 -> 1:softmax", &m));
    p.loss = DSC_LOSS_MSE;
    CHECK(dsc_train(m, d, &p, &r) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "softmax over one output") != NULL);
    dsc_model_free(m);
    CHECK_OK(dsc_model_new("1 -> 1:identity", &m));
    p.loss = DSC_LOSS_CE;
    CHECK(dsc_train(m, d, &p, &r) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "one output per class") != NULL);
    dsc_model_free(m);

    /* BCE on 0/1/2: the place of the first value outside [0, 1]. */
    CHECK_OK(dsc_model_new("1 -> 1:sigmoid", &m));
    p.loss = DSC_LOSS_BCE;
    const float before = dsc_model_params(m)[0];
    CHECK(dsc_train(m, d, &p, &r) == DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "num2.csv:4:2: bce") != NULL);
    CHECK(strstr(dsc_last_error(), "column 'label' holds 2") != NULL);
    CHECK(dsc_model_params(m)[0] == before);
    dsc_model_free(m);
    dsc_dataset_free(d);

    /* CE on rows that are not class probabilities. */
    const float x[] = {0, 1}, y[] = {0.5f, 0.2f, 1, 0};
    CHECK_OK(dsc_dataset_from_arrays(x, y, 2, 1, 2, &d));
    CHECK_OK(dsc_model_new("1 -> 2:softmax", &m));
    p.loss = DSC_LOSS_CE;
    CHECK(dsc_train(m, d, &p, &r) == DSC_EFORMAT);
    CHECK(strstr(dsc_last_error(), "row 1, target 1: ce") != NULL);
    dsc_model_free(m);
    dsc_dataset_free(d);

    /* Two classes with one name could not be told apart. */
    CHECK_OK(dsc_model_new("1 -> 2:softmax", &m));
    const char *twice[] = {"a", "a"};
    CHECK(dsc_model_set_classes(m, twice, 2) == DSC_EINVAL);
    CHECK(strstr(dsc_last_error(), "'a' is given twice") != NULL);
    dsc_model_free(m);

    /* Class labels for a model without classes. */
    CHECK_OK(dsc_model_new("1 -> 3:softmax", &m));
    d = read_auto(write_text("txt.csv", "x,label\n0,a\n1,b\n"));
    dsc_metrics mt;
    CHECK(dsc_model_evaluate(m, d, DSC_LOSS_CE, &mt) == DSC_ESHAPE);
    CHECK(strstr(dsc_last_error(), "model has no classes") != NULL);
    dsc_model_free(m);
    dsc_dataset_free(d);
}

/* Columns carried as text, through a split too; the class rule predict uses. */
static void test_keep(void)
{
    dsc_csv_options o;
    dsc_csv_options_init(&o);
    o.keep = "id";
    const char *path =
        write_text("keep.csv", "id,x,label\n\"a, \"\"b\"\"\",0,a\nr2,1,b\n  r3  ,2,c\nr4,0,a\n");
    dsc_dataset *d = NULL;
    CHECK_OK(dsc_dataset_from_csv(path, &o, &d));
    if (!d) return;
    CHECK(dsc_dataset_inputs(d) == 1 && dsc_dataset_kept_columns(d) == 1);
    CHECK(strcmp(dsc_dataset_kept_name(d, 0), "id") == 0);
    CHECK(strcmp(dsc_dataset_kept_value(d, 0, 0), "a, \"b\"") == 0);
    CHECK(strcmp(dsc_dataset_kept_value(d, 2, 0), "r3") == 0);
    CHECK(dsc_dataset_kept_value(d, 4, 0) == NULL && dsc_dataset_kept_value(d, 0, 1) == NULL);
    dsc_dataset *tr = NULL, *va = NULL;
    CHECK_OK(dsc_dataset_split(d, 0.5, 3, &tr, &va));
    /* Each part's kept text goes with its own rows' x. */
    for (int part = 0; part < 2; part++) {
        const dsc_dataset *p = part ? va : tr;
        for (size_t i = 0; p && i < dsc_dataset_rows(p); i++) {
            const char *id = dsc_dataset_kept_value(p, i, 0);
            float x = dsc_dataset_x(p)[i];
            CHECK(id && ((x == 0 && (id[0] == 'a' || strcmp(id, "r4") == 0)) ||
                         (x == 1 && strcmp(id, "r2") == 0) || (x == 2 && strcmp(id, "r3") == 0)));
        }
    }
    dsc_dataset_free(tr);
    dsc_dataset_free(va);
    dsc_dataset_free(d);
    o.features = "id";
    d = (dsc_dataset *)&tmpdir;
    CHECK(dsc_dataset_from_csv(path, &o, &d) == DSC_EINVAL && d == NULL);

    dsc_model *m = abc_model("a", "b", "c");
    const float nan_first[] = {NAN, 1, 1}, tie[] = {2, 2, 1}, last[] = {0, 1, 3};
    CHECK(dsc_model_class_of(m, nan_first) == 1);
    CHECK(dsc_model_class_of(m, tie) == 0);
    CHECK(dsc_model_class_of(m, last) == 2);
    dsc_model_free(m);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dsc_classes_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_other_order();
    test_subset();
    test_unknown_label();
    test_numeric_labels();
    test_read_for_model();
    test_sigmoid();
    test_train_by_name();
    test_refusals();
    test_keep();
    check_remove_files();
    rmdir(tmpdir);
    return check_report();
}
