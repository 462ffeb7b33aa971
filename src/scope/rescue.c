/* SPDX-License-Identifier: MIT */
/*
 * rescue.c — probation, the rescue scan and stale frees (rescue.h).
 *
 * The probation log of a thread records (block offset in the pool, site)
 * for every block an unknown site allocated since the thread's outermost
 * scope began.  Offsets, not addresses: the logs lie in memory the scan
 * reads, and an offset never looks like a pointer into the pool.
 *
 * A rescue (oh_rescue_end) holds the rescue lock: one scan at a time, and
 * its scratch tables are static.  Its steps:
 *   1. targets: the runs the ending level releases, each with the part of
 *      it the level used, sorted by address;
 *   2. roots: every readable, writable, private mapping of the process
 *      except the pool, liboffheap's own data and that of the libraries it
 *      brings (jemalloc, libunwind), and the ending thread's stack; then
 *      the thread's TLS blocks and its thread descriptor; then the runs
 *      pinned before.  Memory other threads may unmap at any moment is read
 *      through oh_os_read_self, which turns a vanished page into a short
 *      read instead of a fault;
 *   3. a word that points into an unpinned target pins it; pinned targets
 *      are scanned in turn (their blocks may hold the only references to
 *      other blocks of the scope);
 *   4. the referenced blocks are found in the log: their sites are learned
 *      (a library is routed to the heap, a program site alone), and every
 *      other logged site is cleared;
 *   5. pinned runs get meta.owner = OH_OWNER_PINNED; the scope engine takes
 *      them out of the thread's chain (scope.c), and they stay in the
 *      rescue's list, roots of every later rescue.
 */
#include "scope/rescue.h"

#include "core/elf_dyn.h"
#include "core/invariant.h"
#include "core/log.h"
#include "core/os.h"
#include "core/tid.h"
#include "core/util.h"
#include "scope/block.h"
#include "scope/caller.h"
#include "scope/deps.h"
#include "scope/check.h"
#include "scope/config.h"
#include "scope/proc.h"
#include "scope/sites.h"
#include "scope/symbolize.h"
#include "scope/thread.h"

#include <link.h>
#include <pthread.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define OH_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef OH_UNDER_VALGRIND
#define OH_UNDER_VALGRIND() false
#endif
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define LOG_CAP (1u << 16)    /* blocks recorded per probation */
#define READ_CHUNK (64u << 10) /* bytes read from other mappings at once */
#define RES_PAGES 4096u       /* pages asked about per mincore call */
#define HITS_CAP 4096u        /* referenced addresses kept for attribution */
#define SEEN_CAP 256u         /* busy sites counted in one judgment */
#define HERD 8u               /* threads on probation at once before judging waits */
#define DESCRIPTOR_BYTES 4096u /* struct pthread is smaller (2304 bytes in glibc 2.36) */
#define SKIP_CAP (64u + OH_MAX_THREADS)

struct plog_entry {
    uint64_t off;  /* user pointer - pool base */
    uintptr_t site;
};

/* Marks a log entry whose block was learned from (user-space code
 * addresses never have the top two bits set). */
#define LEARNED ((uintptr_t)1 << 63)
/* Marks a log entry whose block its scope freed (mark_freed). */
#define FREED ((uintptr_t)1 << 62)
#define SITE_OF(e) ((e)->site & ~(LEARNED | FREED))

/* A heap block a routed site allocated while the thread was on probation:
 * if it holds the only reference to a scope block, who allocated it tells
 * whose the reference is. */
#define HLOG_CAP 4096u
struct hlog_entry {
    uintptr_t addr;
    uintptr_t size;
    uintptr_t site;
};

/* A scope block freed while the thread was on probation, and how many
 * blocks the log held then: only an entry recorded before the free is that
 * block (an inner scope's end may have rewound, and a later block of the
 * same scope may sit at the same address). */
#define FLOG_CAP (1u << 16)
struct flog_entry {
    uint64_t off; /* user pointer - pool base */
    uint64_t n;   /* log length at the free */
};

struct oh_plog {
    uint32_t n;        /* entries */
    uint32_t overflow; /* blocks not recorded (log full) */
    uint32_t hn;       /* heap entries */
    uint32_t fn;       /* frees recorded (f); past FLOG_CAP, not recorded:
                          those blocks are judged as if live */
    struct plog_entry e[LOG_CAP];
    struct hlog_entry h[HLOG_CAP];
    struct flog_entry f[FLOG_CAP];
};

struct target {
    uintptr_t lo, hi; /* the part of the run the level used */
    uint32_t first;   /* first slab of the run */
    bool pinned;
    bool whole;       /* a reference into it that no recorded block explains:
                         its whole used part must be scanned (conservative) */
    uintptr_t why;    /* where the first reference to it was found */
    uintptr_t what;   /* and what it pointed to */
};

struct range {
    uintptr_t lo, hi;
};

/* A word pointing into a target: its value, and where it was found (the
 * address in the process, for the report). */
