/* SPDX-License-Identifier: MIT */
/*
 * test_arena.c — offheap_arena_*: errors, alignment, exhaustion to the byte,
 * reset, and that destroy gives the mapping back.
 */
#include <criterion/criterion.h>

#include "core/fault.h"
#include "core/os.h"
#include "offheap_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static offheap_arena *make(size_t size)
{
    offheap_arena *a = NULL;
    int r = offheap_arena_create(&a, size);
    cr_assert_eq(r, 0, "offheap_arena_create(%zu) = %d", size, r);
    cr_assert_not_null(a);
    return a;
}

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* ---- create --------------------------------------------------------------- */

Test(arena_create, rejects_null_out)
{
    cr_expect_eq(offheap_arena_create(NULL, 4096), EINVAL);
}

Test(arena_create, rejects_zero_size)
{
    offheap_arena *a = NULL;
    size_t before = oh_os_mapped_bytes();
    cr_expect_eq(offheap_arena_create(&a, 0), EINVAL);
    cr_expect_eq(oh_os_mapped_bytes(), before, "a refused create must map nothing");
}

Test(arena_create, enomem_when_size_cannot_be_mapped)
{
    offheap_arena *a = NULL;
    cr_expect_eq(offheap_arena_create(&a, SIZE_MAX), ENOMEM);
    cr_expect_eq(offheap_arena_create(&a, SIZE_MAX - 4096), ENOMEM);
    cr_expect_eq(offheap_arena_create(&a, SIZE_MAX / 2), ENOMEM);
}

Test(arena_create, enomem_when_mmap_fails)
{
    size_t before = oh_os_mapped_bytes();
    oh_fault_arm(OH_FAULT_MMAP, 1, false);
    offheap_arena *a = NULL;
    int r = offheap_arena_create(&a, 64 * KiB);
    oh_fault_arm(OH_FAULT_MMAP, 0, false);
    cr_expect_eq(r, ENOMEM);
    cr_expect_eq(oh_os_mapped_bytes(), before);
    /* The next attempt, unarmed, works. */
    a = make(64 * KiB);
    offheap_arena_destroy(a);
}

Test(arena_create, gives_at_least_the_size_asked)
{
    const size_t sizes[] = {1, 15, 16, 17, 4095, 4096, 4097, 65536, 3 * MiB + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        offheap_arena *a = make(sizes[i]);
        size_t rem = offheap_arena_remaining(a);
        cr_expect_geq(rem, sizes[i], "size %zu: remaining %zu", sizes[i], rem);
        cr_expect_eq(rem % OFFHEAP_ALIGNMENT, 0, "remaining %zu not a multiple of 16", rem);
        /* The whole promised size is one allocation away. */
        char *p = offheap_arena_alloc(a, sizes[i]);
        cr_assert_not_null(p, "size %zu", sizes[i]);
        memset(p, 0x5a, sizes[i]);
        offheap_arena_destroy(a);
    }
}

Test(arena_create, destroy_unmaps_everything)
{
    size_t before = oh_os_mapped_bytes();
    offheap_arena *a = make(1 * MiB);
    cr_expect_gt(oh_os_mapped_bytes(), before);
    cr_assert_not_null(offheap_arena_alloc(a, 1000));
    offheap_arena_destroy(a);
    cr_expect_eq(oh_os_mapped_bytes(), before);
}

/* ---- alloc ---------------------------------------------------------------- */

Test(arena_alloc, einval_for_null_arena_or_zero_size)
{
    offheap_arena *a = make(4096);
    size_t rem = offheap_arena_remaining(a);
    errno = 0;
    cr_expect_null(offheap_arena_alloc(NULL, 16));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(offheap_arena_alloc(a, 0));
    cr_expect_eq(errno, EINVAL);
    cr_expect_eq(offheap_arena_remaining(a), rem, "a failed call must not consume space");
    offheap_arena_destroy(a);
}

Test(arena_alloc, blocks_are_aligned_distinct_and_writable)
{
    offheap_arena *a = make(256 * KiB);
    char *prev = NULL;
    size_t prev_size = 0;
    for (size_t n = 1; n <= 300; n++) {
        char *p = offheap_arena_alloc(a, n);
        cr_assert_not_null(p, "alloc %zu", n);
        cr_expect_eq((uintptr_t)p % OFFHEAP_ALIGNMENT, 0, "%p not 16-aligned", (void *)p);
        if (prev) cr_expect_geq(p, prev + prev_size, "blocks overlap");
        memset(p, (int)(n & 0xff), n);
        prev = p;
        prev_size = n;
    }
    offheap_arena_destroy(a);
}

