/* SPDX-License-Identifier: MIT */
/*
 * offheap.h — scopes, thread tagging, escapes and statistics of the
 * liboffheap preload (LD_PRELOAD=liboffheap.so ./app).
 *
 * Between offheap_scope_begin() and offheap_scope_end() every malloc-family
 * and operator-new allocation the calling thread makes is served by bump
 * allocation from the process pool, and the end releases all of it at once.
 * free() of such a block is a no-op (always safe, even after the scope has
 * ended); realloc() of a live one outside its innermost scope moves it to
 * the ordinary heap, while realloc() of a block whose scope has ended is a
 * use after the scope (its contents are whatever lives there now; check
 * mode reports it and aborts).  Allocations made by libc and the dynamic
 * loader for themselves (stdio buffers, thread TLS, locale/tz data, atexit
 * lists, ...) are never scoped: see README "Scope safety".
 *
 * C++ exceptions thrown out of a scope: the exception object itself is
 * allocated by the C++ runtime (on the heap), and so are the messages of
 * the standard exceptions (std::runtime_error(text)).  The members of your
 * own exception type are not: a `struct request_error { std::string detail;
 * std::vector<int> codes; }` constructed inside the scope and caught
 * outside it holds pointers into memory the scope's end released while the
 * exception unwound.  Build such members under offheap_escape_begin/end()
 * (offheap::escape), catch inside the scope, or pass the text to
 * std::runtime_error.  Check mode (OFFHEAP_CHECK=1) reports such an
 * exception object at the scope's end, with its type and the allocation
 * site of the block it points to.
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

#include "offheap_version.h"

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
 * OFFHEAP_SCOPE_MAX_DEPTH is ignored (its allocations belong to the
 * enclosing scope) and each ignored begin counts one in
 * offheap_stats.misuse; the first of a run is reported on stderr.  Cost: a
 * few stores, no lock, no system call. */
OFFHEAP_PUBLIC void offheap_scope_begin(void);

/* As offheap_scope_begin(), and the scope counts under `name` in the
 * per-name figures (offheap_scope_name_stats_get(), the statistics
 * output): scopes ended, bytes their blocks took, the most bytes one such
 * scope took.  The name is read during the call only: its first
 * OFFHEAP_SCOPE_NAME_LEN (47) bytes are copied into a table of 126 names
 * at its first use (names alike in those bytes count as one; past 126
 * names, scopes count under "(other)", the table's last entry).
 * NULL or "" opens an unnamed scope.  Costs a table lookup more than
 * offheap_scope_begin() (hashing the name), and its end a few atomic adds
 * on the name's counters.  Thread-safe. */
OFFHEAP_PUBLIC void offheap_scope_begin_named(const char *name);

/* Close the innermost scope of the calling thread and release every block
 * allocated in it: O(slabs used), never O(blocks).  An end without a
 * matching begin, also on a thread that never opened a scope, is reported
 * on stderr, counted in offheap_stats.misuse and otherwise ignored. */
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
 * another thread).  Escapes nest; an unmatched end is reported, counted in
 * offheap_stats.misuse and ignored. */
OFFHEAP_PUBLIC void offheap_escape_begin(void);
OFFHEAP_PUBLIC void offheap_escape_end(void);

/* 1 when the pointer lies in the process pool (a scope or tag block, live
 * or not), 0 otherwise.  Constant time. */
OFFHEAP_PUBLIC int offheap_owns(const void *ptr);

