/* SPDX-License-Identifier: MIT */
/*
 * order_api.h — the request handling the framework examples share
 * (evhttp-server, mhd-server, uv-server): the same API as http-server, so
 * one test client (http-server/test_client.c) checks all of them.
 *
 *   POST /orders   {"customer": str, "items": [{"sku", "qty", "price"}, ...]}
 *                  -> 200 {"customer", "items", "quantity", "total",
 *                  "max_price", "scoped"}; 400 bad JSON (with jansson's
 *                  line and column), 422 wrong shape
 *   GET /health    200 {"ok":true}
 *   GET /stats     200 {"requests", "offheap_loaded", "scopes", ...}
 *   other methods on those paths 405, other paths 404
 *
 * api_route() is the handler's own work and is meant to be called inside
 * the caller's OFFHEAP_SCOPE_BEGIN/END: jansson's tree and the answer text
 * are malloc'd there (the text with malloc, so a framework may take it over
 * and free() it).  What the framework does with the text afterwards is the
 * point of each example.
 *
 * Also here: the command line (--port N, --threads N), a 127.0.0.1-only
 * listening socket, and the start-up every server does once, single-threaded
 * and outside any scope.  Header-only (static functions), like ex_util.h:
 * each server is one .c file plus this.
 */
#ifndef ORDER_API_H
#define ORDER_API_H

#include <offheap.h>

#include <jansson.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define API_MAX_BODY (4u << 20) /* bytes of a request body */

/* Requests handled (every route), for /stats and the final line. */
static atomic_ulong api_requests;

/* --escape: the servers allocate what the framework keeps after the handler
 * (the response objects, the buffers it writes later) between
 * OFFHEAP_ESCAPE_BEGIN/END, i.e. on the ordinary heap, and copy the scoped
 * answer text into them.  Off by default: the default is the pattern a user
 * writes first, which is what the tests exercise. */
static bool api_escape;
#define API_ESCAPE_BEGIN()                                                                                             \
    do {                                                                                                               \
        if (api_escape) OFFHEAP_ESCAPE_BEGIN();                                                                        \
    } while (0)
#define API_ESCAPE_END()                                                                                               \
    do {                                                                                                               \
        if (api_escape) OFFHEAP_ESCAPE_END();                                                                          \
    } while (0)

/* offheap_scope_depth() and offheap_stats_get(), looked up once at start
 * (NULL without the preload): calling an undefined weak function directly
 * is not safe in a position-dependent executable. */
static int (*api_scope_depth_fn)(void);
static int (*api_stats_get_fn)(offheap_stats *);

/* Once, single-threaded, before any scope: jansson picks its hash seed on
 * first use (its documentation asks for this), and the lookups. */
static inline void api_init(void)
{
    json_object_seed(0);
    *(void **)(void *)&api_scope_depth_fn = dlsym(RTLD_DEFAULT, "offheap_scope_depth");
    *(void **)(void *)&api_stats_get_fn = dlsym(RTLD_DEFAULT, "offheap_stats_get");
}

static inline bool api_in_scope(void)
{
    return api_scope_depth_fn && api_scope_depth_fn() > 0;
}

static inline const char *api_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    default: return "Internal Server Error";
    }
}

/* A malloc'd copy of a constant answer. */
static inline char *api_text(const char *s, size_t *len)
{
    *len = strlen(s);
    char *t = malloc(*len + 1);
    if (t) memcpy(t, s, *len + 1);
    return t;
}

/* Parse the order, summarise it, build the answer: ~800 mallocs for a
 * 40-item order, all of them jansson's. */
static inline int api_orders(const char *body, size_t len, char **txt, size_t *txt_len)
{
    json_error_t err;
    json_t *root = json_loadb(body, len, 0, &err);
    if (!root) {
        json_t *e = json_pack("{s:s, s:i, s:i}", "error", err.text, "line", err.line, "column", err.column);
        *txt = e ? json_dumps(e, JSON_COMPACT) : NULL;
        *txt_len = *txt ? strlen(*txt) : 0;
        json_decref(e);
        return 400;
    }
    const char *customer = NULL;
    json_t *items = NULL;
    if (json_unpack_ex(root, &err, 0, "{s:s, s:o}", "customer", &customer, "items", &items) != 0 ||
        !json_is_array(items)) {
        *txt = api_text("{\"error\":\"expected {customer: string, items: array}\"}", txt_len);
        json_decref(root);
        return 422;
    }
    json_int_t quantity = 0;
    double total = 0, max_price = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        json_int_t sku, qty;
        double price;
        if (json_unpack(it, "{s:I, s:I, s:F}", "sku", &sku, "qty", &qty, "price", &price) != 0 || qty < 0 ||
            price < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "{\"error\":\"item %zu: expected {sku, qty >= 0, price >= 0}\"}", i);
            *txt = api_text(msg, txt_len);
            json_decref(root);
            return 422;
        }
        quantity += qty;
        total += (double)qty * price;
        if (price > max_price) max_price = price;
    }
    json_t *answer =
        json_pack("{s:s, s:I, s:I, s:f, s:f, s:b}", "customer", customer, "items", (json_int_t)json_array_size(items),
                  "quantity", quantity, "total", total, "max_price", max_price, "scoped", (int)api_in_scope());
    *txt = answer ? json_dumps(answer, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    *txt_len = *txt ? strlen(*txt) : 0;
    json_decref(answer);
    json_decref(root);
    return 200;
}

