/* SPDX-License-Identifier: MIT */
/*
 * offheap_pool.h — the explicit allocation API of liboffheap.
 *
 * Link it with `pkg-config --cflags --libs offheap` (liboffheap_pool.so): that
 * library replaces nothing; the program's malloc stays its own.  The same
 * functions are also exported by the preload object liboffheap.so.
 *
 * Three tools, one lifetime model: memory is handed out by bumping a pointer
 * and given back all at once.
 *   - Pool:  a hard-capped reservation cut into slabs, safe from any number of
 *            threads; reset frees every block and keeps the pages for reuse.
 *   - Arena: one mapping, one producer, a bump pointer; the cheapest thing
 *            that can work when a single thread owns the memory.
 *   - Hints and a memory-pressure callback for the pages behind them.
 *
 * Error convention: functions that create an object return 0 or an errno
 * value (EINVAL, ENOMEM) and write the object through an out-parameter;
 * allocation functions follow malloc(3): a pointer, or NULL with errno set;
 * reset/release/destroy return nothing, accept NULL and never change errno.
 * offheap_strerror() names every code this API returns.
 */
#ifndef OFFHEAP_POOL_H
#define OFFHEAP_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "offheap_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OFFHEAP_API __attribute__((visibility("default")))
#define OFFHEAP_MALLOC_LIKE __attribute__((malloc, warn_unused_result))
#else
#define OFFHEAP_API
#define OFFHEAP_MALLOC_LIKE
#endif

/* Alignment of every block the Pool and the Arena return unless an explicit
 * alignment is asked for: alignof(max_align_t) on x86-64 and arm64. */
#define OFFHEAP_ALIGNMENT 16u

/* ------------------------------------------------------------------------ */
/* Pool                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct offheap_pool offheap_pool;

/* Creation parameters.  Zero-initialise and set what you need: every zero
 * field takes the default named next to it. */
typedef struct offheap_pool_config {
    size_t pool_size;    /* hard cap on bytes the pool may map (0 = 64 MiB);
                            a multiple of slab_size */
    size_t slab_size;    /* bytes per slab (0 = 1 MiB); a power of two and a
                            multiple of the page size */
    unsigned slab_count; /* slabs to commit up front when prealloc is set
                            (0 = 16, or every slab if the pool holds fewer);
                            ignored without prealloc */
    bool prealloc;       /* touch slab_count slabs at create so the first
                            allocations take no page faults */
    bool huge_pages;     /* back slabs with huge pages: MAP_HUGETLB where the
                            system has reserved huge pages, otherwise
                            transparent huge pages (silent fallback).  Then
                            slab_size must be a multiple of the huge page
                            size (2 MiB on x86-64) or create fails (EINVAL). */
} offheap_pool_config;

/* Figures of one pool, all in bytes unless named otherwise. */
typedef struct offheap_pool_stats {
    size_t reserved;     /* address space reserved: the hard cap */
    size_t allocated;    /* bytes handed to callers since the last reset,
                            including rounding to the alignment */
    size_t committed;    /* bytes of slabs that have been touched and not
                            given back with offheap_pool_release() */
    size_t peak;         /* highest bytes of slabs in use at once since
                            create (reset does not lower it) */
    size_t slabs_in_use; /* slabs holding blocks now (count) */
    size_t slab_count;   /* slabs the cap allows (count) */
    size_t slab_size;    /* bytes per slab */
    size_t alignment;    /* default block alignment */
    size_t large_blocks; /* blocks larger than a slab since the last reset
                            (count) */
    size_t resets;       /* calls to offheap_pool_reset() (count) */
} offheap_pool_stats;

/* Create a pool: reserve pool_size bytes of address space (no memory is
 * used until touched) and, with prealloc, commit slab_count slabs.
 * Returns 0 and sets *out, or:
 *   EINVAL  out is NULL; a size is not a power of two / page multiple / slab
 *           multiple; huge_pages with a slab size that is not a multiple of
 *           the huge page size; with prealloc, an explicit slab_count
 *           larger than the pool holds.
 *   ENOMEM  the system refused the reservation or the prealloc; every slab
 *           already committed is given back first (nothing leaks).
 * cfg may be NULL for all defaults.  Thread-safe. */
OFFHEAP_API int offheap_pool_create(offheap_pool **out, const offheap_pool_config *cfg);

/* Allocate size bytes aligned to OFFHEAP_ALIGNMENT.  Blocks up to a slab are
 * cut from the calling thread's current slab (no atomic read-modify-write in
 * the common case); larger blocks take a run of contiguous slabs.  Both count
 * against the cap.  Blocks are not freed one by one: see offheap_pool_reset.
 * Returns NULL and sets errno:
 *   EINVAL  pool is NULL or size is 0;
 *   ENOMEM  the cap would be exceeded, or the size can never fit.
 * Thread-safe: any number of threads may allocate from one pool at once.
 * A thread's partly used slab stays assigned to it until the next reset.
 * With gcc or clang the common case is inlined into the caller (see "Inline
 * fast path" below); the exported function behaves identically. */
