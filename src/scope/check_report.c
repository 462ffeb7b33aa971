/* SPDX-License-Identifier: MIT */
/*
 * check_report.c — what check mode says: the report of a use after scope
 * (from the SIGSEGV/SIGBUS handler) and of a global that points into a
 * scope that is ending.  The side tables behind them are check.c's.
 * Everything here runs with write(2) only (oh_log), in a signal handler
 * or at a scope end: no malloc, no stdio.
 */
#include "scope/check.h"
#include "scope/check_internal.h"

#include "core/log.h"
#include "scope/demangle.h"
#include "scope/symbolize.h"
#include "scope/thread.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define REPORTS_PER_SCOPE 8u /* global-scan reports per scope end */
#define REPORTS_TOTAL 128u   /* global-scan reports per process */

#define COUNT(c, v) atomic_fetch_add_explicit(&(c), (v), memory_order_relaxed)

_Atomic uint64_t oh_check_n_faults, oh_check_n_globals, oh_check_n_suppressed, oh_check_n_exceptions;

static struct sigaction prev_segv, prev_bus;
static _Atomic uint32_t reports_total; /* global-scan and exception reports */

/* ---- one block -------------------------------------------------------- */

static void print_stack(const struct oh_check_block *b)
{
    char line[512];
    if (!b->npc) {
        oh_log("    (no backtrace recorded)");
        return;
    }
    for (uint32_t i = 0; i < b->npc; i++) {
        oh_describe_pc(line, sizeof line, b->pc[i], true);
        oh_log("    #%u %p %s", i, b->pc[i], line);
    }
}

/* One block, as the reports describe it: where a lies, then its backtrace. */
static void describe_block(uintptr_t a, uint32_t first, const char *tail)
{
    struct oh_check_block b;
    if (!oh_check_find(first, a, &b)) {
        oh_log("  %p is in memory %s (no block recorded there)", (void *)a, tail);
        return;
    }
    uintptr_t p = b.addr;
    if (a < p) oh_log("  %p is in the header of a %u-byte block at %p %s", (void *)a, b.size, (void *)p, tail);
    else if (a - p < b.size)
        oh_log("  %p is %zu bytes inside a %u-byte block at %p %s", (void *)a, (size_t)(a - p), b.size, (void *)p,
               tail);
    else
        oh_log("  %p is %zu bytes past the end of a %u-byte block at %p %s", (void *)a, (size_t)(a - p - b.size),
               b.size, (void *)p, tail);
    oh_log("  the block was allocated at:");
    print_stack(&b);
}

/* ---- fault handler ----------------------------------------------------- */

static void reset_and_reraise(int sig, const siginfo_t *si)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    (void)sigaction(sig, &dfl, NULL);
    /* A fault re-executes the instruction on return and dies by the
     * default action; a signal someone sent is sent again (it stays
     * pending until this handler returns). */
    if (si->si_code <= 0) (void)raise(sig);
}

static void forward(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *p = sig == SIGSEGV ? &prev_segv : &prev_bus;
    if (p->sa_flags & SA_SIGINFO) {
        p->sa_sigaction(sig, si, uc);
    } else if (p->sa_handler == SIG_IGN) {
        if (si->si_code > 0) reset_and_reraise(sig, si); /* a fault cannot be ignored */
    } else if (p->sa_handler == SIG_DFL) {
        reset_and_reraise(sig, si);
    } else {
        p->sa_handler(sig);
    }
}

static const char *access_kind(const void *uc)
{
#if defined(__x86_64__)
    const ucontext_t *u = uc;
    return (u->uc_mcontext.gregs[REG_ERR] & 2) ? "write" : "read";
#else
    (void)uc;
    return "access";
#endif
}

/* One frame of a report the process does not survive: name, and file:line
 * when libdw and debug information are there.  libdw allocates: the
 * thread's allocations go to the heap meanwhile (route 0). */
static void log_frame_with_line(uint32_t i, void *pc, bool ret)
{
    char line[512], src[256];
    oh_describe_pc(line, sizeof line, pc, ret);
    uintptr_t route = oh_self.route;
    oh_self.route = 0;
    bool have = oh_source_line(pc, ret, src, sizeof src);
    oh_self.route = route;
    if (have) oh_log("    #%u %p %s at %s", i, pc, line, src);
    else oh_log("    #%u %p %s", i, pc, line);
}

