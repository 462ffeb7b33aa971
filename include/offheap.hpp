/* SPDX-License-Identifier: MIT */
/*
 * offheap.hpp — RAII guards for the liboffheap preload's scopes and escapes.
 *
 *     #include <offheap.hpp>      // link nothing
 *
 *     void serve(request &r) {
 *         offheap::scope s;       // offheap_scope_begin()
 *         handle(r);              // every new/malloc in here is scoped
 *     }                           // offheap_scope_end(), also when handle() throws
 *
 *     void remember(cache &c, const key &k) {
 *         offheap::escape e;      // inside a scope: allocate from the heap
 *         c.insert(k);            // (memory that must outlive the scope)
 *     }
 *
 * The guards use the weak markers of offheap.h (OFFHEAP_SCOPE_BEGIN() and
 * friends): a program built with them links nothing of liboffheap and runs
 * unchanged, the guards doing nothing, when liboffheap.so is not preloaded.
 * With LD_PRELOAD=liboffheap.so they open and close scopes.  GCC or Clang.
 *
 * A guard ends what it began exactly once, in its destructor: at the end of
 * the enclosing block, at return, and while an exception unwinds through it.
 * Guards are neither copyable nor movable (a moved-from guard would have to
 * remember not to end anything, and a scope belongs to the thread that
 * opened it anyway).  Name them: `offheap::scope{};` is a temporary that
 * begins and ends at once (clang warns about it in C++17: [[nodiscard]]).
 *
 * Exceptions and scope memory: the exception *object* is allocated by the
 * C++ runtime (libstdc++), which liboffheap routes to the heap, and the
 * standard exceptions' messages (std::runtime_error("..."), what() of
 * std::system_error, vector::at's out_of_range) are built by libstdc++ too:
 * they survive the scope.  But the members of your own exception type are
 * allocated by your code.  An exception like
 *
 *     struct request_error : std::exception {
 *         std::string detail;         // allocated in the scope
 *         std::vector<int> codes;     // allocated in the scope
 *     };
 *
 * thrown inside a scope and caught outside it carries pointers into memory
 * the scope's end released while the exception unwound: reading `detail` in
 * the handler reads freed memory (OFFHEAP_CHECK=1 reports it).  Build such
 * members under an offheap::escape (see the test tests/consumer/guards.cc),
 * catch the exception inside the scope, or derive from std::runtime_error
 * and pass the text to its constructor.
 */
#ifndef OFFHEAP_HPP
#define OFFHEAP_HPP

#include "offheap.h"

#if !defined(OFFHEAP_SCOPE_BEGIN)
#error "offheap.hpp needs the weak markers of offheap.h (GCC or Clang, OFFHEAP_BUILDING_LIBRARY not defined)"
#endif

/* The header is C++11: clang -Weverything's C++98-compatibility notes about
 * it (= delete, noexcept, &&) say nothing useful to its users. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc++98-compat"
#endif

#if __cplusplus >= 201703L
#define OFFHEAP_NODISCARD_ [[nodiscard]]
#else
#define OFFHEAP_NODISCARD_
#endif

namespace offheap
{

/* True when liboffheap.so is loaded in this process. */
inline bool loaded() noexcept
{
    return OFFHEAP_LOADED();
}

/* A scope for the guard's lifetime: offheap_scope_begin() in the
 * constructor, offheap_scope_end() in the destructor.  Guards nest like the
 * scopes they open. */
class OFFHEAP_NODISCARD_ scope
{
  public:
    scope() noexcept
    {
        OFFHEAP_SCOPE_BEGIN();
    }
    ~scope()
    {
        OFFHEAP_SCOPE_END();
    }
    scope(const scope &) = delete;
    scope &operator=(const scope &) = delete;
    scope(scope &&) = delete;
    scope &operator=(scope &&) = delete;
};

/* An escape for the guard's lifetime: inside a scope, allocations of this
 * thread go to the ordinary heap and outlive the scope. */
class OFFHEAP_NODISCARD_ escape
{
  public:
    escape() noexcept
    {
        OFFHEAP_ESCAPE_BEGIN();
    }
    ~escape()
    {
        OFFHEAP_ESCAPE_END();
    }
    escape(const escape &) = delete;
    escape &operator=(const escape &) = delete;
    escape(escape &&) = delete;
    escape &operator=(escape &&) = delete;
};

} // namespace offheap

#undef OFFHEAP_NODISCARD_

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#endif /* OFFHEAP_HPP */