/* Process-wide figures.  Counters are totals over all threads (live and
 * exited) since the process started, or, in a forked child, since the
 * fork: a child's counters start at zero and count only what it does
 * (gauges such as slabs_in_use describe its state now).  Byte figures are
 * bytes. */
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
    uint64_t misuse;               /* unmatched ends, each begin ignored past
                                   the nesting limit */
    uint64_t fallback_allocs;      /* allocations jemalloc served (malloc,
                                   calloc, new, ..., a realloc that moves),
                                   from jemalloc's own counts: exact for the
                                   calling thread and exited threads; see
                                   offheap_stats_get() */
    uint64_t fallback_frees;       /* blocks jemalloc took back (free, delete,
                                   a realloc that moves), likewise */
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
    uint64_t pinned_bytes;         /* their bytes (address space, never
                                   released; the pages of their dead
                                   blocks go back to the kernel when the
                                   rescue knows every kept block) */
    uint64_t sites_cleared;        /* allocation sites found to die with
                                   their scopes (they stay scoped) */
    uint64_t sites_routed;         /* allocation sites (the program's, or a
                                   library's whose result was handed over)
                                   routed to the heap after one of their
                                   blocks was kept */
    uint64_t libraries_routed;     /* libraries routed to the heap after they
                                   kept or freed scope memory late */
    uint64_t stale_frees;          /* free() of scope blocks already dead */
    uint64_t audits;               /* audit rounds started by a library's
                                   stale free (every thread's next scope
                                   records all its blocks and is judged) */
} offheap_stats;

/* Fill *out with the process's figures.  Returns 0, or EINVAL for NULL.
 * Reads every thread's counters without stopping them: each figure is
 * exact at some instant.  fallback_allocs/fallback_frees come from
 * jemalloc's statistics: the call first merges the calling thread's
 * jemalloc thread cache into them (a few microseconds), and a thread's
 * cache is merged when it exits; another running thread's allocations and
 * frees served by its cache since that cache last filled, flushed or was
 * garbage-collected are not in yet.  Thread-safe. */
OFFHEAP_PUBLIC int offheap_stats_get(offheap_stats *out);

/* Fill *out with the calling thread's own figures: the per-thread counters
 * (scopes through misuse, in field order) since the thread started (or,
 * in a forked child, since the fork).  The fields that describe the
 * process (fallback_*, slabs_*, slab_size, pool_*, threads and the rescue
 * figures) are 0.  Returns 0, or EINVAL for NULL.  Thread-safe (it reads
 * the calling thread only). */
OFFHEAP_PUBLIC int offheap_thread_stats_get(offheap_stats *out);

/* The table of scope names: OFFHEAP_SCOPE_NAMES_MAX entries, the last
 * one "(other)", and the bytes of a name that are kept. */
#define OFFHEAP_SCOPE_NAMES_MAX 127
#define OFFHEAP_SCOPE_NAME_LEN 47

/* The figures of one scope name (offheap_scope_begin_named()). */
typedef struct offheap_scope_name_stats {
    const char *name;    /* the library's copy, valid for the process's life */
    uint64_t scopes;     /* scopes of this name ended */
    uint64_t bytes;      /* bytes their blocks took (as scope_bytes counts
                            them; an inner scope's count in its outer's) */
    uint64_t peak_bytes; /* the most bytes one such scope took */
} offheap_scope_name_stats;

/* Copy the figures of up to cap scope names into out[] (in no particular
 * order) and set *count to the number of names known, which may be more
 * than cap: call again with a larger array for the rest.  Names appear at
 * their first begin and stay.  Returns 0, or EINVAL when count is NULL or
 * out is NULL with cap > 0.  Thread-safe: each figure is exact at some
 * instant. */
OFFHEAP_PUBLIC int offheap_scope_name_stats_get(offheap_scope_name_stats *out, size_t cap, size_t *count);

/* Write the statistics to fd as text (json == 0) or one JSON object on one
 * line (json != 0), with write(2) only: the version, pid, program and time,
 * every offheap_stats figure and the scope names' figures.  Returns 0 or
 * the errno of a failed write.  Thread-safe. */
OFFHEAP_PUBLIC int offheap_stats_print(int fd, int json);

/* offheap_stats_print_cb() flags. */
#define OFFHEAP_STATS_JSON 1 /* one JSON object instead of text */

/* The statistics offheap_stats_print() writes, handed to write_cb(opaque,
 * text) in one or more NUL-terminated pieces (each ends at a line end or
 * a JSON field), like jemalloc's malloc_stats_print().  No lock is held
 * while write_cb runs: it may allocate, log, or call into liboffheap.
 * Returns 0, or EINVAL when write_cb is NULL or flags has an unknown bit.
 * Thread-safe. */
