/* SPDX-License-Identifier: MIT */
/*
 * ops_replay.c — the malloc family and scopes under LD_PRELOAD, driven by an
 * op script: the preload's counterpart of fuzz_ops.c (libFuzzer cannot run
 * under our malloc).
 *
 *   ops_replay [-runs=N] [-seed=S] [-max_len=L] [-threads=T] [FILE...]
 *
 * Each FILE, then N inputs from a seeded PRNG, is read as a program: one
 * byte picks an operation (malloc, calloc, realloc, reallocarray, free,
 * aligned_alloc / posix_memalign / memalign / valloc / pvalloc, scope
 * begin / end, thread tag / reset / untag, escape begin / end, free of a
 * block whose scope has ended), the next bytes its arguments.  The model:
 *   - every live block holds a pattern derived from its id, checked before
 *     every scope end and at the end of the input;
 *   - no two live blocks overlap; every block is aligned as asked and
 *     malloc_usable_size() covers it; calloc memory reads zero;
 *   - a block allocated in a scope is in the pool (offheap_owns) and is dead
 *     after that scope's end; blocks allocated outside scopes or inside an
 *     escape are not; realloc keeps the content and moves a pool block to the
 *     heap unless it belongs to the innermost scope;
 *   - errors: ENOMEM for impossible sizes and overflowing calloc, EINVAL for
 *     bad alignments, and the allocator keeps working afterwards;
 *   - after each input every scope is closed and the thread holds at most
 *     one (warm) slab: nothing leaks.
 * Exit status 0, 77 (skip) when liboffheap.so is not preloaded, 1 on a
 * violation (with the op number; FUZZ_MAIN_LAST=path saves the input).
 * -threads=T runs the PRNG inputs on T threads at once, each with its own
 * model (the model's state is thread-local): scopes, tags and reallocs of
 * several threads interleave in the pool.
 */
#include "check.h"
#include "offheap.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input_file.h"

#define MAX_BLOCKS 512
#define MAX_DEAD 256
#define MAX_DEPTH 10
#define FILL_CAP 4096

struct blk {
    char *p;
    size_t size;
    uint32_t id;
    int level; /* 0: heap; k > 0: pool block of scope level k */
};

static _Thread_local struct blk B[MAX_BLOCKS];
static _Thread_local size_t nb;
static _Thread_local char *dead[MAX_DEAD];
static _Thread_local size_t ndead;
static _Thread_local int depth, tagged, escape;
static _Thread_local uint32_t next_id = 1;
static _Thread_local unsigned long input_no;
static _Thread_local unsigned op_no;
static _Thread_local const uint8_t *in;
static _Thread_local size_t in_len, in_pos;
static size_t page;
static bool trace;            /* OPS_REPLAY_TRACE=1: each op on stderr */
static bool exhaust_fallback; /* OFFHEAP_ON_EXHAUST=fallback */
static int nthreads = 1;      /* -threads=N: N interpreters at once, each with
                                  its own model (thread-local) */

static unsigned u8(void)
{
    return in_pos < in_len ? in[in_pos++] : 0;
}

static unsigned u16(void)
{
    unsigned v = u8();
    return v | u8() << 8;
}

static bool in_scope(void)
{
    return depth > 0 && escape == 0;
}

/* ---- content ----------------------------------------------------------- */

static uint8_t pat(uint32_t id, size_t i)
{
    uint32_t x = id * 2654435761u + (uint32_t)i * 40503u;
    return (uint8_t)(x >> 13 ^ x);
}

/* Positions filled in a block of `size` bytes: the head and the tail. */
static size_t head_of(size_t size)
{
    return size < FILL_CAP ? size : FILL_CAP;
}

static void fill(const struct blk *b)
{
    size_t h = head_of(b->size);
    for (size_t i = 0; i < h; i++) b->p[i] = (char)pat(b->id, i);
    size_t t = b->size - h < FILL_CAP ? b->size - h : FILL_CAP;
    for (size_t i = b->size - t; i < b->size; i++) b->p[i] = (char)pat(b->id, i);
}

