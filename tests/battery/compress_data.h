/* SPDX-License-Identifier: MIT */
/* compress_data.h — compressible input for the compression programs:
 * words and numbers from the request number, with runs and noise. */
#ifndef BATTERY_COMPRESS_DATA_H
#define BATTERY_COMPRESS_DATA_H

#include "battery.h"

static inline size_t bt_make_input(int i, unsigned char *buf, size_t cap)
{
    static const char *const words[] = {"alpha ", "beta ", "gamma ", "delta ", "request ", "scope ", "offheap ", "pool "};
    uint64_t st = (uint64_t)i * 2654435761u + 17;
    size_t want = 200 + (size_t)(i * 997) % (cap - 400), n = 0;
    while (n + 32 < want) {
        uint64_t r = bt_rand(&st);
        if (r % 7 == 0) { /* noise */
            for (int k = 0; k < 8; k++) buf[n++] = (unsigned char)(bt_rand(&st) >> 8);
        } else if (r % 11 == 0) { /* a run */
            memset(buf + n, 'a' + (int)(r % 26), 20);
            n += 20;
        } else {
            const char *w = words[r % 8];
            size_t l = strlen(w);
            memcpy(buf + n, w, l);
            n += l;
            n += (size_t)snprintf((char *)buf + n, cap - n, "%u ", (unsigned)(r >> 40) % 1000);
        }
    }
    return n;
}

#endif /* BATTERY_COMPRESS_DATA_H */
