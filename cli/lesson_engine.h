/* The engine of the lesson page (`descent lesson`): the page asks for a
 * run or for the state of a run at one step, as a one-line request, and
 * gets one JSON object back, every number computed by the library. The
 * same code answers in the browser (compiled to WebAssembly, lesson/wasm.c)
 * and in the command line, which writes a page of recorded answers when
 * the build has no WebAssembly engine. It never prints.
 *
 * A request is a kind and `key=value` words separated by single spaces,
 * values percent-encoded (%20 for a space), e.g.
 *   line data=seed fit=intercept slope=0.64 icpt0=0 slope0=1 lr=0.1 tol=0.001 max_iter=1000
 *        batch=0 seed=42 opt=gd
 *   line ... at=3        the state before update 3: the chain rule's text at that point
 *   net demo=softplus data=dosage init=demo only=demo lr=0.1 ... [at=K]
 *   demos                the seed's networks and their starting values
 * Every key of a kind must be given (the page and the recorded page must
 * build identical requests), and an unknown key is an error. The JS that
 * builds them is lesson/lesson.js; docs/lesson.md lists the answers. */
#ifndef DSC_CLI_LESSON_ENGINE_H
#define DSC_CLI_LESSON_ENGINE_H

#include <stddef.h>

#include "descent.h"

/* Answers request with a JSON object in *json (dsc_malloc'd; free with
 * dsc_free). A failure also writes JSON, {"error": "descent: error: ..."},
 * the message the command line would print for the same data (a bad CSV
 * file: FILE:LINE:COLUMN: what), and returns its status; *json is NULL only
 * when even that could not be allocated (DSC_ENOMEM). */
dsc_status lesson_call(const char *request, char **json);

/* How many states (updates, then the final state) the run of a request
 * without `at=` has: its `at=` requests go from 0 to *rows - 1. */
dsc_status lesson_rows(const char *request, size_t *rows);

/* Frees the run the engine keeps for `at=` requests. */
void lesson_forget(void);

#endif
