/* SPDX-License-Identifier: MIT */
/*
 * test_pressure.c — offheap_pressure_*: sampling, argument errors, the 16
 * slots, edge triggering, the monitor thread, and the promises of
 * unregister (waits for a running callback; EDEADLK from inside one).
 *
 * Tests that drive callbacks through offheap_pressure_check() register with
 * an interval of an hour so the monitor thread never takes a turn.  Waits on
 * the monitor are bounded (WAIT_MS) so a broken monitor fails instead of
 * hanging; nothing asserts how long anything took.
 */
#include <criterion/criterion.h>

#include "offheap_pool.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define HOUR_MS 3600000u
#define WAIT_MS 20000

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Poll until *flag becomes non-zero or WAIT_MS passes; returns the value. */
static int wait_for(atomic_int *flag)
{
    for (int waited = 0; waited < WAIT_MS; waited++) {
        int v = atomic_load(flag);
        if (v) return v;
        sleep_ms(1);
    }
    return atomic_load(flag);
}

struct record {
    atomic_int calls;
    offheap_pressure_event last;
    pthread_t thread;
};

static void record_fn(const offheap_pressure_event *ev, void *user)
{
    struct record *r = user;
    r->last = *ev;
    r->thread = pthread_self();
    atomic_fetch_add(&r->calls, 1);
}

static void nop_fn(const offheap_pressure_event *ev, void *user)
{
    (void)ev;
    (void)user;
}

/* ---- sample --------------------------------------------------------------- */

Test(pressure_sample, rss_is_positive)
{
    size_t rss = offheap_pressure_sample(OFFHEAP_PRESSURE_RSS);
    cr_expect_gt(rss, 0);
    cr_expect_eq(rss % 4096, 0, "RSS is whole pages");
}

Test(pressure_sample, rss_follows_touched_memory)
{
    size_t before = offheap_pressure_sample(OFFHEAP_PRESSURE_RSS);
    offheap_arena *a = NULL;
    cr_assert_eq(offheap_arena_create(&a, 64 * MiB), 0);
    char *p = offheap_arena_alloc(a, 64 * MiB);
    cr_assert_not_null(p);
    for (size_t i = 0; i < 64 * MiB; i += 4096) p[i] = 1;
    size_t after = offheap_pressure_sample(OFFHEAP_PRESSURE_RSS);
    cr_expect_geq(after, before + 32 * MiB, "before %zu after %zu", before, after);
    offheap_arena_destroy(a);
}

Test(pressure_sample, heap_follows_jemalloc)
{
    size_t before = offheap_pressure_sample(OFFHEAP_PRESSURE_HEAP);
    cr_expect_gt(before, 0);
    void *p = mallocx(32 * MiB, 0);
    cr_assert_not_null(p);
    size_t during = offheap_pressure_sample(OFFHEAP_PRESSURE_HEAP);
    cr_expect_geq(during, before + 32 * MiB, "before %zu during %zu", before, during);
    dallocx(p, 0);
    size_t after = offheap_pressure_sample(OFFHEAP_PRESSURE_HEAP);
    cr_expect_lt(after, during - 16 * MiB, "during %zu after %zu", during, after);
}

Test(pressure_sample, unknown_source)
{
    errno = 0;
    cr_expect_eq(offheap_pressure_sample(0), 0);
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_eq(offheap_pressure_sample(3), 0);
    cr_expect_eq(errno, EINVAL);
}

/* ---- register / unregister ------------------------------------------------ */

Test(pressure_register, einval_cases)
{
    int id = -7;
    cr_expect_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, NULL, NULL, 0, &id), EINVAL);
    cr_expect_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 0, nop_fn, NULL, 0, &id), EINVAL);
    cr_expect_eq(offheap_pressure_register(0, 1, nop_fn, NULL, 0, &id), EINVAL);
    cr_expect_eq(offheap_pressure_register(3, 1, nop_fn, NULL, 0, &id), EINVAL);
    cr_expect_eq(offheap_pressure_register(-1, 1, nop_fn, NULL, 0, &id), EINVAL);
    cr_expect_eq(id, -7, "no id is handed out on failure");
    cr_expect_eq(offheap_pressure_check(), 0, "nothing was registered");
}

