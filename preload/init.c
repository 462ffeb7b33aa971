/* SPDX-License-Identifier: MIT */
/*
 * init.c — the preload's process life: start-up (configuration, binding
 * jemalloc, going dormant, the statistics hooks), fork handlers and exit.
 * The exported allocation functions themselves are in malloc_glibc.c.
 *
 * Start-up order matters: the configuration is read first (everything
 * else depends on it), then jemalloc's exported functions are bound, and
 * only then may the PLT slots be pointed at them (dormant mode).
 */
#include "preload.h"

#include "core/log.h"
#include "core/tid.h"
#include "scope/config.h"
#include "scope/fallback.h"
#include "scope/names.h"
#include "scope/plt.h"
#include "scope/rescue.h"
#include "scope/scope.h"
#include "scope/stats.h"
#include "scope/thread.h"

#include <pthread.h>
#include <stdint.h>

/* Locks are taken in the order rescue -> tid -> thread registry -> scope
 * engine -> scope names (a rescue takes the registry's lock) and dropped in
 * reverse, in parent and child alike.  The child also starts its counts at
 * zero (each process reports its own figures), then, with every lock
 * free, notes jemalloc's counts at the fork (stats.c).  jemalloc's own
 * fork handlers were registered before ours (its constructor runs first:
 * liboffheap depends on it), so its child handler has run by then. */
static void prefork(void)
{
    oh_rescue_prefork();
    oh_tid_prefork();
    oh_thread_prefork();
    oh_scope_prefork();
    oh_names_prefork();
}

static void postfork_parent(void)
{
    oh_names_postfork();
    oh_scope_postfork();
    oh_thread_postfork();
    oh_tid_postfork();
    oh_rescue_postfork();
}

static void postfork_child(void)
{
    oh_names_postfork_child();
    oh_scope_postfork_child();
    oh_thread_postfork_child(oh_scope_forget_thread);
    oh_tid_postfork();
    oh_rescue_postfork();
    oh_stats_postfork_child();
}

/* Dormant until the first scope (plt.h).  realloc is not bypassed: our
 * realloc sets the errno jemalloc's forgets. */
static void go_dormant(void)
{
    struct oh_plt_fn fns[3];
    fns[0] = (struct oh_plt_fn){"malloc", (void *)(uintptr_t)oh_malloc_self, (void *)(uintptr_t)oh_fb.malloc};
    fns[1] = (struct oh_plt_fn){"calloc", (void *)(uintptr_t)oh_calloc_self, (void *)(uintptr_t)oh_fb.calloc};
    fns[2] = (struct oh_plt_fn){"free", (void *)(uintptr_t)oh_free_self, (void *)(uintptr_t)oh_fb.free};
    size_t n = oh_plt_bypass(fns, 3);
    if (oh_cfg.verbose) oh_log("dormant: %zu PLT slots call jemalloc directly until the first scope", n);
}

__attribute__((constructor)) static void oh_preload_init(void)
{
    oh_config_load();
    bool bound = oh_fb_bind();
    if (oh_cfg.verbose) oh_config_print();
    if (bound && oh_cfg.dormant) go_dormant();
    oh_stats_keep_fd();
    oh_stats_install_signal();
    (void)pthread_atfork(prefork, postfork_parent, postfork_child);
}

__attribute__((destructor)) static void oh_preload_fini(void)
{
    oh_stats_at_exit();
    if (oh_cfg.learn) oh_rescue_print_learned(2);
}
