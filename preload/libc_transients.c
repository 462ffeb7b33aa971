/* SPDX-License-Identifier: MIT */
/*
 * libc_transients.c — libc functions that allocate memory whose owner is
 * their caller.  Inside a scope, caller.c sends every allocation libc makes
 * to the heap (libc's own state must survive the scope), which would also
 * send these results there.  Interposing them makes their results belong to
 * the scope like any other allocation of the program.  Outside scopes they
 * behave exactly as libc's (getdelim and realpath call libc's own).
 */
/* glibc's headers turn getline() into an extern inline call of
 * __getdelim when optimising; here we define both, so we want plain
 * declarations. */
#include <features.h>
#undef __USE_EXTERN_INLINES

#include "scope/scope.h"
#include "scope/scope_fast.h"
#include "scope/thread.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define EXPORT __attribute__((visibility("default")))

typedef ssize_t (*getdelim_fn)(char **, size_t *, int, FILE *);
typedef char *(*realpath_fn)(const char *, char *);
static _Atomic(getdelim_fn) libc_getdelim;
static _Atomic(realpath_fn) libc_realpath;

/* libc's own definition of a function we interpose, looked up once (not a
 * malloc path: dlsym may allocate, and that allocation is libc's). */
static void *libc_fn(void *_Atomic *slot, const char *name)
{
    void *f = atomic_load_explicit(slot, memory_order_acquire);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        if (f) atomic_store_explicit(slot, f, memory_order_release);
    }
    return f;
}

static ssize_t real_getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    getdelim_fn real = (getdelim_fn)(uintptr_t)libc_fn((void *_Atomic *)&libc_getdelim, "getdelim");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(line, cap, delim, f);
}

/* malloc as the program would get it, attributed to `ra`. */
static void *alloc_as(size_t n, void *ra)
{
    if (oh_self.route) return oh_scope_alloc_fast(&oh_self, n, false, ra);
    return malloc(n);
}

EXPORT char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = alloc_as(n, __builtin_return_address(0));
    if (p) memcpy(p, s, n);
    return p;
}

EXPORT char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *p = alloc_as(n + 1, __builtin_return_address(0));
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

__attribute__((format(printf, 2, 0))) static int vasprintf_as(char **out, const char *fmt, va_list ap, void *ra)
{
    char small[256];
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (len < 0) return -1;
    char *p = alloc_as((size_t)len + 1, ra);
    if (!p) return -1;
    if ((size_t)len < sizeof small) memcpy(p, small, (size_t)len + 1);
    else vsnprintf(p, (size_t)len + 1, fmt, ap);
    *out = p;
    return len;
}

EXPORT int vasprintf(char **out, const char *fmt, va_list ap)
{
    return vasprintf_as(out, fmt, ap, __builtin_return_address(0));
}

EXPORT int asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf_as(out, fmt, ap, __builtin_return_address(0));
    va_end(ap);
    return r;
}

/* _FORTIFY_SOURCE turns asprintf/vasprintf into these; the flag only
 * asks for %n checks, which our vsnprintf-based version never needs. */
EXPORT int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap)
{
    (void)flag;
    return vasprintf_as(out, fmt, ap, __builtin_return_address(0));
}

EXPORT int __asprintf_chk(char **out, int flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int __asprintf_chk(char **out, int flag, const char *fmt, ...)
{
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf_as(out, fmt, ap, __builtin_return_address(0));
    va_end(ap);
    return r;
}

/* getdelim inside a scope: the buffer grows with the program's realloc so
 * it belongs to the scope (or stays on the heap if it came from there). */
static ssize_t getdelim_scoped(char **line, size_t *cap, int delim, FILE *f, void *ra)
{
    if (!line || !cap || !f) {
        errno = EINVAL;
        return -1;
    }
    if (!*line) *cap = 0;
    size_t len = 0;
    ssize_t result = -1;
    flockfile(f);
    for (;;) {
        int c = getc_unlocked(f);
        if (c == EOF) {
            result = len ? (ssize_t)len : -1;
            break;
        }
        if (len + 2 > *cap) {
            size_t want = *cap < 120 ? 120 : *cap * 2;
            if (want > (size_t)SSIZE_MAX) {
                errno = EOVERFLOW;
                break;
            }
            char *p = *line ? oh_realloc_any(*line, want, ra) : alloc_as(want, ra);
            if (!p) break;
            *line = p;
            *cap = want;
        }
        (*line)[len++] = (char)c;
        if (c == delim) {
            result = (ssize_t)len;
            break;
        }
    }
    if (*line && *cap) (*line)[len] = '\0';
    funlockfile(f);
    return result;
}

EXPORT ssize_t getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    if (!oh_self.route) return real_getdelim(line, cap, delim, f);
    return getdelim_scoped(line, cap, delim, f, __builtin_return_address(0));
}

/* glibc's <bits/stdio.h> inlines getline() as a call to __getdelim when
 * optimising, so that name is interposed too. */
EXPORT ssize_t __getdelim(char **line, size_t *cap, int delim, FILE *f);
ssize_t __getdelim(char **line, size_t *cap, int delim, FILE *f)
{
    if (!oh_self.route) return real_getdelim(line, cap, delim, f);
    return getdelim_scoped(line, cap, delim, f, __builtin_return_address(0));
}

EXPORT ssize_t getline(char **line, size_t *cap, FILE *f)
{
    if (!oh_self.route) return real_getdelim(line, cap, '\n', f);
    return getdelim_scoped(line, cap, '\n', f, __builtin_return_address(0));
}

EXPORT char *realpath(const char *path, char *resolved)
{
    realpath_fn real = (realpath_fn)(uintptr_t)libc_fn((void *_Atomic *)&libc_realpath, "realpath");
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    if (resolved || !oh_self.route) return real(path, resolved);
    char buf[PATH_MAX];
    if (!real(path, buf)) return NULL;
    size_t n = strlen(buf) + 1;
    char *p = alloc_as(n, __builtin_return_address(0));
    if (p) memcpy(p, buf, n);
    return p;
}
