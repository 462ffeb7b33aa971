/* SPDX-License-Identifier: MIT */
/*
 * check.h — OFFHEAP_CHECK: help find blocks that outlive their scope.
 * The scope engine calls these hooks only when oh_check_on is set, so the
 * normal path pays one predictable branch per in-scope allocation.
 *
 * In check mode every scope starts on a fresh slab, so all memory of a
 * scope is in runs that belong to it alone and can be poisoned and
 * protected as a whole when the scope ends.
 *
 * What check mode does (check.c):
 *   - every scope block gets a short allocation backtrace (libunwind),
 *     kept in side tables in mmap'd memory;
 *   - at scope end the writable data segments of the loaded objects are
 *     scanned for words pointing into the dying runs (reported);
 *   - the dying runs are poisoned (0xdd), protected PROT_NONE and kept out
 *     of reuse in a bounded quarantine; a SIGSEGV/SIGBUS handler reports
 *     an access to them (address, scope begin site, allocation backtrace)
 *     and the process dies with the original signal;
 *   - under valgrind, scope blocks are described as a memcheck mempool.
 * Nothing here calls malloc.
 */
#ifndef OH_CHECK_H
#define OH_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_thread;

extern bool oh_check_on;

/* Once, at process pool creation, when OFFHEAP_CHECK is set. */
void oh_check_init(void);

/* A block was allocated in the thread's innermost scope; ra is the caller
 * of the malloc-family function. */
void oh_check_alloc(struct oh_thread *t, void *p, size_t usable, void *ra);

/* The thread's newest block p grew in place (realloc) to `usable` bytes:
 * its record and, under valgrind, its mempool chunk follow. */
void oh_check_resize(void *p, size_t usable);

/* realloc(p, n) of a pool block from ra: when p lies in released memory (a
 * run retired by a scope end, or a free run), report it as a realloc of a
 * released block (the block's allocation backtrace, the scope, the
 * realloc's caller) and abort.  Returns when p is not known to be
 * released. */
void oh_check_realloc(void *p, size_t n, void *ra);

/* A C++ exception object of `size` bytes was allocated / freed by the
 * calling thread (preload/cxa_exception.c).  Each thread remembers its
 * last OH_CHECK_EXCEPTIONS live ones; a scope end scans the thrown ones
 * (libstdc++'s header in front of the object says so) for pointers into
 * the scope (reported: the exception carries scope memory out).  One freed
 * on another thread stays in its thread's table; the header check keeps
 * its reused memory from being read as an exception. */
#define OH_CHECK_EXCEPTIONS 8
void oh_check_exception_alloc(void *obj, size_t size);
void oh_check_exception_free(void *obj);

/* The runs on the chain head..stop (exclusive) die with the scope whose
 * begin site is `site`: poison/protect/quarantine them and release them to
 * the slab supply (now or later).  Returns the bytes retired. */
size_t oh_check_retire(struct oh_thread *t, uint32_t head, uint32_t stop, void *site);

/* Release every run held in the quarantine to the slab supply (for the
 * exhaustion path: check mode must not cause an ENOMEM the program would
 * not get without it).  Returns the runs released; 0 when check mode is
 * off or the quarantine is empty. */
size_t oh_check_drain(void);

/* The check-mode counters (nothing when check mode is off), write(2) only:
 * oh_check_report prints them to fd as their own block of text or one JSON
 * object on its own line (0 or errno); oh_check_fields formats them into
 * buf for splicing into another report: json ",\"check_x\":N" pairs, or
 * text lines "  check_x   N\n".  Returns the length written. */
int oh_check_report(int fd, int json);

/* free() of scope block p, dead already, by library code at ra: report
 * the handover (once per call site), with the block's allocation
 * backtrace. */
void oh_check_report_late_free(const void *p, void *ra);
size_t oh_check_fields(char *buf, size_t cap, int json);

#pragma GCC visibility pop

#endif
