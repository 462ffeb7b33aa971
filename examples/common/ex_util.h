/* SPDX-License-Identifier: MIT */
/*
 * ex_util.h — small helpers shared by the examples: a monotonic clock, a
 * median, a deterministic PRNG and the resident set size.  Header-only so
 * each example stays one main.c plus this file.
 */
#ifndef EX_UTIL_H
#define EX_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Nanoseconds on the monotonic clock. */
static inline uint64_t ex_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int ex_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v in place); 0 for n == 0. */
static inline double ex_median(double *v, size_t n)
{
    if (n == 0) return 0.0;
    qsort(v, n, sizeof *v, ex_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* splitmix64: deterministic, seedable, good enough for test data. */
static inline uint64_t ex_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static inline double ex_rand_unit(uint64_t *state)
{
    return (double)(ex_rand(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Resident set size of this process in bytes (0 if unreadable). */
static inline size_t ex_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Count failed checks instead of aborting so one run reports all of them. */
static int ex_failures;
static int ex_checks;
#define EX_CHECK(cond)                                                                                                 \
    do {                                                                                                               \
        ex_checks++;                                                                                                   \
        if (!(cond)) {                                                                                                 \
            ex_failures++;                                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#endif
