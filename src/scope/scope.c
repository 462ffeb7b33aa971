/* SPDX-License-Identifier: MIT */
/*
 * scope.c — scopes: bump allocation from the process pool between
 * offheap_scope_begin() and offheap_scope_end(), and release by rewinding.
 *
 * Block layout: block.h.  The bump position is kept at 8 mod 16 (a header
 * before a 16-byte aligned user pointer).
 *
 * A thread joins the registry (thread.h) at its first scope, tag or free
 * of a scope block; the exit hook set here then releases everything it
 * still owns.
 *
 * Lifetime rules the code enforces:
 *   - free() of a pool block does nothing: the block may be stale (its scope
 *     ended and a newer block now has the same address), so reusing its
 *     bytes early could corrupt a live block.
 *   - realloc() keeps a block's lifetime: only a block of the innermost
 *     scope may grow in that scope; any other pool block is copied to the
 *     heap, where it lives until freed.
 */
#include "scope/scope.h"

#include "core/invariant.h"
#include "core/log.h"
#include "core/os.h"
#include "core/tid.h"
#include "scope/block.h"
#include "scope/caller.h"
#include "scope/check.h"
#include "scope/config.h"
#include "scope/fallback.h"
#include "scope/names.h"
#include "scope/proc.h"
#include "scope/rescue.h"
#include "scope/scope_fast.h"
#include "scope/sites.h"
#include "scope/stats.h"
#include "scope/thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define HDR OH_BLOCK_HDR

static unsigned steal_parked(void);

/* ---- slab hand-over ---------------------------------------------------- */

/* The pool had no room: apply OFFHEAP_ON_EXHAUST. */
__attribute__((cold, noinline)) static void *exhausted(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    OH_STAT_ADD(t, exhausted, 1);
    switch (oh_cfg.on_exhaust) {
    case OH_EXHAUST_ABORT: {
        struct oh_proc_usage u;
        oh_proc_usage(&u);
        oh_fatal("process pool exhausted: %zu-byte allocation in a scope, %u of %u slabs of %zu bytes in use "
                 "(raise OFFHEAP_POOL_SIZE or set OFFHEAP_ON_EXHAUST=fallback)",
                 n, (unsigned)u.slabs_in_use, (unsigned)u.slabs_total, (size_t)u.slab_size);
    }
    case OH_EXHAUST_FALLBACK:
        if (align > 16) return oh_fb_aligned(n, align);
        return zero ? oh_fb_calloc(oh_fb_size(n)) : oh_fb_malloc(oh_fb_size(n));
    default: errno = ENOMEM; return NULL;
    }
}

/* Take a run of k slabs for this thread and put it at the chain head. */
/* fresh: prefer a clean slab.  A scope on probation takes clean slabs:
 * what its blocks are judged by is who points to them at its end, and
 * stale words left behind by earlier scopes point into the slabs those
 * used. */
static uint32_t take_run(struct oh_thread *t, uint32_t k, bool *zeroed, bool fresh)
{
    uint32_t s = oh_proc_acquire(k, zeroed, fresh);
    /* Check mode holds released runs in quarantine: it must not cause an
     * ENOMEM the program would not get without it. */
    if (s == OH_SLAB_NONE && oh_check_on && oh_check_drain()) s = oh_proc_acquire(k, zeroed, fresh);
    /* Idle threads' parked warm slabs are not live memory: take them back
     * before reporting exhaustion. */
    if (s == OH_SLAB_NONE && steal_parked()) s = oh_proc_acquire(k, zeroed, fresh);
    if (s == OH_SLAB_NONE) return s;
    /* Every slab of the run names its owner and scope: a pointer aligned
     * past the first slab must still be recognised (in_innermost_scope). */
    for (uint32_t i = s; i < s + k; i++) {
        oh_proc_meta(i)->seq = t->seq;
        atomic_store_explicit((_Atomic uint32_t *)&oh_proc_meta(i)->owner, t->id, memory_order_relaxed);
    }
    struct oh_slab_meta *m = oh_proc_meta(s);
    m->next = t->head;
    t->head = s;
    return s;
}

