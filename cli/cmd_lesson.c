/* descent lesson: the seed as one self-contained web page, DIR/index.html,
 * that opens from the file system with no network and no server. The page
 * (lesson/) is built into this program: with emscripten, together with
 * descent's library compiled to WebAssembly, so the page runs the lesson
 * live; without, the page holds the answers this command computes now for
 * the settings lesson/recorded.txt lists. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "io/json.h"
#include "job.h"
#include "lesson_engine.h"
#include "output.h"
#include "seed.h"

/* lesson_assets.c, written at build time by lesson/embed.cmake. */
extern const unsigned char lesson_asset_page[], lesson_asset_css[], lesson_asset_script[],
    lesson_asset_recorded[], lesson_asset_engine[];
extern const size_t lesson_asset_page_size, lesson_asset_css_size, lesson_asset_script_size,
    lesson_asset_recorded_size, lesson_asset_engine_size;

/* ---- the recorded answers ---- */

typedef struct {
    FILE *f;
    char **keys; /* requests written so far: the lines overlap */
    size_t n, cap;
    size_t answers;
    int failed;
} recorder;

/* JSON inside a <script> element must not close it: "</" becomes "<\/",
 * which JSON reads as the same text. */
static void put_script_safe(FILE *f, const char *s)
{
    for (; *s; s++) {
        fputc(*s, f);
        if (s[0] == '<' && s[1] == '/') fputc('\\', f);
    }
}

static int seen(recorder *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->keys[i], key) == 0) return 1;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        char **k = realloc(r->keys, cap * sizeof *k);
        if (!k) return r->failed = 1;
        r->keys = k;
        r->cap = cap;
    }
    if (!(r->keys[r->n] = dsc_strdup(key))) return r->failed = 1;
    r->n++;
    return 0;
}

static int record_one(recorder *r, const char *request)
{
    if (seen(r, request)) return r->failed ? EXIT_RUNTIME : EXIT_OK;
    char *json = NULL;
    dsc_status s = lesson_call(request, &json);
    if (s) {
        dsc_free(json);
        return cli_error(EXIT_RUNTIME, "lesson: the recorded request '%s' failed: %s", request,
                         dsc_last_error());
    }
    char *key = dsc_json_quote(request);
    if (!key) {
        dsc_free(json);
        return cli_error(EXIT_RUNTIME, "lesson: out of memory");
    }
    fputs(r->answers++ ? ",\n" : "\n", r->f);
    put_script_safe(r->f, key);
    dsc_free(key);
    fputs(": ", r->f);
    put_script_safe(r->f, json);
    dsc_free(json);
    return EXIT_OK;
}

/* The request, and for `steps` the states at the steps the page shows. */
static int record_request(recorder *r, const char *request, int steps)
{
    int st = record_one(r, request);
    if (st != EXIT_OK || strncmp(request, "demos", 5) == 0) return st;
    size_t rows;
    if (lesson_rows(request, &rows)) return cli_error(EXIT_RUNTIME, "lesson: %s", dsc_last_error());
    size_t every = rows > 50 ? (rows - 20 + 29) / 30 : 1;
    char at[4200];
    for (size_t k = 0; k < rows && st == EXIT_OK; k++) {
        int keep =
            steps ? k < 20 || (k - 20) % every == 0 || k + 1 == rows : k == 0 || k + 1 == rows;
        if (!keep) continue;
        snprintf(at, sizeof at, "%s at=%zu", request, k);
        st = record_one(r, at);
    }
    /* The loss against each parameter at the start, where a network
     * section's starting point is dragged. */
    const char *demo = strstr(request, " demo=");
    char name[32] = "";
    if (demo && steps) snprintf(name, sizeof name, "%.*s", (int)strcspn(demo + 6, " "), demo + 6);
    const seed_demo *d = seed_find_demo(name);
    for (size_t i = 0; d && i < 7 && st == EXIT_OK; i++) {
        snprintf(at, sizeof at, "%s at=0 slice=%s", request, d->names[i]);
        st = record_one(r, at);
    }
    return st;
}

/* A line of recorded.txt with its first {A,B,...} word expanded. */
static int expand(recorder *r, const char *line, int steps)
{
    const char *open = strchr(line, '{');
    if (!open) return record_request(r, line, steps);
    const char *close = strchr(open, '}');
    if (!close) return cli_error(EXIT_RUNTIME, "lesson/recorded.txt: unclosed { in '%s'", line);
    char out[4096];
    for (const char *v = open + 1; v < close;) {
        size_t len = strcspn(v, ",}");
        snprintf(out, sizeof out, "%.*s%.*s%s", (int)(open - line), line, (int)len, v, close + 1);
        int st = expand(r, out, steps);
        if (st != EXIT_OK) return st;
        v += len + 1;
    }
    return EXIT_OK;
}

