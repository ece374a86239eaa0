/* A C program that trains a model, saves it, loads it back and predicts
 * with a workspace, without the command line. Build against an installed
 * descent: cc save_load_predict.c $(pkg-config --cflags --libs descent). */
#include <descent.h>
#include <stdio.h>

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, dsc_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "xor.model";
    /* XOR: the classic problem a line cannot fit. */
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1}, y[] = {0, 1, 1, 0};
    dsc_dataset *d;
    dsc_model *m;
    if (dsc_dataset_from_arrays(x, y, 4, 2, 1, &d)) return fail("data");
    if (dsc_model_new("2 -> 8:tanh -> 1:sigmoid", &m)) return fail("model");
    dsc_model_init(m, DSC_INIT_DEFAULT, 7);
    const char *labels[] = {"false", "true"};
    dsc_model_set_classes(m, labels, 2);

    dsc_train_params p;
    dsc_train_params_init(&p);
    p.loss = DSC_LOSS_BCE;
    p.optimizer = DSC_OPT_ADAM;
    p.learning_rate = 0.05;
    p.max_iter = 2000;
    p.step_tol = 0; /* run all 2000 steps */
    dsc_train_result r;
    if (dsc_train(m, d, &p, &r)) return fail("train");
    if (dsc_model_save(m, path)) return fail("save");
    dsc_model_free(m);

    /* A loaded model is read-only: any number of threads may predict with
     * it at once, each with its own workspace. */
    dsc_model *loaded;
    dsc_workspace *ws;
    if (dsc_model_load(path, &loaded)) return fail("load");
    if (dsc_workspace_new(loaded, 4, &ws)) return fail("workspace");
    float out[4];
    if (dsc_predict(loaded, ws, x, 4, out)) return fail("predict");
    int correct = 0;
    for (int i = 0; i < 4; i++) {
        printf("%g xor %g -> %.3f (%s)\n", x[2 * i], x[2 * i + 1], out[i],
               dsc_model_class_label(loaded, out[i] >= 0.5f));
        correct += (out[i] >= 0.5f) == (y[i] >= 0.5f);
    }
    printf("%d of 4 right\n", correct);
    dsc_workspace_free(ws);
    dsc_model_free(loaded);
    dsc_dataset_free(d);
    return correct == 4 ? 0 : 1;
}
