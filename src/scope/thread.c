/* SPDX-License-Identifier: MIT */
/*
 * thread.c — the registry of the threads that used scopes (or freed a
 * scope block): the list behind offheap_stats_get()'s sums and the
 * totals of the threads that exited.  Threads that never touch a scope
 * are never registered and pay nothing.  What a thread owns in the pool,
 * and what happens to it at the thread's exit, is the scope engine's
 * (scope.c); the registry only keeps the list.
 */
#include "scope/thread.h"

#include "core/slabs.h"

#include <pthread.h>
#include <string.h>

__thread struct oh_thread oh_self __attribute__((tls_model("initial-exec"))) = {
    .slab = OH_SLAB_NONE,
    .head = OH_SLAB_NONE,
    .parked = OH_SLAB_NONE,
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oh_thread *reg_head;
static struct oh_counters dead;       /* exited threads' totals, under reg_lock */
static _Atomic uint64_t threads_seen; /* threads ever registered */
static _Atomic uint64_t misuse_out;   /* misuse on threads not registered (yet) */

static uint64_t merge_sum(uint64_t a, uint64_t b)
{
    return a + b;
}

static uint64_t merge_max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static void add_counters(struct oh_counters *to, struct oh_counters *from)
{
#define SUM merge_sum
#define MAX merge_max
#define ADD(f, pub, merge)                                                                                             \
    atomic_store_explicit(&to->f,                                                                                      \
                          merge(atomic_load_explicit(&to->f, memory_order_relaxed),                                    \
                                atomic_load_explicit(&from->f, memory_order_relaxed)),                                 \
                          memory_order_relaxed);
    OH_COUNTERS(ADD)
#undef ADD
#undef SUM
#undef MAX
}

void oh_thread_register(struct oh_thread *t)
{
    atomic_fetch_add_explicit(&threads_seen, 1, memory_order_relaxed);
    /* Misuse before joining moves from the process total to the thread. */
    uint64_t misuse = atomic_load_explicit(&t->st.misuse, memory_order_relaxed);
    memset(&t->st, 0, sizeof t->st);
    atomic_store_explicit(&t->st.misuse, misuse, memory_order_relaxed);
    pthread_mutex_lock(&reg_lock);
    t->reg_prev = NULL;
    t->reg_next = reg_head;
    if (reg_head) reg_head->reg_prev = t;
    reg_head = t;
    atomic_fetch_sub_explicit(&misuse_out, misuse, memory_order_relaxed);
    pthread_mutex_unlock(&reg_lock);
}

void oh_thread_misuse_unregistered(struct oh_thread *t)
{
    OH_STAT_ADD(t, misuse, 1);
    atomic_fetch_add_explicit(&misuse_out, 1, memory_order_relaxed);
}

void oh_thread_unregister(struct oh_thread *t)
{
    pthread_mutex_lock(&reg_lock);
    add_counters(&dead, &t->st);
    if (t->reg_prev) t->reg_prev->reg_next = t->reg_next;
    else reg_head = t->reg_next;
    if (t->reg_next) t->reg_next->reg_prev = t->reg_prev;
    pthread_mutex_unlock(&reg_lock);
}

static void sum_locked(struct oh_counters *out)
{
    add_counters(out, &dead);
    for (struct oh_thread *t = reg_head; t; t = t->reg_next) add_counters(out, &t->st);
    atomic_store_explicit(&out->misuse,
                          atomic_load_explicit(&out->misuse, memory_order_relaxed) +
                              atomic_load_explicit(&misuse_out, memory_order_relaxed),
                          memory_order_relaxed);
}

void oh_thread_sum(struct oh_counters *out)
{
    pthread_mutex_lock(&reg_lock);
    sum_locked(out);
    pthread_mutex_unlock(&reg_lock);
}

bool oh_thread_sum_try(struct oh_counters *out)
{
    if (pthread_mutex_trylock(&reg_lock) != 0) return false;
    sum_locked(out);
    pthread_mutex_unlock(&reg_lock);
    return true;
}

void oh_thread_for_each(void (*fn)(struct oh_thread *t, void *arg), void *arg)
{
    pthread_mutex_lock(&reg_lock);
    for (struct oh_thread *t = reg_head; t; t = t->reg_next) fn(t, arg);
    pthread_mutex_unlock(&reg_lock);
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

void oh_thread_postfork_child(void (*forget)(struct oh_thread *t))
{
    /* Only the forking thread lives on.  The others leave the list: their
     * thread-local blocks are free memory in the child, and a thread the
     * child creates may get one of their stacks from glibc's cache, with
     * its oh_self at the address of a node still linked (registering it
     * would close the list into a cycle).  forget() gives back what the
     * scope engine can of each (their slabs with live scope data stay
     * owned: the forking thread may hold pointers into them). */
    struct oh_thread *self = &oh_self;
    for (struct oh_thread *t = reg_head, *next; t; t = next) {
        next = t->reg_next;
        if (t != self) forget(t);
    }
    reg_head = self->registered ? self : NULL;
    self->reg_prev = self->reg_next = NULL;
    memset(&dead, 0, sizeof dead);
    memset(&self->st, 0, sizeof self->st);
    atomic_store_explicit(&self->st.depth_peak, self->depth, memory_order_relaxed);
    atomic_store_explicit(&misuse_out, 0, memory_order_relaxed);
    atomic_store_explicit(&threads_seen, self->registered ? 1 : 0, memory_order_relaxed);
    pthread_mutex_unlock(&reg_lock);
}
