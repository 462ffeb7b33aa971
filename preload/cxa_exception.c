/* SPDX-License-Identifier: MIT */
/*
 * cxa_exception.c — __cxa_allocate_exception and __cxa_free_exception,
 * passed through to the C++ runtime's (libstdc++'s, found with
 * dlsym(RTLD_NEXT)), so that check mode knows the exception objects a
 * thread holds.  A C++ `throw` calls the first, libstdc++ calls the second
 * through its PLT when the last reference goes (the end of the catch, or
 * the last std::exception_ptr).  In check mode each thread remembers its
 * live exception objects (check.h: oh_check_exception_*), and a scope end
 * scans them for pointers into the scope: an exception thrown out of a
 * scope whose members (a std::string's text, a std::vector's elements)
 * were allocated inside it.  Without check mode they only forward.
 */
#include "scope/check.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);
static _Atomic(alloc_fn) next_alloc;
static _Atomic(free_fn) next_free;

static void *next_fn(void *_Atomic *slot, const char *name)
{
    void *f = atomic_load_explicit(slot, memory_order_acquire);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        if (f) atomic_store_explicit(slot, f, memory_order_release);
    }
    return f;
}

EXPORT void *__cxa_allocate_exception(size_t size);
void *__cxa_allocate_exception(size_t size)
{
    alloc_fn real = (alloc_fn)(uintptr_t)next_fn((void *_Atomic *)&next_alloc, "__cxa_allocate_exception");
    if (!real) abort(); /* a throw without a C++ runtime: nothing sensible to do */
    void *obj = real(size);
    if (__builtin_expect(oh_check_on, 0) && obj) oh_check_exception_alloc(obj, size);
    return obj;
}

EXPORT void __cxa_free_exception(void *obj);
void __cxa_free_exception(void *obj)
{
    if (__builtin_expect(oh_check_on, 0) && obj) oh_check_exception_free(obj);
    free_fn real = (free_fn)(uintptr_t)next_fn((void *_Atomic *)&next_free, "__cxa_free_exception");
    if (real) real(obj);
}
