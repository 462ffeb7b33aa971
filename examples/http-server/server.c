/* SPDX-License-Identifier: MIT */
/*
 * http-server — a small HTTP/1.1 server on 127.0.0.1 whose handler parses a
 * JSON order with jansson inside an offheap scope and answers with a JSON
 * summary.  One thread per connection, keep-alive, pipelining tolerated.
 *
 * It links nothing of liboffheap: the OFFHEAP_SCOPE_* markers from
 * offheap.h are weak references, so
 *     ./http-server                                   runs on the normal malloc;
 *     LD_PRELOAD=liboffheap.so ./http-server          runs each request's
 *         allocations (jansson's tree, the response text) in a scope that
 *         its end releases at once.
 *
 *   http-server [--port N]     N = 0 (default 8080 if omitted) picks a free port
 * It prints "listening on 127.0.0.1:PORT" once ready, serves until SIGINT or
 * SIGTERM, then closes every connection and prints "served N requests".
 *
 * Routes:
 *   POST /orders   body {"customer": str, "items": [{"sku": int, "qty": int,
 *                  "price": number}, ...]} -> 200 {"customer", "items",
 *                  "quantity", "total", "max_price", "scoped"}; 400 for bad
 *                  JSON, 422 for the wrong shape, 413 over 4 MiB
 *   GET /health    200 {"ok": true}
 *   GET /stats     200 {"requests", "offheap_loaded", "scope_blocks", ...}
 */
#define _GNU_SOURCE /* memmem, accept4 */
#include <offheap.h>

#include "../common/http_header.h"

#include <jansson.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEADER (16u << 10) /* bytes of request line + headers */
#define MAX_BODY (4u << 20)    /* bytes of a request body */
#define MAX_CONNS 1024

static atomic_ulong requests_served;

/* offheap_scope_depth() and offheap_stats_get(), looked up once at start as
 * the OFFHEAP_* markers look up theirs: calling an undefined weak function
 * directly is not safe in a position-dependent (-no-pie) executable.  NULL
 * without the preload. */
static int (*scope_depth_fn)(void);
static int (*stats_get_fn)(offheap_stats *);
static atomic_bool stopping;
static int listen_fd = -1;

/* Live connections, so shutdown can close them and wait for their threads. */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_gone = PTHREAD_COND_INITIALIZER;
static int conns[MAX_CONNS];
static int nconns;

static bool conn_add(int fd)
{
    pthread_mutex_lock(&conns_lock);
    bool ok = nconns < MAX_CONNS && !atomic_load(&stopping);
    if (ok) conns[nconns++] = fd;
    pthread_mutex_unlock(&conns_lock);
    return ok;
}

static void conn_remove(int fd)
{
    pthread_mutex_lock(&conns_lock);
    for (int i = 0; i < nconns; i++)
        if (conns[i] == fd) {
            conns[i] = conns[--nconns];
            break;
        }
    if (nconns == 0) pthread_cond_broadcast(&conns_gone);
    pthread_mutex_unlock(&conns_lock);
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Send status + JSON body.  The header goes to a stack buffer and the body
 * is sent as it is, so nothing here allocates. */
static bool respond(int fd, int status, const char *body, size_t len, bool keep_alive)
{
    const char *reason = status == 200   ? "OK"
                         : status == 400 ? "Bad Request"
                         : status == 404 ? "Not Found"
                         : status == 405 ? "Method Not Allowed"
                         : status == 411 ? "Length Required"
                         : status == 413 ? "Payload Too Large"
                         : status == 422 ? "Unprocessable Entity"
                                         : "Internal Server Error";
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                     status, reason, len, keep_alive ? "keep-alive" : "close");
    return write_all(fd, head, (size_t)n) && write_all(fd, body, len);
}

static bool respond_text(int fd, int status, const char *json, bool keep_alive)
{
    return respond(fd, status, json, strlen(json), keep_alive);
}

/* ------------------------------------------------------------------------ */
/* The handler: everything it allocates lives in one scope                   */
/* ------------------------------------------------------------------------ */

/* Parse, summarise, answer.  With the preload, every malloc jansson makes
 * here (the tree, its strings, the dumped answer) is a bump in this
 * thread's scope, and OFFHEAP_SCOPE_END() releases them all; the
 * json_decref()/free() calls are then no-ops.  Without the preload they are
 * ordinary mallocs and frees. */
