/**
 * descent_mpi.h: data-parallel training over MPI (libdescent_mpi).
 *
 * For C programs that already use MPI: call these on every rank of a
 * communicator, with the same data, model and options on each. The run is
 * the run one process would make with the same seed and (global) batch:
 * every rank draws the same shuffle, takes its slice of each batch, and the
 * gradients are summed over the ranks before every update, so all ranks
 * hold the same parameters at every step. See docs/SCALING.md.
 *
 * Link with -ldescent_mpi -ldescent and your MPI (mpicc does the latter).
 * The calls use a duplicate of comm, so they never mix with your messages,
 * and MPI errors come back as statuses instead of aborting.
 */
#ifndef DESCENT_MPI_H
#define DESCENT_MPI_H

#include <mpi.h>

#include "descent.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * dsc_train over the ranks of comm (a collective call). Every rank starts
 * from rank 0's parameters; a rank whose data or options differ from rank
 * 0's makes every rank fail with DSC_EINVAL. A failure on any rank is a
 * failure on all, with the message of the lowest failing rank. Callbacks
 * run on every rank (write files from one); a non-zero return from any
 * rank's callback stops every rank at the same step. r->comm_seconds is
 * the time spent summing gradients, r->wait_seconds the time this rank
 * waited before each sum for the slowest rank.
 */
dsc_status dsc_train_mpi(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                         MPI_Comm comm, dsc_train_result *r);

/** dsc_model_evaluate over the ranks of comm: each scores a slice of the
 *  rows; every rank receives the metrics of all rows. */
dsc_status dsc_model_evaluate_mpi(const dsc_model *m, const dsc_dataset *d, dsc_loss loss,
                                  MPI_Comm comm, dsc_metrics *out);

#ifdef __cplusplus
}
#endif
#endif
