/* SPDX-License-Identifier: MIT */
/*
 * slabs.c — the slab supply (see slabs.h for the invariants).  Everything
 * here is a slow path: it runs once per slab hand-over, never per block.
 */
#include "core/slabs.h"

#include "core/invariant.h"
#include "core/os.h"
#include "core/util.h"

#include <errno.h>
#include <string.h>

static unsigned log2_exact(size_t v)
{
    return (unsigned)__builtin_ctzll((unsigned long long)v);
}

int oh_slabs_init(struct oh_slabs *s, size_t size, size_t slab_size, bool huge, uint32_t retain)
{
    size_t page = oh_os_page_size();
    memset(s, 0, sizeof *s);
    if (!oh_is_pow2(slab_size) || slab_size < page || size < slab_size || size % slab_size) return EINVAL;
    size_t count = size / slab_size;
    if (count >= OH_SLAB_NONE) return ENOMEM; /* more slabs than we can index */

    s->slab_size = slab_size;
    s->shift = log2_exact(slab_size);
    s->count = (uint32_t)count;
    s->words = (uint32_t)((count + 63) / 64);
    s->retain = retain;

    /* The data reservation first: an impossible size fails here, before
     * any metadata is mapped or initialised. */
    int err = ENOMEM;
    bool got_huge = false;
    s->base = oh_os_reserve(size, slab_size, huge, &got_huge, &err);
    if (!s->base) {
        memset(s, 0, sizeof *s);
        return err;
    }
    s->size = size;
    s->huge = got_huge;

    size_t maps = (size_t)s->words * sizeof(uint64_t) * 2;
    size_t meta = count * sizeof(struct oh_slab_meta);
    s->meta_map_size = (maps + meta + page - 1) & ~(page - 1);
    s->meta_map = oh_os_reserve(s->meta_map_size, page, false, NULL, &err);
    if (!s->meta_map) {
        oh_os_unreserve(s->base, size);
        memset(s, 0, sizeof *s);
        return err;
    }
    s->free_map = s->meta_map;
    s->dirty_map = s->free_map + s->words;
    s->meta = (struct oh_slab_meta *)(void *)(s->dirty_map + s->words);
    for (size_t w = 0; w < s->words; w++) {
        size_t left = count - w * 64;
        s->free_map[w] = left >= 64 ? ~0ull : (1ull << left) - 1;
    }
    memset(s->meta, 0xff, meta); /* next = NONE; the other fields are set below */
    for (size_t i = 0; i < count; i++) s->meta[i].run = s->meta[i].owner = s->meta[i].seq = 0;
    pthread_mutex_init(&s->lock, NULL);
    return 0;
}

void oh_slabs_fini(struct oh_slabs *s)
{
    if (s->base) oh_os_unreserve(s->base, s->size);
    if (s->meta_map) oh_os_unreserve(s->meta_map, s->meta_map_size);
    pthread_mutex_destroy(&s->lock);
    memset(s, 0, sizeof *s);
}

static bool bit(const uint64_t *map, uint32_t i)
{
    return (map[i / 64] >> (i % 64)) & 1u;
}
static void set_bit(uint64_t *map, uint32_t i)
{
    map[i / 64] |= 1ull << (i % 64);
}
static void clear_bit(uint64_t *map, uint32_t i)
{
    map[i / 64] &= ~(1ull << (i % 64));
}

/* The counts agree with the maps (slabs.h).  O(words): assertion builds
 * only.  Lock held. */
static void check_maps(const struct oh_slabs *s)
{
#ifdef OH_ASSERTIONS
    uint32_t free_dirty = 0, dirty = 0, free = 0;
    for (uint32_t w = 0; w < s->words; w++) {
        free_dirty += (uint32_t)__builtin_popcountll(s->free_map[w] & s->dirty_map[w]);
        dirty += (uint32_t)__builtin_popcountll(s->dirty_map[w]);
        free += (uint32_t)__builtin_popcountll(s->free_map[w]);
    }
    OH_ASSERT(free_dirty == s->free_dirty);
    OH_ASSERT(dirty == atomic_load_explicit(&s->dirty, memory_order_relaxed));
    OH_ASSERT(free + atomic_load_explicit(&s->in_use, memory_order_relaxed) == s->count);
#else
    (void)s;
#endif
}

