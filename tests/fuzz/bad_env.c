/* SPDX-License-Identifier: MIT */
/*
 * bad_env.c — every OFFHEAP_* variable with garbage, empty, negative,
 * overflowing and out-of-range values, under the preload.
 *
 *   bad_env PRELOAD_SO [--table]   driver (--table prints the cases as a table)
 *   bad_env --child [--defaults]   child
 *
 * For each case the driver runs itself as a child with LD_PRELOAD and the
 * variable set, and checks:
 *   - stderr has exactly the expected number of lines (1 for a bad value,
 *     0 for a good one) and each names the variable;
 *   - the child goes on: it allocates in scopes (content, nesting, realloc,
 *     calloc), outside them, on a second thread, and exits 0;
 *   - with --defaults, the pool has the default geometry (1G of 1M slabs):
 *     a refused value falls back to the default.
 */
#include "offheap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "run_captured.h"

/* ---- child ------------------------------------------------------------- */

static bool tiny;

static void *work(void *arg)
{
    (void)arg;
    if (tiny) {
        /* A 64K pool: a few small blocks fit, larger ones fail cleanly. */
        offheap_scope_begin();
        char *p = malloc(100);
        CHECKF(p && offheap_owns(p), "small scope malloc in a tiny pool");
        errno = 0;
        char *q = malloc(1 << 20);
        CHECKF(!q && errno == ENOMEM, "1 MiB in a 64K pool: %p errno %d", (void *)q, errno);
        offheap_scope_end();
        return NULL;
    }
    for (int round = 0; round < 3; round++) {
        offheap_scope_begin();
        CHECKF(offheap_scope_depth() == 1, "scope did not open");
        char *blocks[100];
        for (int i = 0; i < 100; i++) {
            blocks[i] = malloc(100 + (size_t)i * 37);
            CHECKF(blocks[i] && offheap_owns(blocks[i]), "scope malloc");
            if (blocks[i]) memset(blocks[i], i, 100 + (size_t)i * 37);
        }
        offheap_scope_begin();
        char *big = malloc(2 << 20);
        CHECKF(big && offheap_owns(big), "scope large malloc");
        if (big) memset(big, 0x5a, 2 << 20);
        offheap_scope_end();
        char *z = calloc(1000, 10);
        CHECKF(z != NULL, "calloc");
        for (int i = 0; z && i < 10000; i++) CHECKF(z[i] == 0, "calloc byte %d", i);
        char *r = realloc(blocks[99], 100000);
        CHECKF(r != NULL, "realloc");
        for (size_t i = 0; r && i < 100 + 99 * 37; i++) CHECKF(r[i] == 99, "realloc content at %zu", i);
        for (int i = 0; i < 99; i++)
            for (size_t j = 0; blocks[i] && j < 100 + (size_t)i * 37; j += 13)
                CHECKF(blocks[i][j] == (char)i, "block %d byte %zu", i, j);
        offheap_scope_end();
        CHECKF(offheap_scope_depth() == 0, "depth after end");
        char *h = malloc(5000);
        CHECKF(h && !offheap_owns(h), "heap malloc");
        free(h);
    }
    return NULL;
}

static int child(bool defaults, bool tiny_pool, bool one_slab)
{
    if (!OFFHEAP_LOADED()) return 77;
    /* The driver counts the child's stderr lines: failed checks go to
     * stdout. */
    check_set_fd(1);
    tiny = tiny_pool;
    work(NULL);
    if (!tiny_pool && !one_slab) {
        pthread_t t;
        CHECKF(pthread_create(&t, NULL, work, NULL) == 0, "thread");
        pthread_join(t, NULL);
    }
    offheap_stats st;
    CHECKF(offheap_stats_get(&st) == 0, "stats");
    if (defaults)
        CHECKF(st.pool_reserved == (1ull << 30) && st.slab_size == (1ull << 20),
               "pool %llu bytes of %llu-byte slabs, expected the defaults 1G and 1M",
               (unsigned long long)st.pool_reserved, (unsigned long long)st.slab_size);
    printf("child ok\n");
    fflush(stdout);
    return check_failures() ? 1 : 0;
}

