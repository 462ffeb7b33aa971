/* SPDX-License-Identifier: MIT */
/*
 * offheap_pool_inline.h — the inline fast path of offheap_pool_alloc and
 * the internal ABI it relies on.  Included by offheap_pool.h; not an API:
 * nothing here is for programs to call or touch.
 */
#ifndef OFFHEAP_POOL_INLINE_H
#define OFFHEAP_POOL_INLINE_H

#ifndef OFFHEAP_POOL_H
#error "include <offheap_pool.h>, not <offheap_pool_inline.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Names ending in an underscore are internal ABI: not API, never call or
 * touch them yourself.  They exist so that a program's allocation loop bumps
 * a pointer without a call (about 2 ns per 64-byte block, bench/RESULTS.md).
 *
 * Versioning: OFFHEAP_POOL_ABI_ names the layout below.  The inline path
 * calls the slow path by a name that carries that number
 * (offheap_pool_alloc_slow_v1_ for version 1), and a library exports only
 * the name of its own layout.  A program compiled with a header of another
 * layout therefore fails to link ("undefined reference to
 * offheap_pool_alloc_slow_v2_") or, run against a library of another
 * layout, fails to load: it never reads a cache through the wrong layout.
 *
 * Layout: an offheap_pool * points at an array of struct offheap_pool_tc_,
 * one per thread index (4096 entries).  Entry t is the bump cache of the
 * thread whose index is offheap_tid_ == t.  Entry 0, the index of a thread
 * that has none yet (or could get none), always has cur == end, so that
 * thread takes the slow path, which assigns an index.  The library makes
 * cur == end whenever the cache must not be used (a reset, a new pool), so
 * the inline path needs no epoch or validity check.  cur and end are
 * OFFHEAP_ALIGNMENT-aligned, which is why one compare covers size 0, sizes
 * larger than a slab and overflow of the rounding: it takes size - 1 <
 * end - cur, and end - cur is a multiple of the alignment.
 * cur is written only by its owner thread, with relaxed atomic stores: the
 * statistics reader reads it from other threads (allocated = cur - a bias
 * kept in lib_, so the fast path counts nothing else).
 *
 * offheap_tid_ is the library's thread index (initial-exec TLS: the library
 * itself has always accessed it that way, so the library's TLS block is in
 * the static TLS area wherever it is loaded, and code that includes this
 * header adds no new constraint, dlopen'ed plugins included).  Under
 * LD_PRELOAD=liboffheap.so a program linked with liboffheap_pool.so binds
 * both offheap_tid_ and the functions to the preload object, which comes
 * first in symbol lookup, so all of them see one thread index and one pool
 * implementation.
 *
 * offheap_pool_alloc_slow_ (the versioned name) is the rest of offheap_pool_alloc: new slab, large
 * blocks, first use by a thread, after a reset, errors (errno).  It is
 * exported from liboffheap_pool.so and liboffheap.so.
 *
 * Why an `extern inline` with gnu_inline semantics rather than a macro or a
 * static inline of another name: the inline body is used only for inlining;
 * the name, its type and its address stay those of the exported function
 * (function pointers, dlsym and -O0 builds call the library), no macro
 * captures the name in C++ or in user code, and no copy of the function is
 * emitted in the program.  Define OFFHEAP_NO_INLINE before including this
 * header to always call the library.
 */
#define OFFHEAP_POOL_ABI_ 1

/* offheap_pool_alloc_slow_v<OFFHEAP_POOL_ABI_>_ */
#define OFFHEAP_POOL_SLOW_NAME2_(v) offheap_pool_alloc_slow_v##v##_
#define OFFHEAP_POOL_SLOW_NAME_(v) OFFHEAP_POOL_SLOW_NAME2_(v)
#define offheap_pool_alloc_slow_ OFFHEAP_POOL_SLOW_NAME_(OFFHEAP_POOL_ABI_)

struct offheap_pool_tc_ {
    char *cur;                          /* next free byte (owner writes) */
    char *end;                          /* end of the owner's slab */
    char lib_[64 - 2 * sizeof(char *)]; /* library-private; pads to a cache line */
};

OFFHEAP_API OFFHEAP_MALLOC_LIKE void *offheap_pool_alloc_slow_(offheap_pool *pool, size_t size);

#if defined(__GNUC__)
extern __thread unsigned int offheap_tid_ OFFHEAP_API __attribute__((tls_model("initial-exec")));

#if !defined(OFFHEAP_BUILDING_LIBRARY) && !defined(OFFHEAP_NO_INLINE)
#ifdef __cplusplus
#define OFFHEAP_CAST_(type, value) (static_cast<type>(value))
#else
#define OFFHEAP_CAST_(type, value) ((type)(value))
#endif
/* Steps on x86-64 when size is a constant: TLS index load, pool test, index
 * scale and add, two loads, compare, add, store (about 10 instructions). */
extern __inline__ __attribute__((__gnu_inline__)) OFFHEAP_MALLOC_LIKE void *offheap_pool_alloc(offheap_pool *pool,
                                                                                               size_t size)
{
    if (__builtin_expect(!!pool, 1)) {
        struct offheap_pool_tc_ *c =
            OFFHEAP_CAST_(struct offheap_pool_tc_ *, OFFHEAP_CAST_(void *, pool)) + offheap_tid_;
        char *p = c->cur;
        if (__builtin_expect(size - 1 < OFFHEAP_CAST_(size_t, c->end - p), 1)) {
            __atomic_store_n(&c->cur,
                             p + ((size + (OFFHEAP_ALIGNMENT - 1)) & ~OFFHEAP_CAST_(size_t, OFFHEAP_ALIGNMENT - 1)),
                             __ATOMIC_RELAXED);
            return p;
        }
    }
    return offheap_pool_alloc_slow_(pool, size);
}
#undef OFFHEAP_CAST_
#endif
#endif

#ifdef __cplusplus
}
#endif

#endif
