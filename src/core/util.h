/* SPDX-License-Identifier: MIT */
/*
 * util.h — the small facts every layer uses, defined once: branch hints,
 * powers of two, rounding, stringizing, file names.  Header only, no
 * state.
 */
#ifndef OH_UTIL_H
#define OH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OH_LIKELY(x) __builtin_expect(!!(x), 1)
#define OH_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define OH_STR_(x) #x
#define OH_STR(x) OH_STR_(x)

/* v is a power of two (0 is not). */
static inline bool oh_is_pow2(size_t v)
{
    return v && !(v & (v - 1));
}

/* v rounded up to a multiple of `align`, a power of two.  The caller
 * makes sure v + align - 1 does not overflow. */
static inline size_t oh_round_up(size_t v, size_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* The file name of a path (what follows its last '/'). */
static inline const char *oh_base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

#endif
