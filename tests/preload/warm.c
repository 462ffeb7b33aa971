/* SPDX-License-Identifier: MIT */
/*
 * warm.c N — one pair to warm the thread and the pair's allocation sites
 * up (the first scope that runs them ends with a rescue, which reads
 * /proc/self/maps: docs/design.md, "Scope safety"), then N begin/alloc/end
 * pairs that fit in the warm slab.  warm_syscalls.sh runs it under strace
 * with N = 0 and N = 200000 and requires the same number of system calls:
 * a pair that fits in the warm slab makes none.
 */
#include "ph.h"

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 2);
    long n = atol(argv[1]);
    unsigned long sum = 0;
    for (long i = 0; i <= n; i++) { /* i == 0: the warm-up pair */
        offheap_scope_begin();
        for (int j = 0; j < 10; j++) {
            unsigned char *p = malloc(16 + (size_t)j * 40);
            p[0] = (unsigned char)j;
            sum += p[0];
        }
        void *q = calloc(4, 100);
        sum += ((unsigned char *)q)[399];
        offheap_scope_end();
        /* A mark in the trace after the warm-up pair, whose end ran the
         * rescue (its call sites were new): warm_syscalls.sh counts from
         * here, so the rescue's scan (its reads follow the process's
         * layout) is not compared. */
        if (i == 0) (void)getppid();
    }
    CHECK(sum == (unsigned long)(n + 1) * 45);
    CHECK(offheap_scope_depth() == 0);
    if (check_failures()) return 1;
    return 0; /* nothing on stdout: the strace counts are compared */
}
