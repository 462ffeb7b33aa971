/* SPDX-License-Identifier: MIT */
/*
 * fault.c — counters behind oh_fault_hit().  Disarmed (the normal case) it
 * costs one relaxed load; armed, one atomic increment per call of the kind.
 */
#include "core/fault.h"

#include <stdatomic.h>

static struct {
    _Atomic unsigned long nth;   /* fail the nth call (1-based); 0 = off */
    _Atomic unsigned long calls; /* calls seen since armed */
    _Atomic bool every;          /* and every call after it */
} faults[OH_FAULT_KINDS];

void oh_fault_arm(enum oh_fault_kind kind, unsigned long nth, bool every)
{
    atomic_store(&faults[kind].calls, 0);
    atomic_store(&faults[kind].every, every);
    atomic_store(&faults[kind].nth, nth);
}

bool oh_fault_hit(enum oh_fault_kind kind)
{
    unsigned long nth = atomic_load_explicit(&faults[kind].nth, memory_order_relaxed);
    if (__builtin_expect(nth == 0, 1)) return false;
    unsigned long c = atomic_fetch_add(&faults[kind].calls, 1) + 1;
    return c == nth || (c > nth && atomic_load(&faults[kind].every));
}
