/* SPDX-License-Identifier: MIT */
/*
 * pool_inline_checks.h — the contract of offheap_pool_alloc() checked through
 * the inline fast path of <offheap_pool.h> and, beside it, through the
 * exported function (called by address, so it is never inlined).  Header
 * only, written to compile as C11 and as C++17 under strict warnings, so one
 * body serves three programs: a C program (test_pool_abi), a C++ program
 * (test_pool_cxx) and a dlopen'ed plugin (pool_plugin, test_pool_plugin).
 *
 * oh_inline_checks() returns the number of its checks that failed; each is
 * reported by tests/common/check.h.
 */
#ifndef OH_POOL_INLINE_CHECKS_H
#define OH_POOL_INLINE_CHECKS_H

#include "check.h"

#include <offheap_pool.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
#define OH_BYTES(value) (static_cast<char *>(value))
#define OH_ADDR(value) (reinterpret_cast<uintptr_t>(value))
#define OH_SIZE(value) (static_cast<size_t>(value))
#define OH_INT(value) (static_cast<int>(value))
#define OH_NULLPTR nullptr
#else
#define OH_BYTES(value) ((char *)(value))
#define OH_ADDR(value) ((uintptr_t)(value))
#define OH_SIZE(value) ((size_t)(value))
#define OH_INT(value) ((int)(value))
#define OH_NULLPTR NULL
#endif

#define OH_KIB (OH_SIZE(1024))

typedef void *(*oh_alloc_fn)(offheap_pool *, size_t);

static inline size_t oh_round16(size_t n)
{
    return (n + 15u) & ~OH_SIZE(15);
}

/* NULL with errno == err through both entries. */
static void oh_expect_error(offheap_pool *pool, size_t size, int err, oh_alloc_fn exported)
{
    errno = 0;
    void *p = offheap_pool_alloc(pool, size);
    CHECK(p == OH_NULLPTR && errno == err);
    errno = 0;
    p = exported(pool, size);
    CHECK(p == OH_NULLPTR && errno == err);
}

static int oh_inline_checks(void)
{
    unsigned long failures_before = check_failures();
    /* volatile: the compiler may not see through it and inline the call */
    oh_alloc_fn volatile exported_v = offheap_pool_alloc;
    oh_alloc_fn exported = exported_v;
    const size_t slab = 64 * OH_KIB;
    const size_t cap = 4 * slab;

    offheap_pool_config cfg;
    cfg.pool_size = cap;
    cfg.slab_size = slab;
    cfg.slab_count = 0;
    cfg.prealloc = false;
    cfg.huge_pages = false;
    offheap_pool *pool = OH_NULLPTR;
    CHECK(offheap_pool_create(&pool, &cfg) == 0);
    if (!pool) return OH_INT(check_failures() - failures_before);

    /* EINVAL and ENOMEM exactly as documented. */
    oh_expect_error(OH_NULLPTR, 16, EINVAL, exported);
    oh_expect_error(pool, 0, EINVAL, exported);
    oh_expect_error(pool, SIZE_MAX, ENOMEM, exported);
    oh_expect_error(pool, SIZE_MAX - 15, ENOMEM, exported);
    oh_expect_error(pool, SIZE_MAX / 2 + 1, ENOMEM, exported);
    oh_expect_error(pool, cap + 1, ENOMEM, exported);
    /* the same with a warm cache: the one compare must still reject them */
    CHECK(offheap_pool_alloc(pool, 16) != OH_NULLPTR);
    oh_expect_error(pool, 0, EINVAL, exported);
    oh_expect_error(pool, SIZE_MAX, ENOMEM, exported);
    oh_expect_error(pool, SIZE_MAX - 15, ENOMEM, exported);
    offheap_pool_reset(pool);

    /* The cap to the byte, 64 bytes at a time: 16-aligned, consecutive
     * within a slab, all inside the pool, then ENOMEM. */
    for (int pass = 0; pass < 2; pass++) {
        size_t bytes = 0, breaks = 0;
        char *last = OH_NULLPTR;
        for (;;) {
            char *p = OH_BYTES(offheap_pool_alloc(pool, 64));
            if (!p) break;
            CHECK(OH_ADDR(p) % OFFHEAP_ALIGNMENT == 0);
            CHECK(offheap_pool_owns(pool, p));
            if (last && p != last + 64) {
                /* only where a slab (slab-aligned) is used up */
                CHECK(OH_ADDR(p) % slab == 0 && OH_ADDR(last + 64) % slab == 0);
                breaks++;
            }
            p[0] = 1;
            p[63] = 2;
            last = p;
            bytes += 64;
        }
        CHECK(errno == ENOMEM);
        CHECK(bytes == cap);
        CHECK(breaks <= cap / slab - 1);
        offheap_pool_stats s;
        CHECK(offheap_pool_stats_get(pool, &s) == 0);
        CHECK(s.allocated == cap);
        CHECK(s.slabs_in_use == cap / slab);
        /* Reset closes every cache: the next block takes a slab again
         * (a cache left open would bump in a slab nobody owns). */
        offheap_pool_reset(pool);
        CHECK(offheap_pool_stats_get(pool, &s) == 0);
        CHECK(s.allocated == 0 && s.slabs_in_use == 0);
        CHECK(offheap_pool_alloc(pool, 64) != OH_NULLPTR);
        CHECK(offheap_pool_stats_get(pool, &s) == 0);
        CHECK(s.allocated == 64 && s.slabs_in_use == 1);
        offheap_pool_reset(pool);
    }

    offheap_pool_destroy(pool);

    /* Stats exact across entries: inline, exported, 16-aligned, large. */
    cfg.pool_size = 64 * cap;
    pool = OH_NULLPTR;
    CHECK(offheap_pool_create(&pool, &cfg) == 0);
    if (!pool) return OH_INT(check_failures() - failures_before);
    size_t want = 0;
    for (size_t i = 1; i <= 3000; i++) {
        size_t n = 1 + (i * 37) % 300;
        void *p = i % 3 == 0   ? exported(pool, n)
                  : i % 7 == 0 ? offheap_pool_alloc_aligned(pool, n, 16)
                               : offheap_pool_alloc(pool, n);
        CHECK(p != OH_NULLPTR);
        if (!p) break;
        want += oh_round16(n);
    }
    CHECK(offheap_pool_alloc(pool, slab + 1) != OH_NULLPTR);
    want += oh_round16(slab + 1);
    offheap_pool_stats s;
    CHECK(offheap_pool_stats_get(pool, &s) == 0);
    CHECK(s.allocated == want);
    CHECK(s.large_blocks == 1);
    offheap_pool_destroy(pool);
    return OH_INT(check_failures() - failures_before);
}

#endif
