/* libFuzzer target for the model file reader. Any input must give a model
 * or an error with a message, never a crash, a leak or undefined
 * behaviour; a model it accepts must encode back to the same bytes, since
 * the format has exactly one encoding of each model (unknown optional
 * chunks aside). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "descent.h"
#include "io/model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const uint8_t *data, size_t size)
{
    dsc_model *m = NULL;
    dsc_status s = dsc_model_load_memory("fuzz.bin", data, size, &m);
    if (s != DSC_OK) {
        if (m != NULL || dsc_last_error()[0] == '\0') __builtin_trap();
        return;
    }
    if (m == NULL) __builtin_trap();
    /* Touch everything the reader made. */
    size_t in = dsc_model_inputs(m), out = dsc_model_outputs(m);
    for (size_t j = 0; j < in; j++) {
        const char *name = dsc_model_input_name(m, j);
        if (name) (void)strlen(name);
    }
    for (size_t k = 0; k < dsc_model_classes(m); k++) (void)strlen(dsc_model_class_label(m, k));
    if (dsc_model_target(m)) (void)strlen(dsc_model_target(m));
    if (dsc_model_input_std(m) && !(dsc_model_input_std(m)[in - 1] > 0)) __builtin_trap();
    if (dsc_model_target_std(m) && !(dsc_model_target_std(m)[out - 1] > 0)) __builtin_trap();
    uint8_t *again = NULL;
    size_t n = 0;
    if (dsc_model_encode(m, &again, &n) != DSC_OK) __builtin_trap();
    dsc_model *m2 = NULL;
    if (dsc_model_load_memory("again.bin", again, n, &m2) != DSC_OK) __builtin_trap();
    if (memcmp(dsc_model_params_const(m), dsc_model_params_const(m2),
               dsc_model_param_count(m) * sizeof(float)) != 0)
        __builtin_trap();
    dsc_free(again);
    dsc_model_free(m2);
    dsc_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    /* Mutated files almost never carry a matching CRC, so the checks
     * behind it would go unexplored: run again with the CRC repaired. */
    if (size >= 24 && memcmp(data + size - 12, "END \4\0\0\0", 8) == 0) {
        uint8_t *copy = dsc_malloc(size);
        if (!copy) return 0;
        memcpy(copy, data, size);
        uint32_t crc = dsc_crc32(0, copy, size - 12);
        for (int i = 0; i < 4; i++) copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
        check_one(copy, size);
        dsc_free(copy);
    }
    return 0;
}
