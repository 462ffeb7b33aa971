/* SPDX-License-Identifier: MIT */
/* libevent without a server: evbuffer (add, printf, search, readln,
 * drain, prepend, buffer-to-buffer moves), the HTTP helpers (URI parse and
 * join, encode/decode, query-string parsing into evkeyvalq, HTML
 * escaping), and an event_base per request that runs a zero-timeout timer
 * and a manually activated event. */
#include "battery.h"

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (*(int *)arg) += 1;
}

static void request(int i, char *line, size_t cap)
{
    struct evbuffer *b = evbuffer_new(), *b2 = evbuffer_new();
    for (int k = 0; k < 2 + i % 30; k++) evbuffer_add_printf(b, "Header-%d: value %d\r\n", k, i * k);
    evbuffer_add(b, "\r\nbody", 6);
    evbuffer_prepend(b, "HTTP/1.1 200 OK\r\n", 17);
    struct evbuffer_ptr p = evbuffer_search(b, "\r\n\r\n", 4, NULL);
    int lines = 0;
    size_t total = 0;
    char *l;
    size_t ll;
    while ((l = evbuffer_readln(b, &ll, EVBUFFER_EOL_CRLF_STRICT)) != NULL) {
        if (ll == 0) {
            free(l);
            break;
        }
        lines++;
        total += ll;
        free(l);
    }
    evbuffer_add_buffer(b2, b);
    size_t rest = evbuffer_get_length(b2);
    evbuffer_drain(b2, rest);
    bt_add(line, cap, "blank-at=%ld lines=%d bytes=%zu rest=%zu", (long)p.pos, lines, total, rest);
    evbuffer_free(b);
    evbuffer_free(b2);

    char uri_s[256];
    snprintf(uri_s, sizeof uri_s, "http://user@host%d.example:%d/path/%d/x%%20y?a=%d&b=two+words&c=%%C3%%A9#f%d", i % 5,
             8000 + i % 100, i, i * 2, i % 3);
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(uri_s, 0);
    if (uri) {
        char joined[512];
        evhttp_uri_set_port(uri, 9000 + i % 10);
        evhttp_uri_join(uri, joined, sizeof joined);
        struct evkeyvalq q;
        TAILQ_INIT(&q);
        int qerr = evhttp_parse_query_str(evhttp_uri_get_query(uri), &q);
        const char *bv = evhttp_find_header(&q, "b");
        const char *cv = evhttp_find_header(&q, "c");
        bt_add(line, cap, " host=%s path=%s b=%s c=%s joined=%s qerr=%d", evhttp_uri_get_host(uri), evhttp_uri_get_path(uri),
               bv ? bv : "-", cv ? cv : "-", joined, qerr);
        evhttp_clear_headers(&q);
        evhttp_uri_free(uri);
    }
    char raw[64];
    snprintf(raw, sizeof raw, "a b/c?d=%d&<\xc3\xa9>", i);
    char *enc = evhttp_encode_uri(raw);
    char *dec = evhttp_decode_uri(enc);
    char *html = evhttp_htmlescape(raw);
    bt_add(line, cap, " enc=%s dec=%s html=%s", enc, !strcmp(dec, raw) ? "same" : "DIFFERENT", html);
    free(enc);
    free(dec);
    free(html);

    struct event_base *base = event_base_new();
    int fired = 0;
    struct event *t = evtimer_new(base, on_timer, &fired);
    struct timeval zero = {0, 0};
    evtimer_add(t, &zero);
    struct event *u = event_new(base, -1, 0, on_timer, &fired);
    event_active(u, 0, 0);
    event_base_dispatch(base);
    bt_add(line, cap, " fired=%d", fired);
    event_free(t);
    event_free(u);
    event_base_free(base);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    libevent_global_shutdown();
    return 0;
}
