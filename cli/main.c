/* descent SUBCOMMAND [options] */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "ranks.h"

/* Under mpirun, a subcommand runs on every rank (ALL_RANKS: training and
 * scoring, which split the work) or on rank 0 alone. */
enum { RANK0 = 0, ALL_RANKS = 1 };

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int ranks;
    const char *about;
} subcommand;

static const subcommand commands[] = {
    {"line", cmd_line, RANK0, "fit a line by gradient descent on the sum of squared residuals"},
    {"demo", cmd_demo, RANK0, "the seed's neural network examples (softplus-b3, softplus, relu)"},
    {"train", cmd_train, ALL_RANKS, "train a network on a CSV or IDX data set"},
    {"eval", cmd_eval, ALL_RANKS, "score a saved model on data: loss, accuracy or R^2, ..."},
    {"predict", cmd_predict, RANK0, "predict every row of a CSV file with a saved model"},
    {"info", cmd_info, RANK0, "show a saved model"},
    {"export", cmd_export, RANK0, "write a saved model as dependency-free C (float or int8) or ONNX"},
    {"explain", cmd_explain, RANK0, "write the chain rule out with numbers"},
    {"gradcheck", cmd_gradcheck, RANK0, "compare backpropagation with numerical gradients"},
    {"lesson", cmd_lesson, RANK0, "write the seed's lesson as a web page that runs descent itself"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: descent SUBCOMMAND [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].about);
    fprintf(f, "\n'descent SUBCOMMAND --help' shows a subcommand's options; "
               "'descent --version' the version and build.\n");
}

/* Under mpirun, a RANK0 subcommand runs on rank 0 alone, the others
 * waiting for its exit status. */
static int run_command(const subcommand *c, int argc, char **argv)
{
    const char *refusal = cli_ranks_refusal();
    if (refusal) return cli_error(EXIT_USAGE, "%s", refusal);
    if (cli_ranks() > 1 && c->ranks == RANK0 && cli_rank() != 0) return EXIT_OK;
    return c->run(argc - 2, argv + 2);
}

static int dispatch(int argc, char **argv)
{
    int quiet = cli_rank() != 0; /* under mpirun, rank 0 speaks for all */
    if (argc < 2) {
        if (!quiet) usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (!quiet) usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        if (!quiet)
            printf("descent %s\n%s; mpi: %s\n", dsc_version(), dsc_build_info(),
#ifdef DSC_HAVE_MPI
                   "yes"
#else
                   "no"
#endif
            );
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) return run_command(&commands[i], argc, argv);
    int st = cli_error(EXIT_USAGE, "unknown subcommand '%s'", name);
    if (!quiet) usage(stderr);
    return st;
}

int main(int argc, char **argv)
{
    cli_ranks_start(&argc, &argv);
    cli_signals_init();
    /* Outputs a subcommand left pending are settled by its status. */
    return cli_ranks_end(cli_outputs_finish(dispatch(argc, argv)));
}
