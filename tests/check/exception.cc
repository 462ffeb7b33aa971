// SPDX-License-Identifier: MIT
//
// exception.cc — a C++ exception thrown out of a scope with members built
// inside it (check mode reports it at the scope's end), and the safe forms
// that must not be reported.  Run under LD_PRELOAD=liboffheap.so and
// OFFHEAP_CHECK=1, judged by expect.sh.
//
//   exception member    request_error { std::string; std::vector<int>; }
//                       thrown out of the scope, caught outside: reported
//   exception runtime   std::runtime_error(text): its message is
//                       libstdc++'s, not the scope's: not reported
//   exception escape    the members built under an offheap::escape
//   exception inside    caught and handled inside the scope
//   exception nested    a nested scope: the inner end reports the
//                       exception thrown through it
#include <offheap.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

struct request_error {
    std::string detail;
    std::vector<int> codes;
};

static std::string long_text(const char *what)
{
    return std::string(what) + std::string(200, '.'); // past the small-string buffer
}

__attribute__((noinline)) void handle_member()
{
    offheap::scope s;
    std::string d = long_text("bad request");
    throw request_error{d, {400, 401, 402}};
}

__attribute__((noinline)) void handle_runtime()
{
    offheap::scope s;
    throw std::runtime_error(long_text("bad request"));
}

__attribute__((noinline)) void handle_escape()
{
    offheap::scope s;
    std::string d = long_text("bad request");
    offheap::escape e; // the exception's members must outlive the scope
    throw request_error{d, {400}};
}

__attribute__((noinline)) int handle_inside()
{
    offheap::scope s;
    try {
        throw request_error{long_text("inside"), {1, 2}};
    } catch (const request_error &e) {
        return static_cast<int>(e.codes.size());
    }
}

__attribute__((noinline)) void handle_nested()
{
    offheap::scope outer;
    {
        offheap::scope inner;
        throw request_error{long_text("nested"), {7}};
    }
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "member";
    if (!offheap::loaded()) {
        std::fprintf(stderr, "FAIL: liboffheap.so is not preloaded\n");
        return 1;
    }
    // The first scope end of the process protects its memory: a warm-up
    // scope, so that the case below is judged on what it reports alone.
    {
        offheap::scope warm;
        std::string w = long_text("warm");
    }
    if (!std::strcmp(what, "member")) {
        try {
            handle_member();
        } catch (const request_error &e) {
            // e.detail's text is released memory here: not read.
            std::printf("caught request_error\n");
        }
    } else if (!std::strcmp(what, "runtime")) {
        try {
            handle_runtime();
        } catch (const std::runtime_error &e) {
            std::printf("caught runtime_error %zu\n", std::strlen(e.what()));
        }
    } else if (!std::strcmp(what, "escape")) {
        try {
            handle_escape();
        } catch (const request_error &e) {
            std::printf("caught request_error %zu %d\n", e.detail.size(), e.codes[0]);
        }
    } else if (!std::strcmp(what, "inside")) {
        std::printf("inside %d\n", handle_inside());
    } else if (!std::strcmp(what, "nested")) {
        try {
            handle_nested();
        } catch (const request_error &) {
            std::printf("caught request_error\n");
        }
    } else {
        std::fprintf(stderr, "usage: exception member|runtime|escape|inside|nested\n");
        return 2;
    }
    return 0;
}
