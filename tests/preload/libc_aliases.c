/* SPDX-License-Identifier: MIT */
/*
 * libc_aliases.c — glibc exports its allocator under __libc_* names too,
 * and some code calls them directly.  Like jemalloc's and mimalloc's
 * override layers, the preload must provide them, so blocks can be mixed
 * freely between the two spellings, in and out of scopes.
 */
#include "ph.h"

#include <dlfcn.h>
#include <malloc.h>

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*memalign_fn)(size_t, size_t);

static void *sym(const char *name)
{
    void *s = dlsym(RTLD_DEFAULT, name);
    if (!s) return NULL; /* not exported by this libc: nothing to mix */
    Dl_info info;
    CHECKF(dladdr(s, &info) && info.dli_fname && strstr(info.dli_fname, "liboffheap"),
           "%s resolves to %s, not liboffheap.so", name, dladdr(s, &info) && info.dli_fname ? info.dli_fname : "?");
    return s;
}

int main(void)
{
    ph_require_preload();
    malloc_fn lm = (malloc_fn)(uintptr_t)sym("__libc_malloc");
    free_fn lf = (free_fn)(uintptr_t)sym("__libc_free");
    calloc_fn lc = (calloc_fn)(uintptr_t)sym("__libc_calloc");
    realloc_fn lr = (realloc_fn)(uintptr_t)sym("__libc_realloc");
    memalign_fn lma = (memalign_fn)(uintptr_t)sym("__libc_memalign");
    (void)sym("__libc_valloc");
    (void)sym("__libc_pvalloc");
    if (check_failures()) return check_done("libc_aliases"); /* mixing would crash */
    for (int scope = 0; scope < 2; scope++) {
        if (scope) offheap_scope_begin();
        if (lm && lf) {
            char *a = lm(100);
            REQUIRE(a);
            memset(a, 1, 100);
            char *b = realloc(a, 5000);
            REQUIRE(b);
            CHECK(ph_all(b, 100, 1));
            free(b);
            void *c = malloc(100);
            lf(c);
        }
        if (lc && lr) {
            unsigned char *z = lc(10, 10);
            CHECK(z && ph_all(z, 100, 0));
            z = lr(z, 300);
            CHECK(z && ph_all(z, 100, 0) && malloc_usable_size(z) >= 300);
            free(z);
        }
        if (lma) {
            void *al = lma(4096, 100);
            CHECK(al && ((uintptr_t)al & 4095) == 0);
            free(al);
        }
        if (scope) offheap_scope_end();
    }
    return check_done("libc_aliases");
}
