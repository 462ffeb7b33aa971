/* SPDX-License-Identifier: MIT */
/*
 * ph.h — tiny self-checking helpers for the preload test programs.
 *
 * These programs run under LD_PRELOAD=liboffheap.so and link nothing of
 * liboffheap: offheap.h's declarations are weak, so the preload binds them.
 * Every failed CHECK prints file:line and the condition on stderr (with
 * write(2), so a broken stdio cannot hide it); ph_done() turns the count of
 * failures into the exit status.
 */
#ifndef PH_H
#define PH_H

#include "offheap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ph_failures;

__attribute__((format(printf, 3, 4), unused)) static void ph_fail(const char *file, int line, const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof buf) n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf - 1) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(2, buf, (size_t)n);
    (void)w;
    ph_failures++;
}

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) ph_fail(__FILE__, __LINE__, "%s", #cond);                                                         \
    } while (0)
#define CHECKF(cond, ...)                                                                                              \
    do {                                                                                                               \
        if (!(cond)) ph_fail(__FILE__, __LINE__, __VA_ARGS__);                                                         \
    } while (0)
/* Fatal: the rest of the program would only crash. */
#define REQUIRE(cond)                                                                                                  \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            ph_fail(__FILE__, __LINE__, "required: %s", #cond);                                                        \
            _exit(1);                                                                                                  \
        }                                                                                                              \
    } while (0)

/* The preload must be there: these programs prove things about it. */
__attribute__((unused)) static void ph_require_preload(void)
{
    if (!OFFHEAP_LOADED()) {
        ph_fail(__FILE__, __LINE__, "liboffheap.so is not preloaded (LD_PRELOAD=%s)",
                getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
        _exit(1);
    }
}

__attribute__((unused)) static offheap_stats ph_stats(void)
{
    offheap_stats s;
    memset(&s, 0, sizeof s);
    if (offheap_stats_get(&s) != 0) ph_fail(__FILE__, __LINE__, "offheap_stats_get failed");
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
__attribute__((unused)) static const char *ph_capture_stderr(void (*f)(void *), void *arg)
{
    static char out[8192];
    char path[] = "/tmp/offheap-ph-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    int saved = dup(2);
    REQUIRE(saved >= 0);
    dup2(fd, 2);
    f(arg);
    dup2(saved, 2);
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

static inline int ph_done(const char *name)
{
    if (ph_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, ph_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
