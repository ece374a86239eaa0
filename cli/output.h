/* Every file a subcommand writes, and the signals that could leave one
 * half-made.
 *
 * Outputs are checked before any work (each can be written, none is an
 * input, no two are one file), written to temporary files through the
 * library's one writer (src/io/outfile.h), and put in place together by
 * cli_outputs_finish only when the command succeeded (or was interrupted,
 * which keeps the model so far): a failed run changes no file. A signal
 * that ends the process removes the temporary files first. */
#ifndef DSC_CLI_OUTPUT_H
#define DSC_CLI_OUTPUT_H

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "cli.h"

/* A file named on the command line. */
typedef struct {
    const char *option; /* "--save", for messages */
    const char *path;   /* NULL: not given */
} cli_file;

/* Refuses (with a message; returns the exit status) an output that cannot
 * be written, an output that is one of the inputs (the same file, however
 * named: writing it would destroy the input), two outputs that are one
 * file, and "-" (standard output) as an output unless dash_ok. -1 when all
 * is well. */
int cli_check_files(const cli_file *in, size_t n_in, const cli_file *out, size_t n_out,
                    int dash_ok);

/* Refuses a --plot-dir that exists but is not a folder (-1: fine). */
int cli_check_dir(const char *option, const char *path);

/* Opens path for writing (NULL after a message). The data is held back
 * until cli_outputs_finish; a device or FIFO is written as it comes.
 * announce: print "saved PATH" once the file is in place. */
FILE *cli_out_open(const char *path, int announce);
/* Flushes what was written so far (a log line, for a FIFO or terminal to
 * show at once); a failure is remembered for the message at the end.
 * Returns 0 or -1. */
int cli_out_flush(FILE *f);
/* Puts one output in place now (checkpoints, which a run keeps as it
 * goes). Returns an exit status, with a message on failure. */
int cli_out_commit_now(FILE *f);
/* Drops one output (its temporary file is removed). */
void cli_out_drop(FILE *f);

/* The end of a command: with status 0 or EXIT_INTERRUPTED every pending
 * output is put in place (a failure makes the status 1), otherwise each is
 * dropped. Returns the status. */
int cli_outputs_finish(int status);

/* Signal handling for the whole process: SIGINT, SIGTERM, SIGHUP and
 * SIGPIPE remove the temporary files and end the process as the signal
 * would. While cli_graceful is set (training), SIGINT and SIGTERM instead
 * set cli_interrupted, and the run stops at its next step. */
void cli_signals_init(void);
/* Atomic, not volatile sig_atomic_t: the handler may run on another thread
 * than main's (OpenBLAS's), where volatile orders nothing (TSan saw the
 * race). A lock-free atomic_int is safe to touch in a handler. */
extern atomic_int cli_graceful, cli_interrupted;

/* Runs with SIGINT, SIGTERM and SIGHUP held back (library calls that write
 * files of their own, such as plots): cli_signals_hold(1) before,
 * cli_signals_hold(0) after, when a held signal takes effect. */
void cli_signals_hold(int hold);

#endif