int oh_slabs_commit(struct oh_slabs *s, uint32_t n)
{
    if (n > s->count) return EINVAL;
    pthread_mutex_lock(&s->lock);
    uint32_t done = 0;
    int err = 0;
    for (; done < n; done++) {
        if (bit(s->dirty_map, done)) continue;
        err = oh_os_commit(oh_slab_addr(s, done), s->slab_size);
        if (err) break;
        set_bit(s->dirty_map, done);
        s->free_dirty++;
        atomic_fetch_add(&s->dirty, 1);
    }
    if (err) {
        /* Roll back: a failed prealloc leaves nothing resident. */
        for (uint32_t i = 0; i < done; i++) {
            if (!bit(s->dirty_map, i)) continue;
            (void)oh_os_decommit(oh_slab_addr(s, i), s->slab_size);
            clear_bit(s->dirty_map, i);
            s->free_dirty--;
            atomic_fetch_sub(&s->dirty, 1);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return err ? ENOMEM : 0;
}

/* First free slab, resident ones first (their pages are warm and the kernel
 * need not zero-fill new ones), or clean ones first when `fresh`.  Lock
 * held. */
static uint32_t find_one(const struct oh_slabs *s, bool fresh)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t w = 0; w < s->words; w++) {
            uint64_t bits = s->free_map[w] & ((pass == 0) != fresh ? s->dirty_map[w] : ~s->dirty_map[w]);
            if (bits) return w * 64 + (uint32_t)__builtin_ctzll(bits);
        }
    }
    return OH_SLAB_NONE;
}

/* First run of n free slabs (with `clean`: that are also clean).  Lock
 * held. */
static uint32_t find_run(const struct oh_slabs *s, uint32_t n, bool clean)
{
    uint32_t len = 0;
    for (uint32_t i = 0; i < s->count; i++) {
        if (!(i % 64) && s->free_map[i / 64] == 0) {
            len = 0;
            i += 63;
            continue;
        }
        len = bit(s->free_map, i) && !(clean && bit(s->dirty_map, i)) ? len + 1 : 0;
        if (len == n) return i + 1 - n;
    }
    return OH_SLAB_NONE;
}

uint32_t oh_slabs_acquire(struct oh_slabs *s, uint32_t n, bool *zeroed)
{
    return oh_slabs_acquire_ex(s, n, zeroed, false);
}

uint32_t oh_slabs_acquire_ex(struct oh_slabs *s, uint32_t n, bool *zeroed, bool fresh)
{
    if (n == 0 || n > s->count) return OH_SLAB_NONE;
    pthread_mutex_lock(&s->lock);
    uint32_t first = n == 1 ? find_one(s, fresh) : OH_SLAB_NONE;
    if (n > 1 && fresh) first = find_run(s, n, true);
    if (n > 1 && first == OH_SLAB_NONE) first = find_run(s, n, false);
    if (first == OH_SLAB_NONE) {
        pthread_mutex_unlock(&s->lock);
        return OH_SLAB_NONE;
    }
    bool clean = true;
    OH_ASSERT(first + n <= s->count);
    for (uint32_t i = first; i < first + n; i++) {
        OH_ASSERT(bit(s->free_map, i) && s->meta[i].run == 0);
        clear_bit(s->free_map, i);
        if (bit(s->dirty_map, i)) {
            clean = false;
            s->free_dirty--;
        } else {
            set_bit(s->dirty_map, i);
            atomic_fetch_add_explicit(&s->dirty, 1, memory_order_relaxed);
        }
        s->meta[i].run = 0;
        s->meta[i].next = OH_SLAB_NONE;
    }
    s->meta[first].run = n;
    uint32_t used = atomic_load_explicit(&s->in_use, memory_order_relaxed) + n;
    atomic_store_explicit(&s->in_use, used, memory_order_relaxed);
    if (used > atomic_load_explicit(&s->peak, memory_order_relaxed))
        atomic_store_explicit(&s->peak, used, memory_order_relaxed);
    check_maps(s);
    pthread_mutex_unlock(&s->lock);
    if (zeroed) *zeroed = clean;
    return first;
}

