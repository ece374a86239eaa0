/* descent SUBCOMMAND [options] */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Sanitizer builds (ASan, TSan) report at exit: they exit normally. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DSC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DSC_SANITIZED 1
#endif
#endif
#ifndef DSC_SANITIZED
#define DSC_SANITIZED 0
#endif

/* Coverage builds (CMake defines DSC_COVERAGE when the flags hold
 * --coverage) write their counts before _exit. */
#ifdef DSC_COVERAGE
extern void __gcov_dump(void);
#endif

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
    {"export", cmd_export, RANK0,
     "write a saved model as dependency-free C (float or int8) or ONNX"},
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
    /* A setting the library ignores is said once, whatever the command. */
    const char *env = dsc_env_problems();
    if (env && !quiet) fprintf(stderr, "descent: warning: %s\n", env);
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
    int status = cli_ranks_end(cli_outputs_finish(dispatch(argc, argv)));
    /* Everything is written and closed by now. The libraries' exit
     * handlers are skipped: OpenBLAS's joins threads of its own, which
     * under a memory limit (ulimit -v) spin for ever on a failed mmap, so
     * the process never ended. Sanitizer builds exit normally, for the
     * leak check that runs at exit. */
    if (fflush(stdout) != 0 && status == EXIT_OK)
        status = cli_error(EXIT_RUNTIME, "cannot write the standard output: %s", strerror(errno));
    fflush(stderr);
#if !DSC_SANITIZED
#ifdef DSC_COVERAGE
    /* A coverage build writes its counts at exit: now, then. */
    __gcov_dump();
#endif
    _exit(status);
#endif
    return status;
}
