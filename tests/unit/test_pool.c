/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c — the explicit Pool from one thread: defaults, every EINVAL of
 * create, the cap to the byte, prealloc rollback under injected mmap
 * failures, huge pages, reset, release, large and aligned blocks, owns(),
 * stats and errno.  Threads are in test_pool_concurrent.c.
 */
#include <criterion/criterion.h>

#include "core/fault.h"
#include "core/os.h"
#include "offheap_pool.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

static offheap_pool *make(size_t pool_size, size_t slab_size)
{
    offheap_pool_config cfg = {.pool_size = pool_size, .slab_size = slab_size};
    offheap_pool *p = NULL;
    int r = offheap_pool_create(&p, &cfg);
    cr_assert_eq(r, 0, "create(pool %zu, slab %zu) = %d", pool_size, slab_size, r);
    cr_assert_not_null(p);
    return p;
}

static offheap_pool_stats stats(const offheap_pool *p)
{
    offheap_pool_stats s;
    memset(&s, 0xff, sizeof s);
    cr_assert_eq(offheap_pool_stats_get(p, &s), 0);
    return s;
}

/* create() with cfg must fail with `want` and leave nothing mapped. */
static void expect_create_fails(const offheap_pool_config *cfg, int want, const char *what)
{
    size_t before = oh_os_mapped_bytes();
    offheap_pool *p = NULL;
    int r = offheap_pool_create(&p, cfg);
    cr_expect_eq(r, want, "%s: got %d, want %d", what, r, want);
    if (r == 0) offheap_pool_destroy(p);
    cr_expect_eq(oh_os_mapped_bytes(), before, "%s: a failed create left memory mapped", what);
}

/* ---- create ----------------------------------------------------------------- */

Test(pool_create, defaults_with_null_config)
{
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, NULL), 0);
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.reserved, 64 * MiB);
    cr_expect_eq(s.slab_size, 1 * MiB);
    cr_expect_eq(s.slab_count, 64);
    cr_expect_eq(s.alignment, OFFHEAP_ALIGNMENT);
    cr_expect_eq(s.allocated, 0);
    cr_expect_eq(s.committed, 0, "nothing is touched without prealloc");
    cr_expect_eq(s.peak, 0);
    cr_expect_eq(s.slabs_in_use, 0);
    cr_expect_eq(s.large_blocks, 0);
    cr_expect_eq(s.resets, 0);
    offheap_pool_destroy(p);
}

Test(pool_create, zero_config_means_defaults)
{
    offheap_pool_config cfg = {0};
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, &cfg), 0);
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.reserved, 64 * MiB);
    cr_expect_eq(s.slab_size, 1 * MiB);
    cr_expect_eq(s.slab_count, 64);
    offheap_pool_destroy(p);
}

Test(pool_create, explicit_sizes_are_kept)
{
    offheap_pool *p = make(8 * MiB, 256 * KiB);
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.reserved, 8 * MiB);
    cr_expect_eq(s.slab_size, 256 * KiB);
    cr_expect_eq(s.slab_count, 32);
    offheap_pool_destroy(p);
}

Test(pool_create, prealloc_commits_slab_count_slabs)
{
    offheap_pool_config cfg = {.pool_size = 16 * MiB, .slab_size = 1 * MiB, .slab_count = 5, .prealloc = true};
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, &cfg), 0);
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.committed, 5 * MiB);
    cr_expect_eq(s.allocated, 0);
    cr_expect_eq(s.slabs_in_use, 0);
    offheap_pool_destroy(p);
}

Test(pool_create, prealloc_default_count_is_16)
{
    offheap_pool_config cfg = {.pool_size = 64 * MiB, .slab_size = 1 * MiB, .prealloc = true};
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, &cfg), 0);
    cr_expect_eq(stats(p).committed, 16 * MiB);
    offheap_pool_destroy(p);
}

Test(pool_create, prealloc_default_count_never_exceeds_the_pool)
{
    /* 0 = 16 slabs, "never more than pool_size / slab_size". */
    offheap_pool_config cfg = {.pool_size = 4 * 64 * KiB, .slab_size = 64 * KiB, .prealloc = true};
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, &cfg), 0);
    cr_expect_eq(stats(p).committed, 4 * 64 * KiB);
    offheap_pool_destroy(p);
}

Test(pool_create, einval_null_out)
{
    cr_expect_eq(offheap_pool_create(NULL, NULL), EINVAL);
    offheap_pool_config cfg = {.pool_size = 4 * MiB, .slab_size = 1 * MiB};
    cr_expect_eq(offheap_pool_create(NULL, &cfg), EINVAL);
}

Test(pool_create, einval_slab_not_power_of_two)
{
    size_t page = oh_os_page_size();
    const size_t bad[] = {3 * page, 5 * page, 1 * MiB + page, 3 * MiB, 12 * MiB};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        offheap_pool_config cfg = {.pool_size = 4 * bad[i], .slab_size = bad[i]};
        expect_create_fails(&cfg, EINVAL, "slab not a power of two");
    }
}

Test(pool_create, einval_slab_below_page)
{
    size_t page = oh_os_page_size();
    for (size_t slab = 1; slab < page; slab <<= 1) {
        offheap_pool_config cfg = {.pool_size = 64 * page, .slab_size = slab};
        expect_create_fails(&cfg, EINVAL, "slab smaller than a page");
    }
}

Test(pool_create, einval_pool_not_slab_multiple)
{
    size_t page = oh_os_page_size();
    offheap_pool_config a = {.pool_size = 4 * MiB + page, .slab_size = 1 * MiB};
    expect_create_fails(&a, EINVAL, "pool 4 MiB + a page");
    offheap_pool_config b = {.pool_size = 512 * KiB, .slab_size = 1 * MiB};
    expect_create_fails(&b, EINVAL, "pool smaller than one slab");
    offheap_pool_config c = {.pool_size = 3 * MiB / 2, .slab_size = 1 * MiB};
    expect_create_fails(&c, EINVAL, "pool 1.5 slabs");
    offheap_pool_config d = {.pool_size = 100 * KiB, .slab_size = 0}; /* default 1 MiB slab */
    expect_create_fails(&d, EINVAL, "pool below the default slab");
    offheap_pool_config e = {.pool_size = 0, .slab_size = 48 * MiB}; /* not pow2 anyway */
    expect_create_fails(&e, EINVAL, "slab 48 MiB");
    offheap_pool_config f = {.pool_size = 0, .slab_size = 128 * MiB}; /* > default pool */
    expect_create_fails(&f, EINVAL, "default pool smaller than slab");
}

Test(pool_create, einval_slab_count_larger_than_pool)
{
    offheap_pool_config cfg = {.pool_size = 4 * 64 * KiB, .slab_size = 64 * KiB, .slab_count = 5, .prealloc = true};
    expect_create_fails(&cfg, EINVAL, "slab_count 5 in a 4-slab pool");
    cfg.slab_count = 4;
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, &cfg), 0, "slab_count equal to the pool is fine");
    cr_expect_eq(stats(p).committed, 4 * 64 * KiB);
    offheap_pool_destroy(p);
}

Test(pool_create, einval_huge_pages_with_small_slab)
{
    size_t huge = oh_os_huge_page_size();
    if (huge == 0) cr_skip_test("huge page size unknown on this system");
    size_t page = oh_os_page_size();
    for (size_t slab = page; slab < huge; slab <<= 1) {
        offheap_pool_config cfg = {.pool_size = 4 * huge, .slab_size = slab, .huge_pages = true};
        expect_create_fails(&cfg, EINVAL, "huge_pages with a slab below the huge page size");
    }
    /* The default 1 MiB slab is below 2 MiB too. */
    if (huge > MiB) {
        offheap_pool_config cfg = {.huge_pages = true};
        expect_create_fails(&cfg, EINVAL, "huge_pages with the default slab");
    }
}

Test(pool_create, huge_pages_2mib_slab_works_either_way)
{
    if (oh_os_huge_page_size() != 2 * MiB) cr_skip_test("huge pages here are not 2 MiB");
    offheap_pool_config cfg = {.pool_size = 8 * MiB, .slab_size = 2 * MiB, .huge_pages = true};
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, &cfg), 0);
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.slab_size, 2 * MiB);
    cr_expect_eq(s.slab_count, 4);
    unsigned char *a = offheap_pool_alloc(p, 2 * MiB);
    cr_assert_not_null(a);
    memset(a, 0x7e, 2 * MiB);
    unsigned char *b = offheap_pool_alloc(p, 100);
    cr_assert_not_null(b);
    memset(b, 0x11, 100);
    cr_expect_eq(a[0], 0x7e);
    cr_expect_eq(a[2 * MiB - 1], 0x7e);
    offheap_pool_destroy(p);
}

Test(pool_create, huge_pages_with_prealloc)
{
    if (oh_os_huge_page_size() != 2 * MiB) cr_skip_test("huge pages here are not 2 MiB");
    offheap_pool_config cfg = {
        .pool_size = 8 * MiB, .slab_size = 4 * MiB, .slab_count = 1, .prealloc = true, .huge_pages = true};
    offheap_pool *p = NULL;
    int r = offheap_pool_create(&p, &cfg);
    /* Without reserved huge pages the fallback is silent; with too few the
     * prealloc may be refused, but only as ENOMEM. */
    cr_assert(r == 0 || r == ENOMEM, "create = %d", r);
    if (r == 0) {
        cr_expect_eq(stats(p).committed, 4 * MiB);
        offheap_pool_destroy(p);
    }
}

Test(pool_create, enomem_when_the_reservation_is_refused)
{
    offheap_pool_config cfg = {.pool_size = (SIZE_MAX / 2 + 1), .slab_size = 1 * MiB};
    expect_create_fails(&cfg, ENOMEM, "2^63 bytes");
    offheap_pool_config cfg2 = {.pool_size = SIZE_MAX & ~(1 * MiB - 1), .slab_size = 1 * MiB};
    expect_create_fails(&cfg2, ENOMEM, "SIZE_MAX rounded to slabs");
}

Test(pool_create, prealloc_rollback_on_mmap_failure)
{
    /* Fail the 1st, 2nd, ... mmap-kind call of a prealloc create in turn:
     * every failure is ENOMEM and leaves exactly what was mapped before. */
    offheap_pool_config cfg = {.pool_size = 16 * MiB, .slab_size = 1 * MiB, .slab_count = 8, .prealloc = true};
    int failures = 0;
    bool succeeded = false;
    for (unsigned long n = 1; n <= 64 && !succeeded; n++) {
        size_t before = oh_os_mapped_bytes();
        offheap_pool *p = NULL;
        oh_fault_arm(OH_FAULT_MMAP, n, false);
        int r = offheap_pool_create(&p, &cfg);
        oh_fault_arm(OH_FAULT_MMAP, 0, false);
        if (r == 0) {
            succeeded = true;
            cr_expect_eq(stats(p).committed, 8 * MiB);
            offheap_pool_destroy(p);
        } else {
            failures++;
            cr_expect_eq(r, ENOMEM, "fault at call %lu: got %d", n, r);
        }
        cr_expect_eq(oh_os_mapped_bytes(), before, "fault at call %lu: mapping leaked", n);
    }
    cr_expect(succeeded, "create never succeeded with a late fault");
    /* At least the reservation and the commit can each fail. */
    cr_expect_geq(failures, 2, "only %d fault points seen", failures);
}

Test(pool_create, destroy_unmaps_everything)
{
    size_t before = oh_os_mapped_bytes();
    offheap_pool *p = make(8 * MiB, 64 * KiB);
    for (int i = 0; i < 100; i++) cr_assert_not_null(offheap_pool_alloc(p, 1000));
    cr_assert_not_null(offheap_pool_alloc(p, 1 * MiB));
    offheap_pool_destroy(p);
    cr_expect_eq(oh_os_mapped_bytes(), before);
}

/* ---- the cap -------------------------------------------------------------- */

Test(pool_cap, slab_sized_blocks_to_the_byte)
{
    offheap_pool *p = make(4 * 64 * KiB, 64 * KiB);
    unsigned char *blocks[4];
    for (int i = 0; i < 4; i++) {
        blocks[i] = offheap_pool_alloc(p, 64 * KiB);
        cr_assert_not_null(blocks[i], "slab-sized block %d of 4", i);
        memset(blocks[i], i + 1, 64 * KiB);
    }
    cr_expect_eq(stats(p).allocated, 4 * 64 * KiB);
    errno = 0;
    cr_expect_null(offheap_pool_alloc(p, 1), "one byte past the cap");
    cr_expect_eq(errno, ENOMEM);
    errno = 0;
    cr_expect_null(offheap_pool_alloc_aligned(p, 1, 16));
    cr_expect_eq(errno, ENOMEM);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(blocks[i][0], i + 1);
        cr_expect_eq(blocks[i][64 * KiB - 1], i + 1);
    }
    offheap_pool_destroy(p);
}

Test(pool_cap, small_blocks_to_the_byte)
{
    /* Every byte of the cap can be handed out in 16-byte blocks: no slab
     * loses room to bookkeeping. */
    offheap_pool *p = make(4 * 64 * KiB, 64 * KiB);
    size_t n = 0;
    while (offheap_pool_alloc(p, 16) != NULL) n++;
    cr_expect_eq(errno, ENOMEM);
    cr_expect_eq(n, 4 * 64 * KiB / 16, "%zu blocks of 16 bytes", n);
    cr_expect_eq(stats(p).allocated, 4 * 64 * KiB);
    offheap_pool_destroy(p);
}

Test(pool_cap, large_blocks_count_against_the_cap)
{
    offheap_pool *p = make(4 * 64 * KiB, 64 * KiB);
    cr_assert_not_null(offheap_pool_alloc(p, 3 * 64 * KiB), "three slabs");
    errno = 0;
    cr_expect_null(offheap_pool_alloc(p, 64 * KiB + 1), "two slabs do not fit in one");
    cr_expect_eq(errno, ENOMEM);
    cr_assert_not_null(offheap_pool_alloc(p, 64 * KiB), "the last slab");
    errno = 0;
    cr_expect_null(offheap_pool_alloc(p, 1));
    cr_expect_eq(errno, ENOMEM);
    offheap_pool_destroy(p);
}

Test(pool_cap, sizes_that_can_never_fit)
{
    offheap_pool *p = make(4 * 64 * KiB, 64 * KiB);
    const size_t sizes[] = {4 * 64 * KiB + 1, 1 * MiB, SIZE_MAX / 2, SIZE_MAX - 15, SIZE_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        cr_expect_null(offheap_pool_alloc(p, sizes[i]), "size %zu", sizes[i]);
        cr_expect_eq(errno, ENOMEM, "size %zu", sizes[i]);
        errno = 0;
        cr_expect_null(offheap_pool_alloc_aligned(p, sizes[i], 4096), "size %zu", sizes[i]);
        cr_expect_eq(errno, ENOMEM, "size %zu", sizes[i]);
    }
    /* Nothing was consumed by the failures: the whole pool is still there. */
    cr_expect_eq(stats(p).allocated, 0);
    cr_expect_not_null(offheap_pool_alloc(p, 4 * 64 * KiB));
    offheap_pool_destroy(p);
}

Test(pool_cap, reset_gives_the_cap_back)
{
    offheap_pool *p = make(2 * 64 * KiB, 64 * KiB);
    for (int round = 0; round < 5; round++) {
        size_t n = 0;
        while (offheap_pool_alloc(p, 4000) != NULL) n++;
        cr_expect_eq(n, 2 * (64 * KiB / 4000), "round %d: %zu blocks", round, n);
        offheap_pool_reset(p);
    }
    offheap_pool_destroy(p);
}

/* ---- alloc basics ------------------------------------------------------------ */

Test(pool_alloc, einval_and_errno)
{
    offheap_pool *p = make(1 * MiB, 64 * KiB);
    errno = 0;
    cr_expect_null(offheap_pool_alloc(NULL, 16));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(offheap_pool_alloc(p, 0));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(offheap_pool_alloc_aligned(NULL, 16, 64));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(offheap_pool_alloc_aligned(p, 0, 64));
    cr_expect_eq(errno, EINVAL);
    cr_expect_eq(stats(p).allocated, 0, "failures allocate nothing");
    offheap_pool_destroy(p);
}

Test(pool_alloc, blocks_are_aligned_disjoint_and_keep_their_bytes)
{
    offheap_pool *p = make(8 * MiB, 64 * KiB);
    enum { N = 2000 };
    unsigned char **b = calloc(N, sizeof *b);
    size_t *sz = calloc(N, sizeof *sz);
    cr_assert(b && sz);
    for (size_t i = 0; i < N; i++) {
        sz[i] = 1 + (i * 37) % 3000;
        b[i] = offheap_pool_alloc(p, sz[i]);
        cr_assert_not_null(b[i], "block %zu", i);
        cr_expect_eq((uintptr_t)b[i] % OFFHEAP_ALIGNMENT, 0);
        memset(b[i], (int)(i & 0xff), sz[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < sz[i]; j++)
            if (b[i][j] != (unsigned char)(i & 0xff)) cr_assert_fail("block %zu byte %zu overwritten", i, j);
    free(b);
    free(sz);
    offheap_pool_destroy(p);
}

Test(pool_stats, allocated_is_the_sum_of_rounded_sizes)
{
    offheap_pool *p = make(16 * MiB, 64 * KiB);
    size_t want = 0;
    for (size_t n = 1; n <= 2000; n += 7) {
        cr_assert_not_null(offheap_pool_alloc(p, n));
        want += round16(n);
        cr_expect_eq(stats(p).allocated, want, "after a block of %zu", n);
    }
    offheap_pool_destroy(p);
}

Test(pool_stats, slabs_in_use_and_peak)
{
    offheap_pool *p = make(16 * 64 * KiB, 64 * KiB);
    cr_assert_not_null(offheap_pool_alloc(p, 100));
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.slabs_in_use, 1);
    cr_expect_eq(s.peak, 64 * KiB);
    cr_expect_geq(s.committed, 64 * KiB);
    for (int i = 0; i < 3; i++) cr_assert_not_null(offheap_pool_alloc(p, 64 * KiB));
    s = stats(p);
    cr_expect_eq(s.slabs_in_use, 4);
    cr_expect_eq(s.peak, 4 * 64 * KiB);
    offheap_pool_reset(p);
    s = stats(p);
    cr_expect_eq(s.slabs_in_use, 0);
    cr_expect_eq(s.peak, 4 * 64 * KiB, "reset does not lower the peak");
    cr_assert_not_null(offheap_pool_alloc(p, 100));
    cr_expect_eq(stats(p).peak, 4 * 64 * KiB);
    offheap_pool_destroy(p);
}

Test(pool_stats, einval)
{
    offheap_pool *p = make(1 * MiB, 64 * KiB);
    offheap_pool_stats s;
    cr_expect_eq(offheap_pool_stats_get(NULL, &s), EINVAL);
    cr_expect_eq(offheap_pool_stats_get(p, NULL), EINVAL);
    offheap_pool_destroy(p);
}

/* ---- reset ---------------------------------------------------------------- */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

Test(pool_reset, same_addresses_come_back)
{
    offheap_pool *p = make(16 * MiB, 64 * KiB);
    enum { N = 3 * 16 }; /* three slabs of 4 KiB blocks */
    void *first[N], *second[N];
    for (int i = 0; i < N; i++) cr_assert_not_null(first[i] = offheap_pool_alloc(p, 4 * KiB));
    offheap_pool_stats before = stats(p);
    offheap_pool_reset(p);
    offheap_pool_stats after = stats(p);
    cr_expect_eq(after.allocated, 0);
    cr_expect_eq(after.slabs_in_use, 0);
    cr_expect_eq(after.resets, 1);
    cr_expect_eq(after.committed, before.committed, "reset keeps the pages");
    for (int i = 0; i < N; i++) cr_assert_not_null(second[i] = offheap_pool_alloc(p, 4 * KiB));
    cr_expect_eq(second[0], first[0], "the first block after reset is the first before");
    qsort(first, N, sizeof first[0], cmp_ptr);
    qsort(second, N, sizeof second[0], cmp_ptr);
    cr_expect_arr_eq(first, second, sizeof first, "reset reuses exactly the same blocks");
    cr_expect_eq(stats(p).committed, before.committed, "reuse commits nothing new");
    offheap_pool_destroy(p);
}

Test(pool_reset, counts_and_large_blocks)
{
    offheap_pool *p = make(16 * MiB, 64 * KiB);
    cr_assert_not_null(offheap_pool_alloc(p, 200 * KiB));
    cr_assert_not_null(offheap_pool_alloc(p, 64 * KiB + 1));
    cr_expect_eq(stats(p).large_blocks, 2);
    offheap_pool_reset(p);
    offheap_pool_reset(p);
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.large_blocks, 0, "large_blocks counts since the last reset");
    cr_expect_eq(s.resets, 2);
    cr_expect_eq(s.allocated, 0);
    offheap_pool_destroy(p);
}

Test(pool_reset, null_and_errno)
{
    offheap_pool *p = make(1 * MiB, 64 * KiB);
    cr_assert_not_null(offheap_pool_alloc(p, 100));
    errno = 4242;
    offheap_pool_reset(NULL);
    cr_expect_eq(errno, 4242);
    offheap_pool_reset(p);
    cr_expect_eq(errno, 4242);
    cr_expect_eq(offheap_pool_release(NULL), 0);
    cr_expect_eq(errno, 4242);
    (void)offheap_pool_release(p);
    cr_expect_eq(errno, 4242);
    offheap_pool_destroy(NULL);
    cr_expect_eq(errno, 4242);
    offheap_pool_destroy(p);
    cr_expect_eq(errno, 4242);
}

/* ---- release -------------------------------------------------------------- */

Test(pool_release, gives_back_idle_slabs)
{
    offheap_pool *p = make(16 * 64 * KiB, 64 * KiB);
    for (int i = 0; i < 4; i++) {
        unsigned char *b = offheap_pool_alloc(p, 64 * KiB);
        cr_assert_not_null(b);
        memset(b, 0xee, 64 * KiB);
    }
    size_t committed = stats(p).committed;
    cr_expect_geq(committed, 4 * 64 * KiB);
    offheap_pool_reset(p);
    size_t released = offheap_pool_release(p);
    cr_expect_eq(released, committed, "every slab is idle after reset");
    cr_expect_eq(stats(p).committed, 0);
    cr_expect_eq(offheap_pool_release(p), 0, "nothing left to release");

    /* Released slabs come back zero-filled. */
    unsigned char *b = offheap_pool_alloc(p, 64 * KiB);
    cr_assert_not_null(b);
    for (size_t i = 0; i < 64 * KiB; i++)
        if (b[i]) cr_assert_fail("byte %zu of a released slab is %#x", i, b[i]);
    offheap_pool_destroy(p);
}

Test(pool_release, keeps_slabs_holding_blocks)
{
    offheap_pool *p = make(16 * 64 * KiB, 64 * KiB);
    unsigned char *live = offheap_pool_alloc(p, 1000);
    cr_assert_not_null(live);
    memset(live, 0x5c, 1000);
    unsigned char *big = offheap_pool_alloc(p, 3 * 64 * KiB);
    cr_assert_not_null(big);
    memset(big, 0x6d, 3 * 64 * KiB);
    (void)offheap_pool_release(p);
    cr_expect_geq(stats(p).committed, 4 * 64 * KiB, "slabs in use stay committed");
    for (size_t i = 0; i < 1000; i++)
        if (live[i] != 0x5c) cr_assert_fail("live block lost byte %zu to release", i);
    for (size_t i = 0; i < 3 * 64 * KiB; i++)
        if (big[i] != 0x6d) cr_assert_fail("large block lost byte %zu to release", i);
    offheap_pool_destroy(p);
}

/* ---- large blocks --------------------------------------------------------- */

Test(pool_large, larger_than_a_slab)
{
    offheap_pool *p = make(16 * 64 * KiB, 64 * KiB);
    size_t n = 3 * 64 * KiB + 1;
    unsigned char *a = offheap_pool_alloc(p, n);
    cr_assert_not_null(a);
    cr_expect_eq((uintptr_t)a % OFFHEAP_ALIGNMENT, 0);
    memset(a, 0x42, n);
    cr_expect(offheap_pool_owns(p, a));
    cr_expect(offheap_pool_owns(p, a + n - 1));
    offheap_pool_stats s = stats(p);
    cr_expect_eq(s.large_blocks, 1);
    cr_expect_geq(s.allocated, n);
    cr_expect_geq(s.slabs_in_use, 4);
    /* A small block afterwards does not land inside the large one. */
    unsigned char *b = offheap_pool_alloc(p, 64);
    cr_assert_not_null(b);
    cr_expect(b + 64 <= a || b >= a + n, "small block inside the large one");
    memset(b, 0, 64);
    cr_expect_eq(a[n - 1], 0x42);
    offheap_pool_destroy(p);
}

Test(pool_large, aligned_large_block)
{
    offheap_pool *p = make(32 * MiB, 1 * MiB);
    unsigned char *a = offheap_pool_alloc_aligned(p, 3 * MiB, 4 * MiB);
    cr_assert_not_null(a);
    cr_expect_eq((uintptr_t)a % (4 * MiB), 0);
    memset(a, 1, 3 * MiB);
    offheap_pool_destroy(p);
}

/* ---- aligned -------------------------------------------------------------- */