Test(arena_alloc, consumes_the_size_rounded_to_16)
{
    offheap_arena *a = make(64 * KiB);
    const size_t sizes[] = {1, 8, 15, 16, 17, 31, 32, 33, 100, 4096, 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t before = offheap_arena_remaining(a);
        cr_assert_not_null(offheap_arena_alloc(a, sizes[i]));
        cr_expect_eq(before - offheap_arena_remaining(a), round16(sizes[i]), "size %zu", sizes[i]);
    }
    offheap_arena_destroy(a);
}

Test(arena_alloc, exhaustion_to_the_byte)
{
    offheap_arena *a = make(64 * KiB);
    size_t rem = offheap_arena_remaining(a);
    errno = 0;
    cr_expect_null(offheap_arena_alloc(a, rem + 1));
    cr_expect_eq(errno, ENOMEM);
    cr_expect_eq(offheap_arena_remaining(a), rem, "a failed call must not consume space");

    char *p = offheap_arena_alloc(a, rem);
    cr_assert_not_null(p, "exactly the remaining %zu bytes must fit", rem);
    p[0] = 1;
    p[rem - 1] = 1;
    cr_expect_eq(offheap_arena_remaining(a), 0);
    errno = 0;
    cr_expect_null(offheap_arena_alloc(a, 1));
    cr_expect_eq(errno, ENOMEM);
    errno = 0;
    cr_expect_null(offheap_arena_alloc_aligned(a, 1, 64));
    cr_expect_eq(errno, ENOMEM);
    offheap_arena_destroy(a);
}

Test(arena_alloc, exhaustion_in_small_blocks)
{
    offheap_arena *a = make(16 * KiB);
    size_t rem = offheap_arena_remaining(a);
    size_t count = 0;
    while (offheap_arena_alloc(a, 1) != NULL) count++;
    cr_expect_eq(errno, ENOMEM);
    cr_expect_eq(count, rem / 16, "%zu one-byte blocks from %zu bytes", count, rem);
    offheap_arena_destroy(a);
}

Test(arena_alloc, last_block_rounding_fits)
{
    /* A block whose rounded size is exactly the remaining space fits. */
    offheap_arena *a = make(4 * KiB);
    size_t rem = offheap_arena_remaining(a);
    cr_assert_not_null(offheap_arena_alloc(a, rem - 15));
    cr_expect_eq(offheap_arena_remaining(a), 0);
    offheap_arena_destroy(a);
}

Test(arena_alloc, huge_sizes_fail_without_wrapping)
{
    offheap_arena *a = make(4 * KiB);
    cr_assert_not_null(offheap_arena_alloc(a, 32));
    size_t rem = offheap_arena_remaining(a);
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX / 2 + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        cr_expect_null(offheap_arena_alloc(a, sizes[i]), "size %zx", sizes[i]);
        cr_expect_eq(errno, ENOMEM);
        errno = 0;
        cr_expect_null(offheap_arena_alloc_aligned(a, sizes[i], 4096), "size %zx", sizes[i]);
        cr_expect_eq(errno, ENOMEM);
        cr_expect_eq(offheap_arena_remaining(a), rem);
    }
    offheap_arena_destroy(a);
}

/* ---- aligned -------------------------------------------------------------- */

Test(arena_aligned, every_power_of_two_up_to_1mib)
{
    offheap_arena *a = make(8 * MiB);
    for (size_t align = 1; align <= MiB; align <<= 1) {
        cr_assert_not_null(offheap_arena_alloc(a, 16)); /* knock the cursor off alignment */
        char *p = offheap_arena_alloc_aligned(a, 24, align);
        cr_assert_not_null(p, "align %zu", align);
        cr_expect_eq((uintptr_t)p % align, 0, "align %zu: %p", align, (void *)p);
        cr_expect_eq((uintptr_t)p % OFFHEAP_ALIGNMENT, 0);
        memset(p, 0x11, 24);
        /* The next plain block still comes 16-aligned and after this one. */
        char *q = offheap_arena_alloc(a, 1);
        cr_assert_not_null(q);
        cr_expect_eq((uintptr_t)q % OFFHEAP_ALIGNMENT, 0);
        cr_expect_geq(q, p + 24);
    }
    offheap_arena_destroy(a);
}

Test(arena_aligned, rejects_non_powers_of_two)
{
    offheap_arena *a = make(4 * KiB);
    const size_t bad[] = {0, 3, 5, 6, 12, 24, 48, 100, 4095, 4097, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        cr_expect_null(offheap_arena_alloc_aligned(a, 16, bad[i]), "align %zu", bad[i]);
        cr_expect_eq(errno, EINVAL, "align %zu", bad[i]);
    }
    errno = 0;
    cr_expect_null(offheap_arena_alloc_aligned(NULL, 16, 64));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(offheap_arena_alloc_aligned(a, 0, 64));
    cr_expect_eq(errno, EINVAL);
    offheap_arena_destroy(a);
}

