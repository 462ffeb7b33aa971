/* SPDX-License-Identifier: MIT */
/*
 * mhd-server — GNU libmicrohttpd with the handling of each complete request
 * inside an offheap scope.  The same API as http-server
 * (examples/common/order_api.h): POST /orders, GET /health, GET /stats.
 *
 *   mhd-server [--port N] [--threads N] [--escape]
 *
 * Listens on 127.0.0.1 only (port 0 picks a free port, printed on the first
 * line).  MHD runs its own polling threads (MHD_USE_AUTO_INTERNAL_THREAD, a
 * pool of N threads, default 2) on a socket we bind ourselves.  SIGINT or
 * SIGTERM stops the daemon (closing every connection) and prints "served N
 * requests".
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in (*con_cls is NULL), once per piece of the upload, and once
 * more with *upload_data_size == 0 when the request is complete.  The
 * per-request state that collects the body lives across those calls, so it
 * is allocated outside any scope (in the first call) and freed in the
 * request-completed callback.  Only the last call, which handles the whole
 * request, is a scope: it parses and answers with
 * MHD_create_response_from_buffer (MHD_RESPMEM_MUST_FREE for the order
 * answers, MHD_RESPMEM_MUST_COPY for the others), MHD_add_response_header and
 * MHD_queue_response.  The response object, its headers and its body are
 * allocated inside the scope and MHD sends them after the handler returns,
 * which is the framework pattern this example exercises; see the README.
 * With --escape the response is built between OFFHEAP_ESCAPE_BEGIN/END (an
 * ordinary heap object) and the MUST_FREE body is a heap copy of the text.
 */
#define _GNU_SOURCE
#include "../common/order_api.h"

#include <microhttpd.h>

#include <pthread.h>
#include <signal.h>

/* What one request collects across the handler's calls (outside scopes). */
typedef struct request_state {
    char *body;
    size_t len, cap;
    bool too_large;
} request_state;

static enum MHD_Result answer(struct MHD_Connection *conn, int status, char *txt, size_t len, bool must_free)
{
    struct MHD_Response *resp;
    API_ESCAPE_BEGIN(); /* --escape: the response and its headers on the heap */
    if (must_free && api_escape) {
        /* The block MHD will free() must outlive the scope: a heap copy. */
        char *own = malloc(len ? len : 1);
        if (own) memcpy(own, txt, len);
        free(txt);
        txt = own;
    }
    if (must_free) {
        /* MHD takes the block and free()s it with the response. */
        resp = MHD_create_response_from_buffer(len, txt, MHD_RESPMEM_MUST_FREE);
        if (!resp) free(txt);
    } else {
        /* MHD copies the bytes into a block of its own. */
        resp = MHD_create_response_from_buffer(len, txt, MHD_RESPMEM_MUST_COPY);
        free(txt);
    }
    if (!resp) {
        API_ESCAPE_END();
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "X-Offheap-Scoped", api_in_scope() ? "1" : "0");
    const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (id) MHD_add_response_header(resp, "X-Request-Id", id);
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp); /* MHD keeps its own reference until sent */
    API_ESCAPE_END();
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)version;
    request_state *st = *con_cls;
    if (!st) {
        /* Headers only: the state for this request, outside any scope. */
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* A piece of the body: append it (still outside any scope). */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->too_large || st->len + n > API_MAX_BODY) {
            st->too_large = true;
            return MHD_YES;
        }
        if (st->len + n + 1 > st->cap) {
            size_t cap = st->cap ? st->cap : 4096;
            while (cap < st->len + n + 1) cap *= 2;
            char *nb = realloc(st->body, cap);
            if (!nb) return MHD_NO;
            st->body = nb;
            st->cap = cap;
        }
        memcpy(st->body + st->len, upload_data, n);
        st->len += n;
        return MHD_YES;
    }

    /* The request is complete: handle it in one scope. */
    enum MHD_Result r;
    OFFHEAP_SCOPE_BEGIN();
    char *txt = NULL;
    size_t len = 0;
    int status;
    if (st->too_large) {
        atomic_fetch_add(&api_requests, 1);
        status = 413;
        txt = api_text("{\"error\":\"body too large\"}", &len);
    } else {
        bool has_body = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
                        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        status = api_route(method, url, st->body ? st->body : "", st->len, has_body, &txt, &len);
    }
    if (!txt) {
        status = 500;
        r = answer(conn, status, api_text("{\"error\":\"out of memory\"}", &len), len, false);
    } else {
        /* The order answers (jansson's json_dumps text) are handed over;
         * the others copied. */
        r = answer(conn, status, txt, len, status == 200 && strcmp(url, "/orders") == 0);
    }
    OFFHEAP_SCOPE_END();
    return r;
}

/* MHD is done with the request (answered, or the connection closed). */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_state *st = *con_cls;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    int port, threads = 2;
    if (!api_args(argc, argv, &port, &threads)) return 2;
    api_init();

    sigset_t sigs;
    api_block_signals(&sigs);

    int bound;
    int lfd = api_listen(port, false, true, &bound);
    if (lfd < 0) return 1;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                         NULL, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "MHD_start_daemon failed\n");
        return 1;
    }
    char what[96];
    snprintf(what, sizeof what, "libmicrohttpd %s, %d threads", MHD_get_version(), threads);
    api_announce(bound, what);

    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d); /* closes the connections, joins MHD's threads */
    printf("served %lu requests\n", atomic_load(&api_requests));
    return 0;
}
