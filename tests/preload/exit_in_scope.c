/* SPDX-License-Identifier: MIT */
/*
 * exit_in_scope.c — exit() called three scopes deep, while another thread
 * holds a scope and an atexit handler reads a heap block: the process
 * exits 0 (exit handlers, destructors and the stats printer run with
 * scopes open) and the handler sees its data.
 */
#include "ph.h"

#include <pthread.h>

static char *heap_msg;
static pthread_barrier_t bar;

static void handler(void)
{
    if (!heap_msg || strcmp(heap_msg, "heap block")) _exit(3);
    /* Allocating in an exit handler, scopes still open on this thread. */
    char *p = malloc(1000);
    if (!p) _exit(4);
    memset(p, 1, 1000);
}

static void *holder(void *arg)
{
    (void)arg;
    offheap_scope_begin();
    memset(malloc(5000), 2, 5000);
    pthread_barrier_wait(&bar);
    for (;;) pause();
    return NULL;
}

int main(void)
{
    ph_require_preload();
    heap_msg = strdup("heap block");
    REQUIRE(atexit(handler) == 0);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, holder, NULL) == 0);
    pthread_barrier_wait(&bar);
    offheap_scope_begin();
    offheap_scope_begin();
    offheap_scope_begin();
    for (int i = 0; i < 100; i++) memset(malloc(3000), 3, 3000);
    printf("exit_in_scope: exiting three scopes deep\n");
    exit(check_failures() ? 1 : 0);
}