/* Check the positions a block of `size` bytes had filled, below `limit`. */
static void verify_upto(const char *p, size_t size, uint32_t id, size_t limit, const char *when)
{
    size_t h = head_of(size);
    for (size_t i = 0; i < h && i < limit; i++)
        if ((uint8_t)p[i] != pat(id, i))
            FATAL("%s: block %u (%zu bytes at %p) corrupted at byte %zu", when, id, size, (void *)p, i);
    size_t t = size - h < FILL_CAP ? size - h : FILL_CAP;
    for (size_t i = size - t; i < size && i < limit; i++)
        if ((uint8_t)p[i] != pat(id, i))
            FATAL("%s: block %u (%zu bytes at %p) corrupted at byte %zu", when, id, size, (void *)p, i);
}

static void verify(const struct blk *b, const char *when)
{
    verify_upto(b->p, b->size, b->id, b->size, when);
}

static void verify_all(const char *when)
{
    for (size_t i = 0; i < nb; i++) verify(&B[i], when);
}

static void remove_at(size_t i)
{
    B[i] = B[--nb];
    memset(&B[nb], 0, sizeof B[nb]); /* no stale copy of the pointer left */
}

/* Dead blocks are kept disguised: OFFHEAP_CHECK scans data segments for
 * words pointing into released scope memory and would report them. */
#define DISGUISE ((uintptr_t)0xA5A5A5A5A5A5A5A5ull)

static void bury(char *p)
{
    uintptr_t d = (uintptr_t)p ^ DISGUISE;
    if (ndead < MAX_DEAD) dead[ndead++] = (char *)d;
    else dead[(uintptr_t)p % MAX_DEAD] = (char *)d;
}

/* Forget every pool block of scope level >= lvl (verified first when they
 * are still live). */
static void kill_level(int lvl, bool check)
{
    for (size_t i = 0; i < nb;) {
        if (B[i].level >= lvl) {
            if (check) verify(&B[i], "before its scope ended");
            bury(B[i].p);
            remove_at(i);
        } else {
            i++;
        }
    }
}

static void no_overlap(const char *p, size_t size, const struct blk *except)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + (size ? size : 1);
    for (size_t i = 0; i < nb; i++) {
        const struct blk *b = &B[i];
        if (b == except) continue;
        uintptr_t blo = (uintptr_t)b->p, bhi = blo + (b->size ? b->size : 1);
        if (lo < bhi && blo < hi)
            FATAL("new %zu-byte block at %p overlaps live block %u (%zu bytes at %p, level %d)", size, (const void *)p,
                  b->id, b->size, (void *)b->p, b->level);
    }
}

/* ---- sizes ------------------------------------------------------------- */

static bool impossible(size_t size)
{
    return size > ((size_t)1 << 46);
}

static size_t pick_size(void)
{
    unsigned k = u8();
    switch (k & 31) {
    case 0: return 0;
    case 1: return SIZE_MAX - (u8() & 15);
    case 2: return (size_t)1 << (47 + u8() % 16);
    case 3: return 65536 + u16() * 8u; /* up to ~580 KiB: large blocks in scopes */
    case 4:
    case 5: return 1 + u16();
    case 6: return (size_t)1 << (u8() % 18);
    case 7: return 16 * (1 + (k >> 5));
    default: return 1 + (k >> 3) + (u8() & 255);
    }
}

/* OPS_REPLAY_NO_SLAB_ALIGN=1: no alignments of a slab or more (to fuzz past
 * a known bug while it is open, as once for the realloc of slab-aligned
 * blocks, fixed in 073b450; replay/realloc-slab-aligned keeps it fixed). */
static bool no_slab_align;

