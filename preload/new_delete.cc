// SPDX-License-Identifier: MIT
//
// new_delete.cc — every replaceable global operator new/delete, exported
// from liboffheap.so.  Debian's libjemalloc exports its own: as a preload we
// come first in every lookup scope, also for C++ code dlopen'd later by a C
// program.  The standard's behaviour: the throwing forms loop on the
// new_handler and throw std::bad_alloc when there is none; the nothrow
// forms return nullptr instead of throwing.
#include "preload.h"

#include <cstddef>
#include <new>

#define OH_EXPORT __attribute__((visibility("default")))
#define OH_RA() __builtin_return_address(0)

namespace
{

void *new_loop(std::size_t n, std::size_t align, void *ra)
{
    for (;;) {
        void *p = oh_cxx_alloc(n, align, ra);
        if (__builtin_expect(p != nullptr, 1)) return p;
        std::new_handler h = std::get_new_handler();
        if (!h) throw std::bad_alloc();
        h();
    }
}

void *new_nothrow(std::size_t n, std::size_t align, void *ra) noexcept
{
    try {
        return new_loop(n, align, ra);
    } catch (...) {
        return nullptr;
    }
}

} // namespace

OH_EXPORT void *operator new(std::size_t n)
{
    return new_loop(n, 0, OH_RA());
}
OH_EXPORT void *operator new[](std::size_t n)
{
    return new_loop(n, 0, OH_RA());
}
OH_EXPORT void *operator new(std::size_t n, const std::nothrow_t &) noexcept
{
    return new_nothrow(n, 0, OH_RA());
}
OH_EXPORT void *operator new[](std::size_t n, const std::nothrow_t &) noexcept
{
    return new_nothrow(n, 0, OH_RA());
}
OH_EXPORT void *operator new(std::size_t n, std::align_val_t a)
{
    return new_loop(n, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void *operator new[](std::size_t n, std::align_val_t a)
{
    return new_loop(n, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept
{
    return new_nothrow(n, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept
{
    return new_nothrow(n, static_cast<std::size_t>(a), OH_RA());
}

OH_EXPORT void operator delete(void *p) noexcept
{
    oh_cxx_free(p, 0, 0, OH_RA());
}
OH_EXPORT void operator delete[](void *p) noexcept
{
    oh_cxx_free(p, 0, 0, OH_RA());
}
OH_EXPORT void operator delete(void *p, const std::nothrow_t &) noexcept
{
    oh_cxx_free(p, 0, 0, OH_RA());
}
OH_EXPORT void operator delete[](void *p, const std::nothrow_t &) noexcept
{
    oh_cxx_free(p, 0, 0, OH_RA());
}
OH_EXPORT void operator delete(void *p, std::size_t n) noexcept
{
    oh_cxx_free(p, n, 0, OH_RA());
}
OH_EXPORT void operator delete[](void *p, std::size_t n) noexcept
{
    oh_cxx_free(p, n, 0, OH_RA());
}
OH_EXPORT void operator delete(void *p, std::align_val_t a) noexcept
{
    oh_cxx_free(p, 0, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void operator delete[](void *p, std::align_val_t a) noexcept
{
    oh_cxx_free(p, 0, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void operator delete(void *p, std::align_val_t a, const std::nothrow_t &) noexcept
{
    oh_cxx_free(p, 0, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void operator delete[](void *p, std::align_val_t a, const std::nothrow_t &) noexcept
{
    oh_cxx_free(p, 0, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void operator delete(void *p, std::size_t n, std::align_val_t a) noexcept
{
    oh_cxx_free(p, n, static_cast<std::size_t>(a), OH_RA());
}
OH_EXPORT void operator delete[](void *p, std::size_t n, std::align_val_t a) noexcept
{
    oh_cxx_free(p, n, static_cast<std::size_t>(a), OH_RA());
}
