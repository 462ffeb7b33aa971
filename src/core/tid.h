/* SPDX-License-Identifier: MIT */
/*
 * tid.h — small dense thread indices (1..OH_MAX_THREADS-1) so per-thread
 * state can live in arrays other threads may read (pool caches, stats).
 * An index is taken on a thread's first need and given back when the thread
 * exits (pthread key destructor), so short-lived threads do not run out.
 * A thread that finds no free index gets 0 and takes the slow shared paths.
 */
#ifndef OH_TID_H
#define OH_TID_H

#include <stdint.h>

/* The calling thread's index, 0 while it has none.  Exported, and part of
 * the internal ABI of offheap_pool.h (its inline pool fast path indexes the
 * per-thread caches with it; it declares the same variable).  Initial-exec
 * TLS, as every allocator access has always been (no __tls_get_addr, which
 * may allocate).  Default visibility on purpose: under LD_PRELOAD the
 * preload's copy wins for every object, this library's code included. */
extern __thread uint32_t offheap_tid_ __attribute__((visibility("default"), tls_model("initial-exec")));

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

#define OH_MAX_THREADS 4096u

uint32_t oh_tid_assign(void);

/* The calling thread's index, 0 if none could be had. */
static inline uint32_t oh_tid(void)
{
    uint32_t t = offheap_tid_;
    return __builtin_expect(t != 0, 1) ? t : oh_tid_assign();
}

/* Fork: hold the registry lock across fork and drop it in both processes. */
void oh_tid_prefork(void);
void oh_tid_postfork(void);

#pragma GCC visibility pop

#endif
