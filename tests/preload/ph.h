/* SPDX-License-Identifier: MIT */
/*
 * ph.h — helpers of the preload test programs, on top of the checks of
 * tests/common/check.h (CHECK, CHECKF, REQUIRE, FAIL, check_done()).
 *
 * These programs run under LD_PRELOAD=liboffheap.so and link nothing of
 * liboffheap: offheap.h's declarations are weak, so the preload binds them.
 */
#ifndef PH_H
#define PH_H

#include "check.h"
#include "offheap.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The preload must be there: these programs prove things about it. */
__attribute__((unused)) static void ph_require_preload(void)
{
    REQUIREF(OFFHEAP_LOADED(), "liboffheap.so is not preloaded (LD_PRELOAD=%s)",
             getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
}

__attribute__((unused)) static offheap_stats ph_stats(void)
{
    offheap_stats s;
    memset(&s, 0, sizeof s);
    CHECK(offheap_stats_get(&s) == 0);
    return s;
}

/* Fill / verify a byte pattern derived from a seed. */
__attribute__((unused)) static void ph_fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++) c[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

__attribute__((unused)) static int ph_intact(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(seed * 131u + i * 7u + (i >> 8))) return 0;
    return 1;
}

__attribute__((unused)) static int ph_all(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != v) return 0;
    return 1;
}

/* Run f with fd 2 redirected to a temporary file; return what it wrote
 * (static buffer, NUL-terminated). */
/* An abort while stderr is captured would take the captured text, which
 * says why, with it: the handler copies it to the real stderr first, then
 * dies as the program would have.  (Not SIGSEGV: check mode's own handler
 * must stay in place.) */
static int ph_cap_fd = -1, ph_cap_saved = -1;

__attribute__((unused)) static void ph_capture_death(int sig)
{
    static char buf[8192];
    ssize_t n = pread(ph_cap_fd, buf, sizeof buf, 0);
    if (n > 0 && write(ph_cap_saved, buf, (size_t)n) < 0) n = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

__attribute__((unused)) static const char *ph_capture_stderr(void (*f)(void *), void *arg)
{
    static char out[8192];
    char path[] = "/tmp/offheap-ph-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    int saved = dup(2);
    REQUIRE(saved >= 0);
    ph_cap_fd = fd, ph_cap_saved = saved;
    void (*old_abrt)(int) = signal(SIGABRT, ph_capture_death);
    dup2(fd, 2);
    f(arg);
    dup2(saved, 2);
    signal(SIGABRT, old_abrt);
    close(saved);
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

__attribute__((unused)) static int ph_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (*s == '\n') n++;
    return n;
}

#endif
