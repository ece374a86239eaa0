#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli.h"
#include "ranks.h"

int cli_error(int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Under mpirun only rank 0 prints; another rank's failure reaches it
     * through the next agreement (ranks.h). */
    cli_ranks_note(msg);
    if (cli_rank() == 0) fprintf(stderr, "descent: error: %s\n", msg);
    return status;
}

dsc_limits cli_limits = {(uint64_t)1 << 30, (uint64_t)1 << 20, 10000000};

int cli_fail(dsc_status s)
{
    const char *msg = dsc_last_error();
    return cli_error(EXIT_RUNTIME, "%s", *msg ? msg : dsc_strerror(s));
}

void cli_print_number(FILE *f, double v)
{
    char buf[64];
    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "Infinity" : "-Infinity", f);
        return;
    }
    /* The shortest text that reads back as the same float: results are
     * float32, so more digits would only show rounding noise. */
    dsc_format_float(buf, sizeof buf, v);
    fputs(buf, f);
}

static void print_help(const cli_command *c)
{
    printf("usage: %s\n\n%s\n\noptions:\n", c->synopsis, c->about);
    for (size_t i = 0; i < c->n_opts; i++) {
        const cli_opt *o = &c->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-24s %s\n", left, o->help);
    }
    printf("  %-24s %s\n", "--help", "show this help");
}

static int set_value(const cli_command *c, cli_opt *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_FLAG: *(int *)o->dest = 1; return -1;
    case OPT_STRING: *(const char **)o->dest = v; return -1;
    case OPT_DOUBLE: {
        double d;
        const char *e;
        if (dsc_parse_double(v, &e, &d) != 0 || *e != '\0' || !isfinite(d))
            return cli_error(EXIT_USAGE, "%s: --%s expects a number, not '%s'", c->name, o->name,
                             v);
        *(double *)o->dest = d;
        return -1;
    }
    case OPT_SIZE:
    case OPT_LONG:
    case OPT_U64:
    case OPT_BYTES: {
        /* Digits only: no sign, no blanks, no base prefix. */
        size_t digits = strspn(v, "0123456789");
        unsigned long long x = digits ? strtoull(v, &end, 10) : 0, mult = 1;
        const char *rest = v + digits;
        if (o->type == OPT_BYTES && digits && *rest && !rest[1]) {
            static const char units[] = "KMGT";
            char u = *rest >= 'a' && *rest <= 'z' ? (char)(*rest - 'a' + 'A') : *rest;
            const char *at = strchr(units, u);
            if (at) mult = 1ULL << (10 * (at - units + 1)), rest++;
        }
        if (!digits || *rest != '\0' || errno == ERANGE || x > ULLONG_MAX / mult ||
            (o->type == OPT_LONG && x > (unsigned long long)LONG_MAX))
            return cli_error(EXIT_USAGE, "%s: --%s expects a whole number >= 0%s, not '%s'",
                             c->name, o->name, o->type == OPT_BYTES ? " (K, M, G, T: KiB ...)" : "",
                             v);
        x *= mult;
        if (o->type == OPT_SIZE)
            *(size_t *)o->dest = (size_t)x;
        else if (o->type == OPT_LONG)
            *(long *)o->dest = (long)x;
        else if (o->type == OPT_BYTES)
            *(uint64_t *)o->dest = (uint64_t)x;
        else
            *(uint64_t *)o->dest = (uint64_t)x;
        return -1;
    }
    }
    return -1;
}

int cli_parse(cli_command *c, int argc, char **argv)
{
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (c->n_positional >= c->max_positional)
                return cli_error(EXIT_USAGE, "%s: unexpected argument '%s' (see descent %s --help)",
                                 c->name, a, c->name);
            c->positional[c->n_positional++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(c);
            return EXIT_OK;
        }
        if (a[1] != '-')
            return cli_error(EXIT_USAGE,
                             "%s: unknown option '%s' (options are --long; see "
                             "descent %s --help)",
                             c->name, a, c->name);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = NULL;
        for (size_t k = 0; k < c->n_opts; k++)
            if (strlen(c->opts[k].name) == len && strncmp(c->opts[k].name, name, len) == 0)
                o = &c->opts[k];
        if (!o)
            return cli_error(EXIT_USAGE, "%s: unknown option '--%.*s' (see descent %s --help)",
                             c->name, (int)len, name, c->name);
        const char *v = NULL;
        if (o->type == OPT_FLAG) {
            if (eq) return cli_error(EXIT_USAGE, "%s: --%s takes no value", c->name, o->name);
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return cli_error(EXIT_USAGE, "%s: --%s needs a value (%s)", c->name, o->name,
                             o->arg ? o->arg : "VALUE");
        }
        int r = set_value(c, o, v);
        if (r >= 0) return r;
        o->seen = 1;
    }
    return -1;
}

int cli_seen(const cli_command *c, const char *name)
{
    for (size_t k = 0; k < c->n_opts; k++)
        if (strcmp(c->opts[k].name, name) == 0) return c->opts[k].seen;
    return 0;
}
