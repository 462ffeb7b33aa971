/* SPDX-License-Identifier: MIT */
/*
 * request-pool — per-request message building.  Each request makes a few
 * dozen small blocks (header lines, the header table, body fragments, the
 * final wire message) that all die when the response has been sent.
 *
 *   Pool mode:   every block from the worker's offheap Pool, one
 *                offheap_pool_reset() after each request.
 *   malloc mode: every block from malloc, each one freed after the request.
 *
 *   request-pool [REQUESTS]        build REQUESTS responses (default 5), print them short
 *   request-pool --test            self-checks; exit 0 when all pass
 *   request-pool --bench [ROUNDS]  ns per request, median of ROUNDS (default 15),
 *                                  Pool vs malloc, 1 and 2 worker threads
 *   request-pool --count pool|malloc N   N untimed requests, for an instruction
 *                                  counter (callgrind)
 *
 * Why one Pool per worker: reset requires that no other thread allocates
 * from the pool during the call.  A worker that owns its pool can reset
 * between requests without any coordination.
 */
#include "../common/ex_util.h"

#include <offheap_pool.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Per-request memory                                                        */
/* ------------------------------------------------------------------------ */

typedef struct header {
    char *line; /* "Name: value" without CRLF */
    size_t len;
} header;

typedef struct request_ctx {
    offheap_pool *pool; /* NULL: malloc mode */
    header *hdr;        /* header table */
    size_t nhdr, hdr_cap;
    char **frag; /* body fragments */
    size_t *frag_len;
    size_t nfrag, frag_cap;
    char *msg; /* the final message */
    size_t msg_len;
    size_t blocks; /* blocks allocated for this request */
} request_ctx;

static void *req_alloc(request_ctx *c, size_t n)
{
    c->blocks++;
    return c->pool ? offheap_pool_alloc(c->pool, n) : malloc(n);
}

/* Pool blocks cannot grow; take a new block and copy (the old one is freed
 * by the reset with everything else). */
static void *req_grow(request_ctx *c, void *old, size_t old_n, size_t new_n)
{
    c->blocks++;
    if (!c->pool) return realloc(old, new_n);
    void *p = offheap_pool_alloc(c->pool, new_n);
    if (p && old) memcpy(p, old, old_n);
    return p;
}

/* What a request leaves behind, released the way each mode does it. */
static void req_release(request_ctx *c)
{
    if (c->pool) {
        offheap_pool_reset(c->pool); /* O(slabs): every block at once */
    } else {
        for (size_t i = 0; i < c->nhdr; i++) free(c->hdr[i].line);
        for (size_t i = 0; i < c->nfrag; i++) free(c->frag[i]);
        free(c->hdr);
        free(c->frag);
        free(c->frag_len);
        free(c->msg);
    }
    offheap_pool *p = c->pool;
    memset(c, 0, sizeof *c);
    c->pool = p;
}

static bool add_header(request_ctx *c, const char *name, const char *value)
{
    if (c->nhdr == c->hdr_cap) {
        size_t ncap = c->hdr_cap ? c->hdr_cap * 2 : 8;
        header *h = req_grow(c, c->hdr, c->hdr_cap * sizeof *h, ncap * sizeof *h);
        if (!h) return false;
        c->hdr = h;
        c->hdr_cap = ncap;
    }
    size_t nl = strlen(name), vl = strlen(value), len = nl + 2 + vl;
    char *line = req_alloc(c, len + 1);
    if (!line) return false;
    memcpy(line, name, nl);
    memcpy(line + nl, ": ", 2);
    memcpy(line + nl + 2, value, vl + 1);
    c->hdr[c->nhdr].line = line;
    c->hdr[c->nhdr].len = len;
    c->nhdr++;
    return true;
}

