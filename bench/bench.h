/* SPDX-License-Identifier: MIT */
/*
 * bench.h — shared helpers of the benchmark programs (header only).
 *
 * Every program prints a human table and, for scripts/bench.sh and
 * bench/report.py, one machine line per figure:
 *     RESULT <program> <case> <metric> <value>
 * Timing is CLOCK_MONOTONIC; a figure is the median of `reps` repetitions.
 * Under valgrind --tool=callgrind the programs run each case once with a
 * fixed operation count and dump the counters per case (bench_cg_*), so the
 * instructions per operation can be read without timing noise.
 *
 * Nothing here asserts anything about time: benchmarks measure, tests test.
 */
#ifndef OFFHEAP_BENCH_H
#define OFFHEAP_BENCH_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(BENCH_HAVE_CALLGRIND)
#include <valgrind/callgrind.h>
#endif

#define BENCH_NOINLINE __attribute__((noinline))
#define BENCH_UNUSED __attribute__((unused))

/* Keep the compiler from proving a value or a pointer dead. */
static inline void bench_keep(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}
static inline void bench_clobber(void)
{
    __asm__ volatile("" : : : "memory");
}

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the whole process (all threads), ns: less disturbed than the
 * wall clock when other processes share the cores. */
static inline uint64_t bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts v in place). */
static BENCH_UNUSED double bench_median(double *v, int n)
{
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return (n & 1) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Peak resident set size of the process, KiB (getrusage ru_maxrss). */
static BENCH_UNUSED long bench_peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Current resident set size, KiB (/proc/self/statm, read without malloc). */
static BENCH_UNUSED long bench_rss_kib(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    ssize_t n;
    char *p;
    if (fd < 0) return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    p = strchr(buf, ' ');
    if (!p) return -1;
    return strtol(p + 1, NULL, 10) * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Which allocator this process runs under: BENCH_ALLOC (set by the script),
 * else a guess from LD_PRELOAD, else "glibc". */
static BENCH_UNUSED const char *bench_alloc_name(void)
{
    const char *n = getenv("BENCH_ALLOC");
    const char *p = getenv("LD_PRELOAD");
    if (n && *n) return n;
    if (!p || !*p) return "glibc";
    if (strstr(p, "offheap")) return "liboffheap";
    if (strstr(p, "jemalloc")) return "jemalloc";
    if (strstr(p, "mimalloc")) return "mimalloc";
    if (strstr(p, "tcmalloc")) return "tcmalloc";
    return "other";
}

/* Deterministic generator (splitmix64): the same sizes under every
 * allocator. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* True when the program runs under valgrind (callgrind mode). */
static BENCH_UNUSED int bench_under_valgrind(void)
{
#if defined(BENCH_HAVE_CALLGRIND)
    return RUNNING_ON_VALGRIND != 0;
#else
    return 0;
#endif
}

/* Start counting a case / dump its counters under the name "<case> ops=<n>". */
static inline void bench_cg_begin(void)
{
#if defined(BENCH_HAVE_CALLGRIND)
    CALLGRIND_ZERO_STATS;
#endif
}

static inline void bench_cg_end(const char *program, const char *name, long ops)
{
#if defined(BENCH_HAVE_CALLGRIND)
    char desc[160];
    snprintf(desc, sizeof desc, "%s %s ops=%ld", program, name, ops);
    CALLGRIND_DUMP_STATS_AT(desc);
#else
    (void)program;
    (void)name;
    (void)ops;
#endif
}

/* Under liboffheap: print what its counters say happened per request, so a
 * table can be checked against what really went through scopes.  Uses the
 * weak symbols of offheap.h (BENCH_OFFHEAP_COUNTERS enables it). */
#if defined(BENCH_OFFHEAP_COUNTERS) && defined(__GNUC__)
#include "offheap.h"

static BENCH_UNUSED void bench_offheap_counters(const char *program, const char *name, long requests)
{
    offheap_stats st;
    if (!offheap_stats_get || offheap_stats_get(&st) != 0 || requests <= 0) return;
    double r = (double)requests;
    printf("  liboffheap counters per request: scope_blocks %.1f, scope_bytes %.0f, routed_by_caller"
           " %.2f, fallback_allocs %.2f, frees_ignored %.1f, exhausted %llu, misuse %llu,"
           " pool_peak %llu KiB\n",
           (double)st.scope_blocks / r, (double)st.scope_bytes / r, (double)st.routed_by_caller / r,
           (double)st.fallback_allocs / r, (double)st.frees_ignored / r, (unsigned long long)st.exhausted,
           (unsigned long long)st.misuse, (unsigned long long)(st.pool_peak / 1024));
    printf("RESULT %s %s scope_blocks_per_req %.3f\n", program, name, (double)st.scope_blocks / r);
    printf("RESULT %s %s routed_per_req %.3f\n", program, name, (double)st.routed_by_caller / r);
}
#endif

static BENCH_UNUSED void bench_result(const char *program, const char *name, const char *metric, double value)
{
    printf("RESULT %s %s %s %.3f\n", program, name, metric, value);
}

/* Common command line: --quick (few reps, small counts), --reps N. */
typedef struct bench_opts {
    int quick;
    int reps;
} bench_opts;

static BENCH_UNUSED void bench_parse_common(int argc, char **argv, bench_opts *o, int full_reps)
{
    o->quick = 0;
    o->reps = full_reps;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            o->quick = 1;
            o->reps = 3;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            o->reps = atoi(argv[++i]);
        }
    }
    if (o->reps < 1) o->reps = 1;
}

#endif /* OFFHEAP_BENCH_H */
