/* SPDX-License-Identifier: MIT */
/*
 * rescue.h — scope safety for code liboffheap has never seen: probation,
 * the rescue scan, and stale frees (docs/design.md, "Scope safety").
 *
 * Probation.  An allocation inside a scope from a site that is not known
 * yet (sites.h) is served from the scope as usual and recorded in the
 * thread's probation log (block, site); the thread is then on probation
 * until the scope ends.  An inner scope that recorded blocks releases
 * nothing at its end: its blocks join the enclosing scope, and the
 * outermost end (or the tag's reset) runs the rescue.  In check mode,
 * where every scope has slabs of its own, the inner end runs the rescue
 * itself, with the enclosing scopes' memory among the roots, so that the
 * program's own mistakes in an inner scope are still found.
 *
 * The rescue.  At such an end, before anything is released, the memory
 * that outlives the scope is searched for
 * words pointing into the scope's runs: the writable private mappings of
 * the process (data of every loaded object, the heap, other threads'
 * stacks), this thread's TLS blocks and thread descriptor, and the runs
 * pinned by earlier rescues.  Not the ending thread's own stack: its
 * frames above the scope end are the scope's caller's, whose pointers into
 * the scope are dead by the scope's contract.  A run that is referenced is
 * pinned (kept for the life of the process), and so is every run that a
 * pinned run references (transitively).  The sites of the referenced
 * blocks are learned: a library that kept scope memory past its scope has
 * all its later allocations routed to the heap (caller.h); a site in the
 * program (or in libstdc++'s string members) is routed on its own.  Every
 * other recorded site is cleared.  Steady state runs no rescue: the sites
 * are all known.
 *
 * Stale frees and audits.  free() of a scope block that is certainly dead
 * (its slab is free, or the freeing thread owns the slab and has no scope
 * open) by a library shows that the library manages lifetimes across
 * scopes: it is routed to the heap from then on, and since the block came
 * from a site that was cleared (a buffer handed over to the library), an
 * audit round starts: every thread's next scope records all its blocks and
 * ends with a rescue, which finds that site.
 *
 * Everything here runs outside the inline paths; nothing calls malloc.
 */
#ifndef OH_RESCUE_H
#define OH_RESCUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_thread;
struct oh_mark;

/* The block p was allocated in t's innermost scope from site ra, which is
 * not known yet: record it and put the thread on probation. */
void oh_rescue_record(struct oh_thread *t, void *p, void *ra);

/* The scope block p was freed by t while t is on probation: a block freed
 * in its scope is dead, whatever still points to it (a freed heap object,
 * a stale field), so the rescue neither keeps it nor follows it. */
void oh_rescue_record_free(struct oh_thread *t, const void *p);

/* An inner level of t ends and rewinds while t is on probation: its
 * memory may be handed out again in the enclosing level, so the frees
 * logged so far no longer name blocks for sure (forgotten: conservative). */
void oh_rescue_forget_frees(struct oh_thread *t);

/* The heap block p of n bytes was allocated from routed site ra while t
 * is on probation or auditing (its holder may be asked about). */
void oh_rescue_record_heap(struct oh_thread *t, void *p, size_t n, void *ra);

/* t is on probation and its level at mark m is about to be released (its
 * base: the outermost scope or the tag; in check mode also an inner
 * scope): run the rescue over the blocks recorded since m.  forced: the
 * thread is not on probation, but a site or library was routed while its
 * scope ran (its blocks from there may be kept too): scan, pin, learn
 * nothing.  Returns true when runs were pinned or set aside: their slabs'
 * meta.owner is OH_OWNER_PINNED or OH_OWNER_PENDING, and detach (when not
 * NULL) has taken them out of t's chain (scope.c) before the rescue lock
 * was let go: another thread's judgment releases pending runs under that
 * lock, and a run released (and taken by a third thread) before t unlinked
 * it would have its chain link and owner read from the new owner's. */
bool oh_rescue_end(struct oh_thread *t, struct oh_mark *m, bool forced,
                   void (*detach)(struct oh_thread *t, struct oh_mark *m));

/* free() (or realloc) of pool block p by code at ra on thread t, which
 * has no routed scope open (t->route == 0). */
void oh_rescue_free_outside(struct oh_thread *t, const void *p, void *ra);

/* Is an audit round due for t (a library freed a dead scope block since
 * t's last outermost begin)?  Then t's next scope records every block and
 * its end runs the rescue.  Called at outermost begins when the sites'
 * epoch changed. */
bool oh_rescue_audit_due(struct oh_thread *t);

/* The length of t's probation log (a mark remembers it). */
uint32_t oh_rescue_log_length(const struct oh_thread *t);

/* Threads on probation now.  A scope that ends while another thread is on
 * probation is judged too (it may have linked its blocks into state the
 * other scope builds): one relaxed load at each outermost end. */
extern _Atomic uint32_t oh_rescue_probation_count;

/* Thread exit: give back the thread's probation log. */
void oh_rescue_thread_exit(struct oh_thread *t);

/* Fork child, for each thread that did not survive the fork (with the
 * fork handlers' locks held): off probation, its log unmapped. */
void oh_rescue_forget_thread(struct oh_thread *t);

/* OFFHEAP_LEARN / offheap-run --learn: print, on fd, the OFFHEAP_EXCLUDE
 * line naming every library routed to the heap at run time. */
void oh_rescue_print_learned(int fd);

/* The figures of the rescue (offheap_stats). */
struct oh_rescue_figures {
    uint64_t rescues;         /* scans run */
    uint64_t rescue_ns;       /* time spent in them */
    uint64_t bytes_scanned;   /* root bytes read by them */
    uint64_t pinned_runs;     /* runs kept alive */
    uint64_t pinned_bytes;    /* their bytes */
    uint64_t sites_cleared;   /* allocation sites found to die with their scopes */
    uint64_t sites_routed;    /* program sites routed to the heap */
    uint64_t libraries_routed; /* libraries routed to the heap (rescue or stale free) */
    uint64_t stale_frees;     /* free()s of certainly dead scope blocks */
    uint64_t audits;          /* audit rounds they started */
};
void oh_rescue_figures(struct oh_rescue_figures *out);

/* Fork handlers (the rescue lock). */
void oh_rescue_prefork(void);
void oh_rescue_postfork(void);

#pragma GCC visibility pop

#endif
