/* The lesson engine's entry points for the page's script (lesson.js), in
 * the WebAssembly build only. */
#include <emscripten.h>
#include <stdio.h>

#include "base/base.h"
#include "lesson_engine.h"

/* The page reads each answer before it asks again. */
static char *last_answer;

EMSCRIPTEN_KEEPALIVE const char *lesson_wasm_call(const char *request)
{
    dsc_free(last_answer);
    last_answer = NULL;
    lesson_call(request, &last_answer);
    return last_answer ? last_answer : "{\"error\": \"descent: error: out of memory\"}";
}

/* The learner's CSV file, where the engine reads it by its own name (the
 * file system is the page's memory), so that messages name it. */
EMSCRIPTEN_KEEPALIVE int lesson_wasm_put_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "wb");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}