/* A block of `need` bytes from header to end, aligned: its own run. */
static void *large_alloc(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    size_t slab = oh_proc_slab_size();
    size_t lead = align > 16 ? align : 16;
    /* The user pointer lands at most `lead` past the run's start; the run
     * must also hold at least one byte after it, or a 0-byte block would
     * point one past its run, into a slab someone else may own. */
    size_t need = n ? n : 1;
    if (need > oh_proc_size() || lead > oh_proc_size() - need) return exhausted(t, n, align, zero);
    size_t bytes = (need + lead + slab - 1) & ~(slab - 1);
    bool zeroed = false;
    uint32_t s = take_run(t, (uint32_t)(bytes / slab), &zeroed, t->probation);
    if (s == OH_SLAB_NONE) return exhausted(t, n, align, zero);
    char *base = oh_proc_slab(s);
    char *p = (char *)(((uintptr_t)base + HDR + lead - 1) & ~(uintptr_t)(lead - 1));
    size_t usable = (size_t)(base + bytes - p);
    if (zero && !zeroed) memset(p, 0, n);
    OH_STAT_ADD(t, blocks, 1);
    OH_STAT_ADD(t, bytes, usable);
    return oh_block_set(p - HDR, usable + HDR);
}

/* Bytes bumped since the last count go into the stats: done at slab
 * switches and scope ends instead of on every allocation. */
static void account(struct oh_thread *t)
{
    if (t->cur > t->acct && t->acct) OH_STAT_ADD(t, bytes, (size_t)(t->cur - t->acct));
    t->acct = t->cur;
}

/* Start a new bump slab. */
static bool new_bump_slab(struct oh_thread *t, bool fresh)
{
    account(t);
    bool zeroed = false;
    uint32_t s = take_run(t, 1, &zeroed, fresh);
    if (s == OH_SLAB_NONE) return false;
    char *base = oh_proc_slab(s);
    t->slab = s;
    t->cur = base + HDR;
    t->end = base + oh_proc_slab_size();
    t->clean = zeroed ? base : t->end;
    t->acct = t->cur;
    return true;
}

/* ---- allocation -------------------------------------------------------- */

