/* libFuzzer target for the IDX reader. The first byte is the length of the
 * label file (clamped to what there is), which follows it; the rest is the
 * image file. Both are written to files, since the reader only takes
 * paths. Any input must give a data set or an error with a message, never
 * a crash, a leak or undefined behaviour. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], images[96], labels[96];

static void cleanup(void)
{
    remove(images);
    remove(labels);
    rmdir(dir);
}

static void put(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) __builtin_trap();
    if (n && fwrite(p, 1, n, f) != n) __builtin_trap();
    if (fclose(f) != 0) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (!dir[0]) {
        /* Memory-backed when there is one: the files are rewritten on
         * every run, and a disk makes that the bottleneck. */
        snprintf(dir, sizeof dir, "/dev/shm/fuzz_idx_XXXXXX");
        if (!mkdtemp(dir)) {
            snprintf(dir, sizeof dir, "/tmp/fuzz_idx_XXXXXX");
            if (!mkdtemp(dir)) __builtin_trap();
        }
        snprintf(images, sizeof images, "%s/images", dir);
        snprintf(labels, sizeof labels, "%s/labels", dir);
        atexit(cleanup);
    }
    size_t k = data[0] < size - 1 ? data[0] : size - 1;
    put(labels, data + 1, k);
    put(images, data + 1 + k, size - 1 - k);
    dsc_dataset *d = (dsc_dataset *)dir;
    dsc_status s = dsc_dataset_from_idx(images, labels, &d);
    if (s == DSC_OK) {
        /* Touch everything the reader made. */
        size_t n = dsc_dataset_rows(d), ni = dsc_dataset_inputs(d), no = dsc_dataset_outputs(d);
        const float *x = dsc_dataset_x(d), *y = dsc_dataset_y(d);
        if (n == 0 || ni == 0 || no < 2 || dsc_dataset_classes(d) != no) __builtin_trap();
        /* IDX data sets hold the pixel bytes as read (the model divides by
         * the divisor it records): whole numbers 0..255. */
        for (size_t i = 0; i < n * ni; i++)
            if (!(x[i] >= 0 && x[i] <= 255 && x[i] == (float)(int)x[i])) __builtin_trap();
        for (size_t i = 0; i < n; i++) {
            float sum = 0;
            for (size_t j = 0; j < no; j++) sum += y[i * no + j];
            if (sum != 1) __builtin_trap();
        }
        for (size_t j = 0; j < ni; j++) (void)strlen(dsc_dataset_input_name(d, j));
        for (size_t j = 0; j < no; j++) (void)strlen(dsc_dataset_output_name(d, j));
        for (size_t j = 0; j < no; j++) (void)strlen(dsc_dataset_class_label(d, j));
    } else if (d != NULL || dsc_last_error()[0] == '\0') {
        __builtin_trap();
    }
    dsc_dataset_free(d);
    return 0;
}
