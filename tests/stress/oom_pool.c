/* SPDX-License-Identifier: MIT */
/*
 * oom_pool.c — every ENOMEM path of the explicit API under fault injection
 * (oh_fault_arm from src/fault.h; no preload needed).
 *
 * For N = 1, 2, ... the Nth system memory call (reserve / commit) fails,
 * once or (second pass) on every call from then on, during a workload that
 * creates pools (with and without prealloc, large slabs), allocates small,
 * aligned and large blocks, resets, releases and creates arenas.  Checked:
 *   - a failed create returns ENOMEM, leaves *out NULL and maps nothing
 *     (oh_os_mapped_bytes() back to what it was);
 *   - a failed allocation is NULL with errno ENOMEM;
 *   - every block that was handed out keeps its content;
 *   - after the workload everything is destroyed and the mapped bytes are
 *     back to the start; disarmed, the same workload succeeds completely
 *     (usable afterwards).
 * The walk ends when a whole workload runs without reaching the Nth call.
 */
#include "offheap_pool.h"

#include "check.h"
#include "core/fault.h"
#include "core/os.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;        /* failed calls in this workload */
static int create_failures; /* of which creates (none in a clean run) */

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += 61) p[i] = (char)(seed + i);
    p[n - 1] = (char)seed;
}

static bool same(const char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += 61)
        if (p[i] != (char)(seed + i)) return false;
    return p[n - 1] == (char)seed;
}

static int create(offheap_pool **out, const offheap_pool_config *cfg, const char *what)
{
    size_t mapped = oh_os_mapped_bytes();
    *out = (offheap_pool *)(uintptr_t)0x10;
    int err = offheap_pool_create(out, cfg);
    if (err) {
        CHECKF(err == ENOMEM, "%s: create gave %d", what, err);
        CHECKF(*out == NULL, "%s: failed create left *out set", what);
        CHECKF(oh_os_mapped_bytes() == mapped, "%s: failed create left %zu bytes mapped", what,
               oh_os_mapped_bytes() - mapped);
        failures++;
        create_failures++;
    }
    return err;
}

struct held {
    char *p;
    size_t n;
    unsigned seed;
};

static void pool_work(const offheap_pool_config *cfg, const char *what)
{
    offheap_pool *pool;
    if (create(&pool, cfg, what)) return;
    struct held h[64];
    int nh = 0;
    static const size_t sizes[] = {16, 1000, 5000, 70000, 300000, 1 << 20, (1 << 20) + 1, 5 << 20};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            for (int aligned = 0; aligned < 2; aligned++) {
                errno = 0;
                char *p =
                    aligned ? offheap_pool_alloc_aligned(pool, sizes[i], 4096) : offheap_pool_alloc(pool, sizes[i]);
                if (!p) {
                    CHECKF(errno == ENOMEM, "%s: alloc(%zu) errno %d", what, sizes[i], errno);
                    failures++;
                    continue;
                }
                unsigned seed = (unsigned)(i * 2 + (size_t)aligned + 1);
                fill(p, sizes[i], seed);
                if (nh < 64) h[nh++] = (struct held){p, sizes[i], seed};
            }
        }
        for (int j = 0; j < nh; j++) CHECKF(same(h[j].p, h[j].n, h[j].seed), "%s: block %d content", what, j);
        (void)offheap_pool_release(pool);
        for (int j = 0; j < nh; j++) CHECKF(same(h[j].p, h[j].n, h[j].seed), "%s: block %d after release", what, j);
        offheap_pool_reset(pool);
        nh = 0;
    }
    offheap_pool_destroy(pool);
}

static void arena_work(size_t size, const char *what)
{
    size_t mapped = oh_os_mapped_bytes();
    offheap_arena *a = (offheap_arena *)(uintptr_t)0x10;
    int err = offheap_arena_create(&a, size);
    if (err) {
        CHECKF(err == ENOMEM, "%s: arena create gave %d", what, err);
        CHECKF(oh_os_mapped_bytes() == mapped, "%s: failed arena create left bytes mapped", what);
        failures++;
        create_failures++;
        return;
    }
    char *p = offheap_arena_alloc(a, size);
    CHECKF(p != NULL, "%s: arena alloc", what);
    if (p) fill(p, size, 9);
    if (p) CHECKF(same(p, size, 9), "%s: arena content", what);
    offheap_arena_destroy(a);
}

static void workload(void)
{
    failures = create_failures = 0;
    pool_work(NULL, "defaults");
    pool_work(&(offheap_pool_config){.pool_size = 32 << 20, .slab_size = 64 << 10, .prealloc = true, .slab_count = 8},
              "prealloc 8 x 64K");
    pool_work(&(offheap_pool_config){.pool_size = 16 << 20, .slab_size = 4 << 20, .prealloc = true, .slab_count = 4},
              "prealloc all 4 x 4M");
    pool_work(&(offheap_pool_config){.pool_size = 8 << 20, .slab_size = 1 << 20}, "small cap");
    arena_work(100, "arena 100");
    arena_work(3 << 20, "arena 3M");
}

static void fail_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "oom_pool: ");
}

int main(void)
{
    check_set_prefix(fail_prefix);
    size_t start = oh_os_mapped_bytes();
    /* The "small cap" pool runs out for real: those failures are the
     * baseline. */
    workload();
    int clean = failures;
    CHECKF(clean > 0 && clean < 20, "clean workload failed %d times", clean);
    unsigned long walked[2] = {0, 0}, hit[2] = {0, 0};
    for (int every = 0; every < 2; every++) {
        for (unsigned long n = 1; n < 10000; n++) {
            oh_fault_arm(OH_FAULT_MMAP, n, every);
            workload();
            oh_fault_arm(OH_FAULT_MMAP, 0, false);
            CHECKF(oh_os_mapped_bytes() == start, "N=%lu every=%d: %zu bytes still mapped after the workload", n, every,
                   oh_os_mapped_bytes() - start);
            walked[every] = n;
            if (failures == clean && create_failures == 0) break; /* past the last call */
            hit[every]++;
            /* Usable afterwards. */
            workload();
            CHECKF(failures == clean, "N=%lu every=%d: the workload after the fault failed %d times (%d clean)", n,
                   every, failures, clean);
            if (check_failures() > 20) return 1;
        }
    }
    printf("oom_pool: once: N = 1..%lu (%lu failing), every call from N on: N = 1..%lu (%lu failing); %s\n", walked[0],
           hit[0], walked[1], hit[1], check_failures() ? "FAILED" : "all handled");
    CHECKF(hit[0] > 0 && hit[1] > 0, "no fault reached");
    return check_failures() ? 1 : 0;
}
