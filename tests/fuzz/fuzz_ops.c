/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ops.c — libFuzzer target for the explicit API (offheap_pool.h).
 *
 * The input is read as a program: one byte picks an operation, the next
 * bytes its arguments (missing bytes read as zero).  Operations: pool
 * create / alloc / alloc_aligned / reset / release / destroy / stats, arena
 * create / alloc / alloc_aligned / reset / destroy / remaining, hint.  A model
 * follows every live block:
 *   - each block is filled with a pattern derived from its id (the first and
 *     last FILL_CAP bytes), verified before its pool/arena is reset or
 *     destroyed, after pool_release and hints, and at the end;
 *   - no two live blocks overlap, every block lies in its pool's reservation
 *     and is aligned as asked;
 *   - errors are the documented ones (EINVAL for NULL/0/bad alignment,
 *     ENOMEM only when the cap is really reached), and an arena's remaining
 *     bytes follow exactly from the sizes allocated.
 * A violation calls abort() after a "FAIL file:line" message on stderr
 * (check.h, REQUIREF and FATAL with the stop set to abort: libFuzzer
 * reports it as a crash and saves the input).
 *
 * Built with clang -fsanitize=fuzzer when the compiler is clang; otherwise
 * with fuzz_main.c, a small driver that replays the seed corpus and N
 * inputs from a PRNG (see meson.build).
 */
#include "check.h"
#include "offheap_pool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_POOLS 3
#define MAX_ARENAS 3
#define MAX_BLOCKS 384
#define FILL_CAP 256
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

struct block {
    char *p;
    size_t size;
    uint32_t id;
    int kind; /* 0 pool, 1 arena */
    int owner;
};

struct pool_slot {
    offheap_pool *p;
    size_t pool_size, slab_size;
    size_t resets;
};

struct arena_slot {
    offheap_arena *a;
    size_t cap;    /* remaining right after create / reset */
    size_t rem;    /* model of offheap_arena_remaining() */
    uintptr_t end; /* one past the last usable byte; 0 until learned */
};

static struct {
    const uint8_t *d;
    size_t n, i;
    struct pool_slot pools[MAX_POOLS];
    struct arena_slot arenas[MAX_ARENAS];
    struct block blocks[MAX_BLOCKS];
    size_t nblocks;
    uint32_t next_id;
} S;

static size_t page_size;
/* FUZZ_OPS_NO_HUGE=1 keeps huge_pages off (to fuzz past a known huge page
 * bug while it is open). */
static bool no_huge;

/* ---- input ------------------------------------------------------------- */

static unsigned u8(void)
{
    return S.i < S.n ? S.d[S.i++] : 0;
}

static unsigned u16(void)
{
    unsigned v = u8();
    return v | u8() << 8;
}

static size_t round16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

/* ---- content model ----------------------------------------------------- */

static uint8_t pat(uint32_t id, size_t i)
{
    uint32_t x = id * 2654435761u + (uint32_t)i * 40503u;
    return (uint8_t)(x >> 13 ^ x);
}

static void fill(const struct block *b)
{
    size_t head = b->size < FILL_CAP ? b->size : FILL_CAP;
    for (size_t i = 0; i < head; i++) b->p[i] = (char)pat(b->id, i);
    size_t tail = b->size - head < FILL_CAP ? b->size - head : FILL_CAP;
    for (size_t i = b->size - tail; i < b->size; i++) b->p[i] = (char)pat(b->id, i);
}

static void verify(const struct block *b)
{
    size_t head = b->size < FILL_CAP ? b->size : FILL_CAP;
    for (size_t i = 0; i < head; i++)
        if ((uint8_t)b->p[i] != pat(b->id, i))
            FATAL("block %u (%zu bytes at %p, %s %d) corrupted at byte %zu", b->id, b->size, (void *)b->p,
                  b->kind ? "arena" : "pool", b->owner, i);
    size_t tail = b->size - head < FILL_CAP ? b->size - head : FILL_CAP;
    for (size_t i = b->size - tail; i < b->size; i++)
        if ((uint8_t)b->p[i] != pat(b->id, i))
            FATAL("block %u (%zu bytes at %p, %s %d) corrupted at byte %zu", b->id, b->size, (void *)b->p,
                  b->kind ? "arena" : "pool", b->owner, i);
}

