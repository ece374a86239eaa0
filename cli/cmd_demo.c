/* descent demo NAME: the seed's dosage network, from the seed's numbers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "network.h"

static int write_text(const char *path, const char *text)
{
    FILE *f = cli_out_open(path, 0);
    if (!f) return EXIT_RUNTIME;
    fputs(text, f);
    return EXIT_OK;
}

/* The data and initial values as files, so that the printed `descent
 * train` command runs as it is. */
static int demo_paths(const char *dir, const seed_demo *demo, char *data, char *init, size_t size)
{
    if ((size_t)snprintf(data, size, "%s/dosage.csv", dir) >= size ||
        (size_t)snprintf(init, size, "%s/%s.init", dir, demo->name) >= size)
        return cli_error(EXIT_USAGE, "--dir: the folder name is too long");
    return -1;
}

/* created: set when the folder is new (a failed run removes it again). */
static int write_files(const char *dir, const seed_demo *demo, const char *data, const char *init,
                       int *created)
{
    if (mkdir(dir, 0777) == 0)
        *created = 1;
    else if (errno != EEXIST)
        return cli_error(EXIT_RUNTIME, "cannot create %s: %s", dir, strerror(errno));
    char text[512];
    size_t len =
        (size_t)snprintf(text, sizeof text, "# initial values of descent demo %s\n", demo->name);
    for (int i = 0; i < 7; i++) {
        char num[32];
        dsc_format_float(num, sizeof num, demo->values[i]);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s %s\n", demo->names[i], num);
    }
    int st = write_text(data, "dosage,efficacy\n0,0\n0.5,1\n1,0\n");
    if (st == EXIT_OK) st = write_text(init, text);
    return st;
}

static void print_command(const seed_demo *demo, const job_opts *o, const char *data,
                          const char *init, long max_iter)
{
    printf("same as      descent train --data %s --target efficacy --layers %s --output %s "
           "--loss ssr --optimizer %s --lr %g --init %s",
           data, demo->layers, demo->output, o->optimizer, o->lr, init);
    if (o->only) printf(" --only %s", o->only);
    if (o->tol >= 0) printf(" --tol %g", o->tol);
    if (max_iter >= 0) printf(" --max-iter %ld", max_iter);
    if (o->loss_tol > 0) printf(" --loss-tol %g", o->loss_tol);
    if (strcmp(o->relu0, "0") != 0) printf(" --relu-grad-at-zero %s", o->relu0);
    if (strcmp(o->relu0, "random") == 0) printf(" --seed %llu", (unsigned long long)o->seed);
    printf("\n");
}

int cmd_demo(int argc, char **argv)
{
    job_opts jo;
    job_opts_init(&jo);
    jo.lr = -1;
    const char *dir = "descent-demo";
    const char *pos[1];
    cli_opt opts[JOB_N_OPTS + 3];
    size_t n = job_opts_table(&jo, opts);
    opts[n++] = (cli_opt){
        "plot-dir", OPT_STRING, &jo.plot_dir, "DIR", "draw the seed's pictures into DIR", 0};
    opts[n++] = (cli_opt){"sweep-param",
                          OPT_STRING,
                          &jo.sweep,
                          "NAME",
                          "the parameter the loss curve is drawn against (b3)",
                          0};
    opts[n++] = (cli_opt){"dir",
                          OPT_STRING,
                          &dir,
                          "DIR",
                          "where the data and initial values for `train` go (descent-demo)",
                          0};
    char about[1024];
    size_t len = (size_t)snprintf(about, sizeof about,
                                  "Runs one of the seed's network examples on the dosage data "
                                  "(0, 0.5, 1 -> 0, 1, 0):");
    for (size_t i = 0; i < seed_n_demos; i++)
        len += (size_t)snprintf(about + len, sizeof about - len, "\n  %-12s %s", seed_demos[i].name,
                                seed_demos[i].title);
    cli_command c = {"demo",
                     "descent demo NAME [--lr R] [--tol T] [--max-iter N] [--trace "
                     "FILE.csv] [--plot-dir DIR] [--json]",
                     about,
                     opts,
                     n,
                     pos,
                     1,
                     0};
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if (c.n_positional != 1)
        return cli_error(EXIT_USAGE, "demo: which one? (see descent demo --help)");
    const seed_demo *demo = seed_find_demo(pos[0]);
    if (!demo)
        return cli_error(EXIT_USAGE, "demo: no demo '%s' (softplus-b3, softplus, relu)", pos[0]);
    if (cli_seen(&c, "loss") && strcmp(jo.loss, "ssr") != 0)
        return cli_error(EXIT_USAGE, "demo: the seed's demos use the ssr loss");
    if (cli_seen(&c, "init") || cli_seen(&c, "epochs") || cli_seen(&c, "batch"))
        return cli_error(EXIT_USAGE, "demo: --init, --epochs and --batch belong to `train`");
    if (!cli_seen(&c, "lr")) jo.lr = demo->lr;
    if ((r = job_check_opts(&jo, &c)) >= 0) return r;
    if (!cli_seen(&c, "only")) jo.only = demo->only;
    if (!cli_seen(&c, "loss-tol")) jo.loss_tol = demo->loss_tol;
    if (!jo.sweep) jo.sweep = demo->sweep;
    /* The ReLU demo shows the seed's weights as they are; it trains only
     * when asked to with --max-iter. */
    long max_iter = jo.max_iter;
    if (!demo->train_by_default && !cli_seen(&c, "max-iter")) max_iter = jo.max_iter = 0;

    dsc_model *m = NULL;
    dsc_dataset *d = NULL;
    char data[2048], init[2048];
    int created = 0;
    if ((r = demo_paths(dir, demo, data, init, sizeof data)) >= 0) return r;
    /* The folder's files are checked when it exists (a new one is made). */
    struct stat dst;
    int dir_exists = stat(dir, &dst) == 0;
    cli_file outs[] = {{"--trace", jo.trace},
                       {"--dir (its data)", dir_exists ? data : NULL},
                       {"--dir (its values)", dir_exists ? init : NULL}};
    if ((r = cli_check_dir("--dir", dir)) >= 0 ||
        (r = cli_check_dir("--plot-dir", jo.plot_dir)) >= 0 ||
        (r = cli_check_files(NULL, 0, outs, DSC_COUNT_OF(outs), 0)) >= 0)
        return r;
    int st = seed_demo_model(demo, &m);
    if (st < 0) st = seed_dosage_data(&d);
    if (st < 0) st = write_files(dir, demo, data, init, &created);
    if (st < 0 || st == EXIT_OK) {
        job_result res;
        st = job_run(m, d, NULL, &jo, DSC_LOSS_SSR, 0, &res);
        if (st == EXIT_OK) {
            if (!jo.json) printf("demo         %s: %s\n", demo->name, demo->title);
            job_print_summary(m, d, &jo, DSC_LOSS_SSR, &res, "built-in dosage data", NULL);
            if (!jo.json) print_command(demo, &jo, data, init, max_iter);
            st = job_exit_status(&res);
        }
        job_result_free(&res);
    }
    st = cli_outputs_finish(st);
    if (st != EXIT_OK && created) rmdir(dir); /* only if nothing else went in */
    dsc_model_free(m);
    dsc_dataset_free(d);
    return st;
}
