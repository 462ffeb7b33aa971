/* SPDX-License-Identifier: MIT */
/*
 * pressure.c — memory-pressure thresholds: offheap_pressure_register /
 * unregister / check / sample.
 *
 * State: 16 slots under one mutex.  A registration is edge-triggered: its
 * callback runs when the figure is seen above the threshold after having
 * been seen at or below it (or never seen), and not again until the figure
 * has come back down.
 *
 * Who runs callbacks: a monitor thread, started by the first registration,
 * wakes every min(interval_ms) of the live slots; offheap_pressure_check()
 * does the same work on the caller's thread.  Either way one "round"
 * (sample, compare, run what is due) holds the round token, so callbacks run
 * one at a time and edge state moves in order.  A callback runs with the
 * mutex released; its slot's `running` count keeps the slot from being
 * reused, and unregister waits for that count to drop to zero.  A thread
 * inside a callback is marked (thread-local): unregister from there would
 * wait for itself, so it fails with EDEADLK; check from there joins the round
 * its thread already holds.
 *
 * Nothing here runs on a malloc path; pthread_create, dlsym and mallctl
 * may allocate.  No stdio.
 *
 * jemalloc's mallctl is looked up at first use instead of linked: the
 * explicit API then does not load jemalloc into programs that link it (its
 * initial-exec TLS would also keep liboffheap_pool.so from being dlopen'ed).
 * The preload loads jemalloc itself, so the lookup finds it there.
 */
#include "offheap_pool.h"

#include "core/os.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#define SLOTS 16
#define DEFAULT_INTERVAL_MS 100u

struct slot {
    offheap_pressure_fn fn; /* NULL when free */
    void *user;
    size_t threshold;     /* bytes */
    unsigned interval_ms; /* milliseconds, 0 replaced by the default */
    int source;           /* enum offheap_pressure_source */
    int id;               /* handed to the caller; unique per registration */
    unsigned running;     /* callbacks of this slot executing now (count) */
    bool above;           /* last sample was above the threshold */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed; /* running/round/slots changed; CLOCK_MONOTONIC */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct slot slots[SLOTS]; /* under lock */
static unsigned generation;      /* under lock; makes ids unique */
static bool round_busy;          /* under lock: a round is in progress */
static bool monitor_running;     /* under lock */
static _Thread_local bool in_callback;

/* ---- sampling ----------------------------------------------------------- */

typedef int (*mallctl_fn)(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

static pthread_once_t mallctl_once = PTHREAD_ONCE_INIT;
static mallctl_fn mallctl_p; /* NULL when jemalloc is not in the process */

static void find_mallctl(void)
{
    mallctl_p = (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
}

/* jemalloc's stats.allocated after refreshing its epoch; 0 or an errno. */
static int sample_heap(size_t *out)
{
    (void)pthread_once(&mallctl_once, find_mallctl);
    mallctl_fn ctl = mallctl_p;
    if (!ctl) return ENOTSUP;
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    if (ctl("epoch", &epoch, &len, &epoch, len) != 0) return ENOTSUP;
    size_t v = 0;
    len = sizeof v;
    if (ctl("stats.allocated", &v, &len, NULL, 0) != 0) return ENOTSUP;
    *out = v;
    return 0;
}

static int sample_source(int source, size_t *out)
{
    switch (source) {
    case OFFHEAP_PRESSURE_HEAP: return sample_heap(out);
    case OFFHEAP_PRESSURE_RSS: {
        size_t v = oh_os_rss();
        if (v == 0) return ENOTSUP;
        *out = v;
        return 0;
    }
    default: return EINVAL;
    }
}

size_t offheap_pressure_sample(int source)
{
    size_t v = 0;
    int err = sample_source(source, &v);
    if (err) {
        errno = err;
        return 0;
    }
    return v;
}

/* ---- one round: sample, compare, run due callbacks ---------------------- */

static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static void init_cond(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&changed, &attr);
    pthread_condattr_destroy(&attr);
}

static void init_once(void)
{
    init_cond();
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Fork holds the lock so the child sees consistent slots.  The lock is
 * never held while user code runs, so taking it here cannot deadlock. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

/* The child has no monitor thread and nobody inside a round or a callback.
 * Registrations survive; the next registration restarts the monitor. */
static void fork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    lock = fresh;
    init_cond();
    round_busy = false;
    monitor_running = false;
    for (int i = 0; i < SLOTS; i++) slots[i].running = 0;
}

/* Runs one round; the caller holds `lock` and the round token.  Returns the
 * number of callbacks run.  The lock is released while sampling and while
 * each callback runs. */
static int run_round_locked(void)
{
    bool want[3] = {false, false, false};
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].fn) want[slots[i].source] = true;
    size_t value[3] = {0, 0, 0};
    bool ok[3] = {false, false, false};
    pthread_mutex_unlock(&lock);
    int saved = errno;
    for (int s = 1; s <= 2; s++)
        if (want[s]) ok[s] = sample_source(s, &value[s]) == 0;
    errno = saved;
    pthread_mutex_lock(&lock);