static void verify_all(void)
{
    for (size_t i = 0; i < S.nblocks; i++) verify(&S.blocks[i]);
}

/* Verify and forget every block of one owner. */
static void drop_owner(int kind, int owner)
{
    size_t j = 0;
    for (size_t i = 0; i < S.nblocks; i++) {
        struct block *b = &S.blocks[i];
        if (b->kind == kind && b->owner == owner) {
            verify(b);
            continue;
        }
        S.blocks[j++] = *b;
    }
    S.nblocks = j;
}

static size_t live_bytes(int kind, int owner)
{
    size_t sum = 0;
    for (size_t i = 0; i < S.nblocks; i++)
        if (S.blocks[i].kind == kind && S.blocks[i].owner == owner) sum += S.blocks[i].size;
    return sum;
}

/* A new block: no overlap with any live one, then fill it. */
static void add_block(char *p, size_t size, int kind, int owner)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + size;
    REQUIREF(hi > lo, "block wraps the address space");
    for (size_t i = 0; i < S.nblocks; i++) {
        const struct block *b = &S.blocks[i];
        uintptr_t blo = (uintptr_t)b->p, bhi = blo + b->size;
        if (lo < bhi && blo < hi)
            FATAL("new %zu-byte block at %p (%s %d) overlaps live block %u (%zu bytes at %p, %s %d)", size, (void *)p,
                  kind ? "arena" : "pool", owner, b->id, b->size, (void *)b->p, b->kind ? "arena" : "pool", b->owner);
    }
    struct block nb = {p, size, S.next_id++, kind, owner};
    fill(&nb);
    if (S.nblocks < MAX_BLOCKS) {
        S.blocks[S.nblocks++] = nb;
    } else {
        /* Model full: the block stays allocated but is not tracked. */
        verify(&nb);
    }
}

/* ---- argument pickers -------------------------------------------------- */

/* A size for a store whose slabs (or whole capacity) are `unit` bytes. */
static size_t pick_size(size_t unit, size_t total)
{
    unsigned k = u8();
    switch (k & 15) {
    case 0: return 0;
    case 1: return SIZE_MAX;
    case 2: return SIZE_MAX - (u8() & 31);
    case 3: return total + 1 + (u8() & 15);
    case 4: return unit;
    case 5: return unit + 1 + u16();
    case 6: return unit * (1 + (u8() & 3)) + (u8() & 63);
    case 7: return unit - (u8() & 31);
    case 8: return (size_t)1 << (u8() % 22);
    case 9: return 1 + (u16() % (unit > 1 ? unit : 1));
    default: return 1 + (k >> 4) + (u8() & 127);
    }
}

static size_t pick_align(size_t unit)
{
    unsigned k = u8();
    switch (k % 16) {
    case 0: return 0;
    case 1: return 3 + (u8() & 0x7e); /* odd: not a power of two */
    case 2: return 24;
    case 3: return (size_t)1 << 63;
    case 4: return (size_t)1 << (20 + (u8() % 24));
    case 5: return unit;
    case 6: return unit * 2;
    case 7: return SIZE_MAX;
    case 8: return 4096;
    default: return (size_t)1 << (k % 13);
    }
}

/* ---- pools ------------------------------------------------------------- */

