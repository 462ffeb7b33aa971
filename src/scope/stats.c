/* SPDX-License-Identifier: MIT */
/*
 * stats.c — offheap_stats_get/print, the OFFHEAP_STATS report at exit and
 * the OFFHEAP_STATS_SIGNAL dump.  Fallback traffic is read from jemalloc's
 * own statistics (mallctl), so the path outside scopes counts nothing.
 * Printing uses write(2) only: it runs in exit handlers and signal handlers.
 */
#include "offheap.h"

#include "core/log.h"
#include "core/util.h"
#include "scope/check.h"
#include "scope/config.h"
#include "scope/proc.h"
#include "scope/rescue.h"
#include "scope/scope.h"
#include "scope/stats.h"
#include "scope/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static uint64_t je_u64(const char *name)
{
    uint64_t v = 0;
    size_t len = sizeof v;
    if (mallctl(name, &v, &len, NULL, 0) != 0) return 0;
    return v;
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
    out->rescues = r.rescues;
    out->rescue_ns = r.rescue_ns;
    out->rescue_bytes_scanned = r.bytes_scanned;
    out->pinned_runs = r.pinned_runs;
    out->pinned_bytes = r.pinned_bytes;
    out->sites_cleared = r.sites_cleared;
    out->sites_routed = r.sites_routed;
    out->libraries_routed = r.libraries_routed;
    out->stale_frees = r.stale_frees;
    out->audits = r.audits;
    /* jemalloc's counters for all arenas; writing "epoch" refreshes them.
     * Small requests served by thread caches are counted when the caches
     * fill or flush. */
    if (!heap) return;
    uint64_t epoch = 1;
    size_t elen = sizeof epoch;
    (void)mallctl("epoch", &epoch, &elen, &epoch, elen);
#define ARENAS "stats.arenas." OH_STR(MALLCTL_ARENAS_ALL)
    out->fallback_allocs = je_u64(ARENAS ".small.nrequests") + je_u64(ARENAS ".large.nrequests");
    out->fallback_frees = je_u64(ARENAS ".small.ndalloc") + je_u64(ARENAS ".large.ndalloc");
#undef ARENAS
}

int offheap_stats_get(offheap_stats *out)
{
    if (!out) return EINVAL;
    struct oh_counters c = {0};
    oh_thread_sum(&c);
    fill(out, &c, true);
    return 0;
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

static int print_stats(int fd, int json, const offheap_stats *s)
{
    char buf[6144];
    size_t n = 0;
    if (json) {
        n += oh_format(buf + n, sizeof buf - n, "{\"liboffheap\":{");
        const char *sep = "";
#define J(f)                                                                                                           \
    n += oh_format(buf + n, sizeof buf - n, "%s\"%s\":%llu", sep, #f, (unsigned long long)s->f);                       \
    sep = ",";
#define J_COUNTER(f, pub, merge) J(pub)
        FIELDS(J)
#undef J_COUNTER
#undef J
        n += oh_check_fields(buf + n, sizeof buf - n, 1);
        n += oh_format(buf + n, sizeof buf - n, "}}\n");
    } else {
        n += oh_format(buf + n, sizeof buf - n, "liboffheap stats:\n");
#define T(f) n += oh_format(buf + n, sizeof buf - n, "  %-22s %llu\n", #f, (unsigned long long)s->f);
#define T_COUNTER(f, pub, merge) T(pub)
        FIELDS(T)
#undef T_COUNTER
#undef T
        n += oh_check_fields(buf + n, sizeof buf - n, 0);
    }
    return oh_write_all(fd, buf, n);
}

int offheap_stats_print(int fd, int json)
{
    offheap_stats s;
    offheap_stats_get(&s);
    return print_stats(fd, json, &s);
}

/* OFFHEAP_STATS_SIGNAL.  The handler may interrupt a thread holding the
 * registry lock or a jemalloc lock, so it only tries the registry lock
 * (falling back to the interrupted thread's own counters) and leaves the
 * jemalloc figures at 0. */
static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    struct oh_counters c = {0};
    if (!oh_thread_sum_try(&c)) c = oh_self.st;
    offheap_stats s;
    fill(&s, &c, false);
    (void)print_stats(oh_cfg.stats_fd, oh_cfg.stats == OH_STATS_JSON, &s);
    errno = saved;
}

static dev_t stats_dev;
static ino_t stats_ino;

void oh_stats_keep_fd(void)
{
    /* Programs may close stderr in their own exit handlers (coreutils
     * do), which run before ours: report on a private copy, high enough
     * that programs which open or dup2 onto small numbers leave it alone,
     * and remember which file it is. */
    if (oh_cfg.stats == OH_STATS_OFF && !oh_cfg.stats_signal) return;
    struct rlimit rl;
    int floor = 900;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= (rlim_t)floor + 64)
        floor = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 64 : 3;
    int fd = fcntl(oh_cfg.stats_fd, F_DUPFD_CLOEXEC, floor);
    if (fd < 0) fd = fcntl(oh_cfg.stats_fd, F_DUPFD_CLOEXEC, 3);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        oh_cfg.stats_fd = fd;
        stats_dev = st.st_dev;
        stats_ino = st.st_ino;
    }
}

/* Still the file we kept at start?  Otherwise the program reused the
 * number: say nothing rather than write into its file. */
static bool stats_fd_ok(void)
{
    struct stat st;
    if (fstat(oh_cfg.stats_fd, &st) != 0) return false;
    return !stats_ino || (st.st_dev == stats_dev && st.st_ino == stats_ino);
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

void oh_stats_at_exit(void)
{
    if (oh_cfg.stats != OH_STATS_OFF && stats_fd_ok())
        offheap_stats_print(oh_cfg.stats_fd, oh_cfg.stats == OH_STATS_JSON);
}
