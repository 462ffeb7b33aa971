/* SPDX-License-Identifier: MIT */
/*
 * bad_check.h — the checking rows shared by bad_api.c and bad_preload.c.
 *
 * The including file defines
 *     static void row_at(const char *file, int line, const char *call, const char *expect, int ok,
 *                        const char *got);
 * which counts the row, prints it with --table and, when !ok, reports it at
 * file:line (check_fail_at, tests/common/check.h); row(call, expect, ok, got)
 * calls it with the caller's place.
 * This header gives the error names and the two checks built on row():
 *     RC(call, want)    an int-returning call that must give `want`
 *     NUL(call, want)   a pointer-returning call that must give NULL with
 *                       errno `want`
 */
#ifndef BAD_CHECK_H
#define BAD_CHECK_H

#include <errno.h>
#include <stdio.h>

static void row_at(const char *file, int line, const char *call, const char *expect, int ok, const char *got);
#define row(call, expect, ok, got) row_at(__FILE__, __LINE__, call, expect, ok, got)

/* The name of an error code (its number when it has no name here; static
 * buffer, so copy it before the next call). */
static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    case ENOTSUP: return "ENOTSUP";
    case EBADF: return "EBADF";
    default: {
        static char buf[16];
        snprintf(buf, sizeof buf, "%d", e);
        return buf;
    }
    }
}

#define RC(call, want)                                                                                                 \
    do {                                                                                                               \
        int rc_ = (call);                                                                                              \
        char got_[64];                                                                                                 \
        snprintf(got_, sizeof got_, "%s", ename(rc_));                                                                 \
        row(#call, ename(want), rc_ == (want), got_);                                                                  \
    } while (0)

#define NUL(call, want)                                                                                                \
    do {                                                                                                               \
        errno = 0;                                                                                                     \
        void *p_ = (call);                                                                                             \
        int e_ = errno;                                                                                                \
        char got_[64], exp_[64];                                                                                       \
        snprintf(got_, sizeof got_, "%p", p_);                                                                         \
        if (!p_) snprintf(got_, sizeof got_, "NULL, errno %s", ename(e_));                                             \
        snprintf(exp_, sizeof exp_, "NULL, errno %s", ename(want));                                                    \
        row(#call, exp_, p_ == NULL && e_ == (want), got_);                                                            \
    } while (0)

#endif