static void op_pool_create(void)
{
    int slot = (int)(u8() % MAX_POOLS);
    struct pool_slot *ps = &S.pools[slot];
    if (ps->p) {
        drop_owner(0, slot);
        offheap_pool_destroy(ps->p);
        ps->p = NULL;
    }
    unsigned k = u8();
    offheap_pool_config cfg = {0};
    static const size_t slabs[] = {4 * KiB, 8 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 2 * MiB, 0};
    cfg.slab_size = slabs[k & 7];
    size_t slab = cfg.slab_size ? cfg.slab_size : 1 * MiB;
    unsigned count = 1 + u8() % 32;
    cfg.pool_size = slab * count;
    if (cfg.pool_size > 16 * MiB) cfg.pool_size = 16 * MiB;
    cfg.prealloc = (k >> 3) & 1;
    cfg.slab_count = u8() % 40;
    int expect = 0;
    switch ((k >> 4) & 7) {
    case 0:
        cfg.slab_size = 3000;
        expect = EINVAL;
        break; /* not a power of two */
    case 1:
        cfg.pool_size += slab / 2;
        expect = EINVAL;
        break; /* not a slab multiple */
    case 2:
        cfg.slab_size = 2048;
        expect = EINVAL;
        break; /* below the page size */
    case 3: cfg.huge_pages = ((k >> 7) & 1) && !no_huge; break;
    default: break;
    }
    if (!cfg.slab_size) cfg.pool_size = cfg.pool_size ? cfg.pool_size : 64 * MiB;
    if (!expect && cfg.pool_size < (cfg.slab_size ? cfg.slab_size : 1 * MiB)) expect = EINVAL;
    size_t eff_count = cfg.slab_count ? cfg.slab_count : 16;
    /* The default count (0 = 16) is clamped to the pool; an explicit one is not. */
    if (!expect && cfg.prealloc && cfg.slab_count && eff_count > cfg.pool_size / slab) expect = EINVAL;
    bool huge_unsure = cfg.huge_pages; /* EINVAL unless the slab is a huge page multiple */
    offheap_pool *p = (offheap_pool *)(uintptr_t)1;
    int err = offheap_pool_create(&p, &cfg);
    if (huge_unsure && !expect) {
        REQUIREF(err == 0 || err == EINVAL, "pool_create(huge) gave %d", err);
    } else {
        REQUIREF(err == expect, "pool_create(pool %zu, slab %zu, prealloc %d, count %u) gave %d, expected %d",
                 cfg.pool_size, cfg.slab_size, cfg.prealloc, cfg.slab_count, err, expect);
    }
    if (err) {
        REQUIREF(p == NULL, "failed create left *out set");
        return;
    }
    REQUIREF(p != NULL, "create returned 0 and NULL");
    ps->p = p;
    ps->pool_size = cfg.pool_size;
    ps->slab_size = slab;
    ps->resets = 0;
    offheap_pool_stats st;
    REQUIREF(offheap_pool_stats_get(p, &st) == 0, "stats");
    REQUIREF(st.reserved == cfg.pool_size && st.slab_size == slab && st.slab_count == cfg.pool_size / slab &&
                 st.allocated == 0 && st.slabs_in_use == 0,
             "fresh pool stats: reserved %zu slab %zu count %zu allocated %zu in_use %zu", st.reserved, st.slab_size,
             st.slab_count, st.allocated, st.slabs_in_use);
}

static void check_pool_stats(int slot)
{
    struct pool_slot *ps = &S.pools[slot];
    offheap_pool_stats st;
    REQUIREF(offheap_pool_stats_get(ps->p, &st) == 0, "stats");
    REQUIREF(st.slabs_in_use <= st.slab_count, "in_use %zu > count %zu", st.slabs_in_use, st.slab_count);
    REQUIREF(st.allocated >= live_bytes(0, slot), "allocated %zu < live bytes %zu", st.allocated, live_bytes(0, slot));
    REQUIREF(st.allocated <= st.slabs_in_use * st.slab_size, "allocated %zu > %zu slabs in use", st.allocated,
             st.slabs_in_use);
    REQUIREF(st.peak >= st.slabs_in_use * st.slab_size, "peak %zu below in-use", st.peak);
    REQUIREF(st.committed <= st.reserved, "committed %zu > reserved %zu", st.committed, st.reserved);
    REQUIREF(st.resets == ps->resets, "resets %zu, expected %zu", st.resets, ps->resets);
}

