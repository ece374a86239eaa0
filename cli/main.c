/* descent SUBCOMMAND [options] */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *about;
} subcommand;

static const subcommand commands[] = {
    {"line", cmd_line, "fit a line by gradient descent on the sum of squared residuals"},
    {"demo", cmd_demo, "the seed's neural network examples (softplus-b3, softplus, relu)"},
    {"train", cmd_train, "train a network on a CSV or IDX data set"},
    {"eval", cmd_eval, "score a saved model on data: loss, accuracy or R^2, ..."},
    {"predict", cmd_predict, "predict every row of a CSV file with a saved model"},
    {"info", cmd_info, "show a saved model"},
    {"explain", cmd_explain, "write the chain rule out with numbers"},
    {"gradcheck", cmd_gradcheck, "compare backpropagation with numerical gradients"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: descent SUBCOMMAND [options]\n\nsubcommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].about);
    fprintf(f, "\n'descent SUBCOMMAND --help' shows a subcommand's options; "
               "'descent --version' the version and build.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("descent %s\n%s\n", dsc_version(), dsc_build_info());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "descent: error: unknown subcommand '%s'\n", name);
    usage(stderr);
    return EXIT_USAGE;
}