static bool handle_orders(int fd, const char *body, size_t len, bool keep_alive)
{
    bool ok;
    OFFHEAP_SCOPE_BEGIN();
    json_error_t err;
    json_t *root = json_loadb(body, len, 0, &err);
    if (!root) {
        json_t *e = json_pack("{s:s, s:i, s:i}", "error", err.text, "line", err.line, "column", err.column);
        char *txt = json_dumps(e, JSON_COMPACT);
        ok = txt && respond_text(fd, 400, txt, keep_alive);
        free(txt);
        json_decref(e);
        goto out;
    }
    const char *customer = NULL;
    json_t *items = NULL;
    if (json_unpack_ex(root, &err, 0, "{s:s, s:o}", "customer", &customer, "items", &items) != 0 ||
        !json_is_array(items)) {
        ok = respond_text(fd, 422, "{\"error\":\"expected {customer: string, items: array}\"}", keep_alive);
        json_decref(root);
        goto out;
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
            ok = respond_text(fd, 422, msg, keep_alive);
            json_decref(root);
            goto out;
        }
        quantity += qty;
        total += (double)qty * price;
        if (price > max_price) max_price = price;
    }
    int scoped = scope_depth_fn && scope_depth_fn() > 0;
    json_t *answer =
        json_pack("{s:s, s:I, s:I, s:f, s:f, s:b}", "customer", customer, "items", (json_int_t)json_array_size(items),
                  "quantity", quantity, "total", total, "max_price", max_price, "scoped", scoped);
    char *txt = answer ? json_dumps(answer, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    ok = txt ? respond_text(fd, 200, txt, keep_alive)
             : respond_text(fd, 500, "{\"error\":\"out of memory\"}", keep_alive);
    free(txt);
    json_decref(answer);
    json_decref(root);
out:
    OFFHEAP_SCOPE_END();
    return ok;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
    fclose(f);
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static bool handle_stats(int fd, bool keep_alive)
{
    char buf[512];
    unsigned long long blocks = 0, bytes = 0, released = 0, scopes = 0;
    int loaded = OFFHEAP_LOADED();
    if (loaded && stats_get_fn) {
        offheap_stats st;
        if (stats_get_fn(&st) == 0) {
            blocks = st.scope_blocks;
            bytes = st.scope_bytes;
            released = st.scope_bytes_released;
            scopes = st.scopes;
        }
    }
    int n = snprintf(buf, sizeof buf,
                     "{\"requests\":%lu,\"offheap_loaded\":%s,\"scopes\":%llu,"
                     "\"scope_blocks\":%llu,\"scope_bytes\":%llu,\"scope_bytes_released\":%llu,"
                     "\"rss\":%zu}",
                     atomic_load(&requests_served), loaded ? "true" : "false", scopes, blocks, bytes, released,
                     rss_bytes());
    return respond(fd, 200, buf, (size_t)n, keep_alive);
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */


static void *connection_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    /* The connection's buffer is allocated outside any scope: it lives as
     * long as the connection, across many requests. */
    size_t cap = MAX_HEADER + 4096, have = 0;
    char *buf = malloc(cap);
    bool keep = buf != NULL;
    while (keep && !atomic_load(&stopping)) {
        /* Read until the end of the headers. */
        char *hend = NULL;
        while (!(hend = have >= 4 ? memmem(buf, have, "\r\n\r\n", 4) : NULL)) {
            if (have >= MAX_HEADER) {
                respond_text(fd, 413, "{\"error\":\"headers too large\"}", false);
                goto done;
            }
            ssize_t r = recv(fd, buf + have, cap - have, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) goto done;
            have += (size_t)r;
        }
        size_t head_len = (size_t)(hend - buf) + 4;

        /* Request line: METHOD SP PATH SP HTTP/1.x */
        char method[8], path[256], reqline[300];
        unsigned minor = 1;
        const char *first_eol = memchr(buf, '\n', head_len);
        size_t rl = (size_t)(first_eol - buf); /* first_eol exists: hend is a CRLF */
        if (rl >= sizeof reqline) rl = sizeof reqline - 1;
        memcpy(reqline, buf, rl); /* buf is not NUL-terminated: sscanf needs a string */
        reqline[rl] = '\0';
        if (sscanf(reqline, "%7s %255s HTTP/1.%u", method, path, &minor) != 3) {
            respond_text(fd, 400, "{\"error\":\"bad request line\"}", false);
            goto done;
        }
        const char *hdrs = first_eol + 1;
        const char *v;
        size_t vl;
        keep = minor >= 1;
        if (http_find_header(hdrs, buf + head_len, "Connection", &v, &vl)) {
            if (vl == 5 && strncasecmp(v, "close", 5) == 0) keep = false;
            if (vl == 10 && strncasecmp(v, "keep-alive", 10) == 0) keep = true;
        }
        size_t body_len = 0;
        bool has_len = http_find_header(hdrs, buf + head_len, "Content-Length", &v, &vl);
        if (has_len) {
            char num[24];
            if (vl == 0 || vl >= sizeof num) vl = sizeof num - 1;
            memcpy(num, v, vl);
            num[vl] = '\0';
            char *endp;
            unsigned long long l = strtoull(num, &endp, 10);
            if (*endp || l > MAX_BODY) {
                respond_text(fd, 413, "{\"error\":\"body too large\"}", false);
                goto done;
            }
            body_len = (size_t)l;
        }

        /* Read the body (the buffer grows for large bodies). */
        size_t need = head_len + body_len;
        if (need > cap) {
            char *nb = realloc(buf, need);
            if (!nb) goto done;
            buf = nb;
            cap = need;
        }
        while (have < need) {
            ssize_t r = recv(fd, buf + have, cap - have, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) goto done;
            have += (size_t)r;
        }

        /* Counted before the answer goes out, so /stats includes itself and
         * every request already answered. */
        atomic_fetch_add(&requests_served, 1);
        bool ok;
        if (strcmp(method, "POST") == 0 && strcmp(path, "/orders") == 0) {
            ok = has_len ? handle_orders(fd, buf + head_len, body_len, keep)
                         : respond_text(fd, 411, "{\"error\":\"Content-Length required\"}", false);
            if (!has_len) keep = false;
        } else if (strcmp(method, "GET") == 0 && strcmp(path, "/health") == 0) {
            ok = respond_text(fd, 200, "{\"ok\":true}", keep);
        } else if (strcmp(method, "GET") == 0 && strcmp(path, "/stats") == 0) {
            ok = handle_stats(fd, keep);
        } else if (strcmp(path, "/orders") == 0 || strcmp(path, "/health") == 0 || strcmp(path, "/stats") == 0) {
            ok = respond_text(fd, 405, "{\"error\":\"method not allowed\"}", keep);
        } else {
            ok = respond_text(fd, 404, "{\"error\":\"not found\"}", keep);
        }
        if (!ok) break;

        /* Keep what followed (a pipelined request) for the next round. */
        memmove(buf, buf + need, have - need);
        have -= need;
        if (cap > MAX_HEADER + 4096 && have <= MAX_HEADER + 4096) { /* shrink after a big body */
            char *nb = realloc(buf, MAX_HEADER + 4096);
            if (nb) {
                buf = nb;
                cap = MAX_HEADER + 4096;
            }
        }
    }
done:
    free(buf);
    conn_remove(fd);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u << 10);
    while (!atomic_load(&stopping)) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (atomic_load(&stopping)) break;
            if (errno == EMFILE || errno == ENFILE) {
                usleep(10000);
                continue;
            }
            perror("accept");
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (!conn_add(fd)) {
            close(fd);
            continue;
        }
        if (pthread_create(&t, &attr, connection_main, (void *)(intptr_t)fd) != 0) {
            conn_remove(fd);
            close(fd);
        }
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 8080;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port N]   (N = 0 picks a free port)\n", argv[0]);
            return 2;
        }
    }
    if (port < 0 || port > 65535) {
        fprintf(stderr, "bad port %d\n", port);
        return 2;
    }

    /* jansson picks its hash seed on first use; do it now, single-threaded,
     * as its documentation asks, and outside any scope. */
    json_object_seed(0);
    *(void **)(void *)&scope_depth_fn = dlsym(RTLD_DEFAULT, "offheap_scope_depth");
    *(void **)(void *)&stats_get_fn = dlsym(RTLD_DEFAULT, "offheap_stats_get");

    /* Signals are taken by sigwait() in main only. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only, never a public address */
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listen_fd, 512) != 0) {
        perror("bind/listen 127.0.0.1");
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(listen_fd, (struct sockaddr *)&addr, &alen);
    printf("listening on 127.0.0.1:%u (offheap preload %s)\n", ntohs(addr.sin_port),
           OFFHEAP_LOADED() ? "loaded" : "not loaded");
    fflush(stdout);

    pthread_t acceptor;
    if (pthread_create(&acceptor, NULL, accept_main, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    int sig = 0;
    sigwait(&sigs, &sig);

    /* Stop: no new connections, wake every reader, wait for the threads. */
    atomic_store(&stopping, true);
    shutdown(listen_fd, SHUT_RDWR);
    pthread_join(acceptor, NULL);
    pthread_mutex_lock(&conns_lock);
    for (int i = 0; i < nconns; i++) shutdown(conns[i], SHUT_RDWR);
    while (nconns > 0) pthread_cond_wait(&conns_gone, &conns_lock);
    pthread_mutex_unlock(&conns_lock);
    close(listen_fd);
    printf("served %lu requests\n", atomic_load(&requests_served));
    return 0;
}
