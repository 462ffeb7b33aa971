/* SPDX-License-Identifier: MIT */
/*
 * exhaust_fallback.c — with OFFHEAP_ON_EXHAUST=fallback, a scope that
 * outgrows the pool is served from the heap; a program that relies on the
 * scope end to free its blocks (the point of scopes) must not leak them.
 * Run with OFFHEAP_POOL_SIZE=4M OFFHEAP_ON_EXHAUST=fallback (meson.build).
 * Each of 20 scopes allocates 8 MiB in 1000-byte blocks and frees nothing;
 * heap bytes (jemalloc stats.allocated) must come back to where they were.
 */
#include "offheap.h"
#include "offheap_pool.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t heap_bytes(void)
{
    static size_t (*sample)(int);
    if (!sample) *(void **)&sample = dlsym(RTLD_DEFAULT, "offheap_pressure_sample");
    return sample ? sample(OFFHEAP_PRESSURE_HEAP) : 0;
}

int main(void)
{
    if (!OFFHEAP_LOADED()) return 77;
    size_t before = heap_bytes();
    unsigned long nulls = 0;
    for (int s = 0; s < 20; s++) {
        offheap_scope_begin();
        for (int i = 0; i < 8 * 1024; i++) {
            char *p = malloc(1000);
            if (!p) {
                nulls++;
                continue;
            }
            memset(p, i, 1000);
        }
        offheap_scope_end();
    }
    size_t after = heap_bytes();
    offheap_stats st;
    offheap_stats_get(&st);
    printf("exhaust_fallback: heap %zu -> %zu bytes over 20 scopes of 8 MiB (pool %llu bytes, %llu "
           "exhausted, %lu NULL)\n",
           before, after, (unsigned long long)st.pool_reserved, (unsigned long long)st.exhausted, nulls);
    if (nulls) return 1;
    if (after > before + (1u << 20)) {
        printf("exhaust_fallback: FAIL: the scopes' heap blocks were not released at scope end (%zu bytes "
               "leaked)\n",
               after - before);
        return 1;
    }
    return 0;
}
