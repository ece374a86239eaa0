/* Prints, as JSON, the size of every struct of descent.h the Python package
 * mirrors with ctypes, and the offset of each field, for
 * python/tests/test_layout.py to compare with its ctypes copies. A field
 * added in C changes the size, so the test fails until Python has it too. */
#include <stddef.h>
#include <stdio.h>

#include "descent.h"

static int first_struct = 1, first_field;

static void open_struct(const char *name, size_t size)
{
    printf("%s\n  \"%s\": {\"size\": %zu, \"fields\": {", first_struct ? "{" : ",", name, size);
    first_struct = 0;
    first_field = 1;
}

static void field(const char *name, size_t offset)
{
    printf("%s\"%s\": %zu", first_field ? "" : ", ", name, offset);
    first_field = 0;
}

static void close_struct(void) { printf("}}"); }

#define STRUCT(T)   open_struct(#T, sizeof(T))
#define FIELD(T, f) field(#f, offsetof(T, f))

int main(void)
{
    STRUCT(dsc_step_info);
    FIELD(dsc_step_info, iter), FIELD(dsc_step_info, epoch), FIELD(dsc_step_info, loss);
    FIELD(dsc_step_info, learning_rate), FIELD(dsc_step_info, params);
    FIELD(dsc_step_info, grads), FIELD(dsc_step_info, steps), FIELD(dsc_step_info, n_params);
    FIELD(dsc_step_info, rows), FIELD(dsc_step_info, n_rows);
    close_struct();

    STRUCT(dsc_epoch_info);
    FIELD(dsc_epoch_info, epoch), FIELD(dsc_epoch_info, epochs), FIELD(dsc_epoch_info, loss);
    FIELD(dsc_epoch_info, val_loss), FIELD(dsc_epoch_info, seconds);
    close_struct();

    STRUCT(dsc_train_state);
    FIELD(dsc_train_state, epoch), FIELD(dsc_train_state, iterations);
    FIELD(dsc_train_state, optimizer_t), FIELD(dsc_train_state, n_state);
    FIELD(dsc_train_state, state), FIELD(dsc_train_state, best_val);
    FIELD(dsc_train_state, since_best), FIELD(dsc_train_state, n_best);
    FIELD(dsc_train_state, best);
    close_struct();

    STRUCT(dsc_train_params);
    FIELD(dsc_train_params, loss), FIELD(dsc_train_params, optimizer);
    FIELD(dsc_train_params, learning_rate), FIELD(dsc_train_params, momentum);
    FIELD(dsc_train_params, beta1), FIELD(dsc_train_params, beta2), FIELD(dsc_train_params, eps);
    FIELD(dsc_train_params, rms_alpha), FIELD(dsc_train_params, weight_decay);
    FIELD(dsc_train_params, dropout), FIELD(dsc_train_params, schedule);
    FIELD(dsc_train_params, lr_gamma), FIELD(dsc_train_params, lr_step);
    FIELD(dsc_train_params, lr_min), FIELD(dsc_train_params, batch);
    FIELD(dsc_train_params, epochs), FIELD(dsc_train_params, step_tol);
    FIELD(dsc_train_params, max_iter), FIELD(dsc_train_params, grad_tol);
    FIELD(dsc_train_params, loss_tol), FIELD(dsc_train_params, only);
    FIELD(dsc_train_params, seed), FIELD(dsc_train_params, threads), FIELD(dsc_train_params, val);
    FIELD(dsc_train_params, patience), FIELD(dsc_train_params, on_step);
    FIELD(dsc_train_params, on_step_light), FIELD(dsc_train_params, on_epoch);
    FIELD(dsc_train_params, on_checkpoint), FIELD(dsc_train_params, checkpoint_every);
    FIELD(dsc_train_params, resume), FIELD(dsc_train_params, lbfgs_style);
    FIELD(dsc_train_params, lbfgs_history), FIELD(dsc_train_params, user);
    FIELD(dsc_train_params, stop);
    close_struct();

    STRUCT(dsc_train_result);
    FIELD(dsc_train_result, stop), FIELD(dsc_train_result, iterations);
    FIELD(dsc_train_result, epochs), FIELD(dsc_train_result, loss);
    FIELD(dsc_train_result, val_loss), FIELD(dsc_train_result, grad_norm);
    FIELD(dsc_train_result, max_step), FIELD(dsc_train_result, seconds);
    FIELD(dsc_train_result, at_rounding_level), FIELD(dsc_train_result, comm_seconds);
    FIELD(dsc_train_result, wait_seconds);
    close_struct();

    STRUCT(dsc_model_summary);
    FIELD(dsc_model_summary, loss), FIELD(dsc_model_summary, optimizer);
    FIELD(dsc_model_summary, stop), FIELD(dsc_model_summary, iterations);
    FIELD(dsc_model_summary, epochs), FIELD(dsc_model_summary, samples);
    FIELD(dsc_model_summary, loss_value), FIELD(dsc_model_summary, val_loss);
    FIELD(dsc_model_summary, accuracy), FIELD(dsc_model_summary, seconds);
    close_struct();

    STRUCT(dsc_metrics);
    FIELD(dsc_metrics, n), FIELD(dsc_metrics, loss), FIELD(dsc_metrics, accuracy);
    FIELD(dsc_metrics, n_classes), FIELD(dsc_metrics, confusion), FIELD(dsc_metrics, precision);
    FIELD(dsc_metrics, recall), FIELD(dsc_metrics, f1), FIELD(dsc_metrics, mse);
    FIELD(dsc_metrics, mae), FIELD(dsc_metrics, r2);
    close_struct();

    STRUCT(dsc_csv_options);
    FIELD(dsc_csv_options, target), FIELD(dsc_csv_options, ignore);
    FIELD(dsc_csv_options, features), FIELD(dsc_csv_options, target_kind);
    FIELD(dsc_csv_options, keep), FIELD(dsc_csv_options, limits);
    close_struct();

    STRUCT(dsc_limits);
    FIELD(dsc_limits, max_bytes), FIELD(dsc_limits, max_line_bytes), FIELD(dsc_limits, max_rows);
    close_struct();

    /* Enumerations the package names by value. */
    printf(",\n  \"enums\": {\"DSC_ECANCELLED\": %d, \"DSC_EDIVERGED\": %d, ", (int)DSC_ECANCELLED,
           (int)DSC_EDIVERGED);
    printf("\"DSC_EUNSUPPORTED\": %d, \"DSC_ELIMIT\": %d}\n}\n", (int)DSC_EUNSUPPORTED,
           (int)DSC_ELIMIT);
    return 0;
}