/* Bump `n` bytes aligned to `align` (>= 16) in the current slab, or NULL. */
static inline void *bump(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    uintptr_t pa = ((uintptr_t)t->cur + HDR + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t na = pa + oh_block_span(n) - HDR;
    if (__builtin_expect(na > (uintptr_t)t->end || t->cur == NULL, 0)) return NULL;
    char *p = (char *)pa;
    size_t usable = (size_t)(na - pa);
    t->cur = (char *)na;
    OH_ASSERT(t->cur <= t->end && (uintptr_t)t->cur % OH_BLOCK_ALIGN == HDR);
    if (zero && p < t->clean) memset(p, 0, usable);
    OH_STAT_HOT_INC(t, blocks);
    return oh_block_set(p - HDR, usable + HDR);
}

static void *alloc_in_scope(struct oh_thread *t, size_t n, size_t align, bool zero, void *ra)
{
    void *p;
    if (n >= oh_proc_large_min() || align >= oh_proc_large_min()) {
        p = large_alloc(t, n, align, zero);
    } else {
        p = bump(t, n, align, zero);
        if (__builtin_expect(p == NULL, 0)) {
            if (!new_bump_slab(t, t->probation)) return exhausted(t, n, align, zero);
            p = bump(t, n, align, zero);
        }
    }
    if (__builtin_expect(oh_check_on, 0) && p && oh_in_pool(p)) oh_check_alloc(t, p, oh_block_usable(p), ra);
    return p;
}

/* Where an allocation from call site ra goes (caller.h, sites.h). */
enum route { ROUTE_HEAP, ROUTE_SCOPE, ROUTE_PROBATION };

static enum route route_of(struct oh_thread *t, void *ra)
{
    if (oh_caller_excluded(ra)) return ROUTE_HEAP;
    if (OH_UNLIKELY(t->auditing)) /* every block recorded, nothing cached */
        return oh_site_get((uintptr_t)ra) == OH_SITE_HEAP || oh_caller_check_new(ra) ? ROUTE_HEAP : ROUTE_PROBATION;
    uintptr_t *slot = oh_ra_slot(t, ra);
    if (*slot == oh_ra_key(ra)) return ROUTE_SCOPE; /* judged before, by this thread */
    if (oh_caller_check_new(ra)) return ROUTE_HEAP;
    switch (oh_cfg.rescue ? oh_site_get((uintptr_t)ra) : OH_SITE_CLEARED) {
    case OH_SITE_CLEARED: *slot = oh_ra_key(ra); return ROUTE_SCOPE; /* scope_fast.h */
    case OH_SITE_HEAP: return ROUTE_HEAP;
    default: return ROUTE_PROBATION; /* not cached: every block is recorded */
    }
}

static void *heap_alloc(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    OH_STAT_ADD(t, routed, 1);
    if (align > 16) return oh_fb_aligned(n, align);
    return zero ? oh_fb_calloc(oh_fb_size(n)) : oh_fb_malloc(oh_fb_size(n));
}

/* An allocation in the innermost scope, recorded when its site is on
 * probation (rescue.h). */
static void *route_alloc(struct oh_thread *t, size_t n, size_t align, bool zero, void *ra)
{
    enum route r = route_of(t, ra);
    if (r == ROUTE_HEAP) {
        void *h = heap_alloc(t, n, align, zero);
        if (OH_UNLIKELY(t->probation || t->auditing) && h) oh_rescue_record_heap(t, h, n, ra);
        return h;
    }
    /* The first block on probation: on a clean slab of its own (or where
     * it fits, if the pool has no slab left). */
    if (r == ROUTE_PROBATION && !t->probation && n < oh_proc_large_min() && align < oh_proc_large_min())
        (void)new_bump_slab(t, true);
    void *p = alloc_in_scope(t, n, align, zero, ra);
    if (r == ROUTE_PROBATION && p && oh_in_pool(p)) oh_rescue_record(t, p, ra);
    return p;
}

/* The thread is found again here rather than passed in: the inline path
 * then never materialises its address. */
void *oh_scope_alloc_slow(size_t n, bool zero, void *ra)
{
    return route_alloc(&oh_self, n, 16, zero, ra);
}

void *oh_scope_alloc_aligned(size_t n, size_t align, void *ra)
{
    return route_alloc(&oh_self, n, align < 16 ? 16 : align, false, ra);
}

/* True when p was allocated in the calling thread's innermost open scope
 * (so a new block there has the same lifetime). */
static bool in_innermost_scope(const struct oh_thread *t, const void *p)
{
    if (t->depth == 0) return false;
    uint32_t s = oh_proc_index(p);
    const struct oh_slab_meta *m = oh_proc_meta(s);
    if (atomic_load_explicit((_Atomic uint32_t *)&m->owner, memory_order_relaxed) != t->id) return false;
    if (m->seq == t->seq) return true;
    const struct oh_mark *mk = &t->marks[t->depth - 1];
    return s == mk->slab && (const char *)p >= mk->cur;
}

void *oh_realloc_any(void *p, size_t n, void *ra)
{
    struct oh_thread *t = &oh_self;
    if (!oh_in_pool(p)) {
        /* A heap block stays on the heap, in or out of a scope. */
        return oh_fb_realloc(p, n);
    }
    if (__builtin_expect(oh_check_on, 0)) oh_check_realloc(p, n, ra); /* released memory: reported */
    size_t old = oh_block_usable(p);
    if (__builtin_expect(!t->registered, 0)) (void)oh_scope_join(t); /* for its counters */
    if (t->route && !oh_caller_excluded(ra) && in_innermost_scope(t, p)) {
        if (n <= old) {
            OH_STAT_ADD(t, realloc_in_place, 1);
            return p;
        }
        /* The newest block may grow where it is. */
        char *next = (char *)p + oh_block_span(n) - HDR;
        if ((char *)p + old == t->cur && next <= t->end && n < oh_proc_large_min()) {
            ((uint64_t *)p)[-1] = (size_t)(next - (char *)p) + HDR;
            t->cur = next;
            if (__builtin_expect(oh_check_on, 0)) oh_check_resize(p, (size_t)(next - (char *)p));
            OH_STAT_ADD(t, realloc_in_place, 1);
            return p;
        }
        void *q = route_alloc(t, n, 16, false, ra);
        if (q) memcpy(q, p, old);
        if (q && OH_UNLIKELY(t->probation)) oh_rescue_record_free(t, p); /* moved: the old block is dead */
        return q;
    }
    /* A realloc of a dead block copies what now lives there. */
    if (!t->route) oh_rescue_free_outside(t, p, ra);
    /* Outside its scope: the block escapes to the heap. */
    void *q = oh_fb_malloc(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        OH_STAT_ADD(t, realloc_moved, 1);
    }
    return q;
}

/* ---- begin / end ------------------------------------------------------- */

/* Count one misuse: in the thread's counters, and for a thread that never
 * joined the registry (it never opened a scope) in the process total too. */
static void count_misuse(struct oh_thread *t)
{
    if (t->registered) OH_STAT_ADD(t, misuse, 1);
    else oh_thread_misuse_unregistered(t);
}

__attribute__((cold, noinline)) static void misuse(struct oh_thread *t, const char *what)
{
    count_misuse(t);
    oh_log("misuse: %s (thread depth %u); ignored", what, t->depth);
}

/* A begin that opens nothing; its end will be absorbed (overflow).  Past
 * the depth limit each one is a misuse, and the first of a run is
 * reported; a begin refused for want of a pool or a thread index is not. */
__attribute__((cold, noinline)) static void begin_ignored(struct oh_thread *t)
{
    if (t->depth >= OFFHEAP_SCOPE_MAX_DEPTH) {
        if (t->overflow == 0)
            misuse(t, "scope nesting past OFFHEAP_SCOPE_MAX_DEPTH (each further begin is counted, not reported)");
        else count_misuse(t);
    }
    t->overflow++;
}

/* An end while an ignored begin or a named scope is open (end_slow): true
 * when the end is absorbed by an ignored begin.  Otherwise, if the scope
 * ending is named, its bytes go to its name (names.h) before the end. */
__attribute__((noinline)) static bool end_slow(struct oh_thread *t)
{
    if (t->overflow != 0) {
        t->overflow--;
        return true;
    }
    if (t->depth > t->tagged) {
        struct oh_mark *m = &t->marks[t->depth - 1];
        if (m->name) {
            account(t);
            oh_name_ended(m->name, atomic_load_explicit(&t->st.bytes, memory_order_relaxed) - m->bytes);
            m->name = 0;
            t->named--;
        }
    }
    return false;
}

/* Between outermost scopes the warm slab is parked outside the chain,
 * where an exhausted pool can take it back (thread.c).  Taking it again
 * is one atomic exchange on the thread's own word. */
static void park(struct oh_thread *t)
{
    if (t->slab == OH_SLAB_NONE || t->head != t->slab || oh_proc_meta(t->slab)->next != OH_SLAB_NONE) return;
    account(t);
    t->parked_clean = t->clean;
    uint32_t s = t->slab;
    t->head = t->slab = OH_SLAB_NONE;
    t->cur = t->end = t->clean = t->acct = NULL;
    atomic_store_explicit(&t->parked, s, memory_order_release);
}

static void unpark(struct oh_thread *t)
{
    if (atomic_load_explicit(&t->parked, memory_order_relaxed) == OH_SLAB_NONE) return;
    uint32_t s = atomic_exchange_explicit(&t->parked, OH_SLAB_NONE, memory_order_acquire);
    if (s == OH_SLAB_NONE) return; /* taken back by a thread that ran out */
    char *base = oh_proc_slab(s);
    t->head = t->slab = s;
    t->cur = t->acct = base + HDR;
    t->end = base + oh_proc_slab_size();
    t->clean = t->parked_clean;
}

/* Push a mark; false when the process pool or the thread cannot have one. */
static bool push_mark(struct oh_thread *t, void *site)
{
    if (__builtin_expect(!t->registered, 0)) {
        if (oh_proc_init() != 0 || !oh_scope_join(t)) return false;
        oh_stats_scopes_started(); /* OFFHEAP_STATS_INTERVAL's thread, once */
    }
    if (t->depth == 0) {
        unpark(t);
        /* A site or library stopped allocating in scopes since this
         * thread filled its caller cache: start it again. */
        uint32_t e = oh_sites_epoch();
        if (OH_UNLIKELY(t->ok_epoch != e)) {
            memset(t->ok_ra, 0, sizeof t->ok_ra);
            t->ok_epoch = e;
            t->auditing = oh_rescue_audit_due(t);
        }
    }
    /* The bump position a mark saves sits just before an aligned block. */
    OH_ASSERT(t->cur == NULL || ((uintptr_t)t->cur % OH_BLOCK_ALIGN == HDR && t->cur <= t->end));
    struct oh_mark *m = &t->marks[t->depth++];
    account(t);
    m->bytes = atomic_load_explicit(&t->st.bytes, memory_order_relaxed);
    m->cur = t->cur;
    m->clean = t->clean;
    m->head = t->head;
    m->slab = t->slab;
    m->seq = t->seq;
    m->probation = t->recorded;
    m->plog_n = oh_rescue_log_length(t);
    m->site = site;
    t->seq = ++t->next_seq;
    if (__builtin_expect(oh_check_on, 0)) {
        /* Check mode: the scope gets slabs of its own (see check.h). */
        account(t);
        t->slab = OH_SLAB_NONE;
        t->cur = t->end = t->clean = t->acct = NULL;
    }
    OH_STAT_ADD(t, scopes, 1);
    if (t->depth > atomic_load_explicit(&t->st.depth_peak, memory_order_relaxed))
        atomic_store_explicit(&t->st.depth_peak, t->depth, memory_order_relaxed);
    return true;
}

/* The bump position is aligned (at 8 mod 16) and inside the bump slab,
 * or the thread has no bump slab at all. */
static inline void assert_bump(const struct oh_thread *t)
{
    OH_ASSERT(t->slab == OH_SLAB_NONE ? t->cur == NULL
                                      : ((uintptr_t)t->cur % OH_BLOCK_ALIGN == HDR && t->cur >= oh_proc_slab(t->slab) &&
                                         t->cur <= t->end && t->end == oh_proc_slab(t->slab) + oh_proc_slab_size()));
}

/* Walk to the oldest run of the chain. */
static uint32_t chain_tail(uint32_t s)
{
    while (oh_proc_meta(s)->next != OH_SLAB_NONE) s = oh_proc_meta(s)->next;
    return s;
}

/* Release everything above mark m and rewind to it.  keep_seq: the scope
 * sequence of the level that goes on allocating afterwards (a kept warm
 * slab is marked with it, so realloc recognises its blocks). */
static void rewind_to(struct oh_thread *t, const struct oh_mark *m, uint32_t keep_seq)
{
    if (__builtin_expect(t->head == m->head && t->slab == m->slab && !oh_check_on, 1)) {
        /* The common case: the scope took no slab.  Rewind in place. */
        char *hi = t->cur > t->clean ? t->cur : t->clean;
        account(t);
        OH_STAT_ADD(t, released, atomic_load_explicit(&t->st.bytes, memory_order_relaxed) - m->bytes);
        t->clean = hi;
        t->cur = t->acct = m->cur;
        assert_bump(t);
        return;
    }
    /* High-water mark of the current bump slab: bytes below it are dirty. */
    uint32_t bump_slab = t->slab;
    char *hi = t->cur > t->clean ? t->cur : t->clean;
    account(t);
    /* Everything the scope's blocks took is released by its end. */
    OH_STAT_ADD(t, released, atomic_load_explicit(&t->st.bytes, memory_order_relaxed) - m->bytes);
    uint32_t stop = m->head;
    if (stop == OH_SLAB_NONE && t->head != OH_SLAB_NONE && !oh_check_on) {
        /* The level had no slab when this scope began: keep the oldest slab
         * warm instead of returning it, so a begin/end pair that fits in it
         * touches no shared state. */
        uint32_t tail = chain_tail(t->head);
        if (oh_proc_meta(tail)->run == 1) stop = tail;
    }
    if (t->head != stop) {
        if (__builtin_expect(oh_check_on, 0)) (void)oh_check_retire(t, t->head, stop, m->site);
        else (void)oh_proc_release_chain(t->head, stop);
    }
    t->head = stop;
    uint32_t slab = m->slab;
    char *cur = m->cur;
    if (stop != m->head) {
        /* The warm slab, reusable from its start, now of the level that
         * goes on. */
        slab = stop;
        cur = oh_proc_slab(stop) + HDR;
        oh_proc_meta(stop)->seq = keep_seq;
    }
    t->slab = slab;
    if (slab == OH_SLAB_NONE) {
        t->cur = t->end = t->clean = t->acct = NULL;
        return;
    }
    t->cur = t->acct = cur;
    t->end = oh_proc_slab(slab) + oh_proc_slab_size();
    /* A slab we left earlier may be dirty up to its end. */
    t->clean = slab == bump_slab ? hi : t->end;
    assert_bump(t);
}

/* Take the runs the rescue pinned or keeps pending out of the thread's
 * chain (called by oh_rescue_end under the rescue lock).  If the level's
 * own slab or the bump slab was pinned, the level goes on without it. */
static void detach_kept(struct oh_thread *t, struct oh_mark *m)
{
    account(t);
    uint32_t *link = &t->head;
    for (uint32_t s = t->head; s != OH_SLAB_NONE;) {
        struct oh_slab_meta *meta = oh_proc_meta(s);
        uint32_t next = meta->next;
        uint32_t owner = atomic_load_explicit((_Atomic uint32_t *)&meta->owner, memory_order_relaxed);
        if (owner == OH_OWNER_PINNED || owner == OH_OWNER_PENDING) {
            *link = next;
            meta->next = OH_SLAB_NONE;
            if (s == t->slab) {
                t->slab = OH_SLAB_NONE;
                t->cur = t->end = t->clean = t->acct = NULL;
            }
            if (s == m->slab) {
                m->slab = OH_SLAB_NONE;
                m->cur = m->clean = NULL;
            }
            if (s == m->head) m->head = next;
        } else {
            link = &meta->next;
        }
        s = next;
    }
}

/* The level at mark m ends on probation: run the rescue. */
static void rescue(struct oh_thread *t, struct oh_mark *m, bool forced)
{
    (void)oh_rescue_end(t, m, forced, detach_kept);
}

void offheap_scope_begin(void)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(t->depth >= OFFHEAP_SCOPE_MAX_DEPTH || t->overflow, 0)) {
        begin_ignored(t);
        return;
    }
    if (__builtin_expect(t->exiting, 0) || !push_mark(t, __builtin_return_address(0))) {
        t->overflow++; /* the matching end is ignored too */
        return;
    }
    oh_thread_update_route(t);
}

