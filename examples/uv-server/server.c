/* SPDX-License-Identifier: MIT */
/*
 * uv-server — a libuv TCP server with a small hand-written HTTP/1.1 parser
 * (Content-Length bodies, keep-alive, pipelining) whose request handler runs
 * inside an offheap scope.  The same API as http-server
 * (examples/common/order_api.h): POST /orders, GET /health, GET /stats.
 *
 *   uv-server [--port N] [--threads N] [--escape]
 *
 * Listens on 127.0.0.1 only (port 0 picks a free port, printed on the first
 * line).  Each of the N threads (default 2) runs its own uv_loop_t with its
 * own listening socket on the same port (SO_REUSEPORT).  SIGINT or SIGTERM
 * closes every handle of every loop and prints "served N requests".
 *
 * The connection (its uv_tcp_t and its read buffer) lives across requests,
 * so it is allocated outside any scope, when the connection is accepted.
 * The handler, called from the read callback for each complete request, is
 * one scope: it parses the order with jansson and answers with uv_write(),
 * the way libuv's documentation and examples do it: the write request and
 * the buffers it points at are malloc'd in the handler and freed in the
 * write callback.  libuv calls that callback from a later loop iteration,
 * after the scope has ended, and keeps the request in its queues (and, when
 * the socket is not immediately writable, writes the buffers) until then:
 * the framework pattern this example exercises.  See the README.  With
 * --escape the write request, its head and a copy of the body are allocated
 * between OFFHEAP_ESCAPE_BEGIN/END (ordinary heap blocks).
 */
#define _GNU_SOURCE /* memmem */
#include "../common/http_header.h"
#include "../common/order_api.h"

#include <uv.h>

#include <pthread.h>
#include <signal.h>
#include <strings.h>

#define MAX_HEADER (16u << 10) /* bytes of request line + headers */
#define BUF_MIN (MAX_HEADER + 4096)

typedef struct loop_ctx {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t stop;
    pthread_t thread;
    int fd;
} loop_ctx;

/* One connection: allocated when accepted, freed when closed. */
typedef struct conn {
    uv_tcp_t tcp;
    char *buf;
    size_t have, cap;
    bool closing; /* answered with Connection: close, or the peer left */
} conn;

/* One response in flight: allocated by the handler (inside its scope),
 * freed by on_written (after it). */
typedef struct reply {
    uv_write_t req;
    uv_buf_t bufs[2];
    char *head, *body;
    bool close_after;
} reply;

static void on_closed(uv_handle_t *h)
{
    if (h->type == UV_TCP && h->data) {
        conn *c = h->data;
        free(c->buf);
        free(c);
    }
}

static void conn_close(conn *c)
{
    c->closing = true;
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    reply *r = req->data;
    conn *c = (conn *)req->handle->data;
    free(r->head);
    free(r->body);
    bool close_after = r->close_after;
    free(r);
    if (status < 0 || close_after) conn_close(c);
}

/* ------------------------------------------------------------------------ */
/* HTTP/1.1 requests                                                         */
/* ------------------------------------------------------------------------ */

typedef struct request {
    char method[8];
    char path[256];
    bool keep_alive, has_len, chunked;
    size_t head_len, body_len;
    char id[80]; /* X-Request-Id, "" when absent */
} request;


/* Parse the head at buf[0..have).  1: complete head in *rq; 0: need more;
 * -1: bad request; -2: headers too large; -3: body too large. */
