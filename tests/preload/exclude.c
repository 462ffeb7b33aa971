/* SPDX-License-Identifier: MIT */
/*
 * exclude.c PLUGIN MODE — a library's lazily built global table, allocated
 * on its first use inside a scope, must survive the scope when the library
 * is named in OFFHEAP_EXCLUDE (README "Scope safety"), whether the library
 * was loaded before the first scope (MODE early) or dlopen'd after scopes
 * were already in use (MODE late).  MODE escape runs without
 * OFFHEAP_EXCLUDE: the table is a scope block unless the call is wrapped in
 * offheap_escape_begin/end, which then protects it.
 */
#include "ph.h"

#include <dlfcn.h>

typedef const char *(*table_fn)(void);
typedef char *(*dup_fn)(const char *);

static void *load(const char *path, table_fn *t, dup_fn *d)
{
    void *h = dlopen(path, RTLD_NOW);
    CHECKF(h != NULL, "dlopen(%s): %s", path, dlerror());
    if (!h) _exit(1);
    *t = (table_fn)(uintptr_t)dlsym(h, "plug_c_table");
    *d = (dup_fn)(uintptr_t)dlsym(h, "plug_c_strdup_like");
    REQUIRE(*t && *d);
    return h;
}

static int table_ok(const char *t)
{
    for (int i = 0; i < 4096; i++)
        if (t[i] != (char)('A' + i % 26)) return 0;
    return 1;
}

static void churn(void)
{
    for (int i = 0; i < 100; i++) {
        offheap_scope_begin();
        for (int j = 0; j < 40; j++) memset(malloc(4096), 0xa5, 4096);
        offheap_scope_end();
    }
}

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 3);
    const char *mode = argv[2];
    table_fn table = NULL;
    dup_fn dup = NULL;
    void *h = NULL;
    const char *ex = getenv("OFFHEAP_EXCLUDE");

    if (!strcmp(mode, "early")) {
        REQUIRE(ex && strstr(ex, "ph_plugin_c"));
        h = load(argv[1], &table, &dup);
    } else {
        /* Scopes are in use (the pool exists) before the library arrives. */
        offheap_scope_begin();
        free(malloc(10));
        offheap_scope_end();
        h = load(argv[1], &table, &dup);
    }

    offheap_stats s0 = ph_stats();
    offheap_scope_begin();
    const char *t;
    if (!strcmp(mode, "escape")) {
        REQUIRE(ex == NULL);
        offheap_escape_begin();
        t = table();
        offheap_escape_end();
    } else {
        REQUIRE(ex && strstr(ex, "ph_plugin_c"));
        t = table();
    }
    REQUIRE(t);
    CHECKF(!offheap_owns(t), "[%s] the library's global table is a scope block", mode);
    char *d = dup("x");
    if (strcmp(mode, "escape")) {
        CHECKF(d && !offheap_owns(d), "[%s] an excluded library's allocation is a scope block", mode);
        offheap_stats s1 = ph_stats();
        CHECK(s1.routed_by_caller >= s0.routed_by_caller + 2);
    } else {
        CHECK(d && offheap_owns(d)); /* not excluded: scoped */
    }
    offheap_scope_end();
    churn();
    CHECKF(table_ok(t), "[%s] the library's table was overwritten after the scope", mode);
    CHECK(table() == t);
    dlclose(h);
    return check_done(mode);
}
