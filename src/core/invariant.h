/* SPDX-License-Identifier: MIT */
/*
 * invariant.h — OH_ASSERT(cond): the invariants the file-head comments
 * state, executable.  Compiled in with `meson setup -Dassertions=true`
 * (CI runs every suite so), and to nothing otherwise: the release build's
 * hot paths carry no test.  A failed assertion writes one line (file,
 * line, the condition) with write(2) and aborts; it never allocates, so it
 * may fire inside malloc.
 */
#ifndef OH_INVARIANT_H
#define OH_INVARIANT_H

#include "core/log.h"
#include "core/util.h"

#ifdef OH_ASSERTIONS
#define OH_ASSERT(cond)                                                                                                \
    do {                                                                                                               \
        if (OH_UNLIKELY(!(cond))) oh_fatal("assertion failed at %s:%d: %s", __FILE__, __LINE__, #cond);                \
    } while (0)
#else
/* Not evaluated, but still type-checked: an assertion cannot rot. */
#define OH_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif
