/* SPDX-License-Identifier: MIT */
/*
 * test_public_api.c — the explicit API as a program gets it: only
 * <offheap_pool.h>, linked against liboffheap_pool.so (offheap_pool_dep),
 * not the static core.  Every public function must be exported (the library
 * builds with -fvisibility=hidden) and work through the shared object.  A
 * missing export fails the link; the calls check the basics end to end.
 */
#include <criterion/criterion.h>

#include <offheap_pool.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

static void nop_fn(const offheap_pressure_event *ev, void *user)
{
    (void)ev;
    (void)user;
}

Test(public_api, pool_through_the_shared_library)
{
    offheap_pool *p = NULL;
    cr_assert_eq(offheap_pool_create(&p, NULL), 0);
    char *a = offheap_pool_alloc(p, 100);
    char *b = offheap_pool_alloc_aligned(p, 100, 4096);
    cr_assert(a && b);
    cr_expect_eq((uintptr_t)b % 4096, 0);
    memset(a, 1, 100);
    memset(b, 2, 100);
    cr_expect(offheap_pool_owns(p, a));
    offheap_pool_stats s;
    cr_assert_eq(offheap_pool_stats_get(p, &s), 0);
    cr_expect_geq(s.allocated, 200);
    offheap_pool_reset(p);
    (void)offheap_pool_release(p);
    offheap_pool_destroy(p);
}

Test(public_api, arena_through_the_shared_library)
{
    offheap_arena *a = NULL;
    cr_assert_eq(offheap_arena_create(&a, 8192), 0);
    char *x = offheap_arena_alloc(a, 10);
    char *y = offheap_arena_alloc_aligned(a, 10, 256);
    cr_assert(x && y);
    cr_expect_eq((uintptr_t)y % 256, 0);
    cr_expect_gt(offheap_arena_remaining(a), 0);
    offheap_arena_reset(a);
    offheap_arena_destroy(a);
}

Test(public_api, hints_pressure_and_errors_through_the_shared_library)
{
    offheap_arena *a = NULL;
    cr_assert_eq(offheap_arena_create(&a, 4 * 4096), 0);
    char *x = offheap_arena_alloc(a, 4096);
    cr_assert_not_null(x);
    cr_expect_eq(offheap_hint(x, 4096, OFFHEAP_HINT_WILLNEED), 0);
    offheap_arena_destroy(a);
    cr_expect_gt(offheap_pressure_sample(OFFHEAP_PRESSURE_RSS), 0);
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, 3600000u, &id), 0);
    cr_expect_eq(offheap_pressure_check(), 0);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
    cr_expect_str_eq(offheap_strerror(-12345), "unknown error");
    cr_expect_str_neq(offheap_strerror(ENOMEM), "unknown error");
}

Test(public_api, heap_pressure_is_enotsup_without_jemalloc_in_the_process)
{
    /* This program links liboffheap_pool.so only and keeps glibc's malloc.
     * The library must not load jemalloc (its mallctl is looked up, not
     * linked), so there is no heap figure to watch. */
    cr_assert_null(dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD));
    errno = 0;
    cr_expect_eq(offheap_pressure_sample(OFFHEAP_PRESSURE_HEAP), 0);
    cr_expect_eq(errno, ENOTSUP);
    int id = -1;
    cr_expect_eq(offheap_pressure_register(OFFHEAP_PRESSURE_HEAP, 1, nop_fn, NULL, 0, &id), ENOTSUP);
    cr_expect_null(dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD));
}