static size_t pick_align(void)
{
    unsigned k = u8();
    if (no_slab_align && (k % 12 == 3 || k % 12 == 5)) return 64;
    switch (k % 12) {
    case 0: return 0;
    case 1: return 24;
    case 2: return 3;
    case 3: return (size_t)1 << 20;
    case 4: return 4096;
    case 5: return (size_t)1 << (18 + u8() % 3); /* around the large-block threshold */
    default: return (size_t)8 << (k % 6);
    }
}

/* ---- results ----------------------------------------------------------- */

static void pool_full_ok(size_t size, size_t align)
{
    /* ENOMEM for a possible size is right only when the pool is full: no
     * free slab for a small block; for a block needing a run of several
     * slabs, free slabs may not be contiguous, so only "not enough free
     * slabs" is certain, and anything else is accepted. */
    offheap_stats st;
    offheap_stats_get(&st);
    size_t lead = align > 16 ? align : 16;
    size_t need = (size + lead + st.slab_size - 1) / st.slab_size;
    if (need > 1) return;
    REQUIREF(st.slabs_in_use + need > st.slabs_total, "ENOMEM for %zu bytes (align %zu) with %llu of %llu slabs in use",
             size, align, (unsigned long long)st.slabs_in_use, (unsigned long long)st.slabs_total);
}

/* A block just allocated: check and track it. */
static void got(char *p, size_t size, size_t align, bool zero, const char *what)
{
    int e = errno;
    if (impossible(size)) {
        REQUIREF(p == NULL && e == ENOMEM, "%s(%zu) gave %p errno %d, expected ENOMEM", what, size, (void *)p, e);
        return;
    }
    if (p == NULL) {
        REQUIREF(e == ENOMEM, "%s(%zu) failed with errno %d", what, size, e);
        REQUIREF(in_scope(), "%s(%zu) failed outside scopes", what, size);
        REQUIREF(!exhaust_fallback, "%s(%zu) failed in a scope with OFFHEAP_ON_EXHAUST=fallback", what, size);
        pool_full_ok(size, align);
        return;
    }
    bool pool = offheap_owns(p);
    /* With OFFHEAP_ON_EXHAUST=fallback a full pool hands out heap blocks. */
    REQUIREF(pool == in_scope() || (exhaust_fallback && in_scope()), "%s(%zu) at depth %d escape %d: in pool %d", what,
             size, depth, escape, pool);
    size_t a = align ? align : (size >= 16 || pool ? 16 : 8);
    REQUIREF(((uintptr_t)p & (a - 1)) == 0, "%s(%zu) = %p not aligned to %zu", what, size, (void *)p, a);
    REQUIREF(malloc_usable_size(p) >= size, "%s(%zu): usable %zu", what, size, malloc_usable_size(p));
    if (zero)
        for (size_t i = 0; i < size; i++)
            if (p[i]) FATAL("calloc(%zu) = %p (pool %d): byte %zu is %d", size, (void *)p, pool, i, p[i]);
    no_overlap(p, size, NULL);
    struct blk b = {p, size, next_id++, pool ? depth : 0};
    if (trace)
        fprintf(stderr, "  %s(%zu, align %zu) = %p: block %u level %d\n", what, size, align, (void *)p, b.id, b.level);
    fill(&b);
    if (nb < MAX_BLOCKS) {
        B[nb++] = b;
    } else {
        verify(&b, "untracked");
        if (!pool) free(p);
    }
}

/* ---- operations -------------------------------------------------------- */

static void op_malloc(void)
{
    size_t n = pick_size();
    errno = 0;
    got(malloc(n), n, 0, false, "malloc");
}

