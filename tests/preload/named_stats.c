/* SPDX-License-Identifier: MIT */
/*
 * named_stats.c — the statistics a service reads at run time:
 *   - named scopes (offheap_scope_begin_named): per name, scopes ended,
 *     bytes (equal to what scope_bytes counted for them) and the peak of
 *     one scope; nesting (an outer name's bytes include its inner
 *     scopes'); names read only during the call; NULL and "" unnamed;
 *     names alike in their first 47 bytes count as one; past 126 names,
 *     "(other)";
 *   - offheap_thread_stats_get: each thread's own counters;
 *   - offheap_scope_name_stats_get: counting, short arrays, errors;
 *   - offheap_stats_print_cb: text and JSON in NUL-terminated pieces (names
 *     escaped in JSON, control characters shown as '?' in text), a
 *     callback that allocates, errors.
 */
#include "ph.h"

#include <pthread.h>

static offheap_scope_name_stats find(const char *name)
{
    offheap_scope_name_stats all[OFFHEAP_SCOPE_NAMES_MAX], none;
    memset(&none, 0, sizeof none);
    size_t n = 0;
    CHECK(offheap_scope_name_stats_get(all, OFFHEAP_SCOPE_NAMES_MAX, &n) == 0);
    for (size_t i = 0; i < n && i < OFFHEAP_SCOPE_NAMES_MAX; i++)
        if (!strcmp(all[i].name, name)) return all[i];
    return none;
}

static uint64_t my_bytes(void)
{
    offheap_stats t;
    CHECK(offheap_thread_stats_get(&t) == 0);
    return t.scope_bytes;
}

/* Scopes named "parse" of growing size: bytes and peak against the
 * thread's own scope_bytes. */
static void sizes(void)
{
    uint64_t total = 0, peak = 0;
    for (int i = 0; i < 10; i++) {
        uint64_t b0 = my_bytes();
        offheap_scope_begin_named("parse");
        for (int k = 0; k <= i; k++) memset(malloc(1000), k, 1000);
        offheap_scope_end();
        uint64_t b = my_bytes() - b0;
        total += b;
        if (b > peak) peak = b;
    }
    offheap_scope_name_stats p = find("parse");
    CHECKF(p.scopes == 10, "parse: %llu scopes", (unsigned long long)p.scopes);
    CHECKF(p.bytes == total, "parse: %llu bytes, scope_bytes says %llu", (unsigned long long)p.bytes,
           (unsigned long long)total);
    CHECKF(p.peak_bytes == peak && peak >= 10 * 1000, "parse: peak %llu, want %llu", (unsigned long long)p.peak_bytes,
           (unsigned long long)peak);

    /* Nested: the outer name counts its inner scopes' bytes too. */
    uint64_t b0 = my_bytes();
    offheap_scope_begin_named("request");
    memset(malloc(5000), 1, 5000);
    uint64_t p0 = find("parse").bytes;
    offheap_scope_begin_named("parse");
    memset(malloc(3000), 2, 3000);
    offheap_scope_end();
    uint64_t inner = find("parse").bytes - p0;
    CHECKF(inner >= 3000 && inner < 3100, "inner parse: %llu bytes", (unsigned long long)inner);
    offheap_scope_begin(); /* unnamed, inside a named one */
    memset(malloc(700), 3, 700);
    offheap_scope_end();
    offheap_scope_end();
    uint64_t outer = my_bytes() - b0;
    offheap_scope_name_stats r = find("request");
    CHECKF(r.scopes == 1 && r.bytes == outer && outer > inner + 5000, "request: %llu scopes, %llu bytes, want %llu",
           (unsigned long long)r.scopes, (unsigned long long)r.bytes, (unsigned long long)outer);
    CHECK(find("parse").scopes == 11);
    CHECK(find("parse").bytes == total + inner);
}

/* The name is read during the call only. */
static void name_lifetime(void)
{
    char name[16];
    strcpy(name, "transient");
    offheap_scope_begin_named(name);
    strcpy(name, "overwritten");
    offheap_scope_end();
    CHECK(find("transient").scopes == 1);
    CHECK(find("overwritten").scopes == 0);

    size_t n0 = 0, n1 = 0;
    CHECK(offheap_scope_name_stats_get(NULL, 0, &n0) == 0);
    offheap_scope_begin_named(NULL);
    CHECK(offheap_scope_depth() == 1);
    offheap_scope_end();
    offheap_scope_begin_named("");
    offheap_scope_end();
    CHECK(offheap_scope_name_stats_get(NULL, 0, &n1) == 0);
    CHECKF(n1 == n0, "NULL and \"\" created names: %zu -> %zu", n0, n1);

    /* Names alike in their first 47 bytes are one. */
    char a[64], b[64];
    memset(a, 'n', 60);
    a[60] = '\0';
    memcpy(b, a, 61);
    b[55] = 'X';
    offheap_scope_begin_named(a);
    offheap_scope_end();
    offheap_scope_begin_named(b);
    offheap_scope_end();
    a[47] = '\0';
    CHECKF(find(a).scopes == 2, "long names: %llu scopes under the first 47 bytes", (unsigned long long)find(a).scopes);

    /* A name the outputs must escape (print_cb below). */
    offheap_scope_begin_named("we\"ird\\name\n");
    offheap_scope_end();
}

