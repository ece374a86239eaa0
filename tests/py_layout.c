/* Prints, as JSON, the size of every struct of descent.h the Python package
 * mirrors with ctypes, and the offset of each field, for
 * python/tests/test_layout.py to compare with its ctypes copies. A field
 * added in C changes the size, so the test fails until Python has it too. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "descent.h"

/* One row per field: its struct (name and size), its name and offset. */
typedef struct {
    const char *type;
    size_t size;
    const char *field;
    size_t offset;
} row;

// clang-format off
#define F(T, f) {#T, sizeof(T), #f, offsetof(T, f)}
#define STEP(f)    F(dsc_step_info, f)
#define EPOCH(f)   F(dsc_epoch_info, f)
#define STATE(f)   F(dsc_train_state, f)
#define PARAMS(f)  F(dsc_train_params, f)
#define RESULT(f)  F(dsc_train_result, f)
#define SUMMARY(f) F(dsc_model_summary, f)
#define METRICS(f) F(dsc_metrics, f)
#define CSV(f)     F(dsc_csv_options, f)
#define LIMITS(f)  F(dsc_limits, f)

static const row rows[] = {
    STEP(iter), STEP(epoch), STEP(loss), STEP(learning_rate), STEP(params), STEP(grads),
    STEP(steps), STEP(n_params), STEP(rows), STEP(n_rows),

    EPOCH(epoch), EPOCH(epochs), EPOCH(loss), EPOCH(val_loss), EPOCH(seconds),

    STATE(epoch), STATE(iterations), STATE(optimizer_t), STATE(n_state), STATE(state),
    STATE(best_val), STATE(since_best), STATE(n_best), STATE(best),

    PARAMS(loss), PARAMS(optimizer), PARAMS(learning_rate), PARAMS(momentum), PARAMS(beta1),
    PARAMS(beta2), PARAMS(eps), PARAMS(rms_alpha), PARAMS(weight_decay), PARAMS(dropout),
    PARAMS(schedule), PARAMS(lr_gamma), PARAMS(lr_step), PARAMS(lr_min), PARAMS(batch),
    PARAMS(epochs), PARAMS(step_tol), PARAMS(max_iter), PARAMS(grad_tol), PARAMS(loss_tol),
    PARAMS(only), PARAMS(seed), PARAMS(threads), PARAMS(val), PARAMS(patience), PARAMS(on_step),
    PARAMS(on_step_light), PARAMS(on_epoch), PARAMS(on_checkpoint), PARAMS(checkpoint_every),
    PARAMS(resume), PARAMS(lbfgs_style), PARAMS(lbfgs_history), PARAMS(l2), PARAMS(user),
    PARAMS(stop), PARAMS(no_change_tol), PARAMS(no_change_epochs), PARAMS(loss_curve),
    PARAMS(checkpoint_at_end),

    RESULT(stop), RESULT(iterations), RESULT(epochs), RESULT(loss), RESULT(val_loss),
    RESULT(grad_norm), RESULT(max_step), RESULT(seconds), RESULT(at_rounding_level),
    RESULT(comm_seconds), RESULT(wait_seconds),

    SUMMARY(loss), SUMMARY(optimizer), SUMMARY(stop), SUMMARY(iterations), SUMMARY(epochs),
    SUMMARY(samples), SUMMARY(loss_value), SUMMARY(val_loss), SUMMARY(accuracy), SUMMARY(seconds),

    METRICS(n), METRICS(loss), METRICS(accuracy), METRICS(n_classes), METRICS(confusion),
    METRICS(precision), METRICS(recall), METRICS(f1), METRICS(mse), METRICS(mae), METRICS(r2),

    CSV(target), CSV(ignore), CSV(features), CSV(target_kind), CSV(keep), CSV(limits),

    LIMITS(max_bytes), LIMITS(max_line_bytes), LIMITS(max_rows),
};
// clang-format on

int main(void)
{
    const char *open = NULL; /* the struct being printed */
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        int same = open && strcmp(open, r->type) == 0;
        if (!same)
            printf("%s\n  \"%s\": {\"size\": %zu, \"fields\": {", open ? "}}," : "{", r->type,
                   r->size);
        printf("%s\"%s\": %zu", same ? ", " : "", r->field, r->offset);
        open = r->type;
    }
    /* Enumerations the package names by value. */
    printf("}},\n  \"enums\": {\"DSC_ECANCELLED\": %d, \"DSC_EDIVERGED\": %d, ",
           (int)DSC_ECANCELLED, (int)DSC_EDIVERGED);
    printf("\"DSC_EUNSUPPORTED\": %d, \"DSC_ELIMIT\": %d}\n}\n", (int)DSC_EUNSUPPORTED,
           (int)DSC_ELIMIT);
    return 0;
}