static int parse_head(const char *buf, size_t have, request *rq)
{
    const char *hend = have >= 4 ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
    if (!hend) return have >= MAX_HEADER ? -2 : 0;
    memset(rq, 0, sizeof *rq);
    rq->head_len = (size_t)(hend - buf) + 4;
    const char *eol = memchr(buf, '\n', rq->head_len);
    const char *end = buf + rq->head_len;
    /* METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - buf) >= sizeof rq->method || (size_t)(sp2 - sp1 - 1) >= sizeof rq->path ||
        eol - sp2 < 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -1;
    memcpy(rq->method, buf, (size_t)(sp1 - buf));
    size_t pl = (size_t)(sp2 - sp1 - 1);
    memcpy(rq->path, sp1 + 1, pl);
    char *q = strchr(rq->path, '?');
    if (q) *q = '\0';
    rq->keep_alive = sp2[8] != '0';
    const char *hdrs = eol + 1, *v;
    size_t vl;
    if (http_find_header(hdrs, end, "Connection", &v, &vl)) {
        if (vl == 5 && strncasecmp(v, "close", 5) == 0) rq->keep_alive = false;
        if (vl == 10 && strncasecmp(v, "keep-alive", 10) == 0) rq->keep_alive = true;
    }
    if (http_find_header(hdrs, end, "Transfer-Encoding", &v, &vl)) rq->chunked = true;
    if (http_find_header(hdrs, end, "Content-Length", &v, &vl)) {
        char num[24];
        if (vl == 0 || vl >= sizeof num) return -1;
        memcpy(num, v, vl);
        num[vl] = '\0';
        char *e;
        unsigned long long l = strtoull(num, &e, 10);
        if (*e) return -1;
        if (l > API_MAX_BODY) return -3;
        rq->has_len = true;
        rq->body_len = (size_t)l;
    }
    if (http_find_header(hdrs, end, "X-Request-Id", &v, &vl) && vl < sizeof rq->id) memcpy(rq->id, v, vl);
    return 1;
}

/* Queue one answer: the write request, the head and the body are all
 * malloc'd here (inside the handler's scope when called from it) and freed
 * by on_written.  `body` is taken over. */
static void send_answer(conn *c, int status, char *body, size_t len, const char *id, bool keep)
{
    API_ESCAPE_BEGIN(); /* --escape: the request and its bytes on the heap */
    if (api_escape && body) {
        char *own = malloc(len ? len : 1);
        if (own) memcpy(own, body, len);
        free(body);
        body = own;
    }
    reply *r = malloc(sizeof *r);
    char *head = malloc(256 + strlen(id));
    API_ESCAPE_END();
    if (!r || !head || !body) {
        free(r);
        free(head);
        free(body);
        conn_close(c);
        return;
    }
    int n = sprintf(head,
                    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                    "Connection: %s\r\nX-Offheap-Scoped: %d\r\n%s%s%s\r\n",
                    status, api_reason(status), len, keep ? "keep-alive" : "close", (int)api_in_scope(),
                    *id ? "X-Request-Id: " : "", id, *id ? "\r\n" : "");
    r->head = head;
    r->body = body;
    r->close_after = !keep;
    r->bufs[0] = uv_buf_init(head, (unsigned)n);
    r->bufs[1] = uv_buf_init(body, (unsigned)len);
    r->req.data = r;
    if (uv_write(&r->req, (uv_stream_t *)&c->tcp, r->bufs, 2, on_written) != 0) {
        free(head);
        free(body);
        free(r);
        conn_close(c);
    }
}

/* The handler: one complete request, one scope. */
static void handle(conn *c, const request *rq, const char *body)
{
    OFFHEAP_SCOPE_BEGIN();
    char *txt = NULL;
    size_t len = 0;
    int status;
    if (rq->chunked) {
        atomic_fetch_add(&api_requests, 1);
        status = 411;
        txt = api_text("{\"error\":\"chunked bodies are not supported\"}", &len);
    } else {
        status = api_route(rq->method, rq->path, body, rq->body_len, rq->has_len, &txt, &len);
    }
    bool keep = rq->keep_alive && !rq->chunked;
    if (!txt) {
        status = 500;
        txt = api_text("{\"error\":\"out of memory\"}", &len);
    }
    send_answer(c, status, txt, len, rq->id, keep);
    OFFHEAP_SCOPE_END();
    if (!keep) c->closing = true;
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    if (c->cap - c->have < 16384) {
        char *nb = realloc(c->buf, c->cap * 2);
        if (nb) {
            c->buf = nb;
            c->cap *= 2;
        }
    }
    *buf = uv_buf_init(c->buf + c->have, (unsigned)(c->cap - c->have));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = s->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    c->have += (size_t)nread;
    /* Every complete request in the buffer (pipelining), in order. */
    size_t off = 0;
    while (!c->closing) {
        request rq;
        int p = parse_head(c->buf + off, c->have - off, &rq);
        if (p == 0) break;
        if (p < 0) {
            static const int code[] = {0, 400, 413, 413};
            atomic_fetch_add(&api_requests, 1);
            size_t len;
            char *txt = api_text("{\"error\":\"bad request\"}", &len);
            send_answer(c, code[-p], txt, len, "", false);
            c->closing = true;
            break;
        }
        size_t need = rq.head_len + rq.body_len;
        if (c->have - off < need) {
            /* Make room for the whole body (on_alloc grows by doubling). */
            if (off + need > c->cap) {
                size_t cap = c->cap;
                while (cap < off + need) cap *= 2;
                char *nb = realloc(c->buf, cap);
                if (!nb) {
                    conn_close(c);
                    return;
                }
                c->buf = nb;
                c->cap = cap;
            }
            break;
        }
        handle(c, &rq, c->buf + off + rq.head_len);
        off += need;
    }
    memmove(c->buf, c->buf + off, c->have - off);
    c->have -= off;
    if (c->cap > BUF_MIN && c->have <= BUF_MIN / 2) { /* shrink after a big body */
        char *nb = realloc(c->buf, BUF_MIN);
        if (nb) {
            c->buf = nb;
            c->cap = BUF_MIN;
        }
    }
    if (c->closing) uv_read_stop(s); /* closed by on_written once answered */
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) return;
    conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->cap = BUF_MIN;
    c->buf = malloc(c->cap);
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (!c->buf || uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, on_closed);
}

