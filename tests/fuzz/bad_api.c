/* SPDX-License-Identifier: MIT */
/*
 * bad_api.c — every function of offheap_pool.h with NULL, 0, SIZE_MAX,
 * misaligned and out-of-range arguments: each gives its documented error
 * code (or NULL + errno), nothing crashes, errno is left alone where the
 * header promises it, and the objects still work afterwards.
 *
 *   bad_api [--table]     --table prints every call and its result as a table
 *
 * No preload: runs in the ASan+UBSan build too.
 */
#include "offheap_pool.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bad_check.h"
#include "check.h"

static int rows;
static int table;

static void row_at(const char *file, int line, const char *call, const char *expect, int ok, const char *got)
{
    rows++;
    if (table) printf("| `%s` | %s | %s |\n", call, expect, ok ? got : "**FAILED**");
    if (!ok) check_fail_at(file, line, "bad_api: %s: expected %s, got %s", call, expect, got);
}

/* A void call on NULL: no crash, errno untouched. */
#define QUIET(call)                                                                                                    \
    do {                                                                                                               \
        errno = 4321;                                                                                                  \
        call;                                                                                                          \
        row(#call, "no effect, errno kept", errno == 4321, "no effect, errno kept");                                   \
    } while (0)

static void cb(const offheap_pressure_event *ev, void *user)
{
    (void)ev;
    (void)user;
}

int main(int argc, char **argv)
{
    table = argc > 1 && !strcmp(argv[1], "--table");
    if (table) printf("| call | expected | result |\n| --- | --- | --- |\n");
    const size_t MiB = (size_t)1 << 20;
    offheap_pool *p = NULL;
    offheap_arena *a = NULL;

    /* ---- pool create ---- */
    RC(offheap_pool_create(NULL, NULL), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.slab_size = 3}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.slab_size = 1}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.slab_size = 1024}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.slab_size = SIZE_MAX}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = SIZE_MAX}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = MiB + 4096}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = 4096, .slab_size = 8192}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = 4 * MiB, .prealloc = true, .slab_count = 5}),
       EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.slab_size = 4096, .huge_pages = true}), EINVAL);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = (size_t)1 << 63, .slab_size = (size_t)1 << 63}),
       ENOMEM);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = (size_t)1 << 62, .slab_size = 4096}), ENOMEM);
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = (size_t)1 << 50,
                                                      .slab_size = (size_t)1 << 30,
                                                      .prealloc = true,
                                                      .slab_count = 1024}),
       ENOMEM);
    row("failed creates leave *out NULL", "NULL", p == NULL, p ? "set" : "NULL");
    RC(offheap_pool_create(&p, &(offheap_pool_config){.pool_size = 4 * MiB, .slab_size = MiB}), 0);
    if (!p) return 1;

    /* ---- pool alloc ---- */
    NUL(offheap_pool_alloc(NULL, 16), EINVAL);
    NUL(offheap_pool_alloc(p, 0), EINVAL);
    NUL(offheap_pool_alloc(p, SIZE_MAX), ENOMEM);
    NUL(offheap_pool_alloc(p, SIZE_MAX - 15), ENOMEM);
    NUL(offheap_pool_alloc(p, SIZE_MAX / 2 + 1), ENOMEM);
    NUL(offheap_pool_alloc(p, 4 * MiB + 1), ENOMEM);
    NUL(offheap_pool_alloc_aligned(NULL, 16, 16), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, 0, 16), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, 16, 0), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, 16, 3), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, 16, 24), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, 16, SIZE_MAX), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, SIZE_MAX, 3), EINVAL);
    NUL(offheap_pool_alloc_aligned(p, 16, (size_t)1 << 63), ENOMEM);
    NUL(offheap_pool_alloc_aligned(p, 16, 8 * MiB), ENOMEM);
    NUL(offheap_pool_alloc_aligned(p, SIZE_MAX, 16), ENOMEM);
    NUL(offheap_pool_alloc_aligned(p, SIZE_MAX - 4095, 4096), ENOMEM);
    {
        char *q = offheap_pool_alloc_aligned(p, 1, 1);
        row("offheap_pool_alloc_aligned(p, 1, 1)", "16-aligned block", q && ((uintptr_t)q & 15) == 0,
            "16-aligned block");
        q = offheap_pool_alloc_aligned(p, 100, 2 * MiB);
        row("offheap_pool_alloc_aligned(p, 100, 2 MiB) (align > slab)", "2 MiB-aligned block",
            q && ((uintptr_t)q & (2 * MiB - 1)) == 0, q ? "2 MiB-aligned block" : "NULL");
        /* Still usable after all that. */
        q = offheap_pool_alloc(p, 1000);
        if (q) memset(q, 1, 1000);
        row("offheap_pool_alloc(p, 1000) after the errors", "a block", q != NULL, q ? "a block" : "NULL");
    }
    row("offheap_pool_owns(NULL, p)", "false", !offheap_pool_owns(NULL, p), "false");
    row("offheap_pool_owns(p, NULL)", "false", !offheap_pool_owns(p, NULL), "false");
    row("offheap_pool_owns(p, (void *)1)", "false", !offheap_pool_owns(p, (void *)1), "false");
    row("offheap_pool_owns(p, (void *)UINTPTR_MAX)", "false", !offheap_pool_owns(p, (void *)UINTPTR_MAX), "false");
    offheap_pool_stats st;
    RC(offheap_pool_stats_get(NULL, &st), EINVAL);
    RC(offheap_pool_stats_get(p, NULL), EINVAL);
    QUIET(offheap_pool_reset(NULL));
    QUIET(offheap_pool_destroy(NULL));
    {
        errno = 4321;
        size_t r = offheap_pool_release(NULL);
        row("offheap_pool_release(NULL)", "0, errno kept", r == 0 && errno == 4321, "0, errno kept");
    }
    offheap_pool_destroy(p);

    /* ---- arena ---- */
    RC(offheap_arena_create(NULL, 10), EINVAL);
    RC(offheap_arena_create(&a, 0), EINVAL);
    RC(offheap_arena_create(&a, SIZE_MAX), ENOMEM);
    RC(offheap_arena_create(&a, SIZE_MAX - 4096), ENOMEM);
    RC(offheap_arena_create(&a, (size_t)1 << 62), ENOMEM);
    RC(offheap_arena_create(&a, 4096), 0);
    if (!a) return 1;
    NUL(offheap_arena_alloc(NULL, 1), EINVAL);
    NUL(offheap_arena_alloc(a, 0), EINVAL);
    NUL(offheap_arena_alloc(a, SIZE_MAX), ENOMEM);
    NUL(offheap_arena_alloc(a, offheap_arena_remaining(a) + 1), ENOMEM);
    NUL(offheap_arena_alloc_aligned(NULL, 1, 16), EINVAL);
    NUL(offheap_arena_alloc_aligned(a, 0, 16), EINVAL);
    NUL(offheap_arena_alloc_aligned(a, 1, 0), EINVAL);
    NUL(offheap_arena_alloc_aligned(a, 1, 3), EINVAL);
    NUL(offheap_arena_alloc_aligned(a, 1, SIZE_MAX), EINVAL);
    NUL(offheap_arena_alloc_aligned(a, 1, (size_t)1 << 63), ENOMEM);
    NUL(offheap_arena_alloc_aligned(a, SIZE_MAX, 4096), ENOMEM);
    NUL(offheap_arena_alloc_aligned(a, SIZE_MAX - 31, 32), ENOMEM);
    row("offheap_arena_remaining(NULL)", "0", offheap_arena_remaining(NULL) == 0, "0");
    {
        size_t before = offheap_arena_remaining(a);
        char *q = offheap_arena_alloc(a, before);
        row("offheap_arena_alloc(a, remaining) after the errors", "the whole arena", q != NULL,
            q ? "the whole arena" : "NULL");
        if (q) memset(q, 2, before);
    }
    QUIET(offheap_arena_reset(NULL));
    QUIET(offheap_arena_destroy(NULL));
    offheap_arena_destroy(a);

    /* ---- hints ---- */
    char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 1;
    munmap(m + 2 * 4096, 4096);
    RC(offheap_hint(NULL, 1, OFFHEAP_HINT_WILLNEED), EINVAL);
    RC(offheap_hint(m, 0, OFFHEAP_HINT_WILLNEED), EINVAL);
    RC(offheap_hint(m, SIZE_MAX, OFFHEAP_HINT_WILLNEED), EINVAL);
    RC(offheap_hint((void *)(UINTPTR_MAX - 10), 5, OFFHEAP_HINT_WILLNEED), EINVAL);
    RC(offheap_hint((void *)(UINTPTR_MAX - 10), 5, OFFHEAP_HINT_DONTNEED), 0);
    RC(offheap_hint(m, 4096, 0), EINVAL);
    RC(offheap_hint(m, 4096, 7), EINVAL);
    RC(offheap_hint(m, 4096, -1), EINVAL);
    RC(offheap_hint(m, 4096, INT_MAX), EINVAL);
    RC(offheap_hint(m + 1, 100, OFFHEAP_HINT_DONTNEED), 0);
    RC(offheap_hint(m + 1, 4096, OFFHEAP_HINT_WILLNEED), 0);
    RC(offheap_hint(m + 2 * 4096, 4096, OFFHEAP_HINT_WILLNEED), ENOMEM);
    RC(offheap_hint(m, 4 * 4096, OFFHEAP_HINT_DONTNEED), ENOMEM);
    munmap(m, 2 * 4096);
    munmap(m + 3 * 4096, 4096);

    /* ---- pressure ---- */
    int id = -1;
    RC(offheap_pressure_register(0, 1, cb, NULL, 0, &id), EINVAL);
    RC(offheap_pressure_register(3, 1, cb, NULL, 0, &id), EINVAL);
    RC(offheap_pressure_register(-1, 1, cb, NULL, 0, &id), EINVAL);
    RC(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 0, cb, NULL, 0, &id), EINVAL);
    RC(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, NULL, NULL, 0, &id), EINVAL);
    RC(offheap_pressure_unregister(-1), EINVAL);
    RC(offheap_pressure_unregister(INT_MAX), EINVAL);
    RC(offheap_pressure_unregister(INT_MIN), EINVAL);
    {
        /* 16 slots: the 17th is EAGAIN; huge thresholds never fire. */
        int ids[17], n = 0, r = 0;
        for (; n < 17; n++) {
            r = offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, cb, NULL, UINT_MAX, &ids[n]);
            if (r) break;
        }
        char got[64];
        snprintf(got, sizeof got, "%d registered, then %s", n, ename(r));
        row("offheap_pressure_register x17 (16 slots)", "16 registered, then EAGAIN", n == 16 && r == EAGAIN, got);
        for (int i = 0; i < n; i++) offheap_pressure_unregister(ids[i]);
        RC(offheap_pressure_unregister(ids[0]), EINVAL);
        RC(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, cb, NULL, 0, NULL), 0);
    }
    {
        errno = 0;
        size_t v = offheap_pressure_sample(0);
        int e = errno;
        char got[64];
        snprintf(got, sizeof got, "%zu, errno %s", v, ename(e));
        row("offheap_pressure_sample(0)", "0, errno set", v == 0 && e != 0, got);
        errno = 0;
        v = offheap_pressure_sample(INT_MAX);
        e = errno;
        snprintf(got, sizeof got, "%zu, errno %s", v, ename(e));
        row("offheap_pressure_sample(INT_MAX)", "0, errno set", v == 0 && e != 0, got);
    }

    /* ---- strerror ---- */
    static const int codes[] = {-1, 0, INT_MAX, INT_MIN, 12345};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = offheap_strerror(codes[i]);
        char call[64];
        snprintf(call, sizeof call, "offheap_strerror(%d)", codes[i]);
        row(call, "a string", s != NULL && *s, s ? s : "NULL");
    }
    printf("bad_api: %d calls, %lu failed\n", rows, check_failures());
    return check_failures() ? 1 : 0;
}
