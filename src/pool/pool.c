/* SPDX-License-Identifier: MIT */
/*
 * pool.c — the explicit Pool: a slab supply plus one bump cache per thread.
 *
 * Each thread allocates from its own slab through tc[tid]: the hot path is a
 * bounds check and a store, with no atomic read-modify-write and no epoch
 * check.  It is inlined into programs by offheap_pool.h (internal ABI: the
 * pool starts with the tc array, whose first two words per entry, cur and
 * end, the header knows); offheap_pool_alloc below is the same path out of
 * line, and offheap_pool_alloc_slow_ (offheap_pool_alloc_slow_v1_, named
 * after the ABI version, offheap_pool_inline.h) everything else.  Only taking a new slab
 * locks the supply.
 * Reset gives the pool a new, globally unique epoch, which tells the stats
 * reader that every cache is stale, and sets end = cur in every cache that
 * was ever used (reset requires quiescence, so no owner is bumping), which
 * sends each thread's next allocation to the slow path; that path sees the
 * old epoch and starts the cache afresh.  Destroy needs no per-thread
 * cleanup: the caches live in the pool's own mapping.
 *
 * Counting is lazy: the fast path stores cur and nothing else.  Bytes handed
 * out by thread t in this epoch = tc[t].cur - tc[t].bias; bias changes only
 * when the owner switches slabs, inside a sequence lock (seq odd while it
 * writes), so the reader gets a consistent (epoch, bias, cur).
 *
 * Invariants:
 *   - tc[0] is never written: cur == end == NULL (threads without an index
 *     use `shared` under shared_lock);
 *   - cur and end are OFFHEAP_ALIGNMENT-aligned; cur <= end;
 *   - tc[t].epoch == pool->epoch  =>  [slab start, end) is a slab owned by
 *     thread t in this pool (or end == cur after a reset, until the owner
 *     notices), cur within it, and cur - bias counts the bytes thread t
 *     handed out in this epoch, padding for alignment included;
 *   - allocated (stats) = sum of cur - bias over caches of the current
 *     epoch + large bytes.  Within an epoch cur - bias only grows, and the
 *     owner publishes a new epoch together with a zero count, so a reader
 *     never counts a byte twice or sees the figure go down.
 */
#include "offheap_pool.h"

#include "core/invariant.h"
#include "core/os.h"
#include "core/slabs.h"
#include "core/tid.h"
#include "core/util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DEFAULT_POOL_SIZE ((size_t)64 << 20)
#define DEFAULT_SLAB_SIZE ((size_t)1 << 20)
#define DEFAULT_SLAB_COUNT 16u

/* One thread's cache; the first two fields are struct offheap_pool_tc_ of
 * offheap_pool.h, which programs read and write inline. */
struct pool_tc {
    _Alignas(64) char *cur; /* next free byte: owner stores (relaxed atomic),
                                stats reader loads (relaxed atomic); one
                                entry per cache line (no false sharing) */
    char *end;              /* end of the slab; owner and reset only */
    _Atomic uint64_t epoch; /* pool epoch this cache belongs to (seq) */
    _Atomic uintptr_t bias; /* bytes handed out = cur - bias (seq) */
    _Atomic uint32_t seq;   /* odd while the owner rewrites epoch/bias/cur */
};

_Static_assert(sizeof(struct pool_tc) == sizeof(struct offheap_pool_tc_),
               "pool_tc must have the stride offheap_pool.h indexes with");
_Static_assert(offsetof(struct pool_tc, cur) == offsetof(struct offheap_pool_tc_, cur) &&
                   offsetof(struct pool_tc, end) == offsetof(struct offheap_pool_tc_, end),
               "pool_tc must start with the fields offheap_pool.h knows");
_Static_assert(sizeof(offheap_tid_) == sizeof(unsigned int), "offheap_tid_ as the header has it");
/* The layout above is the one OFFHEAP_POOL_ABI_ names: change both, and
 * the slow path's exported name changes with them. */
_Static_assert(OFFHEAP_POOL_ABI_ == 1, "pool_tc layout is ABI version 1");

struct offheap_pool {
    struct pool_tc tc[OH_MAX_THREADS]; /* first: the header indexes the pool */
    struct oh_slabs slabs;
    _Atomic uint64_t epoch;      /* changes at every reset, unique */
    _Atomic uint32_t tc_high;    /* highest thread index that took a slab */
    _Atomic size_t large_bytes;  /* bytes of blocks larger than a slab */
    _Atomic size_t large_blocks; /* their count */
    _Atomic size_t resets;
    pthread_mutex_t shared_lock; /* for threads without an index */
    struct pool_tc shared;       /* their cache */
    struct offheap_pool *next;   /* registry, for fork */
    struct offheap_pool *prev;
    size_t map_size; /* bytes of this struct's mapping */
};

