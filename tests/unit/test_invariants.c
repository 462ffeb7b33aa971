/* SPDX-License-Identifier: MIT */
/*
 * test_invariants.c on|off — the assertion build really checks the stated
 * invariants (src/core/invariant.h, OH_ASSERT): meson passes "on" when the
 * build was configured with -Dassertions=true, "off" otherwise, and the
 * program first checks that OH_ASSERTIONS agrees (the option must reach the
 * compiler).
 *
 * slabs.h states "meta[i].run = k > 0 for the first slab of an owned run";
 * oh_slabs_release() of a slab that heads no owned run breaks it.  In a
 * forked child, for a free slab and for the second slab of an owned run:
 *   on:   the child dies by SIGABRT with "assertion failed" on stderr;
 *   off:  the call is ignored (slabs.c: "ignore rather than corrupt"): the
 *         child says nothing, the supply is unchanged (slabs in use, the
 *         free map, the run) and releasing the run itself then works.
 * A plain program linked with the core (offheap_core_dep), not Criterion:
 * it forks on purpose and reads the child's stderr.
 */
#include "check.h"
#include "core/slabs.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLAB ((size_t)64 << 10)
#define SLABS 16

#ifdef OH_ASSERTIONS
static const bool compiled_in = true;
#else
static const bool compiled_in = false;
#endif

static bool is_free(const struct oh_slabs *s, uint32_t i)
{
    return (s->free_map[i / 64] >> (i % 64)) & 1;
}

/* The child: the bad release, then (when it returned) the supply is as it
 * was and the owned run still releases.  Exit 0, or 1 after a report. */
static void child(struct oh_slabs *s, uint32_t run, uint32_t bad)
{
    struct rlimit no_core = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &no_core);
    uint32_t in_use = atomic_load(&s->in_use);
    uint64_t free_map = s->free_map[0];
    oh_slabs_release(s, bad);
    /* Reached only when the assertion is not compiled in. */
    CHECKF(atomic_load(&s->in_use) == in_use, "slabs in use %u -> %u", in_use, atomic_load(&s->in_use));
    CHECKF(s->free_map[0] == free_map, "free map %#llx -> %#llx", (unsigned long long)free_map,
           (unsigned long long)s->free_map[0]);
    CHECK(s->meta[run].run == 2 && !is_free(s, run) && !is_free(s, run + 1));
    oh_slabs_release(s, run);
    CHECK(atomic_load(&s->in_use) == in_use - 2 && is_free(s, run) && is_free(s, run + 1));
    _exit(check_failures() ? 1 : 0);
}

/* Releases slab `bad` in a child; checks how the child ended. */
static void bad_release(struct oh_slabs *s, uint32_t run, uint32_t bad, const char *what)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        child(s, run, bad);
    }
    close(fds[1]);
    char err[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof err - 1 && (n = read(fds[0], err + len, sizeof err - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        len += (size_t)n;
    }
    err[len] = '\0';
    close(fds[0]);
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    if (compiled_in) {
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s: the child was not aborted (status %#x); stderr: %s",
               what, st, err);
        CHECKF(strstr(err, "assertion failed") != NULL, "%s: no \"assertion failed\" on stderr: %s", what, err);
    } else {
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the child ended with status %#x; stderr: %s", what, st, err);
        CHECKF(len == 0, "%s: the ignored release said: %s", what, err);
    }
    printf("test_invariants: %s: %s\n", what,
           WIFSIGNALED(st) ? (WTERMSIG(st) == SIGABRT ? "aborted by OH_ASSERT" : "killed")
                           : (WEXITSTATUS(st) == 0 ? "ignored" : "failed"));
}

int main(int argc, char **argv)
{
    REQUIREF(argc == 2 && (!strcmp(argv[1], "on") || !strcmp(argv[1], "off")), "usage: %s on|off",
             argc > 0 ? argv[0] : "test_invariants");
    bool want = !strcmp(argv[1], "on");
    REQUIREF(compiled_in == want, "meson option assertions=%s, but OH_ASSERTIONS is %s", want ? "true" : "false",
             compiled_in ? "defined" : "not defined");

    struct oh_slabs s;
    REQUIRE(oh_slabs_init(&s, SLABS * SLAB, SLAB, false, SLABS) == 0);
    uint32_t run = oh_slabs_acquire(&s, 2, NULL);
    REQUIRE(run != OH_SLAB_NONE && run + 2 < SLABS);
    uint32_t free_slab = run + 2;
    REQUIRE(is_free(&s, free_slab) && !is_free(&s, run) && !is_free(&s, run + 1));

    bad_release(&s, run, free_slab, "release of a free slab");
    bad_release(&s, run, run + 1, "release of the second slab of a run");

    /* The parent's supply was never touched by the children. */
    oh_slabs_release(&s, run);
    CHECK(atomic_load(&s.in_use) == 0);
    oh_slabs_fini(&s);
    return check_done(want ? "test_invariants (assertions on)" : "test_invariants (assertions off)");
}
