/* SPDX-License-Identifier: MIT */
/*
 * test_pool_plugin.c — dlopen a plugin built with <offheap_pool.h>'s inline
 * fast path (argv[1]) and run the pool contract checks inside it, on the
 * main thread and on a second thread.  Two builds:
 *   OH_HOST_LINKS_POOL  the program links liboffheap_pool.so itself (the
 *                       usual host of plugins that use the pool);
 *   otherwise           the program links nothing of liboffheap, so the
 *                       library and its initial-exec TLS arrive with the
 *                       plugin, at dlopen time.  liboffheap_pool.so loads
 *                       no jemalloc, so glibc's default static TLS surplus
 *                       holds its initial-exec TLS (the inline path adds 4
 *                       bytes).
 * The plugin reports each failed check itself and returns their number.
 */
#include "check.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#ifdef OH_HOST_LINKS_POOL
#include <errno.h>
#include <offheap_pool.h>
#endif

typedef int (*run_fn)(void);

static void *thread_main(void *arg)
{
    run_fn run = *(run_fn *)arg;
    return (void *)(long)run();
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
#ifdef OH_HOST_LINKS_POOL
    printf("host linked with liboffheap_pool.so (%s)\n", offheap_strerror(EINVAL));
#endif
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    REQUIREF(h != NULL, "dlopen: %s", dlerror());
    run_fn run;
    *(void **)&run = dlsym(h, "pool_plugin_run");
    REQUIREF(run != NULL, "dlsym: %s", dlerror());
    int failures = run();
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, thread_main, &run) != 0) return 1;
    pthread_join(t, &r);
    failures += (int)(long)r;
    printf("test_pool_plugin: %d failure(s)\n", failures);
    return failures != 0;
}
