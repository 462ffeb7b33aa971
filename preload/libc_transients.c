/* SPDX-License-Identifier: MIT */
/*
 * libc_transients.c — libc functions that allocate memory whose owner is
 * their caller.  Inside a scope, caller.c sends every allocation libc makes
 * to the heap (libc's own state must survive the scope), which would also
 * send these results there.  Interposing them makes their results belong to
 * the scope like any other allocation of the program.  Outside scopes they
 * behave exactly as libc's (most call libc's own).
 *
 * The set, from glibc 2.36's functions whose result the caller releases
 * with free(): strdup, strndup (and __strdup/__strndup), wcsdup, asprintf,
 * vasprintf (and __asprintf, the _chk forms), getline, getdelim,
 * __getdelim, realpath(p, NULL), canonicalize_file_name, getcwd(NULL, n),
 * get_current_dir_name, tempnam, scandir, scandirat (and their 64 names),
 * backtrace_symbols, and the argz/envz buffers that argz_create,
 * argz_create_sep, argz_add, argz_add_sep, argz_append, argz_insert,
 * argz_replace, envz_add and envz_merge create from NULL (a buffer they
 * grow is reallocated by libc, and libc's realloc of a scope block copies
 * it to the heap: a longer life, never a shorter one).  In a scope most of
 * them call libc's function, copy its result into a scope block and free
 * libc's copy.  CPU_ALLOC needs nothing: __sched_cpualloc tail-calls
 * malloc, so the allocation is its caller's.
 *
 * Not interposed, on purpose (README "Scope safety"): open_memstream and
 * open_wmemstream (libc keeps writing to and reallocating the buffer until
 * the stream is closed, possibly after the scope, so the buffer stays a
 * heap block); results released by a libc function of their own (glob /
 * globfree, wordexp / wordfree, getaddrinfo / freeaddrinfo, getifaddrs /
 * freeifaddrs, if_nameindex / if_freenameindex, regcomp / regfree,
 * tsearch nodes / tdelete, fmemopen(NULL) buffers, obstack chunks
 * allocated through the chunk function from libc): those stay libc's, on
 * the heap, and live until that function releases them.  Tests:
 * tests/preload/transients.c, for each.
 */
/* glibc's headers turn getline() into an extern inline call of
 * __getdelim when optimising; here we define both, so we want plain
 * declarations. */
#include <features.h>
#undef __USE_EXTERN_INLINES

#include "scope/scope.h"
#include "scope/scope_fast.h"
#include "scope/thread.h"

#include <argz.h>
#include <dirent.h>
#include <dlfcn.h>
#include <envz.h>
#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <wchar.h>

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

/* realpath(path, resolved) for a caller at ra: a result it allocates is
 * resolved into a stack buffer and copied into a block of the caller's. */
static char *realpath_as(const char *path, char *resolved, void *ra)
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
    char *p = alloc_as(n, ra);
    if (p) memcpy(p, buf, n);
    return p;
}

EXPORT char *realpath(const char *path, char *resolved)
{
    return realpath_as(path, resolved, __builtin_return_address(0));
}

/* ---- more results the caller frees -------------------------------------- */

/* Aliases glibc exports and old binaries call. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
EXPORT __typeof__(strdup) __strdup __attribute__((alias("strdup")));
EXPORT __typeof__(strndup) __strndup __attribute__((alias("strndup")));
EXPORT __typeof__(asprintf) __asprintf __attribute__((alias("asprintf")));

EXPORT wchar_t *wcsdup(const wchar_t *s)
{
    size_t n = (wcslen(s) + 1) * sizeof(wchar_t);
    wchar_t *p = alloc_as(n, __builtin_return_address(0));
    if (p) memcpy(p, s, n);
    return p;
}

/* Copy a string libc allocated into a block attributed to ra; libc's copy
 * is freed.  NULL stays NULL (errno kept). */
static char *adopt_str(char *r, size_t min, void *ra)
{
    if (!r) return NULL;
    size_t n = strlen(r) + 1;
    char *p = alloc_as(n > min ? n : min, ra);
    if (p) memcpy(p, r, n);
    int saved = errno;
    free(r);
    errno = saved;
    return p;
}

#define LIBC(type, name) ((type)(uintptr_t)libc_fn((void *_Atomic *)&libc_##name, #name))

typedef char *(*getcwd_fn)(char *, size_t);
typedef char *(*str0_fn)(void);
typedef char *(*tempnam_fn)(const char *, const char *);
typedef int (*scandir_fn)(const char *, struct dirent ***, int (*)(const struct dirent *),
                          int (*)(const struct dirent **, const struct dirent **));
typedef int (*scandirat_fn)(int, const char *, struct dirent ***, int (*)(const struct dirent *),
                            int (*)(const struct dirent **, const struct dirent **));
typedef char **(*bt_symbols_fn)(void *const *, int);
static _Atomic(getcwd_fn) libc_getcwd;
static _Atomic(str0_fn) libc_get_current_dir_name;
static _Atomic(tempnam_fn) libc_tempnam;
static _Atomic(scandir_fn) libc_scandir;
static _Atomic(scandirat_fn) libc_scandirat;
static _Atomic(bt_symbols_fn) libc_backtrace_symbols;

