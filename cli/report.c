/* Reporting a model's figures (eval, train --test): one definition of the
 * keys and the units, so both commands say the same thing. */
#include "report.h"

#include <math.h>

const char *report_loss_units(const dsc_model *m)
{
    if (dsc_model_classes(m)) return "class probabilities";
    /* Targets standardised for training: the loss is computed on them
     * (as training computed it), the metrics on the targets as read. */
    return dsc_model_target_std(m) ? "standardized targets" : "target units";
}

void report_metrics_json(dsc_json *j, const dsc_model *m, dsc_loss loss, const dsc_metrics *mt)
{
    size_t K = mt->n_classes;
    dsc_json_kuint(j, "n", mt->n);
    dsc_json_kdouble(j, "loss", mt->loss);
    dsc_json_kstring(j, "loss_name", dsc_loss_name(loss));
    dsc_json_kstring(j, "loss_units", report_loss_units(m));
    dsc_json_kdouble(j, "accuracy", mt->accuracy);
    dsc_json_kdouble(j, "mse", mt->mse);
    dsc_json_kdouble(j, "mae", mt->mae);
    dsc_json_kdouble(j, "r2", mt->r2);
    if (!K) dsc_json_kstring(j, "metric_units", "target units (r2: a fraction)");
    if (!K) return;
    dsc_json_key(j, "per_class");
    dsc_json_object(j);
    for (size_t k = 0; k < K; k++) {
        dsc_json_key(j, dsc_model_class_label(m, k));
        dsc_json_object(j);
        dsc_json_kdouble(j, "precision", mt->precision[k]);
        dsc_json_kdouble(j, "recall", mt->recall[k]);
        dsc_json_kdouble(j, "f1", mt->f1[k]);
        dsc_json_end(j);
    }
    dsc_json_end(j);
    dsc_json_key(j, "confusion");
    dsc_json_array(j);
    for (size_t i = 0; i < K; i++) {
        dsc_json_array(j);
        for (size_t k = 0; k < K; k++) dsc_json_uint(j, mt->confusion[i * K + k]);
        dsc_json_end(j);
    }
    dsc_json_end(j);
}

void report_metrics_text(FILE *f, const dsc_model *m, dsc_loss loss, const dsc_metrics *mt)
{
    size_t K = mt->n_classes;
    fprintf(f, "loss         %.6g (%s on %s, as trained)\n", mt->loss, dsc_loss_name(loss),
            report_loss_units(m));
    if (!K) {
        fprintf(f,
                "MSE          %.6g (target units squared)\nMAE          %.6g (target units)\n"
                "R2           %.6g (fraction of the target's variance explained)\n",
                mt->mse, mt->mae, mt->r2);
        return;
    }
    fprintf(f, "accuracy     %.4f\n\n%-16s %9s %9s %9s\n", mt->accuracy, "class", "precision",
            "recall", "f1");
    for (size_t k = 0; k < K; k++)
        fprintf(f, "%-16s %9.4f %9.4f %9.4f\n", dsc_model_class_label(m, k), mt->precision[k],
                mt->recall[k], mt->f1[k]);
    fprintf(f, "\nconfusion (rows: true class, columns: predicted)\n");
    for (size_t i = 0; i < K; i++) {
        fprintf(f, "%-16s", dsc_model_class_label(m, i));
        for (size_t k = 0; k < K; k++) fprintf(f, " %6zu", mt->confusion[i * K + k]);
        fprintf(f, "\n");
    }
}
