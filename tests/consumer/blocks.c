/* SPDX-License-Identifier: MIT */
/*
 * blocks.c loaded|absent — offheap.h's block forms and weak-safe calls in a
 * C program that links nothing of liboffheap, run under
 * LD_PRELOAD=liboffheap.so (loaded) and without it (absent); also built
 * -no-pie, where the static linker settles undefined weak functions to 0:
 *   - OFFHEAP_SCOPE { } runs its body once inside one scope and ends it
 *     exactly once however control leaves: falling off the end, break,
 *     continue, return, goto; blocks nest; OFFHEAP_ESCAPE { } allocates from
 *     the heap inside a scope.  "Exactly once": afterwards the depth is 0,
 *     offheap_stats counts the scopes entered and no misuse (an extra end
 *     counts as misuse);
 *   - OFFHEAP_THREAD_TAG/RESET/UNTAG, OFFHEAP_STATS_GET/PRINT,
 *     OFFHEAP_SCOPE_DEPTH and OFFHEAP_OWNS give the library's answers when
 *     it is loaded, and 0 or ENOSYS when it is not.
 * A failure is a message and exit 1.
 */
#include <offheap.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                            \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

static int loaded;

struct counts {
    unsigned long long scopes, misuse;
};
static struct counts now(void)
{
    struct counts c = {0, 0};
    offheap_stats st;
    if (OFFHEAP_STATS_GET(&st) == 0) {
        c.scopes = st.scopes;
        c.misuse = st.misuse;
    }
    return c;
}
static void ended_once(struct counts before, unsigned long long n, int line)
{
    struct counts after = now();
    int depth = OFFHEAP_SCOPE_DEPTH();
    unsigned long long want = loaded ? n : 0;
    if (after.scopes - before.scopes != want || after.misuse != before.misuse || depth != 0) {
        fprintf(stderr, "FAIL line %d: scopes +%llu (want +%llu), misuse +%llu, depth %d\n", line,
                after.scopes - before.scopes, want, after.misuse - before.misuse, depth);
        failures++;
    }
}
static int in_scope(int want_depth)
{
    return OFFHEAP_SCOPE_DEPTH() == (loaded ? want_depth : 0);
}

static int leave_by_return(void)
{
    OFFHEAP_SCOPE
    {
        void *p = malloc(100);
        CHECK(OFFHEAP_OWNS(p) == loaded);
        free(p); /* a no-op for a scope block; without the preload, a real free */
        return in_scope(1);
    }
    return -1;
}

static int leave_by_goto(void)
{
    int body = 0;
    OFFHEAP_SCOPE
    {
        body++;
        if (body) goto out;
        body = 100;
    }
out:
    return body;
}

static void scope_blocks(void)
{
    struct counts before = now();
    int ran = 0;
    OFFHEAP_SCOPE
    {
        void *p = malloc(64);
        ran++;
        CHECK(in_scope(1));
        CHECK(OFFHEAP_OWNS(p) == loaded);
        free(p);
        OFFHEAP_SCOPE
        {
            CHECK(in_scope(2));
            OFFHEAP_ESCAPE
            {
                void *h = malloc(64);
                CHECK(OFFHEAP_OWNS(h) == 0);
                free(h);
            }
            CHECK(in_scope(2));
        }
        CHECK(in_scope(1));
    }
    CHECK(ran == 1);
    ended_once(before, 2, __LINE__);

    /* break and continue leave the block, not the loop around it. */
    before = now();
    int iterations = 0;
    for (int i = 0; i < 4; i++) {
        iterations++;
        OFFHEAP_SCOPE
        {
            if (i == 1) break;
            if (i == 2) continue;
            free(malloc(32));
        }
    }
    CHECK(iterations == 4);
    ended_once(before, 4, __LINE__);

    before = now();
    CHECK(leave_by_return() == 1);
    ended_once(before, 1, __LINE__);

    before = now();
    CHECK(leave_by_goto() == 1);
    ended_once(before, 1, __LINE__);
}

static void weak_calls(void)
{
    if (!loaded) {
        offheap_stats st;
        memset(&st, 0x5a, sizeof st);
        CHECK(OFFHEAP_THREAD_TAG() == ENOSYS);
        CHECK(OFFHEAP_THREAD_RESET() == ENOSYS);
        CHECK(OFFHEAP_THREAD_UNTAG() == ENOSYS);
        CHECK(OFFHEAP_STATS_GET(&st) == ENOSYS);
        CHECK(st.scopes == 0x5a5a5a5a5a5a5a5aull); /* untouched */
        CHECK(OFFHEAP_STATS_PRINT(1, 0) == ENOSYS);
        CHECK(OFFHEAP_SCOPE_DEPTH() == 0);
        CHECK(OFFHEAP_OWNS(&st) == 0);
        return;
    }
    struct counts before = now();
    CHECK(OFFHEAP_THREAD_RESET() == EINVAL); /* not tagged */
    CHECK(OFFHEAP_THREAD_TAG() == 0);
    CHECK(OFFHEAP_SCOPE_DEPTH() == 1);
    void *p = malloc(200);
    CHECK(OFFHEAP_OWNS(p) == 1);
    free(p);
    CHECK(OFFHEAP_THREAD_TAG() == EBUSY);
    OFFHEAP_SCOPE
    {
        CHECK(OFFHEAP_THREAD_RESET() == EBUSY); /* a scope is open on the tag */
    }
    CHECK(OFFHEAP_THREAD_RESET() == 0);
    CHECK(OFFHEAP_THREAD_UNTAG() == 0);
    CHECK(OFFHEAP_SCOPE_DEPTH() == 0);
    p = malloc(200);
    CHECK(OFFHEAP_OWNS(p) == 0);
    free(p);
    ended_once(before, 2, __LINE__); /* the tag base and the block */

    offheap_stats st;
    CHECK(OFFHEAP_STATS_GET(&st) == 0);
    CHECK(st.scopes > 0);
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    CHECK(OFFHEAP_STATS_PRINT(fd, 1) == 0);
    close(fd);
    CHECK(OFFHEAP_STATS_PRINT(-1, 0) == EBADF);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "loaded") != 0 && strcmp(argv[1], "absent") != 0)) {
        fprintf(stderr, "usage: %s loaded|absent\n", argv[0]);
        return 2;
    }
    int want = strcmp(argv[1], "loaded") == 0;
    loaded = OFFHEAP_LOADED();
    if (loaded != want) {
        fprintf(stderr, "FAIL: OFFHEAP_LOADED() is %d, want %d\n", loaded, want);
        return 1;
    }
    scope_blocks();
    weak_calls();
    if (failures) {
        fprintf(stderr, "blocks (%s): %d failure(s)\n", argv[1], failures);
        return 1;
    }
    printf("blocks (%s): all checks passed\n", argv[1]);
    return 0;
}
