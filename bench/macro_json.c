/* SPDX-License-Identifier: MIT */
/*
 * macro_json.c — a real library per request (macro benchmark 2).
 *
 * Each request parses the same ~4 KiB JSON document (generated here,
 * deterministically), walks the tree (sums numbers and string lengths) and
 * releases it:
 *   --lib cjson   --variant lib   cJSON_Parse + walk + cJSON_Delete; under
 *                                 liboffheap the request is one scope and
 *                                 cJSON_Delete (the free walk) is skipped;
 *   --lib cjson   --variant bump  cJSON_InitHooks pointed at an inlined bump
 *                                 pointer with a no-op free, reset per
 *                                 request: the allocation-free limit;
 *   --lib jansson --variant lib   json_loads + walk + json_decref (scope and
 *                                 no decref under liboffheap).
 * Both libraries are initialised and warmed before the first timed request.
 * Prints requests/s and the RSS at start, middle and end of the timed
 * requests (it must stay flat) and the peak RSS.
 *
 * usage: macro_json [--lib cjson|jansson] [--variant lib|bump]
 *                   [--requests N] [--quick]
 */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_OFFHEAP_COUNTERS
#include "bench.h"
#include "offheap.h"

/* ---- the document ------------------------------------------------------ */

static char doc[8192];
static size_t doc_len;

/* About 4 KiB: an object with a header and an array of records, each with
 * numbers, strings, a boolean, a null and a small array: the node mix of an
 * API payload.  cJSON makes ~15 allocations per record. */
static void make_doc(void)
{
    uint64_t s = 7;
    size_t n = 0;
    n += (size_t)snprintf(doc + n, sizeof doc - n,
                          "{\"version\":3,\"source\":\"bench\",\"page\":{\"offset\":0,"
                          "\"limit\":40},\"items\":[");
    for (int i = 0; n < 3900; i++) {
        uint64_t r = bench_rand(&s);
        n += (size_t)snprintf(doc + n, sizeof doc - n,
                              "%s{\"id\":%d,\"name\":\"item-%05u\",\"price\":%u.%02u,"
                              "\"active\":%s,\"note\":null,\"tags\":[\"t%u\",\"k%u\"]}",
                              i ? "," : "", i, (unsigned)(r % 100000), (unsigned)(r >> 40) % 1000,
                              (unsigned)(r >> 20) % 100, (r & 1) ? "true" : "false", (unsigned)(r >> 8) % 10,
                              (unsigned)(r >> 12) % 10);
    }
    n += (size_t)snprintf(doc + n, sizeof doc - n, "]}");
    doc_len = n;
}

/* ---- cJSON ------------------------------------------------------------- */

static uint64_t walk_cjson(const cJSON *j)
{
    uint64_t sum = 0;
    for (; j; j = j->next) {
        if (j->string) sum += strlen(j->string);
        if (cJSON_IsNumber(j)) sum += (uint64_t)j->valueint;
        else if (cJSON_IsString(j)) sum += strlen(j->valuestring);
        else if (cJSON_IsTrue(j)) sum += 1;
        if (j->child) sum += walk_cjson(j->child);
    }
    return sum;
}

/* The allocation-free limit: a bump pointer cJSON calls through its hooks. */
static char *bump_base, *bump_cur, *bump_end;

static void *bump_malloc(size_t n)
{
    char *p = bump_cur;
    size_t r = (n + 15u) & ~(size_t)15u;
    if ((size_t)(bump_end - p) < r) return NULL;
    bump_cur = p + r;
    return p;
}

static void bump_free(void *p)
{
    (void)p;
}

static BENCH_NOINLINE uint64_t request_cjson(int scoped)
{
    uint64_t sum;
    if (scoped) offheap_scope_begin();
    cJSON *j = cJSON_ParseWithLength(doc, doc_len);
    if (!j) {
        fprintf(stderr, "macro_json: cJSON_Parse failed\n");
        exit(1);
    }
    sum = walk_cjson(j);
    if (scoped) offheap_scope_end();
    else cJSON_Delete(j);
    return sum;
}

static BENCH_NOINLINE uint64_t request_cjson_bump(void)
{
    bump_cur = bump_base;
    cJSON *j = cJSON_ParseWithLength(doc, doc_len);
    if (!j) {
        fprintf(stderr, "macro_json: cJSON_Parse (bump) failed\n");
        exit(1);
    }
    return walk_cjson(j); /* no cJSON_Delete: the next request resets the bump */
}

/* ---- jansson ----------------------------------------------------------- */

