// SPDX-License-Identifier: MIT
// guards.cc loaded|absent — offheap.hpp's guards and the OFFHEAP_SCOPE block
// in a C++17 program that links nothing of liboffheap, run under
// LD_PRELOAD=liboffheap.so (loaded) and without it (absent):
//   - offheap::loaded() says which;
//   - a guard opens one scope for its lifetime (depth, OFFHEAP_OWNS of a
//     block allocated in it), guards nest, and an escape inside a scope
//     allocates from the heap;
//   - an exception thrown through one or two guards ends each scope exactly
//     once during unwinding: the depth is back to 0 in the handler, and
//     offheap_stats counts the scopes and no misuse (an extra end would
//     count as misuse, a missing one would leave the depth above 0);
//   - the pitfall offheap.hpp documents: a custom exception whose
//     std::string was built in the scope points into scope memory in the
//     handler (only the address is looked at), and the same built under an
//     offheap::escape does not and reads back intact;
//   - OFFHEAP_SCOPE { } with break, return and an exception: ended once;
//   - the guards are neither copyable nor movable.
// A failure is a message and exit 1.
#include <offheap.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

static_assert(!std::is_copy_constructible<offheap::scope>::value, "scope is copyable");
static_assert(!std::is_copy_assignable<offheap::scope>::value, "scope is copy-assignable");
static_assert(!std::is_move_constructible<offheap::scope>::value, "scope is movable");
static_assert(!std::is_move_assignable<offheap::scope>::value, "scope is move-assignable");
static_assert(!std::is_copy_constructible<offheap::escape>::value, "escape is copyable");
static_assert(!std::is_move_constructible<offheap::escape>::value, "escape is movable");
static_assert(std::is_nothrow_default_constructible<offheap::scope>::value, "scope() may throw");
static_assert(std::is_nothrow_destructible<offheap::scope>::value, "~scope() may throw");

static int failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                       \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

static bool loaded;

// Scopes entered and misuse reports so far (0 without the preload).
struct counts {
    unsigned long long scopes = 0, misuse = 0;
};
static counts now()
{
    counts c;
    offheap_stats st;
    if (OFFHEAP_STATS_GET(&st) == 0) {
        c.scopes = st.scopes;
        c.misuse = st.misuse;
    }
    return c;
}
// Check that exactly n scopes were entered since `before`, none misused,
// and none is open.
static void ended_once(const counts &before, unsigned long long n, int line)
{
    counts after = now();
    int depth = OFFHEAP_SCOPE_DEPTH();
    unsigned long long want = loaded ? n : 0;
    if (after.scopes - before.scopes != want || after.misuse != before.misuse || depth != 0) {
        std::fprintf(stderr, "FAIL line %d: scopes +%llu (want +%llu), misuse +%llu, depth %d\n", line,
                     after.scopes - before.scopes, want, after.misuse - before.misuse, depth);
        failures++;
    }
}

static int in_scope(int want_depth)
{
    return OFFHEAP_SCOPE_DEPTH() == (loaded ? want_depth : 0);
}

static void plain_and_nested()
{
    counts before = now();
    {
        offheap::scope s;
        CHECK(in_scope(1));
        std::vector<int> v(1000, 7);
        CHECK(OFFHEAP_OWNS(v.data()) == (loaded ? 1 : 0));
        {
            offheap::scope inner;
            CHECK(in_scope(2));
            std::string t(300, 'y');
            CHECK(OFFHEAP_OWNS(t.data()) == (loaded ? 1 : 0));
        }
        CHECK(in_scope(1));
        CHECK(v[999] == 7); // the outer scope's block outlives the inner scope
        std::string *kept;
        {
            offheap::escape e;
            kept = new std::string(300, 'k');
        }
        CHECK(OFFHEAP_OWNS(kept->data()) == 0);
        CHECK(OFFHEAP_OWNS(kept) == 0);
        delete kept; // a heap block, freed by jemalloc
    }
    ended_once(before, 2, __LINE__);
}

[[noreturn]] static void throw_through_guards(int nested)
{
    offheap::scope s;
    std::vector<char> scratch(4096, 'x');
    (void)scratch;
    if (nested) {
        offheap::scope inner;
        std::string more(500, 'z');
        (void)more;
        throw std::runtime_error("thrown through two guards, with a message built by libstdc++ in the scope");
    }
    throw std::runtime_error("thrown through one guard, with a message built by libstdc++ in the scope");
}