struct hitrec {
    uintptr_t value;
    uintptr_t where;
    bool tls; /* where is in a TLS block */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Scratch of one rescue (under lock), mapped at the first rescue. */
static struct {
    struct target *t; /* oh_proc_count() entries */
    uint32_t nt;
    uintptr_t tlo, thi;   /* bounds of all targets */
    uint32_t *queue;      /* pinned targets not yet scanned (indices) */
    uint32_t nqueue;
    struct hitrec *hits;  /* referenced addresses (HITS_CAP) */
    uintptr_t seen[SEEN_CAP]; /* busy sites counted in this judgment */
    uint32_t nhits;
    char *buf;            /* READ_CHUNK */
    unsigned char *res;   /* RES_PAGES residency bytes */
    struct range *skip;   /* never scanned (SKIP_CAP, sorted) */
    uint32_t nskip;
    struct range *fixed;  /* the skips of every rescue (sorted), copied
                             into skip first: sorting skip reorders it */
    uint32_t nskip_fixed;
    uint64_t bytes;       /* root bytes read */
    bool read_direct;     /* oh_os_read_self is refused: read in place */
} sc;

/* Runs pinned so far (first slabs), under lock. */
static uint32_t *pinned;
static uint32_t npinned;

/* Pending: while scopes on probation run on other threads, a rescue scans
 * only its own thread's TLS and keeps the rest of its scope's runs aside
 * (a library first used by two threads at once may build its shared state
 * in one scope and link the other's blocks into it); the last of them to
 * end judges them all at once, with their records.  Under lock. */
#define PENDING_LOG_CAP (1u << 16)
#define BUSY_SLOTS (1u << 16)
static uintptr_t *busy; /* sites other threads have on probation (below) */
static bool busy_any;

static uint32_t *pend_runs; /* first slabs */
static uint32_t npend;
static struct plog_entry *pend_log;
static uint32_t pend_n;

/* Threads with blocks on probation now (bit per thread index). */
static _Atomic uint64_t on_probation[OH_MAX_THREADS / 64];

/* How many threads are on probation: scope ends check it (scope.c). */
_Atomic uint32_t oh_rescue_probation_count;

static void set_probation(uint32_t id, bool on)
{
    if (!id || id >= OH_MAX_THREADS) return;
    uint64_t bit = 1ull << (id % 64);
    uint64_t old = on ? atomic_fetch_or_explicit(&on_probation[id / 64], bit, memory_order_relaxed)
                      : atomic_fetch_and_explicit(&on_probation[id / 64], ~bit, memory_order_relaxed);
    if (on && !(old & bit)) atomic_fetch_add_explicit(&oh_rescue_probation_count, 1, memory_order_relaxed);
    if (!on && (old & bit)) atomic_fetch_sub_explicit(&oh_rescue_probation_count, 1, memory_order_relaxed);
}


static bool thread_on_probation(uint32_t id)
{
    return (atomic_load_explicit(&on_probation[id / 64], memory_order_relaxed) >> (id % 64)) & 1;
}

/* Is a thread other than `self` on probation now?  Then a site this
 * thread saw die may be what that thread keeps (the same library first
 * used by two threads at once: one builds the shared state, the other only
 * reads it), so no site is cleared until the last of them ends. */
static bool others_on_probation(uint32_t self)
{
    for (uint32_t w = 0; w < OH_MAX_THREADS / 64; w++) {
        uint64_t bits = atomic_load_explicit(&on_probation[w], memory_order_relaxed);
        if (w == self / 64) bits &= ~(1ull << (self % 64));
        if (bits) return true;
    }
    return false;
}

static _Atomic uint64_t n_audits, n_rescues, n_rescue_ns, n_scanned, n_pinned_runs, n_pinned_bytes, n_sites_routed,
    n_libs_routed, n_stale;

#define COUNT(c, v) atomic_fetch_add_explicit(&(c), (v), memory_order_relaxed)

/* Libraries routed at run time, for OFFHEAP_LEARN (names point into the
 * loader's link maps, which live as long as the objects). */
#define LEARNED_CAP 64u
static const char *learned[LEARNED_CAP];
static _Atomic uint32_t nlearned;
/* Call sites routed alone (a result handed over), for the same report:
 * OFFHEAP_EXCLUDE cannot name them. */
#define ROUTED_SITES_SHOWN 8u
static uintptr_t routed_sites[ROUTED_SITES_SHOWN]; /* the first n_sites_routed */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- probation log ------------------------------------------------------ */

void oh_rescue_record(struct oh_thread *t, void *p, void *ra)
{
    t->recorded++;
    if (!t->probation) {
        set_probation(t->id, true);
        /* Scopes that run meanwhile on other threads are judged at their
         * end too (scope.c): they may link their blocks into state this
         * scope is building (a library first used by two threads at
         * once). */
        oh_sites_epoch_bump();
    }
    if (!t->plog) {
        __atomic_store_n(&t->plog, oh_os_reserve_pages(sizeof *t->plog), __ATOMIC_RELEASE);
        if (!t->plog) {
            /* No log, no attribution: the rescue still pins what is
             * referenced, it only cannot learn. */
            t->probation = true;
            return;
        }
    }
    struct oh_plog *l = t->plog;
    if (l->n < LOG_CAP) {
        l->e[l->n] = (struct plog_entry){(uintptr_t)p - oh_pool_base, (uintptr_t)ra};
        __atomic_store_n(&l->n, l->n + 1, __ATOMIC_RELEASE); /* other rescues read it */
    } else {
        l->overflow++;
    }
    t->probation = true;
}

void oh_rescue_record_free(struct oh_thread *t, const void *p)
{
    struct oh_plog *l = t->plog;
    if (l && l->fn < FLOG_CAP) l->f[l->fn++] = (struct flog_entry){(uintptr_t)p - oh_pool_base, l->n};
}

void oh_rescue_record_heap(struct oh_thread *t, void *p, size_t n, void *ra)
{
    struct oh_plog *l = t->plog;
    if (l && l->hn < HLOG_CAP) l->h[l->hn++] = (struct hlog_entry){(uintptr_t)p, n, (uintptr_t)ra};
}

uint32_t oh_rescue_log_length(const struct oh_thread *t)
{
    return t->plog ? t->plog->n : 0;
}

static void unmap_log(struct oh_plog *l)
{
    if (l) oh_os_unreserve(l, oh_round_up(sizeof *l, oh_os_page_size()));
}

void oh_rescue_thread_exit(struct oh_thread *t)
{
    set_probation(t->id, false);
    if (__atomic_load_n(&npend, __ATOMIC_RELAXED) && !others_on_probation(t->id)) {
        /* The last thread on probation exits: judge what waits.  (Its own
         * runs are gone already: the mark covers none of them.) */
        struct oh_mark none = {.head = t->head, .slab = OH_SLAB_NONE, .plog_n = oh_rescue_log_length(t)};
        (void)oh_rescue_end(t, &none, true, NULL);
    }
    /* Another thread's judgment reads this log (collect_busy_sites) under
     * the lock: it is detached under the lock before it is unmapped. */
    pthread_mutex_lock(&lock);
    struct oh_plog *l = t->plog;
    __atomic_store_n(&t->plog, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    unmap_log(l);
    t->probation = false;
}

/* Fork child: a thread that did not survive the fork is on probation no
 * more, and its log is free memory.  (The rescue's lock is held by this
 * thread here: prefork took it.) */
void oh_rescue_forget_thread(struct oh_thread *t)
{
    set_probation(t->id, false);
    struct oh_plog *l = t->plog;
    t->plog = NULL;
    unmap_log(l);
}

/* ---- targets ------------------------------------------------------------- */

static void add_target(uintptr_t lo, uintptr_t hi, uint32_t first)
{
    if (hi <= lo) return;
    sc.t[sc.nt++] = (struct target){lo, hi, first, false, false, 0, 0};
}

/* The memory released by rewinding t to m (scope.c's rewind_to): the runs
 * above the mark, and the level's own slab from the mark's cursor on. */
static void collect_targets(const struct oh_thread *t, const struct oh_mark *m, bool with_pending)
{
    sc.nt = 0;
    for (uint32_t i = 0; with_pending && i < npend; i++) {
        uintptr_t lo = (uintptr_t)oh_proc_slab(pend_runs[i]);
        add_target(lo, lo + oh_proc_run_bytes(pend_runs[i]), pend_runs[i]);
    }
    for (uint32_t s = t->head; s != OH_SLAB_NONE && s != m->head; s = oh_proc_meta(s)->next) {
        uintptr_t lo = (uintptr_t)oh_proc_slab(s);
        uintptr_t hi = lo + oh_proc_run_bytes(s);
        if (s == t->slab && t->cur) hi = (uintptr_t)t->cur;
        add_target(lo, hi, s);
    }
    /* Check mode gives every scope slabs of its own: the level's slab
     * holds nothing of the scope then. */
    if (m->slab != OH_SLAB_NONE && m->cur && !oh_check_on) {
        uintptr_t lo = (uintptr_t)m->cur - OH_BLOCK_HDR;
        uintptr_t hi = (uintptr_t)oh_proc_slab(m->slab) + oh_proc_slab_size();
        if (t->slab == m->slab && t->cur) hi = (uintptr_t)t->cur;
        add_target(lo, hi, m->slab);
    }
    /* Sort by address (insertion sort: a scope uses a handful of runs). */
    for (uint32_t i = 1; i < sc.nt; i++) {
        struct target x = sc.t[i];
        uint32_t j = i;
        while (j > 0 && sc.t[j - 1].lo > x.lo) {
            sc.t[j] = sc.t[j - 1];
            j--;
        }
        sc.t[j] = x;
    }
    sc.tlo = sc.nt ? sc.t[0].lo : 0;
    sc.thi = sc.nt ? sc.t[sc.nt - 1].hi : 0;
}

/* The target holding address v, or -1. */
static int32_t target_of(uintptr_t v)
{
    uint32_t lo = 0, hi = sc.nt;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v < sc.t[mid].lo) hi = mid;
        else if (v >= sc.t[mid].hi) lo = mid + 1;
        else return (int32_t)mid;
    }
    return -1;
}

/* ---- scanning ------------------------------------------------------------ */

/* The ending level's part of the thread's log: e[from, n), sorted. */
static struct plog_entry *scan_e;
static uint32_t scan_n;
/* The ending thread's frees on probation, sorted by offset. */
static const struct flog_entry *scan_f;
static uint32_t scan_fn;

