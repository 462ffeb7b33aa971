/* SPDX-License-Identifier: MIT */
/*
 * offheap.h — scopes, thread tagging, escapes and statistics of the
 * liboffheap preload (LD_PRELOAD=liboffheap.so ./app).
 *
 * Between offheap_scope_begin() and offheap_scope_end() every malloc-family
 * and operator-new allocation the calling thread makes is served by bump
 * allocation from the process pool, and the end releases all of it at once.
 * free() of such a block is a no-op (always safe, even after the scope has
 * ended); realloc() of it outside its scope moves it to the ordinary heap.
 * Allocations made by libc and the dynamic loader for themselves (stdio
 * buffers, thread TLS, locale/tz data, atexit lists, ...) are never scoped:
 * see README "Scope safety".
 *
 * Two ways to call these functions:
 *   - link the preload (-loffheap) and call them directly;
 *   - link nothing and use the OFFHEAP_* macros at the end of this file: the
 *     symbols are weak, so the program runs unchanged (the markers do
 *     nothing) when liboffheap.so is not preloaded.
 *
 * Every function here acts on the calling thread only and is safe to call
 * from any thread.  None of them allocates through malloc.
 */
#ifndef OFFHEAP_H
#define OFFHEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OFFHEAP_PUBLIC __attribute__((visibility("default")))
#else
#define OFFHEAP_PUBLIC
#endif

/* How deep scopes may nest on one thread (a tagged thread's base counts as
 * one level). */
#define OFFHEAP_SCOPE_MAX_DEPTH 64

/* Open a scope on the calling thread.  Scopes nest: an inner end releases
 * only what was allocated since the inner begin.  Nesting past
 * OFFHEAP_SCOPE_MAX_DEPTH is reported on stderr, counted in
 * offheap_stats.misuse, and the extra begin is ignored (its allocations
 * belong to the enclosing scope).  Cost: a few stores, no lock, no system
 * call. */
OFFHEAP_PUBLIC void offheap_scope_begin(void);

/* Close the innermost scope of the calling thread and release every block
 * allocated in it: O(slabs used), never O(blocks).  An end without a
 * matching begin is reported on stderr, counted in offheap_stats.misuse and
 * otherwise ignored. */
OFFHEAP_PUBLIC void offheap_scope_end(void);

/* Open scopes on the calling thread, the tag base included (0 outside). */
OFFHEAP_PUBLIC int offheap_scope_depth(void);

/* Tag the calling thread: from now on all its allocations go to the pool,
 * as if it ran inside one long scope.  offheap_thread_reset() releases them
 * and keeps the tag; offheap_thread_untag() releases them and removes it;
 * thread exit releases them.  Returns 0, EBUSY if the thread is already
 * tagged or inside a scope (tag first, then open scopes), or ENOMEM if the
 * process pool could not be created. */
OFFHEAP_PUBLIC int offheap_thread_tag(void);

/* Release every block the tagged thread allocated since it was tagged or
 * last reset.  Returns 0, EINVAL if the thread is not tagged, EBUSY if a
 * scope is still open on top of the tag. */
OFFHEAP_PUBLIC int offheap_thread_reset(void);

/* Release as reset does and stop routing the thread's allocations to the
 * pool.  Returns 0, EINVAL if not tagged, EBUSY if a scope is still open. */
OFFHEAP_PUBLIC int offheap_thread_untag(void);

/* Escape hatch: between offheap_escape_begin() and offheap_escape_end()
 * the calling thread allocates from the ordinary heap (jemalloc) even inside
 * a scope, for memory that must outlive the scope (caches, results handed to
 * another thread).  Escapes nest; an unmatched end is reported and
 * ignored. */
OFFHEAP_PUBLIC void offheap_escape_begin(void);
OFFHEAP_PUBLIC void offheap_escape_end(void);

/* 1 when the pointer lies in the process pool (a scope or tag block, live
 * or not), 0 otherwise.  Constant time. */
OFFHEAP_PUBLIC int offheap_owns(const void *ptr);

/* Process-wide figures.  Counters are totals since start over all threads
 * (live and exited); byte figures are bytes. */
