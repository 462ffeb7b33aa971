/* SPDX-License-Identifier: MIT */
/*
 * test_hint.c — offheap_hint(): argument errors, widening of advisory hints,
 * narrowing of DONTNEED (a neighbour's bytes are never dropped), and the
 * madvise errno passed through.
 */
#include <criterion/criterion.h>

#include "offheap_pool.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page;

static void setup(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
}

/* Map `pages` pages filled with 0xab. */
static unsigned char *map_filled(size_t pages)
{
    void *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    memset(p, 0xab, pages * page);
    return p;
}

/* True when every byte of [p, p+n) equals v. */
static bool all(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

static bool thp_available(void)
{
    return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

TestSuite(hint, .init = setup);

Test(hint, einval_for_bad_arguments)
{
    unsigned char *m = map_filled(1);
    cr_expect_eq(offheap_hint(NULL, page, OFFHEAP_HINT_WILLNEED), EINVAL);
    cr_expect_eq(offheap_hint(m, 0, OFFHEAP_HINT_WILLNEED), EINVAL);
    const int bad[] = {0, -1, 7, 8, 100, OFFHEAP_HINT_WILLNEED | OFFHEAP_HINT_DONTNEED | 4};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(offheap_hint(m, page, bad[i]), EINVAL, "flag %d", bad[i]);
    cr_expect(all(m, page, 0xab), "a rejected hint must not touch memory");
    munmap(m, page);
}

Test(hint, einval_for_a_range_that_wraps)
{
    cr_expect_eq(offheap_hint((void *)(UINTPTR_MAX - 100), 4096, OFFHEAP_HINT_WILLNEED), EINVAL);
    cr_expect_eq(offheap_hint((void *)(UINTPTR_MAX - 100), 4096, OFFHEAP_HINT_DONTNEED), EINVAL);
}

Test(hint, every_advisory_flag_succeeds_on_mapped_memory)
{
    unsigned char *m = map_filled(4);
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_WILLNEED), 0);
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_SEQUENTIAL), 0);
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_RANDOM), 0);
    if (thp_available()) {
        cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_HUGEPAGE), 0);
        cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_NOHUGEPAGE), 0);
    }
    cr_expect(all(m, 4 * page, 0xab), "advisory hints keep contents");
    munmap(m, 4 * page);
}

Test(hint, advisory_ranges_are_widened_to_pages)
{
    /* madvise itself refuses an unaligned start; offheap_hint widens it. */
    unsigned char *m = map_filled(2);
    cr_expect_eq(offheap_hint(m + 1, 10, OFFHEAP_HINT_WILLNEED), 0);
    cr_expect_eq(offheap_hint(m + page - 1, 2, OFFHEAP_HINT_RANDOM), 0);
    cr_expect_eq(offheap_hint(m + 17, 2 * page - 17, OFFHEAP_HINT_SEQUENTIAL), 0);
    cr_expect(all(m, 2 * page, 0xab));
    munmap(m, 2 * page);
}

Test(hint, widening_reaches_the_next_page)
{
    /* [m + page - 1, m + page + 1) widens into the second page: when that
     * page is unmapped madvise reports it. */
    unsigned char *m = map_filled(2);
    munmap(m + page, page);
    cr_expect_eq(offheap_hint(m + page - 1, 1, OFFHEAP_HINT_WILLNEED), 0);
    cr_expect_eq(offheap_hint(m + page - 1, 2, OFFHEAP_HINT_WILLNEED), ENOMEM);
    munmap(m, page);
}

Test(hint, unmapped_range_gives_enomem)
{
    unsigned char *m = map_filled(2);
    munmap(m, 2 * page);
    cr_expect_eq(offheap_hint(m, 2 * page, OFFHEAP_HINT_WILLNEED), ENOMEM);
    cr_expect_eq(offheap_hint(m, 2 * page, OFFHEAP_HINT_DONTNEED), ENOMEM);
}

Test(hint, dontneed_drops_whole_pages)
{
    unsigned char *m = map_filled(3);
    cr_expect_eq(offheap_hint(m + page, page, OFFHEAP_HINT_DONTNEED), 0);
    cr_expect(all(m, page, 0xab), "page before untouched");
    cr_expect(all(m + page, page, 0), "dropped page reads zero");
    cr_expect(all(m + 2 * page, page, 0xab), "page after untouched");
    munmap(m, 3 * page);
}

Test(hint, dontneed_is_narrowed_never_touching_neighbours)
{
    unsigned char *m = map_filled(4);
    /* From the middle of page 0 to the middle of page 3: only pages 1 and 2
     * lie wholly inside. */
    cr_expect_eq(offheap_hint(m + page / 2, 3 * page, OFFHEAP_HINT_DONTNEED), 0);
    cr_expect(all(m, page, 0xab), "partial first page kept");
    cr_expect(all(m + page, 2 * page, 0), "whole pages inside dropped");
    cr_expect(all(m + 3 * page, page, 0xab), "partial last page kept");
    munmap(m, 4 * page);
}

Test(hint, dontneed_without_a_whole_page_does_nothing)
{
    unsigned char *m = map_filled(2);
    /* Less than a page, straddling the boundary. */
    cr_expect_eq(offheap_hint(m + page - 10, 20, OFFHEAP_HINT_DONTNEED), 0);
    /* Exactly a page long but unaligned: still no whole page inside. */
    cr_expect_eq(offheap_hint(m + 1, page, OFFHEAP_HINT_DONTNEED), 0);
    /* One byte short of a whole page at the start. */
    cr_expect_eq(offheap_hint(m, page - 1, OFFHEAP_HINT_DONTNEED), 0);
    cr_expect(all(m, 2 * page, 0xab), "no byte dropped");
    munmap(m, 2 * page);
}

Test(hint, dontneed_with_no_whole_page_ignores_unmapped_memory)
{
    /* Nothing to drop means no system call, so no error either. */
    unsigned char *m = map_filled(1);
    munmap(m, page);
    cr_expect_eq(offheap_hint(m + 1, page - 2, OFFHEAP_HINT_DONTNEED), 0);
}