static void op_pool_alloc(bool aligned)
{
    int slot = (int)(u8() % MAX_POOLS);
    struct pool_slot *ps = &S.pools[slot];
    size_t slab = ps->p ? ps->slab_size : 64 * KiB;
    size_t size = pick_size(slab, ps->p ? ps->pool_size : 64 * KiB);
    size_t align = aligned ? pick_align(slab) : OFFHEAP_ALIGNMENT;
    offheap_pool_stats before = {0};
    if (ps->p) REQUIREF(offheap_pool_stats_get(ps->p, &before) == 0, "stats");
    errno = 0;
    char *p = aligned ? offheap_pool_alloc_aligned(ps->p, size, align) : offheap_pool_alloc(ps->p, size);
    int e = errno;
    bool bad_align = align == 0 || (align & (align - 1));
    if (!ps->p || size == 0 || bad_align) {
        REQUIREF(p == NULL && e == EINVAL, "pool_alloc(%p, %zu, %zu) gave %p errno %d, expected EINVAL", (void *)ps->p,
                 size, align, (void *)p, e);
        return;
    }
    size_t a = align < OFFHEAP_ALIGNMENT ? OFFHEAP_ALIGNMENT : align;
    if (!p) {
        REQUIREF(e == ENOMEM, "pool_alloc(%zu, align %zu) failed with errno %d", size, align, e);
        size_t count = ps->pool_size / slab;
        bool small = size <= slab && a <= slab && ((size + a - 1) & ~(a - 1)) <= slab;
        if (small) {
            offheap_pool_stats st;
            REQUIREF(offheap_pool_stats_get(ps->p, &st) == 0, "stats");
            REQUIREF(st.slabs_in_use == count, "small alloc %zu (align %zu) ENOMEM with %zu of %zu slabs in use", size,
                     a, st.slabs_in_use, count);
        } else if (before.slabs_in_use == 0 && size <= ps->pool_size) {
            size_t slack = a > slab ? a - slab : 0;
            if (slack <= ps->pool_size - size && ((size + slack + slab - 1) / slab) <= count)
                FATAL("large alloc %zu (align %zu) ENOMEM in an empty pool of %zu", size, a, ps->pool_size);
        }
        return;
    }
    REQUIREF(((uintptr_t)p & (a - 1)) == 0, "block %p not aligned to %zu", (void *)p, a);
    REQUIREF(offheap_pool_owns(ps->p, p) && offheap_pool_owns(ps->p, p + size - 1), "block %p+%zu outside the pool",
             (void *)p, size);
    for (int o = 0; o < MAX_POOLS; o++)
        if (o != slot && S.pools[o].p) REQUIREF(!offheap_pool_owns(S.pools[o].p, p), "owned by another pool");
    add_block(p, size, 0, slot);
    check_pool_stats(slot);
}

static void op_pool_reset(void)
{
    int slot = (int)(u8() % MAX_POOLS);
    struct pool_slot *ps = &S.pools[slot];
    drop_owner(0, slot);
    errno = 1234;
    offheap_pool_reset(ps->p);
    REQUIREF(errno == 1234, "reset changed errno");
    if (!ps->p) return;
    ps->resets++;
    offheap_pool_stats st;
    REQUIREF(offheap_pool_stats_get(ps->p, &st) == 0, "stats");
    REQUIREF(st.allocated == 0 && st.slabs_in_use == 0 && st.large_blocks == 0,
             "after reset: allocated %zu in_use %zu large %zu", st.allocated, st.slabs_in_use, st.large_blocks);
    check_pool_stats(slot);
}

static void op_pool_release(void)
{
    int slot = (int)(u8() % MAX_POOLS);
    struct pool_slot *ps = &S.pools[slot];
    offheap_pool_stats before = {0}, after = {0};
    if (ps->p) offheap_pool_stats_get(ps->p, &before);
    errno = 4321;
    size_t got = offheap_pool_release(ps->p);
    REQUIREF(errno == 4321, "release changed errno");
    if (!ps->p) {
        REQUIREF(got == 0, "release(NULL) gave %zu", got);
        return;
    }
    offheap_pool_stats_get(ps->p, &after);
    REQUIREF(after.committed <= before.committed, "release raised committed");
    REQUIREF(got % ps->slab_size == 0, "released %zu, not whole slabs", got);
    for (size_t i = 0; i < S.nblocks; i++) /* blocks in use keep their bytes */
        if (S.blocks[i].kind == 0 && S.blocks[i].owner == slot) verify(&S.blocks[i]);
    check_pool_stats(slot);
}

