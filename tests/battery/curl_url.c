/* SPDX-License-Identifier: MIT */
/* libcurl, no network: curl_global_init (once, in the first request),
 * the URL API (parse, read every part, set parts, resolve relative
 * references, URL-encode query parts, reject bad URLs), curl_easy_escape /
 * unescape on an easy handle that is set up but never performed, and
 * curl_getdate on fixed dates. */
#include "battery.h"

#include <curl/curl.h>

static const char *const bases[] = {
    "https://user:pw@Example.COM:8443/a/b/c.html?x=1&y=two#frag",
    "http://[::1]:8080/path/to/%7Efile?q=%20space",
    "ftp://ftp.example.org/pub/file.tar.gz",
    "https://xn--caf-dma.example/menu?item=cr%C3%A8me",
    "http://example.net",
    "not a url at all",
};
static const char *const rels[] = {"../up/one?z=9", "/root-relative", "sibling.html#top", "//other.host/x",
                                   "?only=query", "https://absolute.example/"};

static int inited;

static void request(int i, char *line, size_t cap)
{
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    CURLU *u = curl_url();
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, bases[i % 6], CURLU_NON_SUPPORT_SCHEME);
    if (rc) {
        bt_add(line, cap, "parse error %d (%s)", rc, curl_url_strerror(rc));
    } else {
        static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_USER, CURLUPART_HOST, CURLUPART_PORT,
                                          CURLUPART_PATH, CURLUPART_QUERY, CURLUPART_FRAGMENT};
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            char *v = NULL;
            if (curl_url_get(u, parts[k], &v, k == 4 && i % 2 ? CURLU_URLDECODE : 0) == CURLUE_OK) {
                bt_add(line, cap, "%s%s", k ? "|" : "", v);
                curl_free(v);
            } else {
                bt_add(line, cap, "%s-", k ? "|" : "");
            }
        }
        char q[64];
        snprintf(q, sizeof q, "req=%d & more=a b/%d", i, i * 3);
        curl_url_set(u, CURLUPART_QUERY, q, CURLU_APPENDQUERY | CURLU_URLENCODE);
        char port[16];
        snprintf(port, sizeof port, "%d", 1000 + i % 9000);
        curl_url_set(u, CURLUPART_PORT, port, 0);
        curl_url_set(u, CURLUPART_URL, rels[i % 6], 0); /* resolve a relative reference */
        char *full = NULL;
        if (curl_url_get(u, CURLUPART_URL, &full, i % 3 == 0 ? CURLU_PUNYCODE : 0) == CURLUE_OK) {
            bt_add(line, cap, " -> %s", full);
            curl_free(full);
        }
    }
    CURLU *dup = curl_url_dup(u);
    curl_url_cleanup(u);
    curl_url_cleanup(dup);

    CURL *h = curl_easy_init();
    char raw[64];
    snprintf(raw, sizeof raw, "a b&c=d/%d\xc3\xa9~", i);
    char *esc = curl_easy_escape(h, raw, 0);
    int ulen = 0;
    char *unesc = esc ? curl_easy_unescape(h, esc, 0, &ulen) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:9/never-fetched");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "battery");
    bt_add(line, cap, " esc=%s back=%s", esc ? esc : "FAILED", unesc && !strcmp(unesc, raw) ? "same" : "DIFFERENT");
    curl_free(esc);
    curl_free(unesc);
    curl_easy_cleanup(h);

    static const char *const dates[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                                        "Sun Nov  6 08:49:37 1994", "20260101 12:00:00 +0100", "garbage"};
    bt_add(line, cap, " date=%ld", (long)curl_getdate(dates[i % 5], NULL));
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    curl_global_cleanup();
    return 0;
}