static uint64_t walk_jansson(json_t *j)
{
    uint64_t sum = 0;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            sum += strlen(k) + walk_jansson(v);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            sum += walk_jansson(v);
        }
        break;
    }
    case JSON_STRING: sum += json_string_length(j); break;
    case JSON_INTEGER: sum += (uint64_t)json_integer_value(j); break;
    case JSON_REAL: sum += (uint64_t)json_real_value(j); break;
    case JSON_TRUE: sum += 1; break;
    default: break;
    }
    return sum;
}

static BENCH_NOINLINE uint64_t request_jansson(int scoped)
{
    json_error_t err;
    uint64_t sum;
    if (scoped) offheap_scope_begin();
    json_t *j = json_loadb(doc, doc_len, 0, &err);
    if (!j) {
        fprintf(stderr, "macro_json: json_loadb failed: %s\n", err.text);
        exit(1);
    }
    sum = walk_jansson(j);
    if (scoped) offheap_scope_end();
    else json_decref(j);
    return sum;
}

/* ---- driver ------------------------------------------------------------ */

enum lib { L_CJSON, L_JANSSON };

int main(int argc, char **argv)
{
    enum lib lib = L_CJSON;
    int bump = 0, quick = 0;
    long requests = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lib") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "cjson")) lib = L_CJSON;
            else if (!strcmp(argv[i], "jansson")) lib = L_JANSSON;
            else {
                fprintf(stderr, "macro_json: unknown lib %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "bump")) bump = 1;
            else if (strcmp(argv[i], "lib") != 0) {
                fprintf(stderr, "macro_json: unknown variant %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--requests") && i + 1 < argc) {
            requests = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else {
            fprintf(stderr,
                    "usage: %s [--lib cjson|jansson] [--variant lib|bump] [--requests N]"
                    " [--quick]\n",
                    argv[0]);
            return 2;
        }
    }
    if (bump && lib != L_CJSON) {
        fprintf(stderr, "macro_json: the bump variant exists for cJSON only\n");
        return 2;
    }
    if (requests <= 0) requests = quick ? 5000 : 100000;
    if (bench_under_valgrind()) requests = 1000;
    make_doc();

    /* Initialise the libraries before the first request (outside scopes). */
    if (bump) {
        bump_base = malloc(1u << 20);
        if (!bump_base) return 1;
        memset(bump_base, 0, 1u << 20);
        bump_end = bump_base + (1u << 20);
        cJSON_Hooks hooks = {bump_malloc, bump_free};
        cJSON_InitHooks(&hooks);
    } else if (lib == L_CJSON) {
        cJSON_InitHooks(NULL);
    } else {
        json_object_seed(0);
    }
    int scoped = !bump && OFFHEAP_LOADED();

    uint64_t sum = 0;
    long warm = requests / 20 + 1;
    for (long r = 0; r < warm; r++) {
        sum += bump ? request_cjson_bump() : lib == L_CJSON ? request_cjson(scoped) : request_jansson(scoped);
    }

    long rss_start = bench_rss_kib(), rss_mid = 0;
    uint64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    bench_cg_begin();
    for (long r = 0; r < requests; r++) {
        sum += bump ? request_cjson_bump() : lib == L_CJSON ? request_cjson(scoped) : request_jansson(scoped);
        if (r == requests / 2) rss_mid = bench_rss_kib();
    }
    uint64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    const char *vname = bump ? "bump" : scoped ? "scope" : "free";
    const char *name = lib == L_CJSON ? "cjson" : "jansson";
    bench_cg_end("json", name, requests);
    long rss_end = bench_rss_kib();

    double rps = (double)requests / ((double)(t1 - t0) / 1e9);
    printf("%-11s %-8s %-6s doc=%zu B requests=%ld  %10.0f req/s  %7.3f us/req  rss start/mid/end="
           "%ld/%ld/%ld KiB  peak=%ld KiB  (checksum %llu)\n",
           bench_alloc_name(), name, vname, doc_len, requests, rps, 1e6 / rps, rss_start, rss_mid, rss_end,
           bench_peak_rss_kib(), (unsigned long long)sum);
    bench_result("json", name, "req_per_s", rps);
    bench_result("json", name, "req_per_cpu_s", (double)requests / ((double)(c1 - c0) / 1e9));
    bench_result("json", name, "rss_start_kib", (double)rss_start);
    bench_result("json", name, "rss_mid_kib", (double)rss_mid);
    bench_result("json", name, "rss_end_kib", (double)rss_end);
    bench_result("json", name, "peak_rss_kib", (double)bench_peak_rss_kib());
    bench_offheap_counters("json", name, requests + warm);
    return 0;
}
