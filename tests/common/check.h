/* SPDX-License-Identifier: MIT */
/*
 * check.h — the checks of every plain test program (everything but the
 * Criterion tests, which keep Criterion's asserts).  C11 and C++17, header
 * only; it compiles under the strict warnings of tests/unit's -Werror
 * programs.
 *
 *   CHECK(c)               a false c is counted and reported, the program
 *                          goes on:  "FAIL file:line: c"
 *   CHECKF(c, fmt, ...)    the same with a message:
 *                                    "FAIL file:line: c: message"
 *   REQUIRE(c)             a false c is reported and the program stops (the
 *   REQUIREF(c, fmt, ...)  rest of it would only crash or mislead)
 *   FAIL(fmt, ...)         a failure found otherwise (no condition to
 *                          print): counted, reported, the program goes on
 *   FATAL(fmt, ...)        the same, and the program stops
 *   check_fail_at(file, line, fmt, ...)
 *                          FAIL at the given place: for helpers that
 *                          report their caller's line
 *
 *   check_failures()       failures counted so far, on every thread
 *   check_done(name)       the exit status: 0 after "name: all checks
 *                          passed" on stdout, else 1 after "name: N check(s)
 *                          failed"
 *
 * Settings, made before the checks run:
 *   check_set_stop(fn)     what REQUIRE and FATAL do after the report:
 *                          _exit(1) by default; the fuzz targets set abort
 *                          (libFuzzer then keeps the input)
 *   check_set_prefix(fn)   fn(buf, cap) writes a NUL-terminated text that
 *                          goes before each report, e.g. the fuzzer's input
 *                          and op numbers or the process id
 *   check_set_fd(fd)       where reports go: 2 by default (a child whose
 *                          stderr lines are counted by its driver uses 1)
 *   check_set_max_reports(n)  report only the first n failures (all are
 *                          counted; REQUIRE and FATAL always report); 0, the
 *                          default, reports all
 *
 * A report is formatted with vsnprintf into a buffer on the stack and
 * written with one write(2): nothing is allocated (the programs run under
 * fault injection and out of memory, where stdio may allocate, fail, or
 * move the injected fault), nothing is locked (any thread, a forked child),
 * lines from several threads do not mix, and errno is left as it was.  The
 * counter is updated atomically.  Long reports are cut at 1 KiB.
 */
#ifndef OH_TEST_CHECK_H
#define OH_TEST_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
#define CHECK_CAST_(type, value) (static_cast<type>(value))
#define CHECK_NULL_ nullptr
#else
#define CHECK_CAST_(type, value) ((type)(value))
#define CHECK_NULL_ NULL
#endif

typedef void (*check_stop_fn)(void);
typedef void (*check_prefix_fn)(char *buf, size_t cap);

struct check_settings_ {
    unsigned long failures; /* __atomic builtins only */
    check_stop_fn stop;     /* NULL: _exit(1) */
    check_prefix_fn prefix; /* NULL: none */
    unsigned long max_reports;
    int fd;
};

__attribute__((unused)) static struct check_settings_ check_ = {0, CHECK_NULL_, CHECK_NULL_, 0, 2};

static inline void check_set_stop(check_stop_fn fn)
{
    check_.stop = fn;
}

static inline void check_set_prefix(check_prefix_fn fn)
{
    check_.prefix = fn;
}

static inline void check_set_fd(int fd)
{
    check_.fd = fd;
}

static inline void check_set_max_reports(unsigned long n)
{
    check_.max_reports = n;
}

static inline unsigned long check_failures(void)
{
    return __atomic_load_n(&check_.failures, __ATOMIC_RELAXED);
}

/* Appends to buf (length *len, capacity cap, the last byte kept for the
 * newline); what does not fit is cut. */
__attribute__((format(printf, 4, 0))) static inline void check_vappend_(char *buf, size_t cap, size_t *len,
                                                                        const char *fmt, va_list ap)
{
    if (*len + 1 >= cap) return;
    int n = vsnprintf(buf + *len, cap - 1 - *len, fmt, ap);
    if (n < 0) return;
    size_t added = CHECK_CAST_(size_t, n);
    *len += added < cap - 1 - *len ? added : cap - 2 - *len;
}

