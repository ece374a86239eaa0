/* libFuzzer target for the CSV reader. The first byte picks the read chunk
 * (tiny chunks stress records that straddle reads) and the column options;
 * the rest is the file. Any input must give a data set or an error with a
 * message, never a crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/csv.h"
#include "descent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    static const size_t chunks[] = {0, 1, 2, 3, 5, 8, 13, 64};
    static const char *targets[] = {NULL, "#1", "#2,#3", "y"};
    static const char *ignores[] = {NULL, "a"};
    static const char *features[] = {NULL, "x,#2"};
    unsigned k = data[0];
    dsc_csv_options o;
    dsc_csv_options_init(&o);
    o.target = targets[(k >> 3) & 3];
    o.ignore = ignores[(k >> 5) & 1];
    o.features = features[(k >> 6) & 1];
    /* The last bit reads the target as class labels, numbers included. */
    if (k >> 7) o.target_kind = DSC_TARGET_CLASSES;
    dsc_dataset *d = NULL;
    dsc_status s =
        dsc_csv_parse_memory("fuzz.csv", (const char *)data + 1, size - 1, chunks[k & 7], &o, &d);
    if (s == DSC_OK) {
        /* Touch everything the reader made. */
        size_t n = dsc_dataset_rows(d), ni = dsc_dataset_inputs(d), no = dsc_dataset_outputs(d);
        volatile float sink = dsc_dataset_x(d)[n * ni - 1] + dsc_dataset_y(d)[n * no - 1];
        (void)sink;
        for (size_t j = 0; j < ni; j++) (void)strlen(dsc_dataset_input_name(d, j));
        for (size_t j = 0; j < no; j++) (void)strlen(dsc_dataset_output_name(d, j));
        for (size_t j = 0; j < dsc_dataset_classes(d); j++)
            (void)strlen(dsc_dataset_class_label(d, j));
        if (d == NULL || n == 0) __builtin_trap();
    } else if (d != NULL || dsc_last_error()[0] == '\0') {
        __builtin_trap();
    }
    dsc_dataset_free(d);
    return 0;
}
