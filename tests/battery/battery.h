/* SPDX-License-Identifier: MIT */
/*
 * battery.h — the shape every battery program shares (issue 12, item 4).
 *
 * A program defines one function, request(i, line, cap), that does real
 * work with its library for request number i and writes a one-line digest
 * of the result into line.  bt_run() then:
 *
 *   1. runs requests 0..R-1, each inside OFFHEAP_SCOPE_BEGIN()/END(), and
 *      prints "in <i>: <digest>" for each.  The program makes no call to
 *      its library before this loop: the library's first use in the process
 *      happens inside the first scope (with threads: each thread's first use
 *      happens inside its own first scope);
 *   2. runs requests R..R+BT_OUTSIDE-1 outside any scope on the main thread
 *      and prints "out <i>: <digest>".
 *
 * The program then cleans up as any program would.  R is argv[1] when
 * given, else $BATTERY_REQUESTS, else 300.
 *
 * With nthreads > 1 the scoped requests are shared round-robin by that many
 * threads (request i on thread i % nthreads); each thread writes its digests
 * into a table made before the threads start and main prints them in order
 * after the join, so the output does not depend on scheduling.
 *
 * The markers come from offheap.h and link nothing: without the preload
 * they do nothing and the program prints the reference output.
 */
#ifndef BATTERY_H
#define BATTERY_H

#include <offheap.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_LINE 1024  /* bytes of one digest line */
#define BT_OUTSIDE 20 /* requests run outside any scope */

/* Threads for the scoped requests: meson builds some programs a second time
 * with -DBT_THREADS=3 (the "-mt" tests). */
#ifndef BT_THREADS
#define BT_THREADS 1
#endif

typedef void (*bt_request_fn)(int i, char *line, size_t cap);

/* FNV-1a, 64 bits: a digest of bytes that is the same on every run. */
static inline uint64_t bt_fnv(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < n; k++) {
        h ^= b[k];
        h *= 1099511628211ULL;
    }
    return h;
}

static inline uint64_t bt_fnv_str(const char *s)
{
    return bt_fnv(s, strlen(s));
}

/* Append printf-style text to a line (truncates at cap). */
static inline void bt_add(char *line, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void bt_add(char *line, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(line);
    if (used + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + used, cap - used, fmt, ap);
    va_end(ap);
}

/* Lower-case hex of n bytes into out (2n+1 bytes). */
static inline void bt_hex(char *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < n; k++) {
        out[2 * k] = digits[p[k] >> 4];
        out[2 * k + 1] = digits[p[k] & 15];
    }
    out[2 * n] = '\0';
}

/* A deterministic byte stream for request inputs (xorshift64*). */
static inline uint64_t bt_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

static inline int bt_requests(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : getenv("BATTERY_REQUESTS");
    int n = s ? atoi(s) : 300;
    return n > 0 ? n : 300;
}

struct bt_thread_arg {
    bt_request_fn fn;
    int self, nthreads, count;
    char *lines; /* count * BT_LINE, made by main before the threads */
};

static void *bt_thread_main(void *p)
{
    struct bt_thread_arg *a = (struct bt_thread_arg *)p;
    for (int i = a->self; i < a->count; i += a->nthreads) {
        char *line = a->lines + (size_t)i * BT_LINE;
        line[0] = '\0';
        OFFHEAP_SCOPE_BEGIN();
        a->fn(i, line, BT_LINE);
        OFFHEAP_SCOPE_END();
    }
    return NULL;
}

/* Run the scoped requests (on nthreads threads when > 1), then the
 * unscoped ones on the calling thread.  Returns the request count R. */
static inline int bt_run(int argc, char **argv, int nthreads, bt_request_fn fn)
{
    int n = bt_requests(argc, argv);
    char line[BT_LINE];
    /* One line at a time, so that a crash shows which request it ended. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (nthreads <= 1) {
        for (int i = 0; i < n; i++) {
            line[0] = '\0';
            OFFHEAP_SCOPE_BEGIN();
            fn(i, line, sizeof line);
            printf("in %d: %s\n", i, line);
            OFFHEAP_SCOPE_END();
        }
    } else {
        char *lines = (char *)calloc((size_t)n, BT_LINE);
        struct bt_thread_arg args[16];
        pthread_t tids[16];
        if (!lines || nthreads > 16) {
            fprintf(stderr, "battery: cannot set up %d threads\n", nthreads);
            exit(2);
        }
        for (int t = 0; t < nthreads; t++) {
            args[t].fn = fn;
            args[t].self = t;
            args[t].nthreads = nthreads;
            args[t].count = n;
            args[t].lines = lines;
            if (pthread_create(&tids[t], NULL, bt_thread_main, &args[t]) != 0) {
                fprintf(stderr, "battery: pthread_create failed\n");
                exit(2);
            }
        }
        for (int t = 0; t < nthreads; t++) pthread_join(tids[t], NULL);
        for (int i = 0; i < n; i++) printf("in %d: %s\n", i, lines + (size_t)i * BT_LINE);
        free(lines);
    }
    for (int i = n; i < n + BT_OUTSIDE; i++) {
        line[0] = '\0';
        fn(i, line, sizeof line);
        printf("out %d: %s\n", i, line);
    }
    fflush(stdout);
    return n;
}

#endif /* BATTERY_H */
