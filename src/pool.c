/* SPDX-License-Identifier: MIT */
/*
 * pool.c — the explicit Pool: a slab supply plus one bump cache per thread.
 *
 * Each thread allocates from its own slab through pool->tc[tid]: the hot path
 * is a compare of the pool's epoch, a bounds check and a store, with no
 * atomic read-modify-write.  Only taking a new slab locks the supply.
 * Reset gives the pool a new, globally unique epoch, which invalidates every
 * thread's cache at once without touching them (they notice on their next
 * allocation).  Destroy needs no per-thread cleanup for the same reason.
 *
 * Invariants:
 *   - tc[t].epoch == pool->epoch  =>  [tc[t].start, tc[t].end) is a slab
 *     owned by thread t in this pool, tc[t].cur within it, and tc[t].used
 *     counts the bytes thread t handed out in this epoch;
 *   - allocated (stats) = sum of used over caches of the current epoch +
 *     large bytes.  `used` has one writer and only grows within an epoch,
 *     and the writer zeroes it before it publishes a new epoch, so a
 *     reader never counts a byte twice or sees the figure go down.
 */
#include "offheap_pool.h"

#include "os.h"
#include "slabs.h"
#include "tid.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define DEFAULT_POOL_SIZE ((size_t)64 << 20)
#define DEFAULT_SLAB_SIZE ((size_t)1 << 20)
#define DEFAULT_SLAB_COUNT 16u

struct pool_tc {
    _Atomic uint64_t epoch; /* pool epoch this cache belongs to */
    char *cur;              /* next free byte (owner only) */
    char *end;              /* end of the slab (owner only) */
    _Atomic size_t used;    /* bytes handed out this epoch (stats) */
};

struct offheap_pool {
    struct oh_slabs slabs;
    _Atomic uint64_t epoch;       /* changes at every reset, unique */
    _Atomic size_t large_bytes;   /* bytes of blocks larger than a slab */
    _Atomic size_t large_blocks;  /* their count */
    _Atomic size_t resets;
    pthread_mutex_t shared_lock;  /* for threads without an index */
    struct pool_tc shared;        /* their cache */
    struct offheap_pool *next;    /* registry, for fork */
    struct offheap_pool *prev;
    size_t map_size;              /* bytes of this struct's mapping */
    struct pool_tc tc[];          /* OH_MAX_THREADS entries */
};

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

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static bool is_pow2(size_t v)
{
    return v && !(v & (v - 1));
}

/* ---- hot path ---------------------------------------------------------- */

static void *alloc_slow(offheap_pool *pool, size_t size, size_t align);

static inline void add_used(struct pool_tc *c, size_t n)
{
    atomic_store_explicit(&c->used, atomic_load_explicit(&c->used, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Steps: TLS index load, epoch compare, round, bounds check, two stores. */
void *offheap_pool_alloc(offheap_pool *pool, size_t size)
{
    uint32_t t = oh_tid_cached;
    if (__builtin_expect(pool != NULL && t != 0 && size - 1 < pool->slabs.slab_size, 1)) {
        struct pool_tc *c = &pool->tc[t];
        size_t n = (size + (OFFHEAP_ALIGNMENT - 1)) & ~(size_t)(OFFHEAP_ALIGNMENT - 1);
        char *p = c->cur;
        if (__builtin_expect(atomic_load_explicit(&c->epoch, memory_order_relaxed) ==
                                     atomic_load_explicit(&pool->epoch, memory_order_relaxed) &&
                                 (size_t)(c->end - p) >= n,
                             1)) {
            c->cur = p + n;
            add_used(c, n);
            return p;
        }
    }
    return alloc_slow(pool, size, OFFHEAP_ALIGNMENT);
}

void *offheap_pool_alloc_aligned(offheap_pool *pool, size_t size, size_t align)
{
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_slow(pool, size, align < OFFHEAP_ALIGNMENT ? OFFHEAP_ALIGNMENT : align);
}

/* ---- slow paths -------------------------------------------------------- */

/* Bump within cache c, or refill it with a fresh slab and bump there.
 * Padding for alignment counts as handed out. */
static void *cache_alloc(offheap_pool *pool, struct pool_tc *c, size_t size, size_t align)
{
    uint64_t epoch = atomic_load_explicit(&pool->epoch, memory_order_relaxed);
    size_t n = round_up(size, OFFHEAP_ALIGNMENT);
    if (atomic_load_explicit(&c->epoch, memory_order_relaxed) == epoch && c->cur) {
        char *p = (char *)round_up((uintptr_t)c->cur, align);
        if (p >= c->cur && p <= c->end && (size_t)(c->end - p) >= n) {
            add_used(c, (size_t)(p + n - c->cur));
            c->cur = p + n;
            return p;
        }
        /* The rest of this slab is abandoned until reset. */
    } else {
        /* A new epoch: zero the count before the epoch says it is valid. */
        atomic_store_explicit(&c->used, 0, memory_order_relaxed);
        atomic_store_explicit(&c->epoch, epoch, memory_order_release);
        c->cur = c->end = NULL;
    }
    uint32_t i = oh_slabs_acquire(&pool->slabs, 1, NULL);
    if (i == OH_SLAB_NONE) {
        errno = ENOMEM;
        return NULL;
    }
    char *s = oh_slab_addr(&pool->slabs, i);
    c->end = s + pool->slabs.slab_size;
    /* Slabs are slab-aligned, so any align <= slab size holds at s. */
    c->cur = s + n;
    add_used(c, n);
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
    size_t bytes = round_up(size + slack, slab);
    uint32_t first = oh_slabs_acquire(&pool->slabs, (uint32_t)(bytes / slab), NULL);
    if (first == OH_SLAB_NONE) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = (char *)round_up((uintptr_t)oh_slab_addr(&pool->slabs, first), align);
    atomic_fetch_add(&pool->large_bytes, round_up(size, OFFHEAP_ALIGNMENT));
    atomic_fetch_add(&pool->large_blocks, 1);
    return p;
}

__attribute__((noinline)) static void *alloc_slow(offheap_pool *pool, size_t size, size_t align)
{
    if (!pool || size == 0) {
        errno = EINVAL;
        return NULL;
    }
    size_t slab = pool->slabs.slab_size;
    if (size > slab || align > slab || round_up(size, align) > slab) return large_alloc(pool, size, align);
    uint32_t t = oh_tid();
    if (t != 0) return cache_alloc(pool, &pool->tc[t], size, align);
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
    if (!is_pow2(c.slab_size) || c.slab_size < page || c.pool_size < c.slab_size ||
        c.pool_size % c.slab_size)
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

    size_t map_size = round_up(sizeof(offheap_pool) + OH_MAX_THREADS * sizeof(struct pool_tc), page);
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
    atomic_store(&pool->epoch, atomic_fetch_add(&epoch_source, 1));
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

static size_t cache_bytes(const struct pool_tc *c, uint64_t epoch)
{
    if (atomic_load_explicit(&c->epoch, memory_order_acquire) != epoch) return 0;
    return atomic_load_explicit(&c->used, memory_order_relaxed);
}

int offheap_pool_stats_get(const offheap_pool *pool, offheap_pool_stats *out)
{
    if (!pool || !out) return EINVAL;
    uint64_t epoch = atomic_load(&pool->epoch);
    size_t allocated = atomic_load(&pool->large_bytes);
    for (uint32_t t = 1; t < OH_MAX_THREADS; t++) allocated += cache_bytes(&pool->tc[t], epoch);
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
