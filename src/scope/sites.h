/* SPDX-License-Identifier: MIT */
/*
 * sites.h — what is known about each allocation site (the return address
 * of the malloc-family call) seen inside a scope.  A site starts unknown;
 * the first scope that allocates from it is on probation (rescue.h) and
 * its end decides: CLEARED (its blocks died with their scope; the thread
 * caches may then send it down the inline path) or HEAP (a block of it was
 * still referenced after its scope: from then on it allocates from the
 * heap).  Decisions are final.
 *
 * A lock-free open-addressing table in memory mapped through the OS layer:
 * no malloc, any thread.  If it ever fills, the sites that do not fit stay
 * unknown, which only costs speed (they stay on probation).
 */
#ifndef OH_SITES_H
#define OH_SITES_H

#include <stdbool.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

enum oh_site_state {
    OH_SITE_UNKNOWN = 0,
    OH_SITE_CLEARED = 1,
    OH_SITE_HEAP = 2,
};

/* The state of site ra.  Lock-free. */
enum oh_site_state oh_site_get(uintptr_t ra);

/* Decide site ra: CLEARED does not override HEAP.  false when the table
 * is full (the site stays unknown). */
bool oh_site_set(uintptr_t ra, enum oh_site_state st);

/* One more judgment saw blocks of site ra die with their scope; returns
 * how many have (UINT32_MAX when the table is full). */
uint32_t oh_site_died(uintptr_t ra);

/* A number that changes whenever a site or a library stops allocating in
 * scopes: a thread whose caller cache was filled under another number
 * empties it at its next outermost begin. */
uint32_t oh_sites_epoch(void);
void oh_sites_epoch_bump(void);

/* Sites decided so far, by state. */
uint64_t oh_sites_count(enum oh_site_state st);

#pragma GCC visibility pop

#endif