static inline size_t api_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* /stats: the requests counted and the preload's scope counters (0 without
 * it). */
static inline char *api_stats(size_t *len)
{
    char buf[512];
    unsigned long long blocks = 0, bytes = 0, released = 0, scopes = 0;
    int loaded = OFFHEAP_LOADED();
    offheap_stats st;
    if (loaded && api_stats_get_fn && api_stats_get_fn(&st) == 0) {
        blocks = st.scope_blocks;
        bytes = st.scope_bytes;
        released = st.scope_bytes_released;
        scopes = st.scopes;
    }
    snprintf(buf, sizeof buf,
             "{\"requests\":%lu,\"offheap_loaded\":%s,\"scopes\":%llu,"
             "\"scope_blocks\":%llu,\"scope_bytes\":%llu,\"scope_bytes_released\":%llu,"
             "\"rss\":%zu}",
             atomic_load(&api_requests), loaded ? "true" : "false", scopes, blocks, bytes, released, api_rss_bytes());
    return api_text(buf, len);
}

/* Route one complete request.  Counts it, returns the status and sets *txt
 * to a malloc'd answer of *txt_len bytes (NULL when out of memory: the
 * caller answers 500).  has_body: a body was announced (Content-Length or
 * chunked); POST /orders without one is 411. */
static inline int api_route(const char *method, const char *path, const char *body, size_t len, bool has_body,
                            char **txt, size_t *txt_len)
{
    /* Counted before the answer goes out, so /stats includes itself and
     * every request already answered. */
    atomic_fetch_add(&api_requests, 1);
    bool orders = strcmp(path, "/orders") == 0, health = strcmp(path, "/health") == 0,
         stats = strcmp(path, "/stats") == 0;
    if (orders && strcmp(method, "POST") == 0) {
        if (!has_body) {
            *txt = api_text("{\"error\":\"Content-Length required\"}", txt_len);
            return 411;
        }
        return api_orders(body, len, txt, txt_len);
    }
    if (health && strcmp(method, "GET") == 0) {
        *txt = api_text("{\"ok\":true}", txt_len);
        return 200;
    }
    if (stats && strcmp(method, "GET") == 0) {
        *txt = api_stats(txt_len);
        return 200;
    }
    if (orders || health || stats) {
        *txt = api_text("{\"error\":\"method not allowed\"}", txt_len);
        return 405;
    }
    *txt = api_text("{\"error\":\"not found\"}", txt_len);
    return 404;
}

/* ------------------------------------------------------------------------ */
/* Start-up                                                                  */
/* ------------------------------------------------------------------------ */

/* server [--port N] [--threads N] [--escape]: port 0 picks a free port
 * (default 8080); threads default to `threads`.  Returns false after
 * printing the usage. */
static inline bool api_args(int argc, char **argv, int *port, int *threads)
{
    *port = 8080;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            *port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            *threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--escape") == 0) {
            api_escape = true;
        } else {
            fprintf(stderr, "usage: %s [--port N] [--threads N] [--escape]   (port 0 picks a free port)\n", argv[0]);
            return false;
        }
    }
    if (*port < 0 || *port > 65535 || *threads < 1 || *threads > 64) {
        fprintf(stderr, "%s: bad port %d or thread count %d\n", argv[0], *port, *threads);
        return false;
    }
    return true;
}

/* A listening TCP socket on 127.0.0.1 (never another address); port 0
 * picks a free one, the chosen port goes to *bound.  reuseport: several
 * sockets may listen on the same port (one per event loop).  Non-blocking
 * when asked.  -1 on error (printed). */
static inline int api_listen(int port, bool reuseport, bool nonblock, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        perror("socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 512) != 0) {
        perror("bind/listen 127.0.0.1");
        close(fd);
        return -1;
    }
    socklen_t alen = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    *bound = ntohs(addr.sin_port);
    return fd;
}

/* SIGINT and SIGTERM blocked in *sigs (the threads started later inherit
 * the mask; main takes them with sigwait), SIGPIPE ignored (a client that
 * goes away is an error return, not a death). */
static inline void api_block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The first line every server prints once it accepts connections. */
static inline void api_announce(int port, const char *what)
{
    printf("listening on 127.0.0.1:%d (offheap preload %s) %s%s\n", port, OFFHEAP_LOADED() ? "loaded" : "not loaded",
           what, api_escape ? ", responses escaped from the scope" : "");
    fflush(stdout);
}

#endif
