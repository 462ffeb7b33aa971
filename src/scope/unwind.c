/* SPDX-License-Identifier: MIT */
/*
 * unwind.c — opening libunwind for check mode (see unwind.h).
 *
 * The names are libunwind's own macros, expanded and turned into strings:
 * unw_init_local is _ULx86_64_init_local on x86-64 (local-only variant,
 * UNW_LOCAL_ONLY), _ULaarch64_init_local on arm64, so the code follows the
 * header it was built with.  getcontext is the exception: arm64's
 * unw_getcontext is inline assembly in the header, which needs no symbol.
 */
#include "scope/unwind.h"

#ifdef OH_HAVE_LIBUNWIND
#include "core/log.h"
#include "scope/config.h"

#include <dlfcn.h>
#include <stdint.h>

struct oh_unwind oh_unw;

#define STR2(x) #x
#define STR(x) STR2(x)

#if defined(__x86_64__)
#define GETCONTEXT_NAME STR(unw_tdep_getcontext)
#else
static int inline_getcontext(unw_context_t *uc)
{
    return unw_getcontext(uc);
}
#endif

bool oh_unwind_load(void)
{
    static const char *const sonames[] = {"libunwind.so.8", "libunwind.so"};
    void *h = NULL;
    for (unsigned i = 0; !h && i < sizeof sonames / sizeof *sonames; i++) h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        oh_log("check mode: cannot open libunwind (%s); blocks record their allocating call site only",
               sonames[0]);
        return false;
    }
#define SYM(field, name) oh_unw.field = (__typeof__(oh_unw.field))(uintptr_t)dlsym(h, name)
#if defined(__x86_64__)
    SYM(getcontext, GETCONTEXT_NAME);
#else
    oh_unw.getcontext = inline_getcontext;
#endif
    SYM(init_local, STR(unw_init_local));
    SYM(init_local2, STR(unw_init_local2));
    SYM(step, STR(unw_step));
    SYM(get_reg, STR(unw_get_reg));
#undef SYM
    if (!oh_unw.getcontext || !oh_unw.init_local || !oh_unw.init_local2 || !oh_unw.step || !oh_unw.get_reg) {
        oh_log("check mode: libunwind has no %s or its siblings; blocks record their allocating call site only",
               STR(unw_init_local2));
        return false;
    }
    oh_unw.ready = true;
    return true;
}

#endif /* OH_HAVE_LIBUNWIND */
