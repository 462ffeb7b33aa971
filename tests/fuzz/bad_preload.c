/* SPDX-License-Identifier: MIT */
/*
 * bad_preload.c — offheap.h and the interposed malloc family with NULL, 0,
 * SIZE_MAX, misaligned and out-of-range arguments and with misuse (end
 * without begin, nesting past the limit, unmatched escape end, tag/untag in
 * the wrong state), in and out of scopes, under LD_PRELOAD.  Each call gives
 * its documented result (error code, or NULL + errno, or one stderr line for
 * misuse), nothing crashes, and the allocator works afterwards.
 *
 *   bad_preload [--table]     --table prints every call and its result as a table
 */
#include "offheap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bad_check.h"
#include "check.h"

/* Invalid alignments are the point here.  glibc declares aligned_alloc and
 * memalign with alloc_align, and clang 14 crashes turning such constants
 * into alignment assumptions: call them through volatile pointers. */
static void *(*volatile aligned_alloc_fn)(size_t, size_t) = aligned_alloc;
static void *(*volatile memalign_fn)(size_t, size_t) = memalign;
#define aligned_alloc(a, n) aligned_alloc_fn(a, n)
#define memalign(a, n) memalign_fn(a, n)

static int rows, table;
static const char *where = "";

static void row_at(const char *file, int line, const char *call, const char *expect, int ok, const char *got)
{
    rows++;
    if (table) printf("| %s | `%s` | %s | %s |\n", where, call, expect, ok ? got : "**FAILED**");
    if (!ok) check_fail_at(file, line, "bad_preload: %s: %s: expected %s, got %s", where, call, expect, got);
}

/* ---- stderr capture (misuse lines) ------------------------------------- */

static int saved_fd = -1, pipe_r = -1;

static void capture(void)
{
    int fds[2];
    if (pipe(fds)) abort();
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    saved_fd = dup(2);
    dup2(fds[1], 2);
    close(fds[1]);
    pipe_r = fds[0];
}

/* Lines written to stderr since capture(); their text in buf. */
static int captured(char *buf, size_t cap)
{
    dup2(saved_fd, 2);
    close(saved_fd);
    ssize_t n = read(pipe_r, buf, cap - 1);
    close(pipe_r);
    if (n < 0) n = 0;
    buf[n] = '\0';
    int lines = 0;
    for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
    return lines;
}

static void misuse_row(const char *call, int lines, const char *buf, int want_lines, const char *word)
{
    char got[160], exp[96];
    snprintf(got, sizeof got, "%d stderr line%s%s", lines, lines == 1 ? "" : "s",
             lines && strstr(buf, word) ? " (says misuse)" : "");
    snprintf(exp, sizeof exp, "%d stderr line%s", want_lines, want_lines == 1 ? "" : "s");
    row(call, exp, lines == want_lines && (!lines || strstr(buf, word)), got);
}

/* ---- the malloc family, in and out of scopes ---------------------------- */

static void family(void)
{
    volatile size_t big = SIZE_MAX; /* hide the sizes from the compiler */
    volatile size_t half = SIZE_MAX / 2 + 1;
    NUL(malloc(big), ENOMEM);
    NUL(malloc(big - 15), ENOMEM);
    NUL(malloc(half), ENOMEM);
    NUL(calloc(big, 2), ENOMEM);
    NUL(calloc(half, half), ENOMEM);
    NUL(calloc(2, big), ENOMEM);
    NUL(aligned_alloc(0, 16), EINVAL);
    NUL(aligned_alloc(3, 16), EINVAL);
    NUL(aligned_alloc(24, 16), EINVAL);
    NUL(aligned_alloc(big, 16), EINVAL);
    NUL(aligned_alloc(half, 16), ENOMEM);
    NUL(aligned_alloc(16, big), ENOMEM);
    NUL(aligned_alloc(4096, big - 4095), ENOMEM);
    NUL(memalign(big, 1), EINVAL);
    NUL(memalign(16, big), ENOMEM);
    NUL(valloc(big), ENOMEM);
    NUL(pvalloc(big), ENOMEM);
    NUL(pvalloc(big - 4096), ENOMEM);
    {
        void *p = (void *)0x1;
        errno = 777;
        int r = posix_memalign(&p, 0, 16);
        row("posix_memalign(&p, 0, 16)", "EINVAL, p and errno kept", r == EINVAL && p == (void *)0x1 && errno == 777,
            ename(r));
        r = posix_memalign(&p, 4, 16);
        row("posix_memalign(&p, 4, 16) (below sizeof(void *))", "EINVAL", r == EINVAL, ename(r));
        r = posix_memalign(&p, 24, 16);
        row("posix_memalign(&p, 24, 16)", "EINVAL", r == EINVAL, ename(r));
        r = posix_memalign(&p, half, 16);
        row("posix_memalign(&p, 2^63, 16)", "ENOMEM, errno kept", r == ENOMEM && errno == 777, ename(r));
        r = posix_memalign(&p, 64, big);
        row("posix_memalign(&p, 64, SIZE_MAX)", "ENOMEM, p kept", r == ENOMEM && p == (void *)0x1, ename(r));
    }
    {
        char *m0 = malloc(0);
        row("malloc(0)", "a unique pointer", m0 != NULL, m0 ? "a pointer" : "NULL");
        char *c0 = calloc(0, big);
        row("calloc(0, SIZE_MAX)", "a pointer (0 bytes)", c0 != NULL, c0 ? "a pointer" : "NULL");
        char *m3 = memalign(3, 10);
        row("memalign(3, 10)", "4-aligned block (rounded up)", m3 && ((uintptr_t)m3 & 3) == 0,
            m3 ? "aligned block" : "NULL");
        free(m0);
        free(c0);
        free(m3);
    }
    {
        char *p = malloc(100);
        memset(p, 7, 100);
        NUL(realloc(p, big), ENOMEM);
        NUL(realloc(p, half), ENOMEM);
        NUL(reallocarray(p, big, 2), ENOMEM);
        NUL(reallocarray(p, half, half), ENOMEM);
        int intact = 1;
        for (int i = 0; i < 100; i++) intact &= p[i] == 7;
        row("the block after failed reallocs", "intact", intact, intact ? "intact" : "changed");
        char *q = realloc(p, 0);
        row("realloc(p, 0)", "NULL (p freed)", q == NULL, q ? "a pointer" : "NULL");
    }
    {
        errno = 999;
        free(NULL);
        row("free(NULL)", "nothing, errno kept", errno == 999, "nothing");
        row("malloc_usable_size(NULL)", "0", malloc_usable_size(NULL) == 0, "0");
        char *r0 = realloc(NULL, 0);
        row("realloc(NULL, 0)", "a pointer or NULL", 1, r0 ? "a pointer" : "NULL");
        free(r0);
    }
    {
        /* Still usable. */
        char *p = malloc(5000);
        if (p) memset(p, 1, 5000);
        row("malloc(5000) after all that", "a block", p != NULL, p ? "a block" : "NULL");
        free(p);
    }
}

