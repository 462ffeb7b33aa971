/* SPDX-License-Identifier: MIT */
/*
 * end_cost.c — scope end costs O(slabs the scope used), never O(blocks)
 * (docs/design.md, "Marks and rewind"), checked without a clock: before the
 * end of a scope, every page of the scope's slabs but the first and the
 * last of each slab is made inaccessible (PROT_NONE).  An end that walked
 * the blocks (two million 8-byte blocks over some 32 slabs) would touch
 * those pages and fault; an end that goes by the slabs' metadata (kept
 * outside the slabs) touches none.  The same for a scope of 32 near-slab
 * blocks, each in a run of its own.  A fault during the end is reported
 * with its address and fails the test.
 *
 * Check mode poisons every block head at a scope end by design: skipped
 * (77) under OFFHEAP_CHECK.
 */
#include "ph.h"

#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#define MAX_SLABS 256

static char *slabs[MAX_SLABS];
static int nslabs;
static size_t slab_size, page;
static volatile sig_atomic_t ending;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (ending)
        FATAL("the scope end touched %p, inside a slab of the ending scope (signal %d): it walked the blocks",
              si->si_addr, sig);
    FATAL("fault at %p (signal %d) outside the scope end", si->si_addr, sig);
}

/* Remember the slab holding p (blocks come in address order within a
 * slab, so a new slab shows as a change). */
static void note(const char *p)
{
    char *s = (char *)((uintptr_t)p & ~(uintptr_t)(slab_size - 1));
    for (int i = nslabs - 1; i >= 0 && i >= nslabs - 2; i--)
        if (slabs[i] == s) return;
    REQUIRE(nslabs < MAX_SLABS);
    slabs[nslabs++] = s;
}

static void protect(int prot)
{
    for (int i = 0; i < nslabs; i++)
        REQUIREF(mprotect(slabs[i] + page, slab_size - 2 * page, prot) == 0, "mprotect(%p) failed: errno %d",
                 (void *)(slabs[i] + page), errno);
}

/* One scope: tiny blocks or near-slab ones; its end with the slabs'
 * interiors inaccessible.  Returns the slabs the scope used (stats). */
static uint64_t scope_of(int tiny)
{
    nslabs = 0;
    offheap_scope_begin();
    offheap_stats s0 = ph_stats();
    if (tiny) {
        size_t n = 32 * (slab_size / 16);
        for (size_t i = 0; i < n; i++) {
            char *p = malloc(8);
            REQUIRE(p != NULL);
            p[0] = 1;
            note(p);
        }
    } else {
        for (int i = 0; i < 32; i++) {
            char *p = malloc(slab_size - 64);
            REQUIRE(p != NULL);
            p[0] = 1;
            note(p);
        }
    }
    offheap_stats s1 = ph_stats();
    /* Nothing may allocate from here to the end: the bump slab is closed. */
    protect(PROT_NONE);
    ending = 1;
    offheap_scope_end();
    ending = 0;
    protect(PROT_READ | PROT_WRITE);
    return s1.slabs_in_use - s0.slabs_in_use;
}

int main(void)
{
    ph_require_preload();
    const char *check = getenv("OFFHEAP_CHECK");
    if (check && strcmp(check, "0") != 0) {
        printf("end_cost: check mode poisons every block at a scope end; skipped\n");
        return 77;
    }
    page = (size_t)sysconf(_SC_PAGESIZE);
    offheap_scope_begin();
    free(malloc(1));
    offheap_scope_end();
    slab_size = (size_t)ph_stats().slab_size;
    REQUIRE(slab_size >= 4 * page);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGSEGV, &sa, NULL) == 0 && sigaction(SIGBUS, &sa, NULL) == 0);

    for (int round = 0; round < 3; round++) {
        uint64_t tiny = scope_of(1);
        int tiny_slabs = nslabs;
        uint64_t large = scope_of(0);
        printf("round %d: ends of a scope of %zu 8-byte blocks (%llu slabs) and of 32 near-slab blocks (%llu "
               "slabs) touched no slab's interior\n",
               round, 32 * (slab_size / 16), (unsigned long long)tiny, (unsigned long long)large);
        CHECKF(tiny >= 30 && large >= 30, "the scopes took %llu and %llu slabs", (unsigned long long)tiny,
               (unsigned long long)large);
        CHECKF(tiny_slabs >= 30, "the 8-byte blocks lay in %d slabs", tiny_slabs);
    }
    return check_done("end_cost");
}
