/* SPDX-License-Identifier: MIT */
/*
 * check.c — OFFHEAP_CHECK (see check.h for what it does).
 *
 * Side tables, all in memory mapped at init through os.h (nothing here
 * calls malloc; the preload would recurse into itself):
 *   - a stack depot: distinct allocation backtraces, hashed, lock-free
 *     insert (a slot goes 0 -> 1 "being written" -> hash); a block record
 *     names its backtrace by slot index + 1 (0: none);
 *   - block records per slab: for the first slab of every run, the blocks
 *     that start in the run, in address order (the bump pointer only
 *     rises within a run's life), at most slab_size/16 of them (a block
 *     takes 16 bytes at least), so the table is as large as the pool in
 *     address space and touched only where blocks are;
 *   - per-slab check state: the record count, the (owner, seq) of the run
 *     the records belong to, and, while the run is retired, the retire
 *     generation (`dying`), its first slab, the scope's begin site and the
 *     retiring thread.  The fault handler needs nothing else: an address is
 *     ours when it is in the pool and its slab has `dying` set;
 *   - the quarantine: a FIFO of protected runs (first slab indices)
 *     bounded in runs and bytes; the oldest are unprotected and released
 *     to the slab supply, in batches, when a new one does not fit;
 *   - per thread: a memo of its recent backtraces (see "allocation
 *     backtraces") and the run it records into (the fast path).
 *
 * A scope end (oh_check_retire): mark the runs dying, scan the globals
 * (rate-limited), then protect and quarantine the runs if the thread's
 * protection budget allows, else poison their block heads and give them
 * straight back.
 *
 * Invariants: a slab's `dying` is nonzero exactly while its run is
 * retired (set before the run is protected, cleared after it is
 * unprotected), so a fault on a protected run is always recognised.  A
 * run's records are reset when a new life of the slab is seen (another
 * owner/seq, or an offset that does not rise) and when it leaves.
 */
#include "scope/check.h"
#include "scope/caller.h"
#include "scope/check_internal.h"

#include "core/elf_dyn.h"
#include "core/invariant.h"
#include "core/log.h"
#include "core/os.h"
#include "scope/block.h"
#include "scope/config.h"
#include "scope/proc.h"
#include "scope/thread.h"
#include "scope/unwind.h"


#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define OH_HAVE_VALGRIND 1
#endif
#endif
#ifndef OH_HAVE_VALGRIND
#define OH_HAVE_VALGRIND 0
#endif

#define FRAMES 8                   /* frames kept per allocation */
#define DEPOT_SLOTS (1u << 18)     /* distinct backtraces */
#define DEPOT_PROBES 32u           /* linear probes before giving up */
#define Q_RUNS 4096u               /* runs in the quarantine at most */
#define Q_BYTES ((size_t)64 << 20) /* bytes in the quarantine at most */
#define POISON 0xdd

bool oh_check_on;

struct rec {
    uint32_t off;   /* user pointer - run base, bytes */
    uint32_t size;  /* usable bytes at allocation (saturated) */
    uint32_t stack; /* depot id, 0 if none */
    uint32_t pad;
};

struct slab_ck {
    uint64_t stamp;         /* owner << 32 | seq of the run the records are of */
    uint32_t nrec;          /* records (first slab of a run) */
    _Atomic uint32_t dying; /* retire generation while retired, else 0 */
    uint32_t first;         /* first slab of the retired run */
    int tid;                /* kernel thread id that ended the scope */
    void *site;             /* begin site of the scope that ended */
    size_t prot;            /* bytes protected from the run's start (first slab) */
};

struct stack {
    _Atomic uint64_t key; /* 0 empty, 1 being written, else the hash */
    uint32_t n;           /* frames */
    uint32_t pad;
    void *pc[FRAMES];
};

static struct {
    bool ready;        /* side tables mapped */
    bool valgrind;     /* RUNNING_ON_VALGRIND at init */
    uintptr_t self_lo; /* our object's mapped range (frames to drop) */
    uintptr_t self_hi;
    struct stack *depot;  /* DEPOT_SLOTS */
    struct rec *recs;     /* rec_cap per slab */
    size_t rec_cap;       /* records per slab */
    struct slab_ck *sl;   /* one per slab */
    uint32_t *q;          /* quarantine ring, Q_RUNS first-slab indices */
    uint32_t qhead;       /* oldest entry */
    uint32_t qlen;        /* entries */
    size_t qbytes;        /* bytes quarantined */
    size_t qlimit;        /* bytes allowed */
    atomic_flag qlock;    /* guards q* (short sections, no syscalls) */
    _Atomic uint32_t gen; /* retire generations */
} ck = {.qlock = ATOMIC_FLAG_INIT};

/* Counters (process-wide, relaxed). */
static _Atomic uint64_t n_protected, n_sampled_out, n_scans, n_recorded, n_unrecorded, n_stacks, n_retired_runs,
    n_evicted, n_qpeak, n_protect_failed, n_scanned;

#define COUNT(c, v) atomic_fetch_add_explicit(&(c), (v), memory_order_relaxed)

struct memo;

static __thread struct {
    bool busy;                    /* inside check code: nested allocations are not recorded */
    bool vg_pool;                 /* this thread's memcheck mempool exists */
    int tid;                      /* kernel thread id, 0 until asked */
    uint32_t gen;                 /* this thread's life, for its backtrace memo (0: none yet) */
    uint64_t recorded, memo_hits; /* counted here, added to the totals at scope ends */
    uint64_t prot_next;           /* CLOCK_MONOTONIC ns: protect scope ends from then on */
    /* The run and backtrace of the thread's last record (fast path). */
    struct slab_ck *run_c;  /* its check state, NULL: none */
    struct rec *run_r;      /* its records */
    uintptr_t run_base;     /* its address */
    size_t run_len;         /* its bytes */
    uint64_t run_stamp;     /* its stamp when cached */
    struct memo *last_memo; /* memo entry of the last backtrace */
    uint32_t memo_turn;     /* the next memo way to refill */
    /* The C++ exception objects this thread allocated and that are not
     * freed yet (preload/cxa_exception.c), scanned at scope ends. */
    struct {
        void *obj;
        size_t size;
    } exc[OH_CHECK_EXCEPTIONS];
    uint32_t exc_turn;
} me;