void offheap_scope_begin_named(const char *name)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(t->depth >= OFFHEAP_SCOPE_MAX_DEPTH || t->overflow, 0)) {
        begin_ignored(t);
        return;
    }
    uint32_t i = oh_name_index(name);
    if (__builtin_expect(t->exiting, 0) || !push_mark(t, __builtin_return_address(0))) {
        t->overflow++;
        return;
    }
    if (i) {
        t->marks[t->depth - 1].name = i;
        t->named++;
    }
    oh_thread_update_route(t);
}

void offheap_scope_end(void)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(t->end_slow != 0, 0) && end_slow(t)) return;
    if (__builtin_expect(t->depth <= t->tagged, 0)) {
        misuse(t, "offheap_scope_end() without a matching offheap_scope_begin()");
        return;
    }
    struct oh_mark *m = &t->marks[--t->depth];
    if (OH_UNLIKELY(t->probation)) {
        if (t->depth > 0 && t->recorded != m->probation && !oh_check_on) {
            /* An inner scope that allocated from sites on probation
             * releases nothing: its blocks join the enclosing level,
             * whose end runs the rescue (and realloc treats them as that
             * level's). */
            for (uint32_t s = t->head; s != OH_SLAB_NONE && s != m->head; s = oh_proc_meta(s)->next)
                oh_proc_meta(s)->seq = m->seq;
            t->seq = m->seq;
            oh_thread_update_route(t);
            return;
        }
        if (t->depth == 0 || t->recorded != m->probation) rescue(t, m, false);
        if (t->depth > 0 && t->probation) oh_rescue_forget_frees(t); /* this level rewinds */
    } else if (OH_UNLIKELY(t->depth == 0 &&
                           (oh_sites_epoch() != t->ok_epoch ||
                            atomic_load_explicit(&oh_rescue_probation_count, memory_order_relaxed)))) {
        /* Another thread's rescue routed a library or a site while this
         * scope ran (its blocks from there may be kept too), or another
         * thread is on probation (this scope may have linked its blocks
         * into what that one builds): judge this one too. */
        rescue(t, m, true);
    }
    rewind_to(t, m, m->seq);
    t->seq = m->seq;
    if (t->depth == 0) park(t);
    oh_thread_update_route(t);
}

