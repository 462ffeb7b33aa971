// SPDX-License-Identifier: MIT
//
// cxx.cc basic|exhaust — C++ under the preload.
//   basic    new/delete (plain, array, nothrow, sized, aligned) are pool
//            blocks in a scope and heap blocks outside; containers and
//            exceptions thrown inside scopes; the first exception of the
//            process thrown inside a scope, and exceptions after many
//            scopes overwrote released memory.
//   exhaust  (OFFHEAP_POOL_SIZE=4M, OFFHEAP_ON_EXHAUST=enomem) the
//            new_handler loop: called until it gives up, then
//            std::bad_alloc; a handler that makes room lets new succeed;
//            nothrow new returns nullptr.
#include "cxx_check.h"
#include "offheap.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

static bool aligned(const void *p, std::size_t a)
{
    return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

struct alignas(256) Wide {
    char bytes[300];
};

static void churn(int scopes)
{
    for (int i = 0; i < scopes; i++) {
        offheap_scope_begin();
        for (int j = 0; j < 20; j++) std::memset(std::malloc(9000), 0xa0 + j, 9000);
        offheap_scope_end();
    }
}

static long throw_and_catch(int i)
{
    try {
        if (i >= 0) throw std::runtime_error("boom " + std::to_string(i));
    } catch (const std::runtime_error &e) {
        return (long)std::strlen(e.what());
    }
    return -1;
}

static void new_forms(bool in_scope)
{
    int *one = new int(7);
    int *arr = new int[1000];
    char *nt = new (std::nothrow) char[5000];
    Wide *w = new Wide;
    Wide *wa = new Wide[3];
    void *a4k = ::operator new(100, std::align_val_t(4096));
    void *a1m = ::operator new(10, std::align_val_t(1 << 20));
    void *a4m = ::operator new(5 << 20, std::align_val_t(4 << 20), std::nothrow);
    CHECK(one && arr && nt && w && wa && a4k && a1m && a4m);
    for (const void *p : {(const void *)one, (const void *)arr, (const void *)nt, (const void *)w, (const void *)wa,
                          (const void *)a4k, (const void *)a1m, (const void *)a4m})
        CHECK(offheap_owns(p) == (in_scope ? 1 : 0));
    CHECK(aligned(one, 16) && aligned(arr, 16) && aligned(w, 256) && aligned(wa, 256) && aligned(a4k, 4096) &&
          aligned(a1m, 1 << 20) && aligned(a4m, 4 << 20));
    std::memset(arr, 1, 4000);
    std::memset(a4m, 2, 5 << 20);
    delete one;
    delete[] arr;
    delete[] nt;
    delete w;
    delete[] wa;
    ::operator delete(a4k, std::align_val_t(4096));
    ::operator delete(a1m, 10, std::align_val_t(1 << 20));
    ::operator delete(a4m, std::align_val_t(4 << 20), std::nothrow);
    // Sized delete of plain new.
    void *s = ::operator new(333);
    ::operator delete(s, 333);
}

static void huge_and_zero(bool in_scope)
{
    void *z1 = ::operator new(0), *z2 = ::operator new(0);
    CHECK(z1 && z2 && z1 != z2);
    CHECK(offheap_owns(z1) == (in_scope ? 1 : 0));
    ::operator delete(z1);
    ::operator delete(z2, std::size_t(0));
    char *za = new char[0];
    CHECK(za != nullptr);
    delete[] za;
    for (std::size_t n : {SIZE_MAX, SIZE_MAX - 8, (std::size_t)PTRDIFF_MAX + 1, (std::size_t)1 << 50}) {
        bool thrown = false;
        try {
            void *p = ::operator new(n);
            (void)p;
        } catch (const std::bad_alloc &) {
            thrown = true;
        }
        CHECK(thrown);
        CHECK(::operator new(n, std::nothrow) == nullptr);
        CHECK(::operator new[](n, std::align_val_t(64), std::nothrow) == nullptr);
        thrown = false;
        try {
            void *p = ::operator new[](n, std::align_val_t(4096));
            (void)p;
        } catch (const std::bad_alloc &) {
            thrown = true;
        }
        CHECK(thrown);
    }
}

static int basic()
{
    offheap_scope_begin();
    // The process's first exception, thrown inside a scope.
    CHECK(throw_and_catch(1) == 6);
    new_forms(true);
    huge_and_zero(true);
    {
        std::vector<std::string> v;
        std::map<int, std::string> m;
        for (int i = 0; i < 2000; i++) {
            v.emplace_back(100, char('a' + i % 26));
            m[i] = v.back();
        }
        CHECK(offheap_owns(v.data()) && offheap_owns(v[10].data()));
        CHECK(m[1999] == std::string(100, char('a' + 1999 % 26)));
        auto sp = std::make_shared<std::string>(1000, 'z');
        CHECK(offheap_owns(sp.get()));
    } // (their destructors run inside the scope: the blocks die with it)
    offheap_scope_end();

    churn(500);

    offheap_scope_begin();
    for (int i = 0; i < 100; i++) CHECK(throw_and_catch(i) == (long)(5 + std::to_string(i).size()));
    offheap_scope_end();
    for (int i = 0; i < 100; i++) CHECK(throw_and_catch(i) > 0);

    new_forms(false);
    huge_and_zero(false);
    std::vector<int> heap(1000, 3);
    CHECK(!offheap_owns(heap.data()));
    return 0;
}

static int handler_calls;
static void give_up_after_three()
{
    if (++handler_calls == 3) std::set_new_handler(nullptr);
}
static void make_room()
{
    // "Free memory": let the retry go to the heap.
    handler_calls++;
    offheap_escape_begin();
}

// Whether f() throws std::bad_alloc (other exceptions pass through).  f
// stores its block in `kept`: GCC drops an allocation nothing reads once it
// is inlined here, and then nothing throws.
static void *volatile kept;
template <class F> static bool throws_bad_alloc(F f)
{
    try {
        f();
    } catch (const std::bad_alloc &) {
        return true;
    }
    return false;
}

static void new_8m()
{
    kept = new char[8 << 20];
}

static int exhaust()
{
    const char *ps = std::getenv("OFFHEAP_POOL_SIZE");
    const char *ex = std::getenv("OFFHEAP_ON_EXHAUST");
    if (!ps || std::strcmp(ps, "4M") || !ex || std::strcmp(ex, "enomem")) {
        FAIL("run with OFFHEAP_POOL_SIZE=4M OFFHEAP_ON_EXHAUST=enomem");
        return 1;
    }
    offheap_scope_begin();
    // No handler: bad_alloc.
    bool thrown = throws_bad_alloc(new_8m);
    CHECK(thrown);
    // A handler that gives up on its third call.
    std::set_new_handler(give_up_after_three);
    thrown = throws_bad_alloc(new_8m);
    CHECK(thrown);
    CHECK(handler_calls == 3);
    CHECK(std::get_new_handler() == nullptr);
    // nothrow: nullptr, no exception.
    char *nt = new (std::nothrow) char[8 << 20];
    CHECK(nt == nullptr);
    void *al = ::operator new(8 << 20, std::align_val_t(4096), std::nothrow);
    CHECK(al == nullptr);
    thrown = throws_bad_alloc([] { kept = ::operator new(8 << 20, std::align_val_t(1 << 16)); });
    CHECK(thrown);
    // A handler that makes room: new retries and succeeds.
    handler_calls = 0;
    std::set_new_handler(make_room);
    char *big = new char[8 << 20];
    CHECK(big != nullptr && handler_calls == 1 && !offheap_owns(big));
    offheap_escape_end();
    std::set_new_handler(nullptr);
    std::memset(big, 1, 8 << 20);
    // The pool still serves what fits.
    char *small = new char[1000];
    CHECK(offheap_owns(small));
    offheap_scope_end();
    delete[] big;
    return 0;
}

int main(int argc, char **argv)
{
    return check_main("cxx", argc, argv, {{"basic", basic}, {"exhaust", exhaust}});
}