static int my_tid(void)
{
    if (!me.tid) me.tid = (int)gettid();
    return me.tid;
}

/* ---- valgrind ---------------------------------------------------------- */

#if OH_HAVE_VALGRIND
/* memcheck's client requests expand to code the strict flags dislike. */
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wcast-align"
#define VG_CREATE(pool) VALGRIND_CREATE_MEMPOOL(pool, 0, 0)
#define VG_ALLOC(pool, p, n) VALGRIND_MEMPOOL_ALLOC(pool, p, n)
#define VG_FREE(pool, p) VALGRIND_MEMPOOL_FREE(pool, p)
#define VG_CHANGE(pool, a, b, n) VALGRIND_MEMPOOL_CHANGE(pool, a, b, n)
#define VG_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS(p, n)
#define VG_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#define VG_RUNNING() (RUNNING_ON_VALGRIND != 0)
#else
#define VG_CREATE(pool) ((void)(pool))
#define VG_ALLOC(pool, p, n) ((void)(pool), (void)(p), (void)(n))
#define VG_FREE(pool, p) ((void)(pool), (void)(p))
#define VG_CHANGE(pool, a, b, n) ((void)(pool), (void)(a), (void)(b), (void)(n))
#define VG_NOACCESS(p, n) ((void)(p), (void)(n))
#define VG_UNDEFINED(p, n) ((void)(p), (void)(n))
#define VG_RUNNING() false
#endif

/* ---- stack depot ------------------------------------------------------- */

static uint64_t hash_pcs(void *const *pc, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)pc[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h | 2; /* never 0 (empty) nor 1 (being written) */
}

static uint32_t depot_put(void *const *pc, uint32_t n)
{
    uint64_t h = hash_pcs(pc, n);
    uint32_t i = (uint32_t)(h >> 32) & (DEPOT_SLOTS - 1);
    for (uint32_t probe = 0; probe < DEPOT_PROBES; probe++, i = (i + 1) & (DEPOT_SLOTS - 1)) {
        struct stack *e = &ck.depot[i];
        uint64_t k = atomic_load_explicit(&e->key, memory_order_acquire);
        if (k == 0) {
            if (atomic_compare_exchange_strong_explicit(&e->key, &k, 1, memory_order_acquire, memory_order_acquire)) {
                e->n = n;
                memcpy(e->pc, pc, n * sizeof *pc);
                atomic_store_explicit(&e->key, h, memory_order_release);
                COUNT(n_stacks, 1);
                return i + 1;
            }
        }
        if (k == h && e->n == n && !memcmp(e->pc, pc, n * sizeof *pc)) return i + 1;
    }
    return 0;
}

static const struct stack *depot_get(uint32_t id)
{
    if (id == 0 || id > DEPOT_SLOTS) return NULL;
    const struct stack *e = &ck.depot[id - 1];
    return atomic_load_explicit(&e->key, memory_order_acquire) > 1 ? e : NULL;
}

#ifdef OH_HAVE_LIBUNWIND
static bool in_self(const void *pc)
{
    return (uintptr_t)pc - ck.self_lo < ck.self_hi - ck.self_lo;
}
#endif

/* ---- fork safety ------------------------------------------------------- */

/* glibc 2.36 does not reset the loader's dl_iterate_phdr lock in a fork
 * child, and libunwind has locks of its own: a fork while another thread is
 * inside either leaves the child hung at its next scope allocation.  So
 * the fork prepare handler waits until no thread is in there, and threads
 * do not enter while a fork is under way.  Each thread announces itself in
 * its own cache line (indexed by its thread index; index 0, shared by the
 * threads that have none, is a counter like the others). */
#define DL_SLOTS                                                                                                       \
    1024u /* threads above share slots (index modulo DL_SLOTS);
                          they get no backtrace memo (backtrace_id) */
static struct {
    _Atomic uint32_t n;
    char pad[60];
} dl_busy[DL_SLOTS];
static _Atomic bool forking;

static _Atomic uint32_t *dl_slot(void)
{
    return &dl_busy[oh_self.id % DL_SLOTS].n;
}

static void dl_enter(_Atomic uint32_t *slot)
{
    for (;;) {
        atomic_fetch_add_explicit(slot, 1, memory_order_seq_cst);
        if (!atomic_load_explicit(&forking, memory_order_seq_cst)) return;
        atomic_fetch_sub_explicit(slot, 1, memory_order_release);
        while (atomic_load_explicit(&forking, memory_order_acquire)) sched_yield();
    }
}

static void dl_leave(_Atomic uint32_t *slot)
{
    atomic_fetch_sub_explicit(slot, 1, memory_order_release);
}

/* ---- allocation backtraces ------------------------------------------------
 *
 * A full unwind costs ~100 ns, more than an allocation budget allows (the
 * check mode must stay within 3x on the request loop).  So each thread
 * remembers, per (call site, stack position), the backtrace it unwound
 * there last and where on the stack every frame's return address sat; a
 * later allocation from the same site at the same stack position reuses the
 * backtrace after checking that those return addresses are still the same
 * words at the same places (a few loads).  Any difference, and it unwinds
 * again.  The reads stay inside this thread's stack: the same thread saw
 * those addresses as live frames before, and stacks do not shrink.  (Not
 * so for a coroutine stack unmapped and mapped again smaller at the same
 * address, with the same call site at the same depth: not handled.)
 * x86-64 only (the return address of a frame sits just below the caller's
 * stack pointer at the call); elsewhere every allocation unwinds. */
#define MEMO_ENTRIES 1024u /* entries per thread */
#define MEMO_WAYS                                                                                                      \
    4u /* per set: the same call site at the same stack
                              position is often reached by several paths
                              (a recursive parser's value parsed inside an
                              object or an array); one entry per key made
                              those paths evict each other at every call */