static void exceptions()
{
    for (int nested = 0; nested < 2; nested++) {
        counts before = now();
        try {
            throw_through_guards(nested);
        } catch (const std::runtime_error &e) {
            CHECK(OFFHEAP_SCOPE_DEPTH() == 0); // ended during unwinding, before the handler
            // std::runtime_error's message is libstdc++'s: it outlives the scope.
            CHECK(std::strncmp(e.what(), "thrown through", 14) == 0);
        }
        ended_once(before, nested ? 2 : 1, __LINE__);
    }
}

// The pitfall of offheap.hpp: members of your own exception type.
struct request_error : std::exception {
    std::string detail;
    explicit request_error(std::string d) : detail(std::move(d))
    {
    }
    const char *what() const noexcept override
    {
        return "request_error";
    }
};

static const char detail_text[] = "a detail long enough to live outside the small-string buffer";

[[noreturn]] static void fail_request(bool escape_payload)
{
    offheap::scope s;
    if (escape_payload) {
        // The fix: the payload is built under an escape, on the heap.
        offheap::escape e;
        throw request_error(detail_text);
    }
    throw request_error(detail_text); // the detail is scope memory
}

static void exception_payload()
{
    for (int escaped = 0; escaped < 2; escaped++) {
        counts before = now();
        try {
            fail_request(escaped != 0);
        } catch (const request_error &e) {
            CHECK(OFFHEAP_SCOPE_DEPTH() == 0);
            if (escaped) {
                CHECK(OFFHEAP_OWNS(e.detail.data()) == 0);
                CHECK(e.detail == detail_text);
            } else {
                // Dangling: the scope that held it has ended.  Only its
                // address is looked at here.
                CHECK(OFFHEAP_OWNS(e.detail.data()) == (loaded ? 1 : 0));
            }
        }
        ended_once(before, 1, __LINE__);
    }
}

static int block_return(int x)
{
    OFFHEAP_SCOPE
    {
        std::string s(200, 'r');
        if (x > 0) return in_scope(1) ? 1 : -1; // leaves the block: ends the scope
    }
    return 0;
}

static void blocks()
{
    counts before = now();
    int ran = 0;
    OFFHEAP_SCOPE
    {
        ran++;
        CHECK(in_scope(1));
        OFFHEAP_SCOPE
        {
            CHECK(in_scope(2));
            OFFHEAP_ESCAPE
            {
                std::string *h = new std::string(300, 'h');
                CHECK(OFFHEAP_OWNS(h->data()) == 0);
                delete h;
            }
        }
        CHECK(in_scope(1));
    }
    CHECK(ran == 1);
    ended_once(before, 2, __LINE__);

    before = now();
    for (int i = 0; i < 3; i++) {
        OFFHEAP_SCOPE
        {
            if (i == 1) break; // leaves the block only: the loop goes on
            std::vector<int> v(100, i);
        }
    }
    ended_once(before, 3, __LINE__);

    before = now();
    CHECK(block_return(1) == 1);
    ended_once(before, 1, __LINE__);

    before = now();
    try {
        OFFHEAP_SCOPE
        {
            std::string s(200, 'e');
            throw std::logic_error("out of an OFFHEAP_SCOPE block");
        }
    } catch (const std::logic_error &) {
        CHECK(OFFHEAP_SCOPE_DEPTH() == 0);
    }
    ended_once(before, 1, __LINE__);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (std::strcmp(argv[1], "loaded") != 0 && std::strcmp(argv[1], "absent") != 0)) {
        std::fprintf(stderr, "usage: %s loaded|absent\n", argv[0]);
        return 2;
    }
    bool want = std::strcmp(argv[1], "loaded") == 0;
    loaded = offheap::loaded();
    if (loaded != want) {
        std::fprintf(stderr, "FAIL: offheap::loaded() is %d, want %d\n", loaded, want);
        return 1;
    }
    plain_and_nested();
    exceptions();
    exception_payload();
    blocks();
    if (failures) {
        std::fprintf(stderr, "guards (%s): %d failure(s)\n", argv[1], failures);
        return 1;
    }
    std::printf("guards (%s): all checks passed\n", argv[1]);
    return 0;
}
