/* SPDX-License-Identifier: MIT */
/*
 * arena.c — offheap_arena_*: one private mapping, one producer, a bump
 * pointer.
 *
 * Layout: the arena's header lives in the first bytes of its own mapping, so
 * creating an arena never calls malloc (the interposer may route malloc into
 * a scope that would free the header behind the user's back).  The mapping is
 * round_up(ARENA_HEADER + size, page) bytes: the caller always gets at least
 * the `size` bytes asked for.
 *
 * Invariants (checked by the hot path's arithmetic, not by branches):
 *   base + ARENA_HEADER == start <= cur <= end == base + map_size
 *   start, cur and end are multiples of OFFHEAP_ALIGNMENT
 * so end - cur is a multiple of 16 and rounding a size that fits up to 16
 * can neither overflow nor leave the arena.
 *
 * Hot path first (offheap_arena_alloc), slow and cold paths below.
 */
#include "offheap_pool.h"

#include "core/invariant.h"
#include "core/log.h"
#include "core/os.h"
#include "core/util.h"

#include <errno.h>
#include <stdint.h>

#define ARENA_MAGIC 0x6f68617265616e61ull /* "ohareana" */
#define ARENA_HEADER 64u                  /* bytes; keeps `start` 16-aligned */

struct offheap_arena {
    uintptr_t cur;            /* next free byte (address), 16-aligned */
    uintptr_t end;            /* one past the last usable byte (address) */
    uintptr_t start;          /* first usable byte (address) */
    size_t map_size;          /* bytes mapped, header included */
    unsigned long long magic; /* ARENA_MAGIC while alive */
};

_Static_assert(sizeof(struct offheap_arena) <= ARENA_HEADER, "arena header too large");
_Static_assert(ARENA_HEADER % OFFHEAP_ALIGNMENT == 0, "arena start must stay aligned");

static void *arena_fail(int err);

/* Hot path: 14 instructions on x86-64 (gcc -O2): NULL and zero tests, one
 * subtract and compare for the room, round, add, store. */
void *offheap_arena_alloc(offheap_arena *arena, size_t size)
{
    if (OH_UNLIKELY(arena == NULL || size == 0)) return arena_fail(EINVAL);
    uintptr_t cur = arena->cur;
    if (OH_UNLIKELY(size > arena->end - cur)) return arena_fail(ENOMEM);
    /* end - cur is a multiple of 16 and >= size, so this cannot pass end. */
    arena->cur = cur + ((size + (OFFHEAP_ALIGNMENT - 1)) & ~(uintptr_t)(OFFHEAP_ALIGNMENT - 1));
    OH_ASSERT(arena->start <= cur && arena->cur <= arena->end && cur % OFFHEAP_ALIGNMENT == 0);
    return (void *)cur;
}

void *offheap_arena_alloc_aligned(offheap_arena *arena, size_t size, size_t align)
{
    if (OH_UNLIKELY(arena == NULL || size == 0 || align == 0 || !oh_is_pow2(align))) return arena_fail(EINVAL);
    if (align <= OFFHEAP_ALIGNMENT) return offheap_arena_alloc(arena, size);
    uintptr_t cur = arena->cur;
    uintptr_t room = arena->end - cur;
    /* Padding to the next multiple of align, computed without cur + align
     * (which could wrap for absurd alignments). */
    uintptr_t pad = ((uintptr_t)0 - cur) & (uintptr_t)(align - 1);
    if (OH_UNLIKELY(pad > room || size > room - pad)) return arena_fail(ENOMEM);
    uintptr_t p = cur + pad; /* a multiple of align, hence of 16 */
    arena->cur = p + ((size + (OFFHEAP_ALIGNMENT - 1)) & ~(uintptr_t)(OFFHEAP_ALIGNMENT - 1));
    OH_ASSERT(arena->start <= p && arena->cur <= arena->end && p % align == 0);
    return (void *)p;
}

size_t offheap_arena_remaining(const offheap_arena *arena)
{
    return arena ? (size_t)(arena->end - arena->cur) : 0;
}

/* ---- slow and cold paths ------------------------------------------------ */

__attribute__((noinline, cold)) static void *arena_fail(int err)
{
    errno = err;
    return NULL;
}

__attribute__((noinline, cold)) static void arena_check(const offheap_arena *arena, const char *fn)
{
    if (arena->magic != ARENA_MAGIC)
        oh_fatal("%s(%p): not a live arena (never created, or already destroyed)", fn, (const void *)arena);
}

int offheap_arena_create(offheap_arena **out, size_t size)
{
    if (out == NULL || size == 0) return EINVAL;
    size_t page = oh_os_page_size();
    /* round_up(ARENA_HEADER + size, page) without wrapping. */
    if (size > SIZE_MAX - ARENA_HEADER - (page - 1)) return ENOMEM;
    size_t map_size = (ARENA_HEADER + size + (page - 1)) & ~(page - 1);
    int err = ENOMEM;
    char *base = oh_os_reserve(map_size, page, false, NULL, &err);
    if (base == NULL) return err ? err : ENOMEM;
    offheap_arena *a = (offheap_arena *)(void *)base;
    a->start = (uintptr_t)base + ARENA_HEADER;
    a->cur = a->start;
    a->end = (uintptr_t)base + map_size;
    a->map_size = map_size;
    a->magic = ARENA_MAGIC;
    *out = a;
    return 0;
}

void offheap_arena_reset(offheap_arena *arena)
{
    if (arena == NULL) return;
    arena_check(arena, "offheap_arena_reset");
    arena->cur = arena->start;
}

void offheap_arena_destroy(offheap_arena *arena)
{
    if (arena == NULL) return;
    arena_check(arena, "offheap_arena_destroy");
    size_t map_size = arena->map_size;
    arena->magic = 0;                 /* if the address is mapped again, a stale handle is not taken for an arena */
    oh_os_unreserve(arena, map_size); /* preserves errno */
}
