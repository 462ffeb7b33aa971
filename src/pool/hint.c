/* SPDX-License-Identifier: MIT */
/*
 * hint.c — offheap_hint(): madvise on any range the caller names, one call
 * per flag set, in a fixed order (offheap_pool.h).
 *
 * Flags are validated whole before the first madvise: an unknown or
 * reserved bit, no bit at all, or both flags of one pair is EINVAL with
 * nothing applied.  The range is widened to whole pages for every advice
 * that only affects performance, and narrowed for DONTNEED, which destroys
 * contents: a partial page at either end may hold a neighbour's bytes and
 * is left alone.  A DONTNEED range holding no whole page is skipped.
 */
#include "offheap_pool.h"

#include "core/os.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#define HINT_KNOWN                                                                                                     \
    (OFFHEAP_HINT_WILLNEED | OFFHEAP_HINT_DONTNEED | OFFHEAP_HINT_SEQUENTIAL | OFFHEAP_HINT_RANDOM |                   \
     OFFHEAP_HINT_HUGEPAGE | OFFHEAP_HINT_NOHUGEPAGE)

/* The pairs whose flags contradict each other. */
static const int pairs[][2] = {
    {OFFHEAP_HINT_WILLNEED, OFFHEAP_HINT_DONTNEED},
    {OFFHEAP_HINT_SEQUENTIAL, OFFHEAP_HINT_RANDOM},
    {OFFHEAP_HINT_HUGEPAGE, OFFHEAP_HINT_NOHUGEPAGE},
};

/* The flags in the order their madvise calls are made, with the advice. */
static const struct {
    int flag;
    int advice; /* -1: this system's headers lack it */
} order[] = {
    {OFFHEAP_HINT_SEQUENTIAL, MADV_SEQUENTIAL}, {OFFHEAP_HINT_RANDOM, MADV_RANDOM},
#ifdef MADV_HUGEPAGE
    {OFFHEAP_HINT_HUGEPAGE, MADV_HUGEPAGE},
#else
    {OFFHEAP_HINT_HUGEPAGE, -1},
#endif
#ifdef MADV_NOHUGEPAGE
    {OFFHEAP_HINT_NOHUGEPAGE, MADV_NOHUGEPAGE},
#else
    {OFFHEAP_HINT_NOHUGEPAGE, -1},
#endif
    {OFFHEAP_HINT_WILLNEED, MADV_WILLNEED},     {OFFHEAP_HINT_DONTNEED, MADV_DONTNEED},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

int offheap_hint(void *ptr, size_t len, int flags)
{
    if (ptr == NULL || len == 0) return EINVAL;
    if (flags <= 0 || (flags & ~HINT_KNOWN) != 0) return EINVAL;
    for (size_t i = 0; i < COUNT_OF(pairs); i++) {
        if ((flags & pairs[i][0]) && (flags & pairs[i][1])) return EINVAL;
    }
    for (size_t i = 0; i < COUNT_OF(order); i++) {
        if ((flags & order[i].flag) && order[i].advice < 0) return EINVAL;
    }
    uintptr_t page = (uintptr_t)oh_os_page_size();
    uintptr_t lo = (uintptr_t)ptr;
    if (len > UINTPTR_MAX - lo) return EINVAL; /* the range wraps */
    uintptr_t hi = lo + len;                   /* one past the last byte */
    /* Widened: every advice but DONTNEED. */
    uintptr_t wfirst = lo & ~(page - 1);
    uintptr_t wlast = hi > UINTPTR_MAX - (page - 1) ? 0 : (hi + (page - 1)) & ~(page - 1);
    if ((flags & ~OFFHEAP_HINT_DONTNEED) && wlast == 0) return EINVAL;
    /* Narrowed: DONTNEED.  hi did not wrap, so neither can lo rounded up
     * within [lo, hi]. */
    uintptr_t nfirst = lo > UINTPTR_MAX - (page - 1) ? UINTPTR_MAX : (lo + (page - 1)) & ~(page - 1);
    uintptr_t nlast = hi & ~(page - 1);
    for (size_t i = 0; i < COUNT_OF(order); i++) {
        if (!(flags & order[i].flag)) continue;
        int r;
        if (order[i].flag == OFFHEAP_HINT_DONTNEED) {
            if (nlast <= nfirst) continue; /* no whole page inside: nothing to drop */
            r = oh_os_advise((void *)nfirst, (size_t)(nlast - nfirst), order[i].advice);
        } else {
            r = oh_os_advise((void *)wfirst, (size_t)(wlast - wfirst), order[i].advice);
        }
        if (r != 0) return r;
    }
    return 0;
}