OFFHEAP_API OFFHEAP_MALLOC_LIKE void *offheap_pool_alloc(offheap_pool *pool, size_t size);

/* As offheap_pool_alloc(), aligned to `align`, a power of two (any value up
 * to the pool size).  EINVAL also when align is not a power of two.
 * Thread-safe. */
OFFHEAP_API OFFHEAP_MALLOC_LIKE void *offheap_pool_alloc_aligned(offheap_pool *pool, size_t size, size_t align);

/* Free every block of the pool at once and keep its pages committed for the
 * next allocations (cost: O(slabs + thread indices that allocated from the
 * pool), no system call).  All threads' slab caches are closed.
 * Requires quiescence: no other thread may be inside offheap_pool_alloc*()
 * on this pool during the call, allocations after it must be ordered after
 * it (join, barrier, mutex hand-over), and every block is dead afterwards.
 * NULL is ignored. */
OFFHEAP_API void offheap_pool_reset(offheap_pool *pool);

/* Give the pages of slabs that hold no blocks back to the operating system
 * (madvise MADV_DONTNEED); the address space stays reserved and the slabs
 * are reused, zero-filled, on demand.  Returns the bytes released.
 * Thread-safe with respect to offheap_pool_alloc(); NULL returns 0. */
OFFHEAP_API size_t offheap_pool_release(offheap_pool *pool);

/* Unmap the whole pool.  Every block becomes invalid.  Requires the same
 * quiescence as reset.  NULL is ignored. */
OFFHEAP_API void offheap_pool_destroy(offheap_pool *pool);

/* True when ptr lies inside the pool's reservation (constant time: one
 * subtraction and one compare).  Says nothing about whether the block is
 * still live.  Thread-safe; NULL pool or ptr give false. */
OFFHEAP_API bool offheap_pool_owns(const offheap_pool *pool, const void *ptr);

/* Fill *out with the pool's figures.  Returns 0, or EINVAL when pool or out
 * is NULL.  Thread-safe; figures read while other threads allocate are each
 * exact at some instant but not all at the same one. */
OFFHEAP_API int offheap_pool_stats_get(const offheap_pool *pool, offheap_pool_stats *out);

/* The common case of offheap_pool_alloc is inlined into the program (gcc
 * and clang): offheap_pool_inline.h, the library's internal ABI, which no
 * program uses directly.  Define OFFHEAP_NO_INLINE to always call. */
#include "offheap_pool_inline.h"

/* ------------------------------------------------------------------------ */
/* Arena                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct offheap_arena offheap_arena;

/* Create an arena over one private mapping of `size` bytes (rounded up to the
 * page size).  Returns 0 and sets *out; EINVAL when out is NULL or size is 0;
 * ENOMEM when the system refuses the mapping.  Thread-safe. */
OFFHEAP_API int offheap_arena_create(offheap_arena **out, size_t size);

/* Bump-allocate size bytes aligned to OFFHEAP_ALIGNMENT.  NULL with errno
 * EINVAL (arena NULL or size 0) or ENOMEM (not enough room left).
 * Single producer: one thread at a time per arena. */
OFFHEAP_API OFFHEAP_MALLOC_LIKE void *offheap_arena_alloc(offheap_arena *arena, size_t size);

/* As offheap_arena_alloc() with `align`, a power of two; EINVAL otherwise.
 * Single producer. */
OFFHEAP_API OFFHEAP_MALLOC_LIKE void *offheap_arena_alloc_aligned(offheap_arena *arena, size_t size, size_t align);

/* Bytes still available for a 16-byte aligned allocation; 0 for NULL.
 * Single producer. */
OFFHEAP_API size_t offheap_arena_remaining(const offheap_arena *arena);

/* Free every block at once; the mapping and its committed pages are kept.
 * Single producer; NULL is ignored. */
OFFHEAP_API void offheap_arena_reset(offheap_arena *arena);

/* Unmap the arena.  NULL is ignored. */
OFFHEAP_API void offheap_arena_destroy(offheap_arena *arena);

/* ------------------------------------------------------------------------ */
/* Hints and memory pressure                                                 */
/* ------------------------------------------------------------------------ */

/* What offheap_hint() tells the kernel about a range.  The flags are bits:
 * one call may combine at most one of each pair below (WILLNEED/DONTNEED,
 * SEQUENTIAL/RANDOM, HUGEPAGE/NOHUGEPAGE); a pair combined is EINVAL.  The
 * values 3 to 6 and the bits 0x04 and 0x08 (the single values of version
 * 0.1.0) are reserved and give EINVAL, so a program built against that
 * header never gets other advice than it asked for. */
