/* SPDX-License-Identifier: MIT */
/*
 * test_strerror.c — offheap_strerror(): every code the API returns has its
 * own static name; anything else is "unknown error", never NULL.
 */
#include <criterion/criterion.h>

#include "offheap_pool.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

static const int known[] = {0, EINVAL, ENOMEM, EBUSY, EAGAIN, ENOTSUP, EDEADLK, EPERM, ENOENT, ERANGE, ENOSYS};
#define NKNOWN (sizeof known / sizeof known[0])

Test(strerror, known_codes_have_distinct_names)
{
    for (size_t i = 0; i < NKNOWN; i++) {
        const char *s = offheap_strerror(known[i]);
        cr_assert_not_null(s, "code %d", known[i]);
        cr_expect_gt(strlen(s), 0, "code %d", known[i]);
        cr_expect_str_neq(s, "unknown error", "code %d", known[i]);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(s, offheap_strerror(known[j]), "codes %d and %d share a name", known[i], known[j]);
    }
}

Test(strerror, unknown_codes)
{
    const int unknown[] = {-1, -EINVAL, INT_MIN, INT_MAX, 9999, EIO, ESRCH};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = offheap_strerror(unknown[i]);
        cr_assert_not_null(s);
        cr_expect_str_eq(s, "unknown error", "code %d", unknown[i]);
    }
}

Test(strerror, names_are_static)
{
    /* Same pointer every time: nothing is formatted into a buffer. */
    for (size_t i = 0; i < NKNOWN; i++) cr_expect_eq(offheap_strerror(known[i]), offheap_strerror(known[i]));
    cr_expect_eq(offheap_strerror(12345), offheap_strerror(54321));
}