EXPORT char *getcwd(char *buf, size_t size)
{
    getcwd_fn real = LIBC(getcwd_fn, getcwd);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    if (buf || !oh_self.route) return real(buf, size);
    /* glibc: a buffer of `size` bytes (0: as large as needed); ERANGE when
     * the path does not fit in a nonzero size. */
    char stack[PATH_MAX];
    char *r = real(stack, sizeof stack);
    if (r) {
        size_t n = strlen(stack) + 1;
        if (size && n > size) {
            errno = ERANGE;
            return NULL;
        }
        char *p = alloc_as(n > size ? n : size, __builtin_return_address(0));
        if (p) memcpy(p, stack, n);
        return p;
    }
    if (errno != ERANGE) return NULL;
    /* Longer than PATH_MAX: libc allocates, we adopt. */
    r = real(NULL, size);
    return adopt_str(r, size, __builtin_return_address(0));
}

EXPORT char *get_current_dir_name(void)
{
    str0_fn real = LIBC(str0_fn, get_current_dir_name);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    if (!oh_self.route) return real();
    return adopt_str(real(), 0, __builtin_return_address(0));
}

EXPORT char *tempnam(const char *dir, const char *prefix)
{
    tempnam_fn real = LIBC(tempnam_fn, tempnam);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    if (!oh_self.route) return real(dir, prefix);
    return adopt_str(real(dir, prefix), 0, __builtin_return_address(0));
}

EXPORT char *canonicalize_file_name(const char *path)
{
    return realpath_as(path, NULL, __builtin_return_address(0));
}

/* scandir's result: an array of n entries, each its own block of d_reclen
 * bytes (as glibc allocates them).  Copied into blocks attributed to ra;
 * libc's are freed.  On ENOMEM every copy made is left to the scope and
 * libc's list is freed. */
static int adopt_dirents(int n, struct dirent ***list, void *ra)
{
    if (n < 0 || !*list) return n;
    struct dirent **src = *list;
    struct dirent **dst = alloc_as((size_t)(n ? n : 1) * sizeof *dst, ra);
    int ok = dst != NULL;
    for (int i = 0; ok && i < n; i++) {
        size_t len = src[i]->d_reclen;
        size_t need = offsetof(struct dirent, d_name) + strlen(src[i]->d_name) + 1;
        if (len < need) len = need;
        dst[i] = alloc_as(len, ra);
        if (!dst[i]) ok = 0;
        else memcpy(dst[i], src[i], len);
    }
    int saved = errno;
    for (int i = 0; i < n; i++) free(src[i]);
    free(src);
    if (!ok) {
        *list = NULL;
        errno = ENOMEM;
        return -1;
    }
    errno = saved;
    *list = dst;
    return n;
}

static int scandir_impl(const char *dir, struct dirent ***list, int (*sel)(const struct dirent *),
                        int (*cmp)(const struct dirent **, const struct dirent **))
{
    scandir_fn real = LIBC(scandir_fn, scandir);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (!oh_self.route) return real(dir, list, sel, cmp);
    return adopt_dirents(real(dir, list, sel, cmp), list, __builtin_return_address(0));
}

static int scandirat_impl(int dfd, const char *dir, struct dirent ***list, int (*sel)(const struct dirent *),
                          int (*cmp)(const struct dirent **, const struct dirent **))
{
    scandirat_fn real = LIBC(scandirat_fn, scandirat);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    if (!oh_self.route) return real(dfd, dir, list, sel, cmp);
    return adopt_dirents(real(dfd, dir, list, sel, cmp), list, __builtin_return_address(0));
}

/* On LP64 glibc, struct dirent64 is struct dirent and scandir64 is scandir
 * (one address, two names).  Exported under both names by assembler name:
 * with _FILE_OFFSET_BITS=64 <dirent.h> renames scandir itself. */
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64 is dirent on this ABI");
#define EXPORT_AS(fn, name)                                                                                            \
    extern __typeof__(fn) fn##_##name __asm__(#name) __attribute__((alias(#fn), visibility("default")))
EXPORT_AS(scandir_impl, scandir);
EXPORT_AS(scandir_impl, scandir64);
EXPORT_AS(scandirat_impl, scandirat);
EXPORT_AS(scandirat_impl, scandirat64);

/* backtrace_symbols: one block, the array of n pointers followed by the
 * strings they point to; the copy is laid out the same way. */
EXPORT char **backtrace_symbols(void *const *buffer, int n)
{
    bt_symbols_fn real = LIBC(bt_symbols_fn, backtrace_symbols);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    char **r = real(buffer, n);
    if (!r || !oh_self.route || n <= 0) return r;
    size_t total = (size_t)n * sizeof(char *);
    for (int i = 0; i < n; i++) total += strlen(r[i]) + 1;
    char **p = alloc_as(total, __builtin_return_address(0));
    if (p) {
        char *str = (char *)(p + n);
        for (int i = 0; i < n; i++) {
            size_t len = strlen(r[i]) + 1;
            memcpy(str, r[i], len);
            p[i] = str;
            str += len;
        }
    }
    int saved = errno;
    free(r);
    errno = saved;
    return p;
}

