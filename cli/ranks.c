#define _GNU_SOURCE
#include "ranks.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef DSC_HAVE_MPI
#include "descent_mpi.h"
#endif

static int rank, ranks = 1, local_ranks = 1, mpi_on;
#ifdef DSC_HAVE_MPI
static int settled, settled_status; /* see cli_agree */
#endif
static char note[1024];

void cli_ranks_note(const char *msg) { snprintf(note, sizeof note, "%s", msg); }

int cli_rank(void) { return rank; }
int cli_ranks(void) { return ranks; }

/* Open MPI, MPICH/Hydra and PMIx launchers all leave one of these. */
static int launched_by_mpirun(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                 "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

void cli_ranks_start(int *argc, char ***argv)
{
#ifdef DSC_HAVE_MPI
    if (!launched_by_mpirun()) return;
    int provided;
    /* Only the main thread calls MPI; OpenMP threads only compute. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
    mpi_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &local_ranks);
        MPI_Comm_free(&node);
    }
#else
    (void)argc;
    (void)argv;
#endif
}

const char *cli_ranks_refusal(void)
{
#ifndef DSC_HAVE_MPI
    /* N copies of one run, all writing the same files: refuse. */
    static char msg[256];
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (launched_by_mpirun() && n && atoi(n) > 1) {
        snprintf(msg, sizeof msg,
                 "this descent was built without MPI, so mpirun would start %.16s separate "
                 "runs; rebuild with MPI (see descent --version)",
                 n);
        return msg;
    }
#endif
    return NULL;
}

int cli_agree(int status)
{
#ifdef DSC_HAVE_MPI
    if (!mpi_on || ranks == 1) return status;
    /* After an agreed failure (or the agreed end) every rank is on its way
     * out: no more exchanges, or a rank that already left would be waited
     * for. Every rank keeps the status agreed then. */
    if (settled) return settled_status;
    int *all = malloc((size_t)ranks * sizeof(int));
    if (!all) MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
    MPI_Allgather(&status, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    int first = -1;
    for (int r = 0; r < ranks && first < 0; r++)
        if (all[r] >= 0 && all[r] != EXIT_OK) first = r;
    /* A rank that finished (0) while others go on is not a failure, but
     * the end: only a status >= 0 from every rank ends the exchanges. */
    int done = 1;
    for (int r = 0; r < ranks; r++)
        if (all[r] < 0) done = 0;
    int agreed = first >= 0 ? all[first] : done ? EXIT_OK : -1;
    free(all);
    if (first < 0) {
        if (done) settled = 1, settled_status = agreed;
        return agreed;
    }
    settled = 1;
    settled_status = agreed;
    if (first > 0) {
        char msg[sizeof note];
        if (rank == first) memcpy(msg, note, sizeof msg);
        MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
        msg[sizeof msg - 1] = '\0';
        if (rank == 0 && msg[0]) fprintf(stderr, "descent: error: rank %d: %s\n", first, msg);
    }
    return agreed;
#else
    return status;
#endif
}

int cli_ranks_end(int status)
{
#ifdef DSC_HAVE_MPI
    if (!mpi_on) return status;
    int agreed = cli_agree(status);
    MPI_Finalize();
    return agreed >= 0 ? agreed : status;
#else
    return status;
#endif
}

size_t cli_rank_threads(size_t threads)
{
    if (!mpi_on) return threads;
    cpu_set_t set;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int usable = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)cores;
    if (threads == 0) {
        /* mpirun may bind a rank to one core; otherwise share the machine. */
        long share = cores / local_ranks;
        threads = (size_t)(share < 1 ? 1 : share < usable ? share : usable);
    } else if (rank == 0 && ((long)threads * local_ranks > cores || (long)threads > usable)) {
        fprintf(stderr,
                "descent: warning: %d ranks x %zu threads on %ld cores (this rank may use %d): "
                "the cores are oversubscribed, which slows every rank down%s\n",
                local_ranks, threads, cores, usable,
                (long)threads > usable ? "; mpirun binds ranks to cores unless given "
                                         "--bind-to none"
                                       : "");
    }
    return threads;
}

dsc_status cli_train(dsc_model *m, const dsc_dataset *d, const dsc_train_params *p,
                     dsc_train_result *r)
{
#ifdef DSC_HAVE_MPI
    if (mpi_on) return dsc_train_mpi(m, d, p, MPI_COMM_WORLD, r);
#endif
    return dsc_train(m, d, p, r);
}

dsc_status cli_evaluate(const dsc_model *m, const dsc_dataset *d, dsc_loss loss, dsc_metrics *out)
{
#ifdef DSC_HAVE_MPI
    if (mpi_on) return dsc_model_evaluate_mpi(m, d, loss, MPI_COMM_WORLD, out);
#endif
    return dsc_model_evaluate(m, d, loss, out);
}