Test(pressure_register, ids_and_unregister)
{
    int a = -1, b = -1;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, &a), 0);
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_HEAP, SIZE_MAX, nop_fn, NULL, HOUR_MS, &b), 0);
    cr_expect_neq(a, b);
    cr_expect_eq(offheap_pressure_unregister(a), 0);
    cr_expect_eq(offheap_pressure_unregister(a), EINVAL, "second unregister of the same id");
    cr_expect_eq(offheap_pressure_unregister(b), 0);
    /* A new registration never revives an old id. */
    int c = -1;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, &c), 0);
    cr_expect_neq(c, a);
    cr_expect_neq(c, b);
    cr_expect_eq(offheap_pressure_unregister(a), EINVAL);
    cr_expect_eq(offheap_pressure_unregister(c), 0);
}

Test(pressure_register, unknown_ids)
{
    const int ids[] = {0, -1, 1, 15, 16, 12345, -12345, 0x7fffffff};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        cr_expect_eq(offheap_pressure_unregister(ids[i]), EINVAL, "id %d", ids[i]);
}

Test(pressure_register, null_id_is_allowed)
{
    cr_expect_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, NULL), 0);
}

Test(pressure_register, sixteen_slots)
{
    int ids[16];
    for (int i = 0; i < 16; i++)
        cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, &ids[i]), 0,
                     "slot %d", i);
    int extra = -1;
    cr_expect_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, &extra), EAGAIN);
    cr_expect_eq(offheap_pressure_unregister(ids[7]), 0);
    cr_expect_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, &extra), 0,
                 "a freed slot is usable again");
    for (int i = 0; i < 16; i++)
        if (i != 7) cr_expect_eq(offheap_pressure_unregister(ids[i]), 0);
    cr_expect_eq(offheap_pressure_unregister(extra), 0);
}

/* ---- check: edge triggering ----------------------------------------------- */

Test(pressure_check, fires_once_above_threshold)
{
    struct record r = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, record_fn, &r, HOUR_MS, &id), 0);
    cr_expect_eq(offheap_pressure_check(), 1);
    cr_expect_eq(atomic_load(&r.calls), 1);
    cr_expect_eq(r.last.source, OFFHEAP_PRESSURE_RSS);
    cr_expect_eq(r.last.threshold, 1);
    cr_expect_gt(r.last.value, 1);
    cr_expect(pthread_equal(r.thread, pthread_self()), "check runs callbacks on the caller");
    /* Still above: edge-triggered, so no second call. */
    cr_expect_eq(offheap_pressure_check(), 0);
    cr_expect_eq(offheap_pressure_check(), 0);
    cr_expect_eq(atomic_load(&r.calls), 1);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
}

Test(pressure_check, below_threshold_never_fires)
{
    struct record r = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, record_fn, &r, HOUR_MS, &id), 0);
    cr_expect_eq(offheap_pressure_check(), 0);
    cr_expect_eq(atomic_load(&r.calls), 0);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
}

Test(pressure_check, passes_user_pointer)
{
    struct record r1 = {0}, r2 = {0};
    int a, b;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, record_fn, &r1, HOUR_MS, &a), 0);
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_HEAP, 1, record_fn, &r2, HOUR_MS, &b), 0);
    cr_expect_eq(offheap_pressure_check(), 2);
    cr_expect_eq(atomic_load(&r1.calls), 1);
    cr_expect_eq(atomic_load(&r2.calls), 1);
    cr_expect_eq(r1.last.source, OFFHEAP_PRESSURE_RSS);
    cr_expect_eq(r2.last.source, OFFHEAP_PRESSURE_HEAP);
    offheap_pressure_unregister(a);
    offheap_pressure_unregister(b);
}