static void op_calloc(void)
{
    unsigned k = u8();
    size_t a, b;
    if ((k & 15) == 0) {
        volatile size_t third = SIZE_MAX / 3; /* hide the overflow from the compiler */
        a = third + (k >> 4);
        b = 4 + (u8() & 7);
        errno = 0;
        void *p = calloc(a, b);
        REQUIREF(p == NULL && errno == ENOMEM, "calloc(%zu, %zu) overflow gave %p errno %d", a, b, p, errno);
        return;
    }
    a = 1 + (k >> 4);
    b = pick_size() / a;
    errno = 0;
    char *p = calloc(a, b);
    got(p, a * b, 0, true, "calloc");
}

static void realloc_block(size_t i, bool array)
{
    struct blk old = B[i];
    size_t n = pick_size();
    errno = 0;
    char *q;
    if (array) {
        size_t cnt = 1 + (u8() & 7);
        if (u8() == 0) {
            volatile size_t half = SIZE_MAX / 2; /* hide the overflow from the compiler */
            q = reallocarray(old.p, half, cnt + 1);
            REQUIREF(q == NULL && errno == ENOMEM, "reallocarray overflow gave %p errno %d", (void *)q, errno);
            verify(&B[i], "after a failed reallocarray");
            return;
        }
        n = n / cnt;
        q = reallocarray(old.p, n, cnt);
        n *= cnt;
    } else {
        q = realloc(old.p, n);
    }
    int e = errno;
    if (n == 0) {
        /* realloc(p, 0) frees p (glibc's behaviour). */
        REQUIREF(q == NULL, "realloc(p, 0) returned %p", (void *)q);
        if (old.level) bury(old.p);
        remove_at(i);
        return;
    }
    if (q == NULL) {
        REQUIREF(e == ENOMEM, "realloc(%zu -> %zu) errno %d", old.size, n, e);
        if (!impossible(n)) {
            REQUIREF(in_scope(), "realloc(%zu -> %zu) failed outside scopes", old.size, n);
            pool_full_ok(n, 16);
        }
        verify(&B[i], "after a failed realloc");
        return;
    }
    REQUIREF(!impossible(n), "realloc to %zu succeeded", n);
    bool pool = offheap_owns(q);
    /* Where the block must be now. */
    bool want_pool = old.level != 0 && in_scope() && old.level == depth;
    REQUIREF(pool == want_pool || (exhaust_fallback && want_pool),
             "realloc(%zu -> %zu) of a level-%d block at depth %d escape %d: result in pool %d, expected %d", old.size,
             n, old.level, depth, escape, pool, want_pool);
    REQUIREF(((uintptr_t)q & 15) == 0 || n < 16, "realloc result %p misaligned", (void *)q);
    REQUIREF(malloc_usable_size(q) >= n, "realloc: usable %zu < %zu", malloc_usable_size(q), n);
    /* Content kept up to the smaller size. */
    verify_upto(q, old.size, old.id, n < old.size ? n : old.size, "realloc kept content");
    if (trace)
        fprintf(stderr, "  realloc(block %u %p, %zu -> %zu) = %p\n", old.id, (void *)old.p, old.size, n, (void *)q);
    if (q != old.p && old.level) bury(old.p);
    B[i].p = q;
    B[i].size = n;
    B[i].level = pool ? depth : 0;
    no_overlap(q, n, &B[i]);
    fill(&B[i]);
}

static void op_realloc(bool array)
{
    unsigned k = u8();
    if (nb == 0 || (k & 15) == 0) {
        /* realloc(NULL, n) is malloc(n). */
        size_t n = pick_size();
        errno = 0;
        char *p = realloc(NULL, n);
        if (n == 0 && p == NULL) return; /* glibc returns a unique pointer; either is allowed */
        got(p, n, 0, false, "realloc(NULL)");
        return;
    }
    realloc_block(u16() % nb, array);
}

static void op_free(void)
{
    if (nb == 0) {
        free(NULL);
        return;
    }
    size_t i = u16() % nb;
    verify(&B[i], "before free");
    int saved = errno = 4242;
    free(B[i].p);
    REQUIREF(errno == saved, "free changed errno to %d", errno);
    if (B[i].level) bury(B[i].p);
    remove_at(i);
}