struct worker {
    int n;
    offheap_stats own;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        offheap_scope_begin_named("worker");
        for (int k = 0; k < 3; k++) memset(malloc(100), 0, 100);
        offheap_scope_end();
    }
    offheap_scope_end(); /* one misuse, this thread's */
    CHECK(offheap_thread_stats_get(&w->own) == 0);
    return NULL;
}

static void threads(void)
{
    struct worker w[2] = {{30, {0}}, {70, {0}}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, worker, &w[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECKF(w[i].own.scopes == (uint64_t)w[i].n && w[i].own.scope_blocks == 3u * (unsigned)w[i].n &&
                   w[i].own.misuse == 1,
               "worker %d: own scopes %llu, blocks %llu, misuse %llu", i, (unsigned long long)w[i].own.scopes,
               (unsigned long long)w[i].own.scope_blocks, (unsigned long long)w[i].own.misuse);
        CHECK(w[i].own.fallback_allocs == 0 && w[i].own.slabs_total == 0 && w[i].own.threads == 0);
    }
    CHECK(find("worker").scopes == 100);
}

/* Past 126 distinct names, scopes count under "(other)". */
static void many_names(void)
{
    size_t n0 = 0;
    CHECK(offheap_scope_name_stats_get(NULL, 0, &n0) == 0);
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "name-%03d", i);
        offheap_scope_begin_named(name);
        offheap_scope_end();
    }
    size_t n = 0;
    CHECK(offheap_scope_name_stats_get(NULL, 0, &n) == 0);
    CHECKF(n == 127, "%zu names after 200 more, want 126 and (other)", n);
    offheap_scope_name_stats o = find("(other)");
    CHECKF(o.scopes == 200 - (126 - n0), "(other): %llu scopes, want %zu", (unsigned long long)o.scopes,
           200 - (126 - n0));
    /* A short array: filled, and the count says how many there are. */
    offheap_scope_name_stats two[2];
    size_t cnt = 0;
    CHECK(offheap_scope_name_stats_get(two, 2, &cnt) == 0 && cnt == 127 && two[0].name && two[1].name);
    CHECK(offheap_scope_name_stats_get(two, 2, NULL) == EINVAL);
    CHECK(offheap_scope_name_stats_get(NULL, 2, &cnt) == EINVAL);
}

struct sink {
    char text[1 << 16];
    size_t len;
    int pieces;
    int bad;
};

static void collect(void *opaque, const char *text)
{
    struct sink *s = opaque;
    size_t n = strlen(text);
    if (n == 0) s->bad = 1;
    if (s->len + n < sizeof s->text) {
        memcpy(s->text + s->len, text, n + 1);
        s->len += n;
    }
    s->pieces++;
    free(malloc(64)); /* a callback may allocate */
}

static void print_cb(void)
{
    static struct sink t, j;
    CHECK(offheap_stats_print_cb(collect, &t, 0) == 0);
    CHECK(!t.bad && t.pieces >= 1);
    CHECKF(!strncmp(t.text, "liboffheap stats: version " OFFHEAP_VERSION " pid ", 30), "text: %.80s", t.text);
    CHECK(strstr(t.text, " reason call\n") != NULL);
    CHECK(strstr(t.text, "\n  names                  127\n") != NULL);
    CHECK(strstr(t.text, "\n    name parse scopes 11 bytes ") != NULL);
    CHECK(strstr(t.text, "\n    name we\"ird\\name? scopes 1 ") != NULL);

    CHECK(offheap_stats_print_cb(collect, &j, OFFHEAP_STATS_JSON) == 0);
    CHECK(!j.bad);
    CHECKF(!strncmp(j.text, "{\"liboffheap\":{\"version\":\"" OFFHEAP_VERSION "\",\"pid\":", 33), "json: %.80s",
           j.text);
    CHECK(strstr(j.text, ",\"reason\":\"call\",") != NULL);
    CHECK(strstr(j.text, "{\"name\":\"parse\",\"scopes\":11,\"bytes\":") != NULL);
    CHECK(strstr(j.text, "{\"name\":\"we\\\"ird\\\\name\\u000a\",\"scopes\":1,") != NULL);
    CHECK(j.len > 4 && !strcmp(j.text + j.len - 4, "]}}\n"));
    CHECK(strchr(j.text, '\n') == j.text + j.len - 1); /* one line */

    CHECK(offheap_stats_print_cb(NULL, &t, 0) == EINVAL);
    CHECK(offheap_stats_print_cb(collect, &t, 2) == EINVAL);
    CHECK(offheap_stats_print_cb(collect, &t, -1) == EINVAL);
}

int main(void)
{
    ph_require_preload();
    sizes();
    name_lifetime();
    threads();
    many_names();
    print_cb();
    return check_done("named_stats");
}
