/* SPDX-License-Identifier: MIT */
/*
 * stats.c — the statistics: offheap_stats_get(), offheap_thread_stats_get(),
 * offheap_stats_print() and _print_cb(), the OFFHEAP_STATS report at exit,
 * the OFFHEAP_STATS_SIGNAL dump and the OFFHEAP_STATS_INTERVAL lines.
 *
 * Heap traffic comes from jemalloc's own statistics (mallctl), so the path
 * outside scopes counts nothing: jemalloc counts every allocation request
 * ("nrequests"; a thread cache adds its hits when it fills, flushes or is
 * garbage-collected, and when its thread exits), and the blocks out of its
 * arenas (nmalloc - ndalloc) are the live ones plus those cached.  So, with
 * the calling thread's cache flushed first, requests are allocations and
 * requests minus blocks out are frees: exact for the calling thread and
 * for exited threads.
 *
 * Each process reports its own figures: a forked child starts every
 * counter at zero (thread.c, names.c, scope.c) and subtracts what jemalloc
 * and the rescue had counted at the fork (postfork_child below).
 *
 * Printing uses write(2) only (it runs in exit handlers, signal handlers
 * and the reporting thread) and formats on the stack.
 */
#include "offheap.h"

#include "core/log.h"
#include "core/util.h"
#include "scope/check.h"
#include "scope/config.h"
#include "scope/names.h"
#include "scope/proc.h"
#include "scope/rescue.h"
#include "scope/scope.h"
#include "scope/stats.h"
#include "scope/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- jemalloc's figures --------------------------------------------------- */

struct heap {
    uint64_t allocs, frees;
};

/* What jemalloc and the rescue had counted when this process was forked
 * (zero in the original process): subtracted from what they count now. */
static struct heap heap_base;
static struct oh_rescue_figures rescue_base;

static uint64_t je_u64(const char *name)
{
    uint64_t v = 0;
    size_t len = sizeof v;
    if (mallctl(name, &v, &len, NULL, 0) != 0) return 0;
    return v;
}

