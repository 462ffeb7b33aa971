/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for <criterion/criterion.h>, used only by the ThreadSanitizer
 * build (tests/unit/meson.build puts this directory first on the include
 * path when b_sanitize=thread).
 *
 * Why: Criterion cannot start under TSan.  Its sandbox (BoxFort) maps its
 * shared arena at random addresses in [0x2000_0000_0000, 0x7f00_0000_0000)
 * and gives up after 10 tries when the pages are taken; TSan's x86-64 layout
 * reserves nearly all of that range for shadow and meta memory, so every
 * runner dies with "Could not initialize inheritable arena: Resource
 * temporarily unavailable" (Criterion issue #274, open).
 *
 * What: the subset of Criterion the concurrent tests use, with the same
 * meaning: Test() with .timeout/.signal/.exit_code/.init/.fini/.disabled,
 * TestSuite() with the same options, cr_assert_* (stop the test) and
 * cr_expect_* (record and go on) for eq/neq/lt/leq/gt/geq/null/not_null,
 * plain, not and fail, cr_skip_test.  Like Criterion, each test runs in a
 * fresh process: fork, then exec of this executable with "--oh-cr-run N"
 * (a plain fork child would inherit jemalloc's fork-handler mutex state,
 * which TSan misreads as double locks).  The test process exits through
 * exit() so TSan's exit code (66 after a report) fails the test.  Output
 * imitates Criterion's [PASS]/[FAIL] lines and summary.
 *
 * One translation unit per executable includes this header: it defines
 * main() and its state as statics.
 */
#ifndef OH_TSAN_CRITERION_SHIM_H
#define OH_TSAN_CRITERION_SHIM_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct oh_cr_opts {
    double timeout;     /* seconds, 0 = none */
    int signal;         /* expected terminating signal, 0 = none */
    int exit_code;      /* expected exit status */
    void (*init)(void); /* runs before the test, in the child */
    void (*fini)(void); /* runs after it, in the child */
    bool disabled;
    const char *description;
    int oh_end_;        /* lets the option list end with a comma-free tail */
};

struct oh_cr_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    const struct oh_cr_opts *opts;
};

#define OH_CR_MAX_TESTS 512
#define OH_CR_MAX_SUITES 64

static struct oh_cr_test oh_cr_tests[OH_CR_MAX_TESTS];
static size_t oh_cr_ntests;
static struct {
    const char *name;
    const struct oh_cr_opts *opts;
} oh_cr_suites[OH_CR_MAX_SUITES];
static size_t oh_cr_nsuites;
static int oh_cr_failed; /* in the child: an expectation failed */

static void oh_cr_register(const char *suite, const char *name, void (*fn)(void),
                           const struct oh_cr_opts *opts)
{
    if (oh_cr_ntests == OH_CR_MAX_TESTS) abort();
    oh_cr_tests[oh_cr_ntests++] = (struct oh_cr_test){suite, name, fn, opts};
}

__attribute__((unused)) static void oh_cr_register_suite(const char *name,
                                                   const struct oh_cr_opts *opts)
{
    if (oh_cr_nsuites == OH_CR_MAX_SUITES) abort();
    oh_cr_suites[oh_cr_nsuites].name = name;
    oh_cr_suites[oh_cr_nsuites].opts = opts;
    oh_cr_nsuites++;
}