/* ---- driver ------------------------------------------------------------ */

struct bad_case {
    const char *var;
    const char *value;
    int lines; /* stderr lines expected (each naming var) */
    int mode;  /* 1: the pool must have the default geometry; 2: a tiny
                      pool, only small blocks; 3: a pool of one slab: no
                      second thread (an idle thread keeps its warm slab) */
    const char *why;
    const char *extra; /* more variables, "A=1 B=2" */
};

#define BIG "99999999999999999999"
static char long_value[6000];
static char long_name[200];

static struct bad_case cases[] = {
    /* size variables */
    {"OFFHEAP_POOL_SIZE", "", 1, true, "empty"},
    {"OFFHEAP_POOL_SIZE", "garbage", 1, true, "garbage"},
    {"OFFHEAP_POOL_SIZE", "-1", 1, true, "negative"},
    {"OFFHEAP_POOL_SIZE", "-1G", 1, true, "negative"},
    {"OFFHEAP_POOL_SIZE", BIG, 1, true, "overflow"},
    {"OFFHEAP_POOL_SIZE", BIG "G", 1, true, "overflow"},
    {"OFFHEAP_POOL_SIZE", "18446744073709551615", 1, true, "SIZE_MAX: out of range"},
    {"OFFHEAP_POOL_SIZE", "17179869184G", 1, true, "16E: multiplication overflows"},
    {"OFFHEAP_POOL_SIZE", "0", 1, true, "out of range"},
    {"OFFHEAP_POOL_SIZE", "1K", 1, true, "below 64K"},
    {"OFFHEAP_POOL_SIZE", "65T", 1, true, "above 64T"},
    {"OFFHEAP_POOL_SIZE", "1.5G", 1, true, "fraction"},
    {"OFFHEAP_POOL_SIZE", "0x40000000", 1, true, "hex"},
    {"OFFHEAP_POOL_SIZE", "1e9", 1, true, "exponent"},
    {"OFFHEAP_POOL_SIZE", " 1G", 1, true, "leading space"},
    {"OFFHEAP_POOL_SIZE", "1G ", 1, true, "trailing space"},
    {"OFFHEAP_POOL_SIZE", "1GG", 1, true, "two suffixes"},
    {"OFFHEAP_POOL_SIZE", "G", 1, true, "suffix only"},
    {"OFFHEAP_POOL_SIZE", "1X", 1, true, "unknown suffix"},
    {"OFFHEAP_POOL_SIZE", "64K", 1, 2, "valid, but smaller than the default slab: the slab shrinks"},
    {"OFFHEAP_POOL_SIZE", "512M", 1, 3, "valid, but smaller than OFFHEAP_SLAB_SIZE=1G: the slab shrinks",
     "OFFHEAP_SLAB_SIZE=1G"},
    {"OFFHEAP_POOL_SIZE", "1000K", 1, 2, "valid, but not whole slabs: slab and pool both shrink, one line says so"},
    {"OFFHEAP_POOL_SIZE", "200001", 1, 2, "valid, not whole slabs of the default size"},
    {"OFFHEAP_POOL_SIZE", "1GiB", 0, false, "valid (control)"},
    {"OFFHEAP_POOL_SIZE", "2g", 0, false, "valid (control)"},
    {"OFFHEAP_SLAB_SIZE", "", 1, true, "empty"},
    {"OFFHEAP_SLAB_SIZE", "abc", 1, true, "garbage"},
    {"OFFHEAP_SLAB_SIZE", "-4M", 1, true, "negative"},
    {"OFFHEAP_SLAB_SIZE", BIG "G", 1, true, "overflow"},
    {"OFFHEAP_SLAB_SIZE", "0", 1, true, "zero"},
    {"OFFHEAP_SLAB_SIZE", "3M", 1, true, "not a power of two"},
    {"OFFHEAP_SLAB_SIZE", "32K", 1, true, "below 64K"},
    {"OFFHEAP_SLAB_SIZE", "2G", 1, true, "above 1G"},
    {"OFFHEAP_SLAB_SIZE", "2M", 0, false, "valid (control)"},
    {"OFFHEAP_RETAIN", "", 1, false, "empty"},
    {"OFFHEAP_RETAIN", "lots", 1, false, "garbage"},
    {"OFFHEAP_RETAIN", "-1", 1, false, "negative"},
    {"OFFHEAP_RETAIN", BIG, 1, false, "overflow"},
    {"OFFHEAP_RETAIN", "18446744073709551615T", 1, false, "overflow in the suffix"},
    {"OFFHEAP_RETAIN", "0", 0, false, "valid: retain nothing (control)"},
    {"OFFHEAP_RETAIN", "64T", 0, false, "valid: more than the pool (control)"},
    /* enumerations and booleans */
    {"OFFHEAP_ON_EXHAUST", "", 1, false, "empty"},
    {"OFFHEAP_ON_EXHAUST", "explode", 1, false, "garbage"},
    {"OFFHEAP_ON_EXHAUST", "ENOMEM", 1, false, "wrong case"},
    {"OFFHEAP_ON_EXHAUST", "-1", 1, false, "negative"},
    {"OFFHEAP_ON_EXHAUST", "fallback", 0, false, "valid (control)"},
    {"OFFHEAP_VERBOSE", "", 1, false, "empty"},
    {"OFFHEAP_VERBOSE", "2", 1, false, "out of range"},
    {"OFFHEAP_VERBOSE", "-1", 1, false, "negative"},
    {"OFFHEAP_VERBOSE", "maybe", 1, false, "garbage"},
    {"OFFHEAP_STATS", "", 1, false, "empty"},
    {"OFFHEAP_STATS", "xml", 1, false, "garbage"},
    {"OFFHEAP_STATS", "-1", 1, false, "negative"},
    {"OFFHEAP_STATS", BIG, 1, false, "overflow"},
    {"OFFHEAP_STATS_SIGNAL", "", 1, false, "empty"},
    {"OFFHEAP_STATS_SIGNAL", "SIG", 1, false, "prefix only"},
    {"OFFHEAP_STATS_SIGNAL", "KILL", 1, false, "not catchable"},
    {"OFFHEAP_STATS_SIGNAL", "9", 1, false, "SIGKILL by number"},
    {"OFFHEAP_STATS_SIGNAL", "11", 1, false, "SIGSEGV (check mode needs it)"},
    {"OFFHEAP_STATS_SIGNAL", "0", 1, false, "zero"},
    {"OFFHEAP_STATS_SIGNAL", "-10", 1, false, "negative"},
    {"OFFHEAP_STATS_SIGNAL", "65", 1, false, "out of range (NSIG)"},
    {"OFFHEAP_STATS_SIGNAL", BIG, 1, false, "overflow"},
    {"OFFHEAP_STATS_SIGNAL", "TERM", 1, false, "SIGTERM must stop the process"},
    {"OFFHEAP_STATS_SIGNAL", "15", 1, false, "SIGTERM by number"},
    {"OFFHEAP_STATS_SIGNAL", "sigint", 1, false, "SIGINT, lower case"},
    {"OFFHEAP_STATS_SIGNAL", "2", 1, false, "SIGINT by number"},
    {"OFFHEAP_STATS_SIGNAL", "HUP", 1, false, "SIGHUP stops the process"},
    {"OFFHEAP_STATS_SIGNAL", "QUIT", 1, false, "SIGQUIT stops the process"},
    {"OFFHEAP_STATS_SIGNAL", "PIPE", 1, false, "SIGPIPE"},
    {"OFFHEAP_STATS_SIGNAL", "17", 1, false, "SIGCHLD by number"},
    {"OFFHEAP_STATS_SIGNAL", "32", 1, false, "reserved by glibc (below SIGRTMIN)"},
    {"OFFHEAP_STATS_SIGNAL", "RTMIN+99", 1, false, "past RTMAX"},
    {"OFFHEAP_STATS_SIGNAL", "usr1", 0, false, "lower case (names are case-insensitive)"},
    {"OFFHEAP_STATS_SIGNAL", "SigUsr1", 0, false, "mixed case, SIG prefix (control)"},
    {"OFFHEAP_STATS_SIGNAL", "10", 0, false, "SIGUSR1 by number (control)"},
    {"OFFHEAP_STATS_SIGNAL", "winch", 0, false, "SIGWINCH (control)"},
    {"OFFHEAP_STATS_SIGNAL", "RTMIN+1", 0, false, "a real-time signal (control)"},
    {"OFFHEAP_STATS_SIGNAL", "SIGRTMAX", 0, false, "the last real-time signal (control)"},
    {"OFFHEAP_STATS_SIGNAL", "SIGUSR2", 0, false, "valid (control)"},
    {"OFFHEAP_STATS_INTERVAL", "", 1, false, "empty"},
    {"OFFHEAP_STATS_INTERVAL", "often", 1, false, "garbage"},
    {"OFFHEAP_STATS_INTERVAL", "10x", 1, false, "unknown unit"},
    {"OFFHEAP_STATS_INTERVAL", "-1s", 1, false, "negative"},
    {"OFFHEAP_STATS_INTERVAL", "50ms", 1, false, "below 100ms"},
    {"OFFHEAP_STATS_INTERVAL", "25h", 1, false, "above 24h"},
    {"OFFHEAP_STATS_INTERVAL", BIG, 1, false, "overflow"},
    {"OFFHEAP_STATS_INTERVAL", "0", 0, false, "off (control)"},
    {"OFFHEAP_STATS_INTERVAL", "1h", 0, false, "valid (control)"},
    {"OFFHEAP_STATS_FD", "", 1, false, "empty"},
    {"OFFHEAP_STATS_FD", "stderr", 1, false, "garbage"},
    {"OFFHEAP_STATS_FD", "-1", 1, false, "negative"},
    {"OFFHEAP_STATS_FD", "2147483648", 1, false, "above INT_MAX"},
    {"OFFHEAP_STATS_FD", BIG, 1, false, "overflow"},
    {"OFFHEAP_STATS_FD", "1", 0, false, "valid (control)"},
    {"OFFHEAP_CHECK", "", 1, false, "empty"},
    {"OFFHEAP_CHECK", "2", 1, false, "out of range"},
    {"OFFHEAP_CHECK", "-1", 1, false, "negative"},
    {"OFFHEAP_CHECK", "yes please", 1, false, "garbage"},
    {"OFFHEAP_HUGE_PAGES", "", 1, false, "empty"},
    {"OFFHEAP_HUGE_PAGES", "huge", 1, false, "garbage"},
    {"OFFHEAP_HUGE_PAGES", "-1", 1, false, "negative"},
    {"OFFHEAP_HUGE_PAGES", "1", 0, false, "valid (control): scopes must work with or without reserved huge pages"},
    {"OFFHEAP_FAULT_MMAP", "", 1, false, "empty"},
    {"OFFHEAP_FAULT_MMAP", "often", 1, false, "garbage"},
    {"OFFHEAP_FAULT_MMAP", "-1", 1, false, "negative"},
    {"OFFHEAP_FAULT_MMAP", BIG, 1, false, "overflow"},
    {"OFFHEAP_FAULT_MMAP", "1.0", 1, false, "fraction"},
    {"OFFHEAP_FAULT_FALLBACK", "", 1, false, "empty"},
    {"OFFHEAP_FAULT_FALLBACK", "x", 1, false, "garbage"},
    {"OFFHEAP_FAULT_FALLBACK", "-5", 1, false, "negative"},
    {"OFFHEAP_FAULT_FALLBACK", BIG, 1, false, "overflow"},
    {"OFFHEAP_EXCLUDE", "", 0, false, "empty: no exclusions"},
    {"OFFHEAP_EXCLUDE", ":,:,,::", 0, false, "separators only"},
    {"OFFHEAP_EXCLUDE", "no-such-library", 0, false, "a library that is not loaded"},
    {"OFFHEAP_EXCLUDE", long_value, 0, false, "6000 characters"},
    /* OFFHEAP_CONF: one line per bad entry, naming OFFHEAP_CONF */
    {"OFFHEAP_CONF", "pool_size:banana", 1, true, "a bad value"},
    {"OFFHEAP_CONF", "poolsize:1G", 1, true, "an unknown name"},
    {"OFFHEAP_CONF", "pool_size", 1, true, "a name without a value"},
    {"OFFHEAP_CONF", "pool_size:1G,nope:1,stats_signal:TERM", 2, true, "two bad entries among good ones"},
    {"OFFHEAP_CONF", long_value, 1, true, "6000 characters: too long"},
    {"OFFHEAP_CONF", "", 0, true, "empty (control)"},
    {"OFFHEAP_CONF", ",,pool_size:1G,,", 0, true, "empty entries (control)"},
    {"OFFHEAP_CONF", "POOL_SIZE:1G,Slab_Size:1M,exclude:libfoo:libbar,check:0", 0, true, "names in any case (control)"},
    /* names and values of odd shape */
    {"OFFHEAP_POOLSIZE", "1G", 1, false, "unknown name (typo)"},
    {"OFFHEAP_", "1", 1, false, "prefix only"},
    {long_name, "1", 1, false, "unknown name of 150 characters (truncated in the line)"},
    {"OFFHEAP_POOL_SIZE", long_value, 1, true, "6000 characters of garbage"},
    {"OFFHEAP_POOL_SIZE", "1\nG", 1, true, "a newline inside the value"},
    {"OFFHEAP_STATS", "\x1b[2J", 1, false, "terminal escape"},
};