/* Where the faulting access was made: the interrupted code's backtrace. */
static void print_access(void *uc)
{
    void *pc[16];
    uint32_t n = oh_check_backtrace_uc(uc, pc, 16);
    if (!n) return;
    oh_log("  the access was made at:");
    /* Frame 0 is the faulting instruction itself, not a return address. */
    for (uint32_t i = 0; i < n; i++) log_frame_with_line(i, pc[i], i > 0);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    uintptr_t a = (uintptr_t)si->si_addr;
    struct oh_check_death d;
    if (si->si_code > 0 && oh_check_dying(a, &d)) {
        oh_check_set_busy(true);
        COUNT(oh_check_n_faults, 1);
        char site[512];
        oh_log("use after scope: %s of %p (%s, pid %d, thread %d)", access_kind(uc), (void *)a,
               sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", (int)getpid(), oh_check_tid());
        char tail[64];
        oh_format(tail, sizeof tail, "released by the end of a scope (thread %d)", d.tid);
        describe_block(a, d.first, tail);
        oh_describe_pc(site, sizeof site, d.site, true);
        oh_log("  the scope began at %s", site);
        print_access(uc);
        reset_and_reraise(sig, si);
        errno = saved;
        return;
    }
    forward(sig, si, uc);
    errno = saved;
}

void oh_check_install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev_segv) != 0 || sigaction(SIGBUS, &sa, &prev_bus) != 0)
        oh_log("check mode: cannot install the SIGSEGV/SIGBUS handler; use after scope will not be explained");
}

/* ---- realloc of a released block ------------------------------------------ */

void oh_check_report_realloc(void *p, size_t n, const struct oh_check_death *d, bool dying, void *const *pc,
                             uint32_t npc)
{
    COUNT(oh_check_n_faults, 1);
    oh_log("realloc of a released block: realloc(%p, %zu) (pid %d, thread %d)", p, n, (int)getpid(), oh_check_tid());
    char tail[96];
    oh_format(tail, sizeof tail, "released by the end of a scope (thread %d)%s", d->tid,
              dying ? "" : "; its memory is free");
    describe_block((uintptr_t)p, d->first, tail);
    if (d->site) {
        char site[512];
        oh_describe_pc(site, sizeof site, d->site, true);
        oh_log("  the scope began at %s", site);
    }
    oh_log("  the realloc was called from:");
    for (uint32_t i = 0; i < npc; i++) log_frame_with_line(i, pc[i], true);
    abort();
}

/* ---- exception objects ----------------------------------------------------- */

/* The thrown type of a libstdc++ exception object, from the header in front
 * of it (unwind-cxx.h, LP64: __cxa_exception is 112 bytes ending with the
 * 32-byte _Unwind_Exception whose exception_class is "GNUCC++\0";
 * exceptionType is its first field).  NULL when the header does not look
 * like one (not thrown yet, or another runtime). */
const char *oh_check_thrown_type(const void *obj)
{
#if UINTPTR_MAX == 0xffffffffffffffffu
    const char *o = obj;
    uint64_t cls;
    memcpy(&cls, o - 32, sizeof cls);
    if (cls != 0x474e5543432b2b00ull) return NULL; /* "GNUCC++\0" */
    const void *ti;
    memcpy(&ti, o - 112, sizeof ti);
    if (!ti) return NULL;
    const char *name = NULL;
    memcpy(&name, (const char *)ti + sizeof(void *), sizeof name); /* type_info::__name */
    return name ? name : "";
#else
    (void)obj;
    return NULL;
#endif
}

void oh_check_report_exception(const void *obj, size_t size, size_t off, uintptr_t v, uint32_t hits, void *site)
{
    if (atomic_fetch_add_explicit(&reports_total, 1, memory_order_relaxed) >= REPORTS_TOTAL) {
        COUNT(oh_check_n_suppressed, 1);
        return;
    }
    COUNT(oh_check_n_exceptions, 1);
    const char *mangled = oh_check_thrown_type(obj);
    char type[256];
    if (!mangled) oh_format(type, sizeof type, "(type unknown)");
    else if (!oh_demangle_type(mangled, type, sizeof type)) oh_format(type, sizeof type, "%s", mangled);
    char where[512];
    oh_describe_pc(where, sizeof where, site, true);
    oh_log("exception object of type %s at %p (%zu bytes) points into a scope that is ending: %u pointer%s, the "
           "first at offset %zu (value %p; the scope began at %s)",
           type, obj, size, hits, hits == 1 ? "" : "s", off, (void *)v, where);
    oh_log("  an exception carrying scope memory out of the scope: build its members under an escape, or catch it "
           "inside the scope");
    struct oh_check_death d;
    if (oh_check_dying(v, &d)) describe_block(v, d.first, "that the scope's end releases");
}

