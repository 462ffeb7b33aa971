/* SPDX-License-Identifier: MIT */
/*
 * dl.c — dlopen under scopes.  A library loaded inside a scope allocates
 * its link map, TLS and whatever its constructors keep: all of that must
 * outlive the scope, so the load runs as an escape (heap allocation).
 * Afterwards the OFFHEAP_EXCLUDE list is matched against the new objects.
 */
#include "config.h"
#include "scope.h"
#include "thread.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

typedef void *(*dlopen_fn)(const char *, int);
static _Atomic(dlopen_fn) libc_dlopen;

__attribute__((visibility("default"))) void *dlopen(const char *file, int mode)
{
    dlopen_fn real = atomic_load_explicit(&libc_dlopen, memory_order_acquire);
    if (!real) {
        real = (dlopen_fn)(uintptr_t)dlsym(RTLD_NEXT, "dlopen");
        if (!real) return NULL;
        atomic_store_explicit(&libc_dlopen, real, memory_order_release);
    }
    offheap_escape_begin();
    void *h = real(file, mode);
    int saved = errno;
    if (h && oh_pool_base) oh_caller_rescan(oh_cfg.exclude);
    offheap_escape_end();
    errno = saved;
    return h;
}