static void op_pool_destroy(void)
{
    int slot = (int)(u8() % MAX_POOLS);
    struct pool_slot *ps = &S.pools[slot];
    drop_owner(0, slot);
    errno = 777;
    offheap_pool_destroy(ps->p);
    REQUIREF(errno == 777, "destroy changed errno");
    ps->p = NULL;
}

/* ---- arenas ------------------------------------------------------------ */

static void op_arena_create(void)
{
    int slot = (int)(u8() % MAX_ARENAS);
    struct arena_slot *as = &S.arenas[slot];
    if (as->a) {
        drop_owner(1, slot);
        offheap_arena_destroy(as->a);
        as->a = NULL;
    }
    unsigned k = u8();
    size_t size;
    int expect = 0;
    switch (k & 7) {
    case 0:
        size = 0;
        expect = EINVAL;
        break;
    case 1:
        size = SIZE_MAX - (u8() & 63);
        expect = ENOMEM;
        break;
    case 2: size = 1 + u8(); break;
    case 3: size = (size_t)4 * MiB + u16(); break;
    default: size = 1 + u16() * (size_t)(1 + (k >> 5)); break;
    }
    offheap_arena *a = NULL;
    int err = offheap_arena_create(&a, size);
    REQUIREF(err == expect, "arena_create(%zu) gave %d, expected %d", size, err, expect);
    if (err) return;
    size_t map = (64 + size + page_size - 1) & ~(page_size - 1);
    as->a = a;
    as->cap = as->rem = offheap_arena_remaining(a);
    REQUIREF(as->cap >= size && as->cap == map - 64, "arena of %zu: remaining %zu (mapping %zu)", size, as->cap, map);
    as->end = 0;
}

static void op_arena_alloc(bool aligned)
{
    int slot = (int)(u8() % MAX_ARENAS);
    struct arena_slot *as = &S.arenas[slot];
    size_t cap = as->a ? as->cap : 4096;
    size_t size = pick_size(cap / 4 ? cap / 4 : 16, cap);
    if ((size & 3) == 3 && as->a && as->rem) size = as->rem - (size >> 2) % as->rem; /* near the end */
    size_t align = aligned ? pick_align(4096) : 16;
    errno = 0;
    char *p = aligned ? offheap_arena_alloc_aligned(as->a, size, align) : offheap_arena_alloc(as->a, size);
    int e = errno;
    bool bad_align = aligned && (align == 0 || (align & (align - 1)));
    if (!as->a || size == 0 || bad_align) {
        REQUIREF(p == NULL && e == EINVAL, "arena_alloc(%p, %zu, %zu) gave %p errno %d, expected EINVAL", (void *)as->a,
                 size, align, (void *)p, e);
        return;
    }
    size_t a = align < 16 ? 16 : align;
    size_t pad = 0;
    bool known = as->end != 0 || a == 16;
    if (as->end) pad = (size_t)((0 - (as->end - as->rem)) & (a - 1));
    bool fits = pad <= as->rem && size <= as->rem - pad;
    if (!p) {
        REQUIREF(e == ENOMEM, "arena_alloc failed with errno %d", e);
        if (known)
            REQUIREF(!fits, "arena_alloc(%zu, align %zu) ENOMEM with %zu remaining (pad %zu)", size, a, as->rem, pad);
        REQUIREF(offheap_arena_remaining(as->a) == as->rem, "failed alloc changed remaining");
        return;
    }
    REQUIREF(((uintptr_t)p & (a - 1)) == 0, "arena block %p not aligned to %zu", (void *)p, a);
    if (known) {
        REQUIREF(fits, "arena_alloc(%zu, align %zu) succeeded beyond %zu remaining", size, a, as->rem);
        if (as->end) REQUIREF((uintptr_t)p == as->end - as->rem + pad, "arena block at the wrong place");
        else as->end = (uintptr_t)p + as->rem; /* a 16-aligned block starts at cur */
    }
    size_t now = offheap_arena_remaining(as->a);
    if (!as->end) as->end = (uintptr_t)p + round16(size) + now;
    REQUIREF((uintptr_t)p + size <= as->end, "arena block past the end");
    REQUIREF(now == (size_t)(as->end - ((uintptr_t)p + round16(size))), "remaining %zu after a %zu-byte block", now,
             size);
    as->rem = now;
    add_block(p, size, 1, slot);
}