struct memo {
    uintptr_t ra;         /* key: the malloc caller's return address */
    uintptr_t ref;        /* key: oh_check_alloc's frame address */
    uint32_t gen;         /* the thread life that filled it */
    uint32_t id;          /* depot id of the backtrace */
    uint32_t n;           /* frames to compare */
    uint32_t off[FRAMES]; /* frame i's return address is at ref + off[i] */
    uintptr_t pc[FRAMES]; /* and is pc[i] (a copy of the depot's, to stay in these lines) */
};

static struct memo *memo_tab; /* DL_SLOTS * MEMO_ENTRIES */
static _Atomic uint32_t memo_gens;
static _Atomic uint64_t n_unwinds, n_memo_hits;

/* Unwind the caller's stack without our own frames (malloc, the engine):
 * its depot id, and in *e (if any) the return-address positions. */
#ifdef OH_HAVE_LIBUNWIND
static uint32_t unwind_full(void *ra, uintptr_t ref, struct memo *e);
#endif

__attribute__((noinline)) static uint32_t unwind(void *ra, uintptr_t ref, struct memo *e)
{
#ifdef OH_HAVE_LIBUNWIND
    if (oh_unw.ready) return unwind_full(ra, ref, e);
#endif
    /* Without libunwind (the build's or the machine's): the block records
     * its immediate caller only, and nothing is memoised. */
    (void)ref, (void)e;
    void *one[1] = {ra};
    COUNT(n_unwinds, 1);
    return depot_put(one, 1);
}

#ifdef OH_HAVE_LIBUNWIND
/* This frame and unwind()'s are in our object: in_self drops them. */
static uint32_t unwind_full(void *ra, uintptr_t ref, struct memo *e)
{
    void *pc[FRAMES];
    uint32_t off[FRAMES];
    uint32_t m = 0, valid = 0;
    bool offs_ok = true;
    unw_context_t ctx;
    unw_cursor_t cur;
    _Atomic uint32_t *slot = dl_slot();
    dl_enter(slot);
    COUNT(n_unwinds, 1);
    if (oh_unw.getcontext(&ctx) == 0 && oh_unw.init_local(&cur, &ctx) == 0) {
        int steps = 0;
        do {
            unw_word_t ip = 0, sp = 0;
            if (oh_unw.get_reg(&cur, UNW_REG_IP, &ip) != 0 || oh_unw.get_reg(&cur, UNW_REG_SP, &sp) != 0) break;
            if (m == 0 && in_self((void *)ip)) continue;
            pc[m] = (void *)ip;
            /* ip (a return address) was pushed just below sp by the call. */
            uintptr_t at = (uintptr_t)sp - sizeof(uintptr_t);
            if (offs_ok && at > ref && at - ref < UINT32_MAX) {
                off[m] = (uint32_t)(at - ref);
                valid = m + 1;
            } else {
                offs_ok = false;
            }
            m++;
        } while (m < FRAMES && ++steps < 64 && oh_unw.step(&cur) > 0);
    }
    dl_leave(slot);
    if (m == 0) {
        pc[0] = ra;
        m = 1;
        valid = 0;
    }
    uint32_t id = depot_put(pc, m);
#if defined(__x86_64__)
    if (e && id && valid == m && (uintptr_t)pc[0] == (uintptr_t)ra) {
        e->ra = (uintptr_t)ra;
        e->ref = ref;
        e->gen = me.gen;
        e->id = id;
        e->n = m;
        for (uint32_t i = 0; i < FRAMES; i++) {
            e->off[i] = off[i < m ? i : 0];
            e->pc[i] = (uintptr_t)pc[i < m ? i : 0];
        }
    }
#else
    (void)e, (void)valid;
#endif
    return id;
}
#endif /* OH_HAVE_LIBUNWIND */

uint32_t oh_check_backtrace_uc(void *uc, void **pc, uint32_t max)
{
    if (!uc || max == 0) return 0;
#ifdef OH_HAVE_LIBUNWIND
    /* On x86-64 and arm64 libunwind's unw_context_t is the ucontext_t. */
    unw_cursor_t cur;
    uint32_t m = 0;
    _Atomic uint32_t *slot = dl_slot();
    dl_enter(slot);
    if (oh_unw.ready && oh_unw.init_local2(&cur, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) == 0) {
        do {
            unw_word_t ip = 0;
            if (oh_unw.get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0) break;
            pc[m++] = (void *)ip;
        } while (m < max && oh_unw.step(&cur) > 0);
    }
    dl_leave(slot);
    if (m) return m;
#endif
#if defined(__x86_64__)
    pc[0] = (void *)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
    return 1;
#elif defined(__aarch64__)
    pc[0] = (void *)((ucontext_t *)uc)->uc_mcontext.pc;
    return 1;
#else
    return 0;
#endif
}

/* Is e the backtrace of this allocation? */
static inline bool memo_hit(const struct memo *e, void *ra, uintptr_t ref)
{
    if (e->ra != (uintptr_t)ra || e->ref != ref || e->gen != me.gen) return false;
    /* All FRAMES slots (unused ones repeat frame 0): no loop counter. */
    uintptr_t diff = 0;
    for (uint32_t i = 0; i < FRAMES; i++) diff |= *(const uintptr_t *)(ref + e->off[i]) ^ e->pc[i];
    if (diff) return false;
    me.memo_hits++;
    return true;
}

/* The depot id of the caller's backtrace; ref is the caller's own frame
 * address (the same for the same path through the preload). */
static uint32_t backtrace_id(void *ra, uintptr_t ref)
{
    struct memo *e = NULL;
    uint32_t tix = oh_self.id;
    if (memo_tab && tix && tix < DL_SLOTS) {
        if (!me.gen) me.gen = atomic_fetch_add_explicit(&memo_gens, 1, memory_order_relaxed) + 1;
        uint64_t h = ((uint64_t)(uintptr_t)ra ^ ((uint64_t)ref << 17)) * 0x9e3779b97f4a7c15ull;
        struct memo *set = &memo_tab[(size_t)tix * MEMO_ENTRIES + (size_t)(h >> 56) * MEMO_WAYS];
        for (uint32_t w = 0; w < MEMO_WAYS; w++) {
            if (memo_hit(&set[w], ra, ref)) {
                me.last_memo = &set[w];
                return set[w].id;
            }
        }
        /* Refill an entry of an earlier thread life, else the next one in
         * turn. */
        e = NULL;
        for (uint32_t w = 0; w < MEMO_WAYS && !e; w++) {
            if (set[w].gen != me.gen) e = &set[w];
        }
        if (!e) e = &set[me.memo_turn++ % MEMO_WAYS];
        me.last_memo = e;
    }
    return unwind(ra, ref, e);
}

