#include "base.h"

/* CRC-32 four bytes at a time ("slicing by 4"). The tables are built on
 * each call's stack (about 3 us), so there is no shared state to set up or
 * guard, and large inputs (a data set's fingerprint in a distributed run:
 * 50 MB for Fashion-MNIST) go at about 1 GB/s instead of the 90 MB/s of the
 * bitwise loop. */
uint32_t dsc_crc32(uint32_t crc, const void *data, size_t n)
{
    uint32_t t[4][256];
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        t[0][b] = c;
    }
    for (int s = 1; s < 4; s++)
        for (uint32_t b = 0; b < 256; b++) t[s][b] = (t[s - 1][b] >> 8) ^ t[0][t[s - 1][b] & 0xFFu];
    const unsigned char *p = data;
    crc = ~crc;
    for (; n >= 4; n -= 4, p += 4) {
        /* Bytes, not a uint32_t load: any alignment, any byte order. */
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc = t[3][crc & 0xFFu] ^ t[2][(crc >> 8) & 0xFFu] ^ t[1][(crc >> 16) & 0xFFu] ^
              t[0][crc >> 24];
    }
    for (; n; n--, p++) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xFFu];
    return ~crc;
}
