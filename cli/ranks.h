/* The command line under mpirun: which rank this process is, one agreed
 * outcome for every rank, and the training and scoring calls that run over
 * all ranks (plain dsc_train and dsc_model_evaluate otherwise, and in
 * builds without MPI).
 *
 * Agreement: every rank passes through cli_agree before training (or
 * scoring) and once more at the end (cli_ranks_end). A rank that fails
 * before training goes straight to the end; both are the same exchange,
 * so the others learn of it at their next one, and stop. */
#ifndef DSC_CLI_RANKS_H
#define DSC_CLI_RANKS_H

#include "cli.h"

/* Starts MPI when the process was launched by mpirun/mpiexec (their
 * environment variables say so); otherwise this is one process alone. */
void cli_ranks_start(int *argc, char ***argv);
/* The agreed exit status of every rank (after a final cli_agree), then
 * MPI's end. Returns the status to exit with. */
int cli_ranks_end(int status);
/* NULL, or why this process refuses to run: several ranks were launched
 * but this build has no MPI. (The caller reports it: this file calls
 * nothing of the option parser, which calls it.) */
const char *cli_ranks_refusal(void);

int cli_rank(void);  /* 0 alone */
int cli_ranks(void); /* 1 alone */

/* status < 0: this rank is fine so far. Returns -1 when every rank is, or
 * the exit status of the lowest failing rank, whose message rank 0 then
 * prints (it printed its own already). Collective. */
int cli_agree(int status);

/* Remembers the message of a failure on a rank other than 0 (which prints
 * nothing itself), for cli_agree to pass on. */
void cli_ranks_note(const char *msg);

/* --threads for this rank: T given, or the cores this process may use
 * shared among the ranks on its machine (all cores alone). Warns (rank 0)
 * when ranks x threads would oversubscribe the cores. */
size_t cli_rank_threads(size_t threads);

dsc_status cli_train(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                     dsc_train_result *r);
dsc_status cli_evaluate(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, dsc_metrics *out);

#endif