/* Append a block that is already the request's (no copy). */
static bool add_block(request_ctx *c, char *block, size_t len)
{
    if (c->nfrag == c->frag_cap) {
        size_t ncap = c->frag_cap ? c->frag_cap * 2 : 16;
        char **f = req_grow(c, c->frag, c->frag_cap * sizeof *f, ncap * sizeof *f);
        if (!f) return false;
        c->frag = f;
        size_t *fl = req_grow(c, c->frag_len, c->frag_cap * sizeof *fl, ncap * sizeof *fl);
        if (!fl) return false;
        c->frag_len = fl;
        c->frag_cap = ncap;
    }
    c->frag[c->nfrag] = block;
    c->frag_len[c->nfrag] = len;
    c->nfrag++;
    return true;
}

/* Append a copy of text[0..len). */
static bool add_fragment(request_ctx *c, const char *text, size_t len)
{
    char *p = req_alloc(c, len);
    if (!p) return false;
    memcpy(p, text, len);
    if (add_block(c, p, len)) return true;
    if (!c->pool) free(p);
    return false;
}

/* ------------------------------------------------------------------------ */
/* One request                                                               */
/* ------------------------------------------------------------------------ */

/* The request a client sent: derived from its id so every run and every
 * mode builds the same responses.  extra_body adds that many bytes of body
 * (to test requests larger than a slab or than the whole pool). */
typedef struct request {
    uint64_t id;
    size_t extra_body;
} request;

/* "Send" the message: a cheap word-at-a-time hash stands in for write(2),
 * so the comparison is about building, not about hashing. */
static uint64_t send_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3u;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* Decimal digits of v at o; returns how many. */
static size_t put_u64(char *o, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) o[i] = t[n - 1 - i];
    return n;
}

/* 16 lower-case hex digits of v and a NUL at o. */
static void put_hex16(char *o, uint64_t v)
{
    for (int i = 15; i >= 0; i--, v >>= 4) o[i] = "0123456789abcdef"[v & 15];
    o[16] = '\0';
}

/* Build the response for r in c and return 0 (c->msg holds it), or ENOMEM
 * when the memory ran out (the caller answers 503 and releases). */