OFFHEAP_PUBLIC int offheap_stats_print_cb(void (*write_cb)(void *opaque, const char *text), void *opaque, int flags);

/* The effective value of one setting as text, for name either the
 * OFFHEAP_CONF name ("pool_size") or the variable ("OFFHEAP_POOL_SIZE"),
 * any case: sizes in bytes ("1073741824", after the pool is fitted to
 * whole slabs), booleans "0"/"1", on_exhaust and stats as their names,
 * stats_signal as a name ("USR1", "RTMIN+2") or "none", stats_interval in
 * milliseconds ("10000ms", "0ms" when off), exclude as given ("" when
 * none).  Writes a NUL-terminated string into buf.  Returns 0; ENOENT for
 * an unknown name; ERANGE when the value and its NUL do not fit in len
 * bytes (buf then holds as much as fits, NUL-terminated); EINVAL when name
 * or buf is NULL or len is 0.  The configuration is read once at start and
 * never changes: thread-safe. */
OFFHEAP_PUBLIC int offheap_config_get(const char *name, char *buf, size_t len);

/* The version of the liboffheap.so the program runs with,
 * "MAJOR.MINOR.PATCH" (OFFHEAP_VERSION is the headers' version).  A static
 * string, never NULL.  Thread-safe.  liboffheap_pool.so exports the same
 * function (offheap_pool.h). */
OFFHEAP_PUBLIC const char *offheap_version(void);

/* ------------------------------------------------------------------------ */
/* Markers for programs that do not link liboffheap                          */
/* ------------------------------------------------------------------------ */
/* Include this header, use these macros, link nothing: without the preload
 * the markers do nothing; with LD_PRELOAD=liboffheap.so they call it.  The
 * other functions are declared weak, so a position-independent program may
 * also call them directly once OFFHEAP_LOADED() is true (a -no-pie one must
 * use the OFFHEAP_* forms below).  C++: include/offheap.hpp has RAII guards
 * built on these markers.
 *
 *   OFFHEAP_LOADED()               1 when liboffheap.so is loaded
 *   OFFHEAP_SCOPE_BEGIN/END()      offheap_scope_begin/end, or nothing
 *   OFFHEAP_ESCAPE_BEGIN/END()     offheap_escape_begin/end, or nothing
 *   OFFHEAP_SCOPE_DEPTH()          offheap_scope_depth(), or 0
 *   OFFHEAP_OWNS(p)                offheap_owns(p), or 0
 *   OFFHEAP_THREAD_TAG()           offheap_thread_tag(), or ENOSYS
 *   OFFHEAP_THREAD_RESET()         offheap_thread_reset(), or ENOSYS
 *   OFFHEAP_THREAD_UNTAG()         offheap_thread_untag(), or ENOSYS
 *   OFFHEAP_STATS_GET(out)         offheap_stats_get(out), or ENOSYS (*out
 *                                  untouched)
 *   OFFHEAP_STATS_PRINT(fd, json)  offheap_stats_print(fd, json), or ENOSYS
 *   OFFHEAP_SCOPE_BEGIN_NAMED(n)   offheap_scope_begin_named(n), or
 *                                  offheap_scope_begin() from a library
 *                                  without names, or nothing
 *   OFFHEAP_THREAD_STATS_GET(out)  offheap_thread_stats_get(out), or ENOSYS
 *   OFFHEAP_SCOPE_NAME_STATS_GET(out, cap, count)
 *                                  offheap_scope_name_stats_get(), or ENOSYS
 *   OFFHEAP_STATS_PRINT_CB(cb, opaque, flags)
 *                                  offheap_stats_print_cb(), or ENOSYS
 *   OFFHEAP_CONFIG_GET(name, buf, len)
 *                                  offheap_config_get(), or ENOSYS
 *   OFFHEAP_RUNTIME_VERSION()      offheap_version(), or a null pointer
 *   OFFHEAP_SCOPE { ... }          the block is one scope (see below)
 *   OFFHEAP_ESCAPE { ... }         the block is one escape
 *
 * The header is clean under gcc/g++ -Wall -Wextra -Wpedantic
 * -Wzero-as-null-pointer-constant -Wold-style-cast and clang -Weverything,
 * as C11, C++11 and C++17 (tests/consumer). */
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
#pragma weak offheap_scope_begin_named
#pragma weak offheap_thread_stats_get
#pragma weak offheap_scope_name_stats_get
#pragma weak offheap_stats_print_cb
#pragma weak offheap_config_get
#pragma weak offheap_version

