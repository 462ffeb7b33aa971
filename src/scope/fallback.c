/* SPDX-License-Identifier: MIT */
/*
 * fallback.c — the table behind fallback.h: boot versions on jemalloc's
 * *allocx API (with fault injection), and the switch to jemalloc's own
 * exported fast paths once the dynamic loader can be asked for them.
 */
#include "scope/fallback.h"

#include "scope/config.h"

#include <dlfcn.h>
#include <stdint.h>

static void *boot_malloc(size_t n)
{
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(oh_fb_size(n), 0);
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static void *boot_calloc(size_t count, size_t n)
{
    (void)count; /* always 1: the caller multiplied and checked */
    void *p = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : mallocx(oh_fb_size(n), MALLOCX_ZERO);
    if (__builtin_expect(p == NULL, 0)) errno = ENOMEM;
    return p;
}

static void *boot_realloc(void *p, size_t n)
{
    void *q = oh_fault_hit(OH_FAULT_FALLBACK) ? NULL : rallocx(p, oh_fb_size(n), 0);
    if (__builtin_expect(q == NULL, 0)) errno = ENOMEM;
    return q;
}

static void boot_free(void *p)
{
    if (p) dallocx(p, 0);
}

struct oh_fb_table oh_fb = {boot_malloc, boot_calloc, boot_realloc, boot_free};

/* Our own exported malloc: a looked-up pointer equal to it means the
 * lookup found us, not jemalloc. */
extern void *malloc(size_t n);

bool oh_fb_bind(void)
{
    if (oh_cfg.fault_fallback) return false; /* keep the fault-injecting versions */
    void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!h) return false;
    void *m = dlsym(h, "malloc"), *c = dlsym(h, "calloc"), *r = dlsym(h, "realloc"), *f = dlsym(h, "free");
    dlclose(h); /* jemalloc is our dependency: it stays loaded */
    if (!m || !c || !r || !f || m == (void *)(uintptr_t)malloc) return false;
    oh_fb.calloc = (void *(*)(size_t, size_t))(uintptr_t)c;
    oh_fb.realloc = (void *(*)(void *, size_t))(uintptr_t)r;
    oh_fb.free = (void (*)(void *))(uintptr_t)f;
    oh_fb.malloc = (void *(*)(size_t))(uintptr_t)m;
    return true;
}
