#include "seed.h"

#include <string.h>

#include "data/data.h"

const seed_demo seed_demos[] = {
    {"softplus-b3",
     "Backpropagation of b3 alone: softplus hidden units with trained weights, b3 from 0",
     "2:softplus",
     "identity",
     "1 -> 2:softplus -> 1:identity",
     {"w1", "b1", "w2", "b2", "w3", "w4", "b3"},
     {3.34f, -1.43f, -3.53f, 0.57f, -1.22f, -2.30f, 0.0f},
     "b3",
     0.1,
     0,
     1,
     "b3"},
    {"softplus",
     "All seven parameters by backpropagation, from the seed's starting values",
     "2:softplus",
     "identity",
     "1 -> 2:softplus -> 1:identity",
     {"w1", "b1", "w2", "b2", "w3", "w4", "b3"},
     {2.74f, 0.0f, -1.13f, 0.0f, 0.36f, 0.63f, 0.0f},
     NULL,
     0.1,
     0.001,
     1,
     "b3"},
    {"relu",
     "ReLU hidden units and a ReLU on the output, with the seed's weights",
     "2:relu",
     "relu",
     "1 -> 2:relu -> 1:relu",
     {"w1", "b1", "w2", "b2", "w3", "w4", "b3"},
     {1.70f, -0.85f, 12.6f, 0.0f, -40.8f, 2.70f, -16.0f},
     NULL,
     0.01,
     0,
     0,
     "b3"},
};
const size_t seed_n_demos = sizeof seed_demos / sizeof seed_demos[0];

const seed_demo *seed_find_demo(const char *name)
{
    for (size_t i = 0; i < seed_n_demos; i++)
        if (strcmp(seed_demos[i].name, name) == 0) return &seed_demos[i];
    return NULL;
}

/* The seed's own words for its columns, so plots and models say "dosage"
 * and "efficacy" rather than x and y. */
static dsc_status name_columns(dsc_dataset *d, const char *in, const char *out)
{
    if (!(d->in_names = dsc_calloc(1, sizeof(char *))) ||
        !(d->out_names = dsc_calloc(1, sizeof(char *))) || !(d->in_names[0] = dsc_strdup(in)) ||
        !(d->out_names[0] = dsc_strdup(out)) || !(d->target_name = dsc_strdup(out)))
        return dsc_fail(DSC_ENOMEM, "out of memory for column names");
    return DSC_OK;
}

dsc_status seed_dosage_new(dsc_dataset **d)
{
    static const float dosage[] = {0.0f, 0.5f, 1.0f}, efficacy[] = {0.0f, 1.0f, 0.0f};
    dsc_status s = dsc_dataset_from_arrays(dosage, efficacy, 3, 1, 1, d);
    if (!s && (s = name_columns(*d, "dosage", "efficacy"))) {
        dsc_dataset_free(*d);
        *d = NULL;
    }
    return s;
}

dsc_status seed_demo_new(const seed_demo *demo, dsc_model **m)
{
    dsc_status s = dsc_model_new(demo->spec, m);
    for (int i = 0; !s && i < 7; i++) s = dsc_model_set(*m, demo->names[i], demo->values[i]);
    if (s) {
        dsc_model_free(*m);
        *m = NULL;
    }
    return s;
}

const float seed_line_x[3] = {0.5f, 2.3f, 2.9f}, seed_line_y[3] = {1.4f, 1.9f, 3.2f};
