/* SPDX-License-Identifier: MIT */
/*
 * stats_interval.c MODE MS — a workload for stats_interval.sh
 * (OFFHEAP_STATS_INTERVAL, whose thread starts at the first scope):
 *   run MS           scopes for MS milliseconds, then return from main
 *   idle MS          no scope at all for MS milliseconds (no thread, no line)
 *   fork MS          scopes, then fork: parent and child each run scopes for
 *                    MS milliseconds; the child exits through exit()
 *   pthread_exit MS  scopes, a thread that runs MS milliseconds, and main
 *                    calls pthread_exit(): the process must end when that
 *                    thread does, though the reporting thread lives on
 *   sigwait MS       scopes, then main blocks SIGUSR1, sends it to the
 *                    process and takes it with sigwait(): the reporting
 *                    thread must block every signal, or SIGUSR1's default
 *                    action would kill the process there
 * Prints "pid N" (and "child N").
 */
#include "ph.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void *volatile sink;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void work_for(long ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end) {
        offheap_scope_begin_named("tick");
        for (int i = 0; i < 50; i++) sink = malloc(64);
        offheap_scope_end();
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void *runner(void *arg)
{
    work_for((long)(intptr_t)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 3);
    const char *mode = argv[1];
    long ms = atol(argv[2]);
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    if (!strcmp(mode, "idle")) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return 0;
    }
    work_for(20); /* the first scope starts the reporting thread */
    if (!strcmp(mode, "run")) {
        work_for(ms);
    } else if (!strcmp(mode, "fork")) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            work_for(ms);
            exit(0);
        }
        printf("child %d\n", (int)pid);
        fflush(stdout);
        work_for(ms);
        int st;
        REQUIRE(waitpid(pid, &st, 0) == pid);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    } else if (!strcmp(mode, "pthread_exit")) {
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, runner, (void *)(intptr_t)ms) == 0);
        pthread_exit(NULL);
    } else if (!strcmp(mode, "sigwait")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        REQUIRE(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
        for (int i = 0; i < 20; i++) {
            REQUIRE(kill(getpid(), SIGUSR1) == 0);
            int sig = 0;
            REQUIRE(sigwait(&set, &sig) == 0);
            CHECK(sig == SIGUSR1);
            work_for(ms / 20);
        }
    } else {
        FATAL("unknown mode %s", mode);
    }
    return check_done("stats_interval");
}
