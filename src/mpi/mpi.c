/* The MPI transport of data-parallel training: the hooks of
 * src/train/dist.h over an MPI communicator. MPI does all communication;
 * this file only decides how sums are formed so that every rank gets the
 * same bits. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../base/base.h"
#include "../train/dist.h"
#include "descent_mpi.h"

typedef struct {
    MPI_Comm comm;
    int rank, size;
    float *f; /* padded copy of a float vector being summed */
    size_t fcap;
    double *d; /* every rank's doubles, side by side */
    size_t dcap;
    double *wait_seconds, *comm_seconds; /* the dist's clocks of gradient sums */
} mpi_ctx;

static dsc_status mpi_failed(int code, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
    text[len] = '\0';
    return dsc_fail(DSC_EIO, "MPI %s failed: %s", what, len ? text : "unknown error");
}

/* Every rank must end with the same bits, which MPI_Allreduce does not
 * promise in general. Two ranks: each element is one addition, a + b or
 * b + a, the same number either way, so MPI_Allreduce is safe (and the
 * fastest). More: reduce-scatter, then all-gather, so each block is summed
 * once, by one rank, and copied to the others; it is also the
 * bandwidth-optimal shape (each rank sends 2 (N-1)/N of the vector). */
static dsc_status sum_floats(void *ctx, float *v, size_t n)
{
    mpi_ctx *c = ctx;
    if (c->size == 1) return DSC_OK;
    /* A barrier first splits the time into waiting for the slowest rank
     * and the sum itself (a few microseconds on one node; without it the
     * wait would show up as communication). */
    double t_arrive = MPI_Wtime();
    int eb = MPI_Barrier(c->comm);
    if (eb != MPI_SUCCESS) return mpi_failed(eb, "gradient sum");
    double t0 = MPI_Wtime();
    *c->wait_seconds += t0 - t_arrive;
    if (c->size == 2 && n <= (size_t)INT32_MAX) {
        int e = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, c->comm);
        if (e != MPI_SUCCESS) return mpi_failed(e, "gradient sum");
        *c->comm_seconds += MPI_Wtime() - t0;
        return DSC_OK;
    }
    size_t block = (n + (size_t)c->size - 1) / (size_t)c->size;
    size_t total = block * (size_t)c->size;
    if (block > (size_t)INT32_MAX) return dsc_fail(DSC_EINVAL, "a gradient too large for MPI");
    if (total > c->fcap) {
        float *f = dsc_malloc(total * sizeof(float));
        if (!f) return dsc_fail(DSC_ENOMEM, "out of memory for the gradient sums");
        dsc_free(c->f);
        c->f = f;
        c->fcap = total;
    }
    memcpy(c->f, v, n * sizeof(float));
    memset(c->f + n, 0, (total - n) * sizeof(float));
    float *mine = c->f + block * (size_t)c->rank;
    int e = MPI_Reduce_scatter_block(MPI_IN_PLACE, c->f, (int)block, MPI_FLOAT, MPI_SUM, c->comm);
    /* In place, the result lands at the start of the buffer. */
    if (e == MPI_SUCCESS && c->rank) memmove(mine, c->f, block * sizeof(float));
    if (e == MPI_SUCCESS)
        e = MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, c->f, (int)block, MPI_FLOAT, c->comm);
    if (e != MPI_SUCCESS) return mpi_failed(e, "gradient sum");
    memcpy(v, c->f, n * sizeof(float));
    *c->comm_seconds += MPI_Wtime() - t0;
    return DSC_OK;
}

/* Every rank's values gathered, then added in rank order on each rank. */
static dsc_status sum_doubles(void *ctx, double *v, size_t n)
{
    mpi_ctx *c = ctx;
    if (c->size == 1) return DSC_OK;
    size_t total = n * (size_t)c->size;
    if (n > (size_t)INT32_MAX / (size_t)c->size) return dsc_fail(DSC_EINVAL, "a sum too large");
    if (total > c->dcap) {
        double *d = dsc_malloc(total * sizeof(double));
        if (!d) return dsc_fail(DSC_ENOMEM, "out of memory for a sum over ranks");
        dsc_free(c->d);
        c->d = d;
        c->dcap = total;
    }
    int e = MPI_Allgather(v, (int)n, MPI_DOUBLE, c->d, (int)n, MPI_DOUBLE, c->comm);
    if (e != MPI_SUCCESS) return mpi_failed(e, "sum");
    for (size_t j = 0; j < n; j++) {
        double s = 0.0;
        for (int r = 0; r < c->size; r++) s += c->d[(size_t)r * n + j];
        v[j] = s;
    }
    return DSC_OK;
}