static int build_response(request_ctx *c, const request *r)
{
    uint64_t rng = r->id * 0x2545F4914F6CDD1Du + 1;
    char val[96], buf[256];
    size_t items = 4 + ex_rand(&rng) % 28;

    /* Headers: fixed ones and a few request-dependent ones. */
    memcpy(val, "req-", 4);
    put_hex16(val + 4, r->id);
    if (!add_header(c, "X-Request-Id", val)) return ENOMEM;
    if (!add_header(c, "Content-Type", "application/json")) return ENOMEM;
    if (!add_header(c, "Cache-Control", "no-store")) return ENOMEM;
    if (!add_header(c, "Server", "request-pool/0.1")) return ENOMEM;
    size_t extra = ex_rand(&rng) % 10;
    for (size_t i = 0; i < extra; i++) {
        char name[] = "X-Trace-0";
        name[8] = (char)('0' + i);
        put_hex16(val, ex_rand(&rng));
        if (!add_header(c, name, val)) return ENOMEM;
    }

    /* Body: a JSON array of items, one fragment per item. */
    if (!add_fragment(c, "{\"items\":[", 10)) return ENOMEM;
    static const char lorem[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
                                "eiusmod tempor incididunt ut labore et dolore magna aliqua ut";
    for (size_t i = 0; i < items; i++) {
        /* {"sku":N,"qty":N,"note":"..."} formatted by hand: snprintf would
         * cost more than all the allocations of the request together. */
        size_t n = 0;
        if (i) buf[n++] = ',';
        memcpy(buf + n, "{\"sku\":", 7);
        n += 7;
        n += put_u64(buf + n, ex_rand(&rng) % 1000000);
        memcpy(buf + n, ",\"qty\":", 7);
        n += 7;
        n += put_u64(buf + n, ex_rand(&rng) % 9 + 1);
        memcpy(buf + n, ",\"note\":\"", 9);
        n += 9;
        size_t note = ex_rand(&rng) % (sizeof lorem - 1);
        memcpy(buf + n, lorem, note);
        n += note;
        memcpy(buf + n, "\"}", 2);
        n += 2;
        if (!add_fragment(c, buf, n)) return ENOMEM;
    }
    if (r->extra_body) {
        char *pad = req_alloc(c, r->extra_body);
        if (!pad) return ENOMEM;
        memset(pad, 'x', r->extra_body);
        if (!add_fragment(c, "],\"pad\":\"", 9)) {
            if (!c->pool) free(pad);
            return ENOMEM;
        }
        if (!add_block(c, pad, r->extra_body)) {
            if (!c->pool) free(pad);
            return ENOMEM;
        }
        if (!add_fragment(c, "\"}", 2)) return ENOMEM;
    } else if (!add_fragment(c, "]}", 2)) {
        return ENOMEM;
    }

    size_t body = 0;
    for (size_t i = 0; i < c->nfrag; i++) body += c->frag_len[i];
    val[put_u64(val, body)] = '\0';
    if (!add_header(c, "Content-Length", val)) return ENOMEM;

    /* The wire message: status line, headers, blank line, body. */
    static const char status[] = "HTTP/1.1 200 OK\r\n";
    size_t total = sizeof status - 1 + 2 + body;
    for (size_t i = 0; i < c->nhdr; i++) total += c->hdr[i].len + 2;
    char *m = req_alloc(c, total + 1);
    if (!m) return ENOMEM;
    size_t o = 0;
    memcpy(m + o, status, sizeof status - 1);
    o += sizeof status - 1;
    for (size_t i = 0; i < c->nhdr; i++) {
        memcpy(m + o, c->hdr[i].line, c->hdr[i].len);
        o += c->hdr[i].len;
        m[o++] = '\r';
        m[o++] = '\n';
    }
    m[o++] = '\r';
    m[o++] = '\n';
    for (size_t i = 0; i < c->nfrag; i++) {
        memcpy(m + o, c->frag[i], c->frag_len[i]);
        o += c->frag_len[i];
    }
    m[o] = '\0';
    c->msg = m;
    c->msg_len = o;
    return 0;
}

/* Serve requests [first, first+n): build, "send" (hash), release.
 * Returns the combined hash; *failed counts ENOMEM answers. */
static uint64_t serve(offheap_pool *pool, uint64_t first, size_t n, size_t extra_body, size_t *failed, size_t *blocks)
{
    request_ctx c = {.pool = pool};
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        request r = {first + i, extra_body};
        int rc = build_response(&c, &r);
        if (rc == 0) h = send_hash(h, c.msg, c.msg_len);
        else if (failed) (*failed)++;
        if (blocks) *blocks += c.blocks;
        req_release(&c);
    }
    return h;
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                     */
/* ------------------------------------------------------------------------ */

static offheap_pool *make_pool(size_t pool_size, size_t slab_size)
{
    offheap_pool_config cfg = {0};
    cfg.pool_size = pool_size;
    cfg.slab_size = slab_size;
    offheap_pool *p = NULL;
    int rc = offheap_pool_create(&p, &cfg);
    if (rc) {
        fprintf(stderr, "offheap_pool_create: %s\n", offheap_strerror(rc));
        exit(1);
    }
    return p;
}

static int run_demo(size_t n)
{
    offheap_pool *pool = make_pool(4u << 20, 64u << 10);
    request_ctx c = {.pool = pool};
    for (size_t i = 0; i < n; i++) {
        request r = {i, 0};
        if (build_response(&c, &r) != 0) {
            printf("request %zu: 503 (pool exhausted)\n", i);
        } else {
            offheap_pool_stats st;
            offheap_pool_stats_get(pool, &st);
            const char *body = strstr(c.msg, "\r\n\r\n");
            printf("request %zu: %zu bytes in %zu blocks (%zu pool bytes, %zu slab(s)): %.*s...\n", i, c.msg_len,
                   c.blocks, st.allocated, st.slabs_in_use, body ? 48 : 0, body ? body + 4 : "");
        }
        req_release(&c);
    }
    offheap_pool_stats st;
    offheap_pool_stats_get(pool, &st);
    printf("after %zu requests: %zu resets, %zu bytes allocated, %zu committed, peak %zu\n", n, st.resets, st.allocated,
           st.committed, st.peak);
    offheap_pool_destroy(pool);
    return 0;
}

typedef struct worker {
    pthread_t tid;
    offheap_pool *pool; /* NULL: malloc */
    uint64_t first;
    size_t n;
    uint64_t hash;
    uint64_t ns;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t t0 = ex_now_ns();
    w->hash = serve(w->pool, w->first, w->n, 0, NULL, NULL);
    w->ns = ex_now_ns() - t0;
    return NULL;
}

/* Run `nthreads` workers over n requests each; returns wall ns and the XOR
 * of the workers' hashes in *hash. */
static uint64_t run_workers(worker *w, int nthreads, size_t n, uint64_t *hash)
{
    uint64_t t0 = ex_now_ns();
    for (int i = 0; i < nthreads; i++) {
        w[i].first = (uint64_t)i * n;
        w[i].n = n;
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    uint64_t h = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].tid, NULL);
        h ^= w[i].hash;
    }
    if (hash) *hash = h;
    return ex_now_ns() - t0;
}

