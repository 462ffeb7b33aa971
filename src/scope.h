/* SPDX-License-Identifier: MIT */
/*
 * scope.h — the allocation engine behind the preload's exported functions.
 * Every entry takes `ra`, the return address of the exported function, so
 * that allocations libc or ld.so make for themselves inside a scope can be
 * routed to the heap (caller.c).
 *
 * All entries follow malloc(3): NULL + errno (ENOMEM, EINVAL), free never
 * changes errno.
 */
#ifndef OH_SCOPE_H
#define OH_SCOPE_H

#include "slabs.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* The process pool's range, written once when the pool is created and
 * never again.  Plain loads: a pointer into the pool can only exist after
 * that write, and until then base = size = 0 make every check fail. */
extern uintptr_t oh_pool_base;
extern uintptr_t oh_pool_size;
extern struct oh_slabs oh_proc;

static inline bool oh_in_pool(const void *p)
{
    return (uintptr_t)p - oh_pool_base < oh_pool_size;
}

struct oh_thread;

/* In-scope allocation, everything the inline path does not handle.
 * zero: calloc semantics. */
void *oh_scope_alloc_slow(size_t n, bool zero, void *ra);
void *oh_scope_alloc_aligned(size_t n, size_t align, void *ra);

/* Any pointer: realloc semantics with n > 0 and p != NULL. */
void *oh_realloc_any(void *p, size_t n, void *ra);

/* Usable size of a pool block. */
size_t oh_scope_usable(const void *p);

/* Create the process pool (once).  0 or errno. */
int oh_proc_init(void);

/* Release every run the thread owns (thread exit). */
void oh_scope_thread_exit(void);

/* Fork handlers. */
void oh_scope_prefork(void);
void oh_scope_postfork(void);

/* caller.c: code ranges whose allocations go to the heap. */
struct oh_range {
    uintptr_t lo;
    uintptr_t len;
};

/* True when ra lies in libc, ld.so, libstdc++ (outside its string members)
 * or an OFFHEAP_EXCLUDE library. */
bool oh_caller_excluded(const void *ra);
void oh_caller_init(const char *exclude);

/* For a caller oh_caller_excluded() lets through: is it in a runtime or
 * excluded object loaded after start?  (Adds that object's ranges.) */
bool oh_caller_check_new(const void *ra);

/* Fork handlers for the caller tables. */
void oh_caller_prefork(void);
void oh_caller_postfork(void);

#pragma GCC visibility pop

#endif
