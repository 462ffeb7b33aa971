/* SPDX-License-Identifier: MIT */
/*
 * thread.h — the per-thread state of the preload, in initial-exec TLS so
 * that malloc reaches it with one %fs-relative load and no call.
 *
 * `route` is PTRDIFF_MAX exactly when depth > 0, escape == 0 and the
 * process pool exists, and 0 otherwise.  Tested as a flag by most entry
 * points; malloc routes with the one compare n < route, which also keeps
 * oh_block_span(n) from overflowing (block.h).  Every change to depth, escape or
 * tagging recomputes it (oh_thread_update_route).
 *
 * Scope bookkeeping: the thread owns a chain of slab runs (newest first,
 * linked through slabs.meta[].next).  A mark remembers the chain head, the
 * bump slab and the bump position at begin; end releases the runs above the
 * mark and rewinds the bump position.  Memory at or above `clean` in the
 * bump slab has never been handed out since it was last zero.
 */
#ifndef OH_THREAD_H
#define OH_THREAD_H

#include "offheap.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_mark {
    char *cur;     /* bump position at begin */
    char *clean;   /* `clean` at begin */
    uint32_t head; /* chain head at begin */
    uint32_t slab; /* bump slab at begin (OH_SLAB_NONE: none) */
    uint32_t seq;  /* sequence number of the enclosing scope */
    uint32_t probation; /* the thread's `recorded` at begin (rescue.h) */
    uint32_t plog_n;    /* its probation log's length at begin */
    uint32_t name;      /* names.h index of a named scope, 0 for unnamed: set by
                           offheap_scope_begin_named() after the push (with
                           `named`), put back to 0 by the end, so an unnamed
                           begin never stores it and an end tests it only when
                           the thread has a named scope open */
    void *site;     /* return address of the begin (check mode reports it) */
    uint64_t bytes; /* st.bytes at begin, the bump since counted */
};

/* The per-thread counters, listed once: X(field, name in offheap_stats,
 * how two threads' values combine: SUM or MAX).  Written by their thread
 * only, read by anyone (relaxed). */
#define OH_COUNTERS(X)                                                                                                 \
    X(scopes, scopes, SUM)                                                                                             \
    X(depth_peak, depth_peak, MAX)                                                                                     \
    X(blocks, scope_blocks, SUM)                                                                                       \
    X(bytes, scope_bytes, SUM)                                                                                         \
    X(released, scope_bytes_released, SUM)                                                                             \
    X(frees_ignored, frees_ignored, SUM)                                                                               \
    X(realloc_in_place, reallocs_in_place, SUM)                                                                        \
    X(realloc_moved, reallocs_moved_out, SUM)                                                                          \
    X(routed, routed_by_caller, SUM)                                                                                   \
    X(exhausted, exhausted, SUM)                                                                                       \
    X(misuse, misuse, SUM)

struct oh_counters {
#define OH_COUNTER_FIELD(f, pub, merge) _Atomic uint64_t f;
    OH_COUNTERS(OH_COUNTER_FIELD)
#undef OH_COUNTER_FIELD
};

/* Hot-path counters (one per block, one per ignored free) are bumped with
 * a plain add on the owner's copy: one instruction instead of three.
 * Other threads read them with relaxed atomic loads; on the targets we
 * build for, an aligned 64-bit store is never torn. */
#define OH_STAT_HOT_INC(t, field) (++*(uint64_t *)(void *)&(t)->st.field)

#define OH_STAT_ADD(t, field, v)                                                                                       \
    atomic_store_explicit(&(t)->st.field, atomic_load_explicit(&(t)->st.field, memory_order_relaxed) + (v),            \
                          memory_order_relaxed)

struct oh_thread {
    size_t route;            /* hot word, see above */
    uint32_t depth;          /* marks pushed, tag base included */
    uint32_t escape;         /* escape nesting */
    uint32_t tagged;         /* 1 when marks[0] is a tag base */
    char *cur;               /* bump position */
    char *end;               /* end of the bump slab */
    char *clean;             /* see above */
    char *acct;              /* bump position up to which bytes are counted */
    uintptr_t ok_ra[32];     /* return addresses known to allocate in scopes
                            (scope_fast.h), direct-mapped */
    uint32_t slab;           /* bump slab index, or OH_SLAB_NONE */
    uint32_t head;           /* newest owned run, or OH_SLAB_NONE */
    uint32_t id;             /* thread index (tid.h), 0 until registered */
    uint32_t seq;            /* sequence number of the innermost scope */
    uint32_t next_seq;       /* last sequence number handed out */
    union {
        struct {
            uint32_t overflow; /* begins ignored (past the depth limit, or
                                  refused a pool or a thread index) */
            uint32_t named;    /* marks of named scopes pushed (names.h) */
        };
        uint64_t end_slow;     /* nonzero: an end has more to do than the
                                  common case (one test of both words) */
    };
    _Atomic uint32_t parked; /* warm slab kept between outermost scopes, or
                                OH_SLAB_NONE; other threads may take it
                                back to the pool when it runs out */
    char *parked_clean;      /* its `clean` (owner only) */
    bool registered;         /* in the registry, exit hook armed */
    bool exiting;            /* thread-exit cleanup ran */
    bool probation;          /* a block of a site not known yet is live (rescue.h) */
    uint32_t recorded;       /* blocks of unknown sites allocated so far */
    bool auditing;           /* this outermost scope records every block */
    uint32_t audit_seen;     /* the audit round last seen (rescue.c) */
    uint32_t ok_epoch;       /* oh_sites_epoch() when ok_ra was last emptied */
    struct oh_plog *plog;    /* probation log (rescue.c), mapped at first use */
    struct oh_counters st;
    struct oh_thread *reg_next, *reg_prev; /* registry of live threads */
    struct oh_mark marks[OFFHEAP_SCOPE_MAX_DEPTH];
};

extern __thread struct oh_thread oh_self;

/* Add t to the registry of live threads (its counters join the sums).
 * The caller (scope.c) owns the thread's exit hook. */
void oh_thread_register(struct oh_thread *t);

/* Take t out of the registry at its exit; its counters go on counting in
 * the totals of exited threads. */
void oh_thread_unregister(struct oh_thread *t);

/* Recompute the hot flags. */
static inline void oh_thread_update_route(struct oh_thread *t)
{
    t->route = t->depth > 0 && t->escape == 0 && !t->exiting ? (size_t)PTRDIFF_MAX : 0;
}

/* Add every thread's counters, live and exited, into *out (misuse on
 * threads not in the registry included). */
void oh_thread_sum(struct oh_counters *out);

/* One misuse on a thread that is not in the registry (it never opened a
 * scope): counted in its own counters, which the registry adds once the
 * thread joins, and meanwhile in a process total. */
void oh_thread_misuse_unregistered(struct oh_thread *t);

/* As oh_thread_sum, but gives up (false, *out untouched) if the lock is
 * taken. */
bool oh_thread_sum_try(struct oh_counters *out);

/* Call fn(t, arg) for every registered thread, under the registry lock
 * (fn must not register or unregister). */
void oh_thread_for_each(void (*fn)(struct oh_thread *t, void *arg), void *arg);

/* Threads ever registered. */
uint64_t oh_thread_count(void);

/* Fork handlers for the registry lock.  In the child, postfork_child()
 * calls forget() on each thread that did not survive the fork and drops it
 * from the list, starts the counts at zero (the forking thread's depth
 * peak is its depth now), then drops the lock. */
void oh_thread_prefork(void);
void oh_thread_postfork(void);
void oh_thread_postfork_child(void (*forget)(struct oh_thread *t));

#pragma GCC visibility pop

#endif