#define OH_CR_TEST_(suite, name, ...)                                                           \
    static void suite##_##name##_impl(void);                                                    \
    static const struct oh_cr_opts suite##_##name##_opts = {__VA_ARGS__};                       \
    __attribute__((constructor)) static void suite##_##name##_reg(void)                         \
    {                                                                                           \
        oh_cr_register(#suite, #name, suite##_##name##_impl, &suite##_##name##_opts);           \
    }                                                                                           \
    static void suite##_##name##_impl(void)
#define Test(...) OH_CR_TEST_(__VA_ARGS__, .oh_end_ = 0)

#define OH_CR_SUITE_(suite, ...)                                                                \
    static const struct oh_cr_opts suite##_suite_opts = {__VA_ARGS__};                          \
    __attribute__((constructor)) static void suite##_suite_reg(void)                            \
    {                                                                                           \
        oh_cr_register_suite(#suite, &suite##_suite_opts);                                      \
    }                                                                                           \
    struct oh_cr_swallow_semicolon_##suite
#define TestSuite(...) OH_CR_SUITE_(__VA_ARGS__, .oh_end_ = 0)

/* Report a failed check; stop the test when fatal.  `fmt` is the user's
 * message or "" (then the expression is shown); extra arguments after the
 * ones fmt uses are ignored, as by printf. */
static void oh_cr_check(bool ok, bool fatal, const char *file, int line, const char *expr,
                        const char *fmt, ...)
{
    if (ok) return;
    oh_cr_failed = 1;
    fprintf(stderr, "[----] %s:%d: Assertion Failed\n[----]   ", file, line);
    if (fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    } else {
        fprintf(stderr, "The expression %s is false.", expr);
    }
    fputc('\n', stderr);
    if (fatal) {
        fflush(NULL);
        exit(1);
    }
}

#define OH_CR_CHECK_(cond, fatal, text, ...)                                                    \
    oh_cr_check((cond), (fatal), __FILE__, __LINE__, text, __VA_ARGS__)
#define OH_CR_CMP_(op, fatal, a, b, ...)                                                        \
    OH_CR_CHECK_((a)op(b), fatal, "(" #a ") " #op " (" #b ")", __VA_ARGS__)
#define OH_CR_ONE_(fatal, cond, ...) OH_CR_CHECK_((cond), fatal, "(" #cond ")", __VA_ARGS__)
#define OH_CR_NOT_(fatal, cond, ...) OH_CR_CHECK_(!(cond), fatal, "!(" #cond ")", __VA_ARGS__)
#define OH_CR_NULL_(fatal, p, ...) OH_CR_CHECK_((p) == NULL, fatal, "(" #p ") == NULL", __VA_ARGS__)
#define OH_CR_NNULL_(fatal, p, ...)                                                                \
    OH_CR_CHECK_((p) != NULL, fatal, "(" #p ") != NULL", __VA_ARGS__)

/* The trailing "" guarantees the variadic part is never empty (ISO C). */
#define cr_assert(...) OH_CR_ONE_(true, __VA_ARGS__, "")
#define cr_expect(...) OH_CR_ONE_(false, __VA_ARGS__, "")
#define cr_assert_not(...) OH_CR_NOT_(true, __VA_ARGS__, "")
#define cr_expect_not(...) OH_CR_NOT_(false, __VA_ARGS__, "")
#define cr_assert_null(...) OH_CR_NULL_(true, __VA_ARGS__, "")
#define cr_expect_null(...) OH_CR_NULL_(false, __VA_ARGS__, "")
#define cr_assert_not_null(...) OH_CR_NNULL_(true, __VA_ARGS__, "")
#define cr_expect_not_null(...) OH_CR_NNULL_(false, __VA_ARGS__, "")
#define cr_assert_eq(...) OH_CR_CMP_(==, true, __VA_ARGS__, "")
#define cr_expect_eq(...) OH_CR_CMP_(==, false, __VA_ARGS__, "")
#define cr_assert_neq(...) OH_CR_CMP_(!=, true, __VA_ARGS__, "")
#define cr_expect_neq(...) OH_CR_CMP_(!=, false, __VA_ARGS__, "")
#define cr_assert_lt(...) OH_CR_CMP_(<, true, __VA_ARGS__, "")
#define cr_expect_lt(...) OH_CR_CMP_(<, false, __VA_ARGS__, "")
#define cr_assert_leq(...) OH_CR_CMP_(<=, true, __VA_ARGS__, "")
#define cr_expect_leq(...) OH_CR_CMP_(<=, false, __VA_ARGS__, "")
#define cr_assert_gt(...) OH_CR_CMP_(>, true, __VA_ARGS__, "")
#define cr_expect_gt(...) OH_CR_CMP_(>, false, __VA_ARGS__, "")
#define cr_assert_geq(...) OH_CR_CMP_(>=, true, __VA_ARGS__, "")
#define cr_expect_geq(...) OH_CR_CMP_(>=, false, __VA_ARGS__, "")
#define cr_assert_fail(...) OH_CR_CHECK_(false, true, "cr_assert_fail", __VA_ARGS__, "")
#define cr_expect_fail(...) OH_CR_CHECK_(false, false, "cr_expect_fail", __VA_ARGS__, "")

#define OH_CR_SKIPPED 77
#define cr_skip_test(...)                                                                       \
    do {                                                                                        \
        fprintf(stderr, "[SKIP] " __VA_ARGS__);                                                 \
        fputc('\n', stderr);                                                                    \
        fflush(NULL);                                                                           \
        exit(OH_CR_SKIPPED);                                                                    \
    } while (0)

static const struct oh_cr_opts *oh_cr_suite_opts(const char *suite)
{
    for (size_t i = 0; i < oh_cr_nsuites; i++)
        if (strcmp(oh_cr_suites[i].name, suite) == 0) return oh_cr_suites[i].opts;
    return NULL;
}

/* Run test i in this process and exit with its status. */
__attribute__((noreturn)) static void oh_cr_child(size_t i)
{
    const struct oh_cr_test *t = &oh_cr_tests[i];
    const struct oh_cr_opts *so = oh_cr_suite_opts(t->suite);
    const struct oh_cr_opts *o = t->opts;
    double timeout = o->timeout ? o->timeout : so ? so->timeout : 0;
    void (*init)(void) = o->init ? o->init : so ? so->init : NULL;
    void (*fini)(void) = o->fini ? o->fini : so ? so->fini : NULL;
    if (timeout > 0) alarm((unsigned)(timeout + 0.999));
    if (init) init();
    t->fn();
    if (fini) fini();
    fflush(NULL);
    exit(oh_cr_failed ? 1 : o->exit_code);
}

/* 0 pass, 1 fail, 2 skipped. */
static int oh_cr_run_one(const char *self, size_t i)
{
    const struct oh_cr_test *t = &oh_cr_tests[i];
    const struct oh_cr_opts *o = t->opts;
    char index[24];
    snprintf(index, sizeof index, "%zu", i);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        execl("/proc/self/exe", self, "--oh-cr-run", index, (char *)NULL);
        perror("exec /proc/self/exe");
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == OH_CR_SKIPPED) return 2;
    if (o->signal) return WIFSIGNALED(status) && WTERMSIG(status) == o->signal ? 0 : 1;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "[----] %s::%s: killed by signal %d%s\n", t->suite, t->name,
                WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
        return 1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == o->exit_code ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--oh-cr-run") == 0) {
        size_t i = (size_t)strtoul(argv[2], NULL, 10);
        if (i >= oh_cr_ntests) return 2;
        oh_cr_child(i);
    }
    size_t pass = 0, fail = 0, skip = 0;
    for (size_t i = 0; i < oh_cr_ntests; i++) {
        const struct oh_cr_test *t = &oh_cr_tests[i];
        const struct oh_cr_opts *so = oh_cr_suite_opts(t->suite);
        if (t->opts->disabled || (so && so->disabled)) {
            skip++;
            continue;
        }
        int r = oh_cr_run_one(argv[0], i);
        const char *tag = r == 0 ? "PASS" : r == 1 ? "FAIL" : "SKIP";
        fprintf(stderr, "[%s] %s::%s\n", tag, t->suite, t->name);
        if (r == 0) pass++;
        else if (r == 1) fail++;
        else skip++;
    }
    fprintf(stderr, "[====] Synthesis: Tested: %zu | Passing: %zu | Failing: %zu | Skipped: %zu\n",
            pass + fail, pass, fail, skip);
    return fail ? 1 : 0;
}

#endif
