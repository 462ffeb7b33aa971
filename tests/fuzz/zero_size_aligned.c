/* SPDX-License-Identifier: MIT */
/*
 * zero_size_aligned.c — aligned allocations of 0 bytes with an alignment of
 * a slab or more, in a scope (found by ops_replay -threads seed 13002).
 * Run with OFFHEAP_POOL_SIZE=2M (meson.build): two slabs, so the block's own
 * run is the pool's last slab.  Each block must lie inside the pool (it is a
 * scope block), free() of it must be a no-op, and realloc in its scope must
 * keep it in the pool.  A slab-aligned block needs its 8-byte header inside
 * its own run, so one free slab cannot hold it: NULL with ENOMEM (the pool's
 * default exhaustion policy) is the other correct answer; a pointer outside
 * its run never is.
 */
#include "check.h"
#include "offheap.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void one(const char *name, int which)
{
    /* In a child: a bad pointer handed to the heap crashes. */
    pid_t pid = fork();
    if (pid == 0) {
        offheap_scope_begin();
        void *a = malloc(10); /* the thread's bump slab: slab 0 */
        (void)a;
        void *p = NULL;
        errno = 0;
        switch (which) {
        case 0: p = memalign(1 << 20, 0); break;
        case 1: p = aligned_alloc(1 << 20, 0); break;
        case 2:
            if ((errno = posix_memalign(&p, 1 << 20, 0)) != 0) p = NULL;
            break;
        }
        if (!p) _exit(errno == ENOMEM ? 0 : 3);
        int owns = offheap_owns(p);
        free(p);
        void *q = realloc(p, 27);
        int kept = offheap_owns(q);
        offheap_scope_end();
        _exit(!p ? 3 : !owns ? 4 : !kept ? 5 : 0);
    }
    int st;
    waitpid(pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    static const char *what[] = {"ok", "", "", "NULL", "pointer outside the pool", "realloc moved it out of its scope"};
    const char *verdict = code < 6 ? what[code] : code == 128 + 11 ? "free() crashed (SIGSEGV)" : "crashed";
    printf("zero_size_aligned: %s(1 MiB, 0) in a scope, run = the pool's last slab: %s\n", name, verdict);
    CHECKF(code == 0, "%s(1 MiB, 0): %s", name, verdict);
}

int main(void)
{
    if (!OFFHEAP_LOADED()) return 77;
    one("memalign", 0);
    one("aligned_alloc", 1);
    one("posix_memalign", 2);
    return check_failures() ? 1 : 0;
}