/* The program's own data (its globals and statics) is the program's
 * business: a pointer it leaves there into a scope that ends is its
 * mistake by the scope's contract (check mode reports it), not something a
 * library keeps, and taking it for a retention would move the program's
 * own allocation sites to the heap for good.  Template and inline code of
 * libraries compiled into the program (weak or unique symbols) is not the
 * program's own. */
static uintptr_t prog_lo, prog_hi; /* the main executable's mapped range */

static bool program_own_root(uintptr_t where)
{
    return where - prog_lo < prog_hi - prog_lo && oh_program_own((const void *)where);
}

/* A word pointing into a target pins its run.  From roots and from blocks
 * known to be kept (learning), the address is also kept, to find its
 * block; from a pinned run's other contents (run-level, conservative) it
 * is not: a dead temporary that points to another must not teach that the
 * other's site keeps memory. */
static bool learning;
static bool scanning_tls; /* the hits come from a TLS block */

static uint32_t self_id;

static struct plog_entry *block_of(uintptr_t v);
static bool freed_block_at(uintptr_t v, int32_t target);

static void hit(uintptr_t v, uintptr_t where)
{
    int32_t i = target_of(v);
    if (i < 0) return;
    /* The first bytes of a run belong to no block (the first header is
     * after them): a word equal to a run's base is the end of the slab
     * before it, as thread states hold.  A word on a 1 GiB boundary is an
     * address range's key (jemalloc's radix-tree cache holds such keys in
     * its TLS), not a block: no allocation is aligned that far. */
    if (v == (uintptr_t)oh_proc_slab(sc.t[i].first) || !(v & ((1ul << 30) - 1))) return;
    if (learning && program_own_root(where)) return;
    /* A block its scope freed is dead, whatever still points to it (a
     * freed heap object, a stale field). */
    const struct plog_entry *e = block_of(v);
    if (e ? (e->site & FREED) != 0 : freed_block_at(v, i)) return;
    /* A reference to a recorded block, kept for learning, leads to that
     * block's extent alone being scanned (learn_all): the dead temporaries
     * around it in the same run are not followed.  Any other reference
     * makes its run scanned whole. */
    if (learning && sc.nhits < HITS_CAP && e) sc.hits[sc.nhits++] = (struct hitrec){v, where, scanning_tls};
    else sc.t[i].whole = true;
    if (!sc.t[i].pinned) {
        sc.t[i].pinned = true;
        sc.t[i].why = where;
        sc.t[i].what = v;
        sc.queue[sc.nqueue++] = (uint32_t)i;
    }
}

/* Words of [w, w + n) that point into a target.  Eight at a time without
 * a branch; only a group with a candidate is looked at word by word.
 * origin: the address in the process of w[0] (w may be a copy). */
static void scan_words(const uintptr_t *w, size_t n, uintptr_t origin)
{
    const uintptr_t lo = sc.tlo, span = sc.thi - sc.tlo;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uintptr_t any = 0;
        for (size_t j = 0; j < 8; j++) any |= (uintptr_t)(w[i + j] - lo < span);
        if (OH_UNLIKELY(any)) {
            for (size_t j = 0; j < 8; j++)
                if (w[i + j] - lo < span) hit(w[i + j], origin + (i + j) * sizeof(uintptr_t));
        }
    }
    for (; i < n; i++)
        if (w[i] - lo < span) hit(w[i], origin + i * sizeof(uintptr_t));
}

/* Scan [lo, hi) of memory that may vanish under us (another thread's
 * heap, a library being unloaded), through a copy. */
static void read_and_scan(uintptr_t lo, uintptr_t hi)
{
    size_t page = oh_os_page_size();
    while (lo < hi) {
        size_t want = hi - lo < READ_CHUNK ? hi - lo : READ_CHUNK;
        size_t got = sc.read_direct ? (size_t)-1 : oh_os_read_self(sc.buf, (const void *)lo, want);
        if (got == (size_t)-1) {
            if (!sc.read_direct)
                oh_log("the rescue cannot read memory through process_vm_readv; it reads in place from now on");
            sc.read_direct = true;
            scan_words((const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), lo);
            sc.bytes += hi - lo;
            return;
        }
        scan_words((const uintptr_t *)(void *)sc.buf, got / sizeof(uintptr_t), lo);
        sc.bytes += got;
        /* A short read stops at a page that is gone: skip that page. */
        lo += got < want ? oh_round_up(got + 1, page) : want;
    }
}

/* Only the resident pages: a page that was never touched (most of a
 * thread's stack, an allocator's reserve) or was given back holds no
 * pointer.  A page swapped out is skipped too: a reference the scope just
 * stored is in a page the scope just touched. */
static void scan_foreign(uintptr_t lo, uintptr_t hi)
{
    size_t page = oh_os_page_size();
    lo = oh_round_up(lo, sizeof(uintptr_t));
    hi &= ~(uintptr_t)(sizeof(uintptr_t) - 1);
    while (lo < hi) {
        uintptr_t plo = lo & ~(uintptr_t)(page - 1);
        size_t pages = (hi - plo + page - 1) / page;
        if (pages > RES_PAGES) pages = RES_PAGES;
        uintptr_t end = plo + pages * page < hi ? plo + pages * page : hi;
        if (oh_os_resident((const void *)plo, pages, sc.res) != 0) {
            read_and_scan(lo, end); /* unknown: read it all */
            lo = end;
            continue;
        }
        size_t i = 0;
        while (i < pages) {
            while (i < pages && !(sc.res[i] & 1)) i++;
            size_t j = i;
            while (j < pages && (sc.res[j] & 1)) j++;
            if (j > i) {
                uintptr_t a = plo + i * page, b = plo + j * page;
                read_and_scan(a > lo ? a : lo, b < end ? b : end);
            }
            i = j;
        }
        lo = end;
    }
}

/* [lo, hi) minus the skipped ranges (sorted, disjoint). */
static void scan_clipped(uintptr_t lo, uintptr_t hi)
{
    uint32_t a = 0, b = sc.nskip; /* the first skip ending after lo */
    while (a < b) {
        uint32_t mid = (a + b) / 2;
        if (sc.skip[mid].hi <= lo) a = mid + 1;
        else b = mid;
    }
    for (uint32_t i = a; i < sc.nskip && lo < hi; i++) {
        const struct range *r = &sc.skip[i];
        if (r->hi <= lo || r->lo >= hi) continue;
        if (r->lo > lo) scan_foreign(lo, r->lo);
        lo = r->hi;
    }
    if (lo < hi) scan_foreign(lo, hi);
}

struct walk_maps {
    uintptr_t sp;       /* the ending thread's stack pointer */
    uintptr_t guard_hi; /* end of the last inaccessible mapping seen */
    bool files_only;    /* under valgrind: its own tables (mempool records
                           hold every block's address) are anonymous
                           mappings the process appears to have */
};

/* Thread stacks are not roots: the ending thread's frames above the scope
 * end hold the scope caller's dead pointers by the scope's contract, and
 * other threads' stacks are mostly stale frames (below their stack
 * pointers, or of exited threads whose stacks glibc caches).  A thread
 * stack is recognised as glibc makes it: read-write, right above an
 * inaccessible guard.  (Its top holds that thread's static TLS: the
 * ending thread's is scanned below, block by block.) */
static bool scan_mapping(const struct oh_os_mapping *m, void *arg)
{
    struct walk_maps *w = arg;
    bool guard = !m->read && !m->write;
    bool stack = m->lo == w->guard_hi || w->sp - m->lo < m->hi - m->lo;
    w->guard_hi = guard ? m->hi : 0;
    if (!m->read || !m->write || m->shared || m->special || stack) return true;
    if (w->files_only && !m->file) return true;
    scan_clipped(m->lo, m->hi);
    return true;
}