__attribute__((format(printf, 4, 5))) static inline void check_append_(char *buf, size_t cap, size_t *len,
                                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    check_vappend_(buf, cap, len, fmt, ap);
    va_end(ap);
}

static inline void check_write_(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(check_.fd, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        buf += w;
        len -= CHECK_CAST_(size_t, w);
    }
}

/* One report: [prefix]FAIL file:line: [cond][: message]\n.  Counted;
 * written unless past the report limit (a fatal one always is). */
static inline void check_emit_(const char *file, int line, const char *cond, int fatal, const char *msg)
{
    int saved_errno = errno;
    unsigned long n = __atomic_add_fetch(&check_.failures, 1, __ATOMIC_RELAXED);
    if (fatal || check_.max_reports == 0 || n <= check_.max_reports) {
        char buf[1024];
        size_t len = 0;
        buf[0] = '\0';
        if (check_.prefix) {
            check_.prefix(buf, sizeof buf - 1);
            buf[sizeof buf - 2] = '\0';
            len = strlen(buf);
        }
        check_append_(buf, sizeof buf, &len, "FAIL %s:%d: %s%s%s", file, line, cond ? cond : "",
                      cond && msg ? ": " : "", msg ? msg : "");
        buf[len++] = '\n';
        check_write_(buf, len);
        if (check_.max_reports && n == check_.max_reports && !fatal) {
            static const char more[] = "FAIL: further failures are counted, not reported\n";
            check_write_(more, sizeof more - 1);
        }
    }
    errno = saved_errno;
}

__attribute__((format(printf, 5, 6))) static inline void check_report_(const char *file, int line, const char *cond,
                                                                       int fatal, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[768];
    size_t len = 0;
    msg[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    check_vappend_(msg, sizeof msg, &len, fmt, ap);
    va_end(ap);
    errno = saved_errno;
    check_emit_(file, line, cond, fatal, msg);
}

__attribute__((noreturn)) static inline void check_stop_(void)
{
    if (check_.stop) check_.stop();
    _exit(1);
}

#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) check_emit_(__FILE__, __LINE__, #c, 0, CHECK_NULL_);                                                 \
    } while (0)
#define CHECKF(c, ...)                                                                                                 \
    do {                                                                                                               \
        if (!(c)) check_report_(__FILE__, __LINE__, #c, 0, __VA_ARGS__);                                               \
    } while (0)
#define REQUIRE(c)                                                                                                     \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            check_emit_(__FILE__, __LINE__, #c, 1, CHECK_NULL_);                                                       \
            check_stop_();                                                                                             \
        }                                                                                                              \
    } while (0)
#define REQUIREF(c, ...)                                                                                               \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            check_report_(__FILE__, __LINE__, #c, 1, __VA_ARGS__);                                                     \
            check_stop_();                                                                                             \
        }                                                                                                              \
    } while (0)
#define FAIL(...) check_report_(__FILE__, __LINE__, CHECK_NULL_, 0, __VA_ARGS__)
#define FATAL(...)                                                                                                     \
    do {                                                                                                               \
        check_report_(__FILE__, __LINE__, CHECK_NULL_, 1, __VA_ARGS__);                                                \
        check_stop_();                                                                                                 \
    } while (0)

__attribute__((format(printf, 3, 4))) static inline void check_fail_at(const char *file, int line, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[768];
    size_t len = 0;
    msg[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    check_vappend_(msg, sizeof msg, &len, fmt, ap);
    va_end(ap);
    errno = saved_errno;
    check_emit_(file, line, CHECK_NULL_, 0, msg);
}

/* The exit status of a program made of checks. */
static inline int check_done(const char *name)
{
    unsigned long n = check_failures();
    if (n) {
        char buf[256];
        size_t len = 0;
        check_append_(buf, sizeof buf, &len, "%s: %lu check(s) failed", name, n);
        buf[len++] = '\n';
        check_write_(buf, len);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
