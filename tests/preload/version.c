/* SPDX-License-Identifier: MIT */
/*
 * version.c POOL_SO [loaded|absent] — the version is kept in one place
 * (include/offheap_version.h) and must be meson's project version, which
 * the build passes as OH_EXPECTED_VERSION:
 *   - OFFHEAP_VERSION and OFFHEAP_VERSION_MAJOR/MINOR/PATCH/NUMBER agree
 *     with it, through offheap.h and offheap_pool.h alike;
 *   - offheap_version() of liboffheap.so (the preload, "loaded") and of
 *     liboffheap_pool.so (POOL_SO, opened with dlopen) return it;
 *   - without the preload ("absent"), OFFHEAP_RUNTIME_VERSION() is a null
 *     pointer and the pool library still answers.
 */
#include "offheap.h"
#include "offheap_pool.h"

#include "check.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#ifndef OH_EXPECTED_VERSION
#error "build with -DOH_EXPECTED_VERSION=\"<meson project version>\""
#endif

int main(int argc, char **argv)
{
    REQUIRE(argc == 3);
    int loaded = !strcmp(argv[2], "loaded");
    CHECKF(!strcmp(OFFHEAP_VERSION, OH_EXPECTED_VERSION), "offheap_version.h says %s, meson says %s", OFFHEAP_VERSION,
           OH_EXPECTED_VERSION);
    char parts[32];
    snprintf(parts, sizeof parts, "%d.%d.%d", OFFHEAP_VERSION_MAJOR, OFFHEAP_VERSION_MINOR, OFFHEAP_VERSION_PATCH);
    CHECKF(!strcmp(parts, OFFHEAP_VERSION), "MAJOR.MINOR.PATCH %s, OFFHEAP_VERSION %s", parts, OFFHEAP_VERSION);
    CHECK(OFFHEAP_VERSION_NUMBER ==
          OFFHEAP_VERSION_MAJOR * 10000 + OFFHEAP_VERSION_MINOR * 100 + OFFHEAP_VERSION_PATCH);
#if OFFHEAP_VERSION_NUMBER < 100
#error "OFFHEAP_VERSION_NUMBER must be usable in #if"
#endif

    const char *rt = OFFHEAP_RUNTIME_VERSION();
    if (loaded) {
        CHECK(OFFHEAP_LOADED());
        CHECKF(rt && !strcmp(rt, OH_EXPECTED_VERSION), "liboffheap.so: offheap_version() %s", rt ? rt : "(null)");
    } else {
        CHECK(!OFFHEAP_LOADED());
        CHECKF(rt == NULL, "no preload, yet OFFHEAP_RUNTIME_VERSION() is %s", rt);
    }

    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    REQUIREF(h, "dlopen %s: %s", argv[1], dlerror());
    const char *(*pool_version)(void);
    void *sym = dlsym(h, "offheap_version");
    REQUIRE(sym);
    memcpy(&pool_version, &sym, sizeof sym);
    CHECKF(!strcmp(pool_version(), OH_EXPECTED_VERSION), "liboffheap_pool.so: offheap_version() %s", pool_version());
    printf("headers %s, meson %s, liboffheap.so %s, liboffheap_pool.so %s\n", OFFHEAP_VERSION, OH_EXPECTED_VERSION,
           rt ? rt : "(not loaded)", pool_version());
    return check_done("version");
}
