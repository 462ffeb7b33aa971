/* SPDX-License-Identifier: MIT */
/*
 * tid.c — the thread index registry (see tid.h).  Assignment is a slow path
 * taken once per thread; nothing here allocates through malloc (the key's
 * value is the index itself, so pthread_setspecific needs no memory).
 */
#include "core/tid.h"

#include "core/invariant.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

__thread uint32_t offheap_tid_ __attribute__((visibility("default"), tls_model("initial-exec")));

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t used[OH_MAX_THREADS / 64]; /* bit set: index taken; 0 always */
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;

static void release_index(void *value)
{
    uint32_t t = (uint32_t)(uintptr_t)value;
    if (t == 0 || t >= OH_MAX_THREADS) return;
    pthread_mutex_lock(&lock);
    OH_ASSERT(used[t / 64] & (1ull << (t % 64)));
    used[t / 64] &= ~(1ull << (t % 64));
    pthread_mutex_unlock(&lock);
    offheap_tid_ = 0;
}

static void make_key(void)
{
    key_ok = pthread_key_create(&key, release_index) == 0;
}

uint32_t oh_tid_assign(void)
{
    (void)pthread_once(&key_once, make_key);
    uint32_t t = 0;
    pthread_mutex_lock(&lock);
    used[0] |= 1u; /* index 0 means "none" */
    for (uint32_t w = 0; w < OH_MAX_THREADS / 64 && !t; w++) {
        uint64_t freebits = ~used[w];
        if (freebits) {
            t = w * 64 + (uint32_t)__builtin_ctzll(freebits);
            used[w] |= 1ull << (t % 64);
        }
    }
    OH_ASSERT(used[0] & 1u); /* index 0 ("none") is never handed out */
    OH_ASSERT(t < OH_MAX_THREADS);
    pthread_mutex_unlock(&lock);
    if (t && key_ok) (void)pthread_setspecific(key, (void *)(uintptr_t)t);
    offheap_tid_ = t;
    return t;
}

void oh_tid_prefork(void)
{
    pthread_mutex_lock(&lock);
}

void oh_tid_postfork(void)
{
    pthread_mutex_unlock(&lock);
}
