/* SPDX-License-Identifier: MIT */
/*
 * run_captured.h — run a program in a child process and collect its stdout
 * and stderr, for the drivers that run themselves under the preload with
 * one setting at a time (tests/fuzz/bad_env.c, tests/stress/oom_preload.c,
 * tests/stress/oom_cxx.cc).  C and C++.
 */
#ifndef RUN_CAPTURED_H
#define RUN_CAPTURED_H

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where the child's output goes: at most cap - 1 bytes of each stream,
 * NUL-terminated, with its length; the rest is read and dropped. */
struct captured {
    char *out;
    size_t out_cap, out_len;
    char *err;
    size_t err_cap, err_len;
};

static void run_captured_read(int *fd, char *buf, size_t cap, size_t *len, int *open_fds)
{
    char scratch[4096];
    int keep = *len + 1 < cap;
    ssize_t n = keep ? read(*fd, buf + *len, cap - 1 - *len) : read(*fd, scratch, sizeof scratch);
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        --*open_fds;
        return;
    }
    if (keep) {
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

/* Runs argv[0] (a path) with argv in a child process whose stdout and
 * stderr are pipes to c; the child calls setup(arg) first, when given (to
 * set its environment), and exits 127 when the exec fails.  Collects both
 * streams until they close or 30 s pass.  Returns the exit status, 128 +
 * the signal that ended the child, or -1 on timeout (the child is killed).
 * Exits 2 when the pipes cannot be made. */
static int run_captured(const char *const argv[], void (*setup)(void *), void *arg, struct captured *c)
{
    int out[2], err[2];
    if (pipe(out) || pipe(err)) exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        if (setup) setup(arg);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    c->out_len = c->err_len = 0;
    if (c->out_cap) c->out[0] = '\0';
    if (c->err_cap) c->err[0] = '\0';
    struct pollfd pf[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    time_t deadline = time(NULL) + 30;
    int open_fds = 2;
    while (open_fds && time(NULL) < deadline) {
        if (poll(pf, 2, 1000) <= 0) continue;
        if (pf[0].fd >= 0 && pf[0].revents) run_captured_read(&pf[0].fd, c->out, c->out_cap, &c->out_len, &open_fds);
        if (pf[1].fd >= 0 && pf[1].revents) run_captured_read(&pf[1].fd, c->err, c->err_cap, &c->err_len, &open_fds);
    }
    int st = 0, status;
    if (open_fds) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        status = -1;
    } else {
        waitpid(pid, &st, 0);
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0) close(pf[i].fd);
    return status;
}

#endif