struct result {
    int status;
    char out[4096];
    char err[65536];
    size_t elen;
};

/* The child's environment: no OFFHEAP_* variable but those of the case. */
struct child_env {
    const char *so;
    const struct bad_case *c;
    const char *extra;
};

static void set_child_env(void *arg)
{
    const struct child_env *ce = arg;
    const struct bad_case *c = ce->c;
    const char *extra = ce->extra;
    for (char **e = __environ; *e; e++) /* a clean slate */
        if (!strncmp(*e, "OFFHEAP_", 8)) {
            char name[256];
            size_t n = strcspn(*e, "=");
            snprintf(name, sizeof name, "%.*s", (int)n, *e);
            unsetenv(name);
            e = __environ - 1;
        }
    setenv("LD_PRELOAD", ce->so, 1);
    if (c) setenv(c->var, c->value, 1);
    if (c && c->extra) extra = c->extra;
    if (extra) {
        /* "A=1 B=2": several variables. */
        char *list = strdup(extra);
        for (char *tok = strtok(list, " "); tok; tok = strtok(NULL, " ")) putenv(tok);
    }
}

static void run(const char *self, const char *so, const struct bad_case *c, const char *extra, struct result *r)
{
    const char *mode = NULL;
    if (c && c->mode == 1) mode = "--defaults";
    else if (c && c->mode == 2) mode = "--tiny";
    else if (c && c->mode == 3) mode = "--one-slab";
    const char *args[] = {self, "--child", mode, NULL};
    struct child_env ce = {so, c, extra};
    struct captured cap = {r->out, sizeof r->out, 0, r->err, sizeof r->err, 0};
    r->status = run_captured(args, set_child_env, &ce, &cap);
    r->elen = cap.err_len;
}

