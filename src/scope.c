/* SPDX-License-Identifier: MIT */
/*
 * scope.c — scopes: bump allocation from the process pool between
 * offheap_scope_begin() and offheap_scope_end(), and release by rewinding.
 *
 * Block layout: an 8-byte header holding the block's span (usable size plus
 * the header itself, so the inline path stores the rounded size it already
 * has) sits right before every user pointer.  The bump position is kept at 8 mod 16, so header +
 * user pointer need no padding and user pointers are 16-byte aligned.
 *
 * Lifetime rules the code enforces:
 *   - free() of a pool block does nothing: the block may be stale (its scope
 *     ended and a newer block now has the same address), so reusing its
 *     bytes early could corrupt a live block.
 *   - realloc() keeps a block's lifetime: only a block of the innermost
 *     scope may grow in that scope; any other pool block is copied to the
 *     heap, where it lives until freed.
 */
#include "scope.h"
#include "scope_fast.h"

#include "check.h"
#include "config.h"
#include "fallback.h"
#include "log.h"
#include "os.h"
#include "plt.h"
#include "thread.h"
#include "tid.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define HDR 8u

uintptr_t oh_pool_base;
uintptr_t oh_pool_size;
struct oh_slabs oh_proc;

static pthread_once_t proc_once = PTHREAD_ONCE_INIT;
static int proc_err = -1; /* -1 not tried, 0 ready, else errno */
static _Atomic int proc_state; /* 0 not started, 1 being created, 2 done */
static size_t large_min;  /* blocks needing this many bytes get own runs */

static size_t round16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

static void *hdr_set(char *h, size_t usable)
{
    *(uint64_t *)(void *)h = usable + HDR;
    return h + HDR;
}

size_t oh_scope_usable(const void *p)
{
    return (size_t)((const uint64_t *)p)[-1] - HDR;
}

/* ---- process pool ---------------------------------------------------- */

static void proc_create_locked(void);

static void proc_create(void)
{
    atomic_store(&proc_state, 1);
    proc_create_locked();
    atomic_store(&proc_state, 2);
}

static void proc_create_locked(void)
{
    oh_config_load();
    /* Before any thread can have a scope: every call must reach us again. */
    oh_plt_arm();
    size_t retain_slabs = oh_cfg.retain / oh_cfg.slab_size;
    if (retain_slabs > UINT32_MAX) retain_slabs = UINT32_MAX;
    int err = oh_slabs_init(&oh_proc, oh_cfg.pool_size, oh_cfg.slab_size, oh_cfg.huge_pages,
                            (uint32_t)retain_slabs);
    if (err) {
        oh_log("cannot reserve the process pool (OFFHEAP_POOL_SIZE=%zu): %s; scopes are off", oh_cfg.pool_size,
               err == ENOMEM ? "out of memory or address space" : "invalid size");
        proc_err = err;
        return;
    }
    large_min = oh_cfg.slab_size / 4;
    if (oh_cfg.check) oh_check_init();
    oh_caller_init(oh_cfg.exclude);
    oh_pool_size = (uintptr_t)oh_proc.size;
    __atomic_store_n(&oh_pool_base, (uintptr_t)oh_proc.base, __ATOMIC_RELEASE);
    proc_err = 0;
}

int oh_proc_init(void)
{
    (void)pthread_once(&proc_once, proc_create);
    return proc_err;
}

/* ---- slab hand-over ---------------------------------------------------- */

/* The pool had no room: apply OFFHEAP_ON_EXHAUST. */
__attribute__((cold, noinline)) static void *exhausted(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    OH_STAT_ADD(t, exhausted, 1);
    switch (oh_cfg.on_exhaust) {
    case OH_EXHAUST_ABORT:
        oh_fatal("process pool exhausted: %zu-byte allocation in a scope, %u of %u slabs of %zu bytes in use "
                 "(raise OFFHEAP_POOL_SIZE or set OFFHEAP_ON_EXHAUST=fallback)",
                 n, atomic_load(&oh_proc.in_use), oh_proc.count, oh_proc.slab_size);
    case OH_EXHAUST_FALLBACK:
        if (align > 16) return oh_fb_aligned(n, align);
        return zero ? oh_fb_calloc(oh_fb_size(n)) : oh_fb_malloc(oh_fb_size(n));
    default: errno = ENOMEM; return NULL;
    }
}

