/* The names the CLI and the docs use for each enum, in one table each.
 * Activations and losses are named by their ops (src/graph/ops.c). */
#include <string.h>

#include "base.h"

static const char *const optimizer_names[] = {"gd",   "sgd",   "momentum", "nesterov", "rmsprop",
                                              "adam", "adamw", "rprop",    "lbfgs"};
static const char *const schedule_names[] = {"constant", "step", "exp", "cosine"};
static const char *const init_names[] = {"default",       "normal",     "xavier_uniform",
                                         "xavier_normal", "he_uniform", "he_normal"};
static const char *const lbfgs_style_names[] = {"descent", "torch"};
static const char *const stop_names[] = {"step_size", "max_iter", "gradient", "loss",
                                         "epochs",    "diverged", "callback", "line_search_failed",
                                         "no_change"};

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "?";
}

/* Looks a name up; on failure the message lists every valid name. */
static dsc_status find_name(const char *const *names, size_t n, const char *what, const char *name,
                            int *out)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (int)i;
            return DSC_OK;
        }
    char list[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return dsc_fail(DSC_EINVAL, "unknown %s '%s' (valid: %s)", what, name ? name : "(null)", list);
}

#define NAME_FUNCS(type, prefix, names, what)                                                      \
    const char *prefix##_name(type v) { return name_of(names, DSC_COUNT_OF(names), (int)v); }      \
    dsc_status prefix##_from_name(const char *name, type *out)                                     \
    {                                                                                              \
        int v = 0;                                                                                 \
        dsc_status s = find_name(names, DSC_COUNT_OF(names), what, name, &v);                      \
        if (s == DSC_OK) *out = (type)v;                                                           \
        return s;                                                                                  \
    }

NAME_FUNCS(dsc_optimizer, dsc_optimizer, optimizer_names, "optimizer")
NAME_FUNCS(dsc_schedule, dsc_schedule, schedule_names, "schedule")
NAME_FUNCS(dsc_init, dsc_init, init_names, "initialisation")
NAME_FUNCS(dsc_lbfgs_style, dsc_lbfgs_style, lbfgs_style_names, "L-BFGS style")

const char *dsc_stop_name(dsc_stop_reason r)
{
    return name_of(stop_names, DSC_COUNT_OF(stop_names), (int)r);
}
