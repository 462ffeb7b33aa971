/* SPDX-License-Identifier: MIT */
/*
 * check.c — OFFHEAP_CHECK (see check.h).  Released scope memory is
 * poisoned with 0xdd before it goes back to the slab supply, so a read
 * through a stale pointer sees an unmistakable pattern.
 */
#include "check.h"

#include "scope.h"
#include "thread.h"

#include <string.h>

bool oh_check_on;

void oh_check_init(void)
{
    oh_check_on = true;
}

void oh_check_alloc(struct oh_thread *t, void *p, size_t usable, void *ra)
{
    (void)t, (void)p, (void)usable, (void)ra;
}

size_t oh_check_retire(struct oh_thread *t, uint32_t head, uint32_t stop, void *site)
{
    (void)t, (void)site;
    for (uint32_t s = head; s != stop && s != OH_SLAB_NONE; s = oh_proc.meta[s].next)
        memset(oh_slab_addr(&oh_proc, s), 0xdd, (size_t)oh_proc.meta[s].run << oh_proc.shift);
    return oh_slabs_release_chain(&oh_proc, head, stop);
}
