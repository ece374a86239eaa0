#define _POSIX_C_SOURCE 200809L
/* The one JSON writer: whatever bytes a string holds, the text is valid
 * JSON, pure ASCII, and reads back as the same characters where they were
 * UTF-8 (U+FFFD where they were not). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/json.h"

static void check_quote(const char *in, const char *want, int line)
{
    char *got = dsc_json_quote(in);
    if (got && strcmp(got, want) == 0) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: quote: got %s, want %s\n", __FILE__, line, got ? got : "(null)",
                want);
    }
    dsc_free(got);
}
#define QUOTE(in, want) check_quote(in, want, __LINE__)

static void test_strings(void)
{
    QUOTE("plain", "\"plain\"");
    QUOTE("", "\"\"");
    QUOTE("say \"hi\"", "\"say \\\"hi\\\"\"");
    QUOTE("back\\slash", "\"back\\\\slash\"");
    QUOTE("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"");
    QUOTE("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    /* UTF-8: two, three and four bytes (a surrogate pair). */
    QUOTE("gr\xc3\xb6\xc3\x9f"
          "e",
          "\"gr\\u00f6\\u00dfe\"");
    QUOTE("\xe2\x82\xac", "\"\\u20ac\"");
    QUOTE("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");
    QUOTE("\xe2\x80\xa8", "\"\\u2028\""); /* a line separator, which breaks JavaScript */
    /* Not UTF-8: each bad byte is U+FFFD, and what follows is read again. */
    QUOTE("\xff", "\"\\ufffd\"");
    QUOTE("a\x80z", "\"a\\ufffdz\"");
    QUOTE("\xc0\x80", "\"\\ufffd\\ufffd\"");                       /* an overlong NUL */
    QUOTE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* a surrogate */
    QUOTE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
    QUOTE("\xe2\x82", "\"\\ufffd\\ufffd\"");                       /* cut short */
    QUOTE("\xc3"
          "A",
          "\"\\ufffdA\"");
}

static void test_writer(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dsc_json j;
    dsc_json_init(&j, f);
    dsc_json_object(&j);
    dsc_json_knumber(&j, "a", 0.1f);
    dsc_json_knumber(&j, "nan", NAN);
    dsc_json_knumber(&j, "inf", -INFINITY);
    dsc_json_kstring(&j, "s", "x\"y");
    dsc_json_kstring(&j, "none", NULL);
    dsc_json_key(&j, "list");
    dsc_json_array(&j);
    dsc_json_uint(&j, 1);
    dsc_json_array(&j);
    dsc_json_end(&j);
    dsc_json_object(&j);
    dsc_json_end(&j);
    dsc_json_bool(&j, 0);
    dsc_json_end(&j);
    dsc_json_key(&j, "k\xff");
    dsc_json_bool(&j, 1);
    dsc_json_end(&j);
    fclose(f);
    const char *want =
        "{\"a\": 0.1, \"nan\": null, \"inf\": null, \"s\": \"x\\\"y\", \"none\": null, "
        "\"list\": [1, [], {}, false], \"k\\ufffd\": true}";
    CHECK(strcmp(buf, want) == 0);
    if (strcmp(buf, want) != 0) fprintf(stderr, "  got  %s\n  want %s\n", buf, want);
    free(buf);
    char t[32];
    CHECK(strcmp(dsc_json_number_text(t, sizeof t, NAN), "null") == 0);
    CHECK(strcmp(dsc_json_number_text(t, sizeof t, 2.5), "2.5") == 0);
}

int main(void)
{
    test_strings();
    test_writer();
    return check_report();
}
