/* SPDX-License-Identifier: MIT */
/*
 * test_pool_abi.c — offheap_pool_alloc's inline fast path as a C program
 * gets it: <offheap_pool.h> compiled as strict C11 with -Werror and the
 * warnings a demanding user turns on, linked against liboffheap_pool.so.
 * Checks the contract through the inline and the exported entry
 * (pool_inline_checks.h), then which object the program's references bind
 * to: argv[1] names it ("liboffheap_pool.so" plain, "liboffheap.so" when run
 * under LD_PRELOAD, whose functions and thread index must then win for both
 * the slow path and the TLS index the inline path reads).
 * A plain program, not Criterion: it also runs under the preload.
 */
#define _GNU_SOURCE
#include "pool_inline_checks.h"

#include <dlfcn.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#define SLOW_NAME STR(offheap_pool_alloc_slow_)

static void bound_to(const char *symbol, const char *want)
{
    void *f = dlsym(RTLD_DEFAULT, symbol);
    Dl_info info;
    if (!f || !dladdr(f, &info) || !info.dli_fname) {
        FAIL("%s: not found", symbol);
        return;
    }
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    size_t n = strlen(want);
    CHECKF(strncmp(base, want, n) == 0 && (base[n] == '\0' || base[n] == '.'), "%s is bound to %s, expected %s", symbol,
           info.dli_fname, want);
}

int main(int argc, char **argv)
{
    const char *want = argc > 1 ? argv[1] : "liboffheap_pool.so";
    oh_inline_checks();
    bound_to("offheap_pool_alloc", want);
    /* The slow path under the name of the header's ABI version. */
    bound_to(SLOW_NAME, want);
    bound_to("offheap_pool_create", want);
    /* The thread index: the program's own (GOT) binding, the global lookup
     * and the defining object's copy must be one variable. */
    Dl_info info;
    void *slow = dlsym(RTLD_DEFAULT, SLOW_NAME);
    void *h = slow && dladdr(slow, &info) ? dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD) : NULL;
    void *tid_global = dlsym(RTLD_DEFAULT, "offheap_tid_");
    void *tid_owner = h ? dlsym(h, "offheap_tid_") : NULL;
    CHECKF(tid_global == (void *)&offheap_tid_ && tid_owner == (void *)&offheap_tid_,
           "offheap_tid_: program %p, global %p, slow path's object %p", (void *)&offheap_tid_, tid_global, tid_owner);
    CHECKF(offheap_tid_ != 0, "offheap_tid_ is 0 after allocations: the slow path assigned another object's index");
    if (h) dlclose(h);
    printf("%s: %lu failure(s)\n", argv[0], check_failures());
    return check_failures() != 0;
}
