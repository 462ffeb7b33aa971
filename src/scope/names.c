/* SPDX-License-Identifier: MIT */
/*
 * names.c — the table of named scopes (names.h) and
 * offheap_scope_name_stats_get().  Nothing here allocates: the table is
 * static, a name is copied into its slot.
 */
#include "scope/names.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

struct slot {
    _Atomic uint32_t ready; /* 1 once name and hash are set (release) */
    uint32_t hash;
    char name[OH_NAME_LEN + 1];
    _Atomic uint64_t scopes, bytes, peak;
};

static struct slot table[OH_NAMES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a over the bytes that are kept. */
static uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < OH_NAME_LEN && s[i]; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static bool same(const struct slot *sl, uint32_t h, const char *name)
{
    return sl->hash == h && strncmp(sl->name, name, OH_NAME_LEN) == 0;
}

static void fill(struct slot *sl, uint32_t h, const char *name)
{
    size_t n = strnlen(name, OH_NAME_LEN);
    memcpy(sl->name, name, n);
    sl->name[n] = '\0';
    sl->hash = h;
    atomic_store_explicit(&sl->ready, 1, memory_order_release);
}

/* Probe from the name's home slot: its index, or the first empty slot
 * (negated), or 0 when the table is full. */
static int probe(uint32_t h, const char *name)
{
    const uint32_t n = OH_NAMES - 2;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = 1 + (h + k) % n;
        struct slot *sl = &table[i];
        if (!atomic_load_explicit(&sl->ready, memory_order_acquire)) return -(int)i;
        if (same(sl, h, name)) return (int)i;
    }
    return 0;
}

uint32_t oh_name_index(const char *name)
{
    if (!name || !*name) return 0;
    uint32_t h = hash_of(name);
    int i = probe(h, name);
    if (i > 0) return (uint32_t)i;
    pthread_mutex_lock(&lock);
    i = probe(h, name); /* another thread may have added it meanwhile */
    if (i < 0) {
        fill(&table[-i], h, name);
        i = -i;
    } else if (i == 0) {
        if (!atomic_load_explicit(&table[OH_NAME_OTHER].ready, memory_order_relaxed))
            fill(&table[OH_NAME_OTHER], hash_of("(other)"), "(other)");
        i = OH_NAME_OTHER;
    }
    pthread_mutex_unlock(&lock);
    return (uint32_t)i;
}

void oh_name_ended(uint32_t i, uint64_t bytes)
{
    struct slot *sl = &table[i];
    atomic_fetch_add_explicit(&sl->scopes, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sl->bytes, bytes, memory_order_relaxed);
    uint64_t peak = atomic_load_explicit(&sl->peak, memory_order_relaxed);
    while (bytes > peak && !atomic_compare_exchange_weak_explicit(&sl->peak, &peak, bytes, memory_order_relaxed,
                                                                  memory_order_relaxed)) {
    }
}

bool oh_name_get(uint32_t i, offheap_scope_name_stats *out)
{
    if (i == 0 || i >= OH_NAMES) return false;
    struct slot *sl = &table[i];
    if (!atomic_load_explicit(&sl->ready, memory_order_acquire)) return false;
    out->name = sl->name;
    out->scopes = atomic_load_explicit(&sl->scopes, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&sl->bytes, memory_order_relaxed);
    out->peak_bytes = atomic_load_explicit(&sl->peak, memory_order_relaxed);
    return true;
}

size_t oh_names_copy(offheap_scope_name_stats *out, size_t cap)
{
    size_t n = 0;
    offheap_scope_name_stats one;
    for (uint32_t i = 1; i < OH_NAMES; i++) {
        if (!oh_name_get(i, &one)) continue;
        if (n < cap) out[n] = one;
        n++;
    }
    return n;
}

int offheap_scope_name_stats_get(offheap_scope_name_stats *out, size_t cap, size_t *count)
{
    if (!count || (!out && cap)) return EINVAL;
    *count = oh_names_copy(out, cap);
    return 0;
}

void oh_names_prefork(void)
{
    pthread_mutex_lock(&lock);
}

void oh_names_postfork(void)
{
    pthread_mutex_unlock(&lock);
}

void oh_names_postfork_child(void)
{
    for (uint32_t i = 1; i < OH_NAMES; i++) {
        atomic_store_explicit(&table[i].scopes, 0, memory_order_relaxed);
        atomic_store_explicit(&table[i].bytes, 0, memory_order_relaxed);
        atomic_store_explicit(&table[i].peak, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&lock);
}