static void add_skip(uintptr_t lo, uintptr_t hi)
{
    if (sc.nskip < SKIP_CAP && hi > lo) sc.skip[sc.nskip++] = (struct range){lo, hi};
}

/* Sort the skips and merge those that overlap (heap sort: no qsort, which
 * may allocate). */
static void sort_skips(void)
{
    struct range *r = sc.skip;
    uint32_t n = sc.nskip;
    for (uint32_t start = n / 2; n > 1;) {
        uint32_t root;
        if (start > 0) {
            root = --start;
        } else {
            struct range x = r[--n];
            r[n] = r[0];
            r[0] = x;
            root = 0;
        }
        for (;;) {
            uint32_t child = 2 * root + 1;
            if (child >= n) break;
            if (child + 1 < n && r[child].lo < r[child + 1].lo) child++;
            if (r[root].lo >= r[child].lo) break;
            struct range x = r[root];
            r[root] = r[child];
            r[child] = x;
            root = child;
        }
    }
    uint32_t out = 0;
    for (uint32_t i = 0; i < sc.nskip; i++) {
        if (out && r[i].lo <= r[out - 1].hi) {
            if (r[i].hi > r[out - 1].hi) r[out - 1].hi = r[i].hi;
        } else {
            r[out++] = r[i];
        }
    }
    sc.nskip = out;
}

/* Every thread's liboffheap TLS block: its thread state points into that
 * thread's slabs (also one past their end, and into slabs it used before),
 * none of it a reference the program holds. */
struct tls_skip {
    uintptr_t off;  /* &oh_self - the start of the module's TLS block */
    uintptr_t size; /* the block's size */
};

static void skip_thread(struct oh_thread *t, void *arg)
{
    const struct tls_skip *k = arg;
    uintptr_t lo = (uintptr_t)t - k->off;
    add_skip(lo & ~(uintptr_t)7, oh_round_up(lo + k->size, 8));
}

/* liboffheap's own object and the libraries it brings for itself hold no
 * pointer into a scope (ours hold the pool's bounds, which would pin its
 * first slab), and jemalloc alone has megabytes of data. */
static int find_skips(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    uintptr_t lo, hi;
    bool mine = oh_elf_load_span(info, (uintptr_t)&sc, &lo, &hi);
    if (!*name) {
        prog_lo = lo;
        prog_hi = hi;
    }
    if (mine || oh_caller_own_dependency(name))
        add_skip(lo & ~(uintptr_t)(oh_os_page_size() - 1), oh_round_up(hi, oh_os_page_size()));
    return 0;
}

/* This thread's TLS blocks, but liboffheap's own (its thread state points
 * into the thread's slabs by design) and the program's (its thread-local
 * variables are its business, as its globals are): those two go to *data,
 * to be skipped where the mappings hold them too (the main thread's TLS is
 * in an anonymous mapping, not on its stack). */
struct tls_skips {
    struct range own, prog;
};

static int scan_tls(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct tls_skips *k = data;
    if (!info->dlpi_tls_data) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_TLS) continue;
        uintptr_t lo = (uintptr_t)info->dlpi_tls_data;
        if ((uintptr_t)&oh_self - lo < ph->p_memsz) {
            k->own = (struct range){lo, lo + ph->p_memsz};
            return 0;
        }
        if (!info->dlpi_name || !*info->dlpi_name) {
            k->prog = (struct range){lo, lo + ph->p_memsz};
            return 0;
        }
        uintptr_t a = oh_round_up(lo, sizeof(uintptr_t));
        uintptr_t hi = (lo + ph->p_memsz) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
        scanning_tls = true;
        if (hi > a) scan_words((const uintptr_t *)a, (hi - a) / sizeof(uintptr_t), a);
        scanning_tls = false;
        sc.bytes += ph->p_memsz;
    }
    return 0;
}

/* A pinned run or target (pool memory: ours, always mapped). */
static void scan_run(uintptr_t lo, uintptr_t hi)
{
    scan_words((const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), lo);
    sc.bytes += hi - lo;
}

/* One mapping for all the scratch (and the pinned list): it holds pool
 * addresses and copies of scanned memory, so the scan must skip it.  What
 * outlives a rescue comes first (pinned list, skips, pending runs and log);
 * the rest is given back after each rescue (scratch_release): the busy set
 * alone is 512 KiB, and a server that ran a handful of rescues at start-up
 * should not carry their scratch in its RSS for the rest of its life. */
static char *transient;     /* targets, queue, hits, busy set, residency, read buffer */
static size_t transient_bytes;
static size_t pend_log_bytes;

static bool scratch_ready(void)
{
    if (sc.t) return true;
    size_t count = oh_proc_count(), page = oh_os_page_size();
    size_t p_bytes = oh_round_up(count * sizeof *pinned, page);
    size_t s_bytes = oh_round_up(2 * SKIP_CAP * sizeof *sc.skip, page);
    size_t r_bytes = oh_round_up(count * sizeof *pend_runs, page);
    size_t l_bytes = oh_round_up(PENDING_LOG_CAP * sizeof *pend_log, page);
    size_t t_bytes = oh_round_up(count * sizeof *sc.t, page);
    size_t q_bytes = oh_round_up(count * sizeof *sc.queue, page);
    size_t h_bytes = oh_round_up(HITS_CAP * sizeof *sc.hits, page);
    size_t b_bytes = oh_round_up(BUSY_SLOTS * sizeof *busy, page);
    size_t keep = p_bytes + s_bytes + r_bytes + l_bytes;
    size_t total = keep + t_bytes + q_bytes + h_bytes + b_bytes + RES_PAGES + READ_CHUNK;
    char *base = oh_os_reserve_pages(total);
    if (!base) return false;
    char *at = base;
    pinned = (uint32_t *)(void *)at;
    sc.skip = (struct range *)(void *)(at += p_bytes);
    pend_runs = (uint32_t *)(void *)(at += s_bytes);
    pend_log = (struct plog_entry *)(void *)(at += r_bytes);
    transient = at += l_bytes;
    sc.queue = (uint32_t *)(void *)(at += t_bytes);
    sc.hits = (struct hitrec *)(void *)(at += q_bytes);
    busy = (uintptr_t *)(void *)(at += h_bytes);
    sc.res = (unsigned char *)(at += b_bytes);
    sc.buf = (char *)(at += RES_PAGES);
    transient_bytes = total - keep;
    pend_log_bytes = l_bytes;
    sc.t = (struct target *)(void *)transient;
    (void)dl_iterate_phdr(find_skips, NULL);
    add_skip((uintptr_t)base, (uintptr_t)base + total);
    add_skip(oh_pool_base, oh_pool_base + oh_pool_size);
    sort_skips();
    sc.fixed = sc.skip + SKIP_CAP;
    memcpy(sc.fixed, sc.skip, sc.nskip * sizeof *sc.skip);
    sc.nskip_fixed = sc.nskip;
    return true;
}

/* After a rescue: the transient scratch (and the pending log, once nothing
 * is pending) back to the kernel; it reads as zeros next time, which is
 * also how the busy set starts empty. */
static void scratch_release(void)
{
    if (!sc.t) return;
    if (oh_os_decommit(transient, transient_bytes) != 0 && busy_any) memset(busy, 0, BUSY_SLOTS * sizeof *busy);
    busy_any = false;
    if (!npend && !pend_n) (void)oh_os_decommit(pend_log, pend_log_bytes);
}

/* ---- learning ------------------------------------------------------------ */