/* Stop: close every handle of the loop (connections cancel their pending
 * writes, whose callbacks free them); uv_run then returns. */
static void on_stop(uv_async_t *a)
{
    uv_walk(a->loop, close_any, NULL);
}

static void *loop_main(void *arg)
{
    loop_ctx *lc = arg;
    uv_run(&lc->loop, UV_RUN_DEFAULT);
    uv_loop_close(&lc->loop);
    return NULL;
}

int main(int argc, char **argv)
{
    int port, threads = 2;
    if (!api_args(argc, argv, &port, &threads)) return 2;
    api_init();

    sigset_t sigs;
    api_block_signals(&sigs);

    loop_ctx *lcs = calloc((size_t)threads, sizeof *lcs);
    if (!lcs) return 1;
    int bound = port;
    for (int i = 0; i < threads; i++) {
        loop_ctx *lc = &lcs[i];
        /* The first socket picks the port (0: a free one), the others join
         * it. */
        lc->fd = api_listen(i == 0 ? port : bound, true, true, &bound);
        if (lc->fd < 0) return 1;
        uv_loop_init(&lc->loop);
        uv_tcp_init(&lc->loop, &lc->listener);
        uv_async_init(&lc->loop, &lc->stop, on_stop);
        int e = uv_tcp_open(&lc->listener, lc->fd);
        if (e == 0) e = uv_listen((uv_stream_t *)&lc->listener, 512, on_connection);
        if (e != 0) {
            fprintf(stderr, "uv_listen: %s\n", uv_strerror(e));
            return 1;
        }
    }
    for (int i = 0; i < threads; i++)
        if (pthread_create(&lcs[i].thread, NULL, loop_main, &lcs[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    char what[96];
    snprintf(what, sizeof what, "libuv %s, %d loops", uv_version_string(), threads);
    api_announce(bound, what);

    int sig = 0;
    sigwait(&sigs, &sig);
    for (int i = 0; i < threads; i++) uv_async_send(&lcs[i].stop);
    for (int i = 0; i < threads; i++) pthread_join(lcs[i].thread, NULL);
    free(lcs);
    printf("served %lu requests\n", atomic_load(&api_requests));
    return 0;
}