static void heap_now(struct heap *h)
{
    /* The calling thread's cache first, then a fresh snapshot ("epoch"). */
    (void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    (void)mallctl("epoch", &epoch, &elen, &epoch, elen);
#define ARENAS "stats.arenas." OH_STR(MALLCTL_ARENAS_ALL)
    uint64_t requests = je_u64(ARENAS ".small.nrequests") + je_u64(ARENAS ".large.nrequests");
    uint64_t got = je_u64(ARENAS ".small.nmalloc") + je_u64(ARENAS ".large.nmalloc");
    uint64_t back = je_u64(ARENAS ".small.ndalloc") + je_u64(ARENAS ".large.ndalloc");
#undef ARENAS
    uint64_t out = got > back ? got - back : 0; /* live or cached */
    h->allocs = requests;
    h->frees = requests > out ? requests - out : 0;
}

static uint64_t minus(uint64_t v, uint64_t base)
{
    return v > base ? v - base : 0;
}

static void fill(offheap_stats *out, const struct oh_counters *c, bool heap)
{
    memset(out, 0, sizeof *out);
#define LOAD(f, pub, merge) out->pub = atomic_load_explicit(&c->f, memory_order_relaxed);
    OH_COUNTERS(LOAD)
#undef LOAD
    out->exhausted += oh_scope_unjoined();
    out->threads = oh_thread_count();
    struct oh_proc_usage u;
    oh_proc_usage(&u);
    out->slabs_in_use = u.slabs_in_use;
    out->slabs_committed = u.slabs_committed;
    out->slabs_total = u.slabs_total;
    out->slab_size = u.slab_size;
    out->pool_reserved = u.reserved;
    out->pool_peak = u.peak_bytes;
    struct oh_rescue_figures r;
    oh_rescue_figures(&r);
    out->rescues = minus(r.rescues, rescue_base.rescues);
    out->rescue_ns = minus(r.rescue_ns, rescue_base.rescue_ns);
    out->rescue_bytes_scanned = minus(r.bytes_scanned, rescue_base.bytes_scanned);
    out->pinned_runs = minus(r.pinned_runs, rescue_base.pinned_runs);
    out->pinned_bytes = minus(r.pinned_bytes, rescue_base.pinned_bytes);
    out->sites_cleared = minus(r.sites_cleared, rescue_base.sites_cleared);
    out->sites_routed = minus(r.sites_routed, rescue_base.sites_routed);
    out->libraries_routed = minus(r.libraries_routed, rescue_base.libraries_routed);
    out->stale_frees = minus(r.stale_frees, rescue_base.stale_frees);
    out->audits = minus(r.audits, rescue_base.audits);
    if (!heap) return;
    struct heap h;
    heap_now(&h);
    out->fallback_allocs = minus(h.allocs, heap_base.allocs);
    out->fallback_frees = minus(h.frees, heap_base.frees);
}

int offheap_stats_get(offheap_stats *out)
{
    if (!out) return EINVAL;
    struct oh_counters c = {0};
    oh_thread_sum(&c);
    fill(out, &c, true);
    return 0;
}

int offheap_thread_stats_get(offheap_stats *out)
{
    if (!out) return EINVAL;
    memset(out, 0, sizeof *out);
    struct oh_thread *t = &oh_self;
#define LOAD(f, pub, merge) out->pub = atomic_load_explicit(&t->st.f, memory_order_relaxed);
    OH_COUNTERS(LOAD)
#undef LOAD
    return 0;
}

/* ---- output ---------------------------------------------------------------- */

/* Where a report goes: a file descriptor (one write(2) per OUT_BUF bytes, so
 * a report of usual size is one write) or a callback (NUL-terminated
 * pieces). */
#define OUT_BUF 8192
struct out {
    void (*cb)(void *opaque, const char *text);
    void *opaque;
    int fd;
    int err;
    size_t n;
    char buf[OUT_BUF];
};

static void out_flush(struct out *o)
{
    if (o->n == 0) return;
    if (o->cb) {
        o->buf[o->n] = '\0';
        o->cb(o->opaque, o->buf);
    } else if (!o->err) {
        o->err = oh_write_all(o->fd, o->buf, o->n);
    }
    o->n = 0;
}

/* Room for n more bytes (and a NUL), flushing first if needed. */
static char *out_room(struct out *o, size_t n)
{
    if (o->n + n + 1 > sizeof o->buf) out_flush(o);
    return o->buf + o->n;
}

__attribute__((format(printf, 2, 3))) static void out_f(struct out *o, const char *fmt, ...)
{
    char piece[512];
    va_list ap;
    va_start(ap, fmt);
    size_t k = oh_vformat(piece, sizeof piece, fmt, ap);
    va_end(ap);
    memcpy(out_room(o, k), piece, k);
    o->n += k;
}

/* s as the inside of a JSON string: quotes, backslashes and control
 * characters escaped; other bytes as they are (names are UTF-8 or ASCII). */
static void out_json_str(struct out *o, const char *s)
{
    out_f(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') out_f(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            out_f(o, "\\u%c%c%c%c", '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
        else out_f(o, "%c", c);
    }
    out_f(o, "\"");
}

/* s on one line of text: control characters as '?'. */
static void out_text_str(struct out *o, const char *s)
{
    for (; *s; s++) out_f(o, "%c", ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s);
}

/* The wall-clock time as ISO 8601 UTC with milliseconds, and in ms since
 * the epoch (civil date from days: H. Hinnant's algorithm; no gmtime,
 * which is not async-signal-safe on every libc). */
static void now_utc(char *iso, size_t cap, uint64_t *unix_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    int64_t secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    if (rem < 0) rem += 86400, days--;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    char two[8][3];
    int64_t parts[5] = {m, d, rem / 3600, rem % 3600 / 60, rem % 60};
    for (int i = 0; i < 5; i++)
        two[i][0] = (char)('0' + parts[i] / 10), two[i][1] = (char)('0' + parts[i] % 10), two[i][2] = 0;
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    oh_format(iso, cap, "%lld-%s-%sT%s:%s:%s.%c%c%cZ", (long long)y, two[0], two[1], two[2], two[3], two[4],
              (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10));
}

static const char *program(void)
{
    return program_invocation_short_name ? program_invocation_short_name : "?";
}

/* Every field of offheap_stats, in print order: the per-thread counters
 * (thread.h; X##_COUNTER takes their three columns), then the heap's and
 * the pool's figures. */
#define FIELDS(X)                                                                                                      \
    OH_COUNTERS(X##_COUNTER)                                                                                           \
    X(fallback_allocs)                                                                                                 \
    X(fallback_frees) X(slabs_in_use) X(slabs_committed) X(slabs_total) X(slab_size) X(pool_reserved) X(pool_peak)     \
    X(threads) X(rescues) X(rescue_ns) X(rescue_bytes_scanned) X(pinned_runs) X(pinned_bytes) X(sites_cleared)        \
    X(sites_routed) X(libraries_routed) X(stale_frees) X(audits)

/* The check-mode counters (check.c formats them into a buffer). */
static void out_check(struct out *o, int json)
{
    char *at = out_room(o, 2048);
    o->n += oh_check_fields(at, sizeof o->buf - o->n - 1, json);
}

static void report(struct out *o, int json, const char *reason, const offheap_stats *s)
{
    char iso[40];
    uint64_t unix_ms;
    now_utc(iso, sizeof iso, &unix_ms);
    offheap_scope_name_stats nm;
    size_t names = 0;
    for (uint32_t i = 1; i < OH_NAMES; i++) names += oh_name_get(i, &nm);
    if (json) {
        out_f(o, "{\"liboffheap\":{\"version\":\"%s\",\"pid\":%d,\"program\":", OFFHEAP_VERSION, (int)getpid());
        out_json_str(o, program());
        out_f(o, ",\"time\":\"%s\",\"unix_ms\":%llu,\"reason\":\"%s\"", iso, (unsigned long long)unix_ms, reason);
#define J(f) out_f(o, ",\"%s\":%llu", #f, (unsigned long long)s->f);
#define J_COUNTER(f, pub, merge) J(pub)
        FIELDS(J)
#undef J_COUNTER
#undef J
        out_check(o, 1);
        out_f(o, ",\"names\":[");
        const char *sep = "";
        for (uint32_t i = 1; i < OH_NAMES; i++) {
            if (!oh_name_get(i, &nm)) continue;
            out_f(o, "%s{\"name\":", sep);
            out_json_str(o, nm.name);
            out_f(o, ",\"scopes\":%llu,\"bytes\":%llu,\"peak_bytes\":%llu}", (unsigned long long)nm.scopes,
                  (unsigned long long)nm.bytes, (unsigned long long)nm.peak_bytes);
            sep = ",";
        }
        out_f(o, "]}}\n");
    } else {
        out_f(o, "liboffheap stats: version %s pid %d program ", OFFHEAP_VERSION, (int)getpid());
        out_text_str(o, program());
        out_f(o, " time %s reason %s\n", iso, reason);
#define T(f) out_f(o, "  %-22s %llu\n", #f, (unsigned long long)s->f);
#define T_COUNTER(f, pub, merge) T(pub)
        FIELDS(T)
#undef T_COUNTER
#undef T
        out_check(o, 0);
        out_f(o, "  %-22s %llu\n", "names", (unsigned long long)names);
        for (uint32_t i = 1; i < OH_NAMES; i++) {
            if (!oh_name_get(i, &nm)) continue;
            out_f(o, "    name ");
            out_text_str(o, nm.name);
            out_f(o, " scopes %llu bytes %llu peak_bytes %llu\n", (unsigned long long)nm.scopes,
                  (unsigned long long)nm.bytes, (unsigned long long)nm.peak_bytes);
        }
    }
    out_flush(o);
}

static int print_fd(int fd, int json, const char *reason, const offheap_stats *s)
{
    struct out o;
    o.cb = NULL;
    o.opaque = NULL;
    o.fd = fd;
    o.err = 0;
    o.n = 0;
    report(&o, json, reason, s);
    return o.err;
}

int offheap_stats_print(int fd, int json)
{
    offheap_stats s;
    offheap_stats_get(&s);
    return print_fd(fd, json, "call", &s);
}

int offheap_stats_print_cb(void (*write_cb)(void *opaque, const char *text), void *opaque, int flags)
{
    if (!write_cb || (flags & ~OFFHEAP_STATS_JSON)) return EINVAL;
    offheap_stats s;
    offheap_stats_get(&s);
    struct out o;
    o.cb = write_cb;
    o.opaque = opaque;
    o.fd = -1;
    o.err = 0;
    o.n = 0;
    report(&o, flags & OFFHEAP_STATS_JSON, "call", &s);
    return 0;
}

/* ---- the statistics descriptor ----------------------------------------------- */

static dev_t stats_dev;
static ino_t stats_ino;
static _Atomic int lost_said;

/* Statistics that cannot be written are said to be lost, once, on stderr
 * when stderr is open. */
static void say_lost(const char *why)
{
    if (atomic_exchange(&lost_said, 1)) return;
    if (fcntl(STDERR_FILENO, F_GETFD) < 0) return;
    oh_log("statistics not written: %s", why);
}

static bool stats_wanted(void)
{
    return oh_cfg.stats != OH_STATS_OFF || oh_cfg.stats_signal || oh_cfg.stats_interval_ms;
}

void oh_stats_keep_fd(void)
{
    /* Programs may close stderr in their own exit handlers (coreutils
     * do), which run before ours: report on a private copy, high enough
     * that programs which open or dup2 onto small numbers leave it alone,
     * and remember which file it is. */
    if (!stats_wanted()) return;
    struct rlimit rl;
    int floor = 900;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= (rlim_t)floor + 64)
        floor = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 64 : 3;
    int fd = fcntl(oh_cfg.stats_fd, F_DUPFD_CLOEXEC, floor);
    if (fd < 0) fd = fcntl(oh_cfg.stats_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0 && fcntl(oh_cfg.stats_fd, F_GETFD) >= 0) fd = oh_cfg.stats_fd; /* no descriptor left: use it */
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        oh_cfg.stats_fd = fd;
        stats_dev = st.st_dev;
        stats_ino = st.st_ino;
        return;
    }
    char why[96];
    oh_format(why, sizeof why, "OFFHEAP_STATS_FD=%d is not open", oh_cfg.stats_fd_asked);
    say_lost(why);
    oh_cfg.stats_fd = -1;
}