/* ---- globals ------------------------------------------------------------ */

/* (word, value) pairs already reported: a dangling global is reported once,
 * not at every scan.  Racy by design (a duplicate line at worst). */
#define SEEN 64u
static struct {
    const uintptr_t *w;
    uintptr_t v;
} seen[SEEN];
static _Atomic uint32_t seen_next;

static bool seen_before(const uintptr_t *w, uintptr_t v)
{
    for (uint32_t i = 0; i < SEEN; i++) {
        if (seen[i].w == w && seen[i].v == v) return true;
    }
    uint32_t i = atomic_fetch_add_explicit(&seen_next, 1, memory_order_relaxed) % SEEN;
    seen[i].w = w;
    seen[i].v = v;
    return false;
}

void oh_check_report_global(const struct dl_phdr_info *info, const uintptr_t *w, uintptr_t v, bool ending,
                            void *site_arg, uint32_t *reported)
{
    if (seen_before(w, v)) return;
    if (*reported >= REPORTS_PER_SCOPE ||
        atomic_fetch_add_explicit(&reports_total, 1, memory_order_relaxed) >= REPORTS_TOTAL) {
        COUNT(oh_check_n_suppressed, 1);
        return;
    }
    (*reported)++;
    COUNT(oh_check_n_globals, 1);
    const char *obj = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : program_invocation_name;
    char sym[256], name[224];
    size_t off = 0;
    if (oh_symbolize(w, name, sizeof name, &off, NULL)) {
        char pretty[224];
        const char *n = oh_demangle(name, pretty, sizeof pretty) ? pretty : name;
        if (off) oh_format(sym, sizeof sym, "%s+%zu", n, off);
        else oh_format(sym, sizeof sym, "%s", n);
    } else {
        oh_format(sym, sizeof sym, "at %p (unnamed, offset 0x%zx)", (const void *)w,
                  (size_t)((uintptr_t)w - info->dlpi_addr));
    }
    char site[512];
    struct oh_check_death d;
    if (!oh_check_dying(v, &d)) return; /* released since the scan saw it */
    oh_describe_pc(site, sizeof site, ending ? site_arg : d.site, true);
    oh_log("global %s in %s points into a scope that %s (value %p; the scope began at %s)", sym, obj,
           ending ? "is ending" : "has ended", (void *)v, site);
    describe_block(v, d.first, ending ? "that the scope's end releases" : "released by the end of a scope");
}

/* ---- late frees ------------------------------------------------------------ */

/* A library freed a scope block after its scope ended: the scope handed
 * the block over (a buffer given to a framework that frees it once sent),
 * which is the program's lifetime mistake, whatever default mode then
 * does about it.  Reported once per freeing call site. */
#define LATE_SITES 32u
static _Atomic uintptr_t late_seen[LATE_SITES];

void oh_check_report_late_free(const void *p, void *ra)
{
    for (uint32_t i = 0; i < LATE_SITES; i++) {
        uintptr_t s = atomic_load_explicit(&late_seen[i], memory_order_relaxed);
        if (s == (uintptr_t)ra) return;
        if (s == 0) {
            if (!atomic_compare_exchange_strong(&late_seen[i], &s, (uintptr_t)ra)) {
                if (s == (uintptr_t)ra) return;
                continue;
            }
            break;
        }
    }
    oh_check_set_busy(true);
    char site[512];
    oh_describe_pc(site, sizeof site, ra, true);
    oh_log("late free: %p is freed at %s after the scope that allocated it ended: the scope handed it over to "
           "code that keeps it (copy it, or allocate it between offheap_escape_begin/end)",
           p, site);
    struct oh_check_death d;
    if (oh_check_dying((uintptr_t)p, &d) || oh_check_last((uintptr_t)p, &d)) {
        describe_block((uintptr_t)p, d.first, "released by the end of a scope");
        oh_describe_pc(site, sizeof site, d.site, true);
        oh_log("  the scope began at %s", site);
    }
    oh_check_set_busy(false);
}
