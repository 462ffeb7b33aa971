/* SPDX-License-Identifier: MIT */
/*
 * weak_markers.c loaded|absent — a program that links nothing of liboffheap
 * and uses the OFFHEAP_* markers of offheap.h.  Without the preload the
 * markers do nothing and the program runs normally; with it, the markers
 * open real scopes.  The argument says which case this run is.
 */
#include "check.h"
#include "offheap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_text(void *opaque, const char *text)
{
    *(size_t *)opaque += strlen(text);
}

/* The markers of the later functions: statistics, names, configuration,
 * version.  Loaded, they answer; absent, ENOSYS (or a null pointer, or
 * nothing happens). */
static void later_markers(int want_loaded)
{
    OFFHEAP_SCOPE_BEGIN_NAMED("weak");
    void *q = malloc(32);
    CHECK(q && OFFHEAP_OWNS(q) == want_loaded && OFFHEAP_SCOPE_DEPTH() == want_loaded);
    OFFHEAP_SCOPE_END();
    CHECK(OFFHEAP_SCOPE_DEPTH() == 0);
    offheap_stats ts;
    int rc = OFFHEAP_THREAD_STATS_GET(&ts);
    CHECKF(want_loaded ? rc == 0 && ts.scopes >= 1001 : rc == ENOSYS, "OFFHEAP_THREAD_STATS_GET: %d", rc);
    offheap_scope_name_stats ns[4];
    size_t count = 0;
    rc = OFFHEAP_SCOPE_NAME_STATS_GET(ns, 4, &count);
    CHECKF(want_loaded ? rc == 0 && count == 1 && !strcmp(ns[0].name, "weak") && ns[0].scopes == 1 : rc == ENOSYS,
           "OFFHEAP_SCOPE_NAME_STATS_GET: %d, %zu names", rc, count);
    char buf[64];
    rc = OFFHEAP_CONFIG_GET("pool_size", buf, sizeof buf);
    CHECKF(want_loaded ? rc == 0 && !strcmp(buf, "1073741824") : rc == ENOSYS, "OFFHEAP_CONFIG_GET: %d", rc);
    size_t printed = 0;
    rc = OFFHEAP_STATS_PRINT_CB(count_text, &printed, OFFHEAP_STATS_JSON);
    CHECKF(want_loaded ? rc == 0 && printed > 100 : rc == ENOSYS && printed == 0, "OFFHEAP_STATS_PRINT_CB: %d", rc);
    const char *v = OFFHEAP_RUNTIME_VERSION();
    CHECKF(want_loaded ? v && !strcmp(v, OFFHEAP_VERSION) : !v, "OFFHEAP_RUNTIME_VERSION: %s", v ? v : "(null)");
}

/* Some work whose result does not depend on the allocator. */
static unsigned long request(int i)
{
    char *buf = malloc(1000);
    if (!buf) return 0;
    int n = snprintf(buf, 1000, "request %d: %s", i, "payload payload payload");
    char *copy = strdup(buf);
    unsigned long h = 5381;
    for (int k = 0; k < n; k++) h = h * 33 + (unsigned char)copy[k];
    free(copy);
    free(buf);
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    int want_loaded = !strcmp(argv[1], "loaded");
    CHECK((OFFHEAP_LOADED() ? 1 : 0) == want_loaded);

    unsigned long total = 0;
    for (int i = 0; i < 1000; i++) {
        OFFHEAP_SCOPE_BEGIN();
        total += request(i);
        if (i == 500) {
            void *p = malloc(64);
            CHECK(p != NULL);
            if (want_loaded) CHECK(offheap_owns(p) && offheap_scope_depth() == 1);
            OFFHEAP_ESCAPE_BEGIN();
            void *kept = malloc(64);
            OFFHEAP_ESCAPE_END();
            if (want_loaded) CHECK(!offheap_owns(kept));
            free(kept);
        }
        OFFHEAP_SCOPE_END();
    }
    unsigned long expect = 0;
    for (int i = 0; i < 1000; i++) expect += request(i);
    CHECK(total == expect);
    if (want_loaded) {
        offheap_stats s;
        CHECK(offheap_stats_get(&s) == 0 && s.scopes >= 1000);
    }
    later_markers(want_loaded);
    char name[64];
    snprintf(name, sizeof name, "weak_markers (%s)", argv[1]);
    return check_done(name);
}
