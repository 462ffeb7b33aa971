/* SPDX-License-Identifier: MIT */
/*
 * fault.h — fault injection for tests: make the Nth call of a kind fail as
 * if the system had refused it, so every ENOMEM path can be walked.
 *
 * Armed from the environment (OFFHEAP_FAULT_MMAP=N, OFFHEAP_FAULT_FALLBACK=N,
 * read by the preload's config) or by tests through oh_fault_arm().  N counts
 * from 1; 0 disarms.  `every` repeats the failure on every later call too.
 */
#ifndef OH_FAULT_H
#define OH_FAULT_H

#include <stdbool.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

enum oh_fault_kind {
    OH_FAULT_MMAP = 0,     /* oh_os_reserve / oh_os_commit */
    OH_FAULT_FALLBACK = 1, /* jemalloc allocations of the interposer */
    OH_FAULT_KINDS
};

void oh_fault_arm(enum oh_fault_kind kind, unsigned long nth, bool every);

/* True when this call of `kind` must fail.  Costs one relaxed load when
 * disarmed. */
bool oh_fault_hit(enum oh_fault_kind kind);

#pragma GCC visibility pop

#endif