_Static_assert(offsetof(struct offheap_pool, tc) == 0, "offheap_pool.h indexes the pool itself");

static _Atomic uint64_t epoch_source = 1;

/* Registry of live pools so fork can hold every pool's lock. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct offheap_pool *registry;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void prefork(void)
{
    pthread_mutex_lock(&registry_lock);
    for (struct offheap_pool *p = registry; p; p = p->next) {
        pthread_mutex_lock(&p->shared_lock);
        oh_slabs_lock(&p->slabs);
    }
}

static void postfork(void)
{
    for (struct offheap_pool *p = registry; p; p = p->next) {
        oh_slabs_unlock(&p->slabs);
        pthread_mutex_unlock(&p->shared_lock);
    }
    pthread_mutex_unlock(&registry_lock);
}

static void register_fork_handlers(void)
{
    (void)pthread_atfork(prefork, postfork, postfork);
}

/* ---- hot path ---------------------------------------------------------- */

static void *alloc_slow(offheap_pool *pool, size_t size, size_t align);

static inline void set_cur(struct pool_tc *c, char *p)
{
    __atomic_store_n(&c->cur, p, __ATOMIC_RELAXED);
}

/* The inline path of offheap_pool.h, out of line, for callers that do not
 * inline it (function pointers, dlsym, other compilers, OFFHEAP_NO_INLINE).
 * Steps: TLS index load, pool test, two loads, compare, store.  tc[0] keeps
 * cur == end, so a thread without an index falls through to the slow path;
 * cur and end are 16-aligned, so size - 1 < end - cur also rejects size 0,
 * sizes beyond the slab and rounding overflow. */
void *offheap_pool_alloc(offheap_pool *pool, size_t size)
{
    if (__builtin_expect(pool != NULL, 1)) {
        struct pool_tc *c = &pool->tc[offheap_tid_];
        char *p = c->cur;
        if (__builtin_expect(size - 1 < (size_t)(c->end - p), 1)) {
            set_cur(c, p + oh_round_up(size, OFFHEAP_ALIGNMENT));
            return p;
        }
    }
    return alloc_slow(pool, size, OFFHEAP_ALIGNMENT);
}

void *offheap_pool_alloc_slow_(offheap_pool *pool, size_t size)
{
    return alloc_slow(pool, size, OFFHEAP_ALIGNMENT);
}

void *offheap_pool_alloc_aligned(offheap_pool *pool, size_t size, size_t align)
{
    if (!oh_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_slow(pool, size, align < OFFHEAP_ALIGNMENT ? OFFHEAP_ALIGNMENT : align);
}

/* ---- slow paths -------------------------------------------------------- */

/* Owner (or the holder of shared_lock) points cache c at a new slab range,
 * in the given epoch, with `count` bytes handed out so far in that epoch
 * (cur - bias == count afterwards).  The sequence lock makes the triple
 * (epoch, bias, cur) read as one by the stats reader. */
static void publish(struct pool_tc *c, uint64_t epoch, char *cur, char *end, size_t count)
{
    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);
    atomic_store_explicit(&c->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&c->epoch, epoch, memory_order_relaxed);
    atomic_store_explicit(&c->bias, (uintptr_t)cur - count, memory_order_relaxed);
    set_cur(c, cur);
    c->end = end;
    atomic_store_explicit(&c->seq, s + 2, memory_order_release);
}

/* Bump within cache c, or refill it with a fresh slab and bump there.
 * Padding for alignment counts as handed out. */
static void *cache_alloc(offheap_pool *pool, struct pool_tc *c, size_t size, size_t align)
{
    uint64_t epoch = atomic_load_explicit(&pool->epoch, memory_order_relaxed);
    size_t n = oh_round_up(size, OFFHEAP_ALIGNMENT);
    size_t count = 0; /* bytes this cache handed out in this epoch */
    if (atomic_load_explicit(&c->epoch, memory_order_relaxed) == epoch && c->cur) {
        char *p = (char *)oh_round_up((uintptr_t)c->cur, align);
        if (p >= c->cur && p <= c->end && (size_t)(c->end - p) >= n) {
            set_cur(c, p + n);
            OH_ASSERT(c->cur <= c->end && (uintptr_t)c->cur % OFFHEAP_ALIGNMENT == 0);
            return p;
        }
        /* The rest of this slab is abandoned until reset. */
        count = (size_t)((uintptr_t)c->cur - atomic_load_explicit(&c->bias, memory_order_relaxed));
    }
    uint32_t i = oh_slabs_acquire(&pool->slabs, 1, NULL);
    if (i == OH_SLAB_NONE) {
        errno = ENOMEM;
        return NULL;
    }
    char *s = oh_slab_addr(&pool->slabs, i);
    /* Slabs are slab-aligned, so any align <= slab size holds at s.  From a
     * new epoch, count is 0: the epoch and the zero count appear together. */
    publish(c, epoch, s + n, s + pool->slabs.slab_size, count + n);
    return s;
}