static int run_test(void)
{
    offheap_pool *pool = make_pool(4u << 20, 64u << 10);
    offheap_pool_stats st;

    /* Same bytes on the wire in both modes. */
    size_t failed = 0, blocks = 0;
    uint64_t hp = serve(pool, 0, 1000, 0, &failed, &blocks);
    uint64_t hm = serve(NULL, 0, 1000, 0, NULL, NULL);
    EX_CHECK(hp == hm);
    EX_CHECK(failed == 0);
    EX_CHECK(blocks > 1000 * 10); /* dozens of blocks per request */

    /* Every reset empties the pool and is counted. */
    EX_CHECK(offheap_pool_stats_get(pool, &st) == 0);
    EX_CHECK(st.allocated == 0);
    EX_CHECK(st.resets == 1000);
    EX_CHECK(st.slabs_in_use == 0);

    /* A response is built in the pool and the reset empties it. */
    {
        request_ctx c = {.pool = pool};
        request r = {42, 0};
        EX_CHECK(build_response(&c, &r) == 0);
        EX_CHECK(offheap_pool_owns(pool, c.msg));
        EX_CHECK(((uintptr_t)c.msg % OFFHEAP_ALIGNMENT) == 0);
        EX_CHECK(strncmp(c.msg, "HTTP/1.1 200 OK\r\n", 17) == 0);
        EX_CHECK(strstr(c.msg, "X-Request-Id: req-000000000000002a\r\n") != NULL);
        const char *cl = strstr(c.msg, "Content-Length: ");
        const char *body = strstr(c.msg, "\r\n\r\n");
        EX_CHECK(cl && body && (size_t)atol(cl + 16) == strlen(body + 4));
        offheap_pool_stats_get(pool, &st);
        EX_CHECK(st.allocated >= c.msg_len);
        req_release(&c);
        offheap_pool_stats_get(pool, &st);
        EX_CHECK(st.allocated == 0);
    }

    /* Steady state: the pool's committed memory does not grow with the
     * number of requests once it has served a few. */
    serve(pool, 0, 100, 0, NULL, NULL);
    offheap_pool_stats_get(pool, &st);
    size_t committed_100 = st.committed;
    serve(pool, 100, 5000, 0, NULL, NULL);
    offheap_pool_stats_get(pool, &st);
    EX_CHECK(st.committed <= committed_100);
    EX_CHECK(st.committed > 0 && st.committed <= st.reserved);

    /* A request larger than a slab (64 KiB) takes a large block. */
    EX_CHECK(serve(pool, 7, 1, 200u << 10, &failed, NULL) != 0 && failed == 0);
    {
        request_ctx c = {.pool = pool};
        request r = {7, 200u << 10};
        EX_CHECK(build_response(&c, &r) == 0);
        offheap_pool_stats_get(pool, &st);
        EX_CHECK(st.large_blocks >= 1);
        EX_CHECK(c.msg_len > (200u << 10));
        req_release(&c);
    }

    /* A request larger than the whole pool: ENOMEM, answered as 503, and
     * the next request is served normally after the reset. */
    failed = 0;
    serve(pool, 9, 1, 8u << 20, &failed, NULL);
    EX_CHECK(failed == 1);
    failed = 0;
    EX_CHECK(serve(pool, 0, 1000, 0, &failed, NULL) == hm && failed == 0);
    offheap_pool_destroy(pool);

    /* Two workers, one pool each, same responses as malloc. */
    {
        worker w[2] = {{.pool = make_pool(4u << 20, 64u << 10)}, {.pool = make_pool(4u << 20, 64u << 10)}};
        worker wm[2] = {{.pool = NULL}, {.pool = NULL}};
        uint64_t h2, h2m;
        run_workers(w, 2, 2000, &h2);
        run_workers(wm, 2, 2000, &h2m);
        EX_CHECK(h2 == h2m);
        offheap_pool_destroy(w[0].pool);
        offheap_pool_destroy(w[1].pool);
    }

    printf("request-pool: %d checks, %d failed\n", ex_checks, ex_failures);
    return ex_failures ? 1 : 0;
}