static void op_free_dead(void)
{
    /* free() of a block whose scope has ended: a no-op, whenever. */
    if (ndead == 0) return;
    char *p = (char *)((uintptr_t)dead[u16() % ndead] ^ DISGUISE);
    REQUIREF(offheap_owns(p), "dead block %p not in the pool", (void *)p);
    free(p);
}

/* OPS_REPLAY_NO_ZERO_SLAB_ALIGNED=1: no 0-byte blocks aligned to 256K or
 * more (to fuzz past such a bug while it is open, as once for the one fixed
 * in bfb4684; zero_size_aligned keeps it fixed). */
static bool no_zero_slab_aligned;

static void op_aligned(void)
{
    unsigned k = u8();
    size_t align = pick_align();
    size_t n = pick_size();
    if (no_zero_slab_aligned && n == 0 && align >= ((size_t)1 << 18)) n = 1;
    bool pow2 = align && !(align & (align - 1));
    errno = 0;
    switch (k % 5) {
    case 0: {
        char *p = aligned_alloc(align, n);
        if (!pow2) {
            REQUIREF(p == NULL && errno == EINVAL, "aligned_alloc(%zu, %zu) gave %p errno %d", align, n, (void *)p,
                     errno);
            return;
        }
        got(p, n, align, false, "aligned_alloc");
        return;
    }
    case 1: {
        void *p = (void *)0x1;
        errno = 5555;
        int r = posix_memalign(&p, align, n);
        REQUIREF(errno == 5555, "posix_memalign changed errno");
        if (!pow2 || align % sizeof(void *)) {
            REQUIREF(r == EINVAL && p == (void *)0x1, "posix_memalign(%zu) gave %d", align, r);
            return;
        }
        if (r) {
            REQUIREF(r == ENOMEM && p == (void *)0x1, "posix_memalign(%zu, %zu) gave %d", align, n, r);
            errno = ENOMEM;
            got(NULL, n, align, false, "posix_memalign");
            return;
        }
        errno = 0;
        got(p, n, align, false, "posix_memalign");
        return;
    }
    case 2: {
        char *p = memalign(align, n);
        size_t a = 1;
        while (a < align) a <<= 1;
        got(p, n, a, false, "memalign");
        return;
    }
    case 3: got(valloc(n), n, page, false, "valloc"); return;
    default: {
        char *p = pvalloc(n);
        size_t r = n > SIZE_MAX - page ? SIZE_MAX : ((n + page - 1) & ~(page - 1));
        if (p) REQUIREF(malloc_usable_size(p) >= (r ? r : page), "pvalloc(%zu) usable %zu", n, malloc_usable_size(p));
        got(p, n, page, false, "pvalloc");
        return;
    }
    }
}

static void op_scope_begin(void)
{
    if (depth >= MAX_DEPTH) return;
    offheap_scope_begin();
    depth++;
    REQUIREF(offheap_scope_depth() == depth, "depth %d after begin, model %d", offheap_scope_depth(), depth);
}

static void op_scope_end(void)
{
    if (depth <= tagged) return;
    verify_all("before scope end");
    kill_level(depth, true);
    offheap_scope_end();
    depth--;
    REQUIREF(offheap_scope_depth() == depth, "depth %d after end, model %d", offheap_scope_depth(), depth);
    verify_all("after scope end");
}

