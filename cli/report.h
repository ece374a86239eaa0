/* How eval and train --test report a model's figures on a data set, with
 * the units each is in. */
#ifndef DSC_CLI_REPORT_H
#define DSC_CLI_REPORT_H

#include <stdio.h>

#include "descent.h"
#include "io/json.h"

/* What the loss is measured on: "class probabilities", "standardized
 * targets" (a regression that standardised its targets: the loss is in the
 * units it trained in), or "target units". */
const char *report_loss_units(const dsc_model *m);

/* The figures as keys of the JSON object being written: n, loss,
 * loss_name, loss_units, accuracy, mse, mae, r2, metric_units and, for a
 * classifier, per_class (every class of the model, in its order) and
 * confusion (rows: true class). Metrics in double precision, at least 9
 * significant digits; undefined ones null. */
void report_metrics_json(dsc_json *j, const dsc_model *m, dsc_loss loss, const dsc_metrics *mt);

/* The same as text, one figure a line, each with its units. */
void report_metrics_text(FILE *f, const dsc_model *m, dsc_loss loss, const dsc_metrics *mt);

#endif
