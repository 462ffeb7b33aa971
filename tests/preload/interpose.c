/* SPDX-License-Identifier: MIT */
/*
 * interpose.c — proves the malloc family really is liboffheap's: the symbols
 * resolve into liboffheap.so, a block allocated in a scope lies in the pool
 * (offheap_owns) with an exact usable size, the scope counters move, and
 * outside scopes blocks are jemalloc's (its size classes, not glibc's).
 */
#include "ph.h"

#include <dlfcn.h>
#include <malloc.h>

static void symbol_is_ours(const char *name)
{
    void *sym = dlsym(RTLD_DEFAULT, name);
    CHECKF(sym != NULL, "dlsym(%s) failed", name);
    if (!sym) return;
    Dl_info info;
    CHECKF(dladdr(sym, &info) && info.dli_fname && strstr(info.dli_fname, "liboffheap"),
           "%s resolves to %s, not liboffheap.so", name, info.dli_fname ? info.dli_fname : "?");
}

int main(void)
{
    ph_require_preload();
    const char *names[] = {"malloc",
                           "free",
                           "calloc",
                           "realloc",
                           "reallocarray",
                           "posix_memalign",
                           "aligned_alloc",
                           "memalign",
                           "valloc",
                           "pvalloc",
                           "malloc_usable_size",
                           "strdup",
                           "strndup",
                           "asprintf",
                           "vasprintf",
                           "getline",
                           "getdelim",
                           "realpath",
                           "_Znwm",
                           "_ZdlPv",
                           "_ZnwmSt11align_val_t"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) symbol_is_ours(names[i]);

    /* Outside a scope: jemalloc, unchanged.  Its size classes differ from
     * glibc's chunks (glibc: malloc(17) has 24 usable bytes, jemalloc 32),
     * and it has an 8-byte class (src/fallback.h). */
    static const size_t req[] = {1, 8, 9, 17, 100, 1000, 5000, 20000, 70000};
    static const size_t jem[] = {8, 8, 16, 32, 112, 1024, 5120, 20480, 81920};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        void *p = malloc(req[i]);
        REQUIRE(p);
        CHECKF(!offheap_owns(p), "malloc(%zu) outside a scope is a pool block", req[i]);
        CHECKF(malloc_usable_size(p) == jem[i], "malloc(%zu): usable %zu, jemalloc's class is %zu", req[i],
               malloc_usable_size(p), jem[i]);
        free(p);
    }
    CHECK(offheap_scope_depth() == 0);

    /* Inside: pool blocks with exact usable sizes, counted. */
    offheap_stats before = ph_stats();
    offheap_scope_begin();
    CHECK(offheap_scope_depth() == 1);
    void *blocks[sizeof req / sizeof req[0]];
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        void *p = blocks[i] = malloc(req[i]);
        REQUIRE(p);
        CHECKF(offheap_owns(p), "malloc(%zu) in a scope is not a pool block", req[i]);
        size_t u = malloc_usable_size(p);
        /* Exact: the request rounded to 16 (header included); blocks of a
         * quarter slab or more own a run of whole slabs. */
        size_t slab = (size_t)ph_stats().slab_size;
        size_t slack = req[i] >= slab / 4 ? slab : 16;
        CHECKF(u >= req[i] && u < req[i] + slack, "malloc(%zu) in scope: usable %zu", req[i], u);
        memset(p, 0x5a, u);
    }
    offheap_stats mid = ph_stats();
    CHECKF(mid.scope_blocks >= before.scope_blocks + 8, "scope_blocks %llu -> %llu",
           (unsigned long long)before.scope_blocks, (unsigned long long)mid.scope_blocks);
    CHECK(mid.scopes >= before.scopes + 1);
    CHECK(mid.slabs_in_use >= 1);
    CHECK(mid.pool_reserved > 0 && mid.slab_size > 0);
    void *big = malloc(3u << 20); /* its own run of slabs, released at the end */
    CHECK(big && offheap_owns(big) && malloc_usable_size(big) >= (3u << 20));
    for (size_t i = 0; i < 8; i++) free(blocks[i]);
    offheap_stats after_free = ph_stats();
    CHECK(after_free.frees_ignored >= mid.frees_ignored + 8);
    offheap_scope_end();
    CHECK(offheap_scope_depth() == 0);
    offheap_stats end = ph_stats();
    CHECKF(end.scope_bytes_released >= mid.scope_bytes_released + (3u << 20), "released %llu -> %llu",
           (unsigned long long)mid.scope_bytes_released, (unsigned long long)end.scope_bytes_released);

    /* Outside again: the heap, and the pool pointers are still recognised. */
    void *q = malloc(64);
    CHECK(q && !offheap_owns(q));
    CHECK(offheap_owns(blocks[0]));
    CHECK(!offheap_owns(NULL));
    int local;
    CHECK(!offheap_owns(&local));
    free(q);

    /* malloc_trim gives idle memory back; 0 or 1, errno untouched, in or
     * out of a scope, and the pool keeps working after it. */
    errno = 555;
    int tr = malloc_trim(0);
    CHECK((tr == 0 || tr == 1) && errno == 555);
    offheap_scope_begin();
    void *big2 = malloc(5u << 20);
    CHECK(big2 && offheap_owns(big2));
    tr = malloc_trim(0);
    CHECK(tr == 0 || tr == 1);
    memset(big2, 1, 5u << 20);
    offheap_scope_end();
    tr = malloc_trim(0);
    CHECK(tr == 0 || tr == 1);
    offheap_scope_begin();
    char *after_trim = calloc(1, 3u << 20);
    CHECK(after_trim && offheap_owns(after_trim) && ph_all(after_trim, 3u << 20, 0));
    offheap_scope_end();
    return check_done("interpose");
}
