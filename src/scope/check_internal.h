/* SPDX-License-Identifier: MIT */
/*
 * check_internal.h — what check.c (the side tables, retire, quarantine and
 * scan) and check_report.c (the fault handler and the report text) share.
 * Nothing outside these two files includes it.
 */
#ifndef OH_CHECK_INTERNAL_H
#define OH_CHECK_INTERNAL_H

#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* A retired (dying) run, as the fault handler needs it. */
struct oh_check_death {
    uint32_t first; /* first slab of the run */
    int tid;        /* kernel thread id that ended the scope */
    void *site;     /* begin site of the scope that ended */
};

/* Is pool address a in a run retired by a scope end (and not yet released
 * from the quarantine)?  Fills *d when it is.  Lock-free. */
bool oh_check_dying(uintptr_t a, struct oh_check_death *d);

/* As oh_check_dying, for a run released without protection (sampled out)
 * and not handed out again since: its records are still there. */
bool oh_check_last(uintptr_t a, struct oh_check_death *d);

/* The recorded block of the retired run starting at `first` that holds a
 * (its header counts as its own): its user address, usable size and
 * allocation backtrace.  false when no block is recorded there. */
struct oh_check_block {
    uintptr_t addr;
    uint32_t size;
    uint32_t npc;    /* frames in pc, 0: no backtrace recorded */
    void *const *pc; /* innermost first */
};
bool oh_check_find(uint32_t first, uintptr_t a, struct oh_check_block *b);

/* The calling thread is inside check code: its allocations are not
 * recorded (the reports call dladdr, which may allocate). */
void oh_check_set_busy(bool busy);

/* The calling thread's kernel id (cached). */
int oh_check_tid(void);

/* The backtrace of the code a signal interrupted, from the handler's
 * ucontext (libunwind with UNW_INIT_SIGNAL_FRAME; without libunwind, the
 * interrupted instruction alone): pc[0] is that instruction, the others
 * return addresses.  Returns the frames written (0: none known). */
uint32_t oh_check_backtrace_uc(void *uc, void **pc, uint32_t max);

/* check_report.c: the SIGSEGV/SIGBUS handler, installed once at init. */
void oh_check_install_handlers(void);

/* check_report.c: report that word w of object `info` holds v, a pointer
 * into a retired run.  ending: into a run the current scope end retires
 * (whose begin site is `site`); *reported counts this scan's reports
 * (rate limits: REPORTS_PER_SCOPE per scan, REPORTS_TOTAL per process). */
void oh_check_report_global(const struct dl_phdr_info *info, const uintptr_t *w, uintptr_t v, bool ending, void *site,
                            uint32_t *reported);

/* check_report.c: report realloc(p, n) of released memory (d: its run;
 * dying: retired and not yet released; pc/npc: the realloc's caller's
 * backtrace) and abort. */
__attribute__((noreturn)) void oh_check_report_realloc(void *p, size_t n, const struct oh_check_death *d, bool dying,
                                                       void *const *pc, uint32_t npc);

/* check_report.c: the mangled type name of a thrown libstdc++ exception
 * object, from the header in front of it; NULL when it has not been thrown
 * (or is another runtime's, or was freed and reused). */
const char *oh_check_thrown_type(const void *obj);

/* check_report.c: a live C++ exception object of this thread at obj (size
 * bytes) holds v, a pointer into the scope that is ending, at byte offset
 * off (hits: such words in it); site: the scope's begin site. */
void oh_check_report_exception(const void *obj, size_t size, size_t off, uintptr_t v, uint32_t hits, void *site);

/* Report counters (check_report.c), printed with the others. */
extern _Atomic uint64_t oh_check_n_faults, oh_check_n_globals, oh_check_n_suppressed, oh_check_n_exceptions;

#pragma GCC visibility pop

#endif
