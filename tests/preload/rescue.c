/* SPDX-License-Identifier: MIT */
/*
 * rescue.c — what the rescue decides, on three libraries written for it
 * (README "Scope safety", layer 2):
 *   libph_keep  keeps what it is given in nodes of its own, freed later;
 *   libph_text  returns results its callers own; needs nobody;
 *   libph_user  needs libph_keep and keeps its table in libph_keep's list.
 * The first scope uses everything for the first time: the program hands a
 * libph_text result and a block of its own to libph_keep; libph_user
 * builds its table.  When it ends, with no OFFHEAP_* setting:
 *   - libph_keep is routed (its node is referenced from its global);
 *   - libph_user is routed as a whole (its table is held by a library it
 *     uses: its own state), so the entries it adds later, from a call
 *     site whose blocks died in the first scope, live on the heap;
 *   - only text_make's call site is routed (its result was handed over by
 *     the program to a library libph_text does not know): text_temp's
 *     blocks stay in scopes;
 *   - of the program, only the call site whose block was handed over.
 * The run holding the kept blocks is pinned, but the pages of its dead
 * blocks (a 64 KiB temporary) go back to the kernel.
 * Then 300 scopes overwrite released memory while the table grows and
 * everything kept must read back intact; the frees that libph_keep makes
 * at the end (late) must be harmless.
 */
#include "ph.h"

#include <sys/mman.h>
#include <unistd.h>

char *text_make(const char *s);
char *text_temp(size_t n);
void keep_hold(void *obj);
void *keep_get(unsigned n);
void keep_release_all(void);
unsigned user_scratch(unsigned seed);
void *user_add(unsigned key);
int user_check(unsigned n);

#define ROUNDS 300
#define BIG (64u << 10)
#define HANDED "a result handed over to libph_keep"

__attribute__((noinline)) static char *prog_handed(void)
{
    char *p = malloc(100);
    if (p) ph_fill(p, 100, 7);
    return p;
}

__attribute__((noinline)) static char *prog_temp(size_t n)
{
    char *p = malloc(n);
    if (p) memset(p, 0xa5, n);
    return p;
}

int main(void)
{
    ph_require_preload();
    offheap_stats s0 = ph_stats();

    offheap_scope_begin();
    keep_hold(text_make(HANDED)); /* slot 0 */
    keep_hold(prog_handed());     /* slot 1 */
    CHECK(user_scratch(1) == 64u);
    CHECK(user_check(0)); /* builds the table, held in slot 2 */
    char *t = text_temp(32);
    char *p = prog_temp(32);
    CHECKF(OFFHEAP_OWNS(t) && OFFHEAP_OWNS(p), "first-scope blocks are scope blocks (t %d p %d)", OFFHEAP_OWNS(t),
           OFFHEAP_OWNS(p));
    char *big = prog_temp(BIG);
    offheap_scope_end();
    /* Its whole pages, resident when it was written, are given back. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)big + page - 1) & ~(uintptr_t)(page - 1), hi = ((uintptr_t)big + BIG) & ~(uintptr_t)(page - 1);
    unsigned char vec[BIG / 4096 + 1];
    CHECK(hi > lo && (hi - lo) / page <= sizeof vec);
    CHECK(mincore((void *)lo, hi - lo, vec) == 0);
    unsigned resident = 0;
    for (size_t i = 0; i < (hi - lo) / page; i++) resident += vec[i] & 1;
    CHECKF(resident == 0, "a dead block's pages in a pinned run are given back (%u of %zu resident)", resident,
           (size_t)((hi - lo) / page));

    offheap_stats s1 = ph_stats();
    CHECKF(s1.rescues > s0.rescues, "the first scope of new code was judged (rescues %llu)",
           (unsigned long long)s1.rescues);
    CHECKF(s1.libraries_routed - s0.libraries_routed == 2, "libph_keep and libph_user routed (libraries_routed +%llu)",
           (unsigned long long)(s1.libraries_routed - s0.libraries_routed));
    CHECKF(s1.sites_routed - s0.sites_routed == 2, "text_make and prog_handed routed (sites_routed +%llu)",
           (unsigned long long)(s1.sites_routed - s0.sites_routed));
    CHECKF(s1.pinned_runs > s0.pinned_runs, "the run holding the kept blocks is pinned");

    unsigned n = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        offheap_scope_begin();
        /* Released memory overwritten, a large run reused. */
        for (int i = 0; i < 8; i++) {
            char *q = prog_temp(8192);
            CHECK(OFFHEAP_OWNS(q));
        }
        char *tt = text_temp(48);
        CHECKF(OFFHEAP_OWNS(tt), "round %u: text_temp's blocks stay in scopes (libph_text is not routed)", r);
        char *tm = text_make("x");
        CHECKF(!OFFHEAP_OWNS(tm), "round %u: text_make's call site allocates from the heap", r);
        free(tm);
        char *ph = prog_handed();
        CHECKF(!OFFHEAP_OWNS(ph), "round %u: prog_handed's call site allocates from the heap", r);
        free(ph);
        void *e = user_add(n++);
        CHECKF(!OFFHEAP_OWNS(e), "round %u: libph_user's entries live on the heap", r);
        CHECK(user_scratch(r) == 64u * (r & 0xff));
        offheap_scope_end();
        if (r % 50 == 0 || r == ROUNDS - 1) {
            CHECKF(user_check(n), "round %u: libph_user's table intact (%u entries)", r, n);
            char *h = keep_get(0);
            CHECKF(h && strcmp(h, HANDED) == 0, "round %u: the handed-over text intact", r);
            CHECKF(ph_intact(keep_get(1), 100, 7), "round %u: the program's handed-over block intact", r);
        }
    }
    offheap_stats s2 = ph_stats();
    CHECKF(s2.rescues - s1.rescues <= 2, "steady state runs no rescue (%llu more)",
           (unsigned long long)(s2.rescues - s1.rescues));
    keep_release_all();
    return check_done("rescue");
}
