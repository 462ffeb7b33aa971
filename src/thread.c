/* SPDX-License-Identifier: MIT */
/*
 * thread.c — registry of the threads that used scopes: their exit hook
 * (which releases everything they still own) and the sums behind
 * offheap_stats_get().  Registration happens once per thread, at its first
 * scope or tag; threads that never enter a scope are never registered and
 * pay nothing.
 */
#include "thread.h"

#include "scope.h"
#include "slabs.h"
#include "log.h"
#include "tid.h"

#include <pthread.h>
#include <string.h>

__thread struct oh_thread oh_self __attribute__((tls_model("initial-exec"))) = {
    .slab = OH_SLAB_NONE,
    .head = OH_SLAB_NONE,
    .parked = OH_SLAB_NONE,
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oh_thread *reg_head;
static struct oh_counters dead; /* exited threads' totals, under reg_lock */
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_err = -1;
static _Atomic uint64_t threads_seen; /* threads ever registered */
static _Atomic uint64_t unregistered;  /* scopes refused to threads without an index */

#define FOR_EACH_COUNTER(X)                                                                        \
    X(scopes) X(blocks) X(bytes) X(released) X(frees_ignored) X(realloc_in_place)                  \
        X(realloc_moved) X(routed) X(exhausted) X(misuse)

static void add_counters(struct oh_counters *to, struct oh_counters *from)
{
#define ADD(f)                                                                                     \
    atomic_store_explicit(&to->f,                                                                  \
                          atomic_load_explicit(&to->f, memory_order_relaxed) +                     \
                              atomic_load_explicit(&from->f, memory_order_relaxed),                \
                          memory_order_relaxed);
    FOR_EACH_COUNTER(ADD)
#undef ADD
    uint64_t a = atomic_load_explicit(&to->depth_peak, memory_order_relaxed);
    uint64_t b = atomic_load_explicit(&from->depth_peak, memory_order_relaxed);
    if (b > a) atomic_store_explicit(&to->depth_peak, b, memory_order_relaxed);
}

/* pthread key destructor: the thread is exiting. */
static void on_thread_exit(void *arg)
{
    struct oh_thread *t = arg;
    oh_scope_thread_exit();
    pthread_mutex_lock(&reg_lock);
    add_counters(&dead, &t->st);
    if (t->reg_prev) t->reg_prev->reg_next = t->reg_next;
    else reg_head = t->reg_next;
    if (t->reg_next) t->reg_next->reg_prev = t->reg_prev;
    pthread_mutex_unlock(&reg_lock);
    t->registered = false;
}

static void make_key(void)
{
    key_err = pthread_key_create(&exit_key, on_thread_exit);
}

bool oh_thread_register(struct oh_thread *t)
{
    if (t->registered) return true;
    (void)pthread_once(&key_once, make_key);
    uint32_t id = oh_tid();
    if (id == 0 || key_err != 0) {
        /* Counted globally: this thread has no registry entry. */
        if (atomic_fetch_add(&unregistered, 1) == 0)
            oh_log("more than %u threads use scopes at once (or no thread key is left): the scopes of the "
                   "extra threads run on the heap; counted in offheap_stats.exhausted",
                   OH_MAX_THREADS - 1);
        return false;
    }
    t->id = id;
    atomic_fetch_add_explicit(&threads_seen, 1, memory_order_relaxed);
    memset(&t->st, 0, sizeof t->st);
    pthread_mutex_lock(&reg_lock);
    t->reg_prev = NULL;
    t->reg_next = reg_head;
    if (reg_head) reg_head->reg_prev = t;
    reg_head = t;
    pthread_mutex_unlock(&reg_lock);
    /* Our key is among the first created, so this needs no memory. */
    (void)pthread_setspecific(exit_key, t);
    t->registered = true;
    return true;
}

void oh_thread_sum(struct oh_counters *out)
{
    memset(out, 0, sizeof *out);
    atomic_store_explicit(&out->exhausted, atomic_load(&unregistered), memory_order_relaxed);
    pthread_mutex_lock(&reg_lock);
    add_counters(out, &dead);
    for (struct oh_thread *t = reg_head; t; t = t->reg_next) add_counters(out, &t->st);
    pthread_mutex_unlock(&reg_lock);
}

bool oh_thread_sum_try(struct oh_counters *out)
{
    if (pthread_mutex_trylock(&reg_lock) != 0) return false;
    memset(out, 0, sizeof *out);
    atomic_store_explicit(&out->exhausted, atomic_load(&unregistered), memory_order_relaxed);
    add_counters(out, &dead);
    for (struct oh_thread *t = reg_head; t; t = t->reg_next) add_counters(out, &t->st);
    pthread_mutex_unlock(&reg_lock);
    return true;
}

unsigned oh_thread_steal_parked(void)
{
    unsigned n = 0;
    pthread_mutex_lock(&reg_lock);
    for (struct oh_thread *t = reg_head; t; t = t->reg_next) {
        uint32_t s = atomic_exchange(&t->parked, OH_SLAB_NONE);
        if (s != OH_SLAB_NONE) {
            oh_slabs_release(&oh_proc, s);
            n++;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}

uint64_t oh_thread_count(void)
{
    return atomic_load_explicit(&threads_seen, memory_order_relaxed);
}

void oh_thread_prefork(void)
{
    pthread_mutex_lock(&reg_lock);
}

void oh_thread_postfork(void)
{
    pthread_mutex_unlock(&reg_lock);
}
