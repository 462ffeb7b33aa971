/* SPDX-License-Identifier: MIT */
/*
 * end_cost.c — scope end costs O(slabs the scope used), never O(blocks):
 * ending a scope of about two million 8-byte blocks must cost about what
 * ending a scope of 32 near-slab-sized blocks costs (same slab count).
 * Best of 7 runs each, generous bound (shared, loaded machines).
 */
#include "ph.h"

#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double end_time(int tiny, size_t slab, uint64_t *slabs)
{
    offheap_scope_begin();
    offheap_stats s0 = ph_stats();
    if (tiny) {
        size_t n = 32 * (slab / 16);
        for (size_t i = 0; i < n; i++) {
            char *p = malloc(8);
            if (!p) break;
            p[0] = 1;
        }
    } else {
        for (int i = 0; i < 32; i++) {
            char *p = malloc(slab - 64);
            if (!p) break;
            p[0] = 1;
        }
    }
    offheap_stats s1 = ph_stats();
    *slabs = s1.slabs_in_use - s0.slabs_in_use;
    double t = now();
    offheap_scope_end();
    return now() - t;
}

int main(void)
{
    ph_require_preload();
    offheap_scope_begin();
    free(malloc(1));
    offheap_scope_end();
    size_t slab = (size_t)ph_stats().slab_size;
    double best_tiny = 1e9, best_large = 1e9;
    uint64_t slabs_tiny = 0, slabs_large = 0;
    for (int r = 0; r < 7; r++) {
        double a = end_time(1, slab, &slabs_tiny), b = end_time(0, slab, &slabs_large);
        if (a < best_tiny) best_tiny = a;
        if (b < best_large) best_large = b;
    }
    printf("end of a scope: %llu slabs of 8-byte blocks %.1f us, %llu slabs of large blocks %.1f us\n",
           (unsigned long long)slabs_tiny, best_tiny * 1e6, (unsigned long long)slabs_large, best_large * 1e6);
    CHECK(slabs_tiny >= 30 && slabs_large >= 30);
    /* O(blocks) would walk ~2M blocks: milliseconds.  Allow 10x + 200 us. */
    CHECKF(best_tiny < 10 * best_large + 200e-6,
           "ending a scope of many small blocks took %.1f us, of few large ones %.1f us", best_tiny * 1e6,
           best_large * 1e6);
    return check_done("end_cost");
}
