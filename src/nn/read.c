/* Reading a CSV file the way a model reads data: its input columns by
 * name, its target, and a classifier's labels matched to its classes. */
#include <string.h>

#include "../data/csv.h"
#include "nn.h"

/* The model's target names: one name for a classifier or a single output
 * (whatever commas it holds), else the comma-separated list it stores. */
static dsc_status target_names(const dsc_model *m, char ***names, size_t *n, char **buf)
{
    *names = NULL;
    *n = 0;
    *buf = NULL;
    if (!m->target) return DSC_OK;
    size_t out = m->units[m->n_layers], parts = 1;
    int split = !m->n_classes && out > 1;
    for (const char *p = m->target; split && *p; p++) parts += *p == ',';
    if (split && parts != out) split = 0, parts = 1;
    *buf = dsc_strdup(m->target);
    *names = dsc_malloc(parts * sizeof **names);
    if (!*buf || !*names) {
        dsc_free(*buf);
        dsc_free(*names);
        return dsc_fail(DSC_ENOMEM, "out of memory for column names");
    }
    char *p = *buf;
    for (size_t k = 0; k < parts; k++) {
        (*names)[k] = p;
        char *comma = split ? strchr(p, ',') : NULL;
        if (comma) *comma = '\0', p = comma + 1;
    }
    *n = parts;
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
    char **targets, *buf;
    dsc_status s = target_names(m, &targets, &nm.n_targets, &buf);
    if (s) return s;
    nm.targets = (const char *const *)targets;
    int has_target = !(co.target && !co.target[0]);
    if (co.target_kind == DSC_TARGET_AUTO && has_target)
        co.target_kind = m->n_classes ? DSC_TARGET_CLASSES : DSC_TARGET_VALUES;
    /* The model's own columns come first; options name columns for a model
     * that does not know them. */
    if (m->in_names) co.features = NULL;
    s = dsc_csv_read(path, &co, &nm, out);
    dsc_free(targets);
    dsc_free(buf);
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