static void op_tag(void)
{
    unsigned k = u8() % 3;
    int r;
    if (k == 0) {
        r = offheap_thread_tag();
        int want = (tagged || depth) ? EBUSY : 0;
        REQUIREF(r == want, "thread_tag at depth %d tagged %d gave %d", depth, tagged, r);
        if (r == 0) tagged = 1, depth = 1;
    } else {
        bool untag = k == 2;
        verify_all("before reset/untag");
        r = untag ? offheap_thread_untag() : offheap_thread_reset();
        int want = !tagged ? EINVAL : depth > 1 ? EBUSY : 0;
        REQUIREF(r == want, "%s at depth %d tagged %d gave %d", untag ? "untag" : "reset", depth, tagged, r);
        if (r == 0) {
            kill_level(1, false); /* released already: verified above */
            if (untag) tagged = 0, depth = 0;
        }
    }
    REQUIREF(offheap_scope_depth() == depth, "depth %d, model %d", offheap_scope_depth(), depth);
    verify_all("after tag op");
}

static void op_escape(void)
{
    if (u8() & 1) {
        offheap_escape_begin();
        escape++;
    } else if (escape) {
        offheap_escape_end();
        escape--;
    }
}

static void op_burst(void)
{
    unsigned n = 1 + u8() % 48;
    size_t sz = 1 + u8();
    for (unsigned j = 0; j < n && nb < MAX_BLOCKS; j++) {
        errno = 0;
        got(malloc(sz), sz, 0, false, "malloc");
    }
}

static void run_input(const uint8_t *data, size_t len)
{
    in = data;
    in_len = len;
    in_pos = 0;
    op_no = 0;
    while (in_pos < in_len && op_no < 3000) {
        op_no++;
        unsigned op = u8();
        if (trace)
            fprintf(stderr, "op %u: %u depth %d tagged %d escape %d live %zu\n", op_no, op % 24, depth, tagged, escape,
                    nb);
        switch (op % 24) {
        case 0:
        case 1:
        case 2:
        case 3: op_malloc(); break;
        case 4:
        case 5: op_calloc(); break;
        case 6:
        case 7: op_realloc(false); break;
        case 8: op_realloc(true); break;
        case 9:
        case 10: op_free(); break;
        case 11: op_free_dead(); break;
        case 12:
        case 13: op_aligned(); break;
        case 14:
        case 15:
        case 16: op_scope_begin(); break;
        case 17:
        case 18: op_scope_end(); break;
        case 19: op_tag(); break;
        case 20: op_escape(); break;
        case 21: verify_all("check"); break;
        case 22: REQUIREF(malloc_usable_size(NULL) == 0, "usable(NULL)"); break;
        default: op_burst(); break;
        }
    }
    /* Wind down: close everything, free the heap blocks, nothing left. */
    while (escape) offheap_escape_end(), escape--;
    while (depth > tagged) op_scope_end();
    if (tagged) {
        kill_level(1, true);
        REQUIREF(offheap_thread_untag() == 0, "final untag");
        tagged = depth = 0;
    }
    verify_all("at the end");
    for (size_t i = 0; i < nb; i++) {
        REQUIREF(B[i].level == 0 && !offheap_owns(B[i].p), "pool block alive after every scope ended");
        free(B[i].p);
    }
    nb = 0;
    offheap_stats st;
    REQUIREF(offheap_stats_get(&st) == 0, "stats");
    /* Other interpreters hold slabs of their own; check mode keeps a
     * quarantine (64 MiB at most). */
    size_t limit = getenv("OFFHEAP_CHECK") ? (size_t)(64ull << 20) / st.slab_size + 2 : 1;
    if (nthreads == 1)
        REQUIREF(st.slabs_in_use <= limit, "%llu slabs still in use after every scope ended",
                 (unsigned long long)st.slabs_in_use);
    REQUIREF(st.misuse == 0, "misuse counted: %llu", (unsigned long long)st.misuse);
    REQUIREF(offheap_scope_depth() == 0, "depth after the input");
}

/* Before each report: which input and op of this thread's interpreter. */
static void fail_prefix(char *buf, size_t cap)
{
    if (input_no) snprintf(buf, cap, "ops_replay: input %lu op %u: ", input_no, op_no);
    else snprintf(buf, cap, "ops_replay: ");
}

