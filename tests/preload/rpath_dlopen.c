/* SPDX-License-Identifier: MIT */
/*
 * rpath_dlopen.c — dlopen of a library by bare name, found through this
 * executable's DT_RUNPATH (meson's build rpath; $ORIGIN/lib in real
 * applications).  glibc searches the *calling object's* RUNPATH, so an
 * interposed dlopen must not change who the caller is.  Run by
 * rpath_dlopen.sh without LD_LIBRARY_PATH, with and without the preload.
 */
#include "ph.h"

#include <dlfcn.h>

int main(void)
{
    void *h = dlopen("libph_plugin_c.so", RTLD_NOW);
    CHECKF(h != NULL, "dlopen(\"libph_plugin_c.so\") through RUNPATH: %s", dlerror());
    if (h) {
        int (*add)(int, int) = (int (*)(int, int))(uintptr_t)dlsym(h, "plug_c_add");
        CHECK(add && add(40, 2) == 42);
        /* Inside a scope too. */
        if (OFFHEAP_LOADED()) {
            offheap_scope_begin();
            void *h2 = dlopen("libph_plugin_cxx.so", RTLD_NOW);
            CHECKF(h2 != NULL, "dlopen(\"libph_plugin_cxx.so\") in a scope through RUNPATH: %s", dlerror());
            offheap_scope_end();
        }
    }
    return check_done(OFFHEAP_LOADED() ? "rpath_dlopen (preloaded)" : "rpath_dlopen (plain)");
}