Test(arena_aligned, padding_counts_against_the_space)
{
    offheap_arena *a = make(64 * KiB);
    size_t rem = offheap_arena_remaining(a);
    /* An alignment the arena cannot reach is ENOMEM, not a wild pointer. */
    errno = 0;
    cr_expect_null(offheap_arena_alloc_aligned(a, 16, (size_t)1 << 40));
    cr_expect_eq(errno, ENOMEM);
    cr_expect_eq(offheap_arena_remaining(a), rem);
    errno = 0;
    cr_expect_null(offheap_arena_alloc_aligned(a, 16, (size_t)1 << 63));
    cr_expect_eq(errno, ENOMEM);

    /* Fill to the end through an aligned block: padding + rounded size must
     * equal what remaining() reported. */
    cr_assert_not_null(offheap_arena_alloc(a, 16));
    rem = offheap_arena_remaining(a);
    char *p = offheap_arena_alloc_aligned(a, 16, 4096);
    cr_assert_not_null(p);
    size_t used = rem - offheap_arena_remaining(a);
    cr_expect_geq(used, 16);
    cr_expect_leq(used, 4096, "padding (under 4096 - 16) plus the 16-byte block");
    rem = offheap_arena_remaining(a);
    cr_assert_not_null(offheap_arena_alloc_aligned(a, rem, 16));
    cr_expect_eq(offheap_arena_remaining(a), 0);
    offheap_arena_destroy(a);
}

/* ---- remaining, reset, destroy -------------------------------------------- */

Test(arena_misc, remaining_of_null_is_zero)
{
    cr_expect_eq(offheap_arena_remaining(NULL), 0);
}

Test(arena_misc, reset_frees_everything_and_reuses_addresses)
{
    size_t before = oh_os_mapped_bytes();
    offheap_arena *a = make(64 * KiB);
    size_t mapped = oh_os_mapped_bytes();
    size_t full = offheap_arena_remaining(a);
    char *first = offheap_arena_alloc(a, 100);
    cr_assert_not_null(first);
    while (offheap_arena_alloc(a, 1000) != NULL) {
    }
    cr_expect_lt(offheap_arena_remaining(a), 1000);

    offheap_arena_reset(a);
    cr_expect_eq(offheap_arena_remaining(a), full);
    cr_expect_eq(oh_os_mapped_bytes(), mapped, "reset keeps the mapping");
    char *again = offheap_arena_alloc(a, 100);
    cr_expect_eq(again, first, "the first block after reset is the first block before");
    memset(again, 0x33, full > 4096 ? 4096 : full); /* still mapped and writable */
    offheap_arena_destroy(a);
    cr_expect_eq(oh_os_mapped_bytes(), before);
}

Test(arena_misc, reset_destroy_and_failures_keep_errno)
{
    offheap_arena *a = make(4 * KiB);
    cr_assert_not_null(offheap_arena_alloc(a, 64));
    errno = 4242;
    offheap_arena_reset(a);
    cr_expect_eq(errno, 4242);
    offheap_arena_reset(NULL);
    cr_expect_eq(errno, 4242);
    offheap_arena_destroy(NULL);
    cr_expect_eq(errno, 4242);
    (void)offheap_arena_remaining(a);
    cr_expect_eq(errno, 4242);
    offheap_arena_destroy(a);
    cr_expect_eq(errno, 4242);
}

/* Misuse that would corrupt memory is a diagnostic and an abort, not a
 * silent write through a stranger's pointer.  The call runs in a forked
 * child whose stderr we read.  Under valgrind the abort's leak report
 * (Criterion's blocks) becomes --error-exitcode through
 * --exit-on-first-error, so there the child only has to not carry on. */
static _Alignas(64) unsigned char fake[128];

static void reset_fake(void)
{
    offheap_arena_reset((offheap_arena *)(void *)fake);
}

static void destroy_fake(void)
{
    offheap_arena_destroy((offheap_arena *)(void *)fake);
}

static void expect_fatal(void (*fn)(void), const char *needle)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        fn();
        _exit(0); /* carried on: the test fails */
    }
    close(fds[1]);
    char buf[2048];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (RUNNING_ON_VALGRIND) cr_expect_not(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the misuse was ignored");
    else cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no abort (status %#x)", status);
    cr_expect_not_null(strstr(buf, needle), "diagnostic missing; stderr was: %s", buf);
}

Test(arena_misc, reset_of_a_non_arena_aborts)
{
    expect_fatal(reset_fake, "offheap_arena_reset");
}

Test(arena_misc, destroy_of_a_non_arena_aborts)
{
    expect_fatal(destroy_fake, "offheap_arena_destroy");
}