static int count_lines(const char *s, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) n += s[i] == '\n';
    if (len && s[len - 1] != '\n') n++;
    return n;
}

/* Every line names the variable (truncated names: their first 60 chars). */
static bool lines_name(const char *s, const char *var)
{
    char want[64];
    snprintf(want, sizeof want, "%.60s", var);
    const char *line = s;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char buf[8192];
        snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf - 1 ? n : sizeof buf - 1), line);
        if (!strstr(buf, want)) return false;
        if (!end) break;
        line = end + 1;
    }
    return true;
}

static void printable(const char *v, char *out, size_t cap)
{
    size_t o = 0, len = strlen(v);
    if (len > 40) {
        snprintf(out, cap, "(%zu characters)", len);
        return;
    }
    for (size_t i = 0; v[i] && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch == '\n') o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (ch < 32) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else if (ch == '|') o += (size_t)snprintf(out + o, cap - o, "\\|");
        else out[o++] = (char)ch;
    }
    out[o] = '\0';
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--child"))
        return child(argc >= 3 && !strcmp(argv[2], "--defaults"), argc >= 3 && !strcmp(argv[2], "--tiny"),
                     argc >= 3 && !strcmp(argv[2], "--one-slab"));
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/liboffheap.so [--table]\n", argv[0]);
        return 2;
    }
    bool table = argc >= 3 && !strcmp(argv[2], "--table");
    memset(long_value, 'x', sizeof long_value - 1);
    memcpy(long_name, "OFFHEAP_", 8);
    memset(long_name + 8, 'Z', 150);
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) return 2;
    self[sl] = '\0';

    static struct result r;
    run(self, argv[1], NULL, NULL, &r);
    if (r.status == 77) return 77;
    if (r.status != 0 || r.elen) {
        fprintf(stderr, "bad_env: the child fails without any variable (status %d):\n%s%s", r.status, r.out, r.err);
        return 1;
    }
    int failed = 0;
    size_t ncases = sizeof cases / sizeof cases[0];
    if (table) {
        printf("| variable | value | why | stderr lines | program went on |\n");
        printf("| --- | --- | --- | --- | --- |\n");
    }
    for (size_t i = 0; i < ncases; i++) {
        const struct bad_case *c = &cases[i];
        run(self, argv[1], c, NULL, &r);
        int lines = count_lines(r.err, r.elen);
        bool named = lines_name(r.err, c->var);
        bool ok = r.status == 0 && lines == c->lines && named && strstr(r.out, "child ok");
        char val[128], var[128];
        printable(c->value, val, sizeof val);
        printable(c->var, var, sizeof var);
        if (table)
            printf("| `%s` | `%s` | %s | %d%s | %s |\n", var, val, c->why, lines, lines && named ? ", names it" : "",
                   r.status == 0 ? "yes" : "NO");
        if (!ok) {
            failed++;
            fprintf(
                stderr,
                "bad_env: %s='%s' (%s): status %d, %d stderr lines (expected %d)%s\n--- stdout\n%s--- stderr\n%s---\n",
                var, val, c->why, r.status, lines, c->lines, named ? "" : ", not all naming the variable", r.out,
                r.err);
        }
    }
    /* Several bad variables at once: one line each. */
    static struct bad_case several = {"OFFHEAP_STATS_FD", "-3", 3, 1, "with two more bad variables", NULL};
    run(self, argv[1], &several, "OFFHEAP_POOL_SIZE=lots OFFHEAP_CHECK=sure", &r);
    {
        int lines = count_lines(r.err, r.elen);
        bool all =
            strstr(r.err, "OFFHEAP_STATS_FD") && strstr(r.err, "OFFHEAP_POOL_SIZE") && strstr(r.err, "OFFHEAP_CHECK");
        if (table)
            printf("| `OFFHEAP_STATS_FD` + `OFFHEAP_POOL_SIZE` + `OFFHEAP_CHECK` | `-3`, `lots`, `sure` | three bad "
                   "at once | %d%s | %s |\n",
                   lines, all ? ", one per variable" : "", r.status == 0 ? "yes" : "NO");
        if (r.status != 0 || lines != 3 || !all || !strstr(r.out, "child ok")) {
            failed++;
            fprintf(stderr, "bad_env: three bad variables: status %d, %d lines\n%s%s", r.status, lines, r.out, r.err);
        }
    }
    printf("bad_env: %zu cases, %d failed\n", ncases + 1, failed);
    return failed ? 1 : 0;
}
