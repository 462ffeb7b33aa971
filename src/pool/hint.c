/* SPDX-License-Identifier: MIT */
/*
 * hint.c — offheap_hint(): madvise on any range the caller names.
 *
 * The range is widened to whole pages for every advice that only affects
 * performance, and narrowed for DONTNEED, which destroys contents: a partial
 * page at either end may hold a neighbour's bytes and is left alone.  A
 * DONTNEED range holding no whole page is a successful no-op.
 */
#include "offheap_pool.h"

#include "core/os.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

static int advice_of(int flags)
{
    switch (flags) {
    case OFFHEAP_HINT_WILLNEED: return MADV_WILLNEED;
    case OFFHEAP_HINT_DONTNEED: return MADV_DONTNEED;
    case OFFHEAP_HINT_SEQUENTIAL: return MADV_SEQUENTIAL;
    case OFFHEAP_HINT_RANDOM: return MADV_RANDOM;
#ifdef MADV_HUGEPAGE
    case OFFHEAP_HINT_HUGEPAGE: return MADV_HUGEPAGE;
#endif
#ifdef MADV_NOHUGEPAGE
    case OFFHEAP_HINT_NOHUGEPAGE: return MADV_NOHUGEPAGE;
#endif
    default: return -1;
    }
}

int offheap_hint(void *ptr, size_t len, int flags)
{
    if (ptr == NULL || len == 0) return EINVAL;
    int advice = advice_of(flags);
    if (advice < 0) return EINVAL;
    uintptr_t page = (uintptr_t)oh_os_page_size();
    uintptr_t lo = (uintptr_t)ptr;
    if (len > UINTPTR_MAX - lo) return EINVAL; /* the range wraps */
    uintptr_t hi = lo + len;                   /* one past the last byte */
    uintptr_t first, last;
    if (flags == OFFHEAP_HINT_DONTNEED) {
        /* hi did not wrap, so neither can lo rounded up within [lo, hi]. */
        first = lo > UINTPTR_MAX - (page - 1) ? UINTPTR_MAX : (lo + (page - 1)) & ~(page - 1);
        last = hi & ~(page - 1);
        if (last <= first) return 0; /* no whole page inside: nothing to drop */
    } else {
        first = lo & ~(page - 1);
        if (hi > UINTPTR_MAX - (page - 1)) return EINVAL;
        last = (hi + (page - 1)) & ~(page - 1);
    }
    return oh_os_advise((void *)first, (size_t)(last - first), advice);
}