/* ---- block records ----------------------------------------------------- */

static struct rec *recs_of(uint32_t first)
{
    return ck.recs + (size_t)first * ck.rec_cap;
}

/* The run that p was just carved from: the bump slab, else (a large block)
 * the newest run. */
static uint32_t run_of(const struct oh_thread *t, const void *p)
{
    uint32_t s = t->slab;
    if (s != OH_SLAB_NONE) {
        const char *b = oh_proc_slab(s);
        if ((const char *)p >= b && (const char *)p < b + oh_proc_slab_size()) return s;
    }
    return t->head;
}

static void alloc_slow(struct oh_thread *t, void *p, size_t usable, void *ra, uintptr_t ref);

void oh_check_alloc(struct oh_thread *t, void *p, size_t usable, void *ra)
{
    /* ref: this frame's address, the same for the same path through the
     * preload (alloc_slow is given it, not its own). */
    uintptr_t ref = (uintptr_t)__builtin_frame_address(0);
    /* Fast path: the same run as the thread's last record and the same
     * backtrace as its last allocation. */
    struct slab_ck *c = me.run_c;
    uintptr_t off = (uintptr_t)p - me.run_base;
    if (__builtin_expect(c && off < me.run_len && c->stamp == me.run_stamp && c->nrec - 1 < ck.rec_cap - 1 &&
                             me.run_r[c->nrec - 1].off < off && !me.busy,
                         1) &&
        memo_hit(me.last_memo, ra, ref)) {
        struct rec *nr = &me.run_r[c->nrec];
        nr->off = (uint32_t)off;
        nr->size = usable > UINT32_MAX ? UINT32_MAX : (uint32_t)usable;
        nr->stack = me.last_memo->id;
        c->nrec++;
        me.recorded++;
        return;
    }
    alloc_slow(t, p, usable, ra, ref);
}

/* Everything else: a new run, another call site, valgrind. */
__attribute__((noinline, cold)) static void alloc_slow(struct oh_thread *t, void *p, size_t usable, void *ra,
                                                       uintptr_t ref)
{
    if (!ck.ready || me.busy) return;
    uint32_t size32 = usable > UINT32_MAX ? UINT32_MAX : (uint32_t)usable;
    struct slab_ck *c;
    uintptr_t off;
    me.busy = true;
    uint32_t s = run_of(t, p);
    if (s != OH_SLAB_NONE) {
        c = &ck.sl[s];
        const struct oh_slab_meta *m = oh_proc_meta(s);
        uint64_t stamp = (uint64_t)m->owner << 32 | m->seq;
        char *base = oh_proc_slab(s);
        off = (uintptr_t)p - (uintptr_t)base;
        struct rec *r = recs_of(s);
        if (c->stamp != stamp || (c->nrec && r[c->nrec - 1].off >= off)) {
            c->stamp = stamp;
            c->nrec = 0;
        }
        if (c->nrec < ck.rec_cap && off <= UINT32_MAX) {
            struct rec *nr = &r[c->nrec];
            nr->off = (uint32_t)off;
            nr->size = size32;
            nr->stack = backtrace_id(ra, ref);
            c->nrec++;
            me.recorded++;
            if (nr->stack == 0) COUNT(n_unrecorded, 1);
            /* The fast path needs a record before it and a memo entry. */
            me.run_c = ck.valgrind || !me.last_memo ? NULL : c;
            me.run_r = r;
            me.run_base = (uintptr_t)base;
            size_t rb = (size_t)m->run << oh_proc_shift();
            me.run_len = rb < UINT32_MAX ? rb : UINT32_MAX;
            me.run_stamp = stamp;
            if (ck.valgrind) {
                if (!me.vg_pool) {
                    VG_CREATE(t);
                    me.vg_pool = true;
                }
                VG_ALLOC(t, p, usable);
            }
        }
    }
    me.busy = false;
}

void oh_check_resize(void *p, size_t usable)
{
    if (!ck.ready) return;
    /* The grown block is the thread's newest: the last record of its run. */
    struct slab_ck *c = me.run_c;
    if (c && c->nrec && me.run_base + me.run_r[c->nrec - 1].off == (uintptr_t)p)
        me.run_r[c->nrec - 1].size = usable > UINT32_MAX ? UINT32_MAX : (uint32_t)usable;
    if (ck.valgrind && me.vg_pool) VG_CHANGE(&oh_self, p, p, usable);
}

/* The record of the block holding address a in the retired run starting at
 * `first` (the block's 8-byte header counts as its own), or NULL. */
static const struct rec *find_block(uint32_t first, uintptr_t a)
{
    const struct slab_ck *c = &ck.sl[first];
    const struct rec *r = recs_of(first);
    uintptr_t off = a - (uintptr_t)oh_proc_slab(first);
    uint32_t lo = 0, hi = c->nrec < ck.rec_cap ? c->nrec : (uint32_t)ck.rec_cap;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r[mid].off <= off + OH_BLOCK_HDR) lo = mid + 1;
        else hi = mid;
    }
    return lo ? &r[lo - 1] : NULL;
}

/* ---- reports ----------------------------------------------------------- */

/* ---- what the reports read (check_internal.h) -------------------------- */

bool oh_check_dying(uintptr_t a, struct oh_check_death *d)
{
    if (!ck.ready || !oh_in_pool((void *)a)) return false;
    const struct slab_ck *c = &ck.sl[oh_proc_index((void *)a)];
    if (!atomic_load_explicit(&c->dying, memory_order_acquire)) return false;
    d->first = c->first;
    d->tid = c->tid;
    d->site = ck.sl[c->first].site;
    return true;
}

