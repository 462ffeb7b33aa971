/* SPDX-License-Identifier: MIT */
/*
 * caller.h — routing by caller (caller.c): which return addresses belong to
 * code whose allocations inside a scope must go to the heap (libc, ld.so,
 * libstdc++ outside its string members, OFFHEAP_EXCLUDE libraries).
 *
 * Code ranges are only ever added, never removed: a verdict "scoped" cached
 * by a thread (scope_fast.h) stays right unless an unloaded object's code
 * is mapped again at the same address.
 */
#ifndef OH_CALLER_H
#define OH_CALLER_H

#include <stdbool.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_range {
    uintptr_t lo;
    uintptr_t len;
};

/* True when ra lies in libc, ld.so, libstdc++ (outside its string members)
 * or an OFFHEAP_EXCLUDE library.  Lock-free; thread-safe. */
bool oh_caller_excluded(const void *ra);

/* Find the runtime and excluded objects loaded now (pool creation). */
void oh_caller_init(const char *exclude);

/* For a caller oh_caller_excluded() lets through: is it in a runtime or
 * excluded object loaded after start?  (Adds that object's ranges.) */
bool oh_caller_check_new(const void *ra);

/* Whose code is at ra.  *name (may be NULL) gets the object's path ("" for
 * the program).  Walks the loaded objects: for slow paths only. */
enum oh_caller_kind {
    OH_CALLER_UNKNOWN,  /* no loaded object */
    OH_CALLER_PROGRAM,  /* the main executable */
    OH_CALLER_LIBRARY,  /* any other object, except: */
    OH_CALLER_RUNTIME,  /* libc, ld.so, libstdc++ (routed already) */
    OH_CALLER_STRINGS,  /* libstdc++'s exported string members (scoped) */
};
enum oh_caller_kind oh_caller_kind(const void *ra, const char **name);

/* Route every later allocation of the object holding ra to the heap (its
 * executable segments join the excluded ranges).  true when ranges were
 * added (false: already routed, the program itself, or no room). */
bool oh_caller_route_object(const void *ra);

/* Is the object at `path` one liboffheap brings in for itself (jemalloc,
 * libunwind and its liblzma)?  Their data never holds a
 * scope pointer, and jemalloc alone has 2 MiB of it: the scans of check
 * mode and of the rescue leave them out. */
bool oh_caller_own_dependency(const char *path);

/* Fork handlers for the caller tables. */
void oh_caller_prefork(void);
void oh_caller_postfork(void);

#pragma GCC visibility pop

#endif
