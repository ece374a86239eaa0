/* The README's example: the seed's dosage network trained by gradient
 * descent, built against an installed descent (see tests/cli_install.sh). */
#include <descent.h>
#include <stdio.h>

int main(void)
{
    /* The seed's data: dosage 0, 0.5, 1 and efficacy 0, 1, 0. */
    const float dose[] = {0, 0.5f, 1}, efficacy[] = {0, 1, 0};
    dsc_dataset *d;
    dsc_model *m;
    if (dsc_dataset_from_arrays(dose, efficacy, 3, 1, 1, &d) ||
        dsc_model_new("1 -> 2:softplus -> 1:identity", &m)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        return 1;
    }
    dsc_model_init(m, DSC_INIT_DEFAULT, 42);

    dsc_train_params p;
    dsc_train_params_init(&p); /* SSR, gradient descent, lr 0.01 */
    p.learning_rate = 0.1;
    p.max_iter = 5000;
    dsc_train_result r;
    dsc_status s = dsc_train(m, d, &p, &r);
    printf("%s after %zu steps (%s), SSR %g\n", dsc_strerror(s), r.iterations,
           dsc_stop_name(r.stop), r.loss);

    float w3;
    dsc_model_get(m, "w3", &w3); /* parameters have the seed's names */
    printf("w3 = %g\n", w3);
    dsc_model_free(m);
    dsc_dataset_free(d);
    return 0;
}
