/* SPDX-License-Identifier: MIT */
/*
 * sites.c — the site table (sites.h).  Slots are claimed by CAS on the key
 * and never freed; a state only moves UNKNOWN -> CLEARED -> HEAP or
 * UNKNOWN -> HEAP.  The table is mapped at its first use.
 */
#include "scope/sites.h"

#include "core/os.h"

#include <pthread.h>
#include <stdatomic.h>

#define SLOTS (1u << 18) /* 4 MiB of address space, touched where used */
#define PROBES 64u

struct slot {
    _Atomic uintptr_t key;   /* the site; 0: free */
    _Atomic uint32_t state;  /* enum oh_site_state */
    _Atomic uint32_t deaths; /* judgments that saw its blocks die (oh_site_died) */
};

static struct slot *table;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic uint32_t epoch;
static _Atomic uint64_t counts[3];

static void map_table(void)
{
    int err = 0;
    table = oh_os_reserve(SLOTS * sizeof(struct slot), oh_os_page_size(), false, NULL, &err);
}

static uint32_t hash(uintptr_t ra)
{
    uint64_t h = (uint64_t)ra * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h >> 40) & (SLOTS - 1);
}

static struct slot *find(uintptr_t ra, bool insert)
{
    if (!table) {
        if (!insert) return NULL;
        (void)pthread_once(&once, map_table);
        if (!table) return NULL;
    }
    uint32_t i = hash(ra);
    for (uint32_t n = 0; n < PROBES; n++, i = (i + 1) & (SLOTS - 1)) {
        struct slot *s = &table[i];
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