    /* Decide every edge first, against the same samples, then run. */
    int due[SLOTS] = {0}; /* id of the registration to call, 0 = none */
    for (int i = 0; i < SLOTS; i++) {
        struct slot *sl = &slots[i];
        if (!sl->fn || !ok[sl->source]) continue;
        bool above = value[sl->source] > sl->threshold;
        if (above && !sl->above) due[i] = sl->id;
        sl->above = above;
    }
    int ran = 0;
    for (int i = 0; i < SLOTS; i++) {
        struct slot *sl = &slots[i];
        /* Skip a slot unregistered (or re-registered) while the lock was
         * released for an earlier callback. */
        if (!due[i] || !sl->fn || sl->id != due[i]) continue;
        offheap_pressure_event ev = {sl->source, sl->threshold, value[sl->source]};
        offheap_pressure_fn fn = sl->fn;
        void *user = sl->user;
        sl->running++;
        pthread_mutex_unlock(&lock);
        bool outer = in_callback;
        in_callback = true;
        fn(&ev, user);
        in_callback = outer;
        pthread_mutex_lock(&lock);
        sl->running--;
        ran++;
        pthread_cond_broadcast(&changed);
    }
    return ran;
}

/* Take the round token (unless this thread already holds it from inside a
 * callback), run a round, give the token back. */
static int round_locked(void)
{
    bool nested = in_callback;
    if (!nested) {
        while (round_busy) pthread_cond_wait(&changed, &lock);
        round_busy = true;
    }
    int ran = run_round_locked();
    if (!nested) {
        round_busy = false;
        pthread_cond_broadcast(&changed);
    }
    return ran;
}

int offheap_pressure_check(void)
{
    pthread_once(&once, init_once);
    pthread_mutex_lock(&lock);
    int ran = round_locked();
    pthread_mutex_unlock(&lock);
    return ran;
}

/* ---- the monitor thread ------------------------------------------------- */

/* Shortest interval among live slots in ms; 0 when none is live. */
static unsigned min_interval_locked(void)
{
    unsigned best = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].fn && (best == 0 || slots[i].interval_ms < best)) best = slots[i].interval_ms;
    return best;
}

static void *monitor_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        unsigned ms = min_interval_locked();
        if (ms == 0) {
            /* Nothing registered: sleep until a registration wakes us. */
            pthread_cond_wait(&changed, &lock);
            continue;
        }
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += (time_t)(ms / 1000u);
        deadline.tv_nsec += (long)(ms % 1000u) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        /* Wake-ups before the deadline (other rounds, registrations) only
         * re-read the interval. */
        int r = 0;
        while (r != ETIMEDOUT && min_interval_locked() != 0 && min_interval_locked() >= ms)
            r = pthread_cond_timedwait(&changed, &lock, &deadline);
        if (r == ETIMEDOUT) (void)round_locked();
    }
    return NULL;
}

/* Start the monitor if it is not running; lock held.  0 or EAGAIN. */
static int start_monitor_locked(void)
{
    if (monitor_running) return 0;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return EAGAIN;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The monitor must not take the process's signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int r = pthread_create(&t, &attr, monitor_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0) return EAGAIN;
    monitor_running = true;
    return 0;
}

/* ---- registration ------------------------------------------------------- */

int offheap_pressure_register(int source, size_t threshold, offheap_pressure_fn fn, void *user, unsigned interval_ms,
                              int *id)
{
    if (fn == NULL || threshold == 0) return EINVAL;
    if (source != OFFHEAP_PRESSURE_HEAP && source != OFFHEAP_PRESSURE_RSS) return EINVAL;
    int saved = errno;
    size_t probe;
    int err = sample_source(source, &probe);
    errno = saved;
    if (err) return ENOTSUP;
    pthread_once(&once, init_once);

    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < SLOTS && (slots[i].fn || slots[i].running)) i++;
    if (i == SLOTS) {
        pthread_mutex_unlock(&lock);
        return EAGAIN;
    }
    err = start_monitor_locked();
    if (err) {
        pthread_mutex_unlock(&lock);
        return err;
    }
    generation = (generation + 1u) & 0x7ffffffu; /* id = gen * 16 + slot stays positive */
    if (generation == 0) generation = 1;
    struct slot *sl = &slots[i];
    sl->fn = fn;
    sl->user = user;
    sl->threshold = threshold;
    sl->interval_ms = interval_ms ? interval_ms : DEFAULT_INTERVAL_MS;
    sl->source = source;
    sl->id = (int)(generation * SLOTS + (unsigned)i);
    sl->above = false;
    if (id) *id = sl->id;
    pthread_cond_broadcast(&changed); /* the monitor re-reads the interval */
    pthread_mutex_unlock(&lock);
    return 0;
}

int offheap_pressure_unregister(int id)
{
    if (in_callback) return EDEADLK;
    if (id < SLOTS) return EINVAL;
    pthread_once(&once, init_once);
    pthread_mutex_lock(&lock);
    struct slot *sl = &slots[id % SLOTS];
    if (sl->fn == NULL || sl->id != id) {
        pthread_mutex_unlock(&lock);
        return EINVAL;
    }
    sl->fn = NULL; /* no round will pick it again */
    sl->user = NULL;
    while (sl->running) pthread_cond_wait(&changed, &lock);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return 0;
}
