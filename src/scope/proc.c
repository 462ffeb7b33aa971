/* SPDX-License-Identifier: MIT */
/*
 * proc.c — creation of the process pool (see proc.h).  It happens once, at
 * the first scope or tag of any thread, under pthread_once; until then the
 * preload has reserved nothing, and the program's PLT slots may still call
 * jemalloc directly (plt.h).
 */
#include "scope/proc.h"

#include "core/log.h"
#include "scope/caller.h"
#include "scope/check.h"
#include "scope/config.h"
#include "scope/plt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

uintptr_t oh_pool_base;
uintptr_t oh_pool_size;
struct oh_slabs oh_proc;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int err_code = -1; /* -1 not tried, 0 ready, else errno */
static _Atomic int state; /* 0 not started, 1 being created, 2 done */
static size_t large_min;

static void create(void)
{
    atomic_store(&state, 1);
    oh_config_load();
    /* Before any thread can have a scope: every call must reach us again. */
    oh_plt_arm();
    size_t retain_slabs = oh_cfg.retain / oh_cfg.slab_size;
    if (retain_slabs > UINT32_MAX) retain_slabs = UINT32_MAX;
    int err = oh_slabs_init(&oh_proc, oh_cfg.pool_size, oh_cfg.slab_size, oh_cfg.huge_pages, (uint32_t)retain_slabs);
    if (err) {
        oh_log("cannot reserve the process pool (OFFHEAP_POOL_SIZE=%zu): %s; scopes are off", oh_cfg.pool_size,
               err == ENOMEM ? "out of memory or address space" : "invalid size");
        err_code = err;
        atomic_store(&state, 2);
        return;
    }
    large_min = oh_cfg.slab_size / 4;
    if (oh_cfg.check) oh_check_init();
    oh_caller_init(oh_cfg.exclude);
    oh_pool_size = (uintptr_t)oh_proc.size;
    __atomic_store_n(&oh_pool_base, (uintptr_t)oh_proc.base, __ATOMIC_RELEASE);
    err_code = 0;
    atomic_store(&state, 2);
}

int oh_proc_init(void)
{
    (void)pthread_once(&once, create);
    return err_code;
}

size_t oh_proc_large_min(void)
{
    return large_min;
}

size_t oh_proc_purge(void)
{
    return oh_proc_ready() ? oh_slabs_purge(&oh_proc) : 0;
}

void oh_proc_usage(struct oh_proc_usage *out)
{
    *out = (struct oh_proc_usage){.slab_size = oh_cfg.slab_size};
    if (!oh_proc_ready()) return;
    out->slabs_in_use = atomic_load(&oh_proc.in_use);
    out->slabs_committed = atomic_load(&oh_proc.dirty);
    out->slabs_total = oh_proc.count;
    out->slab_size = oh_proc.slab_size;
    out->reserved = oh_proc.size;
    out->peak_bytes = (uint64_t)atomic_load(&oh_proc.peak) * oh_proc.slab_size;
}

void oh_proc_prefork(void)
{
    /* A child forked while another thread creates the pool would inherit a
     * pthread_once that never completes (and, in glibc 2.36, the loader's
     * dl_iterate_phdr lock): let the creation finish first. */
    while (atomic_load(&state) == 1) sched_yield();
    if (err_code == 0) oh_slabs_lock(&oh_proc);
}

void oh_proc_postfork(void)
{
    if (err_code == 0) oh_slabs_unlock(&oh_proc);
}

void oh_proc_postfork_child(void)
{
    if (err_code != 0) return;
    atomic_store(&oh_proc.peak, atomic_load(&oh_proc.in_use));
    oh_slabs_unlock(&oh_proc);
}