int offheap_scope_depth(void)
{
    return (int)oh_self.depth;
}

int offheap_thread_tag(void)
{
    struct oh_thread *t = &oh_self;
    if (t->tagged || t->depth || t->overflow) return EBUSY;
    if (!push_mark(t, __builtin_return_address(0))) return ENOMEM;
    t->tagged = 1;
    oh_thread_update_route(t);
    return 0;
}

int offheap_thread_reset(void)
{
    struct oh_thread *t = &oh_self;
    if (!t->tagged) return EINVAL;
    if (t->depth > 1 || t->overflow) return EBUSY;
    if (t->probation || oh_sites_epoch() != t->ok_epoch) rescue(t, &t->marks[0], !t->probation);
    rewind_to(t, &t->marks[0], t->seq); /* the tag level goes on */
    return 0;
}

int offheap_thread_untag(void)
{
    struct oh_thread *t = &oh_self;
    if (!t->tagged) return EINVAL;
    if (t->depth > 1 || t->overflow) return EBUSY;
    if (t->probation || oh_sites_epoch() != t->ok_epoch) rescue(t, &t->marks[0], !t->probation);
    rewind_to(t, &t->marks[0], t->marks[0].seq);
    t->seq = t->marks[0].seq;
    t->depth = 0;
    t->tagged = 0;
    park(t);
    oh_thread_update_route(t);
    return 0;
}

