/* SPDX-License-Identifier: MIT */
/*
 * dlopen_cxx.c PLUGIN — a C program (no libstdc++ at start) dlopens a small
 * C++ library inside a scope and calls operator new through it: the blocks
 * must be liboffheap's (the preload's operator new wins over libstdc++'s
 * and jemalloc's), scoped inside the scope and heap blocks outside.  The
 * library stays usable after the scope that loaded it ended and many
 * scopes overwrote its memory.
 */
#include "ph.h"

#include <dlfcn.h>
#include <malloc.h>

typedef void *(*new_fn)(size_t);
typedef void (*del_fn)(void *);
typedef void *(*new_al_fn)(size_t, size_t);
typedef void (*del_al_fn)(void *, size_t);
typedef long (*work_fn)(int);
typedef void *(*snew_fn)(void);
typedef const void *(*sdata_fn)(void *);

static void churn(int scopes)
{
    for (int i = 0; i < scopes; i++) {
        offheap_scope_begin();
        for (int j = 0; j < 20; j++) memset(malloc(7000), 0xf0 + (j & 15), 7000);
        offheap_scope_end();
    }
}

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 2);
    /* (libstdc++ itself is already loaded: liboffheap.so depends on it.) */

    offheap_scope_begin();
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECKF(h != NULL, "dlopen(%s): %s", argv[1], dlerror());
    if (!h) _exit(1);
    new_fn pnew = (new_fn)(uintptr_t)dlsym(h, "plug_new");
    del_fn pdel = (del_fn)(uintptr_t)dlsym(h, "plug_delete");
    new_al_fn pnew_al = (new_al_fn)(uintptr_t)dlsym(h, "plug_new_aligned");
    del_al_fn pdel_al = (del_al_fn)(uintptr_t)dlsym(h, "plug_delete_aligned");
    work_fn pwork = (work_fn)(uintptr_t)dlsym(h, "plug_work");
    snew_fn psnew = (snew_fn)(uintptr_t)dlsym(h, "plug_string_new");
    sdata_fn psdata = (sdata_fn)(uintptr_t)dlsym(h, "plug_string_data");
    del_fn psdel = (del_fn)(uintptr_t)dlsym(h, "plug_string_delete");
    REQUIRE(pnew && pdel && pnew_al && pdel_al && pwork && psnew && psdata && psdel);

    /* operator new as libstdc++'s code will find it: ours. */
    void *znwm = dlsym(RTLD_DEFAULT, "_Znwm");
    Dl_info info;
    CHECKF(znwm && dladdr(znwm, &info) && strstr(info.dli_fname, "liboffheap"), "_Znwm resolves to %s",
           znwm && dladdr(znwm, &info) ? info.dli_fname : "?");

    unsigned char *p = pnew(1000);
    CHECKF(p && offheap_owns(p), "new char[1000] in a scope from a dlopen'd C++ library is not a pool block");
    CHECK(p && p[999] == 0x3c && malloc_usable_size(p) >= 1000);
    pdel(p);
    void *a = pnew_al(300, 4096);
    CHECK(a && offheap_owns(a) && ((uintptr_t)a & 4095) == 0);
    pdel_al(a, 4096);
    void *str = psnew();
    CHECK(offheap_owns(str) && offheap_owns(psdata(str)));
    psdel(str);
    long w1 = pwork(300);
    offheap_scope_end();

    churn(300);

    /* The library, libstdc++ and their link maps survived the scope. */
    offheap_scope_begin();
    CHECK(pwork(300) == w1);
    void *again = dlsym(h, "plug_new");
    CHECK(again == (void *)(uintptr_t)pnew);
    unsigned char *q = pnew(50);
    CHECK(q && offheap_owns(q));
    offheap_scope_end();

    /* Outside scopes: heap blocks, freed by delete. */
    unsigned char *r = pnew(2000);
    CHECK(r && !offheap_owns(r) && malloc_usable_size(r) >= 2000);
    pdel(r);
    void *ra = pnew_al(100, 256);
    CHECK(ra && !offheap_owns(ra) && ((uintptr_t)ra & 255) == 0);
    pdel_al(ra, 256);
    str = psnew();
    CHECK(!offheap_owns(str) && !offheap_owns(psdata(str)));
    psdel(str);
    CHECK(pwork(300) == w1);
    churn(50);
    CHECK(pwork(100) > 0);
    CHECK(dlclose(h) == 0);
    return check_done("dlopen_cxx");
}
