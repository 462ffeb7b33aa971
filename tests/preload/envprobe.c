/* SPDX-License-Identifier: MIT */
/*
 * envprobe.c — a small self-checking scope workload for bad_env.sh: prints
 * the effective pool and slab sizes so the script can see that a bad value
 * left the default in force.
 */
#include "ph.h"

int main(void)
{
    ph_require_preload();
    unsigned long sum = 0;
    for (int i = 0; i < 200; i++) {
        offheap_scope_begin();
        char *s = malloc(100 + (size_t)i);
        REQUIRE(s);
        CHECK(offheap_owns(s));
        memset(s, 'a' + i % 26, 100 + (size_t)i);
        sum += (unsigned char)s[99 + i];
        void *big = malloc(300000);
        CHECK(big != NULL);
        offheap_scope_end();
    }
    CHECK(sum > 0);
    offheap_stats st = ph_stats();
    printf("pool_reserved=%llu slab_size=%llu\n", (unsigned long long)st.pool_reserved,
           (unsigned long long)st.slab_size);
    return check_done("envprobe");
}
