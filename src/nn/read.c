/* Reading a CSV file the way a model reads data: its input columns by
 * name, its target, and a classifier's labels matched to its classes. */
#include <string.h>

#include "../data/csv.h"
#include "nn.h"

/* The model's target names: one name for a classifier or a single output
 * (whatever commas it holds), else the column list it stores (names quoted
 * where they need it, as the CSV reader joins them). */
static dsc_status target_names(const dsc_model *m, dsc_col_item **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!m->target) return DSC_OK;
    size_t out = m->units[m->n_layers];
    if (!m->n_classes && out > 1) {
        dsc_col_item *v;
        size_t k;
        if (dsc_col_list_parse(m->target, "target", &v, &k) == DSC_OK) {
            int names_only = k == out;
            for (size_t j = 0; j < k && names_only; j++) names_only = v[j].name != NULL;
            if (names_only) {
                *items = v;
                *n = k;
                return DSC_OK;
            }
            dsc_col_list_free(v, k);
        }
    }
    *items = dsc_calloc(1, sizeof **items);
    if (!*items || !((*items)[0].name = dsc_strdup(m->target))) {
        dsc_free(*items);
        *items = NULL;
        return dsc_fail(DSC_ENOMEM, "out of memory for column names");
    }
    *n = 1;
    return DSC_OK;
}

dsc_status dsc_model_read_csv(const dsc_model *m, const char *path, const dsc_csv_options *o,
                              dsc_dataset **out)
{
    if (!out) return dsc_fail(DSC_EINVAL, "dsc_model_read_csv: out is NULL");
    *out = NULL;
    if (!m || !path) return dsc_fail(DSC_EINVAL, "dsc_model_read_csv: NULL model or path");
    dsc_csv_options co;
    if (o)
        co = *o;
    else
        dsc_csv_options_init(&co);
    dsc_csv_names nm = {NULL, 0, NULL, 0};
    if (m->in_names) {
        nm.features = (const char *const *)m->in_names;
        nm.n_features = m->units[0];
    }
    dsc_col_item *items;
    dsc_status s = target_names(m, &items, &nm.n_targets);
    if (s) return s;
    const char **targets = nm.n_targets ? dsc_malloc(nm.n_targets * sizeof *targets) : NULL;
    if (nm.n_targets && !targets) {
        dsc_col_list_free(items, nm.n_targets);
        return dsc_fail(DSC_ENOMEM, "out of memory for column names");
    }
    for (size_t j = 0; j < nm.n_targets; j++) targets[j] = items[j].name;
    nm.targets = targets;
    int has_target = !(co.target && !co.target[0]);
    if (co.target_kind == DSC_TARGET_AUTO && has_target)
        co.target_kind = m->n_classes ? DSC_TARGET_CLASSES : DSC_TARGET_VALUES;
    /* The model's own columns come first; options name columns for a model
     * that does not know them. */
    if (m->in_names) co.features = NULL;
    s = dsc_csv_read(path, &co, &nm, out);
    dsc_free(targets);
    dsc_col_list_free(items, nm.n_targets);
    if (!s && has_target) {
        /* Every label must be one of the model's, found here rather than
         * when the data is first used. */
        dsc_dataset *d = *out;
        size_t *map = d->n_classes ? dsc_malloc(d->n_classes * sizeof *map) : NULL;
        if (d->n_classes && !map)
            s = dsc_fail(DSC_ENOMEM, "out of memory for class labels");
        else if (!(s = dsc_model_check_data(m, d, path)) && map)
            s = dsc_dataset_class_map(d, (const char *const *)m->classes, m->n_classes, "the model",
                                      map);
        dsc_free(map);
    } else if (!s && (*out)->n_in != m->units[0]) {
        s = dsc_fail(DSC_ESHAPE, "%s has %zu input columns, the model takes %zu", path,
                     (*out)->n_in, m->units[0]);
    }
    if (s) {
        dsc_dataset_free(*out);
        *out = NULL;
    }
    return s;
}