typedef struct offheap_stats {
    uint64_t scopes;               /* scopes entered (tag bases included) */
    uint64_t depth_peak;           /* deepest nesting seen on any thread */
    uint64_t scope_blocks;         /* blocks served in scopes */
    uint64_t scope_bytes;          /* bytes taken from slabs by scope blocks
                                   (headers and padding included; counted
                                   at slab switches and scope ends) */
    uint64_t scope_bytes_released; /* bytes given back by scope ends */
    uint64_t frees_ignored;        /* free() of pool blocks (no-ops) */
    uint64_t reallocs_in_place;    /* reallocs of a scope block that grew or
                                   shrank where it was */
    uint64_t reallocs_moved_out;   /* reallocs of a scope block outside its
                                   scope, moved to the ordinary heap */
    uint64_t routed_by_caller;     /* in-scope allocations sent to the heap
                                   because libc, ld.so or an
                                   OFFHEAP_EXCLUDE library asked */
    uint64_t exhausted;            /* allocations the pool could not serve */
    uint64_t misuse;               /* unmatched ends, nesting past the limit */
    uint64_t fallback_allocs;      /* allocations served by jemalloc */
    uint64_t fallback_frees;       /* frees passed to jemalloc */
    uint64_t slabs_in_use;         /* process pool slabs held by threads now */
    uint64_t slabs_committed;      /* slabs whose pages are resident or
                                   retained */
    uint64_t slabs_total;          /* slabs the pool can hold */
    uint64_t slab_size;            /* bytes per slab */
    uint64_t pool_reserved;        /* bytes of address space reserved */
    uint64_t pool_peak;            /* most slab bytes in use at once */
    uint64_t threads;              /* threads that used a scope or tag */
    /* Scope safety (README "Scope safety"): what the rescue did. */
    uint64_t rescues;              /* rescue scans run (scopes that ended on
                                   probation) */
    uint64_t rescue_ns;            /* time spent in them, nanoseconds */
    uint64_t rescue_bytes_scanned; /* memory they read */
    uint64_t pinned_runs;          /* slab runs kept alive because memory
                                   outside their scope referenced them */
    uint64_t pinned_bytes;         /* their bytes (never released) */
    uint64_t sites_cleared;        /* allocation sites found to die with
                                   their scopes (they stay scoped) */
    uint64_t sites_routed;         /* program allocation sites routed to the
                                   heap after one of their blocks was kept */
    uint64_t libraries_routed;     /* libraries routed to the heap after they
                                   kept or freed scope memory late */
    uint64_t stale_frees;          /* free() of scope blocks already dead */
} offheap_stats;

/* Fill *out.  Returns 0, or EINVAL for NULL.  Reads every thread's counters
 * without stopping them: each figure is exact at some instant. */
OFFHEAP_PUBLIC int offheap_stats_get(offheap_stats *out);

/* Write the figures to fd as text (json == 0) or one JSON object (json != 0),
 * with write(2) only.  Returns 0 or the errno of a failed write. */
OFFHEAP_PUBLIC int offheap_stats_print(int fd, int json);

/* ------------------------------------------------------------------------ */
/* Markers for programs that do not link liboffheap                          */
/* ------------------------------------------------------------------------ */
/* Include this header, use these macros, link nothing: without the preload
 * the markers do nothing; with LD_PRELOAD=liboffheap.so they call it.  The
 * other functions are declared weak, so a program may also call them
 * directly once OFFHEAP_LOADED() is true. */
#if defined(__GNUC__) && !defined(OFFHEAP_BUILDING_LIBRARY)
#pragma weak offheap_scope_begin
#pragma weak offheap_scope_end
#pragma weak offheap_scope_depth
#pragma weak offheap_thread_tag
#pragma weak offheap_thread_reset
#pragma weak offheap_thread_untag
#pragma weak offheap_escape_begin
#pragma weak offheap_escape_end
#pragma weak offheap_owns
#pragma weak offheap_stats_get
#pragma weak offheap_stats_print

#include <dlfcn.h>

/* The markers never take the address of these functions: in a
 * position-dependent (-no-pie) executable the static linker settles both
 * the address and direct calls of an undefined weak function to 0.  They
 * ask the dynamic loader instead, once per translation unit
 * (RTLD_DEFAULT is (void *)0 on glibc; dlsym lives in libc since 2.34, in
 * libdl before).  Racing first calls compute the same pointers. */
struct offheap_markers_ {
    int state; /* -1 unknown, 0 absent, 1 loaded */
    void (*begin)(void);
    void (*end)(void);
    void (*escape_begin)(void);
    void (*escape_end)(void);
};

static inline const struct offheap_markers_ *offheap_markers_(void)
{
    static struct offheap_markers_ m = {-1, 0, 0, 0, 0};
    if (__atomic_load_n(&m.state, __ATOMIC_ACQUIRE) < 0) {
        *(void **)(void *)&m.begin = dlsym((void *)0, "offheap_scope_begin");
        *(void **)(void *)&m.end = dlsym((void *)0, "offheap_scope_end");
        *(void **)(void *)&m.escape_begin = dlsym((void *)0, "offheap_escape_begin");
        *(void **)(void *)&m.escape_end = dlsym((void *)0, "offheap_escape_end");
        __atomic_store_n(&m.state, m.begin && m.end && m.escape_begin && m.escape_end, __ATOMIC_RELEASE);
    }
    return &m;
}

/* 1 when liboffheap.so is loaded in this process. */
#define OFFHEAP_LOADED() (offheap_markers_()->state == 1)
#define OFFHEAP_MARKER_CALL_(fn)                                                                                       \
    do {                                                                                                               \
        const struct offheap_markers_ *m_ = offheap_markers_();                                                        \
        if (m_->state == 1) m_->fn();                                                                                  \
    } while (0)
#define OFFHEAP_SCOPE_BEGIN() OFFHEAP_MARKER_CALL_(begin)
#define OFFHEAP_SCOPE_END() OFFHEAP_MARKER_CALL_(end)
#define OFFHEAP_ESCAPE_BEGIN() OFFHEAP_MARKER_CALL_(escape_begin)
#define OFFHEAP_ESCAPE_END() OFFHEAP_MARKER_CALL_(escape_end)
#endif

#ifdef __cplusplus
}
#endif

#endif /* OFFHEAP_H */