/* Take a run of k slabs for this thread and put it at the chain head. */
static uint32_t take_run(struct oh_thread *t, uint32_t k, bool *zeroed)
{
    uint32_t s = oh_slabs_acquire(&oh_proc, k, zeroed);
    /* Check mode holds released runs in quarantine: it must not cause an
     * ENOMEM the program would not get without it. */
    if (s == OH_SLAB_NONE && oh_check_on && oh_check_drain()) s = oh_slabs_acquire(&oh_proc, k, zeroed);
    /* Idle threads' parked warm slabs are not live memory: take them back
     * before reporting exhaustion. */
    if (s == OH_SLAB_NONE && oh_thread_steal_parked()) s = oh_slabs_acquire(&oh_proc, k, zeroed);
    if (s == OH_SLAB_NONE) return s;
    /* Every slab of the run names its owner and scope: a pointer aligned
     * past the first slab must still be recognised (in_innermost_scope). */
    for (uint32_t i = s; i < s + k; i++) {
        oh_proc.meta[i].seq = t->seq;
        atomic_store_explicit((_Atomic uint32_t *)&oh_proc.meta[i].owner, t->id, memory_order_relaxed);
    }
    struct oh_slab_meta *m = &oh_proc.meta[s];
    m->next = t->head;
    t->head = s;
    return s;
}

/* A block of `need` bytes from header to end, aligned: its own run. */
static void *large_alloc(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    size_t slab = oh_proc.slab_size;
    size_t lead = align > 16 ? align : 16;
    /* The user pointer lands at most `lead` past the run's start; the run
     * must also hold at least one byte after it, or a 0-byte block would
     * point one past its run, into a slab someone else may own. */
    size_t need = n ? n : 1;
    if (need > oh_proc.size || lead > oh_proc.size - need) return exhausted(t, n, align, zero);
    size_t bytes = (need + lead + slab - 1) & ~(slab - 1);
    bool zeroed = false;
    uint32_t s = take_run(t, (uint32_t)(bytes / slab), &zeroed);
    if (s == OH_SLAB_NONE) return exhausted(t, n, align, zero);
    char *base = oh_slab_addr(&oh_proc, s);
    char *p = (char *)(((uintptr_t)base + HDR + lead - 1) & ~(uintptr_t)(lead - 1));
    size_t usable = (size_t)(base + bytes - p);
    if (zero && !zeroed) memset(p, 0, n);
    OH_STAT_ADD(t, blocks, 1);
    OH_STAT_ADD(t, bytes, usable);
    return hdr_set(p - HDR, usable);
}

/* Bytes bumped since the last count go into the stats: done at slab
 * switches and scope ends instead of on every allocation. */
static void account(struct oh_thread *t)
{
    if (t->cur > t->acct && t->acct) OH_STAT_ADD(t, bytes, (size_t)(t->cur - t->acct));
    t->acct = t->cur;
}

/* Start a new bump slab. */
static bool new_bump_slab(struct oh_thread *t)
{
    account(t);
    bool zeroed = false;
    uint32_t s = take_run(t, 1, &zeroed);
    if (s == OH_SLAB_NONE) return false;
    char *base = oh_slab_addr(&oh_proc, s);
    t->slab = s;
    t->cur = base + HDR;
    t->end = base + oh_proc.slab_size;
    t->clean = zeroed ? base : t->end;
    t->acct = t->cur;
    return true;
}

/* ---- allocation -------------------------------------------------------- */

