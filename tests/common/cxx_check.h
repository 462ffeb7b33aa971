// SPDX-License-Identifier: MIT
//
// cxx_check.h — the checks and main() of the C++ programs under the preload
// (tests/preload/cxx.cc and cxx_safety.cc): the checks of check.h, and
// check_main(), which runs the mode argv[1] names and turns the count of
// failed checks into the exit status.
#ifndef CXX_CHECK_H
#define CXX_CHECK_H

#include "check.h"
#include "offheap.h"

#include <cstdio>
#include <cstring>
#include <initializer_list>

struct check_mode {
    const char *name;
    int (*run)();
};

// PROG MODE: 1 when the preload is missing or a check failed, 2 without
// one of the modes, else 0 and "PROG MODE: all checks passed".
static int check_main(const char *prog, int argc, char **argv, std::initializer_list<check_mode> modes)
{
    if (!OFFHEAP_LOADED()) {
        FAIL("liboffheap.so is not preloaded");
        return 1;
    }
    if (argc != 2) return 2;
    const check_mode *mode = nullptr;
    for (const check_mode &m : modes)
        if (!std::strcmp(argv[1], m.name)) mode = &m;
    if (!mode) return 2;
    mode->run();
    char name[128];
    std::snprintf(name, sizeof name, "%s %s", prog, argv[1]);
    return check_done(name);
}

#endif