Test(pressure_check, rearms_after_falling_below)
{
    /* The heap figure is ours to move: 128 MiB through jemalloc. */
    struct record r = {0};
    size_t base = offheap_pressure_sample(OFFHEAP_PRESSURE_HEAP);
    cr_assert_gt(base, 0);
    size_t threshold = base + 64 * MiB;
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_HEAP, threshold, record_fn, &r, HOUR_MS, &id), 0);
    cr_expect_eq(offheap_pressure_check(), 0);

    void *p = mallocx(128 * MiB, 0);
    cr_assert_not_null(p);
    cr_expect_eq(offheap_pressure_check(), 1, "crossing up fires");
    cr_expect_geq(r.last.value, threshold);
    cr_expect_eq(r.last.threshold, threshold);
    cr_expect_eq(offheap_pressure_check(), 0, "staying up does not");
    dallocx(p, 0);
    cr_expect_eq(offheap_pressure_check(), 0, "falling down does not");
    p = mallocx(128 * MiB, 0);
    cr_assert_not_null(p);
    cr_expect_eq(offheap_pressure_check(), 1, "crossing up again fires again");
    cr_expect_eq(atomic_load(&r.calls), 2);
    dallocx(p, 0);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
}

Test(pressure_check, unregistered_callbacks_do_not_run)
{
    struct record r = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, record_fn, &r, HOUR_MS, &id), 0);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
    cr_expect_eq(offheap_pressure_check(), 0);
    cr_expect_eq(atomic_load(&r.calls), 0);
}

/* ---- from inside a callback ----------------------------------------------- */

struct reentry {
    int id;
    atomic_int unregister_result;
    atomic_int register_result;
    int new_id;
};

static void reentrant_fn(const offheap_pressure_event *ev, void *user)
{
    (void)ev;
    struct reentry *r = user;
    atomic_store(&r->unregister_result, offheap_pressure_unregister(r->id));
    atomic_store(&r->register_result,
                 offheap_pressure_register(OFFHEAP_PRESSURE_RSS, SIZE_MAX, nop_fn, NULL, HOUR_MS, &r->new_id));
}

Test(pressure_callback, unregister_inside_a_callback_is_edeadlk)
{
    struct reentry r = {.id = -1, .unregister_result = -1, .register_result = -1};
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, reentrant_fn, &r, HOUR_MS, &r.id), 0);
    cr_expect_eq(offheap_pressure_check(), 1);
    cr_expect_eq(atomic_load(&r.unregister_result), EDEADLK);
    cr_expect_eq(atomic_load(&r.register_result), 0, "registering from a callback is allowed");
    /* Outside the callback both ids unregister normally. */
    cr_expect_eq(offheap_pressure_unregister(r.id), 0);
    cr_expect_eq(offheap_pressure_unregister(r.new_id), 0);
}

/* ---- the monitor thread --------------------------------------------------- */

Test(pressure_monitor, runs_callbacks_on_its_own_thread, .timeout = 60)
{
    struct record r = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, record_fn, &r, 5, &id), 0);
    cr_assert_neq(wait_for(&r.calls), 0, "the monitor never ran the callback");
    cr_expect_eq(r.last.source, OFFHEAP_PRESSURE_RSS);
    cr_expect_not(pthread_equal(r.thread, pthread_self()));
    cr_expect_eq(offheap_pressure_unregister(id), 0);
    /* Edge-triggered: RSS stayed above 1 byte, so exactly one call. */
    cr_expect_eq(atomic_load(&r.calls), 1);
}

Test(pressure_monitor, default_interval_is_used_for_zero, .timeout = 60)
{
    struct record r = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_HEAP, 1, record_fn, &r, 0, &id), 0);
    cr_assert_neq(wait_for(&r.calls), 0, "the monitor never ran the callback");
    cr_expect_eq(r.last.source, OFFHEAP_PRESSURE_HEAP);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
}

struct blocking {
    atomic_int entered;
    atomic_int release;
    atomic_int finished;
};