#include <dlfcn.h>
#include <errno.h>

/* The markers never take the address of these functions: in a
 * position-dependent (-no-pie) executable the static linker settles both
 * the address and direct calls of an undefined weak function to 0.  They
 * ask the dynamic loader instead, once per translation unit
 * (RTLD_DEFAULT is the null handle on glibc; dlsym lives in libc since
 * 2.34, in libdl before).  Racing first calls compute the same pointers.
 * The table is zero-initialised and the null handle is a zero-initialised
 * static, so the header has no null pointer constant: 0 would warn in C++
 * (-Wzero-as-null-pointer-constant) and nullptr in C++98 mode. */
typedef void (*offheap_void_fn_)(void);
typedef int (*offheap_int_fn_)(void);
typedef int (*offheap_owns_fn_)(const void *);
typedef int (*offheap_stats_get_fn_)(offheap_stats *);
typedef int (*offheap_stats_print_fn_)(int, int);
typedef void (*offheap_named_fn_)(const char *);
typedef int (*offheap_name_stats_fn_)(offheap_scope_name_stats *, size_t, size_t *);
typedef void (*offheap_write_cb_)(void *, const char *);
typedef int (*offheap_print_cb_fn_)(offheap_write_cb_, void *, int);
typedef int (*offheap_config_get_fn_)(const char *, char *, size_t);
typedef const char *(*offheap_version_fn_)(void);

#define OFFHEAP_MARKERS_ABSENT_ 1
#define OFFHEAP_MARKERS_LOADED_ 2
struct offheap_marker_table_ {
    intptr_t state; /* 0 unknown, 1 absent, 2 loaded */
    offheap_void_fn_ begin;
    offheap_void_fn_ end;
    offheap_void_fn_ escape_begin;
    offheap_void_fn_ escape_end;
    offheap_int_fn_ depth;
    offheap_int_fn_ tag;
    offheap_int_fn_ reset;
    offheap_int_fn_ untag;
    offheap_owns_fn_ owns;
    offheap_stats_get_fn_ stats_get;
    offheap_stats_print_fn_ stats_print;
    offheap_named_fn_ begin_named;
    offheap_stats_get_fn_ thread_stats_get;
    offheap_name_stats_fn_ name_stats_get;
    offheap_print_cb_fn_ stats_print_cb;
    offheap_config_get_fn_ config_get;
    offheap_version_fn_ version;
    const char *no_version; /* always a null pointer */
};

/* dlsym's object pointer copied into a function pointer: defined in C and
 * C++ alike (POSIX: both have the same representation), no cast. */
#define OFFHEAP_LOOKUP_(field, name)                                                                                   \
    do {                                                                                                               \
        void *sym_ = dlsym(handle, name);                                                                              \
        __builtin_memcpy(&(field), &sym_, sizeof sym_);                                                                \
    } while (0)