/* Free one run and decommit it if more than `retain` free slabs would stay
 * resident.  Lock held.  Returns the bytes freed. */
static size_t release_locked(struct oh_slabs *s, uint32_t first)
{
    uint32_t n = s->meta[first].run;
    OH_ASSERT(first < s->count && n > 0); /* releasing a slab that heads no owned run */
    if (n == 0) return 0;                 /* not an owned run: ignore rather than corrupt */
    OH_ASSERT(first + n <= s->count);
    bool drop = s->free_dirty + n > s->retain;
    if (drop) (void)oh_os_decommit(oh_slab_addr(s, first), (size_t)n << s->shift);
    for (uint32_t i = first; i < first + n; i++) {
        OH_ASSERT(!bit(s->free_map, i));
        set_bit(s->free_map, i);
        if (drop) {
            clear_bit(s->dirty_map, i);
            atomic_fetch_sub_explicit(&s->dirty, 1, memory_order_relaxed);
        } else {
            s->free_dirty++;
        }
        s->meta[i].owner = 0;
    }
    s->meta[first].run = 0;
    atomic_store_explicit(&s->in_use, atomic_load_explicit(&s->in_use, memory_order_relaxed) - n, memory_order_relaxed);
    return (size_t)n << s->shift;
}

void oh_slabs_release(struct oh_slabs *s, uint32_t first)
{
    pthread_mutex_lock(&s->lock);
    (void)release_locked(s, first);
    check_maps(s);
    pthread_mutex_unlock(&s->lock);
}

size_t oh_slabs_release_chain(struct oh_slabs *s, uint32_t head, uint32_t stop)
{
    size_t bytes = 0;
    pthread_mutex_lock(&s->lock);
    while (head != stop && head != OH_SLAB_NONE) {
        uint32_t next = s->meta[head].next;
        s->meta[head].next = OH_SLAB_NONE;
        bytes += release_locked(s, head);
        head = next;
    }
    check_maps(s);
    pthread_mutex_unlock(&s->lock);
    return bytes;
}

void oh_slabs_reset(struct oh_slabs *s)
{
    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < s->count; i++) {
        if (s->meta[i].run) (void)release_locked(s, i);
    }
    check_maps(s);
    pthread_mutex_unlock(&s->lock);
}

size_t oh_slabs_purge(struct oh_slabs *s)
{
    size_t bytes = 0;
    pthread_mutex_lock(&s->lock);
    for (uint32_t i = 0; i < s->count; i++) {
        if (!bit(s->free_map, i) || !bit(s->dirty_map, i)) continue;
        uint32_t j = i;
        while (j < s->count && bit(s->free_map, j) && bit(s->dirty_map, j)) j++;
        (void)oh_os_decommit(oh_slab_addr(s, i), (size_t)(j - i) << s->shift);
        for (uint32_t k = i; k < j; k++) clear_bit(s->dirty_map, k);
        atomic_fetch_sub_explicit(&s->dirty, j - i, memory_order_relaxed);
        s->free_dirty -= j - i;
        bytes += (size_t)(j - i) << s->shift;
        i = j;
    }
    pthread_mutex_unlock(&s->lock);
    return bytes;
}

void oh_slabs_lock(struct oh_slabs *s)
{
    pthread_mutex_lock(&s->lock);
}

void oh_slabs_unlock(struct oh_slabs *s)
{
    pthread_mutex_unlock(&s->lock);
}
