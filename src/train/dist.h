/* Data-parallel training, independent of the transport. Internal header.
 *
 * A run over N ranks is a single process's run with the same seed and
 * global batch: every rank holds all rows and draws the same shuffle; each
 * global batch [start, start + rows) is cut into N contiguous slices, rank k
 * computing the gradient of rows [start + rows*k/N, start + rows*(k+1)/N).
 * The slices' gradients, each weighted by its share of the batch for a mean
 * loss, are summed over the ranks, and every rank applies the same update.
 *
 * The transport (src/mpi/ for MPI) fills a dsc_dist; the training loop and
 * the metrics only call these hooks, so they build and test without MPI. */
#ifndef DSC_DIST_H
#define DSC_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "descent.h"

typedef struct dsc_dist {
    int rank, size;
    void *ctx;
    /* Sums v[0..n) over the ranks in place. Every rank must get the same
     * bits (the parameters stay identical only if the updates do). */
    dsc_status (*sum_floats)(void *ctx, float *v, size_t n);
    /* The same in double, summed in rank order: identical everywhere and
     * from run to run. For small vectors (losses, counts). */
    dsc_status (*sum_doubles)(void *ctx, double *v, size_t n);
    /* Copies rank 0's v[0..n) to every rank. */
    dsc_status (*broadcast_floats)(void *ctx, float *v, size_t n);
    /* Agreement on failure: returns DSC_OK when every rank passes DSC_OK,
     * otherwise the status of the lowest failing rank, whose message then
     * becomes dsc_last_error() on every rank. */
    dsc_status (*agree)(void *ctx, dsc_status local);
    /* Seconds spent inside sum_floats: waiting for every rank to arrive,
     * then summing, for the step's communication time. */
    double wait_seconds, comm_seconds;
} dsc_dist;

/* The rows [lo, hi) of n that rank takes (contiguous, sizes differ by at
 * most one; empty when n < size for the last ranks). */
static inline void dsc_dist_slice(const dsc_dist *dist, size_t n, size_t *lo, size_t *hi)
{
    if (!dist) {
        *lo = 0;
        *hi = n;
        return;
    }
    *lo = n * (size_t)dist->rank / (size_t)dist->size;
    *hi = n * ((size_t)dist->rank + 1) / (size_t)dist->size;
}

/* Tests: forces the number of sample groups a training step is cut into
 * (train.c; 0, the default, lets the rule choose from the rows and the
 * network). Not thread-safe: set it before dsc_train. */
extern size_t dsc_train_groups_forced;
/* The number of sample groups a step of at most `rows` rows of m is cut
 * into (by the rule, or as forced). */
size_t dsc_train_group_count(const dsc_model *m, size_t rows);

/* dsc_train over dist (NULL: one process). The parameters are first copied
 * from rank 0, and every rank must pass the same data and options: a
 * fingerprint of both is compared and a mismatch fails on every rank. */
dsc_status dsc_train_dist(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                          dsc_dist *dist, dsc_train_result *r);

/* dsc_evaluate_loss over dist: each rank scores its slice of the rows. */
dsc_status dsc_evaluate_loss_dist(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                  dsc_dist *dist, double *out);

/* dsc_model_evaluate over dist: each rank scores its slice of the rows and
 * the partial sums are added, so every rank gets the metrics of all rows. */
dsc_status dsc_model_evaluate_dist(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                   dsc_dist *dist, dsc_metrics *out);

#endif
