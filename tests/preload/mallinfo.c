/* SPDX-License-Identifier: MIT */
/*
 * mallinfo.c — under the preload mallinfo2, mallinfo, malloc_stats and
 * malloc_info answer from jemalloc (outside scopes) and the process pool
 * (scopes), not from glibc's empty arena: the figures move as blocks are
 * allocated and released outside and inside scopes (the mapping is in
 * docs/reference.md and preload/malloc_glibc.c).  `mallinfo check` runs
 * under OFFHEAP_CHECK=1, where a scope's runs stay held in the quarantine.
 */
#include "ph.h"

#include <fcntl.h>
#include <malloc.h>

#define MB ((size_t)1 << 20)

/* The number after `key` in text (0 when absent). */
static size_t after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? (size_t)strtoull(p + strlen(key), NULL, 10) : 0;
}

/* malloc_info's XML into buf. */
static void info(char *buf, size_t cap)
{
    FILE *f = fmemopen(buf, cap, "w");
    REQUIRE(f != NULL);
    CHECK(malloc_info(0, f) == 0);
    fclose(f);
}

/* malloc_stats' text, caught from stderr. */
static void stats_text(char *buf, size_t cap)
{
    char path[] = "/tmp/ph_mallinfo_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    malloc_stats();
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

int main(int argc, char **argv)
{
    ph_require_preload();
    int checked = argc > 1 && !strcmp(argv[1], "check");

    /* ---- outside scopes: jemalloc's figures ---- */
    struct mallinfo2 m0 = mallinfo2();
    CHECKF(m0.arena > 0, "arena %zu: jemalloc maps memory at start", m0.arena);
    CHECK(m0.uordblks > 0 && m0.uordblks <= m0.arena);
    CHECK(m0.fordblks == m0.arena - m0.uordblks);
    CHECK(m0.usmblks == 0 && m0.ordblks == 0);
    char *big = malloc(16 * MB);
    REQUIRE(big != NULL);
    memset(big, 1, 16 * MB);
    struct mallinfo2 m1 = mallinfo2();
    CHECKF(m1.uordblks >= m0.uordblks + 16 * MB, "uordblks %zu -> %zu after malloc(16M)", m0.uordblks, m1.uordblks);
    CHECKF(m1.arena >= m0.arena + 16 * MB, "arena %zu -> %zu after malloc(16M)", m0.arena, m1.arena);
    CHECK(m1.hblkhd == m0.hblkhd);
    free(big);
    struct mallinfo2 m2 = mallinfo2();
    CHECKF(m2.uordblks + 16 * MB <= m1.uordblks, "uordblks %zu -> %zu after free", m1.uordblks, m2.uordblks);

    /* mallinfo: the same figures in ints. */
    struct mallinfo2 n2 = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo n1 = mallinfo();
#pragma GCC diagnostic pop
    CHECKF((size_t)n1.arena == n2.arena, "mallinfo arena %d, mallinfo2 %zu", n1.arena, n2.arena);
    CHECK((size_t)n1.hblkhd == n2.hblkhd && (size_t)n1.fsmblks == n2.fsmblks && (size_t)n1.smblks == n2.smblks);
    /* uordblks may move between the two calls (the calls' own stdio). */
    CHECK(n1.uordblks > 0 && n1.keepcost >= 0);

    /* ---- inside a scope: the pool's figures ---- */
    struct mallinfo2 s0 = mallinfo2();
    size_t je_before = s0.uordblks;
    OFFHEAP_SCOPE_BEGIN();
    for (int i = 0; i < 64; i++) {
        char *p = malloc(64 * 1024);
        REQUIRE(p != NULL && offheap_owns(p));
        memset(p, 2, 64 * 1024);
    }
    struct mallinfo2 s1 = mallinfo2();
    char xml[4096], text[2048];
    info(xml, sizeof xml);
    stats_text(text, sizeof text);
    OFFHEAP_SCOPE_END();
    CHECKF(s1.hblkhd >= s0.hblkhd + 4 * MB, "hblkhd %zu -> %zu with 4M in a scope", s0.hblkhd, s1.hblkhd);
    CHECKF(s1.hblks > s0.hblks, "hblks %zu -> %zu", s0.hblks, s1.hblks);
    CHECKF(s1.uordblks < je_before + MB, "uordblks %zu -> %zu: scope blocks are not jemalloc's", je_before,
           s1.uordblks);
    /* In the scope: malloc_info's pool heap and totals, malloc_stats' lines. */
    CHECKF(strncmp(xml, "<malloc version=\"1\">\n<heap nr=\"0\"", 32) == 0, "xml: %.60s", xml);
    CHECKF(strstr(xml, "</malloc>\n") != NULL, "xml is closed");
    const char *pool = strstr(xml, "<heap nr=\"1\" name=\"offheap-scope-pool\">");
    CHECK(pool != NULL);
    if (pool) {
        CHECKF(after(pool, "<total type=\"mmap\" count=\"") == s1.hblks, "pool mmap count in the xml");
        size_t cur = after(pool, "<system type=\"current\" size=\"");
        CHECKF(cur >= s1.hblkhd, "pool current %zu >= in use %zu", cur, s1.hblkhd);
    }
    CHECKF(after(xml, "<system type=\"current\" size=\"") == s1.arena ||
               after(xml, "<system type=\"current\" size=\"") > 0,
           "jemalloc current");
    CHECKF(strncmp(text, "Arena 0 (jemalloc", 17) == 0, "malloc_stats: %.40s", text);
    const char *pl = strstr(text, "Scope pool (liboffheap):\n");
    CHECK(pl != NULL);
    if (pl) {
        size_t in_use = after(pl, "in use bytes     =");
        CHECKF(in_use >= 4 * MB, "malloc_stats pool in use %zu", in_use);
    }
    const char *tot = strstr(text, "Total (incl. mmap):\n");
    CHECK(tot && after(tot, "in use bytes     =") >= 4 * MB && strstr(tot, "max mmap bytes"));

    /* After the scope: its slabs are idle (kept committed: OFFHEAP_RETAIN).
     * In check mode the first scope end quarantines its runs, which stay
     * held (hblkhd) until they leave the quarantine. */
    struct mallinfo2 s2 = mallinfo2();
    if (checked) {
        CHECKF(s2.hblkhd == s1.hblkhd, "check mode: quarantined runs stay held (%zu -> %zu)", s1.hblkhd, s2.hblkhd);
        return check_done("mallinfo (check mode)");
    }
    CHECKF(s2.hblkhd + 4 * MB <= s1.hblkhd, "hblkhd %zu -> %zu after the scope", s1.hblkhd, s2.hblkhd);
    CHECKF(s2.fsmblks >= 4 * MB && s2.smblks >= 4, "idle slabs %zu (%zu bytes) after the scope", s2.smblks, s2.fsmblks);
    CHECKF(s2.keepcost >= s2.fsmblks, "keepcost %zu includes the idle slabs %zu", s2.keepcost, s2.fsmblks);
    /* malloc_trim gives the idle slabs back. */
    malloc_trim(0);
    struct mallinfo2 s3 = mallinfo2();
    CHECKF(s3.fsmblks < s2.fsmblks, "idle slabs after malloc_trim: %zu -> %zu", s2.fsmblks, s3.fsmblks);

    /* glibc's contract: options other than 0 are EINVAL. */
    FILE *devnull = fopen("/dev/null", "w");
    REQUIRE(devnull != NULL);
    CHECK(malloc_info(1, devnull) == EINVAL);
    fclose(devnull);
    return check_done("mallinfo");
}