/* Still the file we kept at start?  Otherwise the program closed it or
 * reused the number: write nothing rather than into its file, and say so
 * once. */
static bool stats_fd_ok(void)
{
    struct stat st;
    if (oh_cfg.stats_fd >= 0 && fstat(oh_cfg.stats_fd, &st) == 0 && st.st_dev == stats_dev && st.st_ino == stats_ino)
        return true;
    char why[128];
    oh_format(why, sizeof why, "OFFHEAP_STATS_FD=%d (kept as descriptor %d) was closed or replaced by the program",
              oh_cfg.stats_fd_asked, oh_cfg.stats_fd);
    say_lost(why);
    return false;
}

static void print_configured(int json, const char *reason, const offheap_stats *s)
{
    if (!stats_fd_ok()) return;
    int err = print_fd(oh_cfg.stats_fd, json, reason, s);
    if (err) {
        char why[96];
        oh_format(why, sizeof why, "writing to OFFHEAP_STATS_FD=%d failed (errno %d)", oh_cfg.stats_fd_asked, err);
        say_lost(why);
    }
}

/* ---- OFFHEAP_STATS_SIGNAL ------------------------------------------------------ */

/* The handler may interrupt a thread holding the registry lock or a
 * jemalloc lock, so it only tries the registry lock (falling back to the
 * interrupted thread's own counters) and leaves the jemalloc figures at 0. */