bool oh_check_find(uint32_t first, uintptr_t a, struct oh_check_block *b)
{
    const struct rec *r = find_block(first, a);
    if (!r) return false;
    b->addr = (uintptr_t)oh_proc_slab(first) + r->off;
    b->size = r->size;
    const struct stack *st = depot_get(r->stack);
    b->npc = st ? st->n : 0;
    b->pc = st ? st->pc : NULL;
    return true;
}

bool oh_check_last(uintptr_t a, struct oh_check_death *d)
{
    if (!ck.ready || !oh_in_pool((void *)a)) return false;
    uint32_t s = oh_proc_index((void *)a);
    /* Still free since its release (owner 0): the records are its last
     * life's.  first/site were written at that retire. */
    if (atomic_load_explicit((_Atomic uint32_t *)&oh_proc_meta(s)->owner, memory_order_relaxed) != 0) return false;
    const struct slab_ck *c = &ck.sl[s];
    if (!c->site || c->first >= oh_proc_count() || !ck.sl[c->first].nrec) return false;
    d->first = c->first;
    d->tid = c->tid;
    d->site = ck.sl[c->first].site;
    return true;
}

void oh_check_set_busy(bool busy)
{
    me.busy = busy;
}

int oh_check_tid(void)
{
    return my_tid();
}

/* realloc(p) of a pool block: a block in a run retired by a scope end (in
 * the quarantine or dying), or in a run that went back to the supply and
 * is free, is released memory.  A run reused by a newer scope is not
 * recognised here (its memory is live again; the realloc copies what lives
 * there now). */
void oh_check_realloc(void *p, size_t n, void *ra)
{
    if (!ck.ready || me.busy || !oh_in_pool(p)) return;
    uintptr_t a = (uintptr_t)p;
    uint32_t s = oh_proc_index(p);
    struct oh_check_death d;
    bool dying = oh_check_dying(a, &d);
    if (!dying) {
        uint32_t owner = atomic_load_explicit((_Atomic uint32_t *)&oh_proc_meta(s)->owner, memory_order_relaxed);
        if (owner != 0) return;
        const struct slab_ck *c = &ck.sl[s];
        d.first = c->nrec ? s : c->first;
        d.tid = ck.sl[d.first].tid;
        d.site = ck.sl[d.first].site;
    }
    me.busy = true;
    /* The realloc's caller: its backtrace, as an allocation's is taken. */
    uint32_t id = unwind(ra, (uintptr_t)__builtin_frame_address(0), NULL);
    const struct stack *st = depot_get(id);
    void *one[1] = {ra};
    oh_check_report_realloc(p, n, &d, dying, st ? st->pc : one, st ? st->n : 1);
    me.busy = false;
}

/* ---- exception objects ----------------------------------------------------- */

void oh_check_exception_alloc(void *obj, size_t size)
{
    for (uint32_t i = 0; i < OH_CHECK_EXCEPTIONS; i++) {
        if (!me.exc[i].obj) {
            me.exc[i].obj = obj;
            me.exc[i].size = size;
            return;
        }
    }
    /* More live ones than remembered (nested rethrows, exception_ptrs):
     * the oldest is forgotten. */
    uint32_t i = me.exc_turn++ % OH_CHECK_EXCEPTIONS;
    me.exc[i].obj = obj;
    me.exc[i].size = size;
}

void oh_check_exception_free(void *obj)
{
    for (uint32_t i = 0; i < OH_CHECK_EXCEPTIONS; i++) {
        if (me.exc[i].obj == obj) me.exc[i].obj = NULL;
    }
}

/* The thread's live exception objects that hold a pointer into the runs of
 * generation gen (the scope that is ending): reported, one line each,
 * with the first such member and the block it points to. */
static void scan_exceptions(uint32_t gen, void *site)
{
    for (uint32_t i = 0; i < OH_CHECK_EXCEPTIONS; i++) {
        const uintptr_t *w = me.exc[i].obj;
        /* Thrown ones only (libstdc++'s header says so): one freed on
         * another thread (its last std::exception_ptr dropped there) is
         * still in this table, and its memory may hold anything now. */
        if (!w || !oh_check_thrown_type(w)) continue;
        size_t words = me.exc[i].size / sizeof *w;
        uint32_t hits = 0;
        size_t first = 0;
        for (size_t k = 0; k < words; k++) {
            uintptr_t v = w[k];
            if (!oh_in_pool((void *)v)) continue;
            if (atomic_load_explicit(&ck.sl[oh_proc_index((void *)v)].dying, memory_order_acquire) != gen) continue;
            if (!hits) first = k;
            hits++;
        }
        if (hits) oh_check_report_exception(me.exc[i].obj, me.exc[i].size, first * sizeof *w, w[first], hits, site);
    }
}

/* ---- global scan ------------------------------------------------------- */

struct scan {
    uint32_t gen;      /* generation of the dying runs */
    uint32_t reported; /* reports in this scan */
    void *site;        /* begin site of the ending scope */
};

/* Words of [lo, hi) that point into retired runs (the dying ones or those
 * still in the quarantine).  Eight words at a time
 * without a branch (the compiler may vectorise it); only a block with a hit
 * is looked at word by word. */
