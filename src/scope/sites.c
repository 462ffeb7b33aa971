/* SPDX-License-Identifier: MIT */
/*
 * sites.c — the site table (sites.h).  Slots are claimed by CAS on the key
 * and never freed; a state only moves UNKNOWN -> CLEARED -> HEAP or
 * UNKNOWN -> HEAP.  Each table is mapped at its first use.
 */
#include "scope/sites.h"

#include "core/os.h"

#include <stdatomic.h>

/* Three tables, each mapped when the one before it fills up: a site
 * touches a page of its table, and a hashed table spreads a program's
 * hundred sites over a hundred pages.  The first table (64 KiB) holds
 * most programs' sites in 16 pages; the last one room for 300,000. */
#define TIERS 3
static const uint32_t tier_bits[TIERS] = {12, 15, 18};
#define PROBES 32u

struct slot {
    _Atomic uintptr_t key;   /* the site; 0: free */
    _Atomic uint32_t state;  /* enum oh_site_state */
    _Atomic uint32_t deaths; /* judgments that saw its blocks die (oh_site_died) */
};

static struct slot *_Atomic tables[TIERS];
static _Atomic uint32_t epoch;
static _Atomic uint64_t counts[3];

static struct slot *table(uint32_t tier, bool insert)
{
    struct slot *t = atomic_load_explicit(&tables[tier], memory_order_acquire);
    if (t || !insert) return t;
    size_t bytes = ((size_t)1 << tier_bits[tier]) * sizeof(struct slot);
    struct slot *mine = oh_os_reserve_pages(bytes);
    if (!mine) return NULL;
    if (!atomic_compare_exchange_strong_explicit(&tables[tier], &t, mine, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        oh_os_unreserve(mine, bytes); /* another thread mapped it first */
        return t;
    }
    return mine;
}

static uint32_t hash(uintptr_t ra, uint32_t bits)
{
    uint64_t h = (uint64_t)ra * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h >> (64 - bits));
}

/* Slots are never freed, so a probe sequence that is full stays full: a
 * site is in the first tier whose sequence holds it or had room. */
static struct slot *find(uintptr_t ra, bool insert)
{
    for (uint32_t tier = 0; tier < TIERS; tier++) {
        struct slot *t = table(tier, insert);
        if (!t) return NULL;
        uint32_t mask = (1u << tier_bits[tier]) - 1, i = hash(ra, tier_bits[tier]);
        for (uint32_t n = 0; n < PROBES; n++, i = (i + 1) & mask) {
            struct slot *s = &t[i];
            uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
            if (k == ra) return s;
            if (k == 0) {
                if (!insert) return NULL;
                if (atomic_compare_exchange_strong_explicit(&s->key, &k, ra, memory_order_acq_rel,
                                                            memory_order_acquire) ||
                    k == ra)
                    return s;
            }
        }
    }
    return NULL;
}

enum oh_site_state oh_site_get(uintptr_t ra)
{
    struct slot *s = find(ra, false);
    return s ? (enum oh_site_state)atomic_load_explicit(&s->state, memory_order_acquire) : OH_SITE_UNKNOWN;
}

bool oh_site_set(uintptr_t ra, enum oh_site_state st)
{
    struct slot *s = find(ra, true);
    if (!s) return false;
    uint32_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
    while (old < (uint32_t)st) {
        if (atomic_compare_exchange_weak_explicit(&s->state, &old, (uint32_t)st, memory_order_release,
                                                  memory_order_relaxed)) {
            atomic_fetch_add_explicit(&counts[st], 1, memory_order_relaxed);
            if (old != OH_SITE_UNKNOWN) atomic_fetch_sub_explicit(&counts[old], 1, memory_order_relaxed);
            break;
        }
    }
    return true;
}

uint32_t oh_site_died(uintptr_t ra)
{
    struct slot *s = find(ra, true);
    return s ? atomic_fetch_add_explicit(&s->deaths, 1, memory_order_relaxed) + 1 : UINT32_MAX;
}

uint32_t oh_sites_epoch(void)
{
    return atomic_load_explicit(&epoch, memory_order_acquire);
}

void oh_sites_epoch_bump(void)
{
    atomic_fetch_add_explicit(&epoch, 1, memory_order_acq_rel);
}

uint64_t oh_sites_count(enum oh_site_state st)
{
    return atomic_load_explicit(&counts[st], memory_order_relaxed);
}
