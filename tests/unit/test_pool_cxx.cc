// SPDX-License-Identifier: MIT
// test_pool_cxx.cc — <offheap_pool.h> in a C++17 program built with -Werror
// and strict warnings (-Wold-style-cast, -Wzero-as-null-pointer-constant,
// -Wconversion, -Wsign-conversion, -Wuseless-cast where supported): the
// inline fast path must compile cleanly as C++ and keep the contract
// (pool_inline_checks.h).  Linked against liboffheap_pool.so.
#include "pool_inline_checks.h"

#include <cstdio>
#include <vector>

int main()
{
    oh_inline_checks();
    // the inline path from a template and a lambda, as C++ callers use it
    offheap_pool *pool = nullptr;
    REQUIRE(offheap_pool_create(&pool, nullptr) == 0);
    auto make = [pool](size_t n) { return static_cast<int *>(offheap_pool_alloc(pool, n * sizeof(int))); };
    std::vector<int *> blocks;
    for (size_t i = 1; i <= 1000; i++) blocks.push_back(make(i));
    for (int *b : blocks) CHECK(b != nullptr);
    // sizes n*4 for n = 1..1000, each rounded to 16
    size_t want = 0;
    for (size_t i = 1; i <= 1000; i++) want += oh_round16(i * sizeof(int));
    offheap_pool_stats s{};
    CHECK(offheap_pool_stats_get(pool, &s) == 0);
    CHECKF(s.allocated == want, "allocated %zu, want %zu", s.allocated, want);
    offheap_pool_destroy(pool);
    std::printf("test_pool_cxx: %lu failure(s)\n", check_failures());
    return check_failures() != 0;
}
