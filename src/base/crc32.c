#include "base.h"

uint32_t dsc_crc32(uint32_t crc, const void *data, size_t n)
{
    /* Bitwise with no table: no shared state to initialise, and model files
     * are small enough that speed does not matter here. */
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