/* Heap sort by offset (libc's qsort may allocate), for the probation log
 * and the free log alike. */
#define HEAP_SORT_BY_OFF(name, type)                                                                                   \
    static void name(type *e, uint32_t n)                                                                              \
    {                                                                                                                  \
        for (uint32_t start = n / 2; n > 1;) {                                                                         \
            uint32_t root;                                                                                             \
            if (start > 0) {                                                                                           \
                root = --start;                                                                                        \
            } else {                                                                                                   \
                type x = e[--n];                                                                                       \
                e[n] = e[0];                                                                                           \
                e[0] = x;                                                                                              \
                root = 0;                                                                                              \
            }                                                                                                          \
            for (;;) {                                                                                                 \
                uint32_t child = 2 * root + 1;                                                                         \
                if (child >= n) break;                                                                                 \
                if (child + 1 < n && e[child].off < e[child + 1].off) child++;                                         \
                if (e[root].off >= e[child].off) break;                                                                \
                type x = e[root];                                                                                      \
                e[root] = e[child];                                                                                    \
                e[child] = x;                                                                                          \
                root = child;                                                                                          \
            }                                                                                                          \
        }                                                                                                              \
    }

HEAP_SORT_BY_OFF(sort_log, struct plog_entry)
HEAP_SORT_BY_OFF(sort_frees, struct flog_entry)

/* Marks FREED the entries e[0, n) (log indices base...) whose block the
 * thread freed after recording it. */
static void mark_freed(struct oh_plog *l, struct plog_entry *e, uint32_t n, uint32_t base)
{
    uint32_t fn = l->fn < FLOG_CAP ? l->fn : FLOG_CAP;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t lo = 0, hi = fn;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (l->f[mid].off < e[j].off) lo = mid + 1;
            else hi = mid;
        }
        for (; lo < fn && l->f[lo].off == e[j].off; lo++)
            if (l->f[lo].n > base + j) {
                e[j].site |= FREED;
                break;
            }
    }
}

/* Insertion sort of the heap log by address (short, mostly sorted). */
static void sort_heap_log(struct hlog_entry *h, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct hlog_entry x = h[i];
        uint32_t j = i;
        while (j > 0 && h[j - 1].addr > x.addr) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = x;
    }
}

/* How many of the n entries of a (stride bytes each, sorted by the
 * uint64_t offset they begin with: the probation log and the free log)
 * have an offset <= key. */