/* Bump `n` bytes aligned to `align` (>= 16) in the current slab, or NULL. */
static inline void *bump(struct oh_thread *t, size_t n, size_t align, bool zero)
{
    uintptr_t pa = ((uintptr_t)t->cur + HDR + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t na = pa + round16(n + HDR) - HDR;
    if (__builtin_expect(na > (uintptr_t)t->end || t->cur == NULL, 0)) return NULL;
    char *p = (char *)pa;
    size_t usable = (size_t)(na - pa);
    t->cur = (char *)na;
    if (zero && p < t->clean) memset(p, 0, usable);
    OH_STAT_HOT_INC(t, blocks);
    return hdr_set(p - HDR, usable);
}

static void *alloc_in_scope(struct oh_thread *t, size_t n, size_t align, bool zero, void *ra)
{
    void *p;
    if (n >= large_min || align >= large_min) {
        p = large_alloc(t, n, align, zero);
    } else {
        p = bump(t, n, align, zero);
        if (__builtin_expect(p == NULL, 0)) {
            if (!new_bump_slab(t)) return exhausted(t, n, align, zero);
            p = bump(t, n, align, zero);
        }
    }
    if (__builtin_expect(oh_check_on, 0) && p && oh_in_pool(p)) oh_check_alloc(t, p, oh_scope_usable(p), ra);
    return p;
}

/* The thread is found again here rather than passed in: the inline path
 * then never materialises its address. */
void *oh_scope_alloc_slow(size_t n, bool zero, void *ra)
{
    struct oh_thread *t = &oh_self;
    if (oh_caller_excluded(ra) || (*oh_ra_slot(t, ra) != oh_ra_key(ra) && oh_caller_check_new(ra))) {
        OH_STAT_ADD(t, routed, 1);
        return zero ? oh_fb_calloc(oh_fb_size(n)) : oh_fb_malloc(oh_fb_size(n));
    }
    *oh_ra_slot(t, ra) = oh_ra_key(ra); /* scope_fast.h */
    return alloc_in_scope(t, n, 16, zero, ra);
}

void *oh_scope_alloc_aligned(size_t n, size_t align, void *ra)
{
    struct oh_thread *t = &oh_self;
    if (oh_caller_excluded(ra)) {
        OH_STAT_ADD(t, routed, 1);
        return align > 16 ? oh_fb_aligned(n, align) : oh_fb_malloc(oh_fb_size(n));
    }
    return alloc_in_scope(t, n, align < 16 ? 16 : align, false, ra);
}

/* True when p was allocated in the calling thread's innermost open scope
 * (so a new block there has the same lifetime). */
static bool in_innermost_scope(const struct oh_thread *t, const void *p)
{
    if (t->depth == 0) return false;
    uint32_t s = oh_slab_index(&oh_proc, p);
    const struct oh_slab_meta *m = &oh_proc.meta[s];
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
    size_t old = oh_scope_usable(p);
    if (__builtin_expect(!t->registered, 0)) (void)oh_thread_register(t); /* for its counters */
    if (t->route && !oh_caller_excluded(ra) && in_innermost_scope(t, p)) {
        if (n <= old) {
            OH_STAT_ADD(t, realloc_in_place, 1);
            return p;
        }
        /* The newest block may grow where it is. */
        char *next = (char *)p + round16(n + HDR) - HDR;
        if ((char *)p + old == t->cur && next <= t->end && n < large_min) {
            ((uint64_t *)p)[-1] = (size_t)(next - (char *)p) + HDR;
            t->cur = next;
            if (__builtin_expect(oh_check_on, 0)) oh_check_resize(p, (size_t)(next - (char *)p));
            OH_STAT_ADD(t, realloc_in_place, 1);
            return p;
        }
        void *q = alloc_in_scope(t, n, 16, false, ra);
        if (q) memcpy(q, p, old);
        return q;
    }
    /* Outside its scope: the block escapes to the heap. */
    void *q = oh_fb_malloc(n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        OH_STAT_ADD(t, realloc_moved, 1);
    }
    return q;
}

/* ---- begin / end ------------------------------------------------------- */

__attribute__((cold, noinline)) static void misuse(struct oh_thread *t, const char *what)
{
    OH_STAT_ADD(t, misuse, 1);
    oh_log("misuse: %s (thread depth %u); ignored", what, t->depth);
}

/* Between outermost scopes the warm slab is parked outside the chain,
 * where an exhausted pool can take it back (thread.c).  Taking it again
 * is one atomic exchange on the thread's own word. */
static void park(struct oh_thread *t)
{
    if (t->slab == OH_SLAB_NONE || t->head != t->slab || oh_proc.meta[t->slab].next != OH_SLAB_NONE) return;
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
    char *base = oh_slab_addr(&oh_proc, s);
    t->head = t->slab = s;
    t->cur = t->acct = base + HDR;
    t->end = base + oh_proc.slab_size;
    t->clean = t->parked_clean;
}

/* Push a mark; false when the process pool or the thread cannot have one. */
static bool push_mark(struct oh_thread *t, void *site)
{
    if (__builtin_expect(!t->registered, 0)) {
        if (oh_proc_init() != 0 || !oh_thread_register(t)) return false;
    }
    if (t->depth == 0) unpark(t);
    struct oh_mark *m = &t->marks[t->depth++];
    account(t);
    m->bytes = atomic_load_explicit(&t->st.bytes, memory_order_relaxed);
    m->cur = t->cur;
    m->clean = t->clean;
    m->head = t->head;
    m->slab = t->slab;
    m->seq = t->seq;
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

/* Walk to the oldest run of the chain. */
static uint32_t chain_tail(uint32_t s)
{
    while (oh_proc.meta[s].next != OH_SLAB_NONE) s = oh_proc.meta[s].next;
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
        if (oh_proc.meta[tail].run == 1) stop = tail;
    }
    if (t->head != stop) {
        if (__builtin_expect(oh_check_on, 0)) (void)oh_check_retire(t, t->head, stop, m->site);
        else (void)oh_slabs_release_chain(&oh_proc, t->head, stop);
    }
    t->head = stop;
    uint32_t slab = m->slab;
    char *cur = m->cur;
    if (stop != m->head) {
        /* The warm slab, reusable from its start, now of the level that
         * goes on. */
        slab = stop;
        cur = oh_slab_addr(&oh_proc, stop) + HDR;
        oh_proc.meta[stop].seq = keep_seq;
    }
    t->slab = slab;
    if (slab == OH_SLAB_NONE) {
        t->cur = t->end = t->clean = t->acct = NULL;
        return;
    }
    t->cur = t->acct = cur;
    t->end = oh_slab_addr(&oh_proc, slab) + oh_proc.slab_size;
    /* A slab we left earlier may be dirty up to its end. */
    t->clean = slab == bump_slab ? hi : t->end;
}

void offheap_scope_begin(void)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(t->depth >= OFFHEAP_SCOPE_MAX_DEPTH || t->overflow, 0)) {
        if (t->overflow == 0) misuse(t, "scope nesting past OFFHEAP_SCOPE_MAX_DEPTH");
        t->overflow++;
        return;
    }
    if (__builtin_expect(t->exiting, 0) || !push_mark(t, __builtin_return_address(0))) {
        t->overflow++; /* the matching end is ignored too */
        return;
    }
    oh_thread_update_route(t);
}

