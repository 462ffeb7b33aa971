/* SPDX-License-Identifier: MIT */
/*
 * stats_signal.c — OFFHEAP_STATS_SIGNAL=USR1: 40 signals sent to the
 * process while threads start, use scopes and exit (the registry lock is
 * taken then): no deadlock, errno unaffected.  stats_signal.sh counts the
 * reports on stderr (the library writes to its own copy of fd 2, so the
 * program cannot capture them itself).
 */
#include "ph.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

static atomic_int stop;

static void *short_lived(void *arg)
{
    (void)arg;
    offheap_scope_begin();
    for (int i = 0; i < 20; i++) memset(malloc(2000), 1, 2000);
    offheap_scope_end();
    return NULL;
}

static void *spawner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_lived, NULL) == 0) pthread_join(t, NULL);
    }
    return NULL;
}

int main(void)
{
    ph_require_preload();
    const char *sig = getenv("OFFHEAP_STATS_SIGNAL");
    REQUIRE(sig && !strcmp(sig, "USR1"));
    pthread_t sp[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&sp[i], NULL, spawner, NULL) == 0);
    for (int i = 0; i < 40; i++) {
        errno = 4242;
        kill(getpid(), SIGUSR1);
        CHECK(errno == 4242);
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(sp[i], NULL);
    return check_done("stats_signal");
}
