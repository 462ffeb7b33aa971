// SPDX-License-Identifier: MIT
//
// cxx_check.h — the checks and main() of the C++ programs under the preload
// (tests/preload/cxx.cc and cxx_safety.cc, the C++ side of
// tests/preload/ph.h): CHECK(c) counts a false c and says
// "FAIL file:line: c" on stderr; check_main() runs the mode argv[1] names
// and turns the count into the exit status.
#ifndef CXX_CHECK_H
#define CXX_CHECK_H

#include "offheap.h"

#include <cstdio>
#include <cstring>
#include <initializer_list>

static int failures;
#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                                          \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

struct check_mode {
    const char *name;
    int (*run)();
};

// PROG MODE: 1 when the preload is missing or a check failed, 2 without
// one of the modes, else 0 and "PROG MODE: all checks passed".
static int check_main(const char *prog, int argc, char **argv, std::initializer_list<check_mode> modes)
{
    if (!OFFHEAP_LOADED()) {
        std::fprintf(stderr, "FAIL: liboffheap.so is not preloaded\n");
        return 1;
    }
    if (argc != 2) return 2;
    const check_mode *mode = nullptr;
    for (const check_mode &m : modes)
        if (!std::strcmp(argv[1], m.name)) mode = &m;
    if (!mode) return 2;
    mode->run();
    if (failures) {
        std::fprintf(stderr, "%s %s: %d check(s) failed\n", prog, argv[1], failures);
        return 1;
    }
    std::printf("%s %s: all checks passed\n", prog, argv[1]);
    return 0;
}

#endif