static void scan_range(struct scan *sc, const struct dl_phdr_info *info, uintptr_t lo, uintptr_t hi)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    hi &= ~(uintptr_t)(sizeof(uintptr_t) - 1);
    if (hi <= lo) return;
    const uintptr_t pbase = oh_pool_base, psize = oh_pool_size;
    const unsigned shift = oh_proc_shift();
    COUNT(n_scanned, hi - lo);
    const uintptr_t *w = (const uintptr_t *)lo, *end = (const uintptr_t *)hi;
    while (w < end) {
        size_t k = (size_t)(end - w) < 8 ? (size_t)(end - w) : 8;
        uintptr_t any = 0;
        if (k == 8) {
            for (size_t j = 0; j < 8; j++) any |= (uintptr_t)(w[j] - pbase < psize);
        } else {
            any = 1;
        }
        if (__builtin_expect(any != 0, 0)) {
            for (size_t j = 0; j < k; j++) {
                uintptr_t v = w[j];
                if (v - pbase >= psize) continue;
                uint32_t s = (uint32_t)((v - pbase) >> shift);
                uint32_t d = atomic_load_explicit(&ck.sl[s].dying, memory_order_relaxed);
                if (d) oh_check_report_global(info, &w[j], v, d == sc->gen, sc->site, &sc->reported);
            }
        }
        w += k;
    }
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct scan *sc = data;
    uintptr_t self = (uintptr_t)&oh_check_on;
    uintptr_t rlo = 0, rhi = 0;
    if (info->dlpi_name && oh_caller_own_dependency(info->dlpi_name)) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && self - lo < ph->p_memsz) return 0; /* our own tables */
        if (ph->p_type == PT_GNU_RELRO) {
            /* Read-only after relocation: no scope pointer can be there. */
            rlo = lo;
            rhi = lo + ph->p_memsz;
        }
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (rhi > rlo && rlo < hi && rhi > lo) {
            scan_range(sc, info, lo, rlo > lo ? rlo : lo);
            scan_range(sc, info, rhi < hi ? rhi : hi, hi);
        } else {
            scan_range(sc, info, lo, hi);
        }
    }
    return 0;
}

/* ---- quarantine -------------------------------------------------------- */

