/* Splitting a data set into training and validation parts.
 *
 * The validation rows are the first k of a seeded Fisher-Yates shuffle of
 * all row indexes (RNG stream 3, so the split does not move when other
 * seeded draws change), and each part keeps the rows in their original
 * order: the same seed always gives the same parts, and a part can be
 * compared with the file it came from by eye.
 */
#include <math.h>
#include <string.h>

#include "data.h"

#define SPLIT_STREAM 3

static char **copy_names(char *const *src, size_t n)
{
    if (!src) return NULL;
    char **names = dsc_calloc(n, sizeof *names);
    if (!names) return NULL;
    for (size_t j = 0; j < n; j++) {
        if (!(names[j] = dsc_strdup(src[j]))) {
            for (size_t k = 0; k < j; k++) dsc_free(names[k]);
            dsc_free(names);
            return NULL;
        }
    }
    return names;
}

/* The kept text columns of the rows of d whose mark equals want, into p. */
static dsc_status take_kept(const dsc_dataset *d, const unsigned char *mark, unsigned char want,
                            size_t rows, dsc_dataset *p)
{
    size_t k = d->n_kept, len = 0;
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; mark[i] == want && j < k; j++)
            len += strlen(d->kept_text + d->kept_off[i * k + j]) + 1;
    p->kept_text = dsc_malloc(len ? len : 1);
    p->kept_off = dsc_malloc(rows * k * sizeof *p->kept_off);
    p->kept_names = copy_names(d->kept_names, k);
    p->n_kept = k;
    if (!p->kept_text || !p->kept_off || !p->kept_names)
        return dsc_fail(DSC_ENOMEM, "out of memory splitting a data set of %zu rows", d->n);
    size_t at = 0, r = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (mark[i] != want) continue;
        for (size_t j = 0; j < k; j++) {
            const char *t = d->kept_text + d->kept_off[i * k + j];
            size_t n = strlen(t) + 1;
            memcpy(p->kept_text + at, t, n);
            p->kept_off[r * k + j] = at;
            at += n;
        }
        r++;
    }
    return DSC_OK;
}

/* The rows of d whose mark equals want, in order, with d's names. */
static dsc_status take_rows(const dsc_dataset *d, const unsigned char *mark, unsigned char want,
                            size_t rows, dsc_dataset **out)
{
    dsc_dataset *p;
    dsc_status st = dsc_dataset_alloc(rows, d->n_in, d->n_out, &p);
    if (st) return st;
    p->input_div = d->input_div;
    if (d->x8) {
        /* Byte data stays bytes in both parts. */
        dsc_free(p->x);
        p->x = NULL;
        p->x8_div = d->x8_div;
        if (!(p->x8 = dsc_malloc(rows * d->n_in))) goto oom;
    }
    /* Each part keeps where its rows came from, for messages. */
    if (d->row_line && !(p->row_line = dsc_malloc(rows * sizeof *p->row_line))) goto oom;
    size_t r = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (mark[i] != want) continue;
        if (d->x8)
            memcpy(p->x8 + r * d->n_in, d->x8 + i * d->n_in, d->n_in);
        else
            memcpy(p->x + r * d->n_in, d->x + i * d->n_in, d->n_in * sizeof(float));
        if (d->n_out) memcpy(p->y + r * d->n_out, d->y + i * d->n_out, d->n_out * sizeof(float));
        if (d->row_line) p->row_line[r] = d->row_line[i];
        r++;
    }
    /* Each copy is checked on its own: a NULL source is not a failure. */
    if ((d->in_names && !(p->in_names = copy_names(d->in_names, d->n_in))) ||
        (d->out_names && !(p->out_names = copy_names(d->out_names, d->n_out))) ||
        (d->target_name && !(p->target_name = dsc_strdup(d->target_name))) ||
        (d->source && !(p->source = dsc_strdup(d->source))))
        goto oom;
    p->in_rank = d->in_rank;
    memcpy(p->in_dims, d->in_dims, sizeof p->in_dims);
    if (d->n_kept && (st = take_kept(d, mark, want, rows, p))) {
        dsc_dataset_free(p);
        return st;
    }
    if (d->tcol) {
        if (!(p->tcol = dsc_malloc(d->n_tcol * sizeof *p->tcol))) goto oom;
        memcpy(p->tcol, d->tcol, d->n_tcol * sizeof *p->tcol);
        p->n_tcol = d->n_tcol;
    }
    if (d->classes) {
        if (!(p->classes = copy_names(d->classes, d->n_classes))) goto oom;
        p->n_classes = d->n_classes;
    }
    *out = p;
    return DSC_OK;
oom:
    dsc_dataset_free(p);
    return dsc_fail(DSC_ENOMEM, "out of memory splitting a data set of %zu rows", d->n);
}

dsc_status dsc_dataset_split(const dsc_dataset *d, double fraction, uint64_t seed,
                             dsc_dataset **train, dsc_dataset **val)
{
    if (!train || !val) return dsc_fail(DSC_EINVAL, "dsc_dataset_split: train or val is NULL");
    *train = *val = NULL;
    if (!d) return dsc_fail(DSC_EINVAL, "dsc_dataset_split: the data set is NULL");
    if (!(fraction > 0 && fraction < 1))
        return dsc_fail(DSC_EINVAL, "validation fraction %g is not between 0 and 1 (exclusive)",
                        fraction);
    if (d->n < 2)
        return dsc_fail(DSC_EINVAL, "cannot split a data set of %zu row%s: each part needs one",
                        d->n, d->n == 1 ? "" : "s");
    if (d->n > UINT32_MAX)
        return dsc_fail(DSC_EUNSUPPORTED, "cannot split a data set of %zu rows (at most %lu)", d->n,
                        (unsigned long)UINT32_MAX);
    size_t n = d->n;
    double want = floor(fraction * (double)n + 0.5);
    size_t k = want < 1 ? 1 : want > (double)(n - 1) ? n - 1 : (size_t)want;

    uint32_t *idx = dsc_malloc(n * sizeof *idx);
    unsigned char *mark = dsc_calloc(n, 1);
    dsc_status st = DSC_OK;
    if (!idx || !mark) {
        st = dsc_fail(DSC_ENOMEM, "out of memory splitting a data set of %zu rows", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    dsc_rng rng;
    dsc_rng_seed(&rng, seed, SPLIT_STREAM);
    dsc_rng_shuffle(&rng, idx, n);
    /* Marking instead of sorting the chosen indexes keeps file order in
     * O(n). */
    for (size_t i = 0; i < k; i++) mark[idx[i]] = 1;
    if ((st = take_rows(d, mark, 0, n - k, train)) || (st = take_rows(d, mark, 1, k, val))) {
        dsc_dataset_free(*train);
        *train = NULL;
    }
done:
    dsc_free(idx);
    dsc_free(mark);
    return st;
}