static int run_file(const char *path)
{
    size_t n;
    const uint8_t *buf = read_input(path, &n);
    if (!buf) return 1;
    input_no++;
    run_input(buf, n);
    return 0;
}

static _Thread_local uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One PRNG interpreter (the -threads mode). */
struct prng_job {
    unsigned long runs, seed, max_len;
};

static void *prng_thread(void *arg)
{
    struct prng_job *j = arg;
    rng = j->seed * 0x9E3779B97F4A7C15ull + 1;
    uint8_t *buf = malloc(j->max_len);
    for (unsigned long r = 0; r < j->runs; r++) {
        size_t n = (size_t)(next() % (j->max_len + 1));
        for (size_t i = 0; i < n; i++) {
            uint64_t x = next();
            buf[i] = (x & 0x300) ? (uint8_t)x : (uint8_t)(x >> 16) % 24;
        }
        input_no++;
        run_input(buf, n);
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv)
{
    if (!OFFHEAP_LOADED()) {
        fprintf(stderr, "ops_replay: liboffheap.so is not preloaded; skipping\n");
        return 77;
    }
    check_set_prefix(fail_prefix);
    page = (size_t)sysconf(_SC_PAGESIZE);
    no_slab_align = getenv("OPS_REPLAY_NO_SLAB_ALIGN") != NULL;
    trace = getenv("OPS_REPLAY_TRACE") != NULL;
    no_zero_slab_aligned = getenv("OPS_REPLAY_NO_ZERO_SLAB_ALIGNED") != NULL;
    const char *ex = getenv("OFFHEAP_ON_EXHAUST");
    exhaust_fallback = ex && (!strcmp(ex, "fallback") || !strcmp(ex, "heap"));
    unsigned long runs = 200, seed = 1, max_len = 4096;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) runs = strtoul(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-seed=", 6)) seed = strtoul(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-max_len=", 9)) max_len = strtoul(argv[i] + 9, NULL, 10);
        else if (!strncmp(argv[i], "-threads=", 9)) nthreads = atoi(argv[i] + 9);
        else if (argv[i][0] != '-') rc |= run_file(argv[i]);
    }
    if (rc) return rc;
    if (!max_len) max_len = 1;
    if (nthreads > 1) {
        pthread_t t[64];
        struct prng_job jobs[64];
        if (nthreads > 64) nthreads = 64;
        for (int i = 0; i < nthreads; i++) {
            jobs[i] = (struct prng_job){runs / (unsigned long)nthreads, seed * 1000 + (unsigned long)i, max_len};
            pthread_create(&t[i], NULL, prng_thread, &jobs[i]);
        }
        for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
        offheap_stats st;
        offheap_stats_get(&st);
        size_t limit = getenv("OFFHEAP_CHECK") ? (size_t)(64ull << 20) / st.slab_size + 2 : 1;
        REQUIREF(st.slabs_in_use <= limit, "%llu slabs in use after every thread ended",
                 (unsigned long long)st.slabs_in_use);
        printf("ops_replay: %lu inputs passed on %d threads (seed %lu)\n", runs, nthreads, seed);
        return 0;
    }
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    uint8_t *buf = malloc(max_len);
    const char *last = getenv("FUZZ_MAIN_LAST");
    for (unsigned long r = 0; r < runs; r++) {
        size_t n = (size_t)(next() % (max_len + 1));
        for (size_t i = 0; i < n; i++) {
            uint64_t x = next();
            buf[i] = (x & 0x300) ? (uint8_t)x : (uint8_t)(x >> 16) % 24;
        }
        if (last) {
            FILE *f = fopen(last, "wb");
            if (f) {
                fwrite(buf, 1, n, f);
                fclose(f);
            }
        }
        input_no++;
        run_input(buf, n);
    }
    free(buf);
    printf("ops_replay: %lu inputs passed (%lu from the PRNG, seed %lu)\n", input_no, runs, seed);
    return 0;
}
