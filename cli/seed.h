/* The seed's examples as data: its network demos on the dosage data and
 * its three (weight, height) points. Shared by the command line and the
 * lesson page's engine (which is built for WebAssembly too), so nothing
 * here prints or depends on the command line. */
#ifndef DSC_CLI_SEED_H
#define DSC_CLI_SEED_H

#include <stddef.h>

#include "descent.h"

typedef struct {
    const char *name;
    const char *title;
    const char *layers; /* for `train --layers` */
    const char *output;
    const char *spec;
    const char *names[7];
    float values[7];
    const char *only;
    double lr;
    double loss_tol;
    int train_by_default; /* 0: evaluate the given weights unless --max-iter */
    const char *sweep;
} seed_demo;

extern const seed_demo seed_demos[];
extern const size_t seed_n_demos;
const seed_demo *seed_find_demo(const char *name);

/* The dosage data: 0, 0.5, 1 -> 0, 1, 0. */
dsc_status seed_dosage_new(dsc_dataset **d);
/* A model with the demo's weights. */
dsc_status seed_demo_new(const seed_demo *demo, dsc_model **m);

/* The seed's line data: weights 0.5, 2.3, 2.9 and heights 1.4, 1.9, 3.2. */
extern const float seed_line_x[3], seed_line_y[3];

#endif