static inline const struct offheap_marker_table_ *offheap_markers_(void)
{
    static struct offheap_marker_table_ m;
    static void *handle; /* RTLD_DEFAULT */
    if (__atomic_load_n(&m.state, __ATOMIC_ACQUIRE) == 0) {
        OFFHEAP_LOOKUP_(m.begin, "offheap_scope_begin");
        OFFHEAP_LOOKUP_(m.end, "offheap_scope_end");
        OFFHEAP_LOOKUP_(m.escape_begin, "offheap_escape_begin");
        OFFHEAP_LOOKUP_(m.escape_end, "offheap_escape_end");
        OFFHEAP_LOOKUP_(m.depth, "offheap_scope_depth");
        OFFHEAP_LOOKUP_(m.tag, "offheap_thread_tag");
        OFFHEAP_LOOKUP_(m.reset, "offheap_thread_reset");
        OFFHEAP_LOOKUP_(m.untag, "offheap_thread_untag");
        OFFHEAP_LOOKUP_(m.owns, "offheap_owns");
        OFFHEAP_LOOKUP_(m.stats_get, "offheap_stats_get");
        OFFHEAP_LOOKUP_(m.stats_print, "offheap_stats_print");
        OFFHEAP_LOOKUP_(m.begin_named, "offheap_scope_begin_named");
        OFFHEAP_LOOKUP_(m.thread_stats_get, "offheap_thread_stats_get");
        OFFHEAP_LOOKUP_(m.name_stats_get, "offheap_scope_name_stats_get");
        OFFHEAP_LOOKUP_(m.stats_print_cb, "offheap_stats_print_cb");
        OFFHEAP_LOOKUP_(m.config_get, "offheap_config_get");
        OFFHEAP_LOOKUP_(m.version, "offheap_version");
        /* Loaded: the four markers are there (a stand-in preload, such as
         * the benchmarks' reference preloads, may define only those). */
        __atomic_store_n(&m.state,
                         m.begin && m.end && m.escape_begin && m.escape_end ? OFFHEAP_MARKERS_LOADED_
                                                                            : OFFHEAP_MARKERS_ABSENT_,
                         __ATOMIC_RELEASE);
    }
    return &m;
}
#undef OFFHEAP_LOOKUP_

/* 1 when liboffheap.so is loaded in this process (offheap_scope_begin/end
 * and offheap_escape_begin/end were found). */
#define OFFHEAP_LOADED() (offheap_markers_()->state == OFFHEAP_MARKERS_LOADED_)
#define OFFHEAP_MARKER_CALL_(fn)                                                                                       \
    do {                                                                                                               \
        const struct offheap_marker_table_ *m_ = offheap_markers_();                                                   \
        if (m_->state == OFFHEAP_MARKERS_LOADED_) m_->fn();                                                            \
    } while (0)
#define OFFHEAP_SCOPE_BEGIN() OFFHEAP_MARKER_CALL_(begin)
#define OFFHEAP_SCOPE_END() OFFHEAP_MARKER_CALL_(end)
#define OFFHEAP_ESCAPE_BEGIN() OFFHEAP_MARKER_CALL_(escape_begin)
#define OFFHEAP_ESCAPE_END() OFFHEAP_MARKER_CALL_(escape_end)

/* The functions that return a value: the library's answer when the
 * function was found, otherwise what a process without scopes would answer
 * (depth 0, owns nothing) or ENOSYS. */
