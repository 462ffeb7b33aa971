/* SPDX-License-Identifier: MIT */
/*
 * scope.h — the allocation engine behind the preload's exported functions.
 * Every entry takes `ra`, the return address of the exported function, so
 * that allocations libc or ld.so make for themselves inside a scope can be
 * routed to the heap (caller.h).
 *
 * All entries follow malloc(3): NULL + errno (ENOMEM, EINVAL), free never
 * changes errno.
 */
#ifndef OH_SCOPE_H
#define OH_SCOPE_H

#include "scope/proc.h"

#include <stdbool.h>
#include <stddef.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_thread;

/* In-scope allocation, everything the inline path does not handle.
 * zero: calloc semantics. */
void *oh_scope_alloc_slow(size_t n, bool zero, void *ra);
void *oh_scope_alloc_aligned(size_t n, size_t align, void *ra);

/* Any pointer: realloc semantics with n > 0 and p != NULL. */
void *oh_realloc_any(void *p, size_t n, void *ra);

/* free() of pool block p, by code at ra, on a thread that is outside any
 * routed scope (scope_fast.h's oh_scope_free sends it here). */
void oh_scope_free_outside(const void *p, void *ra);

/* Join the calling thread to the registry (thread index, exit hook,
 * counters).  false if the process has no thread index left. */
bool oh_scope_join(struct oh_thread *t);

/* Threads refused a scope because no thread index was left (counted in
 * offheap_stats.exhausted). */
uint64_t oh_scope_unjoined(void);

/* Fork handlers.  The child's: its counts (scopes refused for want of a
 * thread index, the pool's peak) start again from its state at the fork. */
void oh_scope_prefork(void);
void oh_scope_postfork(void);
void oh_scope_postfork_child(void);

/* Fork child, for each thread that did not survive the fork (registry
 * walk, with the fork handlers' locks held): its parked warm slab goes back
 * to the pool and it leaves probation.  Slabs holding scope data stay
 * owned: the forking thread may hold pointers into them. */
void oh_scope_forget_thread(struct oh_thread *t);

#pragma GCC visibility pop

#endif