static dsc_status broadcast_floats(void *ctx, float *v, size_t n)
{
    mpi_ctx *c = ctx;
    if (c->size == 1) return DSC_OK;
    /* Chunks keep each count within int. */
    for (size_t i = 0; i < n; i += 1u << 30) {
        size_t k = n - i < (1u << 30) ? n - i : (1u << 30);
        int e = MPI_Bcast(v + i, (int)k, MPI_FLOAT, 0, c->comm);
        if (e != MPI_SUCCESS) return mpi_failed(e, "broadcast");
    }
    return DSC_OK;
}

static dsc_status agree(void *ctx, dsc_status local)
{
    mpi_ctx *c = ctx;
    if (c->size == 1) return local;
    int mine = (int)local, first = -1, status = 0;
    int *all = dsc_malloc((size_t)c->size * sizeof(int));
    if (!all) return dsc_fail(DSC_ENOMEM, "out of memory for a status exchange");
    int e = MPI_Allgather(&mine, 1, MPI_INT, all, 1, MPI_INT, c->comm);
    for (int r = 0; e == MPI_SUCCESS && r < c->size; r++)
        if (all[r] != DSC_OK) {
            first = r;
            status = all[r];
            break;
        }
    dsc_free(all);
    if (e != MPI_SUCCESS) return mpi_failed(e, "status exchange");
    if (first < 0) return DSC_OK;
    /* The failing rank's message, word for word, on every rank. */
    char msg[1024];
    if (c->rank == first) snprintf(msg, sizeof msg, "%s", dsc_last_error());
    e = MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, c->comm);
    if (e != MPI_SUCCESS) return mpi_failed(e, "message broadcast");
    msg[sizeof msg - 1] = '\0';
    /* Rank 0's words stand alone; another rank's carry its number. */
    if (first == 0)
        return c->rank == 0 ? (dsc_status)status : dsc_fail((dsc_status)status, "%s", msg);
    return dsc_fail((dsc_status)status, "rank %d: %s", first, msg);
}

/* A context on a duplicate of comm whose errors return instead of abort. */
static dsc_status ctx_open(MPI_Comm comm, mpi_ctx *c, dsc_dist *dist)
{
    memset(c, 0, sizeof *c);
    int init = 0;
    MPI_Initialized(&init);
    if (!init) return dsc_fail(DSC_EINVAL, "MPI is not initialised (call MPI_Init first)");
    int e = MPI_Comm_dup(comm, &c->comm);
    if (e != MPI_SUCCESS) return mpi_failed(e, "communicator duplicate");
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    memset(dist, 0, sizeof *dist);
    dist->rank = c->rank;
    dist->size = c->size;
    dist->ctx = c;
    dist->sum_floats = sum_floats;
    dist->sum_doubles = sum_doubles;
    dist->broadcast_floats = broadcast_floats;
    dist->agree = agree;
    c->comm_seconds = &dist->comm_seconds;
    c->wait_seconds = &dist->wait_seconds;
    return DSC_OK;
}

static void ctx_close(mpi_ctx *c)
{
    dsc_free(c->f);
    dsc_free(c->d);
    MPI_Comm_free(&c->comm);
}

dsc_status dsc_train_mpi(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                         MPI_Comm comm, dsc_train_result *r)
{
    mpi_ctx c;
    dsc_dist dist;
    dsc_status s = ctx_open(comm, &c, &dist);
    if (s) return s;
    s = dsc_train_dist(m, d, p, &dist, r);
    ctx_close(&c);
    return s;
}

dsc_status dsc_model_evaluate_mpi(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                  MPI_Comm comm, dsc_metrics *out)
{
    mpi_ctx c;
    dsc_dist dist;
    dsc_status s = ctx_open(comm, &c, &dist);
    if (s) return s;
    s = dsc_model_evaluate_dist(m, d, loss, &dist, out);
    ctx_close(&c);
    return s;
}
