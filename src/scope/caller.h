/* SPDX-License-Identifier: MIT */
/*
 * caller.h — routing by caller (caller.c): which return addresses belong to
 * code whose allocations inside a scope must go to the heap (libc, ld.so,
 * libstdc++ outside its string members, OFFHEAP_EXCLUDE libraries).
 *
 * Code ranges are only ever added, never removed: a verdict "scoped" cached
 * by a thread (scope_fast.h) stays right unless an unloaded object's code
 * is mapped again at the same address.
 */
#ifndef OH_CALLER_H
#define OH_CALLER_H

#include <stdbool.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_range {
    uintptr_t lo;
    uintptr_t len;
};

/* True when ra lies in libc, ld.so, libstdc++ (outside its string members)
 * or an OFFHEAP_EXCLUDE library.  Lock-free; thread-safe. */
bool oh_caller_excluded(const void *ra);

/* Find the runtime and excluded objects loaded now (pool creation). */
void oh_caller_init(const char *exclude);

/* For a caller oh_caller_excluded() lets through: is it in a runtime or
 * excluded object loaded after start?  (Adds that object's ranges.) */
bool oh_caller_check_new(const void *ra);

/* Fork handlers for the caller tables. */
void oh_caller_prefork(void);
void oh_caller_postfork(void);

#pragma GCC visibility pop

#endif
