/* SPDX-License-Identifier: MIT */
/*
 * pool_cap.c — OFFHEAP_POOL_SIZE is a hard cap, whatever OFFHEAP_SLAB_SIZE
 * is (or its default): scopes never get more than that many bytes, and
 * allocating past it fails with ENOMEM (the default policy).
 */
#include "ph.h"

#include <malloc.h>

static size_t parse(const char *s)
{
    char *end;
    size_t v = strtoull(s, &end, 10);
    switch (*end) {
    case 'K': v <<= 10; break;
    case 'M': v <<= 20; break;
    case 'G': v <<= 30; break;
    }
    return v;
}

int main(void)
{
    ph_require_preload();
    const char *ps = getenv("OFFHEAP_POOL_SIZE");
    REQUIRE(ps);
    size_t cap = parse(ps);
    offheap_scope_begin();
    size_t total = 0;
    int n = 0;
    for (; n < 100000; n++) {
        errno = 0;
        char *p = malloc(4000);
        if (!p) {
            CHECK(errno == ENOMEM);
            break;
        }
        CHECK(offheap_owns(p));
        total += malloc_usable_size(p);
        memset(p, 1, 4000);
    }
    offheap_stats s = ph_stats();
    CHECKF(s.pool_reserved <= cap, "OFFHEAP_POOL_SIZE=%s but the pool reserved %llu bytes", ps,
           (unsigned long long)s.pool_reserved);
    CHECKF(total <= cap, "OFFHEAP_POOL_SIZE=%s but scopes got %zu bytes", ps, total);
    CHECK(total > 0 && n < 100000);
    CHECK(s.slabs_total * s.slab_size <= cap);
    offheap_scope_end();
    printf("cap %zu: %d blocks, %zu bytes, pool %llu, slabs %llu x %llu\n", cap, n, total,
           (unsigned long long)s.pool_reserved, (unsigned long long)s.slabs_total, (unsigned long long)s.slab_size);
    return check_done("pool_cap");
}
