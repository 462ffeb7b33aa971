/* SPDX-License-Identifier: MIT */
/*
 * signal_probe.c SIGNUM — send the process signal SIGNUM, wait a moment,
 * then print "survived" and exit 0.  stats_signal_policy.sh runs it with
 * OFFHEAP_STATS_SIGNAL set: a refused signal must still do what it does
 * by default (SIGTERM kills), an accepted one must print the statistics.
 */
#include "ph.h"

#include <signal.h>
#include <time.h>

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 2);
    offheap_scope_begin();
    free(malloc(100));
    offheap_scope_end();
    int sig = atoi(argv[1]);
    kill(getpid(), sig);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    printf("survived\n");
    return 0;
}
