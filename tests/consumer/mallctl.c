/* SPDX-License-Identifier: MIT */
/*
 * mallctl.c NARENAS — under LD_PRELOAD=liboffheap.so with
 * MALLOC_CONF=narenas:NARENAS: jemalloc's mallctl() is reachable (looked up
 * with dlsym, as a program that does not link -ljemalloc does) and reports
 * the MALLOC_CONF setting, so both reach the jemalloc underneath liboffheap
 * (README, offheap(3)).  Heap allocations outside scopes are counted by
 * jemalloc (stats.allocated grows by a large block's size).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    mallctl_fn mallctl;
    void *sym = dlsym(RTLD_DEFAULT, "mallctl");
    if (!sym) {
        fprintf(stderr, "FAIL: no mallctl in the process\n");
        return 1;
    }
    memcpy(&mallctl, &sym, sizeof sym);

    unsigned narenas = 0;
    size_t n = sizeof narenas;
    if (mallctl("opt.narenas", &narenas, &n, NULL, 0) != 0 || narenas != (unsigned)atoi(argv[1])) {
        fprintf(stderr, "FAIL: opt.narenas is %u, MALLOC_CONF asked for %s\n", narenas, argv[1]);
        return 1;
    }

    uint64_t epoch = 1;
    size_t before = 0, after = 0;
    n = sizeof before;
    mallctl("epoch", NULL, NULL, &epoch, sizeof epoch);
    if (mallctl("stats.allocated", &before, &n, NULL, 0) != 0) {
        fprintf(stderr, "FAIL: stats.allocated unreadable\n");
        return 1;
    }
    char *big = malloc(8 << 20);
    if (!big) return 1;
    memset(big, 1, 8 << 20);
    mallctl("epoch", NULL, NULL, &epoch, sizeof epoch);
    mallctl("stats.allocated", &after, &n, NULL, 0);
    free(big);
    if (after < before + (8 << 20)) {
        fprintf(stderr, "FAIL: stats.allocated %zu -> %zu after an 8 MiB malloc\n", before, after);
        return 1;
    }
    printf("mallctl: narenas %u, stats.allocated +%zu: all checks passed\n", narenas, after - before);
    return 0;
}