static void op_arena_reset(void)
{
    int slot = (int)(u8() % MAX_ARENAS);
    struct arena_slot *as = &S.arenas[slot];
    drop_owner(1, slot);
    offheap_arena_reset(as->a);
    if (!as->a) return;
    as->rem = as->cap;
    REQUIREF(offheap_arena_remaining(as->a) == as->cap, "remaining after reset");
}

static void op_arena_destroy(void)
{
    int slot = (int)(u8() % MAX_ARENAS);
    struct arena_slot *as = &S.arenas[slot];
    drop_owner(1, slot);
    errno = 99;
    offheap_arena_destroy(as->a);
    REQUIREF(errno == 99, "arena destroy changed errno");
    as->a = NULL;
    REQUIREF(offheap_arena_remaining(NULL) == 0, "remaining(NULL)");
}

/* ---- hints ------------------------------------------------------------- */

static void op_hint(void)
{
    /* Single flags, combinations, and values that must be refused (no
     * flag, a contradicting pair, reserved and unknown bits). */
    static const int flags[] = {OFFHEAP_HINT_WILLNEED,
                                OFFHEAP_HINT_DONTNEED,
                                OFFHEAP_HINT_SEQUENTIAL,
                                OFFHEAP_HINT_RANDOM,
                                OFFHEAP_HINT_HUGEPAGE,
                                OFFHEAP_HINT_NOHUGEPAGE,
                                OFFHEAP_HINT_WILLNEED | OFFHEAP_HINT_SEQUENTIAL,
                                OFFHEAP_HINT_DONTNEED | OFFHEAP_HINT_RANDOM | OFFHEAP_HINT_NOHUGEPAGE,
                                0,
                                OFFHEAP_HINT_WILLNEED | OFFHEAP_HINT_DONTNEED,
                                OFFHEAP_HINT_SEQUENTIAL | OFFHEAP_HINT_RANDOM,
                                3,
                                4,
                                0x100};
    enum { NVALID = 8 };
    unsigned k = u8() % (sizeof flags / sizeof flags[0]);
    int flag = flags[k];
    bool valid = k < NVALID;
    if (S.nblocks == 0) {
        REQUIREF(offheap_hint(NULL, 1, OFFHEAP_HINT_WILLNEED) == EINVAL, "hint(NULL)");
        return;
    }
    struct block *b = &S.blocks[u16() % S.nblocks];
    size_t off = b->size > 1 ? u16() % b->size : 0;
    size_t len = b->size - off;
    int r = offheap_hint(b->p + off, len, flag);
    if (!valid) {
        REQUIREF(r == EINVAL, "hint flag %d gave %d", flag, r);
        return;
    }
    REQUIREF(r == 0 || ((flag & (OFFHEAP_HINT_HUGEPAGE | OFFHEAP_HINT_NOHUGEPAGE)) && r == EINVAL),
             "hint(%d) on a live block gave %d", flag, r);
    if ((flag & OFFHEAP_HINT_DONTNEED) && r == 0) {
        /* Whole pages inside [off, size) read as zero now; every other byte,
         * this block's head and every other block included, is intact. */
        uintptr_t lo = ((uintptr_t)b->p + off + page_size - 1) & ~(page_size - 1);
        uintptr_t hi = ((uintptr_t)b->p + b->size) & ~(page_size - 1);
        for (uintptr_t q = lo; q < hi; q += page_size / 4)
            REQUIREF(*(volatile char *)q == 0, "DONTNEED page not zero at %p", (void *)q);
        for (size_t i = 0; i < S.nblocks; i++) {
            struct block *o = &S.blocks[i];
            /* Neighbours: blocks of the same pool or arena. */
            if (o == b || o->kind != b->kind || o->owner != b->owner) continue;
            verify(o);
        }
        fill(b);
    }
    verify(b);
}

