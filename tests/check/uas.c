/* SPDX-License-Identifier: MIT */
/*
 * uas.c — use after scope, for the check-mode tests (run under
 * LD_PRELOAD=liboffheap.so with OFFHEAP_CHECK=1; expect.sh judges each run).
 *
 *   uas read      keep a scope block in a global, read it after the scope
 *   uas write     the same, but write to it
 *   uas large     the same with a block larger than a quarter slab (own run)
 *   uas nested    the block of an inner scope, read in the outer scope
 *   uas thread    a block kept by a thread, read by main after the join
 *   uas global    a global points into the scope at its end; then cleared
 *   uas null      a NULL dereference: not ours, must die normally
 *   uas handler   the program's own SIGSEGV handler must still run for
 *                 faults that are not ours (it exits with status 3)
 *   uas clean     many scopes, no escape: must exit 0 with no report
 *   uas realloc   realloc of the kept block after its scope: reported as a
 *                 realloc of a released block, then abort
 *   uas realloc-loop  the same after 3000 short scopes (the last scope end
 *                 may be sampled out of protection: its run is then free)
 *   uas paths     20000 allocations from one call site at one stack depth,
 *                 reached alternately through path_a and path_b: the
 *                 backtrace memo keeps both (OFFHEAP_STATS shows a handful
 *                 of unwinds, not one per allocation)
 *
 * Stale reads and writes go through read_stale/write_stale, so that the
 * report's access site names them.
 *
 * The allocating functions are global (not static) and the program is
 * linked with -rdynamic, so dladdr can name them.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offheap.h"

char *kept_block;        /* the escaping pointer */
volatile char sink;      /* keeps reads from being optimised away */
char *volatile null_ptr; /* NULL, opaque to the compiler */

__attribute__((noinline)) char *make_request_buffer(size_t n)
{
    char *p = malloc(n);
    if (!p) {
        fprintf(stderr, "FAIL: malloc(%zu) in a scope returned NULL\n", n);
        exit(1);
    }
    memset(p, 'x', n);
    return p;
}

__attribute__((noinline)) void handle_request(size_t n)
{
    OFFHEAP_SCOPE_BEGIN();
    char *tmp = make_request_buffer(64); /* a neighbour, freed with the scope */
    kept_block = make_request_buffer(n);
    tmp[0] = 'y';
    OFFHEAP_SCOPE_END();
}

__attribute__((noinline)) void read_stale(size_t i)
{
    sink = kept_block[i];
}

__attribute__((noinline)) void write_stale(size_t i, char c)
{
    kept_block[i] = c;
}

char *volatile grown; /* not a tail call: grow_stale stays on the stack */

__attribute__((noinline)) char *grow_stale(size_t n)
{
    grown = realloc(kept_block, n);
    return grown;
}

/* Two callers of make_request_buffer with the same frame, so that its call
 * site is reached at the same stack position by two paths. */
__attribute__((noinline, noipa)) char *path_a(size_t n)
{
    char *p = make_request_buffer(n);
    sink = p[0];
    return p;
}

__attribute__((noinline, noipa)) char *path_b(size_t n)
{
    char *p = make_request_buffer(n);
    sink = p[1];
    return p;
}

static void *thread_main(void *arg)
{
    (void)arg;
    handle_request(48);
    return NULL;
}

static void own_handler(int sig)
{
    (void)sig;
    static const char msg[] = "own handler ran\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(3);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "read";
    if (!OFFHEAP_LOADED()) {
        fprintf(stderr, "FAIL: liboffheap.so is not preloaded\n");
        return 1;
    }
    if (!strcmp(what, "read")) {
        handle_request(48);
        read_stale(5); /* dies here */
    } else if (!strcmp(what, "write")) {
        handle_request(48);
        write_stale(40, 'z'); /* dies here */
    } else if (!strcmp(what, "large")) {
        handle_request(3u << 20);
        read_stale((2u << 20) + 7);
    } else if (!strcmp(what, "nested")) {
        OFFHEAP_SCOPE_BEGIN();
        char *outer = make_request_buffer(32);
        handle_request(100);
        outer[0] = 'o'; /* the outer scope's block is alive */
        read_stale(0);  /* the inner one is not: dies here */
        OFFHEAP_SCOPE_END();
    } else if (!strcmp(what, "thread")) {
        pthread_t th;
        if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL)) return 1;
        read_stale(1);
    } else if (!strcmp(what, "paths")) {
        for (int i = 0; i < 1000; i++) {
            OFFHEAP_SCOPE_BEGIN();
            for (int j = 0; j < 10; j++) {
                (void)path_a(24);
                (void)path_b(24);
            }
            OFFHEAP_SCOPE_END();
        }
        puts("paths: done");
        return 0;
    } else if (!strcmp(what, "realloc")) {
        handle_request(48);
        char *q = grow_stale(4096); /* reported, then abort */
        sink = q ? q[0] : 0;
    } else if (!strcmp(what, "realloc-loop")) {
        for (int i = 0; i < 3000; i++) {
            OFFHEAP_SCOPE_BEGIN();
            sink = make_request_buffer(64)[3];
            OFFHEAP_SCOPE_END();
        }
        handle_request(48);
        char *q = grow_stale(4096); /* reported, then abort */
        sink = q ? q[0] : 0;
    } else if (!strcmp(what, "global")) {
        handle_request(200); /* reported at the scope's end */
        kept_block = NULL;   /* and never used: the program is fine */
        puts("global: done");
        return 0;
    } else if (!strcmp(what, "null")) {
        handle_request(48);
        kept_block = NULL;
        sink = *null_ptr; /* dies here, not our business */
    } else if (!strcmp(what, "handler")) {
        signal(SIGSEGV, own_handler);
        handle_request(48); /* check mode starts here, chaining to own_handler */
        kept_block = NULL;
        sink = *null_ptr;
    } else if (!strcmp(what, "clean")) {
        unsigned long sum = 0;
        for (int i = 0; i < 2000; i++) {
            OFFHEAP_SCOPE_BEGIN();
            char *p = make_request_buffer((size_t)(16 + i % 700));
            char *q = make_request_buffer(i % 50 == 0 ? (size_t)1 << 20 : 100);
            q = realloc(q, 300);
            sum += (unsigned char)p[3] + (unsigned char)q[2];
            free(p);
            OFFHEAP_SCOPE_END();
        }
        printf("clean: %lu\n", sum);
        return 0;
    } else {
        fprintf(stderr,
                "usage: uas read|write|large|nested|thread|global|null|handler|clean|realloc|realloc-loop|paths\n");
        return 2;
    }
    fprintf(stderr, "FAIL: uas %s survived\n", what);
    return 1;
}