void offheap_scope_end(void)
{
    struct oh_thread *t = &oh_self;
    if (__builtin_expect(t->overflow != 0, 0)) {
        t->overflow--;
        return;
    }
    if (__builtin_expect(t->depth <= t->tagged, 0)) {
        misuse(t, "offheap_scope_end() without a matching offheap_scope_begin()");
        return;
    }
    struct oh_mark *m = &t->marks[--t->depth];
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
    rewind_to(t, &t->marks[0], t->seq); /* the tag level goes on */
    return 0;
}

int offheap_thread_untag(void)
{
    struct oh_thread *t = &oh_self;
    if (!t->tagged) return EINVAL;
    if (t->depth > 1 || t->overflow) return EBUSY;
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

void oh_scope_thread_exit(void)
{
    struct oh_thread *t = &oh_self;
    t->exiting = true;
    t->depth = 0;
    t->tagged = 0;
    t->overflow = 0;
    oh_thread_update_route(t);
    if (t->registered) {
        uint32_t s = atomic_exchange(&t->parked, OH_SLAB_NONE);
        if (s != OH_SLAB_NONE) oh_slabs_release(&oh_proc, s);
    }
    if (t->head != OH_SLAB_NONE && t->registered) {
        size_t released = oh_slabs_release_chain(&oh_proc, t->head, OH_SLAB_NONE);
        OH_STAT_ADD(t, released, released);
    }
    t->head = t->slab = OH_SLAB_NONE;
    t->cur = t->end = t->clean = t->acct = NULL;
}

void oh_scope_prefork(void)
{
    /* A child forked while another thread creates the pool would inherit a
     * pthread_once that never completes (and, in glibc 2.36, the loader's
     * dl_iterate_phdr lock): let the creation finish first. */
    while (atomic_load(&proc_state) == 1) sched_yield();
    oh_caller_prefork();
    if (proc_err == 0) oh_slabs_lock(&oh_proc);
}

void oh_scope_postfork(void)
{
    if (proc_err == 0) oh_slabs_unlock(&oh_proc);
    oh_caller_postfork();
}