/* ---- driver ------------------------------------------------------------ */

static void teardown(void)
{
    verify_all();
    for (int i = 0; i < MAX_POOLS; i++) {
        drop_owner(0, i);
        offheap_pool_destroy(S.pools[i].p);
        S.pools[i].p = NULL;
    }
    for (int i = 0; i < MAX_ARENAS; i++) {
        drop_owner(1, i);
        offheap_arena_destroy(S.arenas[i].a);
        S.arenas[i].a = NULL;
    }
    REQUIREF(S.nblocks == 0, "blocks left in the model");
}

static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "fuzz_ops: ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_set_stop(abort);
    check_set_prefix(fail_prefix);
    if (!page_size) {
        page_size = (size_t)sysconf(_SC_PAGESIZE);
        no_huge = getenv("FUZZ_OPS_NO_HUGE") != NULL;
    }
    memset(&S, 0, sizeof S);
    S.d = data;
    S.n = size;
    /* A pool and an arena from the start, so short inputs reach the
     * allocation paths. */
    REQUIREF(offheap_pool_create(&S.pools[0].p, &(offheap_pool_config){.pool_size = 2 * MiB, .slab_size = 64 * KiB}) ==
                 0,
             "default pool");
    S.pools[0].pool_size = 2 * MiB;
    S.pools[0].slab_size = 64 * KiB;
    REQUIREF(offheap_arena_create(&S.arenas[0].a, 64 * KiB) == 0, "default arena");
    S.arenas[0].cap = S.arenas[0].rem = offheap_arena_remaining(S.arenas[0].a);

    unsigned ops = 0;
    while (S.i < S.n && ops++ < 2000) {
        unsigned op = u8();
        switch (op % 20) {
        case 0: op_pool_create(); break;
        case 1:
        case 2:
        case 3: op_pool_alloc(false); break;
        case 4:
        case 5: op_pool_alloc(true); break;
        case 6: op_pool_reset(); break;
        case 7: op_pool_release(); break;
        case 8: op_pool_destroy(); break;
        case 9: op_arena_create(); break;
        case 10:
        case 11: op_arena_alloc(false); break;
        case 12: op_arena_alloc(true); break;
        case 13: op_arena_reset(); break;
        case 14: op_arena_destroy(); break;
        case 15: op_hint(); break;
        case 16: verify_all(); break;
        case 17: {
            int slot = (int)(u8() % MAX_POOLS);
            if (S.pools[slot].p) check_pool_stats(slot);
            else REQUIREF(offheap_pool_stats_get(NULL, &(offheap_pool_stats){0}) == EINVAL, "stats(NULL)");
            break;
        }
        default: {
            /* A burst of small blocks from one pool: reaches the cap fast. */
            int slot = (int)(u8() % MAX_POOLS);
            unsigned n = 1 + u8() % 64;
            size_t sz = 1 + u8() * 4u;
            struct pool_slot *ps = &S.pools[slot];
            if (!ps->p) break;
            for (unsigned j = 0; j < n; j++) {
                char *p = offheap_pool_alloc(ps->p, sz);
                if (!p) {
                    offheap_pool_stats st;
                    offheap_pool_stats_get(ps->p, &st);
                    REQUIREF(errno == ENOMEM && st.slabs_in_use == st.slab_count, "burst alloc failed early");
                    break;
                }
                add_block(p, sz, 0, slot);
            }
            check_pool_stats(slot);
            break;
        }
        }
    }
    teardown();
    return 0;
}
