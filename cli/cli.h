/* The command line: option parsing shared by every subcommand. */
#ifndef DSC_CLI_H
#define DSC_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "descent.h"

/* Exit statuses (DESIGN.md): 0 success, 1 failure at run time, 2 usage. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };
/* Interrupted by SIGINT/SIGTERM: the run stopped and kept what it had. */
enum { EXIT_INTERRUPTED = 130 };

typedef enum {
    OPT_FLAG,   /* int, set to 1 */
    OPT_STRING, /* const char * */
    OPT_DOUBLE, /* double, finite */
    OPT_SIZE,   /* size_t, >= 0 */
    OPT_LONG,   /* long, >= 0 */
    OPT_U64,    /* uint64_t */
    OPT_BYTES   /* uint64_t, with a K, M, G or T suffix (powers of 1024) */
} opt_type;

typedef struct {
    const char *name; /* without the leading "--" */
    opt_type type;
    void *dest;
    const char *arg; /* placeholder shown in help, e.g. "R" */
    const char *help;
    int seen; /* set by the parser: the option was given */
} cli_opt;

typedef struct {
    const char *name;     /* subcommand */
    const char *synopsis; /* "descent train --data FILE [options]" */
    const char *about;
    cli_opt *opts;
    size_t n_opts;
    const char **positional; /* receives positional arguments (may be NULL) */
    size_t max_positional;
    size_t n_positional;
} cli_command;

/* A subcommand with a fixed option array and no positional arguments. */
#define CLI_COMMAND(name, synopsis, about, opts)                                                   \
    {                                                                                              \
        (name), (synopsis), (about), (opts), sizeof(opts) / sizeof((opts)[0]), NULL, 0, 0          \
    }

/* Parses argv (after the subcommand name). Returns -1 when parsing
 * succeeded, otherwise the exit status to use: 0 after printing --help,
 * EXIT_USAGE after an error message. */
int cli_parse(cli_command *c, int argc, char **argv);
/* Was the named option given on the command line? */
int cli_seen(const cli_command *c, const char *name);

/* "descent: error: ..." on stderr; returns status. */
int cli_error(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Reports a library failure: "descent: error: <dsc_last_error()>"; returns
 * EXIT_RUNTIME (EXIT_USAGE for DSC_EINVAL from options). */
int cli_fail(dsc_status s);

/* Numbers in output and JSON, independent of the locale. */
void cli_print_number(FILE *f, double v);
/* JSON: through src/io/json.h, the one writer (escapes every string). */

/* The readers' limits for this run (dsc_limits), set by --max-bytes,
 * --max-line-bytes and --max-rows: CLI_LIMIT_OPTS are those options, for
 * the option table of every subcommand that reads files. */
extern dsc_limits cli_limits;
#define CLI_N_LIMIT_OPTS 3
#define CLI_LIMIT_OPTS                                                                             \
    {"max-bytes",                                                                                  \
     OPT_BYTES,                                                                                    \
     &cli_limits.max_bytes,                                                                        \
     "N",                                                                                          \
     "read at most N bytes of an input file (1G; K M G T suffixes; 0: no limit)",                  \
     0},                                                                                           \
        {"max-line-bytes",                                                                         \
         OPT_BYTES,                                                                                \
         &cli_limits.max_line_bytes,                                                               \
         "N",                                                                                      \
         "a CSV record (line) of at most N bytes (1M; 0: no limit)",                               \
         0},                                                                                       \
    {                                                                                              \
        "max-rows", OPT_U64, &cli_limits.max_rows, "N",                                            \
            "at most N rows of a CSV file, images of an IDX file (10000000; 0: no limit)", 0       \
    }

/* Subcommands. */
int cmd_gradcheck(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_line(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_lesson(int argc, char **argv);

#endif