void offheap_escape_begin(void)
{
    struct oh_thread *t = &oh_self;
    t->escape++;
    oh_thread_update_route(t);
}

void offheap_escape_end(void)
{
    struct oh_thread *t = &oh_self;
    if (t->escape == 0) {
        misuse(t, "offheap_escape_end() without a matching offheap_escape_begin()");
        return;
    }
    t->escape--;
    oh_thread_update_route(t);
}

int offheap_owns(const void *ptr)
{
    return oh_in_pool(ptr);
}

/* ---- threads ------------------------------------------------------------ */

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_err = -1;
static _Atomic uint64_t unjoined; /* scopes refused to threads without an index */

/* Thread exit (pthread key destructor): release every run the thread
 * still owns, then leave the registry. */
static void thread_exit(void *arg)
{
    struct oh_thread *t = arg;
    t->exiting = true;
    t->depth = 0;
    t->tagged = 0;
    t->overflow = 0;
    t->named = 0;
    oh_thread_update_route(t);
    uint32_t s = atomic_exchange(&t->parked, OH_SLAB_NONE);
    if (s != OH_SLAB_NONE) oh_proc_release(s);
    if (t->head != OH_SLAB_NONE) {
        size_t released = oh_proc_release_chain(t->head, OH_SLAB_NONE);
        OH_STAT_ADD(t, released, released);
    }
    t->head = t->slab = OH_SLAB_NONE;
    t->cur = t->end = t->clean = t->acct = NULL;
    t->parked_clean = NULL;
    /* The stack (and this TLS) of an exited thread may be cached and
     * scanned by later rescues: leave no pointer into the pool behind. */
    memset(t->marks, 0, sizeof t->marks);
    oh_rescue_thread_exit(t);
    oh_thread_unregister(t);
    t->registered = false;
}

