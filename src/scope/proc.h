/* SPDX-License-Identifier: MIT */
/*
 * proc.h — the process pool: the one slab supply behind every scope of the
 * process, created at the first scope or tag (proc.c).  Other files reach
 * its state only through the accessors below.
 *
 * Its range (oh_pool_base, oh_pool_size) is written once when the pool is
 * created and never again.  Plain loads: a pointer into the pool can only
 * exist after that write, and until then base = size = 0 make every
 * ownership test fail.
 */
#ifndef OH_PROC_H
#define OH_PROC_H

#include "core/slabs.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

extern uintptr_t oh_pool_base;
extern uintptr_t oh_pool_size;
extern struct oh_slabs oh_proc; /* use the accessors below */

/* Is p inside the process pool?  One subtraction and one compare. */
static inline bool oh_in_pool(const void *p)
{
    return (uintptr_t)p - oh_pool_base < oh_pool_size;
}

/* meta.owner of the slabs of a run kept alive for the life of the process
 * by a rescue (rescue.h); thread indices are below OH_MAX_THREADS. */
#define OH_OWNER_PINNED UINT32_MAX
/* ... or held by the rescue until the scopes on probation on other
 * threads have ended too (rescue.c). */
#define OH_OWNER_PENDING (UINT32_MAX - 1)

/* Create the process pool (once; reads the configuration, arms the PLT
 * slots, starts check mode and the caller tables).  0 or an errno value;
 * scopes stay off after an error. */
int oh_proc_init(void);

/* True once oh_proc_init() succeeded. */
static inline bool oh_proc_ready(void)
{
    return oh_pool_base != 0;
}

/* Blocks needing this many bytes or more get slab runs of their own. */
size_t oh_proc_large_min(void);

static inline size_t oh_proc_slab_size(void)
{
    return oh_proc.slab_size;
}

/* Bytes reserved (valid from the start of oh_proc_init, before the range
 * is published). */
static inline size_t oh_proc_size(void)
{
    return oh_proc.size;
}

static inline unsigned oh_proc_shift(void)
{
    return oh_proc.shift;
}

static inline uint32_t oh_proc_count(void)
{
    return oh_proc.count;
}

/* Address of slab i, and the slab holding pool address p. */
static inline char *oh_proc_slab(uint32_t i)
{
    return oh_slab_addr(&oh_proc, i);
}

static inline uint32_t oh_proc_index(const void *p)
{
    return oh_slab_index(&oh_proc, p);
}

/* The metadata of slab i (its chain link, run length, owner, scope). */
static inline struct oh_slab_meta *oh_proc_meta(uint32_t i)
{
    return &oh_proc.meta[i];
}

/* Bytes of the run starting at slab `first`. */
static inline size_t oh_proc_run_bytes(uint32_t first)
{
    return (size_t)oh_proc.meta[first].run << oh_proc.shift;
}

static inline uint32_t oh_proc_acquire(uint32_t n, bool *zeroed, bool fresh)
{
    return oh_slabs_acquire_ex(&oh_proc, n, zeroed, fresh);
}

static inline void oh_proc_release(uint32_t first)
{
    oh_slabs_release(&oh_proc, first);
}

static inline size_t oh_proc_release_chain(uint32_t head, uint32_t stop)
{
    return oh_slabs_release_chain(&oh_proc, head, stop);
}

/* Decommit every idle resident slab (malloc_trim); bytes given back. */
size_t oh_proc_purge(void);

/* The figures offheap_stats_get() reports about the pool (zeros before it
 * exists, except slab_size, which is the configured one). */
struct oh_proc_usage {
    uint64_t slabs_in_use, slabs_committed, slabs_total, slab_size, reserved, peak_bytes;
};
void oh_proc_usage(struct oh_proc_usage *out);

/* Fork handlers: wait for a creation under way, hold the supply's lock.
 * In the child the peak restarts from the slabs in use at the fork. */
void oh_proc_prefork(void);
void oh_proc_postfork(void);
void oh_proc_postfork_child(void);

#pragma GCC visibility pop

#endif
