/* SPDX-License-Identifier: MIT */
/*
 * plt.h — dormant until the first scope: a process that has not opened a
 * scope yet does not pay for the interposer on its hottest calls.
 *
 * At start, every PLT slot (R_X86_64_JUMP_SLOT) of the loaded objects that
 * is bound, or would be bound, to our malloc, calloc or free is pointed at
 * jemalloc's own function instead.  When the process pool is created (the
 * first scope or tag anywhere in the process), every slot still holding a
 * jemalloc function is pointed back at ours, before any thread can open a
 * scope; the process stays armed from then on.
 *
 * Why only PLT slots: a PLT slot is read by its stub at every call and never
 * handed out as a function pointer (a non-PIE program's canonical address
 * of malloc is the stub itself, which reads the slot when called).  So no
 * copy of a jemalloc address can outlive the dormant phase: after arming,
 * a pool block can never reach jemalloc's free through a pointer taken
 * earlier.  GLOB_DAT slots and data relocations (function pointers taken
 * with &free, calls compiled with -fno-plt, glibc's own internal calls)
 * are left alone and keep reaching us, which is always correct.
 *
 * Objects loaded later resolve to us as usual.  OFFHEAP_DORMANT=0 turns
 * the whole mechanism off.  Linux/ELF only.
 */
#ifndef OH_PLT_H
#define OH_PLT_H

#include <stddef.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* One function the program's PLT may call: ours, and jemalloc's. */
struct oh_plt_fn {
    const char *name;
    void *ours;
    void *direct;
};

/* Point the slots bound to fns[i].ours at fns[i].direct.  Call once, from
 * the preload's constructor (the functions are copied for arming).
 * Returns the number of slots changed.  A function the process does not
 * bind to us (another interposer was loaded first, or a non-PIE program
 * took its address) is left alone. */
size_t oh_plt_bypass(const struct oh_plt_fn *fns, size_t n);

/* Point every slot that holds a direct function back at ours (once, when
 * the process pool is created).  Idempotent; thread-safe against
 * concurrent calls through the slots (each slot is one aligned store).
 * Dies with a message if a slot cannot be made writable: a scope with a
 * slot still bypassing us could hand a pool block to jemalloc's free. */
void oh_plt_arm(void);

#pragma GCC visibility pop

#endif
