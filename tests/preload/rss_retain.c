/* SPDX-License-Identifier: MIT */
/*
 * rss_retain.c — after a burst of scope memory (about 350 MB touched, bump
 * slabs and large runs), the scope end gives the pages back down to
 * OFFHEAP_RETAIN (default 64M): the resident set returns to its level before
 * the burst plus the retained slabs (plus a little slack).
 */
#include "ph.h"

static long rss_kb(void)
{
    long pages = -1, res = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long parse_kb(const char *s, long def)
{
    if (!s) return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == 'M') v *= 1024;
    else if (*end == 'G') v *= 1024 * 1024;
    else if (*end == 'K') v *= 1;
    else v /= 1024;
    return v;
}

int main(void)
{
    ph_require_preload();
    long retain = parse_kb(getenv("OFFHEAP_RETAIN"), 64 * 1024);
    offheap_scope_begin();
    free(malloc(1));
    offheap_scope_end();
    long base = rss_kb();
    for (int round = 0; round < 2; round++) {
        offheap_scope_begin();
        for (int i = 0; i < 200; i++) memset(malloc(1000000), 1, 1000000);
        for (int i = 0; i < 50; i++) memset(malloc(3 << 20), 1, 3 << 20);
        long peak = rss_kb();
        CHECK(peak > base + 300 * 1024);
        offheap_scope_end();
        long after = rss_kb();
        long slab_kb = (long)(ph_stats().slab_size / 1024);
        printf("round %d: base %ld KB, peak %ld KB, after the end %ld KB (retain %ld KB)\n", round, base, peak, after,
               retain);
        CHECKF(after <= base + retain + 2 * slab_kb + 8 * 1024,
               "resident %ld KB after the scope end: more than base %ld + retain %ld KB", after, base, retain);
    }
    return check_done("rss_retain");
}
