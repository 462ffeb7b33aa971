/* SPDX-License-Identifier: MIT */
/*
 * config_get.c [NAME=VALUE...] — offheap_config_get() returns each NAME's
 * effective value as VALUE (config.sh sets the environment), and its
 * errors: ENOENT, ERANGE (with the truncated value), EINVAL.  Every name
 * is asked both ways, "pool_size" and "OFFHEAP_POOL_SIZE".  Also opens a
 * scope of every size the pool allows, so a pool fitted to whole slabs is
 * seen to hold no more than asked.
 */
#include "ph.h"

static const char *const names[] = {"pool_size",  "slab_size",     "retain",       "on_exhaust", "exclude",
                                    "verbose",    "stats",         "stats_signal", "stats_fd",   "stats_interval",
                                    "check",      "huge_pages",    "dormant",      "rescue",     "learn",
                                    "fault_mmap", "fault_fallback"};

int main(int argc, char **argv)
{
    ph_require_preload();
    char buf[4096], upper[64];
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        REQUIRE(eq);
        *eq = '\0';
        const char *want = eq + 1;
        int rc = offheap_config_get(argv[i], buf, sizeof buf);
        CHECKF(rc == 0 && !strcmp(buf, want), "%s: rc %d, '%s', want '%s'", argv[i], rc, rc == 0 ? buf : "", want);
        /* The variable's name gives the same answer. */
        size_t n = strlen(argv[i]);
        REQUIRE(n + 9 < sizeof upper);
        memcpy(upper, "OFFHEAP_", 8);
        for (size_t k = 0; k <= n; k++)
            upper[8 + k] = argv[i][k] >= 'a' && argv[i][k] <= 'z' ? (char)(argv[i][k] - 32) : argv[i][k];
        rc = offheap_config_get(upper, buf, sizeof buf);
        CHECKF(rc == 0 && !strcmp(buf, want), "%s: rc %d, '%s', want '%s'", upper, rc, rc == 0 ? buf : "", want);
    }
    /* Every documented name answers. */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECKF(offheap_config_get(names[i], buf, sizeof buf) == 0, "%s: no answer", names[i]);
    /* Errors. */
    CHECK(offheap_config_get("no_such_setting", buf, sizeof buf) == ENOENT);
    CHECK(offheap_config_get("OFFHEAP_CONF", buf, sizeof buf) == ENOENT);
    CHECK(offheap_config_get(NULL, buf, sizeof buf) == EINVAL);
    CHECK(offheap_config_get("pool_size", NULL, 10) == EINVAL);
    CHECK(offheap_config_get("pool_size", buf, 0) == EINVAL);
    char full[64], small[4];
    REQUIRE(offheap_config_get("pool_size", full, sizeof full) == 0);
    memset(small, 'x', sizeof small);
    CHECK(offheap_config_get("pool_size", small, sizeof small) == ERANGE);
    CHECKF(small[3] == '\0' && !strncmp(small, full, 3), "ERANGE: '%.4s' for '%s'", small, full);
    /* A value exactly as long as the buffer minus its NUL fits. */
    char exact[64];
    size_t len = strlen(full);
    CHECK(offheap_config_get("pool_size", exact, len + 1) == 0 && !strcmp(exact, full));
    CHECK(offheap_config_get("pool_size", exact, len) == ERANGE);

    /* The effective pool is what offheap_stats reports too. */
    offheap_stats s = ph_stats();
    unsigned long long pool = strtoull(full, NULL, 10);
    REQUIRE(offheap_config_get("slab_size", buf, sizeof buf) == 0);
    unsigned long long slab = strtoull(buf, NULL, 10);
    offheap_scope_begin(); /* creates the pool */
    s = ph_stats();
    CHECKF(s.pool_reserved == pool && s.slab_size == slab,
           "stats say a pool of %llu in slabs of %llu, config %llu/%llu", (unsigned long long)s.pool_reserved,
           (unsigned long long)s.slab_size, pool, slab);
    offheap_scope_end();
    printf("pool_size=%llu slab_size=%llu\n", pool, slab);
    return check_done("config_get");
}