static inline int offheap_weak_scope_depth_(void)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->depth ? m->depth() : 0;
}
static inline int offheap_weak_owns_(const void *ptr)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->owns ? m->owns(ptr) : 0;
}
static inline int offheap_weak_thread_tag_(void)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->tag ? m->tag() : ENOSYS;
}
static inline int offheap_weak_thread_reset_(void)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->reset ? m->reset() : ENOSYS;
}
static inline int offheap_weak_thread_untag_(void)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->untag ? m->untag() : ENOSYS;
}
static inline int offheap_weak_stats_get_(offheap_stats *out)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->stats_get ? m->stats_get(out) : ENOSYS;
}
static inline int offheap_weak_stats_print_(int fd, int json)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->stats_print ? m->stats_print(fd, json) : ENOSYS;
}
static inline void offheap_weak_scope_begin_named_(const char *name)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    if (m->begin_named) m->begin_named(name);
    else if (m->state == OFFHEAP_MARKERS_LOADED_) m->begin();
}
static inline int offheap_weak_thread_stats_get_(offheap_stats *out)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->thread_stats_get ? m->thread_stats_get(out) : ENOSYS;
}
static inline int offheap_weak_scope_name_stats_get_(offheap_scope_name_stats *out, size_t cap, size_t *count)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->name_stats_get ? m->name_stats_get(out, cap, count) : ENOSYS;
}
static inline int offheap_weak_stats_print_cb_(offheap_write_cb_ write_cb, void *opaque, int flags)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->stats_print_cb ? m->stats_print_cb(write_cb, opaque, flags) : ENOSYS;
}
static inline int offheap_weak_config_get_(const char *name, char *buf, size_t len)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->config_get ? m->config_get(name, buf, len) : ENOSYS;
}
static inline const char *offheap_weak_version_(void)
{
    const struct offheap_marker_table_ *m = offheap_markers_();
    return m->version ? m->version() : m->no_version;
}
#define OFFHEAP_SCOPE_BEGIN_NAMED(name) offheap_weak_scope_begin_named_(name)
#define OFFHEAP_THREAD_STATS_GET(out) offheap_weak_thread_stats_get_(out)
#define OFFHEAP_SCOPE_NAME_STATS_GET(out, cap, count) offheap_weak_scope_name_stats_get_(out, cap, count)
#define OFFHEAP_STATS_PRINT_CB(write_cb, opaque, flags) offheap_weak_stats_print_cb_(write_cb, opaque, flags)
#define OFFHEAP_CONFIG_GET(name, buf, len) offheap_weak_config_get_(name, buf, len)
#define OFFHEAP_RUNTIME_VERSION() offheap_weak_version_()
#define OFFHEAP_SCOPE_DEPTH() offheap_weak_scope_depth_()
#define OFFHEAP_OWNS(ptr) offheap_weak_owns_(ptr)
#define OFFHEAP_THREAD_TAG() offheap_weak_thread_tag_()
#define OFFHEAP_THREAD_RESET() offheap_weak_thread_reset_()
#define OFFHEAP_THREAD_UNTAG() offheap_weak_thread_untag_()
#define OFFHEAP_STATS_GET(out) offheap_weak_stats_get_(out)
#define OFFHEAP_STATS_PRINT(fd, json) offheap_weak_stats_print_(fd, json)

/* Block forms: the statement that follows runs inside one scope (or one
 * escape), begun before it and ended after it, exactly once:
 *
 *     OFFHEAP_SCOPE {
 *         handle(request);
 *     }
 *
 * The end runs when control leaves the block by any path the compiler
 * sees: falling off its end, break, continue, return, goto out of it, and
 * an exception (C++, or C built with -fexceptions).  The block is a
 * one-pass for loop whose control variable has __attribute__((cleanup)):
 * the end is that cleanup.  So:
 *   - break and continue inside the block leave the block itself, not a
 *     loop around it;
 *   - longjmp out of the block skips the end, as it skips every cleanup:
 *     call OFFHEAP_SCOPE_END() before it, or do not longjmp out;
 *   - blocks nest, and each has its own variable (__COUNTER__), so -Wshadow
 *     stays quiet. */
struct offheap_block_ {
    int once;
};
static inline struct offheap_block_ offheap_block_scope_begin_(void)
{
    struct offheap_block_ b = {1};
    OFFHEAP_SCOPE_BEGIN();
    return b;
}
static inline void offheap_block_scope_end_(struct offheap_block_ *b)
{
    (void)b;
    OFFHEAP_SCOPE_END();
}
static inline struct offheap_block_ offheap_block_escape_begin_(void)
{
    struct offheap_block_ b = {1};
    OFFHEAP_ESCAPE_BEGIN();
    return b;
}
static inline void offheap_block_escape_end_(struct offheap_block_ *b)
{
    (void)b;
    OFFHEAP_ESCAPE_END();
}
#define OFFHEAP_CAT2_(a, b) a##b
#define OFFHEAP_CAT_(a, b) OFFHEAP_CAT2_(a, b)
#define OFFHEAP_BLOCK_(var, kind)                                                                                      \
    for (struct offheap_block_ var                                                                                     \
         __attribute__((cleanup(offheap_block_##kind##_end_))) = offheap_block_##kind##_begin_();                      \
         var.once; var.once = 0)
#define OFFHEAP_SCOPE OFFHEAP_BLOCK_(OFFHEAP_CAT_(offheap_block_, __COUNTER__), scope)
#define OFFHEAP_ESCAPE OFFHEAP_BLOCK_(OFFHEAP_CAT_(offheap_block_, __COUNTER__), escape)
#endif

#ifdef __cplusplus
}
#endif

#endif /* OFFHEAP_H */
