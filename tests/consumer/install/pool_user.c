/* SPDX-License-Identifier: MIT */
/*
 * pool_user.c — a program built against an installed liboffheap (by
 * tests/consumer/install.sh, with pkg-config and with CMake): the explicit
 * API from liboffheap_pool.so, and the scope markers of offheap.h, which
 * link nothing.  Prints what it saw; install.sh compares.
 */
#include <offheap.h>
#include <offheap_pool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    offheap_pool *pool;
    offheap_pool_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.pool_size = 4u << 20;
    cfg.slab_size = 1u << 20;
    int rc = offheap_pool_create(&pool, &cfg);
    if (rc != 0) {
        printf("pool_create: %s\n", offheap_strerror(rc));
        return 1;
    }
    char *s = offheap_pool_alloc(pool, 64);
    if (!s || !offheap_pool_owns(pool, s)) return 1;
    strcpy(s, "pool ok");
    printf("%s\n", s);
    offheap_pool_destroy(pool);

    int depth = -1, owned = -1;
    OFFHEAP_SCOPE
    {
        void *p = malloc(100);
        depth = OFFHEAP_SCOPE_DEPTH();
        owned = OFFHEAP_OWNS(p);
        free(p);
    }
    printf("loaded %d depth %d owned %d after %d\n", OFFHEAP_LOADED(), depth, owned, OFFHEAP_SCOPE_DEPTH());
    return 0;
}