static int run_bench(int rounds)
{
    const size_t n = 20000; /* requests per worker per round */
    printf("request-pool bench: median of %d rounds of %zu requests per worker, "
           "ns per request (wall time / requests per worker)\n",
           rounds, n);
    size_t blocks = 0;
    serve(NULL, 0, 1000, 0, NULL, &blocks);
    printf("(%.1f blocks per request on average)\n", (double)blocks / 1000.0);
    printf("%-8s %12s %12s %12s\n", "workers", "pool ns", "malloc ns", "malloc/pool");
    for (int threads = 1; threads <= 2; threads++) {
        worker w[2] = {{0}};
        double *tp = malloc(sizeof(double) * (size_t)rounds);
        double *tm = malloc(sizeof(double) * (size_t)rounds);
        for (int i = 0; i < threads; i++) w[i].pool = make_pool(4u << 20, 64u << 10);
        worker wm[2] = {{0}};
        for (int r = -1; r < rounds; r++) { /* round -1 warms up */
            uint64_t a = run_workers(w, threads, n, NULL);
            uint64_t b = run_workers(wm, threads, n, NULL);
            if (r >= 0) {
                tp[r] = (double)a / (double)n;
                tm[r] = (double)b / (double)n;
            }
        }
        double p = ex_median(tp, (size_t)rounds), m = ex_median(tm, (size_t)rounds);
        printf("%-8d %12.0f %12.0f %11.2fx\n", threads, p, m, m / p);
        for (int i = 0; i < threads; i++) offheap_pool_destroy(w[i].pool);
        free(tp);
        free(tm);
    }
    return 0;
}

/* Untimed work for an instruction counter (valgrind --tool=callgrind, which
 * keeps the program's own malloc): n requests on one thread in one mode. */
static int run_count(const char *mode, long n)
{
    bool pool_mode = strcmp(mode, "pool") == 0;
    if (!pool_mode && strcmp(mode, "malloc") != 0) {
        fprintf(stderr, "--count: mode is pool or malloc\n");
        return 2;
    }
    offheap_pool *pool = pool_mode ? make_pool(4u << 20, 64u << 10) : NULL;
    volatile uint64_t h = serve(pool, 0, n > 0 ? (size_t)n : 0, 0, NULL, NULL);
    (void)h;
    offheap_pool_destroy(pool);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--test") == 0) return run_test();
    if (argc > 3 && strcmp(argv[1], "--count") == 0) return run_count(argv[2], atol(argv[3]));
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        int rounds = argc > 2 ? atoi(argv[2]) : 15;
        return run_bench(rounds > 0 ? rounds : 15);
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s [REQUESTS | --test | --bench [ROUNDS] | --count pool|malloc N]\n", argv[0]);
        return 0;
    }
    long n = argc > 1 ? atol(argv[1]) : 5;
    return run_demo(n > 0 ? (size_t)n : 5);
}