static int write_recorded(FILE *f)
{
    recorder r = {f, NULL, 0, 0, 0, 0};
    fputs("<script type=\"application/json\" id=\"recorded\">{", f);
    const char *p = (const char *)lesson_asset_recorded;
    int st = EXIT_OK;
    char line[4096];
    while (*p && st == EXIT_OK) {
        size_t len = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        p += len + (p[len] == '\n');
        if (line[0] == '#' || line[0] == '\0') continue;
        int steps = strncmp(line, "steps ", 6) == 0;
        if (!steps && strncmp(line, "runs ", 5) != 0)
            st = cli_error(EXIT_RUNTIME, "lesson/recorded.txt: a line starts steps or runs: '%s'",
                           line);
        else
            st = expand(&r, line + (steps ? 6 : 5), steps);
    }
    fputs("\n}</script>\n", f);
    if (r.failed && st == EXIT_OK) st = cli_fail(DSC_ENOMEM);
    for (size_t i = 0; i < r.n; i++) dsc_free(r.keys[i]);
    free(r.keys);
    lesson_forget();
    return st;
}

/* ---- the page ---- */

/* Writes text up to the marker and returns what follows it. */
static const char *copy_until(FILE *f, const char *text, const char *marker)
{
    const char *at = strstr(text, marker);
    if (!at) return NULL;
    fwrite(text, 1, (size_t)(at - text), f);
    return at + strlen(marker);
}

static int write_page(FILE *f, int live)
{
    const char *page = (const char *)lesson_asset_page;
    const char *markers[] = {"/*@CSS@*/", "<!--@DATA@-->", "<!--@ENGINE@-->", "/*@SCRIPT@*/"};
    for (size_t i = 0; i < 4; i++) {
        if (!(page = copy_until(f, page, markers[i])))
            return cli_error(EXIT_RUNTIME, "lesson: the built-in page lacks %s", markers[i]);
        int st = EXIT_OK;
        if (i == 0) fputs((const char *)lesson_asset_css, f);
        if (i == 1 && !live) st = write_recorded(f);
        if (i == 2 && live) {
            fputs("<script>\n", f);
            fputs((const char *)lesson_asset_engine, f);
            fputs("\n</script>", f);
        }
        if (i == 3) fputs((const char *)lesson_asset_script, f);
        if (st != EXIT_OK) return st;
    }
    fputs(page, f);
    return EXIT_OK;
}

static int answer(const char *request)
{
    char *json = NULL;
    dsc_status s = lesson_call(request, &json);
    if (json) printf("%s\n", json);
    dsc_free(json);
    lesson_forget();
    return s ? cli_error(EXIT_RUNTIME, "%s", dsc_last_error()) : EXIT_OK;
}

int cmd_lesson(int argc, char **argv)
{
    const char *out = NULL, *request = NULL;
    int recorded = 0, quiet = 0;
    cli_opt opts[] = {
        {"out", OPT_STRING, &out, "DIR", "write DIR/index.html (DIR is made if needed)", 0},
        {"recorded", OPT_FLAG, &recorded, NULL,
         "a page of recorded runs even when this build has the WebAssembly engine", 0},
        {"answer", OPT_STRING, &request, "REQUEST",
         "print the engine's JSON answer to one request of the page (see docs/lesson.md)", 0},
        {"quiet", OPT_FLAG, &quiet, NULL, "say nothing when all is well", 0},
    };
    cli_command c = CLI_COMMAND(
        "lesson", "descent lesson --out DIR [--recorded]\n       descent lesson --answer REQUEST",
        "Writes the seed's lesson as one web page, DIR/index.html, that opens from the file "
        "system\nwith no network: gradient descent, stochastic gradient descent, the network's "
        "units and\nbackpropagation, each a section to step through, every number computed by "
        "descent.",
        opts);
    int r = cli_parse(&c, argc, argv);
    if (r >= 0) return r;
    if (request) {
        if (out) return cli_error(EXIT_USAGE, "lesson: --answer or --out, not both");
        return answer(request);
    }
    if (!out) return cli_error(EXIT_USAGE, "lesson: --out DIR is required");
    int live = lesson_asset_engine_size > 0 && !recorded;
    if ((r = cli_check_dir("--out", out)) >= 0) return r;
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/index.html", out) >= sizeof path)
        return cli_error(EXIT_USAGE, "lesson: the path %s is too long", out);
    /* A folder this run made goes again if the run fails: a failed run
     * changes nothing (docs/GUARANTEES.md). */
    int made = mkdir(out, 0777) == 0;
    if (!made && errno != EEXIST)
        return cli_error(EXIT_RUNTIME, "cannot create %s: %s", out, strerror(errno));
    /* Written whole or not at all: the page goes in place when the
     * command succeeds (output.h). */
    FILE *f = cli_out_open(path, 0);
    int st = f ? write_page(f, live) : EXIT_RUNTIME;
    long size = f ? ftell(f) : 0;
    if ((st = cli_outputs_finish(st)) != EXIT_OK) {
        if (made) rmdir(out); /* only if nothing else went in */
        return st;
    }
    if (quiet) return EXIT_OK;
    char abs[PATH_MAX];
    const char *shown = realpath(path, abs) ? abs : path;
    printf("wrote %s (%ld KB): %s\n", path, (size + 1023) / 1024,
           live ? "live, descent's library compiled to WebAssembly runs in the page"
                : "recorded, the runs this build computed now");
    if (!live && lesson_asset_engine_size == 0)
        printf("note: this descent was built without emscripten, so the page replays recorded "
               "runs;\n      for the live page (your own CSV, any setting): apt-get install "
               "emscripten, rebuild, run descent lesson again\n");
    printf("open it in a browser: file://%s\n", shown);
    return EXIT_OK;
}
