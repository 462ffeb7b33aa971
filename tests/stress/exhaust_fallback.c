/* SPDX-License-Identifier: MIT */
/*
 * exhaust_fallback.c — OFFHEAP_ON_EXHAUST=fallback: a scope that outgrows
 * the pool is served from the heap, and those blocks are ordinary heap
 * blocks (README "Configuration"): the scope end does not release them, they
 * stay valid after it, and free() gives them back.
 * Run with OFFHEAP_POOL_SIZE=4M OFFHEAP_ON_EXHAUST=fallback (meson.build).
 *
 * Each of 20 scopes allocates 8 MiB in 1000-byte blocks (about half beyond
 * the pool).  No allocation may fail; after the scope end every heap block
 * still holds its content and is freed; heap bytes (jemalloc
 * stats.allocated) end where they started and the pool is empty.
 */
#include "check.h"
#include "offheap.h"
#include "offheap_pool.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS (8 * 1024)

static size_t heap_bytes(void)
{
    static size_t (*sample)(int);
    if (!sample) *(void **)&sample = dlsym(RTLD_DEFAULT, "offheap_pressure_sample");
    return sample ? sample(OFFHEAP_PRESSURE_HEAP) : 0;
}

static char *heap_blocks[BLOCKS];

int main(void)
{
    if (!OFFHEAP_LOADED()) return 77;
    size_t before = heap_bytes();
    unsigned long nulls = 0, fell_back = 0, bad = 0;
    for (int s = 0; s < 20; s++) {
        int nh = 0;
        offheap_scope_begin();
        for (int i = 0; i < BLOCKS; i++) {
            char *p = malloc(1000);
            if (!p) {
                nulls++;
                continue;
            }
            memset(p, (i + s) & 0xff, 1000);
            if (!offheap_owns(p)) heap_blocks[nh++] = p;
        }
        offheap_scope_end();
        fell_back += (unsigned long)nh;
        /* After the scope: the heap blocks are intact, and free()-able. */
        for (int i = 0; i < nh; i++) {
            for (int j = 0; j < 1000; j += 97)
                if (heap_blocks[i][j] != heap_blocks[i][0]) bad++;
            free(heap_blocks[i]);
        }
    }
    size_t after = heap_bytes();
    offheap_stats st;
    offheap_stats_get(&st);
    printf("exhaust_fallback: 20 scopes of 8 MiB in a %llu-byte pool: %lu blocks from the heap (%llu exhausted), "
           "%lu NULL, %lu corrupted; heap %zu -> %zu bytes after freeing them, %llu slabs in use\n",
           (unsigned long long)st.pool_reserved, fell_back, (unsigned long long)st.exhausted, nulls, bad, before, after,
           (unsigned long long)st.slabs_in_use);
    CHECK(nulls == 0);
    CHECK(bad == 0);
    CHECKF(fell_back > 0, "nothing came from the heap: the pool did not run out");
    CHECKF(after <= before + (1u << 20), "heap not back after freeing the fallback blocks");
    CHECK(st.slabs_in_use <= 1);
    return check_failures() ? 1 : 0;
}