static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    struct oh_counters c = {0};
    if (!oh_thread_sum_try(&c)) c = oh_self.st;
    offheap_stats s;
    fill(&s, &c, false);
    print_configured(oh_cfg.stats == OH_STATS_JSON, "signal", &s);
    errno = saved;
}

void oh_stats_install_signal(void)
{
    if (!oh_cfg.stats_signal) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(oh_cfg.stats_signal, &sa, NULL) != 0)
        oh_log("OFFHEAP_STATS_SIGNAL=%d cannot be installed; no stats on signal", oh_cfg.stats_signal);
}

/* ---- OFFHEAP_STATS_INTERVAL ------------------------------------------------------ */

/* A detached thread, started at the first scope or tag of the process (and
 * again in a forked child whose parent had one), writes one JSON line every
 * interval.  It blocks every signal (a process-directed signal never lands
 * on it), takes no lock of its own (fork never waits for it), and stops
 * writing once the process exits.  When it finds itself the only thread
 * left (the program's main thread called pthread_exit() and every other
 * thread ended), it calls exit(0), as glibc does for the last thread:
 * otherwise it would keep the process alive. */
static _Atomic int interval_running; /* started in this process */
static _Atomic int stopping;         /* the process is exiting */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The thread state letter of the main thread ('Z' once it has called
 * pthread_exit() and others still run), or 0 when /proc cannot tell. */