static void make_key(void)
{
    key_err = pthread_key_create(&exit_key, thread_exit);
}

bool oh_scope_join(struct oh_thread *t)
{
    if (t->registered) return true;
    (void)pthread_once(&key_once, make_key);
    uint32_t id = oh_tid();
    if (id == 0 || key_err != 0) {
        if (atomic_fetch_add(&unjoined, 1) == 0)
            oh_log("more than %u threads use scopes at once (or no thread key is left): the scopes of the "
                   "extra threads run on the heap; counted in offheap_stats.exhausted",
                   OH_MAX_THREADS - 1);
        return false;
    }
    t->id = id;
    oh_thread_register(t);
    /* Our key is among the first created, so this needs no memory. */
    (void)pthread_setspecific(exit_key, t);
    t->registered = true;
    return true;
}

uint64_t oh_scope_unjoined(void)
{
    return atomic_load(&unjoined);
}

static void steal_one(struct oh_thread *t, void *arg)
{
    unsigned *n = arg;
    uint32_t s = atomic_exchange(&t->parked, OH_SLAB_NONE);
    if (s != OH_SLAB_NONE) {
        oh_proc_release(s);
        (*n)++;
    }
}

/* Return every thread's parked warm slab to the pool (it ran out).
 * Returns how many were returned. */
static unsigned steal_parked(void)
{
    unsigned n = 0;
    oh_thread_for_each(steal_one, &n);
    return n;
}

void oh_scope_free_outside(const void *p, void *ra)
{
    struct oh_thread *t = &oh_self;
    if (OH_UNLIKELY(!t->registered) && !oh_scope_join(t)) return;
    OH_STAT_ADD(t, frees_ignored, 1);
    oh_rescue_free_outside(t, p, ra);
}

void oh_scope_prefork(void)
{
    oh_proc_prefork();
    oh_caller_prefork();
}

void oh_scope_postfork(void)
{
    oh_caller_postfork();
    oh_proc_postfork();
}

void oh_scope_forget_thread(struct oh_thread *t)
{
    /* A parked slab holds no live scope data: back to the pool. */
    uint32_t s = atomic_exchange(&t->parked, OH_SLAB_NONE);
    if (s != OH_SLAB_NONE) oh_proc_release(s);
    oh_rescue_forget_thread(t);
}

void oh_scope_postfork_child(void)
{
    oh_caller_postfork();
    oh_proc_postfork_child();
    atomic_store(&unjoined, 0); /* the child counts its own */
}