static void blocking_fn(const offheap_pressure_event *ev, void *user)
{
    (void)ev;
    struct blocking *b = user;
    atomic_store(&b->entered, 1);
    while (!atomic_load(&b->release)) sleep_ms(1);
    atomic_store(&b->finished, 1);
}

struct unreg_arg {
    int id;
    struct blocking *b;
    atomic_int returned;
    int result;
    int finished_when_returned;
};

static void *unregister_thread(void *p)
{
    struct unreg_arg *u = p;
    u->result = offheap_pressure_unregister(u->id);
    u->finished_when_returned = atomic_load(&u->b->finished);
    atomic_store(&u->returned, 1);
    return NULL;
}

Test(pressure_monitor, unregister_waits_for_a_running_callback, .timeout = 60)
{
    struct blocking b = {0};
    struct unreg_arg u = {.b = &b};
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, blocking_fn, &b, 5, &u.id), 0);
    cr_assert_neq(wait_for(&b.entered), 0, "the monitor never ran the callback");

    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, unregister_thread, &u), 0);
    sleep_ms(50);
    cr_expect_eq(atomic_load(&u.returned), 0, "unregister returned while its callback ran");
    atomic_store(&b.release, 1);
    pthread_join(t, NULL);
    cr_expect_eq(u.result, 0);
    cr_expect_eq(u.finished_when_returned, 1, "the callback had finished when unregister returned");
}

Test(pressure_monitor, check_and_monitor_share_the_edge, .timeout = 60)
{
    /* While the monitor is inside a callback, check() on this thread waits
     * its turn; whichever of the two samples first fires the new
     * registration, and the other sees no new edge. */
    struct blocking b = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, blocking_fn, &b, 5, &id), 0);
    cr_assert_neq(wait_for(&b.entered), 0);
    struct record r = {0};
    int id2;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, record_fn, &r, HOUR_MS, &id2), 0);
    atomic_store(&b.release, 1);
    (void)offheap_pressure_check();
    /* Whoever ran it, the second registration fired exactly once. */
    cr_assert_neq(wait_for(&r.calls), 0);
    (void)offheap_pressure_check();
    cr_expect_eq(atomic_load(&r.calls), 1);
    cr_expect_eq(offheap_pressure_unregister(id), 0);
    cr_expect_eq(offheap_pressure_unregister(id2), 0);
}

/* ---- fork ------------------------------------------------------------------ */

Test(pressure_fork, child_of_a_running_callback_can_check_and_unregister, .timeout = 60)
{
    /* Fork while the monitor thread is inside a callback: in the child that
     * thread does not exist, so neither its round nor its callback can ever
     * finish there.  check() and unregister() must still return in the
     * child (an alarm turns a hang into a failure).  The child starts no
     * thread (TSan forbids that after a multi-threaded fork). */
    struct blocking b = {0};
    int id;
    cr_assert_eq(offheap_pressure_register(OFFHEAP_PRESSURE_RSS, 1, blocking_fn, &b, 5, &id), 0);
    cr_assert_neq(wait_for(&b.entered), 0, "the monitor never ran the callback");
    /* The verdict travels through a pipe, not the exit status: under
     * valgrind the child's exit status is valgrind's (its leak report of the
     * monitor thread's stack, which the child never ran). */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(10);
        int ran = offheap_pressure_check();
        int u = offheap_pressure_unregister(id);
        char verdict = ran == 0 && u == 0 ? 'y' : 'n';
        (void)!write(fds[1], &verdict, 1);
        _exit(0);
    }
    close(fds[1]);
    char verdict = 0;
    ssize_t got;
    while ((got = read(fds[0], &verdict, 1)) < 0 && errno == EINTR) {
    }
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect_eq(got, 1, "the child hung or died (status %#x)", status);
    cr_expect_eq(verdict, 'y', "check or unregister failed in the child");
    atomic_store(&b.release, 1);
    cr_expect_eq(offheap_pressure_unregister(id), 0, "the parent's registration is intact");
    cr_expect_eq(atomic_load(&b.finished), 1);
}
