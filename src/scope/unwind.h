/* SPDX-License-Identifier: MIT */
/*
 * unwind.h — libunwind for check mode's backtraces, opened when check mode
 * starts rather than linked: a process that never turns check mode on does
 * not map libunwind and liblzma (about 110 KiB of its RSS, and two objects
 * to load at every exec under the preload).
 *
 * Builds with libunwind's headers (-Dlibunwind, OH_HAVE_LIBUNWIND) only.
 * Without the library at run time check mode records the allocating call
 * site alone, as in a build without libunwind, and says so once.
 */
#ifndef OH_UNWIND_H
#define OH_UNWIND_H

#ifdef OH_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdbool.h>

#pragma GCC visibility push(hidden)

/* libunwind's local-only entry points, as loaded (all set, or ready false). */
struct oh_unwind {
    bool ready;
    int (*getcontext)(unw_context_t *);
    int (*init_local)(unw_cursor_t *, unw_context_t *);
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    int (*step)(unw_cursor_t *);
    int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
};
extern struct oh_unwind oh_unw;

/* Open libunwind (dlopen allocates: call where malloc may run, outside any
 * scope; check mode's start is such a place).  True when oh_unw is ready.
 * Once; not thread-safe (called under the process pool's once). */
bool oh_unwind_load(void);

#pragma GCC visibility pop

#endif /* OH_HAVE_LIBUNWIND */
#endif