enum offheap_hint_flag {
    OFFHEAP_HINT_WILLNEED = 0x01,   /* read ahead / fault in soon */
    OFFHEAP_HINT_DONTNEED = 0x02,   /* drop the pages: contents become zero.
                                       Only whole pages inside the range are
                                       dropped, never a neighbour's bytes. */
    OFFHEAP_HINT_SEQUENTIAL = 0x10, /* access will be sequential */
    OFFHEAP_HINT_RANDOM = 0x20,     /* access will be random */
    OFFHEAP_HINT_HUGEPAGE = 0x40,   /* prefer transparent huge pages */
    OFFHEAP_HINT_NOHUGEPAGE = 0x80, /* avoid transparent huge pages */
};

/* Advise the kernel about [ptr, ptr+len) with madvise(2), one call per flag
 * set, in this order: the access pattern (SEQUENTIAL or RANDOM), then the
 * page size (HUGEPAGE or NOHUGEPAGE), then WILLNEED or DONTNEED, so that a
 * read-ahead already follows the pattern and page size asked for in the
 * same call.  Each call but DONTNEED's covers the range widened to whole
 * pages; DONTNEED's covers the whole pages inside the range (none: that call
 * is skipped).
 *
 * Returns 0; EINVAL (NULL ptr, len 0, a range that wraps, no flag, an
 * unknown or reserved bit, both flags of a pair, or a flag this system's
 * headers lack) before any madvise call; otherwise the errno of the first
 * madvise call that failed (ENOMEM: range not mapped; EINVAL: the kernel
 * refuses that advice, e.g. HUGEPAGE without transparent huge pages), the
 * advice before it in the order above staying applied and the advice after
 * it not given.  Thread-safe. */
OFFHEAP_API int offheap_hint(void *ptr, size_t len, int flags);

/* Which figure a pressure threshold watches. */
enum offheap_pressure_source {
    OFFHEAP_PRESSURE_HEAP = 1, /* the fallback heap: jemalloc's
                                  stats.allocated (bytes the program holds
                                  outside pools and scopes), when jemalloc
                                  is in the process (always under the
                                  preload) */
    OFFHEAP_PRESSURE_RSS = 2,  /* the process's resident set size */
};

typedef struct offheap_pressure_event {
    int source;       /* enum offheap_pressure_source */
    size_t threshold; /* bytes, as registered */
    size_t value;     /* bytes measured when the threshold was crossed */
} offheap_pressure_event;

typedef void (*offheap_pressure_fn)(const offheap_pressure_event *event, void *user);

/* Call fn(event, user) each time the watched figure rises above threshold
 * (edge-triggered: it fires again only after the figure has fallen back
 * below).  A monitor thread, started by the first registration, samples
 * every registered figure every interval_ms milliseconds (0 = 100 ms) and
 * runs the callbacks, one at a time, on that thread; keep them short.
 * offheap_pressure_check() samples at once on the calling thread.
 * Returns 0 and an id in *id (may be NULL); EINVAL for a NULL fn, zero
 * threshold or unknown source; ENOTSUP for OFFHEAP_PRESSURE_HEAP when
 * jemalloc's statistics cannot be read (jemalloc is not loaded: a program
 * that links liboffheap_pool.so and uses glibc's malloc); EAGAIN when all 16 slots are taken
 * or the monitor thread cannot be started.  Thread-safe. */
OFFHEAP_API int offheap_pressure_register(int source, size_t threshold, offheap_pressure_fn fn, void *user,
                                          unsigned interval_ms, int *id);

/* Remove a registration; after it returns the callback is not running and
 * will not run again.  Returns 0, EINVAL (unknown id), or EDEADLK when
 * called from inside a pressure callback, where it would wait for itself
 * (nothing is removed then).  Thread-safe. */
OFFHEAP_API int offheap_pressure_unregister(int id);

/* Sample every registered figure now and run due callbacks on the calling
 * thread.  Returns how many callbacks ran.  Thread-safe. */
OFFHEAP_API int offheap_pressure_check(void);

/* Read one figure now: bytes, or 0 when it cannot be read (errno set). */
OFFHEAP_API size_t offheap_pressure_sample(int source);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* A static, never-NULL description of an error code returned by this
 * library (an errno value); unknown codes give "unknown error".  Does not
 * allocate.  Thread-safe. */
OFFHEAP_API const char *offheap_strerror(int code);

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

/* The version of the library the program runs with, "MAJOR.MINOR.PATCH"
 * (OFFHEAP_VERSION is the headers' version, offheap_version.h).  A static
 * string; never NULL, no error.  Thread-safe.  liboffheap.so exports the
 * same function (offheap.h). */
OFFHEAP_API const char *offheap_version(void);

#ifdef __cplusplus
}
#endif

#endif /* OFFHEAP_POOL_H */