/* Blocks larger than a slab (or aligned beyond one) take their own run. */
static void *large_alloc(offheap_pool *pool, size_t size, size_t align)
{
    size_t slab = pool->slabs.slab_size;
    size_t slack = align > slab ? align - slab : 0;
    if (size > pool->slabs.size || slack > pool->slabs.size - size) {
        errno = ENOMEM;
        return NULL;
    }
    size_t bytes = oh_round_up(size + slack, slab);
    uint32_t first = oh_slabs_acquire(&pool->slabs, (uint32_t)(bytes / slab), NULL);
    if (first == OH_SLAB_NONE) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = (char *)oh_round_up((uintptr_t)oh_slab_addr(&pool->slabs, first), align);
    atomic_fetch_add(&pool->large_bytes, oh_round_up(size, OFFHEAP_ALIGNMENT));
    atomic_fetch_add(&pool->large_blocks, 1);
    return p;
}

/* Remember the highest index whose cache reset must close. */
static void note_tc(offheap_pool *pool, uint32_t t)
{
    uint32_t h = atomic_load_explicit(&pool->tc_high, memory_order_relaxed);
    while (h < t &&
           !atomic_compare_exchange_weak_explicit(&pool->tc_high, &h, t, memory_order_release, memory_order_relaxed)) {
    }
}

__attribute__((noinline)) static void *alloc_slow(offheap_pool *pool, size_t size, size_t align)
{
    if (!pool || size == 0) {
        errno = EINVAL;
        return NULL;
    }
    /* The reserved slot of threads without an index is never opened. */
    OH_ASSERT(pool->tc[0].cur == NULL && pool->tc[0].end == NULL);
    size_t slab = pool->slabs.slab_size;
    if (size > slab || align > slab || oh_round_up(size, align) > slab) return large_alloc(pool, size, align);
    uint32_t t = oh_tid();
    if (t != 0) {
        note_tc(pool, t);
        return cache_alloc(pool, &pool->tc[t], size, align);
    }
    pthread_mutex_lock(&pool->shared_lock);
    void *p = cache_alloc(pool, &pool->shared, size, align);
    pthread_mutex_unlock(&pool->shared_lock);
    return p;
}

/* ---- lifecycle --------------------------------------------------------- */

int offheap_pool_create(offheap_pool **out, const offheap_pool_config *cfg)
{
    if (!out) return EINVAL;
    *out = NULL;
    offheap_pool_config c = cfg ? *cfg : (offheap_pool_config){0};
    if (!c.pool_size) c.pool_size = DEFAULT_POOL_SIZE;
    if (!c.slab_size) c.slab_size = DEFAULT_SLAB_SIZE;
    bool default_count = c.slab_count == 0;
    if (default_count) c.slab_count = DEFAULT_SLAB_COUNT;
    size_t page = oh_os_page_size();
    if (!oh_is_pow2(c.slab_size) || c.slab_size < page || c.pool_size < c.slab_size || c.pool_size % c.slab_size)
        return EINVAL;
    if (c.huge_pages) {
        size_t huge = oh_os_huge_page_size();
        if (!huge || c.slab_size % huge) return EINVAL;
    }
    size_t count = c.pool_size / c.slab_size;
    if (c.prealloc && c.slab_count > count) {
        if (!default_count) return EINVAL;
        c.slab_count = (unsigned)count; /* the default never asks for more */
    }

    size_t map_size = oh_round_up(sizeof(offheap_pool), page);
    int err = ENOMEM;
    offheap_pool *pool = oh_os_reserve(map_size, page, false, NULL, &err);
    if (!pool) return err;
    pool->map_size = map_size;
    err = oh_slabs_init(&pool->slabs, c.pool_size, c.slab_size, c.huge_pages, (uint32_t)count);
    if (err) {
        oh_os_unreserve(pool, map_size);
        return err;
    }
    if (c.prealloc) {
        err = oh_slabs_commit(&pool->slabs, c.slab_count);
        if (err) {
            oh_slabs_fini(&pool->slabs);
            oh_os_unreserve(pool, map_size);
            return err;
        }
    }
    atomic_store(&pool->epoch, atomic_fetch_add(&epoch_source, 1));
    pthread_mutex_init(&pool->shared_lock, NULL);

    (void)pthread_once(&fork_once, register_fork_handlers);
    pthread_mutex_lock(&registry_lock);
    pool->next = registry;
    if (registry) registry->prev = pool;
    registry = pool;
    pthread_mutex_unlock(&registry_lock);
    *out = pool;
    return 0;
}

