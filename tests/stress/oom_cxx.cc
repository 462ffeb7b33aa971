// SPDX-License-Identifier: MIT
//
// oom_cxx.cc — the C++ ENOMEM paths of the preload (operator new in all its
// forms, containers, exceptions) under fault injection.
//
//   oom_cxx PRELOAD_SO     driver: one child per N = 1..100, then every
//                          tenth step further, with OFFHEAP_FAULT_FALLBACK=N
//                          (and OFFHEAP_FAULT_MMAP=N) until 25 N in a row no
//                          longer land in the first two rounds;
//   oom_cxx --child        child: the workload, four rounds.
//
// Each round, outside and inside scopes: throwing and nothrow new / new[],
// aligned new (align_val_t 64 and 4096), sized and aligned delete, a vector
// grown to 300k elements, strings, a map, a thrown and caught exception.
// Checked in the child: a failed throwing new throws std::bad_alloc (nothing
// else, no abort), a failed nothrow new returns nullptr, a container that
// failed to grow keeps its elements (strong guarantee), impossible sizes
// always throw, at most one round sees an injected failure and the later
// rounds succeed completely, and the thread holds at most its warm slab at
// the end.
#include "offheap.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "check.h"
#include "run_captured.h"

namespace
{

int failures_in_round; // injected failures seen this round
struct alignas(64) Cache {
    char b[200];
};
struct alignas(4096) Page {
    char b[5000];
};

template <typename F> void may_fail(F f)
{
    try {
        f();
    } catch (const std::bad_alloc &) {
        failures_in_round++;
    }
}

void workload()
{
    may_fail([] {
        int *a = new int[1000];
        a[999] = 1;
        delete[] a;
    });
    may_fail([] {
        auto *c = new Cache;
        CHECKF(((uintptr_t)c & 63) == 0, "aligned new 64");
        delete c;
    });
    may_fail([] {
        auto *p = new Page[2];
        CHECKF(((uintptr_t)p & 4095) == 0, "aligned new[] 4096");
        delete[] p;
    });
    {
        int *n = new (std::nothrow) int[50000];
        if (!n) failures_in_round++;
        delete[] n;
        auto *c = new (std::nothrow) Cache;
        if (!c) failures_in_round++;
        delete c;
    }
    {
        std::vector<int> v;
        may_fail([&] {
            for (int i = 0; i < 300000; i++) v.push_back(i);
        });
        bool intact = true;
        for (size_t i = 0; i < v.size(); i++) intact &= v[i] == (int)i;
        CHECKF(intact, "vector kept its elements when growing failed");
    }
    may_fail([] {
        std::string s(100000, 'x');
        s += std::string(50000, 'y');
        CHECKF(s.size() == 150000 && s[149999] == 'y', "string content");
        std::map<int, std::string> m;
        for (int i = 0; i < 2000; i++) m[i] = std::to_string(i);
        CHECKF(m[1999] == "1999", "map content");
    });
    // An exception object is allocated with malloc (emergency pool when that
    // fails): throwing must still work.
    try {
        throw std::runtime_error(std::string(300, 'e'));
    } catch (const std::runtime_error &) {
    } catch (const std::bad_alloc &) {
        failures_in_round++;
    }
    // Impossible sizes fail every time, fault or not.
    volatile size_t huge = SIZE_MAX / 2;
    bool threw = false;
    try {
        char *x = new char[huge];
        delete[] x;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECKF(threw, "new char[SIZE_MAX / 2] throws bad_alloc");
    CHECKF(new (std::nothrow) char[huge] == nullptr, "nothrow new of SIZE_MAX / 2 is nullptr");
}

void child_prefix(char *buf, size_t cap)
{
    snprintf(buf, cap, "oom_cxx child: ");
}

int child()
{
    if (!OFFHEAP_LOADED()) return 77;
    // check.h reports with one write(2) from the stack: no stdio, which
    // could allocate under the injected fault.
    check_set_prefix(child_prefix);
    int per_round[4];
    for (int r = 0; r < 4; r++) {
        failures_in_round = 0;
        workload();
        offheap_scope_begin();
        workload();
        offheap_scope_begin();
        workload();
        offheap_scope_end();
        offheap_scope_end();
        per_round[r] = failures_in_round;
    }
    int faulted = 0, first = -1;
    for (int r = 0; r < 4; r++)
        if (per_round[r]) faulted++, first = first < 0 ? r : first;
    CHECKF(faulted <= 1, "failures in more than one round (one fault injected)");
    offheap_stats st;
    offheap_stats_get(&st);
    /* The warm slab, and runs a rescue kept alive (a failed allocation can
     * leave a scope pointer behind in freed heap memory, which the rescue
     * cannot tell from a live reference). */
    CHECKF(st.slabs_in_use <= 1 + st.pinned_bytes / st.slab_size, "slabs left in use after every scope ended");
    printf("failures=%d first=%d\n", per_round[0] + per_round[1] + per_round[2] + per_round[3], first);
    return check_failures() ? 1 : 0;
}

struct Result {
    int status = 0, first = -1, failures = 0;
    std::string out, err;
};

// The child's environment: the preload, and var=n when n > 0.
struct ChildEnv {
    const char *so, *var, *num;
};

void set_child_env(void *arg)
{
    const ChildEnv *ce = static_cast<const ChildEnv *>(arg);
    setenv("LD_PRELOAD", ce->so, 1);
    if (ce->num) setenv(ce->var, ce->num, 1);
}

Result run(const char *self, const char *so, const char *var, unsigned long n)
{
    Result r;
    char num[32];
    snprintf(num, sizeof num, "%lu", n);
    const char *args[] = {self, "--child", nullptr};
    ChildEnv ce = {so, var, var && n ? num : nullptr};
    static char out[4096], err[65536];
    captured cap = {out, sizeof out, 0, err, sizeof err, 0};
    r.status = run_captured(args, set_child_env, &ce, &cap);
    r.out.assign(out, cap.out_len);
    r.err.assign(err, cap.err_len);
    sscanf(r.out.c_str(), "failures=%d first=%d", &r.failures, &r.first);
    return r;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--child")) return child();
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/liboffheap.so\n", argv[0]);
        return 2;
    }
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) return 2;
    self[sl] = '\0';
    Result clean = run(self, argv[1], nullptr, 0);
    if (clean.status == 77) return 77;
    if (clean.status != 0 || clean.failures) {
        fprintf(stderr, "oom_cxx: clean child failed (status %d):\n%s%s", clean.status, clean.out.c_str(),
                clean.err.c_str());
        return 1;
    }
    int failed = 0;
    for (const char *var : {"OFFHEAP_FAULT_FALLBACK", "OFFHEAP_FAULT_MMAP"}) {
        // Every N up to 100, then every tenth step further: a round makes
        // thousands of calls.
        unsigned long n, quiet = 0, hit = 0, tried = 0, last = 0;
        for (n = 1; n <= 200000 && quiet < 25; n += n < 100 ? 1 : n / 10) {
            tried++;
            last = n;
            Result r = run(self, argv[1], var, n);
            if (r.status != 0) {
                failed++;
                fprintf(stderr, "oom_cxx: %s=%lu: child status %d\n--- stdout\n%s--- stderr\n%s---\n", var, n, r.status,
                        r.out.c_str(), r.err.c_str());
                if (failed > 10) return 1;
            }
            bool effect = r.first >= 0 && r.first < 2;
            if (effect) hit++, quiet = 0;
            else quiet++;
        }
        printf("oom_cxx: %-22s %lu values of N in 1..%lu: %lu with a visible failure, all handled\n", var, tried, last,
               hit);
    }
    return failed ? 1 : 0;
}
