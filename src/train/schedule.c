/* Learning-rate schedules: the rate of one update from its index. */
#include <math.h>

#include "optim.h"

double dsc_schedule_lr(dsc_schedule s, double lr0, double gamma, size_t step_size, double lr_min,
                       size_t t, size_t total)
{
    switch (s) {
    case DSC_SCHED_CONSTANT: return lr0;
    case DSC_SCHED_STEP: {
        if (gamma == 0) gamma = 0.1;
        if (step_size == 0) {
            /* A period of total/3 needs the total; decaying every update
             * instead would end any long run at lr 0. */
            if (total == 0) return lr0;
            step_size = total / 3 > 0 ? total / 3 : 1;
        }
        return lr0 * pow(gamma, (double)(t / step_size));
    }
    case DSC_SCHED_EXP:
        if (gamma == 0) gamma = 0.99;
        return lr0 * pow(gamma, (double)t);
    case DSC_SCHED_COSINE: {
        if (total == 0) return lr0;
        if (t >= total) return lr_min;
        const double pi = 3.14159265358979323846;
        return lr_min + (lr0 - lr_min) * (1.0 + cos(pi * (double)t / (double)total)) / 2.0;
    }
    }
    return lr0;
}