void offheap_pool_reset(offheap_pool *pool)
{
    if (!pool) return;
    int saved = errno;
    /* The new epoch first: from here the stats reader counts no cache. */
    atomic_store(&pool->epoch, atomic_fetch_add(&epoch_source, 1));
    /* Close every cache that was used (quiescence: their owners are not
     * bumping), so the next allocation of each thread takes the slow path,
     * which sees the old epoch.  cur stays, so a stats reader that read the
     * old epoch still gets the old, exact figure. */
    uint32_t high = atomic_load_explicit(&pool->tc_high, memory_order_relaxed);
    for (uint32_t t = 1; t <= high; t++) pool->tc[t].end = pool->tc[t].cur;
    pool->shared.end = pool->shared.cur;
    oh_slabs_reset(&pool->slabs);
    atomic_store(&pool->large_bytes, 0);
    atomic_store(&pool->large_blocks, 0);
    atomic_fetch_add(&pool->resets, 1);
    errno = saved;
}

size_t offheap_pool_release(offheap_pool *pool)
{
    if (!pool) return 0;
    int saved = errno;
    size_t bytes = oh_slabs_purge(&pool->slabs);
    errno = saved;
    return bytes;
}

void offheap_pool_destroy(offheap_pool *pool)
{
    if (!pool) return;
    int saved = errno;
    pthread_mutex_lock(&registry_lock);
    if (pool->prev) pool->prev->next = pool->next;
    else registry = pool->next;
    if (pool->next) pool->next->prev = pool->prev;
    pthread_mutex_unlock(&registry_lock);
    oh_slabs_fini(&pool->slabs);
    pthread_mutex_destroy(&pool->shared_lock);
    oh_os_unreserve(pool, pool->map_size);
    errno = saved;
}

bool offheap_pool_owns(const offheap_pool *pool, const void *ptr)
{
    return pool && ptr && oh_slabs_owns(&pool->slabs, ptr);
}

/* Bytes cache c handed out in `epoch`: a consistent read of (epoch, bias,
 * cur) under the owner's sequence lock.  The owner holds it odd only for the
 * few stores of a slab switch; the reader yields if it finds it so. */
static size_t cache_bytes(const struct pool_tc *c, uint64_t epoch)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (s & 1) {
            sched_yield();
            continue;
        }
        uint64_t e = atomic_load_explicit(&c->epoch, memory_order_relaxed);
        uintptr_t bias = atomic_load_explicit(&c->bias, memory_order_relaxed);
        char *cur = __atomic_load_n(&c->cur, __ATOMIC_RELAXED);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&c->seq, memory_order_relaxed) != s) continue;
        return e == epoch ? (size_t)((uintptr_t)cur - bias) : 0;
    }
}

int offheap_pool_stats_get(const offheap_pool *pool, offheap_pool_stats *out)
{
    if (!pool || !out) return EINVAL;
    uint64_t epoch = atomic_load(&pool->epoch);
    size_t allocated = atomic_load(&pool->large_bytes);
    uint32_t high = atomic_load_explicit(&pool->tc_high, memory_order_acquire);
    for (uint32_t t = 1; t <= high; t++) allocated += cache_bytes(&pool->tc[t], epoch);
    allocated += cache_bytes(&pool->shared, epoch);
    const struct oh_slabs *s = &pool->slabs;
    *out = (offheap_pool_stats){
        .reserved = s->size,
        .allocated = allocated,
        .committed = (size_t)atomic_load(&s->dirty) << s->shift,
        .peak = (size_t)atomic_load(&s->peak) << s->shift,
        .slabs_in_use = atomic_load(&s->in_use),
        .slab_count = s->count,
        .slab_size = s->slab_size,
        .alignment = OFFHEAP_ALIGNMENT,
        .large_blocks = atomic_load(&pool->large_blocks),
        .resets = atomic_load(&pool->resets),
    };
    return 0;
}