int main(int argc, char **argv)
{
    if (!OFFHEAP_LOADED()) {
        fprintf(stderr, "bad_preload: liboffheap.so not preloaded; skipping\n");
        return 77;
    }
    table = argc > 1 && !strcmp(argv[1], "--table");
    if (table) printf("| where | call | expected | result |\n| --- | --- | --- | --- |\n");
    char buf[4096];

    where = "outside scopes";
    family();
    where = "in a scope";
    offheap_scope_begin();
    family();
    {
        char *p = malloc(64);
        free(p + 1);
        free(p + 8);
        row("free(p + 1), free(p + 8) of a scope block", "no-op", 1, "no-op");
    }
    offheap_scope_end();
    where = "in a scope, then it ended";
    {
        offheap_scope_begin();
        char *p = malloc(64);
        offheap_scope_end();
        free(p);
        free(p);
        row("free(p) twice of a block whose scope ended", "no-op", 1, "no-op");
    }
    where = "tagged thread";
    RC(offheap_thread_tag(), 0);
    family();
    RC(offheap_thread_untag(), 0);

    /* ---- offheap.h ---- */
    where = "offheap.h";
    RC(offheap_stats_get(NULL), EINVAL);
    RC(offheap_stats_print(-1, 0), EBADF);
    RC(offheap_stats_print(INT_MAX, 1), EBADF);
    row("offheap_owns(NULL)", "0", offheap_owns(NULL) == 0, "0");
    row("offheap_owns((void *)1)", "0", offheap_owns((void *)1) == 0, "0");
    row("offheap_owns((void *)UINTPTR_MAX)", "0", offheap_owns((void *)UINTPTR_MAX) == 0, "0");
    RC(offheap_thread_reset(), EINVAL);
    RC(offheap_thread_untag(), EINVAL);
    offheap_scope_begin();
    RC(offheap_thread_tag(), EBUSY);
    offheap_scope_end();
    RC(offheap_thread_tag(), 0);
    RC(offheap_thread_tag(), EBUSY);
    offheap_scope_begin();
    RC(offheap_thread_reset(), EBUSY);
    RC(offheap_thread_untag(), EBUSY);
    offheap_scope_end();
    RC(offheap_thread_untag(), 0);

    offheap_stats st0, st1;
    offheap_stats_get(&st0);
    capture();
    offheap_scope_end();
    int lines = captured(buf, sizeof buf);
    offheap_stats_get(&st1);
    misuse_row("offheap_scope_end() without begin", lines, buf, 1, "misuse");
    row("  ... misuse counted, depth", "misuse + 1, depth 0",
        st1.misuse == st0.misuse + 1 && offheap_scope_depth() == 0, "misuse + 1, depth 0");

    capture();
    offheap_escape_end();
    lines = captured(buf, sizeof buf);
    misuse_row("offheap_escape_end() without begin", lines, buf, 1, "misuse");

    /* Nesting past the limit: one line, the extra levels belong to the
     * innermost real scope, and the matching ends are absorbed. */
    capture();
    for (int i = 0; i < OFFHEAP_SCOPE_MAX_DEPTH + 6; i++) offheap_scope_begin();
    int depth = offheap_scope_depth();
    char *deep = malloc(100);
    int owned = offheap_owns(deep);
    for (int i = 0; i < OFFHEAP_SCOPE_MAX_DEPTH + 6; i++) offheap_scope_end();
    lines = captured(buf, sizeof buf);
    misuse_row("70 x offheap_scope_begin(), then 70 ends", lines, buf, 1, "misuse");
    {
        char got[64];
        snprintf(got, sizeof got, "depth %d, block in pool %d, after %d", depth, owned, offheap_scope_depth());
        row("  ... depth at the peak, block, depth after", "depth 64, in pool, 0 after",
            depth == OFFHEAP_SCOPE_MAX_DEPTH && owned && offheap_scope_depth() == 0, got);
    }
    /* Still usable. */
    offheap_scope_begin();
    char *p = malloc(1000);
    if (p) memset(p, 3, 1000);
    row("scope malloc(1000) after all misuse", "a pool block", p && offheap_owns(p), p ? "a pool block" : "NULL");
    offheap_scope_end();
    printf("bad_preload: %d calls, %lu failed\n", rows, check_failures());
    return check_failures() ? 1 : 0;
}
