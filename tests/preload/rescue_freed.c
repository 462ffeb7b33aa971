/* SPDX-License-Identifier: MIT */
/*
 * rescue_freed.c — a block that its scope freed is dead, whatever still
 * points to it (README "Scope safety", layer 2).
 *
 * libph_note keeps the address of the last buffer it was shown in a global
 * and never uses it again.  In the first scope (its sites new, so the
 * scope is judged) the program frees the buffer it showed: the rescue must
 * neither keep its run nor route anything for it.  In the second, the same
 * call site (now known: its blocks are no longer recorded) allocates the
 * buffer again, after a new call site put the thread on probation (its
 * frees are logged from then on), the library notes it and the program
 * frees it: the freed block, found by its header, keeps nothing either.  In the third, with a
 * call site of its own, the program does not free it: the same global now
 * holds a live block, which must be kept (its run pinned, its site routed),
 * which shows that the scan does see that global.
 */
#include "ph.h"

void note_buffer(void *p);
void *note_last(void);

__attribute__((noinline)) static char *freed_buffer(void)
{
    char *p = malloc(200);
    if (p) memset(p, 1, 200);
    return p;
}

__attribute__((noinline)) static char *probe_buffer(void)
{
    char *p = malloc(48);
    if (p) memset(p, 3, 48);
    return p;
}

__attribute__((noinline)) static char *kept_buffer(void)
{
    char *p = malloc(200);
    if (p) memset(p, 2, 200);
    return p;
}

int main(void)
{
    ph_require_preload();
    offheap_stats s0 = ph_stats();

    offheap_scope_begin();
    char *p = freed_buffer();
    CHECK(OFFHEAP_OWNS(p));
    note_buffer(p);
    free(p);
    offheap_scope_end();
    offheap_stats s1 = ph_stats();
    CHECKF(s1.rescues > s0.rescues, "the first scope of new code was judged (rescues %llu)",
           (unsigned long long)s1.rescues);
    CHECKF(s1.pinned_runs == s0.pinned_runs, "a block freed in its scope is not kept (pinned runs +%llu)",
           (unsigned long long)(s1.pinned_runs - s0.pinned_runs));
    CHECKF(s1.sites_routed + s1.libraries_routed == s0.sites_routed + s0.libraries_routed,
           "nothing is routed for a freed block (sites +%llu, libraries +%llu)",
           (unsigned long long)(s1.sites_routed - s0.sites_routed),
           (unsigned long long)(s1.libraries_routed - s0.libraries_routed));

    offheap_scope_begin();
    char *g = probe_buffer(); /* a new site: the thread is on probation */
    CHECK(OFFHEAP_OWNS(g));
    char *f = freed_buffer(); /* a known site: not recorded */
    CHECK(OFFHEAP_OWNS(f));
    note_buffer(f);
    free(f);
    free(g);
    offheap_scope_end();
    offheap_stats s15 = ph_stats();
    CHECKF(s15.rescues > s1.rescues, "the scope with a new call site was judged");
    CHECKF(s15.pinned_runs == s1.pinned_runs, "an unrecorded block freed in its scope is not kept (pinned runs +%llu)",
           (unsigned long long)(s15.pinned_runs - s1.pinned_runs));
    s1 = s15;

    offheap_scope_begin();
    char *q = kept_buffer();
    CHECK(OFFHEAP_OWNS(q));
    note_buffer(q);
    offheap_scope_end();
    offheap_stats s2 = ph_stats();
    CHECKF(s2.pinned_runs > s1.pinned_runs, "the same global holding a live block keeps it");
    CHECKF(s2.sites_routed > s1.sites_routed, "and routes its call site (handed over to libph_note)");
    CHECKF(ph_all(note_last(), 200, 2), "the kept block intact");

    /* 50 more scopes reuse the released memory; the kept block stays. */
    for (int r = 0; r < 50; r++) {
        offheap_scope_begin();
        char *t = freed_buffer();
        CHECK(OFFHEAP_OWNS(t));
        memset(t, 0x5a, 200);
        free(t);
        offheap_scope_end();
    }
    CHECKF(ph_all(note_last(), 200, 2), "the kept block is intact after 50 scopes");
    return check_done("rescue_freed");
}