/* argz and envz: a buffer these functions create (the argz pointer was
 * NULL) belongs to the caller, so in a scope it becomes a scope block.  A
 * buffer they grow is reallocated by libc itself: a heap block stays on the
 * heap, and a scope block is copied to the heap (realloc from libc, like
 * every libc allocation, goes to the heap); it is not moved back, since an
 * outer scope's block must not get the innermost scope's shorter life.
 * The buffer holds *len bytes. */
static void adopt_argz(char *before, char **argz, const size_t *len, void *ra)
{
    char *r = *argz;
    if (before || !r || !oh_self.route || oh_in_pool(r)) return;
    size_t n = *len ? *len : 1;
    char *p = alloc_as(n, ra);
    if (!p) return; /* keep libc's heap copy: correct, only longer-lived */
    memcpy(p, r, *len);
    int saved = errno;
    free(r);
    errno = saved;
    *argz = p;
}

typedef error_t (*argz_create_fn)(char *const *, char **, size_t *);
typedef error_t (*argz_create_sep_fn)(const char *, int, char **, size_t *);
typedef error_t (*argz_add_fn)(char **, size_t *, const char *);
typedef error_t (*argz_add_sep_fn)(char **, size_t *, const char *, int);
typedef error_t (*argz_append_fn)(char **, size_t *, const char *, size_t);
typedef error_t (*argz_insert_fn)(char **, size_t *, char *, const char *);
typedef error_t (*argz_replace_fn)(char **, size_t *, const char *, const char *, unsigned *);
typedef error_t (*envz_add_fn)(char **, size_t *, const char *, const char *);
typedef error_t (*envz_merge_fn)(char **, size_t *, const char *, size_t, int);
static _Atomic(argz_create_fn) libc_argz_create;
static _Atomic(argz_create_sep_fn) libc_argz_create_sep;
static _Atomic(argz_add_fn) libc_argz_add;
static _Atomic(argz_add_sep_fn) libc_argz_add_sep;
static _Atomic(argz_append_fn) libc_argz_append;
static _Atomic(argz_insert_fn) libc_argz_insert;
static _Atomic(argz_replace_fn) libc_argz_replace;
static _Atomic(envz_add_fn) libc_envz_add;
static _Atomic(envz_merge_fn) libc_envz_merge;

/* Call libc's NAME with ARGS; adopt a buffer it created in a scope. */
#define ARGZ_CALL(type, name, argz, len, before, ...)                                                                  \
    do {                                                                                                               \
        type real_ = LIBC(type, name);                                                                                 \
        if (!real_) return ENOSYS;                                                                                     \
        error_t e_ = real_(__VA_ARGS__);                                                                               \
        if (e_ == 0) adopt_argz((before), (argz), (len), __builtin_return_address(0));                                 \
        return e_;                                                                                                     \
    } while (0)

EXPORT error_t argz_create(char *const argv[], char **argz, size_t *len)
{
    ARGZ_CALL(argz_create_fn, argz_create, argz, len, NULL, argv, argz, len);
}

EXPORT error_t argz_create_sep(const char *string, int sep, char **argz, size_t *len)
{
    ARGZ_CALL(argz_create_sep_fn, argz_create_sep, argz, len, NULL, string, sep, argz, len);
}

EXPORT error_t argz_add(char **argz, size_t *len, const char *str)
{
    char *before = *argz;
    ARGZ_CALL(argz_add_fn, argz_add, argz, len, before, argz, len, str);
}

EXPORT error_t argz_add_sep(char **argz, size_t *len, const char *string, int delim)
{
    char *before = *argz;
    ARGZ_CALL(argz_add_sep_fn, argz_add_sep, argz, len, before, argz, len, string, delim);
}

EXPORT error_t argz_append(char **argz, size_t *len, const char *buf, size_t buf_len)
{
    char *before = *argz;
    ARGZ_CALL(argz_append_fn, argz_append, argz, len, before, argz, len, buf, buf_len);
}

EXPORT error_t argz_insert(char **argz, size_t *len, char *before_entry, const char *entry)
{
    char *before = *argz;
    ARGZ_CALL(argz_insert_fn, argz_insert, argz, len, before, argz, len, before_entry, entry);
}

EXPORT error_t argz_replace(char **argz, size_t *len, const char *str, const char *with, unsigned *count)
{
    char *before = *argz;
    ARGZ_CALL(argz_replace_fn, argz_replace, argz, len, before, argz, len, str, with, count);
}

EXPORT error_t envz_add(char **envz, size_t *len, const char *name, const char *value)
{
    char *before = *envz;
    ARGZ_CALL(envz_add_fn, envz_add, envz, len, before, envz, len, name, value);
}

EXPORT error_t envz_merge(char **envz, size_t *len, const char *envz2, size_t envz2_len, int override)
{
    char *before = *envz;
    ARGZ_CALL(envz_merge_fn, envz_merge, envz, len, before, envz, len, envz2, envz2_len, override);
}
