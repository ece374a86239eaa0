/* Column lists, as options name columns (dsc_csv_options, --target,
 * --features, ...): items separated by commas, each a name, a quoted name
 * or #N for the N-th column. descent.h documents the syntax. */
#include <string.h>

#include "base.h"

static int is_blank(char c) { return c == ' ' || c == '\t'; }

void dsc_col_list_free(dsc_col_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) dsc_free(items[i].name);
    dsc_free(items);
}

/* One item of s, from *p up to the comma that ends it (or the end). */
static dsc_status parse_item(const char *list, const char *what, const char **p, dsc_col_item *it)
{
    const char *s = *p;
    while (is_blank(*s)) s++;
    it->name = NULL;
    it->index = 0;
    if (*s == '"') {
        /* A quoted name: exactly what is between the quotes, "" a quote. */
        size_t len = 0;
        const char *q = s + 1;
        for (;; q++) {
            if (!*q)
                return dsc_fail(DSC_EINVAL, "the %s list '%s' has a quote that is not closed", what,
                                list);
            if (*q == '"') {
                if (q[1] != '"') break;
                q++;
            }
            len++;
        }
        char *name = dsc_malloc(len + 1), *o = name;
        if (!name) return dsc_fail(DSC_ENOMEM, "out of memory for a column list");
        for (const char *c = s + 1; c < q; c++) {
            *o++ = *c;
            if (*c == '"') c++;
        }
        *o = '\0';
        q++;
        while (is_blank(*q)) q++;
        if (*q && *q != ',') {
            dsc_free(name);
            return dsc_fail(DSC_EINVAL,
                            "the %s list '%s': text after a quoted name (a name with a comma "
                            "is written \"a,b\")",
                            what, list);
        }
        it->name = name;
        *p = q;
        return DSC_OK;
    }
    const char *e = strchr(s, ',');
    if (!e) e = s + strlen(s);
    const char *b = e;
    while (b > s && is_blank(b[-1])) b--;
    size_t len = (size_t)(b - s);
    if (len == 0) return dsc_fail(DSC_EINVAL, "the %s list '%s' has an empty item", what, list);
    if (*s == '#') {
        /* #N: the N-th column, counted from 1. */
        size_t v = 0, digits = strspn(s + 1, "0123456789");
        if (digits == 0 || digits + 1 != len || digits > 9)
            return dsc_fail(DSC_EINVAL,
                            "the %s list '%s': '%.*s' is not a column number (#1, #2, ...; a "
                            "name that starts with # is written in quotes: \"#x\")",
                            what, list, (int)(len < 40 ? len : 40), s);
        for (size_t k = 1; k <= digits; k++) v = v * 10 + (size_t)(s[k] - '0');
        if (v == 0)
            return dsc_fail(DSC_EINVAL, "the %s list '%s': columns are counted from #1", what,
                            list);
        it->index = v;
    } else {
        if (!(it->name = dsc_malloc(len + 1)))
            return dsc_fail(DSC_ENOMEM, "out of memory for a column list");
        memcpy(it->name, s, len);
        it->name[len] = '\0';
    }
    *p = e;
    return DSC_OK;
}

dsc_status dsc_col_list_parse(const char *list, const char *what, dsc_col_item **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!list) return dsc_fail(DSC_EINVAL, "no %s list", what);
    size_t cap = 1;
    for (const char *s = list; *s; s++) cap += *s == ',';
    dsc_col_item *v = dsc_calloc(cap, sizeof *v);
    if (!v) return dsc_fail(DSC_ENOMEM, "out of memory for a column list");
    const char *p = list;
    size_t k = 0;
    for (;;) {
        dsc_status s = parse_item(list, what, &p, &v[k]);
        if (s) {
            dsc_col_list_free(v, k);
            return s;
        }
        k++;
        if (!*p) break;
        p++; /* the comma */
    }
    *items = v;
    *n = k;
    return DSC_OK;
}

/* A name reads back unchanged without quotes unless it is empty, has a
 * comma, a quote at its start, blanks at either end, or starts with #. */
static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    return n == 0 || strchr(s, ',') || s[0] == '"' || s[0] == '#' || is_blank(s[0]) ||
           is_blank(s[n - 1]);
}

char *dsc_col_list_join(const char *const *names, size_t n)
{
    size_t len = 1;
    for (size_t j = 0; j < n; j++) {
        len += strlen(names[j]) + 3;
        for (const char *c = names[j]; *c; c++) len += *c == '"';
    }
    char *s = dsc_malloc(len), *o = s;
    if (!s) return NULL;
    for (size_t j = 0; j < n; j++) {
        if (j) *o++ = ',';
        int q = needs_quotes(names[j]);
        if (q) *o++ = '"';
        for (const char *c = names[j]; *c; c++) {
            if (q && *c == '"') *o++ = '"';
            *o++ = *c;
        }
        if (q) *o++ = '"';
    }
    *o = '\0';
    return s;
}
