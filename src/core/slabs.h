/* SPDX-License-Identifier: MIT */
/*
 * slabs.h — the slab supply shared by explicit pools and the process pool
 * behind scopes: one reservation cut into power-of-two slabs, handed out one
 * by one or as contiguous runs, under one mutex.  The mutex is taken only on
 * slab hand-over and return, never per block.
 *
 * Invariants (under `lock`):
 *   - bit i of free_map set  <=> slab i holds no blocks and is not owned;
 *   - bit i of dirty_map set <=> slab i's pages may be resident (touched and
 *     not decommitted since); a clean slab reads as zeros;
 *   - meta[i].run = k > 0 for the first slab of an owned run of k slabs,
 *     0 for free slabs and for the slabs inside a run;
 *   - free_dirty = popcount(free_map & dirty_map) <= retain after every
 *     release (the excess is decommitted).
 * Ownership of an address is base <= p < base + size: no lock, no load of
 * shared mutable state.
 */
#ifndef OH_SLABS_H
#define OH_SLABS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

#define OH_SLAB_NONE UINT32_MAX

struct oh_slab_meta {
    uint32_t next;  /* next slab in the owner's chain (scopes), or NONE */
    uint32_t run;   /* slabs in the run starting here; 0 if free or inner */
    uint32_t owner; /* thread index of the owner (scopes); 0 if none */
    uint32_t seq;   /* owner's scope sequence number when acquired */
};

struct oh_slabs {
    char *base;                /* reservation, aligned to slab_size */
    size_t size;               /* bytes reserved = count << shift */
    size_t slab_size;          /* bytes per slab, a power of two */
    unsigned shift;            /* log2(slab_size) */
    uint32_t count;            /* slabs in the reservation */
    bool huge;                 /* backed by MAP_HUGETLB pages */
    uint32_t retain;           /* free dirty slabs kept resident */
    pthread_mutex_t lock;      /* guards the fields below */
    uint64_t *free_map;        /* words bits, see invariants */
    uint64_t *dirty_map;       /* words bits */
    uint32_t words;            /* 64-bit words per map */
    _Atomic uint32_t in_use;   /* slabs owned now (count) */
    _Atomic uint32_t dirty;    /* slabs with the dirty bit (count) */
    _Atomic uint32_t peak;     /* highest in_use */
    uint32_t free_dirty;       /* free slabs with the dirty bit (count) */
    struct oh_slab_meta *meta; /* count entries */
    void *meta_map;            /* the mapping holding maps and meta */
    size_t meta_map_size;      /* its bytes */
};

/* Map a reservation of `size` bytes (a multiple of slab_size, a power of two
 * >= page size) and its metadata.  0, EINVAL or ENOMEM; on error nothing
 * stays mapped. */
int oh_slabs_init(struct oh_slabs *s, size_t size, size_t slab_size, bool huge, uint32_t retain);

/* Unmap everything. */
void oh_slabs_fini(struct oh_slabs *s);

/* Commit the first n slabs now (prealloc).  0 or ENOMEM; on ENOMEM the
 * slabs already committed are decommitted again. */
int oh_slabs_commit(struct oh_slabs *s, uint32_t n);

/* Take a run of n free slabs (n >= 1), preferring resident ones for n == 1.
 * Sets meta[first].run = n.  *zeroed (may be NULL) says whether every byte
 * of the run is known to read as zero.  OH_SLAB_NONE when none is free. */
uint32_t oh_slabs_acquire(struct oh_slabs *s, uint32_t n, bool *zeroed);

/* As oh_slabs_acquire; with `fresh`, the slabs are taken from the clean
 * ones (never touched, or decommitted since) when there are enough. */
uint32_t oh_slabs_acquire_ex(struct oh_slabs *s, uint32_t n, bool *zeroed, bool fresh);

/* Return the run starting at first. */
void oh_slabs_release(struct oh_slabs *s, uint32_t first);

/* Return every run on the chain head -> meta.next -> ... up to, not
 * including, stop, under one lock.  Returns the bytes released. */
size_t oh_slabs_release_chain(struct oh_slabs *s, uint32_t head, uint32_t stop);

/* Mark every slab free (explicit pool reset). */
void oh_slabs_reset(struct oh_slabs *s);

/* Decommit every free resident slab; returns the bytes given back. */
size_t oh_slabs_purge(struct oh_slabs *s);

/* Fork handlers hold and drop the lock. */
void oh_slabs_lock(struct oh_slabs *s);
void oh_slabs_unlock(struct oh_slabs *s);

static inline bool oh_slabs_owns(const struct oh_slabs *s, const void *p)
{
    return (uintptr_t)p - (uintptr_t)s->base < s->size;
}
static inline char *oh_slab_addr(const struct oh_slabs *s, uint32_t i)
{
    return s->base + ((size_t)i << s->shift);
}
static inline uint32_t oh_slab_index(const struct oh_slabs *s, const void *p)
{
    return (uint32_t)(((uintptr_t)p - (uintptr_t)s->base) >> s->shift);
}

#pragma GCC visibility pop

#endif
