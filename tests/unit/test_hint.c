/* SPDX-License-Identifier: MIT */
/*
 * test_hint.c — offheap_hint(): argument errors, widening of advisory hints,
 * narrowing of DONTNEED (a neighbour's bytes are never dropped), the
 * madvise errno passed through, and the flags as bits: every single flag
 * and every valid combination applied (seen in /proc/self/smaps VmFlags
 * and in the contents), contradicting pairs and reserved bits refused
 * before anything is applied, and the documented order of the calls.
 */
#include <criterion/criterion.h>

#include "offheap_pool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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
    /* No flag, negative, the reserved bits 0x04/0x08 and the single values
     * 3..6 of 0.1.0, unknown bits, each contradicting pair (alone and with
     * a valid flag). */
    const int bad[] = {0,
                       -1,
                       3,
                       4,
                       5,
                       6,
                       7,
                       8,
                       100,
                       0x100,
                       INT32_MIN,
                       OFFHEAP_HINT_WILLNEED | OFFHEAP_HINT_DONTNEED,
                       OFFHEAP_HINT_SEQUENTIAL | OFFHEAP_HINT_RANDOM,
                       OFFHEAP_HINT_HUGEPAGE | OFFHEAP_HINT_NOHUGEPAGE,
                       OFFHEAP_HINT_WILLNEED | OFFHEAP_HINT_DONTNEED | OFFHEAP_HINT_SEQUENTIAL,
                       OFFHEAP_HINT_SEQUENTIAL | OFFHEAP_HINT_RANDOM | OFFHEAP_HINT_DONTNEED,
                       OFFHEAP_HINT_HUGEPAGE | OFFHEAP_HINT_NOHUGEPAGE | OFFHEAP_HINT_WILLNEED,
                       OFFHEAP_HINT_WILLNEED | 0x04,
                       OFFHEAP_HINT_DONTNEED | 0x08};
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

/* ---- flags as bits ------------------------------------------------------ */

/* The VmFlags line of the mapping that starts at p ("" when not found). */
static void vmflags(const void *p, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert_not_null(f);
    char line[512];
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = lo == (uintptr_t)p;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            size_t n = strlen(line + 8);
            if (n >= cap) n = cap - 1;
            memcpy(out, line + 8, n);
            out[n] = '\0';
            break;
        }
    }
    fclose(f);
}

static bool has_flag(const void *p, const char *two)
{
    char fl[512];
    vmflags(p, fl, sizeof fl);
    char want[4] = {' ', two[0], two[1], '\0'};
    return strstr(fl, want) != NULL;
}

/* Each single flag does what its madvise does. */
Test(hint, each_flag_alone_applies_its_advice)
{
    unsigned char *m = map_filled(4);
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_SEQUENTIAL), 0);
    cr_expect(has_flag(m, "sr"), "SEQUENTIAL sets VM_SEQ_READ");
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_RANDOM), 0);
    cr_expect(has_flag(m, "rr") && !has_flag(m, "sr"), "RANDOM replaces it with VM_RAND_READ");
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_WILLNEED), 0);
    cr_expect(all(m, 4 * page, 0xab));
    if (thp_available()) {
        cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_HUGEPAGE), 0);
        cr_expect(has_flag(m, "hg"), "HUGEPAGE sets VM_HUGEPAGE");
        cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_NOHUGEPAGE), 0);
        cr_expect(has_flag(m, "nh") && !has_flag(m, "hg"), "NOHUGEPAGE replaces it with VM_NOHUGEPAGE");
    }
    cr_expect(all(m, 4 * page, 0xab), "advisory flags keep contents");
    cr_expect_eq(offheap_hint(m, 4 * page, OFFHEAP_HINT_DONTNEED), 0);
    cr_expect(all(m, 4 * page, 0), "DONTNEED drops");
    munmap(m, 4 * page);
}

/* Every valid combination: one or none of each pair, at least one flag.
 * Each call gets a mapping of its own (advice on a whole mapping does not
 * split it, so smaps shows it on the line that starts at m). */