Test(pool_aligned, every_power_of_two_up_to_1mib)
{
    offheap_pool *p = make(64 * MiB, 1 * MiB);
    for (size_t align = 1; align <= MiB; align <<= 1) {
        cr_assert_not_null(offheap_pool_alloc(p, 24)); /* move the cursor */
        unsigned char *a = offheap_pool_alloc_aligned(p, 100, align);
        cr_assert_not_null(a, "align %zu", align);
        cr_expect_eq((uintptr_t)a % align, 0, "align %zu: %p", align, (void *)a);
        cr_expect_eq((uintptr_t)a % OFFHEAP_ALIGNMENT, 0);
        memset(a, 0x3c, 100);
        cr_expect(offheap_pool_owns(p, a));
    }
    offheap_pool_destroy(p);
}

Test(pool_aligned, alignment_beyond_a_slab)
{
    offheap_pool *p = make(64 * MiB, 64 * KiB);
    for (size_t align = 128 * KiB; align <= 8 * MiB; align <<= 1) {
        unsigned char *a = offheap_pool_alloc_aligned(p, 100, align);
        cr_assert_not_null(a, "align %zu", align);
        cr_expect_eq((uintptr_t)a % align, 0, "align %zu: %p", align, (void *)a);
        memset(a, 0x3c, 100);
    }
    offheap_pool_destroy(p);
}

Test(pool_aligned, rejects_non_powers_of_two)
{
    offheap_pool *p = make(4 * MiB, 64 * KiB);
    const size_t bad[] = {0, 3, 6, 24, 48, 1000, 4095, 65537, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        cr_expect_null(offheap_pool_alloc_aligned(p, 64, bad[i]), "align %zu", bad[i]);
        cr_expect_eq(errno, EINVAL, "align %zu", bad[i]);
    }
    cr_expect_eq(stats(p).allocated, 0);
    offheap_pool_destroy(p);
}

Test(pool_aligned, alignment_larger_than_the_pool_fails)
{
    offheap_pool *p = make(4 * MiB, 64 * KiB);
    errno = 0;
    cr_expect_null(offheap_pool_alloc_aligned(p, 64, (size_t)1 << 40));
    cr_expect(errno == ENOMEM || errno == EINVAL, "errno %d", errno);
    offheap_pool_destroy(p);
}

/* ---- owns ----------------------------------------------------------------- */

Test(pool_owns, inside_and_outside)
{
    offheap_pool *p = make(4 * MiB, 64 * KiB);
    offheap_pool *q = make(4 * MiB, 64 * KiB);
    unsigned char *a = offheap_pool_alloc(p, 100);
    unsigned char *b = offheap_pool_alloc(q, 100);
    cr_assert(a && b);
    cr_expect(offheap_pool_owns(p, a));
    cr_expect(offheap_pool_owns(p, a + 99));
    cr_expect_not(offheap_pool_owns(p, b), "another pool's block");
    cr_expect_not(offheap_pool_owns(q, a));
    int local;
    cr_expect_not(offheap_pool_owns(p, &local), "a stack address");
    void *heap = malloc(32);
    cr_expect_not(offheap_pool_owns(p, heap), "a malloc block");
    free(heap);
    cr_expect_not(offheap_pool_owns(p, NULL));
    cr_expect_not(offheap_pool_owns(NULL, a));
    cr_expect_not(offheap_pool_owns(NULL, NULL));
    offheap_pool_destroy(p);
    offheap_pool_destroy(q);
}

Test(pool_owns, owns_is_the_whole_reservation)
{
    /* Every slab's first and last byte is owned once handed out. */
    offheap_pool *p = make(8 * 64 * KiB, 64 * KiB);
    unsigned char *lo = NULL, *hi = NULL;
    for (int i = 0; i < 8; i++) {
        unsigned char *b = offheap_pool_alloc(p, 64 * KiB);
        cr_assert_not_null(b);
        if (!lo || b < lo) lo = b;
        if (!hi || b > hi) hi = b;
    }
    cr_expect(offheap_pool_owns(p, lo));
    cr_expect(offheap_pool_owns(p, hi + 64 * KiB - 1));
    cr_expect_not(offheap_pool_owns(p, hi + 64 * KiB), "one past the reservation");
    cr_expect_not(offheap_pool_owns(p, lo - 1), "one before the reservation");
    offheap_pool_destroy(p);
}