static char leader_state(void)
{
    char path[64], buf[512];
    oh_format(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* True when no thread but this one runs.  /proc/self/task has one entry
 * per thread (st_nlink is that plus 2), the main thread's even after it
 * called pthread_exit(). */
static bool alone(void)
{
    struct stat st;
    if (stat("/proc/self/task", &st) != 0) return false;
    if (st.st_nlink == 3) return true;
    return st.st_nlink == 4 && gettid() != getpid() && leader_state() == 'Z';
}

static void *interval_main(void *arg)
{
    (void)arg;
    (void)prctl(PR_SET_NAME, "offheap-stats", 0, 0, 0);
    const uint64_t period = (uint64_t)oh_cfg.stats_interval_ms * 1000000u, tick = 250000000u;
    uint64_t next = mono_ns() + period;
    for (;;) {
        for (uint64_t now = mono_ns(); now < next; now = mono_ns()) {
            uint64_t step = next - now < tick ? next - now : tick;
            struct timespec ts = {(time_t)(step / 1000000000u), (long)(step % 1000000000u)};
            nanosleep(&ts, NULL);
            if (atomic_load(&stopping)) return NULL;
            if (alone()) exit(0);
        }
        offheap_stats s;
        offheap_stats_get(&s);
        if (atomic_load(&stopping)) return NULL;
        print_configured(1, "interval", &s);
        uint64_t now = mono_ns();
        next += period;
        if (next <= now) next = now + period; /* fell behind: skip, do not burst */
    }
}

static void interval_start(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t tid;
    int err = pthread_create(&tid, &attr, interval_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err)
        oh_log("OFFHEAP_STATS_INTERVAL: cannot start the reporting thread (errno %d); no periodic statistics", err);
}

void oh_stats_scopes_started(void)
{
    if (!oh_cfg.stats_interval_ms || atomic_load_explicit(&interval_running, memory_order_relaxed)) return;
    if (atomic_exchange(&interval_running, 1)) return;
    interval_start();
}

/* ---- fork and exit ------------------------------------------------------------- */

void oh_stats_postfork_child(void)
{
    /* What the parent had counted, to subtract: the forking thread's cache
     * holds some of the parent's requests, merged here. */
    heap_now(&heap_base);
    oh_rescue_figures(&rescue_base);
    if (atomic_load(&interval_running) && !atomic_load(&stopping)) interval_start();
}

void oh_stats_at_exit(void)
{
    atomic_store(&stopping, 1);
    if (oh_cfg.stats == OH_STATS_OFF) return;
    offheap_stats s;
    offheap_stats_get(&s);
    print_configured(oh_cfg.stats == OH_STATS_JSON, "exit", &s);
}