Test(hint, every_valid_combination_applies_every_flag)
{
    const int residency[] = {0, OFFHEAP_HINT_WILLNEED, OFFHEAP_HINT_DONTNEED};
    const int pattern[] = {0, OFFHEAP_HINT_SEQUENTIAL, OFFHEAP_HINT_RANDOM};
    const int huge[] = {0, OFFHEAP_HINT_HUGEPAGE, OFFHEAP_HINT_NOHUGEPAGE};
    int tried = 0;
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            for (int c = 0; c < 3; c++) {
                int flags = residency[a] | pattern[b] | huge[c];
                if (!flags || (huge[c] && !thp_available())) continue;
                unsigned char *m = map_filled(4);
                cr_expect_eq(offheap_hint(m + 5, 4 * page - 10, flags), 0, "flags 0x%x", flags);
                cr_expect_eq(has_flag(m, "sr"), (flags & OFFHEAP_HINT_SEQUENTIAL) != 0, "flags 0x%x: sr", flags);
                cr_expect_eq(has_flag(m, "rr"), (flags & OFFHEAP_HINT_RANDOM) != 0, "flags 0x%x: rr", flags);
                if (thp_available()) {
                    cr_expect_eq(has_flag(m, "hg"), (flags & OFFHEAP_HINT_HUGEPAGE) != 0, "flags 0x%x: hg", flags);
                    cr_expect_eq(has_flag(m, "nh"), (flags & OFFHEAP_HINT_NOHUGEPAGE) != 0, "flags 0x%x: nh", flags);
                }
                /* DONTNEED is narrowed to pages 1 and 2; the others keep
                 * every byte. */
                cr_expect(all(m, page, 0xab), "flags 0x%x: first partial page kept", flags);
                cr_expect(all(m + page, 2 * page, (flags & OFFHEAP_HINT_DONTNEED) ? 0 : 0xab),
                          "flags 0x%x: whole pages inside", flags);
                cr_expect(all(m + 3 * page, page, 0xab), "flags 0x%x: last partial page kept", flags);
                munmap(m, 4 * page);
                tried++;
            }
        }
    }
    cr_expect_geq(tried, 8);
}

/* A refused combination applies nothing, not even its valid flags. */
Test(hint, a_refused_combination_applies_nothing)
{
    unsigned char *m = map_filled(2);
    cr_expect_eq(offheap_hint(m, 2 * page, OFFHEAP_HINT_SEQUENTIAL | OFFHEAP_HINT_DONTNEED | OFFHEAP_HINT_WILLNEED),
                 EINVAL);
    cr_expect(!has_flag(m, "sr"), "SEQUENTIAL not applied");
    cr_expect(all(m, 2 * page, 0xab), "DONTNEED not applied");
    cr_expect_eq(offheap_hint(m, 2 * page, OFFHEAP_HINT_RANDOM | 0x04), EINVAL);
    cr_expect(!has_flag(m, "rr"), "RANDOM not applied");
    munmap(m, 2 * page);
}

/* The order: pattern, page size, then WILLNEED/DONTNEED; the first failing
 * call stops the rest and its errno is returned.  madvise(DONTNEED) refuses
 * locked pages (EINVAL), after SEQUENTIAL has been applied. */
Test(hint, calls_run_in_order_and_stop_at_the_first_error)
{
    unsigned char *m = map_filled(2);
    /* The system call itself: AddressSanitizer turns mlock() into a no-op. */
    if (syscall(SYS_mlock, m, 2 * page) != 0) {
        munmap(m, 2 * page);
        cr_skip_test("mlock refused (RLIMIT_MEMLOCK)");
    }
    cr_expect_eq(offheap_hint(m, 2 * page, OFFHEAP_HINT_SEQUENTIAL | OFFHEAP_HINT_DONTNEED), EINVAL);
    cr_expect(has_flag(m, "sr"), "SEQUENTIAL, first in the order, was applied");
    cr_expect(all(m, 2 * page, 0xab), "DONTNEED failed and dropped nothing");
    (void)syscall(SYS_munlock, m, 2 * page);
    /* A hole: the first call (RANDOM, widened over the hole) fails with
     * ENOMEM and DONTNEED, after it, is not given. */
    munmap(m + page, page);
    cr_expect_eq(offheap_hint(m, 2 * page, OFFHEAP_HINT_RANDOM | OFFHEAP_HINT_DONTNEED), ENOMEM);
    cr_expect(all(m, page, 0xab), "DONTNEED not given after the failure");
    munmap(m, page);
}