static uint32_t count_up_to(const void *a, size_t stride, uint32_t n, uint64_t key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        uint64_t off;
        memcpy(&off, (const char *)a + (size_t)mid * stride, sizeof off);
        if (off <= key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The log entry of the block holding pool address v (its header counts as
 * its own), or NULL. */
static struct plog_entry *block_of(uintptr_t v)
{
    uint64_t off = v - oh_pool_base;
    uint32_t lo = count_up_to(scan_e, sizeof *scan_e, scan_n, off + OH_BLOCK_HDR);
    if (!lo) return NULL;
    struct plog_entry *e = &scan_e[lo - 1];
    void *p = (void *)(oh_pool_base + e->off);
    return off < e->off + oh_block_usable(p) ? e : NULL;
}

/* v lies in a block of target i that the ending thread freed on probation
 * and did not record (its site was known): its extent comes from its
 * header.  The free log is forgotten whenever an inner level rewinds
 * (oh_rescue_forget_frees), so no later block can sit at a freed address;
 * a header that does not describe a block of this run (a free() of an
 * interior pointer) counts for nothing. */
static bool freed_block_at(uintptr_t v, int32_t i)
{
    if (!scan_fn) return false;
    uint32_t lo = count_up_to(scan_f, sizeof *scan_f, scan_fn, v - oh_pool_base + OH_BLOCK_HDR);
    if (!lo) return false;
    uintptr_t p = oh_pool_base + scan_f[lo - 1].off;
    if ((p & 15) || p - OH_BLOCK_HDR < sc.t[i].lo || p >= sc.t[i].hi) return false;
    size_t usable = oh_block_usable((void *)p);
    if (usable == 0 || usable > sc.t[i].hi - p) return false;
    return v < p + usable;
}

void oh_rescue_forget_frees(struct oh_thread *t)
{
    if (t->plog) t->plog->fn = 0;
}

static void remember_library(const char *name)
{
    uint32_t i = atomic_fetch_add_explicit(&nlearned, 1, memory_order_relaxed);
    if (i < LEARNED_CAP) learned[i] = name;
}

/* The mapping holding m->lo (m->hi stays 0 if none). */
static bool mapping_of(const struct oh_os_mapping *map, void *arg)
{
    struct oh_os_mapping *m = arg;
    if (m->lo - map->lo < map->hi - map->lo) {
        *m = *map;
        return false;
    }
    return true;
}

/* Where a reference was found, for the reports. */
static void describe_where(char *buf, size_t cap, uintptr_t where)
{
    char name[200];
    size_t off = 0;
    const char *obj = NULL;
    if (oh_in_pool((void *)where)) {
        oh_format(buf, cap, "a kept scope block at %p", (void *)where);
    } else if (oh_symbolize((void *)where, name, sizeof name, &off, &obj) && obj) {
        oh_format(buf, cap, "%s+%zu (%s)", name, off, oh_base_name(obj));
    } else {
        struct oh_os_mapping m = {.lo = where};
        (void)oh_os_each_mapping(mapping_of, &m);
        if (m.hi)
            oh_format(buf, cap, "memory at %p (%s mapping %p-%p, offset 0x%zx)", (void *)where,
                      m.file ? "a file" : "an anonymous", (void *)m.lo, (void *)m.hi, (size_t)(where - m.lo));
        else
            oh_format(buf, cap, "memory at %p", (void *)where);
    }
}

/* Who allocated the memory at `where` (a scope block this level
 * recorded, or a heap block a routed site allocated meanwhile): its site,
 * or 0 when unknown. */
static struct hlog_entry *scan_h;
static uint32_t scan_hn;


static uintptr_t holder_site(uintptr_t where)
{
    if (oh_in_pool((void *)where)) {
        struct plog_entry *e = block_of(where);
        return e ? SITE_OF(e) : 0;
    }
    uint32_t lo = 0, hi = scan_hn;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (scan_h[mid].addr <= where) lo = mid + 1;
        else hi = mid;
    }
    return lo && where - scan_h[lo - 1].addr < scan_h[lo - 1].size ? scan_h[lo - 1].site : 0;
}

/* Does the code at `site` keep the block in its own state?  A library that
 * kept a block may keep others, through any of its call sites (lazily
 * built state grows later): all of its allocations must outlive scopes.
 * Unless the reference is held by a block allocated in this scope by the
 * program, or by a library the site's library does not use (deps.h): then
 * the block is a result that code was handed (the text of a JSON document
 * carried by a framework's response object, put there by the program), and
 * only that call site must; the holder's code is judged by what holds the
 * holder. */
static bool library_state(uintptr_t site, const struct hitrec *h)
{
    if (h->tls) return true;
    uintptr_t holder = holder_site(h->where);
    if (!holder) return true;
    enum oh_caller_kind k = oh_caller_kind((const void *)holder, NULL);
    if (k == OH_CALLER_PROGRAM || k == OH_CALLER_STRINGS) return false;
    if (k != OH_CALLER_LIBRARY) return true;
    const char *mine = NULL, *theirs = NULL;
    (void)oh_caller_kind((const void *)site, &mine);
    (void)oh_caller_kind((const void *)holder, &theirs);
    return strcmp(mine, theirs) == 0 || oh_object_needs((const void *)site, (const void *)holder);
}

/* Block p (allocated at site) outlived its scope, referenced from where
 * (0: p was freed late, by the code at site): route the library, or the
 * site alone. */
static void learn(uintptr_t site, uintptr_t p, const struct hitrec *h, bool stale_free)
{
    uintptr_t where = h ? h->where : 0;
    const char *name = NULL;
    enum oh_caller_kind k = oh_caller_kind((const void *)site, &name);
    char sym[256];
    oh_describe_pc(sym, sizeof sym, (const void *)site, true);
    if (k == OH_CALLER_LIBRARY && (stale_free || library_state(site, h))) {
        if (!oh_caller_route_object((const void *)site)) return;
        COUNT(n_libs_routed, 1);
        remember_library(name);
        /* Said once per library; check mode keeps quiet about libraries
         * (it reports the program's own mistakes). */
        if (oh_cfg.check && !oh_cfg.verbose) return;
        if (stale_free) {
            oh_log("%s frees scope memory after its scope ended (free called at %s): its allocations in scopes "
                   "go to the heap from now on",
                   oh_base_name(name), sym);
        } else {
            char from[256];
            describe_where(from, sizeof from, where);
            oh_log("%s keeps scope memory in library state (a %zu-byte block allocated at %s, referenced from %s): "
                   "its allocations in scopes go to the heap from now on",
                   oh_base_name(name), oh_block_usable((void *)p), sym, from);
        }
    } else if (k == OH_CALLER_LIBRARY || k == OH_CALLER_PROGRAM || k == OH_CALLER_STRINGS) {
        if (stale_free || oh_site_get(site) == OH_SITE_HEAP) return;
        (void)oh_site_set(site, OH_SITE_HEAP);
        uint64_t r = atomic_fetch_add_explicit(&n_sites_routed, 1, memory_order_relaxed);
        if (r < ROUTED_SITES_SHOWN) routed_sites[r] = site;
        /* A library's result kept by others is the library's business;
         * the program's own sites are reported in check mode. */
        if (oh_cfg.verbose || (oh_cfg.check && k != OH_CALLER_LIBRARY)) {
            char from[256];
            describe_where(from, sizeof from, where);
            oh_log("a %zu-byte block allocated at %s is still referenced after its scope ended (from %s): it is "
                   "kept, and that call site allocates from the heap from now on",
                   oh_block_usable((void *)p), sym, from);
        }
    }
}

/* The sites other threads have on probation now (an open-addressing set,
 * rebuilt for each judgment; read from their logs, which only grow while
 * they are on probation). */
#define DEATHS 1u      /* judgments that see a site's blocks die before it is cleared */
#define BUSY_DEATHS 3u /* the same for a site another thread has on probation */

static uint32_t busy_hash(uintptr_t s)
{
    return (uint32_t)(((uint64_t)s * 0x9e3779b97f4a7c15ull) >> 48) & (BUSY_SLOTS - 1);
}

static void busy_add(uintptr_t s)
{
    for (uint32_t i = busy_hash(s), n = 0; n < 64; n++, i = (i + 1) & (BUSY_SLOTS - 1)) {
        if (busy[i] == s) return;
        if (!busy[i]) {
            busy[i] = s;
            busy_any = true;
            return;
        }
    }
}

static bool busy_site(uintptr_t s)
{
    if (!busy_any) return false;
    for (uint32_t i = busy_hash(s), n = 0; n < 64 && busy[i]; n++, i = (i + 1) & (BUSY_SLOTS - 1))
        if (busy[i] == s) return true;
    return false;
}

static void add_thread_sites(struct oh_thread *u, void *arg)
{
    (void)arg;
    if (u->id == self_id || !u->probation) return;
    struct oh_plog *l = __atomic_load_n(&u->plog, __ATOMIC_ACQUIRE);
    if (!l) return;
    uint32_t n = __atomic_load_n(&l->n, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < LOG_CAP; i++) busy_add(__atomic_load_n(&l->e[i].site, __ATOMIC_RELAXED));
}

static void collect_busy_sites(void)
{
    /* (busy is empty here: scratch_release) */
    if (others_on_probation(self_id)) oh_thread_for_each(add_thread_sites, NULL);
}

/* Learn from the blocks referenced from outside the scope, and from the
 * blocks those reference (exactly their extent: the log knows it).  Then
 * clear every other logged site.  True when a site or library was routed. */
static bool learn_all(bool judged)
{
    if (!scan_n) return false;
    uint64_t before = atomic_load(&n_libs_routed) + atomic_load(&n_sites_routed);
    learning = true;
    for (uint32_t i = 0; i < sc.nhits; i++) {
        struct plog_entry *e = block_of(sc.hits[i].value);
        if (!e || !e->site || (e->site & LEARNED)) continue;
        uintptr_t p = oh_pool_base + e->off;
        learn(e->site, p, &sc.hits[i], false);
        /* Learned: not cleared below, not followed twice; its site still
         * tells whose the blocks it holds are (library_state). */
        e->site |= LEARNED;
        scan_run(p, p + oh_block_usable((void *)p));
    }
    learning = false;
    /* A site another thread has on probation now may be what that thread
     * keeps (a library first used by two threads at once: one builds the
     * shared state, the other only reads it), and a thread whose sites are
     * all cleared is not judged: such a site is cleared only once several
     * judgments saw its blocks die. */
    /* A deferred judgment scanned only its TLS: it clears nothing. */
    if (!judged) goto done;
    collect_busy_sites();
    uint32_t nseen = 0;
    for (uint32_t i = 0; i < scan_n; i++) {
        uintptr_t s = SITE_OF(&scan_e[i]);
        if (!s || (scan_e[i].site & LEARNED) || oh_site_get(s) != OH_SITE_UNKNOWN || oh_caller_excluded((const void *)s)) continue;
        bool seen = false;
        for (uint32_t j = 0; j < nseen && !seen; j++) seen = sc.seen[j] == s;
        if (seen) continue;
        if (nseen < SEEN_CAP) sc.seen[nseen++] = s;
        if (oh_site_died(s) < (busy_site(s) ? BUSY_DEATHS : DEATHS)) continue;
        (void)oh_site_set(s, OH_SITE_CLEARED);
    }
done:
    return atomic_load(&n_libs_routed) + atomic_load(&n_sites_routed) != before;
}

static void describe_where(char *buf, size_t cap, uintptr_t where);

/* A pinned run keeps the pages of the blocks it keeps, and gives the rest
 * back: the scope's temporaries around a kept block are dead (nothing
 * referenced them), like those of a run that was released, but a released
 * run is reused while a pinned one would hold their pages for the life of
 * the process.  Only when every reference into the run was to a recorded
 * block whose extent was followed (not `whole`): then the kept blocks are
 * exactly those hits.  Not in check mode (its records and quarantine keep
 * their own account of the run).  Bytes given back. */
static void keep_pages(uintptr_t w, size_t np, uint32_t ti, size_t page)
{
    for (uint32_t k = 0; k < sc.nhits; k++) {
        if (target_of(sc.hits[k].value) != (int32_t)ti) continue;
        uintptr_t p = oh_pool_base + block_of(sc.hits[k].value)->off;
        uintptr_t blo = p - OH_BLOCK_HDR, bhi = p + oh_block_usable((void *)p);
        uintptr_t wend = w + np * page;
        if (bhi <= w || blo >= wend) continue;
        size_t a = ((blo > w ? blo : w) - w) / page, b = ((bhi < wend ? bhi : wend) - 1 - w) / page;
        for (size_t i = a; i <= b; i++) sc.res[i / 8] |= (unsigned char)(1u << (i % 8));
    }
}

static size_t trim_pinned(uint32_t ti)
{
    const struct target *x = &sc.t[ti];
    if (x->whole || oh_check_on) return 0;
    for (uint32_t k = 0; k < sc.nhits; k++) {
        if (target_of(sc.hits[k].value) != (int32_t)ti) continue;
        const struct plog_entry *e = block_of(sc.hits[k].value);
        if (!e || !(e->site & LEARNED)) return 0;
    }
    size_t page = oh_os_page_size(), released = 0;
    /* Inward: the level's first page may hold an enclosing level's blocks. */
    uintptr_t lo = oh_round_up(x->lo, page), hi = x->hi & ~(uintptr_t)(page - 1);
    const size_t window = (size_t)RES_PAGES * 8u; /* pages: one bit each in sc.res */
    for (uintptr_t w = lo; w < hi; w += window * page) {
        size_t np = (hi - w) / page < window ? (hi - w) / page : window;
        memset(sc.res, 0, (np + 7) / 8);
        keep_pages(w, np, ti, page);
        for (size_t a = 0; a < np;) {
            if (sc.res[a / 8] & (1u << (a % 8))) {
                a++;
                continue;
            }
            size_t b = a;
            while (b < np && !(sc.res[b / 8] & (1u << (b % 8)))) b++;
            if (oh_os_decommit((void *)(w + a * page), (b - a) * page) == 0) released += (b - a) * page;
            a = b;
        }
    }
    return released;
}

/* ---- the rescue ---------------------------------------------------------- */

bool oh_rescue_end(struct oh_thread *t, struct oh_mark *m, bool forced,
                   void (*detach)(struct oh_thread *t, struct oh_mark *m))
{
    bool any = false, routed = false;
    uint64_t t0 = now_ns();
    (void)forced;
    pthread_mutex_lock(&lock);
    t0 = now_ns();
    if (!scratch_ready()) goto out;
    self_id = t->id;
    /* Judge now, or, when a herd of threads is on probation at once, keep
     * this scope's runs aside until the last of them ends and judges all
     * (one scan instead of one per thread; bounded: at most a quarter of
     * the pool waits). */
    bool defer = atomic_load_explicit(&oh_rescue_probation_count, memory_order_relaxed) > HERD &&
                 npend < oh_proc_count() / 4;
    collect_targets(t, m, !defer);
    if (!sc.nt) goto out;
    sc.nqueue = sc.nhits = 0;
    sc.bytes = 0;
    /* This level's records join the pending ones: one sorted log. */
    uint32_t first = pend_n;
    for (uint32_t i = m->plog_n; t->plog && i < t->plog->n && pend_n < PENDING_LOG_CAP; i++)
        pend_log[pend_n++] = t->plog->e[i];
    scan_f = NULL;
    scan_fn = 0;
    if (t->plog && t->plog->fn) {
        scan_fn = t->plog->fn < FLOG_CAP ? t->plog->fn : FLOG_CAP;
        sort_frees(t->plog->f, scan_fn);
        scan_f = t->plog->f;
        mark_freed(t->plog, pend_log + first, pend_n - first, m->plog_n);
    }
    scan_e = pend_log;
    scan_n = pend_n;
    if (scan_n) sort_log(scan_e, scan_n);
    scan_h = t->plog ? t->plog->h : NULL;
    scan_hn = t->plog ? t->plog->hn : 0;
    sort_heap_log(scan_h, scan_hn);

    /* 2. roots */
    learning = true;
    struct tls_skips tls = {{0, 0}, {0, 0}};
    (void)dl_iterate_phdr(scan_tls, &tls);
    memcpy(sc.skip, sc.fixed, sc.nskip_fixed * sizeof *sc.skip);
    sc.nskip = sc.nskip_fixed;
    if (tls.own.hi > tls.own.lo) {
        struct tls_skip k = {(uintptr_t)&oh_self - tls.own.lo, tls.own.hi - tls.own.lo};
        oh_thread_for_each(skip_thread, &k);
        skip_thread(t, &k); /* registered, but say it anyway */
    }
    add_skip(tls.prog.lo & ~(uintptr_t)7, oh_round_up(tls.prog.hi, 8));
    sort_skips();
    uintptr_t tp = (uintptr_t)pthread_self();
    /* Clipped: the descriptor ends near the top of its stack mapping, and
     * the mapping above may be one of ours (the scratch, which holds pool
     * addresses). */
    scan_clipped(tp, tp + DESCRIPTOR_BYTES);
    if (!defer) {
        struct walk_maps wm = {(uintptr_t)__builtin_frame_address(0), 0, OH_UNDER_VALGRIND()};
        (void)oh_os_each_mapping(scan_mapping, &wm);
        for (uint32_t i = 0; i < npinned; i++) {
            uintptr_t lo = (uintptr_t)oh_proc_slab(pinned[i]);
            scan_run(lo, lo + oh_proc_run_bytes(pinned[i]));
        }
    }
    /* An inner end (check mode): the enclosing scopes' memory lives on. */
    if (t->depth > 0) {
        for (uint32_t s = m->head; s != OH_SLAB_NONE; s = oh_proc_meta(s)->next) {
            uintptr_t lo = (uintptr_t)oh_proc_slab(s);
            uintptr_t hi = s == m->slab && m->cur ? (uintptr_t)m->cur : lo + oh_proc_run_bytes(s);
            scan_run(lo, hi);
        }
    }
    learning = false;

    /* 4. sites: from the referenced blocks (and what they reference) */
    routed = learn_all(!defer);

    /* Other threads' scopes on probation now: a library first used by
     * several threads at once may build its shared state in one of them
     * and link this scope's blocks into it.  Their slabs are read whole
     * (above their cursors too), through a copy (in check mode their
     * owner may be protecting them): what they reference is kept, but
     * nothing is learned from it (stale words there would teach wrongly). */
    if (!defer && others_on_probation(self_id)) {
        for (uint32_t s = 0; s < oh_proc_count(); s++) {
            uint32_t owner =
                atomic_load_explicit((_Atomic uint32_t *)&oh_proc_meta(s)->owner, memory_order_relaxed);
            if (owner == 0 || owner == t->id || owner >= OH_MAX_THREADS || !thread_on_probation(owner)) continue;
            uintptr_t lo = (uintptr_t)oh_proc_slab(s);
            scan_foreign(lo, lo + oh_proc_slab_size());
        }
    }

    /* 3. runs referenced in a part no recorded block explains: scanned
     * whole, transitively (conservative) */
    for (uint32_t q = 0; q < sc.nqueue; q++) {
        const struct target *x = &sc.t[sc.queue[q]];
        if (x->whole) scan_run(x->lo, x->hi);
    }

    /* 5. pin (every slab of the run names the rescue as owner) */
    for (uint32_t i = 0; i < sc.nt; i++) {
        if (!sc.t[i].pinned) continue;
        uint32_t f = sc.t[i].first;
        for (uint32_t j = f; j < f + oh_proc_meta(f)->run; j++)
            atomic_store_explicit((_Atomic uint32_t *)&oh_proc_meta(j)->owner, OH_OWNER_PINNED,
                                  memory_order_relaxed);
        pinned[npinned++] = f;
        COUNT(n_pinned_runs, 1);
        COUNT(n_pinned_bytes, oh_proc_run_bytes(f));
        any = true;
        size_t trimmed = defer ? 0 : trim_pinned(i);
        if (oh_cfg.verbose) {
            char where_s[256];
            describe_where(where_s, sizeof where_s, sc.t[i].why);
            oh_log("rescue: kept a %zu-byte slab run alive (%zu bytes of its dead pages given back): %p, inside it, "
                   "is referenced from %s",
                   oh_proc_run_bytes(f), trimmed, (void *)sc.t[i].what, where_s);
        }
    }
    /* The rest: kept aside (defer), or, once judged, given back (the
     * pending runs; the thread's own are rewound by the caller). */
    for (uint32_t i = 0; i < sc.nt; i++) {
        uint32_t f = sc.t[i].first;
        uint32_t owner = atomic_load_explicit((_Atomic uint32_t *)&oh_proc_meta(f)->owner, memory_order_relaxed);
        if (sc.t[i].pinned) continue;
        if (defer) {
            for (uint32_t j = f; j < f + oh_proc_meta(f)->run; j++)
                atomic_store_explicit((_Atomic uint32_t *)&oh_proc_meta(j)->owner, OH_OWNER_PENDING,
                                      memory_order_relaxed);
            pend_runs[npend++] = f;
            any = true;
        } else if (owner == OH_OWNER_PENDING) {
            oh_proc_release(f);
        }
    }
    if (!defer) npend = pend_n = 0;
    COUNT(n_rescues, 1);
    COUNT(n_scanned, sc.bytes);
    scratch_release();
out:
    if (routed) oh_sites_epoch_bump();
    if (!t->depth && t->ok_epoch != oh_sites_epoch()) {
        /* (the caller cache may hold what was routed meanwhile) */
        memset(t->ok_ra, 0, sizeof t->ok_ra);
        t->ok_epoch = oh_sites_epoch();
        t->auditing = t->auditing || oh_rescue_audit_due(t);
    }
    /* The enclosing scopes' records stay: their end decides them. */
    if (t->plog && t->plog->n > m->plog_n) t->plog->n = m->plog_n;
    /* An empty log goes back to the kernel (it reads as zeros, n = 0): a
     * thread that was on probation once keeps none of its 1.1 MiB resident. */
    if (!m->plog_n && t->plog && oh_os_decommit(t->plog, sizeof *t->plog) != 0)
        t->plog->overflow = t->plog->hn = t->plog->fn = 0;
    scan_h = NULL;
    scan_hn = 0;
    t->probation = m->plog_n > 0;
    if (!t->probation) set_probation(t->id, false);
    if (!t->depth) t->auditing = false;
    scan_e = NULL;
    scan_n = 0;
    scan_f = NULL;
    scan_fn = 0;
    if (any && detach) detach(t, m);
    pthread_mutex_unlock(&lock);
    COUNT(n_rescue_ns, now_ns() - t0);
    return any;
}

/* ---- stale frees --------------------------------------------------------- */

/* Audits: a library freed a scope block after its scope ended, so some
 * site that was cleared hands blocks over to code that keeps them (a
 * response body given to a framework, which frees it after sending).
 * Every thread's next outermost scope then records all its blocks, and its
 * end runs the rescue, which finds the site.  At most one audit round a
 * second. */
static _Atomic uint32_t audit_gen;
static _Atomic uint64_t audit_next; /* CLOCK_MONOTONIC ns */

static void request_audit(void)
{
    uint64_t now = now_ns(), due = atomic_load_explicit(&audit_next, memory_order_relaxed);
    if (now < due ||
        !atomic_compare_exchange_strong_explicit(&audit_next, &due, now + 1000000000u, memory_order_relaxed,
                                                 memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&audit_gen, 1, memory_order_release);
    oh_sites_epoch_bump(); /* every thread looks at its next begin */
    COUNT(n_audits, 1);
}

bool oh_rescue_audit_due(struct oh_thread *t)
{
    uint32_t g = atomic_load_explicit(&audit_gen, memory_order_acquire);
    if (g == t->audit_seen) return false;
    t->audit_seen = g;
    return oh_cfg.rescue;
}

void oh_rescue_free_outside(struct oh_thread *t, const void *p, void *ra)
{
    uint32_t owner =
        atomic_load_explicit((_Atomic uint32_t *)&oh_proc_meta(oh_proc_index(p))->owner, memory_order_relaxed);
    /* Certainly dead: the slab is free, or it is this thread's and the
     * thread has no scope (nor tag) open. */
    bool dead = owner == 0 || (owner == t->id && t->depth == 0);
    if (!dead || !oh_cfg.rescue) return;
    COUNT(n_stale, 1);
    /* The program freeing its own dead blocks is allowed and tells nothing;
     * a library doing so manages lifetimes across scopes. */
    enum oh_caller_kind k = oh_caller_kind(ra, NULL);
    if (k == OH_CALLER_PROGRAM || k == OH_CALLER_STRINGS) return;
    if (oh_check_on) oh_check_report_late_free(p, ra);
    if (!oh_caller_excluded(ra)) learn((uintptr_t)ra, 0, NULL, true);
    request_audit();
}

/* ---- reports ------------------------------------------------------------- */

void oh_rescue_print_learned(int fd)
{
    uint32_t n = atomic_load_explicit(&nlearned, memory_order_relaxed);
    if (n > LEARNED_CAP) n = LEARNED_CAP;
    char line[2048];
    size_t len = oh_format(line, sizeof line, "liboffheap: learned: OFFHEAP_EXCLUDE=");
    for (uint32_t i = 0; i < n; i++) {
        /* "libfoo.so.1" -> "libfoo.so" (a word of the file name, as
         * OFFHEAP_EXCLUDE matches) */
        const char *b = oh_base_name(learned[i]);
        const char *so = strstr(b, ".so");
        size_t k = so ? (size_t)(so - b) + 3 : strlen(b);
        if (i && len + 1 < sizeof line) line[len++] = ':';
        for (size_t j = 0; j < k && len + 1 < sizeof line; j++) line[len++] = b[j];
        line[len] = '\0';
    }
    if (!n) len += oh_format(line + len, sizeof line - len, "(nothing: no library kept scope memory)");
    len += oh_format(line + len, sizeof line - len, "\n");
    (void)oh_write_all(fd, line, len);
    /* What the line above does not cover: call sites routed alone (the
     * program's, libstdc++'s string members, a library's result handed
     * over) have no name OFFHEAP_EXCLUDE could match. */
    uint32_t ns = (uint32_t)atomic_load_explicit(&n_sites_routed, memory_order_relaxed);
    if (!ns) return;
    len = oh_format(line, sizeof line,
                    "liboffheap: learned: %u call site(s) routed alone, which OFFHEAP_EXCLUDE cannot name (keep the "
                    "rescue on, or put an escape around their calls):",
                    ns);
    for (uint32_t i = 0; i < ns && i < ROUTED_SITES_SHOWN; i++) {
        char pc[256];
        oh_describe_pc(pc, sizeof pc, (const void *)routed_sites[i], true);
        len += oh_format(line + len, sizeof line - len, "%s %s", i ? ";" : "", pc);
    }
    if (ns > ROUTED_SITES_SHOWN) len += oh_format(line + len, sizeof line - len, "; ...");
    len += oh_format(line + len, sizeof line - len, "\n");
    (void)oh_write_all(fd, line, len);
}

void oh_rescue_figures(struct oh_rescue_figures *out)
{
#define L(c) atomic_load_explicit(&(c), memory_order_relaxed)
    *out = (struct oh_rescue_figures){
        .rescues = L(n_rescues),
        .rescue_ns = L(n_rescue_ns),
        .bytes_scanned = L(n_scanned),
        .pinned_runs = L(n_pinned_runs),
        .pinned_bytes = L(n_pinned_bytes),
        .sites_cleared = oh_sites_count(OH_SITE_CLEARED),
        .sites_routed = L(n_sites_routed),
        .libraries_routed = L(n_libs_routed),
        .stale_frees = L(n_stale),
        .audits = L(n_audits),
    };
#undef L
}

void oh_rescue_prefork(void)
{
    pthread_mutex_lock(&lock);
}

void oh_rescue_postfork(void)
{
    pthread_mutex_unlock(&lock);
}