static void qlock(void)
{
    while (atomic_flag_test_and_set_explicit(&ck.qlock, memory_order_acquire)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static void qunlock(void)
{
    atomic_flag_clear_explicit(&ck.qlock, memory_order_release);
}

/* fork: the child must not inherit the lock held by a thread it lacks. */
static void fork_prepare(void)
{
    atomic_store_explicit(&forking, true, memory_order_seq_cst);
    for (uint32_t i = 0; i < DL_SLOTS; i++) {
        while (atomic_load_explicit(&dl_busy[i].n, memory_order_seq_cst)) sched_yield();
    }
    qlock();
}

static void fork_parent_child(void)
{
    qunlock();
    atomic_store_explicit(&forking, false, memory_order_release);
}

static size_t run_bytes(uint32_t first)
{
    return (size_t)oh_proc_meta(first)->run << oh_proc_shift();
}

/* Out of the quarantine: accessible again, forgotten, back to the supply.
 * The runs come oldest first, which is usually address order (the supply
 * hands out the lowest free slab): adjacent runs are unprotected with one
 * call, and all are returned under one lock. */
static void unprotect(uintptr_t lo, uintptr_t hi)
{
    if (ck.valgrind) VG_UNDEFINED((void *)lo, hi - lo);
    else (void)oh_os_protect((void *)lo, hi - lo, OH_PROT_RW);
}

static void evict(const uint32_t *runs, unsigned n)
{
    /* Pending range [lo, hi) to unprotect; run_end: end of its last run.
     * A run's unprotected tail lies between its protected prefix and the
     * next run: it is read-write already and ours, so it may be spanned. */
    uintptr_t lo = 0, hi = 0, run_end = 0;
    for (unsigned i = 0; i < n; i++) {
        uintptr_t base = (uintptr_t)oh_proc_slab(runs[i]);
        uintptr_t prot = base + ck.sl[runs[i]].prot;
        if (prot == base) continue;
        if (hi > lo && base == run_end) {
            hi = prot;
        } else {
            if (hi > lo) unprotect(lo, hi);
            lo = base;
            hi = prot;
        }
        run_end = base + run_bytes(runs[i]);
    }
    if (hi > lo) unprotect(lo, hi);
    for (unsigned i = 0; i < n; i++) {
        uint32_t f = runs[i], k = oh_proc_meta(f)->run;
        for (uint32_t j = f; j < f + k; j++) atomic_store_explicit(&ck.sl[j].dying, 0, memory_order_release);
        ck.sl[f].nrec = 0;
        ck.sl[f].stamp = 0;
        ck.sl[f].prot = 0;
        oh_proc_meta(f)->next = i + 1 < n ? runs[i + 1] : OH_SLAB_NONE;
    }
    if (n) (void)oh_proc_release_chain(runs[0], OH_SLAB_NONE);
    COUNT(n_evicted, n);
}

static bool q_full(size_t bytes)
{
    return ck.qlen == Q_RUNS || ck.qbytes + bytes > ck.qlimit;
}

#define EVICT_BATCH 16u

/* Take up to EVICT_BATCH of the oldest runs off the quarantine (lock held). */
static unsigned q_pop_batch(uint32_t out[EVICT_BATCH])
{
    unsigned n = 0;
    while (ck.qlen && n < EVICT_BATCH) {
        uint32_t f = ck.q[ck.qhead];
        ck.qhead = (ck.qhead + 1) % Q_RUNS;
        ck.qlen--;
        ck.qbytes -= run_bytes(f);
        out[n++] = f;
    }
    return n;
}

static void quarantine_put(uint32_t first, size_t bytes)
{
    for (;;) {
        uint32_t out[EVICT_BATCH];
        unsigned nout = 0;
        bool done = false;
        qlock();
        /* Make room for a batch, not just this run: fewer calls. */
        if (ck.qlen && q_full(bytes)) nout = q_pop_batch(out);
        if (!ck.qlen || !q_full(bytes)) {
            ck.q[(ck.qhead + ck.qlen) % Q_RUNS] = first;
            ck.qlen++;
            ck.qbytes += bytes;
            /* Bounded in runs and bytes; one run alone may exceed the
             * byte bound (it is then the only one held). */
            OH_ASSERT(ck.qlen <= Q_RUNS && (ck.qbytes <= ck.qlimit || ck.qlen == 1));
            if (ck.qbytes > atomic_load_explicit(&n_qpeak, memory_order_relaxed))
                atomic_store_explicit(&n_qpeak, ck.qbytes, memory_order_relaxed);
            done = true;
        }
        qunlock();
        evict(out, nout);
        if (done) return;
    }
}

size_t oh_check_drain(void)
{
    if (!ck.ready) return 0;
    size_t runs = 0;
    for (;;) {
        uint32_t out[EVICT_BATCH];
        qlock();
        unsigned nout = q_pop_batch(out);
        qunlock();
        if (!nout) return runs;
        evict(out, nout);
        runs += nout;
    }
}

/* ---- scope end ----------------------------------------------------------- */

/* The global scan runs at a scope end only if the time since the last one
 * is SCAN_SPACING times what that one took: at most 1/(1+SCAN_SPACING) of
 * the time goes to scanning, whatever the size of the program's data.
 * A scan reports words pointing into any run still in the quarantine, so a
 * global left dangling by a scope end that was not scanned is still found
 * by a later scan. */
#define SCAN_SPACING 19u

/* Protection (mprotect at the scope end and again when the run leaves the
 * quarantine) costs a few microseconds per scope here, more than a short
 * request costs without check mode.  So each thread protects a scope's
 * runs only when the time since its last protecting scope end is
 * PROTECT_SPACING times what that one took (protection and quarantine work
 * stay under 1/(1+PROTECT_SPACING) of its time): a program whose scopes
 * last longer than that (about 20 us here) has every scope protected; a
 * tighter loop has a sample of them protected.  The others are still
 * quarantined, scanned for, and have the first bytes of every block
 * poisoned. */
#define PROTECT_SPACING 4u
#define POISON_HEAD 16u /* bytes poisoned at the start of each block */

static void poison_heads(uint32_t first, char *base)
{
    const struct rec *r = recs_of(first);
    uint32_t n = ck.sl[first].nrec < ck.rec_cap ? ck.sl[first].nrec : (uint32_t)ck.rec_cap;
    const uint64_t pat = 0x0101010101010101ull * POISON;
    for (uint32_t i = 0; i < n; i++) {
        /* Blocks are 16-byte aligned; a large aligned block may have
         * no usable byte at all (it ends its run). */
        uint64_t *p = (uint64_t *)(void *)(base + r[i].off);
        if (r[i].size >= 8) p[0] = pat;
        if (r[i].size >= POISON_HEAD) p[1] = pat;
    }
}
static _Atomic uint64_t scan_next; /* CLOCK_MONOTONIC ns */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t oh_check_retire(struct oh_thread *t, uint32_t head, uint32_t stop, void *site)
{
    if (!ck.ready) {
        for (uint32_t s = head; s != stop && s != OH_SLAB_NONE; s = oh_proc_meta(s)->next)
            memset(oh_proc_slab(s), POISON, run_bytes(s));
        return oh_proc_release_chain(head, stop);
    }
    bool was_busy = me.busy;
    me.busy = true;
    me.run_c = NULL; /* its runs die */
    COUNT(n_recorded, me.recorded);
    COUNT(n_memo_hits, me.memo_hits);
    me.recorded = me.memo_hits = 0;
    uint32_t gen = atomic_fetch_add_explicit(&ck.gen, 1, memory_order_relaxed) + 1;
    if (gen == 0) gen = atomic_fetch_add_explicit(&ck.gen, 1, memory_order_relaxed) + 1;
    int tid = my_tid();

    /* 1. Mark the runs: from here on a fault on them is ours. */
    for (uint32_t s = head; s != stop && s != OH_SLAB_NONE; s = oh_proc_meta(s)->next) {
        uint32_t n = oh_proc_meta(s)->run;
        for (uint32_t i = s; i < s + n; i++) {
            ck.sl[i].first = s;
            ck.sl[i].site = site;
            ck.sl[i].tid = tid;
            atomic_store_explicit(&ck.sl[i].dying, gen, memory_order_release);
        }
    }

    /* 1b. The thread's live C++ exception objects (one thrown out of the
     * scope is unwinding through its end now). */
    scan_exceptions(gen, site);

    /* 2. Globals that still point into them (or into older retired runs),
     * when the scan is due. */
    uint64_t t0 = now_ns();
    if (t0 >= atomic_load_explicit(&scan_next, memory_order_relaxed)) {
        struct scan sc = {.gen = gen, .site = site};
        _Atomic uint32_t *slot = dl_slot();
        dl_enter(slot);
        (void)dl_iterate_phdr(scan_object, &sc);
        dl_leave(slot);
        uint64_t t1 = now_ns();
        atomic_store_explicit(&scan_next, t1 + SCAN_SPACING * (t1 - t0), memory_order_relaxed);
        COUNT(n_scans, 1);
    }

    /* 3. Protect when the thread's budget allows (see PROTECT_SPACING),
     * else poison the first bytes of every block; poison what could not
     * be protected; quarantine either way. */
    uint64_t t2 = now_ns();
    bool protect = !ck.valgrind && t2 >= me.prot_next;
    size_t total = 0, page = oh_os_page_size();
    uint32_t s = head, back = OH_SLAB_NONE; /* runs going straight back */
    while (s != stop && s != OH_SLAB_NONE) {
        uint32_t next = oh_proc_meta(s)->next;
        size_t bytes = run_bytes(s);
        char *base = oh_proc_slab(s);
        size_t used = bytes;
        if (s == t->slab && t->cur > base && t->cur <= base + bytes)
            used = ((size_t)(t->cur - base) + page - 1) & ~(page - 1);
        ck.sl[s].prot = 0;
        if (ck.valgrind) {
            memset(base, POISON, used);
            const struct rec *r = recs_of(s);
            for (uint32_t i = 0; i < ck.sl[s].nrec && i < ck.rec_cap; i++) VG_FREE(t, base + r[i].off);
            VG_NOACCESS(base, bytes);
        } else if (protect) {
            /* The block heads are poisoned too: that is what a stale
             * pointer reads once the run has left the quarantine. */
            poison_heads(s, base);
            if (oh_os_protect(base, bytes, OH_PROT_NONE) == 0) {
                /* The whole run, not just its used part: runs are handed
                 * out in address order, so neighbouring protected runs
                 * share one kernel mapping instead of splitting it at
                 * every scope end. */
                ck.sl[s].prot = bytes;
                COUNT(n_protected, 1);
            } else {
                COUNT(n_protect_failed, 1);
                memset(base, POISON, used);
            }
        } else {
            /* Not protected: poisoned heads, and straight back to the
             * supply (keeping it out of reuse would catch nothing and
             * would cost cache misses: the next scope reuses it warm). */
            poison_heads(s, base);
            COUNT(n_sampled_out, 1);
            for (uint32_t i = s; i < s + oh_proc_meta(s)->run; i++)
                atomic_store_explicit(&ck.sl[i].dying, 0, memory_order_release);
            /* The records stay until the run's next life (a new stamp)
             * resets them: a realloc or a late free of one of its blocks
             * while the run is free is still described (oh_check_realloc,
             * oh_check_last). */
            oh_proc_meta(s)->next = back;
            back = s;
            total += bytes;
            s = next;
            continue;
        }
        oh_proc_meta(s)->next = OH_SLAB_NONE;
        quarantine_put(s, bytes);
        COUNT(n_retired_runs, 1);
        total += bytes;
        s = next;
    }
    if (back != OH_SLAB_NONE) (void)oh_proc_release_chain(back, OH_SLAB_NONE);
    uint64_t cost = (now_ns() - t2) * PROTECT_SPACING;
    me.prot_next = protect ? t2 + cost + cost / PROTECT_SPACING : me.prot_next + cost;
    me.busy = was_busy;
    return total;
}

/* ---- init ---------------------------------------------------------------- */

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    uintptr_t lo, hi;
    if (!oh_elf_load_span(info, (uintptr_t)&oh_check_on, &lo, &hi)) return 0;
    ck.self_lo = lo;
    ck.self_hi = hi;
    return 1;
}

void oh_check_init(void)
{
    oh_check_on = true;
    (void)dl_iterate_phdr(find_self, NULL);
#ifdef OH_HAVE_LIBUNWIND
    (void)oh_unwind_load();
#endif
    ck.valgrind = VG_RUNNING();
    ck.rec_cap = oh_proc_slab_size() / 16;
    ck.sl = oh_os_reserve_pages((size_t)oh_proc_count() * sizeof *ck.sl);
    ck.recs = oh_os_reserve_pages((size_t)oh_proc_count() * ck.rec_cap * sizeof *ck.recs);
    ck.depot = oh_os_reserve_pages((size_t)DEPOT_SLOTS * sizeof *ck.depot);
    ck.q = oh_os_reserve_pages(Q_RUNS * sizeof *ck.q);
    memo_tab = oh_os_reserve_pages((size_t)DL_SLOTS * MEMO_ENTRIES * sizeof *memo_tab); /* optional */
    if (!ck.sl || !ck.recs || !ck.depot || !ck.q) {
        oh_log("check mode: cannot map its side tables (address space?); released scope memory is only "
               "poisoned, without reports");
        return;
    }
    ck.qlimit = oh_proc_size() / 4 < Q_BYTES ? oh_proc_size() / 4 : Q_BYTES;
    oh_check_install_handlers();
    if (pthread_atfork(fork_prepare, fork_parent_child, fork_parent_child) != 0)
        oh_log("check mode: cannot register its fork handlers; a fork during a scope end may hang the child");
    ck.ready = true;
    if (oh_cfg.verbose)
        oh_log("check mode: backtraces, quarantine of %zu bytes / %u runs, global scan%s", ck.qlimit, Q_RUNS,
               ck.valgrind ? ", memcheck mempool (no PROT_NONE)" : ", PROT_NONE + SIGSEGV report");
}

/* ---- counters ------------------------------------------------------------ */

#define CHECK_FIELDS(X)                                                                                                \
    X(check_blocks_recorded, n_recorded)                                                                               \
    X(check_blocks_without_backtrace, n_unrecorded)                                                                    \
    X(check_backtraces_distinct, n_stacks)                                                                             \
    X(check_backtraces_reused, n_memo_hits)                                                                            \
    X(check_unwinds, n_unwinds)                                                                                        \
    X(check_runs_quarantined, n_retired_runs)                                                                          \
    X(check_runs_protected, n_protected)                                                                               \
    X(check_runs_not_protected, n_sampled_out)                                                                         \
    X(check_protect_failed, n_protect_failed)                                                                          \
    X(check_runs_released, n_evicted)                                                                                  \
    X(check_quarantine_peak_bytes, n_qpeak)                                                                            \
    X(check_global_scans, n_scans)                                                                                     \
    X(check_global_bytes_scanned, n_scanned)                                                                           \
    X(check_globals_reported, oh_check_n_globals)                                                                      \
    X(check_exceptions_reported, oh_check_n_exceptions)                                                                \
    X(check_reports_suppressed, oh_check_n_suppressed)                                                                 \
    X(check_faults_reported, oh_check_n_faults)

#define LOADC(c) (unsigned long long)atomic_load_explicit(&(c), memory_order_relaxed)

size_t oh_check_fields(char *buf, size_t cap, int json)
{
    size_t n = 0;
    if (!oh_check_on || cap == 0) return 0;
    buf[0] = '\0';
    COUNT(n_recorded, me.recorded); /* the calling thread's, not yet added */
    COUNT(n_memo_hits, me.memo_hits);
    me.recorded = me.memo_hits = 0;
#define J(name, c) n += oh_format(buf + n, cap - n, ",\"%s\":%llu", #name, LOADC(c));
#define T(name, c) n += oh_format(buf + n, cap - n, "  %-30s %llu\n", #name, LOADC(c));
    if (json) {
        CHECK_FIELDS(J)
    } else {
        CHECK_FIELDS(T)
    }
#undef J
#undef T
    return n;
}

int oh_check_report(int fd, int json)
{
    if (!oh_check_on) return 0;
    char buf[2048];
    size_t n = oh_format(buf, sizeof buf, json ? "{\"liboffheap_check\":{\"check\":1" : "liboffheap check mode:\n");
    n += oh_check_fields(buf + n, sizeof buf - n, json);
    if (json) n += oh_format(buf + n, sizeof buf - n, "}}\n");
    return oh_write_all(fd, buf, n);
}
