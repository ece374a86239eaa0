#define _POSIX_C_SOURCE 200809L
#include "output.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "io/outfile.h"
#include "ranks.h"

atomic_int cli_graceful, cli_interrupted;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler needs a lock-free int");

enum { MAX_OUTPUTS = 32 };

typedef struct {
    dsc_outfile o;
    int open;
    char *announce; /* the name given, for "saved NAME"; NULL: say nothing */
} pending;

static pending outs[MAX_OUTPUTS];
/* What the signal handler removes: the temporary names of open outputs,
 * set only once a name is complete. */
static const char *volatile temps[MAX_OUTPUTS];

/* How many holds the main thread has open (cli_signals_hold). The main
 * thread blocks the signals while it holds, but a process-directed signal
 * may then go to another thread (OpenBLAS starts its own before main):
 * that thread's handler waits for the hold to end, so a temporary file
 * being made or renamed is registered, or gone, before anything is
 * removed. */
static atomic_int holding;

static void on_signal(int sig)
{
    if (cli_graceful && (sig == SIGINT || sig == SIGTERM)) {
        cli_interrupted = 1;
        return;
    }
    int e = errno;
    while (atomic_load(&holding) > 0) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    for (int i = 0; i < MAX_OUTPUTS; i++)
        if (temps[i]) unlink(temps[i]);
    errno = e;
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

void cli_signals_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < DSC_COUNT_OF(handled); i++) sigaddset(&sa.sa_mask, handled[i]);
    for (size_t i = 0; i < DSC_COUNT_OF(handled); i++) {
        struct sigaction old;
        /* A hang-up or broken pipe the caller chose to ignore (nohup)
         * stays ignored. SIGINT is handled even when ignored: a shell
         * ignores it for background jobs, and `kill -INT` must still stop
         * a run that saves what it has. */
        if ((handled[i] == SIGHUP || handled[i] == SIGPIPE) &&
            sigaction(handled[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(handled[i], &sa, NULL);
    }
}

void cli_signals_hold(int hold)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < DSC_COUNT_OF(handled); i++) sigaddset(&set, handled[i]);
    /* Blocked before counted, uncounted before unblocked: this thread never
     * runs the handler while it holds (the handler would wait for itself). */
    if (hold) {
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        atomic_fetch_add(&holding, 1);
    } else {
        atomic_fetch_sub(&holding, 1);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
}

static int is_dash(const char *p) { return strcmp(p, "-") == 0; }

int cli_check_files(const cli_file *in, size_t n_in, const cli_file *out, size_t n_out, int dash_ok)
{
    const char *stdin_by = NULL;
    for (size_t k = 0; k < n_in; k++) {
        if (!in[k].path || !is_dash(in[k].path)) continue;
        if (stdin_by)
            return cli_error(EXIT_USAGE, "%s - and %s -: standard input can be read only once",
                             stdin_by, in[k].option);
        stdin_by = in[k].option;
    }
    for (size_t i = 0; i < n_out; i++) {
        const char *p = out[i].path;
        if (!p) continue;
        if (is_dash(p) && !dash_ok)
            return cli_error(EXIT_USAGE,
                             "%s -: standard output carries this command's report; name a file",
                             out[i].option);
        int through = 0;
        dsc_status s = dsc_outfile_check(p, &through);
        if (s)
            return cli_error(s == DSC_EINVAL ? EXIT_USAGE : EXIT_RUNTIME, "%s: %s", out[i].option,
                             dsc_last_error());
        for (size_t k = 0; k < n_in; k++)
            if (in[k].path && dsc_same_file(in[k].path, p))
                return cli_error(EXIT_USAGE,
                                 "%s %s is the %s file: writing it would destroy the input",
                                 out[i].option, p, in[k].option);
        char *dest = dsc_outfile_dest(p);
        for (size_t k = 0; dest && k < i; k++) {
            if (!out[k].path) continue;
            char *other = dsc_outfile_dest(out[k].path);
            int same = other && strcmp(other, dest) == 0;
            dsc_free(other);
            if (same) {
                dsc_free(dest);
                return cli_error(EXIT_USAGE, "%s and %s name the same file (%s)", out[k].option,
                                 out[i].option, p);
            }
        }
        dsc_free(dest);
    }
    return -1;
}

int cli_check_dir(const char *option, const char *path)
{
    struct stat st;
    if (!path) return -1;
    if (!*path) return cli_error(EXIT_USAGE, "%s: the folder name is empty", option);
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
        return cli_error(EXIT_USAGE, "%s %s: not a folder", option, path);
    return -1;
}

static pending *find(FILE *f)
{
    for (int i = 0; f && i < MAX_OUTPUTS; i++)
        if (outs[i].open && outs[i].o.f == f) return &outs[i];
    return NULL;
}

FILE *cli_out_open(const char *path, int announce)
{
    int slot = 0;
    while (slot < MAX_OUTPUTS && outs[slot].open) slot++;
    if (slot == MAX_OUTPUTS) {
        cli_error(EXIT_RUNTIME, "%s: too many output files at once", path);
        return NULL;
    }
    pending *p = &outs[slot];
    /* Signals wait while the temporary file is made and registered: one
     * in between would leave it behind. */
    cli_signals_hold(1);
    dsc_status s = dsc_outfile_open(&p->o, path);
    if (!s) {
        p->open = 1;
        p->announce = announce && cli_rank() == 0 ? dsc_strdup(path) : NULL;
        temps[slot] = p->o.tmp;
    }
    cli_signals_hold(0);
    if (s) {
        cli_fail(s);
        return NULL;
    }
    return p->o.f;
}

/* Puts p in place (or drops it), with the signals held so the rename and
 * the bookkeeping are not torn apart. */
static int settle(pending *p, int keep)
{
    cli_signals_hold(1);
    temps[p - outs] = NULL;
    char *announce = keep ? p->announce : NULL;
    if (!keep) dsc_free(p->announce);
    p->announce = NULL;
    int st = EXIT_OK;
    if (keep) {
        dsc_status s = dsc_outfile_commit(&p->o);
        if (s) st = cli_fail(s);
    } else {
        dsc_outfile_abort(&p->o);
    }
    p->open = 0;
    cli_signals_hold(0);
    if (st == EXIT_OK && announce) fprintf(stderr, "saved %s\n", announce);
    dsc_free(announce);
    return st;
}

int cli_out_flush(FILE *f)
{
    pending *p = find(f);
    if (fflush(f) == 0) return 0;
    if (p && !p->o.err) p->o.err = errno;
    return -1;
}

int cli_out_commit_now(FILE *f)
{
    pending *p = find(f);
    return p ? settle(p, 1) : cli_error(EXIT_RUNTIME, "internal: unknown output");
}

void cli_out_drop(FILE *f)
{
    pending *p = find(f);
    if (p) settle(p, 0);
}

int cli_outputs_finish(int status)
{
    int keep = status == EXIT_OK || status == EXIT_INTERRUPTED;
    for (int i = 0; i < MAX_OUTPUTS; i++) {
        if (!outs[i].open) continue;
        int st = settle(&outs[i], keep);
        if (st != EXIT_OK) {
            status = st;
            keep = 0; /* the rest is dropped: the run failed after all */
        }
    }
    return status;
}
