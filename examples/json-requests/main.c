/* SPDX-License-Identifier: MIT */
/*
 * json-requests — the main job's request loop: each request parses a
 * ~4 KiB JSON document with jansson, walks it and builds a small reply.
 * Under liboffheap every request runs inside a scope and skips jansson's
 * free walk (json_decref) entirely: the scope end releases everything.
 * Without the preload (or with --free) it frees as usual.
 *
 *   json-requests [requests] [--free]
 *
 * Prints requests/s and resident memory at the start, middle and end, so
 * a flat RSS is visible.
 */
#include <offheap.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return res * 4;
}

/* A deterministic document of about 4 KiB: an order with line items. */
static char *make_doc(unsigned seed)
{
    json_t *root = json_object();
    json_object_set_new(root, "order", json_integer(seed));
    json_object_set_new(root, "customer", json_string("ACME Corporation, Building 7"));
    json_t *items = json_array();
    for (int i = 0; i < 40; i++) {
        json_t *it = json_object();
        char sku[32];
        snprintf(sku, sizeof sku, "SKU-%05u-%02d", (seed * 7919u + (unsigned)i) % 100000u, i);
        json_object_set_new(it, "sku", json_string(sku));
        json_object_set_new(it, "qty", json_integer((seed + (unsigned)i) % 9 + 1));
        json_object_set_new(it, "price", json_real(((seed + (unsigned)i * 13u) % 1000u) / 10.0));
        json_object_set_new(it, "gift", json_boolean(i % 5 == 0));
        json_array_append_new(items, it);
    }
    json_object_set_new(root, "items", items);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

/* One request: parse, walk, reply.  Returns the order total in cents. */
static long handle(const char *body, int do_free, char *reply, size_t cap)
{
    json_error_t err;
    json_t *root = json_loads(body, 0, &err);
    if (!root) {
        fprintf(stderr, "parse error: %s\n", err.text);
        exit(1);
    }
    long cents = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(root, "items"), i, it)
    {
        long qty = (long)json_integer_value(json_object_get(it, "qty"));
        cents += qty * (long)(json_real_value(json_object_get(it, "price")) * 100.0 + 0.5);
    }
    json_t *out = json_pack("{s:I, s:I, s:s}", "order", json_integer_value(json_object_get(root, "order")),
                            "total_cents", (json_int_t)cents, "status", "ok");
    char *s = json_dumps(out, JSON_COMPACT);
    snprintf(reply, cap, "%s", s);
    if (do_free) {
        free(s);
        json_decref(out);
        json_decref(root);
    }
    return cents;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int force_free = argc > 2 && !strcmp(argv[2], "--free");
    int scoped = OFFHEAP_LOADED() && !force_free;
    if (n <= 0) n = 100000;

    enum { DOCS = 64 };
    char *docs[DOCS];
    size_t bytes = 0;
    for (unsigned d = 0; d < DOCS; d++) {
        docs[d] = make_doc(d);
        bytes += strlen(docs[d]);
    }
    /* Initialise the library before the first request (hash seed). */
    json_object_seed(0);
    char reply[256];
    long long check = 0;
    size_t rss_start = rss_kib(), rss_mid = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long r = 0; r < n; r++) {
        if (scoped) OFFHEAP_SCOPE_BEGIN();
        check += handle(docs[r % DOCS], !scoped, reply, sizeof reply);
        if (scoped) OFFHEAP_SCOPE_END();
        if (r == n / 2) rss_mid = rss_kib();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("json-requests: %ld requests of %zu-byte documents, %s\n", n, bytes / DOCS,
           scoped ? "scoped (liboffheap, no free walk)" : "free() walk (no scopes)");
    printf("  last reply  %s\n", reply);
    printf("  checksum    %lld\n", check);
    printf("  throughput  %.0f requests/s\n", (double)n / secs);
    printf("  RSS KiB     start %zu, middle %zu, end %zu\n", rss_start, rss_mid, rss_kib());
    for (unsigned d = 0; d < DOCS; d++) free(docs[d]);
    return 0;
}
