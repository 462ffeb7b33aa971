// SPDX-License-Identifier: MIT
//
// cxx_safety.cc MODE — C++ runtime state first used inside a scope must
// survive it ("Scope safety": "C++ runtime state"), checked after
// 300 scopes that overwrite released memory.
//   runtime  iostream formatting of numbers (facet caches), std::regex,
//            exceptions, std::ostringstream, std::call_once
//   locale   std::locale::global(std::locale("C.UTF-8")) and cout.imbue —
//            the C++ counterpart of setlocale
//   thread   std::thread started (under an escape, as README documents)
//            inside a scope that ends before the thread runs
//   exception  std::runtime_error / system_error / vector::at's
//            out_of_range thrown inside a scope (RAII guard) and caught
//            outside: what() must still be the message
// A failure is a message and exit 1, or a crash.
#include "cxx_check.h"
#include "offheap.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <locale>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

static void churn()
{
    for (int i = 0; i < 300; i++) {
        offheap_scope_begin();
        for (int j = 0; j < 40; j++) std::memset(std::malloc(64 + (size_t)(j * 97)), 0xa5, 64 + (size_t)(j * 97));
        offheap_scope_end();
    }
}

static std::string fmt(double d, int i)
{
    std::ostringstream os;
    os << d << ' ' << i << ' ' << std::boolalpha << true;
    return os.str();
}

static std::once_flag once;
static int once_value;

static int runtime()
{
    std::regex re("([a-z]+)=([0-9]+)");
    offheap_scope_begin();
    std::cout << "in scope: " << 3.25 << ' ' << 12345 << std::endl;
    CHECK(fmt(2.5, 7) == "2.5 7 true");
    const std::string s = "key=42";
    {
        std::smatch m; // its storage is a scope block: it dies with the scope
        CHECK(std::regex_search(s, m, re) && m[2] == "42");
    }
    try {
        throw std::runtime_error("first exception");
    } catch (const std::exception &e) {
        CHECK(std::string(e.what()) == "first exception");
    }
    std::call_once(once, [] { once_value = 7; });
    offheap_scope_end();
    churn();
    std::cout << "after: " << 6.5 << ' ' << 777 << std::endl;
    CHECK(fmt(1.5, 9) == "1.5 9 true");
    std::smatch m2;
    CHECK(std::regex_search(s, m2, re) && m2[1] == "key");
    try {
        throw std::logic_error("again");
    } catch (const std::exception &e) {
        CHECK(std::string(e.what()) == "again");
    }
    CHECK(once_value == 7);
    return 0;
}

static int locale()
{
    offheap_scope_begin();
    std::locale::global(std::locale("C.UTF-8"));
    std::cout.imbue(std::locale());
    std::cout << "in scope: " << 3.25 << std::endl;
    offheap_scope_end();
    churn();
    CHECK(std::locale().name() == "C.UTF-8");
    std::cout << "after: " << 6.5 << ' ' << std::locale().name() << std::endl;
    CHECK(fmt(1.5, 9) == "1.5 9 true");
    return 0;
}

// An exception thrown inside a scope and caught outside it: with an RAII
// guard the scope ends during unwinding, before the handler runs.  The
// exception object is the runtime's, and so must be its message.
struct ScopeGuard {
    ScopeGuard()
    {
        offheap_scope_begin();
    }
    ~ScopeGuard()
    {
        offheap_scope_end();
    }
};

[[noreturn]] static void fail_request(int kind, int id)
{
    ScopeGuard g;
    std::string msg = "request " + std::to_string(id) + " failed: " + std::string(60, 'x');
    if (kind == 0) throw std::runtime_error(msg);
    if (kind == 1) throw std::system_error(std::make_error_code(std::errc::invalid_argument), msg);
    std::vector<int> v(3);
    (void)v.at((std::size_t)id + 10); // libstdc++ builds the out_of_range message
    std::abort();
}

static int exception_escapes()
{
    for (int kind = 0; kind < 3; kind++) {
        int bad = 0;
        for (int i = 0; i < 20; i++) {
            try {
                fail_request(kind, i);
            } catch (const std::exception &e) {
                {
                    ScopeGuard g2; // overwrite what the first scope released
                    for (int j = 0; j < 20; j++) std::memset(std::malloc(300), 0xa5, 300);
                }
                std::string want = kind == 2 ? "vector::_M_range_check" : "request " + std::to_string(i) + " failed: ";
                if (std::strncmp(e.what(), want.c_str(), want.size()) != 0) {
                    if (!bad++) // one failure per kind, its first mismatch
                        FAIL("%s caught outside its scope: what() = '%.30s', want '%s...'",
                             kind == 0   ? "runtime_error"
                             : kind == 1 ? "system_error"
                                         : "vector::at's out_of_range",
                             e.what(), want.c_str());
                }
            }
        }
    }
    return 0;
}

static std::atomic<int> ran;

// A std::thread's state object is allocated by template code compiled into
// the program and used by the new thread for its whole life: a thread that
// outlives the scope it was created in must be created under an escape
// (README, "Not protected automatically").  That documented way must work.
static int thread()
{
    std::vector<std::thread> ts;
    ts.reserve(16);
    for (int i = 0; i < 16; i++) {
        offheap_scope_begin();
        offheap_escape_begin();
        ts.emplace_back([i] {
            if (i < 0 || i >= 16) std::abort();
            ran++;
        });
        offheap_escape_end();
        offheap_scope_end();
        offheap_scope_begin();
        for (int j = 0; j < 20; j++) std::memset(std::malloc(200), 0xa5, 200);
        offheap_scope_end();
    }
    for (auto &t : ts) t.join();
    CHECK(ran == 16);
    return 0;
}

int main(int argc, char **argv)
{
    return check_main("cxx_safety", argc, argv,
                      {{"runtime", runtime}, {"locale", locale}, {"thread", thread}, {"exception", exception_escapes}});
}
