/* SPDX-License-Identifier: MIT */
/*
 * evhttp-server — libevent's evhttp with the request handler inside an
 * offheap scope.  The same API as http-server (examples/common/order_api.h):
 * POST /orders, GET /health, GET /stats.
 *
 *   evhttp-server [--port N] [--threads N] [--escape]
 *
 * Listens on 127.0.0.1 only (port 0 picks a free port, printed on the first
 * line).  Each of the N threads (default 2) runs its own event_base and
 * evhttp on a dup of the one listening socket.  SIGINT or SIGTERM stops the
 * loops, frees every evhttp (closing its connections) and prints "served N
 * requests".
 *
 * The handler is written the way libevent's own sample (sample/http-server.c)
 * is: it reads the request with evhttp_request_get_uri, evhttp_uri_parse and
 * evhttp_find_header, fills an evbuffer with evbuffer_add_printf, sets output
 * headers with evhttp_add_header and answers with evhttp_send_reply.  Every
 * one of those calls allocates, inside the scope, objects that libevent keeps
 * after the handler returns: the output header list (freed by
 * evhttp_request_free once the reply is written), the reply's evbuffer chains
 * (moved into the connection's output buffer and written when the socket is
 * writable).  That is the pattern this example exists to exercise; see the
 * README for what it needs today.  With --escape the answer part of the
 * handler (evbuffer, headers, evhttp_send_reply) runs between
 * OFFHEAP_ESCAPE_BEGIN/END, so those objects are ordinary heap blocks.
 */
#define _GNU_SOURCE
#include "../common/order_api.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include <pthread.h>
#include <signal.h>

typedef struct worker {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
} worker;

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    default: return "OTHER";
    }
}

/* One complete request (evhttp has read the headers and the body).  The
 * whole handling is one scope. */
static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    OFFHEAP_SCOPE_BEGIN();
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *input = evhttp_request_get_input_buffer(req);

    /* The path, from the parsed URI (query and fragment ignored). */
    struct evhttp_uri *uri = evhttp_uri_parse(evhttp_request_get_uri(req));
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path) path = "/";

    /* The body, copied out of libevent's input buffer into one block. */
    size_t len = evbuffer_get_length(input);
    char *body = malloc(len + 1);
    if (body) {
        evbuffer_copyout(input, body, len);
        body[len] = '\0';
    }
    bool has_body =
        evhttp_find_header(in, "Content-Length") != NULL || evhttp_find_header(in, "Transfer-Encoding") != NULL;

    char *txt = NULL;
    size_t txt_len = 0;
    int status =
        body ? api_route(method_name(evhttp_request_get_command(req)), path, body, len, has_body, &txt, &txt_len) : 500;

    /* The answer: an evbuffer filled with evbuffer_add_printf, the output
     * headers, the reply.  evhttp_send_reply moves the evbuffer's chains into
     * the connection's output buffer; they are written to the socket when it
     * is writable, after this function has returned. */
    API_ESCAPE_BEGIN(); /* --escape: what libevent keeps goes to the heap */
    struct evbuffer *reply = evbuffer_new();
    if (txt) evbuffer_add_printf(reply, "%s", txt);
    else {
        status = 500;
        evbuffer_add_printf(reply, "{\"error\":\"out of memory\"}");
    }
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "X-Offheap-Scoped", api_in_scope() ? "1" : "0");
    const char *id = evhttp_find_header(in, "X-Request-Id");
    if (id) evhttp_add_header(out, "X-Request-Id", id);
    evhttp_send_reply(req, status, api_reason(status), reply);
    evbuffer_free(reply);
    API_ESCAPE_END();

    free(txt);
    free(body);
    if (uri) evhttp_uri_free(uri);
    OFFHEAP_SCOPE_END();
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    /* Closes this worker's connections and frees their requests. */
    evhttp_free(w->http);
    event_base_free(w->base);
    return NULL;
}

int main(int argc, char **argv)
{
    int port, threads = 2;
    if (!api_args(argc, argv, &port, &threads)) return 2;
    api_init();
    /* Locks, so main can break the other threads' loops. */
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "evthread_use_pthreads failed\n");
        return 1;
    }

    /* Signals are taken by sigwait() in main only (the workers inherit the
     * mask). */
    sigset_t sigs;
    api_block_signals(&sigs);

    int bound;
    int lfd = api_listen(port, false, true, &bound);
    if (lfd < 0) return 1;

    worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws) return 1;
    for (int i = 0; i < threads; i++) {
        ws[i].base = event_base_new();
        ws[i].http = ws[i].base ? evhttp_new(ws[i].base) : NULL;
        if (!ws[i].http) {
            fprintf(stderr, "event_base_new/evhttp_new failed\n");
            return 1;
        }
        evhttp_set_max_body_size(ws[i].http, API_MAX_BODY);
        evhttp_set_timeout(ws[i].http, 60);
        evhttp_set_gencb(ws[i].http, on_request, NULL);
        /* Each evhttp closes the socket it is given when freed: a dup each. */
        int fd = i == 0 ? lfd : dup(lfd);
        if (fd < 0 || evhttp_accept_socket(ws[i].http, fd) != 0) {
            fprintf(stderr, "evhttp_accept_socket failed\n");
            return 1;
        }
    }
    for (int i = 0; i < threads; i++)
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    char what[96];
    snprintf(what, sizeof what, "libevent %s evhttp, %d threads", event_get_version(), threads);
    api_announce(bound, what);

    int sig = 0;
    sigwait(&sigs, &sig);
    for (int i = 0; i < threads; i++) event_base_loopbreak(ws[i].base);
    for (int i = 0; i < threads; i++) pthread_join(ws[i].thread, NULL);
    free(ws);
    printf("served %lu requests\n", atomic_load(&api_requests));
    return 0;
}
