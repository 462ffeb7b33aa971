/* SPDX-License-Identifier: MIT */
/*
 * weak_markers.c loaded|absent — a program that links nothing of liboffheap
 * and uses the OFFHEAP_* markers of offheap.h.  Without the preload the
 * markers do nothing and the program runs normally; with it, the markers
 * open real scopes.  The argument says which case this run is.
 */
#include "check.h"
#include "offheap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char name[64];
    snprintf(name, sizeof name, "weak_markers (%s)", argv[1]);
    return check_done(name);
}
